"""Run-time fuzzing: valid configurations drawn across every experiment x inference x loss x prior (the
applications and, on tfds mock data, the image configs too), each run for a few iterations through
``bgan-run``'s entry point. Every run must end in one of the contract's three ways: a complete run
directory (exit 0), one line naming a bad key (exit 2, nothing written), or a divergence (exit 3, the
draws before it kept) -- never a traceback."""

import json

import pytest
import tensorflow_datasets as tfds
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from experiments.cli import group_options, main

pytestmark = pytest.mark.slow

EXPERIMENTS = group_options("experiment")
IMAGE = {"mnist", "fashion_mnist", "cifar10"}
SMALL_NETS = ["experiment.network.mlp.generator_hidden=[8]", "experiment.network.mlp.discriminator_hidden=[8]", "experiment.network.dcgan.channels=2",
              "experiment.weights_per_site=2", "experiment.autoencoder_steps=5"]
RUN_FILES = {"config.yaml", "posterior.nc", "metrics.json", "samples.png", "report.md", "trace.png"}


@st.composite
def configs(draw):
    experiment = draw(st.sampled_from(EXPERIMENTS))
    inference = draw(st.sampled_from(group_options("inference")))
    loss = draw(st.sampled_from(group_options("loss")))
    prior = draw(st.sampled_from(group_options("prior")))
    iterations = draw(st.integers(2, 12))
    num_draws = draw(st.integers(1, min(iterations, 4)))
    overrides = [f"experiment={experiment}", f"inference={inference}", f"loss={loss}", f"prior={prior}",
                 f"iterations={iterations}", f"experiment.num_draws={num_draws}", "experiment.metric_draws=1",
                 f"seed={draw(st.integers(0, 2**31 - 1))}", *SMALL_NETS]
    if inference in ("sghmc", "sgld") and draw(st.booleans()):
        overrides.append(f"inference.preconditioner={draw(st.sampled_from(['none', 'rmsprop', 'rmsprop_running']))}")
    if draw(st.booleans()):
        overrides.append(f"inference.num_warmup={draw(st.integers(0, iterations))}")  # out of range: exit 2
    if inference != "mle" and draw(st.booleans()):
        overrides.append(f"inference.num_generators={draw(st.integers(1, 3))}")
    if draw(st.booleans()):
        overrides.append(f"inference.n_critic={draw(st.integers(1, 3))}")
    if draw(st.booleans()):
        overrides.append(f"prior.init_scale={draw(st.sampled_from([1e-8, 1.0, 100.0]))}")  # collapse or blow up
    if experiment in IMAGE:
        overrides += ["experiment.dataset.num_eval=20", "experiment.latent_dim=4"]
    elif experiment.startswith("digits"):
        overrides.append("experiment.dataset.num_eval=60")
    return overrides


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(overrides=configs())
def test_every_valid_config_runs_to_the_contract(tmp_path_factory, capsys, overrides):
    out = tmp_path_factory.mktemp("fuzz") / "run"
    with tfds.testing.mock_data(num_examples=80):
        code = main([*overrides, f"out_dir={out}", "progress=false"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code in (0, 2, 3), (overrides, code)
    event(f"exit {code}")  # pytest --hypothesis-show-statistics: how the runs ended
    if code == 2:
        assert len(err) == 1 and err[0].startswith("bgan-run: error:"), (overrides, err)
        assert not out.exists() and not (out.parent / f".{out.name}.partial" / "build").exists(), overrides
        return
    names = {p.name for p in out.iterdir()}
    metrics = json.loads((out / "metrics.json").read_text())
    if code == 3:
        assert "diverged" in metrics and len(err) == 1, (overrides, err)
    else:
        assert "diverged" not in metrics, overrides
    # a run that diverged before its first draw has no samples to plot
    plotted = code == 0 or metrics["diverged"]["draws_kept"] > 0
    assert (RUN_FILES if plotted else RUN_FILES - {"samples.png", "trace.png"}) <= names, (overrides, names)
