"""rtorch.types (PyTorch's annotation aliases) and the module paths PyTorch programs import:
rtorch.types, rtorch.utils._pytree, rtorch.utils.benchmark, rtorch.nn.utils.prune."""

from __future__ import annotations

import importlib
import typing

from conftest import run_script

import rtorch
import rtorch.types as T


def test_aliases_accept_what_pytorch_accepts():
    assert isinstance(3, T._Number) and isinstance(2.5, T._Number) and isinstance(True, T._Number)
    assert not isinstance("3", T._Number)
    assert set(typing.get_args(T.Number)) == {int, float, bool}
    assert set(typing.get_args(T.Device)) == {rtorch.device, str, int, type(None)}
    assert rtorch.Size in typing.get_args(T._size)
    assert T._dtype is rtorch.dtype and T._device is rtorch.device
    assert T._layout is rtorch.layout
    assert (T._int, T._float, T._bool, T._str, T._bytes, T._complex) == (
        int,
        float,
        bool,
        str,
        bytes,
        complex,
    )
    # No symbolic values in rtorch: nothing is a SymInt.
    assert T.py_sym_types == ()
    assert T.IntLikeType is int
    assert sorted(T.__all__) == ["Device", "FileLike", "Number", "Storage"]


def test_storage_is_an_annotation_interface():
    assert hasattr(T.Storage, "element_size") and hasattr(T.Storage, "data_ptr")


def test_public_names_cover_pytorch(torch_ref):
    tt = importlib.import_module("torch.types")
    # Symbolic types, DispatchKey and qscheme do not exist in rtorch.
    absent = {
        "SymInt",
        "SymFloat",
        "SymBool",
        "PySymType",
        "DispatchKey",
        "_qscheme",
        "TYPE_CHECKING",
        "Self",
        "TypeAlias",
    }
    missing = [n for n in tt.__all__ if not hasattr(T, n)]
    assert missing == []
    aliases = [n for n in dir(tt) if n.startswith("_") and not n.startswith("__")]
    assert [n for n in aliases if n not in absent and not hasattr(T, n)] == []


def test_submodules_reachable_as_in_pytorch():
    words = run_script(
        "import rtorch\n"
        "print(rtorch.types.__name__, rtorch.utils._pytree.__name__,"
        " rtorch.utils.benchmark.Timer.__name__)\n"
        "import rtorch.nn.utils.prune as p\n"
        "from rtorch.utils.benchmark.utils.common import Measurement\n"
        "print(p.__name__, Measurement.__name__)\n"
    )
    assert words == [
        "rtorch.types",
        "rtorch.utils._pytree",
        "Timer",
        "rtorch.nn.utils.prune",
        "Measurement",
    ]
