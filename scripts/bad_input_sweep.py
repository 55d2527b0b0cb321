"""Bad-input sweep: call every public entry point of a torch-like library with awkward
arguments, and report each Rust panic and each crash.

A Python exception is the right answer to a bad input; a Rust panic (pyo3's
PanicException, or an "internal error" RuntimeError from rtorch's last line of defence),
an abort, a segfault or a hang is a finding. Each target runs in a child process, so a
crash is recorded and the sweep goes on with the next target.

Targets (``--kinds``, default all):
  fn      public functions of the module (``rtorch.add``)
  method  Tensor methods, including in-place and dunder methods (``t.add_``, ``t.__mod__``)
  F       ``nn.functional`` functions, when the package has them
  module  ``nn`` module constructors (``nn.Linear(*args)``), each built module then
          called on a few tensors

    python scripts/bad_input_sweep.py                      # rtorch, everything
    python scripts/bad_input_sweep.py --only fn:chunk,method:add_
    python scripts/bad_input_sweep.py --lib torch          # the same sweep on PyTorch
    python scripts/bad_input_sweep.py --sample 40 --seed 0 # a fixed random sample

Prints one line per finding, then
``sweep: F targets, N calls, P panics, C crashes``. Exit status 1 when anything was found.
The argument pool and the calls are fixed (seeded), so a finding reproduces; the
child's memory is capped (--mem-gb).
"""

import argparse
import concurrent.futures
import importlib
import itertools
import json
import random
import resource
import subprocess
import sys
import zlib

SKIP = {
    "manual_seed",
    "seed",
    "set_default_dtype",
    "set_num_threads",
    "set_printoptions",
    "set_grad_enabled",
    "use_deterministic_algorithms",
    "load",
    "save",
    "set_default_device",
    "set_flush_denormal",
    "set_anomaly_enabled",
    "set_rng_state",
    "set_num_interop_threads",
    "compile",
    "hub",
    "initial_seed",
    "fork_rng",
}
# Methods that only hand the tensor to something that waits or runs user callables.
SKIP_METHODS = {"apply_", "map_", "map2_", "register_hook", "register_post_accumulate_grad_hook"}
# Dunders worth calling (others are object plumbing: __init__, __reduce__, __setattr__...).
DUNDERS = {
    "__abs__", "__add__", "__and__", "__bool__", "__complex__", "__contains__",
    "__deepcopy__", "__div__", "__eq__", "__float__", "__floordiv__", "__ge__",
    "__getitem__", "__gt__", "__iadd__", "__iand__", "__idiv__", "__ifloordiv__",
    "__ilshift__", "__imod__", "__imul__", "__index__", "__int__", "__invert__", "__ior__",
    "__ipow__", "__irshift__", "__isub__", "__iter__", "__itruediv__", "__ixor__",
    "__le__", "__len__", "__lshift__", "__lt__", "__matmul__", "__mod__", "__mul__",
    "__ne__", "__neg__", "__or__", "__pos__", "__pow__", "__radd__", "__rand__",
    "__rdiv__", "__repr__", "__rfloordiv__", "__rlshift__", "__rmatmul__", "__rmod__",
    "__rmul__", "__ror__", "__rpow__", "__rrshift__", "__rshift__", "__rsub__",
    "__rtruediv__", "__rxor__", "__setitem__", "__str__", "__sub__", "__truediv__",
    "__xor__", "__array__", "__format__", "__reversed__",
}  # fmt: skip

KINDS = ("fn", "method", "F", "module")


def _sub(T, dotted):
    try:
        for part in dotted.split("."):
            T = getattr(T, part)
        return T
    except Exception:  # noqa: BLE001 (a missing submodule of the library)
        return None


