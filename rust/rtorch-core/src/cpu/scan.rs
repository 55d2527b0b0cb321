//! Scan kernels over contiguous buffers.

use super::half_convert::{
    bf16_to_f32, f16_to_f32, f32_to_bf16, f32_to_f16, narrow_bf16, narrow_f16, widen_bf16,
    widen_f16,
};
use crate::element::Element;
use crate::error::{Error, Result};
use half::{bf16, f16};

/// An element type with the type PyTorch's CPU scans accumulate it in (`acc_type`):
/// float64 for float32 and float64, float32 for the 16-bit floats, int64 (wrapping) for
/// int64. Each output is the running value rounded to the element type; the running
/// value itself is not rounded.
pub trait ScanElement: Element {
    type Acc: Copy + Send + Sync;
    /// The running value before the first element: 0 for sums, 1 for products.
    fn start(product: bool) -> Self::Acc;
    fn widen(self) -> Self::Acc;
    fn narrow(a: Self::Acc) -> Self;
    /// `acc * v` for products, else `acc + v`.
    fn step(acc: Self::Acc, v: Self::Acc, product: bool) -> Self::Acc;
    /// Whether `widen_block` and `narrow_block` are slice kernels of their own (the
    /// 16-bit floats), worth a pass over a block rather than a conversion inline.
    const BULK: bool = false;
    /// `dst[i] = src[i].widen()`; the 16-bit floats through the SIMD slice conversions
    /// (F16C for float16), which a loop over `widen` at the baseline level is not.
    #[inline(always)]
    fn widen_block(src: &[Self], dst: &mut [Self::Acc]) {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = s.widen();
        }
    }
    /// `dst[i] = narrow(src[i])`, as `widen_block`.
    #[inline(always)]
    fn narrow_block(src: &[Self::Acc], dst: &mut [Self]) {
        for (d, s) in dst.iter_mut().zip(src) {
            *d = Self::narrow(*s);
        }
    }
}

macro_rules! scan_float {
    ($($t:ty => $acc:ty, $widen:expr, $narrow:expr $(, $wblock:path, $nblock:path)?;)*) => {$(
        impl ScanElement for $t {
            type Acc = $acc;
            #[inline(always)]
            fn start(product: bool) -> $acc {
                if product { 1.0 } else { 0.0 }
            }
            #[inline(always)]
            fn widen(self) -> $acc {
                $widen(self)
            }
            #[inline(always)]
            fn narrow(a: $acc) -> Self {
                $narrow(a)
            }
            #[inline(always)]
            fn step(acc: $acc, v: $acc, product: bool) -> $acc {
                if product { acc * v } else { acc + v }
            }
            $(
                const BULK: bool = true;
                fn widen_block(src: &[Self], dst: &mut [$acc]) {
                    $wblock(src, dst)
                }
                fn narrow_block(src: &[$acc], dst: &mut [Self]) {
                    $nblock(src, dst)
                }
            )?
        }
    )*};
}
scan_float! {
    f32 => f64, f64::from, |a: f64| a as f32;
    f64 => f64, |v| v, |a| a;
    f16 => f32, widen_f16, narrow_f16, f16_to_f32, f32_to_f16;
    bf16 => f32, widen_bf16, narrow_bf16, bf16_to_f32, f32_to_bf16;
}

impl ScanElement for i64 {
    type Acc = i64;
    #[inline(always)]
    fn start(product: bool) -> i64 {
        i64::from(product)
    }
    #[inline(always)]
    fn widen(self) -> i64 {
        self
    }
    #[inline(always)]
    fn narrow(a: i64) -> Self {
        a
    }
    #[inline(always)]
    fn step(acc: i64, v: i64, product: bool) -> i64 {
        if product {
            acc.wrapping_mul(v)
        } else {
            acc.wrapping_add(v)
        }
    }
}

/// The running values of `K` consecutive rows of `n` (`x` and `o` hold `K * n`),
/// rounded to `T` at each step, their serial chains interleaved so that the core
/// overlaps them.
#[inline(always)]
fn chains<T: ScanElement, const K: usize, const PRODUCT: bool>(x: &[T], o: &mut [T], n: usize) {
    if n == 0 {
        return;
    }
    let mut xi = x.chunks_exact(n);
    let xs: [&[T]; K] = std::array::from_fn(|_| xi.next().unwrap_or_default());
    let mut oi = o.chunks_exact_mut(n);
    let os: [&mut [T]; K] = std::array::from_fn(|_| oi.next().unwrap_or_default());
    if xs.iter().any(|r| r.len() != n) || os.iter().any(|r| r.len() != n) {
        return;
    }
    let mut acc = [T::start(PRODUCT); K];
    for j in 0..n {
        for k in 0..K {
            acc[k] = T::step(acc[k], xs[k][j].widen(), PRODUCT);
            os[k][j] = T::narrow(acc[k]);
        }
    }
}

