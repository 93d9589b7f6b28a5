"""Datasets: the ``DATASETS`` registry.

Every builder has the signature ``builder(*, num_train, num_eval, seed) -> Dataset`` and returns float32
arrays in the dataset's own units: 2-D points for the Gaussian mixtures, pixel intensities in [0, 1]
(flattened for the networks, with ``event_shape`` to restore them) for images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from models.registry import lookup

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


def synthetic(*, num_train: int = 10_000, num_eval: int = 2_500, seed: int = 0, x_dim: int = 100,
              num_clusters: int = 10, data_seed: int = 1234) -> Dataset:
    """Saatchi & Wilson's (2017, sec. 5.1) synthetic high-dimensional data (their ``bgan_util.SynthDataset``).

    Ten clusters on a 2-D latent space mapped linearly to ``x_dim`` dimensions: cluster ``k`` has latent
    mean ``m_k ~ N(0, 5^2 I_2)`` and map ``A_k`` (``x_dim x 2``, entries ``N(0, 5^2)``); a point is
    ``A_k (u + m_k)`` with ``u ~ N(0, I_2)``, equal cluster sizes; every feature is then standardised
    with the training set's mean and standard deviation. The clusters (``data_seed``) are fixed; ``seed``
    draws the points. Same recipe as the authors', drawn with numpy's ``default_rng``, so not their exact
    numbers.
    """
    rng = np.random.default_rng(data_seed)
    means = 5.0 * rng.standard_normal((num_clusters, 2))
    maps = 5.0 * rng.standard_normal((num_clusters, x_dim, 2))
    points = np.random.default_rng(seed)

    def draw(n):
        k = np.repeat(np.arange(num_clusters), -(-n // num_clusters))[:n]
        u = points.standard_normal((n, 2)) + means[k]
        return np.einsum("nij,nj->ni", maps[k], u)

    train_raw, eval_raw = draw(num_train), draw(num_eval)
    mu, sd = train_raw.mean(0), train_raw.std(0)
    return Dataset("synthetic", ((train_raw - mu) / sd).astype(np.float32), ((eval_raw - mu) / sd).astype(np.float32),
                   (x_dim,))


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


DATASETS: dict[str, Callable[..., Dataset]] = {"ring8": ring8, "grid25": grid25, "synthetic": synthetic,
                                               "digits": digits}


def load_dataset(name: str, **kwargs) -> Dataset:
    """Look ``name`` up in :data:`DATASETS` and build it.

    Raises
    ------
    KeyError
        If ``name`` is not registered; the message lists the valid names.
    """
    return lookup(DATASETS, "dataset", name)(**kwargs)
