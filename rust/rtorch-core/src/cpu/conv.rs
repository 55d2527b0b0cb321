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
//! The columns of one sample live in a per-thread buffer, so memory stays at one
//! sample's columns per thread instead of the whole batch's. A 1x1 kernel with unit
//! stride and no padding needs no columns: the sample itself is the `(cg, h*w)` matrix.
//!
//! Threads: many samples run one per thread with single-threaded products; a batch
//! smaller than the thread count runs sample after sample with each product split over
//! the threads. The weight gradient sums over the batch in a fixed number of parts
//! (fixed by the batch size, not the thread count) added in order, so every result is
//! bitwise identical for any thread count.

use super::gemm::{product, PAR_FLOPS};
use super::window::{col2im_plane, im2col_plane, Plane};
use crate::element::Element;
use rayon::prelude::*;
use std::cell::Cell;

/// The element types with convolution kernels: the ones the `gemm` crate multiplies.
pub trait ConvFloat: Element + std::ops::Add<Output = Self> {}
impl ConvFloat for f32 {}
impl ConvFloat for f64 {}

/// Parts the weight gradient's batch sum is split into (then added in order).
const WEIGHT_GRAD_PARTS: usize = 8;

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
    /// Elements of one sample's column buffer (all groups).
    fn cols_len(&self) -> usize {
        if self.pointwise() {
            0
        } else {
            self.c * self.kk() * self.l()
        }
    }
}

/// How the samples of a batch are spread over threads.
enum Split {
    /// Samples one per thread, single-threaded products.
    OverSamples,
    /// Samples one after another, each product split over `threads`.
    Inside(usize),
}

