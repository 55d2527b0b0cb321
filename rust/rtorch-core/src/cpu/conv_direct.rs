//! Direct float32 convolution for up to 64 channels and unit stride (LeNet's, the MNIST
//! CNN's and ResNet's first-stage layers), with AVX-512 or AVX2 register tiles instead
//! of im2col + GEMM. The tiles below are described in zmm registers; the AVX2 kernels
//! (`mod avx2`) keep their contracts and data layouts and split them into sub-tiles
//! that fit 16 ymm registers, summing in the same order.
//!
//! With few output channels the im2col route spends its time copying windows and
//! packing them for a product whose other side is only 6-16 wide; up to 64 the copy and
//! the packing still cost more than they save. Here the windows are never built. The input is zero-padded once per sample into a plane of width `Wq`;
//! then output position `(y, x)` is the "wide" position `p = y*Wq + x`, and kernel tap
//! `(i, j)` of every output reads the input at `p + off(i, j)`, a contiguous run for a
//! tile of consecutive positions. Wide positions with `x` past the output's width are
//! computed and thrown away (for LeNet that is 4 of every 32).
//!
//! - forward and input gradient: `out[co, p] = sum over ci, taps of w[co, ci, tap] *
//!   in[ci, p + off(tap)]`, 6 output channels x 64 positions of accumulators per tile
//!   (24 zmm registers: each input channel and tap costs 4 input loads and 6 weight
//!   broadcasts for 24 FMAs). The input gradient is this same correlation of the padded
//!   `dy` with the flipped, transposed weights.
//! - weight gradient: `dw[co, ci, tap] = sum over samples, p of dy[co, p] *
//!   in[ci, p + off(tap)]`, with `dy` spread to the wide positions (zeros at the
//!   thrown-away ones). Over 16 output channels: a register-tiled product over
//!   positions with `dy` transposed position-major (2-4 zmm of output channels times
//!   12-6 (input channel, tap) columns per tile); up to 16: dot products over positions,
//!   8 output channels x 2 taps x 16 positions of lanes per tile.
//!
//! Every sum runs in a fixed order (fused multiply-adds over input channels and taps;
//! lanes reduced by one fixed tree), and work is split over samples only, so results do
//! not depend on the thread count.

use super::conv::{with_scratch, ConvGeom};

/// Output channels per tile of the forward / input-gradient correlation.
const FB: usize = 6;
/// Wide positions per correlation tile (four zmm registers): 6 x 4 accumulators, so
/// each (input channel, tap) costs 4 input loads and 6 weight broadcasts for 24 FMAs.
const FP: usize = 64;
/// Output channels per tile of the narrow weight gradient.
const OB: usize = 8;
/// Wide positions per tile (two zmm registers).
const PB: usize = 32;
/// Largest output-channel count (of the forward and the weight gradient, or input
/// channels for the input gradient) that goes direct. Measured at one thread against
/// im2col + GEMM: direct is 1.3-2x faster up to 64 channels (ResNet's first stage:
/// 64 -> 64 at 32x32 and 56x56), about even at 128, and slower at 256, where the
/// GEMM's packing is amortised. On the AVX2 machine (AMD EPYC, two threads) the ResNet
/// block's step went 95 -> 75 ms when its 64-channel layers moved here.
const MAX_CHANNELS: usize = 64;

/// Largest padded plane that goes direct: the weight gradient streams 8 rows of `dy`
/// over it once per input channel and tap, which should stay in L2 (8 * 8192 floats
/// is 256 KiB; LeNet's largest is 1024).
const MAX_PLANE: usize = 8192;

/// Whether a float32 convolution of this geometry runs here (AVX-512 or AVX2 + FMA in
/// use: not turned off with `RTORCH_CPU_CAPABILITY=default`).
pub fn applies(g: &ConvGeom) -> bool {
    let p = &g.plane;
    g.groups == 1
        && p.stride == [1, 1]
        && p.kernel != [1, 1]
        && g.o <= MAX_CHANNELS
        && g.o > 0
        && g.c > 0
        && (p.h + 2 * p.padding[0]).saturating_mul(p.w + 2 * p.padding[1]) <= MAX_PLANE
        && simd()
}

/// Whether the input gradient runs here too (its output channels are the input's).
pub fn applies_input_grad(g: &ConvGeom) -> bool {
    applies(g) && g.c <= MAX_CHANNELS
}

fn avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        super::math::capability() == super::math::Capability::Avx512
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The kernels exist for the level in use: AVX-512, or AVX2 with FMA.
fn simd() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        super::math::has_avx2_fma()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The arguments of [`correlate_tile`]: `(inp, plane, ci, offs, w, out, ld)`.
type TileArgs<'a> = (
    *const f32,
    usize,
    usize,
    &'a [usize],
    *const f32,
    *mut f32,
    usize,
);

/// One tile of the correlation: `out[r*ld + q] = sum over ch, t of
/// w[(ch*kk + t)*FB + r] * inp[ch*plane + offs[t] + q]` for `r < R <= FB`, `q < FP`
/// (`R` the block's real channels: none computed for padding rows), each sum a chain
/// of fused multiply-adds in (ch, t) order on either path.
///
/// # Safety
/// `simd()`; every address named above is readable (`inp`, `w`) or writable (`out`).
unsafe fn correlate_tile<const R: usize>(args: TileArgs<'_>) {
    // SAFETY: forwarded contract; each module's kernel needs only its level.
    unsafe {
        if avx512() {
            avx512::correlate_tile::<R>(args)
        } else {
            avx2::correlate_tile::<R>(args)
        }
    }
}

