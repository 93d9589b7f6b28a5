#!/usr/bin/env bash
# How experiment=mnist's CPU defaults were searched, in two stages (docs/images.md, "Real MNIST"): 3,000-iteration runs on a
# validation split carved from the 8,000 training images (experiment.dataset.validation_fraction=0.2: 6,400
# train / 1,600 validation; the test split is not read), seed 0. Needs the shared set prepared first:
#   bgan-prepare ../shared/data/mnist-t10k --name mnist --data-dir DATA_DIR
# Usage: DATA_DIR=... bash scripts/reproduce_mnist_choice.sh [RUNS_DIR]; then bgan-summarize RUNS_DIR/*
. "$(dirname "$0")/common.sh"
set -euo pipefail
R=${1:-runs/mnist-choice}
D=${DATA_DIR:?set DATA_DIR to the prepared tfds directory}
# Stage 1 (the rows before the bias correction was found) spells out the earlier defaults, the 8x8 digits'
# SGHMC settings; stage 2 the Adam-like update the default now uses (experiment.sghmc.* as in mnist.yaml).
OLD="experiment.sghmc.num_discriminators=2 experiment.sghmc.step_size=1e-4 experiment.sghmc.temperature=1 \
experiment.sghmc.preconditioner=rmsprop experiment.sghmc.rms_decay=0.99 experiment.sghmc.rms_eps=1.0 \
experiment.sghmc.rms_bias_correction=false experiment.sghmc.schedule=cosine experiment.sghmc.final_step_size_ratio=0.02"
ADAM="experiment.sghmc.step_size=5e-4 experiment.sghmc.preconditioner=rmsprop_running experiment.sghmc.rms_decay=0.999 \
experiment.sghmc.rms_eps=1e-8 experiment.sghmc.schedule=constant experiment.sghmc.rms_bias_correction=true"
while read -r stage name args; do
  case $stage in 1) base=$OLD ;; 2) base=$ADAM ;; *) base= ;; esac
  # shellcheck disable=SC2086
  [ -f "$R/$name/metrics.json" ] || $BGAN experiment=mnist experiment.dataset.data_dir=$D \
    experiment.dataset.validation_fraction=0.2 iterations=3000 seed=0 $base $args out_dir=$R/$name progress=false
done <<'ROWS'
0 mle-lr2e-4 inference=mle experiment.mle.learning_rate=2e-4
0 mle-lr1e-3 inference=mle experiment.mle.learning_rate=1e-3
0 ensemble inference=ensemble
1 sghmc-default
1 sghmc-eta3e-5 experiment.sghmc.step_size=3e-5
1 sghmc-eta1e-5 experiment.sghmc.step_size=1e-5
1 sghmc-rmsprop-eta1e-4 experiment.sghmc.rms_eps=1e-5 experiment.sghmc.step_size=1e-4
1 sghmc-rmsprop-eta5e-4 experiment.sghmc.rms_eps=1e-5 experiment.sghmc.step_size=5e-4
1 sghmc-prior1-eta3e-5 experiment.prior.scale=1.0 experiment.sghmc.step_size=3e-5
1 sghmc-T0.1-eta3e-5 experiment.sghmc.step_size=3e-5 experiment.sghmc.temperature=0.1
1 sghmc-T0.01-eta3e-5 experiment.sghmc.step_size=3e-5 experiment.sghmc.temperature=0.01
1 coupled_ensemble inference=coupled_ensemble
1 independent_map inference=independent_map
1 sghmc-friction0.1-rmsprop-eta1e-4 experiment.sghmc.friction=0.1 experiment.sghmc.rms_eps=1e-5 experiment.sghmc.step_size=1e-4
1 sgld inference=sgld experiment.sghmc.num_discriminators=2
1 sghmc-rmsprop_running-eta5e-4 experiment.sghmc.rms_eps=1e-5 experiment.sghmc.step_size=5e-4 experiment.sghmc.preconditioner=rmsprop_running
1 bc-sghmc-default experiment.sghmc.rms_bias_correction=true
1 bc-sghmc-rmsprop-eta5e-4 experiment.sghmc.rms_bias_correction=true experiment.sghmc.rms_eps=1e-5 experiment.sghmc.step_size=5e-4
1 cmap-bc-eta5e-4 inference=coupled_ensemble experiment.sghmc.rms_bias_correction=true experiment.sghmc.rms_eps=1e-5 experiment.sghmc.step_size=5e-4
2 imap-adamlike inference=independent_map experiment.sghmc.num_discriminators=2 experiment.sghmc.rms_bias_correction=false
2 imap-adamlike-bc inference=independent_map experiment.sghmc.num_discriminators=2
2 bc-sghmc-adamlike experiment.sghmc.num_discriminators=2 experiment.sghmc.temperature=1
2 bc-sghmc-adamlike-frozen experiment.sghmc.num_discriminators=2 experiment.sghmc.temperature=1 experiment.sghmc.preconditioner=rmsprop
2 bc-coupled-adamlike inference=coupled_ensemble experiment.sghmc.num_discriminators=2
2 bc-sghmc-adamlike-T0.1 experiment.sghmc.num_discriminators=2 experiment.sghmc.temperature=0.1
2 bc-sghmc-adamlike-T0.01 experiment.sghmc.num_discriminators=2 experiment.sghmc.temperature=0.01
2 bc-sghmc-adamlike-T0.1-Jd1 experiment.sghmc.num_discriminators=1 experiment.sghmc.temperature=0.1
2 bc-sghmc-adamlike-T0.1-Jd4 experiment.sghmc.num_discriminators=4 experiment.sghmc.temperature=0.1
2 bc-sghmc-adamlike-T0.1-paired experiment.sghmc.num_discriminators=4 experiment.sghmc.coupling=paired experiment.sghmc.temperature=0.1
2 bc-sghmc-adamlike-T1-paired experiment.sghmc.num_discriminators=4 experiment.sghmc.coupling=paired experiment.sghmc.temperature=1
ROWS
