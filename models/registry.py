"""The one lookup shared by every registry (``PRIORS``, ``LOSSES``, ``INFERENCE``, ``DATASETS``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


def lookup(registry: Mapping[str, T], kind: str, name: str) -> T:
    """``registry[name]``.

    Raises
    ------
    KeyError
        If ``name`` is not registered: ``unknown <kind> 'name'; valid: a, b, c``.
    """
    if name not in registry:
        raise KeyError(f"unknown {kind} {name!r}; valid: {', '.join(sorted(registry))}")
    return registry[name]

