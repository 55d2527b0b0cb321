//! Reduction kernels over contiguous slices: the op layer (`ops::reduce`) moves the
//! reduced dims last and makes the input contiguous, so every output element owns a
//! contiguous block of `inner` values; or, for sums over leading dims, it hands over
//! the input as `[A, R, C]` planes and the rows are accumulated column-wise.
//!
//! Float sums are pairwise (`reduce_simd::cascade`) so float32 sums of millions of
//! elements stay accurate. Work is split over the output (or over contiguous chunks for
//! whole-tensor sums), so every result is computed by the same operations whatever the
//! thread count.

use super::reduce_simd::{block_sum, cascade};
use super::rows_f32::{reduce_rows, RowOp};
use super::strided::Plan;
use super::view::View;
use crate::element::Element;

/// Pairwise sum of `x` mapped through `f` into an accumulator type (f32/f64 sums use
/// `reduce_simd`'s vectorised blocks instead).
#[inline(always)]
pub fn pairwise_sum<T: Copy, A>(x: &[T], f: &impl Fn(T) -> A) -> A
where
    A: Copy + std::ops::Add<Output = A> + Default,
{
    cascade(x, |c| block_sum(c, f))
}

/// Sum of a float16/bfloat16 slice in float32: the cascade of `pairwise_sum`, each
/// block widened by the vectorised conversion and summed by `sum_f32`'s block kernel.
pub fn sum_half<H: super::elementwise::Half>(x: &[H]) -> f32 {
    cascade(x, H::sum_block)
}

/// `out[o] = f(src[o * inner..(o + 1) * inner])` for every output element.
pub fn reduce_blocks<T: Element, O: Element>(
    src: &[T],
    out: &mut [O],
    inner: usize,
    f: impl Fn(&[T]) -> O + Sync,
) {
    let run = |o: usize, v: &mut O| *v = f(&src[o * inner..(o + 1) * inner]);
    if src.len() >= super::GRAIN && out.len() > 1 {
        super::par_each_mut(out, &run);
    } else {
        out.iter_mut().enumerate().for_each(|(o, v)| run(o, v));
    }
}

/// `rows(blocks, out_part)` over consecutive parts of `out`, each with its blocks of
/// `inner` values of `src`, for kernels over many blocks at once: parts of about
/// `GRAIN / 4` values go to the pool's threads once `src` reaches the grain.
pub fn reduce_parts<T: Element, O: Element>(
    src: &[T],
    out: &mut [O],
    inner: usize,
    rows: impl Fn(&[T], &mut [O]) + Sync,
) {
    // (One call site of `rows`, inlined once: a single part runs on this thread.)
    let per = if src.len() >= super::GRAIN {
        (super::GRAIN / 4 / inner.max(1)).max(1)
    } else {
        out.len().max(1)
    };
    super::par_chunks_mut(out, per, &|c, part| {
        let from = c * per * inner;
        rows(&src[from..from + part.len() * inner], part)
    });
}

/// `reduce_parts` for two outputs, values and indices (max/min along a dim).
pub fn arg_reduce_parts<T: Element>(
    src: &[T],
    vals: &mut [T],
    idx: &mut [i64],
    inner: usize,
    rows: impl Fn(&[T], &mut [T], &mut [i64]) + Sync,
) {
    let per = if src.len() >= super::GRAIN {
        (super::GRAIN / 4 / inner.max(1)).max(1)
    } else {
        vals.len().max(1)
    };
    super::par_chunks_mut2(vals, idx, per, &|c, v, i| {
        let from = c * per * inner;
        rows(&src[from..from + v.len() * inner], v, i)
    });
}

/// `(vals[o], idx[o]) = find(block o)` for every output element (max/min with indices).
pub fn arg_reduce_blocks<T: Element>(
    src: &[T],
    vals: &mut [T],
    idx: &mut [i64],
    inner: usize,
    find: impl Fn(&[T]) -> (T, usize) + Sync,
) {
    if inner == 0 {
        return;
    }
    let run = |o: usize, v: &mut T, i: &mut i64| {
        let (fv, fi) = find(&src[o * inner..(o + 1) * inner]);
        *v = fv;
        *i = fi as i64;
    };
    if src.len() >= super::GRAIN && vals.len() > 1 {
        super::par_each_mut2(vals, idx, &run);
    } else {
        for (o, (v, i)) in vals.iter_mut().zip(idx.iter_mut()).enumerate() {
            run(o, v, i);
        }
    }
}

