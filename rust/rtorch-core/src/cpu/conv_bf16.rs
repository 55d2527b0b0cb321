//! bfloat16 convolutions with unit stride and dilation computed directly with the
//! AVX512-BF16 `vdpbf16ps` instruction, without im2col columns or packed panels.
//!
//! The input is laid out once per call as "pair planes": for each sample and each pair
//! of input channels (2i, 2i+1), the zero-padded `hp x g` image (`g = w + 2 pw`, the
//! grid width) with the two channels' values side by side in one 32-bit word, the
//! operand form `vdpbf16ps` multiplies. Output (y, x) is computed at grid column
//! `j = y * g + x`, so for the window's tap (dy, dx) the values under 32 consecutive
//! outputs are 32 consecutive words of the plane from `j + dy * g + dx`: two plain
//! loads per tap, where the im2col route copies the input kh*kw times and packs the
//! copy again. The grid's last `kw - 1` columns of each row (x >= ow) are computed and
//! dropped.
//!
//! The weights are packed as word pairs too, in slices of 12, 8 or 4 output channels
//! (24, 16 or 8 accumulators). Each output is one float32 sum over the channel pairs
//! and taps in a fixed order, the bias added, rounded once to bfloat16: the same bits
//! for any thread count. Subnormal bfloat16 inputs count as zero in `vdpbf16ps`, as in
//! the matrix product's kernel (and PyTorch's oneDNN one).
//!
//! The gradient of the input of such a convolution is one too (the flipped, transposed
//! weights over the output gradient padded by `k - 1 - p`), so it runs here as well.

// Only the x86_64 kernels read the kernels' arguments (elsewhere `available` is false).
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

use super::SendPtr;
use crate::error::{Error, Result};
use half::bf16;

/// Output grid columns per panel: two 16-lane registers.
const PANEL: usize = 32;

/// A unit-stride, unit-dilation, single-group convolution of `x (n, c, h, w)` with
/// `w (o, c, kh, kw)`, zero padding `ph`, `pw` on both sides.
#[derive(Clone, Copy, Debug)]
pub struct Direct {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub o: usize,
    pub kh: usize,
    pub kw: usize,
    pub ph: usize,
    pub pw: usize,
}

/// Sizes derived from a [`Direct`], computed with checked arithmetic.
pub(super) struct Layout {
    pub(super) oh: usize,
    pub(super) ow: usize,
    /// Grid (padded input) width.
    pub(super) g: usize,
    /// Channel pairs.
    pairs: usize,
    /// Words per pair plane: the padded image (`hp * g`), then room for the last
    /// panel's reads (more than `PANEL + kw`).
    pub(super) plane: usize,
    taps: usize,
    /// Panels per sample.
    panels: usize,
}

pub(super) fn too_large() -> Error {
    Error::Runtime("conv2d: the input is too large for the bfloat16 kernel".into())
}

/// The product of `dims`, or an error when it overflows.
pub(super) fn numel(dims: &[usize]) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |a, &b| a.checked_mul(b))
        .ok_or_else(too_large)
}

/// The kernels' checks of their callers: the instructions present and the slices'
/// lengths (`fits`) matching the geometry.
pub(super) fn check_call(fits: bool) -> Result<()> {
    if !available() {
        return Err(Error::Runtime(
            "conv2d: no AVX512-BF16 kernel on this CPU".into(),
        ));
    }
    if !fits {
        return Err(Error::Runtime(
            "conv2d: operand sizes do not match the geometry".into(),
        ));
    }
    Ok(())
}

