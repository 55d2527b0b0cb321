//! Winograd F(2x2, 3x3) convolution for float32: 3x3 kernels, unit stride and
//! dilation, one group.
//!
//! The output is cut into 2x2 tiles; tile `t` reads a 4x4 patch `d` of the padded input.
//! With the transforms of F(2x2, 3x3) (Lavin and Gray, 2015),
//! `y = A^T [(G g G^T) ⊙ (B^T d B)] A`, so a tile costs 16 multiplies per pair of
//! input and output channels where the direct sum costs 36. Summed over input channels,
//! each of the 16 transformed positions `ξ` is one matrix product run by the GEMM:
//! `M[ξ] (co, tiles) = U[ξ] (co, ci) @ V[ξ] (ci, tiles)`, with `U = G g G^T` and
//! `V = B^T d B`.
//!
//! - forward: as above. The input gradient is the same correlation of `dy` padded by
//!   `2 - padding` with the flipped, transposed kernels (as in `conv_direct`).
//! - weight gradient: `y` is linear in `U`, so `dU[ξ] = sum over tiles of
//!   (A dy A^T)[ξ] ⊙ V[ξ]`, the product `dU[ξ] (co, ci) = Z[ξ] (co, tiles) @ V[ξ]^T`
//!   with `Z = A dy A^T` (zero `dy` past the output's edge), summed over the batch in
//!   the caller's fixed parts, then `dg = G^T dU G` once.
//!
//! The transforms' constants are 0, ±1 and ±1/2, exact in binary; the results differ
//! from a direct sum by rounding only, of the order of the direct sum's own. But a
//! transform mixes all the values of a tile, so an infinity or NaN would reach outputs
//! whose windows never touch it (inf - inf), and huge finite values could overflow
//! where the direct sum does not: [`moderate`] tells the caller which operands may
//! come here.
//!
//! Layout: a sample's padded input is kept as four quarter planes per channel (even or
//! odd rows, even or odd columns), so that the 4x4 patch of tile `(ty, tx)` is rows
//! `ty` and `ty + 1`, columns `tx` and `tx + 1` of the four quarters, and every
//! transform is an elementwise loop over the tiles with shifted reads, which the
//! compiler vectorises (the loops are compiled for the SIMD level in use). Tiles go in
//! blocks of whole tile rows ([`BLOCK_TILES`]), so a block's transformed operands stay
//! in L2 between the transforms and the products. For the weight gradient `dy` goes
//! channels-last and `Z` is written with its channels contiguous, so the product
//! reads both of its operands without packing them.
//!
//! Work is split over samples only (the products of a single sample use every thread,
//! with the same bits), and every sum runs in a fixed order, so results do not depend
//! on the thread count.

use super::conv::{with_scratch, ConvGeom};
use super::conv_direct;
use super::gemm::product;
use super::interleave;
use super::math::{capability, Capability};
use super::winograd_dy;

/// Largest magnitude an operand may hold here: transformed values are at most 4x an
/// input's and 2.25x a weight's, so products stay below 2^100 and no sum of them can
/// overflow where the direct one would not.
const LIMIT: f32 = (1u64 << 48) as f32;

/// Tiles per block (rounded up to whole tile rows): with 64 input and output channels
/// a block's transformed input and products take 2 x 16 x 64 x 136 floats (1.1 MiB, in
/// L2). One thread, 16 x 64 x 32x32, forward / dx / dw: 6.2 / 6.5 / 6.6 ms at 256, 6.2
/// / 6.2 / 5.6 at 128, 6.8 / 6.8 / 5.5 at 64.
const BLOCK_TILES: usize = 128;

/// Fewest channels (input and output) for which the transforms pay off against the
/// direct kernels (`conv_direct`, up to 64 channels). Measured at one thread on
/// 16-sample batches of 32x32 planes, milliseconds here / direct (the host's load moves
/// single runs by ~10%): 32 channels forward 2.35 / 2.19, input gradient 2.37 / 2.37;
/// 48: forward 3.80 / 4.64 (another run 4.36 / 4.22), dx 3.75 / 4.97, dw 4.01 / 4.26;
/// 64: 6.16 / 7.78, 6.53 / 8.28, 6.54 / 7.71.
const MIN_CHANNELS: usize = 48;

/// Fewest channels against im2col + GEMM (where the direct kernels do not apply).
const MIN_CHANNELS_IM2COL: usize = 16;

/// Fewest tile rows and columns per sample.
const MIN_TILES: usize = 4;

/// Above this many channels (input or output) the transformed kernels (`U`, 16 x c x o
/// floats, computed every call) cost enough to need tiles over the whole batch too:
/// at least [`FORWARD_TILES`] for the forward and input gradient, [`WEIGHT_GRAD_TILES`]
/// for the weight gradient, whose transformed sums are as large as `U` for each part of
/// the batch.
const FEW_CHANNELS: usize = 128;
const FORWARD_TILES: usize = 192;
const WEIGHT_GRAD_TILES: usize = 384;

