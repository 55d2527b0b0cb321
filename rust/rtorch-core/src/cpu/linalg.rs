//! Dense decompositions for `torch.linalg`, on faer.
//!
//! Every kernel takes a batch of contiguous row-major matrices (`batch` matrices of
//! `m x n` one after the other) and returns row-major outputs. The callers in
//! `ops/linalg_decomp.rs` have checked the shapes, so faer's own shape assertions can
//! not fire; numerical failures (a zero pivot, a non-positive-definite minor, an
//! iteration that does not converge) come back as LAPACK-style `info` codes per
//! matrix (0: success), which the Python layer turns into `LinAlgError`.
//!
//! Sign conventions of Householder vectors, eigenvectors and singular vectors are
//! faer's, not LAPACK's: only the invariants (A = QR, A = U S Vh, A V = V diag(w))
//! match PyTorch.

use super::all_finite;
use crate::element::Element;
use faer::linalg::solvers::{DenseSolveCore, Llt, PartialPivLu, Qr, SelfAdjointEigen, Solve, Svd};
use faer::traits::RealField;
use faer::{MatMut, MatRef, Par, Side};

/// The element types the decompositions run on: f32 and f64 (`eigh` and `svd` are
/// called with f64 only; `ops/linalg_decomp.rs` says why).
pub trait LinalgFloat: RealField + Element {}
impl LinalgFloat for f32 {}
impl LinalgFloat for f64 {}

/// Appends the rows of `m` to `out` (row-major).
fn push_rows<T: Copy>(m: MatRef<'_, T>, out: &mut Vec<T>) {
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            out.push(*m.get(i, j));
        }
    }
}

/// Appends the transpose of `m` to `out` (row-major).
fn push_rows_t<T: Copy>(m: MatRef<'_, T>, out: &mut Vec<T>) {
    push_rows(m.transpose(), out)
}

/// Appends an `m x n` identity-like matrix (ones on the main diagonal).
fn push_eye<T: Element>(m: usize, n: usize, out: &mut Vec<T>) {
    for i in 0..m {
        for j in 0..n {
            out.push(if i == j {
                <T as Element>::one()
            } else {
                <T as Element>::zero()
            });
        }
    }
}

/// Runs `f` on each matrix of the batch (in parallel when there are several) and
/// concatenates what each one returns, in batch order.
fn per_matrix<T: Element, R: Send>(
    a: &[T],
    batch: usize,
    f: impl Fn(&[T]) -> R + Sync + Send,
) -> Vec<R> {
    if batch == 0 {
        return Vec::new();
    }
    let stride = a.len() / batch;
    if batch == 1 || stride == 0 {
        return (0..batch)
            .map(|b| f(&a[b * stride..(b + 1) * stride]))
            .collect();
    }
    super::par_map_chunks(a, stride, &f)
}

/// The first zero on the diagonal of `u` (1-based, LAPACK's getrf `info`), or 0.
fn zero_pivot<T: LinalgFloat>(u: MatRef<'_, T>) -> i32 {
    let k = u.nrows().min(u.ncols());
    (0..k)
        .find(|&i| u.get(i, i).to_f64() == 0.0)
        .map_or(0, |i| i32::try_from(i + 1).unwrap_or(i32::MAX))
}

/// Sign (+1/-1) of a permutation given as a forward index array.
fn perm_sign(fwd: &[usize]) -> f64 {
    let mut seen = vec![false; fwd.len()];
    let mut transpositions = 0usize;
    for start in 0..fwd.len() {
        let mut len = 0usize;
        let mut i = start;
        while !seen[i] {
            seen[i] = true;
            i = fwd[i];
            len += 1;
        }
        transpositions += len.saturating_sub(1);
    }
    if transpositions.is_multiple_of(2) {
        1.0
    } else {
        -1.0
    }
}

/// `X` with `A X = B` for each `n x n` A and `n x k` B: (X, info).
pub fn solve<T: LinalgFloat>(
    a: &[T],
    b: &[T],
    batch: usize,
    n: usize,
    k: usize,
) -> (Vec<T>, Vec<i32>) {
    let nn = n * n;
    let nk = n * k;
    let res: Vec<(Vec<T>, i32)> = super::par_map(batch, &|i| {
        let am = &a[i * nn..(i + 1) * nn];
        let bm = &b[i * nk..(i + 1) * nk];
        let mut x = bm.to_vec();
        if n == 0 || k == 0 {
            return (x, 0);
        }
        let lu = PartialPivLu::new(MatRef::from_row_major_slice(am, n, n));
        let info = zero_pivot(lu.U());
        lu.solve_in_place(MatMut::from_row_major_slice_mut(&mut x, n, k));
        (x, info)
    });
    unzip_results(res)
}

