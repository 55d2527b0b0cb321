//! Index kernels: rows copied by precomputed offsets (advanced indexing and
//! `index_put`) and the element-wise walks of `gather`/`scatter`. The op layer
//! (`ops::index`) validates the indices it can, computes the offsets and the output
//! layout, and hands typed views here.

use super::strided::Plan;
use super::view::{View, ViewMut};
use super::SendPtr;
use crate::element::{Arith, Element};
use crate::error::{Error, Result};
use crate::layout::Dims;

/// Row offsets of one side of an advanced-indexing copy: row `b` starts at `bases[b]`
/// (or `b * step` when `bases` is empty) and its elements sit at `base + within[j]`.
pub struct Rows<'a> {
    pub bases: &'a [usize],
    pub step: usize,
    pub within: &'a [usize],
}

impl Rows<'_> {
    #[inline(always)]
    fn base(&self, b: usize) -> usize {
        if self.bases.is_empty() {
            b * self.step
        } else {
            self.bases[b]
        }
    }
}

/// `out[dst row b] = src[src row b]` for `nb` rows (the gather direction). Distinct
/// rows of `out` must not share elements; `out` must not overlap `src`.
pub fn gather_rows<T: Element>(
    src: View<'_, T>,
    s: &Rows<'_>,
    out: ViewMut<'_, T>,
    d: &Rows<'_>,
    nb: usize,
) {
    let (ps, po) = (SendPtr(src.ptr() as *mut T), SendPtr(out.ptr()));
    let r = s.within.len();
    // Rows made of dense runs of `run` elements in both (the dims after an indexed
    // middle dim of a contiguous tensor; the whole row for `x[idx]` and index_select
    // over a leading dim): a block copy per run.
    let dense = |w: &[usize]| w.iter().enumerate().all(|(j, &o)| o == w[0] + j);
    let run = dense_run(s.within).min(dense_run(d.within));
    // (Runs of one element are no better than the element loop, and would hide the
    // innermost-index case below.)
    let runs = run > 1
        && r.is_multiple_of(run)
        && s.within.chunks(run).all(dense)
        && d.within.chunks(run).all(dense);
    if !runs && r > 0 && d.bases.is_empty() && d.step == 1 && nb > 1 {
        // The indexed dim is the output's innermost (`index_select` over the last dim):
        // for each position of the other dims, every index in turn. The writes are
        // contiguous and the reads stay within one source row, where one index at a
        // time would walk a column of both.
        let across = |j: usize| {
            let (sj, dj) = (s.within[j], d.within[j]);
            for b in 0..nb {
                // SAFETY: as below: the same (b, j) offsets, in another order; each j
                // writes the disjoint out elements dj..dj + nb.
                unsafe { *po.get().add(dj + b) = *ps.get().add(s.base(b) + sj) };
            }
        };
        if nb * r >= super::GRAIN && r > 1 {
            super::par_for(r, &across);
        } else {
            (0..r).for_each(across);
        }
        return;
    }
    let row = |b: usize| {
        let (bs, bd) = (s.base(b), d.base(b));
        if runs {
            // (A plain loop: zipping `chunks(run)`, or `step_by(run)`, divides by `run`
            // for every row, a third of an index_select of 128-byte rows.)
            let mut j = 0;
            while j < r {
                // SAFETY: as below; the `run` elements from each start are offsets of
                // the row, and `out` does not overlap `src`.
                unsafe {
                    super::copy_run::copy_run(
                        po.get().add(bd + d.within[j]),
                        ps.get().add(bs + s.within[j]),
                        run,
                    )
                };
                j += run;
            }
            return;
        }
        for j in 0..r {
            // SAFETY: the op layer computed every offset inside the two layouts; each
            // b writes a disjoint set of out elements.
            unsafe { *po.get().add(bd + d.within[j]) = *ps.get().add(bs + s.within[j]) };
        }
    };
    // Tasks of about 4K elements, at most 64 rows: a task per row spent more in the call
    // and in loading the closure's captures than in copying a 128-byte row, while long
    // rows still split across the threads.
    let per = (super::GRAIN / 8 / r.max(1)).clamp(1, 64);
    let tasks = nb.div_ceil(per);
    let rows = |t: usize| {
        for b in t * per..nb.min((t + 1) * per) {
            row(b);
        }
    };
    if nb * r >= super::GRAIN && tasks > 1 {
        super::par_for(tasks, &rows);
    } else {
        (0..tasks).for_each(rows);
    }
}