/// Whether the tiles amortise the kernels' transform. Planes below 8x8 outputs (4x4
/// tiles) lose everywhere: 4 samples of 4x4 outputs with 512 channels 13.3 ms against
/// 2.2 (the weights' transform alone outweighs the product). Up to 128 channels the
/// plane decides alone (one thread, 16 samples of 8x8 outputs, forward, dx, dw: 64
/// channels 0.79 / 0.97, 0.93 / 1.00, 0.66 / 0.98; 128 2.41 / 2.82, 3.03 / 2.86, 3.17 /
/// 3.02). Measured at 2 threads
/// (ms here / im2col + GEMM, forward, dx, dw), the batch's tiles decide above 128
/// channels: 256 channels, 16 x 14x14 (784 tiles) 14.0 / 21.4, 14.2 / 21.4, 17.8 /
/// 23.6; 16 x 8x8 (256) 6.0 / 7.6, 5.8 / 8.1, 8.1 / 8.1; 16 x 7x7 (256) 5.9 / 7.3,
/// 5.9 / 7.5, 8.0 / 7.0; 32 x 7x7 (512) 11.3 / 11.1, 11.4 / 10.6, 12.0 / 13.9; 4 x
/// 8x8 (64) 2.4 / 1.6, 2.4 / 1.6, 3.5 / 1.9; one 14x14 (49) 1.5 / 1.3, 1.8 / 1.3, 2.3 /
/// 1.4. 512 channels, 8 x 14x14 (392) 30.7 / 37.0, 31.0 / 40.8, 38.4 / 51.5; 8 x 10x10
/// (200) 14.6 / 29.3, 15.1 / 29.8, 26.9 / 31.9; 16 x 8x8 (256) 22.3 / 24.6, 22.2 /
/// 27.8, 33.1 / 28.2; 16 x 7x7 (256) 23.5 / 27.1, 23.9 / 29.2, 32.8 / 34.2; 32 x 7x7
/// (512) 38.5 / 42.2, 38.7 / 41.5, 47.5 / 54.7; 8 x 7x7 (128) 11.5 / 10.3, 11.3 / 10.2,
/// 28.4 / 10.5; one 14x14 6.7 / 5.0, 7.7 / 5.4, 11.9 / 5.0. 384 channels, 8 x 8x8
/// (128) 6.3 / 7.0, 6.2 / 7.3, 14.0 / 9.0. At one thread the same (256 channels, 16 x
/// 14x14 22.8 / 38.0 forward; 512, 16 x 7x7 41.6 / 41.7 forward, 49.1 / 42.8 dw).
fn enough_tiles(g: &ConvGeom, batch_tiles: usize) -> bool {
    let p = &g.plane;
    let (th, tw) = (p.oh.div_ceil(2), p.ow.div_ceil(2));
    th.min(tw) >= MIN_TILES
        && (g.c.max(g.o) <= FEW_CHANNELS
            || g.n.saturating_mul(th).saturating_mul(tw) >= batch_tiles)
}

/// Runs `f` compiled for the SIMD level in use (its loops vectorise to that width).
macro_rules! at_level {
    ($f:ident($($arg:ident: $ty:ty),*)) => {{
        /// # Safety
        /// The CPU has AVX-512 F/BW/DQ/VL, AVX2 and FMA.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
        unsafe fn v4($($arg: $ty),*) {
            $f($($arg),*)
        }
        /// # Safety
        /// The CPU has AVX2 and FMA.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn v3($($arg: $ty),*) {
            $f($($arg),*)
        }
        match capability() {
            // SAFETY: `capability()` only answers a level the CPU supports.
            #[cfg(target_arch = "x86_64")]
            Capability::Avx512 => unsafe { v4($($arg),*) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Capability::Avx2 => unsafe { v3($($arg),*) },
            _ => $f($($arg),*),
        }
    }};
}

