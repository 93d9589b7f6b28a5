"""The task registry: a task defined outside the package runs end to end with no edit to the run loop, the
schema, the models or the inference; the shipped tasks build the heads their models need."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

from experiments.cli import main
from experiments.schema import ConfigError
from experiments.summarize import summarize
from experiments.tasks import TASKS, MetricInputs, Task, TaskSetup, get_task, register


@dataclass(frozen=True)
class RadiusTask(Task):
    """A toy task: the mean distance of the generated points from the origin, and the real data's, with the
    training set cut to the points in the upper half-plane (a task's own data preparation)."""

    name = "toy_radius"
    columns = (("mean_radius", "pooled"), ("mean_radius", "final"), ("mean_radius_real", None))

    def validate(self, e) -> None:
        if e.dataset.name not in ("ring8", "grid25"):
            raise ConfigError(f"experiment.dataset.name={e.dataset.name!r} is invalid: toy_radius needs 2-D points")

    def prepare(self, cfg, data) -> TaskSetup:
        setup = super().prepare(cfg, data)
        upper = data.train[data.train[:, 1] > 0]
        return TaskSetup(head=setup.head, train=upper, extra_metrics={"num_upper": int(len(upper))})

    def metrics(self, inputs: MetricInputs, first: int, stop: int) -> dict:
        x = inputs.read(first, stop)
        return {"mean_radius": float(np.linalg.norm(x, axis=-1).mean()),
                "mean_radius_real": float(np.linalg.norm(inputs.data.eval, axis=-1).mean())}


@pytest.fixture
def toy_task():
    task = register(RadiusTask())
    yield task
    del TASKS[task.name]


def test_a_task_defined_in_tests_runs_end_to_end(tmp_path, toy_task):
    out = tmp_path / "ring8-toy-s0"
    assert main(["experiment=ring8", "experiment.task=toy_radius", "iterations=20", "experiment.num_draws=2",
                 "inference.num_generators=2", f"out_dir={out}"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    # the sampler's headline is the pooled post-warmup draw, the final draw beside it; shared key once
    assert {"mean_radius", "mean_radius_final_draw", "mean_radius_real"} <= set(metrics)
    assert metrics["num_upper"] > 0 and metrics["mean_radius_real"] == pytest.approx(1.0, abs=0.05)
    table = summarize([out])
    assert "mean_radius pooled" in table and "| ring8-toy |" in table
    # its validation is the schema's: one line, exit 2, nothing written
    bad = tmp_path / "bad"
    assert main(["experiment=digits", "experiment.task=toy_radius", f"out_dir={bad}"]) == 2
    assert not bad.exists()


def test_an_unknown_task_names_the_registered_ones(tmp_path, capsys):
    assert main(["experiment.task=nonsense", f"out_dir={tmp_path / 'x'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "experiment.task" in err
    assert all(name in err for name in TASKS)


def test_each_shipped_task_builds_the_head_its_model_needs():
    from omegaconf import OmegaConf

    from experiments.cli import load_config
    from experiments.build import load_configured_dataset
    from models.heads import ConditionalHead, PlainHead, SemiSupervisedHead

    want = {"digits": PlainHead, "digits_anomaly": PlainHead, "digits_ssl": SemiSupervisedHead,
            "digits_imbalanced": ConditionalHead}
    for experiment, head in want.items():
        cfg = load_config([f"experiment={experiment}", "experiment.autoencoder_steps=2", "out_dir=/tmp/unused-bgan"])
        data = load_configured_dataset(cfg)
        setup = get_task(cfg.experiment.task).prepare(cfg, data)
        assert type(setup.head) is head, experiment
        columns = 1 if head is ConditionalHead else 0  # BAGAN's training rows carry their label
        assert setup.train.shape == (len(data.train), data.train.shape[1] + columns)
        if head is SemiSupervisedHead:
            assert setup.head.x_labelled.shape[0] == 10 * OmegaConf.select(cfg, "experiment.labels_per_class")
            assert setup.head.labelled_weight == pytest.approx(len(data.train) / setup.head.x_labelled.shape[0])
        if head is ConditionalHead:
            assert setup.init_position is not None and "autoencoder_mse" in setup.extra_metrics


@pytest.mark.parametrize("override,message", [
    ("experiment.generated_per_class=0", "experiment.generated_per_class=0 is invalid: must be an integer >= 1"),
    ("experiment.autoencoder_steps=0", "experiment.autoencoder_steps=0 is invalid: must be an integer >= 1")])
def test_augmentation_task_refuses_bad_counts_in_one_line(tmp_path, capsys, override, message):
    from experiments.cli import main

    out = tmp_path / "run"
    assert main(["experiment=digits_lowdata", "experiment.task=augmentation", override, f"out_dir={out}"]) == 2
    assert capsys.readouterr().err.strip() == f"bgan-run: error: {message}"
    assert not out.exists()
