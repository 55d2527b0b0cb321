//! The weight gradient of a direct bfloat16 convolution (`conv_bf16.rs`) with
//! AVX512-BF16 `vdpbf16ps`, float32 sums rounded once.
//!
//! `gw[o, c, dy, dx] = sum over samples and outputs (y, x) of gy[o, y, x] * xp[c, y + dy,
//! x + dx]`, `xp` the zero-padded input. Over the forward's grid columns `j = y * g + x`
//! (`g` the padded width) the input term is `xp[c][j + dy * g + dx]`, one offset per tap,
//! so the sum runs over pairs of consecutive columns: the output gradient's pair
//! `(gy[o][j], gy[o][j + 1])` for 32 channels o in two registers (the output gradient
//! transposed once per sample, zero at the grid's junk columns x >= ow), times the
//! input's pair at `j + off`, read as one unaligned 32-bit word of the padded plane and
//! broadcast: no im2col copy of the input.
//!
//! The junk columns multiply a zero by an input value: an infinite or NaN input would
//! make them NaN, so such inputs are left to the float32 kernels (`weight_grad`
//! answers false). Each gradient is summed sample after sample, each over its columns
//! in order, whatever the thread count.

// Only the x86_64 kernels read the kernels' arguments (elsewhere `available` is false).
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

use super::conv_bf16::{check_call, numel, too_large, Direct};
use super::SendPtr;
use crate::error::{Error, Result};
use half::bf16;

/// Output channels (lanes) per tile: two 16-lane registers.
const LANES: usize = 32;

/// Input channels per tile (register rows): 12, or 8 or 4 at the end.
fn slices(c: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut c0 = 0;
    while c0 < c {
        let rows = super::conv_bf16::slice_rows(c - c0);
        out.push((c0, rows));
        c0 += rows;
    }
    out
}

/// Sizes of one call, computed with checked arithmetic.
struct Sizes {
    oh: usize,
    ow: usize,
    g: usize,
    /// Column pairs of the grid (`oh * g` columns, rounded up).
    pairs: usize,
    /// u16 values per padded input plane: the forward's plane length, more than the
    /// `hp * g + kw` the last pair's reads reach (2 * pairs - 1 plus the last tap's
    /// offset, (kh - 1) * g + kw - 1).
    plane: usize,
    /// Input rows per sample: the channels rounded up to whole slices.
    rows: usize,
    /// Output channels rounded up to whole tiles.
    o_pad: usize,
}

fn sizes(d: &Direct) -> Result<Sizes> {
    let l = d.layout()?;
    let pairs = l.oh.checked_mul(l.g).ok_or_else(too_large)?.div_ceil(2);
    let rows = slices(d.c).iter().map(|s| s.1).sum();
    Ok(Sizes {
        oh: l.oh,
        ow: l.ow,
        g: l.g,
        pairs,
        plane: l.plane,
        rows,
        o_pad: d.o.div_ceil(LANES) * LANES,
    })
}

/// Whether this kernel beats the float32 kernels on widened operands for the weight
/// gradient of `d`: where the direct forward suits (`conv_bf16::suits`) and with 8 input
/// channels or more (3 channels fill a third of a 12-row tile: 64x3x32x32 -> 16 took
/// 0.91 ms against 0.70; 16 samples, 64 -> 64 channels, 32x32: 4.7 -> 3.4 ms, PyTorch
/// 3.7; 2x256x32x32 -> 256: 13.1 -> 6.8, PyTorch 5.9).
pub fn suits(d: &Direct) -> bool {
    d.c >= 8 && super::conv_bf16::suits(d)
}

/// `gw (o, c, kh, kw)` for the convolution `d` from its output gradient `gy (n, o, oh,
/// ow)` and input `x (n, c, h, w)`, or false (nothing written) when `x` holds an
/// infinity or NaN. Needs [`super::conv_bf16::available`].
pub fn weight_grad(d: &Direct, gy: &[bf16], x: &[bf16], gw: &mut [bf16]) -> Result<bool> {
    if !super::conv_bf16::available() {
        return Err(Error::Runtime(
            "conv2d: the direct bfloat16 kernel needs AVX512-BF16".into(),
        ));
    }
    let z = sizes(d)?;
    check_call(
        gy.len() == numel(&[d.n, d.o, z.oh, z.ow])?
            && x.len() == numel(&[d.n, d.c, d.h, d.w])?
            && gw.len() == numel(&[d.o, d.c, d.kh, d.kw])?,
    )?;
    if gw.is_empty() {
        return Ok(true);
    }
    let cols_len = numel(&[d.n, z.pairs, z.o_pad])?;
    let planes_len = numel(&[d.n, z.rows, z.plane])?;
    // One scratch buffer of this thread's, kept between calls (fresh buffers cost page
    // faults, a tenth of the time): the columns' words, then the planes' u16 values.
    let words = planes_len
        .div_ceil(2)
        .checked_add(cols_len)
        .ok_or_else(too_large)?;
    let done = super::conv::with_scratch::<f32, _>(words, |scratch| {
        // SAFETY: f32 and u32 have the same size and alignment, u16 a smaller
        // alignment, and every bit pattern is valid for each; the buffer is used only
        // through these two disjoint views from here on.
        let (cols, planes) = unsafe {
            let base = scratch.as_mut_ptr().cast::<u32>();
            (
                std::slice::from_raw_parts_mut(base, cols_len),
                std::slice::from_raw_parts_mut(base.add(cols_len).cast::<u16>(), planes_len),
            )
        };
        if !fill_planes(d, &z, x, planes) {
            return false;
        }
        transpose_gy(d, &z, gy, cols);
        sum_tiles(d, &z, planes, cols, gw);
        true
    });
    Ok(done)
}

