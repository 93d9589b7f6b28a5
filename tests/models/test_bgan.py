"""numpyro models: site names, priors from config, conditional posteriors on the N scale, MLE twin."""

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest

from inference.common import init_particles
from inference.bridge import make_logdensity_fn
from models.bgan import BayesGAN, DiscriminatorBatch, GeneratorBatch
from models.losses import build_loss
from models.networks import make_discriminator, make_generator
from models.priors import PRIORS, build_prior


def tiny_model(scale=1.0, fan_in=True):
    prior = build_prior("normal", scale=scale, fan_in_scaling=fan_in)
    return BayesGAN(make_generator(2, [8], 3, output_activation="linear"), make_discriminator(3, [8]),
                    prior, prior, build_loss("non_saturating"), latent_dim=2)


def log_prior(model, sites, prior_fn):
    return sum(jnp.sum(prior_fn(k.split("__", 1)[1], v.shape).log_prob(v)) for k, v in sites.items())


def test_site_names_are_parameter_paths_without_slash():
    gen, disc = init_particles(jax.random.key(0), tiny_model(), 3, 2)
    assert set(gen) == {f"generator__layers.{i}.{p}" for i in range(2) for p in ("kernel", "bias")}
    assert set(disc) == {f"discriminator__layers.{i}.{p}" for i in range(2) for p in ("kernel", "bias")}
    assert all("/" not in k for k in [*gen, *disc])
    assert gen["generator__layers.0.kernel"].shape == (3, 2, 8)
    assert disc["discriminator__layers.1.kernel"].shape == (2, 8, 1)


def test_init_to_sample_draws_from_the_prior():
    model = tiny_model(scale=2.0)
    gen, _ = init_particles(jax.random.key(1), model, 400, 1)
    k = np.asarray(gen["generator__layers.1.kernel"])  # fan_in 8: sd = 2 / sqrt(8)
    np.testing.assert_allclose(k.std(), 2.0 / np.sqrt(8), rtol=0.05)
    b = np.asarray(gen["generator__layers.1.bias"])
    np.testing.assert_allclose(b.std(), 2.0, rtol=0.1)


@pytest.mark.parametrize("scale,fan_in", [(1.0, True), (0.3, False)])
def test_generator_conditional_is_eq1_on_the_N_scale(scale, fan_in):
    """log p(theta_g | z, theta_d) = N/B sum_i mean_m log sigmoid(D_m(G(z_i))) + log p(theta_g)."""
    model = tiny_model(scale, fan_in)
    gen, disc = init_particles(jax.random.key(2), model, 1, 3)
    g1 = jax.tree.map(lambda x: x[0], gen)
    z = jax.random.normal(jax.random.key(3), (5, 2))
    n = 1000
    got = make_logdensity_fn(model.generator_model)(g1, GeneratorBatch(z, disc, n))
    logits = jax.vmap(model.discriminate, in_axes=(0, None))(disc, model.generate(g1, z))
    want = n / 5 * jnp.sum(jnp.mean(jax.nn.log_sigmoid(logits), 0)) + log_prior(model, g1, model.generator_prior)
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_discriminator_conditional_is_eq2_on_the_N_scale():
    model = tiny_model()
    _, disc = init_particles(jax.random.key(4), model, 1, 1)
    d1 = jax.tree.map(lambda x: x[0], disc)
    xr, xf = jax.random.normal(jax.random.key(5), (4, 3)), jax.random.normal(jax.random.key(6), (6, 3))
    n = 250
    got = make_logdensity_fn(model.discriminator_model)(d1, DiscriminatorBatch(xr, xf, n))
    want = (n / 4 * jnp.sum(jax.nn.log_sigmoid(model.discriminate(d1, xr)))
            + n / 6 * jnp.sum(jax.nn.log_sigmoid(-model.discriminate(d1, xf)))
            + log_prior(model, d1, model.discriminator_prior))
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_prior_swap_changes_log_prior_exactly():
    """Changing the prior's scale by config changes the log density by exactly the log_prob difference."""
    m1, m2 = tiny_model(1.0), tiny_model(0.5)
    _, disc = init_particles(jax.random.key(7), m1, 1, 1)
    d1 = jax.tree.map(lambda x: x[0], disc)
    xr = xf = jnp.ones((2, 3))
    diff = make_logdensity_fn(m2.discriminator_model)(d1, DiscriminatorBatch(xr, xf, 10)) - make_logdensity_fn(
        m1.discriminator_model)(d1, DiscriminatorBatch(xr, xf, 10))
    k = np.asarray(d1["discriminator__layers.0.kernel"])
    b = np.asarray(d1["discriminator__layers.0.bias"])
    want = 0.0
    for name, v in d1.items():
        want += jnp.sum(m2.discriminator_prior(name.split("__")[1], v.shape).log_prob(v)
                        - m1.discriminator_prior(name.split("__")[1], v.shape).log_prob(v))
    np.testing.assert_allclose(diff, want, rtol=1e-4)
    # and the kernel prior really is N(0, s^2 / fan_in)
    np.testing.assert_allclose(
        m2.discriminator_prior("layers.0.kernel", k.shape).log_prob(k).sum(),
        dist.Normal(0, 0.5 / np.sqrt(3)).log_prob(k).sum(), rtol=1e-6)
    assert m2.discriminator_prior("layers.0.bias", b.shape).scale == 0.5


