//! The block reductions as named kinds: one type per reduction, carrying its kernel name
//! and its CPU function over one contiguous block of values.
//!
//! `ops::reduce` defines each op (dims, dtypes, autograd) once over its kind and runs it
//! through `reduce_blocks`, the family's one dispatch point: the CPU maps the kind over
//! the blocks, the meta device skips the values, and a GPU backend compiles the kernel
//! called `NAME` (its parameters are the kind's fields, its types the block's).

use crate::cpu::elementwise::Half;
use crate::cpu::reduce::{arg_extreme, extreme_blocks, pairwise_sum, sum_half};
use crate::cpu::reduce_simd as simd;
use crate::cpu::reduce_simd::arg_extreme_f32;
use crate::cpu::rows_f32::{arg_rows, reduce_rows, RowOp};
use crate::element::Element;

/// A reduction of each contiguous block of `T` values to one `O`.
pub trait BlockReduce<T, O>: Copy + Send + Sync + 'static {
    /// The kernel's name, for a backend that compiles one kernel per reduction.
    const NAME: &'static str;
    /// The reduction of one block on the CPU.
    fn cpu(self, block: &[T]) -> O;
    /// Whether the kind has a kernel over many blocks at once (`cpu_rows`, such as
    /// `rows_f32`'s groups of short rows): the blocks then go to it in parts, else one
    /// by one to `cpu` (the other kinds keep that smaller code: 25 KB).
    const ROWS: bool = false;
    /// The reductions of the consecutive blocks of `inner` values of `src` into `out`
    /// (one per block) on the CPU.
    fn cpu_rows(self, src: &[T], inner: usize, out: &mut [O]) {
        each_block(src, inner, out, |b| self.cpu(b))
    }
}

/// `out[o] = f(block o)` for the consecutive blocks of `inner` values of `src`.
fn each_block<T, O>(src: &[T], inner: usize, out: &mut [O], f: impl Fn(&[T]) -> O) {
    for (o, v) in out.iter_mut().enumerate() {
        *v = f(&src[o * inner..(o + 1) * inner]);
    }
}

/// A reduction of each contiguous block of `T` values to one of them and its index in
/// the block (max/min along a dim).
pub trait BlockArgReduce<T>: Copy + Send + Sync + 'static {
    /// The kernel's name, for a backend that compiles one kernel per reduction.
    const NAME: &'static str;
    /// The value and its index in one block (non-empty) on the CPU.
    fn cpu(self, block: &[T]) -> (T, usize);
    /// As `BlockReduce::ROWS`: the blocks go to `cpu_rows` in parts.
    const ROWS: bool = false;
    /// The values and indices of the consecutive blocks of `inner` values of `src` on
    /// the CPU.
    fn cpu_rows(self, src: &[T], inner: usize, vals: &mut [T], idx: &mut [i64]) {
        each_arg_block(src, inner, vals, idx, |b| self.cpu(b))
    }
}

/// `(vals[o], idx[o]) = f(block o)` for the consecutive blocks of `inner` values.
fn each_arg_block<T>(
    src: &[T],
    inner: usize,
    vals: &mut [T],
    idx: &mut [i64],
    f: impl Fn(&[T]) -> (T, usize),
) {
    for (o, (v, i)) in vals.iter_mut().zip(idx.iter_mut()).enumerate() {
        let (fv, fi) = f(&src[o * inner..(o + 1) * inner]);
        (*v, *i) = (fv, fi as i64);
    }
}

/// Sum of float32 or float64 values in their own type (pairwise, vectorised).
#[derive(Clone, Copy, Debug)]
pub struct Sum;

impl BlockReduce<f32, f32> for Sum {
    const NAME: &'static str = "sum_f32";
    const ROWS: bool = true;
    fn cpu(self, block: &[f32]) -> f32 {
        simd::sum_f32(block)
    }
    fn cpu_rows(self, src: &[f32], inner: usize, out: &mut [f32]) {
        if !reduce_rows(src, inner, out, RowOp::Sum) {
            each_block(src, inner, out, simd::sum_f32)
        }
    }
}

impl BlockReduce<f64, f64> for Sum {
    const NAME: &'static str = "sum_f64";
    fn cpu(self, block: &[f64]) -> f64 {
        simd::sum_f64(block)
    }
}

/// Sum of float values accumulated in their own type, written as another float dtype
/// (`sum(dtype=...)` of float32/float64 into another float type).
#[derive(Clone, Copy, Debug)]
pub struct SumInto;

