"""Every inference algorithm's hyper-parameters and their defaults, written once.

One dataclass per ``inference=`` choice. The builders' signatures (:mod:`inference.registry`) take their
defaults from here, the typed config schema (:mod:`experiments.schema`) is these dataclasses, and the
``conf/inference/*.yaml`` group options are generated from them (:func:`experiments.compose.load_config`): an
experiment's own block (``experiment.sghmc: {...}``) and the command line override them. Imports no JAX
(the config is validated before ``jax.distributed`` starts).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar, Optional

from inference.schedule import COUPLINGS, PRECONDITIONERS, SCHEDULES
from models.config import require as _require


def require(cond: bool, key: str, what: str, value) -> None:
    """:func:`models.config.require` for ``inference.<key>``."""
    _require(cond, f"inference.{key}", what, value)


class HyperParameters:
    """Base of every algorithm's dataclass: the range checks shared by the algorithms' common keys.

    ``inherits`` (class attribute) maps another algorithm to the keys this one takes from that algorithm's
    experiment block before its own default: a control built to match the Bayesian GAN reads
    ``experiment.sghmc``'s particle counts and step sizes, so every experiment's controls run at its Bayesian
    GAN's settings without restating them (:func:`experiments.compose.register_group_defaults`).
    """

    inherits: ClassVar[dict[str, tuple[str, ...]]] = {}

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
        if getattr(self, "ema_decay", None) is not None:
            require(0 < self.ema_decay < 1, "ema_decay", "in (0, 1), or null for no average", self.ema_decay)


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
    rms_bias_correction: bool = False  # Adam's bias correction of V while it adapts too (inference.base)
    schedule: str = "constant"       # constant | cosine (optax) | cyclical (Zhang et al. 2020)
    final_step_size_ratio: float = 1.0
    num_cycles: int = 4              # cyclical: M cycles after warmup
    exploration_ratio: float = 0.8   # cyclical: the noise-free first share of each cycle (beta; csgmcmc 0.9, BlackJAX 0.25)
    n_critic: int = 1                # discriminator steps per generator step (WGAN papers: 5)
    num_warmup: Optional[int] = None  # null: experiment.warmup_fraction of the run
    coupling: str = "full"           # full (Saatchi & Wilson's sweep) | paired (J_g independent chains, J_d = J_g)
    ema_decay: Optional[float] = None  # a moving average of the weights (inference.averaging); null: none

    def check(self) -> None:
        super().check()
        require(0 < self.step_size < 1, "step_size", "in (0, 1)", self.step_size)
        require(self.coupling in COUPLINGS, "coupling", f"one of {', '.join(COUPLINGS)}", self.coupling)
        require(self.coupling != "paired" or self.num_discriminators == self.num_generators, "num_discriminators",
                f"equal to num_generators ({self.num_generators}) with coupling=paired", self.num_discriminators)
        require(self.temperature >= 0, "temperature", ">= 0", self.temperature)
        require(self.preconditioner in PRECONDITIONERS, "preconditioner", f"one of {', '.join(PRECONDITIONERS)}",
                self.preconditioner)
        require(0 <= self.rms_decay < 1, "rms_decay", "in [0, 1)", self.rms_decay)
        require(self.rms_eps > 0, "rms_eps", "> 0", self.rms_eps)
        require(self.schedule in SCHEDULES, "schedule", f"one of {', '.join(SCHEDULES)}", self.schedule)
        require(0 <= self.final_step_size_ratio <= 1, "final_step_size_ratio", "in [0, 1]",
                self.final_step_size_ratio)
        require(self.num_cycles >= 1, "num_cycles", "an integer >= 1", self.num_cycles)
        require(0 <= self.exploration_ratio < 1, "exploration_ratio", "in [0, 1)", self.exploration_ratio)


@dataclass
class SGHMCConfig(SGLDConfig):
    """SGHMC with persistent momentum (Chen et al. 2014), Saatchi & Wilson's sampler."""

    name: str = "sghmc"
    step_size: float = 1e-4          # eta (Chen et al.'s learning rate)
    friction: float = 0.1            # alpha

    def check(self) -> None:
        super().check()
        require(0 < self.friction <= 1, "friction", "in (0, 1]", self.friction)


