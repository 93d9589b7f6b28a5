"""Datasets: the ``DATASETS`` registry.

Every builder has the signature ``builder(*, num_train, num_eval, seed) -> Dataset`` and returns float32
arrays in the dataset's own units: 2-D points for the Gaussian mixtures, pixel intensities in [0, 1]
(flattened for the networks, with ``event_shape`` to restore them) for images.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from models.registry import lookup

def default_data_dir() -> Path:
    """tfds's default data directory: ``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``."""
    return Path(os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets")).expanduser()


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
    classifier_train, classifier_labels : numpy.ndarray or None
        The full labelled training split, before a run cuts it (``num_per_class``, held-out class, class
        imbalance): what the metrics classifier is fitted to (default: ``train``).
    eval_split : str
        What ``eval`` is: ``"test"``, or ``"validation"`` (carved from the training split by
        ``validation_fraction``: for choosing defaults without looking at the test split).
    metrics_classifier : object, optional
        The classifier the figures read, where the dataset brings its own (Stacked MNIST:
        :class:`experiments.metrics.StackedClassifier`); default: one fitted to :attr:`reference`
        (:func:`experiments.evaluation.metrics_classifier`).
    num_metric_samples : int, optional
        The sample count the dataset's figures are defined at (Stacked MNIST: 25,600, Metz et al.'s
        protocol): the final form is generated afresh from the final weights at this count and the pool is
        read at it; default: the final draw's samples and :data:`experiments.metrics.NUM_POOLED_SAMPLES`.
    """

    name: str
    train: np.ndarray
    eval: np.ndarray
    event_shape: tuple[int, ...]
    modes: np.ndarray | None = None
    sigma: float | None = None
    train_labels: np.ndarray | None = None
    eval_labels: np.ndarray | None = None
    classifier_train: np.ndarray | None = None
    classifier_labels: np.ndarray | None = None
    eval_split: str = "test"
    metrics_classifier: Any = None
    num_metric_samples: int | None = None

    @property
    def reference(self) -> tuple[np.ndarray, np.ndarray | None]:
        """``(images, labels)`` the metrics classifier is fitted to (see ``classifier_train``)."""
        if self.classifier_train is not None:
            return self.classifier_train, self.classifier_labels
        return self.train, self.train_labels

    @property
    def data_dim(self) -> int:
        return int(self.train.shape[-1])

    def train_points(self, limit: int = 10_000) -> np.ndarray:
        """The training points as a dense array: all of them, or the first ``limit`` where the set is held
        lazily (Stacked MNIST's index triples, :class:`experiments.stacked.StackedImages`)."""
        if isinstance(self.train, np.ndarray):
            return self.train
        return np.asarray(self.train[np.arange(min(limit, len(self.train)))])

    @property
    def image_shape(self) -> tuple[int, int, int] | None:
        """``(H, W, C)`` for image data (``C = 1`` for grey images), ``None`` otherwise."""
        if len(self.event_shape) == 2:
            return (*self.event_shape, 1)
        return tuple(self.event_shape) if len(self.event_shape) == 3 else None


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


def validation_split(x: np.ndarray, y: np.ndarray, fraction: float | None, seed: int, name: str):
    """``(x_train, y_train, x_val, y_val)``: a stratified ``fraction`` of a training split held out as a
    validation split (drawn with ``seed``); ``x_val`` is ``None`` when ``fraction`` is ``None``.

    Raises
    ------
    ValueError
        If ``fraction`` is not in (0, 1) or leaves a split without every class.
    """
    if fraction is None:
        return x, y, None, None
    from sklearn.model_selection import train_test_split

    if not 0 < fraction < 1:
        raise ValueError(f"validation_fraction={fraction} is invalid: must be in (0, 1)")
    try:
        x_tr, x_val, y_tr, y_val = train_test_split(x, y, test_size=fraction, stratify=y, random_state=seed)
    except ValueError as err:
        raise ValueError(f"validation_fraction={fraction} cannot split {name}'s {len(x)} training images "
                         f"({err})") from None
    return x_tr, y_tr, x_val, y_val


def digits(*, num_train: int | None = None, num_eval: int = 360, seed: int = 0,
           num_per_class: int | None = None, held_out_class: int | None = None,
           minority_classes: list[int] | None = None, minority_fraction: float | None = None,
           validation_fraction: float | None = None) -> Dataset:
    """scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes; UCI optdigits test set).

    Pixels (0..16) are scaled to [0, 1]. A stratified split keeps ``num_eval`` images for evaluation;
    ``num_train`` (default: all the rest) images are kept for training, stratified too, or with
    ``num_per_class`` that many of every class (the low-data regime). ``held_out_class`` removes that class
    from the training set only (the evaluation set keeps it: the anomalies of anomaly detection).
    ``minority_classes`` keep only ``ceil(minority_fraction * count)`` of their training images (class
    imbalance; the evaluation set stays balanced). ``validation_fraction`` holds a stratified fraction of
    the training images out as a validation split, which then replaces the test split as ``eval``
    (``eval_split="validation"``; the test split is not read): for choosing defaults.

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
    x_tr, y_tr, x_val, y_val = validation_split(x_tr, y_tr, validation_fraction, seed, "digits")
    if x_val is not None:
        x_ev, y_ev = x_val, y_val
    full = (x_tr, y_tr)
    x_tr, y_tr = _hold_out(x_tr, y_tr, held_out_class, "digits")
    x_tr, y_tr = _imbalance(x_tr, y_tr, minority_classes, minority_fraction, seed, "digits")
    if num_per_class is not None:
        rng = np.random.default_rng(seed)
        counts = np.bincount(y_tr)[np.unique(y_tr)]
        if num_per_class > counts.min():
            raise ValueError(f"digits has {counts.min()} training images of its rarest class; "
                             f"num_per_class={num_per_class} is too many")
        keep = np.sort(np.concatenate([rng.permutation(np.flatnonzero(y_tr == k))[:num_per_class]
                                       for k in np.unique(y_tr)]))
        x_tr, y_tr = x_tr[keep], y_tr[keep]
    elif num_train is not None and num_train < len(x_tr):
        x_tr, _, y_tr, _ = train_test_split(
            x_tr, y_tr, train_size=num_train, stratify=y_tr, random_state=seed
        )
    return Dataset("digits", x_tr, x_ev, (8, 8), train_labels=y_tr, eval_labels=y_ev, classifier_train=full[0],
                   classifier_labels=full[1], eval_split="test" if x_val is None else "validation")


def _hold_out(x: np.ndarray, y: np.ndarray, held_out_class: int | None, name: str):
    """Training images and labels without ``held_out_class`` (unchanged if ``None``)."""
    if held_out_class is None:
        return x, y
    if held_out_class not in set(np.unique(y).tolist()):
        raise ValueError(f"held_out_class={held_out_class} is not a class of {name} "
                         f"(classes {int(y.min())}..{int(y.max())})")
    keep = y != held_out_class
    return x[keep], y[keep]


def _imbalance(x: np.ndarray, y: np.ndarray, minority: list[int] | None, fraction: float | None, seed: int,
               name: str):
    """Keep ``ceil(fraction * count)`` training images (drawn with ``seed``) of each ``minority`` class."""
    if minority is None and fraction is None:
        return x, y
    if not minority or fraction is None or not 0 < fraction <= 1:
        raise ValueError(f"minority_classes={minority} and minority_fraction={fraction}: give both, the classes "
                         "as a non-empty list and the fraction in (0, 1]")
    classes = set(np.unique(y).tolist())
    if not set(minority) <= classes:
        raise ValueError(f"minority_classes={minority} are not all classes of {name} ({sorted(classes)})")
    rng = np.random.default_rng(seed)
    drop = np.concatenate([rng.permutation(np.flatnonzero(y == c))[int(np.ceil(fraction * np.sum(y == c))):]
                           for c in minority])
    keep = np.setdiff1d(np.arange(len(y)), drop)
    return x[keep], y[keep]


def _prepare_hint(name: str, data_dir: Path) -> str:
    return (f"prepare it where there is internet (pip install tensorflow tensorflow-datasets; tfds build {name} "
            f"--file_format=array_record --data_dir {data_dir}) and copy {data_dir / name} here, or write local "
            f"images with bgan-prepare FILE.npz|FOLDER --name NAME --data-dir {data_dir}; then set "
            "experiment.dataset.data_dir (see docs/images.md)")


#: Evaluation images of an image dataset when ``num_eval`` is not given (fewer if the split is smaller).
DEFAULT_NUM_EVAL = 2_500


def tfds_images(tfds_name: str, *, data_dir: str | None = None, num_train: int | None = None,
                num_eval: int | None = None, seed: int = 0, train_split: str = "train", eval_split: str = "test",
                num_per_class: int | None = None, held_out_class: int | None = None,
                validation_fraction: float | None = None) -> Dataset:
    """An image dataset of tensorflow-datasets, read through ``tfds.data_source`` (ArrayRecord; no
    TensorFlow) from ``data_dir``, never downloaded.

    Pixels (``uint8``) are scaled to [0, 1] and flattened; ``event_shape`` is ``(H, W)`` for grey images and
    ``(H, W, C)`` otherwise. ``num_train`` / ``num_eval`` images are drawn at random (``seed``) from the
    splits (``num_train=None``: all of them; ``num_eval=None``: :data:`DEFAULT_NUM_EVAL`, or the whole
    evaluation split if it is smaller: the default fits the data a user has); ``num_per_class`` keeps that many training images of every class
    instead. ``held_out_class`` removes that class from the training images (not from the evaluation ones).
    ``validation_fraction`` replaces the test split by a validation split carved from the training images
    (as in :func:`digits`).

    Raises
    ------
    ValueError
        If the dataset is not prepared in ``data_dir`` as ArrayRecord (the message says how to prepare it),
        or the sizes are too large. Raised within seconds: nothing is downloaded.
    """
    import tensorflow_datasets as tfds

    root = Path(data_dir).expanduser() if data_dir else default_data_dir()
    splits = (train_split, eval_split)
    try:
        try:
            sources = {split: tfds.data_source(tfds_name, split=split, data_dir=str(root), download=False)
                       for split in splits}
        except (tfds.core.registered.DatasetNotFoundError, NotImplementedError, FileNotFoundError):
            # not in the registered builder's version: a dataset written by bgan-prepare under this name
            # (e.g. a local MNIST .npz as "mnist") is read from its own files
            prepared = sorted((root / tfds_name).glob("*/dataset_info.json"))
            if not prepared:
                raise
            builder = tfds.builder_from_directory(str(prepared[-1].parent))
            sources = {split: builder.as_data_source(split=split) for split in splits}
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(f"{tfds_name} is not a tensorflow-datasets dataset and is not in {root}; "
                         + _prepare_hint(tfds_name, root)) from None
    except NotImplementedError:  # tfds's message when no ArrayRecord files are there
        found = "is prepared there as TFRecord, which has no random access" if (root / tfds_name).is_dir() else \
            "is not prepared there"
        raise ValueError(f"{tfds_name} {found} (data_dir {root}); " + _prepare_hint(tfds_name, root)) from None
    except (FileNotFoundError, AssertionError, KeyError) as err:
        raise ValueError(f"{tfds_name} cannot be read from {root} ({' '.join(str(err).split())[:150]}); "
                         + _prepare_hint(tfds_name, root)) from None
    rng = np.random.default_rng(seed)

    def take(source, n, name):
        if n is not None and n > len(source):
            raise ValueError(f"{tfds_name} has {len(source)} {name} images; asked for {n}")
        idx = np.sort(rng.permutation(len(source))[:n]) if n is not None else np.arange(len(source))
        items = [source[int(i)] for i in idx]
        return np.stack([it["image"] for it in items]), np.asarray([it.get("label", 0) for it in items], np.int64)

    x_tr, y_tr = take(sources[train_split], None if num_per_class else num_train, train_split)
    x_tr, y_tr, x_val, y_val = validation_split(x_tr, y_tr, validation_fraction, seed, tfds_name)
    full = (x_tr, y_tr)
    x_tr, y_tr = _hold_out(x_tr, y_tr, held_out_class, tfds_name)
    if num_per_class:
        keep = np.concatenate([rng.permutation(np.flatnonzero(y_tr == k))[:num_per_class] for k in np.unique(y_tr)])
        x_tr, y_tr = x_tr[np.sort(keep)], y_tr[np.sort(keep)]
    if x_val is None:
        source = sources[eval_split]
        x_ev, y_ev = take(source, min(DEFAULT_NUM_EVAL, len(source)) if num_eval is None else num_eval, eval_split)
    else:
        x_ev, y_ev = x_val[:num_eval or DEFAULT_NUM_EVAL], y_val[:num_eval or DEFAULT_NUM_EVAL]
    event = x_tr.shape[1:3] if x_tr.shape[-1] == 1 else x_tr.shape[1:]

    def flat(x):
        return (x.reshape(len(x), -1) / 255.0).astype(np.float32)

    return Dataset(tfds_name, flat(x_tr), flat(x_ev), tuple(int(d) for d in event), train_labels=y_tr,
                   eval_labels=y_ev, classifier_train=flat(full[0]), classifier_labels=full[1],
                   eval_split="test" if x_val is None else "validation")


def stacked_mnist(*, data_dir: str | None = None, num_train: int | None = None, num_eval: int | None = None,
                  seed: int = 0, tfds_name: str = "mnist", validation_fraction: float | None = None) -> Dataset:
    """Stacked MNIST built from the MNIST splits ``bgan-prepare`` wrote (:func:`tfds_images`).

    The training stacks (``num_train``, default :data:`experiments.stacked.NUM_TRAIN`, VEEGAN's 128,000) draw each channel's image independently
    and uniformly from the training images, once, by ``seed``; the evaluation stacks (``num_eval``, default
    2,500) from the evaluation images :func:`tfds_images` gives by default (up to 2,500 test images: all 2,000
    of the shared set; or the validation images carved by ``validation_fraction``), so no evaluation stack
    shares an image with a training stack.

    Returns
    -------
    Dataset
        ``train`` a :class:`experiments.stacked.StackedImages`, ``eval`` dense ``(num_eval, 2352)`` float32, ``event_shape``
        ``(28, 28, 3)``, labels the stacks' mode ids (:func:`experiments.metrics.stacked.mode_ids`, 0-999); ``classifier_train`` and
        ``classifier_labels`` the single-channel training images and their digits, what the channel
        classifier is fitted to; ``metrics_classifier`` a :class:`experiments.metrics.StackedClassifier`
        reading the channel classifier ``bgan-prepare`` stored (:func:`channel_classifier`), its floor on
        the evaluation images (with
        ``validation_fraction`` those were in the channel classifier's training split: its accuracy there
        is a training accuracy); ``num_metric_samples`` 25,600.

    Raises
    ------
    ValueError
        If MNIST is not prepared in ``data_dir`` or its channel classifier is not stored there (the message
        says how), or a size is not positive.
    """
    from experiments.metrics.stacked import CHANNELS, NUM_STACKED_SAMPLES, StackedClassifier, mode_ids
    from experiments.stacked import NUM_TRAIN, StackedImages  # JAX: imported when the set is built

    mnist = tfds_images(tfds_name, data_dir=data_dir, seed=seed, validation_fraction=validation_fraction,
                        num_eval=None)
    num_train = NUM_TRAIN if num_train is None else num_train
    num_eval = 2_500 if num_eval is None else num_eval
    for key, value in (("num_train", num_train), ("num_eval", num_eval)):
        if value <= 0:
            raise ValueError(f"experiment.dataset.{key}={value} is invalid: stacks to draw, > 0")
    # streams of their own: MNIST's draws are unchanged, and num_train does not move the evaluation stacks
    train_triples = np.random.default_rng([seed, 3]).integers(0, len(mnist.train), (num_train, CHANNELS)).astype(
        np.int32)
    eval_pool = mnist.eval
    eval_triples = np.random.default_rng([seed, 5]).integers(0, len(eval_pool), (num_eval, CHANNELS))
    train = StackedImages(mnist.train, train_triples)
    eval_stacks = StackedImages(eval_pool, eval_triples).dense()
    folder = (Path(data_dir).expanduser() if data_dir else default_data_dir()) / tfds_name / CLASSIFIER_FOLDER
    if not (folder / "classifier.json").is_file():  # checked before a run starts; trained by bgan-prepare only
        raise ValueError(f"Stacked MNIST's channel classifier is not stored in {folder}: prepare the MNIST set again "
                         f"(bgan-prepare IDX_FILES --name {tfds_name} --data-dir DATA_DIR), which builds it once")
    classifier = StackedClassifier(partial(channel_classifier, data_dir, tfds_name, build=False), mnist.eval,
                                   mnist.eval_labels, seed=seed)
    return Dataset("stacked_mnist", train, eval_stacks, (*mnist.event_shape, CHANNELS),
                   train_labels=mode_ids(mnist.train_labels[train_triples]),
                   eval_labels=mode_ids(mnist.eval_labels[eval_triples]),
                   classifier_train=mnist.train, classifier_labels=mnist.train_labels, eval_split=mnist.eval_split,
                   metrics_classifier=classifier, num_metric_samples=NUM_STACKED_SAMPLES)


#: Where a prepared dataset's channel classifier is stored: ``DATA_DIR/<name>/channel_classifier/``.
CLASSIFIER_FOLDER = "channel_classifier"


def channel_classifier(data_dir: str | Path | None = None, tfds_name: str = "mnist", *, build: bool = True):
    """The channel classifier of Stacked MNIST: the project's MNIST CNN
    (:class:`experiments.metrics.ConvClassifier`) trained once on the prepared training split and stored beside
    the dataset (``DATA_DIR/<tfds_name>/channel_classifier/``, :meth:`~experiments.metrics.ConvClassifier.save`),
    with its accuracy on the prepared test images (``classifier.json``'s ``test_accuracy``: up to 2,500 of
    them, the default evaluation set of :func:`experiments.datasets.tfds_images`; all 2,000 of the shared
    set). ``bgan-prepare --name mnist`` of an MNIST-shaped set builds it.

    Parameters
    ----------
    data_dir : path, optional
        The tfds directory ``bgan-prepare`` wrote (default: its default).
    tfds_name : str
    build : bool
        Train and store it when absent (``bgan-prepare`` does, once); ``False``: only load.

    Raises
    ------
    FileNotFoundError
        If none is stored and ``build`` is false.
    ValueError
        If the dataset is not prepared (:func:`experiments.datasets.tfds_images`).

    Notes
    -----
    ``bgan-prepare`` (:mod:`experiments.prepare`) builds it; :func:`stacked_mnist` reads it.
    """
    from experiments.metrics import ConvClassifier

    folder = (Path(data_dir).expanduser() if data_dir else default_data_dir()) / tfds_name / CLASSIFIER_FOLDER
    try:
        return ConvClassifier.load(folder)
    except FileNotFoundError:
        if not build:
            raise
    data = tfds_images(tfds_name, data_dir=None if data_dir is None else str(data_dir))
    classifier = ConvClassifier(data.train, data.train_labels, data.event_shape)
    accuracy = float(np.mean(classifier.predict(data.eval) == data.eval_labels))
    classifier.save(folder, test_accuracy=accuracy, num_train=len(data.train), num_test=len(data.eval))
    return ConvClassifier.load(folder)


TFDS_IMAGES = ("mnist", "fashion_mnist", "cifar10", "svhn_cropped")

DATASETS: dict[str, Callable[..., Dataset]] = {
    "ring8": ring8, "grid25": grid25, "synthetic": synthetic, "digits": digits,
    **{name: partial(tfds_images, name) for name in TFDS_IMAGES},
    "tfds": lambda *, tfds_name, **kwargs: tfds_images(tfds_name, **kwargs),
    "stacked_mnist": stacked_mnist,
}


def load_dataset(name: str, **kwargs) -> Dataset:
    """Look ``name`` up in :data:`DATASETS` and build it.

    Raises
    ------
    KeyError
        If ``name`` is not registered; the message lists the valid names.
    """
    return lookup(DATASETS, "dataset", name)(**kwargs)
