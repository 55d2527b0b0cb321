"""rtorch.utils.benchmark: Timer against statements of known cost (time.sleep) and a fake
clock (which makes block-size selection and the measurement loops exact), Measurement
statistics against the statistics module, its repr, thread-count restore, Compare tables,
error paths, and PyTorch parity of the Measurement summaries."""

from __future__ import annotations

import importlib
import random
import re
import statistics
import time

import pytest

import rtorch
from rtorch.utils import benchmark
from rtorch.utils.benchmark import Compare, Measurement, TaskSpec, Timer


class FakeClock:
    """A clock that advances only when the benchmarked statement calls ``tick``."""

    def __init__(self, steps):
        self.now = 0.0
        self._steps = steps
        self._i = 0

    def tick(self) -> None:
        self.now += self._steps[self._i % len(self._steps)]
        self._i += 1

    def __call__(self) -> float:
        return self.now


def _fake_timer(steps, **kwargs) -> Timer:
    clock = FakeClock(steps)
    return Timer("clock.tick()", timer=clock, globals={"clock": clock}, **kwargs)


def _measurement(times, number=100, **spec) -> Measurement:
    spec.setdefault("stmt", "x + y")
    spec.setdefault("setup", "pass")
    return Measurement(number, [t * number for t in times], TaskSpec(**spec))


# ---------------------------------------------------------------------- Timer


def test_timeit_on_sleep_has_known_cost():
    m = Timer("time.sleep(0.01)", globals={"time": time}).timeit(number=3)
    assert m.number_per_run == 3
    assert len(m.raw_times) == 1
    # sleep never returns early; a loaded machine may add some time.
    assert 0.03 <= m.raw_times[0] < 0.03 + 0.5
    assert m.times == [m.raw_times[0] / 3]
    assert m.median == m.mean == m.times[0]
    assert m.iqr == 0.0


def test_timeit_with_fake_clock_is_exact():
    m = _fake_timer([2.0**-10]).timeit(number=8)
    assert m.raw_times == [8 * 2.0**-10]
    assert m.times == [2.0**-10]


def test_blocked_autorange_on_sleep():
    m = Timer("time.sleep(0.005)", globals={"time": time}).blocked_autorange(min_run_time=0.05)
    assert sum(m.raw_times) >= 0.05
    assert all(t >= 0.005 for t in m.times)
    assert m.number_per_run in (1, 10, 100)


def test_blocked_autorange_block_size_and_loop_are_exact():
    # 1/1024 s per run: one run already dwarfs the (zero) overhead and exceeds
    # min_run_time / 1000, so blocks of 1 run until 0.25 s are spent: 256 blocks.
    m = _fake_timer([2.0**-10]).blocked_autorange(min_run_time=0.25)
    assert m.number_per_run == 1
    assert len(m.times) == 256
    # 2**-23 s per run: the block grows by tens until it takes >= min_run_time / 1000
    # (1e-4 s needs 10000 runs: 1000 runs take 1.19e-4 < 2e-4).
    m = _fake_timer([2.0**-23]).blocked_autorange(min_run_time=0.2)
    assert m.number_per_run == 10000
    assert sum(m.raw_times) >= 0.2
    # A slow statement: the block stops growing once one block exceeds min_run_time.
    m = _fake_timer([0.5]).blocked_autorange(min_run_time=0.2)
    assert m.number_per_run == 1
    assert len(m.times) == 1


def test_blocked_autorange_callback_sees_every_block():
    seen = []
    m = _fake_timer([2.0**-10]).blocked_autorange(
        callback=lambda n, t: seen.append((n, t)), min_run_time=2.0**-5
    )
    assert seen == [(1, 2.0**-10)] * 32
    assert len(m.times) == 32