#: The twin's optimiser (optax.adam's arguments), which MC dropout and the ensemble take from its block.
ADAM_KEYS = ("learning_rate", "b1", "b2", "eps", "eps_root", "generator_eps_root")


@dataclass
class MLEConfig(HyperParameters):
    """The maximum-likelihood twin: optax Adam."""

    name: str = "mle"
    learning_rate: float = 1e-3
    b1: float = 0.5
    b2: float = 0.999
    eps: float = 1e-8                 # optax.adam's eps: added to sqrt(v_hat)
    eps_root: float = 0.0             # optax.adam's eps_root: added to v_hat inside the square root
    generator_eps_root: Optional[float] = None  # the generator's eps_root; null: eps_root (docs/design.md)
    n_critic: int = 1
    num_warmup: Optional[int] = None
    ema_decay: Optional[float] = None  # a moving average of the weights (inference.averaging); null: none

    def check(self) -> None:
        super().check()
        require(0 <= self.b1 < 1 and 0 <= self.b2 < 1, "b1/b2", "in [0, 1)", (self.b1, self.b2))
        for key in ("eps", "eps_root", "generator_eps_root"):
            value = getattr(self, key)
            require(value is None and key == "generator_eps_root" or value is not None and value >= 0, key,
                    ">= 0" + (", or null (eps_root)" if key == "generator_eps_root" else ""), value)
        for key in ("eps_root", "generator_eps_root"):  # 0 / 0 where a gradient is exactly zero
            value = self.eps_root if getattr(self, key) is None else getattr(self, key)
            require(self.eps > 0 or value > 0, key, "> 0 when eps is 0 (Adam would divide 0 by 0)", value)


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
    ema_decay: Optional[float] = None  # a moving average of the weights (inference.averaging); null: none

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
    inherits: ClassVar[dict[str, tuple[str, ...]]] = {"mle": ADAM_KEYS}  # the twin's optimiser

    def check(self) -> None:
        super().check()
        require(0 < self.dropout_rate < 1, "dropout_rate", "in (0, 1)", self.dropout_rate)


# -- controls (is it the posterior or the ensemble?): the Bayesian GAN's pieces switched on one at a time --
#: The SGHMC keys the controls take from ``experiment.sghmc`` (the Bayesian GAN they are measured against).
SGHMC_UPDATE_KEYS = ("num_generators", "num_discriminators", "step_size", "friction", "preconditioner", "rms_decay",
                     "rms_eps", "rms_bias_correction", "schedule", "final_step_size_ratio", "n_critic", "num_warmup")


@dataclass
class IndependentMAPConfig(HyperParameters):
    """J_g independent generator-discriminator pairs, each updated by the Bayesian GAN's own SGHMC update
    (prior, momentum, preconditioner) at ``T = 0``: the MAP counterpart, with no coupling and no noise."""

    name: str = "independent_map"
    num_generators: int = SGHMCConfig.num_generators  # J_g pairs
    step_size: float = SGHMCConfig.step_size
    friction: float = SGHMCConfig.friction
    preconditioner: str = SGHMCConfig.preconditioner
    rms_decay: float = SGHMCConfig.rms_decay
    rms_eps: float = SGHMCConfig.rms_eps
    rms_bias_correction: bool = SGHMCConfig.rms_bias_correction
    schedule: str = SGHMCConfig.schedule               # constant | cosine
    final_step_size_ratio: float = SGHMCConfig.final_step_size_ratio
    n_critic: int = SGHMCConfig.n_critic
    num_warmup: Optional[int] = None
    ema_decay: Optional[float] = None  # a moving average of the weights (inference.averaging); null: none
    inherits: ClassVar[dict[str, tuple[str, ...]]] = {
        "sghmc": tuple(k for k in SGHMC_UPDATE_KEYS if k != "num_discriminators")}  # J_d = J_g: pairs

    def check(self) -> None:
        keys = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "name"}
        SGHMCConfig(**keys, temperature=0.0).check()  # the update's ranges, once
        require(self.schedule != "cyclical", "schedule", "constant or cosine (a control injects no noise, so "
                "it has no sampling stages)", self.schedule)


