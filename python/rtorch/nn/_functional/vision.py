"""Resampling, as torch.nn.functional: ``interpolate`` (nearest, nearest-exact, linear,
bilinear, trilinear, bicubic, area), the ``upsample*`` aliases, ``pixel_shuffle`` and
``pixel_unshuffle``, ``affine_grid``.

``interpolate`` checks its arguments and works out the output sizes here; the nearest,
linear and cubic modes then run in ``_C._interpolate`` (each spatial dimension in turn:
an ``index_select``, or a weighted gather whose backward is the gather with the
transposed weights), with PyTorch's coordinate formulas in float32 as its kernels.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

from ... import _C
from ..._C import Tensor
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d

__all__ = [
    "affine_grid",
    "channel_shuffle",
    "grid_sample",
    "interpolate",
    "native_channel_shuffle",
    "pixel_shuffle",
    "pixel_unshuffle",
    "upsample",
    "upsample_bilinear",
    "upsample_nearest",
]

_MODES = "nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact"
_LINEAR_DIMS = {"linear": 3, "bilinear": 4, "trilinear": 5, "bicubic": 4}


def _output_sizes(
    input: Tensor,
    size: int | Sequence[int] | None,
    scale_factor: float | Sequence[float] | None,
    recompute_scale_factor: bool | None,
) -> tuple[list[int], list[float | None]]:
    spatial = input.dim() - 2
    in_sizes = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != spatial:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {in_sizes} and output size of "
                    f"{tuple(size)}. Please provide input tensor in (N, C, d1, d2, ...,dK) "
                    "format and output size in (o1, o2, ...,oK) format."
                )
            sizes = [int(s) for s in size]
        else:
            sizes = [int(size)] * spatial
        return sizes, [None] * spatial
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if isinstance(scale_factor, (list, tuple)):
        if len(scale_factor) != spatial:
            raise ValueError(
                "Input and scale_factor must have the same number of spatial dimensions, but "
                f"got input with spatial dimensions of {in_sizes} and scale_factor of shape "
                f"{tuple(scale_factor)}. Please provide input tensor in (N, C, d1, d2, ...,dK) "
                "format and scale_factor in (s1, s2, ...,sK) format."
            )
        scales = [float(s) for s in scale_factor]
    else:
        scales = [float(scale_factor)] * spatial
    sizes = [math.floor(float(n) * s) for n, s in zip(in_sizes, scales, strict=True)]
    if recompute_scale_factor:
        return sizes, [None] * spatial
    return sizes, list(scales)


def interpolate(
    input: Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    r"""Down/up samples the input to the given ``size`` or by the given ``scale_factor``.

    Args:
        input: ``(N, C, W)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        size: output spatial size.
        scale_factor: multiplier for the spatial size.
        mode: ``'nearest'`` | ``'nearest-exact'`` | ``'linear'`` (3-D) | ``'bilinear'`` (4-D)
            | ``'bicubic'`` (4-D) | ``'trilinear'`` (5-D) | ``'area'``. Default: ``'nearest'``.
        align_corners: for the interpolating modes, map the corner pixels' centres onto each
            other. Default: ``False``.
        recompute_scale_factor: compute the kernel's scale from the output size instead of
            using ``scale_factor``.
        antialias: antialiased down-sampling (``'bilinear'`` and ``'bicubic'``, 4-D input):
            the filter widens by the down-scaling factor, as PyTorch's and PIL's.
    """
    ndim = input.dim()
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(
                "align_corners option can only be set with the interpolating modes: "
                "linear | bilinear | bicubic | trilinear"
            )
    elif align_corners is None:
        align_corners = False
    if ndim not in (3, 4, 5) or mode not in (
        "nearest", "nearest-exact", "area", "linear", "bilinear", "trilinear", "bicubic",
    ):  # fmt: skip
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {ndim}D) for the "
            f"modes: {_MODES} (got {mode})"
        )
    if mode in _LINEAR_DIMS and ndim != _LINEAR_DIMS[mode]:
        raise NotImplementedError(
            f"Got {ndim}D input, but {mode} mode needs {_LINEAR_DIMS[mode]}D input"
        )
    if antialias and not (mode in ("bilinear", "bicubic") and ndim == 4):
        raise ValueError(
            "Anti-alias option is restricted to bilinear and bicubic modes and requires a "
            "4-D tensor as input"
        )
    sizes, scales = _output_sizes(input, size, scale_factor, recompute_scale_factor)
    in_sizes = list(input.shape[2:])
    if any(s <= 0 for s in sizes) or any(s <= 0 for s in in_sizes):
        axes = ["D", "H", "W"][3 - len(sizes) :]
        ins = ", ".join(f"{a}: {s}" for a, s in zip(axes, in_sizes, strict=True))
        outs = ", ".join(f"{a}: {s}" for a, s in zip(axes, sizes, strict=True))
        raise RuntimeError(
            f"Input and output sizes should be greater than 0, but got input ({ins}) "
            f"output ({outs})"
        )
    if mode == "area":
        if ndim == 3:
            return adaptive_avg_pool1d(input, sizes)
        if ndim == 4:
            return adaptive_avg_pool2d(input, sizes)
        raise NotImplementedError("interpolate: mode='area' supports 3-D and 4-D inputs only")
    if antialias:
        return _resample_antialiased(input, sizes, scales, mode == "bicubic", bool(align_corners))
    return _C._interpolate(input, sizes, scales, bool(align_corners), mode)


def _aa_filter(x: float, cubic: bool) -> float:
    """The antialiasing kernels: the triangle, or Keys' cubic with a = -0.5 (PIL's)."""
    x = abs(x)
    if not cubic:
        return max(0.0, 1.0 - x)
    a = -0.5
    if x < 1.0:
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    if x < 2.0:
        return (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return 0.0


def _aa_matrix(
    in_size: int, out_size: int, scale: float | None, cubic: bool, align_corners: bool
) -> list[list[float]]:
    """The ``(out_size, in_size)`` weights of PyTorch's antialiased resampling along one
    axis: the filter widened by the downscale factor, taps truncated to the input and
    normalised to sum to 1 (``_compute_weights_aa`` in PyTorch's UpSampleKernel)."""
    if align_corners:
        step = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    else:
        step = 1.0 / scale if scale is not None and scale > 0 else in_size / out_size
    half = 2.0 if cubic else 1.0
    support = half * step if step >= 1.0 else half
    inv = 1.0 / step if step >= 1.0 else 1.0
    rows = []
    for i in range(out_size):
        center = step * (i + 0.5)
        # int() truncates toward zero, as the C++ static_cast does.
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), in_size)
        w = [_aa_filter((j - center + 0.5) * inv, cubic) for j in range(lo, hi)]
        total = sum(w)
        row = [0.0] * in_size
        if total != 0.0:
            for j, wj in zip(range(lo, hi), w, strict=True):
                row[j] = wj / total
        rows.append(row)
    return rows


