"""A moving average of the weights (Polyak & Juditsky 1992; the exponential form of Salimans et al. 2016's
recipe) around any :class:`inference.base.Sampler`: ``inference.ema_decay``.

The wrapper runs the sampler unchanged (its draws, stats and phases are the sampler's) and keeps, beside
its state, ``optax.ema(decay, debias=True)`` of the positions after every iteration. The sampler's
``averaged(state)`` returns that average, which the evaluation reports beside the raw figures (e.g.
``test_error_ema``, :mod:`experiments.tasks.semi_supervised`).

For an optimiser (the ML twin, the ensemble) the average is Polyak averaging of the iterates: a smoother
point estimate of the same objective. For an SG-MCMC sampler it is the running mean of the chain's
weights, one network per particle: not a posterior draw and not the posterior predictive (an average of
weights is not an average of the functions they compute, and a multimodal posterior's mean weight need
not lie in any mode). docs/design.md, "A moving average of weights".
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import optax

from inference.base import Sampler


class AveragedState(NamedTuple):
    """The wrapped sampler's state, the ``optax.ema`` state of its positions, and the debiased average
    ``(generator_sites, discriminator_sites)`` (leading particle axes, constrained)."""

    inner: Any
    ema: optax.EmaState
    average: tuple[dict, dict]


def moving_average(sampler: Sampler, decay: float) -> Sampler:
    """Wrap ``sampler`` with an exponential moving average of its positions.

    Parameters
    ----------
    sampler : inference.base.Sampler
    decay : float
        In (0, 1): ``avg_t = decay avg_{t-1} + (1 - decay) theta_t``, debiased by ``1 - decay^t`` (Adam's
        correction, so the average does not start at zero as the recipe's does; the recipe's rate 1e-4 is
        ``decay = 0.9999``).

    Returns
    -------
    inference.base.Sampler
        The same draws as ``sampler``; its ``averaged(state) -> (generator_sites, discriminator_sites)``
        gives the average (leading particle axes ``J_g`` / ``J_d``, as ``positions``). The positions it
        averages are ``sampler.positions(state, key(0))``: a sampler whose draws are random given the state
        (SVI's ``q``, MC dropout's masks) averages one fixed draw of them.

    Raises
    ------
    ValueError
        For ``decay`` outside (0, 1).
    """
    if not 0.0 < decay < 1.0:
        raise ValueError(f"inference.ema_decay={decay!r} is invalid: must be in (0, 1)")
    ema = optax.ema(decay, debias=True)

    def current(inner):
        return sampler.positions(inner, jax.random.key(0))

    def init(rng_key):
        inner = sampler.init(rng_key)
        positions = current(inner)
        return AveragedState(inner, ema.init(positions), positions)

    def step(rng_key, state: AveragedState, iteration):
        inner, info = sampler.step(rng_key, state.inner, iteration)
        average, ema_state = ema.update(current(inner), state.ema)
        return AveragedState(inner, ema_state, average), info

    def positions(state: AveragedState, rng_key=None):
        return sampler.positions(state.inner, rng_key)

    def particle_axes(state: AveragedState):
        inner = sampler.particle_axes(state.inner) if sampler.particle_axes else jax.tree.map(lambda _: None,
                                                                                                 state.inner)
        return AveragedState(inner, jax.tree.map(lambda _: None, state.ema),
                             jax.tree.map(lambda _: None, state.average))

    return sampler._replace(init=init, step=step, positions=positions, particle_axes=particle_axes,
                            averaged=lambda state: state.average)
