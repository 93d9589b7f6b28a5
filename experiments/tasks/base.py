"""The task interface: what varies between plain generation and the applications.

A task is a frozen object registered in :data:`experiments.tasks.TASKS` under the name that
``experiment.task`` selects. It owns its config checks, its data preparation (labelled subsets, held-out
class, class imbalance, an autoencoder start), the model head it needs (:mod:`models.heads`), whether the
discriminators are evaluated on every held-out point, its metrics and its ``bgan-summarize`` columns. The
run loop (:mod:`experiments.run`) looks the task up once and calls these methods; it never branches on the
task's name.

This module imports no JAX (the config is validated before ``jax.distributed`` starts); tasks import
what they need inside their methods.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True)
class TaskSetup:
    """What a task prepares once per run (:meth:`Task.prepare`).

    Attributes
    ----------
    head : models.heads.Head
        The head of the model.
    train : numpy.ndarray, shape ``(N, data_dim)`` or ``(N, data_dim + 1)``, float32
        The training array the inference algorithm minibatches (a conditional head's has the label last).
    init_position : (dict, dict), optional
        Starting generator and discriminator weights shared by every particle (else prior draws).
    extra_metrics : dict
        Figures of the preparation itself, added to ``metrics.json`` (e.g. ``autoencoder_mse``).
    context : dict
        Whatever the task's :meth:`Task.metrics` needs again (e.g. the labelled subset).
    """

    head: Any
    train: np.ndarray
    init_position: tuple[dict, dict] | None = None
    extra_metrics: dict = field(default_factory=dict)
    context: dict = field(default_factory=dict)


@dataclass(frozen=True)
class MetricInputs:
    """What :meth:`Task.metrics` reads.

    Attributes
    ----------
    cfg : omegaconf.DictConfig
        The validated config.
    data : experiments.datasets.Dataset
    setup : TaskSetup
    read : callable
        ``read(first, stop, key="x_generated", per_draw=None) -> (chain, draw, ...)`` array of the stored
        draws ``first .. stop - 1`` (``per_draw``: the first samples of each draw only).
    num_chains : int
    model : models.bgan.BayesGAN, optional
        The run's model (for figures that need the networks, e.g. AnoGAN's latent search).
    final_position : (dict, dict), optional
        The final state's generator and discriminator samples (constrained, leading particle axes
        ``J_g`` / ``J_d``); ``None`` when the run diverged or ran on several processes.
    averaged_position : (dict, dict), optional
        The final moving average of the weights (``inference.ema_decay``; :mod:`inference.averaging`), as
        ``final_position``; ``None`` without an average.
    """

    cfg: Any
    data: Any
    setup: TaskSetup
    read: Callable[..., np.ndarray]
    num_chains: int
    model: Any = None
    final_position: tuple[dict, dict] | None = None
    averaged_position: tuple[dict, dict] | None = None


@dataclass(frozen=True)
class Task:
    """Plain generation; the base every task refines.

    Class attributes
    ----------------
    name : str
        The ``experiment.task`` value.
    eval_points : bool
        Record every held-out point's ``D(x)`` (and class probabilities) at every draw, for the task's
        metrics; else only the mean over 256 fixed points (a function-space diagnostic).
    columns : tuple of (str, str or None)
        ``bgan-summarize``'s columns ``(key, kind)`` for this task's figures (kind ``"pooled"``, ``"final"``
        or ``None``; see :func:`experiments.summarize.columns`); empty: the dataset's columns only.
    fractions : bool
        The columns' figures are fractions (printed with three decimals).
    baselines : tuple of (str, str, int)
        ``(key, baseline_key, sign)``: a figure and the baseline computed in the same run on the same data
        (e.g. ``test_error`` and ``test_error_supervised_only``); ``bgan-summarize`` reports their paired
        per-seed difference with its interval (:func:`experiments.summarize.baseline_table`). ``sign`` +1:
        higher is better, -1: lower is better.
    """

    name: ClassVar[str] = "generation"
    eval_points: ClassVar[bool] = False
    columns: ClassVar[tuple] = ()
    fractions: ClassVar[bool] = False
    baselines: ClassVar[tuple] = ()

    def validate(self, experiment) -> None:
        """Check the experiment's keys this task reads.

        Raises
        ------
        experiments.schema.ConfigError
            Naming the bad key and what is valid.
        """

    def prepare(self, cfg, data) -> TaskSetup:
        """The head, training array and start of a run of ``cfg`` on ``data``.

        Raises
        ------
        experiments.schema.ConfigError
            If the data cannot serve this task as configured.
        """
        from models.heads import PlainHead

        return TaskSetup(head=PlainHead(), train=data.train)

    def metrics(self, inputs: MetricInputs, first: int, stop: int) -> dict | None:
        """The task's figures of draws ``first .. stop - 1`` (``None``: none beyond the dataset's)."""
        return None

    def final_metrics(self, inputs: MetricInputs) -> dict | None:
        """The task's figures of the final state's samples (``inputs.final_position``), computed once per
        run (``None``: none)."""
        return None


def num_classes(data) -> int:
    """``K``: the largest training label plus one."""
    return int(data.train_labels.max()) + 1