def test_adaptive_autorange_stops_when_precise():
    # Constant times: IQR 0 from the 4th block on; min_run_time 0.01 s needs 11 blocks.
    m = _fake_timer([2.0**-10]).adaptive_autorange(min_run_time=0.01)
    assert m.number_per_run == 1
    assert len(m.times) == 11
    assert m.meets_confidence()


def test_adaptive_autorange_gives_up_at_max_run_time():
    # Alternating 1 and 4 units: IQR / median stays far above the threshold.
    unit = 2.0**-10
    m = _fake_timer([unit, 4 * unit]).adaptive_autorange(max_run_time=0.05)
    total = sum(m.raw_times)
    assert total > 0.05
    assert total - m.raw_times[-1] <= 0.05  # stopped right after crossing it
    assert not m.meets_confidence()


def test_num_threads_is_set_during_the_run_and_restored():
    prior = rtorch.get_num_threads()
    target = 1 if prior != 1 else 2
    seen = []
    t = Timer("seen.append(torch.get_num_threads())", globals={"seen": seen}, num_threads=target)
    t.timeit(5)
    assert set(seen) == {target}
    assert rtorch.get_num_threads() == prior
    seen.clear()
    t.blocked_autorange(min_run_time=0.001)
    assert set(seen) == {target}
    assert rtorch.get_num_threads() == prior
    # Restored also when the statement fails.
    bad = Timer("raise KeyError('boom')", num_threads=target)
    with pytest.raises(KeyError):
        bad.timeit(3)
    assert rtorch.get_num_threads() == prior


def test_globals_setup_and_default_torch():
    g = {"n": 3}
    t = Timer("y = torch.ones(n) + x", setup="x = torch.zeros(3)", globals=g)
    m = t.timeit(4)
    assert m.number_per_run == 4
    assert set(g) == {"n"}  # the caller's dict is copied, not filled
    # Indented triple-quoted statements are dedented.
    Timer(
        """
        a = 1
        b = a + 1
        """
    ).timeit(2)


def test_timer_errors():
    with pytest.raises(ValueError, match="global_setup is C\\+\\+ only, got `y`"):
        Timer("x", global_setup="y")
    with pytest.raises(NotImplementedError, match="Python statements only"):
        Timer("x", language="c++")
    with pytest.raises(ValueError, match="Invalid language `rust`."):
        Timer("x", language="rust")
    with pytest.raises(ValueError, match="only a `str` stmt"):
        Timer(lambda: 1)
    with pytest.raises(NotImplementedError, match="blocked_autorange"):
        Timer().repeat(3, 10)
    with pytest.raises(NotImplementedError, match="blocked_autorange"):
        Timer().autorange()
    assert Timer(language="py")._task_spec.num_threads == 1


# ---------------------------------------------------------------------- Measurement


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 50])
def test_measurement_statistics_against_statistics_module(n):
    rng = random.Random(n)
    times = [rng.uniform(1e-6, 5e-6) for _ in range(n)]
    m = _measurement(times, number=10)
    assert m.times == pytest.approx(times, rel=1e-15)
    assert m.mean == pytest.approx(statistics.fmean(times), rel=1e-12)
    assert m.median == pytest.approx(statistics.median(times), rel=1e-12)
    if n >= 2:
        q = statistics.quantiles(times, n=4, method="inclusive")
        assert m.iqr == pytest.approx(q[2] - q[0], rel=1e-9, abs=1e-18)
    else:
        assert m.iqr == 0.0


def test_significant_figures_by_hand():
    # Middle half of 8 times: 4 values of population sd 0.1118 us; CI = 1.645 sd / 2
    # = 91.96 ns; median 100.45 us; log10(1092) = 3.04 -> 3 figures.
    times = [100e-6 + i * 0.1e-6 for i in range(1, 9)]
    assert _measurement(times).significant_figures == 3
    # Spread comparable to the median: 1 figure (the minimum).
    assert _measurement([i * 1e-6 for i in range(1, 9)]).significant_figures == 1
    # No spread: the CI floor of 25 ns gives log10(3e-3 / 25e-9) = 5.08 -> capped at 4.
    assert _measurement([3e-3] * 4).significant_figures == 4


