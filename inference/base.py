"""The interface every inference algorithm of the zoo implements, and the helpers they share.

- :class:`SamplingAlgorithm` -- a kernel over one parameter vector, BlackJAX's SG-MCMC convention:
  ``init(position)``, ``step(rng_key, state, batch, step_size, adapt)`` (:mod:`inference.sghmc`,
  :mod:`inference.sgld`).
- :class:`Sampler` -- an algorithm over the GAN's J_g generator and J_d discriminator particles, as the
  driver (:mod:`inference.driver`) sees it: init/step, positions, sample stats, the objective that must stay
  finite, whether its draws sample a posterior, a sharding hint and each iteration's phase. The driver knows
  this protocol only.
- :func:`step_size_schedule`, :func:`warmup_phases`, :func:`cyclical_phases` -- the step size and the phase
  as functions of the generator iteration (constant, cosine, or cyclical SG-MCMC's cycles).
- :func:`rmsprop_preconditioner` -- pSGLD's diagonal preconditioner, adapted in warmup and then frozen.
- :func:`gaussian_noise` -- the SG-MCMC kernels' injected noise: BlackJAX's draws, at the speed of an even count.
- :func:`gathered` -- every particle on every device before a reduction over particles (the same draws on
  any number of devices).
- :func:`generator_batch`, :func:`discriminator_batch`, :func:`batch_axes` -- the named minibatches
  (:class:`models.bgan.GeneratorBatch`, :class:`models.bgan.DiscriminatorBatch`) every algorithm feeds
  ``logdensity_fn(position, batch)``: latents, real indices, interpolation weights, feature-matching reals
  and the noise key, each from its own key.
- :func:`critic_steps` -- the ``n_critic`` discriminator updates of one generator iteration, each on
  fresh minibatch keys derived by name (:func:`named_key`).

A new algorithm is one module with a builder returning a :class:`Sampler` and one line in
:data:`inference.registry.INFERENCE` (docs/extending.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import optax

from inference.schedule import PRECONDITIONERS, SCHEDULES
from models.layers import named_key  # noqa: F401  (the streams' naming; re-exported)

#: The phases of an iteration: warmup (draws go to ArviZ's ``warmup_*`` groups; preconditioners adapt),
#: sampling (draws are the posterior), exploration (a cyclical sampler's noise-free stage).
WARMUP, SAMPLING, EXPLORATION = "warmup", "sampling", "exploration"
PHASES = (WARMUP, SAMPLING, EXPLORATION)
#: Sharding hint labels: the leading axis of a leaf holds generator or discriminator particles.
GENERATOR_PARTICLES, DISCRIMINATOR_PARTICLES = "generator", "discriminator"


class SamplingAlgorithm(NamedTuple):
    """``init(position) -> state`` and ``step(rng_key, state, batch, step_size, adapt) -> (state, info)``
    (BlackJAX's SG-MCMC convention, plus the preconditioner's ``adapt`` flag)."""

    init: Callable
    step: Callable


class Sampler(NamedTuple):
    """An inference algorithm over GAN weights, as the driver sees it.

    Attributes
    ----------
    init : callable
        ``init(rng_key) -> state``.
    step : callable
        ``step(rng_key, state, iteration) -> (state, info)``: one full iteration (generator and
        discriminator); ``iteration`` (int32 scalar, 0-based) is the generator iteration, which indexes the
        step-size schedule of both networks and decides the phase.
    positions : callable
        ``positions(state, rng_key) -> (generator_sites, discriminator_sites)``, leading particle axes
        (the key serves algorithms whose draws are random given the state, e.g. variational ``q``).
    stats : callable
        ``stats(info) -> (generator_stats, discriminator_stats)``: dicts of per-particle scalars for
        ArviZ's ``sample_stats``.
    objective : (str, str)
        The generator's and the discriminator's stat that must stay finite (the log density for
        SG-MCMC, the loss for SVI and the ML twin): a non-finite value marks a diverging particle.
        Other stats may be ``nan`` by design (e.g. a KL with no closed form).
    samples_posterior : bool
        True for an SG-MCMC sampler, whose post-warmup draws are the posterior (headline: the posterior
        predictive); False for an optimiser or a variational fit (headline: the final iterate).
    particle_axes : callable, optional
        Sharding hint: ``particle_axes(state) -> pytree like state`` whose leaves are
        :data:`GENERATOR_PARTICLES`, :data:`DISCRIMINATOR_PARTICLES` (the leaf's leading axis holds those
        particles; the driver may shard it over devices) or ``None`` (replicate). ``None``: replicate all.
    phase : callable
        ``phase(iterations) -> array of str``: the phase (:data:`PHASES`) of each 0-based generator
        iteration of a ``numpy`` int array (see :func:`warmup_phases`, :func:`cyclical_phases`). The run
        directory files sampling draws in ArviZ's posterior groups and every other draw (warmup,
        exploration) in the ``warmup_*`` groups, in any order (:mod:`experiments.rundir.store`).
    averaged : callable, optional
        ``averaged(state) -> (generator_sites, discriminator_sites)``: a moving average of the positions kept
        beside the state (:func:`inference.averaging.moving_average`), reported beside the raw figures;
        ``None``: no average.
    """

    init: Callable
    step: Callable
    positions: Callable
    stats: Callable
    objective: tuple[str, str] = ("logdensity", "logdensity")
    samples_posterior: bool = False
    particle_axes: Callable | None = None
    phase: Callable = lambda iterations: np.full(np.shape(iterations), SAMPLING)
    averaged: Callable | None = None


def warmup_phases(num_warmup: int) -> Callable[[np.ndarray], np.ndarray]:
    """``phase(t)``: :data:`WARMUP` for iterations ``t < num_warmup``, then :data:`SAMPLING`."""
    return lambda iterations: np.where(np.asarray(iterations) < num_warmup, WARMUP, SAMPLING)


def generator_batch(model, data: jax.Array, rng_key: jax.Array, shape: tuple[int, ...], discriminators: dict,
                    noise_key: jax.Array | None = None):
    """The generator's minibatch (:class:`models.bgan.GeneratorBatch`) with a leading particle axis when
    ``shape`` has two entries: every algorithm's one way of drawing it.

    Parameters
    ----------
    model : models.bgan.BayesGAN
    data : array, shape ``(N, data_dim)``
    rng_key : jax.Array
        ``z ~ model.sample_latent(rng_key, shape)``; a feature-matching loss's real minibatch is drawn with
        ``fold_in(rng_key, 1)`` (no other loss uses that stream).
    shape : tuple of int
        ``(B,)`` for one network, ``(J_g, B)`` for ``J_g`` particles.
    discriminators : dict of str to array
        The discriminator particles in the likelihood (leading axis ``J_d``), shared by every generator.
    noise_key : jax.Array, optional
        Split into one key per generator particle (``shape[0]`` when ``shape`` has two entries); ``None``:
        deterministic networks.

    Returns
    -------
    models.bgan.GeneratorBatch
        ``num_data`` is ``N`` (a Python int, so it stays static under ``jax.vmap`` with :func:`batch_axes`).
    """
    from models.bgan import GeneratorBatch

    if noise_key is not None and len(shape) > 1:
        noise_key = jax.random.split(noise_key, shape[0])
    return GeneratorBatch(z=model.sample_latent(rng_key, shape), discriminators=discriminators,
                          num_data=int(data.shape[0]),
                          x_real=model.real_minibatch(jax.random.fold_in(rng_key, 1), data, shape), key=noise_key)


def discriminator_batch(data: jax.Array, index_key: jax.Array, shape: tuple[int, ...], x_fake: jax.Array,
                        epsilon_key: jax.Array | None = None, noise_key: jax.Array | None = None):
    """The discriminator's minibatch (:class:`models.bgan.DiscriminatorBatch`): every algorithm's one way of
    drawing it.

    Parameters
    ----------
    data : array, shape ``(N, data_dim)``
    index_key : jax.Array
        Real minibatch indices ``randint(index_key, shape, 0, N)`` (with replacement).
    shape : tuple of int
        ``(B,)``, or ``(J_d, B)`` for one minibatch per discriminator particle (a paired coupling).
    x_fake : array, shape ``(B_fake, data_dim)`` or ``(J_d, B_fake, data_dim)``
    epsilon_key : jax.Array, optional
        A gradient penalty's interpolation weights ``uniform(epsilon_key, x_fake.shape[:-1])``; default
        ``fold_in(index_key, 1)``.
    noise_key : jax.Array, optional
        Split per discriminator particle when ``shape`` has two entries; ``None``: deterministic networks.

    Returns
    -------
    models.bgan.DiscriminatorBatch
    """
    from models.bgan import DiscriminatorBatch

    num_data = int(data.shape[0])
    epsilon_key = jax.random.fold_in(index_key, 1) if epsilon_key is None else epsilon_key
    if noise_key is not None and len(shape) > 1:
        noise_key = jax.random.split(noise_key, shape[0])
    return DiscriminatorBatch(x_real=data[jax.random.randint(index_key, shape, 0, num_data)], x_fake=x_fake,
                              num_data=num_data, epsilon=jax.random.uniform(epsilon_key, x_fake.shape[:-1]),
                              key=noise_key)


def batch_axes(batch, per_particle: tuple[str, ...]):
    """``jax.vmap`` ``in_axes`` for a batch NamedTuple: axis 0 for the fields named in ``per_particle``,
    ``None`` (shared, or static like ``num_data``) for the rest."""
    return type(batch)(**{f: 0 if f in per_particle else None for f in batch._fields})


def critic_steps(critic_step: Callable, carry: Any, first_keys: tuple, rng_key: jax.Array, n_critic: int):
    """The ``n_critic`` discriminator updates of one generator iteration (Arjovsky et al. 2017, Algorithm 1;
    1 is Saatchi & Wilson's alternation), each on a fresh minibatch.

    Parameters
    ----------
    critic_step : callable
        ``critic_step(carry, keys) -> (carry, out)``: one update; ``keys`` a tuple of typed PRNG keys.
    carry
        The discriminator's state before the first update.
    first_keys : tuple of jax.Array
        The first update's keys (an algorithm derives them with its generator step's).
    rng_key : jax.Array
        Update ``i >= 1`` uses ``split(fold_in(rng_key, i), len(first_keys))``.
    n_critic : int
        ``>= 1`` (range-checked once, by the algorithms' configs: :class:`inference.config.HyperParameters`).

    Returns
    -------
    (carry, out)
        The state after the last update and the last update's ``out``.
    """
    carry, out = critic_step(carry, first_keys)
    if n_critic > 1:
        num_keys = len(first_keys)
        keys = jax.vmap(lambda i: jax.random.split(jax.random.fold_in(rng_key, i), num_keys))(jnp.arange(1, n_critic))
        carry, outs = jax.lax.scan(lambda c, k: critic_step(c, tuple(k)), carry, keys)
        out = jax.tree.map(lambda x: x[-1], outs)
    return carry, out


def gathered(tree):
    """Every particle of ``tree`` on every device, before a reduction over particles.

    Under a device mesh (the driver traces a sharded run inside ``jax.set_mesh``) an array whose particle
    axis is split would be summed as per-device partial sums combined across devices: another summation
    order than on one device, whose rounding the GAN dynamics amplify (0.79 apart in ``x_generated`` after
    500 ring8 iterations). Gathered first, each device sums every particle's terms in particle order, as
    one device does. Without a mesh it returns ``tree`` unchanged.
    """
    if jax.sharding.get_abstract_mesh().empty:
        return tree
    return jax.lax.with_sharding_constraint(tree, jax.sharding.PartitionSpec())


def check_step_size(step_size: float) -> None:
    """Raise ``ValueError`` unless ``step_size`` is a positive number."""
    if not step_size > 0:
        raise ValueError(f"step_size must be > 0, got {step_size}")


def cycle_length(iterations: int, num_warmup: int, num_cycles: int) -> int:
    """Iterations per cycle of the cyclical schedule: ``ceil((iterations - num_warmup) / num_cycles)``.

    Raises
    ------
    ValueError
        If fewer post-warmup iterations than cycles remain.
    """
    if iterations - num_warmup < num_cycles:
        raise ValueError(f"the cyclical schedule needs at least num_cycles={num_cycles} iterations after the "
                         f"{num_warmup} warmup iterations, got {iterations - num_warmup}")
    return -(-(iterations - num_warmup) // num_cycles)


def sampling_stage(t, num_warmup: int, length: int, exploration_ratio: float):
    """Whether post-warmup iteration ``t`` (0-based, numpy or JAX integers) lies in its cycle's sampling stage:
    its position in the cycle, ``(t - num_warmup) mod length``, is at least ``ceil(exploration_ratio *
    length)`` (an integer comparison, so the compiled step and the run directory's filing agree exactly).
    Warmup iterations return False."""
    first = math.ceil(round(exploration_ratio * length, 9))  # 0.07 * 100 is 7.000000000000001 in floats
    return (t >= num_warmup) & ((t - num_warmup) % length >= first)


def step_size_schedule(step_size: float, schedule: str = "constant", iterations: int | None = None,
                       final_step_size_ratio: float = 1.0, *, num_warmup: int = 0, num_cycles: int = 1):
    """``eta(t)``, the step size at generator iteration ``t`` (int32 scalar, 0-based) as a float32 scalar.

    ``"constant"``: ``step_size``; ``"cosine"``: ``optax.cosine_decay_schedule`` from ``step_size`` to
    ``final_step_size_ratio * step_size`` over ``iterations`` (Loshchilov & Hutter 2017, no restarts);
    ``"cyclical"``: ``step_size`` during warmup (``t < num_warmup``), then ``num_cycles`` cosine cycles
    ``eta_t = step_size / 2 * [cos(pi * mod(t', K) / K) + 1]`` with ``t' = t - num_warmup`` and ``K`` the
    :func:`cycle_length` (Zhang et al. 2020, eq. 1; ruqizhang/csgmcmc).

    Raises
    ------
    ValueError
        For a non-positive step size, an unknown schedule, a cosine or cyclical schedule without
        ``iterations``, or fewer post-warmup iterations than cycles.
    """
    check_step_size(step_size)
    if schedule in ("cosine", "cyclical") and not iterations:
        raise ValueError(f"the {schedule} step-size schedule needs iterations")
    if schedule == "cosine":
        cosine = optax.cosine_decay_schedule(step_size, iterations, alpha=final_step_size_ratio)
        return lambda t: jnp.asarray(cosine(t), jnp.float32)
    if schedule == "cyclical":
        length = cycle_length(iterations, num_warmup, num_cycles)

        def cyclical(t):
            position = jnp.mod(t - num_warmup, length).astype(jnp.float32) / length
            eta = step_size / 2 * (jnp.cos(jnp.pi * position) + 1)
            return jnp.where(t < num_warmup, step_size, eta).astype(jnp.float32)

        return cyclical
    if schedule != "constant":
        raise ValueError(f"schedule={schedule!r}; valid: {', '.join(repr(k) for k in SCHEDULES)}")
    return lambda t: jnp.asarray(step_size, jnp.float32)


def cyclical_phases(num_warmup: int, length: int, exploration_ratio: float) -> Callable[[np.ndarray], np.ndarray]:
    """``phase(t)`` of cyclical SG-MCMC: :data:`WARMUP` for ``t < num_warmup``, then per cycle
    :data:`EXPLORATION` (noise-free) and :data:`SAMPLING` (see :func:`sampling_stage`)."""
    def phase(iterations):
        t = np.asarray(iterations)
        return np.where(t < num_warmup, WARMUP,
                        np.where(sampling_stage(t, num_warmup, length, exploration_ratio), SAMPLING, EXPLORATION))
    return phase


def gaussian_noise(rng_key: jax.Array, position) -> Any:
    """Standard normal noise shaped like ``position``: the draws of ``blackjax.util.generate_gaussian_noise``
    (one ``jax.random.normal`` over the raveled pytree), bit for bit, at the speed of an even count.

    XLA's CPU threefry runs about 4x slower for an odd number of draws (17,025 normals: 0.44 ms against
    0.10 ms for 17,026, measured on the 2-core Xeon; ``benchmarks/bench.py``'s ring8 discriminator has
    17,025 weights). With JAX's partitionable threefry (``jax_threefry_partitionable``, the default of the
    installed JAX 0.12) the ``i``-th draw depends on ``i`` alone, so an odd count is drawn as one more and
    the last is dropped; with the legacy threefry, where that would change the draws, it draws the count as
    BlackJAX does. An ``optimization_barrier`` makes XLA compute the normals once instead of re-deriving them
    inside every consumer's fusion (0.12 ms less thunk time per ring8 iteration in a ``jax.profiler`` trace).

    Parameters
    ----------
    rng_key : jax.Array
        A typed PRNG key.
    position : pytree of float arrays
        The structure, shapes and dtype (of the raveled vector) of the noise.

    Returns
    -------
    pytree like ``position``
        ``N(0, 1)`` draws in the raveled vector's dtype (bit for bit BlackJAX's for float32 and float64).
    """
    flat, unravel = jax.flatten_util.ravel_pytree(position)
    size = flat.shape[0]
    padded = size + size % 2 if getattr(jax.config, "jax_threefry_partitionable", False) else size
    noise = jax.lax.optimization_barrier(jax.random.normal(rng_key, (padded,), flat.dtype))
    return unravel(noise[:size])


def rmsprop_preconditioner(kind: str, decay: float, eps: float, bias_correction: bool = False) -> Callable:
    """``update(square_avg, grad, adapt, num_adapted) -> (square_avg, G or None)``: the diagonal
    preconditioner of pSGLD (Li et al. 2016).

    ``"rmsprop"``: ``V <- decay V + (1 - decay) g^2`` where ``adapt`` is true, ``V`` unchanged otherwise;
    ``G = 1 / (eps + sqrt(V))`` while adapting, and once frozen ``G = 1 / (eps + sqrt(V / (1 - decay^n)))``
    with ``n = num_adapted`` the steps that adapted ``V`` (Adam's bias correction, Kingma & Ba 2015: ``V``
    starts at 0, so a warmup of fewer than a few hundred steps would otherwise freeze an underestimate and a
    ``G`` too large; after thousands of steps the factor is 1). ``"rmsprop_running"``: ``V`` adapted at
    every step, ``adapt`` ignored, no correction (Li et al.'s practice). ``"none"``: ``G`` is the identity
    (returned as ``None``).

    ``bias_correction=True`` applies Adam's correction while ``V`` adapts too: ``G = 1 / (eps + sqrt(V / (1 -
    decay^n)))`` with ``n`` the adapting steps so far, this one included (``num_adapted + 1``). Without it the
    first steps' ``G`` is up to ``1 / sqrt(1 - decay)`` times too large (10x at ``decay = 0.99``), decaying
    over ~``1 / (1 - decay)`` steps; on real MNIST's MLPs those steps saturate the generator for good
    (docs/images.md, "Real MNIST"). With ``"rmsprop_running"`` ``V`` adapts at every step, so the kernels
    count every step in ``num_adapted`` and the factor is Adam's ``1 / (1 - decay^t)`` at step ``t``.

    Raises
    ------
    ValueError
        For an unknown ``kind``.
    """
    if kind == "none":
        return lambda square_avg, grad, adapt, num_adapted: (square_avg, None)
    if kind not in PRECONDITIONERS:
        raise ValueError(f"preconditioner={kind!r}; valid: {', '.join(repr(k) for k in PRECONDITIONERS)}")
    running = kind == "rmsprop_running"

    def adapting_correction(num_adapted):
        if not bias_correction:
            return 1.0
        return 1.0 / (1.0 - decay ** (jnp.asarray(num_adapted) + 1).astype(jnp.float32))

    def update(square_avg, grad, adapt, num_adapted):
        new = jax.tree.map(lambda v, g: decay * v + (1 - decay) * g**2, square_avg, grad)
        if running:
            correction = adapting_correction(num_adapted)
            return new, jax.tree.map(lambda v: 1.0 / (eps + jnp.sqrt(v * correction)), new)
        new = jax.tree.map(lambda n, v: jnp.where(adapt, n, v), new, square_avg)
        frozen = 1.0 / (1.0 - decay ** jnp.maximum(num_adapted, 1).astype(jnp.float32))
        correction = jnp.where(adapt, adapting_correction(num_adapted), frozen)
        return new, jax.tree.map(lambda v: 1.0 / (eps + jnp.sqrt(v * correction)), new)

    return update
