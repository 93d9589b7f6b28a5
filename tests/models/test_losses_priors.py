"""Wasserstein losses (clipping, gradient penalty), the hierarchical prior, per-network and per-path priors."""

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from omegaconf import OmegaConf

from experiments.errors import ConfigError
from experiments.prior_config import resolve_priors
from inference.bayesgan import bayesgan
from inference.common import init_particles
from inference.bridge import make_logdensity_fn
from inference.mle import mle_gan
from models.bgan import BayesGAN, DiscriminatorBatch, GeneratorBatch
from models.losses import build_loss
from models.networks import make_discriminator, make_generator
from models.priors import build_prior, with_path_overrides


def model_with(loss="non_saturating", gen_prior=None, disc_prior=None, **loss_hyper):
    normal = build_prior("normal")
    return BayesGAN(make_generator(2, [8], 3, output_activation="linear"), make_discriminator(3, [8]),
                    gen_prior or normal, disc_prior or normal, build_loss(loss, **loss_hyper), latent_dim=2)


def one(tree):
    return jax.tree.map(lambda x: x[0], tree)


def prior_logprob(prior_fn, sites):
    return sum(jnp.sum(prior_fn(k.split("__", 1)[1], v.shape).log_prob(v)) for k, v in sites.items())


# -- Wasserstein losses -----------------------------------------------------------------------------

def test_wasserstein_terms_are_critic_values():
    f = jnp.array([-2.0, 0.5, 3.0])
    loss = build_loss("wasserstein", clip=0.05)
    np.testing.assert_array_equal(loss.generator(f), f)
    np.testing.assert_array_equal(loss.discriminator_real(f), f)
    np.testing.assert_array_equal(loss.discriminator_fake(f), -f)
    assert loss.clip == 0.05 and loss.penalty is None


def test_gradient_penalty_of_a_linear_critic_is_exact():
    """For f(x) = w.x, grad_x f = w everywhere, so the penalty is -lambda (||w|| - 1)^2 per interpolate."""
    w = jnp.array([3.0, 0.0, 4.0])  # ||w|| = 5
    loss = build_loss("wasserstein_gp", penalty_weight=10.0)
    xr, xf = jnp.ones((4, 3)), jnp.zeros((8, 3))  # 2 fakes per real: reals are tiled
    pen = loss.penalty(lambda x: x @ w, xr, xf, jnp.linspace(0, 0.9, 8))
    np.testing.assert_allclose(pen, -10.0 * 16.0 * np.ones(8), rtol=1e-5)
    # a quadratic critic f(x) = ||x||^2 / 2 has grad x: the penalty checks the interpolates themselves
    eps = jnp.array([0.25, 0.5, 1.0, 0.0])
    pen = loss.penalty(lambda x: 0.5 * jnp.sum(x**2, -1), 2 * jnp.ones((4, 3)), jnp.zeros((4, 3)), eps)
    norms = 2 * eps * np.sqrt(3)
    np.testing.assert_allclose(pen, -10.0 * (norms - 1) ** 2, rtol=1e-4, atol=1e-4)


def test_wasserstein_gp_discriminator_conditional_on_the_N_scale():
    """log p(theta_d | ...) = N/B sum f(x) - N/B' sum f(x~) - lambda N/B' sum (||grad f(x^)|| - 1)^2 + log prior."""
    model = model_with("wasserstein_gp", penalty_weight=5.0)
    _, disc = init_particles(jax.random.key(0), model, 1, 1)
    d1 = one(disc)
    xr, xf = jax.random.normal(jax.random.key(1), (4, 3)), jax.random.normal(jax.random.key(2), (8, 3))
    eps = jax.random.uniform(jax.random.key(3), (8,))
    n = 300
    got = make_logdensity_fn(model.discriminator_model)(d1, DiscriminatorBatch(xr, xf, n, eps))
    critic = lambda x: model.discriminate(d1, x)  # noqa: E731
    x_hat = eps[:, None] * jnp.tile(xr, (2, 1)) + (1 - eps[:, None]) * xf
    grads = jax.vmap(jax.grad(lambda x: critic(x[None])[0]))(x_hat)
    gp = (jnp.linalg.norm(grads, axis=-1) - 1) ** 2
    want = (n / 4 * critic(xr).sum() - n / 8 * critic(xf).sum() - n / 8 * 5.0 * gp.sum()
            + prior_logprob(model.discriminator_prior, d1))
    np.testing.assert_allclose(got, want, rtol=1e-4)


