"""The Bayesian GAN sweep and the compiled driver: particle axes, determinism, no retracing."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inference.bayesgan import bayesgan
from inference.driver import make_recorder, make_schedule, run
from inference.mle import mc_dropout_gan, mle_gan
from models.bgan import BayesGAN, DiscriminatorBatch, GeneratorBatch
from models.losses import build_loss
from models.networks import make_discriminator, make_generator
from models.priors import build_prior
from tests.models.test_losses_priors import model_with

DATA = jnp.asarray(np.random.default_rng(0).normal(size=(500, 2)), jnp.float32)


def tiny_model(prior=None):
    prior = prior or build_prior("normal")
    return BayesGAN(make_generator(2, [16], 2, output_activation="linear"), make_discriminator(2, [16]),
                    prior, prior, build_loss("non_saturating"), latent_dim=2)


def sampler(model, **kw):
    args = dict(batch_size=16, num_generators=3, num_discriminators=2, step_size=1e-3, friction=0.1,
                temperature=1.0, preconditioner="rmsprop", num_warmup=10) | kw
    return bayesgan(model, DATA, **args)


def test_sweep_moves_every_particle_with_its_own_axis():
    model = tiny_model()
    s = sampler(model)
    state = s.init(jax.random.key(0))
    new, info = jax.jit(s.step)(jax.random.key(1), state, jnp.int32(0))
    for old, upd in ((state.generator, new.generator), (state.discriminator, new.discriminator)):
        for k in old.position:
            assert upd.position[k].shape == old.position[k].shape
            diff = np.abs(np.asarray(upd.position[k] - old.position[k])).reshape(len(upd.position[k]), -1)
            assert np.all(diff.max(axis=1) > 0), k  # every particle moved
    assert info.generator.logdensity.shape == (3,)
    assert info.discriminator.logdensity.shape == (2,)
    assert np.all(np.isfinite(np.asarray(info.generator.logdensity)))


def test_schedule_cuts_iterations_into_draws_and_chunks():
    sch = make_schedule(1000, 50)
    assert (sch.num_draws, sch.thin, sch.iterations) == (50, 20, 1000)
    assert sch.num_draws % sch.chunk_draws == 0 and sch.num_draws // sch.chunk_draws == 10
    assert make_schedule(7, 50).num_draws == 7


def _run(s, model, iterations, num_draws, seed=0, counter=None):
    inner = s.step
    if counter is not None:
        def step(key, state, iteration):  # counts traces (Python executions), not iterations
            counter.append(1)
            return inner(key, state, iteration)
        s = s._replace(step=step)
    record = make_recorder(model, s, 10, {"generator__layers.0.kernel": np.arange(4)})
    return run(s, record, jax.random.key(seed), make_schedule(iterations, num_draws), progress=False)


def test_driver_traces_once_and_is_deterministic():
    model = tiny_model()
    s = sampler(model)
    few, many = [], []
    _, draws_a, _ = _run(s, model, 40, 4, counter=few)
    _, draws_b, _ = _run(s, model, 400, 40, counter=many)
    assert len(few) == len(many) <= 2  # traced at compile time only, not per iteration or per chunk
    assert draws_a["x_generated"].shape == (3, 4, 10, 2)
    assert draws_a["generator__layers.0.kernel"].shape == (3, 4, 4)
    assert draws_a["stats/logdensity"].shape == (3, 4)
    assert draws_a["disc_stats/logdensity"].shape == (2, 4)
    assert draws_a["stats/diverging"].shape == (3, 4) and not draws_a["stats/diverging"].any()
    _, draws_c, _ = _run(s, model, 40, 4)
    np.testing.assert_array_equal(draws_a["x_generated"], draws_c["x_generated"])
    _, draws_d, _ = _run(s, model, 40, 4, seed=1)
    assert not np.array_equal(draws_a["x_generated"], draws_d["x_generated"])


def test_draws_do_not_depend_on_chunking():
    """Iteration t always uses fold_in(key, t): 2 chunks of 10 draws == 10 chunks of 2 draws."""
    model = tiny_model()
    s = sampler(model)
    record = make_recorder(model, s, 5, {})
    sch = make_schedule(200, 20)
    _, a, _ = run(s, record, jax.random.key(3), sch._replace(chunk_draws=2), progress=False)
    _, b, _ = run(s, record, jax.random.key(3), sch._replace(chunk_draws=10), progress=False)
    np.testing.assert_allclose(a["x_generated"], b["x_generated"], rtol=1e-5, atol=1e-6)


def test_mle_twin_is_one_chain_and_learns():
    """Adam on the non-saturating loss: the discriminator loss drops below log 4 on separable data."""
    model = tiny_model()
    s = mle_gan(model, DATA + 5.0, batch_size=32, learning_rate=1e-2)
    state = s.init(jax.random.key(0))
    step = jax.jit(s.step)
    for i in range(30):
        state, info = step(jax.random.key(i), state)
    assert info.generator_loss.shape == ()  # one network: no particle axis in the state
    assert s.stats(info)[0]["generator_loss"].shape == (1,)  # one chain
    assert jax.tree.leaves(s.positions(state)[0])[0].shape[0] == 1
    assert float(info.discriminator_loss) < np.log(4)


def test_divergence_is_flagged_per_particle():
    """A step size far too large drives weights to inf/NaN; the recorder flags it, particle by particle."""
    model = tiny_model()
    s = sampler(model, step_size=0.9, preconditioner="none", friction=0.01)
    _, draws, _ = _run(s, model, 200, 4)
    assert draws["stats/diverging"].dtype == bool
    assert draws["stats/diverging"][:, -1].all()


def test_sweep_follows_the_conditionals_exactly_at_zero_temperature():
    """T = 0, no preconditioner, zero initial momentum: one sweep moves each generator particle by
    eta * grad log p(theta_g | z, theta_d) (eq. 1, all discriminator particles) and then each
    discriminator particle by eta * grad log p(theta_d | z, X, theta_g) on the *updated* generators' fakes."""
    from inference.bridge import make_logdensity_fn

    model, eta = tiny_model(), 1e-4
    s = sampler(model, temperature=0.0, preconditioner="none", step_size=eta)
    state = s.init(jax.random.key(0))
    key = jax.random.key(1)
    new, _ = s.step(key, state, jnp.int32(0))
    k_z, _, k_idx, k_zf, _ = jax.random.split(key, 5)
    z = jax.random.normal(k_z, (3, 16, 2))
    g_grad = jax.vmap(lambda p, zj: jax.grad(make_logdensity_fn(model.generator_model))(
        p, GeneratorBatch(zj, state.discriminator.position, 500)))(state.generator.position, z)
    want_g = jax.tree.map(lambda p, g: p + eta * g, state.generator.position, g_grad)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7), new.generator.position, want_g)
    x_real = DATA[jax.random.randint(k_idx, (16,), 0, 500)]
    x_fake = jax.vmap(model.generate)(new.generator.position, jax.random.normal(k_zf, (3, 16, 2))).reshape(-1, 2)
    d_grad = jax.vmap(lambda p: jax.grad(make_logdensity_fn(model.discriminator_model))(
        p, DiscriminatorBatch(x_real, x_fake, 500)))(state.discriminator.position)
    want_d = jax.tree.map(lambda p, g: p + eta * g, state.discriminator.position, d_grad)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7),
                 new.discriminator.position, want_d)


