"""Which entries ``torch.topk`` returns among ties, on the CPU.

PyTorch's CPU ``topk`` selects with libstdc++'s algorithms: ``std::partial_sort`` (a heap
selection) when ``k * 64 <= n``, ``std::nth_element`` (introselect) otherwise. Among equal
values, the entries that end up in the first ``k`` places depend on those algorithms' swaps.
Pruning keeps or drops entries by that choice (``L1Unstructured`` on a tensor of ones, say),
so the same masks as PyTorch need the same selection: this module replays it on a list of
values. Only the *set* of selected indices is used, so the final sorting PyTorch does is
left out. The values compare as (value, NaN-aware) keys, as ATen's comparators.
"""

from __future__ import annotations

from collections.abc import Callable

_Item = tuple[float, int]
_Comp = Callable[[float, float], bool]


def _make_comp(largest: bool) -> Callable[[float, float], bool]:
    """ATen's topk comparators: NaN counts as the largest value."""
    if largest:

        def comp(a: float, b: float) -> bool:
            return (a != a and b == b) or a > b  # noqa: PLR0124 (NaN tests)

    else:

        def comp(a: float, b: float) -> bool:
            return (b != b and a == a) or a < b  # noqa: PLR0124 (NaN tests)

    return comp


def _adjust_heap(
    v: list[_Item], first: int, hole: int, length: int, value: _Item, comp: _Comp
) -> None:
    """libstdc++'s ``__adjust_heap`` followed by ``__push_heap``."""
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if comp(v[first + child][0], v[first + child - 1][0]):
            child -= 1
        v[first + hole] = v[first + child]
        hole = child
    if (length & 1) == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        v[first + hole] = v[first + child - 1]
        hole = child - 1
    # push_heap
    parent = (hole - 1) // 2
    while hole > top and comp(v[first + parent][0], value[0]):
        v[first + hole] = v[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    v[first + hole] = value


def _make_heap(v: list[_Item], first: int, last: int, comp: _Comp) -> None:
    """libstdc++'s ``__make_heap`` on ``v[first:last]``."""
    length = last - first
    if length < 2:
        return
    parent = (length - 2) // 2
    while True:
        _adjust_heap(v, first, parent, length, v[first + parent], comp)
        if parent == 0:
            return
        parent -= 1


def _heap_select(v: list[_Item], first: int, middle: int, last: int, comp: _Comp) -> None:
    """libstdc++'s ``__heap_select``: the ``middle - first`` extreme items to the front."""
    _make_heap(v, first, middle, comp)
    for i in range(middle, last):
        if comp(v[i][0], v[first][0]):
            value = v[i]
            v[i] = v[first]
            _adjust_heap(v, first, 0, middle - first, value, comp)


def _insertion_sort(v: list[_Item], first: int, last: int, comp: _Comp) -> None:
    """libstdc++'s ``__insertion_sort`` (with ``__unguarded_linear_insert``)."""
    if first == last:
        return
    for i in range(first + 1, last):
        val = v[i]
        if comp(val[0], v[first][0]):
            v[first + 1 : i + 1] = v[first:i]
            v[first] = val
        else:
            j = i
            while comp(val[0], v[j - 1][0]):
                v[j] = v[j - 1]
                j -= 1
            v[j] = val


def _move_median_to_first(v: list[_Item], result: int, a: int, b: int, c: int, comp: _Comp) -> None:
    """libstdc++'s ``__move_median_to_first``: the pivot to ``result``."""
    if comp(v[a][0], v[b][0]):
        if comp(v[b][0], v[c][0]):
            s = b
        elif comp(v[a][0], v[c][0]):
            s = c
        else:
            s = a
    elif comp(v[a][0], v[c][0]):
        s = a
    elif comp(v[b][0], v[c][0]):
        s = c
    else:
        s = b
    v[result], v[s] = v[s], v[result]


def _unguarded_partition(v: list[_Item], first: int, last: int, pivot: int, comp: _Comp) -> int:
    """libstdc++'s ``__unguarded_partition`` around ``v[pivot]``."""
    p = v[pivot][0]
    while True:
        while comp(v[first][0], p):
            first += 1
        last -= 1
        while comp(p, v[last][0]):
            last -= 1
        if not first < last:
            return first
        v[first], v[last] = v[last], v[first]
        first += 1


def _introselect(v: list[_Item], first: int, nth: int, last: int, comp: _Comp) -> None:
    """libstdc++'s ``__introselect`` (``std::nth_element``)."""
    depth = 2 * ((last - first).bit_length() - 1)
    while last - first > 3:
        if depth == 0:
            _heap_select(v, first, nth + 1, last, comp)
            v[first], v[nth] = v[nth], v[first]
            return
        depth -= 1
        mid = first + (last - first) // 2
        _move_median_to_first(v, first, first + 1, mid, last - 1, comp)
        cut = _unguarded_partition(v, first + 1, last, first, comp)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(v, first, last, comp)


def topk_indices(values: list[float], k: int, largest: bool) -> list[int]:
    """The indices (ascending) that PyTorch's CPU ``topk(values, k, largest=largest)`` returns."""
    n = len(values)
    v = [(x, i) for i, x in enumerate(values)]
    comp = _make_comp(largest)
    if k == 0:
        return []
    if k * 64 <= n:
        _heap_select(v, 0, k, n, comp)
    else:
        _introselect(v, 0, k - 1, n, comp)
    return sorted(i for _, i in v[:k])