@pytest.mark.parametrize("algorithm", ["sghmc", "mle"])
def test_weight_clipping_keeps_every_discriminator_weight_in_the_box(algorithm):
    model = model_with("wasserstein", clip=0.02)
    data = jax.random.normal(jax.random.key(0), (256, 3))
    if algorithm == "mle":
        sampler = mle_gan(model, data, batch_size=16, learning_rate=1e-2)
    else:
        sampler = bayesgan(model, data, batch_size=16, num_generators=2, num_discriminators=2, step_size=1e-2,
                           temperature=1.0, friction=0.1, preconditioner="rmsprop", num_warmup=3)
    state = sampler.init(jax.random.key(1))
    before = sampler.positions(state, jax.random.key(0))[1]
    assert max(float(jnp.abs(v).max()) for v in before.values()) > 0.1  # the prior draw is outside the box
    step = jax.jit(sampler.step)
    for i in range(5):  # warmup and sampling iterations
        state, _ = step(jax.random.key(i), state, jnp.int32(i))
    gen, disc = sampler.positions(state, jax.random.key(0))
    assert max(float(jnp.abs(v).max()) for v in disc.values()) <= 0.02 + 1e-7
    assert max(float(jnp.abs(v).max()) for v in gen.values()) > 0.1  # the generator is not clipped


def test_bad_loss_hyperparameters_raise():
    with pytest.raises(ValueError, match="clip"):
        build_loss("wasserstein", clip=0.0)
    with pytest.raises(ValueError, match="penalty_weight"):
        build_loss("wasserstein_gp", penalty_weight=-1.0)


def test_svi_refuses_weight_clipping():
    from inference.svi import bayesgan_svi

    with pytest.raises(ValueError, match="wasserstein_gp"):
        bayesgan_svi(model_with("wasserstein"), jnp.zeros((10, 3)), batch_size=4, num_generators=1,
                     num_discriminators=1, learning_rate=1e-3)


# -- hierarchical prior -----------------------------------------------------------------------------

def test_hierarchical_log_joint_is_gamma_hyperprior_plus_conditional_normal():
    """On the unconstrained (log-precision) scale SG-MCMC moves on, the log density is
    sum over tensors of [log Gamma(tau; a, a s^2) + log tau (Jacobian) + sum log N(w; 0, tau^-1/2)] + likelihood."""
    a, s = 3.0, 0.7
    hier = build_prior("hierarchical", scale=s, concentration=a)
    model = model_with(disc_prior=hier)
    _, disc = init_particles(jax.random.key(4), model, 1, 1)
    d1 = one(disc)
    precision_sites = sorted(k for k in d1 if k.endswith("_precision"))
    assert precision_sites == [f"discriminator__layers.{i}.{p}_precision" for i in range(2) for p in ("bias", "kernel")]
    # starts at the hyperprior mean E[tau] = 1 / s_l^2 (fan-in scaled for kernels: s_l = s / sqrt(fan_in))
    np.testing.assert_allclose(jnp.exp(d1["discriminator__layers.0.kernel_precision"]), 3 / s**2, rtol=1e-5)
    np.testing.assert_allclose(jnp.exp(d1["discriminator__layers.1.bias_precision"]), 1 / s**2, rtol=1e-5)
    d1 = {k: v + 0.3 if k.endswith("_precision") else v for k, v in d1.items()}  # move off the mean
    xr = xf = jnp.zeros((2, 3))
    got = make_logdensity_fn(model.discriminator_model)(d1, DiscriminatorBatch(xr, xf, 10))
    flat = make_logdensity_fn(model_with().discriminator_model)  # same likelihood, N(0, 1/fan_in) prior
    weights = {k: v for k, v in d1.items() if not k.endswith("_precision")}
    loglik = flat(weights, DiscriminatorBatch(xr, xf, 10)) - prior_logprob(build_prior("normal"), weights)
    want = loglik
    for name, w in weights.items():
        fan_in = np.prod(w.shape[:-1]) if name.endswith("kernel") else 1
        log_tau = d1[name + "_precision"]
        want += dist.Gamma(a, a * s**2 / fan_in).log_prob(jnp.exp(log_tau)) + log_tau
        want += dist.Normal(0, jnp.exp(-0.5 * log_tau)).log_prob(w).sum()
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_hierarchical_precisions_are_exported_on_their_natural_scale():
    model = model_with(gen_prior=build_prior("hierarchical"))
    gen, _ = init_particles(jax.random.key(5), model, 2, 1)
    out = model.constrain(gen)
    np.testing.assert_allclose(out["generator__layers.1.kernel_precision"],
                               jnp.exp(gen["generator__layers.1.kernel_precision"]), rtol=1e-6)
    np.testing.assert_array_equal(out["generator__layers.1.kernel"], gen["generator__layers.1.kernel"])
    # the precisions do not change the network's output
    z = jnp.ones((3, 2))
    g1 = one(gen)
    g_other = {k: v * 5 if k.endswith("_precision") else v for k, v in g1.items()}
    np.testing.assert_array_equal(model.generate(g1, z), model.generate(g_other, z))


