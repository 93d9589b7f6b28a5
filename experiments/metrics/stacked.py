"""Mode collapse on Stacked MNIST (Metz et al. 2017; VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al.
2018, Table 3): each channel of a generated stack is labelled by a pretrained MNIST classifier, a mode is
a digit triple, and the figures are the number of distinct triples and KL(generated ‖ uniform over the
1,000 triples), as PacGAN's code computes them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

CHANNELS = 3
NUM_MODES = 10 ** CHANNELS
#: The published rows' sample count (Metz et al.'s protocol, PacGAN's Table 3).
NUM_STACKED_SAMPLES = 25_600
STACKED_DEFINITION = ("Stacked MNIST (Metz et al. 2017; PacGAN, Lin et al. 2018): modes = distinct digit triples, "
                      "each channel labelled by the channel classifier; kl_uniform = KL(generated || uniform over "
                      "1,000 triples), nats")


def mode_ids(digits: np.ndarray) -> np.ndarray:
    """The mode of each stack, ``100 d_0 + 10 d_1 + d_2``, from its channels' digits ``(..., CHANNELS)``."""
    return (np.asarray(digits, np.int64) * 10 ** np.arange(CHANNELS - 1, -1, -1)).sum(-1)


def _modes_and_kl(ids: np.ndarray) -> tuple[int, float]:
    """Distinct modes among mode ids, and KL(their histogram ‖ uniform over :data:`NUM_MODES`) in nats."""
    p = np.bincount(ids, minlength=NUM_MODES) / len(ids)
    seen = p > 0
    return int(seen.sum()), float(np.sum(p[seen] * np.log(p[seen] * NUM_MODES)))


def channel_digits(stacks: np.ndarray, classify: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Each channel's digit, ``(n, CHANNELS)`` int, of stacks ``(n, H * W * CHANNELS)`` (flattened ``(H, W,
    C)``, channel fastest); ``classify`` maps single-channel images ``(m, H * W)`` to labels ``(m,)``."""
    stacks = np.asarray(stacks)
    per_channel = stacks.reshape(len(stacks), -1, CHANNELS)
    return np.stack([np.asarray(classify(np.ascontiguousarray(per_channel[..., c]))) for c in range(CHANNELS)], -1)


def stacked_metrics(stacks: np.ndarray, classify: Callable[[np.ndarray], np.ndarray]) -> dict:
    """Modes and KL of generated stacks.

    Parameters
    ----------
    stacks : array, shape ``(n, H * W * CHANNELS)``, pixel intensities in [0, 1]
        Compare figures only at equal ``n`` (the published rows: :data:`NUM_STACKED_SAMPLES`): a mode of
        mass 1/1000 is missed by 2,500 samples with probability 0.08, by 25,600 with probability 1e-11.
    classify : callable
        The channel classifier's ``predict``: ``(m, H * W)`` images to ``(m,)`` digits.

    Returns
    -------
    dict
        ``modes`` (int, of :data:`NUM_MODES`), ``kl_uniform`` (float, nats; 0 for a uniform histogram,
        ``log 1000 = 6.91`` for one mode), ``channel_histograms`` (``CHANNELS`` lists of 10 counts: each
        channel's digit histogram), ``num_samples``.
    """
    digits = channel_digits(stacks, classify)
    modes, kl = _modes_and_kl(mode_ids(digits))
    return {"modes": modes, "kl_uniform": kl,
            "channel_histograms": [np.bincount(digits[:, c], minlength=10).tolist() for c in range(CHANNELS)],
            "num_samples": int(len(digits))}


def stacked_floor(images: np.ndarray, digits: np.ndarray, classify: Callable[[np.ndarray], np.ndarray], *,
                  num_samples: int = NUM_STACKED_SAMPLES, seed: int = 0) -> dict:
    """What the figures read on real data: the floor a generator is measured against.

    Parameters
    ----------
    images : array, shape ``(m, H * W)``
        Real single-channel test images (never seen by the channel classifier).
    digits : array, shape ``(m,)``
        Their labels.
    classify : callable
        The channel classifier's ``predict``.
    num_samples : int
        Real stacks drawn (each channel's image uniformly from ``images``, ``seed``).

    Returns
    -------
    dict
        ``channel_classifier_accuracy`` (on ``images``), and ``modes_real`` / ``kl_uniform_real``: the
        figures of ``num_samples`` real stacks, whose digits the classifier reads (its errors included).
    """
    predicted = np.asarray(classify(np.asarray(images)))
    triples = np.random.default_rng([seed, 4]).integers(0, len(images), (num_samples, CHANNELS))
    modes, kl = _modes_and_kl(mode_ids(predicted[triples]))
    return {"channel_classifier_accuracy": float(np.mean(predicted == np.asarray(digits))),
            "modes_real": modes, "kl_uniform_real": kl}


class StackedClassifier:
    """The metrics classifier of Stacked MNIST: a stack's class is its mode, the triple of its channels'
    digits read by the channel classifier (:func:`experiments.datasets.channel_classifier`, loaded when first
    used). It stands where :class:`experiments.metrics.ImageClassifier` stands for plain images: the
    per-draw entropy of its classes (:class:`experiments.evaluation.FunctionSpace`) is that of the modes, and
    each generator particle's classes (:func:`experiments.metrics.particle_spread`) are its modes.

    Parameters
    ----------
    load_channel : callable
        ``load_channel()`` returns the channel classifier (a :class:`experiments.metrics.ConvClassifier` on
        single-channel ``(m, H * W)`` images).
    images : array, shape ``(m, H * W)``, float32
        Real single-channel images not trained on, for :attr:`floor`.
    digits : array, shape ``(m,)``, int
        Their labels.
    seed : int
        The floor's real stacks are drawn by it (:func:`stacked_floor`).
    """

    num_classes = NUM_MODES
    definition = STACKED_DEFINITION

    def __init__(self, load_channel: Callable[[], Any], images: np.ndarray, digits: np.ndarray, seed: int = 0):
        self._load, self._images, self._digits, self._seed = load_channel, images, digits, seed

    @functools.cached_property
    def channel(self):
        """The channel classifier (loaded on first use)."""
        return self._load()

    def digits(self, stacks: np.ndarray) -> np.ndarray:
        """Each channel's digit, ``(n, CHANNELS)`` int, of stacks ``(n, H * W * CHANNELS)``."""
        return channel_digits(stacks, self.channel.predict)

    def predict(self, stacks: np.ndarray) -> np.ndarray:
        """The mode id (0-999, :func:`mode_ids`) of each stack ``(n, H * W * CHANNELS)``."""
        return mode_ids(self.digits(stacks))

    def caption(self, stacks: np.ndarray) -> list[str]:
        """Each stack's channel digits as text, ``"3 7 1"`` (the sample grid's captions)."""
        return [" ".join(map(str, row)) for row in self.digits(stacks)]

    def metrics(self, stacks: np.ndarray) -> dict:
        """:func:`stacked_metrics` of ``stacks`` with the channel classifier."""
        return stacked_metrics(stacks, self.channel.predict)

    @functools.cached_property
    def floor(self) -> dict:
        """:func:`stacked_floor` of the real images given (computed once)."""
        return stacked_floor(self._images, self._digits, self.channel.predict, seed=self._seed)
