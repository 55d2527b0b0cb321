"""``rtorch.random``: the default generator's seeding and state, and ``fork_rng``."""

from __future__ import annotations

import contextlib
import copyreg
from collections.abc import Iterator
from typing import Any

from . import _C

__all__ = [
    "default_generator",
    "fork_rng",
    "get_rng_state",
    "initial_seed",
    "manual_seed",
    "seed",
    "set_rng_state",
]

default_generator = _C.default_generator
manual_seed = _C.manual_seed
seed = _C.seed
initial_seed = _C.initial_seed
get_rng_state = _C.get_rng_state
set_rng_state = _C.set_rng_state


def _generator_from_state(device: str, state: Any) -> Any:
    """A new ``Generator`` on ``device`` holding ``state`` (how generators unpickle)."""
    generator = _C.Generator(device)
    generator.set_state(state)
    return generator


def _reduce_generator(generator: Any) -> tuple:
    return _generator_from_state, (str(generator.device), generator.get_state())


# Generators pickle and deep-copy as PyTorch's do: a new generator in the same state
# (registered with copyreg: the class itself is defined in the extension).
copyreg.pickle(_C.Generator, _reduce_generator)


def _clone_state(self: Any) -> Any:
    """A new generator holding a copy of this one's state (``Generator.clone_state``)."""
    return _generator_from_state(str(self.device), self.get_state())


def _no_offset(self: Any, *args: Any) -> None:
    raise RuntimeError("CPU Generator does not use offset")


def _no_graphsafe(name: str) -> Any:
    def method(self: Any, *args: Any) -> None:
        raise NotImplementedError(f"{name} is not supported in this Generator")

    return method


# The rest of torch.Generator's methods (the class is the extension's): the CPU
# generator has no Philox offset and no CUDA-graph state, as PyTorch's CPU generator.
_C.Generator.clone_state = _clone_state
_C.Generator.get_offset = _no_offset
_C.Generator.set_offset = _no_offset
_C.Generator.graphsafe_get_state = _no_graphsafe("graphsafe_get_state")
_C.Generator.graphsafe_set_state = _no_graphsafe("graphsafe_set_state")


@contextlib.contextmanager
def fork_rng(
    devices: Any = None,
    enabled: bool = True,
    _caller: str = "fork_rng",
    _devices_kw: str = "devices",
    device_type: str | None = None,
) -> Iterator[None]:
    """Forks the RNG: on exit, the default generator's state is reset to what it was on
    entry (rtorch has only the CPU generator; ``devices`` must name no accelerator)."""
    if not enabled:
        yield
        return
    state = _C.get_rng_state()
    try:
        yield
    finally:
        _C.set_rng_state(state)