/// One tile of the wide weight gradient: for the `NC` columns with padded-plane
/// offsets `bases`, `acc[j*CV*16 + v*16 + l] += sum over q < qn of
/// dyt[q*CV*16 + v*16 + l] * inp[bases[j] + q]`, summed in `q` order on either path.
///
/// # Safety
/// `simd()`; `inp[bases[j] .. bases[j] + qn]`, `dyt[.. qn*CV*16]` are readable and
/// `acc[.. NC*CV*16]` is readable and writable.
unsafe fn wgrad_tile<const CV: usize, const NC: usize>(
    inp: *const f32,
    bases: &[usize],
    dyt: *const f32,
    qn: usize,
    acc: *mut f32,
) {
    // SAFETY: forwarded contract.
    unsafe {
        if avx512() {
            avx512::wgrad_tile::<CV, NC>(inp, bases, dyt, qn, acc)
        } else {
            avx2::wgrad_tile::<CV, NC>(inp, bases, dyt, qn, acc)
        }
    }
}

/// `sums[t][r] = sum over q < len of dy[r*len + q] * x[offs[t] + q]` for `t < T` and
/// `r < OB` (`len` a multiple of 16), lanes reduced by one fixed tree per path.
///
/// # Safety
/// `simd()`; `x[offs[t] .. offs[t] + len]` and `dy[..OB*len]` are readable.
unsafe fn dot_taps<const T: usize>(
    x: *const f32,
    offs: [usize; T],
    dy: *const f32,
    len: usize,
    sums: &mut [[f32; OB]; T],
) {
    // SAFETY: forwarded contract.
    unsafe {
        if avx512() {
            avx512::dot_taps::<T>(x, offs, dy, len, sums)
        } else {
            avx2::dot_taps::<T>(x, offs, dy, len, sums)
        }
    }
}

/// One correlation's geometry: `ci` input planes padded to `hq x wq`, `co` output
/// planes of `oh x ow` whose position `(y, x)` reads the padded plane at
/// `(y + cy + i*dh, x + cx + j*dw)` for tap `(i, j)`.
#[derive(Clone, Copy)]
struct Corr {
    ci: usize,
    co: usize,
    /// Input plane (unpadded) and where it sits in the padded one.
    h: usize,
    w: usize,
    top: usize,
    left: usize,
    hq: usize,
    wq: usize,
    oh: usize,
    ow: usize,
    /// Padded-plane offset of output (0, 0) for tap (0, 0).
    base: usize,
}

impl Corr {
    /// `ci` planes of `h x w` padded by `pad` on each side, read for `co` outputs of
    /// `oh x ow` from padded position `skip` (rows, columns) on.
    fn new(
        [ci, co]: [usize; 2],
        [h, w]: [usize; 2],
        pad: [usize; 2],
        [oh, ow]: [usize; 2],
        skip: [usize; 2],
    ) -> Corr {
        let wq = w + 2 * pad[1];
        Corr {
            ci,
            co,
            h,
            w,
            top: pad[0],
            left: pad[1],
            hq: h + 2 * pad[0],
            wq,
            oh,
            ow,
            base: skip[0] * wq + skip[1],
        }
    }

    /// Wide positions computed: the last output row needs only `ow`.
    fn len(&self) -> usize {
        (self.oh - 1) * self.wq + self.ow
    }
    /// `len` rounded up to whole tiles.
    fn len_tiles(&self) -> usize {
        self.len().div_ceil(PB) * PB
    }
    /// `len` rounded up to whole correlation tiles.
    fn len_ftiles(&self) -> usize {
        self.len().div_ceil(FP) * FP
    }
    fn plane(&self) -> usize {
        self.hq * self.wq
    }
    /// Padded input planes plus a tile of slack (the last tile reads past the end),
    /// rounded up to whole 64-byte lines so that what follows stays aligned.
    fn padded_len(&self) -> usize {
        (self.ci * self.plane() + FP.max(PB)).div_ceil(16) * 16
    }
    fn blocks(&self) -> usize {
        self.co.div_ceil(OB)
    }
    fn fblocks(&self) -> usize {
        self.co.div_ceil(FB)
    }

    /// Copies one sample's `(ci, h, w)` planes into `dst` (`padded_len`) with zero
    /// borders and slack.
    fn pad(&self, src: &[f32], dst: &mut [f32]) {
        dst.fill(0.0);
        let plane = self.plane();
        for (ch, s) in src.chunks_exact(self.h * self.w).enumerate() {
            for (y, row) in s.chunks_exact(self.w).enumerate() {
                let at = ch * plane + (y + self.top) * self.wq + self.left;
                dst[at..at + self.w].copy_from_slice(row);
            }
        }
    }
}

/// Floats of slack that let [`aligned`] start a scratch buffer on a 64-byte line.
const ALIGN_SLACK: usize = 16;

/// `buf` from its first 64-byte-aligned float on (the tiles' `dy` and output rows
/// then load and store whole cache lines). `buf` has [`ALIGN_SLACK`] spare floats.
fn aligned(buf: &mut [f32]) -> &mut [f32] {
    let off = buf.as_ptr().align_offset(64).min(ALIGN_SLACK);
    &mut buf[off..]
}

/// Tap offsets in the padded plane (row-major over the kernel).
fn tap_offsets(c: &Corr, kernel: [usize; 2], dilation: [usize; 2]) -> Vec<usize> {
    let mut offs = Vec::with_capacity(kernel[0] * kernel[1]);
    for i in 0..kernel[0] {
        for j in 0..kernel[1] {
            offs.push(c.base + i * dilation[0] * c.wq + j * dilation[1]);
        }
    }
    offs
}

