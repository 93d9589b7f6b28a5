"""Stochastic-gradient Langevin dynamics (Welling & Teh 2011) and its RMSprop-preconditioned form
(pSGLD, Li et al. 2016) as an ``init``/``step`` pair.

The plain update is BlackJAX's own kernel (``blackjax.sgmcmc.sgld.build_kernel``, the Euler step of the
overdamped Langevin diffusion): ``theta <- theta + eta grad log p + N(0, 2 eta T)``. The preconditioned
update is ``theta <- theta + eta G grad log p + N(0, 2 eta T G)`` with ``G = 1 / (eps + sqrt(V))`` and ``V``
an exponential moving average of squared gradients; the Gamma correction term of Li et al. (of order
``1 - decay``) is dropped, as in their experiments (tested: the bias this leaves on a Gaussian target is
stated in ``tests/test_samplers.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from blackjax.sgmcmc.sgld import build_kernel
from blackjax.util import generate_gaussian_noise

from inference.sghmc import SamplingAlgorithm, SGHMCInfo, as_schedule, rmsprop_preconditioner


class SGLDState(NamedTuple):
    """State of one SGLD chain: ``position``, RMSprop ``square_avg`` and ``step_count``."""

    position: dict
    square_avg: dict
    step_count: jax.Array


def sgld(
    logdensity_fn: Callable,
    step_size: float | Callable[[jax.Array], jax.Array],
    temperature: float = 1.0,
    preconditioner: str = "none",
    rms_decay: float = 0.99,
    rms_eps: float = 1e-5,
    friction: float | None = None,
) -> SamplingAlgorithm:
    """Build SGLD / pSGLD.

    Parameters
    ----------
    logdensity_fn : callable
        ``logdensity_fn(position, *batch) -> scalar`` on the full-data scale.
    step_size : float or callable
        ``eta`` (> 0) or a schedule ``iteration -> eta`` (BlackJAX's scale: the drift is
        ``eta * grad``, the noise variance ``2 eta T``).
    temperature : float
        ``T`` >= 0.
    preconditioner : {"none", "rmsprop"}
    rms_decay, rms_eps : float
        RMSprop moving-average decay and ``eps``.
    friction : None
        Accepted and ignored, so SGLD and SGHMC share one config signature.

    Returns
    -------
    SamplingAlgorithm
        ``init(position) -> SGLDState``; ``step(rng_key, state, batch) -> (SGLDState, SGHMCInfo)``.

    Raises
    ------
    ValueError
        For a non-positive step size, a negative temperature or an unknown preconditioner.
    """
    del friction
    schedule = as_schedule(step_size)
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    precondition = rmsprop_preconditioner(preconditioner, rms_decay, rms_eps)
    kernel = build_kernel()
    value_and_grad = jax.value_and_grad(logdensity_fn)

    def init(position) -> SGLDState:
        return SGLDState(position, jax.tree.map(jnp.zeros_like, position), jnp.zeros((), jnp.int32))

    def step(rng_key, state: SGLDState, batch: tuple = ()):
        logdensity, grad = value_and_grad(state.position, *batch)
        eta = schedule(state.step_count)
        square_avg, precond = precondition(state.square_avg, grad)
        if precond is None:
            position = kernel(rng_key, state.position, lambda *_: grad, None, eta, temperature)
        else:
            noise = generate_gaussian_noise(rng_key, state.position)
            position = jax.tree.map(
                lambda x, g, p, n: x + eta * p * g + jnp.sqrt(2 * eta * temperature * p) * n,
                state.position, grad, precond, noise,
            )
        return SGLDState(position, square_avg, state.step_count + 1), SGHMCInfo(logdensity, eta)

    return SamplingAlgorithm(init, step)
