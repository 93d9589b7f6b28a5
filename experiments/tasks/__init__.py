"""The ``TASKS`` registry: what a run is for (``experiment.task``).

Each task (:class:`experiments.tasks.base.Task`) owns its config checks, data preparation, model head,
evaluation points, metrics and summary columns; :mod:`experiments.run` looks it up once. A new task is one
module with a :class:`~experiments.tasks.base.Task` subclass and one line in :data:`TASKS` (or
:func:`register` from outside the package; docs/extending.md shows both).
"""

from __future__ import annotations

from experiments.tasks.anomaly import Anomaly
from experiments.tasks.base import MetricInputs, Task, TaskSetup
from experiments.tasks.class_imbalance import Augmentation, ClassImbalance
from experiments.tasks.generation import Generation
from experiments.tasks.semi_supervised import SemiSupervised
from models.registry import lookup

TASKS: dict[str, Task] = {t.name: t for t in (Generation(), SemiSupervised(), Anomaly(), ClassImbalance(), Augmentation())}


def register(task: Task) -> Task:
    """Add ``task`` to :data:`TASKS` under ``task.name`` (replacing a task of that name); returns it."""
    TASKS[task.name] = task
    return task


def get_task(name: str) -> Task:
    """``TASKS[name]``.

    Raises
    ------
    KeyError
        If ``name`` is not registered; the message lists the valid names.
    """
    return lookup(TASKS, "experiment.task", name)


__all__ = ["TASKS", "MetricInputs", "Task", "TaskSetup", "get_task", "register"]
