"""Stochastic-gradient Langevin dynamics (Welling & Teh 2011) and its RMSprop-preconditioned form
(pSGLD, Li et al. 2016) as an ``init``/``step`` pair.

The plain update is BlackJAX's own kernel (``blackjax.sgmcmc.sgld.build_kernel``, the Euler step of the
overdamped Langevin diffusion): ``theta <- theta + eta grad log p + N(0, 2 eta T)``. The preconditioned
update is ``theta <- theta + eta G grad log p + N(0, 2 eta T G)`` with ``G = 1 / (eps + sqrt(V))`` and ``V``
an exponential moving average of squared gradients. As in :mod:`inference.sghmc`, ``preconditioner="rmsprop"``
adapts ``V`` only while ``adapt`` is true (warmup) and then keeps ``G`` constant, which makes the Gamma
correction of Li et al. zero; ``"rmsprop_running"`` adapts at every step and drops it (biased; measured in
``tests/inference/test_samplers.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from blackjax.sgmcmc.sgld import build_kernel

from inference.base import SamplingAlgorithm, gaussian_noise, rmsprop_preconditioner
from inference.config import default
from inference.sghmc import SGHMCInfo


class SGLDState(NamedTuple):
    """State of one SGLD chain: ``position``, the RMSprop ``square_avg``, ``step_count`` (steps taken,
    a counter for diagnostics; the step size is the caller's) and ``num_adapted`` (steps that adapted
    ``square_avg``: its bias correction once frozen)."""

    position: dict
    square_avg: dict
    step_count: jax.Array
    num_adapted: jax.Array


def sgld(
    logdensity_fn: Callable,
    temperature: float = default("sgld", "temperature"),
    preconditioner: str = default("sgld", "preconditioner"),
    rms_decay: float = default("sgld", "rms_decay"),
    rms_eps: float = default("sgld", "rms_eps"),
    rms_bias_correction: bool = default("sgld", "rms_bias_correction"),
) -> SamplingAlgorithm:
    """Build SGLD / pSGLD (defaults: ``inference=sgld``'s, :mod:`inference.config`).

    Parameters
    ----------
    logdensity_fn : callable
        ``logdensity_fn(position, *batch) -> scalar`` on the full-data scale.
    temperature : float
        ``T`` >= 0.
    preconditioner : {"none", "rmsprop", "rmsprop_running"}
    rms_decay, rms_eps : float
        RMSprop moving-average decay and ``eps``.
    rms_bias_correction : bool
        Adam's bias correction of ``V`` while it adapts (:func:`inference.base.rmsprop_preconditioner`).

    Returns
    -------
    SamplingAlgorithm
        ``init(position) -> SGLDState``; ``step(rng_key, state, batch, step_size, adapt=True,
        temperature=None) -> (SGLDState, SGHMCInfo)`` with ``step_size`` ``eta`` on BlackJAX's scale (drift
        ``eta * grad``, noise variance ``2 eta T``) and ``temperature`` this step's ``T`` (default the kernel's).

    Raises
    ------
    ValueError
        For a negative temperature or an unknown preconditioner.
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    precondition = rmsprop_preconditioner(preconditioner, rms_decay, rms_eps, rms_bias_correction)
    running = preconditioner == "rmsprop_running"  # V adapts at every step: every step counts
    kernel = build_kernel()
    value_and_grad = jax.value_and_grad(logdensity_fn)
    base_temperature = temperature

    def init(position) -> SGLDState:
        zero = jnp.zeros((), jnp.int32)
        return SGLDState(position, jax.tree.map(jnp.zeros_like, position), zero, zero)

    def step(rng_key, state: SGLDState, batch: tuple, step_size, adapt=True, temperature=None):
        temp = base_temperature if temperature is None else temperature
        logdensity, grad = value_and_grad(state.position, *batch)
        eta = jnp.asarray(step_size, jnp.float32)
        square_avg, precond = precondition(state.square_avg, grad, adapt, state.num_adapted)
        if precond is None:
            position = kernel(rng_key, state.position, lambda *_: grad, None, eta, temp)
        else:
            noise = gaussian_noise(rng_key, state.position)
            position = jax.tree.map(
                lambda x, g, p, n: x + eta * p * g + jnp.sqrt(2 * eta * temp * p) * n,
                state.position, grad, precond, noise,
            )
        num_adapted = state.num_adapted + jnp.asarray(jnp.logical_or(adapt, running), jnp.int32)
        return SGLDState(position, square_avg, state.step_count + 1, num_adapted), SGHMCInfo(logdensity, eta)

    return SamplingAlgorithm(init, step)
