r"""Pytrees: nested containers flattened to a list of leaves and a :class:`TreeSpec`, as
``torch.utils._pytree``.

A pytree is a leaf or a registered container node whose children are pytrees. Built-in
nodes: ``tuple``, ``list``, ``dict`` (children in insertion order), ``OrderedDict``,
``defaultdict``, ``deque``, named tuples, ``rtorch.Size`` and the ``rtorch.return_types``
structseqs. Everything else (tensors, numbers, ``None``, strings …) is a leaf.
:func:`register_pytree_node` adds more node types.

The layout of :class:`TreeSpec` (``type``, ``context``, ``children_specs``), its ``repr``,
the error messages of mismatched structures and the JSON of :func:`treespec_dumps`
(protocol 1, with PyTorch's serialized type names such as ``"builtins.tuple"`` and
``"torch.Size"``) are PyTorch's, so specs dumped by either library load in the other.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import types
from collections import OrderedDict, defaultdict, deque, namedtuple
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from rtorch._size import Size
from rtorch.return_types import _StructSeq

__all__ = [
    "Context",
    "DumpableContext",
    "FlattenFunc",
    "FromDumpableContextFn",
    "LeafSpec",
    "PyTree",
    "ToDumpableContextFn",
    "TreeSpec",
    "UnflattenFunc",
    "is_namedtuple",
    "is_namedtuple_class",
    "is_namedtuple_instance",
    "register_pytree_node",
    "tree_all",
    "tree_all_only",
    "tree_any",
    "tree_any_only",
    "tree_flatten",
    "tree_is_leaf",
    "tree_iter",
    "tree_leaves",
    "tree_map",
    "tree_map_",
    "tree_map_only",
    "tree_map_only_",
    "tree_structure",
    "tree_unflatten",
    "treespec_dict",
    "treespec_dumps",
    "treespec_leaf",
    "treespec_loads",
    "treespec_pprint",
    "treespec_tuple",
]

PyTree = Any
Context = Any
DumpableContext = Any
FlattenFunc = Callable[[PyTree], tuple[list[Any], Context]]
UnflattenFunc = Callable[[Iterable[Any], Context], PyTree]
ToDumpableContextFn = Callable[[Context], DumpableContext]
FromDumpableContextFn = Callable[[DumpableContext], Context]

DEFAULT_TREESPEC_SERIALIZATION_PROTOCOL = 1
NO_SERIALIZED_TYPE_NAME_FOUND = "NO_SERIALIZED_TYPE_NAME_FOUND"


class NodeDef(NamedTuple):
    """How a node type flattens (``flatten_fn``) and rebuilds (``unflatten_fn``)."""

    type: Any
    flatten_fn: FlattenFunc
    unflatten_fn: UnflattenFunc
    flatten_with_keys_fn: Callable | None = None


class _SerializeNodeDef(NamedTuple):
    """How a node type's spec is written to / read from JSON."""

    typ: Any
    serialized_type_name: str
    to_dumpable_context: ToDumpableContextFn | None
    from_dumpable_context: FromDumpableContextFn | None


SUPPORTED_NODES: dict[Any, NodeDef] = {}
SUPPORTED_SERIALIZED_TYPES: dict[Any, _SerializeNodeDef] = {}
SERIALIZED_TYPE_TO_PYTHON_TYPE: dict[str, Any] = {}


def register_pytree_node(
    cls: type[Any],
    flatten_fn: FlattenFunc,
    unflatten_fn: UnflattenFunc,
    *,
    serialized_type_name: str | None = None,
    to_dumpable_context: ToDumpableContextFn | None = None,
    from_dumpable_context: FromDumpableContextFn | None = None,
    flatten_with_keys_fn: Callable | None = None,
) -> None:
    r"""Registers ``cls`` as a pytree node.

    Args:
        cls: the container type.
        flatten_fn: ``obj -> (children, context)``; the context must be comparable with
            ``==`` (structures match when their contexts are equal).
        unflatten_fn: ``(children, context) -> obj``.
        serialized_type_name: the name :func:`treespec_dumps` writes for ``cls`` (without
            it, specs holding ``cls`` cannot be dumped).
        to_dumpable_context / from_dumpable_context: the context to / from a JSON value
            (by default the context is written as is).
        flatten_with_keys_fn: accepted for PyTorch's signature; key paths are not supported.

    Raises:
        ValueError: if ``cls`` is already registered.
    """
    if cls in SUPPORTED_NODES:
        raise ValueError(f"{cls} is already registered as pytree node.")
    _register(
        cls,
        flatten_fn,
        unflatten_fn,
        serialized_type_name,
        to_dumpable_context,
        from_dumpable_context,
        flatten_with_keys_fn,
    )


