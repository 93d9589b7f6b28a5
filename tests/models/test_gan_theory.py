"""Goodfellow et al. (2014), Prop. 1 and Thm. 1, checked numerically with the zoo's own discriminator
network and likelihood on 1-D examples where p_data and p_g are known Gaussians.

- The value V(D, G) = E_data[log D] + E_g[log(1 - D)] is computed from the zoo's likelihood terms
  (``BayesGAN.discriminator_terms`` under ``build_loss(...)``: the terms the Bayesian GAN's
  ``discriminator_model`` sums and the ML twin's discriminator loss averages), integrated on a grid
  against the known densities, for a discriminator given by its logit.
- At D* = p_data / (p_data + p_g), i.e. logit(D*) = log p_data - log p_g, that value is the maximum over D
  (Prop. 1) and equals -log 4 + 2 JSD(p_data || p_g), with the JSD from scipy (Thm. 1).
- A discriminator trained (Adam, fresh samples each step) on the non-saturating discriminator terms
  approaches D*, and its value approaches C(G) from below.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from models.bgan import BayesGAN
from models.losses import build_loss
from models.networks import build_networks, make_discriminator
from models.priors import build_prior

LOSS = build_loss("non_saturating")
#: The losses whose discriminator is a probability D = sigmoid(logit): the ones Goodfellow's theory is about.
SIGMOID_LOSSES = ["non_saturating", "minimax"]
P_DATA = (0.0, 1.0)
#: Both densities are below 1e-40 beyond +-15 for every p_g here; 0.001 spacing (trapezoid rule).
GRID = np.linspace(-15.0, 15.0, 30_001)


def value(loss_name, logit, p_data, p_g):
    """V(D, G) of the zoo's discriminator likelihood under ``loss_name`` for ``D = sigmoid(logit(x))``:
    the per-sample ``real`` and ``fake`` terms of ``BayesGAN.discriminator_terms`` on GRID, integrated
    against p_data and p_g respectively (trapezoid rule)."""
    gen, disc = build_networks("mlp", latent_dim=1, data_dim=1, generator_hidden=[4], discriminator_hidden=[4],
                               output_activation="linear")
    prior = build_prior("normal")
    model = BayesGAN(gen, disc, prior, prior, build_loss(loss_name), latent_dim=1)
    x = jnp.asarray(GRID, jnp.float32)[:, None]
    outputs = lambda x, key=None: jnp.asarray(logit(np.asarray(x[:, 0], np.float64)), jnp.float32)[:, None]  # noqa: E731
    terms = model.discriminator_terms(outputs, x, x)
    real, fake = (np.asarray(terms[k], np.float64) for k in ("real", "fake"))
    return (np.trapezoid(stats.norm.pdf(GRID, *p_data) * real, GRID)
            + np.trapezoid(stats.norm.pdf(GRID, *p_g) * fake, GRID))


def logit_d_star(p_data, p_g):
    """logit of D* = p_data / (p_data + p_g): log p_data(x) - log p_g(x)."""
    return lambda x: stats.norm.logpdf(x, *p_data) - stats.norm.logpdf(x, *p_g)


@pytest.mark.parametrize("loss_name", SIGMOID_LOSSES)
@pytest.mark.parametrize("p_g", [(0.0, 1.0), (1.0, 1.5), (3.0, 0.5)])
def test_value_at_d_star_is_minus_log4_plus_2jsd(loss_name, p_g):
    c = value(loss_name, logit_d_star(P_DATA, p_g), P_DATA, p_g)
    jsd = jensenshannon(stats.norm.pdf(GRID, *P_DATA), stats.norm.pdf(GRID, *p_g)) ** 2  # nats, on the grid
    assert c == pytest.approx(-np.log(4) + 2 * jsd, abs=1e-6)
    if p_g == P_DATA:
        assert c == pytest.approx(-np.log(4), abs=1e-6)
    else:
        assert c > -np.log(4) + 0.1


@pytest.mark.parametrize("loss_name", SIGMOID_LOSSES)
def test_d_star_maximises_the_discriminator_likelihood(loss_name):
    """Prop. 1 for the zoo's terms: moving logit(D*) by a constant or by a multiple of x lowers V."""
    p_g = (1.0, 1.5)
    star = logit_d_star(P_DATA, p_g)
    best = value(loss_name, star, P_DATA, p_g)
    for shift in (lambda x: 0.3 + 0 * x, lambda x: -0.3 + 0 * x, lambda x: 0.3 * x, lambda x: -0.3 * x):
        assert value(loss_name, lambda x: star(x) + shift(x), P_DATA, p_g) < best - 1e-3


def train_discriminator(p_data, p_g, steps=3000, batch=512, seed=0):
    """Fit D (flax MLP, 2 x 32 units) by Adam on log D(x_data) + log(1 - D(x_g)); return its logit as a
    function of x."""
    from flax import nnx

    net = make_discriminator(1, [32, 32], seed=seed)
    graphdef, params = nnx.split(net, nnx.Param)
    opt = optax.adam(3e-3)

    def d_logits(p, x):
        return nnx.merge(graphdef, p)(x[:, None])[:, 0]

    def loss(p, xd, xg):
        return -(jnp.mean(LOSS.discriminator_real(d_logits(p, xd))) + jnp.mean(LOSS.discriminator_fake(d_logits(p, xg))))

    @jax.jit
    def step(carry, key):
        p, s = carry
        k1, k2 = jax.random.split(key)
        xd = p_data[0] + p_data[1] * jax.random.normal(k1, (batch,))
        xg = p_g[0] + p_g[1] * jax.random.normal(k2, (batch,))
        g = jax.grad(loss)(p, xd, xg)
        u, s = opt.update(g, s)
        return (optax.apply_updates(p, u), s), None

    (params, _), _ = jax.lax.scan(step, (params, opt.init(params)), jax.random.split(jax.random.key(seed), steps))
    return lambda x: np.asarray(d_logits(params, jnp.asarray(x, jnp.float32)), np.float64)


@pytest.mark.parametrize("p_g", [(1.0, 1.5), (0.0, 1.0)])
def test_trained_discriminator_approaches_d_star(p_g):
    logit = train_discriminator(P_DATA, p_g)
    x = np.linspace(-2.5, 2.5, 101)  # where both densities have mass
    d_star = stats.norm.pdf(x, *P_DATA) / (stats.norm.pdf(x, *P_DATA) + stats.norm.pdf(x, *p_g))
    np.testing.assert_allclose(1 / (1 + np.exp(-logit(x))), d_star, atol=0.06)


def test_trained_discriminator_value_is_close_to_c_of_g():
    """The value reached by the trained D is within 0.01 nats of C(G) and not above it."""
    p_g = (1.0, 1.5)
    v_trained = value("non_saturating", train_discriminator(P_DATA, p_g), P_DATA, p_g)
    c = value("non_saturating", logit_d_star(P_DATA, p_g), P_DATA, p_g)
    assert v_trained == pytest.approx(c, abs=0.01)
    assert v_trained < c  # D* maximises the value
