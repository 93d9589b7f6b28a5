"""scripts/: every reproduce script and tool has ``--help``, and each is smoke-tested.

- A reproduce script runs with ``BGAN`` set to a recorder (scripts/common.sh: the command each run goes
  through), so the test sees every ``bgan-run`` command line it would start; each line is then validated
  in this process by ``bgan-run --dry-run`` (composed, checked by the schema, nothing run or written).
  A stale override (a key renamed since the script was written) fails here.
- The Python tools run for real on a few-iteration run (check_pooled.py, plot_particles.py) or on a tiny
  prepared MNIST-shaped set (ssl_reference.py, two iterations).
"""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import idx2numpy
import numpy as np
import pytest

from experiments.cli import main as bgan_run

ROOT = Path(__file__).parents[1]
SCRIPTS = ROOT / "scripts"
REPRODUCE = sorted(SCRIPTS.glob("reproduce_*.sh"))
TOOLS = sorted(SCRIPTS.glob("*.py"))
SEP = "\x1f"  # the recorder's argument separator (no override holds it)


def test_docs_hold_no_scripts_and_every_script_is_known():
    """docs/ holds markdown, images, the tutorial notebook and archive pages only; scripts/ holds the rest."""
    stray = [p.name for p in (ROOT / "docs").iterdir() if p.is_file() and p.suffix not in (".md", ".ipynb")]
    assert not stray, f"scripts in docs/: {stray} (they belong in scripts/)"
    assert len(REPRODUCE) >= 10 and {p.name for p in TOOLS} == {"check_pooled.py", "plot_particles.py",
                                                                  "ssl_reference.py"}


@pytest.mark.parametrize("script", REPRODUCE + TOOLS, ids=lambda p: p.name)
def test_help_prints_the_scripts_header_and_exits_0(script):
    cmd = ["bash", str(script), "--help"] if script.suffix == ".sh" else [sys.executable, str(script), "--help"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    first = next(line for line in script.read_text().splitlines()[1:] if line.strip())
    words = first.lstrip('#" ').split()[:4]  # the header's first words, as printed (markup aside)
    assert " ".join(words) in " ".join(out.stdout.split()), out.stdout[:500]
    assert "set -" not in out.stdout  # the header only, not the code


def recorded(script: Path, tmp_path: Path) -> list[list[str]]:
    """Run a reproduce script with BGAN as a recorder; the bgan-run command lines it would start."""
    log = tmp_path / "commands"
    recorder = tmp_path / "record.sh"
    recorder.write_text(f'#!/usr/bin/env bash\nprintf "%s{SEP}" "$@" >> {shlex.quote(str(log))}\n'
                        f'echo >> {shlex.quote(str(log))}\n')
    recorder.chmod(0o755)
    env = {**os.environ, "BGAN": str(recorder), "DATA_DIR": str(tmp_path / "data"), "JOBS": "1"}
    out = subprocess.run(["bash", str(script), str(tmp_path / "runs")], capture_output=True, text=True,
                         timeout=120, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    lines = log.read_text().splitlines() if log.exists() else []
    return [line.split(SEP)[:-1] for line in lines]


@pytest.mark.slow
@pytest.mark.parametrize("script", REPRODUCE, ids=lambda p: p.name)
def test_every_run_a_reproduce_script_starts_is_a_valid_config(script, tmp_path, capsys):
    commands = recorded(script, tmp_path)
    assert commands, f"{script.name} started no bgan-run"
    for args in commands:
        assert bgan_run(["--dry-run", *args]) == 0, f"{script.name}: {' '.join(args)}: {capsys.readouterr().err}"
    out = capsys.readouterr().out
    assert out.count("bgan-run: would run") >= len(commands)
    assert not any((tmp_path / "runs").rglob("metrics.json"))  # nothing ran


@pytest.fixture(scope="module")
def grid25_run(tmp_path_factory):
    """A few-iteration grid25 Bayesian GAN run (posterior.nc with post-warmup and warmup draws)."""
    out = tmp_path_factory.mktemp("tools") / "grid25-sghmc-J2-s0"
    assert bgan_run(["experiment=grid25", "iterations=40", "experiment.num_draws=4", "inference.num_generators=2",
                     "network.generator_hidden=[16]", "network.discriminator_hidden=[16]", f"out_dir={out}",
                     "progress=false"]) == 0
    return out


@pytest.mark.slow
def test_check_pooled_agrees_with_the_runs_metrics(grid25_run, capsys):
    sys.path.insert(0, str(SCRIPTS))
    try:
        from check_pooled import main as check_pooled
    finally:
        sys.path.remove(str(SCRIPTS))
    assert check_pooled([str(grid25_run)]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["pooled_samples"] > 0 and row["modes"] == row["metrics_modes"]
    assert row["high_quality"] == pytest.approx(row["metrics_high_quality"], abs=1e-4)
    assert check_pooled([str(grid25_run.parent / "absent")]) == 2


@pytest.mark.slow
def test_plot_particles_draws_the_figure_and_prints_its_table(grid25_run, tmp_path):
    out = subprocess.run([sys.executable, str(SCRIPTS / "plot_particles.py"), str(grid25_run.parent),
                          str(tmp_path / "particles.png")], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "particles.png").stat().st_size > 0
    assert "| sghmc (" in out.stdout and "| 2 | 0 |" in out.stdout  # J_g 2, seed 0


def _idx_pair(folder: Path, prefix: str, n: int) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    idx2numpy.convert_to_file(str(folder / f"{prefix}-images-idx3-ubyte"), rng.integers(0, 256, (n, 28, 28), np.uint8))
    idx2numpy.convert_to_file(str(folder / f"{prefix}-labels-idx1-ubyte"), (np.arange(n) % 10).astype(np.uint8))


@pytest.mark.slow
def test_the_ssl_reference_replica_runs_two_iterations(tmp_path):
    from experiments.prepare import main as prepare

    _idx_pair(tmp_path / "raw", "train", 200)
    _idx_pair(tmp_path / "raw", "t10k", 50)
    assert prepare([str(tmp_path / "raw"), "--name", "mnist", "--data-dir", str(tmp_path / "data")]) == 0
    out = subprocess.run([sys.executable, str(SCRIPTS / "ssl_reference.py"), "--data_dir", str(tmp_path / "data"),
                          "--iters", "2", "--chunk", "2", "--batch_size", "10", "--count", "1"],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    last = [line for line in out.stdout.splitlines() if line.startswith("2\t")]
    assert last and 0 <= float(last[0].split("\t")[7]) <= 1  # the test error after two iterations
    assert "# done 2 iters" in out.stdout
