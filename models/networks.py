"""Generator and discriminator architectures (flax ``nnx``): architecture only.

Weights become random variables elsewhere (:mod:`models.bgan` wraps these modules with
``numpyro.contrib.module.random_nnx_module``); nothing here knows about priors or losses.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
from flax import nnx


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
    Call with ``x`` of shape ``(..., in_features)`` float32; returns ``(..., out_features)`` float32.
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

    def __call__(self, x: jax.Array) -> jax.Array:
        for layer in self.layers[:-1]:
            x = nnx.leaky_relu(layer(x), negative_slope=0.2)
        x = self.layers[-1](x)
        if self.output_activation == "sigmoid":
            x = jax.nn.sigmoid(x)
        return x


def make_generator(
    latent_dim: int, hidden: Sequence[int], data_dim: int, *, output_activation: str, seed: int = 0
) -> MLP:
    """Generator ``G(z; theta_g)``: ``(..., latent_dim) -> (..., data_dim)``."""
    return MLP(latent_dim, hidden, data_dim, output_activation=output_activation, rngs=nnx.Rngs(seed))


def make_discriminator(data_dim: int, hidden: Sequence[int], *, seed: int = 0) -> MLP:
    """Discriminator ``D(x; theta_d)``: ``(..., data_dim) -> (..., 1)`` logits (pre-sigmoid)."""
    return MLP(data_dim, hidden, 1, output_activation="linear", rngs=nnx.Rngs(seed))
