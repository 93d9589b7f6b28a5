"""SG-MCMC samplers: statistical correctness on a known posterior (one shared harness, parametrised over
samplers), SGHMC's persistent momentum, noise scale, shapes, no retracing."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inference.sgld import sgld
from inference.sghmc import SGHMCState, sghmc

SAMPLERS = {"sghmc": sghmc, "sgld": sgld}

N, D = 1000, 2


@pytest.fixture(scope="module")
def regression():
    """Conjugate Bayesian linear regression: w ~ N(0, I), y | X, w ~ N(X w, 1)."""
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(N, D)) @ np.array([[1.0, 0.0], [0.8, 0.6]])).astype(np.float32)
    y = (x @ np.array([1.0, -2.0]) + rng.normal(size=N)).astype(np.float32)
    cov = np.linalg.inv(x.T @ x + np.eye(D))
    mean = cov @ x.T @ y
    return jnp.asarray(x), jnp.asarray(y), mean, cov


def logdensity(position, xb, yb):
    w = position["w"]
    return N * jnp.mean(-0.5 * (yb - xb @ w) ** 2) - 0.5 * jnp.sum(w**2)


def run_chain(alg, data, batch, steps, key=1):
    x, y = data

    def one(state, k):
        k_idx, k_step = jax.random.split(k)
        idx = jax.random.randint(k_idx, (batch,), 0, N) if batch < N else jnp.arange(N)
        state, _ = alg.step(k_step, state, (x[idx], y[idx]))
        return state, state.position["w"]

    state = alg.init({"w": jnp.zeros(D)})
    _, ws = jax.jit(lambda s, k: jax.lax.scan(one, s, jax.random.split(k, steps)))(state, jax.random.key(key))
    return np.asarray(ws)[steps // 4 :]


# (sampler, preconditioner, step size, minibatch, covariance tolerance). Plain SGHMC/SGLD are exact up to
# discretisation and minibatch noise (beta_hat = 0, so the minibatch step size is small); the
# RMSprop-preconditioned forms drop the Gamma correction term (Li et al. 2016), which inflates the
# variance by ~10-25 % here: a stated, tested bias.
CASES = [
    ("sghmc", "none", 1e-5, N, 0.10),
    ("sghmc", "none", 1e-6, 100, 0.15),
    ("sghmc", "rmsprop", 1e-4, N, 0.35),
    ("sgld", "none", 1e-5, N, 0.10),
    ("sgld", "none", 5e-6, 250, 0.15),
    ("sgld", "rmsprop", 3e-5, 100, 0.35),
]


@pytest.mark.parametrize("name,preconditioner,step_size,batch,cov_tol", CASES)
def test_recovers_gaussian_posterior(regression, name, preconditioner, step_size, batch, cov_tol):
    x, y, mean, cov = regression
    kwargs = {"friction": 0.1} if name == "sghmc" else {}
    alg = SAMPLERS[name](logdensity, step_size=step_size, preconditioner=preconditioner, **kwargs)
    ws = run_chain(alg, (x, y), batch, 800_000 if name == "sgld" else 200_000)
    sd = np.sqrt(np.diag(cov))
    # mean within 0.2 posterior sd
    np.testing.assert_array_less(np.abs(ws.mean(0) - mean) / sd, 0.2)
    emp = np.cov(ws.T)
    ratio = np.diag(emp) / np.diag(cov)
    assert np.all(np.abs(ratio - 1) < cov_tol), ratio
    corr = emp[0, 1] / np.sqrt(emp[0, 0] * emp[1, 1])
    true_corr = cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])
    assert abs(corr - true_corr) < 0.06, (corr, true_corr)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_temperature_scales_the_variance(regression, name):
    """T = 2 samples p^(1/2): the posterior covariance doubles (and fails the tolerance above)."""
    x, y, _, cov = regression
    alg = SAMPLERS[name](logdensity, step_size=1e-5, temperature=2.0)
    ws = run_chain(alg, (x, y), N, 200_000)
    ratio = np.diag(np.cov(ws.T)) / np.diag(cov)
    np.testing.assert_allclose(ratio, 2.0, rtol=0.15)


def test_momentum_carries_over():
    """With a constant gradient g and T = 0, v_k = eta g sum_{i<k} (1-alpha)^i and theta moves by v_k."""
    g, eta, alpha = 3.0, 0.01, 0.2
    alg = sghmc(lambda p: g * jnp.sum(p["w"]), step_size=eta, friction=alpha, temperature=0.0)
    state = alg.init({"w": jnp.zeros(())})
    positions, expected_v, expected_w = [], 0.0, 0.0
    for k in range(5):
        state, info = alg.step(jax.random.key(k), state)
        expected_v = (1 - alpha) * expected_v + eta * g
        expected_w += expected_v
        np.testing.assert_allclose(state.momentum["w"], expected_v, rtol=1e-6)
        np.testing.assert_allclose(state.position["w"], expected_w, rtol=1e-6)
        positions.append(float(state.position["w"]))
    # the gradient is used from the first step (BlackJAX 1.7's sghmc ignores it with one integration step)
    assert positions[0] == pytest.approx(eta * g)
    assert int(state.step_count) == 5


def test_noise_scale_matches_temperature():
    """From v = 0 with zero gradient, one step gives v ~ N(0, 2 alpha eta T)."""
    eta, alpha, temp = 1e-3, 0.1, 0.5
    alg = sghmc(lambda p: 0.0 * jnp.sum(p["w"]), step_size=eta, friction=alpha, temperature=temp)
    state = alg.init({"w": jnp.zeros(20_000)})
    new, _ = alg.step(jax.random.key(0), state)
    np.testing.assert_allclose(np.var(np.asarray(new.momentum["w"])), 2 * alpha * eta * temp, rtol=0.05)


def test_shapes_dtypes_and_no_retracing():
    alg = sghmc(lambda p, b: -jnp.sum((p["a"] - b) ** 2) - jnp.sum(p["b"] ** 2), step_size=1e-3,
                preconditioner="rmsprop")
    position = {"a": jnp.ones((3, 4), jnp.float32), "b": jnp.zeros((5,), jnp.float32)}

    @jax.jit
    @chex.assert_max_traces(n=1)
    def step(key, state, batch):
        return alg.step(key, state, (batch,))

    state = alg.init(position)
    for i in range(5):
        state, info = step(jax.random.key(i), state, jnp.full((3, 4), float(i)))
    assert isinstance(state, SGHMCState)
    chex.assert_trees_all_equal_shapes_and_dtypes(state.position, position)
    chex.assert_trees_all_equal_shapes_and_dtypes(state.momentum, position)
    assert info.logdensity.shape == () and info.logdensity.dtype == jnp.float32


@pytest.mark.parametrize("kwargs", [dict(step_size=0.0), dict(friction=1.5), dict(temperature=-1.0),
                                    dict(preconditioner="adam")])
def test_bad_hyperparameters_raise(kwargs):
    args = dict(step_size=1e-3) | kwargs
    with pytest.raises(ValueError):
        sghmc(lambda p: 0.0, **args)


def test_sgld_plain_step_is_blackjax_kernel():
    """Without a preconditioner, one step equals BlackJAX's SGLD step (same key, same gradient)."""
    import blackjax

    def ld(p):
        return -0.5 * jnp.sum(p["w"] ** 2)

    pos = {"w": jnp.arange(3.0)}
    ours, info = sgld(ld, step_size=1e-2, temperature=0.7).step(jax.random.key(5), sgld(ld, 1e-2).init(pos))
    ref = blackjax.sgld(lambda p, _: jax.grad(ld)(p)).step(jax.random.key(5), pos, None, 1e-2, 0.7)
    np.testing.assert_allclose(ours.position["w"], ref["w"], rtol=1e-6)
    assert float(info.logdensity) == pytest.approx(-2.5)


