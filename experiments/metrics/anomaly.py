"""Anomaly scores from the discriminator's posterior (AUROC), beside non-GAN baselines."""

from __future__ import annotations

import numpy as np


def anomaly_metrics(d_real: np.ndarray, is_anomaly: np.ndarray, x_train: np.ndarray, x_eval: np.ndarray,
                    k: int = 5, seed: int = 0) -> dict:
    """AUROC of anomaly scores from the discriminator's posterior, beside a non-GAN baseline.

    Parameters
    ----------
    d_real : numpy.ndarray, shape ``(chain, draw, M)``
        ``D(x)``, the probability of "real", of every discriminator sample on the ``M`` evaluation points.
    is_anomaly : numpy.ndarray of bool, shape ``(M,)``
        True for points of the class held out of training.
    x_train, x_eval : numpy.ndarray
        Training and evaluation points, for the baseline.
    k : int
        Neighbours of the k-nearest-neighbour baseline.
    seed : int
        The isolation forest's ``random_state``.

    Returns
    -------
    dict
        ``auroc``: score = ``1 - mean D(x)`` over the samples (the posterior mean: a point unlike the
        training data looks fake); ``auroc_spread``: score = standard deviation of ``D(x)`` over the samples
        (posterior uncertainty; ``None`` with one sample); ``auroc_knn``: score = mean Euclidean distance to
        the ``k`` nearest training points (scikit-learn), a non-GAN baseline; ``auroc_isolation_forest``:
        score = minus scikit-learn's ``IsolationForest(random_state=seed).score_samples`` fitted on the
        training points (Liu et al. 2008), a second non-GAN baseline; all in [0, 1], 0.5 = chance.
    """
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import roc_auc_score
    from sklearn.neighbors import NearestNeighbors

    samples = d_real.reshape(-1, d_real.shape[-1])
    dist, _ = NearestNeighbors(n_neighbors=k).fit(x_train).kneighbors(x_eval)
    return {"auroc": float(roc_auc_score(is_anomaly, -samples.mean(axis=0))),
            "auroc_spread": float(roc_auc_score(is_anomaly, samples.std(axis=0))) if len(samples) > 1 else None,
            "auroc_knn": float(roc_auc_score(is_anomaly, dist.mean(axis=1))),
            "auroc_isolation_forest": float(roc_auc_score(
                is_anomaly, -IsolationForest(random_state=seed).fit(x_train).score_samples(x_eval))),
            "num_anomalies": int(is_anomaly.sum()), "num_eval": int(len(is_anomaly)),
            "predictive_samples": int(len(samples)),
            "definition": "AUROC of 1 - posterior-mean D(x) (auroc), of the posterior sd of D(x) (auroc_spread), "
                          f"of the mean distance to the {k} nearest training points (auroc_knn), and of an isolation "
                          "forest's anomaly score (auroc_isolation_forest)"}