impl<T, O> BlockReduce<T, O> for SumInto
where
    T: Element + Copy + std::ops::Add<Output = T> + Default + Into<f64>,
    O: Element,
{
    const NAME: &'static str = "sum_into";
    fn cpu(self, block: &[T]) -> O {
        O::cast_from_f64(pairwise_sum(block, &|v| v).into())
    }
}

/// Sum of float16/bfloat16 values, accumulated in float32.
#[derive(Clone, Copy, Debug)]
pub struct SumHalf;

impl<H: Half, O: Element> BlockReduce<H, O> for SumHalf {
    const NAME: &'static str = "sum_half";
    fn cpu(self, block: &[H]) -> O {
        O::cast_from_f64(sum_half(block) as f64)
    }
}

/// Sum of integer or bool values in int64, wrapping on overflow as PyTorch does.
#[derive(Clone, Copy, Debug)]
pub struct SumInt;

impl<T: Element, O: Element> BlockReduce<T, O> for SumInt {
    const NAME: &'static str = "sum_int";
    fn cpu(self, block: &[T]) -> O {
        O::from_i64(
            block
                .iter()
                .fold(0i64, |acc, &v| acc.wrapping_add(v.to_i64())),
        )
    }
}

/// Product of int64 values, wrapping on overflow.
#[derive(Clone, Copy, Debug)]
pub struct ProdInt;

impl BlockReduce<i64, i64> for ProdInt {
    const NAME: &'static str = "prod_i64";
    fn cpu(self, block: &[i64]) -> i64 {
        block.iter().fold(1i64, |a, &b| a.wrapping_mul(b))
    }
}

/// Partial results of [`lanes_fold`]: enough independent chains to hide the add's
/// latency on the widest unit (two zmm registers of float64; with 8, one register, a
/// 2-norm along rows ran at 0.5 cycles an element, latency-bound, where PyTorch's
/// float32 sum took 0.2).
const LANES: usize = 16;

/// `op` folded over `f(v)` for every value of `block`, in [`LANES`] interleaved partial
/// results combined pairwise at the end: the order depends on the block alone (the
/// same value for any thread count and SIMD level), and there is no chain of dependent
/// adds, one per element (4 cycles each: a sequential float64 sum made `norm(dim=1)` 5x
/// PyTorch's time).
#[inline(always)]
fn lanes_fold<E: Copy>(
    block: &[E],
    init: f64,
    f: impl Fn(E) -> f64,
    op: impl Fn(f64, f64) -> f64,
) -> f64 {
    let mut acc = [init; LANES];
    fold_into_lanes(&mut acc, block, &f, &op);
    combine_lanes(acc, op)
}

/// The loop of [`lanes_fold`]: element i of `block` into `acc[i % LANES]` (a block split
/// in parts whose lengths are multiples of `LANES` lands in the same lanes as the
/// whole).
#[inline(always)]
fn fold_into_lanes<E: Copy>(
    acc: &mut [f64; LANES],
    block: &[E],
    f: impl Fn(E) -> f64,
    op: impl Fn(f64, f64) -> f64,
) {
    let chunks = block.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = op(*a, f(v));
        }
    }
    for (a, &v) in acc.iter_mut().zip(tail) {
        *a = op(*a, f(v));
    }
}

/// The partial results of [`lanes_fold`], combined pairwise: each half folded onto the
/// other until one is left.
#[inline(always)]
fn combine_lanes(mut acc: [f64; LANES], op: impl Fn(f64, f64) -> f64) -> f64 {
    let mut half = LANES / 2;
    while half > 0 {
        for i in 0..half {
            acc[i] = op(acc[i], acc[i + half]);
        }
        half /= 2;
    }
    acc[0]
}

/// Sum of `f(v)` over `block` in float64 ([`lanes_fold`]).
#[inline(always)]
fn lanes_sum<E: Copy>(block: &[E], f: impl Fn(E) -> f64) -> f64 {
    lanes_fold(block, 0.0, f, |a, b| a + b)
}

/// Product of float64 values (every float dtype reduces in float64).
#[derive(Clone, Copy, Debug)]
pub struct Prod;

impl BlockReduce<f64, f64> for Prod {
    const NAME: &'static str = "prod_f64";
    fn cpu(self, block: &[f64]) -> f64 {
        lanes_fold(block, 1.0, |v| v, |a, b| a * b)
    }
}

