"""PacGAN's packing (Lin et al. 2018), ``network.pack=m``: the discriminator scores groups of m samples
concatenated (along the channels for images), the likelihood counts N / m groups, every inference runs with
it, and a task that reads per-sample discriminator outputs refuses it."""

import json

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments.cli import main
from inference.bridge import make_logdensity_fn
from inference.common import discriminator_mean_loss, init_particles
from inference.registry import INFERENCE
from models.bgan import BayesGAN, DiscriminatorBatch, GeneratorBatch
from models.layers import pack_samples
from models.losses import build_loss
from models.networks import build_networks
from models.priors import build_prior


def test_packing_concatenates_vectors_and_interleaves_image_channels():
    x = np.arange(4 * 3, dtype=np.float32).reshape(4, 3)  # 4 vectors of 3
    np.testing.assert_array_equal(pack_samples(x, 2), [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]])
    assert pack_samples(x, 1) is x
    # images (H, W, C) = (1, 2, 2), flattened channel-fastest: a group is one (1, 2, 4) image, channels
    # of the first sample then of the second at each pixel
    images = np.arange(2 * 4, dtype=np.float32).reshape(2, 4)  # sample 0: pixels (0,1),(2,3); sample 1: (4,5),(6,7)
    np.testing.assert_array_equal(pack_samples(images, 2, (1, 2, 2)), [[0, 1, 4, 5, 2, 3, 6, 7]])
    np.testing.assert_array_equal(np.asarray(pack_samples(jnp.asarray(images), 2, (1, 2, 2))),
                                  pack_samples(images, 2, (1, 2, 2)))
    assert pack_samples(np.zeros((3, 5, 4)), 5).shape == (3, 1, 20)  # leading (particle) axes kept
    with pytest.raises(ValueError, match="network.pack=3 cannot pack a minibatch of 4"):
        pack_samples(x, 3)


def _model(pack, loss="non_saturating"):
    gen, _ = build_networks("mlp", latent_dim=2, data_dim=3, generator_hidden=[4], discriminator_hidden=[5])
    _, disc = build_networks("mlp", latent_dim=2, data_dim=3 * pack, generator_hidden=[4], discriminator_hidden=[5])
    prior = build_prior("normal")
    return BayesGAN(gen, disc, prior, prior, build_loss(loss), latent_dim=2, pack=pack), prior


@pytest.mark.parametrize("loss", ["non_saturating", "wasserstein_gp"])
def test_the_packed_likelihood_counts_n_over_m_groups(loss):
    """log p(theta_d | ...) with pack 2: the terms of B / 2 packed groups, each scaled to N / 2 groups, so the
    minibatch sums are weighted (N / 2) / (B / 2) = N / B; the generator's the same; the optimisers' loss is
    the density's likelihood per group (over N / 2)."""
    model, prior = _model(2, loss)
    gen, disc = (jax.tree.map(lambda v: v[0], p) for p in init_particles(jax.random.key(0), model, 1, 1))
    xr, xf, n = jax.random.normal(jax.random.key(1), (6, 3)), jax.random.normal(jax.random.key(2), (6, 3)), 90
    eps = jax.random.uniform(jax.random.key(3), (6,))
    logit = lambda x: model.critic_logit(model.discriminator_outputs(disc, x))  # noqa: E731 (packed input)
    real, fake = model.loss.discriminator_real(logit(pack_samples(xr, 2))), model.loss.discriminator_fake(
        logit(pack_samples(xf, 2)))
    assert real.shape == fake.shape == (3,)
    want = n / 6 * (jnp.sum(real) + jnp.sum(fake))
    if loss == "wasserstein_gp":  # one interpolation weight per group: the first of its pair
        want += n / 6 * jnp.sum(model.loss.penalty(logit, pack_samples(xr, 2), pack_samples(xf, 2), eps[::2]))
    log_prior = lambda p: sum(jnp.sum(prior(k.split("__")[1], v.shape).log_prob(v)) for k, v in p.items())  # noqa: E731
    got = make_logdensity_fn(model.discriminator_model)(disc, DiscriminatorBatch(xr, xf, n, eps))
    np.testing.assert_allclose(got - log_prior(disc), want, rtol=1e-5)
    # the optimisers' loss: per group (N / 2 of them), as their generator's loss is a mean over groups
    np.testing.assert_allclose(discriminator_mean_loss(model, disc, DiscriminatorBatch(xr, xf, n, eps)),
                               -want / (n / 2), rtol=1e-5)
    # the generator's: its samples packed in pairs, the non-saturating term per group, N / 2 groups
    z = jax.random.normal(jax.random.key(4), (6, 2))
    x_fake = model.generate(gen, z)
    per_group = model.loss.generator(logit(pack_samples(x_fake, 2)))
    batch = GeneratorBatch(z, jax.tree.map(lambda v: v[None], disc), n)
    got_g = make_logdensity_fn(model.generator_model)(gen, batch)
    np.testing.assert_allclose(got_g - log_prior(gen), n / 6 * jnp.sum(per_group), rtol=1e-5)
    # D(x) on held-out points (d_eval): one logit per group, a last odd point left out
    assert model.discriminate(disc, jnp.zeros((7, 3))).shape == (3,)


@pytest.mark.slow
@pytest.mark.parametrize("inference", sorted(INFERENCE))
def test_every_inference_runs_with_a_packed_discriminator(inference, tmp_path):
    """Each inference trains the packed pair end to end: its discriminator's first layer reads 2 x 2 inputs
    (an unpacked one reads 2: its kernel has 16 entries)."""
    out = tmp_path / "run"
    extra = ["loss=wasserstein_gp"] if inference == "svi" else []  # also: a penalty on packed groups
    assert main(["experiment=ring8", f"inference={inference}", "network.pack=2", "iterations=6",
                 "experiment.num_draws=2", "network.generator_hidden=[8]", "network.discriminator_hidden=[8]",
                 f"out_dir={out}", "progress=false", *extra]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["modes"] is not None
    dt = az.from_netcdf(out / "posterior.nc")
    # the thinned weights keep evenly spread flat indices of each site, the last one included
    index = dt["discriminator_posterior"]["discriminator__layers.0.kernel__index"].values
    assert index.max() == 4 * 8 - 1  # a (2 samples x 2 coordinates, 8 hidden units) kernel


@pytest.mark.parametrize("overrides, message", [
    (["experiment=digits_ssl", "network.pack=2"], "network.pack=2 is invalid: must be 1 with experiment.task="),
    (["experiment=ring8", "network.pack=3"], "must be a divisor of experiment.batch_size=64"),
    (["experiment=ring8", "network.pack=0"], "network.pack=0 is invalid: must be an integer >= 1"),
])
def test_packing_a_task_that_reads_per_sample_outputs_is_refused(overrides, message, tmp_path, capsys):
    assert main([*overrides, f"out_dir={tmp_path / 'r'}"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "r").exists()
