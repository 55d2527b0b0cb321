//! The decompositions behind `torch.linalg` (solve, inv, det, cholesky, qr, eigh, svd):
//! checks, dtype dispatch and output tensors around the kernels of `cpu::linalg`.
//!
//! These are forward-only primitives: their gradients are `autograd.Function`s in
//! `python/rtorch/linalg.py` (see the note there). Numerical failures are returned as
//! `info` tensors (int32, one per matrix, LAPACK's convention) for the caller to turn
//! into `LinAlgError`, as PyTorch's `*_ex` functions do.

use crate::cpu::linalg as k;
use crate::device::{Backend, Device};
use crate::dtype::DType;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Batch dims, rows and columns of a `(*, m, n)` tensor after the common checks:
/// at least two dims, a float32/float64 CPU tensor.
fn check_matrix(a: &Tensor, name: &str) -> Result<(Vec<usize>, usize, usize)> {
    if a.dim() < 2 {
        return Err(Error::Runtime(format!(
            "{name}: The input tensor A must have at least 2 dimensions."
        )));
    }
    match a.dtype() {
        DType::F32 | DType::F64 => {}
        DType::F16 | DType::BF16 => {
            return Err(Error::Runtime(format!(
                "{name}: Low precision dtypes not supported. Got {}",
                a.dtype().scalar_type_name()
            )))
        }
        d => {
            return Err(Error::NotImplemented(format!(
                "{name}: Expected a floating point or complex tensor as input. Got {}",
                d.scalar_type_name()
            )))
        }
    }
    let s = a.shape();
    let nd = s.len();
    Ok((s[..nd - 2].to_vec(), s[nd - 2], s[nd - 1]))
}

/// As `check_matrix`, and square.
fn check_square(a: &Tensor, name: &str) -> Result<(Vec<usize>, usize)> {
    let (batch, m, n) = check_matrix(a, name)?;
    if m != n {
        return Err(Error::Runtime(format!(
            "{name}: A must be batches of square matrices, but they are {m} by {n} matrices"
        )));
    }
    Ok((batch, n))
}

fn numel(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::Runtime("linalg: the tensor size overflows".into()))
}

fn with(batch: &[usize], tail: &[usize]) -> Vec<usize> {
    let mut s = batch.to_vec();
    s.extend_from_slice(tail);
    s
}

fn info_tensor(info: Vec<i32>, batch: &[usize]) -> Result<Tensor> {
    Tensor::from_vec(info, batch)
}

/// Shape-only outputs for an input on the meta device: tensors of these shapes and
/// dtypes without values (a decomposition's shapes never depend on its values).
fn meta_outputs<const N: usize>(specs: [(&[usize], DType); N]) -> Result<[Tensor; N]> {
    let mut v = Vec::with_capacity(N);
    for (shape, dtype) in specs {
        v.push(Tensor::empty(shape, dtype, Device::Meta)?);
    }
    v.try_into()
        .map_err(|_| Error::Runtime("internal error: meta output count".into()))
}

/// The contiguous elements of `a` (copied only when `a` is not contiguous).
fn data<T: Element>(a: &Tensor) -> Result<Vec<T>> {
    a.to_vec::<T>()
}

/// Runs `$body` with `$T` bound to f32 or f64 after `a`'s dtype: the direct
/// factorisations (LU, Cholesky, QR) run in the input's own precision.
macro_rules! float_dispatch {
    ($a:expr, $T:ident => $body:expr) => {
        crate::dispatch_f32_f64!($a.dtype(), $T => $body, _ => Err(Error::Runtime(format!(
            "linalg: unsupported dtype {}",
            $a.dtype().scalar_type_name()
        ))))
    };
}

/// A result computed in float64, as a tensor of `shape` in `dtype`: the iterative
/// decompositions (eigh, svd) run in float64 for float32 inputs too and round once.
///
/// Their solvers are the largest part of faer: compiling them once instead of twice
/// keeps about 190 kB out of the extension, and float32 eigenvalues and singular
/// values come out closer than a float32 iteration's (PyTorch's LAPACK calls run in
/// float32). The price is float64 speed, still ahead of PyTorch's float32 at 256x256.
fn result(v: Vec<f64>, shape: &[usize], dtype: DType) -> Result<Tensor> {
    let t = Tensor::from_vec(v, shape)?;
    if dtype == DType::F64 {
        Ok(t)
    } else {
        crate::ops::copy::to_dtype(&t, dtype)
    }
}

