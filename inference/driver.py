"""The compiled sampling loop: ``lax.scan`` over iterations, thinning, chunks, particles sharded over devices.

``rng_key`` is split into an init, a step and a record key; iteration ``t`` (0-based, passed to the
sampler's ``step``, which derives its step size and phase from it) uses ``fold_in(step_key, t)``
and draw ``d`` records with ``fold_in(record_key, d)``, so the draws do not depend on how the loop is cut
into compiled chunks, nor on where a resumed run picks up. Each chunk is one call of a single jitted
function (compiled once); its draws are copied to the host when it returns, which is the only host
synchronisation. Between chunks the caller may checkpoint the state and stream the draws to disk
(:mod:`experiments.run` does both).

With several devices the particle axes of an SG-MCMC state (``J_g`` generator, ``J_d`` discriminator
particles) are sharded over a 1-D ``jax.sharding`` mesh: its size is the largest divisor of ``J_g`` not
above the device count; the discriminator particles share it when ``J_d`` is divisible too, else they are
replicated. Which leaves hold particles is the sampler's hint (:attr:`inference.base.Sampler.particle_axes`);
SVI and the ML twin give none and run replicated. The devices may
belong to several processes (``jax.distributed``, one per host): every process runs the same program, and
the draws are gathered to every process after each chunk.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import AxisType, NamedSharding, PartitionSpec
from tqdm.auto import tqdm

from inference.base import DISCRIMINATOR_PARTICLES, GENERATOR_PARTICLES, Sampler
from inference.schedule import Schedule, make_schedule  # noqa: F401  (re-exported: the driver's API)

#: Sentinel of "no divergence" in the per-particle first-divergence iteration.
NO_DIVERGENCE = int(np.iinfo(np.int32).max)
#: Upper bound on the host memory of one chunk's draws (bytes), so peak memory does not grow with the run.
CHUNK_BYTES = 16 * 2**20


def _non_finite(params: dict, objective: jax.Array) -> jax.Array:
    """Per particle: does any weight or the objective hold a NaN or an infinity? Shape ``(J,)``."""
    leaves = [x.reshape(x.shape[0], -1) for x in jax.tree.leaves(params)]
    leaves.append(jnp.reshape(objective, (objective.shape[0], -1)))
    return ~jnp.all(jnp.concatenate([jnp.isfinite(x) for x in leaves], axis=1), axis=1)


def make_recorder(
    model,
    sampler: Sampler,
    samples_per_draw: int,
    weight_indices: dict[str, np.ndarray],
    eval_x: jax.Array | None = None,
    eval_points: bool = False,
) -> Callable:
    """Build ``record(rng_key, state, info) -> dict`` of one draw.

    The returned dict holds ``x_generated`` (``(J_g, samples_per_draw, data_dim)``, fresh ``z`` per
    chain), the thinned weights ``{site: (J, len(weight_indices[site]))}`` and the sample stats of the
    last iteration, prefixed ``stats/`` (generator) and ``disc_stats/`` (discriminator), including a
    boolean ``diverging`` per particle (a non-finite weight, objective or, for a generator, generated sample; see
    :attr:`inference.base.Sampler.objective`). With ``eval_x`` (``(M, data_dim)`` fixed real
    points) each discriminator particle's mean ``D(x)`` on them is recorded as ``disc_stats/d_eval``: a
    function-space statistic of the discriminator posterior. With ``eval_points`` too, every particle's
    ``D(x)`` on each point is kept, ``disc_points/d_real`` ``(J_d, M)``, and for a semi-supervised model its
    class probabilities ``disc_points/class_probs`` ``(J_d, M, K)``: the discriminator's posterior
    predictive, for anomaly scores and semi-supervised predictions.
    """
    gen_objective, disc_objective = sampler.objective

    def record(rng_key, state, info):
        gen, disc = sampler.positions(state, jax.random.fold_in(rng_key, 1))
        num_chains = jax.tree.leaves(gen)[0].shape[0]
        z = model.sample_latent(rng_key, (num_chains, samples_per_draw))
        out = {"x_generated": jax.vmap(model.generate)(gen, z)}
        if model.conditional:
            out["class_generated"] = model.latent_classes(z)
        for site, idx in weight_indices.items():
            params = gen[site] if site in gen else disc[site]
            out[site] = params.reshape(params.shape[0], -1)[:, idx]
        gen_stats, disc_stats = sampler.stats(info)
        out |= {f"stats/{k}": v for k, v in gen_stats.items()}
        out |= {f"disc_stats/{k}": v for k, v in disc_stats.items()}
        if eval_x is not None:
            logits = jax.vmap(model.discriminate, in_axes=(0, None))(disc, eval_x)
            out["disc_stats/d_eval"] = jax.nn.sigmoid(logits).mean(axis=-1)
            if eval_points:
                out["disc_points/d_real"] = jax.nn.sigmoid(logits)
                if model.num_classes:
                    out["disc_points/class_probs"] = jax.vmap(model.class_probabilities, in_axes=(0, None))(
                        disc, eval_x)
        # a generator particle whose weights, objective or generated samples are not finite is diverging
        out["stats/diverging"] = _non_finite(gen, gen_stats[gen_objective]) | ~jnp.all(
            jnp.isfinite(out["x_generated"].reshape(num_chains, -1)), axis=1)
        out["disc_stats/diverging"] = _non_finite(disc, disc_stats[disc_objective])
        return out

    return record


def draw_nbytes(sampler: Sampler, record: Callable) -> int:
    """Host bytes of one recorded draw (every chain), from the recorder's output shapes (nothing is run)."""
    key = jax.random.key(0)
    state = jax.eval_shape(sampler.init, key)
    out = jax.eval_shape(lambda k, st: record(k, st, sampler.step(k, st, jnp.int32(0))[1]), key, state)
    return sum(math.prod(v.shape) * v.dtype.itemsize for v in out.values())