/// The length of the dense run (consecutive offsets) that starts `w` (at least 1).
fn dense_run(w: &[usize]) -> usize {
    1 + w.windows(2).take_while(|p| p[1] == p[0] + 1).count()
}

/// `dst[lo..hi] = src[lo..hi]` (or `+=`) within a run of `run` elements, with `lo` and
/// `hi` moved up to a cache-line boundary of `dst` (so that threads writing neighbouring
/// pieces of a run never share a line). Inlined into its callers' loops, which are
/// compiled for the widest vector unit.
///
/// # Safety
/// `dst[..run]` and `src[..run]` are valid, do not overlap, and no other thread writes
/// `dst[lo..hi]` after the move.
#[inline(always)]
unsafe fn add_run<T: Arith>(
    dst: *mut T,
    src: *const T,
    lo: usize,
    hi: usize,
    run: usize,
    accumulate: bool,
) {
    let line = |k: usize| {
        if k == 0 || k >= run {
            return k.min(run);
        }
        let addr = dst as usize + k * std::mem::size_of::<T>();
        (k + (addr.next_multiple_of(64) - addr) / std::mem::size_of::<T>()).min(run)
    };
    let (lo, hi) = (line(lo), line(hi));
    // SAFETY: lo <= hi <= run, inside both runs (the caller's contract).
    let (dst, src) = unsafe {
        (
            std::slice::from_raw_parts_mut(dst.add(lo), hi - lo),
            std::slice::from_raw_parts(src.add(lo), hi - lo),
        )
    };
    if accumulate {
        for (p, &x) in dst.iter_mut().zip(src) {
            *p = p.add(x);
        }
    } else {
        dst.copy_from_slice(src);
    }
}

