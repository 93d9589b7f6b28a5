"""Classifier-based metrics of images: the metrics classifiers (scikit-learn MLP, small flax CNN), class
coverage and the classifier Fréchet distance of generated images, and the semi-supervised discriminator's test
error beside a supervised-only baseline.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from scipy import linalg


class ImageClassifier:
    """A classifier trained on the real training images, giving classes and features for the metrics.

    scikit-learn ``MLPClassifier`` (one hidden layer of ``hidden`` ReLU units, fixed seed) on at most
    ``max_train`` training images (a fixed random subset); its hidden layer is the feature space of the
    Fréchet distance. ``num_classes`` is the largest training label plus one.
    """

    definition = ("classes from an sklearn MLP trained on the real training images; Frechet distance in its hidden "
                  "layer (not Inception FID)")

    def __init__(self, x: np.ndarray, y: np.ndarray, *, hidden: int = 64, seed: int = 0, max_train: int = 10_000):
        from sklearn.neural_network import MLPClassifier

        if len(x) > max_train:
            keep = np.random.default_rng(seed).permutation(len(x))[:max_train]
            x, y = x[keep], y[keep]
        self.num_classes = int(y.max()) + 1
        self.clf = MLPClassifier(hidden_layer_sizes=(hidden,), max_iter=600, random_state=seed)
        self.clf.fit(x, y)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.clf.predict(x)

    def features(self, x: np.ndarray) -> np.ndarray:
        """Hidden-layer ReLU activations, shape ``(n, hidden)``."""
        return np.maximum(x @ self.clf.coefs_[0] + self.clf.intercepts_[0], 0.0)


class ConvClassifier:
    """A small convolutional classifier for 28x28-scale images, the metrics classifier of the MNIST configs
    (``experiment.metrics_classifier=cnn``), where :class:`ImageClassifier`'s one-layer MLP reaches only
    ~95 % on 8,000 training images.

    Two 5x5 convolutions of stride 2 (32 and 64 channels, ReLU), a dense layer of ``hidden`` ReLU
    units (the feature space of the Fréchet distance) and a linear layer of ``num_classes`` logits; flax
    ``linen`` trained by optax's Adam (learning rate 1e-3, batches of 128, ``epochs`` passes, fixed
    ``seed``) on softmax cross-entropy. Same interface as :class:`ImageClassifier`.

    Parameters
    ----------
    x : numpy.ndarray, shape ``(n, H * W * C)``, float, pixels in [0, 1]
    y : numpy.ndarray, shape ``(n,)``, int
    image_shape : tuple of int
        ``(H, W)`` or ``(H, W, C)``.
    """

    definition = ("classes from a small CNN (flax) trained on the real training images; Frechet distance in its "
                  "dense hidden layer (not Inception FID)")

    def __init__(self, x: np.ndarray, y: np.ndarray, image_shape: tuple[int, ...], *, hidden: int = 128,
                 seed: int = 0, epochs: int = 10, batch_size: int = 128):
        import jax
        import jax.numpy as jnp
        import optax

        self._define(int(y.max()) + 1, image_shape, hidden)
        key = jax.random.key(seed)
        params = self.net.init(key, jnp.zeros((1, *self.shape)))
        tx = optax.adam(1e-3)
        opt_state = tx.init(params)

        @jax.jit
        def update(params, opt_state, xb, yb):
            def loss(p):
                return optax.softmax_cross_entropy_with_integer_labels(self.net.apply(p, xb), yb).mean()
            grads = jax.grad(loss)(params)
            updates, opt_state = tx.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state

        images = np.asarray(x, np.float32).reshape(len(x), *self.shape)
        labels = np.asarray(y, np.int32)
        rng = np.random.default_rng(seed)
        batch_size = min(batch_size, len(images))  # a set smaller than one batch still trains
        for _ in range(epochs):
            order = rng.permutation(len(images))
            for start in range(0, len(images) - batch_size + 1, batch_size):
                batch = order[start:start + batch_size]
                params, opt_state = update(params, opt_state, images[batch], labels[batch])
        self.params = params
        self._apply = jax.jit(self.net.apply, static_argnames="features")

    def _define(self, num_classes: int, image_shape: tuple[int, ...], hidden: int) -> None:
        import flax.linen as nn

        self.num_classes, self.hidden = num_classes, hidden
        self.shape = (*image_shape, 1) if len(image_shape) == 2 else tuple(image_shape)

        class Net(nn.Module):
            @nn.compact
            def __call__(self, images, features=False):
                h = images
                for channels in (32, 64):
                    h = nn.relu(nn.Conv(channels, (5, 5), strides=(2, 2))(h))
                h = nn.relu(nn.Dense(hidden)(h.reshape(len(h), -1)))
                return h if features else nn.Dense(num_classes)(h)

        self.net = Net()

    def save(self, folder: Path, **meta) -> None:
        """Store the trained classifier in ``folder`` (``params.msgpack``, flax serialization, and
        ``classifier.json``: its shape and ``meta``), staged beside it and moved into place whole."""
        import json
        import shutil
        import tempfile

        import jax
        from flax import serialization

        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        (staging / "params.msgpack").write_bytes(serialization.msgpack_serialize(jax.tree.map(np.asarray, self.params)))
        (staging / "classifier.json").write_text(json.dumps(
            {"num_classes": self.num_classes, "image_shape": list(self.shape), "hidden": self.hidden, **meta}, indent=1))
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)

    @classmethod
    def load(cls, folder: Path) -> "ConvClassifier":
        """A classifier :meth:`save` stored, without training.

        Raises
        ------
        FileNotFoundError
            If ``folder`` holds no stored classifier.
        """
        import json

        import jax
        from flax import serialization

        if not (folder / "classifier.json").is_file() or not (folder / "params.msgpack").is_file():
            raise FileNotFoundError(f"{folder}: no stored classifier (classifier.json, params.msgpack)")
        meta = json.loads((folder / "classifier.json").read_text())
        self = cls.__new__(cls)
        self._define(meta["num_classes"], tuple(meta["image_shape"]), meta["hidden"])
        self.params = serialization.msgpack_restore((folder / "params.msgpack").read_bytes())
        self._apply = jax.jit(self.net.apply, static_argnames="features")
        self.meta = meta
        return self

    def _batched(self, x: np.ndarray, features: bool) -> np.ndarray:
        x = np.asarray(x, np.float32).reshape(len(x), *self.shape)
        out = [np.asarray(self._apply(self.params, x[i:i + 1000], features=features)) for i in range(0, len(x), 1000)]
        if out:
            return np.concatenate(out)
        return np.zeros((0, self.params["params"]["Dense_0"]["kernel"].shape[1] if features else self.num_classes),
                        np.float32)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted classes, shape ``(n,)``."""
        return self._batched(x, False).argmax(-1)

    def features(self, x: np.ndarray) -> np.ndarray:
        """Hidden dense-layer ReLU activations, shape ``(n, hidden)``."""
        return self._batched(x, True).astype(np.float64)


