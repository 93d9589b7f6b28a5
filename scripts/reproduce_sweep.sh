#!/usr/bin/env bash
# Re-runs the archived synthetic comparison and data-size sweep (sequentially, on this 2-core CPU:
# about 90 minutes). The N = 100,000 grid/ring rows are scripts/reproduce_results.sh's default runs.
# Its tables were measured at commit 72dac16, before the trust changes, and are archived
# (docs/archive/results-72dac16.md); the current code does not reproduce those figures draw for draw.
# Usage: bash scripts/reproduce_sweep.sh [RUNS_DIR]   then   bgan-summarize RUNS_DIR/*
. "$(dirname "$0")/common.sh"
set -euo pipefail
R=${1:-runs/sweep}
# Saatchi & Wilson's synthetic set (D = 100): their N = 10,000 and a 10x smaller one.
for n in 10000 1000; do
  for seed in 0 1 2; do
    for inf in sghmc mle; do
      $BGAN experiment=synthetic inference=$inf seed=$seed experiment.dataset.num_train=$n \
        out_dir=$R/synthetic-n$n-$inf-s$seed
    done
  done
done
# Where does the posterior help? grid25 / ring8 with fewer training points.
for n in 1000 250 10000; do
  for exp in grid25 ring8; do
    for seed in 0 1 2; do
      for inf in sghmc mle; do
        $BGAN experiment=$exp inference=$inf seed=$seed experiment.dataset.num_train=$n \
          out_dir=$R/$exp-n$n-$inf-s$seed
      done
    done
  done
done
# Cold posterior at N = 1,000 (T = 0.01).
for exp in grid25 ring8; do
  for seed in 0 1 2; do
    $BGAN experiment=$exp inference=sghmc inference.temperature=0.01 seed=$seed \
      experiment.dataset.num_train=1000 out_dir=$R/$exp-n1000-sghmc-T0.01-s$seed
  done
done
