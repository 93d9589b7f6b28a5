#!/usr/bin/env bash
# How digits_ssl's temperature default is chosen: on a validation split carved from the training images
# (experiment.dataset.validation_fraction=0.07: about 100 labelled validation images, no more than the 100
# labelled training images, after Oliver et al. 2018), validation seeds 100 and 101 (never reported), the
# test split unread. Usage: bash scripts/reproduce_ssl_choice.sh [RUNS_DIR]; then bgan-summarize RUNS_DIR/*
. "$(dirname "$0")/common.sh"
set -euo pipefail
R=${1:-runs/ssl-choice}
for seed in 100 101; do
  for t in 1.0 0.1 0.01; do
    [ -f "$R/T$t-s$seed/metrics.json" ] || $BGAN experiment=digits_ssl inference.temperature=$t seed=$seed \
      experiment.dataset.validation_fraction=0.07 out_dir=$R/T$t-s$seed progress=false
  done
done