/// Defines `fn f(args) { body }` whose body is compiled once per SIMD level (inlined
/// into [`at_level`]'s wrappers), so its loops vectorise to the width in use.
macro_rules! per_level {
    ($(#[$m:meta])* fn $f:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        #[allow(clippy::too_many_arguments)]
        fn $f($($arg: $ty),*) {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body($($arg: $ty),*) $body
            at_level!(body($($arg: $ty),*))
        }
    };
}

/// Whether a float32 convolution's forward and input gradient run here: a 3x3 kernel
/// with unit stride and dilation, one group, padding at most 2 (the input gradient
/// pads `dy` by `2 - padding`), planes, batches and channel counts where it measured
/// faster, and SIMD in use.
pub fn applies(g: &ConvGeom) -> bool {
    kernel_applies(g) && enough_tiles(g, FORWARD_TILES)
}

/// Whether its weight gradient runs here (as [`applies`], with more tiles).
pub fn applies_weight_grad(g: &ConvGeom) -> bool {
    kernel_applies(g) && enough_tiles(g, WEIGHT_GRAD_TILES)
}

fn kernel_applies(g: &ConvGeom) -> bool {
    let p = &g.plane;
    let min_channels = if conv_direct::applies(g) {
        MIN_CHANNELS
    } else {
        MIN_CHANNELS_IM2COL
    };
    g.groups == 1
        && p.kernel == [3, 3]
        && p.stride == [1, 1]
        && p.dilation == [1, 1]
        && p.padding[0] <= 2
        && p.padding[1] <= 2
        && g.c.min(g.o) >= min_channels
        && capability() >= Capability::Avx2
        && !disabled()
}

/// `RTORCH_DISABLE_WINOGRAD=1` sends every convolution to the other kernels (to test
/// and time them on the shapes that come here), read once per process.
fn disabled() -> bool {
    static OFF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *OFF.get_or_init(|| std::env::var("RTORCH_DISABLE_WINOGRAD").is_ok_and(|v| v.trim() == "1"))
}

/// Every value finite and at most [`LIMIT`] in magnitude (see the module comment).
pub fn moderate(s: &[f32]) -> bool {
    /// `ok` = every value's magnitude bits at most LIMIT's: they order like the
    /// magnitudes, with infinity and NaN above every finite value. A maximum over
    /// chunks, without an early exit inside, vectorises.
    #[inline(always)]
    fn body(s: &[f32], ok: &mut bool) {
        let limit = LIMIT.to_bits();
        *ok = s
            .chunks(4096)
            .all(|c| c.iter().fold(0, |m, v| m.max(v.to_bits() & 0x7fff_ffff)) <= limit);
    }
    let mut ok = false;
    let r = &mut ok;
    at_level!(body(s: &[f32], r: &mut bool));
    ok
}

/// One correlation: `ci` planes of `h x w`, zero-padded by `pad`, with 3x3 kernels
/// into `co` planes of `oh x ow`, cut into `th x tw` tiles of 2x2 outputs.
#[derive(Clone, Copy, Debug)]
struct Corr {
    ci: usize,
    co: usize,
    h: usize,
    w: usize,
    pad: [usize; 2],
    oh: usize,
    ow: usize,
    th: usize,
    tw: usize,
    /// Tile rows per block.
    block_rows: usize,
    /// Samples per block: more than one when a sample has fewer than [`BLOCK_TILES`]
    /// tiles (their slots side by side, one product for all).
    group: usize,
}

impl Corr {
    /// For a batch of `n` samples.
    fn new(ci: usize, co: usize, [h, w]: [usize; 2], pad: [usize; 2], n: usize) -> Corr {
        let (oh, ow) = (h + 2 * pad[0] - 2, w + 2 * pad[1] - 2);
        let (th, tw) = (oh.div_ceil(2), ow.div_ceil(2));
        let block_rows = BLOCK_TILES.div_ceil(tw).clamp(1, th.max(1));
        let sample_slots = (th * (tw + 1)).max(1);
        let group = if block_rows < th {
            1
        } else {
            // As many groups as a block's worth of tiles per group needs, and the
            // samples spread evenly over them: 8 samples of 7x7 went as 7 and 1, and the
            // lone sample's products (16 tiles wide, all of U read for them) ran on one
            // thread while the other waited.
            let target = BLOCK_TILES.div_ceil(sample_slots).clamp(1, n.max(1));
            n.max(1).div_ceil(n.max(1).div_ceil(target))
        };
        Corr {
            ci,
            co,
            h,
            w,
            pad,
            oh,
            ow,
            th,
            tw,
            block_rows,
            group,
        }
    }
    /// Tile slots per tile row: the `tw` tiles and one thrown away (see
    /// [`input_transform`]); also the width of a quarter plane's rows.
    fn half(&self) -> usize {
        self.tw + 1
    }
    /// Floats of one quarter plane: `th + 1` rows of [`Corr::half`], and one of slack
    /// for the thrown-away slot of the last row.
    fn quarter(&self) -> usize {
        (self.th + 1) * self.half() + 1
    }
    /// Tile slots of the largest block.
    fn block_slots(&self) -> usize {
        self.group * self.block_rows * self.half()
    }
}

/// `src` (`h x w`) zero-padded by `pad`, as four quarter planes (`quarter` floats
/// each, rows `half` wide): even rows' even columns, even rows' odd columns, odd rows'
/// even columns, odd rows' odd columns.
fn split_plane(
    level: Capability,
    src: &[f32],
    [h, w]: [usize; 2],
    [ph, pw]: [usize; 2],
    half: usize,
    quarters: &mut [f32],
) {
    quarters.fill(0.0);
    let quarter = quarters.len() / 4;
    let a = pw / 2;
    for (y, row) in src.chunks_exact(w).take(h).enumerate() {
        let r = y + ph;
        let (ev, od) = quarters.split_at_mut(2 * quarter);
        let rows = if r % 2 == 0 { ev } else { od };
        let (e, o) = rows.split_at_mut(quarter);
        let (e, o) = (
            &mut e[(r / 2) * half..][..half],
            &mut o[(r / 2) * half..][..half],
        );
        // Padded column `q` holds `row[q - pw]`, in the even half at q / 2 when q is
        // even, the odd half when odd: row[2j] and row[2j + 1] go to e[a + j], o[a + j]
        // for an even `pw`, to o[a + j], e[a + j + 1] for an odd one.
        let (first, second) = if pw % 2 == 0 {
            (&mut e[a..], &mut o[a..])
        } else {
            (&mut o[a..], &mut e[a + 1..])
        };
        interleave::deinterleave(level, row, first, second);
        let pairs = row.chunks_exact(2);
        if let [v] = pairs.remainder() {
            let q = w - 1 + pw;
            if q % 2 == 0 {
                e[q / 2] = *v;
            } else {
                o[q / 2] = *v;
            }
        }
    }
}

/// Where a sample's tile rows go in a block: the block has `nt` slots, the sample's
/// start at slot `off`.
#[derive(Clone, Copy, Debug)]
struct Slots {
    nt: usize,
    off: usize,
}

per_level! {
    /// `v[ch][ξ][f] = (B^T d B)[ξ]` for one sample's tiles of tile rows `ty0..ty0 + rows`,
    /// tile `(ty0 + r, tx)` at slot `f = off + r * half + tx` of a block of `nt` slots,
    /// from the quarter planes of every channel; `tmp` holds `8 * (rows * half + 1)`
    /// floats.
    ///
    /// In the quarter planes, the tile's four input rows are rows `ty` and `ty + 1` of the
    /// even-row and the odd-row quarters, and its four columns slots `tx` and `tx + 1` of
    /// the even-column and odd-column ones: every transform is a shifted elementwise loop
    /// over the block's slots. The last slot of each tile row reads the next row's first
    /// values, a tile that exists nowhere: it is computed and thrown away.
    fn input_transform(
        c: &Corr,
        quarters: &[f32],
        ty0: usize,
        rows: usize,
        v: &mut [f32],
        tmp: &mut [f32],
        slots: Slots,
    ) {
        let (half, quarter) = (c.half(), c.quarter());
        let (nt, off, n) = (slots.nt, slots.off, rows * half);
        let at = ty0 * half;
        let len = n + 1;
        for (ch, planes) in quarters.chunks_exact(4 * quarter).take(c.ci).enumerate() {
            let q = |i: usize, down: usize| &planes[i * quarter + at + down * half..][..len];
            // B^T over the rows (even rows ty, ty + 1: x0, x2; odd rows: x1, x3), for the
            // even columns into s[0..4] and the odd ones into s[4..8].
            for parity in 0..2 {
                let (x0, x2, x1, x3) = (
                    q(parity, 0),
                    q(parity, 1),
                    q(2 + parity, 0),
                    q(2 + parity, 1),
                );
                let s = &mut tmp[4 * parity * len..4 * (parity + 1) * len];
                let (s0, rest) = s.split_at_mut(len);
                let (s1, rest) = rest.split_at_mut(len);
                let (s2, s3) = rest.split_at_mut(len);
                for ((d, a), b) in s0.iter_mut().zip(x0).zip(x2) {
                    *d = a - b;
                }
                for ((d, a), b) in s1.iter_mut().zip(x1).zip(x2) {
                    *d = a + b;
                }
                for ((d, a), b) in s2.iter_mut().zip(x2).zip(x1) {
                    *d = a - b;
                }
                for ((d, a), b) in s3.iter_mut().zip(x1).zip(x3) {
                    *d = a - b;
                }
            }
            // B over the columns: tile slot f reads even[f], odd[f], even[f+1], odd[f+1].
            let out = &mut v[ch * 16 * nt..(ch + 1) * 16 * nt];
            for (i, o4) in out.chunks_exact_mut(4 * nt).enumerate() {
                let e = &tmp[i * len..(i + 1) * len];
                let o = &tmp[(4 + i) * len..(5 + i) * len];
                let (v0, rest) = o4.split_at_mut(nt);
                let (v1, rest) = rest.split_at_mut(nt);
                let (v2, v3) = rest.split_at_mut(nt);
                let (v0, v1) = (&mut v0[off..off + n], &mut v1[off..off + n]);
                let (v2, v3) = (&mut v2[off..off + n], &mut v3[off..off + n]);
                for ((d, a), b) in v0.iter_mut().zip(e).zip(&e[1..]) {
                    *d = a - b;
                }
                for ((d, a), b) in v1.iter_mut().zip(o).zip(&e[1..]) {
                    *d = a + b;
                }
                for ((d, a), b) in v2.iter_mut().zip(&e[1..]).zip(o) {
                    *d = a - b;
                }
                for ((d, a), b) in v3.iter_mut().zip(o).zip(&o[1..]) {
                    *d = a - b;
                }
            }
        }
    }
}

per_level! {
    /// The block's outputs from `m[ξ][k][f]` (slots as in [`input_transform`]):
    /// `y = A^T m A` per tile, plus the bias, into the output planes `out`
    /// (`co x oh x ow`), skipping positions past the edges; `tmp` holds `12 * nt` floats.
    fn output_transform(
        c: &Corr,
        m: &[f32],
        ty0: usize,
        rows: usize,
        bias: Option<&[f32]>,
        out: &mut [f32],
        tmp: &mut [f32],
        slots: Slots,
    ) {
        let (tw, half, oh, ow) = (c.tw, c.half(), c.oh, c.ow);
        // This sample's slots: `nt` of them from `off` in each block row of `m`.
        let (stride, off, nt) = (slots.nt, slots.off, rows * half);
        let level = capability();
        let (q, y) = tmp[..12 * nt].split_at_mut(8 * nt);
        for (k, out_k) in out.chunks_exact_mut(oh * ow).take(c.co).enumerate() {
            let bk = bias.map_or(0.0, |b| b[k]);
            let mk = |xi: usize| &m[(xi * c.co + k) * stride + off..][..nt];
            // A^T over the rows: q[j] = m0j + m1j + m2j, q[4 + j] = m1j - m2j - m3j.
            let (qa, qb) = q.split_at_mut(4 * nt);
            for (j, (q0, q1)) in qa
                .chunks_exact_mut(nt)
                .zip(qb.chunks_exact_mut(nt))
                .enumerate()
            {
                let (m0, m1, m2, m3) = (mk(j), mk(4 + j), mk(8 + j), mk(12 + j));
                for (((d, a), b), c) in q0.iter_mut().zip(m0).zip(m1).zip(m2) {
                    *d = a + b + c;
                }
                for (((d, a), b), c) in q1.iter_mut().zip(m1).zip(m2).zip(m3) {
                    *d = a - b - c;
                }
            }
            // A over the columns: output row i of every tile, its even columns into
            // y[2i] and its odd ones into y[2i + 1].
            for (qi, yi) in q.chunks_exact(4 * nt).zip(y.chunks_exact_mut(2 * nt)) {
                let (q0, rest) = qi.split_at(nt);
                let (q1, rest) = rest.split_at(nt);
                let (q2, q3) = rest.split_at(nt);
                let (ye, yo) = yi.split_at_mut(nt);
                for (((d, a), b), c) in ye.iter_mut().zip(q0).zip(q1).zip(q2) {
                    *d = a + b + c + bk;
                }
                for (((d, a), b), c) in yo.iter_mut().zip(q1).zip(q2).zip(q3) {
                    *d = a - b - c + bk;
                }
            }
            // Interleave into the output rows (slot tw of each tile row is thrown away).
            for r in 0..rows {
                for (i, yi) in y.chunks_exact(2 * nt).enumerate() {
                    let yy = 2 * (ty0 + r) + i;
                    if yy >= oh {
                        break;
                    }
                    let ye = &yi[r * half..r * half + tw];
                    let yo = &yi[nt + r * half..nt + r * half + tw];
                    let row = &mut out_k[yy * ow..(yy + 1) * ow];
                    interleave::interleave(level, ye, yo, row);
                    if ow % 2 == 1 {
                        row[ow - 1] = ye[tw - 1];
                    }
                }
            }
        }
    }
}

/// `u[k][ξ][ch] = (G g G^T)[ξ]` for the kernels `g = kernel(k, ch)` (3x3, row-major):
/// output channel `k`'s transformed kernels together, so that blocks of output channels
/// are transformed in parallel (`u[ξ]` is then a `(co, ci)` matrix with rows `16 * ci`
/// apart). Done serially, 512 x 512 kernels took a quarter of a 7x7 forward.
fn transform_weights(c: &Corr, kernel: impl Fn(usize, usize) -> [f32; 9] + Sync) -> Vec<f32> {
    /// Output channels per task.
    const ROWS: usize = 16;
    let (co, ci) = (c.co, c.ci);
    let mut u = vec![0.0; 16 * co * ci];
    super::par_chunks_mut(&mut u, ROWS * 16 * ci, &|b, rows| {
        // Per output channel: its kernels' nine taps as runs over the input channels,
        // then G over them as runs too (loops over input channels vectorise).
        let mut taps = vec![0.0; 9 * ci];
        let mut gg = vec![0.0; 12 * ci];
        for (r, uk) in rows.chunks_exact_mut(16 * ci).enumerate() {
            for ch in 0..ci {
                for (t, v) in kernel(b * ROWS + r, ch).into_iter().enumerate() {
                    taps[t * ci + ch] = v;
                }
            }
            transform_runs(ci, ci, &taps, &mut gg, uk);
        }
    });
    u
}

per_level! {
    /// `G g G^T` for runs of `ci` kernels: `taps` holds tap `t` of every kernel at
    /// `t * ci`; result `ξ` goes to `u[ξ * plane..][..ci]`; `gg` is scratch for `G g`.
    fn transform_runs(ci: usize, plane: usize, taps: &[f32], gg: &mut [f32], u: &mut [f32]) {
        // G over three runs into four: (a, (a + b + c)/2, (a - b + c)/2, c).
        let g3 = |a: &[f32], b: &[f32], c: &[f32], out: [&mut [f32]; 4]| {
            let [o0, o1, o2, o3] = out;
            o0[..ci].copy_from_slice(&a[..ci]);
            for (((d, &a), &b), &c) in o1[..ci]
                .iter_mut()
                .zip(&a[..ci])
                .zip(&b[..ci])
                .zip(&c[..ci])
            {
                *d = (a + b + c) * 0.5;
            }
            for (((d, &a), &b), &c) in o2[..ci]
                .iter_mut()
                .zip(&a[..ci])
                .zip(&b[..ci])
                .zip(&c[..ci])
            {
                *d = (a - b + c) * 0.5;
            }
            o3[..ci].copy_from_slice(&c[..ci]);
        };
        // G g: column j of the kernels (taps j, 3 + j, 6 + j) to gg[j][0..4].
        for (j, col) in gg[..12 * ci].chunks_exact_mut(4 * ci).enumerate() {
            let tap = |t: usize| &taps[t * ci..(t + 1) * ci];
            let (r0, rest) = col.split_at_mut(ci);
            let (r1, rest) = rest.split_at_mut(ci);
            let (r2, r3) = rest.split_at_mut(ci);
            g3(tap(j), tap(3 + j), tap(6 + j), [r0, r1, r2, r3]);
        }
        // Then G over each row i of G g (gg[0][i], gg[1][i], gg[2][i]) to u[4i..4i + 4].
        for i in 0..4 {
            let row = |j: usize| &gg[(4 * j + i) * ci..(4 * j + i + 1) * ci];
            let (head, rest) = u[4 * i * plane..].split_at_mut(plane);
            let (o1, rest) = rest.split_at_mut(plane);
            let (o2, o3) = rest.split_at_mut(plane);
            g3(row(0), row(1), row(2), [head, o1, o2, o3]);
        }
    }
}

fn split_sample(c: &Corr, src: &[f32], quarters: &mut [f32]) {
    let (hw, level) = (c.h * c.w, capability());
    for (ch, planes) in quarters
        .chunks_exact_mut(4 * c.quarter())
        .take(c.ci)
        .enumerate()
    {
        split_plane(
            level,
            &src[ch * hw..(ch + 1) * hw],
            [c.h, c.w],
            c.pad,
            c.half(),
            planes,
        );
    }
}

/// The blocks of a group of `cnt` samples (`cnt` at most `c.group`): `(ty0, rows)`
/// tile rows of every sample, the group's slots side by side (several samples only
/// when one block holds a sample's every tile row).
fn blocks(c: &Corr) -> impl Iterator<Item = (usize, usize)> + '_ {
    (0..c.th)
        .step_by(c.block_rows)
        .map(|ty0| (ty0, c.block_rows.min(c.th - ty0)))
}