impl Direct {
    pub(super) fn layout(&self) -> Result<Layout> {
        let padded = |side: usize, pad: usize| {
            pad.checked_mul(2)
                .and_then(|p| p.checked_add(side))
                .ok_or_else(too_large)
        };
        let (g, hp) = (padded(self.w, self.pw)?, padded(self.h, self.ph)?);
        if self.kh == 0 || self.kw == 0 || hp < self.kh || g < self.kw {
            return Err(Error::Runtime(
                "conv2d: kernel larger than the padded input".into(),
            ));
        }
        let (oh, ow) = (hp - self.kh + 1, g - self.kw + 1);
        // The last panel reads up to PANEL - 1 words past the grid's oh rows, shifted by
        // the last tap: (oh - 1 + kh - 1) * g + (g - 1) + PANEL - 1 + kw - 1 < hp * g
        // + PANEL + kw. Rounded to 16 words so that every plane starts 64-byte aligned.
        let plane = hp
            .checked_mul(g)
            .and_then(|v| v.checked_add(PANEL + self.kw + 15))
            .ok_or_else(too_large)?
            / 16
            * 16;
        let grid = oh.checked_mul(g).ok_or_else(too_large)?;
        Ok(Layout {
            oh,
            ow,
            g,
            pairs: self.c.div_ceil(2),
            plane,
            taps: self.kh * self.kw,
            panels: grid.div_ceil(PANEL),
        })
    }
}

/// Whether this process runs the direct kernel: the CPU has AVX512-BF16, the AVX-512
/// level is in use, and the products do not run on AMX (whose tiles beat it).
pub fn available() -> bool {
    super::gemm::bf16_matmul_kernel() == "avx512_bf16"
}

/// Whether the direct kernel beats im2col and the product for this geometry: a window
/// larger than 1x1 (a 1x1 window's product reads the input itself, no columns to
/// save: 16x64x32x32 -> 256 channels took 1.5 ms there, 2.4 here), and at least 90% of
/// the grid columns computed being outputs (a padded 8x8 image: 64 of 96, 1.6x the
/// product's time; 16x16: 256 of 288, 1.1x; 32x32 in rows mode: all).
pub fn suits(d: &Direct) -> bool {
    outputs_percent(d) >= 90
}

/// Whether the direct kernel beats the float32 kernels (on widened operands) for the
/// input gradient of `fwd`, as the convolution `back`: where [`suits`] says so, and
/// down to half the grid columns being outputs when the float32 gradient has no
/// Winograd path and the weights are at most 2 MB (16 samples, 256 channels, 3x3 at 2
/// threads: 14x14 images 27.7 -> 13.7 ms, 10x10 15.2 -> 7.7, 8x8 8.9 -> 6.5; with 4.7 MB
/// of weights, 512 channels, re-read for every panel, 7x7 went 16.5 -> 18.7 and 4x4
/// 4.7 -> 15.8; 16x16 with 128 channels stays with Winograd, 4.4 against 6.6). The
/// caller asks only below 64 input channels: with more, the products of the flipped
/// weights beat both (`ops/conv.rs`).
pub fn suits_input_grad(back: &Direct, fwd: &super::conv::ConvGeom) -> bool {
    let weight_bytes = back
        .c
        .saturating_mul(back.o)
        .saturating_mul(back.kh * back.kw)
        .saturating_mul(2);
    suits(back)
        || (outputs_percent(back) >= 50
            && weight_bytes <= 2 << 20
            && !super::winograd::applies(fwd))
}

/// The percentage of the computed grid columns that are outputs (0 for a geometry
/// the kernel cannot take, a 1x1 window or no input channels).
fn outputs_percent(d: &Direct) -> usize {
    let Ok(l) = d.layout() else { return 0 };
    let lanes = Panels::new(&l).count * PANEL;
    if d.kh * d.kw == 1 || lanes == 0 || d.c == 0 {
        return 0;
    }
    l.oh.saturating_mul(l.ow).saturating_mul(100) / lanes
}

