"""Plain generation: the Bayesian GAN of Saatchi & Wilson (2017) judged by its samples alone. The
low-data and held-out-class experiments are this task on a cut-down dataset."""

from __future__ import annotations

from dataclasses import dataclass

from experiments.tasks.base import Task


@dataclass(frozen=True)
class Generation(Task):
    """Generation quality and diversity (the dataset's figures, :func:`experiments.evaluation.sample_metrics`)."""
