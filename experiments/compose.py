"""A config from ``bgan-run``'s overrides: the Hydra groups' defaults generated from the dataclasses that
write them once (:func:`register_group_defaults`), composed with the overrides and validated
(:func:`load_config`; :mod:`experiments.schema`). :mod:`experiments.cli` (a single run, a sweep) and
:mod:`experiments.launch` (each job of a sweep, wherever it runs) both compose through here.
"""

from __future__ import annotations

import dataclasses
from importlib import resources

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from experiments.schema import MOVED_TO_NETWORK, ConfigError, ExperimentConfig, validate
from inference.config import INFERENCE_SCHEMAS
from models.config import LOSS_SCHEMAS, PRIOR_SPECS
from models.networks import NETWORKS


GROUPS = ("experiment", "inference", "prior", "loss", "network")
TOP_KEYS = ("seed", "iterations", "out_dir", "progress", "checkpoint_every", "resume", "skip_complete",
            "distributed")


def config_dir() -> str:
    return str(resources.files("experiments") / "conf")


def group_options(group: str) -> list[str]:
    """Names of the options of a config group: the yaml files in ``conf/<group>``, and for ``network`` every
    registered architecture (:data:`models.networks.NETWORKS`, e.g. one registered from tests)."""
    shipped = set(_shipped(group))
    return sorted(shipped | set(NETWORKS) if group == "network" else shipped)


def option_keys(group: str, option: str) -> list[str]:
    """The keys of a config group's option (``inference``, ``prior``, ``loss``, ``network``: its schema's fields
    but ``name``, in declaration order; ``experiment``: :class:`experiments.schema.ExperimentConfig`'s).

    Raises
    ------
    KeyError
        For a group or option without a schema.
    """
    schema = {"experiment": lambda _: ExperimentConfig, "inference": INFERENCE_SCHEMAS.__getitem__,
              "prior": PRIOR_SPECS.__getitem__, "loss": LOSS_SCHEMAS.__getitem__,
              "network": lambda name: NETWORKS[name].config}[group](option)
    return [f.name for f in dataclasses.fields(schema) if f.name != "name"]


def _shipped(group: str) -> list[str]:
    return [p.name.removesuffix(".yaml") for p in (resources.files("experiments") / "conf" / group).iterdir()
            if p.name.endswith(".yaml")]


def _check_names(overrides: list[str]) -> None:
    """Refuse, before Hydra composes anything, an override that is not ``KEY=VALUE``, one of Hydra's own keys
    or an unknown option of a config group.

    Raises
    ------
    ConfigError
        Naming the override (the group's valid options for an unknown one).
    """
    for ov in overrides:
        if "=" not in ov:
            raise ConfigError(f"malformed override {ov!r}: expected KEY=VALUE (e.g. experiment=grid25)")
    for ov in overrides:
        key, _, value = ov.lstrip("+~").partition("=")
        if key == "experiment.network":
            raise ConfigError(f"{ov}: the architecture is now the config group network: write "
                              f"network={value} (valid: {', '.join(group_options('network'))})")
        if key.startswith("experiment.") and key.partition(".")[2] in MOVED_TO_NETWORK:
            moved = key.partition(".")[2]
            raise ConfigError(f"{key}: moved to the network group: write network.{moved}={value} (an option with "
                              f"that key, e.g. network={MOVED_TO_NETWORK[moved]}), or "
                              f"experiment.network.{MOVED_TO_NETWORK[moved]}.{moved}={value} for that option only")
        if key.startswith("hydra"):
            raise ConfigError(f"{key}: Hydra's own keys are not bgan-run's; a sweep (bgan-run -m) takes "
                              "hydra/launcher=NAME and hydra.launcher.KEY=VALUE (docs/scaling.md)")
        if key in GROUPS and value not in group_options(key):
            raise ConfigError(f"unknown {key} {value!r}; valid: {', '.join(group_options(key))}")


def _explain(overrides: list[str], err: Exception) -> str:
    """Turn a Hydra composition error into one line naming the bad key and the valid choices (the names
    :func:`_check_names` refuses never reach Hydra)."""
    text = " ".join(str(err).split())
    if "is not in struct" in text or "Could not override" in text:
        keys = [ov.lstrip("+~").partition("=")[0] for ov in overrides]
        bad = max((k for k in keys if f"'{k}'" in text), key=len, default=None)
        if bad and bad.startswith("network."):
            per = "; ".join(f"{name}: {', '.join(option_keys('network', name))}" for name in sorted(NETWORKS))
            return f"unknown config key {bad!r}: not a key of the chosen network (each network's keys: {per})"
        return f"unknown config key {bad or text!r}; valid top-level keys: {', '.join(TOP_KEYS)}, " \
               f"{', '.join(GROUPS)} (and their fields, e.g. inference.step_size)"
    cause = err.__cause__  # Hydra wraps OmegaConf's error, which names the key and the reason
    if isinstance(cause, OmegaConfBaseException) and getattr(cause, "full_key", None):
        return f"{cause.full_key}: {str(cause).splitlines()[0].strip()}"
    return f"bad override in {' '.join(overrides)!r}: {text}"


