"""Storage-level API: frombuffer, as_strided, untyped_storage, set_, share_memory_, and
fork safety of the CPU thread pool."""

import array
import mmap
import multiprocessing
import os
import sys
import warnings

import numpy as np
import pytest

import rtorch

# ----- fork safety -----


def _child_sum(conn) -> None:
    # > GRAIN (32768) elements: runs on the thread pool.
    x = rtorch.ones(1_000_000)
    conn.send(float(x.sum()))
    conn.close()


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_parallel_op_in_forked_child_does_not_hang():
    # The parent uses the pool first, so the child inherits a pool whose threads are gone.
    assert float(rtorch.ones(1_000_000).sum()) == 1_000_000.0
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_child_sum, args=(child,))
    p.start()
    try:
        assert parent.poll(20), "the forked child hung in a parallel kernel"
        assert parent.recv() == 1_000_000.0
    finally:
        p.join(5)
        if p.is_alive():
            p.kill()
    assert p.exitcode == 0
    # The parent's pool still works.
    assert float((rtorch.ones(1_000_000) * 2).sum()) == 2_000_000.0


@pytest.mark.skipif(sys.platform != "linux", reason="os.fork")
def test_os_fork_child_runs_parallel_kernels():
    rtorch.arange(100_000.0).exp()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            ok = float(rtorch.ones(1_000_000).sum()) == 1_000_000.0
            os.write(w, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(w)
    import select

    ready, _, _ = select.select([r], [], [], 20)
    try:
        assert ready, "the forked child hung in a parallel kernel"
        assert os.read(r, 1) == b"1"
    finally:
        os.close(r)
        if not ready:
            os.kill(pid, 9)
        os.waitpid(pid, 0)


# ----- frombuffer -----


def test_frombuffer_shares_memory_and_keeps_the_object_alive():
    buf = bytearray(np.arange(4, dtype=np.float32).tobytes())
    t = rtorch.frombuffer(buf, dtype=rtorch.float32)
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0]
    t[1] = 7.0
    assert np.frombuffer(bytes(buf), dtype=np.float32)[1] == 7.0
    del buf
    assert t.tolist() == [0.0, 7.0, 2.0, 3.0]


def test_frombuffer_count_and_offset():
    a = array.array("i", [10, 20, 30, 40, 50])
    t = rtorch.frombuffer(a, dtype=rtorch.int32, count=2, offset=8)
    assert t.dtype == rtorch.int32
    assert t.tolist() == [30, 40]
    # A negative count means "all": any negative value, as PyTorch.
    assert rtorch.frombuffer(bytearray(8), dtype=rtorch.float32, count=-2).shape == (2,)


def test_frombuffer_readonly_warns_once():
    import rtorch._C as C  # noqa: F401  (the warning is per process: check its text)

    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        t = rtorch.frombuffer(b"abcd", dtype=rtorch.uint8)
        rtorch.frombuffer(b"abcd", dtype=rtorch.uint8)
    assert t.tolist() == [97, 98, 99, 100]
    msgs = [str(x.message) for x in w if issubclass(x.category, UserWarning)]
    assert len(msgs) <= 1
    if msgs:  # not yet emitted by another test in this process
        assert msgs[0].startswith("The given buffer is not writable, and PyTorch does not")


@pytest.mark.parametrize(
    "buf, kwargs, message",
    [
        (bytearray(8), {"count": 3}, "requested buffer length (3 * 4 bytes) after offset"),
        (bytearray(8), {"offset": 8}, "offset (8 bytes) must be non-negative"),
        (bytearray(8), {"offset": -1}, "offset (-1 bytes) must be non-negative"),
        (bytearray(8), {"count": 0}, "both buffer length (8) and count (0) must not be 0"),
        (bytearray(0), {}, "both buffer length (0) and count (-1) must not be 0"),
        (bytearray(7), {}, "buffer length (7 bytes) after offset (0 bytes) must be a multiple"),
        ([1, 2], {}, "object does not implement Python buffer protocol."),
    ],
)
def test_frombuffer_errors(buf, kwargs, message):
    with pytest.raises(ValueError) as e:
        rtorch.frombuffer(buf, dtype=rtorch.float32, **kwargs)
    assert message in str(e.value)


