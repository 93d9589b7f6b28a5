"""Where the jobs of a ``bgan-run -m`` sweep run, chosen with Hydra's standard override
``hydra/launcher=NAME`` and configured with ``hydra.launcher.KEY=VALUE``:

- ``basic`` (default): in this process, one after the other (Hydra's basic launcher);
- ``joblib``: local parallel lanes, ``joblib.Parallel`` with the keys and defaults of hydra-joblib-launcher
  (``n_jobs``, ``backend``, ``prefer``, ...);
- ``submitit_local``, ``submitit_slurm``: submitted through ``submitit`` with the keys and defaults of
  hydra-submitit-launcher (``timeout_min``, ``cpus_per_task``, ``gpus_per_node``, ``mem_gb``, ``partition``,
  ``account``, ``array_parallelism``, ...; ``submitit_folder`` defaults to ``<sweep parent>/.submitit/%j``),
  passed to ``submitit.AutoExecutor`` exactly as that plugin passes them.

``bgan-run`` builds and validates its sweeps itself (:func:`experiments.cli.multirun`: every job's config is
checked before any runs, a mistake is one line and exit code 2), so the launchers here take the validated
job list and only decide where each job runs: the keys are the plugins' own config dataclasses, the work is
joblib's and submitit's, and each job is :func:`run_job` -- the same ``load_config``
(:mod:`experiments.compose`) + ``run`` as a single ``bgan-run``. Run directories land where each job's
``out_dir`` says; ``bgan-summarize`` reads them from there.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from experiments.compose import load_config
from experiments.errors import ConfigError

#: The launchers and the Hydra plugin config dataclass whose keys and defaults each takes (import path).
LAUNCHERS = {
    "basic": None,
    "joblib": "hydra_plugins.hydra_joblib_launcher.config:JobLibLauncherConf",
    "submitit_local": "hydra_plugins.hydra_submitit_launcher.config:LocalQueueConf",
    "submitit_slurm": "hydra_plugins.hydra_submitit_launcher.config:SlurmQueueConf",
}
#: Exit code of a job that crashed in its worker (killed, out of memory, timed out): not the user's input.
CRASHED = 1


def split_launcher(overrides: list[str]) -> tuple[str, list[str], list[str]]:
    """Split ``hydra/launcher=NAME`` and ``hydra.launcher.KEY=VALUE`` from a sweep's overrides.

    Returns
    -------
    (str, list of str, list of str)
        The launcher's name (``basic`` when not given), its ``KEY=VALUE`` settings and the other overrides.

    Raises
    ------
    ConfigError
        For an unknown launcher, or a ``hydra.*`` override that is not a launcher setting.
    """
    name, settings, rest = "basic", [], []
    for ov in overrides:
        key, _, value = ov.partition("=")
        key = key.lstrip("+~")  # +hydra.launcher.n_jobs=2 sets the launcher too, never a job key
        if key in ("hydra/launcher", "hydra.launcher") and "=" in ov:
            if value not in LAUNCHERS:
                raise ConfigError(f"unknown hydra/launcher {value!r}; valid: {', '.join(LAUNCHERS)}")
            name = value
        elif key.startswith("hydra.launcher."):
            settings.append(f"{key.removeprefix('hydra.launcher.')}={value}")
        elif key.startswith("hydra"):
            raise ConfigError(f"{key}: bgan-run takes only hydra/launcher=NAME and hydra.launcher.KEY=VALUE "
                              f"from Hydra's own config (launchers: {', '.join(LAUNCHERS)})")
        else:
            rest.append(ov)
    if settings and name == "basic":
        raise ConfigError(f"hydra.launcher.{settings[0]} needs a launcher: hydra/launcher=one of "
                          f"{', '.join(n for n in LAUNCHERS if n != 'basic')}")
    return name, settings, rest


def launcher_config(name: str, settings: list[str], sweep_dir: Path) -> dict:
    """The launcher's settings: the Hydra plugin's dataclass defaults, then ``settings`` (``KEY=VALUE``).

    Raises
    ------
    ConfigError
        Naming a key the plugin does not have, or a value of the wrong type.
    """
    if LAUNCHERS[name] is None:
        return {}
    import importlib

    module, _, cls = LAUNCHERS[name].partition(":")
    schema = getattr(importlib.import_module(module), cls)
    valid = [f.name for f in dataclasses.fields(schema) if f.name != "_target_"]
    for setting in settings:
        key = setting.partition("=")[0]
        if key not in valid:
            raise ConfigError(f"hydra.launcher.{key}: not a setting of hydra/launcher={name}; valid: {', '.join(valid)}")
    try:
        cfg = OmegaConf.structured(schema)  # the plugin's types and defaults
        if "submitit_folder" in cfg:  # its defaults interpolate Hydra's own run keys, absent here
            cfg.submitit_folder, cfg.name = str(Path(sweep_dir) / ".submitit" / "%j"), "bgan-run"
        if "additional_parameters" in cfg and OmegaConf.is_missing(cfg, "additional_parameters"):
            cfg.additional_parameters = {}
        cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(settings))
        out = OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None)
        raise ConfigError(f"hydra.launcher{'.' + key if key else ''}: {str(err).splitlines()[0]}") from None
    out.pop("_target_", None)
    return out


def run_job(job: list[str]) -> tuple[int, str]:
    """One job of a sweep, wherever it runs: ``load_config(job)`` and :func:`experiments.run.run`.

    Returns
    -------
    (int, str)
        ``(0, run directory)``, or the exit code and one-line message of a single ``bgan-run`` (2: a mistake
        found at run time, 3: diverged).
    """
    try:
        cfg = load_config(job)
        from experiments.run import Diverged, run

        return 0, str(run(cfg))
    except ConfigError as err:
        return 2, str(err)
    except Diverged as err:
        return 3, str(err)
    except Exception as err:  # noqa: BLE001 -- out of memory, a library error: this job crashed, the sweep goes on
        text = " ".join(str(err).split())[:300] or type(err).__name__
        return CRASHED, f"crashed: {type(err).__name__}: {text}"


def prepare(name: str, settings: dict):
    """Build the executor of the launcher ``name`` from its settings (a ``joblib.Parallel`` pool, or a
    ``submitit.AutoExecutor`` with its parameters), so that a mistake in them is found before anything runs.

    Raises
    ------
    ConfigError
        When joblib or submitit rejects a setting, or submitit cannot build the executor (e.g.
        ``submitit_slurm`` where there is no Slurm); nothing has been run or submitted then.
    """
    if name == "joblib":
        from joblib import Parallel

        try:  # joblib checks its settings when the pool is made: the user's to fix, before anything runs
            if settings.get("n_jobs") == 0:
                raise ValueError("hydra.launcher.n_jobs=0 has no meaning (a number of lanes, or -1: every core)")
            return Parallel(**settings)
        except (ValueError, TypeError) as err:
            raise ConfigError(f"hydra/launcher=joblib: {' '.join(str(err).split())[:300]}") from None
    import submitit

    settings = dict(settings)
    cluster = name.removeprefix("submitit_")
    init = {"folder": settings.pop("submitit_folder")}
    if "max_num_timeout" in settings:  # as hydra-submitit-launcher builds its executor
        init[f"{cluster}_max_num_timeout"] = settings.pop("max_num_timeout")
    from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf

    base = {f.name for f in dataclasses.fields(BaseQueueConf)}
    try:  # no Slurm here, a setting submitit rejects: the user's to fix, before anything is submitted
        executor = submitit.AutoExecutor(cluster=cluster, **init)
        executor.update_parameters(**{k if k in base else f"{cluster}_{k}": v for k, v in settings.items()})
    except (RuntimeError, ValueError, NameError, TypeError) as err:
        raise ConfigError(f"hydra/launcher={name}: {' '.join(str(err).split())[:300]}") from None
    return executor


def launch(name: str, settings: dict, jobs: list[list[str]], executor=None) -> list[tuple[int, str]]:
    """Run every (validated) job with the launcher ``name`` and return each job's ``(code, message)``, in
    the order of ``jobs``. A job that crashed in its worker returns :data:`CRASHED` and a line naming its
    log. ``executor``: what :func:`prepare` built from ``settings`` (built here when not given).

    Raises
    ------
    ConfigError
        As :func:`prepare`; nothing has been run or submitted then.
    """
    if executor is None:
        executor = prepare(name, settings)
    if name == "joblib":
        from joblib import delayed

        try:
            return list(executor(delayed(run_job)(job) for job in jobs))
        except Exception as err:  # noqa: BLE001 -- a worker killed (out of memory): joblib stops the pool
            line = f"crashed: the joblib pool stopped ({type(err).__name__}: {' '.join(str(err).split())[:200]})"
            return [(CRASHED, line)] * len(jobs)
    submitted = executor.map_array(run_job, jobs)
    results = []
    for job, sub in zip(jobs, submitted, strict=True):
        try:
            results.append(sub.result())
        except Exception as err:  # noqa: BLE001 -- submitit's FailedJobError/UncompletedJobError and the like
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            results.append((CRASHED, f"job {' '.join(job)} crashed in its worker ({first[:200]}); log: "
                                     f"{os.fspath(sub.paths.stderr)}"))
    return results