/// The checks of `A X = B` for square `A (*, n, n)` and `B (*, n, k)` of the same dtype
/// and batch shape: (batch, n, k).
fn check_solve_operands(a: &Tensor, b: &Tensor, name: &str) -> Result<(Vec<usize>, usize, usize)> {
    let (batch, n) = check_square(a, name)?;
    if b.dtype() != a.dtype() {
        return Err(Error::Runtime(format!(
            "{name}: Expected A and B to have the same dtype, but found A of type {} and B of type {} instead",
            a.dtype().scalar_type_name(),
            b.dtype().scalar_type_name()
        )));
    }
    let (bb, bn, kk) = check_matrix(b, name)?;
    if bb != batch || bn != n {
        return Err(Error::Runtime(format!(
            "{name}: Incompatible shapes of A and B for the equation AX = B ({n}x{n} and {bn}x{kk})"
        )));
    }
    Ok((batch, n, kk))
}

/// `linalg.solve_ex(A, B)` for `A (*, n, n)` and `B (*, n, k)` with the same batch
/// shape (the caller broadcasts): (X, info).
pub fn solve_ex(a: &Tensor, b: &Tensor, name: &str) -> Result<(Tensor, Tensor)> {
    let (batch, n, kk) = check_solve_operands(a, b, name)?;
    let nb = numel(&batch)?;
    if Backend::of(a, &[b])? == Backend::Meta {
        let [x, info] = meta_outputs([(&with(&batch, &[n, kk]), a.dtype()), (&batch, DType::I32)])?;
        return Ok((x, info));
    }
    float_dispatch!(a, T => {
        let (x, info) = k::solve::<T>(&data::<T>(a)?, &data::<T>(b)?, nb, n, kk);
        Ok((Tensor::from_vec(x, &with(&batch, &[n, kk]))?, info_tensor(info, &batch)?))
    })
}

/// `linalg.solve_triangular(A, B, upper, left=True, unitriangular)` for `A (*, n, n)`
/// and `B (*, n, k)` with the same batch shape (the caller broadcasts and turns a right
/// solve into a left one): X, inf/NaN where the diagonal holds a zero, as PyTorch.
pub fn solve_triangular(a: &Tensor, b: &Tensor, upper: bool, unit: bool) -> Result<Tensor> {
    let (batch, n, kk) = check_solve_operands(a, b, "linalg.solve_triangular")?;
    let nb = numel(&batch)?;
    if Backend::of(a, &[b])? == Backend::Meta {
        let [x] = meta_outputs([(&with(&batch, &[n, kk]), a.dtype())])?;
        return Ok(x);
    }
    float_dispatch!(a, T => {
        let x = k::solve_triangular::<T>(&data::<T>(a)?, &data::<T>(b)?, nb, n, kk, upper, unit);
        Tensor::from_vec(x, &with(&batch, &[n, kk]))
    })
}

/// `linalg.lu_factor_ex(A)` with pivoting: (LU packed, pivots int32 1-based, info).
pub fn lu_factor_ex(a: &Tensor, name: &str) -> Result<(Tensor, Tensor, Tensor)> {
    let (batch, m, n) = check_matrix(a, name)?;
    let nb = numel(&batch)?;
    let k = m.min(n);
    if a.device() == Device::Meta {
        let [lu, piv, info] = meta_outputs([
            (&with(&batch, &[m, n]), a.dtype()),
            (&with(&batch, &[k]), DType::I32),
            (&batch, DType::I32),
        ])?;
        return Ok((lu, piv, info));
    }
    float_dispatch!(a, T => {
        let (lu, piv, info) = k::lu_factor::<T>(&data::<T>(a)?, nb, m, n);
        Ok((
            Tensor::from_vec(lu, &with(&batch, &[m, n]))?,
            Tensor::from_vec(piv, &with(&batch, &[k]))?,
            info_tensor(info, &batch)?,
        ))
    })
}

