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

from models.registry import lookup

PriorFn = Callable[[str, tuple[int, ...]], dist.Distribution]


def _per_weight_scale(name: str, shape: tuple[int, ...], scale: float, fan_in_scaling: bool) -> float:
    """``scale``, divided by ``sqrt(fan_in)`` for a kernel of shape ``(..., fan_in, fan_out)`` if asked."""
    if fan_in_scaling and name.endswith("kernel") and len(shape) >= 2:
        return scale / math.sqrt(math.prod(shape[:-1]))
    return scale


def _check_scale(scale: float) -> None:
    if not scale > 0:
        raise ValueError(f"prior.scale must be > 0, got {scale}")


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
    _check_scale(scale)
    return lambda name, shape: dist.Normal(0.0, _per_weight_scale(name, shape, scale, fan_in_scaling))


def laplace(scale: float = 1.0, fan_in_scaling: bool = True) -> PriorFn:
    """Laplace prior ``Laplace(0, b)`` per weight (sparsity-inducing; the Bayesian lasso's prior).

    ``b = scale`` (``scale / sqrt(fan_in)`` for kernels with ``fan_in_scaling``); the standard deviation
    is ``sqrt(2) b``.

    Raises
    ------
    ValueError
        If ``scale`` is not positive.
    """
    _check_scale(scale)
    return lambda name, shape: dist.Laplace(0.0, _per_weight_scale(name, shape, scale, fan_in_scaling))


def student_t(scale: float = 1.0, fan_in_scaling: bool = True, df: float = 3.0) -> PriorFn:
    """Student-t prior ``StudentT(df, 0, s)`` per weight (heavy tails; Fortuin et al. 2022 find such
    priors fit trained-network weights better than Gaussians).

    ``s = scale`` (``scale / sqrt(fan_in)`` for kernels with ``fan_in_scaling``), ``df`` > 0 degrees
    of freedom.

    Raises
    ------
    ValueError
        If ``scale`` or ``df`` is not positive.
    """
    _check_scale(scale)
    if not df > 0:
        raise ValueError(f"prior.df must be > 0, got {df}")
    return lambda name, shape: dist.StudentT(df, 0.0, _per_weight_scale(name, shape, scale, fan_in_scaling))


PRIORS: dict[str, Callable[..., PriorFn]] = {"normal": normal, "laplace": laplace, "student_t": student_t}


def build_prior(name: str, **hyper) -> PriorFn:
    """Look ``name`` up in :data:`PRIORS` and build it with ``hyper``.

    Raises
    ------
    KeyError
        If ``name`` is not registered; the message lists the valid names.
    """
    return lookup(PRIORS, "prior", name)(**hyper)
