"""Every config key's default is written once: in the dataclass of its component (``inference/config.py``,
``models/config.py``, ``experiments.schema.ExperimentConfig``). The builders' signatures take it from
there, the shipped group options only name the generated node, and no experiment file restates a value
it already inherits."""

from __future__ import annotations

import dataclasses
import functools
import inspect
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from experiments.compose import config_dir, group_options
from experiments.schema import ExperimentConfig
from inference.config import INFERENCE_CONFIGS
from inference.registry import INFERENCE
from models.config import LOSS_SCHEMAS, PRIOR_SPECS
from models.losses import LOSSES
from models.priors import PRIORS

CONF = Path(config_dir())


def _raw(group: str, name: str) -> dict:
    return yaml.safe_load((CONF / group / f"{name}.yaml").read_text()) or {}


@pytest.mark.parametrize("group", ["inference", "prior", "loss"])
def test_group_options_name_the_generated_defaults_and_hold_no_values(group):
    for name in group_options(group):
        raw = _raw(group, name)
        assert set(raw) == {"defaults"}, (group, name, sorted(raw))
        assert raw["defaults"] == [f"_{name}_defaults", "_self_"]


def _signature_defaults(builder) -> dict:
    fixed = {}
    while isinstance(builder, functools.partial):
        fixed = builder.keywords | fixed
        builder = builder.func
    params = inspect.signature(builder).parameters
    return {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty} | fixed


def test_builders_take_their_defaults_from_the_config_dataclasses():
    checked = 0
    for name, builder in INFERENCE.items():
        config = INFERENCE_CONFIGS[name]
        for key, value in _signature_defaults(builder).items():
            if key in ("num_warmup",) or not hasattr(config, key):
                continue  # num_warmup: null in a config means a fraction of the run, 0 in the API
            assert value == getattr(config, key), (name, key, value)
            checked += 1
    for name, builder in PRIORS.items():
        for key, value in _signature_defaults(builder).items():
            assert value == getattr(PRIOR_SPECS[name], key), (name, key)
            checked += 1
    for name, builder in LOSSES.items():
        for key, value in _signature_defaults(builder).items():
            assert value == getattr(LOSS_SCHEMAS[name], key), (name, key)
            checked += 1
    assert checked >= 30


def _inherited(name: str):
    """The experiment node ``name`` inherits (its defaults list's parent, resolved recursively)."""
    parents = [p for p in _raw("experiment", name).get("defaults", []) if p != "_self_"]
    assert len(parents) == 1, name
    if parents[0] == "base":
        return OmegaConf.structured(ExperimentConfig)
    parent = parents[0]
    own = {k: v for k, v in _raw("experiment", parent).items() if k != "defaults"}
    return OmegaConf.merge(_inherited(parent), own)


def _leaves(node: dict, prefix: str = ""):
    for k, v in node.items():
        if isinstance(v, dict) and v:
            yield from _leaves(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


@pytest.mark.parametrize("experiment", group_options("experiment"))
def test_experiment_files_do_not_restate_what_they_inherit(experiment):
    inherited = _inherited(experiment)
    own = {k: v for k, v in _raw("experiment", experiment).items() if k != "defaults"}
    restated = []
    for key, value in _leaves(own):
        before = OmegaConf.select(inherited, key, default=None)
        head, _, leaf = key.partition(".")
        if before is None and head in INFERENCE_CONFIGS and "." not in leaf:
            before = getattr(INFERENCE_CONFIGS[head], leaf, None)  # an algorithm's block: its default
        if before is None and head == "prior":
            before = getattr(PRIOR_SPECS["normal"], leaf, None)
        restated.append(f"{key}: {value!r}") if value == before else None
    assert not restated, f"experiment/{experiment}.yaml restates what it inherits: {', '.join(restated)}"


def test_dataset_defaults_are_the_builders():
    """Every dataset key but ``name`` defaults to null in the schema (the dataset builder's signature is the
    source), and no experiment file sets a dataset key to its builder's default."""
    from experiments.datasets import DATASETS
    from experiments.schema import DatasetConfig

    assert all(f.default is None for f in dataclasses.fields(DatasetConfig) if f.name != "name")
    for experiment in group_options("experiment"):
        chain, name = [], experiment
        while name != "base":  # the dataset keys this file sets, and the dataset it ends up with
            chain.append(_raw("experiment", name))
            name = [p for p in chain[-1]["defaults"] if p != "_self_"][0]
        dataset = next(r["dataset"]["name"] for r in chain if "name" in r.get("dataset", {}))
        params = inspect.signature(DATASETS[dataset]).parameters
        own = _raw("experiment", experiment).get("dataset", {})
        for key, value in own.items():
            if key in params and params[key].default is not inspect.Parameter.empty:
                assert value != params[key].default, f"experiment/{experiment}.yaml restates dataset.{key}: {value!r}"


def test_every_algorithm_has_an_experiment_block_and_inherits_only_real_keys():
    """``experiment.<name>.<key>=`` works for every registered algorithm, and an ``inherits`` entry names an
    algorithm and keys both of them have (a typo would silently fall back to the default)."""
    blocks = {f.name for f in dataclasses.fields(ExperimentConfig)}
    for name, config in INFERENCE_CONFIGS.items():
        assert name in blocks, name
        own = {f.name for f in dataclasses.fields(config)}
        for other, keys in type(config).inherits.items():
            theirs = {f.name for f in dataclasses.fields(INFERENCE_CONFIGS[other])}
            assert set(keys) <= own & theirs, (name, other, sorted(set(keys) - own - theirs))
