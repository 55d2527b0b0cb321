//! Matrix products: `matmul` in all its shape forms, `mm`, `bmm`, `mv`, `dot`, `vdot`,
//! `outer`, `addmm`, `addmv`, `baddbmm`, `addbmm` and `einsum`.
//!
//! Everything funnels into one primitive, [`batched_mm`]: `a (*batch, m, k) @ b (*batch,
//! k, n)` with the same batch shape on both sides and arbitrary strides (a broadcast batch
//! dim is an expanded view with stride 0, so it is never copied). Floats go to the `gemm`
//! crate, which reads row and column strides directly, so transposed operands need no
//! copy either; integers use a plain loop. The backward of the primitive is two more
//! primitive calls, so every product here is differentiable to any order, and the
//! broadcast batch dims are summed back by the backward of `expand`.

use super::binary::{add_scaled, mul, mul_scalar, Rhs};
use super::shape::{expand_to, permute, reshape_to, squeeze, transpose, unsqueeze};
use crate::autograd::{needs_grad, record, SavedTensor};
use crate::cpu::gemm;
use crate::device::Device;
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};
use crate::layout::{broadcast_shapes, Dims};
use crate::tensor::Tensor;

use crate::cpu::gemm::PAR_FLOPS;

fn same_dtype(a: &Tensor, b: &Tensor) -> Result<()> {
    if a.dtype() != b.dtype() {
        return Err(Error::Runtime(format!(
            "expected m1 and m2 to have the same dtype, but got: {} != {}",
            a.dtype().cpp_type_name(),
            b.dtype().cpp_type_name()
        )));
    }
    Ok(())
}

fn check_supported(dtype: DType) -> Result<()> {
    if dtype == DType::Bool {
        return Err(Error::NotImplemented(
            "\"addmm_impl_cpu_\" not implemented for 'Bool'".into(),
        ));
    }
    Ok(())
}

// ----- the kernel -----

/// Strides of the last two dims of `t` (rows, cols) and the batch offsets.
struct MatView {
    ptr_offsets: Vec<usize>,
    rs: isize,
    cs: isize,
}

