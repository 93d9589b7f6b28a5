"""bgan-summarize: mean ± sd over seeds from metrics.json files, pooled beside final figures."""

import json
import pytest

from experiments.summarize import main, summarize

POOLED = "posterior predictive: post-warmup draws pooled"


def _run(tmp_path, name, **metrics):
    d = tmp_path / name
    d.mkdir()
    (d / "metrics.json").write_text(json.dumps(metrics))
    return d


def test_groups_seeds_and_puts_pooled_beside_final(tmp_path):
    # a sampler: headline pooled, final under *_final_draw
    dirs = [_run(tmp_path, f"grid25-sghmc-{'seed' if s == 2 else 's'}{s}", seed=s, headline=POOLED, modes=m,
                 high_quality=hq, reverse_kl=0.1, num_samples=2500, modes_final_draw=25, high_quality_final_draw=0.5,
                 reverse_kl_final_draw=0.2, num_samples_final_draw=2500, wall_seconds=100.0)
            for s, m, hq in ((0, 24, 0.8), (1, 25, 0.9), (2, 25, 1.0))]
    table = summarize(dirs)
    assert ("| grid25-sghmc | 0,1,2 | 24.7 ± 0.6 | 90.0 ± 10.0 | 0.10 ± 0.00 [2250 HQ] | 25.0 ± 0.0 | 50.0 ± 0.0 | "
            "0.20 ± 0.00 [1250 HQ] | – | 100.0 ± 0.0 |") in table
    # an optimiser: headline final, pooled under *_pooled; a reverse KL on < 10 % high quality is not credited
    dirs = [_run(tmp_path, f"ring8-mle-s{s}", seed=s, headline="final 1 draw(s)", modes=8, high_quality=0.05,
                 reverse_kl=0.3, num_samples=2500, modes_pooled=7, high_quality_pooled=0.5, reverse_kl_pooled=None,
                 data_copying_z_pooled=z, wall_seconds=1.0) for s, z in ((0, -2.0), (1, -4.0))]
    assert ("| ring8-mle | 0,1 | 7.0 ± 0.0 | 50.0 ± 0.0 | – | 8.0 ± 0.0 | 5.0 ± 0.0 | 0.30 ± 0.00 [125 HQ, not credited] "
            "| -3.00 ± 1.41 | 1.0 ± 0.0 |") in summarize(dirs)


def test_runs_from_before_the_pooled_figures_show_final_only(tmp_path):
    dirs = [_run(tmp_path, "ring8-sghmc-s0", seed=0, modes=8, high_quality=0.9, reverse_kl=0.1, wall_seconds=3.0)]
    assert "| ring8-sghmc | 0 | – | – | – | 8.0 ± 0.0 | 90.0 ± 0.0 | 0.10 ± 0.00 [2250 HQ] | – | 3.0 ± 0.0 |" in summarize(dirs)


def test_missing_metrics_is_a_clean_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty")]) == 2
    assert "no metrics.json" in capsys.readouterr().err


def test_application_tables(tmp_path):
    dirs = [_run(tmp_path, f"digits_ssl-sghmc-s{s}", seed=s, headline=POOLED, test_error=e, test_error_final_draw=0.2,
                 test_error_ema=0.07, test_error_supervised_only=0.09, test_nll=0.3, test_ece=e / 2,
                 test_ece_ema=0.04, wall_seconds=10.0)
            for s, e in ((0, 0.08), (1, 0.10))]
    dirs += [_run(tmp_path, f"digits_anomaly-mle-s{s}", seed=s, auroc=a, auroc_pooled=0.7, auroc_spread_pooled=None,
                  auroc_knn=0.97, auroc_anogan=0.55, auroc_isolation_forest=0.6, wall_seconds=5.0)
             for s, a in ((0, 0.9), (1, 0.8))]
    table = summarize(dirs)
    assert ("| digits_ssl-sghmc | 0,1 | 0.090 ± 0.014 | 0.200 ± 0.000 | 0.070 ± 0.000 | 0.090 ± 0.000 | 0.300 ± 0.000 "
            "| 0.045 ± 0.007 | 0.040 ± 0.000 | 10.0 ± 0.0 |") in table
    assert ("| digits_anomaly-mle | 0,1 | 0.700 ± 0.000 | 0.850 ± 0.071 | – | 0.970 ± 0.000 | 0.550 ± 0.000 | 0.600 ± 0.000 "
            "| 5.0 ± 0.0 |") in table