@dataclass
class CoupledEnsembleConfig(IndependentMAPConfig):
    """J_g generators and J_d discriminators coupled exactly as in Saatchi & Wilson's sweep, the same SGHMC
    update at ``T = 0``: the coupling without the posterior noise."""

    name: str = "coupled_ensemble"
    num_discriminators: int = SGHMCConfig.num_discriminators  # J_d
    inherits: ClassVar[dict[str, tuple[str, ...]]] = {"sghmc": SGHMC_UPDATE_KEYS}


@dataclass
class EnsembleConfig(MLEConfig):
    """J_g independent ML GANs (the twin's Adam and moving average, separate initial weights and minibatches,
    no coupling), vmapped; the predictive pools their generators."""

    name: str = "ensemble"
    num_generators: int = SGHMCConfig.num_generators  # J_g members
    inherits: ClassVar[dict[str, tuple[str, ...]]] = {"mle": ADAM_KEYS + ("n_critic", "ema_decay"),
                                                      "sghmc": ("num_generators", "num_warmup")}


@dataclass
class EBGANConfig(HyperParameters):
    """EBGAN (Kim, Song & Liang 2023; sehwankimstat/EBGAN): J_g generators sampled by MSGLD at temperature tau
    against one discriminator fitted by stochastic approximation. Defaults: their synthetic notebook."""

    name: str = "ebgan"
    num_generators: int = 10               # J_g (falls back to experiment.sghmc's, the Bayesian GAN's count)
    learning_rate: float = 0.5             # lr_g per datum: the MSGLD step size is lr_g / N
    temperature: float = 0.01              # tau
    drift_scale: float = 1.0               # MSGLD's a
    drift_decay: float = 0.9               # MSGLD's beta_1
    discriminator_learning_rate: float = 1.0   # c in c * (k + t0) ** -kappa
    discriminator_decay_offset: float = 1000.0  # t0
    discriminator_decay_exponent: float = 0.75  # kappa
    n_critic: int = 1
    num_warmup: Optional[int] = None
    ema_decay: Optional[float] = None  # a moving average of the weights (inference.averaging); null: none
    inherits: ClassVar[dict[str, tuple[str, ...]]] = {"sghmc": ("num_generators", "num_warmup")}

    def check(self) -> None:
        super().check()
        require(self.temperature >= 0, "temperature", ">= 0", self.temperature)
        require(self.drift_scale >= 0, "drift_scale", ">= 0", self.drift_scale)
        require(0 <= self.drift_decay < 1, "drift_decay", "in [0, 1)", self.drift_decay)
        require(self.discriminator_learning_rate > 0, "discriminator_learning_rate", "> 0",
                self.discriminator_learning_rate)
        require(self.discriminator_decay_offset >= 1, "discriminator_decay_offset", ">= 1",
                self.discriminator_decay_offset)
        require(0.5 < self.discriminator_decay_exponent <= 1, "discriminator_decay_exponent",
                "in (0.5, 1] (the stochastic-approximation step conditions)", self.discriminator_decay_exponent)


INFERENCE_CONFIGS = {c.name: c for c in (SGHMCConfig(), SGLDConfig(), SVIConfig(), MCDropoutConfig(), MLEConfig(),
                                         EnsembleConfig(), IndependentMAPConfig(), CoupledEnsembleConfig(),
                                         EBGANConfig())}
INFERENCE_SCHEMAS = {name: type(c) for name, c in INFERENCE_CONFIGS.items()}


def default(name: str, key: str):
    """The default of ``inference=<name>``'s ``key`` (what a builder's signature uses)."""
    return getattr(INFERENCE_CONFIGS[name], key)


def config_keys(name: str) -> list[str]:
    """The keys of ``inference=<name>`` other than ``name``, in declaration order."""
    return [f.name for f in fields(INFERENCE_SCHEMAS[name]) if f.name != "name"]


def hyper_defaults(name: str) -> dict:
    """``inference=<name>``'s hyper-parameters and defaults as builder keywords (all keys but ``name``,
    ``num_warmup``, whose config default ``null`` means a fraction of the run, and ``ema_decay``, which wraps
    the built sampler: :func:`inference.registry.build_inference`)."""
    return {k: default(name, k) for k in config_keys(name) if k not in ("num_warmup", "ema_decay")}