/// Scratch floats of one group's correlation: a sample's quarter planes, a block's `V`
/// and `M`, and the transforms' rows.
fn correlate_scratch(c: &Corr) -> usize {
    let nt = c.block_slots();
    4 * c.ci * c.quarter() + 16 * (c.ci + c.co) * nt + 12 * (nt + 1)
}

/// A group of `cnt` samples: `out` (`cnt x co x oh x ow`) from `input`
/// (`cnt x ci x h x w`) and the transformed kernels `u`, the products over `threads`
/// threads.
#[allow(clippy::too_many_arguments)]
fn correlate_group(
    c: &Corr,
    u: &[f32],
    bias: Option<&[f32]>,
    input: &[f32],
    cnt: usize,
    out: &mut [f32],
    buf: &mut [f32],
    threads: usize,
) {
    let (in_len, out_len) = (c.ci * c.h * c.w, c.co * c.oh * c.ow);
    let nt_max = c.block_slots();
    let (quarters, rest) = buf.split_at_mut(4 * c.ci * c.quarter());
    let (v, rest) = rest.split_at_mut(16 * c.ci * nt_max);
    let (m, tmp) = rest.split_at_mut(16 * c.co * nt_max);
    for (ty0, rows) in blocks(c) {
        let piece = rows * c.half();
        let nt = cnt * piece;
        for s in 0..cnt {
            // A sample split once serves all its blocks (one sample a group then).
            if cnt > 1 || ty0 == 0 {
                split_sample(c, &input[s * in_len..][..in_len], quarters);
            }
            let slots = Slots { nt, off: s * piece };
            input_transform(c, quarters, ty0, rows, v, tmp, slots);
        }
        for xi in 0..16 {
            // SAFETY: u[ξ] is a (co, ci) matrix with rows 16 * ci apart from u[ξ * ci]
            // on, inside `u` (16 * co * ci floats); V[ξ] is (ci, nt) with rows 16 * nt
            // apart from v[ξ * nt] on, inside `v` (16 * ci * nt floats); m[ξ] is a
            // row-major (co, nt) slice of `m`, disjoint from both.
            unsafe {
                product(
                    c.co,
                    nt,
                    c.ci,
                    m[xi * c.co * nt..].as_mut_ptr(),
                    nt,
                    1,
                    false,
                    u[xi * c.ci..].as_ptr(),
                    16 * c.ci,
                    1,
                    v[xi * nt..].as_ptr(),
                    16 * nt,
                    1,
                    threads,
                )
            };
        }
        for (s, out_s) in out.chunks_exact_mut(out_len).take(cnt).enumerate() {
            let slots = Slots { nt, off: s * piece };
            output_transform(c, m, ty0, rows, bias, out_s, tmp, slots);
        }
    }
}

