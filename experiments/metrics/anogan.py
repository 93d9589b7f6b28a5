"""The AnoGAN anomaly score (Schlegl et al. 2017) by a latent search per point and generator sample."""

from __future__ import annotations

import numpy as np


def anogan_scores(model, generator_params: dict, discriminator_params: dict, x: np.ndarray, *, steps: int = 200,
                  learning_rate: float = 0.05, feature_weight: float = 0.1, seed: int = 0) -> np.ndarray:
    """AnoGAN anomaly scores (Schlegl et al. 2017, "Unsupervised anomaly detection with generative adversarial
    networks to guide marker discovery", sec. 2.2), averaged over generator samples.

    For every point ``x`` and every generator sample ``G_j``, a latent ``z`` (started from ``N(0, I)``) is
    fitted by ``steps`` optax Adam steps on ``A(z) = (1 - lambda) ||x - G_j(z)||_1 + lambda ||f(x) -
    f(G_j(z))||_1`` (the residual and the discrimination loss; ``f``: the last hidden layer of discriminator
    ``j mod J_d``, :meth:`models.bgan.BayesGAN.discriminator_features`); the score is ``A`` at the last step,
    averaged over the ``J_g`` generator samples (Schlegl et al. use one generator, 500 steps).

    Parameters
    ----------
    model : models.bgan.BayesGAN
        With a plain (unconditional) head.
    generator_params, discriminator_params : dict of str to array
        ``J_g`` generator and ``J_d`` discriminator samples (leading axes), constrained.
    x : numpy.ndarray, shape ``(M, data_dim)``, float32
    steps, learning_rate : int, float
        The latent search (Adam).
    feature_weight : float
        ``lambda`` in [0, 1] (0.1 in the paper).
    seed : int
        The starting latents' key.

    Returns
    -------
    numpy.ndarray, shape ``(M,)``, float64
        Higher = more anomalous.

    Raises
    ------
    ValueError
        For a class-conditional model, ``steps < 1`` or ``feature_weight`` outside [0, 1].
    """
    import jax
    import jax.numpy as jnp
    import optax

    if model.conditional:
        raise ValueError("the AnoGAN score inverts an unconditional generator")
    if steps < 1 or not 0.0 <= feature_weight <= 1.0:
        raise ValueError(f"steps={steps} must be >= 1 and feature_weight={feature_weight} in [0, 1]")
    generator_params, discriminator_params = jax.tree.map(jnp.asarray, (generator_params, discriminator_params))
    num_gen = jax.tree.leaves(generator_params)[0].shape[0]
    num_disc = jax.tree.leaves(discriminator_params)[0].shape[0]
    x = jnp.asarray(x, jnp.float32)
    opt = optax.adam(learning_rate)

    def one_generator(j, gen, key):
        disc = jax.tree.map(lambda v: v[j % num_disc], discriminator_params)
        f_x = model.discriminator_features(disc, x)

        def loss(z):  # (M,) per point; the sum's gradient is each point's own
            g = model.generate(gen, z)
            return ((1 - feature_weight) * jnp.sum(jnp.abs(x - g), axis=-1)
                    + feature_weight * jnp.sum(jnp.abs(f_x - model.discriminator_features(disc, g)), axis=-1))

        def step(carry, _):
            z, state = carry
            grad = jax.grad(lambda z: jnp.sum(loss(z)))(z)
            updates, state = opt.update(grad, state, z)
            return (optax.apply_updates(z, updates), state), None

        z0 = model.sample_latent(key, (x.shape[0],))
        (z, _), _ = jax.lax.scan(step, (z0, opt.init(z0)), None, length=steps)
        return loss(z)

    keys = jax.random.split(jax.random.key(seed), num_gen)
    scores = jax.jit(jax.vmap(one_generator))(jnp.arange(num_gen), generator_params, keys)  # (J_g, M)
    return np.asarray(scores, np.float64).mean(axis=0)
