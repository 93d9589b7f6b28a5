"""Anomaly detection by the discriminator's posterior: one class held out of training, the held-out split
scored."""

from __future__ import annotations

from dataclasses import dataclass

from experiments.errors import check
from experiments.tasks.base import MetricInputs, Task


@dataclass(frozen=True)
class Anomaly(Task):
    """``experiment.dataset.held_out_class`` is absent from training; every held-out image is scored by the
    mean and the spread of ``D(x)`` over the discriminator posterior: ``auroc``, ``auroc_spread``, and by the
    AnoGAN score (Schlegl et al. 2017) averaged over the final state's generator samples (``auroc_anogan``),
    beside a k-nearest-neighbour baseline (``auroc_knn``) and an isolation forest (``auroc_isolation_forest``)."""

    name = "anomaly"
    eval_points = True
    columns = (("auroc", "pooled"), ("auroc", "final"), ("auroc_spread", "pooled"), ("auroc_knn", None),
               ("auroc_anogan", None), ("auroc_isolation_forest", None),
               ("wall_seconds", None))
    fractions = True
    baselines = (("auroc", "auroc_knn", 1), ("auroc_spread", "auroc_knn", 1), ("auroc_anogan", "auroc_knn", 1))

    def validate(self, e) -> None:
        check(e.dataset.held_out_class is not None, "experiment.dataset.held_out_class",
              "the class held out of training as the anomaly (experiment.task='anomaly')", e.dataset.held_out_class)

    def metrics(self, inputs: MetricInputs, first: int, stop: int) -> dict:
        from experiments import metrics as M

        data = inputs.data
        return M.anomaly_metrics(inputs.read(first, stop, key="disc_points/d_real"),
                                 data.eval_labels == inputs.cfg.experiment.dataset.held_out_class,
                                 data.train, data.eval, seed=inputs.cfg.seed)

    def final_metrics(self, inputs: MetricInputs) -> dict:
        """``auroc_anogan``: AUROC of the AnoGAN score (:func:`experiments.metrics.anogan_scores`) averaged over
        the final state's ``J_g`` generator samples (one for the ML twin)."""
        from sklearn.metrics import roc_auc_score

        from experiments import metrics as M

        data = inputs.data
        scores = M.anogan_scores(inputs.model, *inputs.final_position, data.eval, seed=inputs.cfg.seed)
        is_anomaly = data.eval_labels == inputs.cfg.experiment.dataset.held_out_class
        return {"auroc_anogan": float(roc_auc_score(is_anomaly, scores)),
                "anogan_generators": int(len(next(iter(inputs.final_position[0].values()))))}
