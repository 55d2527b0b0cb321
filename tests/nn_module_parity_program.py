"""A program exercising nn.Module behaviour, run under rtorch and under PyTorch by
test_nn_module_parity.py; both must print the same lines.

Usage: ``python nn_module_parity_program.py torch|rtorch``. Only structure, names,
dtypes, messages and exact small values are printed (never random numbers).
"""

import copy
import pickle
import sys
from collections import OrderedDict

if sys.argv[1] == "torch":
    import torch as rtorch
else:
    import rtorch
nn = rtorch.nn


def tryit(f):
    try:
        r = f()
        print("OK", r)
    except Exception as e:  # noqa: BLE001
        print(type(e).__name__, str(e))


class A(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(rtorch.ones(2))
        self.register_buffer("b", rtorch.zeros(2))

    def forward(self, x):
        return x * self.w


m = nn.Module()
tryit(lambda: setattr(m, "x", 1) or m.x)
tryit(lambda: m.register_parameter("x", None))
tryit(lambda: m.register_buffer("y", None) or list(m.state_dict()))
tryit(lambda: m.register_buffer(".", None))
tryit(lambda: m.register_parameter("p", rtorch.zeros(1)))
tryit(lambda: m.add_module("", nn.Module()))
tryit(lambda: m.add_module(3, nn.Module()))
tryit(lambda: m.register_module("a", A()) or [n for n, _ in m.named_parameters()])
tryit(lambda: setattr(m, "b", rtorch.zeros(1)) or list(m._buffers))
tryit(lambda: m.get_submodule("a.w"))
tryit(lambda: m.get_parameter("a.nope"))
tryit(lambda: m.get_buffer("a.b"))
tryit(lambda: m.get_submodule("a").training)
tryit(lambda: m.train("yes"))
tryit(lambda: m.nope)
tryit(lambda: nn.Module(1))
tryit(lambda: A().to(rtorch.int64))
tryit(lambda: A().to("cpu", rtorch.float64).w.dtype)
tryit(lambda: A().to(rtorch.float16, True).w.dtype)
tryit(lambda: A().to(dtype=rtorch.float64).b.dtype)
tryit(lambda: A().type(rtorch.float64).w.dtype)
tryit(lambda: A().requires_grad_(False).w.requires_grad)
tryit(lambda: A().state_dict(prefix="p.").keys())
tryit(lambda: [type(v).__name__ for v in A().state_dict(keep_vars=True).values()])
tryit(lambda: sorted(n for n in dir(A()) if not n.startswith("_") and n not in dir(nn.Module)))
s = nn.Sequential(A(), nn.Sequential(A(), A()))
tryit(lambda: list(s.state_dict()))
tryit(lambda: [n for n, _ in s.named_modules()])
tryit(lambda: [n for n, _ in s.named_children()])
tryit(lambda: s.state_dict()._metadata)
tryit(lambda: [n for n, _ in s.named_buffers(prefix="z", recurse=False)])
tryit(lambda: [n for n, _ in s.named_parameters(recurse=False)])
shared = A()
s2 = nn.Sequential(shared, nn.Sequential(shared))
tryit(lambda: [n for n, _ in s2.named_modules()])
tryit(lambda: [n for n, _ in s2.named_modules(remove_duplicate=False)])
tryit(lambda: list(s2.state_dict()))
tryit(lambda: repr(s2))
c = copy.deepcopy(s2)
tryit(lambda: c[0] is c[1][0])
p = pickle.loads(pickle.dumps(s2))
tryit(lambda: (p[0] is p[1][0], p[0].w is p[1][0].w, type(p[0].w).__name__))
tryit(lambda: s2.zero_grad())
x = A()
tryit(lambda: x.load_state_dict({"w": rtorch.ones(2), "b": rtorch.ones(2)}, strict=True))
tryit(lambda: x.load_state_dict(OrderedDict(w=rtorch.ones(3))))
tryit(
    lambda: (
        x.load_state_dict(
            {"w": rtorch.ones(2, dtype=rtorch.float64), "b": rtorch.ones(2, dtype=rtorch.int32)}
        )
        or (x.w.dtype, x.b.dtype)
    )
)
tryit(lambda: type(x.load_state_dict({"w": rtorch.ones(2), "b": rtorch.ones(2)})).__name__)
tryit(lambda: x.load_state_dict({"w": rtorch.ones(2), "b": rtorch.ones(2)}).missing_keys)
h = x.register_forward_pre_hook(lambda mod, a: None)
tryit(lambda: type(h).__name__)
tryit(lambda: x(rtorch.ones(2)))
tryit(lambda: x.extra_repr())
tryit(lambda: x._version)
tryit(lambda: nn.Parameter(rtorch.ones(2)).__class__.__mro__[1].__name__)
tryit(lambda: str(nn.Parameter(rtorch.ones(2, dtype=rtorch.float64))))
tryit(lambda: nn.Parameter(rtorch.ones(2)) + 1)
tryit(lambda: nn.Parameter(rtorch.ones(2)).data)
tryit(lambda: nn.Parameter(rtorch.ones(2)).detach().requires_grad)
tryit(lambda: nn.Parameter(rtorch.tensor([1, 2]), requires_grad=False))
tryit(lambda: isinstance(nn.Buffer(rtorch.ones(1)), nn.Buffer))


def buffer_flag_vs_argument():
    mm = nn.Module()
    mm.register_buffer("q", nn.Buffer(rtorch.ones(1), persistent=False))
    mm.r = nn.Buffer(rtorch.ones(1), persistent=False)
    return list(mm.state_dict()), [n for n, _ in mm.named_buffers()]


tryit(buffer_flag_vs_argument)


class Affine(nn.Module):
    def __init__(self, n_in, n_out, bias=True):
        super().__init__()
        self.weight = nn.Parameter(rtorch.randn(n_out, n_in))
        if bias:
            self.bias = nn.Parameter(rtorch.zeros(n_out))
        else:
            self.register_parameter("bias", None)
        self.register_buffer("calls", rtorch.tensor(0))
        self.register_buffer("scratch", rtorch.zeros(2), persistent=False)

    def forward(self, x):
        return x @ self.weight.t() + self.bias


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = Affine(4, 3)
        self.scale = nn.Parameter(rtorch.ones(1))
        self.fc2 = Affine(3, 2)


net = Net()
sd = net.state_dict()
sd["fc1.weight"] = rtorch.zeros(3, 5)
sd["fc2.bias"] = rtorch.zeros(7)
sd["extra"] = rtorch.zeros(1)
del sd["scale"]
del sd["fc2.calls"]
try:
    net.load_state_dict(sd)
except RuntimeError as e:
    print(repr(str(e)))
print(net.load_state_dict({"scale": rtorch.tensor([3.0]), "fc9.w": rtorch.zeros(1)}, False))
print(net.load_state_dict(net.state_dict()))
sd = net.state_dict()
sd["scale"] = [1.0]
try:
    net.load_state_dict(sd)
except RuntimeError as e:
    print(repr(str(e)))
sd = net.state_dict()
sd["fc1.calls"] = rtorch.tensor(1.5)
print(net.load_state_dict(sd), net.fc1.calls)


class Scale(nn.Module):
    def forward(self, x, y):
        return x * 3.0 + y * 0.0, x.sum()


m = Scale()


def hook(mod, gi, go):
    print(
        "hook gi",
        [None if g is None else g.tolist() for g in gi],
        "go",
        [None if g is None else g.tolist() for g in go],
    )
    return (gi[0] * 2, None)


m.register_full_backward_hook(hook)
m.register_full_backward_pre_hook(
    lambda mod, go: print("pre go", [None if g is None else g.tolist() for g in go])
)
x = rtorch.tensor([1.0, 2.0], requires_grad=True)
y = rtorch.tensor([5.0, 6.0])
a, s = m(x, y)
print(type(a.grad_fn).__name__ if sys.argv[1] == "torch" else a.grad_fn.name())
(a * rtorch.tensor([1.0, 10.0])).sum().backward()
print("x.grad", x.grad.tolist())
# module whose inputs need no grad
m2 = Affine(2, 2)
m2.register_full_backward_hook(lambda mod, gi, go: print("m2", gi, [g.shape for g in go]))
m2(rtorch.randn(3, 2)).sum().backward()
# hook on nested module, two calls
m3 = Affine(2, 2)
cnt = []
m3.register_full_backward_hook(lambda mod, gi, go: cnt.append(1))
z = rtorch.randn(1, 2, requires_grad=True)
(m3(z) + m3(z)).sum().backward()
print("calls", len(cnt))
print(nn.Sequential(Affine(1, 1), nn.ModuleList([Affine(1, 1)] * 2)))
