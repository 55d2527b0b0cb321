//! Unary elementwise math and activations.
//!
//! Each op is a forward kernel and its derivative side by side (dfdx-style): the
//! `unary!` table lists name, dtype rule, what backward saves, the kernel body and the
//! gradient formula (written with differentiable ops, so double backward works).
//! Adding an activation is one entry.

use super::binary::{add, div, mul, mul_scalar, neg};
use super::binary_kinds::FloatBinary;
use super::grad_kinds as grads;
use super::map;
use super::unary_kinds::{self as kinds, FloatUnary, IntFloatUnary, ValueTest};
use super::{cast_view, check_inplace, check_inplace_result};
use crate::autograd::{needs_grad, record, SavedTensor};
use crate::cpu::{gamma, math};
use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use half::bf16;

/// How an op's output dtype follows from its input's.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// Floating functions: integer and bool inputs give the default float dtype.
    Float,
    /// Floating inputs only (gelu, silu, frac, ...): others raise NotImplementedError.
    FloatOnly,
    /// Keeps the input dtype (abs, floor, relu, ...).
    Same,
    /// Returns bool (isnan, logical_not, ...); not differentiable.
    Bool,
}

/// What backward needs: the input, the output, both, or nothing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Save {
    X,
    Y,
    XY,
    Nothing,
}

/// Values saved for backward, unpacked.
pub struct Vals {
    x: Option<Tensor>,
    y: Option<Tensor>,
}

impl Vals {
    pub fn x(&self) -> Result<&Tensor> {
        self.x
            .as_ref()
            .ok_or_else(|| Error::Runtime("internal: input not saved for backward".into()))
    }
    pub fn y(&self) -> Result<&Tensor> {
        self.y
            .as_ref()
            .ok_or_else(|| Error::Runtime("internal: output not saved for backward".into()))
    }
}

/// NotImplementedError in PyTorch's wording for a kernel without this dtype.
pub fn not_implemented(kernel: &str, dtype: DType) -> Error {
    Error::NotImplemented(format!(
        "\"{kernel}\" not implemented for '{}'",
        dtype.scalar_type_name()
    ))
}

fn out_dtype(a: DType, kind: Kind, kernel: &str) -> Result<DType> {
    Ok(match kind {
        Kind::Float if !a.is_floating_point() => crate::get_default_dtype(),
        Kind::FloatOnly if !a.is_floating_point() => return Err(not_implemented(kernel, a)),
        Kind::Bool => DType::Bool,
        _ => a,
    })
}

/// Runs a unary op: dtype rule, kernel `(out, input)`, and autograd record.
#[allow(clippy::too_many_arguments)]
pub fn apply<K, B>(
    a: &Tensor,
    name: &'static str,
    kernel_name: &str,
    kind: Kind,
    save: Save,
    kernel: K,
    grad: Option<B>,
) -> Result<Tensor>
where
    K: Fn(&Tensor, &Tensor) -> Result<()>,
    B: Fn(&Tensor, &Vals) -> Result<Tensor> + Send + Sync + 'static,
{
    let dt = out_dtype(a.dtype(), kind, kernel_name)?;
    let x = if kind == Kind::Bool {
        a.clone()
    } else {
        cast_view(a, dt)?
    };
    let out = Tensor::uninit_for(a.shape(), dt, a.device(), &[a])?;
    kernel(&out, &x)?;
    if let Some(grad) = grad {
        if kind != Kind::Bool && needs_grad(&[a]) {
            let sx = matches!(save, Save::X | Save::XY).then(|| SavedTensor::input(a));
            let sy = matches!(save, Save::Y | Save::XY).then(|| SavedTensor::output(&out, 0));
            record(name, &[a], &out, move |ctx, g| {
                let vals = Vals {
                    x: sx.as_ref().map(|s| s.unpack(ctx)).transpose()?,
                    y: sy.as_ref().map(|s| s.unpack(ctx)).transpose()?,
                };
                Ok(vec![Some(grad(g, &vals)?)])
            });
        }
    }
    Ok(out)
}

/// The in-place form of `apply`: same checks as PyTorch (result dtype must fit).
#[allow(clippy::too_many_arguments)]
pub fn apply_<K, B>(
    a: &Tensor,
    name: &'static str,
    kernel_name: &str,
    kind: Kind,
    save: Save,
    kernel: K,
    grad: Option<B>,
) -> Result<()>
where
    K: Fn(&Tensor, &Tensor) -> Result<()>,
    B: Fn(&Tensor, &Vals) -> Result<Tensor> + Send + Sync + 'static,
{
    check_inplace(a)?;
    let dt = out_dtype(a.dtype(), kind, kernel_name)?;
    check_inplace_result(a, dt, a.shape())?;
    if !needs_grad(&[a]) {
        kernel(a, a)?;
        a.storage().bump_version();
        return Ok(());
    }
    let src = super::copy::clone_contiguous(a)?;
    let r = apply(&src, name, kernel_name, kind, save, kernel, grad)?;
    crate::ops::map::copy_cast(a, &r)?;
    a.storage().bump_version();
    crate::autograd::view::commit_inplace(a, crate::autograd::gradient_edge(&r));
    Ok(())
}

/// Math on f32/f64 with the f32 versions of the vectorised kernels.
pub trait FMath: Copy + PartialOrd {
    fn exp_(self) -> Self;
    fn ln_(self) -> Self;
    fn tanh_(self) -> Self;
    fn sigmoid_(self) -> Self;
    fn erf_(self) -> Self;
    fn erfc_(self) -> Self;
    fn erfinv_(self) -> Self;
    /// x Phi(x).
    fn gelu_(self) -> Self;
    /// gelu's derivative, Phi(x) + x phi(x).
    fn gelu_grad_(self) -> Self;
    /// x sigmoid(x).
    fn silu_(self) -> Self;
    fn sin_(self) -> Self;
    fn cos_(self) -> Self;
    /// e^x - 1.
    fn expm1_(self) -> Self;
    /// ln(1 + x).
    fn log1p_(self) -> Self;
    fn asin_(self) -> Self;
    fn acos_(self) -> Self;
    fn atanh_(self) -> Self;
    fn asinh_(self) -> Self;
    fn sinh_(self) -> Self;
    fn cosh_(self) -> Self;
    /// log|Γ(x)|, ψ(x) and ψ⁽ⁿ⁾(x): in float64 for every dtype (`cpu::gamma`).
    fn lgamma_(self) -> Self;
    fn digamma_(self) -> Self;
    fn trigamma_(self) -> Self;
    fn polygamma_(self, n: u64) -> Self;
}