def test_mle_generator_moves_to_the_data():
    """The ML twin's generator learns: its sample mean moves from ~0 to the data at +5."""
    model = tiny_model()
    s = mle_gan(model, DATA + 5.0, batch_size=64, learning_rate=1e-2)
    state = s.init(jax.random.key(0))

    def gen_mean(st):
        return float(model.generate(st.generator, jax.random.normal(jax.random.key(9), (512, 2))).mean())

    before = gen_mean(state)
    run = jax.jit(lambda st, k: jax.lax.scan(lambda c, kk: (s.step(kk, c, 0)[0], None), st, jax.random.split(k, 400))[0])
    after = gen_mean(run(state, jax.random.key(1)))
    assert abs(before - 5.0) > 3.0 and abs(after - 5.0) < 1.0, (before, after)


def test_mc_dropout_draws_are_masked_copies_of_one_network():
    """Each MC-dropout draw zeroes whole rows (hidden units) of the kernels after the first layer and
    scales the rest by 1 / (1 - p); the first layer and the biases are shared."""
    model, p = tiny_model(), 0.5
    s = mc_dropout_gan(model, DATA, batch_size=16, learning_rate=1e-3, dropout_rate=p, num_generators=6,
                       num_discriminators=3)
    state = s.init(jax.random.key(0))
    gen, disc = s.positions(state, jax.random.key(1))
    assert gen["generator__layers.0.kernel"].shape[0] == 6 and disc["discriminator__layers.0.bias"].shape[0] == 3
    base = np.asarray(state.generator["generator__layers.1.kernel"])
    drawn = np.asarray(gen["generator__layers.1.kernel"])
    for d in drawn:
        kept = np.all(np.isclose(d, base / (1 - p)), axis=1)
        dropped = np.all(d == 0, axis=1)
        assert np.all(kept | dropped) and 0 < dropped.sum() < len(base)
    assert not np.array_equal(drawn[0], drawn[1])
    np.testing.assert_array_equal(gen["generator__layers.0.kernel"][3], state.generator["generator__layers.0.kernel"])
    with pytest.raises(ValueError):
        mc_dropout_gan(model, DATA, batch_size=16, learning_rate=1e-3, dropout_rate=0.0, num_generators=4)