/// `dst[dst row b] = values[value row b]` (or `+=` when `accumulate`), rows in order,
/// so a repeated index keeps the last write (or sums). `values` must not overlap `dst`.
///
/// Rows made of dense runs (as in [`gather_rows`]) are written a run at a time. When
/// `dst` has no internal overlap (`disjoint`: then two row positions j never share an
/// element, whatever the rows' bases), the positions are shared out among threads: each
/// thread takes whole runs and goes through every row for them, in row order, so every
/// element still sees its writes in index order and the sums do not depend on the
/// thread count. (One thread, element by element, this was most of the backward of an
/// `index_select`: 36% of a bilinear `interpolate` forward + backward.)
pub fn scatter_rows<T: Arith>(
    dst: ViewMut<'_, T>,
    d: &Rows<'_>,
    values: View<'_, T>,
    v: &Rows<'_>,
    nb: usize,
    accumulate: bool,
    disjoint: bool,
) {
    let (pd, pv) = (SendPtr(dst.ptr()), SendPtr(values.ptr() as *mut T));
    let r = d.within.len();
    let dense = |w: &[usize]| w.iter().enumerate().all(|(j, &o)| o == w[0] + j);
    let run = dense_run(d.within).min(dense_run(v.within));
    let run = if run > 1
        && r.is_multiple_of(run)
        && d.within.chunks(run).all(dense)
        && v.within.chunks(run).all(dense)
    {
        run
    } else {
        1
    };
    // Elements lo..hi of run c of row b.
    let write = |b: usize, c: usize, lo: usize, hi: usize| {
        let (od, ov) = (d.base(b) + d.within[c * run], v.base(b) + v.within[c * run]);
        // SAFETY: the op layer computed every offset inside the two layouts (a dense
        // run's elements are offsets of the row too); `values` does not overlap `dst`;
        // concurrent calls write disjoint elements (`disjoint`, see above).
        unsafe { add_run(pd.get().add(od), pv.get().add(ov), lo, hi, run, accumulate) }
    };
    // Elements lo..hi of run c through every row, in row order; compiled for the widest
    // vector unit (with the baseline's 16-byte loads, `index_add` along dim 0 of a
    // 1000x1000 float32 matrix ran at half PyTorch's speed). Runs of one element
    // (`index_add` along the last dim) element by element, without the slices.
    let column = |c: usize, lo: usize, hi: usize| {
        if run == 1 {
            // (Everything the loop reads copied to locals first: through the captured
            // references, each store made it load them again, 2.6x the time.)
            let (pd, pv, accumulate) = (pd.get(), pv.get() as *const T, accumulate);
            let ((db, ds), (vb, vs)) = ((d.bases, d.step), (v.bases, v.step));
            let (wd, wv) = (d.within[c], v.within[c]);
            let base = |bases: &[usize], step: usize, b: usize| {
                if bases.is_empty() {
                    b * step
                } else {
                    bases[b]
                }
            };
            for b in 0..nb {
                // SAFETY: as in `write`, for the one element of run c of row b.
                unsafe {
                    let x = *pv.add(base(vb, vs, b) + wv);
                    let p = pd.add(base(db, ds, b) + wd);
                    *p = if accumulate { (*p).add(x) } else { x };
                }
            }
            return;
        }
        super::math::at_widest_level(
            #[inline(always)]
            || {
                // (`add_run` itself, not `write`: a closure called from here was left
                // out of line, compiled for the baseline.)
                let (wd, wv) = (d.within[c * run], v.within[c * run]);
                for b in 0..nb {
                    let (od, ov) = (d.base(b) + wd, v.base(b) + wv);
                    // SAFETY: as in `write`.
                    unsafe { add_run(pd.get().add(od), pv.get().add(ov), lo, hi, run, accumulate) }
                }
            },
        )
    };
    let runs = r / run;
    // Long runs are cut in pieces, one per thread, so that rows of one or two runs
    // (`index_add` along dim 0 of a matrix: a whole row per index) are shared out too.
    // (Not more: each piece walks every row, and short pieces far apart in memory
    // defeated the prefetcher: 15 pieces of that matrix's rows took 1.7x the time of 2.)
    let pieces = super::get_num_threads()
        .div_ceil(runs)
        .clamp(1, (run / 64).max(1));
    let piece = run.div_ceil(pieces);
    if disjoint && nb * r >= super::GRAIN && runs * pieces > 1 {
        super::par_for(runs * pieces, &|t| {
            let (c, p) = (t / pieces, t % pieces);
            let (lo, hi) = (p * piece, ((p + 1) * piece).min(run));
            if lo < hi {
                column(c, lo, hi);
            }
        });
    } else if disjoint {
        (0..runs).for_each(|c| column(c, 0, run));
    } else {
        // (Row by row: where two positions of `dst` share an element, the last index
        // writes last.)
        for b in 0..nb {
            (0..runs).for_each(|c| write(b, c, 0, run));
        }
    }
}

/// Walks `index`; calls `f(index value, offset in a, offset in b)` where `a` and `b`
/// are laid out over index's shape with the given strides.
fn walk_index(
    index: View<'_, i64>,
    a_strides: &[usize],
    b_strides: &[usize],
    mut f: impl FnMut(i64, usize, usize) -> Result<()>,
) -> Result<()> {
    if index.numel() == 0 {
        return Ok(());
    }
    let plan = Plan::new(index.shape(), [index.strides(), a_strides, b_strides]);
    let len = plan.inner_len();
    let [si, sa, sb] = plan.inner_strides();
    let pi = index.ptr();
    let mut res = Ok(());
    plan.for_rows(0..plan.rows(), |[oi, oa, ob]| {
        if res.is_err() {
            return;
        }
        for k in 0..len {
            // SAFETY: oi + k * si lies within index's layout.
            let v = unsafe { *pi.add(oi + k * si) };
            if let Err(e) = f(v, oa + k * sa, ob + k * sb) {
                res = Err(e);
                return;
            }
        }
    });
    res
}

