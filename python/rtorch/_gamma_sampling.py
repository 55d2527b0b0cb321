"""Samplers behind rtorch.distributions' gamma family: ``torch._standard_gamma``, its
reparameterised gradient ``_standard_gamma_grad``, ``_sample_dirichlet``,
``_dirichlet_grad`` and ``torch.binomial``.

Everything runs in float64 internally, vectorised over the whole tensor: rejection
samplers draw in rounds for the elements not yet accepted (the loop runs over rounds,
never over elements), and results are cast back to the input's dtype.

The reparameterisation gradients are implicit: for a sample ``x = F^-1(u; alpha)`` with
``u`` held fixed, ``dx/dalpha = -(dF/dalpha)(x; alpha) / pdf(x; alpha)``, with ``F`` the
regularised incomplete gamma (or beta) function. ``dF/dalpha / pdf`` is a float64
central difference of the log of the smaller tail (``P`` or ``Q = 1 - P``) scaled by the
density, so that it keeps its relative accuracy (about 1e-9) far out in the tails where
both underflow. PyTorch evaluates it by rational and asymptotic approximations good to
about 1e-3 relative in places (and 0 where they underflow), so the two agree only to
that tolerance.
"""

from __future__ import annotations

import math
from typing import Any

from . import _C
from ._C import Tensor, lgamma
from ._dtype_info import scalar_name
from ._incomplete_gamma import _continued_fraction, _series_sum
from .autograd.function import Function

_TINY = 1e-300
_EPS = 2.0**-53
_CHECK_EVERY = 8
_MAX_ITERS = 100_000
# Central-difference step relative to the parameter: eps^(1/3) balances the O(h^2)
# truncation against the O(eps/h) rounding.
_REL_STEP = 6e-6


_scalar_name = scalar_name


def _require_float(name: str, t: Tensor) -> None:
    """PyTorch's kernels here exist for float32 and float64 only."""
    if t.dtype not in (_C.float32, _C.float64):
        raise NotImplementedError(f"\"{name}\" not implemented for '{_scalar_name(t.dtype)}'")


def _same_dtype(expected: Tensor, *others: Tensor) -> None:
    for t in others:
        if t.dtype != expected.dtype:
            raise RuntimeError(
                f"Found dtype {_scalar_name(t.dtype)} but expected {_scalar_name(expected.dtype)}"
            )


def _broadcast(*tensors: Tensor) -> tuple[Tensor, ...]:
    from ._composite_ops import broadcast_tensors

    return tuple(broadcast_tensors(*tensors))


def _tiny(dtype: Any) -> float:
    from ._dtype_info import finfo

    return finfo(dtype).tiny


def _rand(like: Tensor, generator: Any) -> Tensor:
    """Float64 uniforms in [0, 1) of ``like``'s shape, on its device."""
    return _C.rand(tuple(like.shape), dtype=_C.float64, device=like.device, generator=generator)


def _randn(like: Tensor, generator: Any) -> Tensor:
    """Float64 standard normals of ``like``'s shape, on its device."""
    return _C.randn(tuple(like.shape), dtype=_C.float64, device=like.device, generator=generator)


def _all_pending(like: Tensor) -> Tensor:
    return _C.ones(tuple(like.shape), dtype=_C.bool, device=like.device)


# --------------------------------------------------------------------------- gamma


def _marsaglia_tsang(alpha: Tensor, generator: Any) -> Tensor:
    """Gamma(alpha, 1) for alpha >= 1 by Marsaglia and Tsang's squeeze-and-reject
    method, in rounds over the elements still pending (acceptance is above 95%)."""
    d = alpha - 1.0 / 3.0
    c = 1.0 / (9.0 * d).sqrt()
    result = _C.zeros_like(alpha)
    pending = _all_pending(alpha)
    while bool(pending.any()):
        x = _randn(alpha, generator)
        u = _rand(alpha, generator)
        v = 1.0 + c * x
        positive = v > 0
        v = _C.where(positive, v, _C.ones_like(v))
        v3 = v * v * v
        x2 = x * x
        squeeze = u < 1.0 - 0.0331 * x2 * x2
        full = u.log() < 0.5 * x2 + d * (1.0 - v3 + v3.log())
        accept = pending & positive & (squeeze | full)
        result = _C.where(accept, d * v3, result)
        pending = pending & ~accept
    return result


