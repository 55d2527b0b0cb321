"""Large freed CPU buffers are reused (block_cache.rs), without leaking stale values."""

import os
import subprocess
import sys

import numpy as np

import rtorch

MIB = 1 << 20
CAP = 1024 * MIB  # kept at most
KEEP = 256 * MIB  # a fresh allocation gives back older blocks while more than this is kept


def test_a_freed_large_buffer_is_reused_for_the_same_size():
    rtorch._C._empty_cpu_block_cache()
    x = rtorch.full((MIB,), 7.0)  # 4 MiB
    ptr = x.data_ptr()
    del x
    assert rtorch._C._cpu_block_cache_bytes() == 4 * MIB
    y = rtorch.ones(MIB)
    assert y.data_ptr() == ptr
    assert rtorch._C._cpu_block_cache_bytes() == 0


def test_reused_buffers_hold_no_stale_values():
    for make in (rtorch.zeros, rtorch.empty):
        x = rtorch.full((3 * MIB,), 5.0)
        del x
        z = make(3 * MIB)
        assert not np.any(z.numpy())
    a = rtorch.arange(2 * MIB, dtype=rtorch.float32)
    b = rtorch.full((2 * MIB,), -1.0)
    (a * 0 + 3).sum()  # frees a 8 MiB temporary into the cache
    np.testing.assert_array_equal((a + b).numpy(), np.arange(2 * MIB, dtype=np.float32) - 1)


def test_small_buffers_are_not_cached():
    rtorch._C._empty_cpu_block_cache()
    x = rtorch.ones(1000)
    del x
    assert rtorch._C._cpu_block_cache_bytes() == 0


def test_fresh_sizes_give_back_older_blocks_above_the_floor():
    rtorch._C._empty_cpu_block_cache()
    for i in range(12):  # 12 distinct sizes of 30-41 MiB: 426 MiB freed in all
        t = rtorch.empty((30 + i) * MIB, dtype=rtorch.uint8)
        del t
    # Each fresh size returned the oldest blocks while more than KEEP was kept, so at
    # most KEEP plus the last block remain.
    held = rtorch._C._cpu_block_cache_bytes()
    assert KEEP < held <= KEEP + 41 * MIB
    assert rtorch._C._empty_cpu_block_cache() == held
    assert rtorch._C._cpu_block_cache_bytes() == 0


def test_the_cache_stays_under_its_cap():
    # 24 live buffers of 48 MiB (never touched, so never backed by memory) freed
    # together: 1152 MiB, of which at most CAP is kept, the oldest returned first.
    rtorch._C._empty_cpu_block_cache()
    live = [rtorch.empty(48 * MIB, dtype=rtorch.uint8) for _ in range(24)]
    del live
    held = rtorch._C._cpu_block_cache_bytes()
    assert CAP - 48 * MIB < held <= CAP
    assert rtorch._C._empty_cpu_block_cache() == held


def test_the_environment_variable_turns_it_off():
    code = (
        "import rtorch; x = rtorch.ones(1 << 20); del x; print(rtorch._C._cpu_block_cache_bytes())"
    )
    env = dict(os.environ, RTORCH_CPU_BLOCK_CACHE="0")
    out = subprocess.run(
        [sys.executable, "-c", code], check=False, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"


def test_kernel_scratch_is_kept_too():
    # Every Rust allocation of the extension goes through the caching allocator, not
    # only tensor buffers: a deep convolution's backward frees scratch buffers of
    # several MiB (9 MiB at least: the size of a 512 x 512 x 3 x 3 float32 weight
    # gradient, whose own copy becomes `.grad`), and the next step reuses them: from the
    # second step on, the cache holds as much after a step as before it. (The float32
    # GEMM's packed operands stay with their threads between calls, outside the cache.)
    before = rtorch.get_num_threads()
    try:
        rtorch.set_num_threads(1)
        x = rtorch.randn(8, 512, 7, 7, requires_grad=True)
        w = rtorch.randn(512, 512, 3, 3, requires_grad=True)
        rtorch._C._empty_cpu_block_cache()
        rtorch.nn.functional.conv2d(x, w, padding=1).sum().backward()
        assert rtorch._C._cpu_block_cache_bytes() >= 9 * MIB
        x.grad = w.grad = None
        rtorch.nn.functional.conv2d(x, w, padding=1).sum().backward()
        held = rtorch._C._cpu_block_cache_bytes()
        x.grad = w.grad = None
        rtorch.nn.functional.conv2d(x, w, padding=1).sum().backward()
        assert rtorch._C._cpu_block_cache_bytes() == held
    finally:
        rtorch.set_num_threads(before)