def test_frombuffer_over_mmap():
    mm = mmap.mmap(-1, 16)
    t = rtorch.frombuffer(mm, dtype=rtorch.int64)
    t.fill_(5)
    assert np.frombuffer(mm[:], dtype=np.int64).tolist() == [5, 5]


def test_frombuffer_misaligned_offset_copies_correct_values():
    raw = bytearray(1) + bytearray(np.array([1.5, -2.0], dtype=np.float32).tobytes())
    t = rtorch.frombuffer(raw, dtype=rtorch.float32, offset=1)
    assert t.tolist() == [1.5, -2.0]


def test_frombuffer_requires_grad():
    t = rtorch.frombuffer(bytearray(8), dtype=rtorch.float32, requires_grad=True)
    assert t.requires_grad and t.is_leaf


# ----- from_numpy of a read-only array -----


def test_from_numpy_readonly_warns():
    import subprocess

    code = (
        "import warnings, numpy as np, rtorch\n"
        "warnings.simplefilter('always')\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    rtorch.from_numpy(np.frombuffer(b'abcdefgh', dtype=np.uint8))\n"
        "    rtorch.from_numpy(np.frombuffer(b'abcdefgh', dtype=np.uint8))\n"
        "    rtorch.from_numpy(np.zeros(3))\n"
        "print(len(w)); print(w[0].category.__name__); print(w[0].message)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
    ).stdout.splitlines()
    assert out[0] == "1"  # once per process, and not for a writable array
    assert out[1] == "UserWarning"
    assert out[2] == (
        "The given NumPy array is not writable, and PyTorch does not support non-writable "
        "tensors. This means writing to this tensor will result in undefined behavior. You "
        "may want to copy the array to protect its data or make it writable before "
        "converting it to a tensor. This type of warning will be suppressed for the rest of "
        "this program."
    )


# ----- as_strided -----


def test_as_strided_views_storage():
    x = rtorch.arange(6.0)
    v = x.as_strided((2, 2), (1, 2), 1)
    assert v.tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert v.stride() == (1, 2) and v.storage_offset() == 1
    v[0, 0] = 10.0
    assert x[1].item() == 10.0
    assert rtorch.as_strided(x, (3,), (2,)).tolist() == [0.0, 2.0, 4.0]


def test_as_strided_offset_defaults_to_the_inputs():
    x = rtorch.arange(6.0)
    assert x[2:].as_strided((2,), (1,)).tolist() == [2.0, 3.0]
    assert x[2:].as_strided((2,), (1,), 1).storage_offset() == 1


@pytest.mark.parametrize(
    "size, stride, offset, message",
    [
        (
            (3,),
            (4,),
            0,
            (
                "setStorage: sizes [3], strides [4], storage offset 0, and itemsize 4 requiring a "
                "storage size of 36 are out of bounds for storage of size 24"
            ),
        ),
        (
            (3,),
            (2,),
            2,
            (
                "setStorage: sizes [3], strides [2], storage offset 2, and itemsize 4 requiring a "
                "storage size of 28 are out of bounds for storage of size 24"
            ),
        ),
        ((3, 2), (2,), None, "mismatch in length of strides and shape"),
        ((3,), (-1,), None, "as_strided: Negative strides are not supported at the moment"),
        ((3,), (1,), -1, "Tensor: invalid storage offset -1"),
        (
            (9,),
            (2**61,),
            None,
            "Storage size calculation overflowed with sizes=[9] and strides=[2305843009213693952]",
        ),
    ],
)
def test_as_strided_errors(size, stride, offset, message):
    x = rtorch.arange(6.0)
    with pytest.raises(RuntimeError) as e:
        x.as_strided(size, stride, offset)
    assert message in str(e.value)


def test_as_strided_empty_view_always_fits():
    x = rtorch.arange(6.0)
    assert x.as_strided((0, 5), (100, 100), 3).shape == (0, 5)


def test_as_strided_gradient_sums_overlaps():
    x = rtorch.arange(4.0, dtype=rtorch.float64, requires_grad=True)
    # Overlapping windows of 2: elements 1 and 2 are read twice.
    y = x.as_strided((3, 2), (1, 1))
    assert y.grad_fn.name() == "AsStridedBackward0"
    w = rtorch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=rtorch.float64)
    (y * w).sum().backward()
    assert x.grad.tolist() == [1.0, 2.0 + 3.0, 4.0 + 5.0, 6.0]


