"""The low-level ``torch.*`` entry points of nn functions (``torch.kl_div``, ``torch.lstm_cell``, ``torch.native_layer_norm`` …), which PyTorch programs sometimes call directly."""

from __future__ import annotations

from typing import Any

FUNCTIONS: dict[str, Any] = {}
METHODS: dict[str, Any] = {}
