"""``bgan-run``: compose a Hydra config from overrides, validate it, run it.

Usage: ``bgan-run [KEY=VALUE ...]``, e.g. ``bgan-run experiment=grid25 inference=mle seed=1``;
``bgan-run -m KEY=A,B ...`` (``--multirun``) runs every combination of comma-separated values (Hydra's
sweep syntax, also ``range(0,5)`` and ``choice(a,b)``), one after another, e.g.
``bgan-run -m experiment=grid25 inference=sghmc,mle seed=0,1,2``; with Hydra's ``hydra/launcher=joblib``
in parallel local lanes (``hydra.launcher.n_jobs=2``), with ``hydra/launcher=submitit_slurm`` on a Slurm
cluster (``hydra.launcher.partition=...``) or ``submitit_local`` (see :mod:`experiments.launch`).
A user mistake (unknown group option or key, malformed override, wrong type, out-of-range value) prints
one line naming the bad key and the valid choices, exits with code 2 and writes nothing. A run whose
sampler diverges (a non-finite log density or weight) prints one line naming the iteration and particle,
keeps the draws before it in ``out_dir`` and exits with code 3.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import sys
from pathlib import Path
from importlib import resources

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException
import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from experiments.schema import ConfigError, ExperimentConfig, RunConfig, validate
from inference.config import INFERENCE_CONFIGS, INFERENCE_SCHEMAS
from models.config import LOSS_SCHEMAS, PRIOR_SPECS

GROUPS = ("experiment", "inference", "prior", "loss")
TOP_KEYS = ("seed", "iterations", "out_dir", "progress", "checkpoint_every", "resume", "skip_complete",
            "distributed")


def config_dir() -> str:
    return str(resources.files("experiments") / "conf")


def group_options(group: str) -> list[str]:
    """Names of the shipped options of a config group (the yaml files in ``conf/<group>``)."""
    return sorted(p.name.removesuffix(".yaml") for p in (resources.files("experiments") / "conf" / group).iterdir()
                  if p.name.endswith(".yaml"))


def _explain(overrides: list[str], err: Exception) -> str:
    """Turn a Hydra composition error into one line naming the bad key and the valid choices."""
    for ov in overrides:
        key, _, value = ov.lstrip("+~").partition("=")
        if key.startswith("hydra"):
            raise ConfigError(f"{key}: Hydra's own keys are not bgan-run's; a sweep (bgan-run -m) takes "
                              "hydra/launcher=NAME and hydra.launcher.KEY=VALUE (docs/scaling.md)")
        if key in GROUPS and value not in group_options(key):
            return f"unknown {key} {value!r}; valid: {', '.join(group_options(key))}"
    text = " ".join(str(err).split())
    if "is not in struct" in text or "Could not override" in text:
        keys = [ov.lstrip("+~").partition("=")[0] for ov in overrides]
        bad = max((k for k in keys if f"'{k}'" in text), key=len, default=None)
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
            value = _value(f.default)
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


def _block_override(override: str) -> str:
    """``experiment.<algorithm>.<key>=v`` (or ``experiment.prior.<key>=v``) as ``++...``: an experiment's
    block holds only what the experiment changes, so a key it does not set must be added, not overridden;
    only the algorithm's (the prior families') own keys are accepted this way."""
    key, _, _ = override.partition("=")
    parts = key.split(".")
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
    for ov in overrides:
        if "=" not in ov:
            raise ConfigError(f"malformed override {ov!r}: expected KEY=VALUE (e.g. experiment=grid25)")
    for ov in overrides:
        key, _, value = ov.lstrip("+~").partition("=")
        if key.startswith("hydra"):
            raise ConfigError(f"{key}: Hydra's own keys are not bgan-run's; a sweep (bgan-run -m) takes "
                              "hydra/launcher=NAME and hydra.launcher.KEY=VALUE (docs/scaling.md)")
        if key in GROUPS and value not in group_options(key):
            raise ConfigError(f"unknown {key} {value!r}; valid: {', '.join(group_options(key))}")
    overrides = [_block_override(ov) for ov in overrides]
    GlobalHydra.instance().clear()
    register_group_defaults()
    try:
        with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
            cfg = compose(config_name="config", overrides=overrides)
    except (HydraException, OmegaConfBaseException, ValueError, TypeError) as err:
        raise ConfigError(_explain(overrides, err)) from None
    return validate(cfg)


def start_distributed(cfg: DictConfig) -> None:
    """``jax.distributed.initialize`` with the config's ``distributed`` keys (the null ones detected by JAX),
    before any JAX computation; CPU devices talk through gloo. Nothing without ``distributed.enabled``.

    Raises
    ------
    ConfigError
        If JAX cannot start the distributed system with these keys.
    """
    if not cfg.distributed.enabled:
        return
    import jax

    kwargs = {k: v for k, v in cfg.distributed.items() if k != "enabled" and v is not None}
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    try:
        jax.distributed.initialize(**kwargs)
    except (RuntimeError, ValueError) as err:
        raise ConfigError(f"distributed: jax.distributed.initialize({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) "
                          f"failed: {' '.join(str(err).split())[:300]}") from None


def expand_sweeps(overrides: list[str]) -> list[list[str]]:
    """Every combination of a Hydra sweep (``seed=0,1,2 inference=sghmc,mle``: 6 override lists), in the
    order of Hydra's basic sweeper (the last key varies fastest).

    Raises
    ------
    ConfigError
        For an override Hydra's parser rejects.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    for ov in overrides:
        if "=" not in ov:
            raise ConfigError(f"malformed override {ov!r}: expected KEY=VALUE (e.g. experiment=grid25)")
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as err:
        raise ConfigError(f"bad override in {' '.join(overrides)!r}: {' '.join(str(err).split())}") from None
    axes = [[f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()] if o.is_sweep_override()
            else [o.input_line] for o in parsed]
    return [list(job) for job in itertools.product(*axes)]