/// Running sums (`PRODUCT`: products) along the middle dim of a contiguous
/// `(outer, n, inner)` buffer `x` into `o` (same shape), accumulated in `T::Acc` and
/// rounded to `T` at every step (the lane path's bits). Along the last dim
/// (`inner == 1`) each row is a running value; otherwise a row of them runs down the
/// dim, a vector operation per step.
pub fn scan<T: ScanElement, const PRODUCT: bool>(
    x: &[T],
    o: &mut [T],
    outer: usize,
    n: usize,
    inner: usize,
) -> Result<()> {
    let len = outer.saturating_mul(n).saturating_mul(inner);
    if x.len() != len || o.len() != len {
        return Err(Error::Runtime(format!(
            "internal: scan kernel given {} and {} elements for {len}",
            x.len(),
            o.len()
        )));
    }
    let big = x.len() >= super::GRAIN;
    if inner == 1 {
        // The 16-bit floats: a block is widened, its running values computed, then
        // rounded, each a pass of its own: the serial loop holds only the additions, and
        // the conversions run as slice kernels (F16C for float16).
        const BLOCK: usize = 256;
        let lane = |c: usize, os: &mut [T], sums: &mut [T::Acc; BLOCK]| {
            let mut acc = T::start(PRODUCT);
            let xs = &x[c * n..(c + 1) * n];
            // (float32 into float64 rounds inline: each conversion is off the serial
            // chain, and a buffer's scalar stores read back 16 bytes at a time stalled
            // store forwarding: cumsum(1) of 16384x16 at 1.6x PyTorch's time.)
            if !T::BULK {
                return chains::<T, 1, PRODUCT>(xs, os, n);
            }
            for (xs, os) in xs.chunks(BLOCK).zip(os.chunks_mut(BLOCK)) {
                let sums = &mut sums[..xs.len()];
                T::widen_block(xs, sums);
                for s in sums.iter_mut() {
                    acc = T::step(acc, *s, PRODUCT);
                    *s = acc;
                }
                T::narrow_block(sums, os);
            }
        };
        if n == 0 {
            return Ok(());
        }
        // Rows in parts of about GRAIN / 4 values per task, one buffer per part (a task
        // and a 2 KiB buffer per row took cumsum(1) of 16384x16 to 4.5x PyTorch's time).
        let rows = match big {
            // (At least one group of four.)
            true => (super::GRAIN / 4 / n).max(4),
            false => outer.max(1),
        };
        let part = |p: usize, os: &mut [T]| {
            let mut sums = [T::start(PRODUCT); BLOCK];
            let mut done = 0;
            if !T::BULK {
                // Rows four at a time (cumsum(1) of 4096x64 99 -> 60 us).
                let at = p * rows * n;
                for (g, og) in os.chunks_exact_mut(4 * n).enumerate() {
                    let from = at + g * 4 * n;
                    chains::<T, 4, PRODUCT>(&x[from..from + 4 * n], og, n);
                    done += 4;
                }
            }
            for (r, os) in os.chunks_mut(n).enumerate().skip(done) {
                lane(p * rows + r, os, &mut sums);
            }
        };
        super::par_chunks_mut(o, n * rows, &part);
        return Ok(());
    }
    // Columns per task: its running values (at most 4 KiB) stay in L1.
    const COLS: usize = 512;
    let col_tasks = inner.div_ceil(COLS);
    let po = super::SendPtr(o.as_mut_ptr());
    let task = |t: usize| {
        let (slab, c0) = (t / col_tasks, (t % col_tasks) * COLS);
        let c1 = (c0 + COLS).min(inner);
        let mut acc = [T::start(PRODUCT); COLS];
        let mut row = [T::start(PRODUCT); COLS];
        let (acc, row) = (&mut acc[..c1 - c0], &mut row[..c1 - c0]);
        for i in 0..n {
            let at = (slab * n + i) * inner;
            T::widen_block(&x[at + c0..at + c1], row);
            for (a, v) in acc.iter_mut().zip(row.iter()) {
                *a = T::step(*a, *v, PRODUCT);
            }
            // SAFETY: at + c0 .. at + c1 are elements (slab, i, c0..c1) of `o`, which
            // holds outer * n * inner elements (checked on entry); each task writes
            // only its own slab and columns, so no other task touches this range.
            let out = unsafe { std::slice::from_raw_parts_mut(po.get().add(at + c0), c1 - c0) };
            T::narrow_block(acc, out);
        }
    };
    let tasks = outer * col_tasks;
    if big && tasks > 1 {
        super::par_for(tasks, &task);
    } else {
        (0..tasks).for_each(task);
    }
    Ok(())
}