def test_svi_recovers_the_mean_field_optimum(regression):
    """AutoNormal + TraceMeanField_ELBO + optax Adam, as in inference.svi, on the conjugate regression:
    the KL(q || p)-optimal fully factorised Gaussian has the posterior mean and variances 1 / Lambda_ii."""
    import numpyro
    import numpyro.distributions as dist
    import optax
    from numpyro.infer import SVI, TraceMeanField_ELBO
    from numpyro.infer.autoguide import AutoNormal

    x, y, mean, cov = regression

    def model(xb, yb):
        w = numpyro.sample("w", dist.Normal(jnp.zeros(D), 1.0).to_event(1))
        with numpyro.handlers.scale(scale=N / xb.shape[0]):
            numpyro.sample("y", dist.Normal(xb @ w, 1.0).to_event(1), obs=yb)

    guide = AutoNormal(model, init_scale=0.01)
    svi = SVI(model, guide, optax.adam(optax.cosine_decay_schedule(3e-3, 20_000, alpha=0.01)),
              TraceMeanField_ELBO(num_particles=8))
    state = svi.init(jax.random.key(0), x[:100], y[:100])

    def body(state, key):
        idx = jax.random.randint(key, (250,), 0, N)
        return svi.update(state, x[idx], y[idx])

    state, _ = jax.lax.scan(body, state, jax.random.split(jax.random.key(1), 20_000))
    params = svi.get_params(state)
    precision = np.linalg.inv(cov)
    np.testing.assert_allclose(params["w_auto_loc"], mean, atol=0.2 * np.sqrt(np.diag(cov)).min())
    np.testing.assert_allclose(params["w_auto_scale"] ** 2, 1 / np.diag(precision), rtol=0.25)


