"""Elementwise results are laid out in their inputs' memory order, as PyTorch's
TensorIterator does (`x.t().exp()` is transposed too; `x.t() + y` follows `x.t()`), and
the values are right on every path that this reaches: the flat loop for operands of one
dense permutation, the memory-ordered strided walk for mixed layouts, above and below
the parallel grain (32768 elements). References: numpy in float64; the expected strides
are PyTorch 2.x's (checked against it by the parity test when PyTorch is installed)."""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import pytest

import rtorch

GRAIN = 32768


def np64(t: rtorch.Tensor) -> np.ndarray:
    return np.array(t.double().tolist(), dtype=np.float64)


def cases(torch: Any) -> dict:  # rtorch or PyTorch
    torch.manual_seed(0)
    x = torch.randn(3, 4).t()
    y = torch.randn(4, 3)
    z = torch.randn(4, 6)[:, ::2].t()
    p = torch.randn(2, 3, 4).permute(2, 0, 1)
    i = torch.arange(12).reshape(3, 4).t()
    return {
        "exp": lambda: x.exp(),
        "neg": lambda: -x,
        "add_scalar": lambda: x + 1,
        "x+y": lambda: x + y,
        "y+x": lambda: y + x,
        "nondense": lambda: z.exp(),
        "permuted": lambda: p.sigmoid(),
        "permuted_add": lambda: p + p,
        "gt": lambda: x > 0,
        "bcast_row": lambda: x + torch.ones(1, 3),
        "bcast_col": lambda: x + torch.ones(4, 1),
        "int_div": lambda: i / 2,
        "int_mul": lambda: i * 2,
        "pow": lambda: x**2,
        "maximum": lambda: torch.maximum(x, y),
        "clamp": lambda: x.clamp(-0.5, 0.5),
        "where": lambda: torch.where(x > 0, x, y),
        "logical_not": lambda: torch.logical_not(x),
        "expanded": lambda: torch.ones(3, 1).expand(3, 4) + 1,
    }


EXPECTED = {
    "exp": (1, 4),
    "neg": (1, 4),
    "add_scalar": (1, 4),
    "x+y": (1, 4),
    "y+x": (3, 1),
    "nondense": (1, 3),
    "permuted": (1, 12, 4),
    "permuted_add": (1, 12, 4),
    "gt": (1, 4),
    "bcast_row": (1, 4),
    "bcast_col": (1, 4),
    "int_div": (1, 4),
    "int_mul": (1, 4),
    "pow": (1, 4),
    "maximum": (1, 4),
    "clamp": (1, 4),
    "where": (1, 4),
    "logical_not": (1, 4),
    "expanded": (4, 1),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_output_strides_follow_the_inputs(name: str) -> None:
    assert cases(rtorch)[name]().stride() == EXPECTED[name]


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch not installed")
def test_strides_match_pytorch() -> None:
    import torch

    ours = {k: f().stride() for k, f in cases(rtorch).items()}
    theirs = {k: f().stride() for k, f in cases(torch).items()}
    assert ours == theirs


@pytest.mark.parametrize("n", [5, 300])  # 300 x 300 = 90000 elements: above the grain
@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64, rtorch.bfloat16])
def test_transposed_values(n: int, dtype: rtorch.dtype) -> None:
    base = rtorch.randn(n, n + 1).to(dtype)
    x = base.t()  # (n + 1, n), strides (1, n + 1)
    y = rtorch.randn(n + 1, n).to(dtype)  # contiguous: a mixed-layout pair with x
    xn, yn = np64(x), np64(y)
    tol = 1e-2 if dtype == rtorch.bfloat16 else 1e-6
    for got, want in [
        (x.exp(), np.exp(xn)),
        (x.sigmoid(), 1 / (1 + np.exp(-xn))),
        (x + 1, xn + 1),
        (x * x, xn * xn),
        (x + y, xn + yn),
        (y + x, yn + xn),
        (x - y.t().contiguous().t(), xn - yn),  # both transposed, one dense order
        (torch_where(x, y), np.where(xn > 0, xn, yn)),
        (x > 0, xn > 0),
    ]:
        np.testing.assert_allclose(np64(got), want, rtol=tol, atol=tol)
    assert x.exp().stride() == x.stride()
    assert (y + x).is_contiguous()