/// Weights `w[co, ci, tap]` regrouped per tile: block `b`, input channel, tap, then
/// the block's `FB` output channels (zero past `co`), so a tile reads `FB`
/// consecutive values per tap.
fn pack_weights(w: &[f32], co: usize, ci: usize, kk: usize) -> Vec<f32> {
    let blocks = co.div_ceil(FB);
    let mut out = vec![0.0; blocks * ci * kk * FB];
    for o in 0..co {
        let (b, r) = (o / FB, o % FB);
        for c in 0..ci {
            for t in 0..kk {
                out[((b * ci + c) * kk + t) * FB + r] = w[(o * ci + c) * kk + t];
            }
        }
    }
    out
}

/// One sample's correlation: `out` is `(co, oh, ow)`, `inp` the padded planes,
/// `wide` scratch of `FB * len_ftiles`.
fn correlate_sample(
    c: &Corr,
    offs: &[usize],
    wp: &[f32],
    bias: Option<&[f32]>,
    inp: &[f32],
    wide: &mut [f32],
    out: &mut [f32],
) {
    let (kk, lt) = (offs.len(), c.len_ftiles());
    let max_off = offs.iter().copied().max().unwrap_or(0);
    assert!(
        (c.ci - 1) * c.plane() + max_off + lt <= inp.len()
            && wide.len() >= FB * lt
            && wp.len() >= c.fblocks() * c.ci * kk * FB
    );
    for b in 0..c.fblocks() {
        let wb = &wp[b * c.ci * kk * FB..(b + 1) * c.ci * kk * FB];
        let rows = FB.min(c.co - b * FB);
        for p0 in (0..lt).step_by(FP) {
            // SAFETY: `simd()` holds (`applies`); the tile reads `inp[ch*plane +
            // off + p0 .. + FP]` with `ch*plane + off + p0 + FP <= (ci-1)*plane +
            // max_off + lt <= inp.len()` (asserted above), `wb[(ch*kk + t)*FB .. +
            // FB]` inside `wb`, and writes rows of `wide` at `r*lt + p0 .. + FP`,
            // inside `wide` (asserted).
            unsafe {
                let args = (
                    inp.as_ptr().add(p0),
                    c.plane(),
                    c.ci,
                    offs,
                    wb.as_ptr(),
                    wide.as_mut_ptr().add(p0),
                    lt,
                );
                match rows {
                    1 => correlate_tile::<1>(args),
                    2 => correlate_tile::<2>(args),
                    3 => correlate_tile::<3>(args),
                    4 => correlate_tile::<4>(args),
                    5 => correlate_tile::<5>(args),
                    _ => correlate_tile::<FB>(args),
                }
            };
        }
        for r in 0..rows {
            let o = b * FB + r;
            let add = bias.map_or(0.0, |bias| bias[o]);
            let src = &wide[r * lt..(r + 1) * lt];
            let dst = &mut out[o * c.oh * c.ow..(o + 1) * c.oh * c.ow];
            for (y, row) in dst.chunks_exact_mut(c.ow).enumerate() {
                let s = &src[y * c.wq..y * c.wq + c.ow];
                row.iter_mut().zip(s).for_each(|(d, &v)| *d = v + add);
            }
        }
    }
}

/// Runs a correlation over every sample (in parallel over samples).
#[allow(clippy::too_many_arguments)]
fn correlate_batch(
    n: usize,
    c: &Corr,
    offs: &[usize],
    wp: &[f32],
    bias: Option<&[f32]>,
    input: &[f32],
    out: &mut [f32],
) {
    let (in_len, out_len) = (c.ci * c.h * c.w, c.co * c.oh * c.ow);
    let scratch = c.padded_len() + FB * c.len_ftiles() + ALIGN_SLACK;
    let run = |s: usize, out_n: &mut [f32]| {
        with_scratch::<f32, _>(scratch, |buf| {
            let (inp, wide) = aligned(buf).split_at_mut(c.padded_len());
            c.pad(&input[s * in_len..(s + 1) * in_len], inp);
            correlate_sample(c, offs, wp, bias, inp, wide, out_n);
        })
    };
    if super::get_num_threads() > 1 && n > 1 {
        super::par_chunks_mut(out, out_len, &run);
    } else {
        out.chunks_mut(out_len)
            .enumerate()
            .for_each(|(s, o)| run(s, o));
    }
}

/// Forward (`applies(g)`): `out` `(n, o, oh, ow)` from `x` `(n, c, h, w)`, `w`
/// `(o, c, kh, kw)` and `bias`.
pub fn forward(g: &ConvGeom, x: &[f32], w: &[f32], bias: Option<&[f32]>, out: &mut [f32]) {
    let p = &g.plane;
    let c = weight_corr(g);
    if g.n == 0 || p.oh == 0 || p.ow == 0 {
        return;
    }
    let offs = tap_offsets(&c, p.kernel, p.dilation);
    let wp = pack_weights(w, g.o, g.c, offs.len());
    correlate_batch(g.n, &c, &offs, &wp, bias, x, out);
}

