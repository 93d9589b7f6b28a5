"""Stochastic-gradient Hamiltonian Monte Carlo with persistent momentum (Chen, Fox & Guestrin 2014).

BlackJAX 1.7's ``blackjax.sghmc`` redraws the momentum at every call, so with one integration step per
call it ignores the gradient entirely. Here the momentum lives in the state and carries over between
steps, in the parameterisation of Chen et al. (2014, eq. 15) that Saatchi & Wilson (2017) use:

.. math::

    v \\leftarrow (1 - \\alpha) v + \\eta\\, G \\nabla \\log p(\\theta)
        + \\mathcal N(0,\\, 2 \\alpha \\eta\\, T\\, G), \\qquad \\theta \\leftarrow \\theta + v

with step size (learning rate) ``eta``, friction ``alpha`` in (0, 1], ``temperature`` ``T`` (``T = 1``
samples the posterior, ``T < 1`` the tempered ``p^(1/T)``; BlackJAX's convention) and the gradient noise
estimate ``beta_hat = 0``. ``G`` is the identity, or with a preconditioner the diagonal
``1 / (eps + sqrt(V))`` with ``V`` an exponential moving average of squared gradients (Li et al. 2016).

Like BlackJAX's SG-MCMC kernels, ``step`` takes the step size of the call: the schedule belongs to the
caller, which evaluates it at its own iteration (:mod:`inference.bayesgan`). It also takes
``adapt``: whether ``V`` is updated at this step. ``preconditioner="rmsprop"`` (the default of the zoo)
adapts ``V`` only while the caller says so (warmup) and then keeps ``G`` constant: with a constant ``G``
the Gamma(theta) correction of Ma et al. (2015) is zero and the update is exactly Chen et al.'s eq. 15 with
mass matrix ``G^-1``. ``preconditioner="rmsprop_running"`` updates ``V`` at every step, as Li et al.'s
experiments do, dropping the Gamma term of order ``1 - decay``: a biased sampler whose variance inflation
on a correlated Gaussian is measured in ``tests/inference/test_samplers.py``. The Gaussian noise is
``blackjax.util.generate_gaussian_noise``'s draws (:func:`inference.base.gaussian_noise`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from inference.base import SamplingAlgorithm, gaussian_noise, rmsprop_preconditioner
from inference.config import default

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
        Steps taken (a counter for diagnostics; the step size is the caller's).
    num_adapted : int32 scalar
        Steps that adapted ``square_avg`` (its bias correction once frozen).
    """

    position: ArrayTree
    momentum: ArrayTree
    square_avg: ArrayTree
    step_count: jax.Array
    num_adapted: jax.Array


class SGHMCInfo(NamedTuple):
    """Per-step diagnostics: ``logdensity`` (nats, at the pre-step position) and ``step_size``."""

    logdensity: jax.Array
    step_size: jax.Array


def sghmc(
    logdensity_fn: Callable,
    friction: float = default("sghmc", "friction"),
    temperature: float = default("sghmc", "temperature"),
    preconditioner: str = default("sghmc", "preconditioner"),
    rms_decay: float = default("sghmc", "rms_decay"),
    rms_eps: float = default("sghmc", "rms_eps"),
    rms_bias_correction: bool = default("sghmc", "rms_bias_correction"),
) -> SamplingAlgorithm:
    """Build SGHMC with persistent momentum (defaults: ``inference=sghmc``'s, :mod:`inference.config`).

    Parameters
    ----------
    logdensity_fn : callable
        ``logdensity_fn(position, *batch) -> scalar``: a minibatch estimate of the log posterior on the
        full-data scale (``N * mean(minibatch log-likelihood) + log prior``), see
        :func:`inference.bridge.make_logdensity_fn`.
    friction : float
        ``alpha`` in (0, 1]: the fraction of velocity lost per step.
    temperature : float
        ``T`` >= 0; ``T = 0`` is momentum SGD on the log density (no noise).
    preconditioner : {"none", "rmsprop", "rmsprop_running"}
        Diagonal preconditioner ``G`` (see the module docstring).
    rms_decay, rms_eps : float
        RMSprop moving-average decay and the ``eps`` in ``1 / (eps + sqrt(V))``.
    rms_bias_correction : bool
        Adam's bias correction of ``V`` while it adapts (:func:`inference.base.rmsprop_preconditioner`).

    Returns
    -------
    SamplingAlgorithm
        ``init(position)``, and ``step(rng_key, state, batch, step_size, adapt=True, temperature=None)`` with
        ``batch`` the tuple of extra arguments of ``logdensity_fn``, ``step_size`` ``eta`` (a float32 scalar,
        > 0), ``adapt`` a boolean scalar (update ``V``: warmup) and ``temperature`` this step's ``T`` (a
        scalar, e.g. 0 in a cyclical sampler's exploration stage; default the kernel's); returns
        ``(SGHMCState, SGHMCInfo)``.

    Raises
    ------
    ValueError
        For a friction outside (0, 1], a negative temperature or an unknown preconditioner.
    """
    if not 0 < friction <= 1:
        raise ValueError(f"friction must be in (0, 1], got {friction}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    precondition = rmsprop_preconditioner(preconditioner, rms_decay, rms_eps, rms_bias_correction)
    running = preconditioner == "rmsprop_running"  # V adapts at every step: every step counts
    value_and_grad = jax.value_and_grad(logdensity_fn)
    base_temperature = temperature

    def init(position: ArrayTree) -> SGHMCState:
        zeros = jax.tree.map(jnp.zeros_like, position)
        return SGHMCState(position, zeros, zeros, jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))

    def step(rng_key: jax.Array, state: SGHMCState, batch: tuple, step_size, adapt=True, temperature=None):
        logdensity, grad = value_and_grad(state.position, *batch)
        eta = jnp.asarray(step_size, jnp.float32)
        temp = base_temperature if temperature is None else temperature
        square_avg, precond = precondition(state.square_avg, grad, adapt, state.num_adapted)
        if precond is None:
            precond = jax.tree.map(jnp.ones_like, grad)
        noise = gaussian_noise(rng_key, state.position)
        momentum = jax.tree.map(
            lambda v, g, p, n: (1 - friction) * v
            + eta * p * g
            + jnp.sqrt(2 * friction * eta * temp * p) * n,
            state.momentum,
            grad,
            precond,
            noise,
        )
        position = jax.tree.map(jnp.add, state.position, momentum)
        num_adapted = state.num_adapted + jnp.asarray(jnp.logical_or(adapt, running), jnp.int32)
        return SGHMCState(position, momentum, square_avg, state.step_count + 1, num_adapted), SGHMCInfo(logdensity, eta)

    return SamplingAlgorithm(init, step)


def reflect_momentum(unprojected: ArrayTree, projected: ArrayTree, momentum: ArrayTree) -> ArrayTree:
    """Momentum after a projection onto a box: every component whose position was moved back onto the
    wall and whose velocity points out of the box is reversed, so the next steps move it inwards instead
    of pushing it on the wall. This is the momentum half of the reflection of HMC with box constraints
    (Neal 2011, sec. 5.1); the position is clamped onto the wall rather than reflected across it.

    Parameters
    ----------
    unprojected, projected, momentum : pytrees of the same structure
        Position before and after the projection, and the velocity ``v``.
    """
    def one(x, p, v):
        pushed_out = (x != p) & (v * (x - p) > 0)
        return jnp.where(pushed_out, -v, v)

    return jax.tree.map(one, unprojected, projected, momentum)