/// `out (n, o, oh, ow) = conv(x, w) [+ bias]`, accumulated in float32 and rounded once.
///
/// Errors when a size overflows, the kernel does not fit the padded input or a slice
/// length does not match the geometry; needs [`available`].
pub fn forward(
    d: &Direct,
    x: &[bf16],
    w: &[bf16],
    bias: Option<&[f32]>,
    out: &mut [bf16],
) -> Result<()> {
    if !available() {
        return Err(Error::Runtime(
            "conv2d: the direct bfloat16 kernel needs AVX512-BF16".into(),
        ));
    }
    if d.c == 0 {
        return Err(Error::Runtime(
            "conv2d: the bfloat16 kernel needs input channels".into(),
        ));
    }
    let l = d.layout()?;
    check_call(
        x.len() == numel(&[d.n, d.c, d.h, d.w])?
            && w.len() == numel(&[d.o, d.c, d.kh, d.kw])?
            && out.len() == numel(&[d.n, d.o, l.oh, l.ow])?
            && bias.is_none_or(|b| b.len() == d.o),
    )?;
    if out.is_empty() {
        return Ok(());
    }
    let words = numel(&[d.n, l.pairs, l.plane])?;
    let packed = pack_weights(d, &l, w)?;
    super::conv::with_scratch::<f32, _>(words, |scratch| {
        // SAFETY: f32 and u32 have the same size and alignment, and every bit pattern
        // is valid for both; the slice is used only as u32 from here on.
        let planes: &mut [u32] = unsafe {
            std::slice::from_raw_parts_mut(scratch.as_mut_ptr().cast::<u32>(), scratch.len())
        };
        fill_planes(d, &l, x, planes);
        run_panels(d, &l, planes, &packed, bias, out);
    });
    Ok(())
}

/// Writes every word of every pair plane: the two channels' values side by side, zero
/// in the padding, in the missing channel of an odd count and past the image.
fn fill_planes(d: &Direct, l: &Layout, x: &[bf16], planes: &mut [u32]) {
    let hw = d.h * d.w;
    super::par_chunks_mut(planes, l.plane, &|t, plane| {
        let (s, p) = (t / l.pairs, t % l.pairs);
        let lo = &x[(s * d.c + 2 * p) * hw..][..hw];
        let hi = (2 * p + 1 < d.c).then(|| &x[(s * d.c + 2 * p + 1) * hw..][..hw]);
        // One fill of the whole plane: per-row fills of the padding were a call each.
        plane.fill(0);
        for (r, row) in plane[d.ph * l.g..]
            .chunks_exact_mut(l.g)
            .take(d.h)
            .enumerate()
        {
            let mid = &mut row[d.pw..][..d.w];
            let lo = &lo[r * d.w..][..d.w];
            match hi {
                Some(hi) => {
                    let hi = &hi[r * d.w..][..d.w];
                    for ((m, a), b) in mid.iter_mut().zip(lo).zip(hi) {
                        *m = u32::from(a.to_bits()) | (u32::from(b.to_bits()) << 16);
                    }
                }
                None => {
                    for (m, a) in mid.iter_mut().zip(lo) {
                        *m = u32::from(a.to_bits());
                    }
                }
            }
        }
    });
}

/// One slice of output channels: its first channel, its register rows (12, 8 or 4)
/// and where its packed weights start.
#[derive(Clone, Copy)]
struct Slice {
    o0: usize,
    rows: usize,
    at: usize,
}

/// Register rows of the next slice with `left` channels to go: 12 (24 accumulators),
/// or 8 or 4 for the last few.
pub(super) fn slice_rows(left: usize) -> usize {
    match left {
        r if r > 8 => 12,
        r if r > 4 => 8,
        _ => 4,
    }
}

/// The weights as word pairs, slice after slice, each slice `[pair][tap][row]`: the
/// rows' words of one step are adjacent. Rows past `o` are zero.
struct Packed {
    words: Vec<u32>,
    slices: Vec<Slice>,
}

