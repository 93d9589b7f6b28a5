"""Variational Bayesian GAN: numpyro SVI with mean-field Gaussian guides on both conditionals.

Each network's weights get a fully factorised Gaussian ``q`` (``numpyro.infer.autoguide.AutoNormal``),
fitted by ``numpyro.infer.SVI`` with ``TraceMeanField_ELBO``: the loss is
``-E_q[log-likelihood] + KL(q || p)``, the KL in closed form per weight where numpyro has it (Gaussian
priors), the likelihood the minibatch sum scaled by ``N / B`` in the numpyro models of :mod:`models.bgan`.
One iteration updates ``q_g`` on the generator's conditional (eq. 1) with ``J_d`` discriminator draws from
``q_d``, then ``q_d`` on the discriminator's conditional (eq. 2) with fakes from ``J_g`` generator draws
from ``q_g``, the alternation of Saatchi & Wilson (2017) with variational rather than sampled conditionals.
Posterior draws are draws from ``q``: the ``J_g`` "chains" of a recorded draw are independent draws.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpyro.distributions as dist
import optax
from numpyro.infer import SVI, TraceMeanField_ELBO
from numpyro.infer.autoguide import AutoNormal
from numpyro.infer.svi import SVIState

from inference.base import Sampler, critic_steps, discriminator_batch, generator_batch, named_key, warmup_phases
from inference.common import init_particles
from inference.config import default
from models.bgan import BayesGAN, DiscriminatorBatch
from models.priors import is_weight_site


class VIState(NamedTuple):
    """SVI states (guide parameters and optimiser state) of ``q_g`` and ``q_d``."""

    generator: SVIState
    discriminator: SVIState


class VIInfo(NamedTuple):
    """Per-iteration ELBO terms (nats, full-data scale), each network's three of one ``q`` (the guide
    parameters before the update the log names; with ``n_critic > 1`` the last discriminator update):
    ``loss = kl - expected_loglik``."""

    generator_loss: jax.Array
    generator_kl: jax.Array
    discriminator_loss: jax.Array
    discriminator_kl: jax.Array


def _kl(guide: AutoNormal, params: dict, prior_fn, prefix: str) -> jax.Array:
    """Closed-form ``KL(q || p)`` summed over the guide's sites (``nan`` where numpyro has no closed form,
    e.g. a Student-t prior, or a hierarchical prior whose weight prior depends on a sampled precision)."""
    total = 0.0
    sites = [k.removesuffix(f"_{guide.prefix}_loc") for k in params if k.endswith(f"_{guide.prefix}_loc")]
    if not all(is_weight_site(site) for site in sites):
        return jnp.nan
    for site in sites:
        loc, scale = params[f"{site}_{guide.prefix}_loc"], params[f"{site}_{guide.prefix}_scale"]
        prior = prior_fn(site.removeprefix(prefix + "__"), loc.shape).expand(loc.shape)
        try:
            total = total + jnp.sum(dist.kl_divergence(dist.Normal(loc, scale), prior))
        except NotImplementedError:
            return jnp.nan
    return total


def mean_field_svi(model, optimizer, init_scale: float, num_particles: int = 1) -> tuple[SVI, AutoNormal]:
    """numpyro ``SVI`` of a fully factorised Gaussian guide (``AutoNormal``) with ``TraceMeanField_ELBO``
    (closed-form KL per site where numpyro has it) and an optax ``optimizer``: the zoo's variational family.

    Returns
    -------
    (numpyro.infer.SVI, numpyro.infer.autoguide.AutoNormal)
    """
    guide = AutoNormal(model, init_scale=init_scale)
    return SVI(model, guide, optimizer, TraceMeanField_ELBO(num_particles=num_particles)), guide


def elbo_update(svi: SVI, state: SVIState, kl_fn, *args) -> tuple[SVIState, jax.Array, jax.Array]:
    """One SVI update, with the ELBO terms of the ``q`` it started from.

    ``svi.update`` returns the loss of the pre-update parameters; the KL is evaluated at the same
    parameters, so ``loss``, ``kl`` and ``expected_loglik = kl - loss`` describe one ``q``.

    Parameters
    ----------
    svi : numpyro.infer.SVI
    state : numpyro.infer.svi.SVIState
    kl_fn : callable or None
        ``kl_fn(params) -> KL(q || p)`` (nats; ``nan`` where there is no closed form); ``None``: ``nan``.
    *args
        The model's arguments (the minibatch).

    Returns
    -------
    (SVIState, jax.Array, jax.Array)
        The updated state, the negative ELBO and the KL, both of the pre-update ``q``.
    """
    kl = jnp.nan if kl_fn is None else kl_fn(svi.get_params(state))
    new_state, loss = svi.update(state, *args)
    return new_state, loss, kl


def bayesgan_svi(
    model: BayesGAN,
    data: jax.Array,
    *,
    batch_size: int,
    num_generators: int = default("svi", "num_generators"),
    num_discriminators: int = default("svi", "num_discriminators"),
    learning_rate: float = default("svi", "learning_rate"),
    init_guide_scale: float = default("svi", "init_guide_scale"),
    iterations: int | None = None,
    num_warmup: int = 0,
    init_model: BayesGAN | None = None,
    n_critic: int = default("svi", "n_critic"),
    init_position: tuple[dict, dict] | None = None,
) -> Sampler:
    """Mean-field variational Bayesian GAN.

    Parameters
    ----------
    model : models.bgan.BayesGAN
    data : array, shape ``(N, data_dim)``, float32
    batch_size : int
        ``B``.
    num_generators, num_discriminators : int
        ``J_g`` draws of ``q_g`` (fakes for the discriminator update, and recorded chains) and ``J_d``
        draws of ``q_d`` (the generator's likelihood).
    learning_rate : float
        optax Adam step size for the guide parameters.
    init_guide_scale : float
        Initial standard deviation of every ``q`` factor (``AutoNormal``'s ``init_scale``).
    iterations, num_warmup : int, optional
        Unused (constant learning rate; warmup only decides where recorded draws are stored).
    init_model : models.bgan.BayesGAN, optional
        Whose prior draw gives the guides' initial means; default ``model``.
    n_critic : int
        ``q_d`` updates per ``q_g`` update (>= 1), each on a fresh minibatch (WGAN's ``n_critic``).
    init_position : (dict, dict), optional
        Starting means of ``q`` (see :func:`inference.common.init_particles`' ``start``).

    Returns
    -------
    inference.base.Sampler
    """
    num_data = int(data.shape[0])
    if model.loss.clip is not None:
        raise ValueError("weight clipping (loss=wasserstein) has no variational counterpart: q has unbounded "
                         "support; use loss=wasserstein_gp with inference=svi")
    latent = (batch_size,)
    opt = optax.adam(learning_rate)
    svi_g, gen_guide = mean_field_svi(model.generator_model, opt, init_guide_scale)
    svi_d, disc_guide = mean_field_svi(model.discriminator_model, opt, init_guide_scale)

    def gen_kl(params):
        return _kl(gen_guide, params, model.generator_prior, "generator")

    def disc_kl(params):
        return _kl(disc_guide, params, model.discriminator_prior, "discriminator")

    def draws(guide, svi, state, key, n):
        return guide.sample_posterior(key, svi.get_params(state), sample_shape=(n,))

    def locs(guide, position):
        return {f"{site}_{guide.prefix}_loc": v[0] for site, v in position.items()}

    def init(rng_key):
        k_init, k_g, k_d, k_z = jax.random.split(rng_key, 4)
        gen, disc = init_particles(k_init, init_model or model, 1, 1, init_position)
        x = data[:batch_size]
        z = model.sample_latent(k_z, latent)
        x_fake = model.generate(jax.tree.map(lambda v: v[0], gen), z)  # no label column (BAGAN's data have one)
        disc_state = svi_d.init(k_d, DiscriminatorBatch(x, x_fake, num_data, jnp.zeros(batch_size)),
                                init_params=locs(disc_guide, disc))
        d_draws = jax.tree.map(lambda v: jnp.repeat(v, num_discriminators, 0), disc)
        gen_state = svi_g.init(k_g, generator_batch(model, data, k_z, latent, d_draws), init_params=locs(gen_guide, gen))
        return VIState(gen_state, disc_state)

    def step(rng_key, state: VIState, iteration=None):
        k_dd, k_z, k_gd, k_idx, k_zf = jax.random.split(rng_key, 5)
        d_draws = draws(disc_guide, svi_d, state.discriminator, k_dd, num_discriminators)
        noise = named_key(rng_key, "noise")  # the networks' stochastic layers (unused by deterministic ones)
        batch = generator_batch(model, data, k_z, latent, d_draws, named_key(noise, "generator"))
        gen_state, g_loss, g_kl = elbo_update(svi_g, state.generator, gen_kl, batch)

        def disc_step(disc_state, keys):
            k_gd, k_zf, k_idx = keys
            g_draws = draws(gen_guide, svi_g, gen_state, k_gd, num_generators)
            x_fake = jax.vmap(model.generate)(g_draws, model.sample_latent(k_zf, (num_generators, *latent)))
            x_fake = x_fake.reshape(-1, x_fake.shape[-1])
            batch = discriminator_batch(data, k_idx, (batch_size,), x_fake, noise_key=named_key(k_idx, "noise"))
            new_state, loss, kl = elbo_update(svi_d, disc_state, disc_kl, batch)
            return new_state, (loss, kl)

        disc_state, (d_loss, d_kl) = critic_steps(disc_step, state.discriminator, (k_gd, k_zf, k_idx),
                                                  named_key(rng_key, "critic"), n_critic)
        return VIState(gen_state, disc_state), VIInfo(g_loss, g_kl, d_loss, d_kl)

    def positions(state: VIState, rng_key):
        k_g, k_d = jax.random.split(rng_key)
        return (draws(gen_guide, svi_g, state.generator, k_g, num_generators),
                draws(disc_guide, svi_d, state.discriminator, k_d, num_discriminators))

    def stats(info: VIInfo):
        def per_chain(x, n):
            return jnp.broadcast_to(x, (n,))

        gen = {"loss": info.generator_loss, "kl": info.generator_kl,
               "expected_loglik": info.generator_kl - info.generator_loss}
        disc = {"loss": info.discriminator_loss, "kl": info.discriminator_kl,
                "expected_loglik": info.discriminator_kl - info.discriminator_loss}
        return ({k: per_chain(v, num_generators) for k, v in gen.items()},
                {k: per_chain(v, num_discriminators) for k, v in disc.items()})

    return Sampler(init, step, positions, stats, ("loss", "loss"), phase=warmup_phases(num_warmup))
