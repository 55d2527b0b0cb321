"""The ``*_copy`` variants of the view ops (``torch.transpose_copy`` …: the view's values
in a fresh tensor, as PyTorch's functionalization emits them), ``adjoint``, the build
flags (``torch.has_lapack`` …) and the functions PyTorch 2 removed but still names
(``torch.solve`` …, which raise its message)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._C import Tensor
from ._memory_format import contiguous_format


def _copy_of(view: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``name(input, *args, out=None)``: ``view(input, *args)`` copied (each part, for a
    view op that returns several)."""

    def f(input: Tensor, *args: Any, out: Any = None, **kwargs: Any) -> Any:
        result = view(input, *args, **kwargs)
        if isinstance(result, (tuple, list)):
            copies = tuple(r.clone(memory_format=contiguous_format) for r in result)
            if out is not None:
                for o, c in zip(out, copies):
                    o.resize_(c.shape)
                    o.copy_(c)
                return None
            return copies
        copy = result.clone(memory_format=contiguous_format)
        if out is not None:
            out.resize_(copy.shape)
            return out.copy_(copy)
        return copy

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"``torch.{name}``: a copy of the view ``{name[:-5]}`` returns."
    return f


_VIEWS: dict[str, Callable[..., Any]] = {
    "alias": lambda t: t.view(t.shape),
    "as_strided": lambda t, size, stride, storage_offset=None: t.as_strided(
        size, stride, storage_offset
    ),
    "detach": lambda t: t.detach(),
    "diagonal": lambda t, offset=0, dim1=0, dim2=1: t.diagonal(offset, dim1, dim2),
    "expand": lambda t, size, *, implicit=False: t.expand(*size),
    "permute": lambda t, dims: t.permute(*dims),
    "select": lambda t, dim, index: t.select(dim, index),
    "slice": lambda t, dim=0, start=None, end=None, step=1: t[
        (slice(None),) * (dim % max(t.dim(), 1)) + (slice(start, end, step),)
    ],
    "split": lambda t, split_size, dim=0: t.split(split_size, dim),
    "split_with_sizes": lambda t, split_sizes, dim=0: t.split(list(split_sizes), dim),
    "squeeze": lambda t, dim=None: t.squeeze() if dim is None else t.squeeze(dim),
    "t": lambda t: t.t(),
    "transpose": lambda t, dim0, dim1: t.transpose(dim0, dim1),
    "unbind": lambda t, dim=0: t.unbind(dim),
    "unfold": lambda t, dimension, size, step: t.unfold(dimension, size, step),
    "unsqueeze": lambda t, dim: t.unsqueeze(dim),
    "view": lambda t, size: t.view(size),
}


def adjoint(input: Tensor) -> Tensor:
    """The conjugate transpose of the last two dims, a view (the transpose, for the real
    dtypes rtorch has)."""
    if input.dim() < 2:
        raise RuntimeError(
            f"tensor.adjoint() is only supported on matrices or batches of matrices. Got "
            f"{input.dim()}-D tensor."
        )
    return input.transpose(-2, -1)


def get_device(input: Tensor) -> int:
    """The CUDA device index of ``input``, -1 on the CPU."""
    return input.get_device()


def is_distributed(input: Tensor) -> bool:
    return False


def init_num_threads() -> None:
    """PyTorch initialises its OpenMP pool here; rtorch's pool starts on first use."""


def compiled_with_cxx11_abi() -> bool:
    return True


def _removed(name: str, message: str) -> Callable[..., Any]:
    def f(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(message)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Removed in PyTorch 2: ``torch.{name}`` raises, as there."
    return f


_DEPRECATED = "This function was deprecated since version 1.9 and is now removed."
_REMOVED = {
    "lstsq": f"{_DEPRECATED} `torch.lstsq` is deprecated in favor of `torch.linalg.lstsq`.\n"
    "`torch.linalg.lstsq` has reversed arguments and does not return the QR decomposition "
    "in the returned tuple (although it returns other information about the problem).",
    "solve": f"{_DEPRECATED} `torch.solve` is deprecated in favor of `torch.linalg.solve`. "
    "`torch.linalg.solve` has its arguments reversed and does not return the LU "
    "factorization.",
    "eig": f"{_DEPRECATED} `torch.linalg.eig` returns complex tensors of dtype `cfloat` or "
    "`cdouble` rather than real tensors mimicking complex tensors.",
    "symeig": f"{_DEPRECATED} The default behavior has changed from using the upper "
    "triangular portion of the matrix by default to using the lower triangular portion.",
    "matrix_rank": f"{_DEPRECATED}\nPlease use the `torch.linalg.matrix_rank` function "
    "instead. The parameter 'symmetric' was renamed in `torch.linalg.matrix_rank()` to "
    "'hermitian'.",
}

FUNCTIONS: dict[str, Any] = {
    f"{name}_copy": _copy_of(view, f"{name}_copy") for name, view in _VIEWS.items()
}
FUNCTIONS.update(
    {
        "adjoint": adjoint,
        "get_device": get_device,
        "is_distributed": is_distributed,
        "init_num_threads": init_num_threads,
        "compiled_with_cxx11_abi": compiled_with_cxx11_abi,
        # What the build has: linear algebra (faer), but no MKL, OpenMP (rayon instead)
        # or FFT.
        "has_lapack": True,
        "has_mkl": False,
        "has_openmp": False,
        "has_spectral": False,
    }
)
FUNCTIONS.update({name: _removed(name, msg) for name, msg in _REMOVED.items()})
METHODS: dict[str, Any] = {"adjoint": adjoint}