def torch_where(x: rtorch.Tensor, y: rtorch.Tensor) -> rtorch.Tensor:
    return rtorch.where(x > 0, x, y)


@pytest.mark.parametrize("shape", [(2, 3, 4), (40, 30, 50)])  # the second is above the grain
def test_permuted_3d_values_and_layout(shape: tuple[int, int, int]) -> None:
    p = rtorch.randn(*shape).permute(2, 0, 1)
    q = rtorch.randn(*shape).permute(2, 0, 1)
    pn, qn = np64(p), np64(q)
    np.testing.assert_allclose(np64(p.tanh()), np.tanh(pn), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np64(p * q + 2), pn * qn + 2, rtol=1e-6, atol=1e-6)
    assert p.tanh().stride() == p.stride()
    # Sliced (not dense): the output is dense, in the input's dim order.
    s = p[:, :, ::2]
    out = s.exp()
    np.testing.assert_allclose(np64(out), np.exp(np64(s)), rtol=1e-6, atol=1e-6)
    a, _, c = out.shape
    assert out.stride() == (1, c * a, a)


def test_in_place_and_copy_into_transposed() -> None:
    n = 200  # 40000 elements: above the grain
    x = rtorch.randn(n, n).t()
    want = np64(x) * 2 + 1
    x.mul_(2).add_(1)
    np.testing.assert_allclose(np64(x), want, rtol=1e-6, atol=1e-6)
    dst = rtorch.empty(n, n).t()
    src = rtorch.randn(n, n).t()
    dst.copy_(src)
    assert np.array_equal(np64(dst), np64(src))
    dst.fill_(3.0)
    assert np.all(np64(dst) == 3.0)


def test_edge_shapes() -> None:
    assert rtorch.randn(0, 3).t().exp().shape == (3, 0)
    assert rtorch.tensor(2.0).exp().stride() == ()
    one = rtorch.randn(1, 5).t()  # (5, 1): contiguous whatever the stride of size-1 dims
    assert one.exp().is_contiguous()
    np.testing.assert_allclose(np64(one.exp()), np.exp(np64(one)), rtol=1e-6)


@pytest.mark.parametrize("n", [1000, 3 * GRAIN + 7])  # one row split into pieces above
def test_scalar_operand_paths(n: int) -> None:
    """A number on either side (stride-0 operand): one long row that the strided walk
    splits into pieces across threads; also through a strided (sliced) input."""
    x = rtorch.randn(n)
    xn = np64(x)
    z = rtorch.randn(2 * n)[::2]
    zn = np64(z)
    for got, want in [
        (x * 2, xn * 2),
        (1 - x, 1 - xn),
        (-x, -xn),
        (x > 0, xn > 0),
        (x + rtorch.tensor(0.5), xn + 0.5),
        (rtorch.tensor(3.0) * x, 3 * xn),
        (z * 2, zn * 2),
        (1 - z, 1 - zn),
        (z + x, zn + xn),
    ]:
        np.testing.assert_allclose(np64(got), want, rtol=1e-6, atol=1e-6)
    y = x.clone()
    y.mul_(2).sub_(1)
    np.testing.assert_allclose(np64(y), xn * 2 - 1, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("rows", [3, 700])  # below and above the grain (600-wide rows)
def test_unit_stride_rows_of_sliced_tensors(rows: int) -> None:
    """Column slices of a wider tensor: not one flat run, but every row is unit-stride,
    so rows take the vectorised run loop that the contiguous case uses, including its
    exact-alias cases (in place: the output is the left operand, or both operands)."""
    big = rtorch.randn(rows, 640)
    other = rtorch.randn(rows, 640)
    x, y = big[:, 17:617], other[:, 3:603]
    xn, yn = np64(x), np64(y)
    for got, want in [
        (x + y, xn + yn),
        (x * y, xn * yn),
        (x.exp(), np.exp(xn)),
        (-x, -xn),
        (x > y, xn > yn),
    ]:
        np.testing.assert_allclose(np64(got), want, rtol=1e-6, atol=1e-6)
    w = big.clone()[:, 17:617]
    w.add_(y)  # out aliases the left operand, row by row
    np.testing.assert_allclose(np64(w), xn + yn, rtol=1e-6, atol=1e-6)
    u = big.clone()[:, 17:617]
    u.mul_(u)  # both operands alias the output
    np.testing.assert_allclose(np64(u), xn * xn, rtol=1e-6, atol=1e-6)
    t = big.clone()[:, 17:617]
    t.exp_()  # unary in place
    np.testing.assert_allclose(np64(t), np.exp(xn), rtol=1e-6, atol=1e-6)


STAGE = 64  # elements of an aliased input staged per block (cpu/elementwise.rs)


@pytest.mark.parametrize("n", [0, 1, STAGE - 1, STAGE, STAGE + 1, 3 * STAGE + 5, GRAIN + 3])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "uint8"])
def test_in_place_reads_staged_blocks(n: int, dtype: str) -> None:
    """An output that is also an input (x.op_(y), x.op_(x)) is read through copied
    blocks: every block boundary and tail, above the grain, integer and float."""
    dt = getattr(rtorch, dtype)
    x = (rtorch.arange(n) % 7 + 1).to(dt)
    y = (rtorch.arange(n) % 5 + 2).to(dt)
    xn, yn = np64(x), np64(y)
    x.mul_(y)  # the left operand is the output
    want = xn * yn
    assert np.array_equal(np64(x), want)
    x.add_(x)  # both operands are the output
    want = want + want
    if dtype == "uint8":
        want = want % 256
    assert np.array_equal(np64(x), want)
    x.neg_() if dtype != "uint8" else x.bitwise_not_()
    want = -want if dtype != "uint8" else 255 - want
    assert np.array_equal(np64(x), want)
    if dtype.startswith("float"):
        x.abs_().sqrt_()  # unary in place, vectorised float path
        np.testing.assert_allclose(np64(x), np.sqrt(np.abs(want)), rtol=1e-6)
    # The right operand is the output: `out=` on the operand.
    z = y.clone()
    rtorch.sub(x, z, out=z)
    want = np64(x) - yn
    if dtype == "uint8":
        want = want % 256
    assert np.array_equal(np64(z), want)