def test_measurement_repr_layout():
    m = _measurement([1e-6, 2e-6, 3e-6, 4e-6], label="add", sub_label="float", description="n=1")
    lines = repr(m).split("\n")
    assert lines[0].startswith("<rtorch.utils.benchmark.utils.common.Measurement object at")
    assert lines[1:] == [
        "add: float",
        "n=1",
        "  Median: 2.50 us",
        "  IQR:    1.50 us (1.75 to 3.25)",
        "  4 measurements, 100 runs per measurement, 1 thread",
        "  WARNING: Interquartile range is 60.0% of the median measurement.",
        "           This suggests significant environmental influence.",
    ]
    assert m.has_warnings
    one = _measurement([3e-3], number=7, setup="a = 1\nb = 2", num_threads=4)
    assert repr(one).split("\n")[1:] == [
        "x + y",
        "setup:",
        "  a = 1",
        "  b = 2",
        "",
        "  3.00 ms",
        "  1 measurement, 7 runs , 4 threads",
    ]
    # IQR 1.5 us of a median of 11.5 us: 13%, between the two thresholds.
    mild = _measurement([10e-6, 10.5e-6, 11.5e-6, 12e-6, 12.5e-6])
    assert "This could indicate system fluctuation." in repr(mild)
    assert not _measurement([1e-6] * 5).has_warnings


def test_measurement_task_fields_and_merge():
    m = _measurement([1e-6, 2e-6], label="L", sub_label="S", description="D", num_threads=2)
    assert (m.label, m.sub_label, m.description, m.num_threads, m.stmt) == (
        "L",
        "S",
        "D",
        2,
        "x + y",
    )
    assert m.title == "L: S"
    assert m.as_row_name == "S"
    with pytest.raises(AttributeError):
        _ = m.no_such_field
    a = _measurement([1e-6, 2e-6], number=10)
    b = _measurement([3e-6], number=5)
    c = _measurement([9e-6], stmt="other")
    merged = Measurement.merge([a, b, c])
    assert len(merged) == 2
    assert merged[0].number_per_run == 1
    assert merged[0].times == pytest.approx([1e-6, 2e-6, 3e-6])
    assert merged[1].times == pytest.approx([9e-6])


def test_unit_helpers():
    assert benchmark.select_unit(2.5e-8) == ("ns", 1e-9)
    assert benchmark.select_unit(2.5e-5) == ("us", 1e-6)
    assert benchmark.select_unit(2.5e-2) == ("ms", 1e-3)
    assert benchmark.select_unit(3.0) == ("s", 1)
    assert benchmark.select_unit(3e-10) == ("s", 1)  # PyTorch's fallback
    assert benchmark.unit_to_english("us") == "microsecond"
    assert benchmark.trim_sigfig(3.14159, 2) == pytest.approx(3.1)
    assert benchmark.trim_sigfig(1234.5, 2) == pytest.approx(1200.0)
    assert benchmark.ordered_unique([3, 1, 3, 2, 1]) == [3, 1, 2]


# ---------------------------------------------------------------------- Compare