def particle_mesh(num_particles: int, devices: Sequence | None = None) -> jax.sharding.Mesh | None:
    """A 1-D mesh (axis ``"particle"``) over the largest number of ``devices`` that divides
    ``num_particles``; ``None`` when that is one device (nothing to shard)."""
    devices = list(jax.devices() if devices is None else devices)
    size = max(k for k in range(1, len(devices) + 1) if num_particles % k == 0)
    if size == 1:
        return None
    return jax.make_mesh((size,), ("particle",), axis_types=(AxisType.Auto,), devices=devices[:size])


def state_shardings(sampler: Sampler, state, mesh: jax.sharding.Mesh):
    """``NamedSharding`` of every leaf of a sampler state, from the sampler's sharding hint
    (:attr:`inference.base.Sampler.particle_axes`): a leaf whose leading axis holds generator particles, or
    discriminator particles whose number the mesh divides, is split over ``"particle"``; everything else is
    replicated."""
    replicated = NamedSharding(mesh, PartitionSpec())
    split = NamedSharding(mesh, PartitionSpec("particle"))
    if sampler.particle_axes is None:
        return jax.tree.map(lambda _: replicated, state)

    def one(label, x):
        shardable = label in (GENERATOR_PARTICLES, DISCRIMINATOR_PARTICLES) and x.ndim and x.shape[0] % mesh.size == 0
        return split if shardable else replicated

    return jax.tree.map(one, sampler.particle_axes(state), state, is_leaf=lambda x: x is None)


class Chunk(NamedTuple):
    """What one compiled chunk returns (on the host, but ``state``).

    Attributes
    ----------
    state
        Sampler state after the chunk (on device; sharded like the input).
    draws : dict of str to numpy.ndarray
        The chunk's draws, each ``(chain, chunk_draws, ...)``.
    first_divergence : (numpy.ndarray, numpy.ndarray)
        Per generator particle ``(J_g,)`` and per discriminator particle ``(J_d,)``, int32: the first
        iteration (1-based) whose objective was not finite, or :data:`NO_DIVERGENCE`.
    """

    state: object
    draws: dict
    first_divergence: tuple