@pytest.mark.parametrize("cols", [1, STAGE - 1, STAGE, STAGE + 1, 2 * STAGE + 3])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int16"])
def test_strided_rows_in_blocks(cols: int, dtype: str) -> None:
    """Rows of the strided walk go through blocks: gathered inputs, a broadcast input
    filled from its one value, outputs scattered when not unit-stride, an in-place
    operand that is gathered before its block is written."""
    dt = getattr(rtorch, dtype)
    rows = 3
    a = (rtorch.arange(rows * cols) % 11 - 5).to(dt).reshape(cols, rows).t()  # transposed
    b = (rtorch.arange(rows * cols) % 7 + 1).to(dt).reshape(rows, cols)
    c = (rtorch.arange(rows) + 2).to(dt)
    an, bn, cn = np64(a), np64(b), np64(c)
    w = (rtorch.arange(rows * 2 * cols) % 9).to(dt).reshape(rows, 2 * cols)[:, ::2]
    wn = np64(w)
    for got, want in [
        (a + b, an + bn),
        (b - a, bn - an),
        (w * b, wn * bn),
        (a * c[:, None], an * cn[:, None]),
        (c[:, None] - a, cn[:, None] - an),
        (a > b, an > bn),
        (-a, -an),
        (a.abs(), np.abs(an)),
        (w.neg(), -wn),
    ]:
        assert np.array_equal(np64(got), want)
    x = a.clone().t().contiguous().t()  # transposed, its own storage
    x.mul_(b)  # in place on the transposed operand; `b` is row-major
    assert np.array_equal(np64(x), an * bn)
    x.sub_(w)
    assert np.array_equal(np64(x), an * bn - wn)
    if dtype.startswith("float"):
        np.testing.assert_allclose(np64(a.t().exp()), np.exp(an.T), rtol=1e-6)
        np.testing.assert_allclose(np64(w.sigmoid()), 1 / (1 + np.exp(-wn)), rtol=1e-6)