def _resample_antialiased(
    input: Tensor, sizes: list[int], scales: list[float | None], cubic: bool, align_corners: bool
) -> Tensor:
    """``interpolate(..., antialias=True)`` of an ``(N, C, H, W)`` input: one weight
    matrix per axis (the resampling is separable), applied as two matrix products."""
    dtype = input.dtype if input.is_floating_point() else _C.float32
    (h, w), (oh, ow) = input.shape[2:], sizes
    rows = _C.tensor(_aa_matrix(h, oh, scales[0], cubic, align_corners), dtype=dtype)
    cols = _C.tensor(_aa_matrix(w, ow, scales[1], cubic, align_corners), dtype=dtype)
    if input.is_floating_point():
        return _C.matmul(_C.matmul(rows, input), cols.t())
    # Integer images: the horizontal pass, then the vertical one, each rounded to the
    # nearest value and saturated (as PyTorch's uint8 kernel and Pillow do: a bicubic
    # overshoot is clipped between the passes). An axis that keeps its size is skipped.
    from ... import iinfo

    info = iinfo(input.dtype)
    out = input.to(dtype)
    if ow != w:
        out = _C.matmul(out, cols.t()).round().clamp(info.min, info.max)
    if oh != h:
        out = _C.matmul(rows, out).round().clamp(info.min, info.max)
    return out.to(input.dtype)


