"""nn.Module and nn.Parameter: registration, iteration, state_dict, conversion, hooks, repr."""

from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import rtorch
from rtorch import nn


class Affine(nn.Module):
    """A tiny linear layer written with raw tensor ops (no dependency on nn.Linear)."""

    def __init__(self, n_in: int, n_out: int, bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(rtorch.randn(n_out, n_in))
        if bias:
            self.bias = nn.Parameter(rtorch.zeros(n_out))
        else:
            self.register_parameter("bias", None)
        self.register_buffer("calls", rtorch.tensor(0))
        self.register_buffer("scratch", rtorch.zeros(2), persistent=False)

    def forward(self, x):
        y = x @ self.weight.t()
        if self.bias is not None:
            y = y + self.bias
        return y

    def extra_repr(self) -> str:
        return f"in_features={self.weight.shape[1]}, out_features={self.weight.shape[0]}"


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = Affine(4, 3)
        self.scale = nn.Parameter(rtorch.ones(1))  # assigned after a child: still listed first
        self.fc2 = Affine(3, 2)

    def forward(self, x):
        return self.fc2(self.fc1(x).tanh()) * self.scale


def np_of(t):
    return np.array(t.detach().tolist(), dtype=np.float64)


# ----- Parameter -----


def test_parameter_shares_storage_and_requires_grad():
    data = rtorch.randn(2, 3)
    p = nn.Parameter(data)
    assert isinstance(p, rtorch.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert not data.requires_grad
    data.add_(1.0)  # writes through: same storage
    assert np.array_equal(np_of(p), np_of(data))
    assert type(p * 2) is rtorch.Tensor
    assert type(p.detach()) is rtorch.Tensor


def test_parameter_of_non_leaf_is_a_leaf():
    x = rtorch.randn(3, requires_grad=True)
    p = nn.Parameter(x * 2)
    assert p.is_leaf and p.grad_fn is None and p.requires_grad


def test_parameter_default_and_no_grad():
    assert nn.Parameter().shape == (0,)
    q = nn.Parameter(rtorch.zeros(2), requires_grad=False)
    assert not q.requires_grad


def test_parameter_repr():
    p = nn.Parameter(rtorch.tensor([1.0, 2.0]))
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    q = nn.Parameter(rtorch.tensor([1.0, 2.0]), requires_grad=False)
    assert repr(q) == "Parameter containing:\ntensor([1., 2.])"


def test_parameter_rejects_non_tensor():
    with pytest.raises(TypeError):
        nn.Parameter([1.0, 2.0])


def test_parameter_deepcopy_and_pickle():
    p = nn.Parameter(rtorch.tensor([1.0, 2.0]))
    q = copy.deepcopy(p)
    assert type(q) is nn.Parameter and q.requires_grad
    q.data.add_(1)
    assert p.tolist() == [1.0, 2.0]  # deep copy owns its storage
    func, args = p.__reduce_ex__(2)[:2]
    r = func(*args)
    assert type(r) is nn.Parameter and r.tolist() == [1.0, 2.0] and r.requires_grad


def test_buffer_marker():
    t = rtorch.zeros(3)
    b = nn.Buffer(t, persistent=False)
    assert isinstance(b, nn.Buffer) and not isinstance(t, nn.Buffer)
    assert type(b) is rtorch.Tensor

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Buffer(rtorch.ones(2))
            self.b = nn.Buffer(rtorch.ones(2), persistent=False)

    m = M()
    assert [n for n, _ in m.named_buffers()] == ["a", "b"]
    assert list(m.state_dict()) == ["a"]


# ----- registration -----


def test_registration_order_params_then_buffers_then_children():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert list(net.state_dict()) == [
        "scale",
        "fc1.weight",
        "fc1.bias",
        "fc1.calls",
        "fc2.weight",
        "fc2.bias",
        "fc2.calls",
    ]
    assert [n for n, _ in net.named_buffers()] == [
        "fc1.calls",
        "fc1.scratch",
        "fc2.calls",
        "fc2.scratch",
    ]
    assert [n for n, _ in net.named_children()] == ["fc1", "fc2"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "fc2"]
    assert len(list(net.parameters())) == 5
    assert len(list(net.parameters(recurse=False))) == 1
    assert next(n for n, _ in net.named_parameters(prefix="model")) == "model.scale"
    assert [n for n, _ in net.named_modules(prefix="m")] == ["m", "m.fc1", "m.fc2"]


def test_attribute_access_and_reassignment():
    m = Affine(2, 2)
    assert m.weight is m._parameters["weight"]
    assert m.calls is m._buffers["calls"]
    assert m.bias is not None
    m.bias = None
    assert m.bias is None and "bias" in m._parameters
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' as parameter 'weight'"):
        m.weight = rtorch.zeros(2, 2)
    m.calls = rtorch.tensor(5)  # plain tensor onto a buffer name updates the buffer
    assert m._buffers["calls"].item() == 5
    with pytest.raises(AttributeError, match="'Affine' object has no attribute 'nope'"):
        _ = m.nope
    m.plain = 3
    assert m.plain == 3 and "plain" in m.__dict__
    del m.weight
    assert "weight" not in m._parameters
    del m.scratch
    assert "scratch" not in m._buffers and "scratch" not in m._non_persistent_buffers_set


def test_reassigning_kind_moves_the_name():
    m = nn.Module()
    m.x = nn.Parameter(rtorch.zeros(1))
    with pytest.raises(TypeError, match="cannot assign 'test_nn_module.Affine' as parameter 'x'"):
        m.x = Affine(1, 1)
    m.register_buffer("y", rtorch.zeros(1), persistent=False)
    m.y = Affine(1, 1)  # a module under a buffer's name replaces it
    assert "y" not in m._buffers and "y" in m._modules
    assert "y" not in m._non_persistent_buffers_set
    m.y = nn.Parameter(rtorch.zeros(1))  # and a Parameter replaces the module
    assert "y" in m._parameters and "y" not in m._modules
    m.z = Affine(1, 1)
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'z'"):
        m.z = 3
    m.z = None
    assert m.z is None and "z" in m._modules


def test_register_errors():
    m = nn.Module()
    with pytest.raises(KeyError, match="parameter name can.*contain"):
        m.register_parameter("a.b", None)
    with pytest.raises(KeyError, match="parameter name can.*be empty string"):
        m.register_parameter("", None)
    with pytest.raises(TypeError, match="parameter name should be a string. Got int"):
        m.register_parameter(1, None)
    with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' object to parameter"):
        m.register_parameter("w", rtorch.zeros(1))
    m.attr = 1
    with pytest.raises(KeyError, match="attribute 'attr' already exists"):
        m.register_buffer("attr", rtorch.zeros(1))
    with pytest.raises(TypeError, match="cannot assign 'int' object to buffer 'b'"):
        m.register_buffer("b", 1)
    with pytest.raises(KeyError, match="module name can.*contain .*got: a.b"):
        m.add_module("a.b", nn.Module())
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        m.add_module("c", 3)
    # an in-place op with a grad-requiring operand gives the Parameter a history
    nonleaf = nn.Parameter(rtorch.zeros(2), requires_grad=False)
    nonleaf.add_(rtorch.randn(2, requires_grad=True))
    assert nonleaf.grad_fn is not None
    with pytest.raises(ValueError, match="Cannot assign non-leaf Tensor to parameter 'w'"):
        m.register_parameter("w", nonleaf)


def test_assignment_before_init():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(rtorch.zeros(1))
            super().__init__()

    with pytest.raises(AttributeError, match=r"cannot assign parameters before Module.__init__"):
        Bad()


def test_init_rejects_unexpected_arguments():
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        nn.Module(foo=1)


def test_shared_module_and_parameter_deduplicated():
    shared = Affine(2, 2)
    seq = nn.Sequential(shared, shared)
    assert len(list(seq.parameters())) == 2
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(seq.named_parameters(remove_duplicate=False))) == 4
    assert [n for n, _ in seq.named_modules()] == ["", "0"]
    # state_dict lists a module registered twice under both names
    assert list(seq.state_dict()) == [
        "0.weight",
        "0.bias",
        "0.calls",
        "1.weight",
        "1.bias",
        "1.calls",
    ]


def test_get_submodule_parameter_buffer():
    net = Net()
    assert net.get_submodule("fc1") is net.fc1
    assert net.get_submodule("") is net
    assert net.get_parameter("fc2.bias") is net.fc2.bias
    assert net.get_buffer("fc1.calls") is net.fc1.calls
    with pytest.raises(AttributeError, match="Net has no attribute `nope`"):
        net.get_submodule("nope")
    with pytest.raises(AttributeError, match="`scale` is not an nn.Module"):
        net.get_submodule("scale")
    with pytest.raises(AttributeError, match="`calls` is not an nn.Parameter"):
        net.get_parameter("fc1.calls")
    with pytest.raises(AttributeError, match="`weight` is not a buffer"):
        net.get_buffer("fc1.weight")


# ----- state_dict -----


def test_state_dict_values_detached_and_shared():
    net = Net()
    sd = net.state_dict()
    assert isinstance(sd, OrderedDict)
    assert type(sd["scale"]) is rtorch.Tensor and not sd["scale"].requires_grad
    sd["scale"].fill_(7.0)  # shares storage with the parameter
    assert net.scale.item() == 7.0
    kv = net.state_dict(keep_vars=True)
    assert kv["scale"] is net.scale
    assert list(sd._metadata.keys()) == ["", "fc1", "fc2"]
    assert sd._metadata["fc1"] == {"version": 1}
    pre = net.state_dict(prefix="model.")
    assert next(iter(pre)) == "model.scale"


def test_load_state_dict_round_trip_and_keeps_objects():
    a, b = Net(), Net()
    weight_obj = b.fc1.weight
    res = b.load_state_dict(a.state_dict())
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert repr(res) == "<All keys matched successfully>"
    assert b.fc1.weight is weight_obj  # copied into, not replaced
    assert np.array_equal(np_of(a.fc1.weight), np_of(b.fc1.weight))
    assert b.fc1.weight.requires_grad


def test_load_state_dict_strict_error_message():
    # Expected text checked against PyTorch 2.15 with the same module structure.
    net = Net()
    sd = net.state_dict()
    sd["fc1.weight"] = rtorch.zeros(3, 5)
    sd["fc2.bias"] = rtorch.zeros(7)
    sd["extra"] = rtorch.zeros(1)
    del sd["scale"]
    del sd["fc2.calls"]
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(sd)
    assert str(info.value) == (
        "Error(s) in loading state_dict for Net:\n"
        '\tMissing key(s) in state_dict: "scale", "fc2.calls". \n'
        '\tUnexpected key(s) in state_dict: "extra". \n'
        "\tsize mismatch for fc1.weight: copying a param with shape torch.Size([3, 5]) from "
        "checkpoint, the shape in current model is torch.Size([3, 4]).\n"
        "\tsize mismatch for fc2.bias: copying a param with shape torch.Size([7]) from "
        "checkpoint, the shape in current model is torch.Size([2])."
    )


def test_load_state_dict_non_strict():
    net = Net()
    res = net.load_state_dict({"scale": rtorch.tensor([3.0]), "fc9.w": rtorch.zeros(1)}, False)
    assert net.scale.item() == 3.0
    assert res.unexpected_keys == ["fc9.w"]
    assert res.missing_keys == [
        "fc1.weight",
        "fc1.bias",
        "fc1.calls",
        "fc2.weight",
        "fc2.bias",
        "fc2.calls",
    ]
    # a size mismatch is an error even when not strict
    with pytest.raises(RuntimeError, match="size mismatch for scale"):
        net.load_state_dict({"scale": rtorch.zeros(2)}, strict=False)


def test_load_state_dict_type_errors():
    net = Net()
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like, got <class 'list'>"):
        net.load_state_dict([1, 2])
    sd = net.state_dict()
    sd["scale"] = [1.0]
    with pytest.raises(RuntimeError, match='While copying the parameter named "scale", expected'):
        net.load_state_dict(sd)


def test_load_state_dict_assign():
    net = Net()
    new_w = rtorch.ones(3, 4)
    sd = net.state_dict()
    sd["fc1.weight"] = new_w
    net.load_state_dict(sd, assign=True)
    assert isinstance(net.fc1.weight, nn.Parameter) and net.fc1.weight.requires_grad
    new_w.fill_(2.0)  # assign keeps the given storage
    assert net.fc1.weight.sum().item() == 24.0


def test_load_scalar_from_one_element_vector():
    m = nn.Module()
    m.register_buffer("n", rtorch.tensor(0))
    m.load_state_dict({"n": rtorch.tensor([5])})
    assert m.n.item() == 5 and m.n.dim() == 0


def test_load_state_dict_hooks_and_post_hook():
    net = Net()
    seen = []
    net.register_load_state_dict_post_hook(lambda mod, keys: seen.append(list(keys.missing_keys)))
    net.load_state_dict(net.state_dict())
    assert seen == [[]]


def test_extra_state_round_trip():
    class WithExtra(nn.Module):
        def __init__(self):
            super().__init__()
            self.value = 1

        def get_extra_state(self):
            return {"value": self.value}

        def set_extra_state(self, state):
            self.value = state["value"]

    a = WithExtra()
    a.value = 5
    sd = a.state_dict()
    assert list(sd) == ["_extra_state"]
    b = WithExtra()
    b.load_state_dict(sd)
    assert b.value == 5


# ----- modes, grads, conversions -----


def test_train_eval_recursive():
    net = Net()
    assert net.training and net.fc1.training
    assert net.eval() is net
    assert not net.training and not net.fc2.training
    net.train()
    assert net.fc2.training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        net.train(1)


def test_zero_grad_and_requires_grad():
    net = Net()
    net(rtorch.randn(5, 4)).sum().backward()
    assert net.fc1.weight.grad is not None
    net.zero_grad(set_to_none=False)
    assert net.fc1.weight.grad.abs().sum().item() == 0.0
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert net.requires_grad_(False) is net
    assert not any(p.requires_grad for p in net.parameters())


def test_forward_backward_values():
    m = Affine(3, 2)
    x = rtorch.tensor(np.arange(6.0).reshape(2, 3), dtype=rtorch.float32)
    y = m(x)
    ref = np_of(x) @ np_of(m.weight).T + np_of(m.bias)
    np.testing.assert_allclose(np_of(y), ref, rtol=1.3e-6, atol=1e-5)
    y.sum().backward()
    np.testing.assert_allclose(np_of(m.weight.grad), np.ones((2, 1)) * np_of(x).sum(0), atol=1e-5)


def test_to_dtype_keeps_parameter_identity_and_skips_integers():
    net = Net()
    w = net.fc1.weight
    net(rtorch.randn(2, 4)).sum().backward()
    assert net.double() is net
    assert net.fc1.weight is w and w.dtype == rtorch.float64
    assert w.grad.dtype == rtorch.float64
    assert net.fc1.calls.dtype == rtorch.int64
    assert isinstance(net.fc1.weight, nn.Parameter) and w.requires_grad
    net.to(rtorch.float32)
    assert w.dtype == rtorch.float32
    net.half()
    assert w.dtype == rtorch.float16
    net.bfloat16()
    assert w.dtype == rtorch.bfloat16
    net.float()
    net.to("cpu")
    net.to(rtorch.device("cpu"), rtorch.float64)
    assert w.dtype == rtorch.float64
    net.to(rtorch.zeros(1))  # dtype and device of a tensor
    assert w.dtype == rtorch.float32
    net.to(dtype=rtorch.float64, non_blocking=True)
    assert w.dtype == rtorch.float64
    net.cpu()
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point or complex"):
        net.to(rtorch.int32)


def test_to_empty_moves_parameters_between_cpu_and_meta():
    net = Net().to_empty(device="meta")
    assert all(p.is_meta and isinstance(p, nn.Parameter) for p in net.parameters())
    m = Affine(2, 2).to_empty(device="cpu")
    assert m.weight.shape == (2, 2) and m.weight.device.type == "cpu"


def test_apply_visits_children_first():
    net = Net()
    order = []
    net.apply(lambda m: order.append(type(m).__name__))
    assert order == ["Affine", "Affine", "Net"]


def test_missing_forward():
    with pytest.raises(NotImplementedError, match=r"Module \[Module\] is missing the required"):
        nn.Module()(1)


# ----- hooks -----


def test_forward_pre_hook_and_hook():
    m = Affine(2, 2)
    log = []

    def pre(mod, args):
        log.append("pre")
        return (args[0] * 0,)

    def post(mod, args, out):
        log.append("post")
        return out + 1

    h1 = m.register_forward_pre_hook(pre)
    h2 = m.register_forward_hook(post)
    y = m(rtorch.randn(3, 2))
    assert log == ["pre", "post"]
    np.testing.assert_allclose(np_of(y), np.ones((3, 2)), atol=1e-6)  # bias is zero
    h1.remove()
    h2.remove()
    h2.remove()  # removing twice is harmless
    x = rtorch.randn(3, 2)
    np.testing.assert_allclose(np_of(m(x)), np_of(x) @ np_of(m.weight).T, atol=1e-5)


def test_hooks_with_kwargs_prepend_and_context_manager():
    class KW(nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    m = KW()
    order = []
    m.register_forward_pre_hook(lambda mod, a, kw: (a, {"scale": 3.0}), with_kwargs=True)
    m.register_forward_hook(lambda mod, a, kw, out: order.append(kw["scale"]), with_kwargs=True)
    m.register_forward_hook(lambda mod, a, out: order.append("first"), prepend=True)
    assert m(rtorch.tensor(2.0), scale=5.0).item() == 6.0
    assert order == ["first", 3.0]
    with m.register_forward_pre_hook(lambda mod, a: (a[0] * 10,)):
        assert m(rtorch.tensor(1.0)).item() == 30.0
    assert m(rtorch.tensor(1.0)).item() == 3.0

    bad = KW()
    bad.register_forward_pre_hook(lambda mod, a, kw: 5, with_kwargs=True)
    with pytest.raises(RuntimeError, match="forward pre-hook must return None or a tuple"):
        bad(rtorch.tensor(1.0))


def test_always_call_hook_runs_on_error():
    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    m = Boom()
    seen = []
    m.register_forward_hook(lambda mod, a, out: seen.append("always"), always_call=True)
    m.register_forward_hook(lambda mod, a, out: seen.append("normal"))
    with pytest.raises(ValueError, match="boom"):
        m(1)
    assert seen == ["always"]


def test_global_forward_hooks():
    from rtorch.nn.modules.module import (
        register_module_forward_hook,
        register_module_forward_pre_hook,
    )

    seen = []
    h1 = register_module_forward_pre_hook(lambda mod, a: seen.append(("pre", type(mod).__name__)))
    h2 = register_module_forward_hook(lambda mod, a, out: seen.append(("post", type(mod).__name__)))
    try:
        Affine(2, 2)(rtorch.randn(1, 2))
    finally:
        h1.remove()
        h2.remove()
    assert seen == [("pre", "Affine"), ("post", "Affine")]
    Affine(2, 2)(rtorch.randn(1, 2))
    assert len(seen) == 2


def test_full_backward_hook_grad_input_output():
    class Scale(nn.Module):
        def forward(self, x, y):
            return x * 3.0 + y * 0.0, x.sum()

    m = Scale()
    seen = {}

    def hook(mod, grad_input, grad_output):
        seen["gi"] = [None if g is None else np_of(g) for g in grad_input]
        seen["go"] = [None if g is None else np_of(g) for g in grad_output]
        return (grad_input[0] * 2, None)

    m.register_full_backward_hook(hook)
    x = rtorch.tensor([1.0, 2.0], requires_grad=True)
    y = rtorch.tensor([5.0, 6.0])  # needs no grad
    a, _s = m(x, y)
    (a * rtorch.tensor([1.0, 10.0])).sum().backward()
    np.testing.assert_allclose(seen["go"][0], [1.0, 10.0])
    assert seen["go"][1] is None  # the unused output (checked against PyTorch 2.15)
    np.testing.assert_allclose(seen["gi"][0], [3.0, 30.0])
    np.testing.assert_array_equal(seen["gi"][1], [0.0, 0.0])  # a tensor without grad: zeros
    np.testing.assert_allclose(np_of(x.grad), [6.0, 60.0])  # the hook doubled it


def test_full_backward_pre_hook_replaces_grad_output():
    class Double(nn.Module):
        def forward(self, x):
            return x * 2.0

    m = Double()
    m.register_full_backward_pre_hook(lambda mod, go: (go[0] * 0 + 1.0,))
    x = rtorch.tensor([1.0, 2.0], requires_grad=True)
    (m(x) * 100).sum().backward()
    np.testing.assert_allclose(np_of(x.grad), [2.0, 2.0])


def test_full_backward_hook_no_input_requires_grad():
    m = Affine(2, 2)
    seen = []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, go[0].shape)))
    with pytest.warns(UserWarning, match="Full backward hook is firing when gradients are"):
        m(rtorch.randn(3, 2)).sum().backward()
    assert len(seen) == 1 and seen[0][0] == (None,) and seen[0][1] == (3, 2)


