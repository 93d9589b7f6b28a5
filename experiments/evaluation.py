"""What a run's draws are measured by: per-draw function-space statistics and the figures of ``metrics.json``.

:func:`compute_metrics` applies the headline rule of docs/design.md: the SG-MCMC samplers' headline is the
posterior predictive (every post-warmup draw pooled), the optimisers' the final iterate; the other form is
stored beside it (``*_final_draw`` / ``*_pooled``). The dataset decides which figures
(:func:`sample_metrics`); a task adds its own (:mod:`experiments.tasks`).
"""

from __future__ import annotations

import numpy as np

from experiments import metrics as M
from experiments.datasets import Dataset
from experiments.diagnose import per_draw_stats


class FunctionSpace:
    """Per-draw function-space statistics of generated samples, computed chunk by chunk while sampling.

    ``x_mean``, ``x_std`` (every dataset), ``high_quality`` (Gaussian mixtures: fraction within 3 sigma of
    a mode) and ``class_entropy`` (digits: entropy of the classifier's class histogram).

    Parameters
    ----------
    data : experiments.datasets.Dataset
    classifier : experiments.metrics.ImageClassifier, optional
        For labelled image data.
    """

    def __init__(self, data: Dataset, classifier: M.ImageClassifier | None = None):
        self.data, self.classifier = data, classifier

    def __call__(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Statistics of ``x`` ``(chain, draw, sample, data_dim)``, each ``(chain, draw)``."""
        stats = per_draw_stats(x)
        if self.data.modes is not None:
            stats["high_quality"] = M.high_quality_per_draw(x, self.data.modes, self.data.sigma)
        if self.classifier is not None:
            finite = np.isfinite(x).all(axis=-1)  # a diverging particle's samples: no class, entropy nan
            pred = self.classifier.predict(np.where(finite[..., None], x, 0.0).reshape(-1, x.shape[-1]))
            stats["class_entropy"] = np.apply_along_axis(
                lambda p: -np.sum((q := np.bincount(p) / len(p))[q > 0] * np.log(q[q > 0])), 2,
                pred.reshape(x.shape[:3]))
            stats["class_entropy"][~finite.all(axis=-1)] = np.nan
        return stats

    def headline(self, x: np.ndarray) -> dict[str, str]:
        """The progress bar's figure for the latest draw ``x`` ``(chain, sample, data_dim)``."""
        samples = x.reshape(-1, x.shape[-1])
        if self.data.modes is not None:
            m = M.mixture_metrics(samples[: M.NUM_METRIC_SAMPLES], self.data.modes, self.data.sigma)
            return {"modes": f"{m['modes']}/{len(self.data.modes)}", "hq": f"{100 * m['high_quality']:.0f}%"}
        if self.classifier is not None:
            classes = np.unique(self.classifier.predict(np.nan_to_num(samples[: M.NUM_METRIC_SAMPLES])))
            return {"classes": f"{len(classes)}/{self.classifier.num_classes}"}
        return {"x_std": f"{samples.std():.3g}"}


def metrics_classifier(data: Dataset, kind: str = "mlp"):
    """The metrics classifier: the dataset's own (:attr:`Dataset.metrics_classifier`, e.g. Stacked MNIST's
    :class:`experiments.metrics.StackedClassifier`), else one fitted to the full training split
    (:attr:`Dataset.reference`) only: ``kind`` ``"mlp"`` is :class:`experiments.metrics.ImageClassifier`,
    ``"cnn"`` :class:`experiments.metrics.ConvClassifier` (image data only). ``None`` for unlabelled data."""
    if data.metrics_classifier is not None:
        return data.metrics_classifier
    if data.train_labels is None:
        return None
    if kind == "cnn" and data.image_shape is not None:
        return M.ConvClassifier(*data.reference, data.image_shape)
    return M.ImageClassifier(*data.reference)


#: Keys of a quality-figure dict that describe the real data or the definition, not the samples: stored
#: once, not per variant.
SHARED_KEYS = ("definition", "frechet_classifier_distance_real", "classifier_eval_accuracy", "minority_classes",
               "minority_accuracy_real_only", "balanced_accuracy_real_only", "test_error_supervised_only",
               "test_nll_supervised_only", "test_ece_supervised_only",
               "auroc_knn", "auroc_isolation_forest", "num_labelled", "num_anomalies", "num_eval",
               "channel_classifier_accuracy", "modes_real", "kl_uniform_real")
POOLED, FINAL = "_pooled", "_final_draw"
#: The figures whose value depends on how many samples they count (a mode of mass 1e-4 is found with
#: probability 0.22 in 2,500 samples and 0.92 in 25,000; a uniform generator's plug-in reverse KL on grid25 is
#: ~0.005 at 2,500 and ~0.0005 at 25,000: (K - 1) / 2n). The pool also reports them at the final draw's
#: count (:data:`experiments.metrics.NUM_METRIC_SAMPLES`, the published rows' 2,500) as ``<key>_pooled_2500``
#: (on Stacked MNIST, whose two forms both count 25,600, a smaller-count reading only).
COUNT_KEYS = ("modes", "high_quality", "reverse_kl", "num_high_quality", "classes_covered", "class_kl", "kl_uniform",
              "num_samples")
POOLED_EQUAL = f"_pooled_{M.NUM_METRIC_SAMPLES}"


def equal_count_figures(data: Dataset, pooled: np.ndarray, classifier=None) -> dict:
    """The count-dependent figures (:data:`COUNT_KEYS`) of :data:`experiments.metrics.NUM_METRIC_SAMPLES`
    samples of the pooled draws, spread evenly over every chain and draw
    (:func:`experiments.metrics.metric_samples`), under ``<key>_pooled_2500`` (``num_samples_pooled_2500``
    says how many, fewer where the pool is smaller); ``{}`` for data without count-dependent figures (the
    synthetic set's JS already uses 2,500 samples).

    Parameters
    ----------
    data : experiments.datasets.Dataset
    pooled : numpy.ndarray, shape ``(chain, draw, sample, data_dim)``
        The pooled draws.
    classifier : experiments.metrics.ImageClassifier, optional
        For labelled image data.
    """
    first = M.metric_samples(pooled, pooled.shape[1], M.NUM_METRIC_SAMPLES)
    if data.name == "synthetic":
        return {}
    if data.modes is not None:
        figs = M.mixture_metrics(first, data.modes, data.sigma)
    elif isinstance(classifier, M.StackedClassifier):
        figs = classifier.metrics(first)
    elif classifier is not None:
        figs = M.classifier_metrics(classifier, first, data.eval, data.eval_labels)
    else:
        return {}
    return {f"{k}{POOLED_EQUAL}": v for k, v in figs.items() if k in COUNT_KEYS}


def sample_metrics(data: Dataset, samples: np.ndarray, classifier: M.ImageClassifier | None = None) -> dict:
    """Quality and diversity figures of one pool of generated samples ``(n, data_dim)``, in an order that
    spreads every prefix evenly over chains and draws (:func:`experiments.metrics.metric_samples`): Saatchi
    & Wilson's JS divergence (synthetic), mode coverage (Gaussian mixtures) or classifier figures (labelled
    images), and the data-copying z of Meehan et al. (2020).

    Counting figures (modes, high quality, reverse KL, classes covered, class KL) use every sample given
    (:func:`compute_metrics` adds the pool's at 2,500 samples, :func:`equal_count_figures`); the estimators
    whose value depends on the sample count (JS of KDEs, Fréchet distance, z) use the first
    :data:`experiments.metrics.NUM_METRIC_SAMPLES` (2,500), so they compare across pools of any size. Stacked
    MNIST (a :class:`experiments.metrics.StackedClassifier`): modes, KL to uniform and the channel
    histograms of every sample given, and the classifier's floor on real stacks
    (:func:`experiments.metrics.stacked_floor`)."""
    first = samples[: M.NUM_METRIC_SAMPLES]
    if isinstance(classifier, M.StackedClassifier):  # Stacked MNIST: modes and KL of every sample given
        # (no data-copying z: a nearest-neighbour search over 128,000 stacks of 2,352 pixels per pool)
        return classifier.metrics(samples) | classifier.floor | {"definition": classifier.definition}
    if data.name == "synthetic":
        out = M.synthetic_metrics(data.eval, first)
    elif data.modes is not None:
        out = M.mixture_metrics(samples, data.modes, data.sigma)
        out["definition"] = "VEEGAN (Srivastava et al. 2017) / PacGAN (Lin et al. 2018): 3-sigma high quality"
    else:
        out = M.classifier_metrics(classifier, samples, data.eval, data.eval_labels)
        if len(samples) > len(first):
            out["frechet_classifier_distance"] = M.classifier_metrics(
                classifier, first, data.eval, data.eval_labels)["frechet_classifier_distance"]
        out["frechet_classifier_distance_real"] = M.frechet_distance(
            classifier.features(data.reference[0]), classifier.features(data.eval))
        out["classifier_eval_accuracy"] = float((classifier.predict(data.eval) == data.eval_labels).mean())
        out["definition"] = classifier.definition
    out["data_copying_z"] = M.data_copying_z(data.train, data.eval, first)
    return out


def headline_and_variant(headline: dict | None, variant: dict | None, suffix: str) -> dict:
    """``headline``'s figures as they are, ``variant``'s under ``<key><suffix>`` (shared keys once)."""
    out = dict(headline or {})
    for k, v in (variant or {}).items():
        if k in SHARED_KEYS:
            out.setdefault(k, v)
        else:
            out[f"{k}{suffix}"] = v
    return out


def compute_metrics(data: Dataset, x_generated: np.ndarray, metric_draws: int,
                    d_eval: np.ndarray | None = None, *, stats: dict[str, np.ndarray] | None = None,
                    classifier: M.ImageClassifier | None = None, num_warmup_draws: int = 0,
                    pooled: np.ndarray | None = None, pooled_headline: bool = True,
                    pooled_draws: str = "post-warmup") -> dict:
    """The figures of ``metrics.json``, with the last draw's per-particle spread
    (:func:`experiments.metrics.particle_spread`: ``particle_spread``, ``collapsed_particles`` and, on
    labelled images, ``classes_per_particle``).

    Parameters
    ----------
    data : experiments.datasets.Dataset
    x_generated : numpy.ndarray, shape ``(chain, draw, sample, data_dim)``
        At least the last ``metric_draws`` draws: the final-draw figures use 2,500 of their samples
        (:attr:`Dataset.num_metric_samples` where the dataset sets one).
    metric_draws : int
    d_eval : numpy.ndarray, shape ``(disc_chain, draw)``, optional
        The discriminators' mean output on fixed real points, every draw: adds the discriminator's
        function-space diagnostics (post-warmup draws).
    stats : dict of str to numpy.ndarray, optional
        :class:`FunctionSpace` statistics of every draw (default: computed from ``x_generated``, which then
        must hold every draw); R-hat and ESS use the post-warmup draws.
    classifier : experiments.metrics.ImageClassifier, optional
        Trained on ``data`` (labelled image data; trained here if absent).
    num_warmup_draws : int
        Draws recorded during warmup (excluded from the pooled figures and the diagnostics).
    pooled : numpy.ndarray, shape ``(chain, draw, sample, data_dim)``, optional
        The post-warmup draws (or the samples of them the pool uses); default: ``x_generated``'s
        post-warmup draws, which it then must hold. Its figures pool up to
        :data:`experiments.metrics.NUM_POOLED_SAMPLES` samples (:attr:`Dataset.num_metric_samples` where the
        dataset sets one) evenly over every chain and draw
        (:func:`experiments.metrics.metric_samples`): the posterior predictive.
    pooled_headline : bool
        True (samplers): the headline figures are the pooled ones and the final-draw figures go under
        ``*_final_draw``; False (optimisers): the headline is the final iterate and the pooled figures go
        under ``*_pooled``.
    pooled_draws : str
        What the pooled draws are, for the headline's text: ``"post-warmup"``, or ``"sampling-stage"`` for a
        cyclical schedule (whose exploration draws are filed with the warmup draws).

    Returns
    -------
    dict
        The headline's figures, the other form's under ``*_final_draw`` / ``*_pooled``, the sample counts
        ``final_draw_samples`` and ``pooled_samples``, and the count-dependent pooled figures at the final
        draw's count under ``*_pooled_2500`` (:func:`equal_count_figures`).
    """
    if data.train_labels is not None and classifier is None:
        classifier = metrics_classifier(data)
    if stats is None:
        stats = FunctionSpace(data, classifier)(x_generated)
    if pooled is None:
        pooled = x_generated[:, num_warmup_draws:]
    final_samples = M.metric_samples(x_generated, metric_draws, data.num_metric_samples or M.NUM_METRIC_SAMPLES)
    final = sample_metrics(data, final_samples, classifier)
    pool_count = data.num_metric_samples or M.NUM_POOLED_SAMPLES
    pool_samples = M.metric_samples(pooled, pooled.shape[1], pool_count) if pooled.shape[1] else None
    pool = sample_metrics(data, pool_samples, classifier) if pool_samples is not None else None
    if pooled_headline and pool is not None:
        out = headline_and_variant(pool, final, FINAL) | {"headline": f"posterior predictive: {pooled_draws} draws pooled"}
    else:
        out = headline_and_variant(final, pool, POOLED) | {"headline": f"final {metric_draws} draw(s)" + (
            "" if pool is not None or not pooled_headline else " (no post-warmup draw kept)")}
    out["final_draw_samples"] = int(len(final_samples))
    if pool_samples is not None:  # the pool again at the final draw's count: equal-count comparisons
        out |= {"pooled_samples": int(len(pool_samples))} | equal_count_figures(data, pooled, classifier)
    last = x_generated[:, -1]  # the last draw's particles
    if isinstance(classifier, M.StackedClassifier):  # each particle's modes at one count (any J_g), any sample
        out |= M.particle_spread(last[:, :M.NUM_STACKED_SAMPLES // 10], data.train_points(), classifier, 0.0)
    else:
        out |= M.particle_spread(last, data.train_points(), classifier)
    post = {k: v[:, num_warmup_draws:] for k, v in stats.items()}
    out["function_space_diagnostics"] = M.convergence_diagnostics(post)
    if d_eval is not None:
        out["discriminator_function_space_diagnostics"] = M.convergence_diagnostics(
            {"d_eval": d_eval[:, num_warmup_draws:]})
    return out
