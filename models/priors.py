"""Priors over network weights: the ``PRIORS`` registry.

A prior builder takes keyword hyper-parameters and returns a callable ``(name, shape) -> Distribution``,
the form ``numpyro.contrib.module.random_nnx_module`` accepts for its ``prior`` argument. ``name`` is the
parameter path inside the module (``layers.0.kernel``), ``shape`` the parameter's shape; the returned
distribution's ``batch_shape`` is broadcast to ``shape`` by numpyro.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist

from models.config import HierarchicalSpec, LaplaceSpec, NormalSpec, StudentTSpec
from models.registry import lookup

PriorFn = Callable[[str, tuple[int, ...]], dist.Distribution]


def _per_weight_scale(name: str, shape: tuple[int, ...], scale: float, fan_in_scaling: bool) -> float:
    """``scale``, divided by ``sqrt(fan_in)`` for a kernel of shape ``(..., fan_in, fan_out)`` if asked."""
    if fan_in_scaling and name.endswith("kernel") and len(shape) >= 2:
        return scale / math.sqrt(math.prod(shape[:-1]))
    return scale


def normal(scale: float = NormalSpec.scale, fan_in_scaling: bool = NormalSpec.fan_in_scaling) -> PriorFn:
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
    NormalSpec(scale=scale, fan_in_scaling=fan_in_scaling).check()
    return lambda name, shape: dist.Normal(0.0, _per_weight_scale(name, shape, scale, fan_in_scaling))


def laplace(scale: float = LaplaceSpec.scale, fan_in_scaling: bool = LaplaceSpec.fan_in_scaling) -> PriorFn:
    """Laplace prior ``Laplace(0, b)`` per weight (sparsity-inducing; the Bayesian lasso's prior).

    ``b = scale`` (``scale / sqrt(fan_in)`` for kernels with ``fan_in_scaling``); the standard deviation
    is ``sqrt(2) b``.

    Raises
    ------
    ValueError
        If ``scale`` is not positive.
    """
    LaplaceSpec(scale=scale, fan_in_scaling=fan_in_scaling).check()
    return lambda name, shape: dist.Laplace(0.0, _per_weight_scale(name, shape, scale, fan_in_scaling))


class StudentTChi2(dist.StudentT):
    """``numpyro.distributions.StudentT`` for an integer ``df``, sampled exactly as
    ``z / sqrt(V / df)`` with ``z ~ N(0, 1)`` and ``V ~ chi2(df)`` a sum of ``df`` squared normals.

    Same ``log_prob``; the sampler avoids ``jax.random.gamma``, whose rejection loop costs about a minute of
    XLA compilation per run for the per-tensor prior draws that initialise the particles.
    """

    def sample(self, key, sample_shape=()):
        df = getattr(self, "_df_int", None)  # (absent if rebuilt from a pytree: then the gamma sampler)
        if df is None:
            return super().sample(key, sample_shape)
        k_z, k_v = jax.random.split(key)
        shape = sample_shape + self.batch_shape
        z = jax.random.normal(k_z, shape)
        v = jnp.sum(jax.random.normal(k_v, (df, *shape)) ** 2, axis=0)
        return self.loc + self.scale * z * jax.lax.rsqrt(v / df)

    def __init__(self, df: int, loc=0.0, scale=1.0, *, validate_args=None):
        super().__init__(float(df), loc, scale, validate_args=validate_args)
        self._df_int = int(df)


def student_t(scale: float = StudentTSpec.scale, fan_in_scaling: bool = StudentTSpec.fan_in_scaling,
              df: float = StudentTSpec.df) -> PriorFn:
    """Student-t prior ``StudentT(df, 0, s)`` per weight (heavy tails; Fortuin et al. 2022 find such
    priors fit trained-network weights better than Gaussians).

    ``s = scale`` (``scale / sqrt(fan_in)`` for kernels with ``fan_in_scaling``), ``df`` > 0 degrees
    of freedom.

    Raises
    ------
    ValueError
        If ``scale`` or ``df`` is not positive.
    """
    StudentTSpec(scale=scale, fan_in_scaling=fan_in_scaling, df=df).check()
    family = StudentTChi2 if float(df).is_integer() and df <= 30 else dist.StudentT
    return lambda name, shape: family(df, 0.0, _per_weight_scale(name, shape, scale, fan_in_scaling))


#: Suffix of the hyper-parameter sites a hierarchical prior adds next to a weight site.
PRECISION_SUFFIX = "_precision"


def hierarchical(scale: float = HierarchicalSpec.scale, fan_in_scaling: bool = HierarchicalSpec.fan_in_scaling,
                 concentration: float = HierarchicalSpec.concentration) -> PriorFn:
    """Hierarchical Gaussian prior: one precision per weight tensor with a Gamma hyperprior (Neal 1996,
    sec. 1.2; MacKay's automatic relevance determination groups weights the same way).

    For a weight tensor ``w`` (a layer's kernel, or its bias) with base scale ``s`` (``scale``, divided by
    ``sqrt(fan_in)`` for kernels when ``fan_in_scaling``)::

        tau ~ Gamma(concentration, rate = concentration * s^2)     # E[tau] = 1 / s^2
        w | tau ~ N(0, 1 / tau)                                    # every entry of the tensor

    ``tau`` is a sample site of its own, ``<weight site>_precision`` (e.g.
    ``generator__layers.0.kernel_precision``), sampled with the weights (on the log scale by SG-MCMC,
    exported on its natural scale). With ``concentration -> inf`` this is :func:`normal`.

    Parameters
    ----------
    scale : float
        ``s > 0``: the prior standard deviation at the hyperprior's mean precision.
    fan_in_scaling : bool
        As in :func:`normal`.
    concentration : float
        Gamma shape ``a > 0``; smaller is vaguer (the marginal of ``w`` is a Student-t with ``2a`` degrees
        of freedom and scale ``s``).

    Raises
    ------
    ValueError
        If ``scale`` or ``concentration`` is not positive.
    """
    HierarchicalSpec(scale=scale, fan_in_scaling=fan_in_scaling, concentration=concentration).check()

    def prior(name, shape):
        s = _per_weight_scale(name, shape, scale, fan_in_scaling)
        tau = numpyro.sample(name + PRECISION_SUFFIX, dist.Gamma(concentration, concentration * s**2))
        return dist.Normal(0.0, jax.lax.rsqrt(tau))

    return prior


def is_weight_site(name: str) -> bool:
    """True for a network weight site, false for a prior's hyper-parameter site."""
    return not name.endswith(PRECISION_SUFFIX)


def with_path_overrides(network: str, default: PriorFn, overrides: Sequence[tuple[str, PriorFn]] = ()) -> PriorFn:
    """One network's prior with per-parameter-path overrides.

    Parameters
    ----------
    network : str
        The network's site prefix (``"generator"`` or ``"discriminator"``).
    default : callable
        The prior of every parameter no pattern matches.
    overrides : sequence of (str, callable)
        ``(pattern, prior)`` pairs; ``pattern`` is an ``fnmatch`` glob on the full site name
        (``"generator__layers.2.*"``); the last matching pattern wins.

    Returns
    -------
    callable
        ``(name, shape) -> Distribution`` for ``random_nnx_module``.
    """
    overrides = tuple(overrides)

    def prior(name, shape):
        chosen = default
        for pattern, fn in overrides:
            if fnmatch.fnmatchcase(f"{network}__{name}", pattern):
                chosen = fn
        return chosen(name, shape)

    return prior


PRIORS: dict[str, Callable[..., PriorFn]] = {
    "normal": normal, "laplace": laplace, "student_t": student_t, "hierarchical": hierarchical,
}


def build_prior(name: str, **hyper) -> PriorFn:
    """Look ``name`` up in :data:`PRIORS` and build it with ``hyper``.

    Raises
    ------
    KeyError
        If ``name`` is not registered; the message lists the valid names.
    ValueError
        If a hyper-parameter is out of range.
    """
    return lookup(PRIORS, "prior", name)(**hyper)
