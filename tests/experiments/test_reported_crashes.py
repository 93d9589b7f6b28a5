"""The crashes reported against the run-directory contract, each reproduced as reported and now ending in
the contract: a complete run directory (a metric that cannot be computed is null with a reason)."""

import json

import pytest

from experiments.cli import main

pytestmark = pytest.mark.slow


def test_class_imbalanced_svi_runs(tmp_path):
    """`bgan-run experiment=digits_imbalanced inference=svi iterations=20` fed the label column as a fake image."""
    out = tmp_path / "run"
    assert main(["experiment=digits_imbalanced", "inference=svi", "iterations=20", "experiment.num_draws=2",
                 "experiment.metric_draws=1", "experiment.autoencoder_steps=20", f"out_dir={out}"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 <= metrics["minority_accuracy"] <= 1 and metrics["headline"].startswith("final")


def test_synthetic_with_a_collapsed_generator_writes_its_run_directory(tmp_path):
    """`prior.init_scale=1e-8`: the JS metric's KDE grid grew with the generated range (47 TiB) and a collapsed
    generator made the KDE singular, after the whole run; now the run directory is written."""
    out = tmp_path / "run"
    assert main(["experiment=synthetic", "iterations=4", "experiment.num_draws=2", "prior.init_scale=1e-8",
                 f"out_dir={out}"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["js_divergence"] is None or 0 <= metrics["js_divergence"] <= 0.7
    if metrics["js_divergence"] is None:
        assert metrics["js_divergence_reason"]
