//! 2-D convolution kernels for float32 and float64 (forward and both backwards).
//!
//! Per sample and group, a convolution is one matrix product between the weights
//! `(og, k)` and the sample's im2col columns `(k, l)`, with `k = cg*kh*kw` and
//! `l = oh*ow`:
//!
//! - forward: `out[n, g] = W[g] @ cols(x[n, g])`;
//! - input gradient: `dx[n, g] = col2im(W[g]^T @ dy[n, g])`;
//! - weight gradient: `dW[g] = sum_n dy[n, g] @ cols(x[n, g])^T`.
//!
//! Samples go in blocks: the columns of a block's samples sit side by side, `(k, s*l)`,
//! so one product covers the block. Small images (LeNet's 10x10 maps) otherwise make
//! products of a hundred columns, dominated by the per-call packing. A block has at
//! least [`BLOCK_COLS`] columns; the weight gradient's blocks depend on the geometry
//! only (it sums over them), the others are also evened out over the threads (each of
//! their output elements is one sum whatever the block). A block's columns live in a
//! per-thread buffer, so memory stays at one block's columns per thread instead of the
//! whole batch's. A 1x1 kernel with unit stride and no padding needs no columns: the
//! sample itself is the `(cg, h*w)` matrix.
//!
//! Threads: many blocks run one per thread with single-threaded products; fewer blocks
//! than threads run one after another with each product split over the threads. The
//! weight gradient sums over the batch in parts (fixed by the batch size and the
//! geometry, not the thread count) added in order, so every result is bitwise identical
//! for any thread count.

use super::conv_depthwise as depthwise;
use super::conv_direct as direct;
use super::gemm::{product, PAR_FLOPS};
use super::window::{Plane, Taps};
use super::{all_finite, as_f32, as_f32_mut, winograd};
use crate::dtype::DType;
use crate::element::Element;
use std::cell::Cell;

/// The element types with convolution kernels: the ones the `gemm` crate multiplies.
pub trait ConvFloat: Element + std::ops::Add<Output = Self> + std::ops::Mul<Output = Self> {}
impl ConvFloat for f32 {}
impl ConvFloat for f64 {}

/// Parts the weight gradient's batch sum is split into (then added in order).
const WEIGHT_GRAD_PARTS: usize = 8;

/// Columns a block of samples gives each product at least (see the module comment).
const BLOCK_COLS: usize = 512;

/// The shapes of one convolution: input `(n, c, h, w)`, weight `(o, c/groups, kh, kw)`,
/// output `(n, o, oh, ow)`; `plane` holds the window geometry of one input channel.
#[derive(Clone, Copy, Debug)]
pub struct ConvGeom {
    pub n: usize,
    pub c: usize,
    pub o: usize,
    pub groups: usize,
    pub plane: Plane,
}

impl ConvGeom {
    fn cg(&self) -> usize {
        self.c / self.groups
    }
    fn og(&self) -> usize {
        self.o / self.groups
    }
    fn kk(&self) -> usize {
        self.plane.kernel[0] * self.plane.kernel[1]
    }
    /// Rows of one group's columns: `cg * kh * kw`.
    fn k(&self) -> usize {
        self.cg() * self.kk()
    }
    fn hw(&self) -> usize {
        self.plane.h * self.plane.w
    }
    fn l(&self) -> usize {
        self.plane.oh * self.plane.ow
    }
    /// A 1x1 kernel, unit stride, no padding: the input is its own column matrix.
    fn pointwise(&self) -> bool {
        let p = &self.plane;
        p.kernel == [1, 1] && p.stride == [1, 1] && p.padding == [0, 0]
    }
    /// Multiply-adds of one sample (all groups).
    fn sample_flops(&self) -> usize {
        self.o * self.k() * self.l()
    }
    /// Samples per block: enough for [`BLOCK_COLS`] product columns (1 for pointwise
    /// kernels, which read the samples in place).
    fn block(&self) -> usize {
        if self.pointwise() || self.l() == 0 {
            1
        } else {
            BLOCK_COLS.div_ceil(self.l()).clamp(1, self.n.max(1))
        }
    }
    /// Scratch elements for a block of `s` samples: the `(c*kh*kw, s*l)` columns, then
    /// (for `s > 1`) an `(o, s*l)` staging matrix for the outputs or the gathered `dy`.
    fn scratch_len(&self, s: usize) -> usize {
        if self.pointwise() {
            return 0;
        }
        let ld = s * self.l();
        let staging = if s > 1 { self.o * ld } else { 0 };
        self.c * self.kk() * ld + staging
    }
}