def test_hierarchical_prior_draws_have_the_student_t_marginal():
    """w | tau ~ N(0, 1/tau), tau ~ Gamma(a, a s^2) marginalises to a Student-t(2a, 0, s): check the
    variance s^2 a / (a - 1) by sampling the prior model."""
    from numpyro import handlers

    a, s = 3.0, 1.0
    prior = build_prior("hierarchical", scale=s, fan_in_scaling=False, concentration=a)

    def draw(key):
        with handlers.seed(rng_seed=key):
            return prior("layers.0.bias", (1,)).sample(key)

    w = jax.vmap(draw)(jax.random.split(jax.random.key(6), 20000))
    np.testing.assert_allclose(np.var(w), s**2 * a / (a - 1), rtol=0.06)


def test_student_t_prior_sampler_is_exact_and_log_prob_unchanged():
    """The chi-square sampler of an integer-df Student-t prior matches scipy's t (KS test) and keeps
    numpyro's log_prob."""
    from scipy import stats

    prior = build_prior("student_t", scale=2.0, fan_in_scaling=False, df=3.0)
    d = prior("layers.0.bias", (4,))
    x = np.asarray(d.expand((20000, 4)).sample(jax.random.key(0))).ravel() / 2.0
    assert stats.kstest(x, stats.t(3).cdf).pvalue > 1e-3
    assert stats.kstest(x, stats.norm.cdf).pvalue < 1e-6  # the test can tell a t(3) from a normal
    w = jnp.linspace(-5, 5, 11)
    np.testing.assert_allclose(d.log_prob(w), dist.StudentT(3.0, 0.0, 2.0).log_prob(w), rtol=1e-6)


# -- priors chosen per network and per parameter path ----------------------------------------------

def test_path_override_changes_only_the_matched_site():
    base, tight = build_prior("normal"), build_prior("laplace", scale=0.1)
    prior = with_path_overrides("generator", base, [("generator__layers.1.*", tight)])
    assert isinstance(prior("layers.1.kernel", (8, 3)), dist.Laplace)
    assert isinstance(prior("layers.1.bias", (3,)), dist.Laplace)  # the glob matches the bias too
    assert isinstance(prior("layers.0.kernel", (2, 8)), dist.Normal)
    # the last matching pattern wins
    prior = with_path_overrides("generator", base, [("generator__*", tight), ("*__layers.0.kernel", base)])
    assert isinstance(prior("layers.0.kernel", (2, 8)), dist.Normal)
    assert isinstance(prior("layers.0.bias", (8,)), dist.Laplace)


def test_path_override_log_density_in_the_model():
    """The generator's log prior with an output-layer override equals the hand-built sum of log_probs."""
    base, tight = build_prior("normal"), build_prior("normal", scale=0.1, fan_in_scaling=False)
    prior = with_path_overrides("generator", base, [("generator__layers.1.kernel", tight)])
    m_over, m_base = model_with(gen_prior=prior), model_with()
    gen, disc = init_particles(jax.random.key(7), m_base, 1, 1)
    g1 = one(gen)
    z = jnp.ones((2, 2))
    diff = (make_logdensity_fn(m_over.generator_model)(g1, GeneratorBatch(z, disc, 10))
            - make_logdensity_fn(m_base.generator_model)(g1, GeneratorBatch(z, disc, 10)))
    k = g1["generator__layers.1.kernel"]
    want = dist.Normal(0, 0.1).log_prob(k).sum() - dist.Normal(0, 1 / np.sqrt(8)).log_prob(k).sum()
    np.testing.assert_allclose(diff, want, rtol=1e-5)


def test_resolve_priors_per_network_and_per_path():
    cfg = OmegaConf.create({
        "name": "student_t", "scale": 1.0, "fan_in_scaling": True, "df": 3.0, "init_scale": None,
        "generator": None, "discriminator": {"name": "laplace", "scale": 0.5},
        "path_overrides": [{"path": "generator__layers.2.*", "scale": 0.1},
                           {"path": "*__layers.0.kernel", "name": "normal"}]})
    out = resolve_priors(cfg)
    gen, gen_paths = out["generator"]
    disc, disc_paths = out["discriminator"]
    assert gen == {"name": "student_t", "scale": 1.0, "fan_in_scaling": True, "df": 3.0}
    assert disc == {"name": "laplace", "scale": 0.5, "fan_in_scaling": True}  # df dropped with the family
    assert gen_paths == [("generator__layers.2.*", {**gen, "scale": 0.1}),
                         ("*__layers.0.kernel", {"name": "normal", "scale": 1.0, "fan_in_scaling": True})]
    assert disc_paths == [("*__layers.0.kernel", {"name": "normal", "scale": 0.5, "fan_in_scaling": True})]


