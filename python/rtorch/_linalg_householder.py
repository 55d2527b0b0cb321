"""Householder-based and low-rank linear algebra: ``geqrf``, ``orgqr``/``linalg.householder_product``, ``ormqr``, LDL, ``triangular_solve``, ``svd_lowrank``/``pca_lowrank`` and the legacy norms."""

from __future__ import annotations

from typing import Any

FUNCTIONS: dict[str, Any] = {}
METHODS: dict[str, Any] = {}