/// How the blocks of a batch are spread over threads.
enum Split {
    /// Blocks one per thread, single-threaded products.
    OverBlocks,
    /// Blocks one after another, each product split over `threads`.
    Inside(usize),
}

fn split(blocks: usize, flops_each: usize, threads: usize) -> Split {
    if threads > 1 && blocks >= threads && blocks.saturating_mul(flops_each) >= PAR_FLOPS {
        Split::OverBlocks
    } else if threads > 1 && flops_each >= PAR_FLOPS {
        Split::Inside(threads)
    } else {
        Split::Inside(1)
    }
}

thread_local! {
    /// This thread's column buffer, kept between calls: a fresh multi-megabyte buffer
    /// per call costs page faults as slow as filling it.
    static COLS: Cell<Vec<u64>> = const { Cell::new(Vec::new()) };
}

/// Buffers above this many bytes are freed after use instead of kept.
const KEEP_COLS_BYTES: usize = 64 << 20;

/// Runs `f` on a scratch slice of `len` elements (contents unspecified), reusing this
/// thread's buffer. A nested call (another kernel run on this thread meanwhile) finds
/// the slot empty and allocates its own.
pub(super) fn with_scratch<T: ConvFloat, R>(len: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
    let bytes = len.saturating_mul(std::mem::size_of::<T>());
    let mut buf = COLS.with(|c| c.take());
    if buf.len() * 8 < bytes {
        buf = vec![0u64; bytes.div_ceil(8)];
    }
    // SAFETY: the u64 buffer is 8-byte aligned, which covers f32 and f64 (the only
    // ConvFloat types); it holds at least `bytes` bytes; every bit pattern is a valid
    // f32/f64; and `buf` is not touched again until the slice's last use inside `f`.
    let r = f(unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr() as *mut T, len) });
    if bytes <= KEEP_COLS_BYTES {
        COLS.with(|c| c.set(buf));
    }
    r
}

/// Samples per block for the forward and the input gradient at `threads` threads:
/// [`ConvGeom::block`], enlarged so that every thread gets the same number of samples
/// where the batch allows. 16 samples of 14x14 in blocks of 3 (3, 3, 3, 3, 3, 1) gave
/// one thread 9 samples and the other 7; blocks of 4 give 8 each. Each output element
/// of these products is its own sum over the kernel window and input channels, in an
/// order a block's width does not change (the GEMM crate's k-blocks depend on k alone;
/// blocks here have more than 64 columns whenever the width differs), so the bits do
/// not depend on it. (The weight gradient sums over samples, so its blocks stay
/// [`ConvGeom::block`].)
fn balanced_block(g: &ConvGeom, threads: usize) -> usize {
    let s = g.block();
    let share = g.n.div_ceil(threads.max(1));
    if g.pointwise() || threads <= 1 || share < s {
        return s;
    }
    share.div_ceil(share / s)
}

/// Runs `f(first_sample, out_chunk, scratch, product_threads)` for every block of
/// samples, with `out` split into chunks of `out_len` elements per sample.
fn for_blocks<T: ConvFloat>(
    g: &ConvGeom,
    out: &mut [T],
    out_len: usize,
    f: impl Fn(usize, &mut [T], &mut [T], usize) + Sync,
) {
    let threads = super::get_num_threads();
    let s = balanced_block(g, threads);
    let scratch = g.scratch_len(s);
    let blocks = g.n.div_ceil(s);
    let chunk = s * out_len;
    match split(blocks, s.saturating_mul(g.sample_flops()), threads) {
        Split::OverBlocks => super::par_chunks_mut(out, chunk, &|b, o| {
            with_scratch(scratch, |buf| f(b * s, o, buf, 1))
        }),
        Split::Inside(threads) => {
            let run = |out: &mut [T]| {
                with_scratch(scratch, |buf| {
                    for (b, o) in out.chunks_mut(chunk).enumerate() {
                        f(b * s, o, buf, threads);
                    }
                })
            };
            run(out);
        }
    }
}