/// Input gradient (`applies_input_grad(g)`): `gx` `(n, c, h, w)` from `gy`
/// `(n, o, oh, ow)` and `w`: the correlation of `dy` padded by the kernel's reach with
/// the flipped weights, read at the original padding's offset. The padding multiplies
/// every weight by zeros, so the caller sends non-finite weights to the im2col route.
pub fn backward_input(g: &ConvGeom, gy: &[f32], w: &[f32], gx: &mut [f32]) {
    let p = &g.plane;
    let [kh, kw] = p.kernel;
    let [dh, dw] = p.dilation;
    let [ph, pw] = p.padding;
    if g.n == 0 || p.h == 0 || p.w == 0 {
        return;
    }
    let reach = [(kh - 1) * dh, (kw - 1) * dw];
    let c = Corr::new([g.o, g.c], [p.oh, p.ow], reach, [p.h, p.w], [ph, pw]);
    let kk = kh * kw;
    // w'[ci, co, tap] = w[co, ci, flipped tap].
    let mut wt = vec![0.0; g.c * g.o * kk];
    for o in 0..g.o {
        for ch in 0..g.c {
            for t in 0..kk {
                wt[(ch * g.o + o) * kk + (kk - 1 - t)] = w[(o * g.c + ch) * kk + t];
            }
        }
    }
    let offs = tap_offsets(&c, p.kernel, p.dilation);
    let wp = pack_weights(&wt, g.c, g.o, kk);
    correlate_batch(g.n, &c, &offs, &wp, None, gy, gx);
}

/// Weight gradient of samples `lo..hi` (`applies(g)`) into `dst` `(o, c, kh, kw)`.
///
/// Thrown-away wide positions multiply a zero `dy` by a real input pixel, so the
/// caller sends inputs with infinities or NaNs (where `0 * inf` would poison a sum)
/// to the im2col route.
pub fn backward_weight_part(
    g: &ConvGeom,
    gy: &[f32],
    x: &[f32],
    lo: usize,
    hi: usize,
    dst: &mut [f32],
    buf: &mut [f32],
) {
    if g.o > LANES {
        backward_weight_part_wide(g, gy, x, lo, hi, dst, buf);
    } else {
        backward_weight_part_narrow(g, gy, x, lo, hi, dst, buf);
    }
}

/// Output channels per zmm register in the wide weight gradient.
const LANES: usize = 16;
/// Accumulator registers of one wide weight-gradient tile (`vectors * columns`).
const WG_ACC: usize = 24;
/// Wide positions per chunk of the wide weight gradient: a chunk of the transposed
/// `dy` (up to 64 channels: 32 KiB) stays in L1 while every column tile passes over it.
const WG_CHUNK: usize = 128;

/// The weight gradient for more than 16 output channels, as a register-tiled product
/// over positions: `acc[col][co] += dyT[p][co] * in[base(col) + p]`, where a column is
/// one (input channel, tap) pair and `dyT` is `dy` transposed to position-major (so a
/// position's output channels are 2-4 whole zmm registers). A tile holds `CV` vectors
/// of output channels for `24 / CV` columns in registers through a chunk of positions;
/// each position costs `CV` loads and `24 / CV` broadcasts for 24 FMAs, and there are
/// no horizontal sums (the dot-product form of [`backward_weight_part_narrow`] reduces
/// 16 lanes per output). ResNet's 64 -> 64 3x3 layer at 32x32, batch 16, one thread:
/// 48 GFLOP/s in the dot form, about 120 here (PyTorch 2.15's oneDNN: 68).
fn backward_weight_part_wide(
    g: &ConvGeom,
    gy: &[f32],
    x: &[f32],
    lo: usize,
    hi: usize,
    dst: &mut [f32],
    buf: &mut [f32],
) {
    let c = weight_corr(g);
    let p = &g.plane;
    if p.oh == 0 || p.ow == 0 {
        dst.fill(0.0);
        return;
    }
    let offs = tap_offsets(&c, p.kernel, p.dilation);
    let kk = offs.len();
    let cv = g.o.div_ceil(LANES);
    let co_pad = cv * LANES;
    let nc = WG_ACC / cv;
    let ncols = g.c * kk;
    let ncols_pad = ncols.div_ceil(nc) * nc;
    let len = c.len();
    // Column bases in the padded planes; the padding columns reuse column 0's reads
    // and accumulate into rows that are never read.
    let mut bases: Vec<usize> = (0..g.c)
        .flat_map(|ch| offs.iter().map(move |&o| ch * c.plane() + o))
        .collect();
    bases.resize(ncols_pad, bases[0]);
    let max_base = bases.iter().copied().max().unwrap_or(0);
    let (in_len, out_len) = (g.c * p.h * p.w, g.o * p.oh * p.ow);
    let (inp, rest) = aligned(buf).split_at_mut(c.padded_len());
    let (dyt, rest) = rest.split_at_mut(len * co_pad);
    let acc = &mut rest[..ncols_pad * co_pad];
    acc.fill(0.0);
    assert!(max_base + len <= inp.len() && dyt.len() == len * co_pad);
    for s in lo..hi {
        c.pad(&x[s * in_len..(s + 1) * in_len], inp);
        transpose_dy(g, &c, &gy[s * out_len..(s + 1) * out_len], co_pad, dyt);
        for q0 in (0..len).step_by(WG_CHUNK) {
            let qn = WG_CHUNK.min(len - q0);
            for (t, tile) in bases.chunks_exact(nc).enumerate() {
                let at = acc[t * nc * co_pad..].as_mut_ptr();
                // SAFETY: `simd()` holds (`applies`); the tile reads `inp[base +
                // q0 .. base + q0 + qn]` for its columns' bases (`base + len <=
                // inp.len()`, asserted), `dyt[q0*co_pad .. (q0 + qn)*co_pad]` (inside:
                // `q0 + qn <= len`), and reads and writes `nc * co_pad` floats of
                // `acc` from tile `t` on (inside: `ncols_pad` is a multiple of `nc`).
                unsafe {
                    let (ip, dp) = (inp.as_ptr().add(q0), dyt.as_ptr().add(q0 * co_pad));
                    match cv {
                        2 => wgrad_tile::<2, { WG_ACC / 2 }>(ip, tile, dp, qn, at),
                        3 => wgrad_tile::<3, { WG_ACC / 3 }>(ip, tile, dp, qn, at),
                        _ => wgrad_tile::<4, { WG_ACC / 4 }>(ip, tile, dp, qn, at),
                    }
                }
            }
        }
    }
    // dst (o, c*kk) is acc's (ncols, co_pad) transposed.
    for (o, row) in dst.chunks_exact_mut(ncols).enumerate() {
        for (col, d) in row.iter_mut().enumerate() {
            *d = acc[col * co_pad + o];
        }
    }
}

