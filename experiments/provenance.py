"""Where a run ran, recorded in its ``metrics.json`` (``provenance``) so that a table built from run directories
(``bgan-summarize``, ``bgan-summarize --findings``) can say which code, CPU and device its figures come from."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import jax

#: The repository root of this checkout (the parent of the ``experiments`` package).
ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def commit() -> str | None:
    """The checkout's commit (12 hex digits), ``+dirty`` where tracked files differ from it; ``None`` outside a
    git checkout (an installed wheel) or without git."""
    head = _git("rev-parse", "--short=12", "HEAD")
    if not head:
        return None
    return head + ("+dirty" if _git("status", "--porcelain", "--untracked-files=no") else "")


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else :func:`platform.processor`)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def provenance() -> dict:
    """A run's provenance: ``commit`` (:func:`commit`), ``cpu`` (:func:`cpu_model`), ``cpu_count``
    (:func:`os.cpu_count`), ``device`` (the JAX backend's first device kind, e.g. ``cpu`` or ``NVIDIA H100``),
    ``jax`` (its version) and ``xla_flags`` (the ``XLA_FLAGS`` environment variable, which sets the threads,
    or ``None``). Other runs sharing the cores are not visible from inside a run: the scripts say so."""
    return {"commit": commit(), "cpu": cpu_model(), "cpu_count": os.cpu_count(),
            "device": jax.devices()[0].device_kind, "jax": jax.__version__,
            "xla_flags": os.environ.get("XLA_FLAGS") or None}
