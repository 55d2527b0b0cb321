//! Embedding kernels: row lookup (forward) and the deterministic row accumulation of the
//! weight gradient (backward). Indices are already checked to lie in `0..num`.

use rayon::prelude::*;

/// `out[r] = w[idx[r]]` for rows of width `d` (parallel over output rows above the
/// grain size; every output row is written once, so the result is thread-independent).
pub fn lookup<T: Copy + Send + Sync>(w: &[T], d: usize, idx: &[usize], out: &mut [T]) {
    if d == 0 {
        return;
    }
    let f = |(o, &i): (&mut [T], &usize)| o.copy_from_slice(&w[i * d..(i + 1) * d]);
    if idx.len() > 1 && out.len() >= super::GRAIN && super::get_num_threads() > 1 {
        super::install(|| out.par_chunks_mut(d).zip(idx.par_iter()).for_each(f));
    } else {
        out.chunks_mut(d).zip(idx.iter()).for_each(f);
    }
}

/// Weight gradient: `gw` (`num*d`, zeroed here) gets `g[r]` added at row `idx[r]` for
/// every `r` whose index is not `skip`. Rows are added in order of `r`; parallel runs
/// split the columns, so each element sees the same additions in the same order.
pub fn accumulate_rows<T>(g: &[T], idx: &[usize], d: usize, skip: Option<usize>, gw: &mut [T])
where
    T: Copy + Send + Sync + Default + std::ops::Add<Output = T>,
{
    gw.fill(T::default());
    if d == 0 {
        return;
    }
    // Column blocks of 16 elements: one cache line of f32 per row and block.
    const COLS: usize = 16;
    let blocks = d.div_ceil(COLS);
    let run = |b: usize, out: super::SendPtr<T>| {
        let c0 = b * COLS;
        let c1 = (c0 + COLS).min(d);
        for (r, &i) in idx.iter().enumerate() {
            if Some(i) == skip {
                continue;
            }
            for k in c0..c1 {
                // SAFETY: `i < num` (checked by the caller) and `k < d`, so `i*d + k` is
                // inside gw (num*d elements); block `b` alone writes columns c0..c1.
                unsafe {
                    let p = out.get().add(i * d + k);
                    *p = *p + g[r * d + k];
                }
            }
        }
    };
    let ptr = super::SendPtr(gw.as_mut_ptr());
    if blocks > 1 && g.len() >= super::GRAIN && super::get_num_threads() > 1 {
        super::install(|| (0..blocks).into_par_iter().for_each(|b| run(b, ptr)));
    } else {
        for b in 0..blocks {
            run(b, ptr);
        }
    }
}