@pytest.mark.parametrize("cols", [2, 17, STAGE + 1, GRAIN + 5])
def test_float32_division_by_a_broadcast_column(cols: int) -> None:
    """float32 division and copysign with an operand broadcast along the last dim (a
    column, as `x / x.sum(1, keepdim=True)`: rows computed in the output against a block
    of the value), a number broadcast over everything, rows and transposes: every one bit
    for bit numpy's float32."""
    rng = np.random.default_rng(cols)
    rows = 3
    a = rng.standard_normal((rows, cols)).astype(np.float32)
    c = (rng.uniform(0.5, 2.0, (rows, 1)) * rng.choice([-1, 1], (rows, 1))).astype(np.float32)
    x, col = rtorch.from_numpy(a), rtorch.from_numpy(c)
    s = x.sum(1, keepdim=True)  # the divisor of a row normalisation
    for got, want in [
        (x / col, a / c),
        (col / x, c / a),
        (x / s, a / s.numpy()),
        (rtorch.copysign(x, col), np.copysign(a, c)),
        (x / rtorch.tensor(3.0), a / np.float32(3.0)),
        (x / x[:1], a / a[:1]),
        (x.t() / col.t(), a.T / c.T),
    ]:
        assert got.dtype == rtorch.float32
        np.testing.assert_array_equal(got.numpy(), want)
    y = x.clone()
    y /= col  # in place
    np.testing.assert_array_equal(y.numpy(), a / c)


@pytest.mark.parametrize("n", [1, STAGE - 1, STAGE + 1, 2 * STAGE + 3, GRAIN + 5])
def test_ternary_maps_in_blocks(n: int) -> None:
    """where / addcmul / lerp / clamp with tensor bounds, contiguous, broadcast,
    transposed and in place, across block boundaries and above the grain."""
    x = (rtorch.arange(n) % 13 - 6).double().reshape(1, n).expand(2, n)
    y = (rtorch.arange(2 * n) % 5 - 2).double().reshape(n, 2).t()  # transposed
    z = rtorch.tensor([[0.5], [2.0]], dtype=rtorch.float64)  # broadcast column
    xn, yn, zn = np64(x), np64(y), np64(z)
    for got, want in [
        (rtorch.where(x > y, x, y), np.where(xn > yn, xn, yn)),
        (rtorch.where(x > 0, z, y), np.where(xn > 0, zn, yn)),
        (rtorch.addcmul(x, y, z), xn + yn * zn),
        (rtorch.lerp(x, y, z), xn + zn * (yn - xn)),
        (rtorch.clamp(x, y, y + 1), np.minimum(np.maximum(xn, yn), yn + 1)),
    ]:
        np.testing.assert_allclose(np64(got), want, rtol=1e-12, atol=0)
    w = x.contiguous()
    w.addcmul_(y, z)  # in place: the output is the first operand
    np.testing.assert_allclose(np64(w), xn + yn * zn, rtol=1e-12, atol=0)
    v = x.float().contiguous()
    v.clamp_(y.float(), y.float() + 1)
    np.testing.assert_allclose(np64(v), np.minimum(np.maximum(xn, yn), yn + 1), rtol=1e-6)


FILL_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16"]
FILL_DTYPES += ["float32", "float64"]


@pytest.mark.parametrize("dtype", FILL_DTYPES)
@pytest.mark.parametrize("n", [0, 1, 7, 65, 2 * GRAIN + 13])
def test_fill_every_dtype_flat_and_viewed(dtype: str, n: int) -> None:
    """fill_ / zero_ / zeros / full on flat storage (the vectorised chunks, with tails,
    above and below the grain) and on a view with gaps, whose bytes outside it stay."""
    dt = getattr(rtorch, dtype)
    value = True if dtype == "bool" else 3
    want = np.array(value).astype(np.float64)
    x = rtorch.zeros(n, dtype=dt)
    x.fill_(value)
    assert np.all(np64(x) == want) and x.dtype == dt
    x.zero_()
    assert np.all(np64(x) == 0)
    assert np.all(np64(rtorch.full((n,), value, dtype=dt)) == want)
    base = rtorch.zeros(n, 3, dtype=dt)
    base[:, 1].fill_(value)
    got = np64(base).reshape(n, 3)
    assert np.all(got[:, 1] == want) and np.all(got[:, [0, 2]] == 0)


HALF_BLOCK = 1024  # float32 elements per block of the blocked maps (cpu/elementwise.rs)


