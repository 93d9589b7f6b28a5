"""Does adding generated images help a classifier? Low-data augmentation and BAGAN's class imbalance."""

from __future__ import annotations

import warnings

import numpy as np


def downstream_predictions(x: np.ndarray, y: np.ndarray, x_eval: np.ndarray, *, hidden: int = 64,
                           seed: int = 0) -> np.ndarray:
    """The augmentation figures' downstream classifier: a scikit-learn ``MLPClassifier`` (one hidden layer of
    ``hidden`` units, ``max_iter`` 600, ``random_state`` ``seed``) fitted on ``(x, y)``; its predicted classes
    ``(M,)`` for ``x_eval`` ``(M, data_dim)``."""
    from sklearn.neural_network import MLPClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MLPClassifier(hidden_layer_sizes=(hidden,), max_iter=600, random_state=seed).fit(x, y).predict(x_eval)


def augmentation_metrics(generated: np.ndarray, generated_classes: np.ndarray, x_train: np.ndarray,
                         y_train: np.ndarray, x_eval: np.ndarray, y_eval: np.ndarray, per_class: int, *,
                         hidden: int = 64, seed: int = 0) -> dict:
    """Does adding class-conditional samples to a few real images help a classifier? (Low-data
    augmentation with BAGAN's head, Mariani et al. 2018; Antoniou et al. 2017's DAGAN question.)

    The downstream classifier (:func:`downstream_predictions`) is fitted on the real training images, and
    again on them plus ``per_class`` generated images of every class (the first of the pooled samples of that
    class; fewer if the generator made fewer); both are scored on the evaluation images.

    Parameters
    ----------
    generated : numpy.ndarray, shape ``(n, data_dim)``
    generated_classes : numpy.ndarray, shape ``(n,)``
        The class each sample was generated for.
    x_train, y_train, x_eval, y_eval : numpy.ndarray
        Real training and evaluation images ``(N, data_dim)`` and their classes.
    per_class : int
        Generated images added per class (>= 1).

    Returns
    -------
    dict
        ``test_accuracy`` (real + generated) and ``test_accuracy_real_only`` on the evaluation images (fractions);
        ``generated_added`` per class.

    Raises
    ------
    ValueError
        For ``per_class < 1``.
    """
    if per_class < 1:
        raise ValueError(f"per_class={per_class} must be >= 1")
    extra_x, extra_y, added = [], [], {}
    for c in range(int(y_train.max()) + 1):
        pool = generated[generated_classes == c][:per_class]
        extra_x.append(pool)
        extra_y.append(np.full(len(pool), c))
        added[str(c)] = int(len(pool))

    def accuracy(x, y):
        return float(np.mean(downstream_predictions(x, y, x_eval, hidden=hidden, seed=seed) == y_eval))

    return {"test_accuracy": accuracy(np.concatenate([x_train, *extra_x]), np.concatenate([y_train, *extra_y])),
            "test_accuracy_real_only": accuracy(x_train, y_train), "generated_added": added,
            "definition": f"sklearn MLP ({hidden} hidden units) on the real training images plus {per_class} generated "
                          "images per class (test_accuracy) vs the real images only, accuracy on the evaluation images"}


def imbalance_metrics(generated: np.ndarray, generated_classes: np.ndarray, x_train: np.ndarray,
                      y_train: np.ndarray, x_eval: np.ndarray, y_eval: np.ndarray, minority: list[int],
                      *, hidden: int = 64, seed: int = 0) -> dict:
    """Does augmenting the minority classes with generated images help a classifier? (BAGAN, Mariani et al.
    2018, sec. 4.)

    A scikit-learn ``MLPClassifier`` (one hidden layer of ``hidden`` units, fixed seed) is trained on the
    real, imbalanced training images, and again on them plus generated images of each minority class, as
    many as bring it to the mean size of the other classes (taken in order from the pooled samples of that
    class; fewer if the generator made fewer). Both are scored on the balanced evaluation images.

    Parameters
    ----------
    generated : numpy.ndarray, shape ``(n, data_dim)``
    generated_classes : numpy.ndarray, shape ``(n,)``
        The class each sample was generated for.
    x_train, y_train, x_eval, y_eval : numpy.ndarray
    minority : list of int

    Returns
    -------
    dict
        ``minority_accuracy`` (augmented) and ``minority_accuracy_real_only``: accuracy on the evaluation
        images of the minority classes; ``balanced_accuracy`` and ``balanced_accuracy_real_only`` (mean
        per-class recall over all classes); ``generated_added`` per minority class.
    """
    from sklearn.metrics import balanced_accuracy_score

    counts = np.bincount(y_train)
    target = int(round(np.mean([counts[c] for c in range(len(counts)) if c not in minority])))
    extra_x, extra_y, added = [], [], {}
    for c in minority:
        pool = generated[generated_classes == c][: max(0, target - counts[c])]
        extra_x.append(pool)
        extra_y.append(np.full(len(pool), c))
        added[str(c)] = int(len(pool))
    minority_eval = np.isin(y_eval, minority)

    def fit_score(x, y):
        pred = downstream_predictions(x, y, x_eval, hidden=hidden, seed=seed)
        return float(np.mean(pred[minority_eval] == y_eval[minority_eval])), float(balanced_accuracy_score(y_eval, pred))

    real = fit_score(x_train, y_train)
    augmented = fit_score(np.concatenate([x_train, *extra_x]), np.concatenate([y_train, *extra_y]))
    return {"minority_accuracy": augmented[0], "minority_accuracy_real_only": real[0],
            "balanced_accuracy": augmented[1], "balanced_accuracy_real_only": real[1],
            "minority_classes": [int(c) for c in minority], "generated_added": added,
            "definition": "BAGAN (Mariani et al. 2018): sklearn MLP on real + generated minority images vs real only; "
                          "accuracy on the held-out images of the minority classes"}