/// `dyt[q][o]` (`co_pad` per wide position `q`) from one sample's `dy` `(o, oh, ow)`,
/// zero at the thrown-away wide positions and the padding channels. Goes through 16
/// positions of every channel at a time, so that both sides move whole cache lines
/// (writing `dyt` one channel at a time strides it by `co_pad` floats per element).
fn transpose_dy(g: &ConvGeom, c: &Corr, dy: &[f32], co_pad: usize, dyt: &mut [f32]) {
    const BLK: usize = 16;
    let p = &g.plane;
    let plane = p.oh * p.ow;
    dyt.fill(0.0);
    let mut tmp = [[0f32; BLK]; MAX_CHANNELS];
    for y in 0..p.oh {
        for x0 in (0..p.ow).step_by(BLK) {
            let w = BLK.min(p.ow - x0);
            let at = y * p.ow + x0;
            for (o, t) in tmp.iter_mut().enumerate().take(g.o) {
                t[..w].copy_from_slice(&dy[o * plane + at..o * plane + at + w]);
            }
            for xq in 0..w {
                let row = &mut dyt[(y * c.wq + x0 + xq) * co_pad..][..g.o];
                for (d, t) in row.iter_mut().zip(&tmp) {
                    *d = t[xq];
                }
            }
        }
    }
}

/// The weight gradient for up to 16 output channels: dot products over positions.
fn backward_weight_part_narrow(
    g: &ConvGeom,
    gy: &[f32],
    x: &[f32],
    lo: usize,
    hi: usize,
    dst: &mut [f32],
    buf: &mut [f32],
) {
    let c = weight_corr(g);
    let p = &g.plane;
    dst.fill(0.0);
    if p.oh == 0 || p.ow == 0 {
        return;
    }
    let offs = tap_offsets(&c, p.kernel, p.dilation);
    let (kk, lt) = (offs.len(), c.len_tiles());
    let max_off = offs.iter().copied().max().unwrap_or(0);
    let blocks = c.blocks();
    let (in_len, out_len) = (g.c * p.h * p.w, g.o * p.oh * p.ow);
    let (inp, dyw) = aligned(buf).split_at_mut(c.padded_len());
    let dyw = &mut dyw[..blocks * OB * lt];
    for s in lo..hi {
        c.pad(&x[s * in_len..(s + 1) * in_len], inp);
        // dy at the wide positions, zero elsewhere (and in rows past `o`).
        dyw.fill(0.0);
        for (o, plane) in gy[s * out_len..(s + 1) * out_len]
            .chunks_exact(p.oh * p.ow)
            .enumerate()
        {
            for (y, row) in plane.chunks_exact(p.ow).enumerate() {
                let at = o * lt + y * c.wq;
                dyw[at..at + p.ow].copy_from_slice(row);
            }
        }
        assert!((g.c - 1) * c.plane() + max_off + lt <= inp.len() && dyw.len() >= blocks * OB * lt);
        for b in 0..blocks {
            let rows = OB.min(g.o - b * OB);
            let dyb = &dyw[b * OB * lt..(b + 1) * OB * lt];
            for ch in 0..g.c {
                let xc = &inp[ch * c.plane()..];
                // Taps two at a time: both read the same 8 rows of `dy`.
                for (pair, t_offs) in offs.chunks(2).enumerate() {
                    let mut sums = [[0f32; OB]; 2];
                    // SAFETY: `simd()` holds (`applies`); the tile reads
                    // `xc[off .. off + lt]` for each tap's `off` (inside: `ch*plane +
                    // off + lt <= (c-1)*plane + max_off + lt <= inp.len()`, asserted)
                    // and `OB` rows of `lt` from `dyb` (its length).
                    unsafe {
                        match *t_offs {
                            [o0, o1] => {
                                dot_taps::<2>(xc.as_ptr(), [o0, o1], dyb.as_ptr(), lt, &mut sums)
                            }
                            [o0] => dot_taps::<1>(
                                xc.as_ptr(),
                                [o0],
                                dyb.as_ptr(),
                                lt,
                                std::array::from_mut(&mut sums[0]),
                            ),
                            _ => unreachable!("chunks(2) gives one or two taps"),
                        }
                    };
                    for (i, tap_sums) in sums.iter().enumerate().take(t_offs.len()) {
                        let t = 2 * pair + i;
                        for (r, &v) in tap_sums.iter().enumerate().take(rows) {
                            dst[((b * OB + r) * g.c + ch) * kk + t] += v;
                        }
                    }
                }
            }
        }
    }
}