impl FMath for f32 {
    #[inline(always)]
    fn exp_(self) -> f32 {
        math::exp_f32(self)
    }
    #[inline(always)]
    fn ln_(self) -> f32 {
        math::log_f32(self)
    }
    #[inline(always)]
    fn tanh_(self) -> f32 {
        math::tanh_f32(self)
    }
    #[inline(always)]
    fn sigmoid_(self) -> f32 {
        math::sigmoid_f32(self)
    }
    #[inline(always)]
    fn erf_(self) -> f32 {
        math::erf_f32(self)
    }
    #[inline(always)]
    fn erfc_(self) -> f32 {
        math::erfc_f32(self)
    }
    #[inline(always)]
    fn erfinv_(self) -> f32 {
        math::erfinv_f32(self)
    }
    #[inline(always)]
    fn gelu_(self) -> f32 {
        math::gelu_f32(self)
    }
    #[inline(always)]
    fn gelu_grad_(self) -> f32 {
        math::gelu_grad_f32(self)
    }
    #[inline(always)]
    fn silu_(self) -> f32 {
        math::silu_f32(self)
    }
    fn sin_(self) -> f32 {
        math::sin_f32(self)
    }
    fn cos_(self) -> f32 {
        math::cos_f32(self)
    }
    #[inline(always)]
    fn expm1_(self) -> f32 {
        math::expm1_f32(self)
    }
    #[inline(always)]
    fn log1p_(self) -> f32 {
        math::log1p_f32(self)
    }
    #[inline(always)]
    fn asin_(self) -> f32 {
        math::asin_f32(self)
    }
    #[inline(always)]
    fn acos_(self) -> f32 {
        math::acos_f32(self)
    }
    #[inline(always)]
    fn atanh_(self) -> f32 {
        math::atanh_f32(self)
    }
    #[inline(always)]
    fn asinh_(self) -> f32 {
        math::asinh_f32(self)
    }
    #[inline(always)]
    fn sinh_(self) -> f32 {
        math::sinh_f32(self)
    }
    #[inline(always)]
    fn cosh_(self) -> f32 {
        math::cosh_f32(self)
    }
    fn lgamma_(self) -> f32 {
        gamma::lgamma_m::<math::Separate>(self)
    }
    fn digamma_(self) -> f32 {
        gamma::digamma_m::<math::Separate>(self)
    }
    fn trigamma_(self) -> f32 {
        gamma::trigamma_m::<math::Separate>(self)
    }
    fn polygamma_(self, n: u64) -> f32 {
        gamma::polygamma(n, self as f64) as f32
    }
}

impl FMath for f64 {
    #[inline(always)]
    fn exp_(self) -> f64 {
        self.exp()
    }
    #[inline(always)]
    fn ln_(self) -> f64 {
        self.ln()
    }
    #[inline(always)]
    fn tanh_(self) -> f64 {
        self.tanh()
    }
    #[inline(always)]
    fn sigmoid_(self) -> f64 {
        1.0 / (1.0 + (-self).exp())
    }
    fn erf_(self) -> f64 {
        math::erf(self)
    }
    fn erfc_(self) -> f64 {
        math::erfc(self)
    }
    fn erfinv_(self) -> f64 {
        math::erfinv(self)
    }
    fn gelu_(self) -> f64 {
        0.5 * self * math::erfc(-self * std::f64::consts::FRAC_1_SQRT_2)
    }
    fn gelu_grad_(self) -> f64 {
        // phi(x) = e^(-x^2/2) / sqrt(2 pi); 1/sqrt(2 pi) = (2/sqrt(pi)) (1/sqrt(2)) / 2.
        const INV_SQRT_2PI: f64 =
            std::f64::consts::FRAC_2_SQRT_PI * std::f64::consts::FRAC_1_SQRT_2 * 0.5;
        let cdf = 0.5 * math::erfc(-self * std::f64::consts::FRAC_1_SQRT_2);
        cdf + self * (INV_SQRT_2PI * (-0.5 * self * self).exp())
    }
    fn silu_(self) -> f64 {
        self * self.sigmoid_()
    }
    fn sin_(self) -> f64 {
        self.sin()
    }
    fn cos_(self) -> f64 {
        self.cos()
    }
    fn expm1_(self) -> f64 {
        self.exp_m1()
    }
    fn log1p_(self) -> f64 {
        self.ln_1p()
    }
    fn asin_(self) -> f64 {
        self.asin()
    }
    fn acos_(self) -> f64 {
        self.acos()
    }
    fn atanh_(self) -> f64 {
        self.atanh()
    }
    fn asinh_(self) -> f64 {
        self.asinh()
    }
    fn sinh_(self) -> f64 {
        self.sinh()
    }
    fn cosh_(self) -> f64 {
        self.cosh()
    }
    fn lgamma_(self) -> f64 {
        gamma::lgamma(self)
    }
    fn digamma_(self) -> f64 {
        gamma::digamma(self)
    }
    fn trigamma_(self) -> f64 {
        gamma::trigamma(self)
    }
    fn polygamma_(self, n: u64) -> f64 {
        gamma::polygamma(n, self)
    }
}

/// `out = k(a)` for a floating unary kind (`out` and `a` of one floating dtype and
/// shape): the kernel the unary ops run, for ops defined elsewhere (pow by a constant).
pub(crate) fn run_float<K: FloatUnary>(out: &Tensor, a: &Tensor, k: K) -> Result<()> {
    float_op(k)(out, a)
}

/// The kernel of a floating unary kind for every floating dtype (`map::float_unary`).
fn float_op<K: FloatUnary>(k: K) -> impl Fn(&Tensor, &Tensor) -> Result<()> {
    move |out: &Tensor, a: &Tensor| map::float_unary(out, a, k)
}

/// A constant (non-differentiable) 0/1 tensor of `x`'s dtype from a test of its
/// values: the piecewise-constant factors of derivatives.
pub fn mask<K: ValueTest>(x: &Tensor, k: K) -> Result<Tensor> {
    let x = x.detach();
    let out = Tensor::uninit_for(x.shape(), x.dtype(), x.device(), &[&x])?;
    map::value_mask(&out, &x, k)?;
    Ok(out)
}

