"""The ``*_copy`` variants of the view ops, ``adjoint``, the build flags and the removed
PyTorch 1 functions (python/rtorch/_view_copies.py). References: numpy's own views."""

from __future__ import annotations

import numpy as np
import pytest

import rtorch

A = np.arange(24.0).reshape(2, 3, 4)

CASES = [
    ("transpose_copy", (0, 2), lambda a: a.transpose(2, 1, 0)),
    ("permute_copy", ((2, 0, 1),), lambda a: a.transpose(2, 0, 1)),
    ("select_copy", (1, 2), lambda a: a[:, 2]),
    ("slice_copy", (2, 1, 3), lambda a: a[:, :, 1:3]),
    ("slice_copy", (-1, None, None, 2), lambda a: a[..., ::2]),
    ("unsqueeze_copy", (1,), lambda a: a[:, None]),
    ("diagonal_copy", (0, 1, 2), lambda a: np.diagonal(a, 0, 1, 2)),
    ("expand_copy", ((3, 2, 3, 4),), lambda a: np.broadcast_to(a, (3, 2, 3, 4))),
    ("view_copy", ((6, 4),), lambda a: a.reshape(6, 4)),
    ("alias_copy", (), lambda a: a),
    ("detach_copy", (), lambda a: a),
    ("as_strided_copy", ((2, 2), (1, 2)), lambda a: np.array([[0.0, 2.0], [1.0, 3.0]])),
]


@pytest.mark.parametrize(("name", "args", "ref"), CASES, ids=[c[0] + str(c[1]) for c in CASES])
def test_copies_hold_the_views_values_in_fresh_contiguous_storage(name, args, ref) -> None:
    x = rtorch.tensor(A)
    got = getattr(rtorch, name)(x, *args)
    np.testing.assert_array_equal(got.numpy(), ref(A))
    assert got.is_contiguous()
    got.fill_(-1.0)
    assert x.tolist() == A.tolist()  # the source is untouched: a copy, not a view
    out = rtorch.empty(0, dtype=x.dtype)
    assert getattr(rtorch, name)(x, *args, out=out) is out
    np.testing.assert_array_equal(out.numpy(), ref(A))


def test_multi_output_copies_transpose_and_adjoint() -> None:
    x = rtorch.tensor(A)
    parts = rtorch.split_copy(x, 2, 2)
    assert isinstance(parts, tuple) and [p.shape for p in parts] == [(2, 3, 2), (2, 3, 2)]
    parts = rtorch.split_with_sizes_copy(x, [1, 3], 2)
    np.testing.assert_array_equal(parts[1].numpy(), A[:, :, 1:])
    parts = rtorch.unbind_copy(x, 1)
    assert len(parts) == 3 and all(p.is_contiguous() for p in parts)
    assert rtorch.t_copy(x[0]).tolist() == A[0].T.tolist()
    assert rtorch.squeeze_copy(rtorch.ones(1, 3, 1)).shape == (3,)
    assert rtorch.unfold_copy(rtorch.arange(5.0), 0, 2, 2).tolist() == [[0.0, 1.0], [2.0, 3.0]]
    # adjoint: the transpose of the last two dims, a view for real dtypes.
    adj = rtorch.adjoint(x)
    assert adj.shape == (2, 4, 3) and adj.tolist() == A.transpose(0, 2, 1).tolist()
    assert x.adjoint().data_ptr() == x.data_ptr()
    with pytest.raises(RuntimeError, match="only supported on matrices"):
        rtorch.adjoint(rtorch.ones(3))


def test_build_flags_and_removed_functions() -> None:
    assert rtorch.has_lapack and not rtorch.has_mkl and not rtorch.has_spectral
    assert rtorch.get_device(rtorch.ones(2)) == -1 and not rtorch.is_distributed(rtorch.ones(1))
    assert rtorch.init_num_threads() is None
    for name in ("lstsq", "solve", "eig", "symeig", "matrix_rank"):
        with pytest.raises(RuntimeError, match="deprecated since version 1.9 and is now removed"):
            getattr(rtorch, name)(rtorch.eye(2), rtorch.eye(2))