def _fill_new_keys(saved: dict, current: dict, defaults: dict) -> None:
    """Give ``saved`` (an older run's config) every key of ``current`` it lacks whose current value is the
    schema default (a key added to the schema after that run; its default keeps the older behaviour)."""
    for key, value in current.items():
        if key not in saved:
            if key in defaults and defaults[key] == value:
                saved[key] = value
        elif isinstance(value, dict) and isinstance(saved[key], dict):
            _fill_new_keys(saved[key], value, defaults.get(key) if isinstance(defaults.get(key), dict) else {})


def complete_run(cfg: DictConfig) -> tuple[str, str]:
    """Whether ``cfg.out_dir`` holds a complete run (``metrics.json`` and ``config.yaml``) of this config:
    what ``skip_complete=true`` keeps. Reads only.

    The configs are compared as a resume compares them (:func:`experiments.run.resume_key`: ``progress``,
    ``resume``, ``skip_complete`` and ``distributed`` aside), ``out_dir`` aside too (a run moved or linked
    there is the same run); a key the schema gained after the run was written counts as equal where this
    config leaves it at its schema default.

    Returns
    -------
    (str, str)
        ``("kept", message)``; ``("diverged", message)`` for a complete run that diverged (the same config
        diverges again at the same iteration; exit code 3 as for a fresh run); ``("other", message)`` when
        ``out_dir`` holds another config's complete run (it is run again and replaced); ``("none", "")``
        when there is no complete run.
    """
    from experiments.run import resume_key
    from experiments.rundir.store import _differences

    out = Path(cfg.out_dir)
    saved_path, metrics_path = out / "config.yaml", out / "metrics.json"
    if not (metrics_path.is_file() and saved_path.is_file()):
        return "none", ""
    try:
        saved = yaml.safe_load(saved_path.read_text())
        diverged = (json.loads(metrics_path.read_text()) or {}).get("diverged")
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError):
        return "other", f"rerunning {out}: its config.yaml or metrics.json cannot be read"
    if not isinstance(saved, dict):
        return "other", f"rerunning {out}: its config.yaml is not a config"
    current = OmegaConf.to_container(cfg, resolve=True)
    defaults = OmegaConf.to_container(OmegaConf.structured(RunConfig))
    defaults["inference"] = dataclasses.asdict(INFERENCE_CONFIGS[cfg.inference.name])
    _fill_new_keys(saved, current, defaults)
    saved["out_dir"] = cfg.out_dir
    was, now = yaml.safe_load(resume_key(OmegaConf.create(saved))), yaml.safe_load(resume_key(cfg))
    if was != now:  # compared as dicts: key order aside
        diff = _differences(was, now)
        more = f"; {len(diff) - 3} more" if len(diff) > 3 else ""
        return "other", f"rerunning {out}: it holds another config's run ({'; '.join(diff[:3])}{more})"
    if diverged:
        return "diverged", (f"kept {out}: it holds this config's complete run, which diverged at iteration "
                            f"{diverged.get('iteration')} (skip_complete=true)")
    return "kept", f"kept {out}: it holds this config's complete run (skip_complete=true)"


