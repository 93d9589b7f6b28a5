"""Priors over network weights: the ``PRIORS`` registry.

A prior builder takes keyword hyper-parameters and returns a callable ``(name, shape) -> Distribution``,
the form ``numpyro.contrib.module.random_nnx_module`` accepts for its ``prior`` argument. ``name`` is the
parameter path inside the module (``layers.0.kernel``), ``shape`` the parameter's shape; the returned
distribution's ``batch_shape`` is broadcast to ``shape`` by numpyro.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpyro.distributions as dist

PriorFn = Callable[[str, tuple[int, ...]], dist.Distribution]


def normal(scale: float = 1.0, fan_in_scaling: bool = True) -> PriorFn:
    """Isotropic Gaussian prior ``N(0, s^2)`` per weight.

    Parameters
    ----------
    scale : float
        Prior standard deviation ``s`` (> 0), in the weight's own units.
    fan_in_scaling : bool
        If true, a kernel of shape ``(fan_in, fan_out)`` gets ``s / sqrt(fan_in)`` (the LeCun-style
        ``N(0, s^2 / fan_in)`` prior, which keeps pre-activations O(1) for draws from the prior);
        biases keep ``s``.

    Returns
    -------
    callable
        ``(name, shape) -> numpyro.distributions.Normal``.

    Raises
    ------
    ValueError
        If ``scale`` is not positive.
    """
    if not scale > 0:
        raise ValueError(f"prior.scale must be > 0, got {scale}")

    def prior(name: str, shape: tuple[int, ...]) -> dist.Distribution:
        s = scale
        if fan_in_scaling and name.endswith("kernel") and len(shape) >= 2:
            s = scale / math.sqrt(math.prod(shape[:-1]))
        return dist.Normal(0.0, s)

    return prior


PRIORS: dict[str, Callable[..., PriorFn]] = {"normal": normal}


def build_prior(name: str, **hyper) -> PriorFn:
    """Look ``name`` up in :data:`PRIORS` and build it with ``hyper``.

    Raises
    ------
    KeyError
        If ``name`` is not registered; the message lists the valid names.
    """
    if name not in PRIORS:
        raise KeyError(f"unknown prior {name!r}; valid: {', '.join(sorted(PRIORS))}")
    return PRIORS[name](**hyper)