def test_full_backward_hook_wrong_length():
    m = Affine(2, 2)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    x = rtorch.randn(3, 2, requires_grad=True)
    with pytest.raises(
        RuntimeError, match="Backward hook returned an invalid number of grad_input"
    ):
        m(x).sum().backward()


# ----- repr, dir, copy -----


def test_repr_layout():
    net = Net()
    assert repr(net) == (
        "Net(\n"
        "  (fc1): Affine(in_features=4, out_features=3)\n"
        "  (fc2): Affine(in_features=3, out_features=2)\n"
        ")"
    )
    outer = nn.Module()
    outer.inner = Net()
    outer.empty = nn.Module()
    outer.register_module("none", None)
    assert repr(outer) == (
        "Module(\n"
        "  (inner): Net(\n"
        "    (fc1): Affine(in_features=4, out_features=3)\n"
        "    (fc2): Affine(in_features=3, out_features=2)\n"
        "  )\n"
        "  (empty): Module()\n"
        "  (none): None\n"
        ")"
    )

    class Multi(nn.Module):
        def extra_repr(self):
            return "a=1\nb=2"

    assert repr(Multi()) == "Multi(\n  a=1\n  b=2\n)"


def test_dir_lists_registered_names():
    net = Net()
    d = dir(net)
    for name in ("fc1", "scale", "forward", "training"):
        assert name in d
    assert d == sorted(d)


