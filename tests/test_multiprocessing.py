"""rtorch.multiprocessing: the stdlib drop-in, tensors through shared memory, spawn."""

from __future__ import annotations

import multiprocessing as std_mp
import os
import sys

import pytest

import rtorch
import rtorch.multiprocessing as mp
from rtorch.multiprocessing import reductions


def shm_segments() -> set[str]:
    return {n for n in os.listdir("/dev/shm") if n.startswith("rtorch_")}


def double_in_child(q_in, q_out) -> None:
    t = q_in.get()
    q_out.put(t * 2)


def spawned_writes(i: int, q, shared: rtorch.Tensor) -> None:
    q.put((i, rtorch.full((2,), float(i))))
    shared.add_(1)


def spawned_raises(i: int) -> None:
    if i == 1:
        raise ValueError("boom in process 1")


def spawned_exits(i: int) -> None:
    sys.exit(3)


def square(t: rtorch.Tensor) -> rtorch.Tensor:
    return t * t


def test_reexports_the_standard_module():
    for name in std_mp.__all__:
        assert hasattr(mp, name), name
    assert mp.Process is std_mp.Process and mp.Queue is not None
    assert set(std_mp.__all__) <= set(mp.__all__)
    assert "spawn" in mp.__all__ and "ProcessRaisedException" in mp.__all__
    assert mp.get_sharing_strategy() in mp.get_all_sharing_strategies()
    mp.set_sharing_strategy("file_system")
    assert mp.get_sharing_strategy() == "file_system"


@pytest.mark.parametrize(
    "dtype",
    [
        rtorch.float32,
        rtorch.float64,
        rtorch.int64,
        rtorch.uint8,
        rtorch.bool,
        rtorch.float16,
        rtorch.bfloat16,
    ],
)
def test_tensor_round_trip_through_queue(dtype):
    before = shm_segments()
    q = mp.Queue()
    x = (rtorch.arange(12) % 3).to(dtype).reshape(3, 4)
    q.put(x)
    y = q.get(timeout=10)
    assert y.dtype == dtype and y.shape == (3, 4)
    assert y.tolist() == x.tolist()
    q.close()
    assert shm_segments() <= before  # the receiver unlinked the segment


def test_non_contiguous_zero_dim_and_empty_tensors():
    q = mp.Queue()
    x = rtorch.arange(12.0).reshape(3, 4).t()[::2]
    for t in (x, rtorch.tensor(3.5), rtorch.empty(0, 3)):
        q.put(t)
        r = q.get(timeout=10)
        assert r.shape == t.shape and r.tolist() == t.tolist()
    q.close()


def test_received_tensor_is_writable_and_independent():
    x = rtorch.zeros(3)
    q = mp.Queue()
    q.put(x)
    y = q.get(timeout=10)
    y.add_(1)
    assert y.tolist() == [1.0, 1.0, 1.0] and x.tolist() == [0.0, 0.0, 0.0]
    q.close()


def test_requires_grad_leaf_and_refused_non_leaf():
    q = mp.Queue()
    w = rtorch.ones(2, requires_grad=True)
    data = reductions.ForkingPickler.dumps(w)
    back = reductions.ForkingPickler.loads(data)
    assert back.requires_grad and back.is_leaf and back.tolist() == [1.0, 1.0]
    with pytest.raises(RuntimeError, match="Cowardly refusing to serialize non-leaf tensor"):
        reductions.ForkingPickler.dumps(w * 2)
    q.close()


def test_parameter_round_trip():
    nn = pytest.importorskip("rtorch.nn")
    reductions.init_reductions()
    p = nn.Parameter(rtorch.tensor([1.0, 2.0]))
    back = reductions.ForkingPickler.loads(reductions.ForkingPickler.dumps(p))
    assert isinstance(back, nn.Parameter) and back.requires_grad and back.tolist() == [1.0, 2.0]


def test_process_exchanges_tensors_fork():
    ctx = mp.get_context("fork")
    q_in, q_out = ctx.Queue(), ctx.Queue()
    p = ctx.Process(target=double_in_child, args=(q_in, q_out))
    p.start()
    q_in.put(rtorch.arange(5.0))
    out = q_out.get(timeout=20)
    p.join(10)
    assert p.exitcode == 0 and out.tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_pool_map_returns_tensors():
    with mp.get_context("fork").Pool(2) as pool:
        out = pool.map(square, [rtorch.tensor([1.0, 2.0]), rtorch.tensor([3.0])])
    assert [t.tolist() for t in out] == [[1.0, 4.0], [9.0]]


