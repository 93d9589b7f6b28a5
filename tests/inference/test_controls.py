"""The controls of "is it the posterior or the ensemble?" (ensemble, independent MAP, coupled MAP), cyclical
SG-MCMC and EBGAN: behaviour per step and per iteration, and statistics on targets with known answers."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inference.base import (EXPLORATION, SAMPLING, WARMUP, cycle_length, cyclical_phases, sampling_stage,
                            step_size_schedule)
from inference.bayesgan import bayesgan, coupled_ensemble, independent_map
from inference.driver import make_recorder, make_schedule, run
from inference.ebgan import ebgan, msgld
from inference.mle import ensemble_gan, mc_dropout_gan, mle_gan
from inference.registry import build_inference
from inference.sgld import sgld
from models.bgan import BayesGAN, GeneratorBatch
from models.heads import SemiSupervisedHead
from models.losses import build_loss
from models.networks import build_networks
from models.priors import build_prior
from tests.inference.test_bayesgan import DATA, tiny_model

UPDATE = dict(batch_size=16, step_size=1e-3, friction=0.1, preconditioner="none", num_warmup=0)


def _steps(s, state, n, seed=1):
    step = jax.jit(s.step)
    for i in range(n):
        state, _ = step(jax.random.key(seed + i), state, jnp.int32(i))
    return state


def _perturb_member(tree, j, scale=0.5):
    """Add ``scale`` to particle ``j`` of every leaf (leading axis)."""
    return jax.tree.map(lambda x: x.at[j].add(scale) if jnp.issubdtype(x.dtype, jnp.floating) else x, tree)


def _close(a, b):
    return all(np.allclose(x, y, rtol=0, atol=0) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def _member(tree, j):
    return jax.tree.map(lambda x: x[j], tree)


# -- controls ------------------------------------------------------------------------------------------------

def test_independent_map_pairs_never_see_each_other_and_coupled_particles_do():
    """Perturb pair j's weights: under independent_map every other pair follows exactly the same trajectory
    and pair j's own does not (so generator j is paired with discriminator j, not some other one); under
    coupled_ensemble (Saatchi & Wilson's coupling) every generator sees every discriminator, so they all move."""
    model = tiny_model()
    for builder, coupled in ((independent_map, False), (coupled_ensemble, True)):
        kw = dict(num_generators=3) if not coupled else dict(num_generators=3, num_discriminators=3)
        s = builder(model, DATA, **UPDATE, **kw)
        state = s.init(jax.random.key(0))
        a = _steps(s, state, 5)
        for j in range(3):
            other = state._replace(
                generator=state.generator._replace(position=_perturb_member(state.generator.position, j)),
                discriminator=state.discriminator._replace(position=_perturb_member(state.discriminator.position, j)))
            b = _steps(s, other, 5)
            for i in range(3):
                same = _close(_member(a.generator.position, i), _member(b.generator.position, i)) and _close(
                    _member(a.discriminator.position, i), _member(b.discriminator.position, i))
                assert same is (not coupled and i != j), (builder.__name__, i, j)
        assert not s.samples_posterior  # an optimiser: its headline is the final iterate


@pytest.mark.slow  # compiles its own samplers: the fast tier keeps the cheaper checks
def test_coupled_ensemble_is_the_sweep_at_zero_temperature_and_the_noise_is_what_it_removes():
    model = tiny_model()
    kw = dict(**UPDATE, num_generators=3, num_discriminators=2)
    control = coupled_ensemble(model, DATA, **kw)
    cold = bayesgan(model, DATA, kernel="sghmc", temperature=0.0, **kw)
    warm = bayesgan(model, DATA, kernel="sghmc", temperature=1.0, **kw)
    state = control.init(jax.random.key(0))
    a, b, c = (_steps(s, state, 4) for s in (control, cold, warm))
    assert _close(a, b)
    assert not _close(a.generator.position, c.generator.position)
    assert warm.samples_posterior and not control.samples_posterior


@pytest.mark.slow  # compiles its own samplers: the fast tier keeps the cheaper checks
def test_independent_map_runs_the_sweep_update_on_its_own_pair():
    """A one-pair independent MAP is the T = 0 SGHMC sweep with J_g = J_d = 1 (the same update and prior)."""
    model = tiny_model()
    control = independent_map(model, DATA, **UPDATE, num_generators=1)
    sweep = bayesgan(model, DATA, kernel="sghmc", temperature=0.0, num_generators=1, num_discriminators=1, **UPDATE)
    state = control.init(jax.random.key(3))
    assert _close(_steps(control, state, 4), _steps(sweep, state, 4))


def test_paired_coupling_needs_one_discriminator_per_generator():
    with pytest.raises(ValueError, match="one discriminator per generator"):
        bayesgan(tiny_model(), DATA, kernel="sghmc", temperature=0.0, coupling="paired", num_generators=3,
                 num_discriminators=2, **UPDATE)


@pytest.mark.slow  # compiles its own samplers: the fast tier keeps the cheaper checks
def test_ensemble_member_is_the_ml_twin_with_its_own_keys():
    """Member j of the ensemble is exactly the twin (Adam, no prior, no noise) run with the j-th split of the
    init and step keys: separate seeds, no coupling."""
    model = tiny_model()
    twin_kw = dict(batch_size=16, learning_rate=1e-2)
    ens = ensemble_gan(model, DATA, num_generators=3, **twin_kw)
    twin = mle_gan(model, DATA, **twin_kw)
    state = ens.init(jax.random.key(0))
    twin_state = twin.init(jax.random.split(jax.random.key(0), 3)[2])
    assert _close(_member(state, 2), twin_state)
    for i in range(4):
        key = jax.random.key(10 + i)
        state, info = jax.jit(ens.step)(key, state, jnp.int32(i))
        twin_state, _ = jax.jit(twin.step)(jax.random.split(key, 3)[2], twin_state, jnp.int32(i))
    np.testing.assert_allclose(np.asarray(jax.tree.leaves(_member(state.generator, 2))[0]),
                               np.asarray(jax.tree.leaves(twin_state.generator)[0]), rtol=1e-6, atol=1e-7)
    gen, disc = ens.positions(state)
    assert jax.tree.leaves(gen)[0].shape[0] == 3 and jax.tree.leaves(disc)[0].shape[0] == 3
    assert not np.allclose(np.asarray(jax.tree.leaves(gen)[0][0]), np.asarray(jax.tree.leaves(gen)[0][1]))
    assert ens.stats(info)[0]["generator_loss"].shape == (3,) and not ens.samples_posterior


def test_supervised_control_freezes_the_generator_and_keeps_the_discriminator_trajectory():
    """With the fake term weighted 0 (``unlabelled_weight=0``) the twin skips the generator's Adam steps: the
    generator keeps its initial weights, its loss is still traced, and the discriminator takes exactly the
    steps it takes with the generator trained (nothing the generator does reaches it)."""
    gen, disc = build_networks("mlp", latent_dim=2, data_dim=2, generator_hidden=[16], discriminator_hidden=[16],
                               output_activation="linear", out_features=4)
    head = SemiSupervisedHead(num_classes=3, x_labelled=DATA[:6], y_labelled=jnp.arange(6) % 3, unlabelled_weight=0.0)
    prior = build_prior("normal")
    model = BayesGAN(gen, disc, prior, prior, build_loss("feature_matching"), latent_dim=2, head=head)
    kw = dict(batch_size=16, learning_rate=1e-2)
    # the twin; MC dropout with two critic steps, whose discriminator steps depend on every key they are given
    # (the masks), so a frozen branch that fed them other keys would move the discriminator elsewhere; the
    # ensemble (J_g twins in one vmap)
    for build in (lambda **k: mle_gan(model, DATA, **kw, **k),
                  lambda **k: mc_dropout_gan(model, DATA, dropout_rate=0.3, num_generators=2, num_discriminators=2,
                                             n_critic=2, **kw, **k),
                  lambda **k: ensemble_gan(model, DATA, num_generators=2, **kw, **k)):
        frozen, trained = build(), build(train_generator=True)
        start = frozen.init(jax.random.key(0))
        a, b = _steps(frozen, start, 5), _steps(trained, start, 5)
        assert _close(a.generator, start.generator) and not _close(b.generator, start.generator)
        assert not _close(a.discriminator, start.discriminator)
        # equal bit for bit on the machine this was written on; the tolerance lets XLA fuse the two programs
        # differently elsewhere (a few float32 roundings over 5 Adam steps of size 1e-2)
        for x, y in zip(jax.tree.leaves(a.discriminator), jax.tree.leaves(b.discriminator)):
            np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-6, atol=1e-7)
        _, info = jax.jit(frozen.step)(jax.random.key(9), a, jnp.int32(5))
        assert np.all(np.isfinite(np.asarray(info.generator_loss)))
    # the keys matter to MC dropout's discriminator: other step keys move it well beyond the tolerance
    dropout = mc_dropout_gan(model, DATA, dropout_rate=0.3, num_generators=2, num_discriminators=2, n_critic=2, **kw)
    start = dropout.init(jax.random.key(0))
    moved = [np.abs(np.asarray(x) - np.asarray(y)).max() for x, y in zip(
        jax.tree.leaves(_steps(dropout, start, 5).discriminator),
        jax.tree.leaves(_steps(dropout, start, 5, seed=1000).discriminator))]
    assert max(moved) > 1e-3
    # with the unlabelled terms on, the generator trains by default
    on = dataclasses.replace(model, head=dataclasses.replace(head, unlabelled_weight=1.0))
    start = mle_gan(on, DATA, **kw).init(jax.random.key(0))
    assert not _close(_steps(mle_gan(on, DATA, **kw), start, 2).generator, start.generator)