/// `linalg.inv_ex(A)`: (inverse, info).
pub fn inv_ex(a: &Tensor, name: &str) -> Result<(Tensor, Tensor)> {
    let (batch, n) = check_square(a, name)?;
    let nb = numel(&batch)?;
    if a.device() == Device::Meta {
        let [x, info] = meta_outputs([(&with(&batch, &[n, n]), a.dtype()), (&batch, DType::I32)])?;
        return Ok((x, info));
    }
    float_dispatch!(a, T => {
        let (x, info) = k::inverse::<T>(&data::<T>(a)?, nb, n);
        Ok((Tensor::from_vec(x, &with(&batch, &[n, n]))?, info_tensor(info, &batch)?))
    })
}

/// (det, sign, log|det|) of `A (*, n, n)`.
pub fn det(a: &Tensor, name: &str) -> Result<(Tensor, Tensor, Tensor)> {
    let (batch, n) = check_square(a, name)?;
    let nb = numel(&batch)?;
    if a.device() == Device::Meta {
        let [d, s, l] = meta_outputs([
            (&batch, a.dtype()),
            (&batch, a.dtype()),
            (&batch, a.dtype()),
        ])?;
        return Ok((d, s, l));
    }
    float_dispatch!(a, T => {
        let (d, s, l) = k::det::<T>(&data::<T>(a)?, nb, n);
        Ok((
            Tensor::from_vec(d, &batch)?,
            Tensor::from_vec(s, &batch)?,
            Tensor::from_vec(l, &batch)?,
        ))
    })
}

/// `linalg.cholesky_ex(A, upper)`: (L or U, info).
pub fn cholesky_ex(a: &Tensor, upper: bool, name: &str) -> Result<(Tensor, Tensor)> {
    let (batch, n) = check_square(a, name)?;
    let nb = numel(&batch)?;
    if a.device() == Device::Meta {
        let [l, info] = meta_outputs([(&with(&batch, &[n, n]), a.dtype()), (&batch, DType::I32)])?;
        return Ok((l, info));
    }
    float_dispatch!(a, T => {
        let (l, info) = k::cholesky::<T>(&data::<T>(a)?, nb, n, upper);
        Ok((Tensor::from_vec(l, &with(&batch, &[n, n]))?, info_tensor(info, &batch)?))
    })
}

/// `linalg.qr(A, mode)` with mode 'reduced', 'complete' or 'r' (Q empty): (Q, R).
pub fn qr(a: &Tensor, mode: &str) -> Result<(Tensor, Tensor)> {
    let name = "linalg.qr";
    let (complete, want_q) = match mode {
        "reduced" => (false, true),
        "complete" => (true, true),
        "r" => (false, false),
        other => {
            return Err(Error::Runtime(format!(
                "qr received unrecognized mode '{other}' but expected one of 'reduced' (default), 'r', or 'complete'"
            )))
        }
    };
    let (batch, m, n) = check_matrix(a, name)?;
    let nb = numel(&batch)?;
    let kk = m.min(n);
    let (qc, rr) = if complete { (m, m) } else { (kk, kk) };
    if a.device() == Device::Meta {
        let q_shape = if want_q {
            with(&batch, &[m, qc])
        } else {
            vec![0]
        };
        let [q, r] = meta_outputs([(&q_shape, a.dtype()), (&with(&batch, &[rr, n]), a.dtype())])?;
        return Ok((q, r));
    }
    float_dispatch!(a, T => {
        let (q, r) = k::qr::<T>(&data::<T>(a)?, nb, m, n, complete, want_q);
        let q = if want_q {
            Tensor::from_vec(q, &with(&batch, &[m, qc]))?
        } else {
            Tensor::from_vec(Vec::<T>::new(), &[0])?
        };
        Ok((q, Tensor::from_vec(r, &with(&batch, &[rr, n]))?))
    })
}

