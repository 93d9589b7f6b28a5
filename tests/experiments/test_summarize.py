"""bgan-summarize: mean ± sd over seeds from metrics.json files, pooled beside final figures."""

import json

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
                 test_error_supervised_only=0.09, wall_seconds=10.0) for s, e in ((0, 0.08), (1, 0.10))]
    dirs += [_run(tmp_path, f"digits_anomaly-mle-s{s}", seed=s, auroc=a, auroc_pooled=0.7, auroc_spread_pooled=None,
                  auroc_knn=0.97, wall_seconds=5.0) for s, a in ((0, 0.9), (1, 0.8))]
    table = summarize(dirs)
    assert "| digits_ssl-sghmc | 0,1 | 0.090 ± 0.014 | 0.200 ± 0.000 | 0.090 ± 0.000 | 10.0 ± 0.0 |" in table
    assert "| digits_anomaly-mle | 0,1 | 0.700 ± 0.000 | 0.850 ± 0.071 | – | 0.970 ± 0.000 | 5.0 ± 0.0 |" in table


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