fn pack_weights(d: &Direct, l: &Layout, w: &[bf16]) -> Result<Packed> {
    let steps = l.pairs * l.taps;
    let mut slices = Vec::new();
    let (mut o0, mut at) = (0, 0usize);
    while o0 < d.o {
        let rows = slice_rows(d.o - o0);
        slices.push(Slice { o0, rows, at });
        at = steps
            .checked_mul(rows)
            .and_then(|v| v.checked_add(at))
            .ok_or_else(too_large)?;
        o0 += rows;
    }
    // Each slice is filled on its own thread, reading its channels' weights in memory
    // order (gathering each step's words instead read rows c * kh * kw values apart:
    // 4.7 MB of 512x512 3x3 weights took longer than the product).
    let mut words = vec![0u32; at];
    let per_o = d.c * l.taps;
    let base = SendPtr(words.as_mut_ptr());
    super::par_for(slices.len(), &|i| {
        let s = slices[i];
        for r in 0..s.rows.min(d.o - s.o0) {
            let src = &w[(s.o0 + r) * per_o..][..per_o];
            for (ch, taps) in src.chunks_exact(l.taps).enumerate() {
                let (p, shift) = (ch / 2, 16 * (ch % 2));
                for (t, v) in taps.iter().enumerate() {
                    let at = s.at + (p * l.taps + t) * s.rows + r;
                    // SAFETY: `at` indexes slice i's words (p < pairs, t < taps,
                    // r < rows), which only this task writes.
                    unsafe { *base.get().add(at) |= u32::from(v.to_bits()) << shift };
                }
            }
        }
    });
    Ok(Packed { words, slices })
}

/// A run of a panel's lanes stored to consecutive outputs: lanes `lane..lane + len`
/// go to the output plane's element `at` onwards.
#[derive(Clone, Copy, Default)]
struct Run {
    lane: usize,
    len: usize,
    at: usize,
}

/// The panels of one sample's output grid. A panel is 32 consecutive grid columns (from
/// the first that [`Panels::runs`] gives); in rows mode each panel stays inside one grid
/// row (panels of a row start at its x = 0, 32, ...), else the panels tile the grid end
/// to end. Rows mode
/// computes no junk columns when ow is a multiple of 32 (a 32x32 image: 1024 lanes
/// against 1088), the flat tiling wastes fewer on narrow images (16x16: 288 against
/// 512); the one with fewer lanes is taken.
#[derive(Clone, Copy)]
struct Panels {
    rows_mode: bool,
    per_row: usize,
    count: usize,
}

impl Panels {
    fn new(l: &Layout) -> Panels {
        let per_row = l.ow.div_ceil(PANEL);
        let rows_mode = l.oh * per_row <= l.panels;
        let count = if rows_mode { l.oh * per_row } else { l.panels };
        Panels {
            rows_mode,
            per_row,
            count,
        }
    }

    /// Panel q's first grid column and its runs of valid outputs (at most one per grid
    /// row it touches); returns how many runs were written.
    fn runs(&self, l: &Layout, q: usize, runs: &mut [Run; PANEL]) -> (usize, usize) {
        if self.rows_mode {
            let (y, x) = (q / self.per_row, q % self.per_row * PANEL);
            runs[0] = Run {
                lane: 0,
                len: PANEL.min(l.ow - x),
                at: y * l.ow + x,
            };
            return (y * l.g + x, 1);
        }
        let j0 = q * PANEL;
        let (mut j, mut count) = (j0, 0);
        while j < j0 + PANEL {
            let (y, x) = (j / l.g, j % l.g);
            if y >= l.oh {
                break;
            }
            let span = (l.g - x).min(j0 + PANEL - j);
            if x < l.ow {
                runs[count] = Run {
                    lane: j - j0,
                    len: span.min(l.ow - x),
                    at: y * l.ow + x,
                };
                count += 1;
            }
            j += span;
        }
        (j0, count)
    }
}