/// Every sample of a batch, in parallel over groups of samples (over the products'
/// threads for fewer groups than threads).
fn correlate_batch(
    n: usize,
    c: &Corr,
    u: &[f32],
    bias: Option<&[f32]>,
    input: &[f32],
    out: &mut [f32],
) {
    let (in_len, out_len) = (c.ci * c.h * c.w, c.co * c.oh * c.ow);
    let (scratch, group) = (correlate_scratch(c), c.group);
    let groups = n.div_ceil(group);
    let threads = super::get_num_threads();
    let run = |gi: usize, out_g: &mut [f32], buf: &mut [f32], threads: usize| {
        let cnt = out_g.len() / out_len;
        let x = &input[gi * group * in_len..][..cnt * in_len];
        correlate_group(c, u, bias, x, cnt, out_g, buf, threads);
    };
    if threads > 1 && groups >= threads {
        super::par_chunks_mut(out, group * out_len, &|gi, out_g| {
            with_scratch::<f32, _>(scratch, |buf| run(gi, out_g, buf, 1))
        });
    } else {
        let all = |out: &mut [f32]| {
            with_scratch::<f32, _>(scratch, |buf| {
                for (gi, out_g) in out.chunks_mut(group * out_len).enumerate() {
                    run(gi, out_g, buf, threads);
                }
            })
        };
        all(out);
    }
}

