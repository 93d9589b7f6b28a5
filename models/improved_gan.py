"""Salimans et al. (2016)'s MNIST pair for semi-supervised learning with feature matching (openai/improved-gan,
``mnist_svhn_cifar10/train_mnist_feature_matching.py``): ``network=improved_gan``.

- D: Gaussian noise 0.3 on the input, then five weight-normalised dense layers 1000-500-250-250-250 with
  ReLU, each followed by Gaussian noise 0.5, and a weight-normalised dense output. The hidden layers' scales
  are fixed after the data-dependent initialisation (:class:`models.layers.FixedScale`: not sample sites),
  the output layer's are trained. With a K + 1-class head the output is K logits and the fake class's
  logit is fixed at 0 (the recipe's parametrisation); with one output, one logit.
- G: ``z ~ U(0, 1)^100``, two dense 500 softplus layers each batch-normalised with the batch's own statistics
  (:func:`models.layers.batch_normalise`), and a weight-normalised sigmoid output with trained scales.

The zoo draws ``z ~ N(0, I)`` for every network; this generator's first operation is the standard normal CDF,
so its input ``Phi(z)`` is exactly ``U(0, 1)^100`` distributed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
from flax import nnx

from models.config import PackingConfig, require, require_widths
from models.layers import GaussianNoise, WeightNormDense, batch_normalise, named_key

#: The recipe's discriminator widths and noise standard deviations (input, after each hidden layer).
DISCRIMINATOR_HIDDEN = (1000, 500, 250, 250, 250)
INPUT_NOISE, HIDDEN_NOISE = 0.3, 0.5
GENERATOR_HIDDEN = (500, 500)
#: Training images the data-dependent initialisation reads (the recipe's 500).
INIT_BATCH = 500


def _normal(stddev):
    return lambda key, shape: stddev * jax.random.normal(key, shape)


class ImprovedGANDiscriminator(nnx.Module):
    """The recipe's discriminator (see the module docstring).

    Parameters
    ----------
    data_dim : int
    out_features : int
        1 (a real-vs-fake logit) or ``K + 1`` (K trained logits and the fake logit fixed at 0).
    hidden : sequence of int
    input_noise, hidden_noise : float
        Standard deviations of the Gaussian noise on the input and after each hidden layer.
    rngs : flax.nnx.Rngs

    Notes
    -----
    Call with ``x`` ``(..., data_dim)`` float32 and ``key`` (``None``: no noise, deterministic evaluation);
    returns ``(..., out_features)`` logits, or with ``features=True`` ``(h, logits)``, ``h`` the last hidden
    layer's ReLU output before its noise (what the recipe's feature matching compares). Parameter paths:
    ``layers.{i}.kernel`` / ``bias`` / ``scale`` (a ``FixedScale`` but for the output layer's).
    """

    def __init__(self, data_dim: int, out_features: int = 1, *, hidden=DISCRIMINATOR_HIDDEN,
                 input_noise: float = INPUT_NOISE, hidden_noise: float = HIDDEN_NOISE, rngs: nnx.Rngs):
        sizes = [data_dim, *hidden]
        self.fake_logit_fixed = out_features > 1
        last = out_features - 1 if self.fake_logit_fixed else 1
        self.layers = nnx.List(
            [WeightNormDense(a, b, train_scale=False, kernel_init=_normal(0.1), rngs=rngs)
             for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
            + [WeightNormDense(sizes[-1], last, train_scale=True, kernel_init=_normal(0.1), rngs=rngs)])
        self.noise = nnx.List([GaussianNoise(input_noise)] + [GaussianNoise(hidden_noise) for _ in hidden])

    def __call__(self, x: jax.Array, *, key: jax.Array | None = None, features: bool = False):
        h = x
        for i, layer in enumerate(self.layers[:-1]):
            h = jax.nn.relu(layer(self.noise[i](h, key=None if key is None else named_key(key, f"noise{i}"))))
        last = len(self.layers) - 1
        out = self.layers[-1](self.noise[last](h, key=None if key is None else named_key(key, f"noise{last}")))
        if self.fake_logit_fixed:
            out = jnp.concatenate([jnp.zeros_like(out[..., :1]), out], axis=-1)
        return (h, out) if features else out

    def data_init(self, x: jax.Array, key: jax.Array) -> None:
        """Salimans & Kingma (2016)'s data-dependent initialisation of every layer in turn, on ``x``
        ``(n, data_dim)`` with the noise on (as the recipe's initialisation pass), in place."""
        h = x
        for i, layer in enumerate(self.layers):
            h = layer.data_init(self.noise[i](h, key=named_key(key, f"noise{i}")))
            if i < len(self.layers) - 1:
                h = jax.nn.relu(h)

    def hidden_input_kernels(self) -> list[str]:
        return [f"layers.{i}.kernel" for i in range(1, len(self.layers))]

    def output_layer(self) -> str:
        return f"layers.{len(self.layers) - 1}"


class ImprovedGANGenerator(nnx.Module):
    """The recipe's generator (see the module docstring).

    Parameters
    ----------
    latent_dim, data_dim : int
    hidden : sequence of int
    rngs : flax.nnx.Rngs

    Notes
    -----
    Call with ``z`` ``(..., latent_dim)`` float32 (standard normal); returns ``(..., data_dim)`` in (0, 1).
    The batch norm pools every leading axis of ``z``: one call is one batch. Parameter paths:
    ``dense.{i}.kernel`` (no bias: the batch norm removes it), ``shift.{i}`` (the batch norm's trained shift),
    ``out.kernel`` / ``bias`` / ``scale``.
    """

    def __init__(self, latent_dim: int, data_dim: int, *, hidden=GENERATOR_HIDDEN, rngs: nnx.Rngs):
        sizes = [latent_dim, *hidden]
        glorot = nnx.initializers.glorot_uniform()
        self.dense = nnx.List([nnx.Linear(a, b, use_bias=False, kernel_init=glorot, rngs=rngs)
                               for a, b in zip(sizes[:-1], sizes[1:], strict=True)])
        self.shift = nnx.List([nnx.Param(jnp.zeros(b)) for b in hidden])
        self.out = WeightNormDense(sizes[-1], data_dim, train_scale=True, kernel_init=glorot, rngs=rngs)

    def __call__(self, z: jax.Array, *, key: jax.Array | None = None) -> jax.Array:
        h = jax.scipy.special.ndtr(z)  # U(0, 1) inputs
        for dense, shift in zip(self.dense, self.shift, strict=True):
            h = jax.nn.softplus(batch_normalise(dense(h)) + shift[...])
        return jax.nn.sigmoid(self.out(h))

    def hidden_input_kernels(self) -> list[str]:
        return [f"dense.{i}.kernel" for i in range(1, len(self.dense))] + ["out.kernel"]


@dataclass
class ImprovedGANConfig(PackingConfig):
    """``network=improved_gan``: the recipe's pair; its defaults are Salimans et al.'s MNIST networks."""

    name: str = "improved_gan"
    generator_hidden: list[int] = field(default_factory=lambda: list(GENERATOR_HIDDEN))
    discriminator_hidden: list[int] = field(default_factory=lambda: list(DISCRIMINATOR_HIDDEN))
    input_noise: float = INPUT_NOISE    # the discriminator's Gaussian noise on its input (standard deviation)
    hidden_noise: float = HIDDEN_NOISE  # ... after each hidden layer

    def check(self) -> None:
        self.check_pack()
        require_widths(self, "generator_hidden", "discriminator_hidden")
        for key in ("input_noise", "hidden_noise"):
            value = getattr(self, key)
            require(math.isfinite(value) and value >= 0, f"network.{key}", ">= 0 and finite", value)


def improved_gan_networks(*, latent_dim: int, data_dim: int, out_features: int = 1, init_data=None, seed: int = 0,
                          generator_hidden=GENERATOR_HIDDEN, discriminator_hidden=DISCRIMINATOR_HIDDEN,
                          input_noise: float = INPUT_NOISE, hidden_noise: float = HIDDEN_NOISE, **inputs):
    """``(generator, discriminator)`` of the recipe (keys: :class:`ImprovedGANConfig`), the discriminator
    initialised on ``init_data``.

    Parameters
    ----------
    latent_dim, data_dim, out_features : int
    init_data : array, shape ``(n, data_dim)``, optional
        Training images for the discriminator's data-dependent initialisation (the first
        :data:`INIT_BATCH` are used); ``None`` leaves the scales at 1 and the biases at 0.
    seed : int
        Initial weights and the initialisation pass's noise.
    generator_hidden, discriminator_hidden : sequence of int
        Hidden widths (the recipe's 500-500 and 1000-500-250-250-250).
    input_noise, hidden_noise : float
        The discriminator's noise standard deviations (the recipe's 0.3 and 0.5).
    **inputs
        The other inputs every builder is given (``image_shape``), unused.

    Raises
    ------
    ValueError
        With ``init_data`` of the wrong width.
    """
    generator = ImprovedGANGenerator(latent_dim, data_dim, hidden=tuple(generator_hidden), rngs=nnx.Rngs(seed))
    discriminator = ImprovedGANDiscriminator(data_dim, out_features, hidden=tuple(discriminator_hidden),
                                             input_noise=input_noise, hidden_noise=hidden_noise, rngs=nnx.Rngs(seed))
    if init_data is not None:
        x = jnp.asarray(init_data[:INIT_BATCH], jnp.float32)
        if x.ndim != 2 or x.shape[1] != data_dim:
            raise ValueError(f"the initialisation data are {tuple(x.shape)}, not (n, {data_dim})")
        discriminator.data_init(x, named_key(jax.random.key(seed), "data_init"))
    return generator, discriminator
