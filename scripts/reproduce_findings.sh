#!/usr/bin/env bash
# docs/findings.md (issue 27): the runs behind its tables, then the page. On the four small sets at seeds 0-4
# and their default budgets: the ML twin, the ensemble and the Bayesian GAN (SGHMC); the coupled MAP (T = 0)
# with its preconditioner adapting throughout on grid25 and ring8 (the default one, frozen after warmup,
# diverges there within ~70 iterations of warmup's end: docs/results.md) and the default on synthetic and
# digits. With DATA_DIR set (the prepared MNIST, bgan-prepare) also the real-image rows, into the same
# RUNS_DIR: scripts/reproduce_stacked.sh and the N_s = 100 rows of scripts/reproduce_ssl_recipe.sh
# (STAGES=verdict).
# Hydra joblib sweeps in JOBS lanes, one XLA thread per run when JOBS >= 2; a finished run is kept
# (skip_complete=true). The exit code is the worst of the sweeps'.
# Usage: JOBS=2 [DATA_DIR=...] bash scripts/reproduce_findings.sh [RUNS_DIR]; then
#   bgan-summarize --findings docs/findings.md --fixtures tests/data/findings RUNS_DIR/*
. "$(dirname "$0")/common.sh"
set -uo pipefail
R=${1:-runs/findings}
JOBS=${JOBS:-1}
if [ "$JOBS" -ge 2 ]; then
  export XLA_FLAGS="${XLA_FLAGS:-} --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
  export OMP_NUM_THREADS=1
fi
rc=0
sweep() {  # SETS NAME OVERRIDES...: out_dir RUNS_DIR/<set>-NAME-s<seed>, seeds 0-4
  local sets=$1 name=$2; shift 2
  $BGAN -m "experiment=$sets" "$@" seed=0,1,2,3,4 "out_dir=$R/\${experiment.name}-$name-s\${seed}" \
    skip_complete=true progress=false hydra/launcher=joblib hydra.launcher.n_jobs="$JOBS"
  local code=$?; [ $code -gt $rc ] && rc=$code; return 0
}
sweep grid25,ring8,synthetic,digits '${inference.name}' inference=sghmc,mle,ensemble
sweep synthetic,digits '${inference.name}' inference=coupled_ensemble
sweep grid25,ring8 coupled_ensemble_running inference=coupled_ensemble inference.preconditioner=rmsprop_running
if [ -n "${DATA_DIR:-}" ]; then
  for script in reproduce_stacked.sh reproduce_ssl_recipe.sh; do
    STAGES=verdict bash "$(dirname "$0")/$script" "$R"
    code=$?; [ $code -gt $rc ] && rc=$code
  done
fi
exit $rc
