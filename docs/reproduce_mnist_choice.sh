#!/usr/bin/env bash
# How experiment=mnist's CPU defaults were searched (docs/images.md, "Real MNIST"): 3,000-iteration runs on a
# validation split carved from the 8,000 training images (experiment.dataset.validation_fraction=0.2: 6,400
# train / 1,600 validation; the test split is not read), seed 0. Needs the shared set prepared first:
#   bgan-prepare ../shared/data/mnist-t10k --name mnist --data-dir DATA_DIR
# Usage: DATA_DIR=... bash docs/reproduce_mnist_choice.sh [RUNS_DIR]; then bgan-summarize RUNS_DIR/*
set -euo pipefail
R=${1:-runs/mnist-choice}
D=${DATA_DIR:?set DATA_DIR to the prepared tfds directory}
BGAN=${BGAN:-bgan-run}
while read -r name args; do
  # shellcheck disable=SC2086
  [ -f "$R/$name/metrics.json" ] || $BGAN experiment=mnist experiment.dataset.data_dir=$D \
    experiment.dataset.validation_fraction=0.2 iterations=3000 seed=0 $args out_dir=$R/$name progress=false
done <<'ROWS'
mle-lr2e-4 inference=mle experiment.mle.learning_rate=2e-4
mle-lr1e-3 inference=mle experiment.mle.learning_rate=1e-3
ensemble inference=ensemble
sghmc-default
sghmc-eta3e-5 experiment.sghmc.step_size=3e-5
sghmc-eta1e-5 experiment.sghmc.step_size=1e-5
sghmc-rmsprop-eta1e-4 experiment.sghmc.rms_eps=1e-5 experiment.sghmc.step_size=1e-4
sghmc-rmsprop-eta5e-4 experiment.sghmc.rms_eps=1e-5 experiment.sghmc.step_size=5e-4
sghmc-prior1-eta3e-5 experiment.prior.scale=1.0 experiment.sghmc.step_size=3e-5
sghmc-T0.1-eta3e-5 experiment.sghmc.step_size=3e-5 experiment.sghmc.temperature=0.1
sghmc-T0.01-eta3e-5 experiment.sghmc.step_size=3e-5 experiment.sghmc.temperature=0.01
coupled_ensemble inference=coupled_ensemble
independent_map inference=independent_map
sghmc-friction0.1-rmsprop-eta1e-4 experiment.sghmc.friction=0.1 experiment.sghmc.rms_eps=1e-5 experiment.sghmc.step_size=1e-4
sgld inference=sgld
sghmc-rmsprop_running-eta5e-4 experiment.sghmc.rms_eps=1e-5 experiment.sghmc.step_size=5e-4 experiment.sghmc.preconditioner=rmsprop_running
ROWS
