//! N-d iteration over several operands of one shape with different strides.
//!
//! Dims that are contiguous with their neighbour in every operand are merged first, so
//! a transposed or sliced tensor usually costs one or two loop levels, and the inner
//! loop runs over the last merged dim with a fixed stride per operand.

use crate::layout::Dims;

/// A merged iteration space for `N` operands.
#[derive(Clone, Debug)]
pub struct Plan<const N: usize> {
    pub shape: Dims,
    pub strides: [Dims; N],
}

/// Rows this short are walked across (`Plan::long_rows`). Not longer: at 8 elements the
/// rows of the swapped walk, one element per cache line, ran 1-4x slower than the
/// per-row calls.
const SHORT_ROW: usize = 4;

impl<const N: usize> Plan<N> {
    /// Builds a plan, dropping size-1 dims and merging dims that are contiguous
    /// together in every operand.
    pub fn new(shape: &[usize], strides: [&[usize]; N]) -> Plan<N> {
        let mut out_shape = Dims::new();
        let mut out_strides: [Dims; N] = std::array::from_fn(|_| Dims::new());
        for d in 0..shape.len() {
            if shape[d] == 1 {
                continue;
            }
            let mergeable = !out_shape.is_empty()
                && (0..N).all(|k| {
                    let last = out_strides[k].len() - 1;
                    out_strides[k][last] == strides[k][d] * shape[d]
                });
            if mergeable {
                let last = out_shape.len() - 1;
                out_shape[last] *= shape[d];
                for k in 0..N {
                    out_strides[k][last] = strides[k][d];
                }
            } else {
                out_shape.push(shape[d]);
                for k in 0..N {
                    out_strides[k].push(strides[k][d]);
                }
            }
        }
        if out_shape.is_empty() {
            out_shape.push(1);
            for s in out_strides.iter_mut() {
                s.push(0);
            }
        }
        Plan {
            shape: out_shape,
            strides: out_strides,
        }
    }

