"""Tensor methods and flags a PyTorch program can reach that the core does not provide: ``apply_``/``map_``/``map2_``, ``as_strided_scatter``, the ``is_<device>`` flags …"""

from __future__ import annotations

from typing import Any

FUNCTIONS: dict[str, Any] = {}
METHODS: dict[str, Any] = {}