/// A bool tensor from a test of `x`'s values (no autograd).
fn test<K: ValueTest>(x: &Tensor, k: K) -> Result<Tensor> {
    let x = x.detach();
    let out = Tensor::uninit_for(x.shape(), DType::Bool, x.device(), &[&x])?;
    map::value_test(&out, &x, k)?;
    Ok(out)
}

/// `where(k(x), g, 0)` in one pass: a derivative that passes `g` where a test of the
/// saved value `x` holds (PyTorch's `threshold_backward` and `hardtanh_backward`).
/// Differentiable in `g` (the same op), so double backward works; `x` gets no
/// gradient (the factor is piecewise constant).
fn keep<K: ValueTest>(g: &Tensor, x: &Tensor, k: K) -> Result<Tensor> {
    let xd = x.detach();
    let shape = crate::layout::broadcast_shapes(g.shape(), x.shape())?;
    let (ge, xe) = (
        super::expand_view(g, &shape)?,
        super::expand_view(&xd, &shape)?,
    );
    let xe = cast_view(&xe, g.dtype())?;
    let out = Tensor::uninit_for(&shape, g.dtype(), g.device(), &[g, &xd])?;
    map::keep_where(&out, &ge.detach(), &xe, k)?;
    if needs_grad(&[g]) {
        let (gshape, gdtype) = (g.shape().clone(), g.dtype());
        record("ThresholdBackwardBackward0", &[g], &out, move |_, gg| {
            let r = keep(gg, &xd, k)?;
            Ok(vec![Some(super::reduce_grad(&r, &gshape, gdtype)?)])
        });
    }
    Ok(out)
}

/// `where(cond, a, b)` with number or tensor branches (differentiable in the tensors).
fn select(cond: &Tensor, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    super::index::where_(
        cond,
        &super::binary::Rhs::Tensor(a.clone()),
        &super::binary::Rhs::Tensor(b.clone()),
    )
}

fn zeros_grad(g: &Tensor, _: &Vals) -> Result<Tensor> {
    super::reduce::zeros_like(g)
}

fn sc(v: f64) -> Scalar {
    Scalar::Float(v)
}

/// `s * t` for a float constant.
fn scale(t: &Tensor, s: f64) -> Result<Tensor> {
    mul_scalar(t, sc(s))
}

/// `t + s` for a float constant.
fn shift(t: &Tensor, s: f64) -> Result<Tensor> {
    super::binary::add_scaled(t, &super::binary::Rhs::Scalar(sc(s)), Scalar::Int(1))
}

/// `s - t` for a float constant.
fn rsub(t: &Tensor, s: f64) -> Result<Tensor> {
    shift(&neg(t)?, s)
}

type GradFn = fn(&Tensor, &Vals) -> Result<Tensor>;

