"""A short tour of rtorch: tensors, dtypes, views, numpy, autograd.

    python examples/tensor_tour.py

Written against PyTorch's API; ``RTORCH_EXAMPLE_USE_TORCH=1`` runs it on PyTorch.
"""

from __future__ import annotations

import os

if os.environ.get("RTORCH_EXAMPLE_USE_TORCH") == "1":
    import torch
else:
    import rtorch as torch


def main() -> None:
    # Creation and dtype inference.
    a = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    i = torch.tensor([1, 2, 3])
    print("a =", a)
    print("a.shape:", a.shape, " a.dtype:", a.dtype, " i.dtype:", i.dtype)
    print("zeros:", torch.zeros(2, 2, dtype=torch.int32))
    print("full:", torch.full((3,), 7))

    # Broadcasting arithmetic and type promotion.
    print("a * 2 + i =", a * 2 + i)
    print("i / 2 =", i / 2, "(int / int -> float32)")
    print("uint8 wraps:", torch.tensor([250], dtype=torch.uint8) + 10)

    # Views share storage.
    t = a.t()
    print("a.t() is contiguous:", t.is_contiguous(), " strides:", t.stride())
    row = a.select(0, 1)
    row += 100
    print("after editing a row view, a =", a)
    print("a.view(6) =", a.view(6))

    # Reductions.
    print("a.sum() =", a.sum(), " a.sum(dim=0) =", a.sum(dim=0))

    # numpy interop (shares memory) when numpy is installed.
    try:
        import numpy as np
    except ImportError:
        print("(numpy not installed: skipping interop)")
    else:
        arr = np.arange(4.0)
        x = torch.from_numpy(arr)
        arr[0] = 42.0
        print("from_numpy shares memory:", x)

    # Autograd.
    w = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    b = torch.tensor(0.5, requires_grad=True)
    y = (w * torch.tensor([2.0, 2.0, 2.0]) + b).sum()
    print("y =", y)
    y.backward()
    print("dy/dw =", w.grad, " dy/db =", b.grad)
    with torch.no_grad():
        w -= 0.1 * w.grad
    print("after an SGD step, w =", w)

    (gx,) = torch.autograd.grad((w * w).sum(), w)
    print("autograd.grad of sum(w*w):", gx)

    # Printing options.
    big = torch.zeros(2000) + 1.5
    print("summarised:", big)
    torch.set_printoptions(precision=2)
    print("precision=2:", torch.tensor([3.14159, 2.71828]))
    torch.set_printoptions(profile="default")


if __name__ == "__main__":
    main()