/// Every (sample, panel) task: each slice's sums over all steps, the bias added, the
/// rounding and the store of the panel's valid outputs.
fn run_panels(
    d: &Direct,
    l: &Layout,
    planes: &[u32],
    packed: &Packed,
    bias: Option<&[f32]>,
    out: &mut [bf16],
) {
    let offsets: Vec<usize> = (0..l.taps).map(|t| t / d.kw * l.g + t % d.kw).collect();
    let dst = SendPtr(out.as_mut_ptr().cast::<u16>());
    let out_plane = l.oh * l.ow;
    let panels = Panels::new(l);
    super::par_for(d.n * panels.count, &|task| {
        let (s, q) = (task / panels.count, task % panels.count);
        let mut runs = [Run::default(); PANEL];
        let (j0, count) = panels.runs(l, q, &mut runs);
        let base = planes[s * l.pairs * l.plane + j0..].as_ptr();
        for sl in &packed.slices {
            let k = Kernel {
                wk: packed.words[sl.at..].as_ptr(),
                base,
                plane: l.plane,
                pairs: l.pairs,
                offsets: &offsets,
                bias: bias.map(|b| &b[sl.o0..]),
                rows: sl.rows.min(d.o - sl.o0),
                // SAFETY: sample s, channel o0 is inside `out`.
                out: unsafe { dst.get().add((s * d.o + sl.o0) * out_plane) },
                out_plane,
                runs: &runs[..count],
            };
            // SAFETY: AVX512-BF16 is present (`available`, checked by `forward`, which
            // implies the AVX-512 level); the slice's packed words cover pairs * taps
            // steps of `rows` words; every plane read lies below j0 + PANEL + the last
            // offset <= the plane's length (`Direct::layout`), inside this sample's
            // planes; the runs address this sample's outputs of the slice's channels,
            // which only this task writes at these positions.
            unsafe {
                match sl.rows {
                    12 => slice::<12>(&k),
                    8 => slice::<8>(&k),
                    _ => slice::<4>(&k),
                }
            }
        }
    });
}

/// What [`slice`] reads and where it writes.
struct Kernel<'a> {
    /// The slice's packed weights.
    wk: *const u32,
    /// Pair plane 0 of the sample, at the panel's first grid column.
    base: *const u32,
    plane: usize,
    pairs: usize,
    offsets: &'a [usize],
    /// The bias of the slice's channels onwards.
    bias: Option<&'a [f32]>,
    /// Channels of the slice that exist (`R` or fewer).
    rows: usize,
    /// The output plane of the slice's first channel.
    out: *mut u16,
    out_plane: usize,
    runs: &'a [Run],
}