#: ``experiment.metrics_classifier`` choices: scikit-learn's one-layer MLP (the 8x8 digits), a small CNN (28x28).
METRICS_CLASSIFIERS = ("mlp", "cnn")


def frechet_distance(f1: np.ndarray, f2: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017, eq. 6).

    ``|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))``, in squared feature units.
    """
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        covmean = linalg.sqrtm(s1 @ s2)
        if not np.all(np.isfinite(covmean)):  # singular product: regularise (as pytorch-fid does)
            offset = 1e-6 * np.eye(len(s1))
            covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    covmean = np.real(covmean)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean))


def classifier_metrics(
    clf: ImageClassifier,
    samples: np.ndarray,
    real_eval: np.ndarray,
    real_labels: np.ndarray,
    num_classes: int | None = None,
    min_fraction: float = 0.01,
) -> dict:
    """Class coverage and classifier Fréchet distance of generated images.

    Parameters
    ----------
    clf : ImageClassifier
    samples : numpy.ndarray, shape ``(n, data_dim)``, pixels in [0, 1]
    real_eval, real_labels : numpy.ndarray
        Held-out real images and their labels.
    min_fraction : float
        A class is *covered* if at least this fraction of the samples is classified as it (1 %, i.e. a
        tenth of its share under a uniform class distribution).

    Returns
    -------
    dict
        ``classes_covered`` (int), ``class_kl`` (``KL(q || p)`` of the generated class histogram ``q``
        against the held-out real one ``p``, nats; the reverse KL of VEEGAN), ``class_histogram``
        (``q``), ``frechet_classifier_distance`` (Fréchet distance in the classifier's hidden-layer
        space, *not* Inception FID) and ``num_samples``.
    """
    num_classes = num_classes or max(clf.num_classes, int(real_labels.max()) + 1)
    pred = clf.predict(samples)
    q = np.bincount(pred, minlength=num_classes) / len(pred)
    p = np.bincount(real_labels, minlength=num_classes) / len(real_labels)
    nz = q > 0
    return {
        "classes_covered": int((q >= min_fraction).sum()),
        "class_kl": float(np.sum(q[nz] * np.log(q[nz] / p[nz]))),
        "class_histogram": q.round(4).tolist(),
        "frechet_classifier_distance": frechet_distance(clf.features(samples), clf.features(real_eval)),
        "num_samples": int(len(samples)),
    }


#: Equal-width confidence bins of the expected calibration error (Guo et al. 2017 use 15).
CALIBRATION_BINS = 15


def calibration(probs: np.ndarray, labels: np.ndarray, num_bins: int = CALIBRATION_BINS) -> dict:
    """Top-label calibration of a classifier's predictive: the expected calibration error and the reliability
    diagram's bins (Naeini et al. 2015; Guo et al. 2017, sec. 2, eq. 3).

    The confidence of a point is its largest class probability; the points fall into ``num_bins`` equal-width
    bins ``((i - 1) / num_bins, i / num_bins]`` of confidence (a confidence of 0 in the first), and
    ``ECE = sum_b n_b / n * |accuracy_b - confidence_b|``.

    Parameters
    ----------
    probs : numpy.ndarray, shape ``(M, K)``
        ``p(y | x)`` of the ``M`` points (rows sum to 1).
    labels : numpy.ndarray, shape ``(M,)``, int
    num_bins : int
        Number of bins (>= 1).

    Returns
    -------
    dict
        ``test_ece`` (a fraction in [0, 1]) and ``reliability``: per bin, its upper ``edge``, the points'
        mean ``confidence`` and ``accuracy`` (``None`` in an empty bin) and ``count``.
    """
    confidence = probs.max(-1)
    correct = probs.argmax(-1) == labels
    which = np.clip(np.ceil(confidence * num_bins).astype(int) - 1, 0, num_bins - 1)
    count = np.bincount(which, minlength=num_bins)
    conf_sum = np.bincount(which, weights=confidence, minlength=num_bins)
    acc_sum = np.bincount(which, weights=correct.astype(float), minlength=num_bins)
    filled = count > 0
    gap = np.abs(acc_sum[filled] - conf_sum[filled]).sum() / len(labels)
    bins = [{"edge": round((i + 1) / num_bins, 6),
             "confidence": float(conf_sum[i] / count[i]) if count[i] else None,
             "accuracy": float(acc_sum[i] / count[i]) if count[i] else None, "count": int(count[i])}
            for i in range(num_bins)]
    return {"test_ece": float(gap), "reliability": bins}


def predictive_figures(class_probs: np.ndarray, eval_labels: np.ndarray) -> dict:
    """Test error, negative log-likelihood and calibration of the predictive that averages ``p(y | x)`` over
    networks.

    Parameters
    ----------
    class_probs : numpy.ndarray, shape ``(..., M, K)``
        ``p(y | x)`` of every network (all leading axes are averaged) on ``M`` test points.
    eval_labels : numpy.ndarray, shape ``(M,)``, int

    Returns
    -------
    dict
        ``test_error`` (fraction misclassified by the averaged predictive's argmax), ``test_nll`` (nats per
        test point, probabilities clipped at 1e-12), and :func:`calibration`'s ``test_ece`` (15 bins) and
        ``reliability``.
    """
    probs = class_probs.reshape(-1, *class_probs.shape[-2:]).mean(axis=0)
    picked = np.take_along_axis(probs, eval_labels[:, None], axis=-1)[:, 0]
    return {"test_error": float(np.mean(probs.argmax(-1) != eval_labels)),
            "test_nll": float(-np.mean(np.log(np.clip(picked, 1e-12, None)))),
            **calibration(probs, eval_labels)}


def semi_supervised_metrics(class_probs: np.ndarray, x_eval: np.ndarray, eval_labels: np.ndarray,
                            x_labelled: np.ndarray, y_labelled: np.ndarray, hidden: tuple[int, ...],
                            seed: int = 0) -> dict:
    """Test error of the semi-supervised discriminator's posterior predictive, beside a supervised-only
    classifier trained on the same labelled examples.

    Parameters
    ----------
    class_probs : numpy.ndarray, shape ``(chain, draw, M, K)``
        ``p(y | x, real)`` of every discriminator sample on the ``M`` test points (Saatchi & Wilson 2017,
        sec. 4: predictions averaged over discriminator posterior samples).
    x_eval : numpy.ndarray, shape ``(M, data_dim)``
    eval_labels : numpy.ndarray, shape ``(M,)``
    x_labelled, y_labelled : numpy.ndarray
        The labelled training examples the run used.
    hidden : tuple of int
        Hidden layers of the supervised-only baseline (the discriminator's, for a like-for-like network):
        scikit-learn ``MLPClassifier`` (ReLU, Adam, L2 1e-4) trained on the labelled examples only.

    Returns
    -------
    dict
        ``test_error`` (fraction misclassified by the averaged predictive), ``test_nll`` (nats per test
        point), ``test_ece`` and ``reliability`` (:func:`calibration`), ``test_error_per_sample`` (mean error
        of the individual samples), ``test_error_supervised_only`` with the baseline's ``test_nll_supervised_only``
        and ``test_ece_supervised_only``, ``num_labelled`` and ``predictive_samples``.
    """
    from sklearn.neural_network import MLPClassifier

    single = (class_probs.argmax(-1) != eval_labels).mean(-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's convergence warnings on 100 examples
        clf = MLPClassifier(hidden_layer_sizes=tuple(hidden), max_iter=2000, random_state=seed)
        clf.fit(x_labelled, y_labelled)
    supervised = predictive_figures(clf.predict_proba(x_eval)[None], eval_labels)  # (classes 0..K-1 all labelled)
    return {**predictive_figures(class_probs, eval_labels),
            "test_error_per_sample": float(single.mean()),
            "test_error_supervised_only": float(np.mean(clf.predict(x_eval) != eval_labels)),
            "test_nll_supervised_only": supervised["test_nll"], "test_ece_supervised_only": supervised["test_ece"],
            "num_labelled": int(len(y_labelled)), "predictive_samples": int(np.prod(class_probs.shape[:2])),
            "definition": "Saatchi & Wilson 2017 sec. 4: argmax of p(y|x) averaged over discriminator samples; "
                          "supervised-only: sklearn MLP with the discriminator's hidden layers on the labels only"}