def upsample(
    input: Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    r"""Deprecated alias of :func:`interpolate`."""
    warnings.warn(
        "`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.",
        stacklevel=2,
    )
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(
    input: Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
) -> Tensor:
    r"""Deprecated: ``interpolate(..., mode='nearest')``."""
    warnings.warn(
        "`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.",
        stacklevel=2,
    )
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(
    input: Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
) -> Tensor:
    r"""Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    warnings.warn(
        "`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.",
        stacklevel=2,
    )
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    r"""Rearranges ``(*, C * r^2, H, W)`` into ``(*, C, H * r, W * r)``."""
    if input.dim() < 3:
        raise RuntimeError(
            "pixel_shuffle expects input to have at least 3 dimensions, but got input with "
            f"{input.dim()} dimension(s)"
        )
    r = int(upscale_factor)
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    c, h, w = input.shape[-3], input.shape[-2], input.shape[-1]
    if c % (r * r) != 0:
        raise RuntimeError(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
            f"square of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}"
        )
    lead = list(input.shape[:-3])
    n = len(lead)
    oc = c // (r * r)
    x = input.reshape(*lead, oc, r, r, h, w)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, oc, h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    r"""Rearranges ``(*, C, H * r, W * r)`` into ``(*, C * r^2, H, W)``."""
    if input.dim() < 3:
        raise RuntimeError(
            "pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
            f"{input.dim()} dimension(s)"
        )
    r = int(downscale_factor)
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    c, h, w = input.shape[-3], input.shape[-2], input.shape[-1]
    if h % r != 0:
        raise RuntimeError(
            "pixel_unshuffle expects height to be divisible by downscale_factor, but "
            f"input.size(-2)={h} is not divisible by {r}"
        )
    if w % r != 0:
        raise RuntimeError(
            "pixel_unshuffle expects width to be divisible by downscale_factor, but "
            f"input.size(-1)={w} is not divisible by {r}"
        )
    lead = list(input.shape[:-3])
    n = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


def affine_grid(theta: Tensor, size: Sequence[int], align_corners: bool | None = None) -> Tensor:
    r"""Generates a sampling grid from affine matrices: ``(N, H, W, 2)`` from ``theta``
    ``(N, 2, 3)`` for a 4-D ``size`` (images), ``(N, D, H, W, 3)`` from ``(N, 3, 4)`` for a
    5-D ``size`` (volumes). Each output position holds ``theta`` applied to its normalized
    coordinates ``(x, y[, z], 1)``.

    Args:
        theta: the affine matrices.
        size: the target output size, ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        align_corners: whether -1 and 1 are the centres (True) or the outer edges (False)
            of the corner pixels. Default: ``False``.
    """
    if align_corners is None:
        align_corners = False
    size = [int(s) for s in size]
    if len(size) not in (4, 5):
        raise NotImplementedError(
            "affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
            f"respectively. Got size {size}."
        )
    spatial = len(size) - 2
    if theta.dim() != 3 or theta.shape[1] != spatial or theta.shape[2] != spatial + 1:
        raise ValueError(
            f"Expected a batch of {spatial}D affine matrices of shape Nx{spatial}x{spatial + 1} "
            f"for size {size}. Got {theta.shape}."
        )
    n, dims = size[0], size[2:]

    def axis(steps: int) -> Tensor:
        # Pixel centres in [-1, 1]; with align_corners=False the outer edges are at +-1.
        if steps <= 1:
            return _C.zeros(steps, dtype=theta.dtype, device=theta.device)
        line = _C.linspace(-1.0, 1.0, steps, dtype=theta.dtype, device=theta.device)
        return line if align_corners else line * ((steps - 1) / steps)

    # Coordinates x (last spatial dim), y, [z], then the homogeneous 1.
    columns = []
    for k in range(spatial):
        view = [1] * spatial + [1]
        view[spatial - 1 - k] = dims[spatial - 1 - k]
        columns.append(axis(dims[spatial - 1 - k]).view(*view).expand(*dims, 1))
    columns.append(_C.ones(*dims, 1, dtype=theta.dtype, device=theta.device))
    base = _C.cat(columns, spatial)
    count = math.prod(dims)
    grid = _C.matmul(base.view(1, count, spatial + 1), theta.transpose(1, 2))
    return grid.view(n, *dims, spatial)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    r"""Splits the channels of ``(*, C, H, W)`` into ``groups`` and interleaves them."""
    if input.dim() < 3:
        raise RuntimeError(
            "channel_shuffle expects input to have at least 3 dimensions, but got input with "
            f"{input.dim()} dimension(s)"
        )
    if groups <= 0:
        raise RuntimeError(
            f"Number of groups to divide channels in must be positive. Value of groups:{groups}"
        )
    c = input.shape[1]
    if c % groups != 0:
        raise RuntimeError(
            f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups."
        )
    n = input.shape[0]
    rest = list(input.shape[2:])
    return input.reshape(n, groups, c // groups, *rest).transpose(1, 2).reshape(input.shape)


native_channel_shuffle = channel_shuffle


def _unnormalize(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _reflect(coord: Tensor, twice_low: int, twice_high: int) -> Tensor:
    if twice_low == twice_high:
        return coord * 0
    low = twice_low / 2
    span = (twice_high - twice_low) / 2
    coord = (coord - low).abs()
    extra = coord.fmod(span)
    flips = (coord / span).floor()
    return _C.where(flips.remainder(2) == 0, extra + low, span - extra + low)


def _source_coord(coord: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    return _padded_coord(
        _unnormalize(coord, size, align_corners), size, padding_mode, align_corners
    )


def _padded_coord(coord: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    """A pixel coordinate moved inside by the padding mode (as is for 'zeros')."""
    if padding_mode == "border":
        coord = coord.clamp(0, size - 1)
    elif padding_mode == "reflection":
        if align_corners:
            coord = _reflect(coord, 0, 2 * (size - 1))
        else:
            coord = _reflect(coord, -1, 2 * size - 1)
        coord = coord.clamp(0, size - 1)
    return coord


def _cubic_weights(t: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Keys' cubic convolution weights (A = -0.75, as PyTorch) of the taps at offsets -1, 0,
    1, 2 from floor(x), for t = x - floor(x)."""
    a = -0.75

    def near(x: Tensor) -> Tensor:  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: Tensor) -> Tensor:  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return far(t + 1), near(t), near(1 - t), far(2 - t)