@pytest.mark.parametrize("cols", [1, 17, HALF_BLOCK - 1, HALF_BLOCK + 5])
@pytest.mark.parametrize("rows", [3, 70])  # below and above the parallel grain
def test_float32_unary_rows_computed_in_the_output(rows: int, cols: int) -> None:
    """A float32 unary op on unit-stride rows of a wider tensor (`x[:, k:].sigmoid()`)
    computes each row in the output: the same bits as the op on a contiguous copy (one
    value, one result, whatever the layout), in place on the view too, and the columns
    outside the view untouched."""
    big = rtorch.randn(rows, 2 * cols + 3) * 4
    view = big[:, cols + 3 :]
    dense = view.contiguous()
    for name in ["sigmoid", "exp", "tanh", "erf", "log1p"]:
        got, want = getattr(view, name)(), getattr(dense, name)()
        assert got.is_contiguous()
        assert np.array_equal(got.numpy(), want.numpy(), equal_nan=True), name
        inplace = big.clone()
        getattr(inplace[:, cols + 3 :], name + "_")()
        assert np.array_equal(inplace[:, cols + 3 :].numpy(), want.numpy(), equal_nan=True)
        assert np.array_equal(inplace[:, : cols + 3].numpy(), big[:, : cols + 3].numpy())
    np.testing.assert_allclose(np64(view.sigmoid()), 1 / (1 + np.exp(-np64(view))), rtol=2e-7)


@pytest.mark.parametrize("cols", [1, 17, HALF_BLOCK + 5])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_strided_rows_use_part_blocks(cols: int, dtype: str) -> None:
    """Strided rows of the half types through the float32 blocks (rows shorter and
    longer than a block): unary, binary and ternary maps rounded once from float32."""
    dt = getattr(rtorch, dtype)
    big = (rtorch.randn(5, 2 * cols) * 3).to(dt)
    a, b = big[:, ::2], big[:, 1::2]
    af, bf = a.float(), b.float()
    for got, want in [
        (a.sigmoid(), af.sigmoid().to(dt)),
        (a * b, (af * bf).to(dt)),
        (rtorch.addcmul(a, a, b, value=0.5), (af + 0.5 * af * bf).to(dt)),
    ]:
        assert got.dtype == dt
        np.testing.assert_array_equal(np64(got), np64(want))


RUN = 512  # elements per run of a row against a broadcast value (cpu/elementwise.rs)


@pytest.mark.parametrize("cols", [1, 3, RUN - 1, RUN, RUN + 1, 2 * RUN + 7])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32", "int16", "uint8"])
def test_rows_against_a_broadcast_value(cols: int, dtype: str) -> None:
    """A row against one value (a column operand, `x.mul_(col)`, `col - x`, or a 0-dim
    value expanded over everything): in place through runs of the vector loop against a
    block of the value, out of place with the value on either side, above and below the
    run length; exact against numpy (integer results wrap as the dtype does)."""
    dt = getattr(rtorch, dtype)
    rows = 5
    x = (rtorch.arange(rows * cols) % 13 + 1).to(dt).reshape(rows, cols)
    col = (rtorch.arange(rows) % 3 + 2).to(dt)[:, None]
    xn, cn = np64(x), np64(col)
    wrap = (lambda v: v % 256) if dtype == "uint8" else (lambda v: v)
    y = x.clone()
    y.mul_(col)
    assert np.array_equal(np64(y), wrap(xn * cn))
    y.sub_(col)
    assert np.array_equal(np64(y), wrap(xn * cn - cn))
    y.add_(col, alpha=2)
    assert np.array_equal(np64(y), wrap(xn * cn + cn))
    assert np.array_equal(np64(x * col), wrap(xn * cn))
    assert np.array_equal(np64(col - x), wrap(cn - xn))
    assert np.array_equal(np64(col * x), wrap(cn * xn))
    value = rtorch.tensor(3).to(dt).expand(rows, cols)
    z = x.clone()
    z.add_(value)
    assert np.array_equal(np64(z), wrap(xn + 3))
    assert np.array_equal(np64(value - x), wrap(3 - xn))
    if dtype.startswith("float"):
        f = x.clone()
        f.div_(col)
        np.testing.assert_allclose(np64(f), xn / cn, rtol=1e-7 if dtype == "float32" else 0)


