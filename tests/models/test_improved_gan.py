"""network=improved_gan (Salimans et al. 2016's MNIST pair) against the stand-alone replica scripts/ssl_reference.py,
and its layers (Gaussian noise, weight norm with fixed scales, batch norm with the batch's statistics)."""

import importlib.util
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from inference.common import discriminator_mean_loss
from models.bgan import BayesGAN, DiscriminatorBatch
from models.heads import SemiSupervisedHead
from models.improved_gan import ImprovedGANDiscriminator, ImprovedGANGenerator, improved_gan_networks
from models.layers import FixedScale, GaussianNoise, WeightNormDense, batch_normalise
from models.losses import build_loss, mean_loss
from models.priors import build_prior

ROOT = Path(__file__).parents[2]


def replica():
    """scripts/ssl_reference.py as a module (its run is behind ``main()``), noise switched off."""
    spec = importlib.util.spec_from_file_location("ssl_reference", ROOT / "scripts" / "ssl_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.D_NOISE = [0.0] * len(module.D_NOISE)
    return module


@pytest.mark.slow  # 20 s: the recipe's full-size networks, evaluated eagerly
def test_the_zoo_twin_losses_equal_the_replica_d_loss_and_g_loss():
    """Same weights, same batch, no noise (the two draw their noise from different streams): the zoo's
    discriminator loss per datum (what the ML twin minimises) is 2 x the replica's ``d_loss`` with the labelled
    weight 2 N / N_s -- the replica weighs labelled : unlabelled-real : fake as 1 : 0.5 : 0.5, the zoo 2 : 1 : 1
    -- and the generator's feature-matching loss is F x ``g_loss`` (the zoo sums the F = 250 squared feature
    gaps, the replica averages them). Adam is invariant to both constant factors (up to its epsilon)."""
    ref = replica()
    key = jax.random.key(0)
    k_d, k_g, k_init, k_x, k_loss, k_gl = jax.random.split(key, 6)
    x_init = jax.random.uniform(k_x, (200, 784))
    ps = ref.d_data_init(ref.d_init_params(jax.random.PRNGKey(1)), x_init, jax.random.PRNGKey(2))
    dtr, dfx = ref.split_d(ps)
    gp = ref.g_init_params(jax.random.PRNGKey(3))
    num_data, n_s = 8000, 20
    xl = jax.random.uniform(jax.random.key(4), (n_s, 784))
    yl = jnp.arange(n_s) % 10
    xu, xu2 = jax.random.uniform(jax.random.key(5), (2, ref.B, 784))

    gen, disc = improved_gan_networks(latent_dim=100, data_dim=784, out_features=11, input_noise=0.0,
                                      hidden_noise=0.0)
    for i, layer in enumerate(ps[:-1]):  # the fixed scales are the network's state
        disc.layers[i].scale[...] = layer["scale"]
    prior = build_prior("normal")
    head = SemiSupervisedHead(num_classes=10, x_labelled=xl, y_labelled=yl, labelled_weight=2 * num_data / n_s)
    model = BayesGAN(gen, disc, prior, prior, build_loss("feature_matching"), latent_dim=100, head=head)
    d_sites = {f"discriminator__layers.{i}.{zoo}": layer[ref_name] for i, layer in enumerate(ps)
               for zoo, ref_name in (("kernel", "theta"), ("bias", "b"))}
    d_sites["discriminator__layers.5.scale"] = ps[-1]["scale"]
    g_sites = {"generator__dense.0.kernel": gp["W1"], "generator__shift.0": gp["b1"],
               "generator__dense.1.kernel": gp["W2"], "generator__shift.1": gp["b2"],
               "generator__out.kernel": gp["W3"], "generator__out.bias": gp["b3"], "generator__out.scale": gp["s3"]}
    assert set(d_sites) | set(g_sites) == set(model.network_start()[0]) | set(model.network_start()[1])

    # the replica draws G's z ~ U(0, 1) inside d_loss from split(key, 4)[3]; the zoo's z = Phi^-1(u)
    u = jax.random.uniform(jax.random.split(k_loss, 4)[3], (ref.B, 100))
    x_fake = model.generate(g_sites, jax.scipy.special.ndtri(u))
    np.testing.assert_allclose(x_fake, ref.g_forward(gp, jax.random.split(k_loss, 4)[3]), atol=2e-5)
    ref_d, _ = ref.d_loss(dtr, dfx, gp, xl, yl, xu, k_loss)
    zoo_d = discriminator_mean_loss(model, d_sites, DiscriminatorBatch(xu, x_fake, num_data))
    np.testing.assert_allclose(zoo_d, 2 * ref_d, rtol=2e-5)

    u2 = jax.random.uniform(jax.random.split(k_gl, 3)[0], (ref.B, 100))
    x_gen = model.generate(g_sites, jax.scipy.special.ndtri(u2))
    zoo_g = mean_loss(model.generator_loglik(d_sites, x_gen, u2, xu2))
    ref_g = ref.g_loss(gp, ref.merge_d(dtr, dfx), xu2, k_gl)
    np.testing.assert_allclose(zoo_g, 250 * ref_g, rtol=1e-4)


@pytest.mark.slow  # builds the full-size pair and traces its prior
def test_the_recipe_shapes_sites_and_fixed_scales():
    gen, disc = improved_gan_networks(latent_dim=100, data_dim=784, out_features=11)
    _, fixed = nnx.split(disc, FixedScale, ...)[:2]
    assert len(jax.tree.leaves(fixed)) == 5  # the five hidden layers' scales are state, not weights
    out = disc(jnp.ones((3, 784)))
    assert out.shape == (3, 11) and np.all(np.asarray(out[:, 0]) == 0)  # the fake logit is fixed at 0
    h, _ = disc(jnp.ones((3, 784)), features=True)
    assert h.shape == (3, 250)
    assert gen(jnp.zeros((4, 100))).shape == (4, 784)
    prior = build_prior("normal")
    model = BayesGAN(gen, disc, prior, prior, build_loss("feature_matching"), latent_dim=100)
    from inference.bridge import site_shapes
    sites = site_shapes(model.prior_model)
    assert "discriminator__layers.0.scale" not in sites and "discriminator__layers.5.scale" in sites
    assert "generator__out.scale" in sites and "generator__shift.0" in sites


def test_noise_layers_are_off_without_a_key_and_gaussian_with_one():
    disc = ImprovedGANDiscriminator(20, 1, hidden=(30,), input_noise=0.3, hidden_noise=0.5, rngs=nnx.Rngs(0))
    x = jnp.zeros((4, 20))
    np.testing.assert_array_equal(disc(x), disc(x))
    a, b = disc(x, key=jax.random.key(1)), disc(x, key=jax.random.key(2))
    assert not np.allclose(a, b) and np.allclose(disc(x, key=jax.random.key(1)), a)
    noise = GaussianNoise(0.3)
    draws = np.asarray(noise(jnp.zeros((200_000,)), key=jax.random.key(3)))
    assert abs(draws.mean()) < 4 * 0.3 / np.sqrt(2e5) and abs(draws.std() - 0.3) < 4 * 0.3 / np.sqrt(4e5)
    with pytest.raises(ValueError):
        GaussianNoise(-1.0)


def test_weight_norm_data_init_standardises_and_the_norm_of_v_does_not_matter():
    layer = WeightNormDense(6, 5, train_scale=False, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(0), (400, 6)) * 3 + 1
    layer.data_init(x)
    t = np.asarray(layer(x))
    np.testing.assert_allclose(t.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(t.std(0), 1, rtol=1e-4)
    before = np.asarray(layer(x))
    layer.kernel[...] = 7.0 * layer.kernel[...]
    np.testing.assert_allclose(layer(x), before, rtol=1e-5, atol=1e-5)


def test_batch_norm_uses_the_batch_statistics():
    x = jax.random.normal(jax.random.key(0), (2, 50, 3)) * 4 + 2
    y = np.asarray(batch_normalise(x)).reshape(-1, 3)
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(0), 1, rtol=1e-4)
    gen = ImprovedGANGenerator(4, 6, hidden=(8,), rngs=nnx.Rngs(0))
    z = jax.random.normal(jax.random.key(1), (10, 4))
    # one sample's output depends on the rest of its batch
    assert not np.allclose(gen(z)[:5], gen(z[:5]))