def targets(T, kinds):
    out = []
    if "fn" in kinds:
        out += [
            f"fn:{n}"
            for n in sorted(dir(T))
            if not n.startswith("_") and n[0].islower() and n not in SKIP
            and callable(getattr(T, n))
        ]  # fmt: skip
    if "method" in kinds:
        for n in sorted(dir(T.Tensor)):
            public = not n.startswith("_") and n not in SKIP_METHODS
            if (public or n in DUNDERS) and callable(getattr(T.Tensor, n, None)):
                out.append(f"method:{n}")
    F = _sub(T, "nn.functional")
    if "F" in kinds and F is not None:
        out += [
            f"F:{n}"
            for n in sorted(dir(F))
            if not n.startswith("_") and n[0].islower() and callable(getattr(F, n))
            and getattr(getattr(F, n), "__module__", "") != "typing"
        ]  # fmt: skip
    nn = _sub(T, "nn")
    if "module" in kinds and nn is not None:
        base = nn.Module
        for n in sorted(dir(nn)):
            c = getattr(nn, n)
            if n[0].isupper() and isinstance(c, type) and issubclass(c, base) and c is not base:
                out.append(f"module:{n}")
    return out


def resolve(T, target):
    kind, name = target.split(":", 1)
    if kind == "fn":
        return getattr(T, name, None)
    if kind == "method":
        return getattr(T.Tensor, name, None)
    if kind == "F":
        F = _sub(T, "nn.functional")
        return getattr(F, name, None) if F is not None else None
    nn = _sub(T, "nn")
    return getattr(nn, name, None) if nn is not None else None


def tensors(T):
    return [
        T.tensor(3.0), T.tensor([], dtype=T.float32), T.ones(2, 3), T.ones(2, 3).t(),
        T.arange(6).view(2, 3), T.tensor([True, False]), T.ones(1, 4).expand(3, 4),
        T.tensor([-2**63, 2**63 - 1]), T.zeros(0, 3),
        T.tensor([float("nan"), float("inf"), -float("inf")]), T.ones(2, 3, dtype=T.float16),
        T.tensor([255], dtype=T.uint8), T.ones(3, 1, 2, dtype=T.bfloat16),
        # Integer extremes of the narrower dtypes.
        T.tensor([-128, 127, -1], dtype=T.int8), T.tensor([-2**15, 2**15 - 1], dtype=T.int16),
        T.tensor([-2**31, 2**31 - 1, 0], dtype=T.int32), T.ones(2, 3, 4),
    ]  # fmt: skip


SCALARS = [
    0, -1, 1, 2, 2**62, -2**63, 1e308, float("nan"), None, "x", [1, 2], (2, -1), True, 3.5,
    -7, 2**64, [2**62, 2**62], (0,), slice(None, None, -1), Ellipsis,
]  # fmt: skip


def calls(T, seed, kind):
    """The argument tuples tried for one target (fixed for a seed)."""
    P = tensors(T)
    rng = random.Random(seed)
    out = [(i,) for i in range(len(P))]
    out += [(i, ("s", j)) for i in range(8) for j in range(len(SCALARS))]
    out += [(i, k) for i, k in itertools.product(range(7), range(7))]
    out += [(i, ("s", 13), ("s", j)) for i in (0, 2, 4) for j in (0, 1, 4, 5)]
    pool = list(range(len(P))) + [("s", j) for j in range(len(SCALARS))]
    for _ in range(40):
        out.append(tuple(rng.choice(pool) for _ in range(rng.randint(1, 3))))
    if kind == "method":
        # The first argument is the tensor the method is called on.
        out = [a if not isinstance(a[0], tuple) else (a[0][1] % len(P),) + a[1:] for a in out]
    if kind == "module":
        # Constructors take sizes and options: fewer, scalar-led calls.
        out = [(("s", j),) for j in range(len(SCALARS))]
        out += [(("s", j), ("s", k)) for j in (1, 2, 3, 4, 5) for k in (0, 1, 3, 4, 13)]
        for _ in range(20):
            out.append(tuple(rng.choice(pool) for _ in range(rng.randint(1, 3))))
    return out


def describe(T, args):
    P = tensors(T)
    parts = []
    for a in args:
        if isinstance(a, tuple):
            parts.append(repr(SCALARS[a[1]]))
        else:
            t = P[a]
            parts.append(
                f"tensor{tuple(t.shape)}:{str(t.dtype).split('.')[-1]}"
                f"{'' if t.is_contiguous() else ':strided'}"
            )
    return ", ".join(parts)


