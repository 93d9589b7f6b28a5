"""``bgan-run -m`` through Hydra's launcher overrides (experiments/launch.py): ``hydra/launcher=joblib``
(local lanes), ``submitit_local`` and ``submitit_slurm`` (submitit), with the plugins' own keys, the same
one-line exit-2 contract, and run directories that ``bgan-summarize`` reads wherever they land."""

from __future__ import annotations

import pytest
import submitit  # noqa: F401 -- imported before any test captures stderr: its logger keeps the stream it first sees
import xarray as xr

from experiments.cli import main
from experiments.summarize import main as summarize_main

SMALL = ["experiment=ring8", "iterations=30", "experiment.num_draws=3", "experiment.network.mlp.generator_hidden=[16]",
         "experiment.network.mlp.discriminator_hidden=[16]"]


@pytest.mark.parametrize("args,message", [
    (["hydra/launcher=pbs"], "unknown hydra/launcher 'pbs'; valid: basic, joblib, submitit_local, submitit_slurm"),
    (["hydra/launcher=joblib", "hydra.launcher.lanes=2"], "hydra.launcher.lanes: not a setting of hydra/launcher=joblib"),
    (["hydra/launcher=submitit_slurm", "hydra.launcher.timeout_min=soon"], "hydra.launcher.timeout_min: "),
    (["hydra.launcher.n_jobs=2"], "needs a launcher"),
    (["hydra.sweep.dir=x"], "bgan-run takes only hydra/launcher=NAME"),
    (["hydra/launcher=joblib", "hydra.launcher.backend=nope"], "hydra/launcher=joblib: Invalid backend: nope"),
    (["hydra/launcher=joblib", "hydra.launcher.n_jobs=0"], "hydra.launcher.n_jobs=0 has no meaning"),
    (["+hydra.launcher.n_jobs=2"], "needs a launcher"),
    (["hydra/launcher=joblib", "inference.step_size=-1"], "inference.step_size"),
    (["hydra/launcher=joblib", "distributed.enabled=true"], "a distributed run is started once per process"),
])
def test_bad_launcher_overrides_are_one_line_and_exit_2_before_anything_runs(tmp_path, capsys, args, message):
    assert main(["-m", *SMALL, "seed=0,1", f"out_dir={tmp_path}/r-${{seed}}", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not list(tmp_path.iterdir())


def test_slurm_settings_reach_submitit_as_the_hydra_plugin_passes_them(tmp_path, monkeypatch, capsys):
    """Base keys as they are, Slurm keys with submitit's ``slurm_`` prefix -- checked by submitit's own
    SlurmExecutor, which rejects a parameter it does not know; the jobs are captured instead of submitted."""
    import submitit

    seen = {}

    class Done:
        def __init__(self, job):
            self.job = job

        def result(self):
            return 0, f"ran {' '.join(self.job)}"

    def fake_map_array(self, fn, jobs):
        seen["params"] = dict(self._executor.parameters)
        seen["folder"] = str(self._executor.folder)
        return [Done(j) for j in jobs]

    monkeypatch.setattr(submitit.AutoExecutor, "map_array", fake_map_array)
    monkeypatch.setattr(submitit.SlurmExecutor, "affinity", classmethod(lambda cls: 2))  # as if srun were here
    assert main(["-m", *SMALL, "seed=0,1", f"out_dir={tmp_path}/runs/r-${{seed}}", "hydra/launcher=submitit_slurm",
                 "hydra.launcher.partition=gpu", "hydra.launcher.timeout_min=30", "hydra.launcher.gpus_per_node=1",
                 "hydra.launcher.account=lab"]) == 0
    params = seen["params"]
    assert params["partition"] == "gpu" and params["account"] == "lab" and params["time"] == 30
    assert params["gpus_per_node"] == 1 and params["job_name"] == "bgan-run"
    assert seen["folder"].startswith(str(tmp_path / "runs" / ".submitit"))
    out = capsys.readouterr().out
    assert out.count("bgan-run: wrote ran experiment=ring8") == 2


def test_slurm_where_there_is_no_slurm_is_one_line_and_exit_2(tmp_path, capsys):
    import shutil

    if shutil.which("srun"):
        pytest.skip("this machine has Slurm")
    assert main(["-m", *SMALL, "seed=0,1", f"out_dir={tmp_path}/r-${{seed}}", "hydra/launcher=submitit_slurm"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("bgan-run: error: hydra/launcher=submitit_slurm: Could not detect")
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_two_run_sweep_through_submitit_local_and_summarize_reads_both(tmp_path, capsys):
    assert main(["-m", *SMALL, "seed=0,1", f"out_dir={tmp_path}/sweep/r-${{seed}}", "hydra/launcher=submitit_local",
                 "hydra.launcher.timeout_min=20"]) == 0
    runs = [tmp_path / "sweep" / f"r-{s}" for s in (0, 1)]
    assert all((r / "metrics.json").is_file() for r in runs)
    capsys.readouterr()
    assert summarize_main([str(r) for r in runs]) == 0
    table = capsys.readouterr().out
    assert "| r-0 | 0 |" in table and "| r-1 | 1 |" in table


@pytest.mark.slow
def test_joblib_lanes_give_the_draws_of_the_basic_launcher(tmp_path):
    """Two lanes (worker processes) and this process write the same posterior for the same jobs."""
    common = ["-m", *SMALL, "seed=0,1"]
    assert main([*common, f"out_dir={tmp_path}/lanes/r-${{seed}}", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]) == 0
    assert main([*common, f"out_dir={tmp_path}/basic/r-${{seed}}"]) == 0
    for s in (0, 1):
        a = xr.open_datatree(tmp_path / "lanes" / f"r-{s}" / "posterior.nc")
        b = xr.open_datatree(tmp_path / "basic" / f"r-{s}" / "posterior.nc")
        xr.testing.assert_equal(a["posterior_predictive"].to_dataset(), b["posterior_predictive"].to_dataset())


def test_hydra_keys_outside_a_sweep_are_refused(tmp_path, capsys):
    assert main(["experiment=ring8", "hydra/launcher=joblib", f"out_dir={tmp_path}/r"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Hydra's own keys are not bgan-run's" in err


def test_a_job_that_crashes_in_its_worker_is_reported_and_the_sweep_goes_on(monkeypatch):
    """A non-user error inside a job (out of memory, a library error) is one line with exit code 1 for that
    job; the other jobs' results are kept."""
    import experiments.launch as L
    import experiments.run

    def boom(cfg):
        if cfg.seed == 1:
            raise MemoryError("RESOURCE_EXHAUSTED: out of memory")
        return "ok"

    monkeypatch.setattr(experiments.run, "run", boom)
    results = L.launch("joblib", {"n_jobs": 1, "backend": "sequential"}, [[*SMALL, f"seed={s}"] for s in (0, 1)])
    assert results[0] == (0, "ok")
    assert results[1][0] == L.CRASHED and "MemoryError: RESOURCE_EXHAUSTED" in results[1][1]


@pytest.mark.slow  # 42 s; the fast tier keeps skip_complete's old-layout test (test_network_group.py)
def test_skip_complete_keeps_a_finished_run_of_the_same_config_and_runs_the_rest(tmp_path, capsys):
    """``skip_complete=true`` (what the reproduce scripts pass): a job whose out_dir holds a complete run of the
    same config is not run again; a job without one, or whose out_dir holds another config's run, runs."""
    first = tmp_path / "r-0"
    assert main([*SMALL, "seed=0", f"out_dir={first}"]) == 0
    stamp = (first / "metrics.json").stat().st_mtime_ns
    capsys.readouterr()
    assert main(["-m", *SMALL, "seed=0,1", f"out_dir={tmp_path}/r-${{seed}}", "skip_complete=true",
                 "progress=true"]) == 0  # progress is no part of the comparison, as for a resume
    out = capsys.readouterr().out
    assert f"kept {first}" in out and f"wrote {tmp_path / 'r-1'}" in out and f"wrote {first}" not in out, out
    assert (first / "metrics.json").stat().st_mtime_ns == stamp
    assert (tmp_path / "r-1" / "metrics.json").is_file()
    # a single run: kept likewise, also where the run was moved to (out_dir is no part of the comparison);
    # another config in the same out_dir is run again (and replaces it)
    assert main([*SMALL, "seed=0", f"out_dir={first}", "skip_complete=true"]) == 0
    assert "kept" in capsys.readouterr().out and (first / "metrics.json").stat().st_mtime_ns == stamp
    import shutil

    moved = tmp_path / "moved"
    shutil.copytree(first, moved)
    assert main([*SMALL, "seed=0", f"out_dir={moved}", "skip_complete=true"]) == 0
    assert f"kept {moved}" in capsys.readouterr().out
    assert main([*SMALL, "seed=0", "iterations=20", f"out_dir={first}", "skip_complete=true"]) == 0
    assert f"wrote {first}" in capsys.readouterr().out
    assert (first / "metrics.json").stat().st_mtime_ns != stamp
    # a run written before the schema gained a key (left at its default here) is this config's run
    import json

    import yaml

    saved = yaml.safe_load((first / "config.yaml").read_text())
    del saved["experiment"]["generated_per_class"]
    (first / "config.yaml").write_text(yaml.safe_dump(saved))
    stamp = (first / "metrics.json").stat().st_mtime_ns
    assert main([*SMALL, "seed=0", "iterations=20", f"out_dir={first}", "skip_complete=true"]) == 0
    assert f"kept {first}" in capsys.readouterr().out
    # a kept run that diverged keeps its exit code (3), in a sweep too, where another config's run is rerun
    metrics = json.loads((first / "metrics.json").read_text())
    (first / "metrics.json").write_text(json.dumps(metrics | {"diverged": {"iteration": 17}}))
    assert main([*SMALL, "seed=0", "iterations=20", f"out_dir={first}", "skip_complete=true"]) == 3
    assert "diverged at iteration 17" in capsys.readouterr().out
    assert main(["-m", *SMALL, "seed=0,1", "iterations=20", f"out_dir={tmp_path}/r-${{seed}}",
                 "skip_complete=true"]) == 3
    out = capsys.readouterr().out
    assert f"kept {first}" in out and f"rerunning {tmp_path / 'r-1'}: it holds another config's run (" in out
    assert "iterations: 30 -> 20" in out and f"wrote {tmp_path / 'r-1'}" in out, out
    # the launcher's settings are checked even when every job is kept
    assert main(["-m", *SMALL, "seed=0,1", "iterations=20", f"out_dir={tmp_path}/r-${{seed}}", "skip_complete=true",
                 "hydra/launcher=joblib", "hydra.launcher.n_jobs=0"]) == 2
    assert "n_jobs=0 has no meaning" in capsys.readouterr().err
    # without skip_complete a finished run is run again, as before
    stamp = (first / "metrics.json").stat().st_mtime_ns
    assert main([*SMALL, "seed=0", "iterations=20", f"out_dir={first}"]) == 0
    assert (first / "metrics.json").stat().st_mtime_ns != stamp