def _log_standard_gamma64(alpha: Tensor, generator: Any) -> Tensor:
    """log of Gamma(alpha, 1) samples in float64 for float64 ``alpha`` (any values: alpha
    = inf gives inf; alpha <= 0 and NaN give -inf, a zero sample). For alpha < 1,
    Gamma(alpha) = Gamma(alpha + 1) * U^(1/alpha), whose log stays finite however far the
    sample itself underflows (below 1e-308 in half the draws for alpha = 1e-3)."""
    regular = (alpha > 0) & alpha.isfinite()
    a = _C.where(regular, alpha, _C.ones_like(alpha))
    boosted = a < 1
    log_g = _marsaglia_tsang(_C.where(boosted, a + 1, a), generator).log()
    u = _rand(alpha, generator)
    log_g = _C.where(boosted, log_g + u.log() / a, log_g)
    log_g = _C.where(regular, log_g, _C.full_like(log_g, -math.inf))
    return _C.where(alpha.isinf() & (alpha > 0), alpha, log_g)


def _sample_standard_gamma64(alpha: Tensor, generator: Any) -> Tensor:
    """Gamma(alpha, 1) samples in float64 (0 where they underflow, which the callers
    raise to the dtype's tiny)."""
    return _log_standard_gamma64(alpha, generator).exp()


class _StandardGamma(Function):
    @staticmethod
    def forward(ctx: Any, alpha: Tensor, generator: Any) -> Tensor:
        sample = _sample_standard_gamma64(alpha.detach().double(), generator)
        tiny = _tiny(alpha.dtype)
        # PyTorch keeps samples at least the dtype's smallest normal (NaN included).
        sample = _C.where(sample > tiny, sample, _C.full_like(sample, tiny)).to(alpha.dtype)
        ctx.save_for_backward(alpha, sample)
        return sample

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple:
        alpha, sample = ctx.saved_tensors
        return grad * _standard_gamma_grad(alpha.detach(), sample.detach()), None


_StandardGamma._backward_name = "StandardGammaBackward0"


def _standard_gamma(input: Tensor, generator: Any = None) -> Tensor:
    """Samples of Gamma(``input``, 1), one per element (``torch._standard_gamma``).

    Differentiable in ``input`` by the implicit reparameterisation gradient."""
    _require_float("gamma_cpu", input)
    return _StandardGamma.apply(input, generator)


def _gamma_grad_by_differences(a: Tensor, x: Tensor) -> Tensor:
    """-(dP/da)(x; a) / pdf(x; a) for positive finite float64 ``a`` and ``x``.

    Works on the smaller tail T (the lower tail P below x = a + 1, as its series; the
    upper tail Q = 1 - P above, as its continued fraction; dP/da = -dQ/da) divided by
    the density at ``a``, with the division folded into the exponent so that neither
    underflows where both are tiny: T(a') / pdf(a) = exp((a' - a + 1) log x
    - lgamma(a' [+ 1]) + lgamma(a)) times the series or the fraction. The derivative is
    a central difference of log T, nearly linear in a (a difference of T itself is off
    by h^2 (dlogT/da)^2 / 6, 0.1% in the far tails), times T(a) / pdf(a)."""
    upper = x >= a + 1
    one = _C.ones_like(x)
    # Each method sees only the arguments it handles (placeholders elsewhere).
    x_lo = _C.where(upper, one * 0.5, x)
    x_hi = _C.where(upper, x, one * 3.0)
    log_x = x.log()
    h = a * _REL_STEP

    def log_scaled_tail(da: float | Tensor) -> Tensor:
        ap = a + da
        lower = _series_sum(_C.where(upper, one, ap), x_lo).log() - lgamma(ap + 1)
        higher = _continued_fraction(_C.where(upper, ap, one), x_hi).log() - lgamma(ap)
        return (da + 1) * log_x + lgamma(a) + _C.where(upper, higher, lower)

    dlog = (log_scaled_tail(h) - log_scaled_tail(-h)) / (2 * h)
    scaled = log_scaled_tail(0.0).exp()
    # dP/da = dT/da below the switch and -dT/da above it.
    return _C.where(upper, scaled * dlog, -scaled * dlog)


