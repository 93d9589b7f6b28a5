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
import numpy as np
from numpyro import handlers

from inference.base import (DISCRIMINATOR_PARTICLES, GENERATOR_PARTICLES, Sampler, critic_steps, gathered,
                            step_size_schedule, warmup_phases)
from inference.bridge import init_position, make_logdensity_fn
from inference.config import default
from inference.sgld import sgld
from inference.sghmc import SGHMCInfo, SGHMCState, reflect_momentum, sghmc
from models.bgan import DISCRIMINATOR, GENERATOR, BayesGAN
from models.priors import is_weight_site

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


def split_sites(position: dict) -> tuple[dict, dict]:
    """Split a dict of numpyro sites into the generator's and the discriminator's sites."""
    gen = {k: v for k, v in position.items() if k.startswith(GENERATOR + "__")}
    disc = {k: v for k, v in position.items() if k.startswith(DISCRIMINATOR + "__")}
    return gen, disc


def init_particles(rng_key: jax.Array, model: BayesGAN, num_generators: int, num_discriminators: int,
                   start: tuple[dict, dict] | None = None):
    """Prior draws (``init_to_sample``) of ``J_g`` generator and ``J_d`` discriminator particles.

    Hyper-parameter sites (a hierarchical prior's precisions) start at their hyperprior mean and the
    weights are drawn given it (it also spares compiling a Gamma sampler per site). ``start``
    ``(generator_sites, discriminator_sites)`` (no particle axis) replaces the draws of the sites it names in
    every particle (e.g. BAGAN's autoencoder weights, :mod:`experiments.tasks.autoencoder`); the rest stay prior draws.

    Returns
    -------
    (dict, dict)
        Generator sites with leading axis ``J_g``; discriminator sites with leading axis ``J_d``
        (unconstrained).
    """
    def at_mean(site):
        if site["type"] == "sample" and not is_weight_site(site["name"]):
            return jnp.asarray(site["fn"].mean, dtype=jnp.float32)  # strong-typed: no re-tracing
        return None

    prior_model = handlers.substitute(model.prior_model, substitute_fn=at_mean)
    k_g, k_d = jax.random.split(rng_key)
    gen, _ = split_sites(init_position(k_g, prior_model, num_generators))
    _, disc = split_sites(init_position(k_d, prior_model, num_discriminators))
    if start is not None:
        for sites, fixed in ((gen, start[0]), (disc, start[1])):
            for name, value in fixed.items():
                if name not in sites or sites[name].shape[1:] != np.shape(value):
                    raise ValueError(f"start: {name} {np.shape(value)} is not a site of this model "
                                     f"({sites.get(name, np.zeros(0)).shape[1:]})")
                sites[name] = jnp.broadcast_to(jnp.asarray(value, jnp.float32), sites[name].shape)
    return gen, disc


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
    schedule: str = default("sgld", "schedule"),
    final_step_size_ratio: float = default("sgld", "final_step_size_ratio"),
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
    friction, temperature, preconditioner, rms_decay, rms_eps
        Passed to the kernel for both networks (``friction``: SGHMC only, required by it, refused by SGLD).
        Defaults: :mod:`inference.config`.
    schedule : {"constant", "cosine"}
        Step-size schedule as a function of the generator iteration ``t`` (both networks, every one of
        the ``n_critic`` discriminator steps of iteration ``t`` at the same step size): constant
        ``step_size``, or ``optax.cosine_decay_schedule`` from ``step_size`` to
        ``final_step_size_ratio * step_size`` over ``iterations``.
    final_step_size_ratio : float
        See ``schedule``.
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
        Starting weights shared by every particle (see :func:`init_particles`' ``start``).

    Notes
    -----
    A loss with weight clipping (``wasserstein``) projects the discriminator particles onto the box after
    every step (projected Langevin dynamics) and, under SGHMC, reverses the momentum components that point
    out of the box where a weight hit the wall (:func:`inference.sghmc.reflect_momentum`); a gradient-penalty loss gets fresh interpolation weights
    ``epsilon ~ U[0, 1)`` per iteration, shared by the J_d particles.

    Raises
    ------
    ValueError
        For an unknown kernel or schedule, a cosine schedule without ``iterations``, a non-positive step
        size, a friction given to SGLD or missing for SGHMC, or ``preconditioner="rmsprop"`` without warmup.

    Returns
    -------
    inference.base.Sampler
    """
    num_data = int(data.shape[0])
    if n_critic < 1:
        raise ValueError(f"n_critic must be >= 1, got {n_critic}")
    if kernel == "sgld" and friction is not None:
        raise ValueError("the sgld kernel has no friction (it is SGHMC's)")
    if kernel not in KERNELS:
        raise ValueError(f"kernel={kernel!r}; valid: {', '.join(sorted(KERNELS))}")
    if preconditioner == "rmsprop" and num_warmup < 1:
        raise ValueError("preconditioner='rmsprop' is adapted during warmup and then frozen: it needs "
                         "num_warmup >= 1 (or preconditioner='rmsprop_running' or 'none')")
    eta_at = step_size_schedule(step_size, schedule, iterations, final_step_size_ratio)
    kwargs = dict(temperature=temperature, preconditioner=preconditioner, rms_decay=rms_decay, rms_eps=rms_eps)
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
        eta, adapt = eta_at(iteration), iteration < num_warmup
        z = model.sample_latent(k_z, latent_shape)
        disc_position = gathered(state.discriminator.position)  # the mean over J_d: in particle order
        gen_state, gen_info = jax.vmap(
            lambda k, s, zj: gen_alg.step(k, s, (zj, disc_position, num_data), eta, adapt)
        )(jax.random.split(k_gen, num_generators), state.generator, z)

        def disc_step(disc_state, keys):
            k_idx, k_zf, k_disc = keys
            x_real = data[jax.random.randint(k_idx, (batch_size,), 0, num_data)]
            z_fake = model.sample_latent(k_zf, latent_shape)
            x_fake = gathered(jax.vmap(model.generate)(gen_state.position, z_fake))  # pooled in particle order
            x_fake = gathered(x_fake.reshape(-1, x_fake.shape[-1]))
            epsilon = jax.random.uniform(jax.random.fold_in(k_idx, 1), x_fake.shape[:1])
            disc_state, disc_info = jax.vmap(
                lambda k, s: disc_alg.step(k, s, (x_real, x_fake, num_data, epsilon), eta, adapt)
            )(jax.random.split(k_disc, num_discriminators), disc_state)
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
        return BayesGANState(jax.tree.map(lambda _: GENERATOR_PARTICLES, state.generator),
                             jax.tree.map(lambda _: DISCRIMINATOR_PARTICLES, state.discriminator))

    return Sampler(init, step, positions, stats, samples_posterior=True, particle_axes=particle_axes,
                   phase=warmup_phases(num_warmup))