/// Value and first index of the max (or min) of a non-empty slice; NaN wins and
/// propagates (PyTorch's max/min rules).
#[inline]
pub fn arg_extreme<T: Element>(x: &[T], want_max: bool) -> (T, usize) {
    // Branch-free passes that vectorise: NaN check, extreme value, then its first index.
    let has_nan = x.iter().fold(false, |acc, &v| acc | v.is_nan_value());
    if has_nan {
        let i = x.iter().position(|&v| v.is_nan_value()).unwrap_or(0);
        return (x[i], i);
    }
    // The extreme's order key (an integer reduction), then the first element with it:
    // the earliest of equal values (-0 and +0 alike), as a scan keeping the first would.
    let keys = x.iter().map(|v| v.order_key());
    let m = if want_max { keys.max() } else { keys.min() };
    let i = m
        .and_then(|m| x.iter().position(|v| v.order_key() == m))
        .unwrap_or(0);
    (x[i], i)
}

/// Whether `pred` holds for any element of `v` (any layout); stops at the first.
pub fn any_of<T: Element>(v: View<'_, T>, pred: impl Fn(T) -> bool) -> bool {
    if v.numel() == 0 {
        return false;
    }
    let plan = Plan::new(v.shape(), [v.strides()]);
    let len = plan.inner_len();
    let [s] = plan.inner_strides();
    let p = v.ptr();
    let mut found = false;
    plan.for_rows(0..plan.rows(), |[o]| {
        if !found {
            // SAFETY: offsets come from the view's layout.
            found = (0..len).any(|i| pred(unsafe { *p.add(o + i * s) }));
        }
    });
    found
}

/// Sum of a slice, split across threads when large (for whole-tensor sums).
pub fn big_sum<T: Copy + Sync, A>(x: &[T], f: &(impl Fn(T) -> A + Sync)) -> A
where
    A: Copy + std::ops::Add<Output = A> + Default + Send,
{
    big_sum_by(x, &|c: &[T]| pairwise_sum(c, f))
}

/// Sum of a slice with `chunk_sum` over chunks, split across threads when large.
///
/// The chunks have a fixed size, whatever the thread count: the tree of partial sums,
/// and so the rounding, is the same for any `set_num_threads` (chunks of
/// `len / threads` gave float32 sums that changed in the last bits with it). Each
/// thread sums one contiguous run of chunks: one stream per thread read memory faster
/// than threads taking chunks in turn (16M float32 at 2 threads: 99 against 73 GB/s
/// median when the machine's memory was fast, the same when it was slow).
pub fn big_sum_by<T: Sync, A>(x: &[T], chunk_sum: &(impl Fn(&[T]) -> A + Sync)) -> A
where
    A: Copy + std::ops::Add<Output = A> + Default + Send,
{
    const CHUNK: usize = 1 << 16;
    if x.len() <= CHUNK {
        return chunk_sum(x);
    }
    let count = x.len().div_ceil(CHUNK);
    let threads = super::get_num_threads().clamp(1, count);
    let mut parts = vec![A::default(); count];
    let slots = super::SendPtr(parts.as_mut_ptr());
    super::par_for(threads, &|t| {
        for c in t * count / threads..(t + 1) * count / threads {
            // SAFETY: c < count indexes `parts`; each chunk belongs to one task.
            unsafe { *slots.get().add(c) = chunk_sum(super::chunk_of(x, c, CHUNK)) };
        }
    });
    pairwise_sum(&parts, &|v| v)
}

// ---------------------------------------------------------------------------
// Outer reductions: the input viewed as [A, R, C], reducing R. Rows are accumulated
// into a column buffer (vectorised), pairwise over rows for accuracy, with no
// transposing copy of the input.

const OUTER_W: usize = 4096;