fn split(samples: usize, flops_each: usize, threads: usize) -> Split {
    if threads > 1 && samples >= threads && samples.saturating_mul(flops_each) >= PAR_FLOPS {
        Split::OverSamples
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
fn with_cols<T: ConvFloat, R>(len: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
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

/// Runs `f(sample, out_chunk, cols_buffer, product_threads)` for every sample, with
/// `out` split into `out_len`-element chunks per sample.
fn for_samples<T: ConvFloat>(
    g: &ConvGeom,
    out: &mut [T],
    out_len: usize,
    f: impl Fn(usize, &mut [T], &mut [T], usize) + Sync,
) {
    let cols = g.cols_len();
    match split(g.n, g.sample_flops(), super::get_num_threads()) {
        Split::OverSamples => super::install(|| {
            out.par_chunks_mut(out_len)
                .enumerate()
                .for_each(|(i, o)| with_cols(cols, |buf| f(i, o, buf, 1)))
        }),
        Split::Inside(threads) => {
            let run = |out: &mut [T]| {
                with_cols(cols, |buf| {
                    for (i, o) in out.chunks_mut(out_len).enumerate() {
                        f(i, o, buf, threads);
                    }
                })
            };
            if threads > 1 {
                super::install(|| run(out));
            } else {
                run(out);
            }
        }
    }
}

/// The `(c, kk*l)` columns of sample `x_n` (`(c, h*w)`), channel by channel.
fn fill_cols<T: ConvFloat>(g: &ConvGeom, x_n: &[T], cols: &mut [T]) {
    let per = g.kk() * g.l();
    for (src, dst) in x_n.chunks_exact(g.hw()).zip(cols.chunks_exact_mut(per)) {
        im2col_plane(src, dst, &g.plane);
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
    for_samples(g, out, g.o * l, |i, out_n, buf, threads| {
        let x_n = &x[i * g.c * hw..(i + 1) * g.c * hw];
        if !g.pointwise() {
            fill_cols(g, x_n, buf);
        }
        for grp in 0..g.groups {
            let b: &[T] = if g.pointwise() {
                &x_n[grp * cg * hw..(grp + 1) * cg * hw]
            } else {
                &buf[grp * k * l..(grp + 1) * k * l]
            };
            let dst = &mut out_n[grp * og * l..(grp + 1) * og * l];
            let a = &w[grp * og * k..(grp + 1) * og * k];
            // SAFETY: `a` is (og, k), `b` is (k, l), `dst` is (og, l), all row-major
            // slices of exactly those lengths; `dst` is a distinct output chunk.
            unsafe {
                product(
                    og,
                    l,
                    k,
                    dst.as_mut_ptr(),
                    l,
                    1,
                    false,
                    a.as_ptr(),
                    k,
                    1,
                    b.as_ptr(),
                    l,
                    1,
                    threads,
                )
            };
        }
        if let Some(bias) = bias {
            for (row, &b) in out_n.chunks_exact_mut(l).zip(bias) {
                row.iter_mut().for_each(|v| *v = *v + b);
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
    for_samples(g, gx, g.c * hw, |i, gx_n, buf, threads| {
        let gy_n = &gy[i * g.o * l..(i + 1) * g.o * l];
        for grp in 0..g.groups {
            let a = &w[grp * og * k..(grp + 1) * og * k];
            let b = &gy_n[grp * og * l..(grp + 1) * og * l];
            let dst: &mut [T] = if g.pointwise() {
                &mut gx_n[grp * cg * hw..(grp + 1) * cg * hw]
            } else {
                &mut buf[grp * k * l..(grp + 1) * k * l]
            };
            // SAFETY: W[g]^T is (k, og) read from the row-major (og, k) slice `a` with
            // row stride 1 and column stride k; `b` is (og, l); `dst` is (k, l) and
            // disjoint from both.
            unsafe {
                product(
                    k,
                    l,
                    og,
                    dst.as_mut_ptr(),
                    l,
                    1,
                    false,
                    a.as_ptr(),
                    1,
                    k,
                    b.as_ptr(),
                    l,
                    1,
                    threads,
                )
            };
        }
        if !g.pointwise() {
            for (src, dst) in buf.chunks_exact(kk * l).zip(gx_n.chunks_exact_mut(hw)) {
                col2im_plane(src, dst, &g.plane);
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
    // Parts of `per` samples each, none empty.
    let per = g.n.div_ceil(g.n.min(WEIGHT_GRAD_PARTS));
    let parts = g.n.div_ceil(per);
    let threads = super::get_num_threads();
    let total = g.n.saturating_mul(g.sample_flops());
    if parts == 1 || threads == 1 || total < PAR_FLOPS {
        // One part at a time, in order; each part's products may use every thread.
        let inner = if g.sample_flops() >= PAR_FLOPS {
            threads
        } else {
            1
        };
        let run = |gw: &mut [T]| {
            let mut acc = vec![T::zero(); wlen];
            with_cols(g.cols_len(), |buf| {
                for p in 0..parts {
                    let (lo, hi) = (p * per, ((p + 1) * per).min(g.n));
                    if p == 0 {
                        weight_grad_part(g, gy, x, lo, hi, gw, buf, inner);
                    } else {
                        weight_grad_part(g, gy, x, lo, hi, &mut acc, buf, inner);
                        gw.iter_mut().zip(&acc).for_each(|(d, &s)| *d = *d + s);
                    }
                }
            })
        };
        if inner > 1 {
            super::install(|| run(gw));
        } else {
            run(gw);
        }
        return;
    }
    let mut partials = vec![T::zero(); parts * wlen];
    super::install(|| {
        partials
            .par_chunks_mut(wlen)
            .enumerate()
            .for_each(|(p, dst)| {
                let (lo, hi) = (p * per, ((p + 1) * per).min(g.n));
                with_cols(g.cols_len(), |buf| {
                    weight_grad_part(g, gy, x, lo, hi, dst, buf, 1)
                })
            })
    });
    gw.copy_from_slice(&partials[..wlen]);
    for part in partials.chunks_exact(wlen).skip(1) {
        gw.iter_mut().zip(part).for_each(|(d, &s)| *d = *d + s);
    }
}

/// `dst = sum over samples lo..hi of dy[n] @ cols(x[n])^T`, per group (`lo < hi`).
#[allow(clippy::too_many_arguments)]
fn weight_grad_part<T: ConvFloat>(
    g: &ConvGeom,
    gy: &[T],
    x: &[T],
    lo: usize,
    hi: usize,
    dst: &mut [T],
    buf: &mut [T],
    threads: usize,
) {
    let (cg, og, k, l, hw) = (g.cg(), g.og(), g.k(), g.l(), g.hw());
    for i in lo..hi {
        let x_n = &x[i * g.c * hw..(i + 1) * g.c * hw];
        let gy_n = &gy[i * g.o * l..(i + 1) * g.o * l];
        if !g.pointwise() {
            fill_cols(g, x_n, buf);
        }
        for grp in 0..g.groups {
            let a = &gy_n[grp * og * l..(grp + 1) * og * l];
            let cols: &[T] = if g.pointwise() {
                &x_n[grp * cg * hw..(grp + 1) * cg * hw]
            } else {
                &buf[grp * k * l..(grp + 1) * k * l]
            };
            let d = &mut dst[grp * og * k..(grp + 1) * og * k];
            // dW^T (k, og) = cols (k, l) @ dy^T (l, og), written through transposed
            // strides into the row-major (og, k) `d`: with the long `l` dimension
            // contiguous in both operands the GEMM packs them fastest (1.6x the
            // dy @ cols^T order at ResNet's 64x576x1024).
            // SAFETY: `cols` is the row-major (k, l) slice; dy^T is (l, og) read from
            // the row-major (og, l) slice `a` with row stride 1 and column stride l;
            // `d` is (og, k), so its transpose has row stride 1 and column stride k,
            // and it is disjoint from both operands. The first sample overwrites `d`,
            // later ones add to it.
            unsafe {
                product(
                    k,
                    og,
                    l,
                    d.as_mut_ptr(),
                    1,
                    k,
                    i > lo,
                    cols.as_ptr(),
                    l,
                    1,
                    a.as_ptr(),
                    1,
                    l,
                    threads,
                )
            };
        }
    }
}

/// Bias gradient: `gb[c] = sum over n and positions of gy[n, c]`, accumulated in f64
/// in a fixed order.
pub fn conv2d_backward_bias<T: ConvFloat>(g: &ConvGeom, gy: &[T], gb: &mut [T]) {
    let l = g.l();
    for (c, out) in gb.iter_mut().enumerate() {
        let mut acc = 0f64;
        for i in 0..g.n {
            let row = &gy[(i * g.o + c) * l..(i * g.o + c + 1) * l];
            acc += row.iter().map(|v| v.to_f64()).sum::<f64>();
        }
        *out = T::from_f64(acc);
    }
}