def test_controls_take_the_bayesian_gan_settings_of_the_experiment():
    """ring8's sghmc block (J_g = 6, cosine schedule) is what its controls run at, unless they set their own."""
    from experiments.cli import load_config

    for name in ("coupled_ensemble", "independent_map", "ensemble"):
        inf = load_config(["experiment=ring8", f"inference={name}"]).inference
        assert inf.num_generators == 6, name
        if name != "ensemble":
            assert inf.schedule == "cosine" and inf.final_step_size_ratio == 0.02
            assert "temperature" not in inf  # T = 0 is what the control is, not a setting
    assert load_config(["experiment=ring8", "inference=ensemble", "experiment.mle.learning_rate=0.01"]
                       ).inference.learning_rate == 0.01
    assert load_config(["experiment=ring8", "inference=ensemble", "experiment.ensemble.num_generators=2"]
                       ).inference.num_generators == 2


def test_controls_refuse_a_cyclical_schedule():
    from experiments.cli import ConfigError, load_config

    with pytest.raises(ConfigError, match="inference.schedule"):
        load_config(["experiment=ring8", "inference=coupled_ensemble", "inference.schedule=cyclical"])


# -- cyclical SG-MCMC ----------------------------------------------------------------------------------------

def test_cyclical_step_size_and_stages_per_iteration():
    """eta_t = eta0 / 2 [cos(pi mod(t', K) / K) + 1] after warmup (Zhang et al. 2020, eq. 1), constant during
    warmup; the first ceil(beta K) iterations of each cycle explore, the rest sample."""
    iterations, warmup, cycles, beta = 50, 10, 4, 0.5
    eta = step_size_schedule(0.2, "cyclical", iterations, num_warmup=warmup, num_cycles=cycles)
    length = cycle_length(iterations, warmup, cycles)
    assert length == 10
    phase = cyclical_phases(warmup, length, beta)(np.arange(iterations))
    for t in range(iterations):
        if t < warmup:
            want, want_phase = 0.2, WARMUP
        else:
            r = (t - warmup) % length
            want = 0.1 * (np.cos(np.pi * r / length) + 1)
            want_phase = SAMPLING if r >= 5 else EXPLORATION
        np.testing.assert_allclose(float(eta(jnp.int32(t))), want, rtol=1e-6, err_msg=str(t))
        assert phase[t] == want_phase, t
        assert bool(sampling_stage(jnp.int32(t), warmup, length, beta)) == (want_phase == SAMPLING), t
    with pytest.raises(ValueError, match="at least num_cycles"):
        step_size_schedule(0.2, "cyclical", 12, num_warmup=10, num_cycles=4)