/// Forward (`applies(g)`, operands [`moderate`]): `out` `(n, o, oh, ow)` from `x`
/// `(n, c, h, w)`, `w` `(o, c, 3, 3)` and `bias`.
pub fn forward(g: &ConvGeom, x: &[f32], w: &[f32], bias: Option<&[f32]>, out: &mut [f32]) {
    let p = &g.plane;
    let c = Corr::new(g.c, g.o, [p.h, p.w], p.padding, g.n);
    let u = transform_weights(&c, |k, ch| {
        std::array::from_fn(|t| w[(k * g.c + ch) * 9 + t])
    });
    correlate_batch(g.n, &c, &u, bias, x, out);
}

/// Input gradient (`applies(g)`, operands [`moderate`]): `gx` `(n, c, h, w)` from `gy`
/// `(n, o, oh, ow)` and `w`: `dy` padded by `2 - padding`, correlated with
/// `w'[ci, co] = w[co, ci]` flipped in both directions.
pub fn backward_input(g: &ConvGeom, gy: &[f32], w: &[f32], gx: &mut [f32]) {
    let p = &g.plane;
    let pad = [2 - p.padding[0], 2 - p.padding[1]];
    let c = Corr::new(g.o, g.c, [p.oh, p.ow], pad, g.n);
    debug_assert_eq!([c.oh, c.ow], [p.h, p.w]);
    let u = transform_weights(&c, |k, ch| {
        std::array::from_fn(|t| w[(ch * g.c + k) * 9 + (8 - t)])
    });
    correlate_batch(g.n, &c, &u, None, gy, gx);
}

/// `z[ξ][f][k] = (A dy A^T)[ξ]` for the tiles of tile rows `ty0..ty0 + rows` (slots as
/// in [`input_transform`]), from `dyt`, a sample's `dy` channels-last and zero-padded
/// to `2 * th` rows of `2 * half` positions (zero past the edges and in the
/// thrown-away slots, so those add nothing to the weight gradient). Channels-last, a
/// tile's values are runs of channels, and the product reads `Z[ξ]` with its channels
/// contiguous (no packing).
fn dy_transform(c: &Corr, dyt: &[f32], ty0: usize, rows: usize, z: &mut [f32], slots: Slots) {
    let (co, half, level) = (c.co, c.half(), capability());
    let zs = z_stride(c, slots.nt);
    let row_len = 2 * half * co;
    for f in 0..rows * half {
        let (r, tx) = (ty0 + f / half, f % half);
        // The tile's dy is [[a, b], [c, d]].
        let top = 2 * r * row_len + 2 * tx * co;
        let run = |at: usize| &dyt[at..at + co];
        let tile = [
            run(top),
            run(top + co),
            run(top + row_len),
            run(top + row_len + co),
        ];
        winograd_dy::transform(level, tile, &mut z[(slots.off + f) * co..], zs);
    }
}

/// One sample's `dy` (`co x oh x ow`) channels-last into `dyt` (`2 * th` rows of
/// `2 * half` positions of `co` channels), zero past the edges.
fn channels_last(c: &Corr, dy: &[f32], dyt: &mut [f32]) {
    dyt.fill(0.0);
    let (co, l, row_len) = (c.co, c.oh * c.ow, 2 * c.half() * c.co);
    for y in 0..c.oh {
        super::reorder::transpose(&dy[y * c.ow..], l, c.ow, co, &mut dyt[y * row_len..], co);
    }
}