    /// Like `new`, after putting the dims in the operands' memory order (outermost: the
    /// largest stride of the first operand whose strides tell two dims apart; a broadcast
    /// dim, stride 0, tells nothing), as PyTorch's TensorIterator does: a transposed
    /// output and input are then walked as one contiguous run rather than with a stride
    /// of a whole row. Only for maps that compute each element independently: the walk
    /// order changes.
    pub fn new_memory_order(shape: &[usize], strides: [&[usize]; N]) -> Plan<N> {
        let outside = |a: usize, b: usize| {
            for s in &strides {
                let (sa, sb) = (s[a], s[b]);
                if sa != 0 && sb != 0 && sa != sb {
                    return sa > sb;
                }
            }
            false
        };
        let mut perm: Dims = (0..shape.len()).collect();
        for i in 1..perm.len() {
            let mut j = i;
            while j > 0 && outside(perm[j], perm[j - 1]) {
                perm.swap(j, j - 1);
                j -= 1;
            }
        }
        if perm.iter().enumerate().all(|(i, &d)| i == d) {
            return Plan::new(shape, strides);
        }
        let shape: Dims = perm.iter().map(|&d| shape[d]).collect();
        let permuted: [Dims; N] =
            std::array::from_fn(|k| perm.iter().map(|&d| strides[k][d]).collect());
        Plan::new(&shape, std::array::from_fn(|k| &permuted[k][..]))
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The plan with its two innermost dims swapped when the innermost has at most
    /// `SHORT_ROW` elements and the next one more: an op over a few channels (`x * col`
    /// on 65536x3, points, boxes) then runs rows of the long dim at a small stride
    /// instead of a row call per 3 elements (516 -> 39 us there; PyTorch 111). Only for
    /// maps that compute each element independently (the walk order changes).
    pub fn long_rows(mut self) -> Plan<N> {
        let nd = self.shape.len();
        if nd >= 2 && self.shape[nd - 1] <= SHORT_ROW && self.shape[nd - 2] > self.shape[nd - 1] {
            self.shape.swap(nd - 1, nd - 2);
            for s in &mut self.strides {
                s.swap(nd - 1, nd - 2);
            }
        }
        self
    }

    pub fn inner_len(&self) -> usize {
        *self.shape.last().unwrap_or(&1)
    }

    pub fn inner_strides(&self) -> [usize; N] {
        std::array::from_fn(|k| *self.strides[k].last().unwrap_or(&0))
    }

    /// Number of rows (all dims but the innermost).
    pub fn rows(&self) -> usize {
        self.numel() / self.inner_len().max(1)
    }

    /// Element offsets of every operand at the start of row `row`.
    pub fn row_offsets(&self, mut row: usize) -> [usize; N] {
        let mut offs = [0usize; N];
        let nd = self.shape.len();
        for d in (0..nd.saturating_sub(1)).rev() {
            let i = row % self.shape[d];
            row /= self.shape[d];
            for (o, s) in offs.iter_mut().zip(&self.strides) {
                *o += i * s[d];
            }
        }
        offs
    }

    /// Calls `f(offsets, len, inner_strides)` for each row in `rows`, in order.
    pub fn for_rows(&self, rows: std::ops::Range<usize>, mut f: impl FnMut([usize; N])) {
        if rows.is_empty() {
            return;
        }
        let nd = self.shape.len();
        let mut idx: Dims = smallvec::smallvec![0; nd];
        // Unravel the first row index over the outer dims.
        let mut r = rows.start;
        for d in (0..nd.saturating_sub(1)).rev() {
            idx[d] = r % self.shape[d];
            r /= self.shape[d];
        }
        let mut offs = self.row_offsets(rows.start);
        for _ in rows {
            f(offs);
            // Increment the multi-index (odometer) over the outer dims.
            let mut d = nd.saturating_sub(1);
            while d > 0 {
                d -= 1;
                idx[d] += 1;
                for (o, s) in offs.iter_mut().zip(&self.strides) {
                    *o += s[d];
                }
                if idx[d] < self.shape[d] {
                    break;
                }
                for (o, s) in offs.iter_mut().zip(&self.strides) {
                    *o -= s[d] * self.shape[d];
                }
                idx[d] = 0;
            }
        }
    }

    /// Calls `f(offsets, len)` for runs of `len` inner elements covering every row, split
    /// across threads when the work is large: whole rows per task, or, for rows longer
    /// than the grain, pieces of a row (a plan that merged into one long row, such as a
    /// tensor with a broadcast scalar, would otherwise run on one thread).
    ///
    /// The walk itself takes `f` as a trait object (`Task2`), not a generic: it is then
    /// compiled once per operand count instead of once per (op, dtype) with the row loop
    /// inlined three times (about 2 MB of the extension); one indirect call per row costs
    /// nothing next to the row.
    #[inline(always)]
    pub fn par_for_rows(&self, f: &(impl Fn([usize; N], usize) + Sync)) {
        self.par_for_rows_dyn(f)
    }

    fn par_for_rows_dyn(&self, f: &dyn super::Task2<[usize; N], usize>) {
        let rows = self.rows();
        let len = self.inner_len();
        if self.numel() < super::GRAIN {
            self.for_rows(0..rows, |o| f.run(o, len));
            return;
        }
        if len > super::GRAIN {
            let pieces = len.div_ceil(super::GRAIN);
            let inner = self.inner_strides();
            super::par_for(rows * pieces, &|t| {
                let (row, start) = (t / pieces, (t % pieces) * super::GRAIN);
                let mut offs = self.row_offsets(row);
                for (o, s) in offs.iter_mut().zip(inner) {
                    *o += start * s;
                }
                f.run(offs, super::GRAIN.min(len - start));
            });
            return;
        }
        let rows_per_task = super::GRAIN / len.max(1);
        let tasks = rows.div_ceil(rows_per_task);
        super::par_for(tasks, &|t| {
            let start = t * rows_per_task;
            let end = (start + rows_per_task).min(rows);
            self.for_rows(start..end, |o| f.run(o, len));
        });
    }
}

impl<const N: usize> Plan<N> {
    /// Calls `f` with ranges of rows covering every row, split across threads as
    /// `par_for_rows` splits rows of at most `GRAIN` elements (one range below the
    /// grain): for a walk that keeps state across the rows of a task.
    pub fn par_for_row_ranges(&self, f: &(dyn Fn(std::ops::Range<usize>) + Sync)) {
        let rows = self.rows();
        if self.numel() < super::GRAIN {
            f(0..rows);
            return;
        }
        let rows_per_task = (super::GRAIN / self.inner_len().max(1)).max(1);
        super::par_for(rows.div_ceil(rows_per_task), &|t| {
            let start = t * rows_per_task;
            f(start..(start + rows_per_task).min(rows));
        });
    }