/// The float32 form of [`Prod`]: each value widened as it is read, in registers
/// (`fold_f32`), with the float64 form's lanes and order, so the same bits.
impl BlockReduce<f32, f64> for Prod {
    const NAME: &'static str = "prod_f32";
    const ROWS: bool = true;
    fn cpu(self, block: &[f32]) -> f64 {
        let mut acc = [1.0; LANES];
        simd::fold_f32::<{ simd::PRODUCT }>(&mut acc, block);
        combine_lanes(acc, |a, b| a * b)
    }
    fn cpu_rows(self, src: &[f32], inner: usize, out: &mut [f64]) {
        if !simd::fold_f32_rows::<{ simd::PRODUCT }>(src, inner, out) {
            each_block(src, inner, out, |b| self.cpu(b))
        }
    }
}

/// The largest (`want_max`) or smallest value; NaN wins (amax/amin).
#[derive(Clone, Copy, Debug)]
pub struct Extreme {
    pub want_max: bool,
}

impl<T: Element> BlockReduce<T, T> for Extreme {
    const NAME: &'static str = "extreme";
    const ROWS: bool = true;
    fn cpu(self, block: &[T]) -> T {
        let mut v = [T::zero()];
        extreme_blocks(block, block.len(), &mut v, self.want_max);
        v[0]
    }
    fn cpu_rows(self, src: &[T], inner: usize, out: &mut [T]) {
        extreme_blocks(src, inner, out, self.want_max)
    }
}

/// The largest (`want_max`) or smallest value and the index of its first occurrence; the
/// first NaN wins (max/min along a dim, argmax/argmin).
#[derive(Clone, Copy, Debug)]
pub struct ArgExtreme {
    pub want_max: bool,
}

impl<T: Element> BlockArgReduce<T> for ArgExtreme {
    const NAME: &'static str = "arg_extreme";
    fn cpu(self, block: &[T]) -> (T, usize) {
        arg_extreme(block, self.want_max)
    }
}

/// `ArgExtreme` of float32 with the vectorised scan (AVX2 where present).
#[derive(Clone, Copy, Debug)]
pub struct ArgExtremeF32 {
    pub want_max: bool,
}

impl BlockArgReduce<f32> for ArgExtremeF32 {
    const NAME: &'static str = "arg_extreme_f32";
    const ROWS: bool = true;
    fn cpu(self, block: &[f32]) -> (f32, usize) {
        arg_extreme_f32(block, self.want_max)
    }
    fn cpu_rows(self, src: &[f32], inner: usize, vals: &mut [f32], idx: &mut [i64]) {
        let op = if self.want_max {
            RowOp::Max
        } else {
            RowOp::Min
        };
        if !arg_rows(src, inner, vals, idx, op) {
            each_arg_block(src, inner, vals, idx, |b| self.cpu(b))
        }
    }
}

/// Whether any (`want_any`) or all values are nonzero.
#[derive(Clone, Copy, Debug)]
pub struct AnyAll {
    pub want_any: bool,
}

impl<T: Element> BlockReduce<T, bool> for AnyAll {
    const NAME: &'static str = "any_all";
    fn cpu(self, block: &[T]) -> bool {
        if self.want_any {
            block.iter().any(|&v| v != T::zero())
        } else {
            block.iter().all(|&v| v != T::zero())
        }
    }
}

/// How many values are nonzero.
#[derive(Clone, Copy, Debug)]
pub struct CountNonzero;

impl<T: Element> BlockReduce<T, i64> for CountNonzero {
    const NAME: &'static str = "count_nonzero";
    fn cpu(self, block: &[T]) -> i64 {
        block.iter().filter(|&&v| v != T::zero()).count() as i64
    }
}

/// Variance with Bessel's `correction` (two passes: mean, then squared deviations), or
/// its square root (`sqrt`: std).
#[derive(Clone, Copy, Debug)]
pub struct Variance {
    pub correction: f64,
    pub sqrt: bool,
}

impl BlockReduce<f64, f64> for Variance {
    const NAME: &'static str = "variance_f64";
    fn cpu(self, block: &[f64]) -> f64 {
        let n = block.len() as f64;
        let mut ss = 0.0;
        // (Widest vector unit, no contraction: as `VectorNorm`.)
        super::map::at_widest_level(
            #[inline(always)]
            || {
                let m = lanes_sum(block, |v| v) / n;
                ss = lanes_sum(block, |v| (v - m) * (v - m));
            },
        );
        let var = ss / (n - self.correction).max(0.0);
        if self.sqrt {
            var.sqrt()
        } else {
            var
        }
    }
}

/// The vector norm of order `p` (0: count of nonzeros, ±inf: largest/smallest absolute
/// value, NaN propagating).
#[derive(Clone, Copy, Debug)]
pub struct VectorNorm {
    pub p: f64,
}