def _register(
    cls: Any,
    flatten_fn: FlattenFunc,
    unflatten_fn: UnflattenFunc,
    serialized_type_name: str | None,
    to_dumpable_context: ToDumpableContextFn | None,
    from_dumpable_context: FromDumpableContextFn | None,
    flatten_with_keys_fn: Callable | None = None,
) -> None:
    if (to_dumpable_context is None) != (from_dumpable_context is None):
        raise ValueError(
            f"Both to_dumpable_context and from_dumpable_context for {cls} must be None or "
            "registered."
        )
    SUPPORTED_NODES[cls] = NodeDef(cls, flatten_fn, unflatten_fn, flatten_with_keys_fn)
    name = serialized_type_name or NO_SERIALIZED_TYPE_NAME_FOUND
    SUPPORTED_SERIALIZED_TYPES[cls] = _SerializeNodeDef(
        cls, name, to_dumpable_context, from_dumpable_context
    )
    SERIALIZED_TYPE_TO_PYTHON_TYPE[name] = cls


def _deregister_pytree_node(cls: Any) -> None:
    """Removes ``cls`` from the registry (PyTorch's private helper, used by tests)."""
    SUPPORTED_NODES.pop(cls, None)
    serialize = SUPPORTED_SERIALIZED_TYPES.pop(cls, None)
    if serialize is not None:
        SERIALIZED_TYPE_TO_PYTHON_TYPE.pop(serialize.serialized_type_name, None)


# ---------------------------------------------------------------------- named tuples


def is_namedtuple_class(cls: Any) -> bool:
    """Whether ``cls`` is a ``collections.namedtuple`` / ``typing.NamedTuple`` class."""
    return (
        isinstance(cls, type)
        and issubclass(cls, tuple)
        and isinstance(getattr(cls, "_fields", None), tuple)
        and all(type(f) is str for f in cls._fields)
        and callable(getattr(cls, "_make", None))
        and callable(getattr(cls, "_asdict", None))
    )


def is_namedtuple_instance(obj: Any) -> bool:
    """Whether ``obj`` is an instance of a named-tuple class."""
    return is_namedtuple_class(type(obj))


def is_namedtuple(obj: Any) -> bool:
    """Whether ``obj`` is a named-tuple class or instance."""
    return is_namedtuple_class(obj if isinstance(obj, type) else type(obj))


def _is_structseq_class(cls: Any) -> bool:
    """Whether ``cls`` is one of ``rtorch.return_types``' result classes."""
    return isinstance(cls, type) and issubclass(cls, _StructSeq)


# Named tuples registered for serialization (``_register_namedtuple``): class <-> name.
_NAMEDTUPLE_NAMES: dict[type, str] = {}


def _register_namedtuple(cls: type, *, serialized_type_name: str) -> None:
    """Lets specs holding the named tuple ``cls`` be dumped, under ``serialized_type_name``."""
    _NAMEDTUPLE_NAMES[cls] = serialized_type_name


def _namedtuple_serialize(context: type) -> str:
    if context not in _NAMEDTUPLE_NAMES:
        raise NotImplementedError(
            f"Can't serialize TreeSpec of namedtuple class {context} because we didn't "
            "register a serialized_type_name. Please register using `_register_namedtuple`."
        )
    return _NAMEDTUPLE_NAMES[context]


