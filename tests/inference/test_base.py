"""The shared pieces of every algorithm (inference/base.py), per iteration."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from inference.base import (EXPLORATION, SAMPLING, WARMUP, Sampler, critic_steps, gathered, gaussian_noise,
                            named_key, warmup_phases)


@pytest.mark.parametrize("n_critic", [1, 2, 5])
def test_critic_steps_runs_n_critic_updates_on_distinct_keys(n_critic):
    def step(carry, keys):
        count, seen = carry
        draw = jax.random.uniform(keys[0]) + jax.random.uniform(keys[1])
        return (count + 1, seen.at[count].set(draw)), draw

    first = tuple(jax.random.split(jax.random.key(0), 2))
    (count, seen), last = critic_steps(step, (0, jnp.zeros(5)), first, jax.random.key(1), n_critic)
    assert int(count) == n_critic
    used = np.asarray(seen[:n_critic])
    assert len(np.unique(used)) == n_critic  # a fresh minibatch key every update
    assert float(last) == pytest.approx(float(used[-1]))
    # the first update uses the keys given; update i >= 1 split(fold_in(rng_key, i))
    assert used[0] == pytest.approx(float(jax.random.uniform(first[0]) + jax.random.uniform(first[1])))
    if n_critic > 1:
        k = jax.random.split(jax.random.fold_in(jax.random.key(1), 1), 2)
        assert used[1] == pytest.approx(float(jax.random.uniform(k[0]) + jax.random.uniform(k[1])))
    # n_critic < 1 is refused once, by the configs' check (tests/experiments/test_defaults.py)


@pytest.mark.parametrize("partitionable", [True, False])
@pytest.mark.parametrize("shapes", [[(3, 5), (5,), (5, 1)], [(128, 128), (128,), (128, 1), (1,)], [(1,)], [(4,), (2,)]])
def test_gaussian_noise_is_blackjaxs_draws_bit_for_bit(shapes, partitionable):
    """The kernels' noise equals ``blackjax.util.generate_gaussian_noise`` exactly, for odd total counts (21;
    16,384 + 128 + 128 + 1 = 16,641, a discriminator's layout; 1: drawn one longer and cut) and an even one (6), under either threefry."""
    from blackjax.util import generate_gaussian_noise

    position = {f"w{i}": jnp.zeros(s, jnp.float32) for i, s in enumerate(shapes)}
    key = jax.random.key(7)
    with jax.threefry_partitionable(partitionable):
        ours = jax.jit(gaussian_noise)(key, position)
        theirs = jax.jit(generate_gaussian_noise)(key, position)
        batched = jax.jit(jax.vmap(gaussian_noise, in_axes=(0, None)))(jax.random.split(key, 2), position)
    for name in position:
        assert ours[name].shape == position[name].shape and ours[name].dtype == jnp.float32
        np.testing.assert_array_equal(np.asarray(ours[name]), np.asarray(theirs[name]))
    with jax.threefry_partitionable(partitionable):  # a particle axis (vmap) draws each particle's own
        for i, k in enumerate(jax.random.split(key, 2)):
            single = jax.jit(generate_gaussian_noise)(k, position)
            for name in position:
                np.testing.assert_array_equal(np.asarray(batched[name][i]), np.asarray(single[name]))


def test_named_keys_are_stable_and_distinct():
    key = jax.random.key(3)
    a, b = named_key(key, "critic"), named_key(key, "penalty")
    assert not np.array_equal(jax.random.key_data(a), jax.random.key_data(b))
    np.testing.assert_array_equal(jax.random.key_data(a), jax.random.key_data(named_key(jax.random.key(3), "critic")))


def test_warmup_phase_per_iteration():
    phase = warmup_phases(3)
    assert list(phase(np.arange(6))) == [WARMUP] * 3 + [SAMPLING] * 3
    assert list(warmup_phases(0)(np.arange(2))) == [SAMPLING, SAMPLING]
    default = Sampler(None, None, None, None).phase(np.arange(3))
    assert list(default) == [SAMPLING] * 3 and EXPLORATION not in default


def test_gathered_is_the_identity_without_a_mesh():
    x = {"a": jnp.arange(4.0)}
    assert gathered(x) is x
