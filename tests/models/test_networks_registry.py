"""A network pair is one builder, its config dataclass and one registry line: a toy pair defined here, with a
Gaussian-noise layer in its discriminator, is an option of the ``network`` config group with its own keys and
runs end to end through ``bgan-run`` (as tests/experiments/test_tasks.py's toy task)."""

import json
from dataclasses import dataclass

import jax
import pytest
from flax import nnx

from experiments.cli import main
from models.layers import GaussianNoise, named_key
from experiments.compose import load_config
from models.networks import NETWORKS, Network

CALLS = {"keyed": 0}


class NoisyCritic(nnx.Module):
    """One hidden layer with Gaussian noise on its input: the smallest stochastic discriminator."""

    def __init__(self, data_dim, out_features, rngs, noise=0.1, width=8):
        self.noise = GaussianNoise(noise)
        self.hidden = nnx.Linear(data_dim, width, rngs=rngs)
        self.out = nnx.Linear(width, out_features, rngs=rngs)

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


@dataclass
class ToyConfig:
    name: str = "toy_noisy"
    noise: float = 0.1  # the critic's input noise (standard deviation)
    width: int = 8      # its hidden units


def toy_networks(*, latent_dim, data_dim, out_features=1, seed=0, noise=0.1, width=8, **inputs):
    return (LinearGenerator(latent_dim, data_dim, nnx.Rngs(seed)),
            NoisyCritic(data_dim, out_features, nnx.Rngs(seed), noise=noise, width=width))


@pytest.fixture
def toy_network():
    NETWORKS["toy_noisy"] = Network(toy_networks, ToyConfig)
    yield "toy_noisy"
    del NETWORKS["toy_noisy"]


def test_a_registered_network_is_an_option_of_the_group_with_its_own_keys(tmp_path, toy_network):
    cfg = load_config(["experiment=ring8", f"network={toy_network}", "network.width=5", f"out_dir={tmp_path / 'r'}"])
    assert dict(cfg.network) == {"name": "toy_noisy", "noise": 0.1, "width": 5}  # only its own keys
    cfg = load_config(["experiment=ring8", f"network={toy_network}", "experiment.network.toy_noisy.noise=0.3",
                       "experiment.network.mlp.generator_hidden=[4]", f"out_dir={tmp_path / 'r'}"])
    assert (cfg.network.noise, cfg.network.width) == (0.3, 8)  # its experiment block; the mlp block is not read


@pytest.mark.slow  # two bgan-runs; the fast tier keeps the unknown-name check below
@pytest.mark.parametrize("inference", ["sghmc", "mle"])
def test_a_network_registered_from_tests_runs_end_to_end_with_its_noise_in_the_likelihood(tmp_path, toy_network,
                                                                                            inference):
    CALLS["keyed"] = 0
    out = tmp_path / "run"
    assert main(["experiment=ring8", f"network={toy_network}", f"inference={inference}", "iterations=6",
                 "experiment.num_draws=2", "progress=false", f"out_dir={out}"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["iterations"] == 6 and "modes" in metrics
    assert CALLS["keyed"] > 0  # the discriminator was called with a noise key inside the likelihood
    assert "noise: 0.1" in (out / "config.yaml").read_text()  # the stored run names the network's keys


def test_an_unknown_network_names_the_registered_ones(tmp_path, capsys, toy_network):
    assert main(["network=nonsense", f"out_dir={tmp_path / 'x'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and all(name in err for name in NETWORKS)
