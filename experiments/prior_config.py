"""The ``prior`` group of a config: each family's typed schema, and each network's prior spec with its
per-path overrides (:func:`resolve_priors`), checked by the family's own ranges (:mod:`models.config`).

A prior group is a family's hyper-parameters (its "spec", :data:`models.config.PRIOR_SPECS`) plus the group's
top level: ``init_scale``, per-network overrides (``generator``, ``discriminator``) and per-parameter-path
overrides (``path_overrides``). :mod:`experiments.schema` validates a config with it and
:mod:`experiments.build` builds the priors from it. Imports no JAX.
"""

from __future__ import annotations

import fnmatch
from dataclasses import field, make_dataclass
from typing import Any, Optional

from omegaconf import DictConfig, OmegaConf

from experiments.errors import ConfigError, check, merge
from models.config import PRIOR_SPECS

PRIOR_TOP_KEYS = ("init_scale", "generator", "discriminator", "path_overrides")
NETWORKS = ("generator", "discriminator")


def _prior_schema(spec):
    """The ``prior=<family>`` group's dataclass: the family's spec ``spec`` and the group's top-level keys."""
    return make_dataclass(f"{spec.__name__}Config", [
        ("init_scale", Optional[float], None),
        ("generator", Optional[dict[str, Any]], None),
        ("discriminator", Optional[dict[str, Any]], None),
        ("path_overrides", list[dict[str, Any]], field(default_factory=list)),
    ], bases=(spec,))


PRIOR_SCHEMAS = {name: _prior_schema(spec) for name, spec in PRIOR_SPECS.items()}


def check_spec(spec, key: str) -> None:
    """The family's own range checks (:mod:`models.config`, which the prior builders call too), naming
    ``key``'s sub-keys. Raises ConfigError."""
    values = {k: v for k, v in spec.items() if k in PRIOR_SPECS[spec.name].__dataclass_fields__}
    try:
        PRIOR_SPECS[spec.name](**values).check(key)
    except ValueError as err:
        raise ConfigError(str(err)) from None


def _spec(base: dict, override, key: str) -> DictConfig:
    """``override`` (a dict of spec keys) on top of ``base``; a new ``name`` keeps only the base keys that
    family has. Raises ConfigError naming ``key``."""
    if not isinstance(override, (dict, DictConfig)):
        raise ConfigError(f"{key}={override!r} is invalid: must be a mapping of prior keys, e.g. {{name: laplace, scale: 0.5}}")
    override = dict(override)
    name = override.get("name", base["name"])
    check(name in PRIOR_SPECS, f"{key}.name", f"one of {', '.join(sorted(PRIOR_SPECS))}", name)
    fields = PRIOR_SPECS[name].__dataclass_fields__
    merged = {k: v for k, v in base.items() if k in fields} | override | {"name": name}
    spec = merge(PRIOR_SPECS[name], merged, key)
    check_spec(spec, key)
    return spec


def resolve_priors(prior: DictConfig) -> dict[str, tuple[dict, list[tuple[str, dict]]]]:
    """Each network's prior spec and its per-path overrides, from the ``prior`` group.

    ``prior``'s own keys are the default for both networks; ``prior.generator`` / ``prior.discriminator``
    override keys for one network (``{name: laplace, scale: 0.5}``); each entry of ``prior.path_overrides``
    is ``{path: GLOB, ...keys}``, applied on top of the matching network's spec to the sites whose full name
    (``generator__layers.2.kernel``) matches ``GLOB`` (``fnmatch``; the last match wins).

    Returns
    -------
    dict
        ``{"generator": (spec, [(glob, spec), ...]), "discriminator": ...}``; specs are plain dicts with
        ``name`` and the family's keyword hyper-parameters (for :func:`models.priors.build_prior`).

    Raises
    ------
    ConfigError
        For an unknown family or key, a bad value, or a path glob that names neither network.
    """
    top = OmegaConf.to_container(prior)
    base = {k: v for k, v in top.items() if k not in PRIOR_TOP_KEYS}
    out = {}
    for net in NETWORKS:
        spec = OmegaConf.to_container(_spec(base, top.get(net) or {}, f"prior.{net}"))
        out[net] = (spec, [])
    for i, entry in enumerate(top.get("path_overrides") or []):
        key = f"prior.path_overrides[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise ConfigError(f"{key}={entry!r} is invalid: must be a mapping with a 'path' glob, e.g. "
                              "{path: 'generator__layers.2.*', scale: 0.1}")
        pattern = entry["path"]
        nets = [n for n in NETWORKS if fnmatch.fnmatchcase(n, pattern.split("__", 1)[0])]
        check(bool(nets), f"{key}.path", "a glob on site names starting 'generator__' or 'discriminator__' "
               "(e.g. 'generator__layers.2.*')", pattern)
        rest = {k: v for k, v in entry.items() if k != "path"}
        for net in nets:
            out[net][1].append((pattern, OmegaConf.to_container(_spec(out[net][0], rest, key))))
    return out