def test_as_strided_gradcheck_on_a_view_input():
    base = rtorch.randn(10, dtype=rtorch.float64)

    def f(t):
        return t.as_strided((2, 3), (3, 1), 2) * 2.0

    x = base[1:9].clone().requires_grad_(True)
    assert rtorch.autograd.gradcheck(f, (x,))


# ----- untyped_storage -----


def test_untyped_storage_exposes_bytes():
    x = rtorch.arange(6.0)
    s = x.untyped_storage()
    assert isinstance(s, rtorch.UntypedStorage)
    assert s.nbytes() == 24 and s.size() == 24 and len(s) == 24
    assert s.element_size() == 1
    assert s.device == rtorch.device("cpu")
    assert s.data_ptr() == x.data_ptr()
    assert bytes(s) == np.arange(6, dtype=np.float32).tobytes()
    mv = memoryview(s)
    assert mv.nbytes == 24 and not mv.readonly
    mv[0:4] = np.array([9.0], dtype=np.float32).tobytes()
    assert x[0].item() == 9.0


def test_untyped_storage_identity_is_shared_by_views():
    x = rtorch.arange(6.0)
    assert x[1:].untyped_storage()._cdata == x.untyped_storage()._cdata
    assert x[1:]._storage_id() == x._storage_id()
    assert x.clone().untyped_storage()._cdata != x.untyped_storage()._cdata
    assert x[2:].untyped_storage().data_ptr() == x.data_ptr()


# ----- set_ -----


def test_set_takes_the_sources_storage_and_layout():
    x = rtorch.arange(6.0)
    y = rtorch.zeros(2)
    assert y.set_(x[1:].view(5)) is y
    assert y.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    y[0] = 100.0
    assert x[1].item() == 100.0
    assert y.untyped_storage()._cdata == x.untyped_storage()._cdata


def test_set_errors_and_grad_rules():
    x = rtorch.arange(6.0)
    with pytest.raises(
        RuntimeError, match="Could not set tensor of type float to a tensor of type long int"
    ):
        rtorch.zeros(2, dtype=rtorch.int64).set_(x)
    p = rtorch.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        p.set_(x)
    with rtorch.no_grad():
        p.set_(x)
    assert p.requires_grad and p.is_leaf and p.shape == (6,)


def test_set_with_a_storage_and_no_arguments():
    x = rtorch.arange(6.0)
    y = rtorch.empty(0).set_(x.untyped_storage(), 2, (2, 2), (1, 2))
    assert y.tolist() == [[2.0, 4.0], [3.0, 5.0]]
    with pytest.raises(RuntimeError, match="out of bounds for storage of size 24"):
        rtorch.empty(0).set_(x.untyped_storage(), 5, (2,), (1,))
    assert rtorch.ones(3).set_().shape == (0,)


# ----- share_memory_ -----


@pytest.mark.skipif(sys.platform != "linux", reason="memfd shared memory")
def test_share_memory_in_place_and_visible_to_forked_child():
    x = rtorch.arange(8.0)
    v = x[2:4]
    assert not x.is_shared()
    assert x.share_memory_() is x
    assert x.is_shared() and v.is_shared()
    assert x.tolist() == list(map(float, range(8)))
    assert v.data_ptr() == x.data_ptr() + 8  # views follow the move
    ctx = multiprocessing.get_context("fork")
    p = ctx.Process(target=_write_through_shared, args=(v,))
    p.start()
    p.join(20)
    assert p.exitcode == 0
    assert x.tolist() == [0.0, 1.0, -1.0, -1.0, 4.0, 5.0, 6.0, 7.0]


def _write_through_shared(v) -> None:
    v.fill_(-1.0)


@pytest.mark.skipif(sys.platform != "linux", reason="memfd shared memory")
def test_shared_fd_can_be_mapped_by_a_receiver():
    x = rtorch.arange(4, dtype=rtorch.int32).share_memory_()
    s = x.untyped_storage()
    fd = os.dup(s._shared_fd())
    try:
        mm = mmap.mmap(fd, s.nbytes())
        y = rtorch.frombuffer(mm, dtype=rtorch.int32)
        assert y.tolist() == [0, 1, 2, 3]
        y[0] = 42
        assert x[0].item() == 42
    finally:
        os.close(fd)
    assert rtorch.zeros(2).untyped_storage()._shared_fd() is None