@pytest.mark.parametrize("n", [7, GRAIN + 5])
def test_value_expanded_over_everything_in_place(n: int) -> None:
    """A 0-dim value expanded over a tensor is one row of stride 0 (split into pieces
    above the parallel grain): in place and out of place, exact."""
    x = rtorch.arange(n, dtype=rtorch.float32)
    g = rtorch.tensor(0.5).expand(n)
    y = x.clone()
    y.mul_(g)
    assert np.array_equal(np64(y), np.arange(n) * 0.5)
    y.add_(g)
    assert np.array_equal(np64(y), np.arange(n) * 0.5 + 0.5)
    assert np.array_equal(np64(g - x), 0.5 - np.arange(n))
    # (add and mul commute: the map swaps a broadcast first operand to the right)
    assert np.array_equal(np64(g * x), np.arange(n) * 0.5)
    assert np.array_equal(np64(g + x), np.arange(n) + 0.5)
    z = rtorch.zeros(n)
    rtorch.mul(g, x, out=z)
    assert np.array_equal(np64(z), np.arange(n) * 0.5)


@pytest.mark.parametrize("dtype", ["bool", "uint8", "int16", "float16", "float32", "int64"])
@pytest.mark.parametrize("shape", [(3, 5), (4, GRAIN + 3), (GRAIN + 3, 2), (4099, 9), (29127, 9)])
def test_copy_of_a_broadcast_source(dtype: str, shape: tuple[int, int]) -> None:
    """`contiguous()` / `copy_` of an expanded value or column fills each output row
    with its one value (every element size; rows above and below the parallel grain;
    rows of 9, which the tiled transpose once took), and a row repeats down the rows."""
    dt = getattr(rtorch, dtype)
    rows, cols = shape
    col = (rtorch.arange(rows) % 2).to(dt)[:, None]
    got = col.expand(rows, cols).contiguous()
    assert got.is_contiguous() and got.dtype == dt
    assert np.array_equal(np64(got), np.repeat(np64(col), cols, axis=1))
    one = rtorch.tensor(1).to(dt)
    out = rtorch.zeros(rows, cols, dtype=dt)
    out.copy_(one.expand(rows, cols))
    assert np.array_equal(np64(out), np.ones((rows, cols)))
    out.copy_(col)  # broadcast by copy_ itself
    assert np.array_equal(np64(out), np.repeat(np64(col), cols, axis=1))
    row = (rtorch.arange(cols) % 3).to(dt)  # a row repeated down the output
    assert np.array_equal(np64(row.expand(rows, cols).contiguous()), np.tile(np64(row), (rows, 1)))


@pytest.mark.parametrize("cols", [1, 2, 3, 4, 5, 16, 32, 33])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "float16"])
def test_short_rows(cols: int, dtype: str) -> None:
    """Rows of at most 4 elements (points, boxes, RGB channels last) are walked along
    the long dim instead (`Plan::long_rows`); arithmetic on rows of 5 to 32 runs flat on
    contiguous copies of its operands (a column filled, a row repeated): a column or a
    row broadcast, in place, a sliced input, unary and ternary maps; above the parallel
    grain; exact or within one rounding of numpy."""
    dt = getattr(rtorch, dtype)
    rows = GRAIN // cols + 37
    x = (rtorch.arange(rows * cols) % 17 + 1).to(dt).reshape(rows, cols)
    col = (rtorch.arange(rows) % 5 + 1).to(dt)[:, None]
    row = (rtorch.arange(cols) + 2).to(dt)
    wide = (rtorch.arange(rows * (cols + 3)) % 7).to(dt).reshape(rows, cols + 3)
    sliced = wide[:, 1 : cols + 1]
    xn, cn, rn, sn = np64(x), np64(col), np64(row), np64(sliced)
    for got, want in [
        (x * col, xn * cn),
        (col - x, cn - xn),
        (x + row, xn + rn),
        (sliced * x, sn * xn),
        (-sliced, -sn),
        (rtorch.where(x > 8, x, col), np.where(xn > 8, xn, cn)),
    ]:
        assert np.array_equal(np64(got), want)
    y = x.clone()
    y.mul_(col)
    assert np.array_equal(np64(y), xn * cn)
    if dtype != "int64":
        rtol = {"float16": 1e-3, "float32": 1e-6, "float64": 1e-15}[dtype]
        np.testing.assert_allclose(np64(x / col), xn / cn, rtol=rtol)
        np.testing.assert_allclose(np64(sliced.exp()), np.exp(sn), rtol=rtol)
        z = x.clone()
        z.div_(col)
        np.testing.assert_allclose(np64(z), xn / cn, rtol=rtol)