/// The columns of samples `n0..n0+cnt` of `x` (`(n, c, h*w)`) side by side: row `r` of
/// sample `s` is `cols[r*ld + s*l..][..l]`, with `ld = cnt*l`; channels spread over
/// `threads` (a lone block's columns, filled while the pool waited for the product,
/// took a tenth of 8 x 512 x 7x7 -> 512's forward).
fn fill_cols<T: ConvFloat>(
    g: &ConvGeom,
    taps: &Taps,
    x: &[T],
    n0: usize,
    cnt: usize,
    cols: &mut [T],
    threads: usize,
) {
    let (hw, l, kk) = (g.hw(), g.l(), g.kk());
    let ld = cnt * l;
    // Channel `ch`'s rows of every sample: `kk` rows of `ld` columns.
    let fill = |ch: usize, rows: &mut [T]| {
        for s in 0..cnt {
            let src = &x[((n0 + s) * g.c + ch) * hw..][..hw];
            taps.im2col(src, &mut rows[s * l..], ld);
        }
    };
    let cols = &mut cols[..g.c * kk * ld];
    if threads > 1 {
        super::par_chunks_mut(cols, kk * ld, &fill);
    } else {
        cols.chunks_mut(kk * ld)
            .enumerate()
            .for_each(|(ch, rows)| fill(ch, rows));
    }
}

/// `dy` of samples `n0..n0+cnt` (`(n, o, l)`) as one `(o, cnt*l)` matrix in `dst`.
fn gather_dy<T: ConvFloat>(g: &ConvGeom, gy: &[T], n0: usize, cnt: usize, dst: &mut [T]) {
    let l = g.l();
    let ld = cnt * l;
    for s in 0..cnt {
        let gy_n = &gy[(n0 + s) * g.o * l..(n0 + s + 1) * g.o * l];
        for (c, row) in gy_n.chunks_exact(l).enumerate() {
            dst[c * ld + s * l..c * ld + (s + 1) * l].copy_from_slice(row);
        }
    }
}

