#!/usr/bin/env bash
# Re-runs docs/results.md's inference-zoo table: every inference, loss and prior varied one at a time from
# the default (SGHMC, normal prior, non-saturating loss), each loss also with its ML twin, on ring8 and
# grid25 at a short budget of 10,000 iterations, 3 seeds (about an hour on this 2-core CPU).
# Usage: bash docs/reproduce_zoo.sh [RUNS_DIR]   then   bgan-summarize RUNS_DIR/*
set -euo pipefail
R=${1:-runs/zoo}
ROWS=(
  "sghmc|inference=sghmc"
  "sgld|inference=sgld"
  "svi|inference=svi"
  "mc_dropout|inference=mc_dropout"
  "mle|inference=mle"
  "sghmc-minimax|inference=sghmc loss=minimax"
  "mle-minimax|inference=mle loss=minimax"
  "sghmc-wasserstein|inference=sghmc loss=wasserstein"
  "mle-wasserstein|inference=mle loss=wasserstein"
  "sghmc-wasserstein_gp|inference=sghmc loss=wasserstein_gp"
  "mle-wasserstein_gp|inference=mle loss=wasserstein_gp"
  "sghmc-laplace|inference=sghmc prior=laplace"
  "sghmc-student_t|inference=sghmc prior=student_t"
  "sghmc-hierarchical|inference=sghmc prior=hierarchical"
)
for exp in ring8 grid25; do
  for seed in 0 1 2; do
    for row in "${ROWS[@]}"; do
      name=${row%%|*}; overrides=${row#*|}
      # shellcheck disable=SC2086
      bgan-run experiment=$exp $overrides iterations=10000 seed=$seed out_dir=$R/$exp-10k-$name-s$seed
    done
  done
done
