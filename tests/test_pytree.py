"""rtorch.utils._pytree: flattening order, round trips of the built-in nodes, TreeSpec
(repr, equality, counts), mapping over several trees and its mismatch errors, custom nodes,
JSON serialization, and PyTorch parity of leaves, specs and dumps."""

from __future__ import annotations

import importlib
import json
from collections import OrderedDict, defaultdict, deque, namedtuple

import numpy as np
import pytest
from conftest import to_np

import rtorch
from rtorch.utils import _pytree as pytree

Point = namedtuple("Point", "x y")


def _trees(torch_mod):
    """Sample trees built with ``torch_mod`` (rtorch or torch) for its Size."""
    return [
        1,
        None,
        "leaf",
        (),
        [],
        {},
        (1,),
        [1, (2, 3), [4, [5, [6]]]],
        {"b": (1, [2, 3]), "a": OrderedDict(z=4, y=5), "c": None},
        {1: "x", "a": 2, (3, 4): 3},
        Point(1, [2, 3]),
        deque([1, (2, 3)], maxlen=4),
        deque([1]),
        defaultdict(list, {2: 1, 1: [2, 3]}),
        torch_mod.Size([2, 3]),
        ((1,), {"x": [()]}),
        [[[]]],
    ]


# ---------------------------------------------------------------------- flattening


def test_leaves_in_depth_first_insertion_order():
    tree = {"b": (1, [2, 3]), "a": OrderedDict(z=4, y=5), "c": None}
    leaves, spec = pytree.tree_flatten(tree)
    # Dict children in insertion order (not sorted), None is a leaf.
    assert leaves == [1, 2, 3, 4, 5, None]
    assert spec.num_leaves == 6
    assert spec.num_nodes == 10  # 4 containers + 6 leaves
    assert spec.num_children == 3
    assert pytree.tree_leaves(tree) == leaves
    assert list(pytree.tree_iter(tree)) == leaves


@pytest.mark.parametrize("index", range(17))
def test_round_trip_keeps_types_and_values(index):
    tree = _trees(rtorch)[index]
    leaves, spec = pytree.tree_flatten(tree)
    rebuilt = pytree.tree_unflatten(leaves, spec)
    if isinstance(tree, rtorch.Size):
        # PyTorch rebuilds a Size node as a plain tuple.
        assert type(rebuilt) is tuple and rebuilt == tuple(tree)
        return
    assert type(rebuilt) is type(tree)
    assert rebuilt == tree
    if isinstance(tree, deque):
        assert rebuilt.maxlen == tree.maxlen
    if isinstance(tree, defaultdict):
        assert rebuilt.default_factory is list
    assert pytree.tree_structure(rebuilt) == spec


def test_tensors_and_structseqs_are_handled():
    x = rtorch.arange(6.0).reshape(2, 3)
    p = rtorch.nn.Parameter(rtorch.ones(2))
    res = rtorch.max(x, 1)
    tree = {"t": x, "p": [p], "res": res}
    leaves, spec = pytree.tree_flatten(tree)
    assert leaves[0] is x and leaves[1] is p
    assert len(leaves) == 4  # values and indices of the max
    out = pytree.tree_map(lambda t: t * 2, tree)
    assert type(out["res"]) is type(res)
    np.testing.assert_array_equal(to_np(out["res"].values), [4.0, 10.0])
    np.testing.assert_array_equal(to_np(out["t"]), np.arange(6.0).reshape(2, 3) * 2)
    assert spec.child(2).type is type(res)
    # Modules are leaves, not containers.
    assert pytree.tree_leaves([rtorch.nn.ParameterList([p])])[0].__class__.__name__ == (
        "ParameterList"
    )


def test_is_leaf_predicate_stops_descent():
    tree = (1, [2, {"a": 3}])
    assert pytree.tree_leaves(tree, is_leaf=lambda x: isinstance(x, list)) == [1, [2, {"a": 3}]]
    spec = pytree.tree_structure(tree, is_leaf=lambda x: isinstance(x, list))
    assert spec.num_leaves == 2
    assert pytree.tree_is_leaf(()) is False
    assert pytree.tree_is_leaf(1) is True
    assert pytree.tree_is_leaf((1,), is_leaf=lambda x: True) is True


def test_subclasses_of_builtin_containers_are_leaves():
    class MyList(list):
        pass

    assert pytree.tree_leaves([MyList([1, 2])]) == [MyList([1, 2])]


# ---------------------------------------------------------------------- TreeSpec