def _tap(input: Tensor, yy: Tensor, xx: Tensor) -> tuple[Tensor, Tensor]:
    """``input`` (N, C, H, W) at the integer positions ``yy``, ``xx`` (N, Ho, Wo), zeros
    outside, as (N, C, Ho, Wo), and where they are inside as (N, 1, Ho, Wo)."""
    n, c, h, w = input.shape
    ho, wo = yy.shape[1], yy.shape[2]
    valid = (xx >= 0) & (xx <= w - 1) & (yy >= 0) & (yy <= h - 1)
    index = (yy.clamp(0, h - 1) * w + xx.clamp(0, w - 1)).nan_to_num(0).long()
    index = index.reshape(n, 1, ho * wo).expand(n, c, ho * wo)
    values = input.reshape(n, c, h * w).gather(2, index).view(n, c, ho, wo)
    return values, valid.unsqueeze(1).to(input.dtype)


def _grid_sample_bicubic(input: Tensor, grid: Tensor, padding_mode: str, align: bool) -> Tensor:
    """PyTorch's bicubic grid_sample: the 4 x 4 taps around each unnormalised location, each
    tap's coordinate moved inside by the padding mode on its own (zeros outside for
    'zeros'), weighted by the cubic convolution of the fractional offsets. Composed of
    gathers and products, so gradients reach ``input`` and ``grid``."""
    h, w = input.shape[2], input.shape[3]
    ix = _unnormalize(grid[..., 0], w, align)
    iy = _unnormalize(grid[..., 1], h, align)
    x0, y0 = ix.floor().detach(), iy.floor().detach()
    wx = _cubic_weights(ix - x0)
    wy = _cubic_weights(iy - y0)
    out = None
    for i in range(4):
        yy = _padded_coord(y0 + (i - 1), h, padding_mode, align)
        for j in range(4):
            xx = _padded_coord(x0 + (j - 1), w, padding_mode, align)
            values, inside = _tap(input, yy, xx)
            term = values * ((wx[j] * wy[i]).unsqueeze(1) * inside)
            out = term if out is None else out + term
    return out