/// Element offsets of every batch entry of `t` (all dims but the last two), in row-major
/// batch order.
fn batch_offsets(t: &Tensor) -> Vec<usize> {
    let nd = t.dim();
    let bshape = &t.shape()[..nd - 2];
    let bstr = &t.strides()[..nd - 2];
    let count: usize = bshape.iter().product();
    let mut out = Vec::with_capacity(count);
    let mut idx = vec![0usize; bshape.len()];
    for _ in 0..count {
        out.push(idx.iter().zip(bstr).map(|(i, s)| i * s).sum());
        for d in (0..idx.len()).rev() {
            idx[d] += 1;
            if idx[d] < bshape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

fn mat_view(t: &Tensor) -> MatView {
    let nd = t.dim();
    MatView {
        ptr_offsets: batch_offsets(t),
        rs: t.strides()[nd - 2] as isize,
        cs: t.strides()[nd - 1] as isize,
    }
}

/// `out (*batch, m, n) = a @ b` for same-dtype operands with equal batch shapes; no
/// autograd. `out` is a fresh contiguous tensor.
fn bmm_kernel(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    bmm_kernel_with_bias(a, b, None)
}

/// [`bmm_kernel`] for bfloat16/float16 operands, `bias` added to the float32 sums
/// before their one rounding (see [`gemm::batched_half`] for its layout); no autograd.
pub(crate) fn bmm_half_with_bias(a: &Tensor, b: &Tensor, bias: gemm::Bias) -> Result<Tensor> {
    if !matches!(a.dtype(), DType::BF16 | DType::F16) || a.dtype() != b.dtype() {
        return Err(Error::Runtime(format!(
            "bmm_half_with_bias: expected bfloat16 or float16 operands, got {} and {}",
            a.dtype().scalar_type_name(),
            b.dtype().scalar_type_name()
        )));
    }
    bmm_kernel_with_bias(a, b, Some(bias))
}

/// [`bmm_kernel`], with a bias for the 16-bit kernels (`None` for other dtypes).
fn bmm_kernel_with_bias(a: &Tensor, b: &Tensor, bias: Option<gemm::Bias>) -> Result<Tensor> {
    let nd = a.dim();
    let (m, k, n) = (a.shape()[nd - 2], a.shape()[nd - 1], b.shape()[nd - 1]);
    let mut out_shape: Dims = a.shape()[..nd - 2].into();
    out_shape.push(m);
    out_shape.push(n);
    let dtype = a.dtype();
    if k == 0 || m == 0 || n == 0 {
        return Tensor::empty(&out_shape, dtype, Tensor::result_device(&[a, b]));
    }
    let out = Tensor::uninit(&out_shape, dtype, a.device())?;
    let av = mat_view(a);
    let bv = mat_view(b);
    let batch = av.ptr_offsets.len();
    if batch == 0 || !Tensor::has_values(&out, &[a, b])? {
        return Ok(out);
    }
    let al = gemm::MatLayout {
        offsets: &av.ptr_offsets,
        rs: av.rs,
        cs: av.cs,
    };
    let bl = gemm::MatLayout {
        offsets: &bv.ptr_offsets,
        rs: bv.rs,
        cs: bv.cs,
    };
    let threads = crate::cpu::get_num_threads();
    // SAFETY (all five calls): the offsets and strides come from the operands' own
    // layouts, which stay inside their storages; `out` is a fresh contiguous
    // (batch, m, n) tensor that overlaps neither operand.
    match dtype {
        DType::F32 => unsafe {
            gemm::batched_float::<f32>(
                m,
                n,
                k,
                a.cpu_view()?.ptr(),
                &al,
                b.cpu_view()?.ptr(),
                &bl,
                out.cpu_view_mut()?.ptr(),
                threads,
            )
        },
        DType::F64 => unsafe {
            gemm::batched_float::<f64>(
                m,
                n,
                k,
                a.cpu_view()?.ptr(),
                &al,
                b.cpu_view()?.ptr(),
                &bl,
                out.cpu_view_mut()?.ptr(),
                threads,
            )
        },
        DType::BF16 => unsafe {
            gemm::batched_half::<half::bf16>(
                m,
                n,
                k,
                a.cpu_view()?.ptr(),
                &al,
                b.cpu_view()?.ptr(),
                &bl,
                out.cpu_view_mut()?.ptr(),
                bias,
                threads,
            )
        },
        DType::F16 => unsafe {
            gemm::batched_half::<half::f16>(
                m,
                n,
                k,
                a.cpu_view()?.ptr(),
                &al,
                b.cpu_view()?.ptr(),
                &bl,
                out.cpu_view_mut()?.ptr(),
                bias,
                threads,
            )
        },
        _ => {
            crate::dispatch_int!(dtype, T => {
                let (pa, pb) = (a.cpu_view::<T>()?.ptr(), b.cpu_view::<T>()?.ptr());
                unsafe { gemm::batched_int::<T>(m, n, k, pa, &al, pb, &bl, out.cpu_view_mut()?.ptr()) }
            }, _ => return Err(Error::NotImplemented(format!(
                "\"addmm_impl_cpu_\" not implemented for '{}'",
                dtype.scalar_type_name()
            ))))
        }
    }
    Ok(out)
}

// ----- the differentiable primitive -----

/// `a (*batch, m, k) @ b (*batch, k, n)`: both operands already have the same batch shape
/// and dtype. Records `name` with the backward `ga = g @ b^T`, `gb = a^T @ g`.
pub fn batched_mm(name: &'static str, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let out = bmm_kernel(a, b)?;
    if needs_grad(&[a, b]) {
        let (ra, rb) = (a.requires_grad(), b.requires_grad());
        let saved_a = rb.then(|| SavedTensor::input(a));
        let saved_b = ra.then(|| SavedTensor::input(b));
        record(name, &[a, b], &out, move |ctx, g| {
            // (Only the gradients this pass uses: `autograd.grad` of one operand.)
            let ga = match &saved_b {
                Some(b) if ctx.needs_input_grad(0) => {
                    let bt = transpose(&b.unpack(ctx)?, -1, -2)?;
                    Some(batched_mm(name, g, &bt)?)
                }
                _ => None,
            };
            let gb = match &saved_a {
                Some(a) if ctx.needs_input_grad(1) => {
                    let at = transpose(&a.unpack(ctx)?, -1, -2)?;
                    Some(batched_mm(name, &at, g)?)
                }
                _ => None,
            };
            Ok(vec![ga, gb])
        });
    }
    Ok(out)
}

fn shape_x(s: &[usize]) -> String {
    s.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("x")
}

// ----- public ops -----

/// `mm(a, b)`: 2-D by 2-D.
pub fn mm(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if a.dim() != 2 {
        return Err(Error::Runtime(format!(
            "self must be a matrix, got {}-D tensor",
            a.dim()
        )));
    }
    if b.dim() != 2 {
        return Err(Error::Runtime(format!(
            "mat2 must be a matrix, got {}-D tensor",
            b.dim()
        )));
    }
    if a.shape()[1] != b.shape()[0] {
        return Err(Error::Runtime(format!(
            "mat1 and mat2 shapes cannot be multiplied ({} and {})",
            shape_x(a.shape()),
            shape_x(b.shape())
        )));
    }
    same_dtype(a, b)?;
    check_supported(a.dtype())?;
    batched_mm("MmBackward0", a, b)
}

/// `bmm(a, b)`: 3-D by 3-D with equal batch sizes.
pub fn bmm(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if a.dim() != 3 {
        return Err(Error::Runtime("batch1 must be a 3D tensor".into()));
    }
    if b.dim() != 3 {
        return Err(Error::Runtime("batch2 must be a 3D tensor".into()));
    }
    if b.shape()[0] != a.shape()[0] || b.shape()[1] != a.shape()[2] {
        return Err(Error::Runtime(format!(
            "Expected size for first two dimensions of batch2 tensor to be: [{}, {}] but got: [{}, {}].",
            a.shape()[0],
            a.shape()[2],
            b.shape()[0],
            b.shape()[1]
        )));
    }
    same_dtype(a, b)?;
    check_supported(a.dtype())?;
    batched_mm("BmmBackward0", a, b)
}

/// `mv(mat, vec)`.
pub fn mv(a: &Tensor, v: &Tensor) -> Result<Tensor> {
    if a.dim() != 2 || v.dim() != 1 {
        return Err(Error::Runtime(format!(
            "vector + matrix @ vector expected, got 1, {}, {}",
            a.dim(),
            v.dim()
        )));
    }
    if a.shape()[1] != v.shape()[0] {
        return Err(Error::Runtime(format!(
            "size mismatch, got input ({}), mat ({}), vec ({})",
            a.shape()[0],
            shape_x(a.shape()),
            v.shape()[0]
        )));
    }
    same_dtype(a, v)?;
    check_supported(a.dtype())?;
    let r = batched_mm("MvBackward0", a, &unsqueeze(v, 1)?)?;
    squeeze(&r, Some(&[1]))
}

fn check_dot(a: &Tensor, b: &Tensor, what: &str) -> Result<()> {
    if a.dim() != 1 || b.dim() != 1 {
        return Err(Error::Runtime(format!(
            "1D tensors expected, but got {}D and {}D tensors",
            a.dim(),
            b.dim()
        )));
    }
    if a.dtype() != b.dtype() {
        return Err(Error::Runtime(format!(
            "{what} : expected both vectors to have same dtype, but found {} and {}",
            a.dtype().scalar_type_name(),
            b.dtype().scalar_type_name()
        )));
    }
    if a.shape()[0] != b.shape()[0] {
        return Err(Error::Runtime(format!(
            "inconsistent tensor size, expected tensor [{}] and src [{}] to have the same number of elements, but got {} and {} elements respectively",
            a.shape()[0],
            b.shape()[0],
            a.shape()[0],
            b.shape()[0]
        )));
    }
    check_supported(a.dtype())
}

/// `dot(a, b)`: 1-D only, 0-dim result.
pub fn dot(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    check_dot(a, b, "dot")?;
    let r = batched_mm("DotBackward0", &unsqueeze(a, 0)?, &unsqueeze(b, 1)?)?;
    reshape_to(&r, &[])
}

/// `vdot(a, b)`: the same as `dot` for real tensors.
pub fn vdot(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    check_dot(a, b, "vdot")?;
    let r = batched_mm("VdotBackward0", &unsqueeze(a, 0)?, &unsqueeze(b, 1)?)?;
    reshape_to(&r, &[])
}

/// `outer(a, b)` (alias `ger`): promotes dtypes like multiplication.
pub fn outer(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    if a.dim() != 1 {
        return Err(Error::Runtime(format!(
            "outer: Expected 1-D argument self, but got {}-D",
            a.dim()
        )));
    }
    if b.dim() != 1 {
        return Err(Error::Runtime(format!(
            "outer: Expected 1-D argument vec2, but got {}-D",
            b.dim()
        )));
    }
    mul(&unsqueeze(a, 1)?, &unsqueeze(b, 0)?)
}

/// `matmul(a, b)` with NumPy's rules: 1-D operands get a dim added (and removed from
/// the result), batch dims broadcast.
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (da, db) = (a.dim(), b.dim());
    if da == 0 || db == 0 {
        return Err(Error::Runtime(format!(
            "both arguments to matmul need to be at least 1D, but they are {da}D and {db}D"
        )));
    }
    if da == 1 && db == 1 {
        return dot(a, b);
    }
    if da == 2 && db == 1 {
        return mv(a, b);
    }
    if da == 1 && db == 2 {
        if a.shape()[0] != b.shape()[0] {
            return Err(Error::Runtime(format!(
                "mm: mat1 and mat2 shapes cannot be multiplied (1x{} and {})",
                a.shape()[0],
                shape_x(b.shape())
            )));
        }
        same_dtype(a, b)?;
        check_supported(a.dtype())?;
        let r = batched_mm("MmBackward0", &unsqueeze(a, 0)?, b)?;
        return squeeze(&r, Some(&[0]));
    }
    if da == 2 && db == 2 {
        return mm(a, b).map_err(|e| match e {
            Error::Runtime(m) if m.starts_with("mat1") => Error::Runtime(format!("mm: {m}")),
            e => e,
        });
    }
    // Batched: promote 1-D operands to matrices, broadcast the batch dims.
    let a2 = if da == 1 { unsqueeze(a, 0)? } else { a.clone() };
    let b2 = if db == 1 { unsqueeze(b, 1)? } else { b.clone() };
    let (na, nb) = (a2.dim(), b2.dim());
    let (m, ka) = (a2.shape()[na - 2], a2.shape()[na - 1]);
    let (kb, n) = (b2.shape()[nb - 2], b2.shape()[nb - 1]);
    let batch = broadcast_shapes(&a2.shape()[..na - 2], &b2.shape()[..nb - 2])?;
    if ka != kb {
        let nbatch: usize = batch.iter().product();
        return Err(Error::Runtime(if nb == 2 {
            format!(
                "mat1 and mat2 shapes cannot be multiplied ({}x{ka} and {kb}x{n})",
                nbatch * m
            )
        } else {
            format!(
                "Expected size for first two dimensions of batch2 tensor to be: [{nbatch}, {ka}] but got: [{nbatch}, {kb}]."
            )
        }));
    }
    same_dtype(a, b)?;
    check_supported(a.dtype())?;
    let mut sa: Dims = batch.clone();
    sa.push(m);
    sa.push(ka);
    let mut sb: Dims = batch.clone();
    sb.push(kb);
    sb.push(n);
    let ae = expand_to(&a2, &sa)?;
    let be = expand_to(&b2, &sb)?;
    let name = if na == 2 || nb == 2 {
        "MmBackward0"
    } else {
        "BmmBackward0"
    };
    let mut r = batched_mm(name, &ae, &be)?;
    if db == 1 {
        r = squeeze(&r, Some(&[-1]))?;
    }
    if da == 1 {
        r = squeeze(&r, Some(&[-2]))?;
    }
    Ok(r)
}

/// `beta * input + alpha * prod`, skipping `input` entirely when beta is 0 (so NaN and
/// inf in it do not propagate), as PyTorch does.
fn scaled_sum(input: &Tensor, prod: &Tensor, beta: Scalar, alpha: Scalar) -> Result<Tensor> {
    let p = if alpha.to_f64() == 1.0 {
        prod.clone()
    } else {
        mul_scalar(prod, alpha)?
    };
    // Check that input broadcasts to the product's shape.
    input.layout().expand(p.shape()).map_err(|_| {
        Error::Runtime(format!(
            "The expanded size of the tensor ({}) must match the existing size ({}) at non-singleton dimension {}.  Target sizes: {}.  Tensor sizes: {}",
            p.shape().last().copied().unwrap_or(0),
            input.shape().last().copied().unwrap_or(0),
            p.dim().saturating_sub(1),
            crate::layout::fmt_shape(p.shape()),
            crate::layout::fmt_shape(input.shape())
        ))
    })?;
    if beta.to_f64() == 0.0 {
        return Ok(p);
    }
    let inp = if beta.to_f64() == 1.0 {
        input.clone()
    } else {
        mul_scalar(input, beta)?
    };
    let r = add_scaled(&inp, &Rhs::Tensor(p), Scalar::Int(1))?;
    if r.shape() != prod.shape() {
        return expand_to(&r, prod.shape());
    }
    Ok(r)
}

/// Which op of the addmm family checks its dtypes (each words the error its own way).
#[derive(Clone, Copy)]
enum AddOp {
    /// addmm and addbmm.
    Matrices,
    Addmv,
    Baddbmm,
}

/// The input and both operands of an addmm-family op share one dtype, else PyTorch's
/// error for that op.
fn check_dtypes(op: AddOp, input: &Tensor, a: &Tensor, b: &Tensor) -> Result<()> {
    let (i, x, y) = (input.dtype(), a.dtype(), b.dtype());
    if i == x && x == y {
        return Ok(());
    }
    let msg = match op {
        AddOp::Baddbmm => format!(
            "Input dtypes must be the same, got: input {}, batch1: {}, batch2: {}",
            i.cpp_type_name(),
            x.cpp_type_name(),
            y.cpp_type_name()
        ),
        AddOp::Addmv => format!(
            "addmv input tensors must have the same dtype, but got {}, {}, and {}",
            i.scalar_type_name(),
            x.scalar_type_name(),
            y.scalar_type_name()
        ),
        AddOp::Matrices if x != y => format!(
            "mat1 and mat2 must have the same dtype, but got {} and {}",
            x.scalar_type_name(),
            y.scalar_type_name()
        ),
        AddOp::Matrices => format!(
            "self and mat2 must have the same dtype, but got {} and {}",
            i.scalar_type_name(),
            y.scalar_type_name()
        ),
    };
    Err(Error::Runtime(msg))
}

/// `addmm`, `addmv` and `baddbmm` on 16-bit operands, computed in float32 and rounded
/// once, as PyTorch's (its GEMMs accumulate `beta * input + alpha * product` in
/// float32): op by op, the product, its scaling and the sum were each rounded (26-41%
/// of the bfloat16 outputs an ulp off). PyTorch's `addbmm` and `addr` round at those
/// steps, and so does their composed path here. None for other dtypes.
fn in_float32(
    ops: [&Tensor; 3],
    f: impl FnOnce(&Tensor, &Tensor, &Tensor) -> Result<Tensor>,
) -> Result<Option<Tensor>> {
    let dt = ops[1].dtype();
    if !matches!(dt, DType::BF16 | DType::F16) || ops.iter().any(|t| t.dtype() != dt) {
        return Ok(None);
    }
    let wide = |t: &Tensor| super::copy::to_dtype(t, DType::F32);
    let r = f(&wide(ops[0])?, &wide(ops[1])?, &wide(ops[2])?)?;
    super::copy::to_dtype(&r, dt).map(Some)
}

/// `addmm(input, mat1, mat2, beta, alpha) = beta * input + alpha * (mat1 @ mat2)`.
pub fn addmm(
    input: &Tensor,
    m1: &Tensor,
    m2: &Tensor,
    beta: Scalar,
    alpha: Scalar,
) -> Result<Tensor> {
    if let Some(out) = addmm_fused(input, m1, m2, beta, alpha)? {
        return Ok(out);
    }
    if let Some(r) = in_float32([input, m1, m2], |i, a, b| addmm(i, a, b, beta, alpha))? {
        return Ok(r);
    }
    check_dtypes(AddOp::Matrices, input, m1, m2)?;
    let p = mm(m1, m2)?;
    scaled_sum(input, &p, beta, alpha)
}

/// `nn.Linear`'s case in one GEMM and one `AddmmBackward0` node, as in PyTorch:
/// float32/float64 matrices, `beta = alpha = 1`, and an `input` (the bias) that
/// broadcasts to the `(m, n)` product. The output starts as the broadcast input and the
/// GEMM accumulates the product onto it. Anything else (including every error) takes
/// the composed path, which words the errors.
fn addmm_fused(
    input: &Tensor,
    m1: &Tensor,
    m2: &Tensor,
    beta: Scalar,
    alpha: Scalar,
) -> Result<Option<Tensor>> {
    let dt = m1.dtype();
    let plain = beta.to_f64() == 1.0 && alpha.to_f64() == 1.0;
    if !plain
        || !matches!(dt, DType::F32 | DType::F64 | DType::BF16 | DType::F16)
        || m2.dtype() != dt
        || input.dtype() != dt
        || m1.dim() != 2
        || m2.dim() != 2
        || input.dim() > 2
        || m1.shape()[1] != m2.shape()[0]
    {
        return Ok(None);
    }
    let (m, k, n) = (m1.shape()[0], m1.shape()[1], m2.shape()[1]);
    if m == 0 || n == 0 || k == 0 || input.layout().expand(&[m, n]).is_err() {
        return Ok(None);
    }
    if matches!(dt, DType::BF16 | DType::F16) {
        return addmm_half(input, m1, m2, (m, k, n));
    }
    let out = Tensor::uninit(&[m, n], dt, m1.device())?;
    crate::ops::map::copy_cast(&out, &expand_to(&input.detach(), &[m, n])?)?;
    let has_values = Tensor::has_values(&out, &[input, m1, m2])?;
    let threads = if m * n * k >= PAR_FLOPS {
        crate::cpu::get_num_threads()
    } else {
        1
    };
    let (s1, s2) = (m1.strides(), m2.strides());
    macro_rules! run {
        ($T:ty) => {
            // SAFETY: m1 and m2 address (m, k) and (k, n) matrices through their own
            // layouts, inside their storages; `out` is a fresh contiguous (m, n) tensor
            // overlapping neither; the dtype is f32 or f64 (checked above).
            unsafe {
                gemm::product::<$T>(
                    m,
                    n,
                    k,
                    out.cpu_view_mut()?.ptr(),
                    n,
                    1,
                    true,
                    m1.cpu_view()?.ptr(),
                    s1[0],
                    s1[1],
                    m2.cpu_view()?.ptr(),
                    s2[0],
                    s2[1],
                    threads,
                )
            }
        };
    }
    let product = || -> Result<()> {
        if dt == DType::F32 {
            run!(f32)
        } else {
            run!(f64)
        }
        Ok(())
    };
    // (The product enters the pool itself, only where it runs in parallel.)
    if has_values {
        product()?;
    }
    record_addmm(input, m1, m2, &out);
    Ok(Some(out))
}

/// bfloat16 / float16 `addmm` with a bias row (Linear's case): the bias is added to the
/// float32 sums and each output rounded once, as PyTorch does (the composed path rounds
/// the product, then the sum). Other inputs take the composed path.
fn addmm_half(
    input: &Tensor,
    m1: &Tensor,
    m2: &Tensor,
    (m, k, n): (usize, usize, usize),
) -> Result<Option<Tensor>> {
    let row = match &input.shape()[..] {
        [len] | [1, len] => *len == n,
        _ => false,
    };
    let cpu = [input, m1, m2].iter().all(|t| t.device() == Device::Cpu);
    if !row || !cpu {
        return Ok(None);
    }
    let bias = input.to_vec::<f32>()?;
    let out = Tensor::uninit(&[m, n], m1.dtype(), m1.device())?;
    let (s1, s2) = (m1.strides(), m2.strides());
    let threads = crate::cpu::get_num_threads();
    macro_rules! run {
        ($H:ty) => {
            // SAFETY: m1 and m2 address (m, k) and (k, n) matrices of $H through their
            // own layouts, inside their storages; `out` is a fresh contiguous (m, n)
            // tensor overlapping neither; `bias` holds n values.
            unsafe {
                gemm::linear_half::<$H>(
                    m,
                    n,
                    k,
                    m1.cpu_view::<$H>()?.ptr(),
                    s1[0],
                    s1[1],
                    m2.cpu_view::<$H>()?.ptr(),
                    s2[0],
                    s2[1],
                    &bias,
                    out.cpu_view_mut::<$H>()?.ptr(),
                    threads,
                )
            }
        };
    }
    if m1.dtype() == DType::BF16 {
        run!(half::bf16)
    } else {
        run!(half::f16)
    }
    record_addmm(input, m1, m2, &out);
    Ok(Some(out))
}

/// The `AddmmBackward0` node of a fused `addmm` (the input's gradient summed to its shape).
fn record_addmm(input: &Tensor, m1: &Tensor, m2: &Tensor, out: &Tensor) {
    if needs_grad(&[input, m1, m2]) {
        let ri = input.requires_grad();
        let in_shape = input.shape().to_vec();
        let sa = m2.requires_grad().then(|| SavedTensor::input(m1));
        let sb = m1.requires_grad().then(|| SavedTensor::input(m2));
        record("AddmmBackward0", &[input, m1, m2], out, move |ctx, g| {
            // (Only the gradients this pass uses: `autograd.grad` of some operands.)
            let gi = if ri && ctx.needs_input_grad(0) {
                Some(super::reduce::sum_to(g, &in_shape)?)
            } else {
                None
            };
            let ga = match &sb {
                Some(b) if ctx.needs_input_grad(1) => Some(batched_mm(
                    "MmBackward0",
                    g,
                    &transpose(&b.unpack(ctx)?, 0, 1)?,
                )?),
                _ => None,
            };
            let gb = match &sa {
                Some(a) if ctx.needs_input_grad(2) => Some(batched_mm(
                    "MmBackward0",
                    &transpose(&a.unpack(ctx)?, 0, 1)?,
                    g,
                )?),
                _ => None,
            };
            Ok(vec![gi, ga, gb])
        });
    }
}

/// `addmv(input, mat, vec, beta, alpha)`.
pub fn addmv(
    input: &Tensor,
    mat: &Tensor,
    vec: &Tensor,
    beta: Scalar,
    alpha: Scalar,
) -> Result<Tensor> {
    if let Some(r) = in_float32([input, mat, vec], |x, y, z| addmv(x, y, z, beta, alpha))? {
        return Ok(r);
    }
    check_dtypes(AddOp::Addmv, input, mat, vec)?;
    let p = mv(mat, vec)?;
    scaled_sum(input, &p, beta, alpha)
}

/// `baddbmm(input, batch1, batch2, beta, alpha)`.
pub fn baddbmm(
    input: &Tensor,
    b1: &Tensor,
    b2: &Tensor,
    beta: Scalar,
    alpha: Scalar,
) -> Result<Tensor> {
    if let Some(r) = in_float32([input, b1, b2], |x, y, z| baddbmm(x, y, z, beta, alpha))? {
        return Ok(r);
    }
    check_dtypes(AddOp::Baddbmm, input, b1, b2)?;
    let p = bmm(b1, b2)?;
    scaled_sum(input, &p, beta, alpha)
}

/// `addbmm(input, batch1, batch2, beta, alpha)`: the batch products summed.
pub fn addbmm(
    input: &Tensor,
    b1: &Tensor,
    b2: &Tensor,
    beta: Scalar,
    alpha: Scalar,
) -> Result<Tensor> {
    check_dtypes(AddOp::Matrices, input, b1, b2)?;
    let p = bmm(b1, b2)?;
    let p = super::reduce::sum(&p, &[0], false, None)?;
    scaled_sum(input, &p, beta, alpha)
}

/// `addr(input, vec1, vec2, beta, alpha)`: outer-product update.
pub fn addr(
    input: &Tensor,
    v1: &Tensor,
    v2: &Tensor,
    beta: Scalar,
    alpha: Scalar,
) -> Result<Tensor> {
    let p = outer(v1, v2)?;
    scaled_sum(input, &p, beta, alpha)
}

// ----- einsum -----

/// A label: a letter, or the i-th ellipsis dim counted from the right (`ELL + i`).
type Label = u32;
const ELL: Label = 1000;

fn letter_label(c: char) -> Result<Label> {
    match c {
        'A'..='Z' => Ok(c as u32 - 'A' as u32),
        'a'..='z' => Ok(26 + c as u32 - 'a' as u32),
        _ => Err(Error::Runtime(format!(
            "einsum(): invalid subscript given at index {c} in the equation string, subscripts must be in [a-zA-Z]"
        ))),
    }
}

fn label_name(l: Label) -> String {
    if l >= ELL {
        return "...".into();
    }
    let c = if l < 26 {
        (b'A' + l as u8) as char
    } else {
        (b'a' + (l - 26) as u8) as char
    };
    c.to_string()
}

/// One term of the equation: letters, with the position of `...` if present.
struct Term {
    labels: Vec<Label>,
    ellipsis_at: Option<usize>,
}

fn parse_term(s: &str) -> Result<Term> {
    let mut labels = Vec::new();
    let mut ellipsis_at = None;
    let chars: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '.' {
            let full = chars.get(i + 1) == Some(&'.') && chars.get(i + 2) == Some(&'.');
            if !full || ellipsis_at.is_some() {
                return Err(Error::Runtime(
                    "einsum(): found '.' for operand that is not part of any ellipsis".into(),
                ));
            }
            ellipsis_at = Some(labels.len());
            i += 3;
            continue;
        }
        labels.push(letter_label(chars[i])?);
        i += 1;
    }
    Ok(Term {
        labels,
        ellipsis_at,
    })
}

/// The labels of each dim of an operand with `ndim` dims.
fn expand_term(t: &Term, ndim: usize, op: usize) -> Result<Vec<Label>> {
    match t.ellipsis_at {
        None => {
            if t.labels.len() != ndim {
                return Err(Error::Runtime(format!(
                    "einsum(): the number of subscripts in the equation ({}) does not match the number of dimensions ({ndim}) for operand {op} and no ellipsis was given",
                    t.labels.len()
                )));
            }
            Ok(t.labels.clone())
        }
        Some(at) => {
            if t.labels.len() > ndim {
                return Err(Error::Runtime(format!(
                    "einsum(): the number of subscripts in the equation ({}) is more than the number of dimensions ({ndim}) for operand {op}",
                    t.labels.len()
                )));
            }
            let ne = ndim - t.labels.len();
            let mut out = t.labels[..at].to_vec();
            out.extend((0..ne).map(|i| ELL + (ne - 1 - i) as Label));
            out.extend_from_slice(&t.labels[at..]);
            Ok(out)
        }
    }
}

/// `t` with dims `d1` and `d2` (equal sizes) replaced by their diagonal as the last dim.
/// Differentiable: the backward scatters the gradient onto the diagonal by multiplying
/// with an identity matrix, which is itself differentiable.
fn diagonal_last(t: &Tensor, d1: usize, d2: usize) -> Result<Tensor> {
    let layout = t.layout().diagonal(0, d1, d2);
    let out = t.with_layout(layout);
    if needs_grad(&[t]) {
        let nd = t.dim();
        let size = t.shape()[d1];
        let dtype = t.dtype();
        // Position of each original dim in the order (other dims..., d1, d2).
        let mut order: Vec<usize> = (0..nd).filter(|&d| d != d1 && d != d2).collect();
        order.push(d1);
        order.push(d2);
        let mut inverse = vec![0i64; nd];
        for (i, &d) in order.iter().enumerate() {
            inverse[d] = i as i64;
        }
        record("DiagonalBackward0", &[t], &out, move |_, g| {
            let eye = super::creation::eye(size, size, dtype)?;
            let full = mul(&unsqueeze(g, -1)?, &eye)?;
            Ok(vec![Some(permute(&full, &inverse)?)])
        });
    }
    Ok(out)
}

/// An operand during the contraction, with one label per dim.
struct Operand {
    t: Tensor,
    labels: Vec<Label>,
}

fn sum_labels(op: Operand, keep: &dyn Fn(Label) -> bool) -> Result<Operand> {
    let dims: Vec<i64> = (0..op.labels.len())
        .filter(|&i| !keep(op.labels[i]))
        .map(|i| i as i64)
        .collect();
    if dims.is_empty() {
        return Ok(op);
    }
    let t = super::reduce::sum(&op.t, &dims, false, None)?;
    let labels = op.labels.into_iter().filter(|&l| keep(l)).collect();
    Ok(Operand { t, labels })
}

fn size_of(op: &Operand, l: Label) -> usize {
    op.labels
        .iter()
        .position(|&x| x == l)
        .map_or(1, |i| op.t.shape()[i])
}

/// Contracts two operands; labels in `needed` survive, shared labels not needed are
/// summed by the matrix product.
fn contract(a: Operand, b: Operand, needed: &dyn Fn(Label) -> bool) -> Result<Operand> {
    let in_b = |l: &Label| b.labels.contains(l);
    let in_a = |l: &Label| a.labels.contains(l);
    let batch: Vec<Label> = a
        .labels
        .iter()
        .copied()
        .filter(|l| in_b(l) && needed(*l))
        .collect();
    let contracted: Vec<Label> = a
        .labels
        .iter()
        .copied()
        .filter(|l| in_b(l) && !needed(*l))
        .collect();
    let lonly: Vec<Label> = a.labels.iter().copied().filter(|l| !in_b(l)).collect();
    let ronly: Vec<Label> = b.labels.iter().copied().filter(|l| !in_a(l)).collect();
    let pos = |op: &Operand, l: Label| op.labels.iter().position(|&x| x == l).unwrap_or(0) as i64;
    let size = |l: Label| size_of(&a, l).max(size_of(&b, l));

    // a -> (batch, lonly, contracted), b -> (batch, contracted, ronly), sizes broadcast.
    let mut pa: Vec<i64> = batch.iter().map(|&l| pos(&a, l)).collect();
    pa.extend(lonly.iter().map(|&l| pos(&a, l)));
    pa.extend(contracted.iter().map(|&l| pos(&a, l)));
    let mut pb: Vec<i64> = batch.iter().map(|&l| pos(&b, l)).collect();
    pb.extend(contracted.iter().map(|&l| pos(&b, l)));
    pb.extend(ronly.iter().map(|&l| pos(&b, l)));
    let ta = permute(&a.t, &pa)?;
    let tb = permute(&b.t, &pb)?;
    let ea: Dims = batch
        .iter()
        .map(|&l| size(l))
        .chain(lonly.iter().map(|&l| size_of(&a, l)))
        .chain(contracted.iter().map(|&l| size(l)))
        .collect();
    let eb: Dims = batch
        .iter()
        .map(|&l| size(l))
        .chain(contracted.iter().map(|&l| size(l)))
        .chain(ronly.iter().map(|&l| size_of(&b, l)))
        .collect();
    let ta = expand_to(&ta, &ea)?;
    let tb = expand_to(&tb, &eb)?;
    let nb: usize = batch.iter().map(|&l| size(l)).product();
    let m: usize = lonly.iter().map(|&l| size_of(&a, l)).product();
    let k: usize = contracted.iter().map(|&l| size(l)).product();
    let n: usize = ronly.iter().map(|&l| size_of(&b, l)).product();
    let a3 = reshape_to(&ta, &[nb, m, k])?;
    let b3 = reshape_to(&tb, &[nb, k, n])?;
    let r = batched_mm("BmmBackward0", &a3, &b3)?;
    let out_shape: Dims = batch
        .iter()
        .map(|&l| size(l))
        .chain(lonly.iter().map(|&l| size_of(&a, l)))
        .chain(ronly.iter().map(|&l| size_of(&b, l)))
        .collect();
    let t = reshape_to(&r, &out_shape)?;
    let mut labels = batch;
    labels.extend(lonly);
    labels.extend(ronly);
    Ok(Operand { t, labels })
}

/// `einsum(equation, operands)`: repeated labels take diagonals, then operands are
/// contracted left to right with batched matrix products.
pub fn einsum(equation: &str, operands: &[Tensor]) -> Result<Tensor> {
    let (lhs, rhs) = match equation.split_once("->") {
        Some((l, r)) => (l, Some(r)),
        None => (equation, None),
    };
    let terms: Vec<Term> = lhs.split(',').map(parse_term).collect::<Result<_>>()?;
    if terms.len() > operands.len() {
        return Err(Error::Runtime(
            "einsum(): fewer operands were provided than specified in the equation".into(),
        ));
    }
    if terms.len() < operands.len() {
        return Err(Error::Runtime(
            "einsum(): more operands were provided than specified in the equation".into(),
        ));
    }
    if operands.is_empty() {
        return Err(Error::Runtime(
            "einsum(): must provide at least one operand".into(),
        ));
    }
    let dtype = operands[0].dtype();
    for t in operands {
        if t.dtype() != dtype {
            return Err(Error::Runtime(format!(
                "expected scalar type {} but found {}",
                dtype.scalar_type_name(),
                t.dtype().scalar_type_name()
            )));
        }
    }
    check_supported(dtype)?;
    let mut ops = Vec::with_capacity(operands.len());
    let mut max_ell = 0usize;
    let mut seen_size: std::collections::HashMap<Label, (usize, usize)> = Default::default();
    for (i, (term, t)) in terms.iter().zip(operands).enumerate() {
        let labels = expand_term(term, t.dim(), i)?;
        max_ell = max_ell.max(labels.iter().filter(|&&l| l >= ELL).count());
        for (d, &l) in labels.iter().enumerate() {
            let s = t.shape()[d];
            match seen_size.get(&l) {
                Some(&(prev, _)) if prev != s && prev != 1 && s != 1 => {
                    return Err(Error::Runtime(format!(
                        "einsum(): subscript {} has size {s} for operand {i} which does not broadcast with previously seen size {prev}",
                        label_name(l)
                    )));
                }
                Some(&(prev, _)) if prev >= s => {}
                _ => {
                    seen_size.insert(l, (s, i));
                }
            }
        }
        ops.push(Operand {
            t: t.clone(),
            labels,
        });
    }
    // Output labels.
    let out_labels: Vec<Label> = match rhs {
        Some(r) => {
            let term = parse_term(r)?;
            let mut out = Vec::new();
            for (j, &l) in term.labels.iter().enumerate() {
                if term.ellipsis_at == Some(j) {
                    out.extend((0..max_ell).rev().map(|i| ELL + i as Label));
                }
                if !ops.iter().any(|o| o.labels.contains(&l)) {
                    return Err(Error::Runtime(format!(
                        "einsum(): output subscript {} does not appear in the equation for any input operand",
                        label_name(l)
                    )));
                }
                if out.contains(&l) {
                    return Err(Error::Runtime(format!(
                        "einsum(): output subscript {} appears more than once in the output",
                        label_name(l)
                    )));
                }
                out.push(l);
            }
            if term.ellipsis_at == Some(term.labels.len()) {
                out.extend((0..max_ell).rev().map(|i| ELL + i as Label));
            }
            out
        }
        None => {
            // Implicit: ellipsis dims first, then letters seen exactly once, sorted.
            let mut out: Vec<Label> = (0..max_ell).rev().map(|i| ELL + i as Label).collect();
            let mut letters: Vec<Label> = Vec::new();
            for l in 0..52 {
                let count: usize = ops
                    .iter()
                    .map(|o| o.labels.iter().filter(|&&x| x == l).count())
                    .sum();
                if count == 1 {
                    letters.push(l);
                }
            }
            out.extend(letters);
            out
        }
    };
    // Diagonals for labels repeated within one operand.
    for op in ops.iter_mut() {
        loop {
            let dup = (0..op.labels.len()).find_map(|i| {
                (i + 1..op.labels.len())
                    .find(|&j| op.labels[j] == op.labels[i])
                    .map(|j| (i, j))
            });
            let Some((i, j)) = dup else { break };
            let (si, sj) = (op.t.shape()[i], op.t.shape()[j]);
            if si != sj {
                return Err(Error::Runtime(format!(
                    "einsum(): subscript {} is repeated for operand {} but the sizes don't match, {} != {}",
                    label_name(op.labels[i]),
                    0,
                    si,
                    sj
                )));
            }
            op.t = diagonal_last(&op.t, i, j)?;
            let l = op.labels[i];
            op.labels.remove(j);
            op.labels.remove(i);
            op.labels.push(l);
        }
    }
    // Contract left to right.
    let mut ops: std::collections::VecDeque<Operand> = ops.into();
    let mut acc = ops
        .pop_front()
        .ok_or_else(|| Error::Runtime("einsum(): no operands".into()))?;
    loop {
        let rest: Vec<Label> = ops.iter().flat_map(|o| o.labels.iter().copied()).collect();
        let needed_later = |l: Label| out_labels.contains(&l) || rest.contains(&l);
        match ops.pop_front() {
            None => {
                acc = sum_labels(acc, &|l| out_labels.contains(&l))?;
                break;
            }
            Some(next) => {
                let rest2: Vec<Label> = ops.iter().flat_map(|o| o.labels.iter().copied()).collect();
                // Sum labels that nothing else uses before multiplying.
                let a_keep = |l: Label| needed_later(l) || next.labels.contains(&l);
                acc = sum_labels(acc, &a_keep)?;
                let b_keep = |l: Label| {
                    out_labels.contains(&l) || rest2.contains(&l) || acc.labels.contains(&l)
                };
                let next = sum_labels(next, &b_keep)?;
                let needed2 = |l: Label| out_labels.contains(&l) || rest2.contains(&l);
                acc = contract(acc, next, &needed2)?;
            }
        }
    }
    // Broadcast ellipsis dims that some operand lacks, then order as the output.
    let mut perm = Vec::with_capacity(out_labels.len());
    let mut t = acc.t;
    let mut labels = acc.labels;
    for &l in &out_labels {
        if !labels.contains(&l) {
            t = unsqueeze(&t, t.dim() as i64)?;
            labels.push(l);
        }
    }
    for &l in &out_labels {
        perm.push(labels.iter().position(|&x| x == l).unwrap_or(0) as i64);
    }
    if perm.iter().enumerate().all(|(i, &p)| p == i as i64) {
        return Ok(t);
    }
    permute(&t, &perm)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: Vec<f64>, shape: &[usize]) -> Tensor {
        Tensor::from_vec(v, shape).unwrap()
    }

    #[test]
    fn mm_transposed_and_int() {
        let a = t(vec![1., 2., 3., 4., 5., 6.], &[2, 3]);
        let b = t(vec![1., 0., 0., 1., 1., 1.], &[3, 2]);
        assert_eq!(
            mm(&a, &b).unwrap().to_f64_vec().unwrap(),
            vec![4., 5., 10., 11.]
        );
        // a^T (3x2) through a strided view, no copy.
        let at = transpose(&a, 0, 1).unwrap();
        let r = mm(&at, &t(vec![1., 1.], &[2, 1])).unwrap();
        assert_eq!(r.to_f64_vec().unwrap(), vec![5., 7., 9.]);
        let ai = Tensor::from_vec(vec![1i32, 2, 3, 4], &[2, 2]).unwrap();
        assert_eq!(
            mm(&ai, &ai).unwrap().to_f64_vec().unwrap(),
            vec![7., 10., 15., 22.]
        );
        assert!(mm(&a, &a).is_err());
    }

    #[test]
    fn einsum_trace_and_contraction() {
        let m = t(vec![1., 2., 3., 4.], &[2, 2]);
        let tr = einsum("ii", std::slice::from_ref(&m)).unwrap();
        assert_eq!(tr.to_f64_vec().unwrap(), vec![5.]);
        let p = einsum("ij,jk->ik", &[m.clone(), m]).unwrap();
        assert_eq!(p.to_f64_vec().unwrap(), vec![7., 10., 15., 22.]);
    }
}