@pytest.mark.parametrize("kernel", ["sghmc", "sgld"])
@pytest.mark.parametrize("n_critic", [1, 5])
@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_step_size_is_a_function_of_the_generator_iteration(kernel, n_critic, schedule):
    """Per iteration, through the compiled driver: both networks' step size is eta(t) at generator iteration
    t, whatever the discriminator's step count (n_critic steps per iteration)."""
    from inference.base import step_size_schedule

    model, iterations = tiny_model(), 40
    kw = dict(friction=0.1) if kernel == "sghmc" else dict(friction=None)
    s = sampler(model, kernel=kernel, schedule=schedule, iterations=iterations, final_step_size_ratio=0.1,
                n_critic=n_critic, num_warmup=10, **kw)
    record = make_recorder(model, s, 4, {})
    _, draws, _ = run(s, record, jax.random.key(0), make_schedule(iterations, iterations), progress=False)
    eta = step_size_schedule(1e-3, schedule, iterations, 0.1)
    want = np.array([float(eta(t)) for t in range(iterations)])
    for key in ("stats/step_size", "disc_stats/step_size"):
        np.testing.assert_allclose(draws[key], np.broadcast_to(want, draws[key].shape), rtol=1e-6)
    if schedule == "cosine":
        assert want[-1] < 0.2 * want[0] and want[iterations // 2] > 0.5 * want[0]


def test_frozen_preconditioner_changes_only_during_warmup():
    """Per iteration: with preconditioner='rmsprop' every particle's V changes at each warmup iteration and
    never afterwards; with 'rmsprop_running' it keeps changing."""
    model = tiny_model()
    for preconditioner, changes_after in (("rmsprop", False), ("rmsprop_running", True)):
        s = sampler(model, preconditioner=preconditioner, num_warmup=3)
        state = s.init(jax.random.key(0))
        step = jax.jit(s.step)
        for t in range(6):
            new, _ = step(jax.random.fold_in(jax.random.key(1), t), state, jnp.int32(t))
            for net in ("generator", "discriminator"):
                old_v = getattr(state, net).square_avg
                new_v = getattr(new, net).square_avg
                changed = all(not np.array_equal(old_v[k], new_v[k]) for k in old_v)
                same = all(np.array_equal(old_v[k], new_v[k]) for k in old_v)
                assert changed if (t < 3 or changes_after) else same, (preconditioner, net, t)
            state = new
    with pytest.raises(ValueError, match="num_warmup"):
        sampler(model, preconditioner="rmsprop", num_warmup=0)


def test_clipped_critic_momentum_does_not_push_into_the_wall():
    """Weight clipping under SGHMC: after every step each discriminator weight is inside the box and no
    momentum component of a weight on the wall points out of it."""
    model = model_with("wasserstein")
    data = jax.random.normal(jax.random.key(0), (128, 3))
    s = bayesgan(model, data, batch_size=8, num_generators=2, num_discriminators=2, step_size=1e-3, friction=0.1,
                 temperature=1.0, preconditioner="none")
    state = s.init(jax.random.key(1))
    step = jax.jit(s.step)
    c = model.loss.clip
    on_wall = 0
    for t in range(20):
        state, _ = step(jax.random.fold_in(jax.random.key(2), t), state, jnp.int32(t))
        for k, w in state.discriminator.position.items():
            w, v = np.asarray(w), np.asarray(state.discriminator.momentum[k])
            assert np.all(np.abs(w) <= c + 1e-9), k
            wall = np.isclose(np.abs(w), c)
            on_wall += int(wall.sum())
            assert not np.any(wall & (v * np.sign(w) > 0)), k
    assert on_wall > 0  # the test exercised the wall
