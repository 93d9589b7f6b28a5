"""Every inference algorithm's hyper-parameters and their defaults, written once.

One dataclass per ``inference=`` choice. The builders' signatures (:mod:`inference.registry`) take their
defaults from here, the typed config schema (:mod:`experiments.schema`) is these dataclasses, and the
``conf/inference/*.yaml`` group options are generated from them (:func:`experiments.cli.load_config`): an
experiment's own block (``experiment.sghmc: {...}``) and the command line override them. Imports no JAX
(the config is validated before ``jax.distributed`` starts).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Optional

from inference.schedule import PRECONDITIONERS, SCHEDULES
from models.config import require as _require


def require(cond: bool, key: str, what: str, value) -> None:
    """:func:`models.config.require` for ``inference.<key>``."""
    _require(cond, f"inference.{key}", what, value)


class HyperParameters:
    """Base of every algorithm's dataclass: the range checks shared by the algorithms' common keys."""

    def check(self) -> None:
        """Range-check every hyper-parameter (the one check per value; the schema turns the
        ``ValueError`` into the CLI's one-line error).

        Raises
        ------
        ValueError
            Naming the key (``inference.<key>``) and what is valid.
        """
        for key in ("num_generators", "num_discriminators", "n_critic"):
            if hasattr(self, key):
                require(getattr(self, key) >= 1, key, "an integer >= 1", getattr(self, key))
        if hasattr(self, "learning_rate"):
            require(0 < self.learning_rate < 1, "learning_rate", "in (0, 1)", self.learning_rate)


@dataclass
class SGLDConfig(HyperParameters):
    """SGLD / pSGLD (Welling & Teh 2011; Li et al. 2016) over J_g and J_d particles."""

    name: str = "sgld"
    num_generators: int = 4          # J_g
    num_discriminators: int = 2      # J_d
    step_size: float = 1e-5          # eta (BlackJAX's scale: drift eta * grad)
    temperature: float = 1.0         # T (1 = the posterior)
    preconditioner: str = "rmsprop"  # rmsprop (adapted in warmup, then frozen) | rmsprop_running | none
    rms_decay: float = 0.99
    rms_eps: float = 1e-5
    schedule: str = "constant"       # constant | cosine (optax)
    final_step_size_ratio: float = 1.0
    n_critic: int = 1                # discriminator steps per generator step (WGAN papers: 5)
    num_warmup: Optional[int] = None  # null: experiment.warmup_fraction of the run

    def check(self) -> None:
        super().check()
        require(0 < self.step_size < 1, "step_size", "in (0, 1)", self.step_size)
        require(self.temperature >= 0, "temperature", ">= 0", self.temperature)
        require(self.preconditioner in PRECONDITIONERS, "preconditioner", f"one of {', '.join(PRECONDITIONERS)}",
                self.preconditioner)
        require(0 <= self.rms_decay < 1, "rms_decay", "in [0, 1)", self.rms_decay)
        require(self.rms_eps > 0, "rms_eps", "> 0", self.rms_eps)
        require(self.schedule in SCHEDULES, "schedule", f"one of {', '.join(SCHEDULES)}", self.schedule)
        require(0 <= self.final_step_size_ratio <= 1, "final_step_size_ratio", "in [0, 1]",
                self.final_step_size_ratio)


@dataclass
class SGHMCConfig(SGLDConfig):
    """SGHMC with persistent momentum (Chen et al. 2014), Saatchi & Wilson's sampler."""

    name: str = "sghmc"
    step_size: float = 1e-4          # eta (Chen et al.'s learning rate)
    friction: float = 0.1            # alpha

    def check(self) -> None:
        super().check()
        require(0 < self.friction <= 1, "friction", "in (0, 1]", self.friction)


@dataclass
class MLEConfig(HyperParameters):
    """The maximum-likelihood twin: optax Adam."""

    name: str = "mle"
    learning_rate: float = 1e-3
    b1: float = 0.5
    b2: float = 0.999
    n_critic: int = 1
    num_warmup: Optional[int] = None

    def check(self) -> None:
        super().check()
        require(0 <= self.b1 < 1 and 0 <= self.b2 < 1, "b1/b2", "in [0, 1)", (self.b1, self.b2))


@dataclass
class SVIConfig(HyperParameters):
    """Mean-field SVI (numpyro AutoNormal, TraceMeanField_ELBO)."""

    name: str = "svi"
    num_generators: int = 4          # J_g draws of q_g
    num_discriminators: int = 2      # J_d draws of q_d
    learning_rate: float = 1e-3      # optax Adam on the guide parameters
    init_guide_scale: float = 1e-3   # initial sd of every q factor
    n_critic: int = 1
    num_warmup: Optional[int] = None

    def check(self) -> None:
        super().check()
        require(self.init_guide_scale > 0, "init_guide_scale", "> 0", self.init_guide_scale)


@dataclass
class MCDropoutConfig(MLEConfig):
    """MC dropout (Gal & Ghahramani 2016) on the ML twin's networks."""

    name: str = "mc_dropout"
    dropout_rate: float = 0.1
    num_generators: int = 4
    num_discriminators: int = 2

    def check(self) -> None:
        super().check()
        require(0 < self.dropout_rate < 1, "dropout_rate", "in (0, 1)", self.dropout_rate)


INFERENCE_CONFIGS = {c.name: c for c in (SGHMCConfig(), SGLDConfig(), SVIConfig(), MCDropoutConfig(), MLEConfig())}
INFERENCE_SCHEMAS = {name: type(c) for name, c in INFERENCE_CONFIGS.items()}


def default(name: str, key: str):
    """The default of ``inference=<name>``'s ``key`` (what a builder's signature uses)."""
    return getattr(INFERENCE_CONFIGS[name], key)


def config_keys(name: str) -> list[str]:
    """The keys of ``inference=<name>`` other than ``name``, in declaration order."""
    return [f.name for f in fields(INFERENCE_SCHEMAS[name]) if f.name != "name"]


def hyper_defaults(name: str) -> dict:
    """``inference=<name>``'s hyper-parameters and defaults as builder keywords (all keys but ``name`` and
    ``num_warmup``, whose config default ``null`` means a fraction of the run)."""
    return {k: default(name, k) for k in config_keys(name) if k != "num_warmup"}