def _standard_gamma_grad(input: Tensor, output: Tensor) -> Tensor:
    """d x / d alpha for samples ``output`` of Gamma(``input``, 1) (``torch._standard_gamma_grad``):
    ``-(dP/dalpha)(x; alpha) / pdf(x; alpha)`` with ``P`` the regularised lower incomplete
    gamma. 0 where ``x <= 0``; NaN where alpha is not positive and finite or x is inf."""
    _require_float("_standard_gamma_grad_cpu", input)
    _same_dtype(input, output)
    alpha, x = _broadcast(input.detach(), output.detach())
    a64, x64 = alpha.double(), x.double()
    regular = (a64 > 0) & a64.isfinite() & (x64 > 0) & x64.isfinite()
    a = _C.where(regular, a64, _C.ones_like(a64))
    xs = _C.where(regular, x64, _C.ones_like(x64))
    grad = _gamma_grad_by_differences(a, xs)
    grad = _C.where(regular, grad, _C.full_like(grad, math.nan))
    grad = _C.where(x64 <= 0, _C.zeros_like(grad), grad)
    return grad.to(input.dtype)


# ------------------------------------------------------------------------- dirichlet


class _SampleDirichlet(Function):
    @staticmethod
    def forward(ctx: Any, alpha: Tensor, generator: Any) -> Tensor:
        # Normalised in log space: with small concentrations every gamma draw of a row
        # can underflow, and their ratios (what a Dirichlet sample is) must not become
        # 1/K (Beta(1e-3, 1e-3) gave 0.5 for most draws instead of ~0 or ~1).
        log_g = _log_standard_gamma64(alpha.detach().double(), generator)
        tiny = _tiny(alpha.dtype)
        # A concentration <= 0 or NaN draws PyTorch's floor, the dtype's smallest normal.
        log_g = _C.where(log_g == -math.inf, _C.full_like(log_g, math.log(tiny)), log_g)
        out = log_g.softmax(-1)
        return _C.where(out > tiny, out, _C.full_like(out, tiny)).to(alpha.dtype)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple:
        raise RuntimeError("derivative for aten::_sample_dirichlet is not implemented")


_SampleDirichlet._backward_name = "NotImplemented"


def _sample_dirichlet(input: Tensor, generator: Any = None) -> Tensor:
    """Samples of Dirichlet(``input``) along the last dimension (``torch._sample_dirichlet``):
    independent Gamma(alpha_i, 1) draws normalised to sum to one, each at least the
    dtype's smallest normal. Not differentiable (``Dirichlet.rsample`` is)."""
    _require_float("dirichlet", input)
    if input.dim() == 0:
        return _SampleDirichlet.apply(input.reshape(1), generator).reshape(())
    return _SampleDirichlet.apply(input, generator)


def _betacf(a: Tensor, b: Tensor, x: Tensor) -> Tensor:
    """The continued fraction of I_x(a, b) (modified Lentz), which converges fast for
    x < (a + 1) / (a + b + 2)."""
    qab, qap, qam = a + b, a + 1, a - 1
    tiny = _C.full_like(x, _TINY)

    def guard(t: Tensor) -> Tensor:
        return _C.where(t.abs() < _TINY, tiny, t)

    c = _C.ones_like(x)
    d = 1 / guard(1 - qab * x / qap)
    h = d.clone()
    for m in range(1, _MAX_ITERS):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 / guard(1 + aa * d)
        c = guard(1 + aa / c)
        h = h * d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 / guard(1 + aa * d)
        c = guard(1 + aa / c)
        delta = d * c
        h = h * delta
        if m % _CHECK_EVERY == 0 and not bool(((delta - 1).abs() > 4 * _EPS).any()):
            break
    return h