def test_deepcopy_module():
    net = Net()
    net.fc1.register_buffer("count2", None)
    clone = copy.deepcopy(net)
    assert clone.fc1.weight is not net.fc1.weight
    assert isinstance(clone.fc1.weight, nn.Parameter)
    assert np.array_equal(np_of(clone.fc1.weight), np_of(net.fc1.weight))
    clone.fc1.weight.data.add_(1.0)
    assert not np.array_equal(np_of(clone.fc1.weight), np_of(net.fc1.weight))
    assert list(clone.state_dict()) == list(net.state_dict())


def test_pickle_module_round_trip():
    net = Net()
    clone = pickle.loads(pickle.dumps(net))
    assert list(clone.state_dict()) == list(net.state_dict())
    x = rtorch.randn(2, 4)
    np.testing.assert_allclose(np_of(clone(x)), np_of(net(x)), rtol=1.3e-6, atol=1e-5)


# ----- the attribute mirrors behind fast parameter reads -----


def test_direct_registry_writes_stay_consistent():
    m = Affine(2, 2)
    new = nn.Parameter(rtorch.ones(2, 2))
    m._parameters["weight"] = new  # as some libraries do
    assert m.weight is new
    del m._parameters["weight"]
    with pytest.raises(AttributeError):
        _ = m.weight
    m._buffers.pop("calls")
    assert not hasattr(m, "calls")
    m._modules = OrderedDict([("child", Affine(1, 1))])  # whole-dict replacement
    assert isinstance(m.child, Affine)
    m._modules.clear()
    assert not hasattr(m, "child")
    assert "weight" not in vars(m) and "bias" in vars(m)