/// Floats between `Z[ξ]` and `Z[ξ + 1]` for a block of `nt` slots: `nt * co` and a
/// cache line, so that the sixteen streams the dy transform writes do not fall on the
/// same L1 sets (`nt * co` floats is often a multiple of 4 KiB: 272 slots x 64).
fn z_stride(c: &Corr, nt: usize) -> usize {
    nt * c.co + 16
}

/// The correlation of the weight gradient (the forward's).
fn weight_corr(g: &ConvGeom) -> Corr {
    let p = &g.plane;
    Corr::new(g.c, g.o, [p.h, p.w], p.padding, g.n)
}

/// Scratch floats of [`backward_weight_part`]: a sample's input quarter planes and
/// channels-last `dy`, a block's `V` and `Z`, the sums `dU` and the transforms' rows.
pub fn weight_grad_scratch(g: &ConvGeom) -> usize {
    let c = weight_corr(g);
    let nt = c.block_slots();
    let dyt = 2 * c.th * 2 * c.half() * c.co;
    4 * c.ci * c.quarter() + dyt + 16 * c.ci * nt + 16 * z_stride(&c, nt) + 8 * (nt + 1)
}

/// Floats of a part of the weight gradient: the sums `dU[ξ][ch][k]`, finished into
/// the gradient by [`finish_weight_grad`] once the parts are added.
pub fn weight_part_len(g: &ConvGeom) -> usize {
    16 * g.c * g.o
}

/// The weight gradient's sums in the transformed domain, `du[ξ][ch][k] = sum over
/// samples lo..hi and tiles of Z[ξ][k] V[ξ][ch]` (`lo < hi`; `applies(g)`, operands
/// [`moderate`]; [`weight_part_len`] floats), the products over `threads` threads.
#[allow(clippy::too_many_arguments)]
pub fn backward_weight_part(
    g: &ConvGeom,
    gy: &[f32],
    x: &[f32],
    lo: usize,
    hi: usize,
    du: &mut [f32],
    buf: &mut [f32],
    threads: usize,
) {
    let c = weight_corr(g);
    let (ci, co) = (c.ci, c.co);
    let (in_len, dy_len) = (ci * c.h * c.w, co * c.oh * c.ow);
    let nt_max = c.block_slots();
    let (xq, rest) = buf.split_at_mut(4 * ci * c.quarter());
    let (dyt, rest) = rest.split_at_mut(2 * c.th * 2 * c.half() * co);
    let (v, rest) = rest.split_at_mut(16 * ci * nt_max);
    let (z, tmp) = rest.split_at_mut(16 * z_stride(&c, nt_max));
    let mut first = true;
    for s0 in (lo..hi).step_by(c.group) {
        let cnt = c.group.min(hi - s0);
        for (ty0, rows) in blocks(&c) {
            let piece = rows * c.half();
            let nt = cnt * piece;
            for i in 0..cnt {
                let s = s0 + i;
                // A sample split once serves all its blocks (one sample a group then).
                if cnt > 1 || ty0 == 0 {
                    split_sample(&c, &x[s * in_len..][..in_len], xq);
                    channels_last(&c, &gy[s * dy_len..][..dy_len], dyt);
                }
                let slots = Slots { nt, off: i * piece };
                input_transform(&c, xq, ty0, rows, v, tmp, slots);
                dy_transform(&c, dyt, ty0, rows, z, slots);
            }
            for xi in 0..16 {
                // SAFETY: Z[ξ] is (co, nt) read from the (nt, co) row-major slice at
                // z[ξ * z_stride] (row stride 1, column stride co), inside `z`; V[ξ]^T
                // is (nt, ci) read from `v` at v[ξ * nt] with row stride 1 and column
                // stride 16 * nt; dU[ξ] is (co, ci) written column-major into
                // du[ξ * ci * co..] (row stride 1, column stride co), disjoint from
                // both. The part's first product overwrites it.
                unsafe {
                    product(
                        co,
                        ci,
                        nt,
                        du[xi * co * ci..].as_mut_ptr(),
                        1,
                        co,
                        !first,
                        z[xi * z_stride(&c, nt)..].as_ptr(),
                        1,
                        co,
                        v[xi * nt..].as_ptr(),
                        1,
                        16 * nt,
                        threads,
                    )
                };
            }
            first = false;
        }
    }
}

/// The weight gradient `dst[k][ch] = G^T dU[k][ch] G` (3x3 from 4x4) from the sums of
/// [`backward_weight_part`], `du[ξ][ch][k]`.
pub fn finish_weight_grad(g: &ConvGeom, du: &[f32], dst: &mut [f32]) {
    let c = weight_corr(g);
    let mut tmp = vec![0.0; 12 * c.co];
    finish_at(&c, du, dst, &mut tmp);
}