/// Sum of rows `r0..r1` (row stride `c`) of columns `col..col + acc.len()` into `acc`
/// (which starts zeroed): blocks of 16 rows added straight, the blocks' sums combined
/// pairwise as they come (a binary counter of partial sums: two of one size make one of
/// the next), so the rounding error grows with log(r), and the order depends on nothing
/// but r (not on the columns a thread takes). A loop, not a recursion, so that it inlines
/// into a body compiled for the widest vector unit.
#[inline(always)]
fn rows_sum<T: Copy, A>(
    src: &[T],
    c: usize,
    (r0, r1): (usize, usize),
    col: usize,
    acc: &mut [A],
    f: &impl Fn(T) -> A,
) where
    A: Copy + std::ops::Add<Output = A> + Default,
{
    let w = acc.len();
    if r1 - r0 <= 16 {
        return rows_block(src, c, r0, r1, col, acc, f);
    }
    // Partial sums with their size class; spare buffers to reuse.
    let mut stack: Vec<(u32, Vec<A>)> = Vec::new();
    let mut spare: Vec<Vec<A>> = Vec::new();
    let add_into = |a: &mut [A], b: &[A]| {
        for (x, &y) in a.iter_mut().zip(b) {
            *x = *x + y;
        }
    };
    for r in (r0..r1).step_by(16) {
        let mut blk = spare.pop().unwrap_or_else(|| vec![A::default(); w]);
        blk.fill(A::default());
        rows_block(src, c, r, (r + 16).min(r1), col, &mut blk, f);
        let mut level = 0;
        while let Some((l, mut prev)) = stack.pop() {
            if l != level {
                stack.push((l, prev));
                break;
            }
            add_into(&mut prev, &blk);
            spare.push(std::mem::replace(&mut blk, prev));
            level += 1;
        }
        stack.push((level, blk));
    }
    // The rest, earlier (larger) partial sums first.
    for (_, part) in &stack {
        add_into(acc, part);
    }
}

/// Rows `r0..r1` (at most 16) added into `acc` four at a time.
#[inline(always)]
fn rows_block<T: Copy, A>(
    src: &[T],
    c: usize,
    r0: usize,
    r1: usize,
    col: usize,
    acc: &mut [A],
    f: &impl Fn(T) -> A,
) where
    A: Copy + std::ops::Add<Output = A>,
{
    let w = acc.len();
    let mut r = r0;
    while r + 4 <= r1 {
        let row = |k: usize| &src[(r + k) * c + col..(r + k) * c + col + w];
        let (x0, x1, x2, x3) = (row(0), row(1), row(2), row(3));
        for j in 0..w {
            acc[j] = acc[j] + ((f(x0[j]) + f(x1[j])) + (f(x2[j]) + f(x3[j])));
        }
        r += 4;
    }
    for r in r..r1 {
        let row = &src[r * c + col..r * c + col + w];
        for (a, &v) in acc.iter_mut().zip(row) {
            *a = *a + f(v);
        }
    }
}

/// Sums `src`, viewed as `[A, R, C]`, over R into `out` (`[A, C]`): accumulates in `A`
/// through `f`, writes through `back`.
pub fn outer_sum<T: Element, A>(
    src: &[T],
    out: &mut [T],
    (a, r, c): (usize, usize, usize),
    f: impl Fn(T) -> A + Sync,
    back: impl Fn(A) -> T + Sync,
) where
    A: Copy + std::ops::Add<Output = A> + Default + Send + Sync,
{
    outer_tiles(out, (a, r, c), &|ai, col, dst| {
        // (At the widest level: on the baseline's 16-byte adds, x.sum(0) of a 1000x1000
        // float32 matrix took 1.4x PyTorch's time.)
        super::math::at_widest_level(
            #[inline(always)]
            || {
                let mut acc = vec![A::default(); dst.len()];
                let plane = &src[ai * r * c..(ai + 1) * r * c];
                rows_sum(plane, c, (0, r), col, &mut acc, &f);
                for (d, &v) in dst.iter_mut().zip(&acc) {
                    *d = back(v);
                }
            },
        )
    });
}