/// Each sample's channels as zero-padded `hp x g` planes of `z.plane` values (rows past
/// the channels zero); false if an input value is infinite or NaN.
fn fill_planes(d: &Direct, z: &Sizes, x: &[bf16], planes: &mut [u16]) -> bool {
    use std::sync::atomic::{AtomicBool, Ordering};
    let hw = d.h * d.w;
    let finite = AtomicBool::new(true);
    super::par_chunks_mut(planes, z.plane, &|t, plane| {
        plane.fill(0);
        let (s, c) = (t / z.rows, t % z.rows);
        if c >= d.c {
            return;
        }
        let src = &x[(s * d.c + c) * hw..][..hw];
        // An exponent of all ones: infinity or NaN.
        let mut special = false;
        for (r, row) in src.chunks_exact(d.w).enumerate() {
            let at = (r + d.ph) * z.g + d.pw;
            for (p, v) in plane[at..at + d.w].iter_mut().zip(row) {
                *p = v.to_bits();
                special |= *p & 0x7f80 == 0x7f80;
            }
        }
        if special {
            finite.store(false, Ordering::Relaxed);
        }
    });
    finite.into_inner()
}

/// Each sample's output gradient as `[pair][o]` words: the values at grid columns 2p
/// and 2p + 1, zero at junk columns (x >= ow, or past the grid) and channels past `o`.
/// Written channel by channel (reading the gradient in order) as u16 halves.
fn transpose_gy(d: &Direct, z: &Sizes, gy: &[bf16], cols: &mut [u32]) {
    let out_plane = z.oh * z.ow;
    super::par_chunks_mut(cols, z.pairs * z.o_pad, &|s, sample| {
        sample.fill(0);
        let halves = sample.as_mut_ptr().cast::<u16>();
        for o in 0..d.o {
            let src = &gy[(s * d.o + o) * out_plane..][..out_plane];
            for (y, row) in src.chunks_exact(z.ow).enumerate() {
                for (x, v) in row.iter().enumerate() {
                    let j = y * z.g + x;
                    // SAFETY: j < oh * g <= 2 * pairs, o < o_pad: half (j & 1) of word
                    // (j / 2, o) of this sample's chunk.
                    unsafe { *halves.add(((j >> 1) * z.o_pad + o) * 2 + (j & 1)) = v.to_bits() };
                }
            }
        }
    });
}

