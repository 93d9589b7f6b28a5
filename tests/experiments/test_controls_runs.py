"""The controls, cyclical SG-MCMC and EBGAN through ``bgan-run`` on every generation set: the same CLI,
run directory and metrics contract as the other algorithms (slow tier: end-to-end runs)."""

from __future__ import annotations

import json

import arviz as az
import numpy as np
import pytest

from experiments.cli import load_config, main
from experiments.datasets import load_dataset
from experiments.evaluation import compute_metrics
from inference.base import SAMPLING, cycle_length, cyclical_phases

pytestmark = pytest.mark.slow

SMALL = ["iterations=40", "experiment.num_draws=4", "experiment.network.mlp.generator_hidden=[16]",
         "experiment.network.mlp.discriminator_hidden=[16]", "experiment.network.dcgan.channels=4"]
CHOICES = {"ensemble": ["inference=ensemble"], "independent_map": ["inference=independent_map"],
           "coupled_ensemble": ["inference=coupled_ensemble"], "ebgan": ["inference=ebgan"],
           "cyclical_sghmc": ["inference=sghmc", "inference.schedule=cyclical", "inference.num_cycles=2"]}
HEADLINE = {"ring8": "modes", "grid25": "modes", "synthetic": "js_divergence", "digits": "frechet_classifier_distance"}


@pytest.mark.parametrize("experiment", sorted(HEADLINE))
@pytest.mark.parametrize("choice", sorted(CHOICES))
def test_every_new_choice_runs_on_every_generation_set(tmp_path, experiment, choice):
    out = tmp_path / "run"
    assert main([f"experiment={experiment}", *CHOICES[choice], f"out_dir={out}", *SMALL]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    key = HEADLINE[experiment]
    sampler = choice in ("ebgan", "cyclical_sghmc")
    assert key in metrics and f"{key}_{'final_draw' if sampler else 'pooled'}" in metrics
    assert metrics["headline"].startswith("posterior predictive" if sampler else "final")
    chains = az.from_netcdf(out / "posterior.nc")["warmup_posterior_predictive"].sizes["chain"]
    assert chains == load_config([f"experiment={experiment}", *CHOICES[choice]]).inference.num_generators


def test_cyclical_run_files_only_sampling_stage_draws_as_the_posterior(tmp_path):
    """Warmup (half the run), then 3 cycles with exploration_ratio 0.5: posterior.nc's posterior groups hold
    exactly the draws recorded in sampling stages, the warmup_* groups the warmup and exploration draws, and
    the pooled headline is computed from those sampling draws alone."""
    out = tmp_path / "run"
    args = ["experiment=ring8", "iterations=120", "experiment.num_draws=24", "inference.schedule=cyclical",
            "inference.num_cycles=3", "inference.exploration_ratio=0.5", *SMALL[2:]]
    assert main([*args, f"out_dir={out}"]) == 0
    dt = az.from_netcdf(out / "posterior.nc")
    iterations = np.arange(1, 25) * 5
    phase = cyclical_phases(60, cycle_length(120, 60, 3), 0.5)(iterations - 1)
    x = dt["posterior_predictive"]["x_generated"]
    warm = dt["warmup_posterior_predictive"]["x_generated"]
    assert list(x["iteration"].values) == list(iterations[phase == SAMPLING])
    assert list(warm["iteration"].values) == list(iterations[phase != SAMPLING])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["num_posterior_draws"] == (phase == SAMPLING).sum() == 6
    assert metrics["num_exploration_draws"] == 6 and metrics["num_warmup_draws"] == 12
    assert metrics["headline"] == "posterior predictive: sampling-stage draws pooled"
    data = load_dataset("ring8", seed=0)
    stored = np.concatenate([np.asarray(warm), np.asarray(x)], axis=1)
    again = compute_metrics(data, stored, 1, num_warmup_draws=warm.sizes["draw"], pooled_headline=True)
    for key in ("modes", "high_quality", "modes_final_draw"):
        assert again[key] == pytest.approx(metrics[key]), key
