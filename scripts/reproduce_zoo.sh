#!/usr/bin/env bash
# Re-runs the archived inference-zoo tables: every inference, loss and prior varied one at a time from
# the default (SGHMC, normal prior, non-saturating loss), each loss also with its ML twin, the two
# Wasserstein losses also with the papers' 5 critic steps per generator step, and SGHMC and SGLD without
# their RMSprop preconditioner, at a short budget of 10,000 iterations, 3 seeds, on ring8, grid25, digits
# and synthetic (20 rows x 3 seeds x 4 sets = 240 runs).
# Its tables were measured at commit 72dac16, before the trust changes, and are archived
# (docs/archive/results-72dac16.md); the current code does not reproduce those figures draw for draw.
#
# Usage: bash scripts/reproduce_zoo.sh [RUNS_DIR]     then    bgan-summarize RUNS_DIR/SET-10k-*
# Environment:
#   SETS="ring8 grid25 digits synthetic"   which experiments (in this order)
#   ONLY=REGEX                             only the rows whose name matches (grep -E), e.g. ONLY=nc5
#   EXCLUDE=REGEX                          leave out the rows whose name matches
#   JOBS=1                                 runs at a time (each run is then pinned to one XLA CPU thread);
#                                          on 2 cores one lane takes about 1 h per set (synthetic: 2 h)
#   BGAN="bgan-run"                        the command that runs one experiment (scripts/common.sh)
# A run whose RUNS_DIR/NAME/metrics.json exists is skipped, so an interrupted batch resumes.
. "$(dirname "$0")/common.sh"
set -euo pipefail
R=${1:-runs/zoo}
SETS=${SETS:-"ring8 grid25 digits synthetic"}
ONLY=${ONLY:-.}
EXCLUDE=${EXCLUDE:-}
JOBS=${JOBS:-1}
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
  "sghmc-wasserstein-nc5|inference=sghmc loss=wasserstein inference.n_critic=5"
  "mle-wasserstein-nc5|inference=mle loss=wasserstein inference.n_critic=5"
  "sghmc-wasserstein_gp|inference=sghmc loss=wasserstein_gp"
  "mle-wasserstein_gp|inference=mle loss=wasserstein_gp"
  "sghmc-wasserstein_gp-nc5|inference=sghmc loss=wasserstein_gp inference.n_critic=5"
  "mle-wasserstein_gp-nc5|inference=mle loss=wasserstein_gp inference.n_critic=5"
  "sghmc-laplace|inference=sghmc prior=laplace"
  "sghmc-student_t|inference=sghmc prior=student_t"
  "sghmc-hierarchical|inference=sghmc prior=hierarchical"
  "sghmc-plain|inference=sghmc inference.preconditioner=none"
  "sgld-plain|inference=sgld inference.preconditioner=none"
)
mkdir -p "$R/.logs"
jobs_file=$(mktemp)
trap 'rm -f "$jobs_file"' EXIT
for exp in $SETS; do
  for row in "${ROWS[@]}"; do
    name=${row%%|*}; overrides=${row#*|}
    grep -qE "$ONLY" <<< "$name" || continue
    [ -n "$EXCLUDE" ] && grep -qE "$EXCLUDE" <<< "$name" && continue
    for seed in 0 1 2; do
      out=$R/$exp-10k-$name-s$seed
      [ -f "$out/metrics.json" ] && continue
      echo "$BGAN experiment=$exp $overrides iterations=10000 seed=$seed out_dir=$out skip_complete=true > $R/.logs/${out##*/}.log 2>&1 || echo FAILED $out" >> "$jobs_file"
    done
  done
done
echo "$(wc -l < "$jobs_file") runs to do, $JOBS at a time"
if [ "$JOBS" -gt 1 ]; then
  # one XLA CPU thread per run, so that JOBS runs share the cores evenly
  export XLA_FLAGS="${XLA_FLAGS:-} --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
  export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
fi
xargs -P "$JOBS" -I{} bash -c {} < "$jobs_file"
