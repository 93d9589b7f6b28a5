"""Feature matching (Salimans et al. 2016, sec. 3.1) as the generator's likelihood: loss=feature_matching."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inference.bayesgan import bayesgan
from inference.common import init_particles
from inference.bridge import make_logdensity_fn
from inference.mle import mle_gan
from models.bgan import BayesGAN, GeneratorBatch
from models.losses import build_loss
from models.networks import make_discriminator, make_generator
from models.priors import build_prior


def model_with(loss="feature_matching", disc_hidden=(8, 5)):
    normal = build_prior("normal")
    return BayesGAN(make_generator(2, [8], 3, output_activation="linear"), make_discriminator(3, list(disc_hidden)),
                    normal, normal, build_loss(loss), latent_dim=2)


def one(tree):
    return jax.tree.map(lambda x: x[0], tree)


def test_discriminator_features_are_the_last_hidden_layer_the_output_reads():
    model = model_with()
    _, disc = init_particles(jax.random.key(0), model, 1, 1)
    disc = one(disc)
    x = jax.random.normal(jax.random.key(1), (6, 3))
    h = model.discriminator_features(disc, x)
    assert h.shape == (6, 5)  # the last hidden layer's width
    out = h @ disc["discriminator__layers.2.kernel"] + disc["discriminator__layers.2.bias"]
    np.testing.assert_allclose(model.discriminator_outputs(disc, x), out, rtol=1e-5, atol=1e-6)


def test_generator_loglik_is_minus_the_squared_gap_of_mean_features():
    model = model_with()
    _, disc = init_particles(jax.random.key(0), model, 1, 1)
    disc = one(disc)
    x_real = jax.random.normal(jax.random.key(1), (7, 3))
    x_fake = jax.random.normal(jax.random.key(2), (4, 3)) + 2.0
    z = jnp.zeros((4, 2))
    want = -jnp.sum((model.discriminator_features(disc, x_real).mean(0)
                     - model.discriminator_features(disc, x_fake).mean(0)) ** 2)
    got = model.generator_loglik(disc, x_fake, z, x_real)
    assert got.shape == (4,)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert float(want) < 0
    # fakes with the real minibatch's feature mean are matched exactly
    np.testing.assert_allclose(model.generator_loglik(disc, x_real, jnp.zeros((7, 2)), x_real), 0.0, atol=1e-6)
    with pytest.raises(ValueError, match="needs a real minibatch"):
        model.generator_loglik(disc, x_fake, z)


def test_generator_conditional_scales_the_gap_to_n_and_averages_discriminators():
    model = model_with()
    gen, disc = init_particles(jax.random.key(0), model, 1, 3)
    z = jax.random.normal(jax.random.key(1), (4, 2))
    x_real = jax.random.normal(jax.random.key(2), (5, 3))
    logdensity = make_logdensity_fn(model.generator_model)(one(gen), GeneratorBatch(z, disc, 100, x_real))
    x_fake = model.generate(one(gen), z)
    gaps = [model.generator_loglik(jax.tree.map(lambda v: v[j], disc), x_fake, z, x_real)[0] for j in range(3)]
    prior = sum(jnp.sum(build_prior("normal")(k.split("__", 1)[1], v.shape).log_prob(v)) for k, v in one(gen).items())
    np.testing.assert_allclose(logdensity, 100 * np.mean(gaps) + prior, rtol=1e-4)


def test_other_losses_draw_no_real_minibatch_for_the_generator():
    data = jnp.ones((10, 3))
    assert model_with("non_saturating").real_minibatch(jax.random.key(0), data, (4,)) is None
    assert model_with().real_minibatch(jax.random.key(0), data, (2, 4)).shape == (2, 4, 3)


@pytest.mark.parametrize("which", ["mle", pytest.param("sghmc", marks=pytest.mark.slow)])
def test_feature_matching_gan_moves_the_generated_mean_to_the_data(which):
    """A shifted 3-D Gaussian: feature matching alone (no output-fooling term) brings the generated mean from
    ~0 to the data's (3, -2, 1), with the ML twin and with the Bayesian GAN's SGHMC sweep."""
    model = model_with(disc_hidden=(16,))
    data = jnp.array([3.0, -2.0, 1.0]) + 0.3 * jax.random.normal(jax.random.key(5), (2000, 3))
    if which == "mle":
        sampler = mle_gan(model, data, batch_size=64, learning_rate=3e-3)
    else:
        sampler = bayesgan(model, data, batch_size=64, num_generators=2, num_discriminators=2, step_size=1e-3,
                           friction=0.1, temperature=0.01, preconditioner="rmsprop_running", rms_bias_correction=True)
    state = sampler.init(jax.random.key(0))
    step = jax.jit(sampler.step)
    gen0, _ = sampler.positions(state, jax.random.key(1))
    z = jax.random.normal(jax.random.key(2), (500, 2))
    start = jax.vmap(model.generate, in_axes=(0, None))(gen0, z).mean(axis=(0, 1))
    for t in range(1500):
        state, _ = step(jax.random.key(100 + t), state, t)
    gen, _ = sampler.positions(state, jax.random.key(1))
    mean = jax.vmap(model.generate, in_axes=(0, None))(gen, z).mean(axis=(0, 1))
    assert float(jnp.linalg.norm(start - data.mean(0))) > 2.5
    assert float(jnp.linalg.norm(mean - data.mean(0))) < 0.5, (start, mean)