def _namedtuple_deserialize(dumpable: str) -> type:
    for cls, name in _NAMEDTUPLE_NAMES.items():
        if name == dumpable:
            return cls
    raise NotImplementedError(
        f"Can't deserialize TreeSpec of namedtuple class {dumpable} because we couldn't "
        "find a serialized name."
    )


# ---------------------------------------------------------------------- built-in nodes


def _defaultdict_serialize(context: list) -> dict:
    factory, keys = context
    return {
        "default_factory_module": factory.__module__,
        "default_factory_name": factory.__qualname__,
        "dict_context": keys,
    }


def _defaultdict_deserialize(dumpable: dict) -> list:
    module = importlib.import_module(dumpable["default_factory_module"])
    factory = getattr(module, dumpable["default_factory_name"])
    return [factory, dumpable["dict_context"]]


def _register_builtins() -> None:
    _register(tuple, lambda t: (list(t), None), lambda v, c: tuple(v), "builtins.tuple", None, None)
    _register(list, lambda t: (list(t), None), lambda v, c: list(v), "builtins.list", None, None)
    _register(
        dict,
        lambda d: (list(d.values()), list(d.keys())),
        lambda v, keys: dict(zip(keys, v, strict=True)),
        "builtins.dict",
        None,
        None,
    )
    _register(
        namedtuple,
        lambda t: (list(t), type(t)),
        lambda v, cls: cls(*v),
        "collections.namedtuple",
        _namedtuple_serialize,
        _namedtuple_deserialize,
    )
    _register(
        OrderedDict,
        lambda d: (list(d.values()), list(d.keys())),
        lambda v, keys: OrderedDict(zip(keys, v, strict=True)),
        "collections.OrderedDict",
        None,
        None,
    )
    _register(
        defaultdict,
        lambda d: (list(d.values()), [d.default_factory, list(d.keys())]),
        lambda v, c: defaultdict(c[0], zip(c[1], v, strict=True)),
        "collections.defaultdict",
        _defaultdict_serialize,
        _defaultdict_deserialize,
    )
    _register(
        deque,
        lambda d: (list(d), d.maxlen),
        lambda v, maxlen: deque(v, maxlen=maxlen),
        "collections.deque",
        None,
        None,
    )
    # PyTorch rebuilds a Size node as a plain tuple; kept for identical results.
    _register(Size, lambda s: (list(s), None), lambda v, c: tuple(v), "torch.Size", None, None)


_register_builtins()

BUILTIN_TYPES = frozenset({tuple, list, dict, namedtuple, OrderedDict, defaultdict, deque})
STANDARD_DICT_TYPES = frozenset({dict, OrderedDict, defaultdict})


def _get_node_type(tree: Any) -> Any:
    """The registry key of ``tree``: ``namedtuple`` for named tuples, else its type."""
    if is_namedtuple_instance(tree):
        return namedtuple
    return type(tree)


def _node_def(node_type: Any) -> NodeDef | None:
    """The node definition of a spec's type (structseq classes are handled generically)."""
    found = SUPPORTED_NODES.get(node_type)
    if found is None and _is_structseq_class(node_type):
        return NodeDef(node_type, lambda t: (list(t), None), lambda v, c: node_type(v))
    return found