def _cells(text: str) -> dict[str, list[str]]:
    """Row name -> cell texts of a rendered table (ANSI codes removed)."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    rows = {}
    for line in plain.split("\n"):
        if "|" in line and line.strip().split("|")[0].strip():
            name, *cells = (c.strip() for c in line.split("|"))
            rows.setdefault(name, []).append(cells)
    return rows


def test_compare_table_layout():
    ms = [
        _measurement([1e-6] * 4, label="add", sub_label="float", description="n=1"),
        _measurement([12.5e-6] * 4, label="add", sub_label="float", description="n=10"),
        _measurement([2.2e-6] * 4, label="add", sub_label="double", description="n=1"),
        _measurement(
            [1.5e-6] * 4, label="add", sub_label="float", description="n=1", num_threads=4
        ),
        _measurement([3e-3] * 4, label="mul", sub_label="float", description="n=1"),
    ]
    text = str(Compare(ms))
    add, mul = text.split("\n\n[")[0], text.split("\n\n[")[1]
    assert add.split("\n")[0].startswith("[") and " add " in add.split("\n")[0]
    assert "1 threads: " in add and "4 threads: " in add
    assert add.index("1 threads") < add.index("4 threads")
    assert "Times are in microseconds (us)." in add
    assert "Times are in milliseconds (ms)." in mul
    header = add.split("\n")[1]
    assert [h.strip() for h in header.split("|")[1:]] == ["n=1", "n=10"]
    rows = _cells(add)
    assert rows["float"] == [["1.0", "12.5"], ["1.5", ""]]
    assert rows["double"] == [["2.2", ""]]
    assert _cells(mul)["float"] == [["3.0"]]
    # Every line of a table has the header's width (cells are aligned).
    body = [ln for ln in add.split("\n") if "|" in ln]
    assert len({len(ln) for ln in body[1:]}) == 1
    assert len(body[1]) >= len(body[0])


def test_compare_trim_highlight_colorize():
    noisy = _measurement([25e-6, 26e-6, 40e-6, 25.5e-6], sub_label="b", description="d")
    fast = _measurement([10e-6] * 4, sub_label="a", description="d")
    c = Compare([fast, noisy])
    c.trim_significant_figures()
    c.highlight_warnings()
    c.colorize()
    text = str(c)
    rows = _cells(text)
    # Exact 10 us: the 25 ns confidence floor leaves log10(400) -> 2 figures; the noisy
    # one (median 25.75 us, IQR 16%) has 1 figure: 30.
    assert rows["a"] == [["10"]]
    assert rows["b"] == [["30 (! 16%)"]]
    assert "(! XX%) Measurement has high variance" in text
    assert "\x1b[92m\x1b[1m" in text  # the fastest cell is marked
    assert "\x1b[2m\x1b[91m" in text  # the 2.6x slower one is faint red
    with pytest.raises(ValueError, match="Expected an instance of `Measurement`"):
        Compare([1])


# ---------------------------------------------------------------------- parity


def test_measurement_summaries_match_pytorch(torch_ref):
    tb = importlib.import_module("torch.utils.benchmark")
    t_common = importlib.import_module("torch.utils.benchmark.utils.common")
    rng = random.Random(7)
    cases = [[1.234e-6, 1.3e-6, 1.25e-6, 1.26e-6], [2e-3], [5e-6, 9e-6], [3e-3] * 6]
    cases += [[rng.lognormvariate(-12, s) for _ in range(n)] for n, s in [(9, 0.05), (30, 0.5)]]
    specs = [
        {"label": "add", "sub_label": "float", "description": "n=1"},
        {"stmt": "a = 1\nb = 2", "sub_label": "s"},
        {"setup": "x = 1", "num_threads": 3},
        {},
        {"description": "multi\nline"},
        {"label": "L"},
    ]
    for times, spec in zip(cases, specs, strict=True):
        ours = _measurement(times, number=10, **spec)
        full = {"stmt": "x + y", "setup": "pass", **spec}
        ref = tb.Measurement(10, [t * 10 for t in times], t_common.TaskSpec(**full))
        assert repr(ours).split("\n")[1:] == repr(ref).split("\n")[1:]
        assert ours.median == pytest.approx(ref.median, rel=1e-12)
        assert ours.mean == pytest.approx(ref.mean, rel=1e-12)
        assert ours.iqr == pytest.approx(ref.iqr, rel=1e-9, abs=1e-18)
        assert ours.significant_figures == ref.significant_figures
        assert ours.has_warnings == ref.has_warnings
        assert benchmark.select_unit(ours.median)[0] == tb.select_unit(ref.median)[0]