/// `X` with `T X = B` for each `n x n` triangular T (its `upper` or lower triangle of
/// `a`, with ones on the diagonal when `unit`) and `n x k` B, by substitution. Only that
/// triangle is read. A zero on the diagonal divides by zero (inf/NaN), as the
/// BLAS trsm behind PyTorch does: no factorisation, no singularity check.
pub fn solve_triangular<T: LinalgFloat>(
    a: &[T],
    b: &[T],
    batch: usize,
    n: usize,
    k: usize,
    upper: bool,
    unit: bool,
) -> Vec<T> {
    let nn = n * n;
    let nk = n * k;
    let res: Vec<Vec<T>> = super::par_map(batch, &|i| {
        let mut x = b[i * nk..(i + 1) * nk].to_vec();
        if n == 0 || k == 0 {
            return x;
        }
        // The triangle alone, so that nothing outside it (or its diagonal, when unit)
        // can reach the solve whatever faer's kernels read.
        let mut tri = a[i * nn..(i + 1) * nn].to_vec();
        for (r, row) in tri.chunks_exact_mut(n).enumerate() {
            let outside = if upper {
                &mut row[..r]
            } else {
                &mut row[r + 1..]
            };
            outside.fill(<T as Element>::zero());
            if unit {
                row[r] = <T as Element>::one();
            }
        }
        if !all_finite(&tri)
            || !all_finite(&x)
            || (0..n).any(|r| tri[r * n + r] == <T as Element>::zero())
        {
            // faer's blocked solve inverts small diagonal blocks, which turns a zero pivot
            // or a non-finite entry into NaN where plain substitution (PyTorch's BLAS
            // trsm) gives inf and -inf: this path keeps PyTorch's values.
            substitute(&tri, &mut x, n, k, upper);
            return x;
        }
        let t = MatRef::from_row_major_slice(&tri, n, n);
        let rhs = MatMut::from_row_major_slice_mut(&mut x, n, k);
        if upper {
            faer::linalg::triangular_solve::solve_upper_triangular_in_place(t, rhs, Par::Seq);
        } else {
            faer::linalg::triangular_solve::solve_lower_triangular_in_place(t, rhs, Par::Seq);
        }
        x
    });
    res.concat()
}

/// `x := T^{-1} x` by row substitution for a triangular `n x n` T (row-major, its other
/// triangle zero) and `n x k` x: each row subtracts the solved rows' multiples (zeros
/// included, so 0 * inf gives NaN as in BLAS), then divides by its pivot.
fn substitute<T: LinalgFloat>(tri: &[T], x: &mut [T], n: usize, k: usize, upper: bool) {
    let rows: Vec<usize> = if upper {
        (0..n).rev().collect()
    } else {
        (0..n).collect()
    };
    for (pos, &i) in rows.iter().enumerate() {
        for &j in &rows[..pos] {
            let t = tri[i * n + j];
            let (solved, row) = if j < i {
                let (head, tail) = x.split_at_mut(i * k);
                (&head[j * k..(j + 1) * k], &mut tail[..k])
            } else {
                let (head, tail) = x.split_at_mut(j * k);
                (&tail[..k], &mut head[i * k..(i + 1) * k])
            };
            for (r, &s) in row.iter_mut().zip(solved) {
                *r -= t * s;
            }
        }
        let d = tri[i * n + i];
        for r in &mut x[i * k..(i + 1) * k] {
            *r /= d;
        }
    }
}

fn unzip_results<T>(res: Vec<(Vec<T>, i32)>) -> (Vec<T>, Vec<i32>) {
    let mut out = Vec::new();
    let mut info = Vec::with_capacity(res.len());
    for (v, i) in res {
        out.extend(v);
        info.push(i);
    }
    (out, info)
}