/// Forward: `out` is `(n, o, oh, ow)`; `x` is `(n, c, h, w)`, `w` is `(o, cg, kh, kw)`,
/// all contiguous; `bias` has `o` elements.
pub fn conv2d_forward<T: ConvFloat>(
    g: &ConvGeom,
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    out: &mut [T],
) {
    let (cg, og, k, l, hw) = (g.cg(), g.og(), g.k(), g.l(), g.hw());
    if out.is_empty() {
        return;
    }
    if depthwise::applies(g) {
        return depthwise::forward(g, x, w, bias, out);
    }
    if winograd::applies(g) {
        if let (Some(x), Some(w), Some(out)) = (as_f32(x), as_f32(w), as_f32_mut(out)) {
            if winograd::moderate(x) && winograd::moderate(w) {
                winograd::forward(g, x, w, bias.and_then(as_f32), out);
                return;
            }
        }
    }
    if direct::applies(g) {
        if let (Some(x), Some(w), Some(out)) = (as_f32(x), as_f32(w), as_f32_mut(out)) {
            direct::forward(g, x, w, bias.and_then(as_f32), out);
            return;
        }
    }
    let taps = Taps::new(g.plane);
    for_blocks(g, out, g.o * l, |n0, out_b, buf, threads| {
        let cnt = out_b.len() / (g.o * l);
        let ld = cnt * l;
        let (cols, staging) = buf.split_at_mut(if g.pointwise() { 0 } else { g.c * g.kk() * ld });
        if !g.pointwise() {
            fill_cols(g, &taps, x, n0, cnt, cols, threads);
        }
        // One sample's products write its output directly; a block's go to the
        // staging matrix, scattered to the samples below.
        let res: &mut [T] = if cnt == 1 {
            &mut *out_b
        } else {
            &mut staging[..g.o * ld]
        };
        for grp in 0..g.groups {
            let b: &[T] = if g.pointwise() {
                &x[(n0 * g.c + grp * cg) * hw..(n0 * g.c + (grp + 1) * cg) * hw]
            } else {
                &cols[grp * k * ld..(grp + 1) * k * ld]
            };
            let dst = &mut res[grp * og * ld..(grp + 1) * og * ld];
            let a = &w[grp * og * k..(grp + 1) * og * k];
            // SAFETY: `a` is (og, k), `b` is (k, ld), `dst` is (og, ld), all row-major
            // slices of exactly those lengths; `dst` is distinct from both.
            unsafe {
                product(
                    og,
                    ld,
                    k,
                    dst.as_mut_ptr(),
                    ld,
                    1,
                    false,
                    a.as_ptr(),
                    k,
                    1,
                    b.as_ptr(),
                    ld,
                    1,
                    threads,
                )
            };
        }
        let bias_of = |c: usize| bias.map_or(T::zero(), |b| b[c]);
        if cnt == 1 {
            if let Some(bias) = bias {
                for (row, &b) in out_b.chunks_exact_mut(l).zip(bias) {
                    row.iter_mut().for_each(|v| *v = *v + b);
                }
            }
        } else {
            for (s, out_n) in out_b.chunks_exact_mut(g.o * l).enumerate() {
                for (c, row) in out_n.chunks_exact_mut(l).enumerate() {
                    let src = &staging[c * ld + s * l..c * ld + (s + 1) * l];
                    let b = bias_of(c);
                    row.iter_mut().zip(src).for_each(|(d, &v)| *d = v + b);
                }
            }
        }
    });
}

/// Input gradient: `gx` is `(n, c, h, w)`; `gy` is `(n, o, oh, ow)`; `w` as forward.
pub fn conv2d_backward_input<T: ConvFloat>(g: &ConvGeom, gy: &[T], w: &[T], gx: &mut [T]) {
    let (cg, og, k, l, hw, kk) = (g.cg(), g.og(), g.k(), g.l(), g.hw(), g.kk());
    if gx.is_empty() {
        return;
    }
    if depthwise::applies(g) && all_finite(w) {
        return depthwise::backward_input(g, gy, w, gx);
    }
    if winograd::applies(g) {
        if let (Some(gy), Some(w), Some(gx)) = (as_f32(gy), as_f32(w), as_f32_mut(gx)) {
            if winograd::moderate(gy) && winograd::moderate(w) {
                winograd::backward_input(g, gy, w, gx);
                return;
            }
        }
    }
    if direct::applies_input_grad(g) && all_finite(w) {
        if let (Some(gy), Some(w), Some(gx)) = (as_f32(gy), as_f32(w), as_f32_mut(gx)) {
            direct::backward_input(g, gy, w, gx);
            return;
        }
    }
    let taps = Taps::new(g.plane);
    for_blocks(g, gx, g.c * hw, |n0, gx_b, buf, threads| {
        let cnt = gx_b.len() / (g.c * hw);
        let ld = cnt * l;
        let (cols, staging) = buf.split_at_mut(if g.pointwise() { 0 } else { g.c * kk * ld });
        let dy: &[T] = if cnt == 1 {
            &gy[n0 * g.o * l..(n0 + 1) * g.o * l]
        } else {
            gather_dy(g, gy, n0, cnt, staging);
            &staging[..g.o * ld]
        };
        for grp in 0..g.groups {
            let a = &w[grp * og * k..(grp + 1) * og * k];
            let b = &dy[grp * og * ld..(grp + 1) * og * ld];
            let dst: &mut [T] = if g.pointwise() {
                &mut gx_b[grp * cg * hw..(grp + 1) * cg * hw]
            } else {
                &mut cols[grp * k * ld..(grp + 1) * k * ld]
            };
            // SAFETY: W[g]^T is (k, og) read from the row-major (og, k) slice `a` with
            // row stride 1 and column stride k; `b` is (og, ld); `dst` is (k, ld) and
            // disjoint from both.
            unsafe {
                product(
                    k,
                    ld,
                    og,
                    dst.as_mut_ptr(),
                    ld,
                    1,
                    false,
                    a.as_ptr(),
                    1,
                    k,
                    b.as_ptr(),
                    ld,
                    1,
                    threads,
                )
            };
        }
        if !g.pointwise() {
            // Plane `i` of the block is channel `i % c` of sample `i / c`.
            let cols = &*cols;
            let unfold = |i: usize, dst: &mut [T]| {
                let (s, ch) = (i / g.c, i % g.c);
                taps.col2im(&cols[ch * kk * ld + s * l..], ld, dst);
            };
            if threads > 1 {
                super::par_chunks_mut(gx_b, hw, &unfold);
            } else {
                gx_b.chunks_exact_mut(hw)
                    .enumerate()
                    .for_each(|(i, dst)| unfold(i, dst));
            }
        }
    });
}

