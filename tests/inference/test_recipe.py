"""The real-image recipe's pieces in the inference algorithms: networks with Gaussian-noise layers inside the
likelihood (a stochastic likelihood, its noise redrawn every step), the named minibatches, and the moving
average of the weights (``inference.ema_decay``)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from inference.averaging import moving_average
from inference.base import batch_axes, discriminator_batch, generator_batch
from inference.bayesgan import bayesgan
from inference.bridge import make_logdensity_fn
from inference.common import init_particles
from inference.mle import mle_gan
from inference.registry import build_inference
from models.bgan import BayesGAN, DiscriminatorBatch, GeneratorBatch
from models.improved_gan import ImprovedGANDiscriminator, ImprovedGANGenerator
from models.losses import build_loss
from models.priors import build_prior

DATA = jax.random.uniform(jax.random.key(0), (300, 12))


def noisy_model(loss="feature_matching"):
    """A small recipe pair: noise on D's input and hidden layer, weight norm, batch-normalised G."""
    prior = build_prior("normal")
    gen = ImprovedGANGenerator(4, 12, hidden=(16,), rngs=nnx.Rngs(0))
    disc = ImprovedGANDiscriminator(12, 1, hidden=(16,), input_noise=0.3, hidden_noise=0.5, rngs=nnx.Rngs(0))
    disc.data_init(DATA[:100], jax.random.key(1))
    return BayesGAN(gen, disc, prior, prior, build_loss(loss), latent_dim=4)


@pytest.mark.slow  # compiles the recipe's networks in several algorithms: the fast tier keeps the cheaper checks
@pytest.mark.parametrize("loss", ["feature_matching", "non_saturating"])
def test_the_likelihood_is_stochastic_with_a_key_and_deterministic_without(loss):
    model = noisy_model(loss)
    gen, disc = init_particles(jax.random.key(2), model, 1, 2, model.network_start())
    g1, d1 = (jax.tree.map(lambda x: x[0], p) for p in (gen, disc))
    z = jax.random.normal(jax.random.key(3), (8, 4))
    g_fn, d_fn = make_logdensity_fn(model.generator_model), make_logdensity_fn(model.discriminator_model)
    batch = GeneratorBatch(z, disc, 300, DATA[:8])
    assert g_fn(g1, batch) == g_fn(g1, batch)
    a, b = (g_fn(g1, batch._replace(key=jax.random.key(k))) for k in (4, 5))
    assert a != b and a == g_fn(g1, batch._replace(key=jax.random.key(4)))
    d_batch = DiscriminatorBatch(DATA[:8], DATA[8:16], 300)
    assert d_fn(d1, d_batch) == d_fn(d1, d_batch)
    assert d_fn(d1, d_batch._replace(key=jax.random.key(6))) != d_fn(d1, d_batch._replace(key=jax.random.key(7)))


@pytest.mark.slow  # compiles the recipe's networks in several algorithms: the fast tier keeps the cheaper checks
def test_every_algorithm_runs_the_recipe_with_its_noise_inside_the_likelihood():
    """The Bayesian GAN's two conditionals and the twin's losses see the noise: a step with the noise layers
    differs from the same step with the noise standard deviations at 0, on the same keys; the default
    (deterministic) networks' draws do not depend on the noise stream at all (tests/experiments/test_reference_draws.py)."""
    noisy = noisy_model()
    quiet = noisy_model()
    for layer in quiet.discriminator.noise:
        layer.stddev = 0.0
    start = noisy.network_start()
    for build in (lambda m: bayesgan(m, DATA, batch_size=8, num_generators=2, num_discriminators=2, step_size=1e-3,
                                     friction=0.1, preconditioner="rmsprop_running", init_position=start),
                  lambda m: mle_gan(m, DATA, batch_size=8, init_position=start)):
        outs = []
        for model in (noisy, quiet):
            s = build(model)
            state = s.init(jax.random.key(0))
            new, _ = jax.jit(s.step)(jax.random.key(1), state, jnp.int32(0))
            outs.append(s.positions(new, jax.random.key(2)))
        flat = [np.concatenate([np.ravel(v) for v in jax.tree.leaves(o)]) for o in outs]
        assert np.all(np.isfinite(flat[0])) and not np.allclose(flat[0], flat[1])


