"""The hyper-parameters of every prior family and GAN loss, and their defaults, written once.

The builders of :mod:`models.priors` and :mod:`models.losses` take their signatures' defaults from these
dataclasses, the typed schema (:mod:`experiments.schema`) validates against them, and the ``prior`` and
``loss`` config groups are generated from them (:func:`experiments.cli.load_config`). Imports no JAX
(configs are validated before ``jax.distributed`` starts).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class NormalSpec:
    """``N(0, scale^2)`` per weight; kernels ``N(0, scale^2 / fan_in)`` with ``fan_in_scaling``."""

    name: str = "normal"
    scale: float = 1.0
    fan_in_scaling: bool = True


@dataclass
class LaplaceSpec(NormalSpec):
    """``Laplace(0, b)`` per weight with ``b = scale / sqrt(2)`` (the same standard deviation)."""

    name: str = "laplace"


@dataclass
class StudentTSpec(NormalSpec):
    """``StudentT(df, 0, scale)`` per weight (heavy tails)."""

    name: str = "student_t"
    df: float = 3.0


@dataclass
class HierarchicalSpec(NormalSpec):
    """Neal's (1996) hierarchical Gaussian: a Gamma(concentration, ...) precision per weight tensor."""

    name: str = "hierarchical"
    concentration: float = 2.0   # Gamma shape; smaller is vaguer


PRIOR_SPECS = {s.name: s for s in (NormalSpec, LaplaceSpec, StudentTSpec, HierarchicalSpec)}


@dataclass
class LossConfig:
    """A loss without hyper-parameters (``non_saturating``, ``minimax``)."""

    name: str = "non_saturating"


@dataclass
class WassersteinConfig:
    """WGAN with weight clipping (Arjovsky et al. 2017)."""

    name: str = "wasserstein"
    clip: float = 0.01


@dataclass
class WassersteinGPConfig:
    """WGAN-GP (Gulrajani et al. 2017)."""

    name: str = "wasserstein_gp"
    penalty_weight: float = 10.0


LOSS_SCHEMAS = {"non_saturating": LossConfig, "minimax": LossConfig, "wasserstein": WassersteinConfig,
                "wasserstein_gp": WassersteinGPConfig}