/// Weight gradient: `gw` is `(o, cg, kh, kw)`; `gy` is `(n, o, oh, ow)`, `x` is
/// `(n, c, h, w)`.
pub fn conv2d_backward_weight<T: ConvFloat>(g: &ConvGeom, gy: &[T], x: &[T], gw: &mut [T]) {
    let wlen = gw.len();
    if wlen == 0 {
        return;
    }
    if g.n == 0 || g.l() == 0 {
        gw.fill(T::zero());
        return;
    }
    if depthwise::applies(g) && all_finite(x) {
        return depthwise::backward_weight(g, gy, x, gw);
    }
    let taps = Taps::new(g.plane);
    let route = WeightGrad::choose(g, gy, x);
    let scratch = match route {
        WeightGrad::Winograd => winograd::weight_grad_scratch(g),
        WeightGrad::Direct => direct::weight_grad_scratch(g),
        WeightGrad::Im2col => g.scratch_len(g.block()),
    };
    // Each part's result: the weight gradient itself, or on the Winograd route the sums
    // in the transformed domain, turned into it once after the parts are added.
    let plen = match route {
        WeightGrad::Winograd => winograd::weight_part_len(g),
        _ => wlen,
    };
    // Parts of `per` samples each, none empty. On the im2col route a part holds at
    // least a block: parts of one small image made products whose inner dimension is
    // that image's positions, which spent their time reading and writing the whole
    // `(og, k)` result (8 x 512 x 7x7 -> 512, 3x3 at 2 threads: 41.7 -> 9.9 ms).
    let mut per = g.n.div_ceil(g.n.min(WEIGHT_GRAD_PARTS));
    if route == WeightGrad::Im2col {
        per = per.max(g.block());
    }
    let parts = g.n.div_ceil(per);
    let threads = super::get_num_threads();
    let total = g.n.saturating_mul(g.sample_flops());
    let layout = if route == WeightGrad::Im2col && parts > 1 {
        Layout::Transposed
    } else {
        Layout::Direct
    };
    // The parts add up in `gw` itself, or in the Winograd route's sums, or in dW^T,
    // which `finish` turns into `gw`.
    let staged = route == WeightGrad::Winograd || layout == Layout::Transposed;
    let finish = |sums: &[T], gw: &mut [T]| match route {
        WeightGrad::Winograd => {
            if let (Some(du), Some(gw)) = (as_f32(sums), as_f32_mut(gw)) {
                winograd::finish_weight_grad(g, du, gw);
            }
        }
        _ => untranspose(g, sums, gw),
    };
    if parts == 1 || threads == 1 || total < PAR_FLOPS {
        // One part at a time, in order; each part's products may use every thread.
        let inner = if g.block().saturating_mul(g.sample_flops()) >= PAR_FLOPS {
            threads
        } else {
            1
        };
        let run = |sum: &mut [T]| {
            let mut acc = vec![T::zero(); plen];
            with_scratch(scratch, |buf| {
                for p in 0..parts {
                    let (lo, hi) = (p * per, ((p + 1) * per).min(g.n));
                    if p == 0 {
                        weight_grad_part(g, &taps, route, layout, gy, x, lo, hi, sum, buf, inner);
                    } else {
                        weight_grad_part(
                            g, &taps, route, layout, gy, x, lo, hi, &mut acc, buf, inner,
                        );
                        sum.iter_mut().zip(&acc).for_each(|(d, &s)| *d = *d + s);
                    }
                }
            })
        };
        if staged {
            let mut sums = vec![T::zero(); plen];
            run(&mut sums);
            finish(&sums, gw);
        } else {
            run(gw);
        }
    } else {
        let mut partials = vec![T::zero(); parts * plen];
        super::par_chunks_mut(&mut partials, plen, &|p, dst| {
            let (lo, hi) = (p * per, ((p + 1) * per).min(g.n));
            with_scratch(scratch, |buf| {
                weight_grad_part(g, &taps, route, layout, gy, x, lo, hi, dst, buf, 1)
            })
        });
        // The parts add up in order in the first one's buffer.
        let (sum, rest) = partials.split_at_mut(plen);
        for part in rest.chunks_exact(plen) {
            sum.iter_mut().zip(part).for_each(|(d, &s)| *d = *d + s);
        }
        if staged {
            finish(sum, gw);
        } else {
            gw.copy_from_slice(sum);
        }
    }
}

