"""The maximum-likelihood GAN twin: one generator and one discriminator trained with optax Adam.

Same networks, data, minibatch size and likelihood as the Bayesian GAN (:mod:`inference.bayesgan`); the
objective is the negated mean of the same per-sample log-likelihood terms (:mod:`models.losses`), with no
prior. Parameters keep a leading particle axis of size 1 so that every downstream tool (recording, ArviZ
export, metrics) treats both algorithms alike: the ML GAN is a single "chain".
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from inference.bayesgan import BayesGANSampler, init_particles
from models.bgan import BayesGAN
from models.losses import mean_loss


class MLEState(NamedTuple):
    """Generator and discriminator sites (leading axis 1) and their Adam states."""

    generator: dict
    discriminator: dict
    generator_opt: optax.OptState
    discriminator_opt: optax.OptState


class MLEInfo(NamedTuple):
    """Per-iteration losses (nats per sample), shape ``(1,)`` each."""

    generator_loss: jax.Array
    discriminator_loss: jax.Array


def mle_gan(
    model: BayesGAN,
    data: jax.Array,
    *,
    batch_size: int,
    learning_rate: float,
    b1: float = 0.5,
    b2: float = 0.999,
    iterations: int | None = None,
    init_model: BayesGAN | None = None,
) -> BayesGANSampler:
    """Maximum-likelihood GAN (Goodfellow et al. 2014) with optax Adam (Kingma & Ba 2015).

    Parameters
    ----------
    model : models.bgan.BayesGAN
        Networks and likelihood (its priors are used only to draw the initial weights).
    data : array, shape ``(N, data_dim)``, float32
    batch_size : int
        Real and latent minibatch size.
    learning_rate, b1, b2 : float
        Adam hyper-parameters (``b1 = 0.5`` as in DCGAN, Radford et al. 2016).
    iterations : int, optional
        Length of the run (unused: constant learning rate).
    init_model : models.bgan.BayesGAN, optional
        Whose prior draws initialise the weights; default ``model`` (the same draws as the Bayesian GAN
        with the same seed and init prior).

    Returns
    -------
    BayesGANSampler
        ``init(rng_key) -> MLEState`` and ``step(rng_key, state) -> (MLEState, MLEInfo)``.
    """
    num_data = int(data.shape[0])
    opt = optax.adam(learning_rate, b1=b1, b2=b2)

    def generator_loss(gen, disc, z):
        logits = model.discriminate(disc, model.generate(gen, z))
        return mean_loss(model.loss.generator(logits))

    def discriminator_loss(disc, x_real, x_fake):
        real = model.loss.discriminator_real(model.discriminate(disc, x_real))
        fake = model.loss.discriminator_fake(model.discriminate(disc, x_fake))
        return mean_loss(real) + mean_loss(fake)

    def init(rng_key):
        gen, disc = init_particles(rng_key, init_model or model, 1, 1)
        return MLEState(gen, disc, jax.vmap(opt.init)(gen), jax.vmap(opt.init)(disc))

    def single_step(rng_key, gen, disc, gen_opt, disc_opt):
        k_z, k_idx, k_zf = jax.random.split(rng_key, 3)
        z = jax.random.normal(k_z, (batch_size, model.latent_dim))
        g_loss, g_grad = jax.value_and_grad(generator_loss)(gen, disc, z)
        updates, gen_opt = opt.update(g_grad, gen_opt, gen)
        gen = optax.apply_updates(gen, updates)
        x_real = data[jax.random.randint(k_idx, (batch_size,), 0, num_data)]
        x_fake = model.generate(gen, jax.random.normal(k_zf, (batch_size, model.latent_dim)))
        d_loss, d_grad = jax.value_and_grad(discriminator_loss)(disc, x_real, x_fake)
        updates, disc_opt = opt.update(d_grad, disc_opt, disc)
        disc = optax.apply_updates(disc, updates)
        return (gen, disc, gen_opt, disc_opt), MLEInfo(g_loss, d_loss)

    def step(rng_key, state: MLEState):
        out, info = jax.vmap(single_step, in_axes=(None, 0, 0, 0, 0))(rng_key, *state)
        return MLEState(*out), info

    def positions(state: MLEState, rng_key=None):
        return state.generator, state.discriminator

    def stats(info: MLEInfo):
        return {"generator_loss": info.generator_loss}, {"discriminator_loss": info.discriminator_loss}

    return BayesGANSampler(init, step, positions, stats)