@pytest.mark.slow  # compiles its own samplers: the fast tier keeps the cheaper checks
@pytest.mark.parametrize("kernel", ["sghmc", "sgld"])
def test_cyclical_sweep_injects_noise_only_in_sampling_stages(kernel):
    """Through the compiled driver, per iteration: the recorded step size is the cyclical eta_t, and the
    sampler at T = 1 agrees exactly with the same sampler at T = 0 through the first exploration stage (no
    noise is injected there) and parts from it in the first sampling stage."""
    model, iterations, cycles = tiny_model(), 40, 4
    kw = dict(friction=0.1) if kernel == "sghmc" else dict(friction=None)
    common = dict(kernel=kernel, batch_size=16, num_generators=2, num_discriminators=2, step_size=1e-3,
                  preconditioner="none", num_warmup=0, iterations=iterations, **kw)
    cyc = bayesgan(model, DATA, temperature=1.0, schedule="cyclical", num_cycles=cycles, exploration_ratio=0.5,
                   **common)
    cold = bayesgan(model, DATA, temperature=0.0, schedule="cyclical", num_cycles=cycles, exploration_ratio=0.5,
                    **common)
    record = make_recorder(model, cyc, 4, {"generator__layers.0.kernel": np.arange(4)})
    sch = make_schedule(iterations, iterations)
    _, hot_draws, _ = run(cyc, record, jax.random.key(0), sch, progress=False)
    _, cold_draws, _ = run(cold, record, jax.random.key(0), sch, progress=False)
    eta = step_size_schedule(1e-3, "cyclical", iterations, num_cycles=cycles)
    np.testing.assert_allclose(hot_draws["stats/step_size"][0], [float(eta(t)) for t in range(iterations)], rtol=1e-5)
    w_hot, w_cold = hot_draws["generator__layers.0.kernel"], cold_draws["generator__layers.0.kernel"]
    # cycle 0: iterations 0-4 explore (T = 0 in both runs: identical draws), 5-9 sample (they part)
    np.testing.assert_array_equal(w_hot[:, :5], w_cold[:, :5])
    assert not np.allclose(w_hot[:, 5], w_cold[:, 5])
    assert cyc.samples_posterior
    np.testing.assert_array_equal(cyc.phase(np.arange(10)), [EXPLORATION] * 5 + [SAMPLING] * 5)