/// How the im2col route's products lay out each group's weight gradient.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// In place: dW^T `(k, og)` written through transposed strides into the row-major
    /// `(og, k)` result. The `gemm` crate then packs the `(k, ld)` columns as its left
    /// operand, a transposing gather per element that each serve only `og` products:
    /// the packing took a quarter of a single-threaded product's time at 16 x 256 x
    /// 8x8 -> 256.
    Direct,
    /// dW^T as a row-major `(k, og)` matrix, transposed into the result at the end:
    /// the crate then takes the columns as its right operand, packed by plain copies
    /// (single-threaded products of 16 x 256 x 8x8 -> 256 at 2 threads 12.3 -> 10.5
    /// ms; 16 x 64 x 32x32 -> 128, stride 2: 9.1 -> 5.4). Multi-threaded products
    /// (one part: the whole batch one block) are faster in place (8 x 512 x 4x4 ->
    /// 512: 3.6 against 7.9 ms), so this layout is used where there are several
    /// parts, whose products are single-threaded. (The choice depends on the shape
    /// only, so results stay the same for any thread count.)
    Transposed,
}

/// `gw[g] = t[g]^T` per group: `t` holds each group's `(k, og)` dW^T.
fn untranspose<T: ConvFloat>(g: &ConvGeom, t: &[T], gw: &mut [T]) {
    let (og, k) = (g.og(), g.k());
    for (src, dst) in t.chunks_exact(og * k).zip(gw.chunks_exact_mut(og * k)) {
        if let (Some(src), Some(dst)) = (as_f32(src), as_f32_mut(dst)) {
            super::reorder::transpose(src, og, og, k, dst, k);
        } else {
            for (r, row) in src.chunks_exact(og).enumerate() {
                for (c, &v) in row.iter().enumerate() {
                    dst[c * k + r] = v;
                }
            }
        }
    }
}

/// The kernels a weight gradient runs on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WeightGrad {
    Winograd,
    Direct,
    Im2col,
}

impl WeightGrad {
    fn choose<T: ConvFloat>(g: &ConvGeom, gy: &[T], x: &[T]) -> WeightGrad {
        if let (true, Some(gy), Some(x)) = (winograd::applies_weight_grad(g), as_f32(gy), as_f32(x))
        {
            if winograd::moderate(gy) && winograd::moderate(x) {
                return WeightGrad::Winograd;
            }
        }
        if direct::applies(g) && T::DTYPE == DType::F32 && all_finite(x) {
            WeightGrad::Direct
        } else {
            WeightGrad::Im2col
        }
    }
}