/// `walk_index` for gather and scatter along `d`, with every index value checked to be
/// in `0..size` (the error names the first bad value of the lowest task). Above the
/// grain, and where `parallel` allows it (each position of index's shape writes its own
/// elements), the lines of index along `d` are shared out among threads: a task takes
/// one position of the dims before `d` and a range of those after it, and walks `d` in
/// order, so an element that several index positions write still sees them in index
/// order. (Element by element on one thread, `scatter_add` along dim 1 of a 1000x1000
/// matrix took 4x PyTorch's time.)
fn walk_lines(
    index: View<'_, i64>,
    d: usize,
    size: i64,
    a_strides: &[usize],
    b_strides: &[usize],
    parallel: bool,
    f: impl Fn(i64, usize, usize) + Sync + Copy,
) -> Result<()> {
    let shape = index.shape();
    if !parallel || index.numel() < super::GRAIN || super::get_num_threads() < 2 {
        // (`move`, as the callers' closures: captured by reference, each value was
        // loaded again after every store of the loop.)
        return walk_index(index, a_strides, b_strides, move |v, oa, ob| {
            if v < 0 || v >= size {
                return Err(out_of_bounds(v, d, size));
            }
            f(v, oa, ob);
            Ok(())
        });
    }
    let strides = [index.strides(), a_strides, b_strides];
    let (outer, len): (usize, usize) = (shape[..d].iter().product(), shape[d]);
    // Offsets of every position of the dims after d, in each of the three layouts.
    let tail = &shape[d + 1..];
    let inner: usize = tail.iter().product();
    let mut offs: [Vec<usize>; 3] = Default::default();
    for (o, st) in offs.iter_mut().zip(strides) {
        o.reserve(inner);
        let mut pos = vec![0usize; tail.len()];
        for _ in 0..inner {
            o.push(pos.iter().zip(&st[d + 1..]).map(|(p, s)| p * s).sum());
            for k in (0..tail.len()).rev() {
                pos[k] += 1;
                if pos[k] < tail[k] {
                    break;
                }
                pos[k] = 0;
            }
        }
    }
    // One piece of the inner positions per thread where there are few outer ones
    // (longer pieces: each walks every line, and short pieces far apart defeat the
    // prefetcher, as in `scatter_rows`).
    let pieces = super::get_num_threads()
        .div_ceil(outer)
        .clamp(1, (inner / 64).max(1));
    let piece = inner.div_ceil(pieces);
    let first_error: parking_lot::Mutex<Option<(usize, i64)>> = parking_lot::Mutex::new(None);
    let pi = SendPtr(index.ptr() as *mut i64);
    super::par_for(outer * pieces, &|t| {
        let (o, p) = (t / pieces, t % pieces);
        let (lo, hi) = (p * piece, ((p + 1) * piece).min(inner));
        // The offsets of outer position o, unravelled over the dims before d.
        let mut base = [0usize; 3];
        let mut rest = o;
        for k in (0..d).rev() {
            let c = rest % shape[k];
            rest /= shape[k];
            for (b, st) in base.iter_mut().zip(strides) {
                *b += c * st[k];
            }
        }
        let steps = [0, 1, 2].map(|m| strides[m][d]);
        let inner_offs = [&offs[0][lo..hi], &offs[1][lo..hi], &offs[2][lo..hi]];
        // SAFETY: every position (o, j, i) is one of index's shape, so its offset lies
        // within index's layout.
        if let Some(v) = unsafe { walk_piece(pi.get(), base, steps, len, inner_offs, size, f) } {
            let mut e = first_error.lock();
            if e.is_none_or(|(task, _)| t < task) {
                *e = Some((t, v));
            }
        }
    });
    match first_error.into_inner() {
        Some((_, v)) => Err(out_of_bounds(v, d, size)),
        None => Ok(()),
    }
}