/// Every tile (tap, block of 32 output channels, slice of input channels) summed over
/// the samples, each tile's partial sums kept by the task that owns it.
fn sum_tiles(d: &Direct, z: &Sizes, planes: &[u16], cols: &[u32], gw: &mut [bf16]) {
    let taps = d.kh * d.kw;
    let cs = slices(d.c);
    let blocks = z.o_pad / LANES;
    let mut tiles = Vec::with_capacity(taps * blocks * cs.len());
    for t in 0..taps {
        for b in 0..blocks {
            tiles.extend(cs.iter().map(|&slice| (t, b, slice)));
        }
    }
    // Groups of consecutive tiles (the same tap and block share their output gradient
    // columns), a few per thread for balance.
    let groups = (4 * super::get_num_threads()).min(tiles.len()).max(1);
    let dst = SendPtr(gw.as_mut_ptr().cast::<u16>());
    super::par_for(groups, &|gi| {
        let mine = &tiles[gi * tiles.len() / groups..(gi + 1) * tiles.len() / groups];
        let mut acc = vec![0f32; mine.len() * 12 * LANES];
        for s in 0..d.n {
            for (k, &(t, b, (c0, rows))) in mine.iter().enumerate() {
                let off = t / d.kw * z.g + t % d.kw;
                let tile = Tile {
                    x: planes[(s * z.rows + c0) * z.plane + off..].as_ptr(),
                    plane: z.plane,
                    cols: cols[s * z.pairs * z.o_pad + b * LANES..].as_ptr(),
                    o_pad: z.o_pad,
                    pairs: z.pairs,
                    acc: acc[k * 12 * LANES..].as_mut_ptr(),
                    first: s == 0,
                };
                // SAFETY: AVX512-BF16 is present (`available`, checked by
                // `weight_grad`, which implies the AVX-512 level); the slice's rows
                // (c0..c0 + rows <= z.rows) of sample s hold z.plane values each, and
                // the reads reach 2 * pairs + off <= z.plane - 1 (`sizes`); the
                // columns hold pairs rows of o_pad words from block b; `acc` holds
                // 12 x 32 floats for this tile.
                unsafe {
                    match rows {
                        12 => tile_sums::<12>(&tile),
                        8 => tile_sums::<8>(&tile),
                        _ => tile_sums::<4>(&tile),
                    }
                }
            }
        }
        for (k, &(t, b, (c0, rows))) in mine.iter().enumerate() {
            for r in 0..rows.min(d.c - c0) {
                let sums = &acc[(k * 12 + r) * LANES..][..LANES];
                for (lane, v) in sums.iter().enumerate() {
                    let o = b * LANES + lane;
                    if o < d.o {
                        let at = (o * d.c + c0 + r) * taps + t;
                        // SAFETY: output (o, c0 + r, t) lies inside `gw`; its tile
                        // belongs to this task alone.
                        unsafe {
                            *dst.get().add(at) = super::half_convert::narrow_bf16(*v).to_bits()
                        };
                    }
                }
            }
        }
    });
}

/// One tile's inputs for one sample.
struct Tile {
    /// Row 0 of the slice's padded planes, at the tap's offset.
    x: *const u16,
    plane: usize,
    /// The output gradient's words of the tile's block, pair 0.
    cols: *const u32,
    o_pad: usize,
    pairs: usize,
    /// The tile's partial sums, R x 32 floats (read unless `first`).
    acc: *mut f32,
    first: bool,
}

/// `acc[r][lane] (+)= sum over pairs p of the input pair at x + r * plane + 2p times
/// the output gradient pair of channel lane`.
///
/// # Safety
/// The CPU has AVX512F and AVX512-BF16; rows `r < R` of `x` are readable for `2 *
/// pairs + 1` values; `cols` for `pairs` rows of `o_pad` words from lane 0 to 31;
/// `acc` for R x 32 floats, written, and read unless `first`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
unsafe fn tile_sums<const R: usize>(t: &Tile) {
    use std::arch::x86_64::*;
    let mut sums = [[_mm512_setzero_ps(); 2]; R];
    if !t.first {
        for (r, row) in sums.iter_mut().enumerate() {
            // SAFETY: row r of the partial sums (the caller's contract).
            unsafe {
                row[0] = _mm512_loadu_ps(t.acc.add(r * LANES));
                row[1] = _mm512_loadu_ps(t.acc.add(r * LANES + 16));
            }
        }
    }
    let rows: [*const u16; R] = std::array::from_fn(|r| t.x.wrapping_add(r * t.plane));
    for p in 0..t.pairs {
        // SAFETY: pair p's 32 words of the block (the caller's contract); the
        // transmutes reinterpret 16 words as 32 bfloat16 values.
        let (b0, b1): (__m512bh, __m512bh) = unsafe {
            let at = t.cols.add(p * t.o_pad);
            (
                std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(at.cast())),
                std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(at.add(16).cast())),
            )
        };
        for (row, x) in sums.iter_mut().zip(rows) {
            // SAFETY: values 2p and 2p + 1 of the row (the caller's contract), read as
            // one unaligned word; the transmute reinterprets 16 equal words as 32
            // bfloat16 values.
            let a: __m512bh = unsafe {
                let word = x.add(2 * p).cast::<i32>().read_unaligned();
                std::mem::transmute(_mm512_set1_epi32(word))
            };
            row[0] = _mm512_dpbf16_ps(row[0], a, b0);
            row[1] = _mm512_dpbf16_ps(row[1], a, b1);
        }
    }
    for (r, row) in sums.iter().enumerate() {
        // SAFETY: row r of the partial sums (the caller's contract).
        unsafe {
            _mm512_storeu_ps(t.acc.add(r * LANES), row[0]);
            _mm512_storeu_ps(t.acc.add(r * LANES + 16), row[1]);
        }
    }
}

/// Elsewhere `conv_bf16::available` is false and [`weight_grad`] refuses before any
/// kernel runs.
#[cfg(not(target_arch = "x86_64"))]
unsafe fn tile_sums<const R: usize>(_t: &Tile) {
    unreachable!("the direct bfloat16 convolution is x86_64 only")
}