/// LU factorisation with partial pivoting of each `m x n` matrix, as LAPACK's getrf:
/// (L and U packed in one `m x n` matrix, L's unit diagonal implied; the pivots, 1-based
/// row interchanges in order, `min(m, n)` per matrix; info, the first zero on U's
/// diagonal, 1-based, or 0).
pub fn lu_factor<T: LinalgFloat>(
    a: &[T],
    batch: usize,
    m: usize,
    n: usize,
) -> (Vec<T>, Vec<i32>, Vec<i32>) {
    let k = m.min(n);
    let res = per_matrix(a, batch, |am| {
        if k == 0 {
            return (am.to_vec(), Vec::new(), 0);
        }
        let lu = PartialPivLu::new(MatRef::from_row_major_slice(am, m, n));
        let (l, u) = (lu.L(), lu.U());
        let mut packed = Vec::with_capacity(m * n);
        for i in 0..m {
            for j in 0..n {
                packed.push(if i <= j { *u.get(i, j) } else { *l.get(i, j) });
            }
        }
        let pivots = interchanges(lu.P().arrays().0, k);
        (packed, pivots, zero_pivot(u))
    });
    let mut packed = Vec::with_capacity(a.len());
    let mut pivots = Vec::with_capacity(batch * k);
    let mut info = Vec::with_capacity(batch);
    for (p, v, i) in res {
        packed.extend(p);
        pivots.extend(v);
        info.push(i);
    }
    (packed, pivots, info)
}

/// The sequence of row interchanges (1-based, LAPACK's `ipiv`) that leaves row `fwd[i]`
/// of the original matrix at position `i` for the first `k` positions: step `i` swaps
/// position `i` with wherever that row has got to, and later steps never touch `i`, so
/// the sequence is the one the factorisation made.
fn interchanges(fwd: &[usize], k: usize) -> Vec<i32> {
    let mut at: Vec<usize> = (0..fwd.len()).collect(); // original row -> position
    let mut row: Vec<usize> = (0..fwd.len()).collect(); // position -> original row
    (0..k)
        .map(|i| {
            let j = at[fwd[i]];
            row.swap(i, j);
            at[row[i]] = i;
            at[row[j]] = j;
            i32::try_from(j + 1).unwrap_or(i32::MAX)
        })
        .collect()
}

/// The inverse of each `n x n` matrix: (inverse, info).
pub fn inverse<T: LinalgFloat>(a: &[T], batch: usize, n: usize) -> (Vec<T>, Vec<i32>) {
    let res = per_matrix(a, batch, |am| {
        if n == 0 {
            return (Vec::new(), 0);
        }
        let lu = PartialPivLu::new(MatRef::from_row_major_slice(am, n, n));
        let info = zero_pivot(lu.U());
        let mut out = Vec::with_capacity(n * n);
        push_rows(lu.inverse().as_ref(), &mut out);
        (out, info)
    });
    unzip_results(res)
}

/// (det, sign, log|det|) of each `n x n` matrix, from its LU factorisation.
pub fn det<T: LinalgFloat>(a: &[T], batch: usize, n: usize) -> (Vec<T>, Vec<T>, Vec<T>) {
    let res = per_matrix(a, batch, |am| {
        if n == 0 {
            return (1.0, 1.0, 0.0);
        }
        let lu = PartialPivLu::new(MatRef::from_row_major_slice(am, n, n));
        let u = lu.U();
        let mut sign = perm_sign(lu.P().arrays().0);
        let mut prod = sign;
        let mut logabs = 0.0f64;
        for i in 0..n {
            let d = u.get(i, i).to_f64();
            if d == 0.0 {
                // A zero pivot: the matrix is singular. faer goes on dividing by it, so
                // the rest of U may hold NaNs that must not reach the determinant.
                return (0.0, 0.0, f64::NEG_INFINITY);
            }
            prod *= d;
            logabs += d.abs().ln();
            if d < 0.0 {
                sign = -sign;
            } else if d.is_nan() {
                sign = f64::NAN;
            }
        }
        (prod, sign, logabs)
    });
    let mut d = Vec::with_capacity(batch);
    let mut s = Vec::with_capacity(batch);
    let mut l = Vec::with_capacity(batch);
    for (p, sg, lg) in res {
        d.push(T::cast_from_f64(p));
        s.push(T::cast_from_f64(sg));
        l.push(T::cast_from_f64(lg));
    }
    (d, s, l)
}

/// Cholesky factor of each `n x n` matrix, read from its lower (or upper) triangle:
/// L (or U = L^T when `upper`), and `info` = the order of the first leading minor that
/// is not positive-definite. The factor of a failed matrix is all zeros.
pub fn cholesky<T: LinalgFloat>(
    a: &[T],
    batch: usize,
    n: usize,
    upper: bool,
) -> (Vec<T>, Vec<i32>) {
    let res = per_matrix(a, batch, |am| {
        if n == 0 {
            return (Vec::new(), 0);
        }
        let side = if upper { Side::Upper } else { Side::Lower };
        match Llt::new(MatRef::from_row_major_slice(am, n, n), side) {
            Ok(llt) => {
                let mut out = Vec::with_capacity(n * n);
                if upper {
                    push_rows_t(llt.L(), &mut out);
                } else {
                    push_rows(llt.L(), &mut out);
                }
                (out, 0)
            }
            Err(faer::linalg::cholesky::llt::factor::LltError::NonPositivePivot { index }) => {
                let order = i32::try_from(index.saturating_add(1)).unwrap_or(i32::MAX);
                (vec![<T as Element>::zero(); n * n], order)
            }
        }
    });
    unzip_results(res)
}