per_level! {
    /// [`finish_weight_grad`] over runs of output channels; `tmp` holds `12 * co` floats.
    fn finish_at(c: &Corr, du: &[f32], dst: &mut [f32], tmp: &mut [f32]) {
        let (ci, co) = (c.ci, c.co);
        for ch in 0..ci {
            let u = |xi: usize| &du[(xi * ci + ch) * co..][..co];
            // G^T over each row (a, b, c, d) of dU, for every output channel:
            // (a + (b + c)/2, (b - c)/2, (b + c)/2 + d) into r[i][0..3].
            for (i, r) in tmp[..12 * co].chunks_exact_mut(3 * co).enumerate() {
                let (a, b, cc, d) = (u(4 * i), u(4 * i + 1), u(4 * i + 2), u(4 * i + 3));
                let (r0, rest) = r.split_at_mut(co);
                let (r1, r2) = rest.split_at_mut(co);
                for k in 0..co {
                    let h = (b[k] + cc[k]) * 0.5;
                    r0[k] = a[k] + h;
                    r1[k] = (b[k] - cc[k]) * 0.5;
                    r2[k] = h + d[k];
                }
            }
            // Then over each column of r, into the output channel's 3x3 kernel.
            let r = |i: usize, j: usize, k: usize| tmp[(3 * i + j) * co + k];
            for k in 0..co {
                let out = &mut dst[(k * ci + ch) * 9..][..9];
                for j in 0..3 {
                    let (a, b, cc, d) = (r(0, j, k), r(1, j, k), r(2, j, k), r(3, j, k));
                    let h = (b + cc) * 0.5;
                    out[j] = a + h;
                    out[3 + j] = (b - cc) * 0.5;
                    out[6 + j] = h + d;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The kernels called directly (whatever `applies` would choose) against float64
    //! loops: odd output sizes (half tiles at the edges), paddings 0 to 2, planes
    //! smaller than a tile, several blocks of tile rows, several samples a block, a
    //! bias, and a weight gradient over part of the batch.
    use super::*;
    use crate::cpu::conv_reference::{check, geom, reference, values};

    /// (n, c, o, [h, w], padding)
    type Case = (usize, usize, usize, [usize; 2], [usize; 2]);

    const CASES: [Case; 8] = [
        (2, 5, 7, [9, 11], [1, 1]), // 9x11 outputs: half tiles on both edges; 2 samples a block
        (5, 3, 4, [12, 12], [1, 1]), // 42 slots a sample: blocks of 3 samples, then 2
        (3, 4, 3, [8, 8], [0, 0]),  // 6x6 outputs, whole tiles
        (2, 3, 4, [5, 6], [2, 1]),  // padding 2 (input gradient pads by 0)
        (1, 2, 3, [1, 1], [1, 1]),  // a 1x1 output: one quarter tile
        (2, 3, 2, [10, 200], [1, 1]), // 100 tiles a row: blocks of 3 + 2 tile rows
        (2, 17, 33, [6, 35], [1, 0]), // 33 outputs per row: shuffle tails
        (1, 2, 2, [40, 3], [0, 1]), // one tile column, 19 tile rows
    ];

    #[test]
    fn winograd_kernels_match_float64_loops() {
        for (case, &(n, c, o, hw, pad)) in CASES.iter().enumerate() {
            let g = geom(n, c, o, hw, [3, 3], pad, [1, 1]);
            let p = g.plane;
            let x = values(n * c * p.h * p.w, 1 + case as u64);
            let w = values(o * c * 9, 100 + case as u64);
            let gy = values(n * o * p.oh * p.ow, 200 + case as u64);
            let bias = values(o, 300 + case as u64);
            let [mut want, want_gx, _] = reference(&g, &x, &w, &gy);
            let l = p.oh * p.ow;
            for (i, v) in want.iter_mut().enumerate() {
                *v += bias[(i / l) % o] as f64;
            }
            let mut y = vec![f32::NAN; want.len()];
            forward(&g, &x, &w, Some(&bias), &mut y);
            check(&y, &want, &format!("forward, case {case}"));
            let mut gx = vec![f32::NAN; want_gx.len()];
            backward_input(&g, &gy, &w, &mut gx);
            check(&gx, &want_gx, &format!("input gradient, case {case}"));
            // Samples 1..n only (or the one sample).
            let lo = usize::from(n > 1);
            let part = geom(n - lo, c, o, hw, [3, 3], pad, [1, 1]);
            let (xs, gys) = (&x[lo * c * p.h * p.w..], &gy[lo * o * l..]);
            let want_gw = &reference(&part, xs, &w, gys)[2];
            let mut du = vec![f32::NAN; weight_part_len(&g)];
            let mut buf = vec![f32::NAN; weight_grad_scratch(&g)];
            backward_weight_part(&g, &gy, &x, lo, n, &mut du, &mut buf, 1);
            let mut gw = vec![f32::NAN; want_gw.len()];
            finish_weight_grad(&g, &du, &mut gw);
            check(&gw, want_gw, &format!("weight gradient, case {case}"));
        }
    }

    #[test]
    fn samples_spread_evenly_over_blocks() {
        // 7x7 outputs: 20 slots a sample, at most 7 samples to a block of 128 tiles.
        let group = |n, hw, pad| Corr::new(4, 4, hw, pad, n).group;
        assert_eq!(group(8, [7, 7], [1, 1]), 4);
        assert_eq!(group(7, [7, 7], [1, 1]), 7);
        assert_eq!(group(15, [7, 7], [1, 1]), 5);
        assert_eq!(group(1, [7, 7], [1, 1]), 1);
        assert_eq!(group(5, [12, 12], [1, 1]), 3);
        // A sample larger than a block: one a block.
        assert_eq!(group(4, [40, 40], [1, 1]), 1);
    }

    #[test]
    fn deep_convolutions_need_tiles_over_the_batch() {
        let g = |n, ch, hw| geom(n, ch, ch, [hw, hw], [3, 3], [1, 1], [1, 1]);
        if !kernel_applies(&g(1, 64, 16)) {
            return; // no SIMD here, or RTORCH_DISABLE_WINOGRAD=1
        }
        // Up to 128 channels the planes decide alone; 6x6 outputs are too small.
        assert!(applies(&g(1, 128, 8)) && applies_weight_grad(&g(1, 128, 8)));
        assert!(!applies(&g(64, 64, 6)));
        // Deeper: the batch's tiles, more of them for the weight gradient.
        assert!(!applies(&g(1, 256, 14)) && !applies(&g(8, 512, 7)));
        assert!(applies(&g(16, 256, 8)) && !applies_weight_grad(&g(16, 256, 8)));
        assert!(applies(&g(8, 512, 14)) && applies_weight_grad(&g(8, 512, 14)));
    }

    #[test]
    fn only_moderate_values_come_here() {
        assert!(moderate(&[0.0, -1.0, LIMIT, -LIMIT]));
        for bad in [
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            LIMIT * 2.0,
            -1e38,
        ] {
            let mut v = vec![1.0f32; 5000];
            v[4999] = bad;
            assert!(!moderate(&v), "{bad}");
        }
    }
}
