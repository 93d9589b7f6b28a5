"""bgan-summarize: mean ± sd over seeds from metrics.json files."""

import json

from experiments.summarize import main, summarize


def _run(tmp_path, name, **metrics):
    d = tmp_path / name
    d.mkdir()
    (d / "metrics.json").write_text(json.dumps(metrics))
    return d


def test_groups_seeds_and_formats_mean_sd(tmp_path):
    dirs = [_run(tmp_path, f"grid25-sghmc-{'seed' if s == 2 else 's'}{s}", seed=s, modes=m, high_quality=hq, reverse_kl=0.1,
                 wall_seconds=100.0) for s, m, hq in ((0, 24, 0.8), (1, 25, 0.9), (2, 25, 1.0))]
    table = summarize(dirs)
    assert "| grid25-sghmc | 0,1,2 | 24.7 ± 0.6 | 90.0 ± 10.0 | 0.10 ± 0.00 | – | 100.0 ± 0.0 |" in table
    dirs = [_run(tmp_path, f"ring8-mle-s{s}", seed=s, modes=8, high_quality=0.5, reverse_kl=None,
                 data_copying_z=z, wall_seconds=1.0) for s, z in ((0, -2.0), (1, -4.0))]
    assert "| ring8-mle | 0,1 | 8.0 ± 0.0 | 50.0 ± 0.0 | – | -3.00 ± 1.41 | 1.0 ± 0.0 |" in summarize(dirs)


def test_missing_metrics_is_a_clean_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty")]) == 2
    assert "no metrics.json" in capsys.readouterr().err


def test_application_tables(tmp_path):
    dirs = [_run(tmp_path, f"digits_ssl-sghmc-s{s}", seed=s, test_error=e, test_error_per_sample=0.2,
                 test_error_supervised_only=0.09, wall_seconds=10.0) for s, e in ((0, 0.08), (1, 0.10))]
    dirs += [_run(tmp_path, f"digits_anomaly-mle-s{s}", seed=s, auroc=a, auroc_spread=None, auroc_knn=0.97,
                  wall_seconds=5.0) for s, a in ((0, 0.9), (1, 0.8))]
    table = summarize(dirs)
    assert "| digits_ssl-sghmc | 0,1 | 0.090 ± 0.014 | 0.200 ± 0.000 | 0.090 ± 0.000 | 10.0 ± 0.0 |" in table
    assert "| digits_anomaly-mle | 0,1 | 0.850 ± 0.071 | – | 0.970 ± 0.000 | 5.0 ± 0.0 |" in table
