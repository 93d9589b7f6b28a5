"""Stochastic-gradient Hamiltonian Monte Carlo with persistent momentum (Chen, Fox & Guestrin 2014).

BlackJAX 1.7's ``blackjax.sghmc`` redraws the momentum at every call, so with one integration step per
call it ignores the gradient entirely. Here the momentum lives in the state and carries over between
steps, in the parameterisation of Chen et al. (2014, eq. 15) that Saatchi & Wilson (2017) use:

.. math::

    v \\leftarrow (1 - \\alpha) v + \\eta\\, G \\nabla \\log p(\\theta)
        + \\mathcal N(0,\\, 2 \\alpha \\eta\\, T\\, G), \\qquad \\theta \\leftarrow \\theta + v

with step size (learning rate) ``eta``, friction ``alpha`` in (0, 1], ``temperature`` ``T`` (``T = 1``
samples the posterior, ``T < 1`` the tempered ``p^(1/T)``; BlackJAX's convention) and the gradient noise
estimate ``beta_hat = 0``. ``G`` is the identity, or with ``preconditioner="rmsprop"`` the diagonal
``1 / (eps + sqrt(V))`` with ``V`` an exponential moving average of squared gradients (the
preconditioned SG-MCMC of Li et al. 2016; the Gamma correction term, of order ``(1 - decay)``, is dropped,
as in their experiments). The Gaussian noise comes from ``blackjax.util.generate_gaussian_noise``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from blackjax.util import generate_gaussian_noise

ArrayTree = dict


class SGHMCState(NamedTuple):
    """State of one SGHMC chain; ``(state, key)`` is a complete checkpoint.

    Attributes
    ----------
    position : pytree of float32 arrays
        Current parameters ``theta``.
    momentum : pytree like ``position``
        Velocity ``v`` (units of ``theta`` per step), carried across steps.
    square_avg : pytree like ``position``
        RMSprop moving average ``V`` of squared gradients (zeros without a preconditioner).
    step_count : int32 scalar
        Steps taken so far (drives the step-size schedule).
    """

    position: ArrayTree
    momentum: ArrayTree
    square_avg: ArrayTree
    step_count: jax.Array


class SGHMCInfo(NamedTuple):
    """Per-step diagnostics: ``logdensity`` (nats, at the pre-step position) and ``step_size``."""

    logdensity: jax.Array
    step_size: jax.Array


class SamplingAlgorithm(NamedTuple):
    """``init(position) -> state`` and ``step(key, state, batch) -> (state, info)`` (BlackJAX style)."""

    init: Callable
    step: Callable


def as_schedule(step_size: float | Callable[[jax.Array], jax.Array]) -> Callable[[jax.Array], jax.Array]:
    """A step size as a schedule ``iteration -> eta``.

    Raises
    ------
    ValueError
        If a constant step size is not positive.
    """
    if callable(step_size):
        return step_size
    if not step_size > 0:
        raise ValueError(f"step_size must be > 0, got {step_size}")
    return lambda _: jnp.asarray(step_size, jnp.float32)


def rmsprop_preconditioner(kind: str, decay: float, eps: float) -> Callable:
    """``update(square_avg, grad) -> (square_avg, G or None)``: the diagonal preconditioner of pSGLD.

    ``kind="rmsprop"``: ``V <- decay V + (1 - decay) g^2``, ``G = 1 / (eps + sqrt(V))``; ``"none"``:
    ``G`` is the identity (returned as ``None``).

    Raises
    ------
    ValueError
        For an unknown ``kind``.
    """
    if kind == "none":
        return lambda square_avg, grad: (square_avg, None)
    if kind != "rmsprop":
        raise ValueError(f"preconditioner={kind!r}; valid: 'none', 'rmsprop'")

    def update(square_avg, grad):
        square_avg = jax.tree.map(lambda v, g: decay * v + (1 - decay) * g**2, square_avg, grad)
        return square_avg, jax.tree.map(lambda v: 1.0 / (eps + jnp.sqrt(v)), square_avg)

    return update


def sghmc(
    logdensity_fn: Callable,
    step_size: float | Callable[[jax.Array], jax.Array],
    friction: float = 0.1,
    temperature: float = 1.0,
    preconditioner: str = "none",
    rms_decay: float = 0.99,
    rms_eps: float = 1e-5,
) -> SamplingAlgorithm:
    """Build SGHMC with persistent momentum.

    Parameters
    ----------
    logdensity_fn : callable
        ``logdensity_fn(position, *batch) -> scalar``: a minibatch estimate of the log posterior on the
        full-data scale (``N * mean(minibatch log-likelihood) + log prior``), see
        :func:`inference.bridge.make_logdensity_fn`.
    step_size : float or callable
        ``eta`` (> 0), or a schedule ``iteration -> eta``.
    friction : float
        ``alpha`` in (0, 1]: the fraction of velocity lost per step.
    temperature : float
        ``T`` >= 0; ``T = 0`` is momentum SGD on the log density (no noise).
    preconditioner : {"none", "rmsprop"}
        Diagonal preconditioner ``G``.
    rms_decay, rms_eps : float
        RMSprop moving-average decay and the ``eps`` in ``1 / (eps + sqrt(V))``.

    Returns
    -------
    SamplingAlgorithm
        ``init(position)``, and ``step(rng_key, state, batch)`` with ``batch`` the tuple of extra
        arguments of ``logdensity_fn``; ``step`` returns ``(SGHMCState, SGHMCInfo)``.

    Raises
    ------
    ValueError
        For a non-positive step size or friction outside (0, 1], a negative temperature or an unknown
        preconditioner.
    """
    schedule = as_schedule(step_size)
    if not 0 < friction <= 1:
        raise ValueError(f"friction must be in (0, 1], got {friction}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    precondition = rmsprop_preconditioner(preconditioner, rms_decay, rms_eps)
    value_and_grad = jax.value_and_grad(logdensity_fn)

    def init(position: ArrayTree) -> SGHMCState:
        zeros = jax.tree.map(jnp.zeros_like, position)
        return SGHMCState(position, zeros, zeros, jnp.zeros((), jnp.int32))

    def step(rng_key: jax.Array, state: SGHMCState, batch: tuple = ()):
        logdensity, grad = value_and_grad(state.position, *batch)
        eta = schedule(state.step_count)
        square_avg, precond = precondition(state.square_avg, grad)
        if precond is None:
            precond = jax.tree.map(jnp.ones_like, grad)
        noise = generate_gaussian_noise(rng_key, state.position)
        momentum = jax.tree.map(
            lambda v, g, p, n: (1 - friction) * v
            + eta * p * g
            + jnp.sqrt(2 * friction * eta * temperature * p) * n,
            state.momentum,
            grad,
            precond,
            noise,
        )
        position = jax.tree.map(jnp.add, state.position, momentum)
        return (
            SGHMCState(position, momentum, square_avg, state.step_count + 1),
            SGHMCInfo(logdensity, eta),
        )

    return SamplingAlgorithm(init, step)
