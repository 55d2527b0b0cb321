"""nn containers (Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict) and
Flatten/Unflatten. Expected reprs and messages were checked against PyTorch 2.15."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import rtorch
from rtorch import nn


class Scale(nn.Module):
    def __init__(self, k: float) -> None:
        super().__init__()
        self.k = k

    def forward(self, x):
        return x * self.k

    def extra_repr(self) -> str:
        return f"k={self.k}"


class WithParam(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.w = nn.Parameter(rtorch.ones(n))

    def forward(self, x):
        return x + self.w


# ----- Sequential -----


def test_sequential_forward_and_keys():
    s = nn.Sequential(Scale(2.0), Scale(3.0), WithParam(2))
    assert list(s._modules) == ["0", "1", "2"]
    assert s(rtorch.tensor([1.0, 2.0])).tolist() == [7.0, 13.0]
    assert list(s.state_dict()) == ["2.w"]
    assert len(s) == 3


def test_sequential_ordered_dict_form():
    s = nn.Sequential(OrderedDict([("first", Scale(2.0)), ("second", WithParam(1))]))
    assert list(s._modules) == ["first", "second"]
    assert s.first.k == 2.0
    assert list(s.state_dict()) == ["second.w"]
    assert repr(s) == "Sequential(\n  (first): Scale(k=2.0)\n  (second): WithParam()\n)"


def test_sequential_indexing_and_slicing():
    a, b, c = Scale(1.0), Scale(2.0), Scale(3.0)
    s = nn.Sequential(a, b, c)
    assert s[0] is a and s[-1] is c and s[-3] is a
    with pytest.raises(IndexError, match="index 3 is out of range"):
        s[3]
    with pytest.raises(IndexError, match="index -4 is out of range"):
        s[-4]
    sub = s[1:]
    assert type(sub) is nn.Sequential and list(sub) == [b, c]
    assert list(sub._modules) == ["1", "2"]  # slicing keeps the keys, as PyTorch
    assert repr(sub) == "Sequential(\n  (1): Scale(k=2.0)\n  (2): Scale(k=3.0)\n)"
    assert list(s[::2]) == [a, c]


def test_sequential_mutation():
    a, b, c, d = (Scale(float(i)) for i in range(4))
    s = nn.Sequential(a, b, c)
    s[1] = d
    assert s[1] is d
    del s[0]
    assert list(s._modules) == ["0", "1"] and list(s) == [d, c]
    s.append(a)
    s.insert(0, b)
    assert list(s) == [b, d, c, a]
    s.insert(-1, a)
    assert list(s) == [b, d, c, a, a]
    with pytest.raises(IndexError, match="Index out of range: 9"):
        s.insert(9, a)
    assert s.pop(0) is b
    assert list(s._modules) == ["0", "1", "2", "3"]
    del s[0:2]
    assert list(s) == [a, a] and list(s._modules) == ["0", "1"]
    s.extend([c, d])
    assert list(s) == [a, a, c, d]


def test_sequential_add_mul():
    a, b = Scale(1.0), Scale(2.0)
    s = nn.Sequential(a) + nn.Sequential(b)
    assert list(s) == [a, b]
    with pytest.raises(
        ValueError,
        match="add operator supports only objects of Sequential class, but <class 'int'> is given",
    ):
        nn.Sequential(a) + 1
    m = nn.Sequential(a, b) * 2
    assert list(m) == [a, b, a, b] and list(m._modules) == ["0", "1", "2", "3"]
    assert list(2 * nn.Sequential(a)) == [a, a]
    with pytest.raises(ValueError, match="Non-positive multiplication factor 0"):
        nn.Sequential(a) * 0
    t = nn.Sequential(a)
    t += nn.Sequential(b)
    assert list(t) == [a, b]
    t *= 2
    assert list(t) == [a, b, a, b]


def test_sequential_empty_and_dir():
    assert repr(nn.Sequential()) == "Sequential()"
    x = rtorch.ones(2)
    assert nn.Sequential()(x) is x
    assert "0" not in dir(nn.Sequential(Scale(1.0)))


# ----- ModuleList -----


def test_module_list_basics():
    mods = [Scale(float(i)) for i in range(4)]
    ml = nn.ModuleList(mods[:2])
    ml.append(mods[2])
    ml.extend([mods[3]])
    assert len(ml) == 4 and list(ml) == mods
    assert ml[-1] is mods[3]
    assert type(ml[1:3]) is nn.ModuleList and list(ml[1:3]) == mods[1:3]
    ml.insert(1, Scale(9.0))
    assert ml[1].k == 9.0 and ml[2] is mods[1]
    assert ml.pop(1).k == 9.0
    assert list(ml) == mods
    del ml[0]
    assert list(ml._modules) == ["0", "1", "2"]
    ml[0] = mods[0]
    assert ml[0] is mods[0]
    ml += [Scale(5.0)]
    assert len(ml) == 4
    both = ml + nn.ModuleList([Scale(6.0)])
    assert len(both) == 5 and list(both._modules)[-1] == "4"
    with pytest.raises(IndexError, match="index 5 is out of range"):
        ml[5]
    with pytest.raises(TypeError, match="ModuleList.extend should be called with an iterable"):
        ml.extend(3)


def test_module_list_registers_parameters():
    ml = nn.ModuleList([WithParam(2), WithParam(3)])
    assert [n for n, _ in ml.named_parameters()] == ["0.w", "1.w"]
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        ml(1)


def test_module_list_repr_compresses_repeats():
    ml = nn.ModuleList([Scale(1), Scale(1), Scale(2), Scale(1)])
    assert repr(ml) == (
        "ModuleList(\n  (0-1): 2 x Scale(k=1)\n  (2): Scale(k=2)\n  (3): Scale(k=1)\n)"
    )
    assert repr(nn.ModuleList()) == "ModuleList()"


# ----- ModuleDict -----


def test_module_dict():
    a, b = Scale(1.0), Scale(2.0)
    md = nn.ModuleDict({"a": a})
    md["b"] = b
    assert list(md.keys()) == ["a", "b"] and list(md.values()) == [a, b]
    assert "a" in md and len(md) == 2 and list(md) == ["a", "b"]
    assert md.pop("a") is a and list(md) == ["b"]
    md.update([("c", a)])
    assert list(md.items()) == [("b", b), ("c", a)]
    del md["b"]
    assert list(md) == ["c"]
    md.clear()
    assert len(md) == 0 and not hasattr(md, "c")
    with pytest.raises(ValueError, match="ModuleDict update sequence element #0 has length 1"):
        md.update([("a",)])
    with pytest.raises(TypeError, match="ModuleDict.update should be called with an iterable"):
        md.update(3)


# ----- ParameterList / ParameterDict -----


def test_parameter_list():
    pl = nn.ParameterList([rtorch.ones(2, 3), nn.Parameter(rtorch.zeros(1, dtype=rtorch.float64))])
    assert all(isinstance(p, nn.Parameter) for p in pl)
    assert len(pl) == 2 and [n for n, _ in pl.named_parameters()] == ["0", "1"]
    assert repr(pl) == (
        "ParameterList(\n"
        "    (0): Parameter containing: [torch.float32 of size 2x3]\n"
        "    (1): Parameter containing: [torch.float64 of size 1]\n"
        ")"
    )
    pl.append("x")
    assert repr(pl).endswith("    (2): Object of type: str\n)")
    assert list(pl.state_dict()) == ["0", "1"]
    assert pl[-1] == "x"
    assert len(pl[0:2]) == 2
    pl[0] = rtorch.zeros(4)
    assert isinstance(pl[0], nn.Parameter) and pl[0].shape == (4,)
    with pytest.raises(RuntimeError, match="ParameterList should not be called."):
        pl(1)
    with pytest.raises(TypeError, match="ParameterList.extend should be called with an iterable"):
        pl.extend(rtorch.ones(2))


def test_parameter_dict():
    pd = nn.ParameterDict({"b": rtorch.ones(2), "a": rtorch.zeros(3)})
    assert list(pd.keys()) == ["a", "b"]  # a plain dict is added in sorted order
    assert isinstance(pd["a"], nn.Parameter)
    assert repr(pd) == (
        "ParameterDict(\n"
        "    (a): Parameter containing: [torch.FloatTensor of size 3]\n"
        "    (b): Parameter containing: [torch.FloatTensor of size 2]\n"
        ")"
    )
    pd2 = nn.ParameterDict(OrderedDict([("z", rtorch.ones(1)), ("y", rtorch.ones(1))]))
    assert list(pd2) == ["z", "y"]
    assert list((pd | pd2).keys()) == ["a", "b", "z", "y"]
    assert pd.get("missing", 5) == 5
    assert "a" in pd and len(pd) == 2
    k, v = pd.popitem()
    assert k == "b" and v.shape == (2,)
    assert pd.setdefault("c", rtorch.ones(5)).shape == (5,)
    assert [n for n, _ in pd.named_parameters()] == ["a", "c"]
    pd.clear()
    assert len(pd) == 0 and list(pd.parameters()) == []
    with pytest.raises(TypeError, match="Index given to ParameterDict cannot be used as a key"):
        pd[1] = rtorch.ones(1)
    with pytest.raises(RuntimeError, match="ParameterDict should not be called."):
        pd(1)


# ----- Flatten / Unflatten -----


def test_flatten_unflatten():
    x = rtorch.tensor(np.arange(120.0).reshape(2, 3, 4, 5), dtype=rtorch.float32)
    y = nn.Flatten()(x)
    assert y.shape == (2, 60)
    np.testing.assert_array_equal(np.array(y.tolist()), np.arange(120.0).reshape(2, 60))
    assert nn.Flatten(0, 2)(x).shape == (24, 5)
    assert nn.Flatten(0, -1)(x).shape == (120,)
    # non-contiguous input
    xt = x.transpose(1, 3)
    np.testing.assert_array_equal(
        np.array(nn.Flatten()(xt).tolist()),
        np.arange(120.0).reshape(2, 3, 4, 5).transpose(0, 3, 2, 1).reshape(2, 60),
    )
    assert nn.Unflatten(1, (3, 1))(x).shape == (2, 3, 1, 4, 5)
    assert nn.Unflatten(-1, [-1, 5])(x).shape == (2, 3, 4, 1, 5)
    z = nn.Unflatten(1, (3, 4, 5))(y)
    np.testing.assert_array_equal(np.array(z.tolist()), np.array(x.tolist()))
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(nn.Unflatten(1, (2, 2))) == "Unflatten(dim=1, unflattened_size=(2, 2))"
    with pytest.raises(TypeError, match="unflattened_size must be tuple of ints, but found"):
        nn.Unflatten(1, (2, 2.0))
    with pytest.raises(TypeError, match="unflattened_size must be a tuple of ints, but found"):
        nn.Unflatten(1, 3)
    with pytest.raises(RuntimeError):
        nn.Unflatten(1, (2, 2))(x)


def test_flatten_gradient():
    x = rtorch.randn(2, 3, 4, dtype=rtorch.float64, requires_grad=True)
    assert rtorch.autograd.gradcheck(lambda t: nn.Flatten()(t), (x,))
