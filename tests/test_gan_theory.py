"""Goodfellow et al. (2014), Prop. 1 and Thm. 1, checked numerically with the zoo's own discriminator
network and likelihood on 1-D examples where p_data and p_g are known Gaussians.

- A discriminator trained (Adam, fresh samples each step) on the non-saturating discriminator terms
  approaches D*(x) = p_data(x) / (p_data(x) + p_g(x)).
- The value function at D*, C(G) = E_data[log D*] + E_g[log(1 - D*)], equals -log 4 + 2 JSD(p_data || p_g),
  and -log 4 exactly when p_g = p_data.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import integrate, stats

from models.losses import build_loss
from models.networks import make_discriminator

LOSS = build_loss("non_saturating")


def train_discriminator(p_data, p_g, steps=3000, batch=512, seed=0):
    """Fit D (flax MLP, 2 x 32 units) by Adam on log D(x_data) + log(1 - D(x_g)); return D as a function."""
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
    return lambda x: np.asarray(jax.nn.sigmoid(d_logits(params, jnp.asarray(x, jnp.float32))))


def optimal_d(x, p_data, p_g):
    pd, pg = stats.norm.pdf(x, *p_data), stats.norm.pdf(x, *p_g)
    return pd / (pd + pg)


def _logs(x, p_data, p_g):
    la, lb = stats.norm.logpdf(x, *p_data), stats.norm.logpdf(x, *p_g)
    return la, lb, np.logaddexp(la, lb)


def value_at_optimum(p_data, p_g):
    """C(G) = E_data[log D*] + E_g[log(1 - D*)] by quadrature (log-space, no underflow)."""
    def integrand(x):
        la, lb, lab = _logs(x, p_data, p_g)
        return np.exp(la) * (la - lab) + np.exp(lb) * (lb - lab)
    return integrate.quad(integrand, -15, 15, limit=400, points=[p_data[0], p_g[0]])[0]


def jsd(p_data, p_g):
    """Jensen-Shannon divergence (nats) by quadrature, independently of D*."""
    def integrand(x):
        la, lb, lab = _logs(x, p_data, p_g)
        lm = lab - np.log(2)
        return 0.5 * (np.exp(la) * (la - lm) + np.exp(lb) * (lb - lm))
    return integrate.quad(integrand, -15, 15, limit=400, points=[p_data[0], p_g[0]])[0]


@pytest.mark.parametrize("p_g", [(1.0, 1.5), (0.0, 1.0)])
def test_trained_discriminator_approaches_d_star(p_g):
    p_data = (0.0, 1.0)
    d = train_discriminator(p_data, p_g)
    x = np.linspace(-2.5, 2.5, 101)  # where both densities have mass
    np.testing.assert_allclose(d(x), optimal_d(x, p_data, p_g), atol=0.06)


@pytest.mark.parametrize("p_g", [(0.0, 1.0), (1.0, 1.5), (3.0, 0.5)])
def test_value_function_is_minus_log4_plus_2jsd(p_g):
    p_data = (0.0, 1.0)
    c = value_at_optimum(p_data, p_g)
    assert c == pytest.approx(-np.log(4) + 2 * jsd(p_data, p_g), abs=1e-6)
    if p_g == p_data:
        assert c == pytest.approx(-np.log(4), abs=1e-9)
    else:
        assert c > -np.log(4)


def test_trained_discriminator_value_is_close_to_c_of_g():
    """The value reached by the trained D (Monte Carlo) is within 0.01 nats of C(G) and not above it."""
    p_data, p_g = (0.0, 1.0), (1.0, 1.5)
    d = train_discriminator(p_data, p_g)
    rng = np.random.default_rng(0)
    xd, xg = rng.normal(*p_data, 200_000), rng.normal(*p_g, 200_000)
    v_trained = np.mean(np.log(d(xd))) + np.mean(np.log1p(-d(xg)))
    c = value_at_optimum(p_data, p_g)
    assert v_trained == pytest.approx(c, abs=0.01)
    assert v_trained <= c + 0.005  # D* maximises the value (up to Monte Carlo error)