def test_pickled_state_has_pytorch_layout():
    m = Affine(2, 2)
    state = m.__getstate__()
    assert "weight" not in state and "calls" not in state
    assert type(state["_parameters"]) is dict and list(state["_parameters"]) == ["weight", "bias"]
    clone = nn.Module.__new__(Affine)
    clone.__setstate__(state)
    assert clone.weight is m.weight


def test_second_init_forgets_registrations():
    m = Affine(2, 2)
    nn.Module.__init__(m)
    assert list(m.parameters()) == []
    assert not hasattr(m, "weight")


def test_full_backward_hook_runs_once_per_call():
    m = Affine(2, 2)
    calls = []
    m.register_full_backward_hook(lambda mod, gi, go: calls.append(gi[0].shape))
    z = rtorch.randn(1, 2, requires_grad=True)
    (m(z) + m(z)).sum().backward()
    assert calls == [(1, 2), (1, 2)]
    ref = 2 * np_of(m.weight).sum(0)
    np.testing.assert_allclose(np_of(z.grad)[0], ref, rtol=1.3e-6, atol=1e-5)


def test_backward_hook_node_name_and_mixing_rule():
    m = Affine(2, 2)
    m.register_full_backward_hook(lambda mod, gi, go: None)
    out = m(rtorch.randn(1, 2, requires_grad=True))
    assert out.grad_fn.name() == "BackwardHookFunctionBackward"
    with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full"):
        m.register_backward_hook(lambda mod, gi, go: None)