def test_treespec_repr_layout():
    spec = pytree.tree_structure({"b": (1, [2, 3]), "a": OrderedDict(z=4, y=5), "c": None})
    assert repr(spec) == (
        "TreeSpec(dict, ['b', 'a', 'c'], [TreeSpec(tuple, None, [*,\n"
        "    TreeSpec(list, None, [*,\n"
        "      *])]),\n"
        "  TreeSpec(OrderedDict, ['z', 'y'], [*,\n"
        "    *]),\n"
        "  *])"
    )
    assert str(spec) == repr(spec)
    assert repr(pytree.tree_structure(1)) == "*"
    assert repr(pytree.tree_structure(())) == "TreeSpec(tuple, None, [])"
    assert repr(pytree.tree_structure(Point(1, 2))) == (f"TreeSpec(namedtuple, {Point}, [*,\n  *])")
    assert repr(pytree.tree_structure(deque([1], maxlen=3))) == "TreeSpec(deque, 3, [*])"
    assert repr(pytree.tree_structure(rtorch.Size([4]))) == "TreeSpec(Size, None, [*])"
    assert pytree.treespec_pprint(pytree.tree_structure({"a": (1, 2)})) == "{'a': (*, *)}"


def test_treespec_equality_and_hash():
    s = pytree.tree_structure
    assert s((1, [2])) == s((5, [6]))
    assert hash(s((1, [2]))) == hash(s((5, [6])))
    assert s((1, 2)) != s([1, 2])
    # Key order is part of the structure.
    assert s({"a": 1, "b": 2}) != s({"b": 1, "a": 2})
    assert s(defaultdict(list, {2: 1})) != s({2: 1})
    assert s(Point(1, 2)) != s((1, 2))
    assert pytree.LeafSpec() == s(1)
    assert pytree.LeafSpec() != pytree.TreeSpec(None, None, [])
    assert pytree.treespec_tuple([pytree.treespec_leaf()] * 2) == s((1, 2))
    assert pytree.treespec_dict({"a": pytree.treespec_leaf()}) == s({"a": 0})
    assert s({"a": (1, 2)}).children() == [s((1, 2))]
    assert s(1).is_leaf() and not s(()).is_leaf()


# ---------------------------------------------------------------------- mapping


def test_tree_map_over_several_trees():
    out = pytree.tree_map(lambda a, b: a + b, (1, [2]), (10, [20]))
    assert out == (11, [22])
    # Dicts match by key, whatever the order; a leaf of the first tree takes a subtree.
    assert pytree.tree_map(lambda a, b: (a, b), {"a": 1, "b": 2}, {"b": 10, "a": 20}) == {
        "a": (1, 20),
        "b": (2, 10),
    }
    assert pytree.tree_map(lambda a, b: (a, b), (1, 2), ([1], {"x": 2})) == (
        (1, [1]),
        (2, {"x": 2}),
    )
    assert pytree.tree_map(lambda a, b: b, {"a": 1}, OrderedDict(a=5)) == {"a": 5}


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        ((1, 2), (1,), "Node arity mismatch; expected 2, but got 1."),
        ((1, 2), [1, 2], "Node type mismatch; expected <class 'tuple'>, but got <class 'list'>."),
        (
            {"a": 1, "b": 2},
            {"b": 1, "c": 2},
            "Node keys mismatch; missing key(s): {'a'}; extra key(s): {'c'}.",
        ),
        ({"a": 1}, {"a": 1, "b": 2}, "Node arity mismatch; expected 1, but got 2."),
        ([1], 1, "Node type mismatch; expected <class 'list'>, but got <class 'int'>."),
    ],
)
def test_tree_map_mismatch_errors(a, b, message):
    with pytest.raises(ValueError) as info:
        pytree.tree_map(lambda x, y: x, a, b)
    assert str(info.value) == message


def test_tree_map_namedtuple_and_size_mismatches():
    Other = namedtuple("Other", "x y")
    with pytest.raises(ValueError, match="Node context mismatch for node type"):
        pytree.tree_map(lambda x, y: x, Point(1, 2), Other(1, 2))
    with pytest.raises(ValueError, match=r"^Type mismatch; expected <class 'rtorch._size.Size'>"):
        pytree.tree_map(lambda x, y: x, rtorch.Size([1]), (2,))
    # deque maxlen and defaultdict factories are not compared (as PyTorch).
    pytree.tree_map(lambda x, y: x, deque([1], maxlen=2), deque([1], maxlen=3))
    pytree.tree_map(lambda x, y: x, defaultdict(list, a=1), defaultdict(int, a=2))