def test_bgan_summarize_prints_the_docs_table_exactly():
    """docs/results.md's re-measured grid25 table is bgan-summarize's output on the stored metrics.json of
    those runs (tests/data/trust, copied from the run directories)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    runs = sorted((root / "tests" / "data" / "trust").glob("grid25-*-s?"))
    assert len(runs) == 6
    docs = (root / "docs" / "results.md").read_text()
    table = [line for line in summarize(runs).splitlines() if line.startswith("| grid25-")]
    assert len(table) == 2 and all(line in docs for line in table), table


def test_paired_differences_against_a_row_with_a_paired_t_interval(tmp_path, capsys):
    """Row minus the reference row, seed by seed, on the set's verdict figures; the interval is Student t
    with n - 1 degrees of freedom; the reading follows the figure's direction (reverse KL: lower is better)."""
    from scipy import stats

    from experiments.summarize import paired_table

    dirs = []
    for s, (m_ens, m_bgan, kl_ens, kl_bgan) in enumerate([(20, 25, 1.0, 0.1), (22, 25, 0.9, 0.2), (21, 24, 1.1, 0.1),
                                                          (23, 25, 1.0, 0.3), (20, 25, 0.8, 0.2)]):
        dirs.append(_run(tmp_path, f"grid25-ensemble-s{s}", seed=s, headline="final 1 draw(s)", modes=m_ens,
                         reverse_kl=kl_ens, modes_pooled=m_ens, reverse_kl_pooled=kl_ens, high_quality=0.6,
                         high_quality_pooled=0.6))
        dirs.append(_run(tmp_path, f"grid25-sghmc-s{s}", seed=s, headline=POOLED, modes=m_bgan, reverse_kl=kl_bgan,
                         modes_final_draw=m_bgan, reverse_kl_final_draw=kl_bgan, high_quality=0.8,
                         high_quality_final_draw=0.8))
    dirs.append(_run(tmp_path, "grid25-mle-s0", seed=0, headline="final 1 draw(s)", modes=20, reverse_kl=1.0))
    table = paired_table(dirs, "grid25-ensemble")
    d = [5, 3, 3, 2, 5]
    half = stats.t.ppf(0.975, 4) * stats.tstd(d) / 5 ** 0.5
    want = f"+3.6 [{3.6 - half:+.1f}, {3.6 + half:+.1f}]"
    assert f"| grid25-sghmc | modes | final | 0,1,2,3,4 | +5.0, +3.0, +3.0, +2.0, +5.0 | {want} | better |" in table
    assert "| grid25-sghmc | reverse_kl | pooled | 0,1,2,3,4 | -0.900, -0.700, -1.000, -0.700, -0.600 |" in table
    assert table.count("| grid25-sghmc | reverse_kl |") == 2 and "reverse_kl | pooled" in table
    kl_line = next(line for line in table.splitlines() if "grid25-sghmc | reverse_kl | final" in line)
    assert kl_line.endswith("| better |")
    assert "| grid25-mle | modes | final | 0 | +0.0 | +0.0 | one seed |" in table
    assert main([*map(str, dirs), "--against", "grid25-nothing"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--against 'grid25-nothing': no such row" in err


def test_a_seed_without_high_quality_samples_decides_the_paired_reading(tmp_path):
    """A collapsed seed (reverse KL infinite, stored as null) is not dropped from the pairs: it is listed, and
    the row reads worse; a reverse KL on < 10 % high quality is marked not credited."""
    from experiments.summarize import paired_table

    dirs = []
    for s in range(3):
        dirs.append(_run(tmp_path, f"ring8-ensemble-s{s}", seed=s, headline="final 1 draw(s)", modes=8,
                         reverse_kl=0.5, high_quality=0.5))
        dirs.append(_run(tmp_path, f"ring8-coupled-s{s}", seed=s, headline="final 1 draw(s)", modes=8 if s else 0,
                         reverse_kl=0.1 if s else None, high_quality=0.8 if s else 0.0))
        dirs.append(_run(tmp_path, f"ring8-weak-s{s}", seed=s, headline="final 1 draw(s)", modes=8, reverse_kl=0.4,
                         high_quality=0.05))
    table = paired_table(dirs, "ring8-ensemble")
    line = next(x for x in table.splitlines() if x.startswith("| ring8-coupled | reverse_kl | final"))
    assert "| 0,1,2 | -0.400, -0.400, s0: row infinite | – | worse (no high-quality sample)" in line
    weak = next(x for x in table.splitlines() if x.startswith("| ring8-weak | reverse_kl | final"))
    assert "not credited" in weak


def test_rows_with_diverged_runs_say_so(tmp_path):
    dirs = [_run(tmp_path, f"grid25-coupled-s{s}", seed=s, headline="final 1 draw(s)", modes=25, iterations=50000,
                 **({"diverged": {"iteration": it}} if it else {})) for s, it in ((0, 25057), (1, None), (2, 25038))]
    assert "| grid25-coupled (diverged 2/3: iteration 25038–25057 of 50000) | 0,1,2 |" in summarize(dirs)


def test_paired_table_compares_the_task_figures_too(tmp_path):
    """Semi-supervised rows are compared on test error (lower is better) and anomaly rows on AUROC (higher
    is better), beside their data set's verdict figure."""
    from experiments.summarize import paired_table

    dirs = []
    for s, (bayes, twin) in enumerate(((0.10, 0.12), (0.11, 0.14), (0.09, 0.12))):
        dirs += [_run(tmp_path, f"mnist_ssl-sghmc-s{s}", seed=s, headline=POOLED, test_error=bayes,
                      test_error_final_draw=bayes, frechet_classifier_distance=100.0),
                 _run(tmp_path, f"mnist_ssl-mle-s{s}", seed=s, headline="final 1 draw(s)", test_error=twin,
                      test_error_pooled=twin, frechet_classifier_distance=100.0)]
    table = paired_table(dirs, "mnist_ssl-mle")
    assert "| mnist_ssl-sghmc | test_error | pooled | 0,1,2 | -0.020, -0.030, -0.030 |" in table
    assert table.count("| test_error |") == 2 and "better |" in table.split("| test_error | pooled |")[1]
    dirs = [_run(tmp_path, f"mnist_anomaly-{r}-s{s}", seed=s, headline="final 1 draw(s)", auroc=a,
                 frechet_classifier_distance=100.0)
            for s in range(3) for r, a in (("sghmc", 0.6 + 0.01 * s), ("mle", 0.8))]
    table = paired_table(dirs, "mnist_anomaly-mle")
    assert "| mnist_anomaly-sghmc | auroc | final | 0,1,2 | -0.200, -0.190, -0.180 |" in table and "worse |" in table


def test_baseline_table_pairs_each_figure_with_the_baseline_of_its_own_run(tmp_path, capsys):
    """A task's in-run baselines (supervised-only error, real-only accuracy, kNN AUROC) are differenced seed
    by seed within each run, in the figure's direction, both forms of a figure with two and the one form of
    a figure with one (the AnoGAN score); bgan-summarize prints the table without --against."""
    from experiments.summarize import baseline_table

    dirs = [_run(tmp_path, f"mnist_ssl-sghmc-s{s}", seed=s, headline=POOLED, test_error=e, test_error_final_draw=0.3,
                 test_error_supervised_only=0.2) for s, e in ((1, 0.10), (2, 0.12), (3, 0.11))]
    dirs += [_run(tmp_path, f"mnist_augment-mle-s{s}", seed=s, headline="final 1 draw(s)", test_accuracy=a,
                  test_accuracy_pooled=a, test_accuracy_real_only=0.75) for s, a in ((1, 0.70), (2, 0.72), (3, 0.71))]
    dirs += [_run(tmp_path, f"mnist_anomaly-sghmc-s{s}", seed=s, headline=POOLED, auroc=0.6, auroc_final_draw=0.6,
                  auroc_anogan=g, auroc_knn=0.5) for s, g in ((1, 0.4), (2, 0.45))]
    table = baseline_table(dirs)
    assert ("| mnist_ssl-sghmc | test_error − test_error_supervised_only | pooled | 1,2,3 | -0.100, -0.080, -0.090 | "
            "-0.090 [-0.115, -0.065] | better |") in table
    assert "| mnist_ssl-sghmc | test_error − test_error_supervised_only | final | 1,2,3 | +0.100, +0.100, +0.100 |" in table
    assert ("| mnist_augment-mle | test_accuracy − test_accuracy_real_only | final | 1,2,3 | -0.050, -0.030, -0.040 | "
            "-0.040 [-0.065, -0.015] | worse |") in table
    assert "| mnist_anomaly-sghmc | auroc_anogan − auroc_knn | – | 1,2 | -0.100, -0.050 |" in table
    assert "auroc_anogan − auroc_knn | pooled" not in table and "auroc_spread" not in table
    assert main([str(d) for d in dirs]) == 0 and "| mnist_ssl-sghmc | test_error − test_error_supervised_only" in capsys.readouterr().out
    assert baseline_table(dirs[:0] + [_run(tmp_path, "grid25-sghmc-s0", seed=0, modes=25)]) == ""


def test_help_prints_the_usage(capsys):
    assert main(["--help"]) == 0 and "usage: bgan-summarize" in capsys.readouterr().out


def test_against_repeated_prints_one_paired_table_per_reference_row(tmp_path, capsys):
    dirs = [_run(tmp_path, f"digits-{r}-s{s}", seed=s, headline="final 1 draw(s)", frechet_classifier_distance=f + s,
                 classes_covered=10) for s in range(3) for r, f in (("sghmc", 10.0), ("mle", 20.0), ("ensemble", 30.0))]
    args = [str(d) for d in dirs]
    assert main([*args, "--against", "digits-mle", "--against", "digits-ensemble"]) == 0
    out = capsys.readouterr().out
    assert "row minus digits-mle" in out and "row minus digits-ensemble" in out
    assert "| digits-sghmc | frechet_classifier_distance | final | 0,1,2 | -10.000, -10.000, -10.000 |" in out
    assert "| digits-sghmc | frechet_classifier_distance | final | 0,1,2 | -20.000, -20.000, -20.000 |" in out
    assert main([*args, "--against"]) == 2 and "--against needs a row name" in capsys.readouterr().err
    assert main([*args, "--against", "nope"]) == 2 and "--against 'nope': no such row" in capsys.readouterr().err


def test_paired_table_compares_downstream_accuracy_higher_is_better(tmp_path):
    from experiments.summarize import paired_table

    dirs = [_run(tmp_path, f"mnist_augment-n10-{r}-s{s}", seed=s, headline="final 1 draw(s)", test_accuracy=a + 0.01 * s,
                 test_accuracy_pooled=a, frechet_classifier_distance=100.0)
            for s in range(3) for r, a in (("sghmc", 0.80), ("mle", 0.75))]
    table = paired_table(dirs, "mnist_augment-n10-mle")
    row = [line for line in table.splitlines() if "| test_accuracy | final |" in line]
    assert row == ["| mnist_augment-n10-sghmc | test_accuracy | final | 0,1,2 | +0.050, +0.050, +0.050 | "
                   "+0.050 [+0.050, +0.050] | better |"]


def test_equal_count_reads_the_pooled_figures_at_2500(tmp_path, capsys):
    """--equal-count: the pooled count-dependent columns read ``*_pooled_2500`` for samplers and optimisers,
    the others (final draw, z, wall seconds) stay; paired tables pair those too."""
    sampler = [_run(tmp_path, f"grid25-sghmc-s{s}", seed=s, headline=POOLED, modes=25, high_quality=0.9,
                    reverse_kl=0.001, modes_pooled_2500=24 - s, high_quality_pooled_2500=0.8,
                    reverse_kl_pooled_2500=0.01 * (s + 1), modes_final_draw=23, high_quality_final_draw=0.7,
                    reverse_kl_final_draw=0.2, data_copying_z=1.0, wall_seconds=5.0) for s in (0, 1)]
    twin = [_run(tmp_path, f"grid25-mle-s{s}", seed=s, headline="final 1 draw(s)", modes=20, high_quality=0.6,
                 reverse_kl=1.0, modes_pooled=22, high_quality_pooled=0.6, reverse_kl_pooled=0.9,
                 modes_pooled_2500=21, high_quality_pooled_2500=0.5, reverse_kl_pooled_2500=0.95,
                 data_copying_z_pooled=2.0, wall_seconds=1.0) for s in (0, 1)]
    table = summarize(sampler + twin, equal=True)
    assert "modes pooled_2500 | high_quality (%) pooled_2500 | reverse_kl pooled_2500 | modes final" in table
    assert ("| grid25-sghmc | 0,1 | 23.5 ± 0.7 | 80.0 ± 0.0 | 0.01 ± 0.01 [2000 HQ] | 23.0 ± 0.0 | 70.0 ± 0.0 | "
            "0.20 ± 0.00 [1750 HQ] | 1.00 ± 0.00 | 5.0 ± 0.0 |") in table
    assert "| grid25-mle | 0,1 | 21.0 ± 0.0 | 50.0 ± 0.0 | 0.95 ± 0.00 [1250 HQ] | 20.0 ± 0.0 |" in table
    assert "| grid25-sghmc | 0,1 | 25.0 ± 0.0 | 90.0 ± 0.0 |" in summarize(sampler)  # without: the whole pool
    assert main([*map(str, sampler + twin), "--against", "grid25-mle", "--equal-count"]) == 0
    out = capsys.readouterr().out
    assert "| grid25-sghmc | modes | pooled_2500 | 0,1 | +3.0, +2.0 |" in out
    assert "| modes | pooled |" not in out


def test_paired_table_pairs_only_rows_of_the_reference_data_set(tmp_path):
    """grid25 and ring8 share the mixture family; a ring8 row is not differenced against grid25 seeds."""
    from experiments.summarize import paired_table

    dirs = [_run(tmp_path, f"{e}-{i}-s{s}", seed=s, experiment=e, headline=POOLED, modes=m, high_quality=0.9,
                 reverse_kl=0.1) for e, m in (("grid25", 25), ("ring8", 8)) for i in ("sghmc", "mle") for s in (0, 1)]
    table = paired_table(dirs, "grid25-mle")
    assert "| grid25-sghmc | modes |" in table and "| ring8" not in table
    assert table.rstrip().endswith("Not paired (another data set or split than grid25-mle's): ring8-mle, ring8-sghmc.")


def _ssl_run(tmp_path, name, seed, experiment="mnist_ssl_improved_gan", validation=None, **metrics):
    """A semi-supervised run directory with its metrics.json and a config.yaml naming its data."""
    d = _run(tmp_path, f"{name}-s{seed}", seed=seed, experiment=experiment, **metrics)
    (d / "config.yaml").write_text(json.dumps({"experiment": {
        "name": experiment, "task": "semi_supervised", "labels_per_class": 10, "labels_seed": 1,
        "dataset": {"name": "mnist", "data_dir": f"/machine{seed}/data", "validation_fraction": validation}}}))
    return d


def test_against_a_rows_moving_average_and_pairing_by_data(tmp_path, capsys):
    """``--against ROW:ema`` differences every form of every row, the reference row's own raw forms included,
    from the reference's moving-average figures (test error, NLL, calibration error); a control of another
    experiment name on the same data (read from config.yaml: runs older than metrics.json's ``data``) is
    paired, a run on a validation split is not; an unknown form is one line, exit code 2."""
    from experiments.summarize import paired_table

    dirs = []
    for s in (1, 2, 3):
        dirs.append(_ssl_run(tmp_path, "recipe-sghmc", s, headline=POOLED, test_error=0.020 + 0.001 * s,
                             test_error_final_draw=0.03, test_nll=0.08, test_nll_final_draw=0.1, test_ece=0.01,
                             test_ece_final_draw=0.02))
        dirs.append(_ssl_run(tmp_path, "recipe-mle", s, headline="final 1 draw(s)", test_error=0.03, test_error_pooled=0.025,
                             test_error_ema=0.024, test_nll=0.1, test_nll_pooled=0.09, test_nll_ema=0.09,
                             test_ece=0.012, test_ece_pooled=0.011, test_ece_ema=0.010))
        dirs.append(_ssl_run(tmp_path, "recipe-supervised", s, experiment="mnist_ssl_improved_gan_supervised",
                             headline="final 1 draw(s)", test_error=0.2, test_error_pooled=0.2, test_error_ema=0.19))
        dirs.append(_ssl_run(tmp_path, "val-sghmc", s, validation=0.125, headline=POOLED, test_error=0.5,
                             test_error_final_draw=0.5))
    table = paired_table(dirs, "recipe-mle:ema")
    assert "row minus recipe-mle:ema" in table
    assert "| recipe-sghmc | test_error | pooled | 1,2,3 | -0.003, -0.002, -0.001 |" in table
    assert "| recipe-sghmc | test_error | final | 1,2,3 | +0.006, +0.006, +0.006 |" in table
    assert "| recipe-sghmc | test_nll | pooled | 1,2,3 | -0.010, -0.010, -0.010 |" in table
    assert "| recipe-sghmc | test_ece | pooled | 1,2,3 | +0.000, +0.000, +0.000 |" in table
    assert "| recipe-mle | test_error | final | 1,2,3 | +0.006, +0.006, +0.006 |" in table  # raw minus averaged
    assert "| recipe-supervised | test_error | final | 1,2,3 | +0.176, +0.176, +0.176 |" in table
    assert "| val-sghmc |" not in table and "Not paired (another data set or split than recipe-mle's): val-sghmc." in table
    assert "| recipe-mle |" in paired_table(dirs, "recipe-supervised") and "| val-sghmc" not in paired_table(
        dirs, "recipe-supervised")
    # a run whose metrics.json records its data (None keys dropped) pairs with older runs of the same data,
    # and the NLL and calibration readings follow their direction (lower is better)
    new = _ssl_run(tmp_path, "recipe-new", 1, headline=POOLED, test_error=0.02, test_nll=0.05, test_ece=0.005,
                   data={"name": "mnist", "labels_per_class": 10, "labels_seed": 1})
    (new / "config.yaml").unlink()
    assert "| recipe-new | test_nll | pooled | 1 | -0.040 |" in paired_table(dirs + [new], "recipe-mle:ema")
    table = paired_table(dirs, "recipe-mle")
    assert "| recipe-sghmc | test_nll | pooled | 1,2,3 | -0.010, -0.010, -0.010 | -0.010 [-0.010, -0.010] | better |" \
        in table
    assert main([str(d) for d in dirs] + ["--against", "recipe-mle:median"]) == 2
    assert "unknown form 'median'; forms: ema" in capsys.readouterr().err
    assert main([str(d) for d in dirs] + ["--against", "val-sghmc:ema"]) == 2
    assert "records no ema figure" in capsys.readouterr().err


def test_reliability_figure_pools_each_rows_bins_over_its_seeds(tmp_path, capsys):
    """--reliability draws each row's headline and moving-average bins pooled over seeds: counts summed,
    confidence and accuracy weighted by them; a set with no bins is a clean error."""
    from experiments.summarize import pooled_reliability

    def bins(conf, acc, count):
        return [{"edge": 0.5, "confidence": None, "accuracy": None, "count": 0},
                {"edge": 1.0, "confidence": conf, "accuracy": acc, "count": count}]

    runs = [{"reliability": bins(0.9, 0.8, 30)}, {"reliability": bins(0.7, 0.6, 10)}]
    pooled = pooled_reliability(runs)
    assert pooled[0] == {"edge": 0.5, "count": 0, "confidence": None, "accuracy": None}
    assert pooled[1]["count"] == 40 and pooled[1]["confidence"] == pytest.approx(0.85)
    assert pooled[1]["accuracy"] == pytest.approx(0.75)
    assert pooled_reliability(runs, "reliability_ema") is None
    dirs = []
    for row, extra in (("ssl-mle", {"reliability_ema": bins(0.95, 0.9, 40)}), ("ssl-sghmc", {})):
        for seed, run in enumerate(runs):
            d = tmp_path / f"{row}-s{seed}"
            d.mkdir()
            (d / "metrics.json").write_text(json.dumps({"seed": seed, "test_error": 0.1, **run, **extra}))
            dirs.append(str(d))
    out = tmp_path / "rel.png"
    assert main([*dirs, "--reliability", str(out)]) == 0
    assert out.stat().st_size > 0
    printed = capsys.readouterr().out
    assert "ssl-mle (2 seeds); ssl-mle, moving average (2 seeds); ssl-sghmc (2 seeds)" in printed
    bare = tmp_path / "bare-s0"
    bare.mkdir()
    (bare / "metrics.json").write_text(json.dumps({"seed": 0, "modes": 3}))
    assert main([str(bare), "--reliability", str(tmp_path / "none.png")]) == 2
    assert "no run records reliability bins" in capsys.readouterr().err and not (tmp_path / "none.png").exists()
    assert main([str(bare), "--reliability"]) == 2
