//! Scan kernels over contiguous buffers.

use crate::element::Element;
use crate::error::{Error, Result};

/// Running sums along the middle dim of a contiguous `(outer, n, inner)` buffer `x` into
/// `o` (same shape), accumulated in f64 and rounded to `T` at every step (the lane path's
/// bits). Along the last dim (`inner == 1`) each row is a running sum; otherwise a row
/// of f64 sums runs down the dim, a vector add per step.
pub fn cumsum<T: Element>(
    x: &[T],
    o: &mut [T],
    outer: usize,
    n: usize,
    inner: usize,
) -> Result<()> {
    let len = outer.saturating_mul(n).saturating_mul(inner);
    if x.len() != len || o.len() != len {
        return Err(Error::Runtime(format!(
            "internal: cumsum kernel given {} and {} elements for {len}",
            x.len(),
            o.len()
        )));
    }
    let big = x.len() >= super::GRAIN;
    if inner == 1 {
        let lane = |c: usize, os: &mut [T]| {
            let mut acc = 0.0f64;
            for (v, r) in x[c * n..(c + 1) * n].iter().zip(os.iter_mut()) {
                acc += v.to_f64();
                *r = T::cast_from_f64(acc);
            }
        };
        if big && outer > 1 {
            super::par_chunks_mut(o, n, &lane);
        } else {
            o.chunks_mut(n).enumerate().for_each(|(c, os)| lane(c, os));
        }
        return Ok(());
    }
    // Columns per task: its f64 sums (4 KiB) stay in L1.
    const COLS: usize = 512;
    let col_tasks = inner.div_ceil(COLS);
    let po = super::SendPtr(o.as_mut_ptr());
    let task = |t: usize| {
        let (slab, c0) = (t / col_tasks, (t % col_tasks) * COLS);
        let c1 = (c0 + COLS).min(inner);
        let mut acc = [0.0f64; COLS];
        let acc = &mut acc[..c1 - c0];
        for i in 0..n {
            let at = (slab * n + i) * inner;
            for (j, a) in (c0..c1).zip(acc.iter_mut()) {
                *a += x[at + j].to_f64();
                // SAFETY: at + j indexes element (slab, i, j) of `o`, which holds
                // outer * n * inner elements (checked on entry); each task writes only
                // its own slab and columns.
                unsafe { *po.get().add(at + j) = T::cast_from_f64(*a) };
            }
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