class Sampling:
    """The sampling loop of one run, as compiled chunks that a caller drives (and may checkpoint between).

    Parameters
    ----------
    sampler : inference.base.Sampler
    record : callable
        From :func:`make_recorder`.
    rng_key : jax.Array
        Typed PRNG key of the run; split into init, step and record streams.
    schedule : Schedule
    devices : sequence of jax.Device, optional
        Devices to shard the particles over (default: all of ``jax.devices()``; one device: no sharding).
    """

    def __init__(self, sampler: Sampler, record: Callable, rng_key: jax.Array, schedule: Schedule,
                 *, devices: Sequence | None = None):
        self.sampler, self.schedule = sampler, schedule
        self.k_init, k_step, k_record = jax.random.split(rng_key, 3)
        abstract = jax.eval_shape(sampler.init, self.k_init)
        gen_stats, disc_stats = jax.eval_shape(lambda k, st: sampler.stats(sampler.step(k, st, jnp.int32(0))[1]),
                                               k_step, abstract)
        self.num_generators = int(gen_stats[sampler.objective[0]].shape[0])
        self.num_discriminators = int(disc_stats[sampler.objective[1]].shape[0])
        self.mesh = particle_mesh(self.num_generators, devices) if sampler.particle_axes is not None else None
        self.shardings = state_shardings(sampler, abstract, self.mesh) if self.mesh is not None else None
        gen_objective, disc_objective = sampler.objective

        def constrain(state):
            if self.shardings is None:
                return state
            return jax.lax.with_sharding_constraint(state, self.shardings)

        def first_bad(bad, objective, t):
            return jnp.minimum(bad, jnp.where(jnp.isfinite(objective), NO_DIVERGENCE, t + 1).astype(jnp.int32))

        def one_iteration(carry, t):
            state, bad_g, bad_d = carry
            state, info = sampler.step(jax.random.fold_in(k_step, t), state, t)
            g, d = sampler.stats(info)
            carry = (constrain(state), first_bad(bad_g, g[gen_objective], t), first_bad(bad_d, d[disc_objective], t))
            return carry, info

        def one_draw(carry, d):
            iters = d * schedule.thin + jnp.arange(schedule.thin)
            carry, infos = jax.lax.scan(one_iteration, carry, iters)
            last = jax.tree.map(lambda x: x[-1], infos)
            return carry, record(jax.random.fold_in(k_record, d), carry[0], last)

        def chunk(state, first_draw):
            bad = (jnp.full((self.num_generators,), NO_DIVERGENCE, jnp.int32),
                   jnp.full((self.num_discriminators,), NO_DIVERGENCE, jnp.int32))
            (state, *bad), out = jax.lax.scan(one_draw, (state, *bad),
                                              first_draw + jnp.arange(schedule.chunk_draws))
            return constrain(state), out, tuple(bad)

        self._chunk = jax.jit(chunk)

    def init(self):
        """The initial state (prior draws of the particles), sharded over the mesh if there is one."""
        state = jax.jit(self.sampler.init)(self.k_init)  # one compiled program (same bits as eager, faster)
        if self.shardings is None:
            return state
        if jax.process_count() == 1:
            return jax.device_put(state, self.shardings)
        # several processes (jax.distributed): every process drew the same state from the same key; each
        # keeps the shards of its own devices
        return jax.tree.map(lambda x, s: jax.make_array_from_callback(
            x.shape, s, lambda index, x=np.asarray(x): x[index]), state, self.shardings)

    def abstract_state(self):
        """``jax.ShapeDtypeStruct`` tree of the state, with its shardings (what a checkpoint restores into)."""
        abstract = jax.eval_shape(self.sampler.init, self.k_init)
        if self.shardings is None:
            return abstract
        return jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), abstract, self.shardings)

    def chunk(self, state, index: int) -> Chunk:
        """Run chunk ``index`` (draws ``index * chunk_draws`` onwards) from ``state``."""
        if self.mesh is None:
            state, out, bad = self._chunk(state, index * self.schedule.chunk_draws)
        else:  # traced under the mesh: the sampler gathers particles before reducing over them
            with jax.set_mesh(self.mesh):
                state, out, bad = self._chunk(state, index * self.schedule.chunk_draws)
        if self.mesh is not None and jax.process_count() > 1:  # sharded over processes: gather to every one
            out, bad = multihost_utils.process_allgather((out, bad), tiled=True)
        out, bad = jax.device_get((out, bad))
        draws = {k: np.swapaxes(np.asarray(v), 0, 1) for k, v in out.items()}
        return Chunk(state, draws, tuple(np.asarray(b) for b in bad))

def run(
    sampler: Sampler,
    record: Callable,
    rng_key: jax.Array,
    schedule: Schedule,
    *,
    progress: bool | None = None,
    desc: str = "sampling",
    devices: Sequence | None = None,
):
    """Run ``schedule.iterations`` iterations of ``sampler`` and keep all ``schedule.num_draws`` draws in
    memory (what tests and benchmarks use; ``bgan-run`` streams its draws to disk instead).

    Parameters
    ----------
    sampler : Sampler
    record : callable
        From :func:`make_recorder`.
    rng_key : jax.Array
        Typed PRNG key; split into init, step and record streams.
    schedule : Schedule
    progress : bool or None
        Show a tqdm bar per compiled chunk; ``None`` shows it only on a terminal.
    devices : sequence of jax.Device, optional
        See :class:`Sampling`.

    Returns
    -------
    state
        The final sampler state.
    draws : dict of str to numpy.ndarray
        Each of shape ``(chain, draw, ...)``.
    seconds : float
        Wall time of the loop, compilation included.
    """
    start = time.perf_counter()
    sampling = Sampling(sampler, record, rng_key, schedule, devices=devices)
    state = sampling.init()
    pieces = []
    with tqdm(total=schedule.iterations, desc=desc, unit="it", disable=None if progress is None else not progress) as bar:
        for c in range(schedule.num_chunks):
            state, draws, _ = sampling.chunk(state, c)
            pieces.append(draws)
            bar.update(schedule.chunk_draws * schedule.thin)
    draws = {k: np.concatenate([p[k] for p in pieces], axis=1) for k in pieces[0]}
    return state, draws, time.perf_counter() - start
