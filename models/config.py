"""The hyper-parameters of every prior family and GAN loss, and their defaults, written once.

The builders of :mod:`models.priors` and :mod:`models.losses` take their signatures' defaults from these
dataclasses and call their ``check`` (the one range check per value), the typed schema (:mod:`experiments.schema`) validates against them, and the ``prior`` and
``loss`` config groups are generated from them (:func:`experiments.compose.load_config`). Imports no JAX
(configs are validated before ``jax.distributed`` starts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def require(cond: bool, key: str, what: str, value) -> None:
    """Raise ``ValueError("<key>=<value> is invalid: must be <what>")`` unless ``cond``."""
    if not cond:
        raise ValueError(f"{key}={value!r} is invalid: must be {what}")


@dataclass
class PackingConfig:
    """The key every ``network=`` option has (its config dataclass derives from this one): PacGAN's packing
    (Lin et al. 2018), the discriminator scoring ``pack`` samples concatenated (``models.layers.pack_samples``;
    the likelihood's ``N`` becomes ``N / pack`` groups, docs/design.md)."""

    pack: int = 1

    def check_pack(self) -> None:
        require(isinstance(self.pack, int) and not isinstance(self.pack, bool) and self.pack >= 1, "network.pack",
                "an integer >= 1 (1: no packing)", self.pack)


def require_widths(config, *keys: str) -> None:
    """:func:`require` each of ``config``'s ``keys`` (a network's hidden widths) to be a non-empty list of
    integers >= 1, named ``network.<key>``."""
    for key in keys:
        sizes = list(getattr(config, key))
        require(len(sizes) > 0 and all(s >= 1 for s in sizes), f"network.{key}", "a non-empty list of integers >= 1",
                sizes)


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


@dataclass
class NormalSpec:
    """``N(0, scale^2)`` per weight; kernels ``N(0, scale^2 / fan_in)`` with ``fan_in_scaling``."""

    name: str = "normal"
    scale: float = 1.0
    fan_in_scaling: bool = True

    def check(self, where: str = "prior") -> None:
        """The one range check of every key (the builders and the config schema call it).

        Raises
        ------
        ValueError
            Naming ``<where>.<key>`` and what is valid.
        """
        require(_positive(self.scale), f"{where}.scale", "> 0 and finite", self.scale)


@dataclass
class LaplaceSpec(NormalSpec):
    """``Laplace(0, b)`` per weight with ``b = scale / sqrt(2)`` (the same standard deviation)."""

    name: str = "laplace"


@dataclass
class StudentTSpec(NormalSpec):
    """``StudentT(df, 0, scale)`` per weight (heavy tails)."""

    name: str = "student_t"
    df: float = 3.0

    def check(self, where: str = "prior") -> None:
        super().check(where)
        require(_positive(self.df), f"{where}.df", "> 0 and finite", self.df)


@dataclass
class HierarchicalSpec(NormalSpec):
    """Neal's (1996) hierarchical Gaussian: a Gamma(concentration, ...) precision per weight tensor."""

    name: str = "hierarchical"
    concentration: float = 2.0   # Gamma shape; smaller is vaguer

    def check(self, where: str = "prior") -> None:
        super().check(where)
        require(_positive(self.concentration), f"{where}.concentration", "> 0 and finite", self.concentration)


PRIOR_SPECS = {s.name: s for s in (NormalSpec, LaplaceSpec, StudentTSpec, HierarchicalSpec)}


@dataclass
class LossConfig:
    """A loss without hyper-parameters (``non_saturating``, ``minimax``, ``feature_matching``)."""

    name: str = "non_saturating"

    def check(self) -> None:
        """The one range check of every key (the builder and the config schema call it)."""


@dataclass
class WassersteinConfig:
    """WGAN with weight clipping (Arjovsky et al. 2017)."""

    name: str = "wasserstein"
    clip: float = 0.01

    def check(self) -> None:
        require(_positive(self.clip), "loss.clip", "> 0 and finite", self.clip)


@dataclass
class WassersteinGPConfig:
    """WGAN-GP (Gulrajani et al. 2017)."""

    name: str = "wasserstein_gp"
    penalty_weight: float = 10.0

    def check(self) -> None:
        require(isinstance(self.penalty_weight, (int, float)) and math.isfinite(self.penalty_weight)
                and self.penalty_weight >= 0, "loss.penalty_weight", ">= 0 and finite", self.penalty_weight)


LOSS_SCHEMAS = {"non_saturating": LossConfig, "minimax": LossConfig, "wasserstein": WassersteinConfig,
                "wasserstein_gp": WassersteinGPConfig, "feature_matching": LossConfig}