def test_named_batches_reproduce_the_minibatch_streams():
    """The helpers draw z, the feature-matching reals, the real indices and epsilon from the keys every
    algorithm used before the batches were named (the reference draws depend on it)."""
    model = noisy_model()
    k = jax.random.key(9)
    b = generator_batch(model, DATA, k, (3, 8), {"d": jnp.zeros((2, 1))}, jax.random.key(1))
    np.testing.assert_array_equal(b.z, model.sample_latent(k, (3, 8)))
    np.testing.assert_array_equal(b.x_real, DATA[jax.random.randint(jax.random.fold_in(k, 1), (3, 8), 0, 300)])
    assert b.num_data == 300 and isinstance(b.num_data, int) and b.key.shape == (3,)
    assert batch_axes(b, ("z", "x_real", "key")) == GeneratorBatch(0, None, None, 0, 0)
    x_fake = DATA[:10]
    d = discriminator_batch(DATA, k, (8,), x_fake)
    np.testing.assert_array_equal(d.x_real, DATA[jax.random.randint(k, (8,), 0, 300)])
    np.testing.assert_array_equal(d.epsilon, jax.random.uniform(jax.random.fold_in(k, 1), (10,)))
    e = discriminator_batch(DATA, k, (8,), x_fake, epsilon_key=jax.random.key(3))
    np.testing.assert_array_equal(e.epsilon, jax.random.uniform(jax.random.key(3), (10,)))


def tiny_twin():
    from tests.inference.test_bayesgan import DATA as TINY, tiny_model

    return mle_gan(tiny_model(), TINY, batch_size=16), tiny_model(), TINY


def test_the_moving_average_is_the_debiased_ema_of_the_iterates_at_every_step():
    """Per iteration: the wrapped twin's iterates equal the unwrapped twin's (the draws do not change), and its
    average after t steps equals sum_s w_s theta_s / sum_s w_s with w_s = (1 - d) d^(t - s), s = 1..t."""
    twin, _, _ = tiny_twin()
    decay = 0.9
    wrapped = moving_average(twin, decay)
    state, plain = wrapped.init(jax.random.key(0)), twin.init(jax.random.key(0))
    step, plain_step = jax.jit(wrapped.step), jax.jit(twin.step)
    iterates = []
    for t in range(1, 7):
        key = jax.random.key(t)
        state, _ = step(key, state, jnp.int32(t - 1))
        plain, _ = plain_step(key, plain, jnp.int32(t - 1))
        pos = twin.positions(plain, None)
        jax.tree.map(np.testing.assert_array_equal, wrapped.positions(state, None), pos)
        iterates.append(pos)
        w = np.array([(1 - decay) * decay ** (t - s) for s in range(1, t + 1)])
        want = jax.tree.map(lambda *xs: sum(wi * x for wi, x in zip(w, xs)) / w.sum(), *iterates)
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
                     wrapped.averaged(state), want)


@pytest.mark.slow  # compiles the recipe's networks in several algorithms: the fast tier keeps the cheaper checks
def test_ema_decay_wraps_every_algorithm_through_the_registry_and_is_range_checked():
    from tests.inference.test_bayesgan import DATA as TINY, tiny_model

    model = tiny_model()
    for name, hyper in (("mle", {}), ("ensemble", {"num_generators": 2}),
                        ("sghmc", {"num_generators": 2, "num_discriminators": 2, "num_warmup": 2})):
        s = build_inference(name, model, TINY, batch_size=8, iterations=4, ema_decay=0.99, **hyper)
        state, _ = jax.jit(s.step)(jax.random.key(1), s.init(jax.random.key(0)), jnp.int32(0))
        gen, disc = s.averaged(state)
        assert jax.tree.leaves(gen)[0].shape[0] == hyper.get("num_generators", 1)
        assert build_inference(name, model, TINY, batch_size=8, iterations=4, **hyper).averaged is None
    with pytest.raises(ValueError, match="inference.ema_decay"):
        build_inference("mle", model, TINY, batch_size=8, iterations=4, ema_decay=1.0)