def test_minimax_generator_term_is_minus_log_one_minus_d():
    """Goodfellow et al. eq. 1: the generator's term is -log(1 - D(G(z))); non-saturating: log D(G(z))."""
    logits = jnp.array([-3.0, 0.0, 2.0])
    d = jax.nn.sigmoid(logits)
    np.testing.assert_allclose(build_loss("minimax").generator(logits), -jnp.log1p(-d), rtol=1e-5)
    np.testing.assert_allclose(build_loss("non_saturating").generator(logits), jnp.log(d), rtol=1e-5)
    np.testing.assert_allclose(build_loss("minimax").discriminator_fake(logits), jnp.log1p(-d), rtol=1e-5)


def test_unknown_prior_lists_valid_names():
    with pytest.raises(KeyError, match="valid: " + ", ".join(sorted(PRIORS))):
        build_prior("cauchy")


@pytest.mark.slow  # a fresh process (11 s)
def test_log_density_works_when_arviz_is_imported_first():
    """Regression: importing ArviZ before numpyro.distributions broke numpyro.factor."""
    import subprocess
    import sys

    code = ("import arviz, jax, jax.numpy as jnp\n"
            "from tests.models.test_bgan import tiny_model\n"
            "from inference.common import init_particles\n"
            "from inference.bridge import make_logdensity_fn\n"
            "from models.bgan import GeneratorBatch\n"
            "m = tiny_model(); g, d = init_particles(jax.random.key(0), m, 1, 1)\n"
            "g1 = jax.tree.map(lambda x: x[0], g)\n"
            "print(float(make_logdensity_fn(m.generator_model)(g1, GeneratorBatch(jnp.ones((2, 2)), d, 10))))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=__import__("pathlib").Path(__file__).parents[2])
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.parametrize("name,family,extra", [("laplace", dist.Laplace, {}), ("student_t", dist.StudentT, {"df": 4.0})])
def test_prior_families_log_prob(name, family, extra):
    """Each registered prior gives exactly its distribution's log_prob, fan-in scaled for kernels."""
    prior = build_prior(name, scale=2.0, **extra)
    w = jnp.linspace(-1, 1, 24).reshape(8, 3)
    args = (extra["df"],) if extra else ()
    want = family(*args, 0.0, 2.0 / np.sqrt(8)).log_prob(w).sum()
    np.testing.assert_allclose(prior("layers.0.kernel", w.shape).log_prob(w).sum(), want, rtol=1e-6)
    np.testing.assert_allclose(prior("layers.0.bias", (3,)).log_prob(w[0]).sum(),
                               family(*args, 0.0, 2.0).log_prob(w[0]).sum(), rtol=1e-6)
