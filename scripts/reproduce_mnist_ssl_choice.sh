#!/usr/bin/env bash
# Semi-supervised MNIST on a validation split (docs/images.md, "Real MNIST"): does loss=feature_matching
# (Salimans et al. 2016) beat the K + 1 likelihood's generator term at 100 labels? 100 of the 8,000 training
# images are held out as the labelled validation set (experiment.dataset.validation_fraction=0.0125: no more
# labelled validation images than labelled training images, Oliver et al. 2018), the test split is not read,
# seed 0, experiment=mnist_ssl's defaults otherwise. Needs the shared set prepared first:
#   bgan-prepare ../shared/data/mnist-t10k --name mnist --data-dir DATA_DIR
# Usage: DATA_DIR=... bash scripts/reproduce_mnist_ssl_choice.sh [RUNS_DIR]; then bgan-summarize RUNS_DIR/*
. "$(dirname "$0")/common.sh"
set -euo pipefail
R=${1:-runs/mnist-ssl-choice}
D=${DATA_DIR:?set DATA_DIR to the prepared tfds directory}
while read -r name args; do
  # shellcheck disable=SC2086
  [ -f "$R/$name/metrics.json" ] || $BGAN experiment=mnist_ssl experiment.dataset.data_dir=$D \
    experiment.dataset.validation_fraction=0.0125 seed=0 $args out_dir=$R/$name progress=false
done <<'ROWS'
mle-kplus1 inference=mle
mle-fm inference=mle loss=feature_matching
sghmc-kplus1
sghmc-fm loss=feature_matching
ROWS