def test_spawn_runs_each_index_and_shares_memory():
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    x = rtorch.zeros(4)
    x.share_memory_()
    # The shared tensor's descriptor goes to each child as it is spawned; a view of it
    # keeps its offset.
    assert mp.spawn(spawned_writes, args=(q, x[1:]), nprocs=2) is None
    got = sorted((i, t.tolist()) for i, t in (q.get(timeout=10), q.get(timeout=10)))
    assert got == [(0, [0.0, 0.0]), (1, [1.0, 1.0])]
    # Each child added 1 in place; the processes ran one after another or together,
    # and add_ of distinct processes on the same pages may race, so only bound it.
    assert x[0].item() == 0.0 and all(1.0 <= v <= 2.0 for v in x[1:].tolist())


def test_spawn_reraises_with_traceback_and_exit_codes():
    with pytest.raises(mp.ProcessRaisedException) as info:
        mp.spawn(spawned_raises, nprocs=2, start_method="fork")
    msg = str(info.value)
    assert "-- Process 1 terminated with the following error:" in msg
    assert "ValueError: boom in process 1" in msg and "Traceback" in msg
    assert info.value.error_index == 1
    with pytest.raises(mp.ProcessExitedException, match="process 0 terminated with exit code 3"):
        mp.spawn(spawned_exits, nprocs=1, start_method="fork")
    ctx = mp.spawn(spawned_raises, nprocs=1, join=False, start_method="fork")
    assert isinstance(ctx, mp.ProcessContext) and len(ctx.pids()) == 1
    while not ctx.join():
        pass


def add_from_queue(q, done) -> None:
    t = q.get()
    t.add_(1)
    done.put(True)


def test_shared_tensor_through_queue_is_the_same_memory():
    ctx = mp.get_context("fork")
    q, done = ctx.Queue(), ctx.Queue()
    p = ctx.Process(target=add_from_queue, args=(q, done))
    p.start()  # started before the tensor exists: it can only see it through the queue
    x = rtorch.zeros(2, 3)
    x.share_memory_()
    assert x.is_shared()
    q.put(x.t())  # a view: strides and offset travel with the descriptor
    assert done.get(timeout=20)
    p.join(10)
    assert x.tolist() == [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]


def hogwild_step(q, done) -> None:
    model = q.get()
    with rtorch.no_grad():
        for p in model.parameters():
            p.sub_(1.0)
    done.put(all(p.is_leaf and p.requires_grad for p in model.parameters()))


def test_hogwild_model_share_memory():
    nn = pytest.importorskip("rtorch.nn")
    model = nn.Linear(3, 2)
    before = [p.detach().clone() for p in model.parameters()]
    model.share_memory()
    ctx = mp.get_context("fork")
    q, done = ctx.Queue(), ctx.Queue()
    workers = [ctx.Process(target=hogwild_step, args=(q, done)) for _ in range(2)]
    for w in workers:
        w.start()
    for _ in workers:
        # Pickled: the parameters travel as descriptors of their shared storage. One
        # update at a time, so that no write is lost to a race and the sum is exact.
        q.put(model)
        assert done.get(timeout=20)
    for w in workers:
        w.join(10)
    for p, b in zip(model.parameters(), before):
        assert p.detach().tolist() == ((b - 1.0) - 1.0).tolist()


def test_empty_shared_pickles_its_segment_without_a_copy():
    before = shm_segments()
    t = reductions.empty_shared((2, 3), rtorch.float32)
    t.fill_(1.0)
    first = reductions.ForkingPickler.dumps(t)
    t.fill_(2.0)  # after pickling: the receiver maps the very same segment
    second = reductions.ForkingPickler.dumps(t)  # sent again: a copy, taken now
    t.fill_(3.0)
    a = reductions.ForkingPickler.loads(first)
    b = reductions.ForkingPickler.loads(second)
    assert a.shape == (2, 3) and a.tolist() == [[3.0] * 3] * 2
    assert b.tolist() == [[2.0] * 3] * 2
    del t, a, b
    assert shm_segments() <= before
    assert reductions.empty_shared((0, 4), rtorch.int64).shape == (0, 4)


def spawned_killed(i: int) -> None:
    os.kill(os.getpid(), 9)


def test_spawn_signal_and_error_files_removed():
    import tempfile

    before = {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("rtorch-spawn-")}
    with pytest.raises(mp.ProcessExitedException, match="process 0 terminated with signal SIGKILL"):
        mp.spawn(spawned_killed, nprocs=1, start_method="fork")
    with pytest.raises(mp.ProcessRaisedException):
        mp.spawn(spawned_raises, nprocs=2, start_method="fork")
    after = {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("rtorch-spawn-")}
    assert after <= before
