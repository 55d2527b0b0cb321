//! Bindings of matrix products (`@`, matmul, mm, bmm, mv, dot, outer, addmm, …, einsum)
//! and norms (`norm`, and the `_linalg_*` functions behind `rtorch.linalg`).

use crate::convert::{dims_arg, dtype_arg, scalar_arg, tensor_arg};
use crate::declare::tensor_ops;
use crate::error::IntoPyResult;
use crate::tensor::{wrap, PyTensor};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};
use rtorch_core::ops::linalg::{self as la, MatrixOrd};
use rtorch_core::ops::matmul as mmul;
use rtorch_core::{Scalar, Tensor};
use rtorch_macros::module_fn;

fn coef(v: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Scalar> {
    match v {
        None => Ok(Scalar::Int(1)),
        Some(o) => {
            if let Ok(t) = o.cast::<PyTensor>() {
                return t.borrow().inner.item().py();
            }
            scalar_arg(o).ok_or_else(|| PyTypeError::new_err(format!("{name} must be a number")))
        }
    }
}

/// Runs a product without the GIL.
fn run2(
    py: Python<'_>,
    a: &Tensor,
    b: &Tensor,
    f: fn(&Tensor, &Tensor) -> rtorch_core::Result<Tensor>,
) -> rtorch_core::Result<Tensor> {
    let (a, b) = (a.clone(), b.clone());
    py.detach(move || f(&a, &b))
}

type Addfn = fn(&Tensor, &Tensor, &Tensor, Scalar, Scalar) -> rtorch_core::Result<Tensor>;

/// `input * beta + alpha * (a @ b)` without the GIL: the arguments' errors first (outer
/// `Result`), then the op's.
fn run_add(
    py: Python<'_>,
    input: &Tensor,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
    beta: Option<&Bound<'_, PyAny>>,
    alpha: Option<&Bound<'_, PyAny>>,
    f: Addfn,
) -> PyResult<rtorch_core::Result<Tensor>> {
    let a = tensor_arg(a, "argument 'mat1'")?;
    let b = tensor_arg(b, "argument 'mat2'")?;
    let (beta, alpha) = (coef(beta, "beta")?, coef(alpha, "alpha")?);
    let input = input.clone();
    Ok(py.detach(move || f(&input, &a, &b, beta, alpha)))
}

/// In-place form of an `add*` product: computes, then copies into `self`.
fn in_place(slf: &Tensor, r: rtorch_core::Result<Tensor>) -> rtorch_core::Result<()> {
    let r = r?;
    if r.shape() != slf.shape() {
        return Err(rtorch_core::Error::Runtime(format!(
            "output with shape {:?} doesn't match the broadcast shape {:?}",
            &slf.shape()[..],
            &r.shape()[..]
        )));
    }
    rtorch_core::ops::copy::copy_(slf, &r)
}

/// `ord` of a norm: a number, or 'fro' / 'nuc'.
enum Ord {
    Num(f64),
    Fro,
    Nuc,
}

fn ord_arg(o: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Ord>> {
    let Some(o) = o else { return Ok(None) };
    if o.is_none() {
        return Ok(None);
    }
    if let Ok(s) = o.cast::<PyString>() {
        return match s.to_str()? {
            "fro" => Ok(Some(Ord::Fro)),
            "nuc" => Ok(Some(Ord::Nuc)),
            other => Err(PyRuntimeError::new_err(format!(
                "linalg.matrix_norm: Order {other} not supported."
            ))),
        };
    }
    match scalar_arg(o) {
        Some(s) => Ok(Some(Ord::Num(s.to_f64()))),
        None => Err(PyTypeError::new_err("ord must be a number or a string")),
    }
}

fn matrix_ord(o: Ord) -> MatrixOrd {
    match o {
        Ord::Fro => MatrixOrd::Fro,
        Ord::Nuc => MatrixOrd::Nuc,
        Ord::Num(p) => MatrixOrd::Num(p),
    }
}

/// The legacy `torch.norm(input, p, dim, keepdim, dtype)`.
fn legacy_norm(
    x: &Tensor,
    p: Option<&Bound<'_, PyAny>>,
    dim: Option<&Bound<'_, PyAny>>,
    keepdim: bool,
    dtype: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyTensor> {
    let dims = dims_arg(dim)?.unwrap_or_default();
    let dt = dtype_arg(dtype)?;
    match ord_arg(p)?.unwrap_or(Ord::Fro) {
        Ord::Num(p) => wrap(la::vector_norm(x, p, &dims, keepdim, dt)),
        Ord::Fro => wrap(la::vector_norm(x, 2.0, &dims, keepdim, dt)),
        Ord::Nuc => {
            let d = if dims.is_empty() {
                (-2, -1)
            } else if dims.len() == 2 {
                (dims[0], dims[1])
            } else {
                return Err(PyRuntimeError::new_err(
                    "nuclear norm requires a 2-dim dim argument",
                ));
            };
            // The sum of the singular values: rtorch.linalg.matrix_norm computes them (and
            // the gradient) on top of the SVD primitive, which the core norm does not call.
            Python::attach(|py| {
                let kwargs = pyo3::types::PyDict::new(py);
                kwargs.set_item("dim", d)?;
                kwargs.set_item("keepdim", keepdim)?;
                kwargs.set_item("dtype", dtype)?;
                let r = py
                    .import("rtorch.linalg")?
                    .getattr("matrix_norm")?
                    .call((PyTensor::from(x.clone()), "nuc"), Some(&kwargs))?;
                Ok(PyTensor::from(r.cast::<PyTensor>()?.borrow().inner.clone()))
            })
        }
    }
}

#[pymethods]
impl PyTensor {
    fn __matmul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match other.cast::<PyTensor>() {
            Ok(o) => {
                let b = o.borrow().inner.clone();
                Ok(Py::new(py, wrap(run2(py, &self.inner, &b, mmul::matmul))?)?.into_any())
            }
            Err(_) => Ok(py.NotImplemented()),
        }
    }
    fn __rmatmul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match other.cast::<PyTensor>() {
            Ok(o) => {
                let a = o.borrow().inner.clone();
                Ok(Py::new(py, wrap(run2(py, &a, &self.inner, mmul::matmul))?)?.into_any())
            }
            Err(_) => Ok(py.NotImplemented()),
        }
    }
    #[pyo3(signature = (p=None, dim=None, keepdim=false, dtype=None))]
    fn norm(
        &self,
        p: Option<&Bound<'_, PyAny>>,
        dim: Option<&Bound<'_, PyAny>>,
        keepdim: bool,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        legacy_norm(&self.inner, p, dim, keepdim, dtype)
    }
}

type Bnd<'a, 'py> = &'a Bound<'py, PyAny>;
type Opt<'a, 'py> = Option<&'a Bound<'py, PyAny>>;

// Products run without the GIL (`run2`, `run_add`).
tensor_ops! {
    gil(py):
    matmul(other: Bnd) |x| run2(py, x, &tensor_arg(other, "argument 'other'")?, mmul::matmul);
    mm(mat2: Bnd) |x| run2(py, x, &tensor_arg(mat2, "argument 'mat2'")?, mmul::mm);
    bmm(mat2: Bnd) |x| run2(py, x, &tensor_arg(mat2, "argument 'mat2'")?, mmul::bmm);
    mv(vec: Bnd) |x| run2(py, x, &tensor_arg(vec, "argument 'vec'")?, mmul::mv);
    dot(tensor: Bnd) |x| run2(py, x, &tensor_arg(tensor, "argument 'tensor'")?, mmul::dot);
    vdot(other: Bnd) |x| run2(py, x, &tensor_arg(other, "argument 'other'")?, mmul::vdot);
    outer(vec2: Bnd) as ger |x| run2(py, x, &tensor_arg(vec2, "argument 'vec2'")?, mmul::outer);
    addmm(mat1: Bnd, mat2: Bnd; beta: Opt = None, alpha: Opt = None)
        |x| run_add(py, x, mat1, mat2, beta, alpha, mmul::addmm)?,
        in_place addmm_ |x| in_place(x, run_add(py, x, mat1, mat2, beta, alpha, mmul::addmm)?);
    addmv(mat: Bnd, vec: Bnd; beta: Opt = None, alpha: Opt = None)
        |x| run_add(py, x, mat, vec, beta, alpha, mmul::addmv)?,
        in_place_and_fn addmv_ |x| in_place(x, run_add(py, x, mat, vec, beta, alpha, mmul::addmv)?);
    baddbmm(batch1: Bnd, batch2: Bnd; beta: Opt = None, alpha: Opt = None)
        |x| run_add(py, x, batch1, batch2, beta, alpha, mmul::baddbmm)?,
        in_place baddbmm_ |x| in_place(x, run_add(py, x, batch1, batch2, beta, alpha, mmul::baddbmm)?);
    addbmm(batch1: Bnd, batch2: Bnd; beta: Opt = None, alpha: Opt = None)
        |x| run_add(py, x, batch1, batch2, beta, alpha, mmul::addbmm)?,
        in_place addbmm_ |x| in_place(x, run_add(py, x, batch1, batch2, beta, alpha, mmul::addbmm)?);
    addr(vec1: Bnd, vec2: Bnd; beta: Opt = None, alpha: Opt = None)
        |x| run_add(py, x, vec1, vec2, beta, alpha, mmul::addr)?,
        in_place addr_ |x| in_place(x, run_add(py, x, vec1, vec2, beta, alpha, mmul::addr)?);
}

/// `einsum(equation, *operands)` or `einsum(equation, [operands])`.
#[module_fn]
#[pyo3(signature = (equation, *operands))]
fn einsum(py: Python<'_>, equation: &str, operands: &Bound<'_, PyTuple>) -> PyResult<PyTensor> {
    let mut ts = Vec::with_capacity(operands.len());
    let items: Vec<Bound<'_, PyAny>> = if operands.len() == 1
        && (operands.get_item(0)?.cast::<PyList>().is_ok()
            || operands.get_item(0)?.cast::<PyTuple>().is_ok())
    {
        operands.get_item(0)?.try_iter()?.collect::<PyResult<_>>()?
    } else {
        operands.iter().collect()
    };
    for o in &items {
        ts.push(tensor_arg(o, "einsum(): operand")?);
    }
    let eq = equation.to_string();
    wrap(py.detach(move || mmul::einsum(&eq, &ts)))
}

#[module_fn]
#[pyo3(signature = (input, p=None, dim=None, keepdim=false, out=None, dtype=None))]
fn norm(
    input: PyRef<'_, PyTensor>,
    p: Option<&Bound<'_, PyAny>>,
    dim: Option<&Bound<'_, PyAny>>,
    keepdim: bool,
    out: Option<&Bound<'_, PyAny>>,
    dtype: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let t = legacy_norm(&input.inner, p, dim, keepdim, dtype)?;
    crate::out::finish_out(
        input.py(),
        Ok(t.inner.clone()),
        out,
        &[&input.inner],
        "norm",
    )
}

#[module_fn]
#[pyo3(signature = (x, ord=None, dim=None, keepdim=false, dtype=None))]
fn _linalg_vector_norm(
    x: PyRef<'_, PyTensor>,
    ord: Option<&Bound<'_, PyAny>>,
    dim: Option<&Bound<'_, PyAny>>,
    keepdim: bool,
    dtype: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyTensor> {
    let p = match ord_arg(ord)? {
        None => 2.0,
        Some(Ord::Num(p)) => p,
        Some(_) => {
            return Err(PyRuntimeError::new_err(
                "linalg.vector_norm: ord must be a number",
            ))
        }
    };
    let dims = dims_arg(dim)?.unwrap_or_default();
    wrap(la::vector_norm(
        &x.inner,
        p,
        &dims,
        keepdim,
        dtype_arg(dtype)?,
    ))
}

#[module_fn]
#[pyo3(signature = (x, ord=None, dim=None, keepdim=false, dtype=None))]
fn _linalg_matrix_norm(
    x: PyRef<'_, PyTensor>,
    ord: Option<&Bound<'_, PyAny>>,
    dim: Option<&Bound<'_, PyAny>>,
    keepdim: bool,
    dtype: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyTensor> {
    let o = matrix_ord(ord_arg(ord)?.unwrap_or(Ord::Fro));
    let dims = dims_arg(dim)?.unwrap_or_else(|| vec![-2, -1]);
    if dims.len() != 2 {
        return Err(PyRuntimeError::new_err(format!(
            "linalg.matrix_norm: dim must be a 2-tuple. Got {}",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        )));
    }
    wrap(la::matrix_norm(
        &x.inner,
        o,
        (dims[0], dims[1]),
        keepdim,
        dtype_arg(dtype)?,
    ))
}

/// How bfloat16 matrix products run in this process: "amx", "avx512_bf16" or "float32"
/// (diagnostics and tests; `RTORCH_DISABLE_AMX=1` and `RTORCH_CPU_CAPABILITY=avx2` turn
/// the native kernels off).
#[module_fn]
fn _bf16_matmul_kernel() -> &'static str {
    rtorch_core::cpu::gemm::bf16_matmul_kernel()
}