/// Householder QR of each `m x n` matrix: Q (`m x m` when `complete`, else `m x k`,
/// k = min(m, n); empty when not `want_q`) and R (`m x n` when complete, else `k x n`).
pub fn qr<T: LinalgFloat>(
    a: &[T],
    batch: usize,
    m: usize,
    n: usize,
    complete: bool,
    want_q: bool,
) -> (Vec<T>, Vec<T>) {
    let k = m.min(n);
    let (qc, rr) = if complete { (m, m) } else { (k, k) };
    let res = per_matrix(a, batch, |am| {
        let mut q = Vec::new();
        let mut r = Vec::with_capacity(rr * n);
        if m == 0 || n == 0 {
            if want_q {
                push_eye(m, qc, &mut q);
            }
            r.resize(rr * n, <T as Element>::zero());
            return (q, r);
        }
        let f = Qr::new(MatRef::from_row_major_slice(am, m, n));
        if want_q {
            let qm = if complete {
                f.compute_Q()
            } else {
                f.compute_thin_Q()
            };
            push_rows(qm.as_ref(), &mut q);
        }
        // faer's R has min(m, n) rows; the complete R has m, the last ones zero.
        push_rows(f.thin_R(), &mut r);
        r.resize(rr * n, <T as Element>::zero());
        (q, r)
    });
    let mut q = Vec::new();
    let mut r = Vec::new();
    for (qi, ri) in res {
        q.extend(qi);
        r.extend(ri);
    }
    (q, r)
}

/// Eigenvalues (ascending) and, when `want_vectors`, eigenvectors (as columns) of each
/// symmetric `n x n` matrix, read from its lower (or upper) triangle. A matrix with a
/// non-finite entry gives NaNs; `info` is 1 where the iteration did not converge.
pub fn eigh<T: LinalgFloat>(
    a: &[T],
    batch: usize,
    n: usize,
    upper: bool,
    want_vectors: bool,
) -> (Vec<T>, Vec<T>, Vec<i32>) {
    let side = if upper { Side::Upper } else { Side::Lower };
    let res = per_matrix(a, batch, |am| {
        let nv = if want_vectors { n * n } else { 0 };
        let nan = T::cast_from_f64(f64::NAN);
        if n == 0 {
            return (Vec::new(), Vec::new(), 0);
        }
        if !all_finite(am) {
            return (vec![nan; n], vec![nan; nv], 0);
        }
        let am = MatRef::from_row_major_slice(am, n, n);
        if want_vectors {
            match SelfAdjointEigen::new(am, side) {
                Ok(e) => {
                    let w: Vec<T> = e.S().column_vector().iter().copied().collect();
                    let mut v = Vec::with_capacity(nv);
                    push_rows(e.U(), &mut v);
                    (w, v, 0)
                }
                Err(_) => (vec![nan; n], vec![nan; nv], 1),
            }
        } else {
            match am.self_adjoint_eigenvalues(side) {
                Ok(w) => (w, Vec::new(), 0),
                Err(_) => (vec![nan; n], Vec::new(), 1),
            }
        }
    });
    let mut w = Vec::new();
    let mut v = Vec::new();
    let mut info = Vec::new();
    for (wi, vi, ii) in res {
        w.extend(wi);
        v.extend(vi);
        info.push(ii);
    }
    (w, v, info)
}