def _value(v) -> str:
    """``v`` in OmegaConf's interpolation grammar (the default argument of ``oc.select``)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (list, tuple)):  # a container default must be created (OmegaConf.resolve refuses a bare list)
        return "${oc.create:[" + ", ".join(_value(x) for x in v) + "]}"
    return repr(v) if isinstance(v, float) else str(v)


def _selecting(schema, block: str) -> dict:
    """A group option's node: each key of ``schema`` (a dataclass: the one place its default is written)
    as ``${oc.select:<block>.<key>,<default>}``, so an experiment's block (e.g. ``experiment.sghmc``)
    overrides the default and the command line overrides both. A key the schema ``inherits`` from another
    algorithm (:class:`inference.config.HyperParameters`) is looked up in that algorithm's block before the
    default."""
    out = {"name": schema.name}
    inherits = getattr(schema, "inherits", {})
    for f in dataclasses.fields(schema):
        if f.name != "name":
            value = _value(f.default if f.default is not dataclasses.MISSING else f.default_factory())
            for other, keys in reversed(inherits.items()):
                if f.name in keys:
                    value = f"${{oc.select:experiment.{other}.{f.name},{value}}}"
            out[f.name] = f"${{oc.select:{block}.{f.name},{value}}}"
    return out


def register_group_defaults() -> None:
    """Put every config group's generated defaults into Hydra's ``ConfigStore``: ``experiment/base`` (the
    typed :class:`experiments.schema.ExperimentConfig`), ``inference/_<name>_defaults`` (from
    :mod:`inference.config`), ``prior/_<name>_defaults`` and ``loss/_<name>_defaults`` (from
    :mod:`models.config`). The shipped ``conf/<group>/<name>.yaml`` files only name them in their defaults
    list (and document the option)."""
    store = ConfigStore.instance()
    store.store(group="experiment", name="base", node=ExperimentConfig)
    for name, schema in INFERENCE_SCHEMAS.items():
        store.store(group="inference", name=f"_{name}_defaults", node=_selecting(schema, f"experiment.{name}"))
    for name, spec in PRIOR_SPECS.items():
        node = _selecting(spec, "experiment.prior") | {"init_scale": "${oc.select:experiment.prior.init_scale,null}",
                                                     "generator": None, "discriminator": None, "path_overrides": []}
        store.store(group="prior", name=f"_{name}_defaults", node=node)
    for name, schema in LOSS_SCHEMAS.items():
        store.store(group="loss", name=f"_{name}_defaults", node=dataclasses.asdict(schema()) | {"name": name})
    shipped = set(_shipped("network"))
    for name, network in NETWORKS.items():  # an architecture registered without a yaml file is an option too
        node = _selecting(network.config, f"experiment.network.{name}")
        store.store(group="network", name=name if name not in shipped else f"_{name}_defaults", node=node)


def _block_override(override: str) -> str:
    """``experiment.<algorithm>.<key>=v`` (``experiment.prior.<key>=v``, ``experiment.network.<name>.<key>=v``)
    as ``++...``: an experiment's block holds only what the experiment changes, so a key it does not set must
    be added, not overridden; only the algorithm's (the prior families', the architecture's) own keys are
    accepted this way."""
    key, _, _ = override.partition("=")
    parts = key.split(".")
    if len(parts) == 4 and parts[:2] == ["experiment", "network"] and parts[2] in NETWORKS:
        known = {f.name for f in dataclasses.fields(NETWORKS[parts[2]].config)}
        return "++" + override if parts[3] in known and parts[3] != "name" else override
    if len(parts) == 3 and parts[0] == "experiment":
        if parts[1] in INFERENCE_SCHEMAS:
            known = {f.name for f in dataclasses.fields(INFERENCE_SCHEMAS[parts[1]])}
        elif parts[1] == "prior":
            known = {f.name for spec in PRIOR_SPECS.values() for f in dataclasses.fields(spec)} | {"init_scale"}
        else:
            return override
        if parts[2] in known and parts[2] != "name":
            return "++" + override
    return override


def load_config(overrides: list[str]) -> DictConfig:
    """Compose and validate the config for ``overrides``.

    Raises
    ------
    ConfigError
        With a one-line message for the user.
    """
    _check_names(overrides)
    overrides = [_block_override(ov) for ov in overrides]
    GlobalHydra.instance().clear()
    register_group_defaults()
    try:
        with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
            cfg = compose(config_name="config", overrides=overrides)
    except (HydraException, OmegaConfBaseException, ValueError, TypeError) as err:
        raise ConfigError(_explain(overrides, err)) from None
    return validate(cfg)