# A correlated Gaussian target (full gradient plus injected gradient noise, the stochastic-gradient
# setting with a known answer): mean (1, -2), standard deviations (1, 2), correlation 0.9.
GAUSS_MEAN = np.array([1.0, -2.0])
GAUSS_COV = np.array([[1.0, 0.9 * 2.0], [0.9 * 2.0, 4.0]])
GAUSS_PREC = np.linalg.inv(GAUSS_COV)
GRAD_NOISE = 0.5  # sd of the Gaussian noise added to each gradient entry (an unbiased noisy gradient)


def gaussian_logdensity(position, noise):
    w = position["w"] - GAUSS_MEAN
    # noise . w has gradient `noise`: an unbiased stochastic gradient of the exact log density
    return -0.5 * w @ GAUSS_PREC @ w + noise @ position["w"]


# (sampler, preconditioner, step size, iterations, covariance tolerance). Measured with key 3: plain SGHMC and
# SGLD within 3 % of the variances; the RMSprop forms inflate them by 23-27 % (the dropped Gamma term).
GAUSS_CASES = [
    ("sghmc", "none", 1e-3, 300_000, 0.12),
    ("sghmc", "rmsprop", 1e-3, 300_000, 0.35),
    ("sgld", "none", 1e-2, 300_000, 0.12),
    ("sgld", "rmsprop", 1e-2, 300_000, 0.35),
]


@pytest.mark.parametrize("name,preconditioner,step_size,steps,cov_tol", GAUSS_CASES)
def test_recovers_correlated_gaussian(name, preconditioner, step_size, steps, cov_tol):
    kwargs = {"friction": 0.1} if name == "sghmc" else {}
    alg = SAMPLERS[name](gaussian_logdensity, step_size=step_size, preconditioner=preconditioner, **kwargs)

    def one(state, k):
        k_noise, k_step = jax.random.split(k)
        state, _ = alg.step(k_step, state, (GRAD_NOISE * jax.random.normal(k_noise, (2,)),))
        return state, state.position["w"]

    state = alg.init({"w": jnp.zeros(2)})
    _, ws = jax.jit(lambda s, k: jax.lax.scan(one, s, jax.random.split(k, steps)))(state, jax.random.key(3))
    ws = np.asarray(ws)[steps // 5 :]
    sd = np.sqrt(np.diag(GAUSS_COV))
    np.testing.assert_array_less(np.abs(ws.mean(0) - GAUSS_MEAN) / sd, 0.2)  # within 0.2 posterior sd
    emp = np.cov(ws.T)
    ratio = np.diag(emp) / np.diag(GAUSS_COV)
    assert np.all(np.abs(ratio - 1) < cov_tol), ratio
    corr = emp[0, 1] / np.sqrt(emp[0, 0] * emp[1, 1])
    assert abs(corr - 0.9) < 0.03, corr