def _is_leaf(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> bool:
    if is_leaf is not None and is_leaf(tree):
        return True
    node_type = _get_node_type(tree)
    return node_type not in SUPPORTED_NODES and not _is_structseq_class(node_type)


def tree_is_leaf(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> bool:
    """Whether ``tree`` is a leaf: not a registered node type, or ``is_leaf(tree)``.
    (An empty container is a node, not a leaf.)"""
    return _is_leaf(tree, is_leaf)


# ---------------------------------------------------------------------- TreeSpec


@dataclasses.dataclass(init=True, eq=False, repr=False)
class TreeSpec:
    r"""The structure of a pytree: a node's ``type``, its ``context`` (dict keys, a named
    tuple's class …) and the specs of its children. Leaves are :class:`LeafSpec`."""

    type: Any
    context: Context
    children_specs: list[TreeSpec]

    def __post_init__(self) -> None:
        self.num_children = len(self.children_specs)
        self.num_nodes = 1 + sum(c.num_nodes for c in self.children_specs)
        self.num_leaves = sum(c.num_leaves for c in self.children_specs)

    def is_leaf(self) -> bool:
        """Whether this spec stands for a single leaf."""
        return self.num_nodes == 1 and self.num_leaves == 1

    def children(self) -> list[TreeSpec]:
        """The children's specs (a new list)."""
        return list(self.children_specs)

    def child(self, index: int) -> TreeSpec:
        """The spec of child ``index``."""
        return self.children_specs[index]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TreeSpec):
            return NotImplemented
        return (
            self.is_leaf() == other.is_leaf()
            and self.type == other.type
            and self.context == other.context
            and self.children_specs == other.children_specs
        )

    def __hash__(self) -> int:
        return hash((self.type, _hashable(self.context), tuple(self.children_specs)))

    def __repr__(self, indent: int = 0) -> str:
        # Children after the first go on their own lines, indented by depth.
        name = getattr(self.type, "__name__", repr(self.type))
        prefix = f"TreeSpec({name}, {self.context}, ["
        body = ""
        if self.num_children > 0:
            indent += 2
            body = self.children_specs[0].__repr__(indent)
            body += "," if self.num_children > 1 else ""
            body += ",".join(
                "\n" + " " * indent + child.__repr__(indent) for child in self.children_specs[1:]
            )
        return f"{prefix}{body}])"

    def flatten_up_to(self, tree: PyTree) -> list[PyTree]:
        r"""The subtrees of ``tree`` at this spec's leaves (``tree`` must have this spec's
        structure down to them; a leaf of the spec takes a whole subtree)."""
        out: list[PyTree] = []
        self._flatten_up_to(tree, out)
        return out

    def _flatten_up_to(self, tree: PyTree, out: list[PyTree]) -> None:
        if self.is_leaf():
            out.append(tree)
            return
        node_type = _get_node_type(tree)
        if self.type not in BUILTIN_TYPES:
            if node_type != self.type:
                raise ValueError(f"Type mismatch; expected {self.type!r}, but got {node_type!r}.")
            children, context = _node_def(node_type).flatten_fn(tree)
            if len(children) != self.num_children:
                raise ValueError(
                    f"Node arity mismatch; expected {self.num_children}, but got {len(children)}."
                )
            if context != self.context:
                raise ValueError(f"Node context mismatch for custom node type {self.type!r}.")
        else:
            both_dicts = self.type in STANDARD_DICT_TYPES and node_type in STANDARD_DICT_TYPES
            if not both_dicts and node_type != self.type:
                raise ValueError(
                    f"Node type mismatch; expected {self.type!r}, but got {node_type!r}."
                )
            if len(tree) != self.num_children:
                raise ValueError(
                    f"Node arity mismatch; expected {self.num_children}, but got {len(tree)}."
                )
            if both_dicts:
                # Dicts of any standard kind match by keys, whatever their order.
                keys = self.context[1] if self.type is defaultdict else self.context
                expected, got = set(keys), set(tree)
                if expected != got:
                    raise ValueError(
                        f"Node keys mismatch; missing key(s): {expected - got}; "
                        f"extra key(s): {got - expected}."
                    )
                children = [tree[k] for k in keys]
            else:
                children, context = _node_def(node_type).flatten_fn(tree)
                if node_type is not deque and context != self.context:
                    raise ValueError(
                        f"Node context mismatch for node type {self.type!r}; expected "
                        f"{self.context!r}, but got {context!r}."
                    )
        for child, subtree in zip(self.children_specs, children, strict=True):
            child._flatten_up_to(subtree, out)

    def unflatten(self, leaves: Iterable[Any]) -> PyTree:
        """The pytree of this structure holding ``leaves`` (in flattening order)."""
        if not isinstance(leaves, (list, tuple)):
            leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(
                f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} but the spec "
                f"refers to a pytree that holds {self.num_leaves} items ({self})."
            )
        return self._unflatten(iter(leaves))

    def _unflatten(self, leaves: Iterator[Any]) -> PyTree:
        if self.is_leaf():
            return next(leaves)
        children = [c._unflatten(leaves) for c in self.children_specs]
        return _node_def(self.type).unflatten_fn(children, self.context)


