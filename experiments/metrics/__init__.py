"""Quality, diversity and convergence metrics of generated samples.

Every function reads generated samples as numpy arrays; the run computes them from the very
``posterior_predictive/x_generated`` array it stores in ``posterior.nc``.
"""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
from scipy import linalg

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


def nearest_mode(samples: np.ndarray, modes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of and Euclidean distance to the nearest mode, for ``samples`` ``(n, 2)``."""
    best = np.full(len(samples), np.inf)
    index = np.zeros(len(samples), dtype=np.int64)
    for k, mode in enumerate(modes):  # one mode at a time: memory O(n), not O(n K)
        d = np.linalg.norm(samples - mode, axis=-1)
        closer = d < best
        best[closer], index[closer] = d[closer], k
    return index, best


def mixture_metrics(samples: np.ndarray, modes: np.ndarray, sigma: float) -> dict:
    """Mode coverage on a Gaussian mixture (VEEGAN, Srivastava et al. 2017, sec. 5.1; PacGAN, Lin et al.
    2018, Table 1).

    A sample is *high quality* if it lies within ``3 sigma`` of its nearest mode; a mode is *captured*
    if it is the nearest mode of at least one high-quality sample; ``reverse_kl`` is
    ``KL(q || uniform)`` of the histogram ``q`` of high-quality samples over the modes (nats).

    Parameters
    ----------
    samples : numpy.ndarray, shape ``(n, 2)``
    modes : numpy.ndarray, shape ``(K, 2)``
    sigma : float
        Component standard deviation.

    Returns
    -------
    dict
        ``modes`` (int), ``high_quality`` (fraction in [0, 1]), ``reverse_kl`` (nats; ``inf`` if no
        sample is high quality, written as ``null`` in ``metrics.json``), ``num_high_quality`` (the samples
        ``reverse_kl`` rests on: read it beside it) and ``num_samples``.
    """
    idx, dist = nearest_mode(samples, modes)
    hq = dist <= 3 * sigma
    counts = np.bincount(idx[hq], minlength=len(modes))
    if counts.sum() == 0:
        rkl = float("inf")
    else:
        q = counts / counts.sum()
        nz = q > 0
        rkl = float(np.sum(q[nz] * np.log(q[nz] * len(modes))))
    return {
        "modes": int((counts > 0).sum()),
        "high_quality": float(hq.mean()),
        "reverse_kl": rkl,
        "num_high_quality": int(hq.sum()),
        "num_samples": int(len(samples)),
    }


JS_DEFINITION = ("Saatchi & Wilson 2017 sec. 5.1: JS (nats) of Gaussian KDEs in the real data's 2-D PCA plane, "
                 "0.1 grid; generated samples beyond the real range extended by half its width on each side "
                 "count as mass where the real density is 0")
MAX_GRID_POINTS = 1024  # per axis


def _kde(points: np.ndarray, what: str):
    """``scipy.stats.gaussian_kde`` of ``points`` ``(n, 2)``; a clear ``ValueError`` if it is singular."""
    from scipy.stats import gaussian_kde

    try:
        kde = gaussian_kde(points.T)
        eig = np.linalg.eigvalsh(kde.covariance)
        if not eig.min() > 1e-12 * eig.max():  # numerically singular: scipy only refuses an exact zero
            raise ValueError(f"covariance eigenvalues {eig.min():.3g} and {eig.max():.3g}")
    except ValueError as err:  # numpy.linalg.LinAlgError included
        raise ValueError(f"the Gaussian KDE of the {what} is singular (all identical or on a line in the real "
                         f"data's PCA plane: {' '.join(str(err).split()).split('. ')[0]})") from None
    return kde


def _grid_mass(kde, grid: np.ndarray, step: float, what: str) -> np.ndarray:
    """``kde`` on the ``grid`` points, normalised to sum 1; a ``ValueError`` if it is 0 there."""
    density = kde(grid)
    if not density.sum() > 0:
        raise ValueError(f"the Gaussian KDE of the {what} has no mass on the grid: its bandwidth "
                         f"{np.sqrt(kde.covariance.diagonal()).min():.3g} is far below the grid step {step:g}")
    return density / density.sum()


def pca_js_divergence(real: np.ndarray, generated: np.ndarray, spacing: float = 0.1) -> float:
    """Jensen-Shannon divergence between real and generated data in the real data's 2-D PCA plane
    (Saatchi & Wilson 2017, sec. 5.1).

    Both sets are projected on the first two principal components of ``real`` (scikit-learn ``PCA``),
    each density is a Gaussian KDE (``scipy.stats.gaussian_kde``, Scott's bandwidth) evaluated on a grid
    of ``spacing`` covering both projections (plus 3 bandwidths), normalised to a probability mass, and
    ``JS = (KL(p || m) + KL(q || m)) / 2`` with ``m = (p + q) / 2``, in nats (at most ``log 2``).

    The grid is bounded whatever the generated samples (a diverged generator's, at 1e30, would otherwise
    ask for terabytes): it never leaves the *window*, the real projection's range extended by half its
    width on each side, and has at most :data:`MAX_GRID_POINTS` points per axis (a wider window gets a
    coarser step; the synthetic data's window needs about 460 at 0.1). Generated samples outside the
    window are not smoothed: their fraction ``f`` is one more cell of ``q`` in which ``p`` is 0 (the real
    KDE's mass there is negligible: the window reaches ``n ** (1/6)`` real bandwidths, 3.7 for 2,500
    points, beyond the farthest real point), and ``q`` on the grid is the KDE of the samples inside,
    scaled to ``1 - f``. So far samples count as disjoint mass, the most divergent there is: all of them
    outside gives ``log 2``; half of them outside, the other half distributed as the real data, gives
    ``(log(4/3) + log(2/3) / 2 + log(2) / 2) / 2 = 0.216``.

    With every generated sample inside the real range (and so inside the window, and the grid of 3
    bandwidths within it, as for any reasonable generator) the grid and the value are those of the
    unbounded definition: to about 1e-8 (the projections are now computed in float64). With samples
    outside the window the value differs, and is closer to the true JS: the unbounded definition smooths
    every sample with one (Scott) bandwidth, which far samples inflate, blurring the near ones too (for
    the half-outside example above it gives 0.515 instead of 0.216, and needs minutes).

    Parameters
    ----------
    real, generated : numpy.ndarray, shapes ``(n, D)`` and ``(m, D)``
    spacing : float
        Grid step in PCA units.

    Raises
    ------
    ValueError
        If either set holds a non-finite value, or a KDE is singular (a collapsed generator: all samples
        inside the window identical, on a line, or fewer than 3) or has no mass on the grid.
    """
    from sklearn.decomposition import PCA

    real, generated = np.asarray(real, np.float64), np.asarray(generated, np.float64)
    for what, x in (("real data", real), ("generated samples", generated)):
        if not np.isfinite(x).all():
            raise ValueError(f"the {what} hold {int(np.size(x) - np.isfinite(x).sum())} non-finite values")
    pca = PCA(n_components=2).fit(real)
    a = pca.transform(real)
    with np.errstate(over="ignore", invalid="ignore"):
        b = pca.transform(generated)
    half = (a.max(0) - a.min(0)) / 2
    window = a.min(0) - half, a.max(0) + half
    inside = np.all((b >= window[0]) & (b <= window[1]), axis=1)  # False for an overflowed (inf, nan) projection
    b, outside = b[inside], 1.0 - inside.mean()
    ka = _kde(a, "real data")
    kb = _kde(b, f"generated samples near the real data ({len(b)} of {len(inside)})") if len(b) else None
    both = np.concatenate([a, b])
    pad = 3 * max(np.sqrt(k.covariance.diagonal()).max() for k in (ka, kb) if k is not None)
    lo, hi = np.maximum(both.min(0) - pad, window[0]), np.minimum(both.max(0) + pad, window[1])
    steps = [max(spacing, (hi[i] - lo[i]) / (MAX_GRID_POINTS - 1)) for i in range(2)]
    gx, gy = (np.arange(lo[i], hi[i] + steps[i], steps[i]) for i in range(2))
    grid = np.stack(np.meshgrid(gx, gy, indexing="ij")).reshape(2, -1)
    p = _grid_mass(ka, grid, min(steps), "real data")
    q = (1.0 - outside) * _grid_mass(kb, grid, min(steps), "generated samples") if kb is not None else np.zeros_like(p)
    m = 0.5 * (p + q)

    def kl(x):
        nz = x > 0
        return float(np.sum(x[nz] * np.log(x[nz] / m[nz])))

    return float(0.5 * (kl(p) + kl(q) + outside * np.log(2.0)))


def synthetic_metrics(real_eval: np.ndarray, samples: np.ndarray) -> dict:
    """The synthetic experiment's metrics: :func:`pca_js_divergence` of ``samples`` against ``real_eval``.

    Returns
    -------
    dict
        ``js_divergence`` (nats, or ``None`` where it cannot be computed, e.g. a collapsed generator whose
        KDE is singular, or non-finite samples; ``js_divergence_reason`` then says why), ``num_samples``,
        ``definition``.
    """
    out = {"js_divergence": None, "num_samples": int(len(samples)), "definition": JS_DEFINITION}
    try:
        out["js_divergence"] = pca_js_divergence(real_eval, samples)
    except ValueError as err:
        out["js_divergence_reason"] = str(err)
    return out


def high_quality_per_draw(x_generated: np.ndarray, modes: np.ndarray, sigma: float) -> np.ndarray:
    """Fraction of high-quality samples per ``(chain, draw)``: a function-space statistic."""
    c, d, s = x_generated.shape[:3]
    _, dist = nearest_mode(x_generated.reshape(-1, 2), modes)
    return (dist <= 3 * sigma).reshape(c, d, s).mean(axis=-1)


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
        import flax.linen as nn
        import jax
        import jax.numpy as jnp
        import optax

        self.num_classes = int(y.max()) + 1
        self.shape = (*image_shape, 1) if len(image_shape) == 2 else tuple(image_shape)
        num_classes = self.num_classes

        class Net(nn.Module):
            @nn.compact
            def __call__(self, images, features=False):
                h = images
                for channels in (32, 64):
                    h = nn.relu(nn.Conv(channels, (5, 5), strides=(2, 2))(h))
                h = nn.relu(nn.Dense(hidden)(h.reshape(len(h), -1)))
                return h if features else nn.Dense(num_classes)(h)

        self.net = Net()
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
    classifier : ImageClassifier or ConvClassifier, optional
        For labelled images: adds each particle's classes covered (a class holding at least
        ``min_fraction`` of that particle's samples, as :func:`classifier_metrics` counts).

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
            int((np.bincount(p, minlength=classifier.num_classes) / len(p) >= min_fraction).sum())
            for p in (classifier.predict(g) for g in generated)]
    return out


def data_copying_z(train: np.ndarray, held_out: np.ndarray, generated: np.ndarray) -> float:
    """Data-copying statistic of Meehan, Chaudhuri & Dasgupta (2020, sec. 3), without their cells.

    The Mann-Whitney U test between the nearest-training-point distances of the generated samples and of
    held-out real points, as a z-score. ``z << 0``: generated samples sit closer to the training points than
    fresh data does (memorised training points, overfitting); ``z >> 0``: farther (underfitting, blur);
    ``z ~ 0`` for a generator of the data distribution.

    Parameters
    ----------
    train : array, shape ``(N, D)``
        The training set the generator saw.
    held_out : array, shape ``(M, D)``
        Real points not trained on.
    generated : array, shape ``(G, D)``

    Returns
    -------
    float
        The z-score (dimensionless); ``nan`` if any input is empty. It is bounded: when every generated
        point is farther from the training set than every held-out point (U = G M), z reaches its maximum
        sqrt(3 G M / (G + M + 1)), 61.23 at G = M = 2,500, so "z = 61" in a table means "saturated", not a
        measured degree of underfitting.
    """
    from scipy.stats import mannwhitneyu
    from sklearn.neighbors import NearestNeighbors

    train, held_out, generated = (np.asarray(a, dtype=np.float64).reshape(len(a), -1)
                                  for a in (train, held_out, generated))
    if min(len(train), len(held_out), len(generated)) == 0:
        return float("nan")
    # scikit-learn picks a tree for low-dimensional points and brute force for images (where a k-d tree
    # visits nearly every leaf: ~50x slower at 784 dimensions)
    # (its brute-force distances are computed as |a|^2 + |b|^2 - 2ab, inexact by ~1e-7 for exact copies; the
    # distances to the neighbours it finds are recomputed exactly, so copies score 0 and ties stay ties)
    nn = NearestNeighbors(n_neighbors=1).fit(train)

    def nearest(x):
        return np.linalg.norm(x - train[nn.kneighbors(x, return_distance=False)[:, 0]], axis=1)

    d_gen, d_real = nearest(generated), nearest(held_out)
    u = mannwhitneyu(d_gen, d_real, alternative="two-sided").statistic
    n1, n2 = len(d_gen), len(d_real)
    return float((u - n1 * n2 / 2) / np.sqrt(n1 * n2 * (n1 + n2 + 1) / 12))


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


def convergence_diagnostics(stats: dict[str, np.ndarray]) -> dict:
    """Rank-normalised split R-hat and bulk/tail ESS (Vehtari et al. 2021, via ArviZ) of each statistic.

    Parameters
    ----------
    stats : dict of str to numpy.ndarray, shape ``(chain, draw)``

    Returns
    -------
    dict
        ``{name: {"rhat", "ess_bulk", "ess_tail"}}`` (tail ESS of the 5 % and 95 % quantiles); ``None``
        where undefined (one chain has no between-chain R-hat; too few draws).
    """

    def clean(v):
        v = float(np.asarray(v))
        return v if np.isfinite(v) else None

    out = {}
    for name, x in stats.items():
        x = np.asarray(x, dtype=np.float64)
        if x.shape[1] < 4:  # too few draws for split R-hat / ESS
            out[name] = {"rhat": None, "ess_bulk": None, "ess_tail": None}
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rhat = az.rhat(x, method="rank") if x.shape[0] > 1 else np.nan
            out[name] = {
                "rhat": clean(rhat),
                "ess_bulk": clean(az.ess(x, method="bulk")),
                "ess_tail": clean(az.ess(x, method="tail", prob=(0.05, 0.95))),
            }
    return out


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
        point), ``test_error_per_sample`` (mean error of the individual samples),
        ``test_error_supervised_only``, ``num_labelled`` and ``predictive_samples``.
    """
    from sklearn.neural_network import MLPClassifier

    probs = class_probs.reshape(-1, *class_probs.shape[2:]).mean(axis=0)
    single = (class_probs.argmax(-1) != eval_labels).mean(-1)
    picked = np.take_along_axis(probs, eval_labels[:, None], axis=-1)[:, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's convergence warnings on 100 examples
        clf = MLPClassifier(hidden_layer_sizes=tuple(hidden), max_iter=2000, random_state=seed)
        clf.fit(x_labelled, y_labelled)
    return {"test_error": float(np.mean(probs.argmax(-1) != eval_labels)),
            "test_nll": float(-np.mean(np.log(np.clip(picked, 1e-12, None)))),
            "test_error_per_sample": float(single.mean()),
            "test_error_supervised_only": float(np.mean(clf.predict(x_eval) != eval_labels)),
            "num_labelled": int(len(y_labelled)), "predictive_samples": int(np.prod(class_probs.shape[:2])),
            "definition": "Saatchi & Wilson 2017 sec. 4: argmax of p(y|x) averaged over discriminator samples; "
                          "supervised-only: sklearn MLP with the discriminator's hidden layers on the labels only"}


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


def anogan_scores(model, generator_params: dict, discriminator_params: dict, x: np.ndarray, *, steps: int = 200,
                  learning_rate: float = 0.05, feature_weight: float = 0.1, seed: int = 0) -> np.ndarray:
    """AnoGAN anomaly scores (Schlegl et al. 2017, "Unsupervised anomaly detection with generative adversarial
    networks to guide marker discovery", sec. 2.2), averaged over generator samples.

    For every point ``x`` and every generator sample ``G_j``, a latent ``z`` (started from ``N(0, I)``) is
    fitted by ``steps`` optax Adam steps on ``A(z) = (1 - lambda) ||x - G_j(z)||_1 + lambda ||f(x) -
    f(G_j(z))||_1`` (the residual and the discrimination loss; ``f``: the last hidden layer of discriminator
    ``j mod J_d``, :meth:`models.bgan.BayesGAN.discriminator_features`); the score is ``A`` at the last step,
    averaged over the ``J_g`` generator samples (Schlegl et al. use one generator, 500 steps).

    Parameters
    ----------
    model : models.bgan.BayesGAN
        With a plain (unconditional) head.
    generator_params, discriminator_params : dict of str to array
        ``J_g`` generator and ``J_d`` discriminator samples (leading axes), constrained.
    x : numpy.ndarray, shape ``(M, data_dim)``, float32
    steps, learning_rate : int, float
        The latent search (Adam).
    feature_weight : float
        ``lambda`` in [0, 1] (0.1 in the paper).
    seed : int
        The starting latents' key.

    Returns
    -------
    numpy.ndarray, shape ``(M,)``, float64
        Higher = more anomalous.

    Raises
    ------
    ValueError
        For a class-conditional model, ``steps < 1`` or ``feature_weight`` outside [0, 1].
    """
    import jax
    import jax.numpy as jnp
    import optax

    if model.conditional:
        raise ValueError("the AnoGAN score inverts an unconditional generator")
    if steps < 1 or not 0.0 <= feature_weight <= 1.0:
        raise ValueError(f"steps={steps} must be >= 1 and feature_weight={feature_weight} in [0, 1]")
    generator_params, discriminator_params = jax.tree.map(jnp.asarray, (generator_params, discriminator_params))
    num_gen = jax.tree.leaves(generator_params)[0].shape[0]
    num_disc = jax.tree.leaves(discriminator_params)[0].shape[0]
    x = jnp.asarray(x, jnp.float32)
    opt = optax.adam(learning_rate)

    def one_generator(j, gen, key):
        disc = jax.tree.map(lambda v: v[j % num_disc], discriminator_params)
        f_x = model.discriminator_features(disc, x)

        def loss(z):  # (M,) per point; the sum's gradient is each point's own
            g = model.generate(gen, z)
            return ((1 - feature_weight) * jnp.sum(jnp.abs(x - g), axis=-1)
                    + feature_weight * jnp.sum(jnp.abs(f_x - model.discriminator_features(disc, g)), axis=-1))

        def step(carry, _):
            z, state = carry
            grad = jax.grad(lambda z: jnp.sum(loss(z)))(z)
            updates, state = opt.update(grad, state, z)
            return (optax.apply_updates(z, updates), state), None

        z0 = model.sample_latent(key, (x.shape[0],))
        (z, _), _ = jax.lax.scan(step, (z0, opt.init(z0)), None, length=steps)
        return loss(z)

    keys = jax.random.split(jax.random.key(seed), num_gen)
    scores = jax.jit(jax.vmap(one_generator))(jnp.arange(num_gen), generator_params, keys)  # (J_g, M)
    return np.asarray(scores, np.float64).mean(axis=0)


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