# ----- more API surface -----


def test_state_dict_hooks():
    net = Net()
    seen = []
    net.fc1.register_state_dict_pre_hook(lambda mod, prefix, keep: seen.append(("pre", prefix)))

    def post(mod, sd, prefix, meta):
        seen.append(("post", prefix, meta["version"]))
        sd[prefix + "added"] = rtorch.zeros(1)

    net.fc1.register_state_dict_post_hook(post)
    sd = net.state_dict()
    assert seen == [("pre", "fc1."), ("post", "fc1.", 1)]
    assert "fc1.added" in sd
    net.fc2.register_state_dict_post_hook(lambda mod, sd, prefix, meta: {})
    with pytest.raises(RuntimeError, match="state_dict post-hook must return None"):
        net.state_dict()


def test_load_state_dict_pre_hook_can_rename_keys():
    m = Affine(2, 2)
    sd = {"old_weight": rtorch.ones(2, 2), "bias": rtorch.zeros(2), "calls": rtorch.tensor(3)}

    def rename(mod, state_dict, prefix, *rest):
        state_dict[prefix + "weight"] = state_dict.pop(prefix + "old_weight")

    m.register_load_state_dict_pre_hook(rename)
    m.load_state_dict(sd)
    assert m.weight.sum().item() == 4.0 and m.calls.item() == 3