HALF_ROWS = 1024  # float32 elements per group of short rows (HALF_BLOCK, cpu/elementwise.rs)


@pytest.mark.parametrize("cols", [5, 16, 48, 100, HALF_ROWS // 2, HALF_ROWS // 2 + 1])
@pytest.mark.parametrize("rows", [3, GRAIN // 16 + 7])  # below and above the grain
def test_float32_short_rows_in_groups(rows: int, cols: int) -> None:
    """float32 division, copysign and add with alpha against a row repeated or a value
    per row, on rows of up to HALF_BLOCK / 2 elements: groups of rows computed at once
    (a block of the row repeated or of each row's value; rows of a multiple of 16
    against the value itself, 16 at a time), rows not following each other
    in a 3-d slice (groups stop at the end of each span), in place; bit for bit numpy."""
    rng = np.random.default_rng(rows * 1000 + cols)
    a = rng.standard_normal((rows, cols)).astype(np.float32)
    c = (rng.uniform(0.5, 2.0, (rows, 1)) * rng.choice([-1, 1], (rows, 1))).astype(np.float32)
    r = rng.uniform(0.5, 2.0, cols).astype(np.float32)
    x, col, row = rtorch.from_numpy(a), rtorch.from_numpy(c), rtorch.from_numpy(r)
    for got, want in [
        (x / col, a / c),
        (x / row, a / r),
        (rtorch.copysign(x, col), np.copysign(a, c)),
    ]:
        np.testing.assert_array_equal(got.numpy(), want)
    # (PyTorch's x + alpha * y differs from the rounded exact value in the last bit.)
    scaled = rtorch.add(x, row, alpha=3.0).numpy()
    np.testing.assert_allclose(scaled, a.astype(np.float64) + 3.0 * r, rtol=2.4e-7, atol=1e-6)
    y = x.clone()
    y.div_(col)
    np.testing.assert_array_equal(y.numpy(), a / c)
    y = x.clone()
    y.div_(row)
    np.testing.assert_array_equal(y.numpy(), a / r)
    # The common kinds out of place (one pass) and in place, rows of 32 or more against
    # a column as x * s + t (zeros' signs, infinities and NaN kept); NaN through max/min.
    a[0, 0] = np.nan
    a[1, :4] = [0.0, -0.0, np.inf, -np.inf]
    c[1, 0] = -2.0
    c[2, 0] = np.inf
    r[-1] = np.nan
    x, row, col = rtorch.from_numpy(a), rtorch.from_numpy(r), rtorch.from_numpy(c)
    np.testing.assert_array_equal(np.signbit((x * col).numpy()), np.signbit(a * c))
    for name, ref in [
        ("add", np.add),
        ("sub", np.subtract),
        ("mul", np.multiply),
        ("maximum", np.maximum),
        ("minimum", np.minimum),
        ("div", np.divide),
    ]:
        for other, o in ((row, r), (col, c)):
            with np.errstate(divide="ignore", invalid="ignore"):
                want = ref(a, o)
            np.testing.assert_array_equal(getattr(rtorch, name)(x, other).numpy(), want)
            if name in ("add", "sub", "mul", "div"):
                y = x.clone()
                getattr(y, name + "_")(other)
                np.testing.assert_array_equal(y.numpy(), want)
    np.testing.assert_array_equal((col * x).numpy(), c * a)  # swapped: the column second
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_array_equal((col / x).numpy(), c / a)  # division: not swapped
        np.testing.assert_array_equal((row / x).numpy(), r / a)
    # Spans of 50 rows (a slice of 64) by 6: groups end where a span ends.
    big = rng.standard_normal((6, 64, cols)).astype(np.float32)
    s = rtorch.from_numpy(big)[:, :50]
    c3 = rng.uniform(0.5, 2.0, (6, 50, 1)).astype(np.float32)
    np.testing.assert_array_equal((s / rtorch.from_numpy(c3)).numpy(), big[:, :50] / c3)
    np.testing.assert_array_equal((s / row).numpy(), big[:, :50] / r)
