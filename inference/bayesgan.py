"""The Bayesian GAN sweep (Saatchi & Wilson 2017, Algorithm 1) over J_g generator and J_d discriminator
particles.

One iteration alternates the two conditionals of :mod:`models.bgan`: every generator particle takes one
SG-MCMC step (SGHMC, the paper's choice, or SGLD) on ``log p(theta_g | z, theta_d)`` (all J_d discriminator particles in the likelihood), then
every discriminator particle takes one step on ``log p(theta_d | z, X, theta_g)`` (fake samples pooled over
the updated generator particles). Particles are a leading array axis handled by ``jax.vmap``; the data
live on the device and minibatches are drawn inside the compiled step.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from inference.base import (DISCRIMINATOR_PARTICLES, GENERATOR_PARTICLES, Sampler, batch_axes, critic_steps,
                            cycle_length, cyclical_phases, discriminator_batch, gathered, generator_batch, named_key,
                            sampling_stage, step_size_schedule, warmup_phases)
from inference.bridge import make_logdensity_fn
from inference.common import init_particles
from inference.config import default
from inference.schedule import COUPLINGS
from inference.sgld import sgld
from inference.sghmc import SGHMCInfo, SGHMCState, reflect_momentum, sghmc
from models.bgan import BayesGAN

KERNELS = {"sghmc": sghmc, "sgld": sgld}


class BayesGANState(NamedTuple):
    """Generator particles (leading axis ``J_g``) and discriminator particles (leading axis ``J_d``),
    each the state of the chosen SG-MCMC kernel (``SGHMCState`` or ``SGLDState``)."""

    generator: SGHMCState
    discriminator: SGHMCState


class BayesGANInfo(NamedTuple):
    """Per-iteration SG-MCMC diagnostics, shapes ``(J_g,)`` and ``(J_d,)``."""

    generator: SGHMCInfo
    discriminator: SGHMCInfo


def bayesgan(
    model: BayesGAN,
    data: jax.Array,
    *,
    kernel: str = "sghmc",
    batch_size: int,
    num_generators: int = default("sgld", "num_generators"),
    num_discriminators: int = default("sgld", "num_discriminators"),
    step_size: float,
    temperature: float = default("sgld", "temperature"),
    friction: float | None = None,
    preconditioner: str = default("sgld", "preconditioner"),
    rms_decay: float = default("sgld", "rms_decay"),
    rms_eps: float = default("sgld", "rms_eps"),
    rms_bias_correction: bool = default("sgld", "rms_bias_correction"),
    schedule: str = default("sgld", "schedule"),
    final_step_size_ratio: float = default("sgld", "final_step_size_ratio"),
    num_cycles: int = default("sgld", "num_cycles"),
    exploration_ratio: float = default("sgld", "exploration_ratio"),
    coupling: str = default("sgld", "coupling"),
    iterations: int | None = None,
    num_warmup: int = 0,
    init_model: BayesGAN | None = None,
    n_critic: int = default("sgld", "n_critic"),
    init_position: tuple[dict, dict] | None = None,
) -> Sampler:
    """The Saatchi & Wilson (2017) Bayesian GAN sampled by SG-MCMC (SGHMC or SGLD).

    Parameters
    ----------
    model : models.bgan.BayesGAN
        Networks, priors and likelihood.
    data : array, shape ``(N, data_dim)``, float32
        Training set (kept on device; minibatches of ``batch_size`` drawn with replacement).
    kernel : {"sghmc", "sgld"}
        :func:`inference.sghmc.sghmc` (Chen et al. 2014; the paper's choice) or
        :func:`inference.sgld.sgld` (Welling & Teh 2011), for both networks.
    batch_size : int
        ``B``: real minibatch size and latent minibatch size per generator particle.
    num_generators, num_discriminators : int
        ``J_g`` and ``J_d``.
    step_size : float
        ``eta`` (> 0) at iteration 0 (its scale differs between the kernels; the registry's entries take
        each kernel's default from :mod:`inference.config`).
    friction, temperature, preconditioner, rms_decay, rms_eps, rms_bias_correction
        Passed to the kernel for both networks (``friction``: SGHMC only, required by it, refused by SGLD).
        Defaults: :mod:`inference.config`.
    schedule : {"constant", "cosine", "cyclical"}
        Step-size schedule as a function of the generator iteration ``t`` (both networks, every one of
        the ``n_critic`` discriminator steps of iteration ``t`` at the same step size): constant
        ``step_size``; ``optax.cosine_decay_schedule`` from ``step_size`` to
        ``final_step_size_ratio * step_size`` over ``iterations``; or cyclical SG-MCMC (Zhang et al. 2020):
        after warmup, ``num_cycles`` cosine cycles from ``step_size`` to 0, each an exploration stage (the
        first ``exploration_ratio`` of the cycle, no injected noise: ``T = 0``) and a sampling stage (``T =
        temperature``); only sampling-stage draws are the posterior (:func:`inference.base.cyclical_phases`).
    final_step_size_ratio : float
        See ``schedule``.
    num_cycles, exploration_ratio : int, float
        ``M`` and ``beta`` of the cyclical schedule (see ``schedule``).
    coupling : {"full", "paired"}
        :data:`COUPLINGS`: ``"full"`` is Saatchi & Wilson's sweep; ``"paired"`` runs ``J_g`` independent
        generator-discriminator pairs (``num_discriminators`` must equal ``num_generators``; each pair draws
        its own real minibatch, as the ensemble's members do), the control ``inference=independent_map``.
    iterations : int, optional
        Length of the run (needed by the cosine schedule).
    num_warmup : int
        Iterations ``t < num_warmup`` are warmup: only then does ``preconditioner="rmsprop"`` adapt ``V``
        (then frozen, so the sampling phase is SGHMC/SGLD with a constant metric). 0 with
        ``preconditioner="rmsprop"`` is refused (``V`` would never be estimated).
    init_model : models.bgan.BayesGAN, optional
        Whose prior draws initialise the particles (``init_to_sample``); default ``model``. Lets a weak
        prior start from well-scaled weights.
    n_critic : int
        Discriminator steps per generator step (>= 1), each on a fresh minibatch: the ``n_critic`` of
        Arjovsky et al. (2017, Algorithm 1), 5 in the WGAN papers; 1 is Saatchi & Wilson's alternation.
    init_position : (dict, dict), optional
        Starting weights shared by every particle (see :func:`inference.common.init_particles`' ``start``).

    Notes
    -----
    A loss with weight clipping (``wasserstein``) projects the discriminator particles onto the box after
    every step (projected Langevin dynamics) and, under SGHMC, reverses the momentum components that point
    out of the box where a weight hit the wall (:func:`inference.sghmc.reflect_momentum`); a gradient-penalty loss gets fresh interpolation weights
    ``epsilon ~ U[0, 1)`` per iteration, shared by the J_d particles.

    Raises
    ------
    ValueError
        For an unknown kernel, schedule or coupling, a cosine or cyclical schedule without ``iterations``, a
        non-positive step size, a friction given to SGLD or missing for SGHMC, ``preconditioner="rmsprop"``
        without warmup, or a paired coupling with ``num_discriminators != num_generators``.

    Returns
    -------
    inference.base.Sampler
        ``samples_posterior`` is ``temperature > 0``: at ``T = 0`` (the controls ``independent_map`` and
        ``coupled_ensemble``) the sweep is an optimiser, whose headline is the final iterate.
    """
    num_data = int(data.shape[0])
    if kernel == "sgld" and friction is not None:
        raise ValueError("the sgld kernel has no friction (it is SGHMC's)")
    if kernel not in KERNELS:
        raise ValueError(f"kernel={kernel!r}; valid: {', '.join(sorted(KERNELS))}")
    if preconditioner == "rmsprop" and num_warmup < 1:
        raise ValueError("preconditioner='rmsprop' is adapted during warmup and then frozen: it needs "
                         "num_warmup >= 1 (or preconditioner='rmsprop_running' or 'none')")
    if coupling not in COUPLINGS:
        raise ValueError(f"coupling={coupling!r}; valid: {', '.join(COUPLINGS)}")
    paired = coupling == "paired"
    if paired and num_discriminators != num_generators:
        raise ValueError(f"a paired coupling has one discriminator per generator: num_discriminators="
                         f"{num_discriminators} != num_generators={num_generators}")
    eta_at = step_size_schedule(step_size, schedule, iterations, final_step_size_ratio, num_warmup=num_warmup,
                                num_cycles=num_cycles)
    if schedule == "cyclical":
        length = cycle_length(iterations, num_warmup, num_cycles)
        phase = cyclical_phases(num_warmup, length, exploration_ratio)

        def temperature_at(t):  # no injected noise in the exploration stages (warmup samples as usual)
            explore = (t >= num_warmup) & ~sampling_stage(t, num_warmup, length, exploration_ratio)
            return jnp.where(explore, 0.0, temperature).astype(jnp.float32)
    else:
        phase = warmup_phases(num_warmup)
        temperature_at = lambda t: None  # noqa: E731  (the kernel's own temperature)
    kwargs = dict(temperature=temperature, preconditioner=preconditioner, rms_decay=rms_decay, rms_eps=rms_eps,
                  rms_bias_correction=rms_bias_correction)
    if kernel == "sghmc":
        if friction is None:
            raise ValueError("the sghmc kernel needs a friction in (0, 1]")
        kwargs["friction"] = friction
    gen_alg = KERNELS[kernel](make_logdensity_fn(model.generator_model), **kwargs)
    disc_alg = KERNELS[kernel](make_logdensity_fn(model.discriminator_model), **kwargs)
    latent_shape = (num_generators, batch_size)

    def project(state):
        """Weight clipping (WGAN): the position onto the box, an outward momentum reflected."""
        if model.loss.clip is None:
            return state
        projected = model.project(state.position)
        if isinstance(state, SGHMCState):
            state = state._replace(momentum=reflect_momentum(state.position, projected, state.momentum))
        return state._replace(position=projected)

    def init(rng_key):
        gen, disc = init_particles(rng_key, init_model or model, num_generators, num_discriminators, init_position)
        return BayesGANState(jax.vmap(gen_alg.init)(gen), jax.vmap(disc_alg.init)(disc))

    def step(rng_key, state: BayesGANState, iteration):
        k_z, k_gen, k_idx, k_zf, k_disc = jax.random.split(rng_key, 5)
        k_noise = named_key(rng_key, "noise")  # the networks' stochastic layers (unused by deterministic ones)
        eta, adapt, temp = eta_at(iteration), iteration < num_warmup, temperature_at(iteration)
        disc_position = gathered(state.discriminator.position)  # the mean over J_d: in particle order
        if paired:  # generator j against discriminator j alone (a J_d axis of 1)
            batch = generator_batch(model, data, k_z, latent_shape, jax.tree.map(lambda x: x[:, None],
                                                                                   state.discriminator.position),
                                    named_key(k_noise, "generator"))
            axes = batch_axes(batch, ("z", "discriminators", "x_real", "key"))
        else:
            batch = generator_batch(model, data, k_z, latent_shape, disc_position, named_key(k_noise, "generator"))
            axes = batch_axes(batch, ("z", "x_real", "key"))
        gen_state, gen_info = jax.vmap(lambda k, s, b: gen_alg.step(k, s, (b,), eta, adapt, temp), in_axes=(0, 0, axes))(
            jax.random.split(k_gen, num_generators), state.generator, batch)

        def disc_step(disc_state, keys):
            k_idx, k_zf, k_disc = keys
            z_fake = model.sample_latent(k_zf, latent_shape)
            x_fake = jax.vmap(model.generate)(gen_state.position, z_fake)  # (J_g, B, D)
            disc_keys = jax.random.split(k_disc, num_discriminators)
            noise = named_key(k_disc, "noise")
            if paired:  # discriminator j against generator j's fakes and its own real minibatch
                batch = discriminator_batch(data, k_idx, (num_discriminators, batch_size), x_fake, noise_key=noise)
                axes = batch_axes(batch, ("x_real", "x_fake", "epsilon", "key"))
            else:
                x_fake = gathered(gathered(x_fake).reshape(-1, x_fake.shape[-1]))  # pooled in particle order
                batch = discriminator_batch(data, k_idx, (batch_size,), x_fake)
                batch = batch._replace(key=jax.random.split(noise, num_discriminators))
                axes = batch_axes(batch, ("key",))
            disc_state, disc_info = jax.vmap(lambda k, s, b: disc_alg.step(k, s, (b,), eta, adapt, temp),
                                             in_axes=(0, 0, axes))(disc_keys, disc_state, batch)
            return project(disc_state), disc_info

        disc_state, disc_info = critic_steps(disc_step, state.discriminator, (k_idx, k_zf, k_disc), k_disc, n_critic)
        return BayesGANState(gen_state, disc_state), BayesGANInfo(gen_info, disc_info)

    def positions(state: BayesGANState, rng_key=None):
        return model.constrain(state.generator.position), model.constrain(state.discriminator.position)

    def stats(info: BayesGANInfo):
        return (
            {"logdensity": info.generator.logdensity, "step_size": info.generator.step_size},
            {"logdensity": info.discriminator.logdensity, "step_size": info.discriminator.step_size},
        )

    def particle_axes(state: BayesGANState):
        # paired: discriminator j lives with generator j (both axes are the J_g pairs)
        return BayesGANState(jax.tree.map(lambda _: GENERATOR_PARTICLES, state.generator),
                             jax.tree.map(lambda _: GENERATOR_PARTICLES if paired else DISCRIMINATOR_PARTICLES,
                                          state.discriminator))

    return Sampler(init, step, positions, stats, samples_posterior=temperature > 0, particle_axes=particle_axes,
                   phase=phase)


def independent_map(model: BayesGAN, data: jax.Array, *, num_generators: int = default("independent_map", "num_generators"),
                    **update) -> Sampler:
    """``J_g`` independent generator-discriminator pairs, each updated by the Bayesian GAN's own SGHMC update
    (prior, momentum, preconditioner, schedule) at ``T = 0``: the MAP counterpart of the Bayesian GAN with no
    coupling, the control ``inference=independent_map``.

    Parameters
    ----------
    model, data
        As :func:`bayesgan`.
    num_generators : int
        ``J_g`` pairs (and so ``J_d = J_g``).
    **update
        :func:`bayesgan`'s SGHMC keywords but ``temperature``, ``coupling``, ``kernel`` and
        ``num_discriminators``, which this control fixes.

    Returns
    -------
    inference.base.Sampler
        An optimiser (``samples_posterior`` False).
    """
    return bayesgan(model, data, kernel="sghmc", temperature=0.0, coupling="paired", num_generators=num_generators,
                    num_discriminators=num_generators, **update)


def coupled_ensemble(model: BayesGAN, data: jax.Array, **update) -> Sampler:
    """Saatchi & Wilson's sweep over ``J_g`` generators and ``J_d`` discriminators, SGHMC update, at ``T = 0``:
    the coupling without the posterior noise, the control ``inference=coupled_ensemble``.

    ``update``: :func:`bayesgan`'s SGHMC keywords but ``temperature``, ``coupling`` and ``kernel``. Returns an
    optimiser (``samples_posterior`` False)."""
    return bayesgan(model, data, kernel="sghmc", temperature=0.0, coupling="full", **update)