/// The float32 sums of a slice's `R` channels over every channel pair and tap for the
/// panel's 32 grid columns, the bias added, rounded to bfloat16 (to nearest even, NaN
/// kept a quiet NaN, as `narrow_bf16`) and stored by runs.
///
/// # Safety
/// The CPU has AVX512F, AVX512BW and AVX512-BF16; `wk` holds `pairs * offsets.len() *
/// R` words; `base + p * plane + off + 32` stays inside one allocation for every pair
/// `p` and offset `off`; the bias has `rows` values; every run addresses `len` outputs
/// from `out + r * out_plane + at` for `r < rows`, valid for writes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
unsafe fn slice<const R: usize>(k: &Kernel) {
    use std::arch::x86_64::*;
    let mut sums = [[_mm512_setzero_ps(); 2]; R];
    let mut a = k.wk;
    for p in 0..k.pairs {
        // SAFETY: pair p's plane (the caller's contract).
        let bp = unsafe { k.base.add(p * k.plane) };
        for &off in k.offsets {
            // SAFETY: 32 words from bp + off (the caller's contract); the transmutes
            // reinterpret 16 words as 32 bfloat16 values.
            let (b0, b1): (__m512bh, __m512bh) = unsafe {
                (
                    std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(
                        bp.add(off).cast(),
                    )),
                    std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(
                        bp.add(off + 16).cast(),
                    )),
                )
            };
            for (r, row) in sums.iter_mut().enumerate() {
                // SAFETY: word r of this step (the caller's contract); the transmute
                // reinterprets 16 equal words as 32 bfloat16 values.
                let w: __m512bh =
                    unsafe { std::mem::transmute(_mm512_set1_epi32(*a.add(r) as i32)) };
                row[0] = _mm512_dpbf16_ps(row[0], w, b0);
                row[1] = _mm512_dpbf16_ps(row[1], w, b1);
            }
            // SAFETY: the next step's words (or one past the slice's end, not read).
            a = unsafe { a.add(R) };
        }
    }
    // The sums go to memory once, here: indexing the registers' array by a run-time
    // row count below made the compiler keep it in memory, storing all 24
    // accumulators after every step (twice the time).
    // (Uninitialised: zeroing it first cost a memset call per slice.)
    let mut acc = std::mem::MaybeUninit::<[[f32; PANEL]; R]>::uninit();
    let first = acc.as_mut_ptr().cast::<f32>();
    for (r, row) in sums.iter().enumerate() {
        // SAFETY: row r's 32 floats inside `acc`.
        unsafe {
            _mm512_storeu_ps(first.add(r * PANEL), row[0]);
            _mm512_storeu_ps(first.add(r * PANEL + 16), row[1]);
        }
    }
    // SAFETY: every row was written just above.
    let acc = unsafe { acc.assume_init() };
    // Lanes 32..64 only pad the reloads of runs starting past lane 0.
    let mut rounded = [0u16; 2 * PANEL];
    for (r, row) in acc.iter().enumerate().take(k.rows) {
        for h in 0..2 {
            // SAFETY: 16 floats of the row.
            let v = unsafe { _mm512_loadu_ps(row.as_ptr().add(16 * h)) };
            // (Adding a zero bias instead would turn -0 into +0.)
            let v = match k.bias {
                Some(b) => _mm512_add_ps(v, _mm512_set1_ps(b[r])),
                None => v,
            };
            // SAFETY: 16 lanes inside `rounded`.
            unsafe {
                _mm256_storeu_si256(
                    rounded.as_mut_ptr().add(16 * h).cast(),
                    _mm512_cvtepi32_epi16(round_to_bf16(v)),
                )
            };
        }
        for run in k.runs {
            // SAFETY: 32 lanes from run.lane < 32 inside `rounded`; the masked store
            // writes run.len outputs of channel r (the caller's contract).
            unsafe {
                let v = _mm512_loadu_si512(rounded.as_ptr().add(run.lane).cast());
                let keep = (u64::MAX >> (64 - run.len)) as __mmask32;
                _mm512_mask_storeu_epi16(k.out.add(r * k.out_plane + run.at).cast(), keep, v);
            }
        }
    }
}

/// Each float32 lane's bfloat16 bits (round to nearest even; NaN a quiet NaN), in the
/// low half of its 32-bit lane.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unsafe_op_in_unsafe_fn)]
unsafe fn round_to_bf16(v: std::arch::x86_64::__m512) -> std::arch::x86_64::__m512i {
    use std::arch::x86_64::*;
    let b = _mm512_castps_si512(v);
    let odd = _mm512_and_si512(_mm512_srli_epi32::<16>(b), _mm512_set1_epi32(1));
    let bias = _mm512_add_epi32(odd, _mm512_set1_epi32(0x7fff));
    let rounded = _mm512_srli_epi32::<16>(_mm512_add_epi32(b, bias));
    let quiet = _mm512_or_si512(_mm512_srli_epi32::<16>(b), _mm512_set1_epi32(0x40));
    let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v);
    _mm512_mask_blend_epi32(nan, rounded, quiet)
}

/// Elsewhere [`available`] is false and [`forward`] refuses before any kernel runs.
#[cfg(not(target_arch = "x86_64"))]
unsafe fn slice<const R: usize>(_k: &Kernel) {
    unreachable!("the direct bfloat16 convolution is x86_64 only")
}