/// One task of `walk_lines`: positions j = 0..len along d (offsets `base + j * steps`
/// in the three layouts) times the inner positions whose offsets `inner` lists, calling
/// `f(index value, offset a, offset b)`; stops at the first value outside `0..size` and
/// returns it. Its own function, taking everything by value (`f` too, a copy): inside
/// the task closure, every store through `f` made the loop load its captured values
/// again.
///
/// # Safety
/// `pi` plus every offset `base[0] + j * steps[0] + inner[0][i]` is an element of the
/// index.
#[inline(always)]
unsafe fn walk_piece(
    pi: *const i64,
    base: [usize; 3],
    steps: [usize; 3],
    len: usize,
    inner: [&[usize]; 3],
    size: i64,
    f: impl Fn(i64, usize, usize),
) -> Option<i64> {
    let [ii, ia, ib] = inner;
    if let [[oi], [oa], [ob]] = inner {
        // (One inner position: d is the last dim that counts.)
        for j in 0..len {
            // SAFETY: the caller's contract.
            let v = unsafe { *pi.add(base[0] + oi + j * steps[0]) };
            if v < 0 || v >= size {
                return Some(v);
            }
            f(v, base[1] + oa + j * steps[1], base[2] + ob + j * steps[2]);
        }
        return None;
    }
    for j in 0..len {
        let [bi, ba, bb] = [0, 1, 2].map(|m| base[m] + j * steps[m]);
        for ((&oi, &oa), &ob) in ii.iter().zip(ia).zip(ib) {
            // SAFETY: the caller's contract.
            let v = unsafe { *pi.add(bi + oi) };
            if v < 0 || v >= size {
                return Some(v);
            }
            f(v, ba + oa, bb + ob);
        }
    }
    None
}

fn out_of_bounds(v: i64, d: usize, size: i64) -> Error {
    Error::Runtime(format!(
        "index {v} is out of bounds for dimension {d} with size {size}"
    ))
}

/// `out[i][j][k] = src[i][index[i][j][k]][k]` (for `d = 1`), over index's shape.
pub fn gather<T: Element>(
    src: View<'_, T>,
    d: usize,
    index: View<'_, i64>,
    out: ViewMut<'_, T>,
) -> Result<()> {
    let mut s_strides: Dims = src.strides().iter().copied().collect();
    let (size, sd) = (src.shape()[d] as i64, s_strides[d]);
    s_strides[d] = 0;
    let (ps, po) = (SendPtr(src.ptr() as *mut T), SendPtr(out.ptr()));
    // (Every position of index's shape writes its own element of `out`, which does not
    // overlap `src`: any order, any thread.)
    let parallel = out.is_contiguous();
    walk_lines(
        index,
        d,
        size,
        out.strides(),
        &s_strides,
        parallel,
        move |v, oo, os| {
            // SAFETY: oo is inside out's layout; os + v * sd inside src's (v checked).
            unsafe { *po.get().add(oo) = *ps.get().add(os + v as usize * sd) };
        },
    )
}

/// How `scatter` combines: overwrite, add, multiply, or keep the larger (smaller) value
/// with a NaN winning (`scatter_reduce`'s amax and amin).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScatterReduce {
    None,
    Add,
    Multiply,
    Max,
    Min,
}

/// What `scatter` writes: a tensor's elements or one value.
pub enum Source<'a, T> {
    Tensor(View<'a, T>),
    Scalar(T),
}

