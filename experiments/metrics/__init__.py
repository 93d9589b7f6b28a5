"""Quality, diversity and convergence metrics of generated samples, one module per subject.

Every function reads generated samples as numpy arrays; the run computes them from the very
``posterior_predictive/x_generated`` array it stores in ``posterior.nc``.

- :mod:`~experiments.metrics.sampling` -- which samples a figure is computed on (``metric_samples``, the counts).
- :mod:`~experiments.metrics.mixture` -- mode coverage on the Gaussian mixtures.
- :mod:`~experiments.metrics.js` -- the synthetic experiment's JS divergence in the real data's PCA plane.
- :mod:`~experiments.metrics.classifiers` -- the metrics classifiers, class coverage, classifier Fréchet
  distance, the semi-supervised test error.
- :mod:`~experiments.metrics.collapse` -- per-particle collapse (``particle_spread``).
- :mod:`~experiments.metrics.copying` -- the data-copying statistic.
- :mod:`~experiments.metrics.convergence` -- R-hat and ESS of function-space statistics.
- :mod:`~experiments.metrics.anomaly` -- AUROC of the discriminator's anomaly scores, non-GAN baselines.
- :mod:`~experiments.metrics.anogan` -- the AnoGAN score.
- :mod:`~experiments.metrics.augmentation` -- generated images added to a classifier's training set.
- :mod:`~experiments.metrics.stacked` -- modes and KL on Stacked MNIST (1,000 digit triples).

Every public name is re-exported here (``from experiments import metrics as M; M.mixture_metrics(...)``).
JAX, flax, optax and scikit-learn are imported by the functions that use them, when called.
"""

from __future__ import annotations

from experiments.metrics.anogan import anogan_scores
from experiments.metrics.anomaly import anomaly_metrics
from experiments.metrics.augmentation import augmentation_metrics, downstream_predictions, imbalance_metrics
from experiments.metrics.classifiers import (CALIBRATION_BINS, METRICS_CLASSIFIERS, ConvClassifier, ImageClassifier,
                                             calibration, classifier_metrics, frechet_distance, predictive_figures,
                                             semi_supervised_metrics)
from experiments.metrics.collapse import COLLAPSE_RATIO, particle_spread
from experiments.metrics.convergence import convergence_diagnostics
from experiments.metrics.copying import data_copying_z
from experiments.metrics.js import JS_DEFINITION, MAX_GRID_POINTS, pca_js_divergence, synthetic_metrics
from experiments.metrics.mixture import high_quality_per_draw, mixture_metrics, nearest_mode
from experiments.metrics.sampling import NUM_METRIC_SAMPLES, NUM_POOLED_SAMPLES, metric_samples
from experiments.metrics.stacked import (NUM_STACKED_SAMPLES, STACKED_DEFINITION, StackedClassifier, channel_digits,
                                         mode_ids, stacked_floor, stacked_metrics)

__all__ = [
    "CALIBRATION_BINS", "COLLAPSE_RATIO", "ConvClassifier", "ImageClassifier", "JS_DEFINITION", "MAX_GRID_POINTS", "METRICS_CLASSIFIERS",
    "NUM_METRIC_SAMPLES", "NUM_POOLED_SAMPLES", "anogan_scores", "anomaly_metrics", "augmentation_metrics",
    "calibration", "classifier_metrics", "convergence_diagnostics", "data_copying_z", "downstream_predictions", "frechet_distance",
    "high_quality_per_draw", "imbalance_metrics", "metric_samples", "mixture_metrics", "nearest_mode",
    "particle_spread", "pca_js_divergence", "predictive_figures", "semi_supervised_metrics", "synthetic_metrics",
    "NUM_STACKED_SAMPLES", "STACKED_DEFINITION", "StackedClassifier", "channel_digits", "mode_ids", "stacked_floor", "stacked_metrics",
]
