"""docs/findings.md: ``bgan-summarize --findings`` from run directories, and the page regenerated from the
stored fixtures (tests/data/findings) equals docs/findings.md."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from experiments.findings import findings_page, regenerate_command
from experiments.summarize import paired_difference
from experiments.summarize_cli import main

POOLED = "posterior predictive: post-warmup draws pooled"
RUNNING = {"preconditioner": "rmsprop_running", "schedule": "cosine"}
ROOT = Path(__file__).resolve().parents[2]


def _run(root, name, **metrics):
    d = root / name
    d.mkdir(parents=True)
    (d / "metrics.json").write_text(json.dumps(metrics))
    return d


def _mixture(root, row, seed, modes, rkl, sampler, sweep=None, **extra):
    """A grid25 run: ``modes`` and ``rkl`` at the pool's 2,500 samples, one mode fewer and ``rkl`` + 0.1 in the
    final draw; the pool of 25,000 has other figures (a page reading it instead would show them)."""
    final, pooled = ("_final_draw", "") if sampler else ("", "_pooled")
    figures = {f"modes{pooled}": 99, f"reverse_kl{pooled}": 9.0, f"high_quality{pooled}": 0.8, "inference":
               row.removesuffix("_running"), "sweep": sweep or {"preconditioner": "rmsprop", "schedule": "cosine"},"seed": seed, "experiment": "grid25", "headline": POOLED if sampler else "final 1 draw(s)",
               "modes_pooled_2500": modes, "reverse_kl_pooled_2500": rkl, "high_quality_pooled_2500": 0.8,
               f"modes{final}": modes - 1, f"reverse_kl{final}": rkl + 0.1, f"high_quality{final}": 0.8}
    return _run(root, f"grid25-{row}-s{seed}", **figures, **extra)


def _grid25(root, seeds=range(5)):
    dirs = []
    for s in seeds:
        dirs += [_mixture(root, "mle", s, 20 + s % 2, 1.0, False), _mixture(root, "ensemble", s, 22, 0.9 + 0.01 * s, False),
                 _mixture(root, "coupled_ensemble_running", s, 25, 0.10, True, RUNNING),
                 # the best figures of all, but it diverged: never ranked
                 _mixture(root, "coupled_ensemble", s, 25, 0.001, True,
                          diverged={"iteration": 25040 + s, "network": "generator", "particle": 0, "non_finite": "w",
                                    "draws_kept": 50}),
                 _mixture(root, "sghmc", s, 25, 0.05 + 0.01 * s, True),
                 _mixture(root, "sghmc_running", s, 25, 0.02 + 0.001 * s, True, RUNNING)]
    return dirs


def _table(page, title):
    block = page.split(f"### {title}")[1].split("\n### ")[0].split("\n## ")[0]
    return [line for line in block.splitlines() if line.startswith("| ")][1:]


def test_each_set_tables_its_roles_with_paired_differences_from_the_ensemble(tmp_path):
    page = findings_page(_grid25(tmp_path), "bgan-summarize --findings x.md runs/*")
    rows = _table(page, "grid25")
    names = [line.split(" | ")[0].lstrip("| ") for line in rows]
    assert names == ["ML twin"] * 2 + ["ensemble"] * 2 + ["coupled MAP"] * 2 + ["Bayesian GAN"] * 2 + ["best zoo row"] * 2
    # the coupled MAP that does not diverge fills the role; the best zoo row is ranked by modes, then reverse KL
    assert "`grid25-coupled_ensemble_running`" in rows[4] and "`grid25-sghmc_running`" in rows[8]
    bayes_rkl = next(r for r in rows if r.startswith("| Bayesian GAN") and "reverse_kl" in r).split(" | ")
    mean, low, high = paired_difference([(0.05 + 0.01 * s) - (0.9 + 0.01 * s) for s in range(5)])
    assert bayes_rkl[3] == "reverse_kl (pooled at 2,500)"
    assert bayes_rkl[4] == (f"{np.mean([0.05 + 0.01 * s for s in range(5)]):.2f} ± "
                            f"{np.std([0.05 + 0.01 * s for s in range(5)], ddof=1):.2f} [2000 HQ]")
    assert bayes_rkl[5] == f"{mean:+.3f} [{low:+.3f}, {high:+.3f}] better"
    ensemble = next(r for r in rows if r.startswith("| ensemble") and "modes" in r).split(" | ")
    assert ensemble[5] == "–" and ensemble[7].rstrip(" |") == "–"  # the reference has no difference from itself
    # modes: higher is better (the twin's 20.4 against the ensemble's 22)
    twin_modes = next(r for r in rows if r.startswith("| ML twin") and "modes" in r).split(" | ")
    assert twin_modes[4] == "20.4 ± 0.5" and twin_modes[5] == "-1.6 [-2.3, -0.9] worse"
    # the readings decompose the effect: against the ensemble, and the posterior noise alone, read on the
    # SGHMC row whose sweep is the coupled MAP's (sghmc_running beside coupled_ensemble_running)
    noise = next(line for line in page.splitlines() if line.startswith("- **`grid25-sghmc_running` − coupled MAP"))
    ci = paired_difference([(0.02 + 0.001 * s) - 0.10 for s in range(5)])
    assert f"reverse_kl pooled at 2,500 {ci[0]:+.3f} [{ci[1]:+.3f}, {ci[2]:+.3f}] (better; 5 seeds)" in noise
    assert "- **Bayesian GAN − ensemble:** modes final +3.0" in page and "- **coupled MAP − ensemble:**" in page
    assert "## Open" in page and "grid25" not in page.split("## Open")[1]  # 5 seeds of every row: nothing open


def test_without_a_like_sweep_the_noise_reading_says_two_things_changed(tmp_path):
    dirs = [d for d in _grid25(tmp_path) if "sghmc_running" not in d.name]
    page = findings_page(dirs, "c")
    assert "- **Bayesian GAN − coupled MAP: the posterior noise and the sweep together" in page


def test_the_best_row_is_ranked_on_the_pooled_column_of_runs_on_the_same_data(tmp_path):
    """Every row is ranked on its pooled figures (an optimiser's final draw would flatter it against a
    sampler's pool); a row with one seed, a diverged run or a non-finite figure is not ranked."""
    def digits(row, s, pooled, final, sampler, data="digits", **extra):
        form = {"frechet_classifier_distance": pooled, "frechet_classifier_distance_final_draw": final} if sampler else {
            "frechet_classifier_distance_pooled": pooled, "frechet_classifier_distance": final}
        return _run(tmp_path, f"digits-{row}-s{s}", seed=s, headline=POOLED if sampler else "final 1 draw(s)",
                    classes_covered=10, data={"name": data}, **form, **extra)

    dirs = []
    for s in range(3):
        dirs += [digits("ensemble", s, 0.5, 0.9, False), digits("sghmc", s, 0.8, 3.0, True),
                 digits("nan", s, float("nan") if s else 0.01, 0.01, True),  # best on seed 0, not finite on 1-2
                 digits("other", s, 0.01, 0.01, True, data="digits-other-split"),  # other data
                 digits("diverged", s, 0.01, 0.01, True, diverged={"iteration": 9, "draws_kept": 1})]
    dirs.append(digits("lone", 0, 0.01, 0.01, True))  # one seed
    page = findings_page(dirs, "c")
    rows = _table(page, "digits")
    # the ensemble's pool (0.5) beats the Bayesian GAN's (0.8); by the final draw against the pool (0.9 > 0.8)
    # the Bayesian GAN would have been named
    assert rows[0].startswith("| ensemble (best zoo row) |") and not any(r.startswith("| best zoo row") for r in rows)


def test_a_row_given_a_seed_twice_is_refused(tmp_path):
    dirs = _grid25(tmp_path / "a", seeds=[0, 1])
    again = _mixture(tmp_path / "b", "sghmc", 1, 25, 0.05, True)
    with pytest.raises(KeyError, match="grid25-sghmc has seed 1 twice"):
        findings_page([*dirs, again], "c")


def test_the_semi_supervised_set_reads_the_moving_average_and_the_supervised_control(tmp_path):
    dirs = []
    for s in (1, 2):
        data = {"name": "mnist", "labels_per_class": 10}
        dirs += [
            _run(tmp_path, f"mnist_ssl_improved_gan-mle-s{s}", seed=s, data=data, test_error=0.035, test_error_ema=0.03 + s / 100,
                 test_nll=0.1, test_nll_ema=0.09, test_error_pooled=0.05, test_nll_pooled=0.2),
            _run(tmp_path, f"mnist_ssl_improved_gan-sghmc-s{s}", seed=s, data=data, headline=POOLED, test_error=0.06 - s / 100,
                 test_error_final_draw=0.065, test_nll=0.18, test_nll_final_draw=0.2),
            _run(tmp_path, f"mnist_ssl_improved_gan-supervised-s{s}", seed=s, data=data, test_error=0.2, test_nll=0.9)]
    page = findings_page(dirs, "c")
    rows = _table(page, "Semi-supervised MNIST")
    assert [line.split(" | ")[0].lstrip("| ") for line in rows] == [
        "ML twin", "ML twin", "ML twin, moving average", "ML twin, moving average",
        "Bayesian GAN (best zoo row)", "Bayesian GAN (best zoo row)", "supervised-only", "supervised-only"]
    ema = rows[2].split(" | ")
    assert ema[3] == "test_error" and ema[4] == "–" and ema[6] == "0.045 ± 0.007"  # one form: the final weights' average
    # the Bayesian GAN's posterior predictive minus the twin's moving average, seed by seed
    ci = paired_difference([(0.06 - s / 100) - (0.03 + s / 100) for s in (1, 2)])
    line = next(x for x in page.splitlines() if x.startswith("- **Bayesian GAN − ML twin's moving average:**"))
    assert f"test_error pooled {ci[0]:+.3f} [{ci[1]:+.3f}, {ci[2]:+.3f}]" in line
    assert "- **Bayesian GAN − supervised-only:** test_error final -0.135" in page
    opened = page.split("## Open")[1]
    assert "no ensemble row" in opened and "no coupled MAP row" in opened
    assert "`mnist_ssl_improved_gan-sghmc` has 2 seeds of 5" in opened


def test_the_fixtures_keep_the_reliability_bins_the_reliability_diagram_is_drawn_from(tmp_path):
    """A run directory's four reliability bins survive in its stored fixture, equal to the run's (the run
    directories do not survive a machine), so ``bgan-summarize FIXTURES --reliability`` draws the diagram from
    the fixtures alone; other nested figures go."""
    from experiments.report import RELIABILITY_KEYS

    bins = [{"edge": (i + 1) / 3, "confidence": 0.5 + 0.1 * i, "accuracy": 0.45 + 0.1 * i, "count": 10 + i} for i in range(3)]
    data = {"name": "mnist", "labels_per_class": 10}
    dirs = [_run(tmp_path / "runs", f"mnist_ssl_improved_gan-mle-s{s}", seed=s, data=data, test_error=0.03,
                 test_nll=0.1, **{key: bins for key, _ in RELIABILITY_KEYS}, function_space={"rhat": [1.2, 1.3]})
            for s in (1, 2)]
    page = tmp_path / "findings.md"
    assert main(["--findings", str(page), "--fixtures", str(tmp_path / "fx"), *map(str, dirs)]) == 0
    stored = json.loads((tmp_path / "fx" / dirs[0].name / "metrics.json").read_text())
    assert all(stored[key] == bins for key, _ in RELIABILITY_KEYS) and "function_space" not in stored
    png = tmp_path / "reliability.png"
    assert main([*map(str, sorted((tmp_path / "fx").iterdir())), "--reliability", str(png)]) == 0
    assert png.stat().st_size > 0


def test_where_the_runs_ran_is_read_from_their_provenance(tmp_path):
    where = {"commit": "abc123def456", "cpu": "Some CPU", "cpu_count": 2, "device": "cpu", "jax": "0.12.1",
             "xla_flags": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}
    dirs = [_mixture(tmp_path, row, 0, 25, 0.1, row == "sghmc", provenance=where) for row in ("ensemble", "sghmc")]
    dirs.append(_mixture(tmp_path, "mle", 0, 20, 1.0, False))
    dirs.append(_mixture(tmp_path, "coupled_ensemble", 0, 25, 0.1, True,
                         provenance={**where, "xla_flags": "--xla_force_host_platform_device_count=2 "
                                                           "intra_op_parallelism_threads=16"}))
    page = findings_page(dirs, "c")
    line = next(x for x in page.splitlines() if x.startswith("Where: "))
    assert "2 runs: commit abc123def456, Some CPU (2 cores), device cpu, JAX 0.12.1, 1 XLA thread" in line
    assert "1 run: not recorded" in line and "1 run: commit abc123def456, Some CPU (2 cores), device cpu, JAX 0.12.1, 16 XLA threads" in line


def test_the_regenerate_command_writes_a_whole_folder_as_a_glob(tmp_path):
    dirs = _grid25(tmp_path / "runs", seeds=[0])
    args = [str(d) for d in dirs]
    assert regenerate_command("docs/findings.md", args) == f"bgan-summarize --findings docs/findings.md {tmp_path}/runs/*"
    assert regenerate_command("p.md", args[:2], "fx").split()[2:5] == ["p.md", "--fixtures", "fx"]
    assert regenerate_command("p.md", args[:2]).endswith(" ".join(sorted(args[:2])))


def test_cli_writes_the_page_and_fixtures_and_refuses_bad_input_leaving_the_page(tmp_path, capsys):
    dirs = _grid25(tmp_path / "runs", seeds=[0, 1])
    page = tmp_path / "findings.md"
    assert main(["--findings", str(page), "--fixtures", str(tmp_path / "fx"), *map(str, dirs)]) == 0
    text = page.read_text()
    stored = sorted((tmp_path / "fx").glob("*/metrics.json"))
    assert len(stored) == len(dirs)
    stored_run = json.loads((tmp_path / "fx" / "grid25-coupled_ensemble-s0" / "metrics.json").read_text())
    assert {"diverged", "sweep", "experiment"} <= set(stored_run)
    # a run's data identity and sweep, read from its config.yaml where metrics.json lacks them, are stored
    (dirs[0] / "config.yaml").write_text("experiment:\n  name: grid25\n  dataset: {name: grid25}\n"
                                         "inference:\n  preconditioner: rmsprop\n  schedule: cosine\n")
    (dirs[0] / "metrics.json").write_text(json.dumps({k: v for k, v in json.loads(
        (dirs[0] / "metrics.json").read_text()).items() if k != "sweep"}))
    assert main(["--findings", str(page), "--fixtures", str(tmp_path / "fx"), *map(str, dirs)]) == 0
    stored_run = json.loads((tmp_path / "fx" / dirs[0].name / "metrics.json").read_text())
    assert stored_run["data"]["name"] == "grid25" and stored_run["sweep"]["preconditioner"] == "rmsprop"
    # the stored fixtures regenerate the page exactly
    command = re.search(r"Regenerate: `(.*)`\.", text).group(1)
    assert findings_page(sorted(p.parent for p in stored), command) == text
    # the fixtures are replaced whole: a run no longer given leaves them
    assert main(["--findings", str(page), "--fixtures", str(tmp_path / "fx"), *map(str, dirs[:6])]) == 0
    assert len(list((tmp_path / "fx").glob("*/metrics.json"))) == 6
    assert main(["--findings", str(page), "--fixtures", str(tmp_path / "fx"), *map(str, dirs)]) == 0
    assert page.read_text() == text
    # bad input: exit 2, one line, the page as it was
    (tmp_path / "runs" / "not-a-run").mkdir()
    _run(tmp_path / "runs", "list-s0")
    (tmp_path / "runs" / "list-s0" / "metrics.json").write_text("[1, 2]")
    (tmp_path / "runs" / "bad-s0").mkdir()
    (tmp_path / "runs" / "bad-s0" / "metrics.json").write_bytes(b"{\xff")
    (tmp_path / "dir.md").mkdir()
    fixtures = sorted(p.read_text() for p in (tmp_path / "fx").glob("*/metrics.json"))
    capsys.readouterr()
    for argv, message in (
            (["--findings", str(page), str(tmp_path / "runs" / "not-a-run")], "no metrics.json"),
            (["--findings", str(tmp_path / "page.txt"), str(dirs[0])], "needs the markdown page"),
            (["--findings", str(page)], "takes run directories only"),
            (["--findings", str(page), "--against", "x", str(dirs[0])], "not --against"),
            (["--findings", str(tmp_path / "nowhere" / "p.md"), str(dirs[0])], "no such directory"),
            (["--findings", str(page), str(tmp_path / "runs" / "grid25-mle-s0" / "metrics.json")], "is a table's row"),
            (["--findings", str(page), "--fixtures", str(tmp_path / "runs"), str(dirs[0])], "holds other files"),
            (["--findings", str(page), "--fixtures"], "--fixtures needs the directory"),
            (["--findings", str(tmp_path / "fx" / "p.md"), "--fixtures", str(tmp_path / "fx"), str(dirs[0])],
             "inside --fixtures"),
            (["--findings", str(page), "--fixtures", str(tmp_path / "no" / "fx"), str(dirs[0])], "no such directory"),
            (["--findings", str(page), str(tmp_path / "nowhere" / "grid25-mle-s0")], "no such directory"),
            (["--findings", str(page), str(dirs[0]), str(tmp_path / "runs" / "bad-s0")], "not a JSON metrics file"),
            (["--findings", str(page), str(dirs[0]), str(tmp_path / "runs" / "list-s0")], "not a bgan-run metrics file")):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (argv, err)
        assert page.read_text() == text
        assert sorted(p.read_text() for p in (tmp_path / "fx").glob("*/metrics.json")) == fixtures
    assert main(["--findings", str(tmp_path / "dir.md"), str(dirs[0])]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert not list(tmp_path.glob(".*.tmp"))  # nothing staged is left behind


def test_docs_findings_is_regenerated_from_the_stored_fixtures():
    """docs/findings.md is ``bgan-summarize --findings`` on the runs whose metrics.json tests/data/findings
    stores (written by the same command's ``--fixtures``)."""
    docs = (ROOT / "docs" / "findings.md").read_text()
    command = re.search(r"Regenerate: `(.*)`\.", docs).group(1)
    fixtures = sorted(p.parent for p in (ROOT / "tests" / "data" / "findings").glob("*/metrics.json"))
    assert len(fixtures) >= 20
    assert findings_page(fixtures, command) == docs
