#!/usr/bin/env bash
# Re-measures the rows that the warmup / posterior-predictive / frozen-preconditioner changes moved (issue 12):
# the default and ML-twin rows of ring8, grid25, digits and synthetic, the application defaults and twins, and
# the inference zoo's SGHMC n_critic = 5 rows of ring8 and grid25; seeds 0-2. Finished runs are skipped.
# Usage: JOBS=2 bash scripts/reproduce_trust.sh [RUNS_DIR]   then   bgan-summarize RUNS_DIR/<prefix>*
# ONLY=<regex> keeps the matching run names.
. "$(dirname "$0")/common.sh"
set -euo pipefail
R=${1:-runs/trust}
JOBS=${JOBS:-1}
jobs() {
  for exp in grid25 ring8 digits synthetic digits_anomaly digits_lowdata digits_imbalanced digits_ssl; do
    for seed in 0 1 2; do
      echo "$exp-sghmc-s$seed experiment=$exp seed=$seed"
      echo "$exp-mle-s$seed experiment=$exp inference=mle seed=$seed"
    done
  done
  # the inference zoo's SGHMC n_critic = 5 rows (10,000 iterations), which the per-network schedule moved
  for exp in ring8 grid25; do
    for loss in wasserstein wasserstein_gp; do
      for seed in 0 1 2; do
        echo "zoo-$exp-sghmc-$loss-ncritic5-s$seed experiment=$exp loss=$loss inference.n_critic=5 iterations=10000 seed=$seed"
      done
    done
  done
}
jobs | run_jobs "$R"