def test_tree_map_inplace_and_only_variants():
    seen = []
    tree = (5, [6, {"k": 7}])
    assert pytree.tree_map_(seen.append, tree) is tree
    assert seen == [5, 6, 7]
    mixed = (1, 2.0, [3, "a"])
    assert pytree.tree_map_only(int, lambda x: x * 10, mixed) == (10, 2.0, [30, "a"])
    assert pytree.tree_map_only((int, str), lambda x: x * 2, mixed) == (2, 2.0, [6, "aa"])
    assert pytree.tree_map_only(int | str, lambda x: x * 2, mixed) == (2, 2.0, [6, "aa"])
    assert pytree.tree_map_only(lambda x: isinstance(x, float), lambda x: -x, mixed) == (
        1,
        -2.0,
        [3, "a"],
    )
    got = []
    pytree.tree_map_only_(str, got.append, mixed)
    assert got == ["a"]


def test_tree_all_any():
    assert pytree.tree_all(lambda x: x > 0, (1, [2]))
    assert not pytree.tree_all(lambda x: x > 1, (1, [2]))
    assert pytree.tree_any(lambda x: x > 1, (1, [2]))
    assert pytree.tree_all(lambda x: False, ())
    assert not pytree.tree_any(lambda x: True, {})
    assert pytree.tree_all_only(int, lambda x: x > 0, (1, -2.0))
    assert not pytree.tree_any_only(float, lambda x: x > 0, (1, -2.0))


# ---------------------------------------------------------------------- custom nodes


class Box:
    def __init__(self, items, tag):
        self.items = items
        self.tag = tag

    def __eq__(self, other):
        return type(other) is Box and (self.items, self.tag) == (other.items, other.tag)


@pytest.fixture
def registered_box():
    pytree.register_pytree_node(
        Box,
        lambda b: (list(b.items), b.tag),
        lambda values, tag: Box(list(values), tag),
        serialized_type_name="tests.Box",
    )
    yield Box
    pytree._deregister_pytree_node(Box)


def test_custom_node(registered_box):
    tree = [Box([1, (2, 3)], "t")]
    leaves, spec = pytree.tree_flatten(tree)
    assert leaves == [1, 2, 3]
    assert repr(spec) == (
        "TreeSpec(list, None, [TreeSpec(Box, t, [*,\n    TreeSpec(tuple, None, [*,\n      *])])])"
    )
    assert pytree.tree_unflatten([4, 5, 6], spec) == [Box([4, (5, 6)], "t")]
    with pytest.raises(ValueError, match="is already registered as pytree node"):
        pytree.register_pytree_node(Box, lambda b: ([], None), lambda v, c: Box([], None))
    with pytest.raises(ValueError, match="Node context mismatch for custom node type"):
        pytree.tree_map(lambda a, b: a, Box([1], "x"), Box([1], "y"))
    with pytest.raises(ValueError, match="^Type mismatch; expected"):
        pytree.tree_map(lambda a, b: a, Box([1], "x"), (1,))
    loaded = pytree.treespec_loads(pytree.treespec_dumps(spec))
    assert loaded == spec


def test_unregistered_type_is_a_leaf():
    assert pytree.tree_leaves([Box([1], "t")])[0] == Box([1], "t")


# ---------------------------------------------------------------------- errors, JSON


def test_unflatten_errors():
    spec = pytree.tree_structure((1, [2]))
    with pytest.raises(ValueError) as info:
        pytree.tree_unflatten([1], spec)
    assert str(info.value) == (
        "treespec.unflatten(leaves): `leaves` has length 1 but the spec refers to a pytree "
        f"that holds 2 items ({spec})."
    )
    with pytest.raises(TypeError, match="Expected `treespec` to be an instance of PyTreeSpec"):
        pytree.tree_unflatten([1], 3)
    assert pytree.tree_unflatten(iter([7]), pytree.tree_structure(0)) == 7


def test_dumps_format_and_round_trip():
    spec = pytree.tree_structure({"a": (1, [2])})
    text = pytree.treespec_dumps(spec)
    leaf = {"type": None, "context": None, "children_spec": []}
    assert json.loads(text) == [
        1,
        {
            "type": "builtins.dict",
            "context": '["a"]',
            "children_spec": [
                {
                    "type": "builtins.tuple",
                    "context": "null",
                    "children_spec": [
                        leaf,
                        {"type": "builtins.list", "context": "null", "children_spec": [leaf]},
                    ],
                }
            ],
        },
    ]
    for tree in _trees(rtorch):
        if isinstance(tree, tuple) and type(tree) is Point:
            continue
        s = pytree.tree_structure(tree)
        if any(isinstance(k, tuple) for k in (tree.keys() if isinstance(tree, dict) else ())):
            continue  # JSON turns tuple keys into lists (as in PyTorch)
        assert pytree.treespec_loads(pytree.treespec_dumps(s)) == s
    res_spec = pytree.tree_structure(rtorch.max(rtorch.ones(2, 2), 0))
    assert pytree.treespec_loads(pytree.treespec_dumps(res_spec)) == res_spec


