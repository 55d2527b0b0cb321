"""Layer step time, rtorch vs PyTorch: convolutions, pooling, normalization, lookups and
resampling on the seed models' shapes (forward, and forward + backward).

    python benches/bench_layers.py [--torch-python /path/to/python-with-torch] [--quick]

PyTorch runs in this process when importable, else in a subprocess with the given
interpreter (or $RTORCH_BENCH_TORCH_PYTHON). Prints µs per call and the ratio
(rtorch / PyTorch; below 1 rtorch is faster). BENCH_ONE_THREAD=1 runs both on one
thread. Each number is the best single call, the one no other process interrupted.
"""

from __future__ import annotations

import os

import _sidebyside
from _sidebyside import best_us

ROWS = [
    "conv2d 64x1x28x28 k5->10 forward",
    "conv2d 64x1x28x28 k5->10 forward+backward",
    "conv2d 100x6x14x14 k5->16 forward+backward (dx too)",
    "conv2d 16x32x32x32 k3 p1 ->32 forward+backward",
    "max_pool2d 64x10x24x24 k2 forward+backward",
    "max_pool2d 16x32x32x32 k3 s1 p1 forward",
    "avg_pool2d 64x10x24x24 k2 forward+backward",
    "batch_norm2d 16x32x32x32 train forward+backward",
    "layer_norm 64x128x256 forward+backward",
    "embedding_bag 1000x64 mean, 32 bags of 35 forward+backward",
    "interpolate bilinear 16x32x32x32 x2 forward+backward",
    "seed MNIST CNN batch 64 forward+backward",
    "batch_norm1d 512x256 train forward+backward",
    "interpolate bicubic 16x32x32x32 x2 forward+backward",
    "pixel_shuffle 16x32x32x32 r2 forward+backward",
    "adaptive_max_pool2d 16x32x32x32 ->7x7 forward+backward",
    "pad reflect 3 16x32x32x32 forward+backward",
    "grid_sample bilinear 16x32x32x32 affine grid forward+backward",
    "index_select 16384 of 50000 rows of 32 forward",
    "max_pool3d 8x16x16x32x32 k2 forward+backward",
    "avg_pool3d 8x16x16x32x32 k3 s1 p1 forward+backward",
    "depthwise conv2d 16x960x7x7 k3 p1 forward+backward",
    "depthwise conv2d 16x144x56x56 k3 p1 forward+backward",
    "avg_pool2d 32x64x28x28 k4 forward",
    "adaptive_avg_pool2d 32x64x28x28 ->7x7 forward",
]


def time_calls(lib, seconds: float) -> dict:
    """µs per call for each row."""
    if os.environ.get("BENCH_ONE_THREAD"):
        lib.set_num_threads(1)
    lib.manual_seed(0)
    nn, F = lib.nn, lib.nn.functional

    def step(module_or_fn, *inputs):
        def run():
            out = module_or_fn(*inputs)
            out.sum().backward()

        return run

    r = {}
    x = lib.randn(64, 1, 28, 28)
    conv = nn.Conv2d(1, 10, 5)
    r[ROWS[0]] = best_us(lambda: conv(x), seconds)
    r[ROWS[1]] = best_us(step(conv, x), seconds)
    h = lib.randn(100, 6, 14, 14, requires_grad=True)
    r[ROWS[2]] = best_us(step(nn.Conv2d(6, 16, 5), h), seconds)
    big = lib.randn(16, 32, 32, 32, requires_grad=True)
    r[ROWS[3]] = best_us(step(nn.Conv2d(32, 32, 3, padding=1), big), seconds)
    p = lib.randn(64, 10, 24, 24, requires_grad=True)
    r[ROWS[4]] = best_us(step(lambda t: F.max_pool2d(t, 2), p), seconds)
    r[ROWS[5]] = best_us(lambda: F.max_pool2d(big.detach(), 3, 1, 1), seconds)
    r[ROWS[6]] = best_us(step(lambda t: F.avg_pool2d(t, 2), p), seconds)
    r[ROWS[7]] = best_us(step(nn.BatchNorm2d(32), big), seconds)
    seq = lib.randn(64, 128, 256, requires_grad=True)
    r[ROWS[8]] = best_us(step(nn.LayerNorm(256), seq), seconds)
    bag = nn.EmbeddingBag(1000, 64)
    idx = lib.randint(0, 1000, (32 * 35,))
    offsets = lib.arange(0, 32 * 35, 35)
    r[ROWS[9]] = best_us(step(bag, idx, offsets), seconds)
    r[ROWS[10]] = best_us(
        step(lambda t: F.interpolate(t, scale_factor=2, mode="bilinear"), big), seconds
    )

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 10, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.fc1 = nn.Linear(1440, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, t):
            t = self.pool(F.relu(self.conv(t)))
            return self.fc2(F.relu(self.fc1(t.view(t.size(0), -1))))

    r[ROWS[11]] = best_us(step(Net(), x), seconds)
    flat = lib.randn(512, 256, requires_grad=True)
    r[ROWS[12]] = best_us(step(nn.BatchNorm1d(256), flat), seconds)
    r[ROWS[13]] = best_us(
        step(lambda t: F.interpolate(t, scale_factor=2, mode="bicubic"), big), seconds
    )
    r[ROWS[14]] = best_us(step(lambda t: F.pixel_shuffle(t, 2), big), seconds)
    r[ROWS[15]] = best_us(step(lambda t: F.adaptive_max_pool2d(t, 7), big), seconds)
    r[ROWS[16]] = best_us(step(lambda t: F.pad(t, (3, 3, 3, 3), mode="reflect"), big), seconds)
    theta = lib.tensor([[1.0, 0.1, 0.05], [-0.1, 0.9, 0.0]]).expand(16, 2, 3)
    grid = F.affine_grid(theta, (16, 32, 32, 32), align_corners=False).requires_grad_(True)
    r[ROWS[17]] = best_us(
        step(lambda t, g: F.grid_sample(t, g, align_corners=False), big, grid), seconds
    )
    table = lib.randn(50000, 32)
    rows = lib.randint(0, 50000, (16384,))
    r[ROWS[18]] = best_us(lambda: table.index_select(0, rows), seconds)
    vol = lib.randn(8, 16, 16, 32, 32, requires_grad=True)
    r[ROWS[19]] = best_us(step(lambda t: F.max_pool3d(t, 2), vol), seconds)
    r[ROWS[20]] = best_us(step(lambda t: F.avg_pool3d(t, 3, 1, 1), vol), seconds)
    # MobileNetV2's depthwise layers: its last stage (960 channels of 7x7) and an early one.
    late = lib.randn(16, 960, 7, 7, requires_grad=True)
    r[ROWS[21]] = best_us(step(nn.Conv2d(960, 960, 3, padding=1, groups=960), late), seconds)
    early = lib.randn(16, 144, 56, 56, requires_grad=True)
    r[ROWS[22]] = best_us(step(nn.Conv2d(144, 144, 3, padding=1, groups=144), early), seconds)
    maps = lib.randn(32, 64, 28, 28)
    r[ROWS[23]] = best_us(lambda: F.avg_pool2d(maps, 4), seconds)
    r[ROWS[24]] = best_us(lambda: F.adaptive_avg_pool2d(maps, 7), seconds)
    return r


if __name__ == "__main__":
    _sidebyside.main("bench_layers", "time_calls", ROWS, "", __doc__)
