"""Per-particle collapse: does each generator particle use its latent ``z``?"""

from __future__ import annotations

import numpy as np

#: A generator particle whose samples spread less than this fraction of the data's spread ignores z.
COLLAPSE_RATIO = 0.1


def particle_spread(generated: np.ndarray, train: np.ndarray, classifier=None, min_fraction: float = 0.01) -> dict:
    """Does each generator particle use its latent ``z``? Per-particle collapse, the failure a pooled figure
    hides (the pool counts every particle's one image as diversity).

    Parameters
    ----------
    generated : numpy.ndarray, shape ``(chain, sample, data_dim)``
        One draw's samples of every generator particle (chain), each from its own ``z``.
    train : numpy.ndarray, shape ``(N, data_dim)``
        The training points.
    classifier : experiments.metrics.classifiers.ImageClassifier or ConvClassifier, optional
        For labelled images: adds each particle's classes covered (a class holding at least
        ``min_fraction`` of that particle's samples, as :func:`experiments.metrics.classifiers.classifier_metrics` counts,
        and at least one).
    min_fraction : float
        0: every class with a sample counts (Stacked MNIST's 1,000 modes, of 0.1 % each, read at equal counts).

    Returns
    -------
    dict
        ``particle_spread``: per chain, the standard deviation over samples averaged over the features,
        divided by the same statistic of the training points (1 = spread like the data, 0 = one output
        whatever ``z``; salt-noise pixels that change with ``z`` raise it, so on images read it beside the
        classes); ``collapsed_particles``: how many are below :data:`COLLAPSE_RATIO`;
        ``classes_per_particle`` (with a classifier): per chain, classes covered by its samples alone.
    """
    generated = np.asarray(generated)
    spread = generated.astype(np.float64).std(axis=1).mean(axis=-1) / float(np.asarray(train).std(axis=0).mean())
    out = {"particle_spread": [round(float(s), 4) for s in spread],
           "collapsed_particles": int((spread < COLLAPSE_RATIO).sum())}
    if classifier is not None:
        out["classes_per_particle"] = [
            int((np.bincount(p, minlength=classifier.num_classes) >= max(1.0, min_fraction * len(p))).sum())
            for p in (classifier.predict(g) for g in generated)]
    return out
