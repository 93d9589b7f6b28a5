#!/usr/bin/env bash
# Re-runs every row of the archived first results tables (sequentially, on this 2-core CPU: about an hour).
# Its tables were measured at commit 72dac16, before the trust changes, and are archived
# (docs/archive/results-72dac16.md); the current code does not reproduce those figures draw for draw.
# Usage: bash scripts/reproduce_results.sh [RUNS_DIR]   then   bgan-summarize RUNS_DIR/*
. "$(dirname "$0")/common.sh"
set -euo pipefail
R=${1:-runs/results}
for seed in 0 1 2; do
  for exp in grid25 ring8; do
    $BGAN experiment=$exp inference=sghmc seed=$seed out_dir=$R/$exp-sghmc-s$seed
    $BGAN experiment=$exp inference=mle seed=$seed out_dir=$R/$exp-mle-s$seed
  done
  $BGAN experiment=digits inference=sghmc seed=$seed out_dir=$R/digits-sghmc-s$seed
  $BGAN experiment=digits inference=mle seed=$seed out_dir=$R/digits-mle-s$seed
  $BGAN experiment=digits inference=sghmc inference.temperature=0.01 seed=$seed out_dir=$R/digits-sghmc-T0.01-s$seed
done
# The prior that fails on the digits (N(0, 1/fan_in), i.e. prior.scale=1), one seed:
$BGAN experiment=digits inference=sghmc prior.scale=1 seed=0 out_dir=$R/digits-sghmc-scale1-s0
# The ML twin on the grid at (roughly) the Bayesian GAN's wall time: 5x the iterations.
for seed in 0 1 2; do
  $BGAN experiment=grid25 inference=mle iterations=250000 seed=$seed out_dir=$R/grid25-mle-equal-time-s$seed
done