def skip_if_complete(cfg: DictConfig, job: str = "") -> int | None:
    """With ``skip_complete=true``: print what :func:`complete_run` found and return the exit code of a kept
    run (0, or 3 if it diverged); ``None`` when the job is to run."""
    state, message = complete_run(cfg) if cfg.skip_complete else ("none", "")
    if message:
        print(f"bgan-run: {message}{f' ({job})' if job else ''}", flush=True)
    return {"kept": 0, "diverged": 3}.get(state)


def multirun(overrides: list[str]) -> int:
    """Validate every job of a sweep first (any mistake: exit 2 before anything runs), then run them with the
    launcher of ``hydra/launcher=NAME`` (:mod:`experiments.launch`: in turn in this process by default, in
    joblib lanes, or through submitit). Returns 0, 3 if any job diverged, 2 if a job found a mistake at run
    time, 1 if a job crashed in its worker (the others still run)."""
    from experiments.launch import launch, launcher_config, prepare, split_launcher

    launcher, settings, overrides = split_launcher(overrides)
    jobs = expand_sweeps(overrides)
    configs = []
    for job in jobs:
        try:
            configs.append(load_config(job))
        except ConfigError as err:
            raise ConfigError(f"{err} (in job {' '.join(job)})") from None
    dirs = [c.out_dir for c in configs]
    if len(set(dirs)) < len(dirs):
        same = next(d for d in dirs if dirs.count(d) > 1)
        raise ConfigError(f"out_dir={same!r} is invalid: several jobs of the sweep would write it; put the swept "
                          "keys in it, e.g. out_dir='runs/sweep/${inference.name}-seed${seed}'")
    sweep_dir = Path(os.path.commonpath([str(Path(d).resolve().parent) for d in dirs]))
    settings = launcher_config(launcher, settings, sweep_dir)
    if launcher != "basic" and configs[0].distributed.enabled:
        raise ConfigError(f"distributed.enabled=true with hydra/launcher={launcher}: a distributed run is "
                          "started once per process by the cluster's own launcher (docs/scaling.md)")
    executor = prepare(launcher, settings) if launcher != "basic" else None  # its settings checked now
    code, todo = 0, []
    for job, cfg in zip(jobs, configs, strict=True):
        kept = skip_if_complete(cfg, " ".join(job))
        if kept is None:
            todo.append((job, cfg))
        else:
            code = max(code, kept)
    if not todo:
        return code
    jobs, configs = [j for j, _ in todo], [c for _, c in todo]
    if launcher != "basic":
        for i, job in enumerate(jobs):
            print(f"bgan-run: [{i + 1}/{len(jobs)}] {' '.join(job)} (hydra/launcher={launcher})", flush=True)
        for job, (job_code, message) in zip(jobs, launch(launcher, settings, jobs, executor), strict=True):
            if job_code == 0:
                print(f"bgan-run: wrote {message}", flush=True)
            else:
                print(f"bgan-run: error: {message} (in job {' '.join(job)})", file=sys.stderr, flush=True)
            code = max(code, job_code)
        return code
    start_distributed(configs[0])
    from experiments.run import Diverged, run

    for i, (job, cfg) in enumerate(zip(jobs, configs, strict=True)):
        print(f"bgan-run: [{i + 1}/{len(jobs)}] {' '.join(job)}", flush=True)
        try:
            print(f"bgan-run: wrote {run(cfg)}", flush=True)
        except (ConfigError, Diverged) as err:
            print(f"bgan-run: error: {err}", file=sys.stderr, flush=True)
            code = max(code, 3 if isinstance(err, Diverged) else 2)
    return code


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``bgan-run``; returns the exit code (2 for a user mistake, 3 for a diverged run)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        print("\ngroups: " + "; ".join(f"{g}: {', '.join(group_options(g))}" for g in GROUPS))
        return 0
    if argv and argv[0] in ("-m", "--multirun"):
        try:
            return multirun(argv[1:])
        except ConfigError as err:
            print(f"bgan-run: error: {err}", file=sys.stderr)
            return 2
    try:
        cfg = load_config(argv)
        start_distributed(cfg)
        from experiments.run import Diverged, run  # heavy imports only after the config is valid
    except ConfigError as err:
        print(f"bgan-run: error: {err}", file=sys.stderr)
        return 2
    kept = skip_if_complete(cfg)
    if kept is not None:
        return kept
    try:
        out = run(cfg)
    except ConfigError as err:
        print(f"bgan-run: error: {err}", file=sys.stderr)
        return 2
    except Diverged as err:
        print(f"bgan-run: error: {err}", file=sys.stderr)
        return 3
    print(f"bgan-run: wrote {out}")
    return 0


def console_main() -> None:
    """``bgan-run`` console script."""
    sys.exit(main())


if __name__ == "__main__":
    console_main()