def _is_finding(e):
    """A panic, or rtorch's conversion of one into RuntimeError."""
    if not isinstance(e, Exception):
        return True
    return isinstance(e, RuntimeError) and "internal error" in str(e) and "report" in str(e)


def child(lib, target, mem_gb):
    lim = int(mem_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
    T = importlib.import_module(lib)
    import warnings

    warnings.simplefilter("ignore")
    f = resolve(T, target)
    kind = target.split(":", 1)[0]
    for k, args in enumerate(calls(T, zlib.crc32(target.encode()), kind)):
        print(json.dumps({"call": k}), flush=True)
        P = tensors(T)
        real = [SCALARS[a[1]] if isinstance(a, tuple) else P[a] for a in args]
        try:
            r = f(*real)
            if kind == "module":
                for t in (P[2], P[16], P[1], P[4]):
                    try:
                        r(t)
                    except BaseException as e:
                        if _is_finding(e):
                            raise
            elif kind == "method" and target.endswith("__iter__"):
                list(r)
        except BaseException as e:  # noqa: BLE001 (PanicException derives from BaseException)
            if _is_finding(e):
                what = f"{type(e).__name__}: {str(e)[:160]}"
                print(json.dumps({"panic": k, "what": what}), flush=True)
    print(json.dumps({"done": True}), flush=True)


def run_target(lib, target, mem_gb, timeout):
    """Runs one target's calls in a child process; returns (lines, returncode)."""
    try:
        p = subprocess.run(
            [sys.executable, __file__, "--child", lib, target, "--mem-gb", str(mem_gb)],
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return p.stdout.splitlines(), p.returncode
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return out.splitlines(), "timeout"


def sweep(lib, names, mem_gb=8.0, timeout=120, jobs=1, out=print):
    """Sweeps `names`; returns (targets, calls, panics, crashes) and prints findings."""
    T = importlib.import_module(lib)
    n_calls = panics = crashes = 0
    with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as ex:
        results = ex.map(lambda n: run_target(lib, n, mem_gb, timeout), names)
        for name, (lines, rc) in zip(names, results):
            todo = calls(T, zlib.crc32(name.encode()), name.split(":", 1)[0])
            last, done = None, False
            for line in lines:
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue  # a stray print from the library
                if "call" in msg:
                    last = msg["call"]
                    n_calls += 1
                elif "panic" in msg:
                    panics += 1
                    out(f"PANIC  {name}({describe(T, todo[msg['panic']])}): {msg['what']}")
                elif "done" in msg:
                    done = True
            if not done:
                crashes += 1
                where = describe(T, todo[last]) if last is not None else "?"
                out(f"CRASH  {name}({where}): exit {rc}")
    return len(names), n_calls, panics, crashes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default="rtorch")
    ap.add_argument("--only", default="", help="comma-separated kind:name targets")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--sample", type=int, default=0, help="sweep a random sample this big")
    ap.add_argument("--seed", type=int, default=0, help="seed of --sample")
    ap.add_argument("--jobs", type=int, default=1, help="targets run in parallel")
    ap.add_argument("--mem-gb", type=float, default=8.0)
    ap.add_argument("--timeout", type=int, default=120, help="seconds per target")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        return child(a.child[0], a.child[1], a.mem_gb)
    T = importlib.import_module(a.lib)
    if a.only:
        names = [n if ":" in n else f"fn:{n}" for n in a.only.split(",")]
    else:
        names = targets(T, set(a.kinds.split(",")))
    missing = [n for n in names if not callable(resolve(T, n))]
    names = [n for n in names if n not in missing]
    if missing:
        print(f"not in {a.lib} (skipped): {', '.join(missing)}")
    if a.sample and a.sample < len(names):
        names = sorted(random.Random(a.seed).sample(names, a.sample))
    f, n, p, c = sweep(a.lib, names, a.mem_gb, a.timeout, a.jobs)
    print(f"sweep: {f} targets, {n} calls, {p} panics, {c} crashes")
    return 1 if p or c else 0


if __name__ == "__main__":
    sys.exit(main())