def test_set_submodule():
    net = Net()
    new = Affine(4, 3, bias=False)
    net.set_submodule("fc1", new)
    assert net.fc1 is new and net.fc1.bias is None
    with pytest.raises(AttributeError, match="Net has no attribute `fc9`"):
        net.set_submodule("fc9", new, strict=True)
    with pytest.raises(AttributeError, match="`scale` is not an nn.Module"):
        net.set_submodule("scale", new)


def test_apply_fn_converts_buffers_and_cpu_type():
    m = Affine(2, 2)
    m.register_buffer("stat", rtorch.zeros(3))
    assert m.cpu() is m
    m.type(rtorch.float64)
    assert m.weight.dtype == rtorch.float64 and m.stat.dtype == rtorch.float64
    assert m.calls.dtype == rtorch.float64  # type() casts every tensor, as PyTorch
    m.float()
    assert m.stat.dtype == rtorch.float32 and m.calls.dtype == rtorch.float32


def test_cuda_without_backend_raises():
    with pytest.raises(RuntimeError):
        Affine(2, 2).cuda()


def test_share_memory_is_honest():
    m = Affine(2, 2)
    if hasattr(m.weight, "share_memory_"):
        assert m.share_memory() is m
    else:
        with pytest.raises(NotImplementedError, match="share_memory_"):
            m.share_memory()