/// SVD of each `m x n` matrix: U, S (descending), Vh. With `full`, U is `m x m` and Vh
/// `n x n`, else `m x k` and `k x n` (k = min(m, n)); without `want_uv`, U and Vh are
/// empty. A matrix with a non-finite entry gives NaNs; `info` is 1 where the iteration
/// did not converge.
pub fn svd<T: LinalgFloat>(
    a: &[T],
    batch: usize,
    m: usize,
    n: usize,
    full: bool,
    want_uv: bool,
) -> (Vec<T>, Vec<T>, Vec<T>, Vec<i32>) {
    let k = m.min(n);
    let (uc, vr) = if full { (m, n) } else { (k, k) };
    let res = per_matrix(a, batch, |am| {
        let nan = T::cast_from_f64(f64::NAN);
        let (nu, nvh) = if want_uv { (m * uc, vr * n) } else { (0, 0) };
        if k == 0 {
            let (mut u, mut vh) = (Vec::new(), Vec::new());
            if want_uv {
                push_eye(m, uc, &mut u);
                push_eye(vr, n, &mut vh);
            }
            return (u, Vec::new(), vh, 0);
        }
        if !all_finite(am) {
            return (vec![nan; nu], vec![nan; k], vec![nan; nvh], 0);
        }
        let am = MatRef::from_row_major_slice(am, m, n);
        if !want_uv {
            return match am.singular_values() {
                Ok(s) => (Vec::new(), s, Vec::new(), 0),
                Err(_) => (Vec::new(), vec![nan; k], Vec::new(), 1),
            };
        }
        let r = if full {
            Svd::new(am)
        } else {
            Svd::new_thin(am)
        };
        match r {
            Ok(f) => {
                let s: Vec<T> = f.S().column_vector().iter().copied().collect();
                let mut u = Vec::with_capacity(nu);
                push_rows(f.U(), &mut u);
                let mut vh = Vec::with_capacity(nvh);
                push_rows_t(f.V(), &mut vh);
                (u, s, vh, 0)
            }
            Err(_) => (vec![nan; nu], vec![nan; k], vec![nan; nvh], 1),
        }
    });
    let (mut u, mut s, mut vh, mut info) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (ui, si, vi, ii) in res {
        u.extend(ui);
        s.extend(si);
        vh.extend(vi);
        info.push(ii);
    }
    (u, s, vh, info)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matmul(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-10, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn solve_inverse_det() {
        let a = [2.0, 1.0, 1.0, 3.0, 2.0, 1.0, 2.0, 1.0, 3.0];
        let b = [1.0, 2.0, 3.0];
        let (x, info) = solve(&a, &b, 1, 3, 1);
        assert_eq!(info, vec![0]);
        close(&matmul(&a, &x, 3, 3, 1), &b);
        let (inv, _) = inverse(&a, 1, 3);
        close(
            &matmul(&a, &inv, 3, 3, 3),
            &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        );
        let (d, s, l) = det(&a, 1, 3);
        // 2(6-1) - 1(9-2) + 1(3-4) = 2
        close(&d, &[2.0]);
        close(&s, &[1.0]);
        close(&l, &[2f64.ln()]);
        let (d, s, _) = det(&[0.0, 1.0, 1.0, 0.0], 1, 2);
        close(&d, &[-1.0]);
        close(&s, &[-1.0]);
        let (d, s, l) = det(&[0.0; 9], 1, 3);
        assert_eq!((d[0], s[0], l[0]), (0.0, 0.0, f64::NEG_INFINITY));
    }

    #[test]
    fn singular_and_not_pd() {
        let (_, info) = inverse(&[1.0, 2.0, 2.0, 4.0], 1, 2);
        assert_eq!(info, vec![2]);
        let (_, info) = cholesky(&[1.0, 2.0, 2.0, 1.0], 1, 2, false);
        assert_eq!(info, vec![2]);
        let (_, info) = cholesky(&[-1.0, 0.0, 0.0, 1.0], 1, 2, false);
        assert_eq!(info, vec![1]);
    }

    #[test]
    fn factorizations_reconstruct() {
        let a = [4.0, 2.0, 2.0, 3.0];
        let (l, info) = cholesky(&a, 1, 2, false);
        assert_eq!(info, vec![0]);
        let lt = [l[0], l[2], l[1], l[3]];
        close(&matmul(&l, &lt, 2, 2, 2), &a);
        let t = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let (q, r) = qr(&t, 1, 3, 2, false, true);
        close(&matmul(&q, &r, 3, 2, 2), &t);
        let (q, r) = qr(&t, 1, 3, 2, true, true);
        assert_eq!((q.len(), r.len()), (9, 6));
        close(&matmul(&q, &r, 3, 3, 2), &t);
        let (u, s, vh, _) = svd(&t, 1, 3, 2, false, true);
        let us: Vec<f64> = (0..6).map(|i| u[i] * s[i % 2]).collect();
        close(&matmul(&us, &vh, 3, 2, 2), &t);
        let (w, v, _) = eigh(&a, 1, 2, false, true);
        assert!(w[0] <= w[1]);
        let av = matmul(&a, &v, 2, 2, 2);
        let vw: Vec<f64> = (0..4).map(|i| v[i] * w[i % 2]).collect();
        close(&av, &vw);
    }
}