def _double_well_logdensity(x, *_):
    """log of 0.5 N(-8, 2^2) + 0.5 N(8, 2^2) (up to a constant): a barrier of 7.3 nats between the modes."""
    return jax.nn.logsumexp(jnp.stack([-0.5 * ((x["x"] + 8.0) / 2) ** 2, -0.5 * ((x["x"] - 8.0) / 2) ** 2])).sum()


def _sgld_chain(eta_at, temperature_at, iterations, key):
    kernel = sgld(_double_well_logdensity, temperature=1.0, preconditioner="none")

    def one(state, inp):
        t, k = inp
        state, _ = kernel.step(k, state, (), eta_at(t), False, temperature_at(t))
        return state, state.position["x"]

    state = kernel.init({"x": jnp.full((), 8.0)})
    _, xs = jax.lax.scan(one, state, (jnp.arange(iterations), jax.random.split(key, iterations)))
    return np.asarray(xs)


def test_cyclical_sgld_visits_both_modes_where_a_plain_chain_stays_in_one():
    """A bimodal target with a barrier of 8 nats: plain SGLD at a small step size stays in the mode it starts
    in; cyclical SGLD (cycles restarting at a large step size, BlackJAX's exploration ratio 0.25) crosses, and
    its sampling-stage draws are spread over both modes with the right per-mode mean."""
    iterations, cycles, beta = 20_000, 40, 0.25
    length = cycle_length(iterations, 0, cycles)
    plain = _sgld_chain(step_size_schedule(0.05), lambda t: None, iterations, jax.random.key(0))
    eta = step_size_schedule(6.0, "cyclical", iterations, num_cycles=cycles)
    cyc = _sgld_chain(eta, lambda t: jnp.where(sampling_stage(t, 0, length, beta), 1.0, 0.0), iterations,
                      jax.random.key(0))
    sampled = cyc[sampling_stage(np.arange(iterations), 0, length, beta)]
    assert np.mean(plain > 0) == 1.0  # never left the mode it started in
    right = np.mean(sampled > 0)
    assert 0.2 < right < 0.8, right  # both modes, in a proportion a fair chain could give
    assert abs(sampled[sampled > 0].mean() - 8.0) < 0.4 and abs(sampled[sampled < 0].mean() + 8.0) < 0.4
    visits = np.sign(sampled[:: length // 2])
    assert np.sum(visits[1:] != visits[:-1]) >= 5  # it keeps crossing, not one jump


# -- EBGAN ---------------------------------------------------------------------------------------------------

def test_msgld_samples_a_gaussian_at_its_temperature_over_one_plus_the_drift_scale():
    """N(mu, sigma^2) at temperature tau: without the drift (a = 0, plain SGLD) MSGLD's draws have mean mu and
    variance tau sigma^2; with it, the drift tracks the gradient (m ~ g at small steps), so the chain samples
    the Gaussian at the effective temperature tau / (1 + a) -- half the variance at EBGAN's a = 1 (a measured
    property of the update as the reference code writes it, stated in docs/extending.md)."""
    mu, sigma, tau = 1.5, 2.0, 0.5

    def logdensity(p):
        return (-0.5 * ((p["x"] - mu) / sigma) ** 2).sum()

    for a in (0.0, 1.0):
        kernel = msgld(logdensity, temperature=tau, drift_scale=a, drift_decay=0.9)

        def one(state, k):
            state, _ = kernel.step(k, state, (), 0.02)
            return state, state.position["x"]

        state = kernel.init({"x": jnp.zeros(200)})
        _, xs = jax.lax.scan(one, state, jax.random.split(jax.random.key(1), 6000))
        xs = np.asarray(xs[1000:])
        assert abs(xs.mean() - mu) < 0.05, (a, xs.mean())
        assert abs(xs.var() / (tau * sigma**2 / (1 + a)) - 1) < 0.1, (a, xs.var())


def test_msgld_drift_is_the_moving_average_of_past_gradients():
    """Per step: theta' = theta + eps (g + a m) at T = 0, and m' = beta m + (1 - beta) g after it is used."""
    kernel = msgld(lambda p: -0.5 * (p["x"] ** 2).sum(), temperature=0.0, drift_scale=2.0, drift_decay=0.7)
    state = kernel.init({"x": jnp.array([1.0, -2.0])})
    x, m = np.array([1.0, -2.0]), np.zeros(2)
    for i in range(4):
        state, info = kernel.step(jax.random.key(i), state, (), 0.1)
        g = -x
        x, m = x + 0.1 * (g + 2.0 * m), 0.7 * m + 0.3 * g
        np.testing.assert_allclose(state.position["x"], x, rtol=1e-6)
        np.testing.assert_allclose(state.drift["x"], m, rtol=1e-6)


@pytest.mark.parametrize("tau,a,beta", [pytest.param(0.5, 0.0, 0.9, marks=pytest.mark.slow), (0.5, 2.0, 0.98)])
def test_ebgan_generators_sample_their_target_at_tau_over_one_plus_a(tau, a, beta):
    """Through the builder, at tau > 0 and a > 0: with a discriminator of all-zero weights (its output the
    same for every input) that does not learn (c = 1e-30), the generator's likelihood is flat and each
    generator particle's target is its N(0, 1) prior (no fan-in scaling). Per weight, MSGLD at step epsilon,
    temperature tau, drift scale a and decay beta is then the linear recursion
    (x, m)' = A (x, m) + (sqrt(2 epsilon tau) xi, 0) with A = [[1 - epsilon, epsilon a], [-(1 - beta), beta]]
    (:func:`inference.ebgan.msgld`), whose stationary variance of x is the discrete Lyapunov solution (scipy):
    0.5025 at tau = 0.5, a = 0, and 0.283 at a = 2, beta = 0.98 (0.200 at beta = 0.9, 0.337 at a = 1). Every weight must have
    mean 0 and that variance. The fast case's tau, a and beta all differ from EBGAN's defaults (0.01, 1, 0.9),
    so a builder that dropped the temperature, the drift scale or the drift decay fails."""
    from scipy.linalg import solve_discrete_lyapunov

    model = tiny_model(build_prior("normal", scale=1.0, fan_in_scaling=False))
    s = ebgan(model, DATA, batch_size=16, num_generators=4, learning_rate=5.0, temperature=tau, drift_scale=a,
              drift_decay=beta, discriminator_learning_rate=1e-30, discriminator_decay_offset=1.0,
              discriminator_decay_exponent=0.75, n_critic=1)
    state = s.init(jax.random.key(0))
    state = state._replace(discriminator=jax.tree.map(jnp.zeros_like, state.discriminator))

    def one(state, key):
        state, _ = s.step(key, state, jnp.int32(0))
        return state, jnp.concatenate([x.reshape(4, -1) for x in jax.tree.leaves(state.generator.position)], 1)

    final, draws = jax.lax.scan(one, state, jax.random.split(jax.random.key(1), 6000))
    w = np.asarray(draws[2000::10])  # (400 draws, 4 particles, 82 weights); epsilon = 5 / 500, 2,000 steps of burn-in
    assert np.abs(np.asarray(jax.tree.leaves(final.discriminator)[0])).max() < 1e-20  # it did not learn
    assert abs(w.mean()) < 0.03, w.mean()
    eps = 5.0 / len(DATA)
    noise = np.array([[np.sqrt(2 * eps * tau)], [0.0]])
    want = solve_discrete_lyapunov(np.array([[1 - eps, eps * a], [-(1 - beta), beta]]), noise @ noise.T)[0, 0]
    assert abs(w.var() / want - 1) < 0.05, (tau, a, w.var(), want)


@pytest.mark.slow  # compiles its own samplers: the fast tier keeps the cheaper checks
def test_ebgan_discriminator_step_decays_per_update_and_sees_the_mixture():
    """The discriminator's SGD step at its k-th update is c (k + t0)^-kappa (n_critic updates per iteration),
    and it is one network against all J_g generators' fakes."""
    model, iterations = tiny_model(), 12
    for n_critic in (1, 3):
        s = ebgan(model, DATA, batch_size=16, num_generators=3, learning_rate=0.05, discriminator_learning_rate=0.5,
                  discriminator_decay_offset=10.0, discriminator_decay_exponent=0.75, n_critic=n_critic,
                  iterations=iterations)
        record = make_recorder(model, s, 4, {})
        _, draws, _ = run(s, record, jax.random.key(0), make_schedule(iterations, iterations), progress=False)
        k = np.arange(iterations) * n_critic + n_critic - 1  # the last update of each iteration
        np.testing.assert_allclose(draws["disc_stats/step_size"][0], 0.5 * (k + 10.0) ** -0.75, rtol=1e-6)
        assert draws["stats/logdensity"].shape[0] == 3 and draws["disc_stats/step_size"].shape[0] == 1
        assert s.samples_posterior


@pytest.mark.slow  # compiles its own samplers: the fast tier keeps the cheaper checks
def test_ebgan_generators_sample_a_tempered_conditional():
    """With the discriminator fixed (c tiny), each generator particle is an MSGLD chain at tau: its step is
    the MSGLD step on the zoo's generator log density with epsilon = lr_g / N."""
    from inference.bridge import make_logdensity_fn

    model = tiny_model()
    s = ebgan(model, DATA, batch_size=16, num_generators=2, learning_rate=0.05, temperature=0.0, drift_scale=0.0)
    state = s.init(jax.random.key(0))
    key = jax.random.key(4)
    new, _ = s.step(key, state, jnp.int32(0))
    k_z = jax.random.split(key, 4)[0]
    z = jax.random.normal(k_z, (2, 16, 2))
    disc = jax.tree.map(lambda x: x[None], state.discriminator)
    grad = jax.vmap(lambda p, zj: jax.grad(make_logdensity_fn(model.generator_model))(
        p, GeneratorBatch(zj, disc, 500)))(state.generator.position, z)
    want = jax.tree.map(lambda p, g: p + 0.05 / 500 * g, state.generator.position, grad)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7), new.generator.position, want)


def test_registry_builds_every_new_choice_with_its_config_check():
    model = tiny_model()
    for name in ("ensemble", "independent_map", "coupled_ensemble", "ebgan"):
        s = build_inference(name, model, DATA, batch_size=16, iterations=20, num_generators=2, num_warmup=5)
        assert s.init(jax.random.key(0)) is not None
    with pytest.raises(ValueError, match="inference.discriminator_decay_exponent"):
        build_inference("ebgan", model, DATA, batch_size=16, iterations=20, discriminator_decay_exponent=0.4)


def test_more_cycles_than_post_warmup_iterations_is_a_config_error():
    from experiments.cli import ConfigError, load_config

    with pytest.raises(ConfigError, match="inference.num_cycles=8 is invalid: must be at most the 5 iterations"):
        load_config(["experiment=ring8", "iterations=10", "experiment.num_draws=10", "inference.schedule=cyclical",
                     "inference.num_cycles=8"])