def _log_beta(a: Tensor, b: Tensor) -> Tensor:
    return lgamma(a) + lgamma(b) - lgamma(a + b)


def _dirichlet_grad(x: Tensor, alpha: Tensor, total: Tensor) -> Tensor:
    """``torch._dirichlet_grad``: the elementwise factor ``g`` of a Dirichlet sample's
    reparameterised Jacobian ``dx_j/dalpha_i = g_i (delta_ij - x_j)``.

    The marginal ``x_i`` is Beta(alpha_i, beta_i) with ``beta_i = total_i - alpha_i`` held
    fixed when alpha_i moves alone, so ``g = (dx/dalpha) / (1 - x)`` where
    ``dx/dalpha = -(dI_x/dalpha) / pdf(x)`` is the implicit gradient of the regularised
    incomplete beta ``I``."""
    _require_float("_dirichlet_grad_cpu", x)
    _same_dtype(x, alpha, total)
    xs, al, tot = _broadcast(x.detach(), alpha.detach(), total.detach())
    x64, a64, t64 = xs.double(), al.double(), tot.double()
    b64 = t64 - a64
    regular = (x64 > 0) & (x64 < 1) & (a64 > 0) & (b64 > 0) & a64.isfinite() & b64.isfinite()
    one = _C.ones_like(x64)
    a = _C.where(regular, a64, one)
    b = _C.where(regular, b64, one)
    xv = _C.where(regular, x64, one * 0.5)
    # Take the tail the continued fraction handles: I_x(a, b) itself below the switch
    # point, else 1 - I_{1-x}(b, a), whose a-derivative is -d/da I_{1-x}(b, a).
    upper = xv >= (a + 1) / (a + b + 2)
    h = a * _REL_STEP
    log_x, log1m_x = xv.log(), (-xv).log1p()
    x_lo = _C.where(upper, one * 0.25, xv)
    x_hi = _C.where(upper, 1 - xv, one * 0.25)

    def log_scaled_tail(da: float | Tensor) -> Tensor:
        # Both I_x(a', b) and I_{1-x}(b, a') carry x^a' (1-x)^b / B(a', b); over the
        # density at a that factor leaves this exponent (no underflow of either). As
        # for the gamma, the difference is taken of the log of the tail.
        ap = a + da
        log_ratio = (da + 1) * log_x + log1m_x - _log_beta(ap, b) + _log_beta(a, b)
        lower = (_betacf(ap, b, x_lo) / ap).log()
        higher = (_betacf(b, ap, x_hi) / b).log()
        return log_ratio + _C.where(upper, higher, lower)

    dlog = (log_scaled_tail(h) - log_scaled_tail(-h)) / (2 * h)
    scaled = log_scaled_tail(0.0).exp()
    # dI/da = dT/da for the lower tail T, -dT/da for the upper one.
    dcdf_over_pdf = _C.where(upper, -scaled * dlog, scaled * dlog)
    grad = -dcdf_over_pdf / (1 - xv)
    grad = _C.where(regular, grad, _C.full_like(grad, math.nan))
    return grad.to(x.dtype)


# -------------------------------------------------------------------------- binomial


def _binomial_inversion(n: Tensor, p: Tensor, generator: Any) -> Tensor:
    """Binomial(n, p) for n * p < 10 (p <= 1/2) by sequential search of the CDF."""
    q = 1 - p
    s = p / q
    a = (n + 1) * s
    r = (n * (-p).log1p()).exp()
    u = _rand(n, generator)
    k = _C.zeros_like(n)
    step = 0
    while True:
        more = (u > r) & (k < n)
        if step % _CHECK_EVERY == 0 and not bool(more.any()):
            return k
        step += 1
        u = _C.where(more, u - r, u)
        k = _C.where(more, k + 1, k)
        r = _C.where(more, r * (a / _C.where(more, k, _C.ones_like(k)) - s), r)