@pytest.mark.parametrize("change,message", [
    ({"discriminator": {"name": "cauchy"}}, "prior.discriminator.name='cauchy' is invalid"),
    ({"generator": {"scale": -1.0}}, "prior.generator.scale=-1.0 is invalid"),
    ({"generator": {"sclae": 1.0}}, "prior.generator"),
    ({"path_overrides": [{"path": "layers.2.*", "scale": 0.1}]}, "prior.path_overrides[0].path='layers.2.*' is invalid"),
    ({"path_overrides": [{"scale": 0.1}]}, "prior.path_overrides[0]"),
    ({"path_overrides": [{"path": "generator__*", "df": 0.0, "name": "student_t"}]}, "prior.path_overrides[0].df=0.0"),
])
def test_resolve_priors_rejects_bad_specs_naming_the_key(change, message):
    cfg = OmegaConf.create({"name": "normal", "scale": 1.0, "fan_in_scaling": True, "init_scale": None,
                            "generator": None, "discriminator": None, "path_overrides": [], **change})
    with pytest.raises(ConfigError) as err:
        resolve_priors(cfg)
    assert message in str(err.value)


@pytest.mark.slow
def test_bgan_run_config_wires_per_network_and_per_path_priors(tmp_path):
    from experiments.cli import load_config
    from experiments.datasets import load_dataset
    from experiments.build import build_model

    cfg = load_config(["experiment=ring8", "prior.discriminator={name:laplace,scale:0.5}",
                       "prior.path_overrides=[{path:'generator__layers.2.kernel',scale:0.1,fan_in_scaling:false}]",
                       f"out_dir={tmp_path / 'run'}"])
    model, init = build_model(cfg, load_dataset("ring8", seed=0, num_train=100, num_eval=10))
    d = model.discriminator_prior("layers.0.kernel", (2, 128))
    assert isinstance(d, dist.Laplace) and float(d.scale) == pytest.approx(0.5 / np.sqrt(2))
    out = model.generator_prior("layers.2.kernel", (128, 2))
    assert isinstance(out, dist.Normal) and float(out.scale) == pytest.approx(0.1)
    hidden = model.generator_prior("layers.1.kernel", (128, 128))
    assert isinstance(hidden, dist.Normal) and float(hidden.scale) == pytest.approx(1 / np.sqrt(128))
    assert float(model.discriminator_prior("layers.2.kernel", (128, 1)).scale) == pytest.approx(0.5 / np.sqrt(128))
    assert float(init.generator_prior("layers.2.kernel", (128, 2)).scale) == pytest.approx(0.1)  # no init_scale


@pytest.mark.parametrize("algorithm", ["sghmc", "sgld", pytest.param("svi", marks=pytest.mark.slow), "mle"])
def test_n_critic_takes_that_many_discriminator_steps_per_generator_step(algorithm):
    from inference.registry import build_inference

    model = model_with("wasserstein_gp")
    data = jax.random.normal(jax.random.key(0), (128, 3))
    hyper = {"sghmc": dict(num_generators=2, num_discriminators=2, step_size=1e-3, temperature=1.0, friction=0.1,
                           preconditioner="none"),
             "sgld": dict(num_generators=2, num_discriminators=2, step_size=1e-3, temperature=1.0,
                          preconditioner="none"),
             "svi": dict(num_generators=2, num_discriminators=2, learning_rate=1e-3),
             "mle": dict(learning_rate=1e-3)}[algorithm]

    def counts(n_critic):
        s = build_inference(algorithm, model, data, batch_size=8, iterations=10, n_critic=n_critic, **hyper)
        state, _ = jax.jit(s.step)(jax.random.key(1), s.init(jax.random.key(2)), jnp.int32(0))
        if algorithm == "mle":
            return int(state.generator_opt[0].count), int(state.discriminator_opt[0].count)
        if algorithm == "svi":
            return int(state.generator.optim_state[0]), int(state.discriminator.optim_state[0])
        return int(state.generator.step_count[0]), int(state.discriminator.step_count[0])

    assert counts(1) == (1, 1)
    assert counts(3) == (1, 3)
    with pytest.raises(ValueError, match="n_critic"):
        build_inference(algorithm, model, data, batch_size=8, iterations=10, n_critic=0, **hyper)
