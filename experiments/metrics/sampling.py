"""The samples a metric is computed on: how many, and which, of a run's generated samples."""

from __future__ import annotations

import numpy as np

NUM_METRIC_SAMPLES = 2_500
#: Samples of a pooled (posterior predictive) figure: spread evenly over every post-warmup chain and draw,
#: enough that its high-quality fraction is within ~0.002 (sd) of the whole pool an ArviZ user reads; the
#: sample-count-dependent estimators (JS, Fréchet, z) use its first NUM_METRIC_SAMPLES.
NUM_POOLED_SAMPLES = 25_000


def metric_samples(x_generated: np.ndarray, last_draws: int, n: int = NUM_METRIC_SAMPLES) -> np.ndarray:
    """The samples the metrics are computed on: pooled over chains and the last ``last_draws`` draws.

    Parameters
    ----------
    x_generated : numpy.ndarray, shape ``(chain, draw, sample, *event)``
    last_draws : int
        How many of the final draws form the posterior predictive (1 = the final weights only).
    n : int
        Number of samples (VEEGAN/PacGAN use 2,500): the first ``n`` of the pool in an order that cycles
        through every (chain, draw), so their contributions differ by at most one sample; with fewer than
        one sample per (chain, draw), the first sample of ``n`` evenly spaced (chain, draw) pairs (every
        chain and the whole run represented). Fewer if the pool is smaller.

    Returns
    -------
    numpy.ndarray, shape ``(min(n, pool), prod(event))``
    """
    kept = x_generated[:, -last_draws:]
    flat = kept.reshape(-1, int(np.prod(kept.shape[3:])))
    pairs = kept.shape[0] * kept.shape[1]
    # sample-major order: every (chain, draw) gives its first sample, then its second, ...
    order = np.arange(flat.shape[0]).reshape(pairs, kept.shape[2])
    if n < pairs:  # fewer samples than (chain, draw) pairs: one sample from each of n evenly spaced pairs
        return flat[order[np.linspace(0, pairs - 1, n).round().astype(np.int64), 0]]
    return flat[order.T.ravel()[:n]]
