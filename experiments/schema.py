"""Typed structured configs (OmegaConf) that validate a composed Hydra config before any work.

A composed config is merged onto these dataclasses: a wrong type or an unknown key raises, and the
range checks in :func:`validate` name the bad key. Group options are looked up by the same names as the
registries (``INFERENCE``, ``PRIORS``, ``DATASETS``).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from experiments.datasets import DATASETS, DIGITS_SIZE
from experiments.errors import ConfigError, check, merge, one_line  # noqa: F401  (re-exported)
from experiments.metrics import METRICS_CLASSIFIERS  # no JAX at import
from experiments.prior_config import PRIOR_SCHEMAS, check_spec, resolve_priors
from inference.config import INFERENCE_SCHEMAS, config_keys  # no JAX: before jax.distributed
from inference.schedule import make_schedule
from models.config import LOSS_SCHEMAS  # no JAX
from models.networks import NETWORKS as ARCHITECTURES

# diagnostics.png: the rank plot's name before trace.png / rank.png (still replaced, not refused)
RUN_FILES = frozenset({"config.yaml", "posterior.nc", "metrics.json", "samples.png", "report.md", "trace.png",
                       "rank.png", "diagnostics.png", "reliability.png"})
MAX_SEED = 2**31 - 1
MIN_METRIC_POOL = 100


@dataclass
class DatasetConfig:
    name: str = "???"
    num_train: int | None = None
    num_eval: Optional[int] = None  # null: the dataset builder's default (experiments.datasets)
    num_per_class: int | None = None
    held_out_class: int | None = None
    minority_classes: Optional[list[int]] = None
    minority_fraction: Optional[float] = None
    tfds_name: str | None = None
    data_dir: str | None = None
    validation_fraction: Optional[float] = None


@dataclass
class ExperimentConfig:
    """Every key of an experiment and its default (the ``base`` the experiment files inherit; they set only
    what differs). The algorithms' blocks (``sghmc: {...}`` ...) override :mod:`inference.config`'s defaults
    for this experiment, ``prior: {...}`` those of :mod:`models.config`."""

    name: str = "???"
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    latent_dim: int = 2
    # this experiment's keys for each architecture (a block per network= option, e.g. {mlp: {generator_hidden:
    # [256, 256]}}); the architecture itself is the config group network (models.networks.NETWORKS)
    network: dict[str, Any] = field(default_factory=dict)
    task: str = "generation"             # a name in experiments.tasks.TASKS
    metrics_classifier: str = "mlp"      # mlp (scikit-learn, one hidden layer) | cnn (small flax CNN, 28x28 images)
    labels_per_class: int = 10           # semi_supervised
    labels_seed: Optional[int] = None    # semi_supervised: which images are labelled; null: the run's seed
    labelled_weight: float | None = 1.0  # semi_supervised; null: N / N_s
    unlabelled_weight: float = 1.0       # semi_supervised: the real and fake terms' weight; 0: supervised only
    autoencoder_steps: int = 2000        # class_imbalance, augmentation (BAGAN's autoencoder start)
    generated_per_class: int = 100       # augmentation: generated images added to each class's real ones
    batch_size: int = 64
    iterations: int = 1000
    num_draws: int = 50
    samples_per_draw: int | None = None  # null: ceil(2500 / (chains x metric_draws)); for a dataset with its own
                                         # count (Stacked MNIST's 25,600), enough for the pool to hold it
    metric_draws: int = 1                # the final-draw figures pool the last metric_draws draws
    warmup_fraction: float = 0.5         # inference.num_warmup = null: this share of the run
    weights_per_site: int = 8            # thinned weights stored per site in posterior.nc
    sghmc: dict[str, Any] = field(default_factory=dict)
    sgld: dict[str, Any] = field(default_factory=dict)
    svi: dict[str, Any] = field(default_factory=dict)
    mc_dropout: dict[str, Any] = field(default_factory=dict)
    mle: dict[str, Any] = field(default_factory=dict)
    ensemble: dict[str, Any] = field(default_factory=dict)
    independent_map: dict[str, Any] = field(default_factory=dict)
    coupled_ensemble: dict[str, Any] = field(default_factory=dict)
    ebgan: dict[str, Any] = field(default_factory=dict)
    prior: dict[str, Any] = field(default_factory=dict)


@dataclass
class DistributedConfig:
    enabled: bool = False
    coordinator_address: Optional[str] = None
    num_processes: Optional[int] = None
    process_id: Optional[int] = None


@dataclass
class RunConfig:
    seed: int = 0
    iterations: int = 1000
    out_dir: str = "???"
    progress: bool | None = None
    checkpoint_every: int | None = None
    resume: bool = True
    skip_complete: bool = False
    distributed: DistributedConfig = field(default_factory=DistributedConfig)
    experiment: ExperimentConfig = field(default_factory=ExperimentConfig)
    inference: Any = None
    prior: Any = None
    loss: Any = None
    network: Any = None


#: The architecture's keys that lived flat in ``experiment`` before ``network`` became a config group, and the
#: option that has each now.
MOVED_TO_NETWORK = {"generator_hidden": "mlp", "discriminator_hidden": "mlp", "output_activation": "mlp",
                    "channels": "dcgan", "layer_norm": "dcgan"}


def upgrade_network_layout(saved: dict, current: dict) -> bool:
    """Rewrite, in place, a stored run's config written before ``network`` became a config group (its
    ``experiment.network`` a name, the architecture's keys flat in ``experiment``) in today's layout, so that a
    resume or ``skip_complete`` compares it with ``current`` (today's resolved config, a dict) as the same run.

    The old keys become the top-level ``network`` node (the architecture's own keys; a key it lacked, e.g. a key
    added later, is left out for the caller's new-key rule), and the experiment's per-architecture blocks are
    taken from ``current``: they only feed ``network``, which is compared. Returns whether ``saved`` was in the
    old layout.
    """
    experiment = saved.get("experiment")
    if not isinstance(experiment, dict) or not isinstance(experiment.get("network"), str):
        return False
    name = experiment.pop("network")
    old = {k: experiment.pop(k) for k in MOVED_TO_NETWORK if k in experiment}
    if name == "improved_gan":  # its old builder ignored every flat key: the recipe's networks, whatever was stored
        saved["network"] = {"name": name} | dataclasses.asdict(ARCHITECTURES[name].config())
    else:
        keys = {f.name for f in dataclasses.fields(ARCHITECTURES[name].config)} if name in ARCHITECTURES else set(old)
        saved["network"] = {"name": name} | {k: v for k, v in old.items() if k in keys}
    experiment["network"] = (current.get("experiment") or {}).get("network", {})
    return True


def fill_new_keys(saved: dict, current: dict, defaults: dict) -> None:
    """Give ``saved`` (an older run's config) every key of ``current`` it lacks whose current value is the
    schema default (a key added to the schema after that run; its default keeps the older behaviour)."""
    for key, value in current.items():
        if key not in saved:
            if key in defaults and defaults[key] == value:
                saved[key] = value
        elif isinstance(value, dict) and isinstance(saved[key], dict):
            fill_new_keys(saved[key], value, defaults.get(key) if isinstance(defaults.get(key), dict) else {})


def data_identity(experiment: dict) -> dict:
    """What makes two runs' data the same (``metrics.json``'s ``data``; ``bgan-summarize`` pairs rows only on
    the same data), from an experiment config as a dict: its ``dataset`` (``data_dir`` aside: a path
    differs between machines) and, for a semi-supervised task, which and how many images are labelled; keys
    left at ``None`` are dropped, so a key the schema gained later (default ``None``) changes no identity.
    Experiments that differ in name only (a control such as ``mnist_ssl_improved_gan_supervised``) have the
    same data."""
    out = dict(experiment.get("dataset") or {})
    if experiment.get("task") == "semi_supervised":
        out |= {"labels_per_class": experiment.get("labels_per_class"), "labels_seed": experiment.get("labels_seed")}
    return {k: v for k, v in out.items() if k != "data_dir" and v is not None}


def upgrade_stored(saved: dict, current: dict) -> None:
    """Bring, in place, an older stored run's config (a dict) to today's layout for a comparison with
    ``current`` (today's resolved config as a dict, e.g. a resume key): the network's keys moved
    (:func:`upgrade_network_layout`), and every key the schema gained since, where ``current`` leaves it at its
    default (:func:`fill_new_keys`). What a resume (:meth:`experiments.rundir.store.RunStore.check`) and
    ``skip_complete`` (:func:`experiments.cli.complete_run`) compare."""
    from inference.config import INFERENCE_CONFIGS

    upgrade_network_layout(saved, current)
    defaults = OmegaConf.to_container(OmegaConf.structured(RunConfig))
    inference, network = (current.get(k) or {} for k in ("inference", "network"))
    if inference.get("name") in INFERENCE_CONFIGS:
        defaults["inference"] = dataclasses.asdict(INFERENCE_CONFIGS[inference["name"]])
    if network.get("name") in ARCHITECTURES:
        defaults["network"] = dataclasses.asdict(ARCHITECTURES[network["name"]].config())
    fill_new_keys(saved, current, defaults)


def check_out_dir(out_dir: str) -> None:
    """Refuse an ``out_dir`` that a run could not write, or whose replacement would destroy other files.

    A run replaces an existing *run directory* (one holding only run files) as a whole; any other
    existing directory, a file, or an unwritable parent is refused.

    Raises
    ------
    ConfigError
    """
    path = Path(out_dir).expanduser()
    if not out_dir.strip() or path.name in ("", ".", ".."):
        raise ConfigError(f"out_dir={out_dir!r} is invalid: must name a directory, e.g. runs/my-run")
    if path.exists() and not path.is_dir():
        raise ConfigError(f"out_dir={out_dir!r} is invalid: it is an existing file")
    try:
        extra = sorted(p.name for p in path.iterdir() if p.name not in RUN_FILES) if path.is_dir() else []
    except OSError as err:
        raise ConfigError(f"out_dir={out_dir!r} is invalid: cannot read it ({err.strerror})") from None
    if extra:
        raise ConfigError(
            f"out_dir={out_dir!r} is invalid: it exists and is not a bgan-run directory "
            f"(holds {', '.join(extra[:3])}{', ...' if len(extra) > 3 else ''}); choose a new or empty directory")
    staging = path.parent / f".{path.name}.partial"
    if staging.exists() and not staging.is_dir():
        raise ConfigError(f"out_dir={out_dir!r} is invalid: {staging} (its staging directory) is a file")
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    try:  # a directory the run can create there (and remove at once): os.access says yes to root anywhere
        if not parent.is_dir():
            raise NotADirectoryError(20, "not a directory")
        os.rmdir(tempfile.mkdtemp(prefix=".bgan-probe-", dir=parent))
    except OSError as err:
        raise ConfigError(f"out_dir={out_dir!r} is invalid: {parent} is not a writable directory "
                          f"({err.strerror})") from None


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
        raise ConfigError(f"cannot resolve config: {one_line(err)}") from None
    inference, prior, loss, network = cfg.get("inference"), cfg.get("prior"), cfg.get("loss"), cfg.get("network")
    inf_name = inference.get("name") if inference else None
    prior_name = prior.get("name") if prior else None
    check(inf_name in INFERENCE_SCHEMAS, "inference", f"one of {', '.join(sorted(INFERENCE_SCHEMAS))}", inf_name)
    check(prior_name in PRIOR_SCHEMAS, "prior", f"one of {', '.join(sorted(PRIOR_SCHEMAS))}", prior_name)
    loss_name = loss.get("name") if loss else None
    check(loss_name in LOSS_SCHEMAS, "loss", f"one of {', '.join(sorted(LOSS_SCHEMAS))}", loss_name)
    net_name = network.get("name") if network else None
    check(net_name in ARCHITECTURES, "network", f"one of {', '.join(sorted(ARCHITECTURES))}", net_name)
    typed = merge(RunConfig, {k: v for k, v in cfg.items() if k not in ("inference", "prior", "loss", "network")},
                  "config")
    typed.inference = merge(INFERENCE_SCHEMAS[inf_name], inference, "inference")
    paths = prior.get("path_overrides") or []
    check(isinstance(paths, (list, ListConfig)), "prior.path_overrides",
           "a list of mappings, e.g. [{path: 'generator__layers.2.*', scale: 0.1}]", paths)
    for i, entry in enumerate(paths):
        check(isinstance(entry, (dict, DictConfig)), f"prior.path_overrides[{i}]",
               "a mapping with a 'path' glob, e.g. {path: 'generator__layers.2.*', scale: 0.1}", entry)
    typed.prior = merge(PRIOR_SCHEMAS[prior_name], prior, "prior")
    typed.loss = merge(LOSS_SCHEMAS[loss_name], loss, "loss")
    typed.network = merge(ARCHITECTURES[net_name].config, network, "network")

    e, i = typed.experiment, typed.inference
    for name in INFERENCE_SCHEMAS:  # an algorithm's block in the experiment: only that algorithm's keys
        keys = set(config_keys(name))
        block = e.get(name) or {}
        for key in block:
            check(key in keys, f"experiment.{name}.{key}", f"a key of inference={name} ({', '.join(sorted(keys))})",
                  block[key])
    try:  # the algorithm's own range checks (inference.config)
        getattr(OmegaConf.to_object(i), "check", lambda: None)()
    except ValueError as err:
        raise ConfigError(str(err)) from None
    check(e.dataset.name in DATASETS, "experiment.dataset.name", f"one of {', '.join(sorted(DATASETS))}",
           e.dataset.name)
    check(typed.seed <= MAX_SEED, "seed", f"an integer in [0, {MAX_SEED}]", typed.seed)
    for group, node in (("inference", i), ("loss", typed.loss), ("network", typed.network)):
        for key, value in node.items():
            if isinstance(value, float):
                check(math.isfinite(value), f"{group}.{key}", "finite", value)
    positive = {
        "seed": (typed.seed, 0), "iterations": (typed.iterations, 1),
        "experiment.batch_size": (e.batch_size, 1), "experiment.latent_dim": (e.latent_dim, 1),
        "experiment.num_draws": (e.num_draws, 1), "experiment.metric_draws": (e.metric_draws, 1),
        "experiment.weights_per_site": (e.weights_per_site, 1),
    }
    if e.dataset.validation_fraction is not None:
        check(0 < e.dataset.validation_fraction < 1, "experiment.dataset.validation_fraction",
               "in (0, 1), or null (metrics on the test split)", e.dataset.validation_fraction)
    for key in ("num_train", "num_per_class", "num_eval"):
        if e.dataset[key] is not None:
            positive[f"experiment.dataset.{key}"] = (e.dataset[key], 1)
    if e.dataset.name == "tfds":
        check(bool(e.dataset.tfds_name), "experiment.dataset.tfds_name",
               "the name of a prepared tfds dataset with dataset.name=tfds (e.g. bgan_digits)", e.dataset.tfds_name)
    if typed.checkpoint_every is not None:
        positive["checkpoint_every"] = (typed.checkpoint_every, 1)
    if e.samples_per_draw is not None:
        positive["experiment.samples_per_draw"] = (e.samples_per_draw, 1)
    for key, (value, low) in positive.items():
        check(value >= low, key, f"an integer >= {low}", value)
    for arch, block in (e.network or {}).items():  # a block per architecture: only that architecture's keys
        check(arch in ARCHITECTURES, f"experiment.network.{arch}", f"a block named for a network option "
              f"({', '.join(sorted(ARCHITECTURES))})", block)
        keys = {f.name for f in dataclasses.fields(ARCHITECTURES[arch].config)} - {"name"}
        check(isinstance(block, (dict, DictConfig)), f"experiment.network.{arch}",
              f"a mapping of network={arch}'s keys ({', '.join(sorted(keys))})", block)
        for key in block:
            check(key in keys, f"experiment.network.{arch}.{key}", f"a key of network={arch} ({', '.join(sorted(keys))})",
                  block[key])
    try:  # the architecture's own range checks (its config dataclass)
        getattr(OmegaConf.to_object(typed.network), "check", lambda: None)()
    except ValueError as err:
        raise ConfigError(str(err)) from None
    if e.dataset.name == "digits":
        n_eval, n_train = e.dataset.num_eval, e.dataset.num_train
        if n_eval is None:  # the builder's default
            n_eval = inspect.signature(DATASETS["digits"]).parameters["num_eval"].default
        check(10 <= n_eval <= DIGITS_SIZE - 10, "experiment.dataset.num_eval", f"in [10, {DIGITS_SIZE - 10}]", n_eval)
        if n_train is not None:
            check(10 <= n_train <= DIGITS_SIZE - n_eval, "experiment.dataset.num_train",
                   f"in [10, {DIGITS_SIZE} - num_eval] or null", n_train)
    chains = i.get("num_generators", 1)
    if e.samples_per_draw is not None:
        pool = e.samples_per_draw * chains * e.metric_draws
        check(pool >= MIN_METRIC_POOL, "experiment.samples_per_draw",
               f"large enough for >= {MIN_METRIC_POOL} metric samples (samples_per_draw x chains x metric_draws)",
               e.samples_per_draw)
    check(e.metric_draws <= e.num_draws, "experiment.metric_draws", f"<= experiment.num_draws ({e.num_draws})", e.metric_draws)
    check(e.metrics_classifier in METRICS_CLASSIFIERS, "experiment.metrics_classifier",
          f"one of {', '.join(METRICS_CLASSIFIERS)}", e.metrics_classifier)
    from experiments.tasks import TASKS  # tasks import this module's check

    check(e.task in TASKS, "experiment.task", f"one of {', '.join(sorted(TASKS))}", e.task)
    TASKS[e.task].validate(e)
    if e.dataset.name == "stacked_mnist":  # its labels are mode ids, its figures a generator's
        check(e.task == "generation", "experiment.task", "'generation' with experiment.dataset.name=stacked_mnist "
              "(a mode-collapse benchmark)", e.task)
    if e.dataset.held_out_class is not None:
        check(e.dataset.held_out_class >= 0, "experiment.dataset.held_out_class", "a class label >= 0",
               e.dataset.held_out_class)
    check(0 <= e.warmup_fraction < 1, "experiment.warmup_fraction", "in [0, 1)", e.warmup_fraction)
    run_iterations = make_schedule(typed.iterations, e.num_draws).iterations
    if i.num_warmup is None:  # the experiment's share of the run
        i.num_warmup = int(e.warmup_fraction * run_iterations)
    check(0 <= i.num_warmup < run_iterations, "inference.num_warmup",
           f"an integer in [0, {run_iterations}) (the run's iterations), or null for "
           f"experiment.warmup_fraction={e.warmup_fraction} of them", i.num_warmup)
    if i.get("preconditioner") == "rmsprop":
        check(i.num_warmup >= 1, "inference.num_warmup", ">= 1 with preconditioner=rmsprop (adapted during "
               "warmup, then frozen; or use preconditioner=rmsprop_running or none)", i.num_warmup)
    if i.get("schedule") == "cyclical":
        check(i.num_cycles <= run_iterations - i.num_warmup, "inference.num_cycles",
               f"at most the {run_iterations - i.num_warmup} iterations after warmup (one cycle needs one)",
               i.num_cycles)
    check_spec(typed.prior, "prior")
    resolve_priors(typed.prior)
    try:  # the loss's own range checks (models.config, which the loss builders call too)
        getattr(OmegaConf.to_object(typed.loss), "check", lambda: None)()
    except ValueError as err:
        raise ConfigError(str(err)) from None
    pack = getattr(typed.network, "pack", 1)  # a network config without PackingConfig: no packing
    if pack > 1:  # PacGAN: the discriminator scores groups, so it has no per-sample output to read
        check(e.task == "generation", "network.pack", "1 with experiment.task="
              f"{e.task!r} (a packed discriminator scores groups of samples; a task reading its per-sample "
              "outputs needs 1)", pack)
        check(e.batch_size % pack == 0, "network.pack", f"a divisor of experiment.batch_size={e.batch_size} "
              "(the minibatch is packed in groups)", pack)
    if getattr(typed.network, "name", None) == "dcgan_metz":  # batch norm in D: its outputs are not per sample
        check(e.task == "generation", "network", "another architecture with experiment.task="
              f"{e.task!r} (dcgan_metz's discriminator normalises by batch statistics, so its per-sample outputs "
              "depend on the batch; it is for generation)", "dcgan_metz")
        check(loss_name != "wasserstein_gp", "loss", "another loss with network=dcgan_metz (a per-sample gradient "
              "penalty needs a discriminator without batch norm; Gulrajani et al. 2017, sec. 4)", loss_name)
    if loss_name == "wasserstein":
        check(inf_name != "svi", "loss", "not 'wasserstein' (weight clipping) with inference=svi, whose q has "
               "unbounded support; use loss=wasserstein_gp", loss_name)
    check(typed.prior.init_scale is None or (math.isfinite(typed.prior.init_scale) and typed.prior.init_scale > 0),
          "prior.init_scale", "> 0 and finite, or null",
           typed.prior.init_scale)
    dist = typed.distributed
    if dist.num_processes is not None:
        check(dist.num_processes >= 1, "distributed.num_processes", "an integer >= 1 or null", dist.num_processes)
    if dist.process_id is not None:
        check(0 <= dist.process_id < (dist.num_processes or MAX_SEED), "distributed.process_id",
               "in [0, distributed.num_processes)", dist.process_id)
    check_out_dir(typed.out_dir)
    typed.out_dir = str(Path(typed.out_dir).expanduser())
    return typed