def _binomial_btrs(n: Tensor, p: Tensor, generator: Any) -> Tensor:
    """Binomial(n, p) for n * p >= 10 (p <= 1/2) by Hormann's transformed rejection with
    squeeze (BTRS), an exact rejection method, in rounds over the pending elements."""
    q = 1 - p
    spq = (n * p * q).sqrt()
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    v_r = 0.92 - 4.2 / b
    alpha = (2.83 + 5.1 / b) * spq
    lpq = (p / q).log()
    m = ((n + 1) * p).floor()
    h = lgamma(m + 1) + lgamma(n - m + 1)
    result = _C.zeros_like(n)
    pending = _all_pending(n)
    while bool(pending.any()):
        u = _rand(n, generator) - 0.5
        v = _rand(n, generator)
        us = 0.5 - u.abs()
        k = ((2 * a / us + b) * u + c).floor()
        inside = (k >= 0) & (k <= n)
        quick = (us >= 0.07) & (v <= v_r)
        ks = k.clamp(min=0)
        ks = _C.minimum(ks, n)
        log_v = (v * alpha / (a / (us * us) + b)).log()
        bound = h - lgamma(ks + 1) - lgamma(n - ks + 1) + (ks - m) * lpq
        accept = pending & inside & (quick | (log_v <= bound))
        result = _C.where(accept, k, result)
        pending = pending & ~accept
    return result


class _Binomial(Function):
    @staticmethod
    def forward(ctx: Any, count: Tensor, prob: Tensor, generator: Any) -> Tensor:
        n64, p64 = count.detach().double(), prob.detach().double()
        n = n64.floor().clamp(min=0)
        regular = (n > 0) & n.isfinite() & (p64 > 0) & (p64 < 1)
        flip = p64 > 0.5
        ps = _C.where(flip, 1 - p64, p64)
        ps = _C.where(regular, ps, _C.full_like(ps, 0.25))
        ns = _C.where(regular, n, _C.ones_like(n))
        small = ns * ps < 10
        k = _binomial_inversion(_C.where(small, ns, _C.ones_like(ns)), ps, generator)
        if not bool(small.all()):
            big_n = _C.where(small, _C.full_like(ns, 100.0), ns)
            big_p = _C.where(small, _C.full_like(ps, 0.25), ps)
            k = _C.where(small, k, _binomial_btrs(big_n, big_p, generator))
        k = _C.where(flip, ns - k, k)
        # The edges as PyTorch: no trials or p <= 0 give 0, p >= 1 gives n (inf stays
        # inf), NaN p gives NaN.
        out = _C.where(regular, k, _C.zeros_like(k))
        out = _C.where((p64 >= 1) & (n > 0), n, out)
        out = _C.where(n.isinf() & (p64 > 0), n, out)
        out = _C.where(p64.isnan(), p64, out)
        return out.to(count.dtype)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple:
        raise RuntimeError("derivative for aten::binomial is not implemented")


_Binomial._backward_name = "NotImplemented"


def binomial(count: Tensor, prob: Tensor, generator: Any = None) -> Tensor:
    """Samples of Binomial(``count``, ``prob``), broadcast together (``torch.binomial``).
    Exact: inversion where n * min(p, 1 - p) < 10, BTRS rejection otherwise."""
    if not count.is_floating_point():
        raise ValueError(
            "binomial only supports floating-point dtypes for count, got: "
            f"{_scalar_name(count.dtype)}"
        )
    _same_dtype(count, prob)
    _require_float("binomial_cpu", count)
    n, p = _broadcast(count, prob)
    return _Binomial.apply(n, p, generator)


FUNCTIONS: dict[str, Any] = {
    "_standard_gamma": _standard_gamma,
    "_standard_gamma_grad": _standard_gamma_grad,
    "_sample_dirichlet": _sample_dirichlet,
    "_dirichlet_grad": _dirichlet_grad,
    "binomial": binomial,
}
METHODS: dict[str, Any] = {}