def test_zero_grad_detaches_a_grad_with_history():
    p = nn.Parameter(rtorch.ones(2))
    x = rtorch.ones(2, requires_grad=True)
    (p * p).sum().backward(create_graph=True)  # p.grad has a grad_fn
    m = nn.Module()
    m.p = p
    m.zero_grad(set_to_none=False)
    assert p.grad.grad_fn is None and p.grad.tolist() == [0.0, 0.0]
    assert x.grad is None


def test_setstate_from_older_pickle_layout():
    m = Affine(2, 2)
    state = m.__getstate__()
    for name in (
        "_forward_hooks_with_kwargs",
        "_forward_hooks_always_called",
        "_state_dict_pre_hooks",
    ):
        del state[name]
    clone = Affine.__new__(Affine)
    clone.__setstate__(state)
    assert clone(rtorch.ones(1, 2)).shape == (1, 2)
    assert list(clone.state_dict()) == ["weight", "bias", "calls"]


def test_call_fast_path_sees_hooks_added_later():
    # A hook registered after many hook-free calls still runs.
    m = Affine(2, 2)
    for _ in range(3):
        m(rtorch.ones(1, 2))
    seen = []
    h = m.register_forward_hook(lambda mod, a, out: seen.append(out.shape))
    m(rtorch.ones(1, 2))
    h.remove()
    m(rtorch.ones(1, 2))
    assert seen == [(1, 2)]