/// `dst[i][index[i][j][k]][k] (op)= src[i][j][k]` (for `d = 1`), in index order.
pub fn scatter<T: Arith>(
    dst: ViewMut<'_, T>,
    d: usize,
    index: View<'_, i64>,
    src: Source<'_, T>,
    reduce: ScatterReduce,
) -> Result<()> {
    let mut d_strides: Dims = dst.strides().iter().copied().collect();
    let (size, sd) = (dst.shape()[d] as i64, d_strides[d]);
    d_strides[d] = 0;
    let pd = dst.ptr();
    // A number is read as a tensor of one element at every position (zero strides):
    // one copy of the loops for both sources (5 KB of the extension).
    let zeros: Dims = smallvec::smallvec![0; index.shape().len()];
    let number = match &src {
        Source::Scalar(x) => [*x],
        Source::Tensor(_) => [T::zero()],
    };
    let (s_strides, ps) = match &src {
        Source::Tensor(s) => (s.strides(), s.ptr()),
        Source::Scalar(_) => (&zeros[..], number.as_ptr()),
    };
    // A position of index's shape writes elements of `dst` that only positions
    // differing from it along d write too, when `dst` has no element at two positions:
    // lines along d may then run on different threads.
    let parallel = dst.is_contiguous();
    let (ps, pd) = (SendPtr(ps as *mut T), SendPtr(pd));
    walk_lines(
        index,
        d,
        size,
        &d_strides,
        s_strides,
        parallel,
        move |v, od, os| {
            // SAFETY: os lies in src's layout (0 for a number).
            let x = unsafe { *ps.get().add(os) };
            // SAFETY: od + v * sd lies in dst's layout (v checked); concurrent calls write
            // different elements (`parallel`, above).
            unsafe {
                let p = pd.get().add(od + v as usize * sd);
                *p = match reduce {
                    ScatterReduce::None => x,
                    ScatterReduce::Add => (*p).add(x),
                    ScatterReduce::Multiply => (*p).mul(x),
                    ScatterReduce::Max if x.greater(*p) || x.is_nan_value() => x,
                    ScatterReduce::Min if x.less(*p) || x.is_nan_value() => x,
                    ScatterReduce::Max | ScatterReduce::Min => *p,
                };
            }
        },
    )
}

/// The row-major indices of the non-zero elements of `x` (a contiguous tensor of
/// `shape`) into `out`, one row of `shape.len()` per element found; `out` holds exactly
/// as many rows as `x` has non-zero elements.
///
/// Chunks of the elements are counted, then written from their offsets, in parallel
/// above the grain. The write loop has no data-dependent branch: each element's indices
/// go to the next free row, which only a non-zero element claims (a branch on the value
/// mispredicted at every other element of a random mask: 2x PyTorch's time on 1M).
///
/// `x` holds the elements' bits (`T` the integer type of their size: one copy of the
/// loops per size, not per dtype), `zeros` the patterns that count as zero: 0, and for
/// a floating dtype the sign bit alone (-0.0).
pub fn nonzero_indices<T: Element>(x: &[T], zeros: [T; 2], shape: &[usize], out: &mut [i64]) {
    let nd = shape.len();
    let z = Zeros(zeros);
    if nd == 0 || x.is_empty() {
        return;
    }
    let n = x.len();
    let chunks = n.div_ceil(super::GRAIN);
    let range = |c: usize| c * super::GRAIN..((c + 1) * super::GRAIN).min(n);
    // (32-bit counts: a chunk holds at most GRAIN elements; twice the lanes of usize.)
    let count = |c: usize| {
        x[range(c)]
            .iter()
            .map(|&v| u32::from(z.not(v)))
            .sum::<u32>() as usize
    };
    let parallel = chunks > 1;
    let counts: Vec<usize> = if parallel {
        super::par_map(chunks, &count)
    } else {
        (0..chunks).map(count).collect()
    };
    let mut starts = Vec::with_capacity(chunks);
    let mut total = 0usize;
    for &c in &counts {
        starts.push(total);
        total += c;
    }
    let out_rows = out.len() / nd;
    let po = SendPtr(out.as_mut_ptr());
    let write = |c: usize| {
        let r = range(c);
        let (mut k, end) = (starts[c], (starts[c] + counts[c]).min(out_rows));
        if nd == 1 {
            for (i, &v) in r.clone().zip(&x[r]) {
                if k < end {
                    // SAFETY: k < end <= out_rows (rows of one index); rows
                    // starts[c]..end are this chunk's alone.
                    unsafe { *po.get().add(k) = i as i64 };
                }
                k += usize::from(z.not(v));
            }
            return;
        }
        // The indices of the chunk's first element, unravelled once, then counted up.
        let mut first = vec![0usize; nd];
        let mut rest = r.start;
        for d in (0..nd).rev() {
            first[d] = rest % shape[d];
            rest /= shape[d];
        }
        let rows = RowsOut { po, k, end };
        match nd {
            2 => write_indices::<T, 2>(&x[r], z, shape, &first, rows),
            3 => write_indices::<T, 3>(&x[r], z, shape, &first, rows),
            4 => write_indices::<T, 4>(&x[r], z, shape, &first, rows),
            _ => write_indices_any(&x[r], z, shape, &first, rows),
        }
    };
    if parallel {
        super::par_for(chunks, &write);
    } else {
        (0..chunks).for_each(write);
    }
}

