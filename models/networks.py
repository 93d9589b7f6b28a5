"""Generator and discriminator architectures (flax ``nnx``): architecture only, and the ``NETWORKS`` registry
(each architecture's builder and config dataclass: the options of the ``network`` config group).

Weights become random variables elsewhere (:mod:`models.bgan` wraps these modules with
``numpyro.contrib.module.random_nnx_module``); nothing here knows about priors or losses. Every network
maps flat vectors to flat vectors (images flattened as ``H * W * C``), so samplers, recorders and metrics
see one data layout; the convolutional ones reshape inside.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
from flax import nnx

from models.config import PackingConfig, require, require_widths
from models.improved_gan import ImprovedGANConfig, improved_gan_networks
from models.layers import batch_normalise
from models.registry import lookup


class MLP(nnx.Module):
    """Fully connected network with leaky-ReLU hidden activations.

    Parameters
    ----------
    in_features : int
        Size of the last input axis.
    hidden : sequence of int
        Widths of the hidden layers.
    out_features : int
        Size of the last output axis.
    output_activation : {"linear", "sigmoid"}
        Applied to the last layer: ``"linear"`` for logits or real-valued samples, ``"sigmoid"`` for
        images in [0, 1].
    rngs : flax.nnx.Rngs
        Initialisation keys (the initial values are replaced by prior draws when sampled).

    Notes
    -----
    Call with ``x`` of shape ``(..., in_features)`` float32 (and ``key``, unused: no stochastic layer); returns ``(..., out_features)`` float32, or with
    ``features=True`` the pair ``(h, out)`` where ``h`` ``(..., hidden[-1])`` is the last hidden layer's
    activations (the input when there is no hidden layer): what feature matching compares (Salimans et al. 2016).
    Parameter paths are ``layers.{i}.kernel`` (shape ``(fan_in, fan_out)``) and ``layers.{i}.bias``.
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        out_features: int,
        *,
        output_activation: str = "linear",
        rngs: nnx.Rngs,
    ):
        if output_activation not in ("linear", "sigmoid"):
            raise ValueError(
                f"output_activation={output_activation!r}; valid: 'linear', 'sigmoid'"
            )
        sizes = [in_features, *hidden, out_features]
        self.layers = nnx.List(
            [nnx.Linear(a, b, rngs=rngs) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
        )
        self.output_activation = output_activation

    def __call__(self, x: jax.Array, *, key: jax.Array | None = None, features: bool = False):
        for layer in self.layers[:-1]:
            x = nnx.leaky_relu(layer(x), negative_slope=0.2)
        h = x
        x = self.layers[-1](x)
        if self.output_activation == "sigmoid":
            x = jax.nn.sigmoid(x)
        return (h, x) if features else x

    def hidden_input_kernels(self) -> list[str]:
        """Paths of the kernels whose input axis (``-2``) carries hidden units (every layer but the first):
        where MC dropout masks."""
        return [f"layers.{i}.kernel" for i in range(1, len(self.layers))]

    def output_layer(self) -> str:
        """Path of the output layer (``layers.{L-1}``)."""
        return f"layers.{len(self.layers) - 1}"


def make_generator(
    latent_dim: int, hidden: Sequence[int], data_dim: int, *, output_activation: str, seed: int = 0
) -> MLP:
    """Generator ``G(z; theta_g)``: ``(..., latent_dim) -> (..., data_dim)``."""
    return MLP(latent_dim, hidden, data_dim, output_activation=output_activation, rngs=nnx.Rngs(seed))


def make_discriminator(data_dim: int, hidden: Sequence[int], *, seed: int = 0) -> MLP:
    """Discriminator ``D(x; theta_d)``: ``(..., data_dim) -> (..., 1)`` logits (pre-sigmoid)."""
    return MLP(data_dim, hidden, 1, output_activation="linear", rngs=nnx.Rngs(seed))


def _upsamplings(size: int) -> tuple[int, int]:
    """``(start, n)``: halve ``size`` while it stays even and above 4 (28 -> 7 after 2; 32 -> 4 after 3;
    8 -> 4 after 1): the DCGAN's starting resolution and number of stride-2 layers."""
    n = 0
    while size % 2 == 0 and size > 4:
        size, n = size // 2, n + 1
    return size, n


def _to_images(x: jax.Array, shape: tuple[int, int, int]) -> tuple[jax.Array, tuple[int, ...]]:
    batch = x.shape[:-1]
    return x.reshape((math.prod(batch) if batch else 1, *shape)), batch


class DCGANGenerator(nnx.Module):
    """DCGAN generator (Radford et al. 2016) without batch norm: ``z -> Linear -> (s, s, c) -> [ConvTranspose
    4x4 stride 2 -> ReLU]* -> ConvTranspose -> sigmoid``, flattened.

    Parameters
    ----------
    latent_dim : int
    image_shape : (int, int, int)
        ``(H, W, C)``, square; ``H`` halves to a start resolution ``s`` (see :func:`_upsamplings`).
    channels : int
        Channels of the last hidden layer; each layer closer to ``z`` has twice as many.
    layer_norm : bool
        ``nnx.LayerNorm`` after each hidden layer (its scale and bias are weights with priors like the rest);
        batch norm is not offered: its running statistics are not weights a posterior can be put on.
    rngs : flax.nnx.Rngs

    Notes
    -----
    Call with ``z`` ``(..., latent_dim)`` float32; returns ``(..., H * W * C)`` in [0, 1]. Parameter paths:
    ``project.kernel`` ``(latent_dim, s * s * c_0)``, ``deconvs.{i}.kernel`` ``(4, 4, c_in, c_out)``.
    """

    def __init__(self, latent_dim: int, image_shape: Sequence[int], *, channels: int = 64, layer_norm: bool = False,
                 rngs: nnx.Rngs):
        h, w, c = image_shape
        if h != w:
            raise ValueError(f"image_shape={tuple(image_shape)}: DCGAN networks need square images")
        self.image_shape = (h, w, c)
        self.start, n = _upsamplings(h)
        if n == 0:
            raise ValueError(f"image_shape={tuple(image_shape)}: the side must be 8 or more and even")
        widths = [channels * 2 ** (n - 1 - i) for i in range(n)] + [c]
        self.project = nnx.Linear(latent_dim, self.start * self.start * widths[0], rngs=rngs)
        self.deconvs = nnx.List([nnx.ConvTranspose(a, b, kernel_size=(4, 4), strides=(2, 2), padding="SAME", rngs=rngs)
                                 for a, b in zip(widths[:-1], widths[1:], strict=True)])
        self.norms = nnx.List([nnx.LayerNorm(width, rngs=rngs) for width in widths[:-1]] if layer_norm else [])
        self.widths = widths

    def __call__(self, z: jax.Array, *, key: jax.Array | None = None) -> jax.Array:
        batch = z.shape[:-1]
        x = self.project(z.reshape(-1, z.shape[-1])).reshape(-1, self.start, self.start, self.widths[0])
        for i, deconv in enumerate(self.deconvs):
            if self.norms:
                x = self.norms[i](x)
            x = deconv(nnx.relu(x))
        return jax.nn.sigmoid(x).reshape(*batch, math.prod(self.image_shape))

    def hidden_input_kernels(self) -> list[str]:
        return [f"deconvs.{i}.kernel" for i in range(len(self.deconvs))]


class DCGANDiscriminator(nnx.Module):
    """DCGAN discriminator without batch norm: ``[Conv 4x4 stride 2 -> leaky ReLU(0.2)]* -> Linear``.

    Parameters
    ----------
    image_shape : (int, int, int)
        ``(H, W, C)`` of the flat input.
    channels : int
        Channels of the first convolution; each later one has twice as many.
    out_features : int
        1 (logit of "real") or ``K + 1`` (class logits, class 0 = fake, for semi-supervised learning).
    layer_norm : bool
        ``nnx.LayerNorm`` after each convolution but the first.
    rngs : flax.nnx.Rngs

    Notes
    -----
    Call with ``x`` ``(..., H * W * C)`` float32; returns ``(..., out_features)`` logits, or with
    ``features=True`` the pair ``(h, logits)``, ``h`` the last convolution's flattened activations
    ``(..., size * size * channels_last)`` (what feature matching compares).
    """

    def __init__(self, image_shape: Sequence[int], *, channels: int = 64, out_features: int = 1,
                 layer_norm: bool = False, rngs: nnx.Rngs):
        h, w, c = image_shape
        self.image_shape = (h, w, c)
        size, n = _upsamplings(h)
        if n == 0:
            raise ValueError(f"image_shape={tuple(image_shape)}: the side must be 8 or more and even")
        widths = [c] + [channels * 2**i for i in range(n)]
        self.convs = nnx.List([nnx.Conv(a, b, kernel_size=(4, 4), strides=(2, 2), padding="SAME", rngs=rngs)
                               for a, b in zip(widths[:-1], widths[1:], strict=True)])
        self.norms = nnx.List([nnx.LayerNorm(width, rngs=rngs) for width in widths[2:]] if layer_norm else [])
        self.out = nnx.Linear(size * size * widths[-1], out_features, rngs=rngs)

    def __call__(self, x: jax.Array, *, key: jax.Array | None = None, features: bool = False):
        x, batch = _to_images(x, self.image_shape)
        for i, conv in enumerate(self.convs):
            x = conv(x)
            if i > 0 and self.norms:
                x = self.norms[i - 1](x)
            x = nnx.leaky_relu(x, negative_slope=0.2)
        return self._head(x, batch, features)

    def _head(self, x: jax.Array, batch: tuple[int, ...], features: bool):
        """The output layer on the last convolution's activations, flattened (and those, with ``features``)."""
        h = x.reshape(x.shape[0], -1)
        out = self.out(h).reshape(*batch, -1)
        return (h.reshape(*batch, -1), out) if features else out

    def hidden_input_kernels(self) -> list[str]:
        return [f"convs.{i}.kernel" for i in range(1, len(self.convs))] + ["out.kernel"]

    def output_layer(self) -> str:
        return "out"


class _BatchNorm(nnx.Module):
    """Batch norm with the batch's own statistics (:func:`models.layers.batch_normalise`, every axis but the
    channels) and a trained per-channel scale and shift: DCGAN-tensorflow's ``batch_norm`` in training mode,
    which PacGAN's Stacked MNIST code runs for sampling too. No running averages: nothing but weights."""

    def __init__(self, channels: int):
        self.scale = nnx.Param(jnp.ones(channels))
        self.shift = nnx.Param(jnp.zeros(channels))

    def __call__(self, x: jax.Array) -> jax.Array:
        return batch_normalise(x, eps=1e-5) * self.scale[...] + self.shift[...]  # TensorFlow's epsilon


#: Metz et al.'s (2017, Unrolled GAN, appendix) Stacked MNIST generator widths, from z's projection to the last
#: hidden layer, at 4 x 4, 7 x 7, 14 x 14 and 28 x 28.
METZ_GENERATOR_CHANNELS = (64, 32, 16, 8)
#: Their discriminator's widths at 1/4 of the generator's size (2-4-8); 1/2 is 4-8-16.
METZ_DISCRIMINATOR_CHANNELS = (2, 4, 8)


class MetzGenerator(nnx.Module):
    """Metz et al.'s Stacked MNIST generator as PacGAN's code runs it (Lin et al. 2018, ``unrolled_GAN_experiment``):
    ``z -> Linear -> (4, 4, c_0) -> BN -> ReLU -> [ConvTranspose 3x3 stride 2 -> BN -> ReLU]`` to 7 x 7, 14 x 14
    and 28 x 28 ``-> Conv 3x3 -> C channels -> sigmoid`` (theirs: tanh on [-1, 1] data; ours: pixels in [0, 1]).

    What else differs from their runs: the experiment sets ``latent_dim`` and the batch (theirs: z of 256, batches
    of 128, which ``experiment.latent_dim=256 experiment.batch_size=128`` restores); under packing their generator
    makes each slot of a pack in its own call (its own batch statistics), this one makes the whole minibatch in
    one call and groups it.

    Parameters
    ----------
    latent_dim : int
    image_shape : (int, int, int)
        ``(28, 28, C)``.
    channels : sequence of 4 int
        Widths at 4, 7, 14 and 28 pixels (theirs: 64, 32, 16, 8).
    rngs : flax.nnx.Rngs

    Notes
    -----
    Call with ``z`` ``(..., latent_dim)``; returns ``(..., 28 * 28 * C)`` in (0, 1). The batch norm pools every
    leading axis of ``z``: one call is one batch (docs/design.md, "The generator's normalisation").
    """

    def __init__(self, latent_dim: int, image_shape: Sequence[int], *, channels: Sequence[int] = METZ_GENERATOR_CHANNELS,
                 rngs: nnx.Rngs):
        if tuple(image_shape[:2]) != (28, 28) or len(channels) != 4:
            raise ValueError(f"network=dcgan_metz needs 28 x 28 images and 4 generator widths, got image shape "
                             f"{tuple(image_shape)} and {list(channels)}")
        self.image_shape, self.channels = tuple(image_shape), tuple(channels)
        self.project = nnx.Linear(latent_dim, 16 * channels[0], rngs=rngs)
        pads = [((1, 1), (1, 1)), "SAME", "SAME"]  # 4 -> 7 (TensorFlow's output_shape), 7 -> 14 -> 28
        self.deconvs = nnx.List([nnx.ConvTranspose(a, b, kernel_size=(3, 3), strides=(2, 2), padding=p, rngs=rngs)
                                 for a, b, p in zip(channels[:-1], channels[1:], pads, strict=True)])
        self.norms = nnx.List([_BatchNorm(c) for c in channels])
        self.out = nnx.Conv(channels[-1], image_shape[-1], kernel_size=(3, 3), padding="SAME", rngs=rngs)

    def __call__(self, z: jax.Array, *, key: jax.Array | None = None) -> jax.Array:
        batch = z.shape[:-1]
        x = self.project(z.reshape(-1, z.shape[-1])).reshape(-1, 4, 4, self.channels[0])
        x = nnx.relu(self.norms[0](x))
        for deconv, norm in zip(self.deconvs, self.norms[1:], strict=True):
            x = nnx.relu(norm(deconv(x)))
        return jax.nn.sigmoid(self.out(x)).reshape(*batch, math.prod(self.image_shape))

    def hidden_input_kernels(self) -> list[str]:
        return [f"deconvs.{i}.kernel" for i in range(len(self.deconvs))] + ["out.kernel"]


class MetzDiscriminator(DCGANDiscriminator):
    """Metz et al.'s Stacked MNIST discriminator (PacGAN's code): ``[Conv 3x3 stride 2 -> BN -> leaky ReLU(0.3)]``
    x 3 (28 -> 14 -> 7 -> 4 pixels) ``-> Linear``.

    Parameters
    ----------
    image_shape : (int, int, int)
        ``(28, 28, C)`` of the flat input (``C = 3 m`` under packing).
    channels : sequence of 3 int
        The convolutions' widths: 2-4-8 for the discriminator at 1/4 of the generator's size, 4-8-16 at 1/2.
    out_features : int
    rngs : flax.nnx.Rngs

    Notes
    -----
    Call with ``x`` ``(..., 28 * 28 * C)``; returns ``(..., out_features)`` logits, or with ``features=True``
    ``(h, logits)``, ``h`` the last convolution's flattened activations. The batch norm pools every leading
    axis of ``x``: one call is one batch (the real minibatch and the generated one are normalised apart, as
    theirs are).
    """

    def __init__(self, image_shape: Sequence[int], *, channels: Sequence[int] = METZ_DISCRIMINATOR_CHANNELS,
                 out_features: int = 1, rngs: nnx.Rngs):
        if tuple(image_shape[:2]) != (28, 28) or len(channels) != 3:
            raise ValueError(f"network=dcgan_metz needs 28 x 28 images and 3 discriminator widths, got image shape "
                             f"{tuple(image_shape)} and {list(channels)}")
        self.image_shape = tuple(image_shape)
        widths = [image_shape[-1], *channels]
        self.convs = nnx.List([nnx.Conv(a, b, kernel_size=(3, 3), strides=(2, 2), padding="SAME", rngs=rngs)
                               for a, b in zip(widths[:-1], widths[1:], strict=True)])
        self.norms = nnx.List([_BatchNorm(c) for c in channels])
        self.out = nnx.Linear(16 * channels[-1], out_features, rngs=rngs)

    def __call__(self, x: jax.Array, *, key: jax.Array | None = None, features: bool = False):
        x, batch = _to_images(x, self.image_shape)
        for conv, norm in zip(self.convs, self.norms, strict=True):
            x = nnx.leaky_relu(norm(conv(x)), negative_slope=0.3)
        return self._head(x, batch, features)


@dataclass
class MLPConfig(PackingConfig):
    """``network=mlp``: :class:`MLP` pairs (leaky-ReLU hidden layers)."""

    name: str = "mlp"
    generator_hidden: list[int] = field(default_factory=lambda: [128, 128])
    discriminator_hidden: list[int] = field(default_factory=lambda: [128, 128])
    output_activation: str = "linear"  # the generator's: linear (real-valued data) | sigmoid (pixels in [0, 1])

    def check(self) -> None:
        self.check_pack()
        require_widths(self, "generator_hidden", "discriminator_hidden")
        require(self.output_activation in ("linear", "sigmoid"), "network.output_activation",
                "'linear' or 'sigmoid'", self.output_activation)


@dataclass
class DCGANConfig(PackingConfig):
    """``network=dcgan``: :class:`DCGANGenerator` / :class:`DCGANDiscriminator` (images only; sigmoid pixels)."""

    name: str = "dcgan"
    channels: int = 64        # channels of the layer nearest the image
    layer_norm: bool = False  # LayerNorm after the hidden layers

    def check(self) -> None:
        self.check_pack()
        require(self.channels >= 1, "network.channels", "an integer >= 1", self.channels)


@dataclass
class MetzDCGANConfig(PackingConfig):
    """``network=dcgan_metz``: :class:`MetzGenerator` / :class:`MetzDiscriminator`, Metz et al.'s Stacked MNIST
    pair (28 x 28 images; for a GPU). ``discriminator_channels``: 2-4-8 (D at 1/4 of G's size) or 4-8-16 (1/2)."""

    name: str = "dcgan_metz"
    generator_channels: list[int] = field(default_factory=lambda: list(METZ_GENERATOR_CHANNELS))
    discriminator_channels: list[int] = field(default_factory=lambda: list(METZ_DISCRIMINATOR_CHANNELS))

    def check(self) -> None:
        self.check_pack()
        require_widths(self, "generator_channels", "discriminator_channels")
        require(len(self.generator_channels) == 4, "network.generator_channels",
                "4 widths (at 4, 7, 14 and 28 pixels)", list(self.generator_channels))
        require(len(self.discriminator_channels) == 3, "network.discriminator_channels",
                "3 widths (e.g. [2, 4, 8]: 1/4 of G's size; [4, 8, 16]: 1/2)", list(self.discriminator_channels))


def dcgan_metz_networks(*, latent_dim: int, image_shape=None, out_features: int = 1, seed: int = 0,
                        generator_channels=METZ_GENERATOR_CHANNELS, discriminator_channels=METZ_DISCRIMINATOR_CHANNELS,
                        **inputs):
    """``(generator, discriminator)``: :class:`MetzGenerator` / :class:`MetzDiscriminator` (keys:
    :class:`MetzDCGANConfig`).

    Raises
    ------
    ValueError
        Without a 28 x 28 image shape.
    """
    if image_shape is None or len(image_shape) != 3:
        raise ValueError("network=dcgan_metz needs image data (this dataset's samples are vectors); use network=mlp")
    return (MetzGenerator(latent_dim, image_shape, channels=generator_channels, rngs=nnx.Rngs(seed)),
            MetzDiscriminator(image_shape, channels=discriminator_channels, out_features=out_features,
                              rngs=nnx.Rngs(seed)))


def mlp_networks(*, latent_dim: int, data_dim: int, out_features: int = 1, seed: int = 0,
                 generator_hidden: Sequence[int] = (128, 128), discriminator_hidden: Sequence[int] = (128, 128),
                 output_activation: str = "linear", **inputs):
    """``(generator, discriminator)`` MLPs (:class:`MLP`; keys: :class:`MLPConfig`); the discriminator has
    ``out_features`` outputs. ``inputs``: the other inputs every builder is given (:func:`build_networks`),
    unused here."""
    return (MLP(latent_dim, generator_hidden, data_dim, output_activation=output_activation, rngs=nnx.Rngs(seed)),
            MLP(data_dim, discriminator_hidden, out_features, output_activation="linear", rngs=nnx.Rngs(seed)))


def dcgan_networks(*, latent_dim: int, data_dim: int, image_shape=None, out_features: int = 1, seed: int = 0,
                   channels: int = 64, layer_norm: bool = False, **inputs):
    """``(generator, discriminator)``: :class:`DCGANGenerator` / :class:`DCGANDiscriminator` (keys:
    :class:`DCGANConfig`).

    Raises
    ------
    ValueError
        Without an ``(H, W, C)`` image shape matching ``data_dim``.
    """
    if image_shape is None or len(image_shape) != 3 or math.prod(image_shape) != data_dim:
        raise ValueError("network=dcgan needs image data (this dataset's samples are vectors); use network=mlp")
    return (DCGANGenerator(latent_dim, image_shape, channels=channels, layer_norm=layer_norm, rngs=nnx.Rngs(seed)),
            DCGANDiscriminator(image_shape, channels=channels, out_features=out_features, layer_norm=layer_norm,
                               rngs=nnx.Rngs(seed)))


@dataclass(frozen=True)
class Network:
    """A registered architecture: its builder and its config (a dataclass with ``name``, the architecture's
    own keys with their defaults and optionally ``check()``; the Hydra group ``network`` is generated from it,
    :mod:`experiments.compose`).

    ``build(*, latent_dim, data_dim, image_shape, out_features, init_data, seed, **keys)`` returns
    ``(generator, discriminator)`` (flax ``nnx`` modules; see docs/extending.md, "Adding a network"):
    ``image_shape`` ``(H, W, C)`` or ``None`` for vectors, ``out_features`` the discriminator's outputs (the
    task's head), ``init_data`` ``(n, data_dim)`` training rows for a data-dependent initialisation, ``keys``
    the config's keys.
    """

    build: Callable[..., tuple[nnx.Module, nnx.Module]]
    config: type


#: Every architecture by its ``network=`` name.
NETWORKS: dict[str, Network] = {
    "mlp": Network(mlp_networks, MLPConfig),
    "dcgan": Network(dcgan_networks, DCGANConfig),
    "improved_gan": Network(improved_gan_networks, ImprovedGANConfig),  # models/improved_gan.py
    "dcgan_metz": Network(dcgan_metz_networks, MetzDCGANConfig),
}


def build_networks(name: str, **kwargs) -> tuple[nnx.Module, nnx.Module]:
    """Look ``name`` up in :data:`NETWORKS` and build ``(generator, discriminator)`` (``kwargs``: the
    builder's inputs and the architecture's keys, see :class:`Network`).

    Raises
    ------
    KeyError
        If ``name`` is not registered; the message lists the valid names.
    ValueError
        If the architecture does not fit the data.
    """
    return lookup(NETWORKS, "network", name).build(**kwargs)
