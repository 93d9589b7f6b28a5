"""``bgan-run``: compose a Hydra config from overrides, validate it, run it.

Usage: ``bgan-run [KEY=VALUE ...]``, e.g. ``bgan-run experiment=grid25 inference=mle seed=1``;
``bgan-run -m KEY=A,B ...`` (``--multirun``) runs every combination of comma-separated values (Hydra's
sweep syntax, also ``range(0,5)`` and ``choice(a,b)``), one after another, e.g.
``bgan-run -m experiment=grid25 inference=sghmc,mle seed=0,1,2``; with Hydra's ``hydra/launcher=joblib``
in parallel local lanes (``hydra.launcher.n_jobs=2``), with ``hydra/launcher=submitit_slurm`` on a Slurm
cluster (``hydra.launcher.partition=...``) or ``submitit_local`` (see :mod:`experiments.launch`).
``bgan-run --dry-run [-m] KEY=VALUE ...`` composes and validates every job, prints the ``out_dir`` each would
write (or keep, with ``skip_complete=true``) and exits without running or writing anything: the check the
reproduce scripts' smoke tests make (``BGAN='bgan-run --dry-run' bash scripts/reproduce_....sh``).
A user mistake (unknown group option or key, malformed override, wrong type, out-of-range value) prints
one line naming the bad key and the valid choices, exits with code 2 and writes nothing. A run whose
sampler diverges (a non-finite log density or weight) prints one line naming the iteration and particle,
keeps the draws before it in ``out_dir`` and exits with code 3.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from pathlib import Path

from hydra.errors import HydraException
import yaml
from omegaconf import DictConfig, OmegaConf

from experiments.compose import GROUPS, TOP_KEYS, config_dir, group_options, load_config, option_keys
from experiments.prior_config import PRIOR_TOP_KEYS
from experiments.errors import plain
from experiments.schema import ConfigError, upgrade_stored


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
    upgrade_stored(saved, current)  # keys moved (the network group) or added since: today's layout
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


def dry_run(job: list[str], cfg: DictConfig) -> None:
    """``--dry-run``: print what the validated job would do, reading only (:func:`complete_run`): keep a
    finished run of this config (``skip_complete=true``), replace another config's, or run. What only a run
    finds (the data directory's contents, the batch against the data's size) is not checked."""
    state, message = complete_run(cfg)
    if state in ("kept", "diverged") and not cfg.skip_complete:
        state = "replace"  # without skip_complete a finished run is run again
    verb = {"kept": "would keep", "diverged": "would keep (diverged)", "replace": "would rerun (replacing it)",
            "other": f"would rerun ({message.split(': ', 1)[-1]})"}.get(state, "would run")
    print(f"bgan-run: {verb} {cfg.out_dir}: {' '.join(job)}", flush=True)


def multirun(overrides: list[str], dry: bool = False) -> int:
    """Validate every job of a sweep first (any mistake: exit 2 before anything runs), then run them with the
    launcher of ``hydra/launcher=NAME`` (:mod:`experiments.launch`: in turn in this process by default, in
    joblib lanes, or through submitit). Returns 0, 3 if any job diverged, 2 if a job found a mistake at run
    time, 1 if a job crashed in its worker (the others still run). With ``dry``, only validate and print
    each job's ``out_dir`` (:func:`dry_run`); return 0."""
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
    if dry:
        for job, cfg in zip(jobs, configs, strict=True):
            dry_run(job, cfg)
        return 0
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


#: The experiment keys ``--help`` lists (every key: :class:`experiments.schema.ExperimentConfig`).
COMMON_EXPERIMENT_KEYS = ("iterations", "batch_size", "num_draws", "warmup_fraction", "dataset.data_dir",
                          "dataset.validation_fraction", "labels_per_class", "labels_seed")


def help_text(width: int = 100) -> str:
    """``bgan-run --help``: the module docstring as plain text, then every config group's options (the default
    marked) and their keys."""
    import textwrap

    defaults = {}
    for entry in yaml.safe_load((Path(config_dir()) / "config.yaml").read_text())["defaults"]:
        if isinstance(entry, dict):
            defaults.update(entry)
    lines = [plain(__doc__.strip()), "",
             "Config groups: choose an option with GROUP=OPTION and set one of its keys with GROUP.KEY=VALUE,",
             "e.g. bgan-run experiment=grid25 inference=mle inference.learning_rate=1e-3 seed=1.",
             f"Top-level keys: {', '.join(TOP_KEYS)}.", ""]

    def wrapped(head: str, body: str, indent: int) -> list[str]:
        return textwrap.wrap(body, width, initial_indent=f"{head:<{indent}}", subsequent_indent=" " * indent)

    for group in GROUPS:
        options = group_options(group)
        lines += wrapped(f"{group} (default {defaults.get(group)}):", ", ".join(options), 32)
        if group == "experiment":
            keys = ", ".join(f"experiment.{k}" for k in COMMON_EXPERIMENT_KEYS)
            lines += wrapped("  keys set most:", keys + " (every key: experiments/schema.py)", 32)
        else:
            for option in options:
                keys = option_keys(group, option)
                lines += wrapped(f"  {option}:", ", ".join(keys) if keys else "(no keys)", 32)
            if group == "prior":
                lines += wrapped("  every prior:", ", ".join(PRIOR_TOP_KEYS) + " (per-network and per-path priors)", 32)
        lines.append("")
    return "\n".join(lines).rstrip()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``bgan-run``; returns the exit code (2 for a user mistake, 3 for a diverged run)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(help_text())
        return 0
    dry = "--dry-run" in argv  # anywhere: no override starts with "--"
    argv = [a for a in argv if a != "--dry-run"]
    if argv and argv[0] in ("-m", "--multirun"):
        try:
            return multirun(argv[1:], dry)
        except ConfigError as err:
            print(f"bgan-run: error: {err}", file=sys.stderr)
            return 2
    try:
        cfg = load_config(argv)
        if dry:
            dry_run(argv, cfg)
            return 0
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
