//! Bindings of the decomposition primitives behind `rtorch.linalg` (solve, inv, det,
//! cholesky, qr, eigh, svd). They are private (`_C._linalg_*`): `python/rtorch/linalg.py`
//! wraps them with PyTorch's signatures, broadcasting, errors and gradients. The
//! kernels run without the GIL.

use crate::error::IntoPyResult;
use crate::tensor::PyTensor;
use pyo3::prelude::*;
use rtorch_core::ops::linalg_decomp as d;
use rtorch_core::Tensor;
use rtorch_macros::module_fn;

fn t(x: Tensor) -> PyTensor {
    PyTensor::from(x)
}

/// `(X, info)` with `A X = B` (same batch shape, `B` of shape `(*, n, k)`).
#[module_fn]
fn _linalg_solve_ex(
    py: Python<'_>,
    a: PyRef<'_, PyTensor>,
    b: PyRef<'_, PyTensor>,
    name: &str,
) -> PyResult<(PyTensor, PyTensor)> {
    let (a, b, name) = (a.inner.clone(), b.inner.clone(), name.to_string());
    let (x, info) = py.detach(move || d::solve_ex(&a, &b, &name)).py()?;
    Ok((t(x), t(info)))
}

/// `X` with `T X = B` for the triangle `T` of `A` (same batch shape, `B` of shape
/// `(*, n, k)`).
#[module_fn]
fn _linalg_solve_triangular(
    py: Python<'_>,
    a: PyRef<'_, PyTensor>,
    b: PyRef<'_, PyTensor>,
    upper: bool,
    unitriangular: bool,
) -> PyResult<PyTensor> {
    let (a, b) = (a.inner.clone(), b.inner.clone());
    let x = py
        .detach(move || d::solve_triangular(&a, &b, upper, unitriangular))
        .py()?;
    Ok(t(x))
}

/// `(LU, pivots, info)`: LU with partial pivoting, L and U packed, LAPACK's pivots.
#[module_fn]
fn _linalg_lu_factor_ex(
    py: Python<'_>,
    a: PyRef<'_, PyTensor>,
    name: &str,
) -> PyResult<(PyTensor, PyTensor, PyTensor)> {
    let (a, name) = (a.inner.clone(), name.to_string());
    let (lu, piv, info) = py.detach(move || d::lu_factor_ex(&a, &name)).py()?;
    Ok((t(lu), t(piv), t(info)))
}

/// `(inverse, info)`.
#[module_fn]
fn _linalg_inv_ex(
    py: Python<'_>,
    a: PyRef<'_, PyTensor>,
    name: &str,
) -> PyResult<(PyTensor, PyTensor)> {
    let (a, name) = (a.inner.clone(), name.to_string());
    let (x, info) = py.detach(move || d::inv_ex(&a, &name)).py()?;
    Ok((t(x), t(info)))
}

/// `(det, sign, logabsdet)`.
#[module_fn]
fn _linalg_det(
    py: Python<'_>,
    a: PyRef<'_, PyTensor>,
    name: &str,
) -> PyResult<(PyTensor, PyTensor, PyTensor)> {
    let (a, name) = (a.inner.clone(), name.to_string());
    let (det, sign, logabs) = py.detach(move || d::det(&a, &name)).py()?;
    Ok((t(det), t(sign), t(logabs)))
}

/// `(L, info)` (or `(U, info)` with `upper`).
#[module_fn]
fn _linalg_cholesky_ex(
    py: Python<'_>,
    a: PyRef<'_, PyTensor>,
    upper: bool,
    name: &str,
) -> PyResult<(PyTensor, PyTensor)> {
    let (a, name) = (a.inner.clone(), name.to_string());
    let (l, info) = py.detach(move || d::cholesky_ex(&a, upper, &name)).py()?;
    Ok((t(l), t(info)))
}

/// `(Q, R)` for mode 'reduced', 'complete' or 'r'.
#[module_fn]
fn _linalg_qr(
    py: Python<'_>,
    a: PyRef<'_, PyTensor>,
    mode: &str,
) -> PyResult<(PyTensor, PyTensor)> {
    let (a, mode) = (a.inner.clone(), mode.to_string());
    let (q, r) = py.detach(move || d::qr(&a, &mode)).py()?;
    Ok((t(q), t(r)))
}

/// `(eigenvalues, eigenvectors, info)`.
#[module_fn]
fn _linalg_eigh(
    py: Python<'_>,
    a: PyRef<'_, PyTensor>,
    upper: bool,
    vectors: bool,
    name: &str,
) -> PyResult<(PyTensor, PyTensor, PyTensor)> {
    let (a, name) = (a.inner.clone(), name.to_string());
    let (w, v, info) = py.detach(move || d::eigh(&a, upper, vectors, &name)).py()?;
    Ok((t(w), t(v), t(info)))
}

/// `(U, S, Vh, info)`.
#[module_fn]
fn _linalg_svd(
    py: Python<'_>,
    a: PyRef<'_, PyTensor>,
    full_matrices: bool,
    compute_uv: bool,
    name: &str,
) -> PyResult<(PyTensor, PyTensor, PyTensor, PyTensor)> {
    let (a, name) = (a.inner.clone(), name.to_string());
    let (u, s, vh, info) = py
        .detach(move || d::svd(&a, full_matrices, compute_uv, &name))
        .py()?;
    Ok((t(u), t(s), t(vh), t(info)))
}