def _tap_3d(input: Tensor, zz: Tensor, yy: Tensor, xx: Tensor) -> tuple[Tensor, Tensor]:
    """``input`` (N, C, D, H, W) at integer positions (N, Do, Ho, Wo), zeros outside, as
    (N, C, Do, Ho, Wo), and where they are inside as (N, 1, Do, Ho, Wo)."""
    n, c, d, h, w = input.shape
    out_shape = list(zz.shape[1:])
    count = zz[0].numel()
    valid = (xx >= 0) & (xx <= w - 1) & (yy >= 0) & (yy <= h - 1) & (zz >= 0) & (zz <= d - 1)
    flat = (zz.clamp(0, d - 1) * h + yy.clamp(0, h - 1)) * w + xx.clamp(0, w - 1)
    index = flat.nan_to_num(0).long().reshape(n, 1, count).expand(n, c, count)
    values = input.reshape(n, c, d * h * w).gather(2, index).view(n, c, *out_shape)
    return values, valid.unsqueeze(1).to(input.dtype)


def _grid_sample_3d(
    input: Tensor, grid: Tensor, mode: str, padding_mode: str, align: bool
) -> Tensor:
    """Trilinear or nearest sampling of a (N, C, D, H, W) volume at the (x, y, z) of a
    (N, Do, Ho, Wo, 3) grid, composed of gathers and products (gradients to both)."""
    if grid.shape[-1] != 3 or grid.shape[0] != input.shape[0]:
        raise RuntimeError(
            "grid_sampler(): expected grid to have size 3 in last dimension and the same batch "
            f"size as input, but got grid with sizes {list(grid.shape)} and input with sizes "
            f"{list(input.shape)}"
        )
    if input.dtype != grid.dtype or not input.is_floating_point():
        raise RuntimeError(
            "grid_sampler(): expected input and grid to have the same floating point dtype, "
            f"but input has {input.dtype} and grid has {grid.dtype}"
        )
    d, h, w = input.shape[2], input.shape[3], input.shape[4]
    ix = _source_coord(grid[..., 0], w, padding_mode, align)
    iy = _source_coord(grid[..., 1], h, padding_mode, align)
    iz = _source_coord(grid[..., 2], d, padding_mode, align)
    if mode == "nearest":
        values, inside = _tap_3d(input, iz.round(), iy.round(), ix.round())
        out = values * inside
        if grid.requires_grad:
            # Rounding has no gradient; PyTorch still gives the grid zeros (not None).
            out = out + (grid[..., :1] * 0).movedim(-1, 1)
        return out
    # The 8 corners around each location, weighted by the opposite sub-volume; a corner
    # outside the volume contributes zero.
    x0, y0, z0 = ix.floor(), iy.floor(), iz.floor()
    fx, fy, fz = ix - x0, iy - y0, iz - z0
    out = None
    for dz, wz in ((0, 1 - fz), (1, fz)):
        for dy, wy in ((0, 1 - fy), (1, fy)):
            for dx, wx in ((0, 1 - fx), (1, fx)):
                values, inside = _tap_3d(input, z0 + dz, y0 + dy, x0 + dx)
                term = values * ((wz * wy * wx).unsqueeze(1) * inside)
                out = term if out is None else out + term
    return out