def test_dumps_errors():
    with pytest.raises(ValueError, match=r"Unknown protocol 7. Available protocols: \[1\]"):
        pytree.treespec_dumps(pytree.tree_structure(1), protocol=7)
    with pytest.raises(ValueError, match="Unknown protocol 9"):
        pytree.treespec_loads("[9, {}]")
    with pytest.raises(TypeError, match="Expected `treespec` to be an instance"):
        pytree.treespec_dumps(3)
    with pytest.raises(NotImplementedError, match="_register_namedtuple"):
        pytree.treespec_dumps(pytree.tree_structure(Point(1, 2)))

    class Anonymous:
        pass

    pytree.register_pytree_node(Anonymous, lambda a: ([], None), lambda v, c: Anonymous())
    try:
        with pytest.raises(NotImplementedError, match="No registered serialization name"):
            pytree.treespec_dumps(pytree.tree_structure(Anonymous()))
    finally:
        pytree._deregister_pytree_node(Anonymous)


def test_registered_namedtuple_serializes():
    Pair = namedtuple("Pair", "a b")
    pytree._register_namedtuple(Pair, serialized_type_name="tests.Pair")
    spec = pytree.tree_structure(Pair(1, 2))
    assert json.loads(pytree.treespec_dumps(spec))[1]["context"] == "tests.Pair"
    assert pytree.treespec_loads(pytree.treespec_dumps(spec)) == spec


# ---------------------------------------------------------------------- PyTorch parity


def test_leaves_specs_and_dumps_match_pytorch(torch_ref):
    torch = torch_ref
    tp = importlib.import_module("torch.utils._pytree")
    ours_trees = _trees(rtorch)
    ref_trees = _trees(torch)
    for ours, ref in zip(ours_trees, ref_trees, strict=True):
        leaves, spec = pytree.tree_flatten(ours)
        ref_leaves, ref_spec = tp.tree_flatten(ref)
        assert leaves == ref_leaves
        assert repr(spec) == repr(ref_spec)  # rtorch.Size prints as "Size" too
        assert (spec.num_nodes, spec.num_leaves, spec.num_children) == (
            ref_spec.num_nodes,
            ref_spec.num_leaves,
            ref_spec.num_children,
        )
        assert pytree.treespec_pprint(spec) == tp.treespec_pprint(ref_spec)
        if type(ours) is not Point:
            dumped = pytree.treespec_dumps(spec)
            assert dumped == tp.treespec_dumps(ref_spec)
            # A spec dumped by PyTorch loads here as it loads there (JSON turns tuple
            # keys into lists in both).
            assert repr(pytree.treespec_loads(dumped)) == repr(tp.treespec_loads(dumped))


def test_structseq_spec_matches_pytorch(torch_ref):
    torch = torch_ref
    tp = importlib.import_module("torch.utils._pytree")
    ours = pytree.tree_structure(rtorch.max(rtorch.ones(2, 2), 0))
    ref = tp.tree_structure(torch.max(torch.ones(2, 2), 0))
    assert repr(ours) == repr(ref)
    assert pytree.treespec_dumps(ours) == tp.treespec_dumps(ref)


def test_mismatch_messages_match_pytorch(torch_ref):
    tp = importlib.import_module("torch.utils._pytree")
    cases = [
        ((1, 2), (1,)),
        ((1, 2), [1, 2]),
        ({"a": 1, "b": 2}, {"b": 1, "c": 2}),
        ({"a": 1}, {"a": 1, "b": 2}),
        ([1], 1),
        ([1, (2, 3)], [1, [2, 3]]),
    ]
    for a, b in cases:
        with pytest.raises(ValueError) as ours:
            pytree.tree_map(lambda x, y: x, a, b)
        with pytest.raises(ValueError) as ref:
            tp.tree_map(lambda x, y: x, a, b)
        assert str(ours.value) == str(ref.value)
    assert pytree.tree_map(lambda x, y: (x, y), 1, [1]) == tp.tree_map(lambda x, y: (x, y), 1, [1])
