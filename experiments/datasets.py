"""Datasets: the ``DATASETS`` registry.

Every builder has the signature ``builder(*, num_train, num_eval, seed) -> Dataset`` and returns float32
arrays in the dataset's own units: 2-D points for the Gaussian mixtures, pixel intensities in [0, 1]
(flattened for the networks, with ``event_shape`` to restore them) for images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

DIGITS_SIZE = 1797  # images in scikit-learn's bundled digits


@dataclass(frozen=True)
class Dataset:
    """A training set, an evaluation set and what the metrics need to know about them.

    Attributes
    ----------
    name : str
    train : numpy.ndarray, shape ``(N, data_dim)``, float32
    eval : numpy.ndarray, shape ``(M, data_dim)``, float32
        Held-out real data the generated samples are compared with (``observed_data/x``).
    event_shape : tuple of int
        Shape of one sample in its own units (``(2,)`` or ``(8, 8)``).
    modes : numpy.ndarray or None, shape ``(K, data_dim)``
        Mixture means (Gaussian mixtures only).
    sigma : float or None
        Mixture component standard deviation (Gaussian mixtures only).
    train_labels, eval_labels : numpy.ndarray or None, int64
        Class labels (labelled image data only).
    """

    name: str
    train: np.ndarray
    eval: np.ndarray
    event_shape: tuple[int, ...]
    modes: np.ndarray | None = None
    sigma: float | None = None
    train_labels: np.ndarray | None = None
    eval_labels: np.ndarray | None = None

    @property
    def data_dim(self) -> int:
        return int(self.train.shape[-1])


def _mixture(name: str, modes: np.ndarray, sigma: float, num_train: int, num_eval: int, seed: int):
    rng = np.random.default_rng(seed)

    def draw(n):
        return (modes[rng.integers(0, len(modes), n)] + sigma * rng.standard_normal((n, 2))).astype(
            np.float32
        )

    return Dataset(name, draw(num_train), draw(num_eval), (2,), modes.astype(np.float32), sigma)


def ring8(*, num_train: int = 100_000, num_eval: int = 2_500, seed: int = 0, radius: float = 1.0,
          sigma: float = 0.01) -> Dataset:
    """Eight Gaussians on a circle (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018).

    Means at ``radius * (cos a, sin a)``, ``a = 2 pi k / 8``, ``k = 0..7`` (``endpoint=False``: eight
    distinct modes), standard deviation ``sigma``, equal weights.
    """
    angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    modes = radius * np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    return _mixture("ring8", modes, sigma, num_train, num_eval, seed)


def grid25(*, num_train: int = 100_000, num_eval: int = 2_500, seed: int = 0,
           sigma: float = 0.05) -> Dataset:
    """Twenty-five Gaussians on the grid ``{-4, -2, 0, 2, 4}^2`` (VEEGAN; PacGAN), std ``sigma``."""
    axis = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
    modes = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    return _mixture("grid25", modes, sigma, num_train, num_eval, seed)


def digits(*, num_train: int | None = None, num_eval: int = 360, seed: int = 0) -> Dataset:
    """scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes; UCI optdigits test set).

    Pixels (0..16) are scaled to [0, 1]. A stratified split keeps ``num_eval`` images for evaluation;
    ``num_train`` (default: all the rest) images are kept for training, stratified too.

    Raises
    ------
    ValueError
        If the requested sizes exceed the 1,797 images.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    if num_eval >= len(x) or (num_train is not None and num_train + num_eval > len(x)):
        raise ValueError(
            f"digits has {len(x)} images; num_train + num_eval = {num_train} + {num_eval} is too many"
        )
    x_tr, x_ev, y_tr, y_ev = train_test_split(x, y, test_size=num_eval, stratify=y, random_state=seed)
    if num_train is not None and num_train < len(x_tr):
        x_tr, _, y_tr, _ = train_test_split(
            x_tr, y_tr, train_size=num_train, stratify=y_tr, random_state=seed
        )
    return Dataset("digits", x_tr, x_ev, (8, 8), train_labels=y_tr, eval_labels=y_ev)


DATASETS: dict[str, Callable[..., Dataset]] = {"ring8": ring8, "grid25": grid25, "digits": digits}


def load_dataset(name: str, **kwargs) -> Dataset:
    """Look ``name`` up in :data:`DATASETS` and build it.

    Raises
    ------
    KeyError
        If ``name`` is not registered; the message lists the valid names.
    """
    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; valid: {', '.join(sorted(DATASETS))}")
    return DATASETS[name](**kwargs)