/// The output `[A, C]` of an outer reduction of `[A, R, C]` in column tiles wide
/// enough to stream rows and narrow enough to give every thread work:
/// `tile(ai, col, dst)` fills `dst`, columns `col..col + dst.len()` of plane `ai`.
fn outer_tiles<T: Send>(
    out: &mut [T],
    (a, r, c): (usize, usize, usize),
    tile: &(dyn Fn(usize, usize, &mut [T]) + Sync),
) {
    if out.is_empty() {
        return;
    }
    let threads = super::get_num_threads().max(1);
    let want = if a >= threads {
        c
    } else {
        c.div_ceil(threads / a.max(1))
    };
    let tw = want.clamp(256, OUTER_W).next_multiple_of(16);
    if a * r * c >= super::GRAIN && out.len() > tw {
        super::par_chunks_mut(out, c, &|ai, row| {
            super::par_chunks_mut(row, tw, &|ti, dst| tile(ai, ti * tw, dst))
        });
    } else {
        for (ai, row) in out.chunks_mut(c).enumerate() {
            for (ti, dst) in row.chunks_mut(tw).enumerate() {
                tile(ai, ti * tw, dst);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// amax / amin: the value alone (no index pass), NaN wins. Max and min are exact, so
// any split over threads or lanes gives the same result.

/// `a` or `b`, whichever `MAX` prefers. A NaN `b` is taken and a NaN `a` kept (no
/// comparison with it is true), so NaN sticks once seen; `b != b` folds away for the
/// types without NaN.
#[inline(always)]
fn keep<T: Element, const MAX: bool>(a: T, b: T) -> T {
    let take = (if MAX { b.greater(a) } else { b.less(a) }) | b.is_nan_value();
    if take {
        b
    } else {
        a
    }
}

/// Independent accumulators: the select over this many lanes compiles to a few full
/// SIMD registers (float32: eight AVX2 or four AVX-512 registers), enough chains to hide
/// the compare-and-blend latency (32 lanes ran 1M float32 at 60% of this speed).
const EXTREME_LANES: usize = 64;

#[inline(always)]
fn extreme_body<T: Element, const MAX: bool>(x: &[T]) -> T {
    let mut acc = [x[0]; EXTREME_LANES];
    let chunks = x.chunks_exact(EXTREME_LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = keep::<T, MAX>(*a, v);
        }
    }
    // Halving tree over the lanes, each level a fresh array (registers: halving in
    // place went through the stack, with stalled store forwarding at the narrow levels).
    let a32: [T; 32] = std::array::from_fn(|i| keep::<T, MAX>(acc[i], acc[i + 32]));
    let a16: [T; 16] = std::array::from_fn(|i| keep::<T, MAX>(a32[i], a32[i + 16]));
    let a8: [T; 8] = std::array::from_fn(|i| keep::<T, MAX>(a16[i], a16[i + 8]));
    let a4: [T; 4] = std::array::from_fn(|i| keep::<T, MAX>(a8[i], a8[i + 4]));
    let a2: [T; 2] = std::array::from_fn(|i| keep::<T, MAX>(a4[i], a4[i + 2]));
    let a1 = keep::<T, MAX>(a2[0], a2[1]);
    rest.iter().fold(a1, |m, &v| keep::<T, MAX>(m, v))
}

/// `out[o] = extreme_body(block o)` for the consecutive blocks of `inner` values.
#[inline(always)]
fn extreme_each_body<T: Element, const MAX: bool>(src: &[T], inner: usize, out: &mut [T]) {
    if inner == 0 {
        return;
    }
    for (v, b) in out.iter_mut().zip(src.chunks_exact(inner)) {
        *v = extreme_body::<T, MAX>(b);
    }
}

/// Row `dst = keep(dst, row)` for every row of `rows` (`c` apart) after the first: in
/// groups of `EXTREME_LANES` columns whose running extremes stay in registers down a
/// block of rows and are stored once per block. (Updating `dst` a row at a time compiled
/// to a masked store of the lanes that changed, `vmaskmovps`, microcoded on Zen 3:
/// `amax(0)` on 1024x1024 ran at half PyTorch's speed there.) Each column still meets
/// its rows in order, so the result (a NaN's payload included) is the row-at-a-time one.
#[inline(always)]
fn extreme_rows_body<T: Element, const MAX: bool>(src: &[T], c: usize, r: usize, dst: &mut [T]) {
    const L: usize = EXTREME_LANES;
    // Rows per block: the stores of the running values cost 1/ROWS of the loads.
    const ROWS: usize = 32;
    let w = dst.len();
    dst.copy_from_slice(&src[..w]);
    let t0 = w - w % L;
    let mut k0 = 1;
    while k0 < r {
        let k1 = (k0 + ROWS).min(r);
        for (g, out) in dst[..t0].chunks_exact_mut(L).enumerate() {
            let mut acc: [T; L] = std::array::from_fn(|j| out[j]);
            for k in k0..k1 {
                let row = &src[k * c + g * L..k * c + g * L + L];
                for (a, &v) in acc.iter_mut().zip(row) {
                    *a = keep::<T, MAX>(*a, v);
                }
            }
            out.copy_from_slice(&acc);
        }
        // The last w % L columns the same way, through the first lanes of a group.
        let tail = &mut dst[t0..];
        if let Some(&first) = tail.first() {
            let mut acc = [first; L];
            acc[..tail.len()].copy_from_slice(tail);
            for k in k0..k1 {
                let row = &src[k * c + t0..k * c + w];
                for (a, &v) in acc.iter_mut().zip(row) {
                    *a = keep::<T, MAX>(*a, v);
                }
            }
            tail.copy_from_slice(&acc[..tail.len()]);
        }
        k0 = k1;
    }
}

/// Runs the generic `$f::<T, MAX>(args)` compiled for the SIMD level in use, so its
/// loops vectorise to that width; but at most AVX2 for the 8-, 16- and 32-bit integers
/// and bool: each dtype and direction is a copy, the AVX-512 ones of those ran no
/// faster (AVX2 has their compares; not 64-bit integer ones, nor the half-float
/// conversions, which ran 2-14x slower there) and were 38 KB.
///
/// Without AVX2 (x86-64 CPUs before 2013, or `RTORCH_CPU_CAPABILITY=default`) the
/// plain `$plain` runs instead: one value at a time, a fraction of the size of the
/// unrolled body compiled for SSE2 (its copies were 75 KB); elsewhere (NEON is
/// aarch64's baseline) the body itself.
macro_rules! at_capability {
    ($f:ident::<$t:ident, $max:ident>($($arg:ident: $ty:ty),*) -> $ret:ty, else $plain:ident) => {{
        /// # Safety
        /// The CPU has AVX-512 F/BW/DQ/VL, AVX2 and FMA.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
        unsafe fn v4<$t: Element, const $max: bool>($($arg: $ty),*) -> $ret {
            $f::<$t, $max>($($arg),*)
        }
        /// # Safety
        /// The CPU has AVX2 and FMA.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn v3<$t: Element, const $max: bool>($($arg: $ty),*) -> $ret {
            $f::<$t, $max>($($arg),*)
        }
        use super::math::capability;
        #[cfg(target_arch = "x86_64")]
        let wide = {
            use crate::dtype::DType;
            matches!($t::DTYPE, DType::F32 | DType::F64 | DType::F16 | DType::BF16 | DType::I64)
        };
        match capability() {
            // SAFETY: `capability()` only answers a level the CPU supports.
            #[cfg(target_arch = "x86_64")]
            super::math::Capability::Avx512 if wide => unsafe { v4::<$t, $max>($($arg),*) },
            // SAFETY: as above (AVX-512 includes AVX2 and FMA).
            #[cfg(target_arch = "x86_64")]
            super::math::Capability::Avx512 | super::math::Capability::Avx2 => unsafe {
                v3::<$t, $max>($($arg),*)
            },
            #[cfg(target_arch = "x86_64")]
            _ => $plain::<$t, $max>($($arg),*),
            #[cfg(not(target_arch = "x86_64"))]
            _ => $f::<$t, $max>($($arg),*),
        }
    }};
}

fn extreme_each_at<T: Element, const MAX: bool>(src: &[T], inner: usize, out: &mut [T]) {
    at_capability!(extreme_each_body::<T, MAX>(src: &[T], inner: usize, out: &mut [T]) -> (), else extreme_each_plain)
}

fn extreme_rows_at<T: Element, const MAX: bool>(src: &[T], c: usize, r: usize, dst: &mut [T]) {
    at_capability!(extreme_rows_body::<T, MAX>(src: &[T], c: usize, r: usize, dst: &mut [T]) -> (), else extreme_rows_plain)
}

/// `extreme_each_body` one value at a time.
#[cfg(target_arch = "x86_64")]
fn extreme_each_plain<T: Element, const MAX: bool>(src: &[T], inner: usize, out: &mut [T]) {
    if inner == 0 {
        return;
    }
    for (v, b) in out.iter_mut().zip(src.chunks_exact(inner)) {
        *v = b.iter().fold(b[0], |m, &x| keep::<T, MAX>(m, x));
    }
}

/// `extreme_rows_body` one row at a time.
#[cfg(target_arch = "x86_64")]
fn extreme_rows_plain<T: Element, const MAX: bool>(src: &[T], c: usize, r: usize, dst: &mut [T]) {
    let w = dst.len();
    dst.copy_from_slice(&src[..w]);
    for k in 1..r {
        for (a, &v) in dst.iter_mut().zip(&src[k * c..k * c + w]) {
            *a = keep::<T, MAX>(*a, v);
        }
    }
}

/// The largest (`want_max`) or smallest value of each consecutive block of `inner`
/// values of `src` into `out` (one per block); NaN when any value is NaN: amax/amin,
/// and max()/min() of a whole tensor. The SIMD level is chosen once for many blocks,
/// not per block; a block above `CHUNK` values is split across threads (`big_extreme`).
pub fn extreme_blocks<T: Element>(src: &[T], inner: usize, out: &mut [T], want_max: bool) {
    if let (Some(s), Some(o)) = (super::as_f32(src), super::as_f32_mut(out)) {
        let op = if want_max { RowOp::Max } else { RowOp::Min };
        if reduce_rows(s, inner, o, op) {
            return;
        }
    }
    if inner > CHUNK && super::get_num_threads() > 1 {
        for (v, b) in out.iter_mut().zip(src.chunks_exact(inner)) {
            *v = big_extreme(b, want_max);
        }
    } else if want_max {
        extreme_each_at::<T, true>(src, inner, out)
    } else {
        extreme_each_at::<T, false>(src, inner, out)
    }
}

/// The values one thread takes at a time in `big_extreme`.
const CHUNK: usize = 1 << 16;

/// The extreme of a slice above `CHUNK` values: fixed chunks across threads, then over
/// the chunks' results.
fn big_extreme<T: Element>(x: &[T], want_max: bool) -> T {
    let one = |c: &[T]| {
        let mut v = [T::zero()];
        match want_max {
            true => extreme_each_at::<T, true>(c, c.len(), &mut v),
            false => extreme_each_at::<T, false>(c, c.len(), &mut v),
        }
        v[0]
    };
    let parts = super::par_map_chunks(x, CHUNK, &one);
    one(&parts)
}

/// amax/amin of `src`, viewed as `[A, R, C]` (`R >= 1`), over R into `out` (`[A, C]`):
/// rows folded into column tiles, no transposing copy.
pub fn outer_extreme<T: Element>(
    src: &[T],
    out: &mut [T],
    (a, r, c): (usize, usize, usize),
    want_max: bool,
) {
    if r == 0 {
        return;
    }
    outer_tiles(out, (a, r, c), &|ai, col, dst| {
        let from = &src[ai * r * c + col..(ai + 1) * r * c];
        if want_max {
            extreme_rows_at::<T, true>(from, c, r, dst)
        } else {
            extreme_rows_at::<T, false>(from, c, r, dst)
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arg_extreme_takes_the_first_of_ties_and_stops_at_nan() {
        assert_eq!(arg_extreme(&[1.0f32, 3.0, 3.0, 2.0], true), (3.0, 1));
        assert_eq!(arg_extreme(&[1.0f32, -3.0, 2.0, -3.0], false), (-3.0, 1));
        let (v, i) = arg_extreme(&[1.0f32, f32::NAN, 9.0, f32::NAN], true);
        assert!(v.is_nan() && i == 1);
        assert_eq!(arg_extreme(&[5i64, 7, 7], true), (7, 1));
    }

    #[test]
    fn outer_sum_matches_a_plain_column_sum_above_the_parallel_grain() {
        let (a, r, c) = (3usize, 50usize, 700usize);
        let src: Vec<f64> = (0..a * r * c)
            .map(|i| ((i * 7919) % 1000) as f64 * 0.5)
            .collect();
        let mut out = vec![0.0f64; a * c];
        outer_sum(&src, &mut out, (a, r, c), |v| v, |v| v);
        for ai in 0..a {
            for j in 0..c {
                let want: f64 = (0..r).map(|k| src[(ai * r + k) * c + j]).sum();
                assert_eq!(out[ai * c + j], want, "({ai}, {j})");
            }
        }
    }
}