class LeafSpec(TreeSpec):
    """The spec of a leaf (printed ``*``)."""

    def __init__(self) -> None:
        super().__init__(None, None, [])

    def __post_init__(self) -> None:
        self.num_children = 0
        self.num_nodes = 1
        self.num_leaves = 1

    def __repr__(self, indent: int = 0) -> str:
        return "*"


def _hashable(context: Any) -> Any:
    """Lists (dict keys) as tuples, so specs can be hashed."""
    if isinstance(context, list):
        return tuple(_hashable(c) for c in context)
    return context


_LEAF_SPEC = LeafSpec()


def treespec_leaf() -> LeafSpec:
    """The spec of a leaf."""
    return LeafSpec()


def treespec_tuple(iterable: Iterable[TreeSpec] = (), /) -> TreeSpec:
    """The spec of a tuple whose items have the given specs."""
    return TreeSpec(tuple, None, list(iterable))


def treespec_dict(mapping: Any = (), /, **kwargs: TreeSpec) -> TreeSpec:
    """The spec of a dict whose values have the given specs."""
    d = dict(mapping, **kwargs)
    return TreeSpec(dict, list(d.keys()), list(d.values()))


# ---------------------------------------------------------------------- flattening


def tree_flatten(
    tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None
) -> tuple[list[Any], TreeSpec]:
    r"""The leaves of ``tree`` (depth first, containers' children in order: dicts in
    insertion order) and its :class:`TreeSpec`.

    Args:
        tree: the pytree.
        is_leaf: a predicate; subtrees for which it is true are taken as leaves.
    """
    leaves: list[Any] = []
    return leaves, _flatten(tree, is_leaf, leaves)


def _flatten(tree: PyTree, is_leaf: Callable | None, leaves: list[Any]) -> TreeSpec:
    if _is_leaf(tree, is_leaf):
        leaves.append(tree)
        return _LEAF_SPEC
    node_type = _get_node_type(tree)
    children, context = _node_def(node_type).flatten_fn(tree)
    specs = [_flatten(c, is_leaf, leaves) for c in children]
    spec_type = type(tree) if _is_structseq_class(node_type) else node_type
    return TreeSpec(spec_type, context, specs)


def tree_unflatten(leaves: Iterable[Any], treespec: TreeSpec) -> PyTree:
    """The pytree of structure ``treespec`` holding ``leaves``."""
    if not isinstance(treespec, TreeSpec):
        raise TypeError(
            "Expected `treespec` to be an instance of PyTreeSpec but got item of type "
            f"{type(treespec)}."
        )
    return treespec.unflatten(leaves)