    /// The rows of `rows` in groups of at most `group` consecutive rows under one index
    /// of the outer dims (rows of the second-innermost dim, one of its strides apart):
    /// `(first row, rows in the group)`.
    pub fn row_groups(
        &self,
        rows: std::ops::Range<usize>,
        group: usize,
    ) -> impl Iterator<Item = (usize, usize)> + '_ {
        let nd = self.shape.len();
        let span = if nd >= 2 { self.shape[nd - 2] } else { 1 };
        let mut r = rows.start;
        std::iter::from_fn(move || {
            if r >= rows.end {
                return None;
            }
            let g = group.max(1).min(span - r % span).min(rows.end - r);
            r += g;
            Some((r - g, g))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_contiguous_dims() {
        let p = Plan::<2>::new(&[2, 3, 4], [&[12, 4, 1], &[12, 4, 1]]);
        assert_eq!(&p.shape[..], &[24]);
        // Dims 1 and 2 merge in both operands; dim 0 does not in the second.
        let p = Plan::<2>::new(&[2, 3, 4], [&[12, 4, 1], &[1, 8, 2]]);
        assert_eq!(&p.shape[..], &[2, 12]);
        let p = Plan::<2>::new(&[2, 3, 4], [&[12, 4, 1], &[1, 2, 6]]);
        assert_eq!(p.shape.len(), 3);
    }

    #[test]
    fn memory_order_merges_a_transposed_pair() {
        // (4, 3) viewed from (3, 4) row-major, in both operands: one run of 12.
        let p = Plan::<2>::new_memory_order(&[4, 3], [&[1, 4], &[1, 4]]);
        assert_eq!((&p.shape[..], p.inner_strides()), (&[12][..], [1, 1]));
        // Row-major order keeps the output's order (the first operand decides).
        let p = Plan::<2>::new_memory_order(&[4, 3], [&[3, 1], &[1, 4]]);
        assert_eq!((&p.shape[..], p.inner_strides()), (&[4, 3][..], [1, 4]));
        // A broadcast output dim (stride 0) leaves the decision to the next operand.
        let p = Plan::<2>::new_memory_order(&[4, 3], [&[0, 1], &[1, 4]]);
        assert_eq!((&p.shape[..], p.inner_strides()), (&[3, 4][..], [0, 1]));
        let p = Plan::<1>::new_memory_order(&[2, 3, 4], [&[1, 8, 2]]);
        assert_eq!((&p.shape[..], p.inner_strides()), (&[24][..], [1]));
    }

    #[test]
    fn parallel_runs_cover_every_element_once() {
        use crate::cpu::GRAIN;
        // One long row (split into pieces), many short rows (whole rows per task), and
        // long strided rows with two operands.
        let long = 3 * GRAIN + 5;
        for (shape, strides) in [
            (vec![long], [vec![1], vec![0]]),
            (vec![3000, 40], [vec![40, 1], vec![1, 3000]]),
            (vec![3, long], [vec![long, 1], vec![2 * long, 2]]),
        ] {
            let plan = Plan::<2>::new(&shape, [&strides[0], &strides[1]]);
            let [s0, s1] = plan.inner_strides();
            let seen = std::sync::Mutex::new(Vec::new());
            plan.par_for_rows(&|[o0, o1], len| {
                let mut v = seen.lock().unwrap();
                v.extend((0..len).map(|i| (o0 + i * s0, o1 + i * s1)));
            });
            let mut got = seen.into_inner().unwrap();
            got.sort_unstable();
            let mut want = Vec::new();
            plan.for_rows(0..plan.rows(), |[o0, o1]| {
                want.extend((0..plan.inner_len()).map(|i| (o0 + i * s0, o1 + i * s1)));
            });
            want.sort_unstable();
            assert_eq!(got, want);
            assert_eq!(got.len(), shape.iter().product::<usize>());
        }
    }

    #[test]
    fn row_walk_matches_offsets() {
        let p = Plan::<1>::new(&[3, 2, 5, 7], [&[1, 200, 30, 3]]);
        assert_eq!(p.rows(), 30);
        let mut seen = Vec::new();
        p.for_rows(0..p.rows(), |o| seen.push(o[0]));
        let direct: Vec<usize> = (0..p.rows()).map(|r| p.row_offsets(r)[0]).collect();
        assert_eq!(seen, direct);
        let mut part = Vec::new();
        p.for_rows(2..5, |o| part.push(o[0]));
        assert_eq!(&part[..], &direct[2..5]);
    }
}
