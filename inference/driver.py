"""The compiled sampling loop: ``lax.scan`` over iterations, thinning, chunked progress.

``rng_key`` is split into an init, a step and a record key; iteration ``t`` uses ``fold_in(step_key, t)``
and draw ``d`` records with ``fold_in(record_key, d)``, so the draws do not depend on how the loop is cut into compiled chunks. Each chunk is one call of a
single jitted function (compiled once); its draws are copied to the host when it returns, which is the
only host synchronisation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from inference.bayesgan import BayesGANSampler


class Schedule(NamedTuple):
    """How ``iterations`` are cut into draws and compiled chunks.

    Attributes
    ----------
    num_draws : int
        Recorded draws per chain.
    thin : int
        Iterations between two draws.
    chunk_draws : int
        Draws per compiled chunk (a divisor of ``num_draws``).
    """

    num_draws: int
    thin: int
    chunk_draws: int

    @property
    def iterations(self) -> int:
        """Iterations actually run: ``num_draws * thin``."""
        return self.num_draws * self.thin


def make_schedule(iterations: int, num_draws: int, num_chunks: int = 10) -> Schedule:
    """Cut ``iterations`` into ``num_draws`` evenly spaced draws (the last at the final iteration).

    ``iterations`` is rounded down to a multiple of the thinning interval; ``num_draws`` is capped at
    ``iterations``.

    Raises
    ------
    ValueError
        If ``iterations`` or ``num_draws`` is not positive.
    """
    if iterations < 1 or num_draws < 1:
        raise ValueError(f"iterations and num_draws must be >= 1, got {iterations}, {num_draws}")
    num_draws = min(num_draws, iterations)
    thin = iterations // num_draws
    target = max(1, num_draws // num_chunks)
    chunk = max(d for d in range(1, target + 1) if num_draws % d == 0)
    return Schedule(num_draws, thin, chunk)


def _non_finite(params: dict, stats: dict) -> jax.Array:
    """Per particle: does any weight or per-step statistic hold a NaN or an infinity? Shape ``(J,)``."""
    leaves = [x.reshape(x.shape[0], -1) for x in jax.tree.leaves(params)]
    leaves += [jnp.reshape(x, (x.shape[0], -1)) for x in stats.values()]
    return ~jnp.all(jnp.concatenate([jnp.isfinite(x) for x in leaves], axis=1), axis=1)


def make_recorder(
    model,
    sampler: BayesGANSampler,
    samples_per_draw: int,
    weight_indices: dict[str, np.ndarray],
    eval_x: jax.Array | None = None,
) -> Callable:
    """Build ``record(rng_key, state, info) -> dict`` of one draw.

    The returned dict holds ``x_generated`` (``(J_g, samples_per_draw, data_dim)``, fresh ``z`` per
    chain), the thinned weights ``{site: (J, len(weight_indices[site]))}`` and the sample stats of the
    last iteration, prefixed ``stats/`` (generator) and ``disc_stats/`` (discriminator), including a
    boolean ``diverging`` per particle (a non-finite weight or statistic). With ``eval_x`` (``(M,
    data_dim)`` fixed real points) each discriminator particle's mean ``D(x)`` on them is recorded as
    ``disc_stats/d_eval``: a function-space statistic of the discriminator posterior.
    """

    def record(rng_key, state, info):
        gen, disc = sampler.positions(state, jax.random.fold_in(rng_key, 1))
        num_chains = jax.tree.leaves(gen)[0].shape[0]
        z = jax.random.normal(rng_key, (num_chains, samples_per_draw, model.latent_dim))
        out = {"x_generated": jax.vmap(model.generate)(gen, z)}
        for site, idx in weight_indices.items():
            params = gen[site] if site in gen else disc[site]
            out[site] = params.reshape(params.shape[0], -1)[:, idx]
        gen_stats, disc_stats = sampler.stats(info)
        out |= {f"stats/{k}": v for k, v in gen_stats.items()}
        out |= {f"disc_stats/{k}": v for k, v in disc_stats.items()}
        if eval_x is not None:
            logits = jax.vmap(model.discriminate, in_axes=(0, None))(disc, eval_x)
            out["disc_stats/d_eval"] = jax.nn.sigmoid(logits).mean(axis=-1)
        out["stats/diverging"] = _non_finite(gen, gen_stats)
        out["disc_stats/diverging"] = _non_finite(disc, disc_stats)
        return out

    return record


def run(
    sampler: BayesGANSampler,
    record: Callable,
    rng_key: jax.Array,
    schedule: Schedule,
    *,
    progress: bool | None = None,
    desc: str = "sampling",
):
    """Run ``schedule.iterations`` iterations of ``sampler`` and record ``schedule.num_draws`` draws.

    Parameters
    ----------
    sampler : BayesGANSampler
    record : callable
        From :func:`make_recorder`.
    rng_key : jax.Array
        Typed PRNG key; split into init, step and record streams.
    schedule : Schedule
    progress : bool or None
        Show a tqdm bar per compiled chunk; ``None`` shows it only on a terminal.

    Returns
    -------
    state
        The final sampler state.
    draws : dict of str to numpy.ndarray
        Each of shape ``(chain, draw, ...)``.
    seconds : float
        Wall time of the loop, compilation included.
    """
    k_init, k_step, k_record = jax.random.split(rng_key, 3)
    start = time.perf_counter()
    state = sampler.init(k_init)

    def one_iteration(state, t):
        return sampler.step(jax.random.fold_in(k_step, t), state)

    def one_draw(state, d):
        iters = d * schedule.thin + jnp.arange(schedule.thin)
        state, infos = jax.lax.scan(one_iteration, state, iters)
        last = jax.tree.map(lambda x: x[-1], infos)
        return state, record(jax.random.fold_in(k_record, d), state, last)

    @jax.jit
    def chunk(state, first_draw):
        return jax.lax.scan(one_draw, state, first_draw + jnp.arange(schedule.chunk_draws))

    pieces = []
    n_chunks = schedule.num_draws // schedule.chunk_draws
    with tqdm(total=schedule.iterations, desc=desc, unit="it", disable=None if progress is None else not progress) as bar:
        for c in range(n_chunks):
            state, out = chunk(state, c * schedule.chunk_draws)
            pieces.append(jax.device_get(out))
            bar.update(schedule.chunk_draws * schedule.thin)
    draws = {k: np.swapaxes(np.concatenate([p[k] for p in pieces]), 0, 1) for k in pieces[0]}
    return state, draws, time.perf_counter() - start