/// `linalg.eigh(A, UPLO)`: (eigenvalues ascending, eigenvectors, info); without
/// `want_vectors` the eigenvectors are an empty tensor.
pub fn eigh(
    a: &Tensor,
    upper: bool,
    want_vectors: bool,
    name: &str,
) -> Result<(Tensor, Tensor, Tensor)> {
    if a.dim() >= 2 && !a.dtype().is_floating_point() {
        return Err(Error::NotImplemented(format!(
            "\"linalg_eigh_cpu\" not implemented for '{}'",
            a.dtype().scalar_type_name()
        )));
    }
    let (batch, n) = check_square(a, name)?;
    let nb = numel(&batch)?;
    if a.device() == Device::Meta {
        let v_shape = if want_vectors {
            with(&batch, &[n, n])
        } else {
            vec![0]
        };
        let [w, v, info] = meta_outputs([
            (&with(&batch, &[n]), a.dtype()),
            (&v_shape, a.dtype()),
            (&batch, DType::I32),
        ])?;
        return Ok((w, v, info));
    }
    let dt = a.dtype();
    let (w, v, info) = k::eigh(&data::<f64>(a)?, nb, n, upper, want_vectors);
    let v_shape = if want_vectors {
        with(&batch, &[n, n])
    } else {
        vec![0]
    };
    Ok((
        result(w, &with(&batch, &[n]), dt)?,
        result(v, &v_shape, dt)?,
        info_tensor(info, &batch)?,
    ))
}

/// `linalg.svd(A, full_matrices)`: (U, S descending, Vh, info); without `want_uv`,
/// U and Vh are empty tensors.
pub fn svd(
    a: &Tensor,
    full: bool,
    want_uv: bool,
    name: &str,
) -> Result<(Tensor, Tensor, Tensor, Tensor)> {
    let (batch, m, n) = check_matrix(a, name)?;
    let nb = numel(&batch)?;
    let kk = m.min(n);
    let (uc, vr) = if full { (m, n) } else { (kk, kk) };
    if a.device() == Device::Meta {
        let (us, vs) = if want_uv {
            (with(&batch, &[m, uc]), with(&batch, &[vr, n]))
        } else {
            (vec![0], vec![0])
        };
        let [u, sv, vh, info] = meta_outputs([
            (&us, a.dtype()),
            (&with(&batch, &[kk]), a.dtype()),
            (&vs, a.dtype()),
            (&batch, DType::I32),
        ])?;
        return Ok((u, sv, vh, info));
    }
    let dt = a.dtype();
    let (u, s, vh, info) = k::svd(&data::<f64>(a)?, nb, m, n, full, want_uv);
    let (us, vs) = if want_uv {
        (with(&batch, &[m, uc]), with(&batch, &[vr, n]))
    } else {
        (vec![0], vec![0])
    };
    Ok((
        result(u, &us, dt)?,
        result(s, &with(&batch, &[kk]), dt)?,
        result(vh, &vs, dt)?,
        info_tensor(info, &batch)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks() {
        let r = Tensor::zeros(&[2, 3], DType::F64).unwrap();
        let e = inv_ex(&r, "linalg.inv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "linalg.inv: A must be batches of square matrices, but they are 2 by 3 matrices"
        );
        let i = Tensor::zeros(&[2, 2], DType::I64).unwrap();
        assert!(matches!(
            inv_ex(&i, "linalg.inv"),
            Err(Error::NotImplemented(_))
        ));
        let v = Tensor::zeros(&[3], DType::F32).unwrap();
        assert!(svd(&v, false, true, "linalg.svd").is_err());
    }

    #[test]
    fn batched_shapes() {
        let a = Tensor::zeros(&[2, 0, 4, 3], DType::F32).unwrap();
        let (u, s, vh, info) = svd(&a, true, true, "linalg.svd").unwrap();
        assert_eq!(&u.shape()[..], &[2, 0, 4, 4]);
        assert_eq!(&s.shape()[..], &[2, 0, 3]);
        assert_eq!(&vh.shape()[..], &[2, 0, 3, 3]);
        assert_eq!(&info.shape()[..], &[2, 0]);
        let (q, r) = qr(&Tensor::zeros(&[3, 0], DType::F64).unwrap(), "complete").unwrap();
        assert_eq!(
            q.to_f64_vec().unwrap(),
            vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        );
        assert_eq!(&r.shape()[..], &[3, 0]);
    }
}