def tree_iter(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> Iterator[Any]:
    """The leaves of ``tree``, lazily, in flattening order."""
    if _is_leaf(tree, is_leaf):
        yield tree
        return
    children, _ = _node_def(_get_node_type(tree)).flatten_fn(tree)
    for child in children:
        yield from tree_iter(child, is_leaf)


def tree_leaves(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> list[Any]:
    """The leaves of ``tree`` in flattening order."""
    return list(tree_iter(tree, is_leaf))


def tree_structure(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> TreeSpec:
    """The :class:`TreeSpec` of ``tree``."""
    return tree_flatten(tree, is_leaf)[1]


# ---------------------------------------------------------------------- mapping


def tree_map(
    func: Callable[..., Any],
    tree: PyTree,
    *rests: PyTree,
    is_leaf: Callable[[PyTree], bool] | None = None,
) -> PyTree:
    r"""A pytree of ``tree``'s structure holding ``func(leaf, *matching subtrees of rests)``.

    Each of ``rests`` must have ``tree``'s structure down to ``tree``'s leaves (there it
    may hold whole subtrees); dicts match by key.

    Raises:
        ValueError: on a mismatched structure (node type, arity, keys or context).
    """
    treespec, flat_args = _mapped_args(tree, rests, is_leaf)
    return treespec.unflatten(map(func, *flat_args))


def tree_map_(
    func: Callable[..., Any],
    tree: PyTree,
    *rests: PyTree,
    is_leaf: Callable[[PyTree], bool] | None = None,
) -> PyTree:
    """Calls ``func`` on the leaves as :func:`tree_map` does, for its effects; returns
    ``tree`` itself."""
    _, flat_args = _mapped_args(tree, rests, is_leaf)
    deque(map(func, *flat_args), maxlen=0)
    return tree


def _mapped_args(
    tree: PyTree, rests: tuple[PyTree, ...], is_leaf: Callable[[PyTree], bool] | None
) -> tuple[TreeSpec, list[list[Any]]]:
    """``tree``'s spec, and the argument lists of the mapped function: ``tree``'s leaves,
    then each of ``rests`` cut at those leaves' places."""
    leaves, treespec = tree_flatten(tree, is_leaf=is_leaf)
    return treespec, [leaves] + [treespec.flatten_up_to(r) for r in rests]


TypeAny = type | tuple | types.UnionType


def _type_predicate(type_or_types_or_pred: Any) -> Callable[[Any], bool]:
    if isinstance(type_or_types_or_pred, (type, tuple, types.UnionType)):
        kinds = type_or_types_or_pred
        return lambda x: isinstance(x, kinds)
    if callable(type_or_types_or_pred):
        return type_or_types_or_pred
    raise TypeError("Argument must be a type, a tuple of types, or a callable.")


def map_only(type_or_types_or_pred: Any, /) -> Callable[[Callable], Callable]:
    """A decorator: the function applied only to values the type(s)/predicate accept, other
    values passed through."""
    pred = _type_predicate(type_or_types_or_pred)

    def wrapper(func: Callable) -> Callable:
        def wrapped(x: Any) -> Any:
            return func(x) if pred(x) else x

        wrapped.__wrapped__ = func  # type: ignore[attr-defined]
        return wrapped

    return wrapper


def tree_map_only(
    type_or_types_or_pred: Any,
    /,
    func: Callable[[Any], Any],
    tree: PyTree,
    is_leaf: Callable[[PyTree], bool] | None = None,
) -> PyTree:
    """:func:`tree_map` of ``func`` over the leaves of the given type(s) (or satisfying the
    predicate); other leaves are kept as they are."""
    return tree_map(map_only(type_or_types_or_pred)(func), tree, is_leaf=is_leaf)


def tree_map_only_(
    type_or_types_or_pred: Any,
    /,
    func: Callable[[Any], Any],
    tree: PyTree,
    is_leaf: Callable[[PyTree], bool] | None = None,
) -> PyTree:
    """:func:`tree_map_` restricted as :func:`tree_map_only`; returns ``tree``."""
    return tree_map_(map_only(type_or_types_or_pred)(func), tree, is_leaf=is_leaf)


def tree_all(
    pred: Callable[[Any], bool], tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None
) -> bool:
    """Whether ``pred`` holds for every leaf (true for a tree without leaves)."""
    return all(map(pred, tree_iter(tree, is_leaf)))


def tree_any(
    pred: Callable[[Any], bool], tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None
) -> bool:
    """Whether ``pred`` holds for some leaf."""
    return any(map(pred, tree_iter(tree, is_leaf)))


def tree_all_only(
    type_or_types: Any,
    /,
    pred: Callable[[Any], bool],
    tree: PyTree,
    is_leaf: Callable[[PyTree], bool] | None = None,
) -> bool:
    """Whether ``pred`` holds for every leaf of the given type(s)."""
    return all(pred(x) for x in tree_iter(tree, is_leaf) if isinstance(x, type_or_types))


def tree_any_only(
    type_or_types: Any,
    /,
    pred: Callable[[Any], bool],
    tree: PyTree,
    is_leaf: Callable[[PyTree], bool] | None = None,
) -> bool:
    """Whether ``pred`` holds for some leaf of the given type(s)."""
    return any(pred(x) for x in tree_iter(tree, is_leaf) if isinstance(x, type_or_types))


# ---------------------------------------------------------------------- serialization


def _serialize_entry(spec_type: Any) -> _SerializeNodeDef | None:
    found = SUPPORTED_SERIALIZED_TYPES.get(spec_type)
    if found is None and _is_structseq_class(spec_type):
        return _SerializeNodeDef(spec_type, f"torch.return_types.{spec_type.__name__}", None, None)
    return found


def _treespec_to_json(treespec: TreeSpec) -> dict:
    if treespec.is_leaf():
        return {"type": None, "context": None, "children_spec": []}
    entry = _serialize_entry(treespec.type)
    if entry is None or entry.serialized_type_name == NO_SERIALIZED_TYPE_NAME_FOUND:
        raise NotImplementedError(
            f"No registered serialization name for {treespec.type} found. Please update your "
            "_register_pytree_node call with a `serialized_type_name` kwarg."
        )
    if entry.to_dumpable_context is None:
        try:
            context = json.dumps(treespec.context)
        except TypeError as e:
            raise TypeError(
                "Unable to serialize context. Please make the context json dump-able, or "
                "register a custom serializer using _register_pytree_node."
            ) from e
    else:
        context = entry.to_dumpable_context(treespec.context)
    return {
        "type": entry.serialized_type_name,
        "context": context,
        "children_spec": [_treespec_to_json(c) for c in treespec.children_specs],
    }


def _json_to_treespec(data: dict) -> TreeSpec:
    if data["type"] is None and data["context"] is None and not data["children_spec"]:
        return LeafSpec()
    name = data["type"]
    if name not in SERIALIZED_TYPE_TO_PYTHON_TYPE:
        if name.startswith("torch.return_types."):
            import rtorch.return_types

            typ = getattr(rtorch.return_types, name.rsplit(".", 1)[1])
            entry = _serialize_entry(typ)
        else:
            raise NotImplementedError(
                f"Deserializing {name} in pytree is not registered.",
            )
    else:
        typ = SERIALIZED_TYPE_TO_PYTHON_TYPE[name]
        entry = SUPPORTED_SERIALIZED_TYPES[typ]
    if entry.from_dumpable_context is None:
        context = json.loads(data["context"])
    else:
        context = entry.from_dumpable_context(data["context"])
    children = [_json_to_treespec(c) for c in data["children_spec"]]
    return TreeSpec(typ, context, children)


_SUPPORTED_PROTOCOLS = {1: (_treespec_to_json, _json_to_treespec)}


def treespec_dumps(treespec: TreeSpec, protocol: int | None = None) -> str:
    r"""``treespec`` as a JSON string (PyTorch's format: ``[protocol, spec]``).

    Raises:
        NotImplementedError: for a node type registered without ``serialized_type_name``
            (or a named tuple not registered with ``_register_namedtuple``).
    """
    if not isinstance(treespec, TreeSpec):
        raise TypeError(
            "Expected `treespec` to be an instance of PyTreeSpec but got item of type "
            f"{type(treespec)}."
        )
    if protocol is None:
        protocol = DEFAULT_TREESPEC_SERIALIZATION_PROTOCOL
    if protocol not in _SUPPORTED_PROTOCOLS:
        raise ValueError(
            f"Unknown protocol {protocol}. Available protocols: {list(_SUPPORTED_PROTOCOLS)}"
        )
    return json.dumps((protocol, _SUPPORTED_PROTOCOLS[protocol][0](treespec)))


def treespec_loads(serialized: str) -> TreeSpec:
    """The :class:`TreeSpec` written by :func:`treespec_dumps`."""
    protocol, json_schema = json.loads(serialized)
    if protocol not in _SUPPORTED_PROTOCOLS:
        raise ValueError(
            f"Unknown protocol {protocol}. Available protocols: {list(_SUPPORTED_PROTOCOLS)}"
        )
    return _SUPPORTED_PROTOCOLS[protocol][1](json_schema)


class _DummyLeaf:
    def __repr__(self) -> str:
        return "*"


def treespec_pprint(treespec: TreeSpec) -> str:
    """The structure drawn as the pytree itself with ``*`` for each leaf."""
    dummy = treespec.unflatten([_DummyLeaf() for _ in range(treespec.num_leaves)])
    return repr(dummy)