/// The forward's correlation geometry (the weight gradient's too).
fn weight_corr(g: &ConvGeom) -> Corr {
    let p = &g.plane;
    Corr::new([g.c, g.o], [p.h, p.w], p.padding, [p.oh, p.ow], [0, 0])
}

/// Scratch elements [`backward_weight_part`] needs.
pub fn weight_grad_scratch(g: &ConvGeom) -> usize {
    let c = weight_corr(g);
    if g.plane.oh == 0 || g.plane.ow == 0 {
        return 0;
    }
    if g.o > LANES {
        let (cv, kk) = (g.o.div_ceil(LANES), g.plane.kernel[0] * g.plane.kernel[1]);
        let nc = WG_ACC / cv;
        let cols = (g.c * kk).div_ceil(nc) * nc;
        return c.padded_len() + (c.len() + cols) * cv * LANES + ALIGN_SLACK;
    }
    c.padded_len() + c.blocks() * OB * c.len_tiles() + ALIGN_SLACK
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{TileArgs, FB, FP, OB};
    use std::arch::x86_64::*;

    /// [`super::correlate_tile`] on AVX-512: 6 x 4 zmm accumulators.
    ///
    /// # Safety
    /// AVX-512F is available; the addresses as [`super::correlate_tile`]'s.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn correlate_tile<const R: usize>((inp, plane, ci, offs, w, out, ld): TileArgs<'_>) {
        const V: usize = FP / 16;
        let kk = offs.len();
        let mut acc = [[_mm512_setzero_ps(); V]; R];
        for ch in 0..ci {
            // SAFETY (whole block): addresses as the function's contract.
            unsafe {
                let xc = inp.add(ch * plane);
                let wc = w.add(ch * kk * FB);
                for (t, &off) in offs.iter().enumerate() {
                    let mut x = [_mm512_setzero_ps(); V];
                    for (v, xv) in x.iter_mut().enumerate() {
                        *xv = _mm512_loadu_ps(xc.add(off + 16 * v));
                    }
                    let wt = wc.add(t * FB);
                    for (r, acc_r) in acc.iter_mut().enumerate() {
                        let wr = _mm512_set1_ps(*wt.add(r));
                        for v in 0..V {
                            acc_r[v] = _mm512_fmadd_ps(wr, x[v], acc_r[v]);
                        }
                    }
                }
            }
        }
        for (r, acc_r) in acc.iter().enumerate() {
            for (v, a) in acc_r.iter().enumerate() {
                // SAFETY: as the function's contract.
                unsafe { _mm512_storeu_ps(out.add(r * ld + 16 * v), *a) };
            }
        }
    }

    /// [`super::wgrad_tile`] on AVX-512: all `CV x NC` accumulators in registers.
    ///
    /// # Safety
    /// AVX-512F is available; the addresses as [`super::wgrad_tile`]'s.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn wgrad_tile<const CV: usize, const NC: usize>(
        inp: *const f32,
        bases: &[usize],
        dyt: *const f32,
        qn: usize,
        acc: *mut f32,
    ) {
        let ld = CV * 16;
        let mut a = [[_mm512_setzero_ps(); CV]; NC];
        let mut cols = [inp; NC];
        // SAFETY (whole body): addresses as the function's contract.
        unsafe {
            for (j, (aj, col)) in a.iter_mut().zip(cols.iter_mut()).enumerate() {
                *col = inp.add(bases[j]);
                for (v, av) in aj.iter_mut().enumerate() {
                    *av = _mm512_loadu_ps(acc.add(j * ld + v * 16));
                }
            }
            for q in 0..qn {
                let mut d = [_mm512_setzero_ps(); CV];
                for (v, dv) in d.iter_mut().enumerate() {
                    *dv = _mm512_loadu_ps(dyt.add(q * ld + v * 16));
                }
                for (aj, col) in a.iter_mut().zip(&cols) {
                    let xb = _mm512_set1_ps(*col.add(q));
                    for (av, dv) in aj.iter_mut().zip(&d) {
                        *av = _mm512_fmadd_ps(*dv, xb, *av);
                    }
                }
            }
            for (j, aj) in a.iter().enumerate() {
                for (v, av) in aj.iter().enumerate() {
                    _mm512_storeu_ps(acc.add(j * ld + v * 16), *av);
                }
            }
        }
    }

    /// [`super::dot_taps`] on AVX-512. The `OB` rows of `dy` are loaded once for the
    /// `T` taps: with `T = 2` that is 10 loads for 16 FMAs (the loop is bound by the
    /// FMAs, not the loads) in 16 + 8 + 1 registers.
    ///
    /// # Safety
    /// AVX-512F is available; the addresses as [`super::dot_taps`]'s.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn dot_taps<const T: usize>(
        x: *const f32,
        offs: [usize; T],
        dy: *const f32,
        len: usize,
        sums: &mut [[f32; OB]; T],
    ) {
        let mut acc = [[_mm512_setzero_ps(); OB]; T];
        for q in (0..len).step_by(16) {
            // SAFETY: q + 16 <= len, so every load is inside the contract's ranges.
            unsafe {
                let mut d = [_mm512_setzero_ps(); OB];
                for (r, dr) in d.iter_mut().enumerate() {
                    *dr = _mm512_loadu_ps(dy.add(r * len + q));
                }
                for t in 0..T {
                    let xt = _mm512_loadu_ps(x.add(offs[t] + q));
                    for r in 0..OB {
                        acc[t][r] = _mm512_fmadd_ps(d[r], xt, acc[t][r]);
                    }
                }
            }
        }
        for t in 0..T {
            for r in 0..OB {
                sums[t][r] = _mm512_reduce_add_ps(acc[t][r]);
            }
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod avx512 {
    pub use super::portable::*;
}
#[cfg(not(target_arch = "x86_64"))]
mod avx2 {
    pub use super::portable::*;
}
/// Never called: `simd()` is false off x86-64, so `applies` sends every convolution to
/// the im2col route.
#[cfg(not(target_arch = "x86_64"))]
mod portable {
    use super::{TileArgs, OB};
    pub unsafe fn correlate_tile<const R: usize>(_args: TileArgs<'_>) {
        unreachable!("the direct convolution runs only with AVX2 or AVX-512")
    }
    pub unsafe fn wgrad_tile<const CV: usize, const NC: usize>(
        _inp: *const f32,
        _bases: &[usize],
        _dyt: *const f32,
        _qn: usize,
        _acc: *mut f32,
    ) {
        unreachable!("the direct convolution runs only with AVX2 or AVX-512")
    }
    pub unsafe fn dot_taps<const T: usize>(
        _x: *const f32,
        _offs: [usize; T],
        _dy: *const f32,
        _len: usize,
        _sums: &mut [[f32; OB]; T],
    ) {
        unreachable!("the direct convolution runs only with AVX2 or AVX-512")
    }
}

/// The AVX2 + FMA kernels: the AVX-512 tiles' contracts and data layouts (so the
/// callers and packing are shared), in sub-tiles that fit 16 ymm registers.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{TileArgs, FB, FP, OB};
    use std::arch::x86_64::*;

    /// Positions per correlation sub-tile: two ymm registers per output channel, so
    /// six channels hold 12 accumulators, and each (input channel, tap) costs 2 input
    /// loads and 6 weight broadcasts for 12 FMAs.
    const SP: usize = 16;

    /// [`super::correlate_tile`] on AVX2: the `FP` positions as four sub-tiles.
    ///
    /// # Safety
    /// AVX2 and FMA are available; the addresses as [`super::correlate_tile`]'s.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn correlate_tile<const R: usize>((inp, plane, ci, offs, w, out, ld): TileArgs<'_>) {
        let kk = offs.len();
        for q0 in (0..FP).step_by(SP) {
            let mut acc = [[_mm256_setzero_ps(); 2]; R];
            for ch in 0..ci {
                // SAFETY (whole block): positions q0 .. q0 + 16 of the tile, inside
                // the contract's ranges.
                unsafe {
                    let xc = inp.add(ch * plane + q0);
                    let wc = w.add(ch * kk * FB);
                    for (t, &off) in offs.iter().enumerate() {
                        let x0 = _mm256_loadu_ps(xc.add(off));
                        let x1 = _mm256_loadu_ps(xc.add(off + 8));
                        let wt = wc.add(t * FB);
                        for (r, acc_r) in acc.iter_mut().enumerate() {
                            let wr = _mm256_broadcast_ss(&*wt.add(r));
                            acc_r[0] = _mm256_fmadd_ps(wr, x0, acc_r[0]);
                            acc_r[1] = _mm256_fmadd_ps(wr, x1, acc_r[1]);
                        }
                    }
                }
            }
            for (r, acc_r) in acc.iter().enumerate() {
                // SAFETY: as the function's contract.
                unsafe {
                    _mm256_storeu_ps(out.add(r * ld + q0), acc_r[0]);
                    _mm256_storeu_ps(out.add(r * ld + q0 + 8), acc_r[1]);
                }
            }
        }
    }

    /// Columns per weight-gradient sub-tile: 6 columns x 2 ymm (16 output channels)
    /// of accumulators, 2 `dy` loads and 6 input broadcasts per position for 12 FMAs.
    const WC: usize = 6;

    /// [`super::wgrad_tile`] on AVX2: each 16-channel vector `v` of the `CV`, for the
    /// columns in groups of up to `WC`.
    ///
    /// # Safety
    /// AVX2 and FMA are available; the addresses as [`super::wgrad_tile`]'s.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn wgrad_tile<const CV: usize, const NC: usize>(
        inp: *const f32,
        bases: &[usize],
        dyt: *const f32,
        qn: usize,
        acc: *mut f32,
    ) {
        let ld = CV * 16;
        for v in 0..CV {
            for (g, cols) in bases[..NC].chunks(WC).enumerate() {
                // SAFETY: vector `v` of columns g*WC.. of the contract's ranges.
                unsafe {
                    let (d, a) = (dyt.add(v * 16), acc.add(g * WC * ld + v * 16));
                    match cols.len() {
                        6 => wgrad_sub::<6>(inp, cols, d, ld, qn, a),
                        5 => wgrad_sub::<5>(inp, cols, d, ld, qn, a),
                        4 => wgrad_sub::<4>(inp, cols, d, ld, qn, a),
                        3 => wgrad_sub::<3>(inp, cols, d, ld, qn, a),
                        2 => wgrad_sub::<2>(inp, cols, d, ld, qn, a),
                        _ => wgrad_sub::<1>(inp, cols, d, ld, qn, a),
                    }
                }
            }
        }
    }

    /// `acc[j*ld + l] += sum over q < qn of dyt[q*ld + l] * inp[bases[j] + q]` for
    /// `j < C`, `l < 16`.
    ///
    /// # Safety
    /// AVX2 and FMA are available; `bases` has `C` entries; the addresses are readable
    /// (and `acc`'s writable).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn wgrad_sub<const C: usize>(
        inp: *const f32,
        bases: &[usize],
        dyt: *const f32,
        ld: usize,
        qn: usize,
        acc: *mut f32,
    ) {
        let mut a = [[_mm256_setzero_ps(); 2]; C];
        let mut cols = [inp; C];
        // SAFETY (whole body): addresses as the function's contract.
        unsafe {
            for (j, (aj, col)) in a.iter_mut().zip(cols.iter_mut()).enumerate() {
                *col = inp.add(bases[j]);
                aj[0] = _mm256_loadu_ps(acc.add(j * ld));
                aj[1] = _mm256_loadu_ps(acc.add(j * ld + 8));
            }
            for q in 0..qn {
                let d0 = _mm256_loadu_ps(dyt.add(q * ld));
                let d1 = _mm256_loadu_ps(dyt.add(q * ld + 8));
                for (aj, col) in a.iter_mut().zip(&cols) {
                    let xb = _mm256_broadcast_ss(&*col.add(q));
                    aj[0] = _mm256_fmadd_ps(d0, xb, aj[0]);
                    aj[1] = _mm256_fmadd_ps(d1, xb, aj[1]);
                }
            }
            for (j, aj) in a.iter().enumerate() {
                _mm256_storeu_ps(acc.add(j * ld), aj[0]);
                _mm256_storeu_ps(acc.add(j * ld + 8), aj[1]);
            }
        }
    }

    /// [`super::dot_taps`] on AVX2: one tap at a time, the `OB` rows of `dy` read as
    /// memory operands of the FMAs (8 accumulators, 9 loads per 8 FMAs).
    ///
    /// # Safety
    /// AVX2 and FMA are available; the addresses as [`super::dot_taps`]'s.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot_taps<const T: usize>(
        x: *const f32,
        offs: [usize; T],
        dy: *const f32,
        len: usize,
        sums: &mut [[f32; OB]; T],
    ) {
        for (t, sums_t) in sums.iter_mut().enumerate() {
            let mut acc = [_mm256_setzero_ps(); OB];
            for q in (0..len).step_by(8) {
                // SAFETY: q + 8 <= len, so every load is inside the contract's ranges.
                unsafe {
                    let xt = _mm256_loadu_ps(x.add(offs[t] + q));
                    for (r, a) in acc.iter_mut().enumerate() {
                        *a = _mm256_fmadd_ps(_mm256_loadu_ps(dy.add(r * len + q)), xt, *a);
                    }
                }
            }
            for (s, a) in sums_t.iter_mut().zip(&acc) {
                let h = _mm_add_ps(_mm256_castps256_ps128(*a), _mm256_extractf128_ps::<1>(*a));
                let h = _mm_add_ps(h, _mm_movehl_ps(h, h));
                *s = _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The direct kernels against plain float64 loops written out here (not the
    //! im2col route), on geometries that reach every tile shape: forward rows left
    //! over in the 6-row tiles, position tails of the 64-wide tiles, the narrow (<= 16)
    //! and wide (2, 3 and 4 vectors) weight gradients with padded columns.
    use super::*;
    use crate::cpu::conv_reference::{check, geom, reference, values};

    /// (n, c, o, [h, w], kernel, padding, dilation)
    type Case = (
        usize,
        usize,
        usize,
        [usize; 2],
        [usize; 2],
        [usize; 2],
        [usize; 2],
    );

    const CASES: [Case; 6] = [
        (2, 5, 20, [11, 13], [3, 3], [1, 1], [1, 1]), // wide wgrad, 2 vectors; 3x6+2 rows
        (3, 7, 40, [9, 10], [5, 5], [2, 2], [1, 1]),  // 3 vectors, 5x5 taps
        (2, 6, 64, [8, 70], [3, 3], [1, 1], [1, 1]),  // 4 vectors; rows of 72 (tails)
        (2, 3, 12, [9, 9], [3, 2], [0, 1], [2, 1]),   // narrow wgrad, dilated
        (1, 2, 1, [4, 23], [2, 3], [1, 0], [1, 1]),   // one output channel
        (2, 64, 17, [6, 6], [3, 3], [1, 1], [1, 1]),  // 64 inputs: dx tiles of 6 + 4
    ];

    #[test]
    fn direct_kernels_match_float64_loops() {
        if !simd() {
            eprintln!("skipped: the direct convolution needs AVX2 or AVX-512");
            return;
        }
        for (case, &(n, c, o, hw, k, pad, dil)) in CASES.iter().enumerate() {
            let g = geom(n, c, o, hw, k, pad, dil);
            assert!(applies(&g) && applies_input_grad(&g), "case {case}");
            let p = g.plane;
            let x = values(n * c * p.h * p.w, 1 + case as u64);
            let w = values(o * c * k[0] * k[1], 100 + case as u64);
            let gy = values(n * o * p.oh * p.ow, 200 + case as u64);
            let [want, want_gx, want_gw] = reference(&g, &x, &w, &gy);
            let mut y = vec![f32::NAN; want.len()];
            forward(&g, &x, &w, None, &mut y);
            check(&y, &want, &format!("forward, case {case}"));
            let mut gx = vec![f32::NAN; want_gx.len()];
            backward_input(&g, &gy, &w, &mut gx);
            check(&gx, &want_gx, &format!("input gradient, case {case}"));
            let mut gw = vec![f32::NAN; want_gw.len()];
            let mut buf = vec![0f32; weight_grad_scratch(&g)];
            backward_weight_part(&g, &gy, &x, 0, n, &mut gw, &mut buf);
            check(&gw, &want_gw, &format!("weight gradient, case {case}"));
        }
    }
}
