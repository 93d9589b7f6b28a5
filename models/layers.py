"""Layers of the real-image recipes (Salimans et al. 2016, openai/improved-gan) as flax ``nnx`` modules, and
the naming of random streams.

- :func:`named_key` -- a key for a stream called by name (every stochastic layer derives its own).
- :class:`GaussianNoise` -- additive ``N(0, sigma^2)`` noise, on only when a key is given.
- :class:`WeightNormDense` -- a dense layer with weight normalisation (Salimans & Kingma 2016), its scale a
  weight (``nnx.Param``, a sample site) or fixed state (:class:`FixedScale`, not a sample site), with the
  data-dependent initialisation of that paper (sec. 3).
- :func:`batch_normalise` -- batch normalisation with the statistics of the batch itself (Ioffe & Szegedy
  2015, training mode), no running statistics and no scale: what the recipe's generator does
  (``nn.BatchNormLayer`` with ``g=None``, always ``deterministic=False``).

A network's ``__call__(x, *, key=None)`` passes ``key`` down; ``key=None`` is deterministic evaluation (no
noise), what the recorder, the metrics and the predictions use.
"""

from __future__ import annotations

import zlib

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx


def named_key(rng_key: jax.Array, name: str) -> jax.Array:
    """A key for the stream called ``name``: ``fold_in(rng_key, crc32(name))`` (stable across runs and
    Python versions, unlike ``hash``), so streams are told apart by name, not by numeric offsets."""
    return jax.random.fold_in(rng_key, zlib.crc32(name.encode()) & 0x7FFFFFFF)


class FixedScale(nnx.Variable):
    """A weight-norm scale that is state, not a weight: set once by the data-dependent initialisation and
    never moved by an optimiser or a sampler. ``numpyro.contrib.module`` keeps every non-``nnx.Param``
    variable out of the sample sites, so it has no prior and every particle shares it."""


class GaussianNoise(nnx.Module):
    """``x + stddev * eps``, ``eps ~ N(0, I)``, when called with a key; the identity with ``key=None``.

    Parameters
    ----------
    stddev : float
        ``sigma >= 0``, in the input's units (pixels in [0, 1] on MNIST: 0.3 in the recipe).
    """

    def __init__(self, stddev: float):
        if not stddev >= 0:
            raise ValueError(f"noise stddev={stddev!r} must be >= 0")
        self.stddev = float(stddev)

    def __call__(self, x: jax.Array, *, key: jax.Array | None = None) -> jax.Array:
        if key is None or self.stddev == 0.0:
            return x
        return x + self.stddev * jax.random.normal(key, x.shape, x.dtype)


class WeightNormDense(nnx.Module):
    """``y = x (V g / ||V||) + b``: a dense layer with weight normalisation (Salimans & Kingma 2016, eq. 2),
    the norm taken over each output unit's column of ``V``.

    Parameters
    ----------
    in_features, out_features : int
    train_scale : bool
        ``g`` is a weight (``nnx.Param``: a sample site with a prior, moved by the optimisers) or fixed state
        (:class:`FixedScale`, set by :meth:`data_init` only); the recipe fixes the hidden layers' and trains
        the output layer's.
    kernel_init : callable, optional
        ``(key, shape) -> V``; default ``N(0, 0.05^2)`` (only the direction of ``V`` matters).
    rngs : flax.nnx.Rngs

    Notes
    -----
    Parameter paths: ``kernel`` (``V``, ``(in_features, out_features)``), ``bias`` ``(out_features,)`` and
    ``scale`` (``g``, ``(out_features,)``, a ``Param`` or a ``FixedScale``).
    """

    def __init__(self, in_features: int, out_features: int, *, train_scale: bool, kernel_init=None,
                 rngs: nnx.Rngs):
        init = kernel_init or (lambda key, shape: 0.05 * jax.random.normal(key, shape))
        self.kernel = nnx.Param(init(rngs.params(), (in_features, out_features)))
        self.bias = nnx.Param(jnp.zeros(out_features))
        scale = jnp.ones(out_features)
        self.scale = nnx.Param(scale) if train_scale else FixedScale(scale)

    def weight(self) -> jax.Array:
        """``V g / ||V||`` ``(in_features, out_features)``."""
        v = self.kernel[...]
        return v * (self.scale[...] / jnp.sqrt(jnp.sum(v**2, axis=0)))

    def __call__(self, x: jax.Array) -> jax.Array:
        return x @ self.weight() + self.bias[...]

    def data_init(self, x: jax.Array) -> jax.Array:
        """Salimans & Kingma (2016, sec. 3)'s data-dependent initialisation, in place: with ``t = x V g /
        ||V||`` on a batch ``x`` ``(n, in_features)``, set ``g <- g / std(t)`` and ``b <- -mean(t) / std(t)``
        so the layer's pre-activations start with mean 0 and variance 1 per unit.

        Returns
        -------
        array, shape ``(n, out_features)``
            The normalised pre-activations (what the next layer's initialisation reads).
        """
        t = x @ self.weight()
        mean = t.mean(axis=0)
        std = jnp.sqrt(jnp.mean((t - mean) ** 2, axis=0))
        self.scale[...] = self.scale[...] / std
        self.bias[...] = -mean / std
        return (t - mean) / std


def batch_normalise(x: jax.Array, eps: float = 1e-6) -> jax.Array:
    """``(x - mean) / sqrt(eps + var)`` per feature over every leading axis of ``x`` ``(..., F)``: batch norm
    with the batch's own statistics (Ioffe & Szegedy 2015), no scale, no running averages.

    The output of one sample depends on the rest of its batch: a generator that normalises so is a map from
    the batch of latents to a batch of samples (docs/design.md, "The generator's normalisation").
    """
    axes = tuple(range(x.ndim - 1))
    mean = jnp.mean(x, axis=axes, keepdims=True)
    centred = x - mean
    return centred / jnp.sqrt(eps + jnp.mean(centred**2, axis=axes, keepdims=True))


def pack_samples(x, pack: int, image_shape: tuple[int, ...] | None = None):
    """PacGAN's packing (Lin et al. 2018, sec. 3): consecutive groups of ``pack`` samples as one input of the
    discriminator.

    Parameters
    ----------
    x : array, shape ``(..., n, data_dim)``
        Samples (numpy or JAX); ``n`` a multiple of ``pack``.
    pack : int
        Samples per group (1: ``x`` unchanged).
    image_shape : tuple of int, optional
        ``(H, W, C)`` of image samples (flattened channel-fastest): a group is then concatenated along the
        channels, the ``(H, W, pack C)`` image PacGAN's convolutional discriminator reads; vectors are
        concatenated end to end.

    Returns
    -------
    array, shape ``(..., n // pack, pack * data_dim)``

    Raises
    ------
    ValueError
        If ``n`` is not a multiple of ``pack``.
    """
    if pack == 1:
        return x
    *lead, n, dim = x.shape
    if n % pack:
        raise ValueError(f"network.pack={pack} cannot pack a minibatch of {n} samples: use a batch size that is a "
                         f"multiple of {pack}")
    xp = jnp if isinstance(x, jax.Array) else np
    groups = x.reshape(*lead, n // pack, pack, dim)
    if image_shape is not None and len(image_shape) == 3:
        pixels, channels = image_shape[0] * image_shape[1], image_shape[2]
        groups = xp.swapaxes(groups.reshape(*lead, n // pack, pack, pixels, channels), -3, -2)
    return groups.reshape(*lead, n // pack, pack * dim)
