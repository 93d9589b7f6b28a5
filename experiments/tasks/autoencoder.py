"""Autoencoder initialisation of a class-conditional GAN (BAGAN, Mariani et al. 2018, sec. 3).

An autoencoder is trained on every training image (all classes, imbalanced as they are): its decoder has
the generator's architecture, its encoder the discriminator's with ``latent_dim`` outputs. Then

- the generator starts at the decoder's weights, and the discriminator at the encoder's (all but its last
  layer, whose shape differs: ``K + 1`` class outputs instead of ``latent_dim``; that one comes from the
  prior);
- each class ``c`` gets a Gaussian ``N(mu_c, Sigma_c)`` fitted to the encoder's codes of its images; the
  generator draws its latents from these, one class at a time, uniformly over classes (so the minority
  classes are generated as often as the others).

The optimiser is optax Adam on the mean squared reconstruction error; flax ``nnx`` modules throughout.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from models.bgan import DISCRIMINATOR, GENERATOR


class AutoencoderStart(NamedTuple):
    """What BAGAN's initialisation hands to the GAN.

    Attributes
    ----------
    generator, discriminator : dict of str to numpy.ndarray
        Starting weights by site name (``generator__layers.0.kernel``); the discriminator's last layer is
        absent (drawn from the prior).
    latent_means : numpy.ndarray, shape ``(K, latent_dim)``
    latent_chols : numpy.ndarray, shape ``(K, latent_dim, latent_dim)``
        Cholesky factors of the per-class code covariances (plus ``jitter * I``).
    reconstruction_mse : float
        Mean squared error (pixels in [0, 1]) of the trained autoencoder on the training images.
    """

    generator: dict
    discriminator: dict
    latent_means: np.ndarray
    latent_chols: np.ndarray
    reconstruction_mse: float


def _site_params(module: nnx.Module, prefix: str) -> dict[str, np.ndarray]:
    """A module's parameters as site names ``<prefix>__<path.with.dots>``, as ``random_nnx_module`` names them."""
    out = {}

    def walk(tree, path):
        if isinstance(tree, dict):
            for k, v in tree.items():
                walk(v, (*path, str(k)))
        else:
            out[f"{prefix}__{'.'.join(path)}"] = np.asarray(tree)

    walk(nnx.to_pure_dict(nnx.state(module, nnx.Param)), ())
    return out


def pretrain_autoencoder(decoder: nnx.Module, encoder: nnx.Module, x: np.ndarray, y: np.ndarray, *,
                         num_classes: int, steps: int = 2000, batch_size: int = 64, learning_rate: float = 1e-3,
                         seed: int = 0, jitter: float = 1e-3) -> AutoencoderStart:
    """Train ``decoder(encoder(x)) ~ x`` and fit the class-conditional latent Gaussians.

    Parameters
    ----------
    decoder : flax.nnx.Module
        The generator's architecture (``(..., latent_dim) -> (..., data_dim)``); trained in place.
    encoder : flax.nnx.Module
        The discriminator's architecture with ``latent_dim`` outputs; trained in place.
    x : numpy.ndarray, shape ``(N, data_dim)``, float32
    y : numpy.ndarray, shape ``(N,)``, int
        Classes ``0 .. num_classes - 1``; every class needs at least one image.
    num_classes : int
    steps, batch_size, learning_rate : int, int, float
        Adam steps on minibatches drawn with replacement.
    seed : int
    jitter : float
        Added to the diagonal of every class covariance (a class with few images has a singular one).

    Returns
    -------
    AutoencoderStart

    Raises
    ------
    ValueError
        If a class has no image.
    """
    counts = np.bincount(y, minlength=num_classes)
    if (counts == 0).any():
        raise ValueError(f"classes {np.flatnonzero(counts == 0).tolist()} have no training image")
    data = jnp.asarray(x)
    model = nnx.List([encoder, decoder])
    optimizer = nnx.Optimizer(model, optax.adam(learning_rate), wrt=nnx.Param)

    @nnx.jit
    def train(model, optimizer, keys):
        def step(carry, key):
            model, optimizer = carry
            batch = data[jax.random.randint(key, (batch_size,), 0, data.shape[0])]
            loss, grads = nnx.value_and_grad(lambda m: jnp.mean((m[1](m[0](batch)) - batch) ** 2))(model)
            optimizer.update(model, grads)
            return (model, optimizer), loss
        return nnx.scan(step)((model, optimizer), keys)

    train(model, optimizer, jax.random.split(jax.random.key(seed), steps))
    codes = np.asarray(nnx.jit(lambda m: m(data))(encoder))
    mse = float(np.mean((np.asarray(nnx.jit(lambda m: m(jnp.asarray(codes)))(decoder)) - x) ** 2))
    latent_dim = codes.shape[-1]
    means = np.stack([codes[y == c].mean(axis=0) for c in range(num_classes)])
    chols = []
    for c in range(num_classes):
        cov = np.cov(codes[y == c], rowvar=False) if counts[c] > 1 else np.zeros((latent_dim, latent_dim))
        chols.append(np.linalg.cholesky(np.atleast_2d(cov) + jitter * np.eye(latent_dim)))
    last = f"{DISCRIMINATOR}__{encoder.output_layer()}."
    disc = {k: v for k, v in _site_params(encoder, DISCRIMINATOR).items() if not k.startswith(last)}
    return AutoencoderStart(_site_params(decoder, GENERATOR), disc, means.astype(np.float32),
                            np.stack(chols).astype(np.float32), mse)