def grid_sample(
    input: Tensor,
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    r"""Samples ``input`` ``(N, C, H, W)`` at the locations of ``grid`` ``(N, H_out, W_out, 2)``
    (x, y in [-1, 1]), or a volume ``(N, C, D, H, W)`` at those of ``(N, D_out, H_out,
    W_out, 3)`` (x, y, z; bilinear is then trilinear, and bicubic is not offered).

    Args:
        mode: ``'bilinear'``, ``'nearest'`` or ``'bicubic'``.
        padding_mode: ``'zeros'``, ``'border'`` or ``'reflection'``.
        align_corners: whether -1 and 1 are the centres (True) or the outer edges (False) of
            the corner pixels. Default: ``False``.

    Gradients flow to ``input`` and, for bilinear and bicubic, to ``grid`` (zeros for
    nearest); the bilinear and nearest gradients are not themselves differentiable, as in
    PyTorch. Bilinear and nearest on CPU tensors run in ``_C._grid_sample``; bicubic is a
    composition of 16 gathers.
    """
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(
            "nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or "
            f"'bicubic', but got: '{mode}'"
        )
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(
            "nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
            f"'reflection', but got: '{padding_mode}'"
        )
    if input.dim() == 5 and grid.dim() == 5:
        if mode == "bicubic":
            raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
        return _grid_sample_3d(input, grid, mode, padding_mode, bool(align_corners))
    if input.dim() != 4:
        raise RuntimeError(
            "grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, "
            f"but got input with sizes {list(input.shape)} and grid with sizes "
            f"{list(grid.shape)}"
        )
    if grid.dim() != 4 or grid.shape[-1] != 2 or grid.shape[0] != input.shape[0]:
        raise RuntimeError(
            "grid_sampler(): expected grid to have size 2 in last dimension and the same batch "
            f"size as input, but got grid with sizes {list(grid.shape)} and input with sizes "
            f"{list(input.shape)}"
        )
    align = bool(align_corners)
    if mode == "bicubic":
        return _grid_sample_bicubic(input, grid, padding_mode, align)
    if input.device.type == "cpu" and grid.device.type == "cpu":
        return _C._grid_sample(input, grid, mode, padding_mode, align)
    # Elsewhere: whole-tensor gathers and multiply-adds.
    h, w = input.shape[2], input.shape[3]
    ix = _source_coord(grid[..., 0], w, padding_mode, align)
    iy = _source_coord(grid[..., 1], h, padding_mode, align)

    if mode == "nearest":
        values, valid = _tap(input, iy.round(), ix.round())
        return values * valid
    # PyTorch's corner weights (north-west, north-east, south-west, south-east), each
    # zero where its corner lies outside, computed once per output position; then one
    # gather and one multiply-add per corner over the channels.
    x0 = ix.floor()
    y0 = iy.floor()
    x1, y1 = x0 + 1, y0 + 1
    out = None
    for yy, xx, weight in (
        (y0, x0, (x1 - ix) * (y1 - iy)),
        (y0, x1, (ix - x0) * (y1 - iy)),
        (y1, x0, (x1 - ix) * (iy - y0)),
        (y1, x1, (ix - x0) * (iy - y0)),
    ):
        values, valid = _tap(input, yy, xx)
        w_ = weight.unsqueeze(1) * valid
        out = values * w_ if out is None else _C.addcmul(out, values, w_)
    return out
