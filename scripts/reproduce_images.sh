#!/usr/bin/env bash
# Re-runs the first 8x8-digits application tables (sequentially, on this 2-core CPU: about 90 minutes); the
# current ones are scripts/reproduce_trust.sh's (docs/images.md).
# Usage: bash scripts/reproduce_images.sh [RUNS_DIR]   then   bgan-summarize RUNS_DIR/*
. "$(dirname "$0")/common.sh"
set -euo pipefail
R=${1:-runs/images}
for exp in digits_ssl digits_anomaly digits_lowdata digits_imbalanced; do
  for seed in 0 1 2; do
    for inf in sghmc mle; do
      $BGAN experiment=$exp inference=$inf seed=$seed out_dir=$R/$exp-$inf-s$seed
    done
  done
done
# The semi-supervised variants of docs/images.md (seed 0): labelled weight x temperature.
for w in 1 null; do
  for t in 1 0.1; do
    $BGAN experiment=digits_ssl experiment.labelled_weight=$w inference.temperature=$t seed=0 \
      out_dir=$R/digits_ssl-sghmc-w$w-T$t-s0
  done
done
$BGAN experiment=digits_ssl inference.temperature=0.01 seed=0 out_dir=$R/digits_ssl-sghmc-wnull-T0.01-s0
