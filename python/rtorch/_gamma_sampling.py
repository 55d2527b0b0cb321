"""Samplers behind rtorch.distributions' gamma family: ``torch._standard_gamma``, its reparameterised gradient ``_standard_gamma_grad``, ``_sample_dirichlet``, ``_dirichlet_grad`` and ``torch.binomial``."""

from __future__ import annotations

from typing import Any

FUNCTIONS: dict[str, Any] = {}
METHODS: dict[str, Any] = {}