/// `dst = sum over samples lo..hi of dy[n] @ cols(x[n])^T`, per group (`lo < hi`), a
/// block of samples per product (or the same sum on the direct kernels, or its
/// transformed form on the Winograd ones).
#[allow(clippy::too_many_arguments)]
fn weight_grad_part<T: ConvFloat>(
    g: &ConvGeom,
    taps: &Taps,
    route: WeightGrad,
    layout: Layout,
    gy: &[T],
    x: &[T],
    lo: usize,
    hi: usize,
    dst: &mut [T],
    buf: &mut [T],
    threads: usize,
) {
    if route != WeightGrad::Im2col {
        if let (Some(gy), Some(x), Some(dst), Some(buf)) =
            (as_f32(gy), as_f32(x), as_f32_mut(dst), as_f32_mut(buf))
        {
            if route == WeightGrad::Winograd {
                winograd::backward_weight_part(g, gy, x, lo, hi, dst, buf, threads);
            } else {
                direct::backward_weight_part(g, gy, x, lo, hi, dst, buf);
            }
            return;
        }
    }
    let (cg, og, k, l, hw) = (g.cg(), g.og(), g.k(), g.l(), g.hw());
    let s = g.block();
    for n0 in (lo..hi).step_by(s) {
        let cnt = s.min(hi - n0);
        let ld = cnt * l;
        let (cols, staging) = buf.split_at_mut(if g.pointwise() { 0 } else { g.c * g.kk() * ld });
        if !g.pointwise() {
            fill_cols(g, taps, x, n0, cnt, cols, threads);
        }
        let dy: &[T] = if cnt == 1 {
            &gy[n0 * g.o * l..(n0 + 1) * g.o * l]
        } else {
            gather_dy(g, gy, n0, cnt, staging);
            &staging[..g.o * ld]
        };
        for grp in 0..g.groups {
            let a = &dy[grp * og * ld..(grp + 1) * og * ld];
            let b: &[T] = if g.pointwise() {
                &x[(n0 * g.c + grp * cg) * hw..(n0 * g.c + (grp + 1) * cg) * hw]
            } else {
                &cols[grp * k * ld..(grp + 1) * k * ld]
            };
            let d = &mut dst[grp * og * k..(grp + 1) * og * k];
            // dW^T (k, og) = cols (k, ld) @ dy^T (ld, og): with the long `ld`
            // dimension contiguous in both operands the GEMM packs them fastest (1.6x
            // the dy @ cols^T order at ResNet's 64x576x1024); `layout` says where
            // dW^T goes.
            let (d_rs, d_cs) = match layout {
                Layout::Direct => (1, k),
                Layout::Transposed => (og, 1),
            };
            // SAFETY: `b` is the row-major (k, ld) slice; dy^T is (ld, og) read from
            // the row-major (og, ld) slice `a` with row stride 1 and column stride ld;
            // `d` holds og * k elements, written as (k, og) with strides (d_rs, d_cs)
            // (the transpose of row-major (og, k), or row-major (k, og)), and it is
            // disjoint from both operands. The first block overwrites `d`, later ones
            // add to it.
            unsafe {
                product(
                    k,
                    og,
                    ld,
                    d.as_mut_ptr(),
                    d_rs,
                    d_cs,
                    n0 > lo,
                    b.as_ptr(),
                    ld,
                    1,
                    a.as_ptr(),
                    1,
                    ld,
                    threads,
                )
            };
        }
    }
}

/// Bias gradient: `gb[c] = sum over n and positions of gy[n, c]`, accumulated in f64
/// in eight lanes (each in a fixed order, so vectorisable) added in a fixed order.
pub fn conv2d_backward_bias<T: ConvFloat>(g: &ConvGeom, gy: &[T], gb: &mut [T]) {
    let l = g.l();
    for (c, out) in gb.iter_mut().enumerate() {
        let mut lanes = [0f64; 8];
        for i in 0..g.n {
            let row = &gy[(i * g.o + c) * l..(i * g.o + c + 1) * l];
            let mut chunks = row.chunks_exact(8);
            for chunk in &mut chunks {
                for (acc, v) in lanes.iter_mut().zip(chunk) {
                    *acc += v.to_f64();
                }
            }
            for (acc, v) in lanes.iter_mut().zip(chunks.remainder()) {
                *acc += v.to_f64();
            }
        }
        *out = T::cast_from_f64(lanes.iter().sum());
    }
}