impl BlockReduce<f64, f64> for VectorNorm {
    const NAME: &'static str = "vector_norm_f64";
    fn cpu(self, block: &[f64]) -> f64 {
        let p = self.p;
        let nan_or = |a: f64, v: f64, f: fn(f64, f64) -> f64| {
            if v.is_nan() || a.is_nan() {
                f64::NAN
            } else {
                f(a, v.abs())
            }
        };
        if self.reads_f32() {
            self.one_or_two(block)
        } else if p == f64::INFINITY {
            block.iter().fold(0.0, |a, &v| nan_or(a, v, f64::max))
        } else if p == f64::NEG_INFINITY {
            block
                .iter()
                .fold(f64::INFINITY, |a, &v| nan_or(a, v, f64::min))
        } else if p == 0.0 {
            block.iter().filter(|&&v| v != 0.0).count() as f64
        } else {
            lanes_sum(block, |v| v.abs().powf(p)).powf(1.0 / p)
        }
    }
}

/// The sum of the squares of float32 values in float64: `VectorNorm`'s 2-norm before
/// its square root (`one_or_two`'s lanes and order, the squares folded with intrinsics).
pub(crate) fn sum_squares_f32(block: &[f32]) -> f64 {
    let mut acc = [0.0; LANES];
    simd::fold_f32::<{ simd::SUM_SQUARES }>(&mut acc, block);
    combine_lanes(acc, |a, b| a + b)
}

/// The float32 form of [`VectorNorm`] for p = 1 and 2 (`reads_f32`): each value is
/// widened as it is read, with the float64 results of widening the block first, bit
/// for bit, and without that copy (it was half of `norm(dim=1)`'s time).
impl BlockReduce<f32, f64> for VectorNorm {
    const NAME: &'static str = "vector_norm_f32";
    const ROWS: bool = true;
    fn cpu(self, block: &[f32]) -> f64 {
        if self.p == 2.0 {
            return sum_squares_f32(block).sqrt();
        }
        self.one_or_two(block)
    }
    fn cpu_rows(self, src: &[f32], inner: usize, out: &mut [f64]) {
        if self.p == 2.0 && simd::fold_f32_rows::<{ simd::SUM_SQUARES }>(src, inner, out) {
            out.iter_mut().for_each(|v| *v = v.sqrt());
        } else {
            each_block(src, inner, out, |b| self.cpu(b))
        }
    }
}

impl VectorNorm {
    /// Whether the order is one the float32 form takes.
    pub fn reads_f32(self) -> bool {
        self.p == 1.0 || self.p == 2.0
    }

    /// The 1- or 2-norm in float64, in loops compiled for the widest vector unit (the
    /// baseline's 2-lane loop took `norm(dim=1)` of 1000x1000 to twice PyTorch's time);
    /// no contraction, so the same bits at every level.
    fn one_or_two<E: Copy + Into<f64>>(self, block: &[E]) -> f64 {
        let mut out = 0.0;
        super::map::at_widest_level(
            #[inline(always)]
            || {
                out = if self.p == 2.0 {
                    lanes_sum(block, |v| v.into() * v.into()).sqrt()
                } else {
                    lanes_sum(block, |v| v.into().abs())
                }
            },
        );
        out
    }
}

/// log(sum(exp(x))), the largest value subtracted first (an infinite one is not).
#[derive(Clone, Copy, Debug)]
pub struct LogSumExp;

impl BlockReduce<f64, f64> for LogSumExp {
    const NAME: &'static str = "logsumexp_f64";
    fn cpu(self, block: &[f64]) -> f64 {
        // A vectorising exp (`exp_f64`, as accurate as libm's for a float32 result) in
        // loops compiled for the widest vector unit; no contraction, so the same bits
        // at every level. The exponentials go through a buffer: a plain loop over it
        // vectorises, the exp inside the lane fold did not.
        let mut out = 0.0;
        super::map::at_widest_level(
            #[inline(always)]
            || {
                let m = lanes_fold(block, f64::NEG_INFINITY, |v| v, f64::max);
                let m = if m.is_infinite() { 0.0 } else { m };
                let mut acc = [0.0; LANES];
                let mut buf = [0.0f64; 512];
                for part in block.chunks(buf.len()) {
                    let e = &mut buf[..part.len()];
                    for (o, &v) in e.iter_mut().zip(part) {
                        *o = crate::cpu::math::exp_f64(v - m);
                    }
                    fold_into_lanes(&mut acc, e, |v| v, |a, b| a + b);
                }
                out = m + combine_lanes(acc, |a, b| a + b).ln();
            },
        );
        out
    }
}
