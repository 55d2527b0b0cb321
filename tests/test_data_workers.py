"""DataLoader with worker processes: order, errors, dead workers, cleanup, seeds, sharding."""

from __future__ import annotations

import gc
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import rtorch
from rtorch.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset, get_worker_info

pytestmark = pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="needs POSIX shared memory")


def shm_segments() -> set[str]:
    return {n for n in os.listdir("/dev/shm") if n.startswith("rtorch_")}


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


class Range(Dataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __getitem__(self, i: int) -> rtorch.Tensor:
        return rtorch.tensor([i, i * i])

    def __len__(self) -> int:
        return self.n


class FailsAt(Range):
    def __getitem__(self, i: int) -> rtorch.Tensor:
        if i == 5:
            raise ValueError(f"bad sample {i}")
        return super().__getitem__(i)


class KillsItself(Range):
    def __getitem__(self, i: int) -> rtorch.Tensor:
        if i == 4:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().__getitem__(i)


class Slow(Range):
    def __getitem__(self, i: int) -> rtorch.Tensor:
        if i == 0:
            time.sleep(0.6)
        return super().__getitem__(i)


class Info(Range):
    def __getitem__(self, i: int) -> tuple:
        info = get_worker_info()
        return (
            info.id,
            info.num_workers,
            info.seed,
            type(info.dataset).__name__,
            os.getpid(),
            rtorch.get_num_threads(),
            int(rtorch.randint(0, 2**30, (1,)).item()),
            random.random(),
        )


class BigOp(Range):
    def __getitem__(self, i: int) -> rtorch.Tensor:
        # Above the 32768-element grain: a parallel kernel, in a forked child.
        return (rtorch.ones(200_000) * i).sum()


class Sharded(IterableDataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


def init_fn(worker_id: int) -> None:
    get_worker_info().dataset.offset = 100 * (worker_id + 1)


def failing_init_fn(worker_id: int) -> None:
    raise KeyError("no such thing")


class Offset(Range):
    offset = 0

    def __getitem__(self, i: int) -> int:
        return self.offset + i


def values(loader) -> list:
    return [row for batch in loader for row in batch[:, 0].tolist()]


def test_worker_order_matches_sampler_order_fork():
    x = rtorch.arange(22.0).reshape(11, 2)
    loader = DataLoader(
        TensorDataset(x, rtorch.arange(11)),
        batch_size=3,
        num_workers=2,
        multiprocessing_context="fork",
    )
    batches = list(loader)
    assert [b[1].tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10]]
    assert batches[3][0].tolist() == [[18.0, 19.0], [20.0, 21.0]]
    assert len(loader) == 4


def test_worker_order_spawn_and_shuffle_repeatable():
    def run():
        loader = DataLoader(
            Range(10),
            batch_size=4,
            num_workers=2,
            shuffle=True,
            generator=rtorch.Generator().manual_seed(3),
            multiprocessing_context="spawn",
        )
        return values(loader)

    a = run()
    assert sorted(a) == list(range(10)) and a != list(range(10))
    single = values(
        DataLoader(
            Range(10), batch_size=4, shuffle=True, generator=rtorch.Generator().manual_seed(3)
        )
    )
    assert a == single  # same sampler, same order, whatever the workers


def test_worker_error_is_reraised_with_traceback():
    loader = DataLoader(FailsAt(8), batch_size=2, num_workers=2)
    it = iter(loader)
    assert next(it).tolist() == [[0, 0], [1, 1]]
    assert next(it).tolist() == [[2, 4], [3, 9]]
    with pytest.raises(ValueError) as info:
        next(it)
    msg = str(info.value)
    assert msg.startswith("Caught ValueError in DataLoader worker process 0.")
    assert "Original Traceback (most recent call last):" in msg
    assert 'raise ValueError(f"bad sample {i}")' in msg and "ValueError: bad sample 5" in msg
    assert next(it).tolist() == [[6, 36], [7, 49]]  # the loader goes on, as PyTorch's
    del it


def test_worker_init_fn_error_keeps_its_class():
    loader = DataLoader(Range(4), batch_size=2, num_workers=1, worker_init_fn=failing_init_fn)
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process 0"):
        list(loader)


def test_killed_worker_is_a_runtime_error_not_a_hang():
    loader = DataLoader(KillsItself(12), batch_size=2, num_workers=2)
    start = time.monotonic()
    with pytest.raises(
        RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited unexpectedly"
    ):
        list(loader)
    assert time.monotonic() - start < 5
    gc.collect()
    assert multiprocessing.active_children() == []


def test_break_and_exception_leave_no_orphans_or_segments():
    before = shm_segments()
    loader = DataLoader(Range(40), batch_size=2, num_workers=2)
    it = iter(loader)
    next(it)
    pids = [w.pid for w in it._workers]
    del it  # breaking out of a for loop drops the iterator the same way
    gc.collect()
    assert not any(pid_alive(p) for p in pids)
    assert multiprocessing.active_children() == []

    with pytest.raises(ZeroDivisionError):
        for _ in loader:
            raise ZeroDivisionError
    gc.collect()
    assert multiprocessing.active_children() == []
    assert shm_segments() <= before


def test_segments_cleaned_after_full_epoch():
    before = shm_segments()
    out = list(DataLoader(Range(9), batch_size=2, num_workers=2))
    assert len(out) == 5
    gc.collect()
    assert shm_segments() <= before
    assert multiprocessing.active_children() == []


def test_worker_info_seeds_and_one_thread():
    loader = DataLoader(
        Info(8), batch_size=None, num_workers=2, generator=rtorch.Generator().manual_seed(0)
    )
    rows = list(loader)
    ids = {r[0] for r in rows}
    assert ids == {0, 1}
    assert all(r[1] == 2 and r[3] == "Info" and r[5] == 1 for r in rows)
    seed_of = {r[0]: r[2] for r in rows}
    assert seed_of[1] == seed_of[0] + 1  # base_seed + worker id
    assert len({r[4] for r in rows}) == 2 and os.getpid() not in {r[4] for r in rows}
    # Workers are seeded differently: their random streams differ.
    first = {r[0]: (r[6], r[7]) for r in reversed(rows)}
    assert first[0] != first[1]
    # A new generator seed gives new worker seeds.
    other = list(
        DataLoader(
            Info(2), batch_size=None, num_workers=2, generator=rtorch.Generator().manual_seed(1)
        )
    )
    assert {r[2] for r in other} != set(seed_of.values())


def test_worker_init_fn_runs_in_each_worker():
    out = sorted(DataLoader(Offset(4), batch_size=None, num_workers=2, worker_init_fn=init_fn))
    # Round robin: indices 0, 2 to worker 0 (offset 100), 1, 3 to worker 1 (offset 200).
    assert out == [100, 102, 201, 203]


def test_iterable_dataset_sharded_by_worker_info():
    out = [b.tolist() for b in DataLoader(Sharded(7), batch_size=2, num_workers=2)]
    # Worker 0 yields 0 2 4 6, worker 1 yields 1 3 5; batches alternate between them.
    assert out == [[0, 2], [1, 3], [4, 6], [5]]
    flat = [v for b in DataLoader(Sharded(7), batch_size=None, num_workers=2) for v in [b]]
    assert sorted(flat) == list(range(7))


def test_worker_whose_stream_ends_early_does_not_block_the_others():
    """Worker 0 has nothing to yield and is told to stop while worker 1 still sends large
    batches. It must not exit while its queue's feeder thread holds the write lock that
    all workers share (that left worker 1's answers stuck forever: about one epoch in 30
    hung before the fix). Runs in a subprocess so that a hang is a timeout, not a stall."""
    script = textwrap.dedent(
        """
        from rtorch.utils.data import DataLoader, IterableDataset, get_worker_info

        class Uneven(IterableDataset):
            def __iter__(self):
                n = 0 if get_worker_info().id == 0 else 20
                return iter(["x" * 300_000] * n)  # larger than a pipe's buffer

        for _ in range(150):
            loader = DataLoader(Uneven(), batch_size=None, num_workers=2, prefetch_factor=50)
            assert sum(1 for _ in loader) == 20
        print("ok")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_persistent_workers_survive_epochs():
    class Pid(Range):
        def __getitem__(self, i):
            return os.getpid()

    loader = DataLoader(Pid(6), batch_size=2, num_workers=2, persistent_workers=True)
    e1 = {p for b in loader for p in b.tolist()}
    it = loader._iterator
    e2 = {p for b in loader for p in b.tolist()}
    assert e1 == e2 and len(e1) == 2 and loader._iterator is it
    # An epoch cut short is followed by a clean new epoch.
    for _ in loader:
        break
    assert len([b for b in loader]) == 3
    del loader, it
    gc.collect()
    assert multiprocessing.active_children() == []


def test_persistent_iterable_workers_restart_their_stream():
    loader = DataLoader(Sharded(5), batch_size=None, num_workers=2, persistent_workers=True)
    assert sorted(loader) == list(range(5))
    assert sorted(loader) == list(range(5))
    del loader
    gc.collect()


def test_prefetch_factor_values_and_context_object():
    context = multiprocessing.get_context("fork")
    for pf in (1, 4):
        loader = DataLoader(
            Range(7),
            batch_size=2,
            num_workers=2,
            prefetch_factor=pf,
            multiprocessing_context=context,
        )
        assert loader.multiprocessing_context is context
        assert values(loader) == list(range(7))


def test_timeout_raises():
    loader = DataLoader(Slow(4), batch_size=1, num_workers=1, timeout=0.2)
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.2 seconds"):
        next(iter(loader))
    gc.collect()


def test_in_order_false_yields_ready_batches_first():
    loader = DataLoader(Slow(6), batch_size=1, num_workers=2, in_order=False)
    out = values(loader)
    assert sorted(out) == list(range(6)) and out[0] != 0


def test_forked_worker_runs_parallel_kernels():
    (rtorch.ones(200_000) * 2).sum()  # the parent's pool exists before the fork
    loader = DataLoader(
        BigOp(4), batch_size=None, num_workers=2, multiprocessing_context="fork", timeout=20
    )
    assert [t.item() for t in loader] == [0.0, 200_000.0, 400_000.0, 600_000.0]


def test_workers_exit_when_the_main_process_dies():
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from rtorch.utils.data import DataLoader
        from test_data_workers import Range
        it = iter(DataLoader(Range(100), num_workers=2))
        next(it)
        print(os.getpid(), " ".join(str(w.pid) for w in it._workers), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=30
    )
    main_pid, *pids = (int(p) for p in proc.stdout.split())
    assert len(pids) == 2
    deadline = time.monotonic() + 5
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(pid_alive(p) for p in pids)
    # The batches prefetched for the dead process do not stay in /dev/shm.
    assert not [n for n in shm_segments() if n.startswith(f"rtorch_{main_pid}_")]


def test_ctrl_c_in_the_main_process_leaves_nothing_behind():
    script = textwrap.dedent(
        f"""
        import os, signal, sys, time
        # A shell that starts a job in the background without job control (CI runners,
        # `cmd &` in a script) makes it ignore SIGINT, and Python then keeps SIGINT
        # ignored; a terminal's Ctrl-C is what is tested here, so restore its handler.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from rtorch.utils.data import DataLoader
        from test_data_workers import Range
        it = iter(DataLoader(Range(100), num_workers=2))
        next(it)
        print(os.getpid(), " ".join(str(w.pid) for w in it._workers), flush=True)
        time.sleep(30)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    main_pid, *pids = (int(p) for p in proc.stdout.readline().split())
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert "KeyboardInterrupt" in err
    assert not any(pid_alive(p) for p in pids)
    assert not [n for n in shm_segments() if n.startswith(f"rtorch_{main_pid}_")]


def unpicklable_collate(batch):
    return lambda: batch


def test_unpicklable_batch_is_an_error_not_a_hang():
    loader = DataLoader(Range(2), batch_size=2, num_workers=1, collate_fn=unpicklable_collate)
    with pytest.raises(Exception, match="Caught .* in DataLoader worker process 0") as info:
        next(iter(loader))
    assert "pickle" in str(info.value).lower()
