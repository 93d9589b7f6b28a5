"""Every config key's default is written once: in the dataclass of its component (``inference/config.py``,
``models/config.py``, ``experiments.schema.ExperimentConfig``). The builders' and the kernels' signatures
take it from there, the shipped group options only name the generated node, no experiment file restates a
value it already inherits, and a range (``n_critic >= 1``) is checked in one place."""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import textwrap
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from experiments.compose import config_dir, group_options
from experiments.schema import ExperimentConfig
from inference.bayesgan import KERNELS
from inference.config import INFERENCE_CONFIGS, INFERENCE_SCHEMAS
from inference.ebgan import msgld
from inference.registry import INFERENCE
from models.config import LOSS_SCHEMAS, PRIOR_SPECS
from models.losses import LOSSES
from models.networks import NETWORKS
from models.priors import PRIORS

CONF = Path(config_dir())


def _raw(group: str, name: str) -> dict:
    return yaml.safe_load((CONF / group / f"{name}.yaml").read_text()) or {}


@pytest.mark.parametrize("group", ["inference", "prior", "loss", "network"])
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
    for name, network in NETWORKS.items():  # an architecture's keys: its builder's defaults are its config's
        keys = {f.name for f in dataclasses.fields(network.config)}
        for key, value in _signature_defaults(network.build).items():
            if key in keys:
                expected = _default(network.config, key)
                assert (list(value) if isinstance(value, tuple) else value) == expected, (name, key)
                checked += 1
    assert checked >= 30


def _served() -> dict:
    """Every kernel and builder function of :mod:`inference` -> the algorithms (config names) it serves: the
    registry's entries unwrapped (``bayesgan`` serves sghmc, sgld and, through the controls' functions, their
    keys too), the SG-MCMC kernels of ``inference.bayesgan.KERNELS`` and EBGAN's MSGLD kernel."""
    served = {}
    for name, builder in INFERENCE.items():
        while isinstance(builder, functools.partial):
            builder = builder.func
        served.setdefault(builder, set()).add(name)
    for name, kernel in KERNELS.items():
        served.setdefault(kernel, set()).add(name)
    served.setdefault(msgld, set()).add("ebgan")
    return served


#: Config keys a signature may default differently: ``num_warmup`` is null in a config (a fraction of the run,
#: resolved by the schema before any builder is called) and an integer (0: none) in the API.
API_ONLY_DEFAULTS = ("num_warmup",)


def _keyword_defaults(func) -> dict[str, ast.expr]:
    """``{parameter: its default's expression}`` from ``func``'s source."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    args = tree.body[0].args
    positional = args.posonlyargs + args.args
    pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
    return {a.arg: d for a, d in pairs}


def test_kernels_and_builders_write_no_hyper_parameter_default_of_their_own():
    """A kernel's or builder's parameter that is a config key either has no default, defaults to ``None`` (not
    given), or takes it from :func:`inference.config.default`, and that default is the config's value for
    every algorithm the function serves (the sghmc/sgld kernels' ``preconditioner`` was ``"none"`` against
    the config's ``"rmsprop"``; bayesgan's ``coupling`` and the ML twin's dropout keys were literals)."""
    keys = {f.name for c in INFERENCE_SCHEMAS.values() for f in dataclasses.fields(c)} - {"name", *API_ONLY_DEFAULTS}
    served = _served()
    assert {"sghmc", "sgld", "bayesgan", "bayesgan_svi", "mle_gan", "mc_dropout_gan", "ensemble_gan", "ebgan",
            "msgld", "independent_map", "coupled_ensemble"} <= {f.__name__ for f in served}
    checked = 0
    for func, names in served.items():
        params = inspect.signature(func).parameters
        for key, node in _keyword_defaults(func).items():
            if key not in keys:
                continue
            value = params[key].default
            written = isinstance(node, ast.Call) and getattr(node.func, "id", None) == "default"
            assert written or value is None, f"{func.__module__}.{func.__name__}({key}={ast.unparse(node)}): a literal"
            if value is None:
                continue
            for name in names:
                if hasattr(INFERENCE_CONFIGS[name], key):
                    assert value == getattr(INFERENCE_CONFIGS[name], key), (func.__name__, name, key, value)
                    checked += 1
    assert checked >= 40


def test_n_critic_is_range_checked_once_by_the_configs():
    """``n_critic >= 1`` is the configs' check (:class:`inference.config.HyperParameters`), for every algorithm
    with the key; no module of the project compares ``n_critic`` with 0 or 1 to refuse it or raises an error
    naming it (the builders and ``critic_steps`` each did). The CLI's one-line exit-2 error for a bad value is
    tested in test_config_fuzz.py."""
    with_key = [name for name, schema in INFERENCE_SCHEMAS.items() if "n_critic" in schema.__dataclass_fields__]
    assert len(with_key) == len(INFERENCE_SCHEMAS)
    for name in with_key:
        with pytest.raises(ValueError, match=r"inference\.n_critic=0 is invalid"):
            INFERENCE_SCHEMAS[name](n_critic=0).check()
    root = Path(__file__).resolve().parents[2]
    refusals = []
    for path in sorted(p for package in ("models", "inference", "experiments") for p in (root / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            text = ast.unparse(node) if isinstance(node, (ast.Compare, ast.Raise)) else ""
            if isinstance(node, ast.Compare) and "n_critic" in text and any(
                    isinstance(op, (ast.Lt, ast.GtE, ast.LtE)) for op in node.ops):
                refusals.append(f"{path.relative_to(root)}:{node.lineno}: {text}")
            if isinstance(node, ast.Raise) and "n_critic" in text:
                refusals.append(f"{path.relative_to(root)}:{node.lineno}: {text}")
    assert not refusals, refusals


def _default(schema, field: str):
    f = {f.name: f for f in dataclasses.fields(schema)}[field]
    return f.default if f.default is not dataclasses.MISSING else f.default_factory()


def _inherited(name: str):
    """The experiment node ``name`` inherits (its defaults list's parent, resolved recursively)."""
    # the parent, and overrides of other groups' options (``override /network@_global_.network: dcgan``)
    parents = [p for p in _raw("experiment", name).get("defaults", []) if p != "_self_" and isinstance(p, str)]
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
        if before is None and head == "network":  # an architecture's block: that architecture's default
            arch, _, field = leaf.partition(".")
            before = _default(NETWORKS[arch].config, field)
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
