"""Stacked MNIST (Metz et al. 2017, VEEGAN, PacGAN): three MNIST digits as the three channels of one image,
1,000 modes (the digit triples).

The training set is kept as index triples into the MNIST training images, not as pixels
(:class:`StackedImages`): 128,000 stacks of 28 x 28 x 3 float32 would take 1.2 GB, their triples 1.5 MB.
A minibatch gathers its stacks when it is drawn, inside the compiled step. The set itself is built by
:func:`experiments.datasets.stacked_mnist`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


#: VEEGAN's training-set size, the likelihood's N (Srivastava et al. 2017, Stacked MNIST).
NUM_TRAIN = 128_000


@jax.tree_util.register_pytree_node_class
class StackedImages:
    """Stacks of ``CHANNELS`` images, held as index triples into a base image array.

    Behaves as the dense array ``(N, H * W * CHANNELS)`` of the stacks (flattened ``(H, W, C)``, channel
    fastest) where a training set is read: ``shape``, ``len``, ``dtype`` and indexing by an integer array
    (and a column slice), with numpy or JAX indices, traced ones included. A JAX pytree (its leaves the base
    images and the triples), so it travels through ``jit`` as a dense array would; under ``vmap`` keep it
    unmapped (``in_axes=None``): mapping axis 0 would map the base images and the triples separately.
    ``numpy.asarray`` of it is refused: the dense set is 1.2 GB (:meth:`dense` for small sets).

    Parameters
    ----------
    base : array, shape ``(n, H * W)``, float32
        The single-channel images the stacks are made of.
    triples : array, shape ``(N, CHANNELS)``, int
        Per stack, the base image of each channel.
    """

    def __init__(self, base, triples):
        self.base, self.triples = base, triples

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.triples.shape[0]), int(self.base.shape[-1]) * int(self.triples.shape[-1]))

    @property
    def dtype(self):
        return self.base.dtype

    @property
    def ndim(self) -> int:
        return 2

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        rows, cols = (key + (slice(None),))[:2] if isinstance(key, tuple) else (key, slice(None))
        xp = jnp if any(isinstance(a, jax.Array) for a in (self.base, self.triples, rows)) else np
        triples, base = (jnp.asarray(self.triples), jnp.asarray(self.base)) if xp is jnp else (self.triples, self.base)
        index = triples[rows]                                    # (..., C)
        images = base[index]                                     # (..., C, H * W)
        stacks = xp.swapaxes(images, -1, -2).reshape(*index.shape[:-1], self.shape[1])
        return stacks[..., cols]

    def __array__(self, *args, **kwargs):
        raise TypeError("StackedImages is not converted to a dense array implicitly (128,000 stacks are 1.2 GB): "
                        "index it, or call .dense() on a small set")

    def dense(self) -> np.ndarray:
        """Every stack as pixels, ``(N, H * W * CHANNELS)`` (numpy): for small sets and tests only."""
        return np.asarray(self[np.arange(len(self))])

    def tree_flatten(self):
        return (self.base, self.triples), None

    @classmethod
    def tree_unflatten(cls, _, children):
        return cls(*children)

