"""EBGAN (Kim, Song & Liang 2023): generator particles sampled by SG-MCMC against one discriminator fitted by
stochastic approximation to the mixture of the generator particles.

"A new paradigm for generative adversarial networks based on randomized decision rules" (arXiv 2306.13641;
code: sehwankimstat/EBGAN) treats the generator as a randomized decision rule: the ``J_g`` generator
particles sample ``pi(theta_g | theta_d) propto exp(log p(theta_g | z, theta_d) / tau)``, and the single
discriminator solves the mean-field equation against their mixture, so the pair converges to a mixed-strategy
Nash equilibrium -- a property Saatchi & Wilson's alternating conditionals lack. One iteration, as their
synthetic notebook (``Synthetic/EBGAN_mixturegaussian.ipynb``) runs it (with the experiment's loss: their
synthetic notebook uses the minimax loss, ``loss=minimax`` here):

- every generator particle takes one step of SGLD with an adaptive drift (MSGLD, Kim, Song & Liang 2022),
  :func:`msgld`, on the zoo's generator log density (``N``-scaled log-likelihood against the discriminator
  plus the generator prior, :meth:`models.bgan.BayesGAN.generator_model`);
- the discriminator then takes ``n_critic`` plain SGD steps (``optax.sgd``) on the per-datum discriminator
  loss with the fakes pooled over the updated generator particles (their loss averages the fake term over the
  generators), at the decaying step ``w_t = discriminator_learning_rate * (t + discriminator_decay_offset) **
  -discriminator_decay_exponent`` (theirs: ``(t + 1000)^(-3/4)``), with no prior.

The draws are the generator particles (the posterior chains, ``samples_posterior``) and the one discriminator.

What the generators sample: with the drift on (``a > 0``, theirs 1) the drift tracks the gradient at small
steps, so on a Gaussian target MSGLD samples at the effective temperature ``tau / (1 + a)``, not ``tau``
(measured: ``tests/inference/test_controls.py``); a = 0 is plain SGLD at ``tau``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from inference.base import GENERATOR_PARTICLES, SamplingAlgorithm, Sampler, batch_axes, critic_steps, \
    discriminator_batch, gathered, gaussian_noise, generator_batch, named_key, \
    warmup_phases
from inference.bridge import make_logdensity_fn
from inference.common import discriminator_mean_loss, init_particles
from inference.config import default
from inference.sghmc import SGHMCInfo
from models.bgan import BayesGAN


class MSGLDState(NamedTuple):
    """One MSGLD chain: ``position``, the adaptive ``drift`` (a moving average of log-density gradients) and
    ``step_count``."""

    position: dict
    drift: dict
    step_count: jax.Array


def msgld(logdensity_fn: Callable, temperature: float = default("ebgan", "temperature"),
          drift_scale: float = default("ebgan", "drift_scale"),
          drift_decay: float = default("ebgan", "drift_decay")) -> SamplingAlgorithm:
    """SGLD with an adaptive drift (MSGLD; Kim, Song & Liang 2022, "Stochastic gradient Langevin dynamics with
    adaptive drifts"), the generator sampler of EBGAN's code.

    .. math::

        \\theta \\leftarrow \\theta + \\epsilon\\,(\\nabla \\log p(\\theta) + a\\, m)
            + \\mathcal N(0,\\, 2 \\epsilon T), \\qquad
        m \\leftarrow \\beta_1 m + (1 - \\beta_1) \\nabla \\log p(\\theta)

    with the drift ``m`` updated after it is used (step ``t`` uses gradients up to ``t - 1``), as in the
    reference code (there written for ``U = -log p``).

    Parameters
    ----------
    logdensity_fn : callable
        ``logdensity_fn(position, *batch) -> scalar`` on the full-data scale.
    temperature : float
        ``T = tau`` >= 0: with ``drift_scale = 0`` the chain samples ``p^(1/T)``; with ``a > 0`` the drift
        adds about ``a`` times the gradient, so a Gaussian is sampled at ``T / (1 + a)`` (module docstring).
    drift_scale : float
        ``a`` >= 0 (0: plain SGLD).
    drift_decay : float
        ``beta_1`` in [0, 1).

    Returns
    -------
    SamplingAlgorithm
        ``step(rng_key, state, batch, step_size, adapt=True, temperature=None) -> (MSGLDState, SGHMCInfo)``
        (``adapt`` is unused: no preconditioner).

    Raises
    ------
    ValueError
        For a negative temperature or drift scale, or a drift decay outside [0, 1).
    """
    if temperature < 0 or drift_scale < 0 or not 0 <= drift_decay < 1:
        raise ValueError(f"need temperature >= 0, drift_scale >= 0 and drift_decay in [0, 1), got {temperature}, "
                         f"{drift_scale}, {drift_decay}")
    value_and_grad = jax.value_and_grad(logdensity_fn)
    base_temperature = temperature

    def init(position) -> MSGLDState:
        return MSGLDState(position, jax.tree.map(jnp.zeros_like, position), jnp.zeros((), jnp.int32))

    def step(rng_key, state: MSGLDState, batch: tuple, step_size, adapt=True, temperature=None):
        temp = base_temperature if temperature is None else temperature
        logdensity, grad = value_and_grad(state.position, *batch)
        eta = jnp.asarray(step_size, jnp.float32)
        noise = gaussian_noise(rng_key, state.position)
        position = jax.tree.map(lambda x, g, m, n: x + eta * (g + drift_scale * m) + jnp.sqrt(2 * eta * temp) * n,
                                state.position, grad, state.drift, noise)
        drift = jax.tree.map(lambda m, g: drift_decay * m + (1 - drift_decay) * g, state.drift, grad)
        return MSGLDState(position, drift, state.step_count + 1), SGHMCInfo(logdensity, eta)

    return SamplingAlgorithm(init, step)


class EBGANState(NamedTuple):
    """``J_g`` generator chains (leading axis), one discriminator (no particle axis) and its SGD state."""

    generator: MSGLDState
    discriminator: dict
    discriminator_opt: optax.OptState


class EBGANInfo(NamedTuple):
    generator: SGHMCInfo
    discriminator_loss: jax.Array
    discriminator_step_size: jax.Array


def ebgan(
    model: BayesGAN,
    data: jax.Array,
    *,
    batch_size: int,
    num_generators: int = default("ebgan", "num_generators"),
    learning_rate: float = default("ebgan", "learning_rate"),
    temperature: float = default("ebgan", "temperature"),
    drift_scale: float = default("ebgan", "drift_scale"),
    drift_decay: float = default("ebgan", "drift_decay"),
    discriminator_learning_rate: float = default("ebgan", "discriminator_learning_rate"),
    discriminator_decay_offset: float = default("ebgan", "discriminator_decay_offset"),
    discriminator_decay_exponent: float = default("ebgan", "discriminator_decay_exponent"),
    n_critic: int = default("ebgan", "n_critic"),
    iterations: int | None = None,
    num_warmup: int = 0,
    init_model: BayesGAN | None = None,
    init_position: tuple[dict, dict] | None = None,
) -> Sampler:
    """EBGAN (Kim, Song & Liang 2023): ``J_g`` generator particles sampled by MSGLD at temperature ``tau``
    against one discriminator fitted by stochastic approximation (see the module docstring).

    Parameters
    ----------
    model : models.bgan.BayesGAN
        Networks, generator prior and likelihood (the discriminator's prior is used only for its initial
        weights).
    data : array, shape ``(N, data_dim)``, float32
    batch_size : int
        Real minibatch and latent minibatch per generator particle.
    num_generators : int
        ``J_g`` (their synthetic run: 10).
    learning_rate : float
        The generator's per-datum learning rate ``lr_g`` (theirs: 0.5): the MSGLD step size on the zoo's
        ``N``-scaled log density is ``epsilon = lr_g / N``, the noise variance ``2 epsilon tau``.
    temperature : float
        ``tau`` (theirs: 0.01).
    drift_scale, drift_decay : float
        MSGLD's ``a`` and ``beta_1`` (theirs: 1 and 0.9).
    discriminator_learning_rate, discriminator_decay_offset, discriminator_decay_exponent : float
        The discriminator's SGD step ``c * (k + t0) ** -kappa`` at its ``k``-th update (theirs: ``c = 1``,
        ``t0 = 1000``, ``kappa = 3/4``; ``kappa`` in (0.5, 1] satisfies the stochastic-approximation
        conditions).
    n_critic : int
        Discriminator updates per generator iteration (theirs: 1).
    iterations, num_warmup : int
        Length of the run; draws before ``num_warmup`` go to the ``warmup_*`` groups.
    init_model, init_position
        As :func:`inference.bayesgan.bayesgan`.

    Returns
    -------
    inference.base.Sampler
        Draws: ``J_g`` generator chains and the one discriminator (``chain`` 1 in its groups).

    Raises
    ------
    ValueError
        For an out-of-range MSGLD parameter (:func:`msgld`).
    """
    num_data = int(data.shape[0])
    # lr / N on a likelihood of N data (N / pack groups with packing): lr times the per-datum gradient
    step_size = learning_rate / model.likelihood_size(num_data)
    gen_alg = msgld(make_logdensity_fn(model.generator_model), temperature, drift_scale, drift_decay)

    def sa_step(count):
        return discriminator_learning_rate * (count + discriminator_decay_offset) ** -discriminator_decay_exponent

    opt = optax.sgd(sa_step)
    latent_shape = (num_generators, batch_size)

    def init(rng_key):
        gen, disc = init_particles(rng_key, init_model or model, num_generators, 1, init_position)
        disc = jax.tree.map(lambda x: x[0], disc)
        return EBGANState(jax.vmap(gen_alg.init)(gen), disc, opt.init(disc))

    def step(rng_key, state: EBGANState, iteration=None):
        k_z, k_gen, k_idx, k_zf = jax.random.split(rng_key, 4)
        noise = named_key(rng_key, "noise")  # the networks' stochastic layers (unused by deterministic ones)
        disc_axis = jax.tree.map(lambda x: x[None], state.discriminator)  # J_d = 1
        batch = generator_batch(model, data, k_z, latent_shape, disc_axis, named_key(noise, "generator"))
        gen_state, gen_info = jax.vmap(lambda k, s, b: gen_alg.step(k, s, (b,), step_size),
                                       in_axes=(0, 0, batch_axes(batch, ("z", "x_real", "key"))))(
            jax.random.split(k_gen, num_generators), state.generator, batch)

        def disc_step(carry, keys):
            disc, disc_opt = carry
            k_idx, k_zf, k_eps = keys
            x_fake = jax.vmap(model.generate)(gen_state.position, model.sample_latent(k_zf, latent_shape))
            x_fake = gathered(gathered(x_fake).reshape(-1, x_fake.shape[-1]))  # the mixture, in particle order
            batch = discriminator_batch(data, k_idx, (batch_size,), x_fake, k_eps, named_key(k_idx, "noise"))
            loss, grad = jax.value_and_grad(discriminator_mean_loss, argnums=1)(model, disc, batch)
            rate = sa_step(optax.tree_utils.tree_get(disc_opt, "count"))
            updates, disc_opt = opt.update(grad, disc_opt, disc)
            return (model.project(optax.apply_updates(disc, updates)), disc_opt), (loss, rate)

        (disc, disc_opt), (d_loss, rate) = critic_steps(
            disc_step, (state.discriminator, state.discriminator_opt), (k_idx, k_zf, named_key(rng_key, "penalty")),
            named_key(rng_key, "critic"), n_critic)
        return EBGANState(gen_state, disc, disc_opt), EBGANInfo(gen_info, d_loss, rate)

    def positions(state: EBGANState, rng_key=None):
        return (model.constrain(state.generator.position),
                model.constrain(jax.tree.map(lambda x: x[None], state.discriminator)))

    def stats(info: EBGANInfo):
        return ({"logdensity": info.generator.logdensity, "step_size": info.generator.step_size},
                {"discriminator_loss": info.discriminator_loss[None],
                 "step_size": jnp.asarray(info.discriminator_step_size, jnp.float32)[None]})

    def particle_axes(state: EBGANState):  # the generator chains split over devices, the discriminator replicated
        return EBGANState(jax.tree.map(lambda _: GENERATOR_PARTICLES, state.generator),
                          jax.tree.map(lambda _: None, state.discriminator),
                          jax.tree.map(lambda _: None, state.discriminator_opt))

    return Sampler(init, step, positions, stats, ("logdensity", "discriminator_loss"), samples_posterior=True,
                   particle_axes=particle_axes, phase=warmup_phases(num_warmup))
