"""Class-imbalanced generation and augmentation (BAGAN, Mariani et al. 2018): a class-conditional GAN
started from an autoencoder, whose minority-class samples (``class_imbalance``) or samples of every class
(``augmentation``, for low data) augment a classifier's training set."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from experiments.errors import check
from experiments.tasks.base import MetricInputs, Task, TaskSetup, num_classes


def bagan_start(cfg, data):
    """BAGAN's autoencoder initialisation (:func:`experiments.tasks.autoencoder.pretrain_autoencoder`) for
    ``cfg``: decoder = the generator's architecture, encoder = the discriminator's with ``latent_dim``
    outputs, ``experiment.autoencoder_steps`` Adam steps on every training image.

    Returns
    -------
    experiments.tasks.autoencoder.AutoencoderStart
    """
    from experiments.build import experiment_networks
    from experiments.tasks.autoencoder import pretrain_autoencoder

    e = cfg.experiment
    decoder, encoder = experiment_networks(cfg, data, e.latent_dim, seed=cfg.seed)
    return pretrain_autoencoder(decoder, encoder, data.train, data.train_labels, num_classes=num_classes(data),
                                steps=e.autoencoder_steps, batch_size=e.batch_size, seed=cfg.seed)


@dataclass(frozen=True)
class ClassImbalance(Task):
    """``experiment.dataset.minority_classes`` cut down in training; the generator is BAGAN's
    (:class:`models.heads.ConditionalHead`, every class generated equally often), and its minority samples
    augment a classifier: ``minority_accuracy``, ``balanced_accuracy``, beside real-only training."""

    name = "class_imbalance"
    eval_points = True
    columns = (("minority_accuracy", "pooled"), ("minority_accuracy", "final"), ("minority_accuracy_real_only", None),
               ("balanced_accuracy", "pooled"), ("balanced_accuracy_real_only", None), ("wall_seconds", None))
    fractions = True
    baselines = (("minority_accuracy", "minority_accuracy_real_only", 1),
                 ("balanced_accuracy", "balanced_accuracy_real_only", 1))

    def validate(self, e) -> None:
        check(bool(e.dataset.minority_classes), "experiment.dataset.minority_classes",
              "a non-empty list of classes cut down (experiment.task='class_imbalance')", e.dataset.minority_classes)
        check(e.autoencoder_steps >= 1, "experiment.autoencoder_steps", "an integer >= 1", e.autoencoder_steps)

    def prepare(self, cfg, data) -> TaskSetup:
        import jax.numpy as jnp

        from models.heads import ConditionalHead

        autoencoder = bagan_start(cfg, data)
        head = ConditionalHead(num_classes=num_classes(data), latent_means=jnp.asarray(autoencoder.latent_means),
                               latent_chols=jnp.asarray(autoencoder.latent_chols))
        train = np.concatenate([data.train, data.train_labels[:, None].astype(np.float32)], axis=1)
        return TaskSetup(head=head, train=train, init_position=autoencoder[:2],
                         extra_metrics={"autoencoder_mse": autoencoder.reconstruction_mse})

    def metrics(self, inputs: MetricInputs, first: int, stop: int) -> dict:
        from experiments import metrics as M

        data, e = inputs.data, inputs.cfg.experiment
        n = math.ceil(M.NUM_METRIC_SAMPLES / (inputs.num_chains * (stop - first)))
        x = inputs.read(first, stop, per_draw=n)
        c = inputs.read(first, stop, key="class_generated", per_draw=n)
        return M.imbalance_metrics(M.metric_samples(x, x.shape[1]), M.metric_samples(c[..., None], c.shape[1])[:, 0],
                                   data.train, data.train_labels, data.eval, data.eval_labels,
                                   list(e.dataset.minority_classes), seed=inputs.cfg.seed)


@dataclass(frozen=True)
class Augmentation(ClassImbalance):
    """Low-data augmentation: BAGAN's class-conditional generator (as :class:`ClassImbalance`) trained on the
    few real images of every class (``experiment.dataset.num_per_class``); ``experiment.generated_per_class``
    samples of every class are added to them for a downstream classifier: ``test_accuracy`` beside
    ``test_accuracy_real_only`` (:func:`experiments.metrics.augmentation_metrics`)."""

    name = "augmentation"
    columns = (("test_accuracy", "pooled"), ("test_accuracy", "final"), ("test_accuracy_real_only", None),
               ("wall_seconds", None))
    baselines = (("test_accuracy", "test_accuracy_real_only", 1),)

    def validate(self, e) -> None:
        check(e.autoencoder_steps >= 1, "experiment.autoencoder_steps", "an integer >= 1", e.autoencoder_steps)
        check(e.generated_per_class >= 1, "experiment.generated_per_class", "an integer >= 1", e.generated_per_class)

    def metrics(self, inputs: MetricInputs, first: int, stop: int) -> dict:
        from experiments import metrics as M

        data, e = inputs.data, inputs.cfg.experiment
        n = math.ceil(M.NUM_METRIC_SAMPLES / (inputs.num_chains * (stop - first)))
        x = inputs.read(first, stop, per_draw=n)
        c = inputs.read(first, stop, key="class_generated", per_draw=n)
        return M.augmentation_metrics(M.metric_samples(x, x.shape[1]), M.metric_samples(c[..., None], c.shape[1])[:, 0],
                                      data.train, data.train_labels, data.eval, data.eval_labels,
                                      e.generated_per_class, seed=inputs.cfg.seed)
