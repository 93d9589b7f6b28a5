"""What several algorithms do with the GAN alike: their starting particles and the ML twin's per-datum
discriminator loss.

- :func:`split_sites` -- a dict of numpyro sites split into the generator's and the discriminator's.
- :func:`init_particles` -- prior draws of ``J_g`` generator and ``J_d`` discriminator particles (the start of
  every algorithm: :mod:`inference.bayesgan`, :mod:`inference.svi`, :mod:`inference.mle`,
  :mod:`inference.ebgan`).
- :func:`discriminator_mean_loss` -- the discriminator's loss per datum, no prior (the ML twin's, and EBGAN's
  stochastic-approximation discriminator's).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from numpyro import handlers

from inference.bridge import init_position
from models.bgan import DISCRIMINATOR, GENERATOR, BayesGAN, DiscriminatorBatch
from models.losses import mean_loss
from models.priors import is_weight_site


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


def discriminator_mean_loss(model: BayesGAN, disc: dict, batch: DiscriminatorBatch) -> jax.Array:
    """The discriminator's loss per datum (per packed group with ``model.pack``; no prior): the mean of each of
    the loss's terms
    (:meth:`models.bgan.BayesGAN.discriminator_terms`), each weighted as in the Bayesian log density relative
    to its ``N``-scaled terms. ``disc``: one network's sites (no particle axis); ``batch``: ``x_real``
    ``(B, D)``, ``x_fake`` ``(B_fake, D)``, ``N``, the interpolation weights and the noise key; returns a
    float32 scalar (nats per datum)."""
    def outputs(x, key=None):
        return model.discriminator_outputs(disc, x, key=key)

    terms = model.discriminator_terms(outputs, batch.x_real, batch.x_fake, batch.epsilon, batch.key)
    n = batch.num_data
    unit = model.likelihood_size(n)  # per datum; per group with packing, as the generator's loss is
    scales = {name: model.term_scale(name, v.shape[0], n) / unit for name, v in terms.items()}
    return sum(mean_loss(v) * scales[name] for name, v in terms.items() if scales[name] != 0)  # (0: not computed)
