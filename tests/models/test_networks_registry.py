"""A network pair is one builder and one registry line: a toy pair defined here, with a Gaussian-noise layer
in its discriminator, runs end to end through ``bgan-run`` (as tests/experiments/test_tasks.py's toy task)."""

import json

import jax
import pytest
from flax import nnx

from experiments.cli import main
from models.layers import GaussianNoise, named_key
from models.networks import NETWORKS

CALLS = {"keyed": 0}


class NoisyCritic(nnx.Module):
    """One hidden layer with Gaussian noise on its input: the smallest stochastic discriminator."""

    def __init__(self, data_dim, out_features, rngs):
        self.noise = GaussianNoise(0.1)
        self.hidden = nnx.Linear(data_dim, 8, rngs=rngs)
        self.out = nnx.Linear(8, out_features, rngs=rngs)

    def __call__(self, x, *, key=None, features=False):
        if key is not None:
            CALLS["keyed"] += 1  # traced calls with a key: the likelihood passed one
        h = jax.nn.relu(self.hidden(self.noise(x, key=None if key is None else named_key(key, "noise0"))))
        out = self.out(h)
        return (h, out) if features else out

    def hidden_input_kernels(self):
        return ["out.kernel"]

    def output_layer(self):
        return "out"


class LinearGenerator(nnx.Module):
    def __init__(self, latent_dim, data_dim, rngs):
        self.dense = nnx.Linear(latent_dim, data_dim, rngs=rngs)

    def __call__(self, z, *, key=None):
        return self.dense(z)

    def hidden_input_kernels(self):
        return []


def toy_networks(*, latent_dim, data_dim, out_features=1, seed=0, **ignored):
    return LinearGenerator(latent_dim, data_dim, nnx.Rngs(seed)), NoisyCritic(data_dim, out_features, nnx.Rngs(seed))


@pytest.fixture
def toy_network():
    NETWORKS["toy_noisy"] = toy_networks
    yield "toy_noisy"
    del NETWORKS["toy_noisy"]


@pytest.mark.slow  # two bgan-runs; the fast tier keeps the unknown-name check below
@pytest.mark.parametrize("inference", ["sghmc", "mle"])
def test_a_network_registered_from_tests_runs_end_to_end_with_its_noise_in_the_likelihood(tmp_path, toy_network,
                                                                                            inference):
    CALLS["keyed"] = 0
    out = tmp_path / "run"
    assert main(["experiment=ring8", f"experiment.network={toy_network}", f"inference={inference}", "iterations=6",
                 "experiment.num_draws=2", "progress=false", f"out_dir={out}"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["iterations"] == 6 and "modes" in metrics
    assert CALLS["keyed"] > 0  # the discriminator was called with a noise key inside the likelihood


def test_an_unknown_network_names_the_registered_ones(tmp_path, capsys, toy_network):
    assert main(["experiment.network=nonsense", f"out_dir={tmp_path / 'x'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and all(name in err for name in NETWORKS)
