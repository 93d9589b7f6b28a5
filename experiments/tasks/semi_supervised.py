"""Semi-supervised classification with few labels (Saatchi & Wilson 2017, sec. 4; Salimans et al. 2016)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from experiments.errors import ConfigError, check
from experiments.tasks.base import MetricInputs, Task, TaskSetup, num_classes
from models.networks import MLPConfig


def labelled_subset(data, per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` training examples of every class, drawn with ``seed``: the labels a semi-supervised
    run may use (``(K per_class, data_dim)`` images and their classes, class by class).

    The rule of Salimans et al.'s script (openai/improved-gan, ``train_mnist_feature_matching.py``, and the
    replica scripts/ssl_reference.py with ``--seed_data seed``): permute the training set with
    ``numpy.random.RandomState(seed)`` and take the first ``per_class`` of each class in that order.

    Raises
    ------
    ConfigError
        If the data has no labels or a class has fewer than ``per_class`` examples.
    """
    if data.train_labels is None:
        raise ConfigError(f"experiment.task='semi_supervised' is invalid: dataset {data.name!r} has no labels")
    counts = np.bincount(data.train_labels)
    if per_class > counts.min():
        raise ConfigError(f"experiment.labels_per_class={per_class} is invalid: the rarest class of {data.name} has "
                          f"{counts.min()} training examples")
    order = np.random.RandomState(seed).permutation(len(data.train_labels))
    idx = np.concatenate([order[data.train_labels[order] == k][:per_class] for k in range(len(counts))])
    return data.train[idx], data.train_labels[idx]


@dataclass(frozen=True)
class SemiSupervised(Task):
    """``experiment.labels_per_class`` labelled training images per class (drawn by ``experiment.labels_seed``,
    default the run's seed: :func:`labelled_subset`), every training
    image unlabelled too, a K + 1-class discriminator (:class:`models.heads.SemiSupervisedHead`) whose
    ``p(y | x)`` is averaged over discriminator particles and draws: ``test_error``, ``test_nll`` and the
    calibration error ``test_ece`` (15 bins; the bins as ``reliability``), beside a supervised-only
    classifier on the same labels."""

    name = "semi_supervised"
    eval_points = True
    columns = (("test_error", "pooled"), ("test_error", "final"), ("test_error_ema", None),
               ("test_error_supervised_only", None), ("test_nll", "pooled"), ("test_ece", "pooled"),
               ("test_ece_ema", None), ("wall_seconds", None))
    fractions = True
    baselines = (("test_error", "test_error_supervised_only", -1), ("test_nll", "test_nll_supervised_only", -1),
                 ("test_ece", "test_ece_supervised_only", -1))

    def validate(self, e) -> None:
        check(e.labels_per_class >= 1, "experiment.labels_per_class", "an integer >= 1", e.labels_per_class)
        check(e.labels_seed is None or 0 <= e.labels_seed < 2**32, "experiment.labels_seed",
              "an integer in [0, 2^32), or null for the run's seed", e.labels_seed)
        check(e.labelled_weight is None or (math.isfinite(e.labelled_weight) and e.labelled_weight > 0),
              "experiment.labelled_weight", "a number > 0, or null for N / N_s", e.labelled_weight)
        check(math.isfinite(e.unlabelled_weight) and e.unlabelled_weight >= 0, "experiment.unlabelled_weight",
              "a number >= 0 (1: the semi-supervised GAN; 0: the labelled term alone)", e.unlabelled_weight)

    def prepare(self, cfg, data) -> TaskSetup:
        import jax.numpy as jnp

        from models.heads import SemiSupervisedHead

        e = cfg.experiment
        x_lab, y_lab = labelled_subset(data, e.labels_per_class, cfg.seed if e.labels_seed is None else e.labels_seed)
        weight = e.labelled_weight if e.labelled_weight is not None else len(data.train) / len(y_lab)
        head = SemiSupervisedHead(num_classes=num_classes(data), x_labelled=jnp.asarray(x_lab),
                                  y_labelled=jnp.asarray(y_lab), labelled_weight=float(weight),
                                  unlabelled_weight=float(e.unlabelled_weight))
        return TaskSetup(head=head, train=data.train, context={"labelled": (x_lab, y_lab)})

    def final_metrics(self, inputs: MetricInputs) -> dict | None:
        """With a moving average of the weights (``inference.ema_decay``): ``test_error_ema`` and
        ``test_nll_ema``, the averaged discriminators' predictive on the test points."""
        if inputs.averaged_position is None:
            return None
        import jax
        import jax.numpy as jnp

        from experiments import metrics as M

        disc = jax.tree.map(jnp.asarray, inputs.averaged_position[1])
        probs = jax.vmap(inputs.model.class_probabilities, in_axes=(0, None))(disc, jnp.asarray(inputs.data.eval))
        figures = M.predictive_figures(np.asarray(probs), inputs.data.eval_labels)
        return {f"{k}_ema": v for k, v in figures.items()}

    def metrics(self, inputs: MetricInputs, first: int, stop: int) -> dict:
        from experiments import metrics as M

        x_lab, y_lab = inputs.setup.context["labelled"]
        data, net = inputs.data, inputs.cfg.network
        # the scikit-learn baseline has the discriminator's hidden widths where the architecture has them, else
        # the experiment's MLP widths (what it had before the network group), else the MLP default
        mlp_block = (inputs.cfg.experiment.network or {}).get("mlp") or {}
        hidden = (net.get("discriminator_hidden") or mlp_block.get("discriminator_hidden")
                  or MLPConfig().discriminator_hidden)
        return M.semi_supervised_metrics(inputs.read(first, stop, key="disc_points/class_probs"), data.eval,
                                         data.eval_labels, x_lab, y_lab, tuple(hidden),
                                         seed=inputs.cfg.seed)
