"""Typed structured configs (OmegaConf) that validate a composed Hydra config before any work.

A composed config is merged onto these dataclasses: a wrong type or an unknown key raises, and the
range checks in :func:`validate` name the bad key. Group options are looked up by the same names as the
registries (``INFERENCE``, ``PRIORS``, ``DATASETS``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from experiments.datasets import DATASETS, DIGITS_SIZE

RUN_FILES = frozenset({"config.yaml", "posterior.nc", "metrics.json", "samples.png", "report.md", "diagnostics.png"})
MAX_SEED = 2**31 - 1
MIN_METRIC_POOL = 100


class ConfigError(ValueError):
    """A user mistake in the config or the overrides; the message is one line for the user."""


@dataclass
class DatasetConfig:
    name: str = "???"
    num_train: int | None = None
    num_eval: int = 2500


@dataclass
class ExperimentConfig:
    name: str = "???"
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    latent_dim: int = 2
    generator_hidden: list[int] = field(default_factory=lambda: [128, 128])
    discriminator_hidden: list[int] = field(default_factory=lambda: [128, 128])
    output_activation: str = "linear"
    batch_size: int = 64
    iterations: int = 1000
    num_draws: int = 50
    samples_per_draw: int | None = None
    metric_draws: int = 1
    weights_per_site: int = 8
    sghmc: dict[str, Any] = field(default_factory=dict)
    sgld: dict[str, Any] = field(default_factory=dict)
    svi: dict[str, Any] = field(default_factory=dict)
    mc_dropout: dict[str, Any] = field(default_factory=dict)
    mle: dict[str, Any] = field(default_factory=dict)
    prior: dict[str, Any] = field(default_factory=dict)


@dataclass
class SGLDConfig:
    name: str = "sgld"
    num_generators: int = 4
    num_discriminators: int = 2
    step_size: float = 1e-4
    temperature: float = 1.0
    preconditioner: str = "rmsprop"
    rms_decay: float = 0.99
    rms_eps: float = 1e-5
    schedule: str = "constant"
    final_step_size_ratio: float = 1.0


@dataclass
class SGHMCConfig(SGLDConfig):
    name: str = "sghmc"
    friction: float = 0.1


@dataclass
class MLEConfig:
    name: str = "mle"
    learning_rate: float = 1e-3
    b1: float = 0.5
    b2: float = 0.999


@dataclass
class NormalPriorConfig:
    name: str = "normal"
    scale: float = 1.0
    fan_in_scaling: bool = True
    init_scale: float | None = None


@dataclass
class RunConfig:
    seed: int = 0
    iterations: int = 1000
    out_dir: str = "???"
    progress: bool | None = None
    experiment: ExperimentConfig = field(default_factory=ExperimentConfig)
    inference: Any = None
    prior: Any = None
    loss: Any = None


@dataclass
class SVIConfig:
    name: str = "svi"
    num_generators: int = 4
    num_discriminators: int = 2
    learning_rate: float = 1e-3
    init_guide_scale: float = 1e-3


@dataclass
class MCDropoutConfig(MLEConfig):
    name: str = "mc_dropout"
    dropout_rate: float = 0.1
    num_generators: int = 4
    num_discriminators: int = 2


INFERENCE_SCHEMAS = {"sghmc": SGHMCConfig, "sgld": SGLDConfig, "svi": SVIConfig, "mc_dropout": MCDropoutConfig,
                     "mle": MLEConfig}
SGMCMC = ("sghmc", "sgld")
@dataclass
class LaplacePriorConfig(NormalPriorConfig):
    name: str = "laplace"


@dataclass
class StudentTPriorConfig(NormalPriorConfig):
    name: str = "student_t"
    df: float = 3.0


@dataclass
class LossConfig:
    name: str = "non_saturating"


LOSS_SCHEMAS = {"non_saturating": LossConfig, "minimax": LossConfig}
PRIOR_SCHEMAS = {"normal": NormalPriorConfig, "laplace": LaplacePriorConfig, "student_t": StudentTPriorConfig}


def _one_line(err: Exception) -> str:
    msg = str(err).strip().splitlines()
    return msg[0] if msg else type(err).__name__


def _merge(schema, node, where: str) -> DictConfig:
    try:
        return OmegaConf.merge(OmegaConf.structured(schema), node)
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None)
        full = where if not key else (key if where == "config" else f"{where}.{key}")
        raise ConfigError(f"{full}: {_one_line(err)}") from None


def _check(cond: bool, key: str, what: str, value) -> None:
    if not cond:
        raise ConfigError(f"{key}={value!r} is invalid: must be {what}")


def check_out_dir(out_dir: str) -> None:
    """Refuse an ``out_dir`` that a run could not write, or whose replacement would destroy other files.

    A run replaces an existing *run directory* (one holding only run files) as a whole; any other
    existing directory, a file, or an unwritable parent is refused.

    Raises
    ------
    ConfigError
    """
    path = Path(out_dir).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"out_dir={out_dir!r} is invalid: it is an existing file")
    if path.is_dir():
        extra = sorted(p.name for p in path.iterdir() if p.name not in RUN_FILES)
        if extra:
            raise ConfigError(
                f"out_dir={out_dir!r} is invalid: it exists and is not a bgan-run directory "
                f"(holds {', '.join(extra[:3])}{', ...' if len(extra) > 3 else ''}); choose a new or empty directory")
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"out_dir={out_dir!r} is invalid: {parent} is not a writable directory")


def validate(cfg: DictConfig) -> DictConfig:
    """Type-check and range-check a composed config; return it resolved and typed.

    Raises
    ------
    ConfigError
        Naming the bad key and what is valid.
    """
    try:
        OmegaConf.resolve(cfg)
    except OmegaConfBaseException as err:
        raise ConfigError(f"cannot resolve config: {_one_line(err)}") from None
    inference, prior, loss = cfg.get("inference"), cfg.get("prior"), cfg.get("loss")
    inf_name = inference.get("name") if inference else None
    prior_name = prior.get("name") if prior else None
    _check(inf_name in INFERENCE_SCHEMAS, "inference", f"one of {', '.join(sorted(INFERENCE_SCHEMAS))}", inf_name)
    _check(prior_name in PRIOR_SCHEMAS, "prior", f"one of {', '.join(sorted(PRIOR_SCHEMAS))}", prior_name)
    loss_name = loss.get("name") if loss else None
    _check(loss_name in LOSS_SCHEMAS, "loss", f"one of {', '.join(sorted(LOSS_SCHEMAS))}", loss_name)
    typed = _merge(RunConfig, {k: v for k, v in cfg.items() if k not in ("inference", "prior", "loss")}, "config")
    typed.inference = _merge(INFERENCE_SCHEMAS[inf_name], inference, "inference")
    typed.prior = _merge(PRIOR_SCHEMAS[prior_name], prior, "prior")
    typed.loss = _merge(LOSS_SCHEMAS[loss_name], loss, "loss")

    e, i = typed.experiment, typed.inference
    _check(e.dataset.name in DATASETS, "experiment.dataset.name", f"one of {', '.join(sorted(DATASETS))}",
           e.dataset.name)
    _check(typed.seed <= MAX_SEED, "seed", f"an integer in [0, {MAX_SEED}]", typed.seed)
    for group, node in (("inference", i), ("prior", typed.prior)):
        for key, value in node.items():
            if isinstance(value, float):
                _check(math.isfinite(value), f"{group}.{key}", "finite", value)
    positive = {
        "seed": (typed.seed, 0), "iterations": (typed.iterations, 1),
        "experiment.batch_size": (e.batch_size, 1), "experiment.latent_dim": (e.latent_dim, 1),
        "experiment.num_draws": (e.num_draws, 1), "experiment.metric_draws": (e.metric_draws, 1),
        "experiment.weights_per_site": (e.weights_per_site, 1),
        "experiment.dataset.num_eval": (e.dataset.num_eval, 1),
    }
    if e.dataset.num_train is not None:
        positive["experiment.dataset.num_train"] = (e.dataset.num_train, 1)
    if e.samples_per_draw is not None:
        positive["experiment.samples_per_draw"] = (e.samples_per_draw, 1)
    if inf_name != "mle":
        positive |= {"inference.num_generators": (i.num_generators, 1),
                     "inference.num_discriminators": (i.num_discriminators, 1)}
    for key, (value, low) in positive.items():
        _check(value >= low, key, f"an integer >= {low}", value)
    for key, sizes in (("experiment.generator_hidden", e.generator_hidden),
                       ("experiment.discriminator_hidden", e.discriminator_hidden)):
        _check(len(sizes) > 0 and all(s >= 1 for s in sizes), key, "a non-empty list of integers >= 1", list(sizes))
    if e.dataset.name == "digits":
        n_eval, n_train = e.dataset.num_eval, e.dataset.num_train
        _check(10 <= n_eval <= DIGITS_SIZE - 10, "experiment.dataset.num_eval", f"in [10, {DIGITS_SIZE - 10}]", n_eval)
        if n_train is not None:
            _check(10 <= n_train <= DIGITS_SIZE - n_eval, "experiment.dataset.num_train",
                   f"in [10, {DIGITS_SIZE} - num_eval] or null", n_train)
    chains = i.get("num_generators", 1)
    if e.samples_per_draw is not None:
        pool = e.samples_per_draw * chains * e.metric_draws
        _check(pool >= MIN_METRIC_POOL, "experiment.samples_per_draw",
               f"large enough for >= {MIN_METRIC_POOL} metric samples (samples_per_draw x chains x metric_draws)",
               e.samples_per_draw)
    _check(e.metric_draws <= e.num_draws, "experiment.metric_draws", f"<= experiment.num_draws ({e.num_draws})", e.metric_draws)
    _check(e.output_activation in ("linear", "sigmoid"), "experiment.output_activation", "'linear' or 'sigmoid'", e.output_activation)
    if inf_name in SGMCMC:
        _check(0 < i.step_size < 1, "inference.step_size", "in (0, 1)", i.step_size)
        if inf_name == "sghmc":
            _check(0 < i.friction <= 1, "inference.friction", "in (0, 1]", i.friction)
        _check(i.temperature >= 0, "inference.temperature", ">= 0", i.temperature)
        _check(i.preconditioner in ("none", "rmsprop"), "inference.preconditioner", "'none' or 'rmsprop'", i.preconditioner)
        _check(0 <= i.rms_decay < 1, "inference.rms_decay", "in [0, 1)", i.rms_decay)
        _check(i.rms_eps > 0, "inference.rms_eps", "> 0", i.rms_eps)
        _check(i.schedule in ("constant", "cosine"), "inference.schedule", "'constant' or 'cosine'", i.schedule)
        _check(0 <= i.final_step_size_ratio <= 1, "inference.final_step_size_ratio", "in [0, 1]",
               i.final_step_size_ratio)
    elif inf_name == "svi":
        _check(0 < i.learning_rate < 1, "inference.learning_rate", "in (0, 1)", i.learning_rate)
        _check(i.init_guide_scale > 0, "inference.init_guide_scale", "> 0", i.init_guide_scale)
    else:
        _check(0 < i.learning_rate < 1, "inference.learning_rate", "in (0, 1)", i.learning_rate)
        _check(0 <= i.b1 < 1 and 0 <= i.b2 < 1, "inference.b1/b2", "in [0, 1)", (i.b1, i.b2))
        if inf_name == "mc_dropout":
            _check(0 < i.dropout_rate < 1, "inference.dropout_rate", "in (0, 1)", i.dropout_rate)
    _check(typed.prior.scale > 0, "prior.scale", "> 0", typed.prior.scale)
    if prior_name == "student_t":
        _check(typed.prior.df > 0, "prior.df", "> 0", typed.prior.df)
    _check(typed.prior.init_scale is None or typed.prior.init_scale > 0, "prior.init_scale", "> 0 or null",
           typed.prior.init_scale)
    check_out_dir(typed.out_dir)
    return typed