/// Where `nonzero_indices` writes a chunk's rows: `out` (`po`) from row `k`, rows below
/// `end` only.
#[derive(Clone, Copy)]
struct RowsOut {
    po: SendPtr<i64>,
    k: usize,
    end: usize,
}

/// `nonzero_indices`'s write loop for `ND` dims (the indices in a fixed-size array, so
/// each row is a few stores, not a call to copy a slice), from the indices `first` of
/// `x`'s first element.
fn write_indices<T: Element, const ND: usize>(
    x: &[T],
    z: Zeros<T>,
    shape: &[usize],
    first: &[usize],
    rows: RowsOut,
) {
    let mut idx: [i64; ND] = std::array::from_fn(|d| first[d] as i64);
    let RowsOut { po, mut k, end } = rows;
    for &v in x {
        if k < end {
            // SAFETY: k < end, which the caller bounds by `out`'s rows of ND indices;
            // rows up to `end` from the first `k` are this chunk's alone.
            unsafe {
                po.get()
                    .add(k * ND)
                    .cast::<[i64; ND]>()
                    .write_unaligned(idx)
            };
        }
        k += usize::from(z.not(v));
        advance(&mut idx, shape);
    }
}

/// Steps `idx` to the next row-major position in `shape` (an odometer: the last index
/// first, carrying into the ones before it).
#[inline(always)]
fn advance(idx: &mut [i64], shape: &[usize]) {
    let mut d = idx.len();
    while d > 0 {
        d -= 1;
        idx[d] += 1;
        if (idx[d] as usize) < shape[d] {
            return;
        }
        idx[d] = 0;
    }
}

/// `write_indices` for any number of dims (five and more).
fn write_indices_any<T: Element>(
    x: &[T],
    z: Zeros<T>,
    shape: &[usize],
    first: &[usize],
    rows: RowsOut,
) {
    let nd = shape.len();
    let mut idx: Vec<i64> = first.iter().map(|&i| i as i64).collect();
    let RowsOut { po, mut k, end } = rows;
    for &v in x {
        if k < end {
            // SAFETY: as in `write_indices`, rows of nd indices.
            let dst = unsafe { std::slice::from_raw_parts_mut(po.get().add(k * nd), nd) };
            dst.copy_from_slice(&idx);
        }
        k += usize::from(z.not(v));
        advance(&mut idx, shape);
    }
}

/// The bit patterns that `nonzero_indices` counts as zero.
#[derive(Clone, Copy)]
struct Zeros<T>([T; 2]);

impl<T: Element> Zeros<T> {
    /// Whether `v` is none of them (a non-zero element).
    #[inline(always)]
    fn not(self, v: T) -> bool {
        v != self.0[0] && v != self.0[1]
    }
}