def test_backward_hook_with_dict_output_warns():
    class DictOut(nn.Module):
        def forward(self, x):
            return {"y": x * 2}

    m = DictOut()
    m.register_full_backward_hook(lambda mod, gi, go: None)
    with pytest.warns(UserWarning, match="module output should be a Tensor or a tuple"):
        out = m(rtorch.ones(2, requires_grad=True))
    assert out["y"].tolist() == [2.0, 2.0]


def test_tied_parameter_listed_once_but_saved_twice():
    a, b = Affine(3, 3), Affine(3, 3)
    b.weight = a.weight  # weight tying
    seq = nn.Sequential(a, b)
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    assert list(seq.state_dict()) == [
        "0.weight",
        "0.bias",
        "0.calls",
        "1.weight",
        "1.bias",
        "1.calls",
    ]
    seq.load_state_dict(seq.state_dict())
    assert b.weight is a.weight


def test_non_persistent_buffers_are_converted_but_not_saved():
    m = Affine(2, 2)
    m.double()
    assert m.scratch.dtype == rtorch.float64
    assert "scratch" not in m.state_dict()
    res = m.load_state_dict(
        {"weight": rtorch.zeros(2, 2), "bias": rtorch.zeros(2), "calls": rtorch.tensor(1)}
    )
    assert res.missing_keys == [] and m.weight.dtype == rtorch.float64  # copy_ casts


def _noop_forward_hook(mod, args, out):
    return None


def test_whole_module_save_load(tmp_path):
    net = Net()
    net.fc1.register_forward_hook(_noop_forward_hook)  # hooks travel with the module
    path = tmp_path / "net.pt"
    rtorch.save(net, str(path))
    back = rtorch.load(str(path), weights_only=False)
    assert type(back) is Net and list(back.state_dict()) == list(net.state_dict())
    assert back.fc1.weight is back.fc1._parameters["weight"]  # attribute mirrors rebuilt
    assert list(back.fc1._forward_hooks.values()) == [_noop_forward_hook]
    x = rtorch.randn(3, 4)
    np.testing.assert_array_equal(np_of(back(x)), np_of(net(x)))
    sd_path = tmp_path / "sd.pt"
    rtorch.save(net.state_dict(), str(sd_path))
    sd = rtorch.load(str(sd_path))
    assert sd._metadata["fc1"] == {"version": 1}
    assert back.load_state_dict(sd).missing_keys == []


def test_global_full_backward_hooks_run_before_module_hooks():
    from rtorch.nn.modules.module import (
        register_module_full_backward_hook,
        register_module_full_backward_pre_hook,
    )

    order = []
    m = Affine(2, 2)
    m.register_full_backward_hook(lambda mod, gi, go: order.append("local"))
    h1 = register_module_full_backward_pre_hook(lambda mod, go: order.append("global pre"))
    h2 = register_module_full_backward_hook(lambda mod, gi, go: order.append("global"))
    try:
        m(rtorch.randn(1, 2, requires_grad=True)).sum().backward()
    finally:
        h1.remove()
        h2.remove()
    assert order == ["global pre", "global", "local"]
    order.clear()
    m(rtorch.randn(1, 2, requires_grad=True)).sum().backward()
    assert order == ["local"]
