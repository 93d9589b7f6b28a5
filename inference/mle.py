"""The maximum-likelihood GAN twin: one generator and one discriminator trained with optax Adam.

Same networks, data, minibatch size and likelihood as the Bayesian GAN (:mod:`inference.bayesgan`); the
objective is the negated mean of the same per-sample log-likelihood terms (:mod:`models.losses`), with no
prior. The state holds one network of each kind with no particle axis (a vmap over an axis of size 1 cost
1.42x a hand-written step on the CPU, docs/benchmarks.md); :func:`positions` adds the axis, so every
downstream tool (recording, ArviZ export, metrics) treats both algorithms alike: the ML GAN is a single
"chain".
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from inference.base import (GENERATOR_PARTICLES, Sampler, critic_steps, discriminator_batch, generator_batch,
                            named_key, warmup_phases)
from inference.common import discriminator_mean_loss, init_particles
from inference.config import default
from models.bgan import BayesGAN, DiscriminatorBatch, GeneratorBatch
from models.losses import mean_loss


class MLEState(NamedTuple):
    """Generator and discriminator sites (no particle axis) and their Adam states."""

    generator: dict
    discriminator: dict
    generator_opt: optax.OptState
    discriminator_opt: optax.OptState


class MLEInfo(NamedTuple):
    """Per-iteration losses (nats per sample), scalars."""

    generator_loss: jax.Array
    discriminator_loss: jax.Array


def mle_gan(
    model: BayesGAN,
    data: jax.Array,
    *,
    batch_size: int,
    learning_rate: float = default("mle", "learning_rate"),
    b1: float = default("mle", "b1"),
    b2: float = default("mle", "b2"),
    eps: float = default("mle", "eps"),
    eps_root: float = default("mle", "eps_root"),
    generator_eps_root: float | None = default("mle", "generator_eps_root"),
    iterations: int | None = None,
    num_warmup: int = 0,
    init_model: BayesGAN | None = None,
    n_critic: int = default("mle", "n_critic"),
    init_position: tuple[dict, dict] | None = None,
    dropout: tuple[float, int, int] | None = None,
    train_generator: bool | None = None,
) -> Sampler:
    """Maximum-likelihood GAN (Goodfellow et al. 2014) with optax Adam (Kingma & Ba 2015), optionally with
    MC dropout (Gal & Ghahramani 2016; :func:`mc_dropout_gan`).

    Parameters
    ----------
    model : models.bgan.BayesGAN
        Networks and likelihood (its priors are used only to draw the initial weights).
    data : array, shape ``(N, data_dim)``, float32
    batch_size : int
        Real and latent minibatch size.
    learning_rate, b1, b2, eps, eps_root : float
        Adam hyper-parameters (``b1 = 0.5`` as in DCGAN, Radford et al. 2016), as :func:`optax.adam` takes
        them: the update is ``m_hat / (sqrt(v_hat + eps_root) + eps)``.
    generator_eps_root : float, optional
        The generator's ``eps_root``; ``None``: ``eps_root``. ``eps_root`` is in squared gradient units, so
        matching a recipe whose losses are scaled differently per network needs one per network (Salimans et
        al. 2016's Adam, ``eps = 0`` and ``eps_root = 1e-8``, on ``experiment=mnist_ssl_improved_gan``'s
        objectives, which are 250 and 2 times the recipe's: docs/design.md).
    iterations, num_warmup : int, optional
        Length of the run and of its warmup (unused: constant learning rate; warmup only decides where
        the recorded draws are stored).
    init_model : models.bgan.BayesGAN, optional
        Whose prior draws initialise the weights; default ``model`` (the same draws as the Bayesian GAN
        with the same seed and init prior).
    n_critic : int
        Discriminator updates per generator update (>= 1), each on a fresh minibatch (Arjovsky et al.
        2017, Algorithm 1; 5 in the WGAN papers).
    init_position : (dict, dict), optional
        Starting weights (see :func:`inference.common.init_particles`' ``start``).
    dropout : (float, int, int), optional
        ``(dropout_rate, num_generators, num_discriminators)`` of MC dropout (see :func:`mc_dropout_gan`,
        which passes them); ``None``: the plain twin, one generator and one discriminator, no dropout.
    train_generator : bool, optional
        Whether the generator takes its Adam steps. ``None`` (the default): unless the discriminator's fake
        term is weighted 0 (the supervised-only control, ``experiment.unlabelled_weight=0``), where nothing
        the generator does reaches the discriminator: the generator then keeps its initial weights and the
        discriminator's trajectory is the one it has with the generator trained (the same keys, minibatches
        and updates), at 0.40x the time per iteration (docs/benchmarks.md). The frozen generator's loss is
        still evaluated (without its gradient): it is the generator's objective in the trace and in the
        divergence check, so a non-finite one still stops the run.

    Returns
    -------
    inference.base.Sampler
        ``init(rng_key) -> MLEState`` and ``step(rng_key, state) -> (MLEState, MLEInfo)``.

    Raises
    ------
    ValueError
        For a ``dropout_rate`` outside [0, 1), or several networks per draw without dropout.
    """
    dropout_rate, num_generators, num_discriminators = (0.0, 1, 1) if dropout is None else dropout
    opt = optax.adam(learning_rate, b1=b1, b2=b2, eps=eps, eps_root=eps_root)
    generator_adam = opt if generator_eps_root is None else optax.adam(learning_rate, b1=b1, b2=b2, eps=eps,
                                                                        eps_root=generator_eps_root)
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"dropout_rate must be in [0, 1), got {dropout_rate}")
    if dropout_rate == 0.0 and (num_generators, num_discriminators) != (1, 1):
        raise ValueError("without dropout the ML GAN has one generator and one discriminator")

    masked_sites = set(model.dropout_sites())
    if train_generator is None:
        train_generator = model.term_scale("fake", 1, 1) != 0

    def drop(params: dict, key) -> dict:
        """Inverted-dropout masks on the input units (axis -2: rows of a dense kernel, input channels of a
        convolution) of every kernel that reads hidden units (:meth:`models.bgan.BayesGAN.dropout_sites`)."""
        if dropout_rate == 0.0:
            return params
        out = {}
        for i, (name, w) in enumerate(sorted(params.items())):
            if name in masked_sites:
                keep = jax.random.bernoulli(jax.random.fold_in(key, i), 1.0 - dropout_rate, w.shape[-2:-1])
                w = w * keep[:, None] / (1.0 - dropout_rate)
            out[name] = w
        return out

    def generator_loss(gen, disc, batch: GeneratorBatch):
        key = batch.key
        x_fake = model.generate(gen, batch.z, key=None if key is None else named_key(key, "generator"))
        return mean_loss(model.generator_loglik(disc, x_fake, batch.z, batch.x_real,
                                                None if key is None else named_key(key, "discriminators")))

    def discriminator_loss(disc, batch: DiscriminatorBatch):
        return discriminator_mean_loss(model, disc, batch)

    def init(rng_key):
        gen, disc = (jax.tree.map(lambda x: x[0], p)  # one network each: no particle axis
                     for p in init_particles(rng_key, init_model or model, 1, 1, init_position))
        return MLEState(gen, disc, generator_adam.init(gen), opt.init(disc))

    def single_step(rng_key, gen, disc, gen_opt, disc_opt):
        k_z, k_idx, k_zf = jax.random.split(rng_key, 3)
        k_dg, k_dd, k_dg2, k_dd2 = (jax.random.fold_in(rng_key, 100 + i) for i in range(4))
        noise = named_key(rng_key, "noise")  # the networks' stochastic layers (unused by deterministic ones)
        batch = generator_batch(model, data, k_z, (batch_size,), None, named_key(noise, "generator"))
        if train_generator:
            g_loss, g_grad = jax.value_and_grad(lambda g: generator_loss(drop(g, k_dg), drop(disc, k_dd), batch))(gen)
            updates, gen_opt = generator_adam.update(g_grad, gen_opt, gen)
            gen = optax.apply_updates(gen, updates)
        else:  # the fake term is weighted 0: the discriminator never sees the generator's samples
            g_loss = generator_loss(drop(gen, k_dg), drop(disc, k_dd), batch)

        def disc_step(carry, keys):
            disc, disc_opt = carry
            k_idx, k_zf, k_dg2, k_dd2, k_eps = keys
            x_fake = model.generate(drop(gen, k_dg2), model.sample_latent(k_zf, (batch_size,)),
                                    key=named_key(k_zf, "noise"))
            batch = discriminator_batch(data, k_idx, (batch_size,), x_fake, k_eps, named_key(k_idx, "noise"))
            d_loss, d_grad = jax.value_and_grad(lambda d: discriminator_loss(drop(d, k_dd2), batch))(disc)
            updates, disc_opt = opt.update(d_grad, disc_opt, disc)
            return (model.project(optax.apply_updates(disc, updates)), disc_opt), d_loss

        (disc, disc_opt), d_loss = critic_steps(
            disc_step, (disc, disc_opt), (k_idx, k_zf, k_dg2, k_dd2, named_key(rng_key, "penalty")),
            named_key(rng_key, "critic"), n_critic)
        return (gen, disc, gen_opt, disc_opt), MLEInfo(g_loss, d_loss)

    def step(rng_key, state: MLEState, iteration=None):
        out, info = single_step(rng_key, *state)
        return MLEState(*out), info

    def positions(state: MLEState, rng_key=None):
        if dropout_rate == 0.0:  # one chain
            return tuple(model.constrain(jax.tree.map(lambda x: x[None], p))
                         for p in (state.generator, state.discriminator))
        k_g, k_d = jax.random.split(rng_key)

        def masked(params, key, n):
            return jax.vmap(lambda k: drop(params, k))(jax.random.split(key, n))

        return (model.constrain(masked(state.generator, k_g, num_generators)),
                model.constrain(masked(state.discriminator, k_d, num_discriminators)))

    def stats(info: MLEInfo):
        return ({"generator_loss": jnp.broadcast_to(info.generator_loss, (num_generators,))},
                {"discriminator_loss": jnp.broadcast_to(info.discriminator_loss, (num_discriminators,))})

    return Sampler(init, step, positions, stats, ("generator_loss", "discriminator_loss"),
                   phase=warmup_phases(num_warmup))


def mc_dropout_gan(
    model: BayesGAN,
    data: jax.Array,
    *,
    dropout_rate: float = default("mc_dropout", "dropout_rate"),
    num_generators: int = default("mc_dropout", "num_generators"),
    num_discriminators: int = default("mc_dropout", "num_discriminators"),
    **twin,
) -> Sampler:
    """MC dropout (Gal & Ghahramani 2016) on the ML twin: the control ``inference=mc_dropout``.

    Parameters
    ----------
    model, data
        As :func:`mle_gan`.
    dropout_rate : float
        ``p`` in [0, 1): with ``p > 0`` every hidden unit of both networks is dropped with probability
        ``p`` at each training step (inverted dropout, kept units scaled by ``1 / (1 - p)``), and each
        recorded draw is ``num_generators`` / ``num_discriminators`` networks with fresh masks: samples of
        Gal & Ghahramani's Bernoulli variational posterior. A mask on the hidden units feeding layer ``l``
        is a mask on the rows of ``layers.l.kernel``, so draws are ordinary weight sets.
    num_generators, num_discriminators : int
        Masked networks per recorded draw (the ``chain`` axis); 1 each when ``dropout_rate`` is 0.
    **twin
        :func:`mle_gan`'s keywords (``batch_size``, ``learning_rate``, ``b1``, ``b2``, ``eps``, ``eps_root``,
        ``generator_eps_root``, ``n_critic``,
        ``iterations``, ``num_warmup``, ``init_model``, ``init_position``).

    Returns
    -------
    inference.base.Sampler
        As :func:`mle_gan`, with ``num_generators`` / ``num_discriminators`` chains per draw.

    Raises
    ------
    ValueError
        As :func:`mle_gan`.
    """
    return mle_gan(model, data, dropout=(dropout_rate, num_generators, num_discriminators), **twin)


def ensemble_gan(
    model: BayesGAN,
    data: jax.Array,
    *,
    num_generators: int = default("ensemble", "num_generators"),
    **twin,
) -> Sampler:
    """``J_g`` independent ML GANs: the control ``inference=ensemble`` (Lakshminarayanan et al. 2017's deep
    ensemble, applied to the GAN pair).

    Each member is the ML twin (:func:`mle_gan`, optax Adam, no prior, no noise) with its own initial
    weights and minibatches (its own key); the members never see each other. They are one ``jax.vmap`` over
    the twin's step, and their generators are the ``J_g`` chains of a draw, so the predictive pools them.

    Parameters
    ----------
    model, data
        As :func:`mle_gan`.
    num_generators : int
        ``J_g``: ensemble members (generator-discriminator pairs), >= 1.
    **twin
        :func:`mle_gan`'s keywords (``batch_size``, ``learning_rate``, ``b1``, ``b2``, ``eps``, ``eps_root``,
        ``generator_eps_root``, ``n_critic``,
        ``iterations``, ``num_warmup``, ``init_model``, ``init_position``); no dropout.

    Returns
    -------
    inference.base.Sampler
        State: the twin's ``MLEState`` with a leading member axis ``J_g`` on every leaf; an optimiser
        (``samples_posterior`` False: its headline is the final iterate).

    Raises
    ------
    ValueError
        For ``num_generators < 1`` and as :func:`mle_gan`.
    """
    if num_generators < 1:
        raise ValueError(f"num_generators must be >= 1, got {num_generators}")
    member = mle_gan(model, data, **twin)

    def init(rng_key):
        return jax.vmap(member.init)(jax.random.split(rng_key, num_generators))

    def step(rng_key, state: MLEState, iteration=None):
        return jax.vmap(member.step, in_axes=(0, 0, None))(jax.random.split(rng_key, num_generators), state, iteration)

    def positions(state: MLEState, rng_key=None):
        return model.constrain(state.generator), model.constrain(state.discriminator)

    def stats(info: MLEInfo):
        return {"generator_loss": info.generator_loss}, {"discriminator_loss": info.discriminator_loss}

    def particle_axes(state: MLEState):  # member j's generator, discriminator and Adam states live together
        return jax.tree.map(lambda _: GENERATOR_PARTICLES, state)

    return Sampler(init, step, positions, stats, member.objective, particle_axes=particle_axes, phase=member.phase)