/// Defines `name(a)` and `name_(a)` from a kernel and a gradient formula.
macro_rules! unary {
    ($(
        $(#[$m:meta])*
        $name:ident, $name_:ident, $bw:literal, $kname:literal, $kind:ident, $save:ident,
        kernel: $kernel:expr,
        grad: $grad:expr;
    )*) => {$(
        $(#[$m])*
        pub fn $name(a: &Tensor) -> Result<Tensor> {
            apply(a, $bw, $kname, Kind::$kind, Save::$save, $kernel, $grad)
        }
        $(#[$m])*
        /// (in place)
        pub fn $name_(a: &Tensor) -> Result<()> {
            apply_(a, $bw, $kname, Kind::$kind, Save::$save, $kernel, $grad)
        }
    )*};
}

const LN2: f64 = std::f64::consts::LN_2;
const LN10: f64 = std::f64::consts::LN_10;
const TWO_OVER_SQRT_PI: f64 = std::f64::consts::FRAC_2_SQRT_PI;

unary! {
    /// e^x.
    exp, exp_, "ExpBackward0", "exp_vml_cpu", Float, Y,
        kernel: float_op(kinds::Exp {}),
        grad: Some(|g: &Tensor, v: &Vals| mul(g, v.y()?));
    /// 2^x.
    exp2, exp2_, "Exp2Backward0", "exp2", Float, Y,
        kernel: float_op(kinds::Exp2 {}),
        grad: Some(|g: &Tensor, v: &Vals| scale(&mul(g, v.y()?)?, LN2));
    /// e^x - 1.
    expm1, expm1_, "Expm1Backward0", "expm1", Float, Y,
        kernel: float_op(kinds::Expm1 {}),
        grad: Some(|g: &Tensor, v: &Vals| mul(g, &shift(v.y()?, 1.0)?));
    /// ln x.
    log, log_, "LogBackward0", "log_vml_cpu", Float, X,
        kernel: float_op(kinds::Log {}),
        grad: Some(|g: &Tensor, v: &Vals| div(g, v.x()?));
    log2, log2_, "Log2Backward0", "log2", Float, X,
        kernel: float_op(kinds::Log2 {}),
        grad: Some(|g: &Tensor, v: &Vals| div(g, &scale(v.x()?, LN2)?));
    log10, log10_, "Log10Backward0", "log10", Float, X,
        kernel: float_op(kinds::Log10 {}),
        grad: Some(|g: &Tensor, v: &Vals| div(g, &scale(v.x()?, LN10)?));
    log1p, log1p_, "Log1PBackward0", "log1p", Float, X,
        kernel: float_op(kinds::Log1p {}),
        grad: Some(|g: &Tensor, v: &Vals| div(g, &shift(v.x()?, 1.0)?));
    sqrt, sqrt_, "SqrtBackward0", "sqrt", Float, Y,
        kernel: float_op(kinds::Sqrt {}),
        grad: Some(|g: &Tensor, v: &Vals| div(g, &scale(v.y()?, 2.0)?));
    /// 1/sqrt(x); d = -y^3/2.
    rsqrt, rsqrt_, "RsqrtBackward0", "rsqrt", Float, Y,
        kernel: float_op(kinds::Rsqrt {}),
        grad: Some(|g: &Tensor, v: &Vals| {
            let y = v.y()?;
            scale(&mul(g, &mul(&mul(y, y)?, y)?)?, -0.5)
        });
    sin, sin_, "SinBackward0", "sin", Float, X,
        kernel: float_op(kinds::Sin {}),
        grad: Some(|g: &Tensor, v: &Vals| mul(g, &cos(v.x()?)?));
    cos, cos_, "CosBackward0", "cos", Float, X,
        kernel: float_op(kinds::Cos {}),
        grad: Some(|g: &Tensor, v: &Vals| mul(g, &neg(&sin(v.x()?)?)?));
    /// tan; d = 1 + y^2.
    tan, tan_, "TanBackward0", "tan", Float, Y,
        kernel: float_op(kinds::Tan {}),
        grad: Some(|g: &Tensor, v: &Vals| {
            let y = v.y()?;
            mul(g, &shift(&mul(y, y)?, 1.0)?)
        });
    asin, asin_, "AsinBackward0", "asin", Float, X,
        kernel: float_op(kinds::Asin {}),
        grad: Some(|g: &Tensor, v: &Vals| {
            let x = v.x()?;
            div(g, &sqrt(&rsub(&mul(x, x)?, 1.0)?)?)
        });
    acos, acos_, "AcosBackward0", "acos", Float, X,
        kernel: float_op(kinds::Acos {}),
        grad: Some(|g: &Tensor, v: &Vals| {
            let x = v.x()?;
            neg(&div(g, &sqrt(&rsub(&mul(x, x)?, 1.0)?)?)?)
        });
    atan, atan_, "AtanBackward0", "atan", Float, X,
        kernel: float_op(kinds::Atan {}),
        grad: Some(|g: &Tensor, v: &Vals| {
            let x = v.x()?;
            div(g, &shift(&mul(x, x)?, 1.0)?)
        });
    sinh, sinh_, "SinhBackward0", "sinh", Float, X,
        kernel: float_op(kinds::Sinh {}),
        grad: Some(|g: &Tensor, v: &Vals| mul(g, &cosh(v.x()?)?));
    cosh, cosh_, "CoshBackward0", "cosh", Float, X,
        kernel: float_op(kinds::Cosh {}),
        grad: Some(|g: &Tensor, v: &Vals| mul(g, &sinh(v.x()?)?));
    asinh, asinh_, "AsinhBackward0", "asinh", Float, X,
        kernel: float_op(kinds::Asinh {}),
        grad: Some(|g: &Tensor, v: &Vals| {
            let x = v.x()?;
            div(g, &sqrt(&shift(&mul(x, x)?, 1.0)?)?)
        });
    acosh, acosh_, "AcoshBackward0", "acosh", Float, X,
        kernel: float_op(kinds::Acosh {}),
        grad: Some(|g: &Tensor, v: &Vals| {
            let x = v.x()?;
            div(g, &sqrt(&shift(&mul(x, x)?, -1.0)?)?)
        });
    atanh, atanh_, "AtanhBackward0", "atanh", Float, X,
        kernel: float_op(kinds::Atanh {}),
        grad: Some(|g: &Tensor, v: &Vals| {
            let x = v.x()?;
            div(g, &rsub(&mul(x, x)?, 1.0)?)
        });
    /// tanh; d = 1 - y^2.
    tanh, tanh_, "TanhBackward0", "tanh", Float, Y,
        kernel: float_op(kinds::Tanh {}),
        grad: Some(|g: &Tensor, v: &Vals| {
            let y = v.y()?;
            fused_grad(g, y, grads::TanhGrad {}, || mul(g, &rsub(&mul(y, y)?, 1.0)?))
        });
    /// 1/(1+e^-x); d = y(1-y).
    sigmoid, sigmoid_, "SigmoidBackward0", "sigmoid", Float, Y,
        kernel: float_op(kinds::Sigmoid {}),
        grad: Some(|g: &Tensor, v: &Vals| {
            let y = v.y()?;
            fused_grad(g, y, grads::SigmoidGrad {}, || mul(g, &mul(y, &rsub(y, 1.0)?)?))
        });
    erf, erf_, "ErfBackward0", "erf", Float, X,
        kernel: float_op(kinds::Erf {}),
        grad: Some(|g: &Tensor, v: &Vals| {
            let x = v.x()?;
            mul(g, &scale(&exp(&neg(&mul(x, x)?)?)?, TWO_OVER_SQRT_PI)?)
        });
    erfc, erfc_, "ErfcBackward0", "erfc", Float, X,
        kernel: float_op(kinds::Erfc {}),
        grad: Some(|g: &Tensor, v: &Vals| {
            let x = v.x()?;
            mul(g, &scale(&exp(&neg(&mul(x, x)?)?)?, -TWO_OVER_SQRT_PI)?)
        });
    /// Inverse of erf; d = sqrt(pi)/2 e^{y^2}.
    erfinv, erfinv_, "ErfinvBackward0", "erfinv", Float, Y,
        kernel: float_op(kinds::Erfinv {}),
        grad: Some(|g: &Tensor, v: &Vals| {
            let y = v.y()?;
            mul(g, &scale(&exp(&mul(y, y)?)?, 1.0 / TWO_OVER_SQRT_PI)?)
        });
    /// log|Γ(x)|; d = ψ(x).
    lgamma, lgamma_, "LgammaBackward0", "lgamma", Float, X,
        kernel: float_op(kinds::Lgamma {}),
        grad: Some(|g: &Tensor, v: &Vals| mul(g, &digamma(v.x()?)?));
    /// ψ(x); d = ψ'(x).
    digamma, digamma_, "DigammaBackward0", "digamma", Float, X,
        kernel: float_op(kinds::Digamma {}),
        grad: Some(|g: &Tensor, v: &Vals| mul(g, &polygamma(1, v.x()?)?));
    /// 1/x; d = -y^2.
    reciprocal, reciprocal_, "ReciprocalBackward0", "reciprocal", Float, Y,
        kernel: float_op(kinds::Reciprocal {}),
        grad: Some(|g: &Tensor, v: &Vals| {
            let y = v.y()?;
            neg(&mul(g, &mul(y, y)?)?)
        });
    /// x - trunc(x); d = 1.
    frac, frac_, "FracBackward0", "frac_cpu", FloatOnly, Nothing,
        kernel: float_op(kinds::Frac {}),
        grad: Some(|g: &Tensor, _: &Vals| Ok(g.clone()));
    /// |x|; abs'(0) = 0.
    abs, abs_, "AbsBackward0", "abs_cpu", Same, X,
        kernel: abs_kernel,
        grad: Some(|g: &Tensor, v: &Vals| mul(g, &sign(v.x()?)?));
    /// max(x, 0); relu'(0) = 0.
    relu, relu_, "ReluBackward0", "relu", Same, Y,
        kernel: relu_kernel,
        grad: Some(|g: &Tensor, v: &Vals| keep(g, v.y()?, kinds::NotAtMost { v: 0.0 }));
    floor, floor_, "FloorBackward0", "floor_vml_cpu", Same, Nothing,
        kernel: int_float_op(kinds::Floor),
        grad: Some(zeros_grad as GradFn);
    ceil, ceil_, "CeilBackward0", "ceil_vml_cpu", Same, Nothing,
        kernel: int_float_op(kinds::Ceil),
        grad: Some(zeros_grad as GradFn);
    trunc, trunc_, "TruncBackward0", "trunc_vml_cpu", Same, Nothing,
        kernel: int_float_op(kinds::Trunc),
        grad: Some(zeros_grad as GradFn);
    /// Round half to even.
    round, round_, "RoundBackward0", "round_cpu", Same, Nothing,
        kernel: int_float_op(kinds::Round),
        grad: Some(zeros_grad as GradFn);
}

macro_rules! predicate {
    ($($name:ident, $kind:expr;)*) => {$(
        /// Elementwise predicate with a bool result (integers and bool are finite).
        pub fn $name(a: &Tensor) -> Result<Tensor> {
            apply(a, "", stringify!($name), Kind::Bool, Save::Nothing,
                |out: &Tensor, a: &Tensor| map::value_test(out, a, $kind), None::<GradFn>)
        }
    )*};
}

predicate! {
    isnan, kinds::IsNan {};
    isinf, kinds::IsInf {};
    isfinite, kinds::IsFinite {};
    isposinf, kinds::IsPosInf {};
    isneginf, kinds::IsNegInf {};
}

/// `sign`: -1, 0, 1 as PyTorch computes it, `(0 < x) - (x < 0)`: NaN and -0.0 give
/// 0.0; bool is returned as is. Gradient zero.
pub fn sign(a: &Tensor) -> Result<Tensor> {
    apply(
        a,
        "SignBackward0",
        "sign",
        Kind::Same,
        Save::Nothing,
        sign_kernel,
        Some(zeros_grad as GradFn),
    )
}

pub fn sign_(a: &Tensor) -> Result<()> {
    apply_(
        a,
        "SignBackward0",
        "sign",
        Kind::Same,
        Save::Nothing,
        sign_kernel,
        Some(zeros_grad as GradFn),
    )
}

fn sign_kernel(out: &Tensor, a: &Tensor) -> Result<()> {
    if out.dtype() == DType::Bool {
        return map::element(out, a, kinds::Identity);
    }
    map::int_float(out, a, kinds::Sign)
}

fn relu_kernel(out: &Tensor, a: &Tensor) -> Result<()> {
    if out.dtype() == DType::Bool {
        return Err(Error::NotImplemented(
            "Boolean inputs not supported for relu".into(),
        ));
    }
    map::element(out, a, kinds::Relu)
}

fn abs_kernel(out: &Tensor, a: &Tensor) -> Result<()> {
    match out.dtype() {
        DType::F16 | DType::BF16 => map::element(out, a, kinds::AbsBits),
        _ => map::int_float(out, a, kinds::Abs),
    }
}

/// The kernel of an op with an integer and a floating formula (`map::int_float`).
fn int_float_op<K: IntFloatUnary>(k: K) -> impl Fn(&Tensor, &Tensor) -> Result<()> {
    move |out: &Tensor, a: &Tensor| map::int_float(out, a, k)
}

/// `square`: `x * x` keeping integer dtypes (bool -> int64), as `pow(x, 2)`.
pub fn square(a: &Tensor) -> Result<Tensor> {
    super::pointwise::pow_scalar(a, Scalar::Int(2))
}

pub fn square_(a: &Tensor) -> Result<()> {
    super::pointwise::pow_scalar_(a, Scalar::Int(2))
}

/// `round(decimals=d)`: scales by 10^d, rounds half to even, scales back (floats).
pub fn round_decimals(a: &Tensor, decimals: i64) -> Result<Tensor> {
    if decimals == 0 {
        return round(a);
    }
    apply(
        a,
        "RoundBackward1",
        "round_cpu",
        Kind::FloatOnly,
        Save::Nothing,
        round_dec_kernel(decimals),
        Some(zeros_grad as GradFn),
    )
}

pub fn round_decimals_(a: &Tensor, decimals: i64) -> Result<()> {
    if decimals == 0 {
        return round_(a);
    }
    apply_(
        a,
        "RoundBackward1",
        "round_cpu",
        Kind::FloatOnly,
        Save::Nothing,
        round_dec_kernel(decimals),
        Some(zeros_grad as GradFn),
    )
}

/// ψ⁽ⁿ⁾(x), the n-th derivative of digamma (n = 0 is digamma itself, as in PyTorch);
/// d = ψ⁽ⁿ⁺¹⁾(x).
pub fn polygamma(n: i64, a: &Tensor) -> Result<Tensor> {
    let (kernel, grad) = polygamma_parts(n)?;
    apply(
        a,
        "PolygammaBackward0",
        "polygamma",
        Kind::Float,
        Save::X,
        kernel,
        Some(grad),
    )
}

pub fn polygamma_(n: i64, a: &Tensor) -> Result<()> {
    let (kernel, grad) = polygamma_parts(n)?;
    apply_(
        a,
        "PolygammaBackward0",
        "polygamma",
        Kind::Float,
        Save::X,
        kernel,
        Some(grad),
    )
}

/// The kernel and the gradient of `polygamma(n, ·)`; an error for a negative n. (Its
/// backward node is PolygammaBackward0 for n = 0 too, as in PyTorch. The return type
/// spells out two closure types, once.)
#[allow(clippy::type_complexity)]
fn polygamma_parts(
    n: i64,
) -> Result<(
    impl Fn(&Tensor, &Tensor) -> Result<()>,
    impl Fn(&Tensor, &Vals) -> Result<Tensor>,
)> {
    let order = u64::try_from(n)
        .map_err(|_| Error::Runtime("polygamma(n, x) does not support negative n.".into()))?;
    let grad = move |g: &Tensor, v: &Vals| mul(g, &polygamma(n.saturating_add(1), v.x()?)?);
    Ok((
        // n = 1 (digamma's gradient) has its own vectorised float32 kernel.
        move |out: &Tensor, a: &Tensor| match order {
            1 => map::float_unary(out, a, kinds::Trigamma {}),
            _ => map::float_unary(out, a, kinds::Polygamma { n: order }),
        },
        grad,
    ))
}

fn round_dec_kernel(decimals: i64) -> impl Fn(&Tensor, &Tensor) -> Result<()> {
    let neg = decimals < 0;
    let p = 10f64.powi(decimals.unsigned_abs().min(400) as i32);
    float_op(kinds::RoundDecimals { p, neg })
}

/// `nan_to_num`: NaN -> `nan` (0), +inf -> `posinf` (dtype max), -inf -> `neginf`
/// (dtype lowest). Integer tensors are returned unchanged (a copy).
pub fn nan_to_num(
    a: &Tensor,
    nan: Option<f64>,
    posinf: Option<f64>,
    neginf: Option<f64>,
) -> Result<Tensor> {
    apply(
        a,
        "NanToNumBackward0",
        "nan_to_num",
        Kind::Same,
        Save::X,
        nan_to_num_kernel(nan, posinf, neginf),
        Some(|g: &Tensor, v: &Vals| mul(g, &mask(v.x()?, kinds::IsFinite {})?)),
    )
}

pub fn nan_to_num_(
    a: &Tensor,
    nan: Option<f64>,
    posinf: Option<f64>,
    neginf: Option<f64>,
) -> Result<()> {
    apply_(
        a,
        "NanToNumBackward0",
        "nan_to_num",
        Kind::Same,
        Save::X,
        nan_to_num_kernel(nan, posinf, neginf),
        Some(|g: &Tensor, v: &Vals| mul(g, &mask(v.x()?, kinds::IsFinite {})?)),
    )
}

fn float_max(dt: DType) -> f64 {
    match dt {
        DType::F16 => 65504.0,
        DType::BF16 => bf16::MAX.to_f64(),
        DType::F32 => f32::MAX as f64,
        _ => f64::MAX,
    }
}

fn nan_to_num_kernel(
    nan: Option<f64>,
    posinf: Option<f64>,
    neginf: Option<f64>,
) -> impl Fn(&Tensor, &Tensor) -> Result<()> {
    move |out: &Tensor, a: &Tensor| {
        let dt = out.dtype();
        if !dt.is_floating_point() {
            crate::ops::map::copy_cast(out, a)?;
            return Ok(());
        }
        // Each value rounded to the dtype here, once, as PyTorch's kernel does for a
        // half type: to float32 first, then to the half type (a value just above a
        // half-type tie rounds differently from a direct rounding). The float32
        // blocks then narrow it exactly.
        let in_dtype = |v: f64| match dt {
            DType::F16 => half::f16::from_f32(v as f32).to_f64(),
            DType::BF16 => bf16::from_f32(v as f32).to_f64(),
            _ => v,
        };
        let n = in_dtype(nan.unwrap_or(0.0));
        let p = in_dtype(posinf.unwrap_or(float_max(dt)));
        let m = in_dtype(neginf.unwrap_or(-float_max(dt)));
        map::element(
            out,
            a,
            kinds::NanToNum {
                nan: n,
                posinf: p,
                neginf: m,
            },
        )
    }
}

/// `logical_not`: bool result, true where the input is zero.
pub fn logical_not(a: &Tensor) -> Result<Tensor> {
    let out = Tensor::uninit_for(a.shape(), DType::Bool, a.device(), &[a])?;
    map::value_test(&out, a, kinds::IsZero {})?;
    Ok(out)
}

/// `logical_not_`: writes 0/1 in the tensor's own dtype.
pub fn logical_not_(a: &Tensor) -> Result<()> {
    check_inplace(a)?;
    let r = logical_not(a)?;
    crate::ops::map::copy_cast(a, &r)?;
    super::finish_constant_write(a, "LogicalNotBackward0");
    Ok(())
}

/// `bitwise_not` (`~`): integers and bool (logical not) only.
pub fn bitwise_not(a: &Tensor) -> Result<Tensor> {
    let out = Tensor::uninit_for(a.shape(), a.dtype(), a.device(), &[a])?;
    bitwise_not_kernel(&out, a)?;
    Ok(out)
}

pub fn bitwise_not_(a: &Tensor) -> Result<()> {
    check_inplace(a)?;
    bitwise_not_kernel(a, a)?;
    a.storage().bump_version();
    Ok(())
}

fn bitwise_not_kernel(out: &Tensor, a: &Tensor) -> Result<()> {
    match a.dtype() {
        d if d.is_floating_point() => Err(not_implemented("bitwise_not_cpu", d)),
        _ => map::element(out, a, kinds::BitwiseNot),
    }
}

// ----- activations with parameters -----

/// An activation `y = f(x)` on floating tensors, with its gradient formula.
#[allow(clippy::too_many_arguments)]
fn activation<K, B>(
    a: &Tensor,
    inplace: bool,
    name: &'static str,
    kname: &str,
    kind: Kind,
    save: Save,
    kernel: K,
    grad: B,
) -> Result<Tensor>
where
    K: Fn(&Tensor, &Tensor) -> Result<()>,
    B: Fn(&Tensor, &Vals) -> Result<Tensor> + Send + Sync + 'static,
{
    if inplace {
        apply_(a, name, kname, kind, save, kernel, Some(grad))?;
        Ok(a.clone())
    } else {
        apply(a, name, kname, kind, save, kernel, Some(grad))
    }
}

/// An activation's input gradient `g f'(v)`: one fused kernel (`ops::grad_kinds`) where
/// no graph is recorded and `g` has `v`'s dtype and shape (an ordinary backward); the
/// differentiable composition `composed` otherwise (`create_graph=True`, whose double
/// backward differentiates it).
fn fused_grad<K: FloatBinary>(
    g: &Tensor,
    v: &Tensor,
    kind: K,
    composed: impl FnOnce() -> Result<Tensor>,
) -> Result<Tensor> {
    if needs_grad(&[g, v]) || g.dtype() != v.dtype() || g.shape() != v.shape() {
        return composed();
    }
    let out = Tensor::uninit_for(
        v.shape(),
        v.dtype(),
        Tensor::result_device(&[g, v]),
        &[g, v],
    )?;
    map::float(&out, g, v, kind)?;
    Ok(out)
}

/// `gelu(x, approximate)`: `approximate` is "none" (erf) or "tanh".
pub fn gelu(a: &Tensor, approximate: &str) -> Result<Tensor> {
    use kinds::{GELU_C as C, GELU_K as K, GELU_S2 as S2};
    match approximate {
        "none" => activation(
            a,
            false,
            "GeluBackward0",
            "GeluKernelImpl",
            Kind::FloatOnly,
            Save::X,
            // erfc form: no cancellation in 1 + erf(x) for negative x.
            float_op(kinds::Gelu {}),
            |g: &Tensor, v: &Vals| {
                // d = Phi(x) + x phi(x)
                let x = v.x()?;
                fused_grad(g, x, grads::GeluGrad {}, || {
                    let cdf = scale(&shift(&erf(&scale(x, S2)?)?, 1.0)?, 0.5)?;
                    let pdf = scale(
                        &exp(&scale(&mul(x, x)?, -0.5)?)?,
                        0.5 * TWO_OVER_SQRT_PI * S2,
                    )?;
                    mul(g, &add(&cdf, &mul(x, &pdf)?)?)
                })
            },
        ),
        "tanh" => activation(
            a,
            false,
            "GeluBackward0",
            "GeluKernelImpl",
            Kind::FloatOnly,
            Save::X,
            float_op(kinds::GeluTanh {}),
            |g: &Tensor, v: &Vals| {
                let x = v.x()?;
                fused_grad(g, x, grads::GeluTanhGrad {}, || {
                    let x2 = mul(x, x)?;
                    let inner = scale(&add(x, &scale(&mul(&x2, x)?, C)?)?, K)?;
                    let t = tanh(&inner)?;
                    let left = scale(&shift(&t, 1.0)?, 0.5)?;
                    let dinner = scale(&shift(&scale(&x2, 3.0 * C)?, 1.0)?, K)?;
                    let right = mul(&scale(&mul(x, &rsub(&mul(&t, &t)?, 1.0)?)?, 0.5)?, &dinner)?;
                    mul(g, &add(&left, &right)?)
                })
            },
        ),
        other => Err(Error::Runtime(format!(
            "approximate argument must be either none or tanh. Got {other}"
        ))),
    }
}

/// `silu(x) = x sigmoid(x)`; d = s (1 + x (1 - s)).
pub fn silu(a: &Tensor, inplace: bool) -> Result<Tensor> {
    activation(
        a,
        inplace,
        "SiluBackward0",
        "silu_cpu",
        Kind::FloatOnly,
        Save::X,
        float_op(kinds::Silu {}),
        |g: &Tensor, v: &Vals| {
            let x = v.x()?;
            fused_grad(g, x, grads::SiluGrad {}, || {
                let s = sigmoid(x)?;
                mul(g, &mul(&s, &shift(&mul(x, &rsub(&s, 1.0)?)?, 1.0)?)?)
            })
        },
    )
}

/// `softplus(x) = log(1 + e^{beta x}) / beta`, linear above `threshold`.
pub fn softplus(a: &Tensor, beta: f64, threshold: f64) -> Result<Tensor> {
    activation(
        a,
        false,
        "SoftplusBackward0",
        "softplus_cpu",
        Kind::FloatOnly,
        Save::X,
        float_op(kinds::Softplus { beta, threshold }),
        move |g: &Tensor, v: &Vals| {
            // PyTorch's `beta x > threshold ? g : g z / (z + 1)`, z = e^(beta x).
            let x = v.x()?;
            fused_grad(g, x, grads::SoftplusGrad { beta, threshold }, || {
                let z = exp(&scale(x, beta)?)?;
                let curved = mul(g, &div(&z, &shift(&z, 1.0)?)?)?;
                let linear = test(x, kinds::ScaledAbove { beta, threshold })?;
                select(&linear, g, &curved)
            })
        },
    )
}

/// PyTorch's `elu(x, alpha, scale, input_scale)`: `scale x` for x > 0, `alpha scale
/// (e^(input_scale x) - 1)` otherwise. elu is (alpha, 1, 1), selu (its two constants, 1),
/// celu (alpha, 1, 1 / alpha): one kernel and one `EluBackward0` for the three, as in
/// PyTorch.
pub fn elu(a: &Tensor, alpha: f64, scale_: f64, input_scale: f64, inplace: bool) -> Result<Tensor> {
    let kind = kinds::Elu {
        alpha,
        scale: scale_,
        input_scale,
    };
    let grad_kind = grads::EluGrad {
        alpha,
        scale: scale_,
        input_scale,
    };
    activation(
        a,
        inplace,
        "EluBackward0",
        "elu_cpu",
        Kind::FloatOnly,
        Save::X,
        float_op(kind),
        move |g: &Tensor, v: &Vals| {
            // PyTorch's `x <= 0 ? g input_scale (alpha scale) e^(input_scale x) : g scale`
            // (a NaN x takes the second arm).
            let x = v.x()?;
            fused_grad(g, x, grad_kind, || {
                let e = exp(&scale(x, input_scale)?)?;
                let curved = mul(&scale(&scale(g, input_scale)?, alpha * scale_)?, &e)?;
                let linear = scale(g, scale_)?;
                select(&test(x, kinds::AtMost { v: 0.0 })?, &curved, &linear)
            })
        },
    )
}

/// `leaky_relu(x) = x` for x > 0, `slope x` otherwise (the slope at 0).
pub fn leaky_relu(a: &Tensor, slope: f64, inplace: bool) -> Result<Tensor> {
    activation(
        a,
        inplace,
        "LeakyReluBackward0",
        "leaky_relu_cpu",
        Kind::FloatOnly,
        Save::X,
        float_op(kinds::LeakyRelu { slope }),
        move |g: &Tensor, v: &Vals| {
            // PyTorch's `x > 0 ? g : g slope`.
            let x = v.x()?;
            fused_grad(g, x, grads::LeakyReluGrad { slope }, || {
                let positive = test(x, kinds::Above { v: 0.0 })?;
                select(&positive, g, &scale(g, slope)?)
            })
        },
    )
}

/// The elementwise part of `smooth_l1_loss` (`huber = false`, `param` beta) or
/// `huber_loss` (`huber = true`, `param` delta) of a difference `d = input - target`,
/// before the reduction: one pass, and one for its gradient (composed of subtractions,
/// `abs`, `where` and products, each a pass of its own).
pub fn smooth_l1(d: &Tensor, param: f64, huber: bool) -> Result<Tensor> {
    let (name, kname) = if huber {
        ("HuberLossBackward0", "huber_cpu")
    } else {
        ("SmoothL1LossBackward0", "smooth_l1_cpu")
    };
    let kernel = float_op(kinds::SmoothL1 { p: param, huber });
    activation(
        d,
        false,
        name,
        kname,
        Kind::FloatOnly,
        Save::X,
        kernel,
        move |g: &Tensor, v: &Vals| {
            let x = v.x()?;
            // g clamp(x / beta, -1, 1), or g clamp(x, -delta, delta).
            let composed = || {
                let (inner, bound) = if huber {
                    (x.clone(), param)
                } else {
                    (scale(x, 1.0 / param)?, 1.0)
                };
                let lo = super::binary::Rhs::Scalar(Scalar::Float(-bound));
                let hi = super::binary::Rhs::Scalar(Scalar::Float(bound));
                mul(g, &super::pointwise::clamp(&inner, Some(&lo), Some(&hi))?)
            };
            fused_grad(g, x, grads::SmoothL1Grad { p: param, huber }, composed)
        },
    )
}

/// `hardtanh(x, lo, hi)`: clamp; no gradient at or beyond the bounds.
pub fn hardtanh(a: &Tensor, lo: f64, hi: f64, inplace: bool) -> Result<Tensor> {
    if a.dtype() == DType::Bool {
        return Err(not_implemented("hardtanh", a.dtype()));
    }
    activation(
        a,
        inplace,
        "HardtanhBackward0",
        "hardtanh",
        Kind::Same,
        Save::X,
        move |out: &Tensor, x: &Tensor| map::element(out, x, kinds::Hardtanh { lo, hi }),
        // PyTorch's `x <= lo || x >= hi ? 0 : g` (a NaN x passes g).
        move |g: &Tensor, v: &Vals| keep(g, v.x()?, kinds::NotOutside { lo, hi }),
    )
}

/// `hardsigmoid(x) = relu6(x + 3) / 6`; gradient 1/6 strictly inside (-3, 3), zero at
/// and beyond the bounds (as PyTorch).
pub fn hardsigmoid(a: &Tensor, inplace: bool) -> Result<Tensor> {
    activation(
        a,
        inplace,
        "HardsigmoidBackward0",
        "hardsigmoid_cpu",
        Kind::FloatOnly,
        Save::X,
        float_op(kinds::Hardsigmoid {}),
        // PyTorch's `-3 < x < 3 ? g / 6 : 0`, the sixth as a float32 multiplier.
        |g: &Tensor, v: &Vals| {
            let x = v.x()?;
            fused_grad(g, x, grads::HardsigmoidGrad {}, || {
                let inside = kinds::Inside { lo: -3.0, hi: 3.0 };
                keep(&scale(g, (1.0f32 / 6.0) as f64)?, x, inside)
            })
        },
    )
}

/// `hardswish(x) = x relu6(x + 3) / 6`; gradient 0 up to -3, x / 3 + 1/2 inside, 1
/// from 3 on (PyTorch 2.15's values at the bounds: 0 and 1).
pub fn hardswish(a: &Tensor, inplace: bool) -> Result<Tensor> {
    activation(
        a,
        inplace,
        "HardswishBackward0",
        "hardswish_cpu",
        Kind::FloatOnly,
        Save::X,
        float_op(kinds::Hardswish {}),
        |g: &Tensor, v: &Vals| {
            // PyTorch 2.15's `x <= -3 ? 0 : x < 3 ? g (x / 3 + 1/2) : g` (a NaN x passes
            // g); differentiable in x for double backward.
            let x = v.x()?;
            fused_grad(g, x, grads::HardswishGrad {}, || {
                let three = Tensor::scalar(Scalar::Float(3.0), x.dtype())?;
                let curved = mul(g, &shift(&div(x, &three)?, 0.5)?)?;
                let middle = select(&test(x, kinds::Below { v: 3.0 })?, &curved, g)?;
                let low = test(x, kinds::AtMost { v: -3.0 })?;
                super::index::where_(
                    &low,
                    &super::binary::Rhs::Scalar(Scalar::Int(0)),
                    &super::binary::Rhs::Tensor(middle),
                )
            })
        },
    )
}

/// `relu6(x) = hardtanh(x, 0, 6)`.
pub fn relu6(a: &Tensor, inplace: bool) -> Result<Tensor> {
    hardtanh(a, 0.0, 6.0, inplace)
}

/// `logsigmoid(x) = -softplus(-x)`; d = sigmoid(-x).
pub fn logsigmoid(a: &Tensor) -> Result<Tensor> {
    activation(
        a,
        false,
        "LogSigmoidBackward0",
        "log_sigmoid_cpu",
        Kind::FloatOnly,
        Save::X,
        float_op(kinds::LogSigmoid {}),
        |g: &Tensor, v: &Vals| {
            let x = v.x()?;
            fused_grad(g, x, grads::LogSigmoidGrad {}, || {
                mul(g, &sigmoid(&neg(x)?)?)
            })
        },
    )
}

/// `mish(x) = x tanh(softplus(x))`.
pub fn mish(a: &Tensor, inplace: bool) -> Result<Tensor> {
    activation(
        a,
        inplace,
        "MishBackward0",
        "mish_cpu",
        Kind::FloatOnly,
        Save::X,
        float_op(kinds::Mish {}),
        |g: &Tensor, v: &Vals| {
            // d = t + x sigmoid(x) (1 - t^2), t = tanh(softplus(x))
            let x = v.x()?;
            fused_grad(g, x, grads::MishGrad {}, || {
                let t = tanh(&softplus(x, 1.0, 20.0)?)?;
                let s = sigmoid(x)?;
                let d = add(&t, &mul(&mul(x, &s)?, &rsub(&mul(&t, &t)?, 1.0)?)?)?;
                mul(g, &d)
            })
        },
    )
}
