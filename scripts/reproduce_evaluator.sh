#!/usr/bin/env bash
# The issue-14 acceptance check (docs/results.md, "Posterior or ensemble?"): on a seed no verdict or search run
# used (7), every new method of the verdict tables on grid25 at its default budget, then an evaluator outside
# the zoo (scripts/check_pooled.py: numpy + xarray, every pooled posterior_predictive sample) against each run's
# metrics.json (the headline for samplers, *_pooled for optimisers).
# Three Hydra sweeps in JOBS joblib lanes (the two one-run sweeps run side by side when JOBS >= 2); a finished run
# is kept (skip_complete=true). The exit code is the worst of the sweeps'.
# Usage: JOBS=2 bash scripts/reproduce_evaluator.sh [RUNS_DIR]; then python scripts/check_pooled.py RUNS_DIR/*-s7
. "$(dirname "$0")/common.sh"
set -uo pipefail
R=${1:-runs/evaluator}
JOBS=${JOBS:-1}
run() {  # NAME OVERRIDES...: out_dir RUNS_DIR/grid25-NAME-s7 (NAME may be ${inference.name})
  local name=$1; shift
  $BGAN -m experiment=grid25 "$@" seed=7 "out_dir=$R/grid25-$name-s\${seed}" skip_complete=true progress=false \
    hydra/launcher=joblib hydra.launcher.n_jobs="$JOBS"
}
run '${inference.name}' inference=ensemble,independent_map,coupled_ensemble,ebgan; rc=$?
if [ "$JOBS" -ge 2 ]; then
  run coupled_ensemble_running inference=coupled_ensemble inference.preconditioner=rmsprop_running & a=$!
  run cyclical_sghmc inference.schedule=cyclical & b=$!
  wait $a; c1=$?; wait $b; c2=$?
else
  run coupled_ensemble_running inference=coupled_ensemble inference.preconditioner=rmsprop_running; c1=$?
  run cyclical_sghmc inference.schedule=cyclical; c2=$?
fi
for c in $c1 $c2; do [ $c -gt $rc ] && rc=$c; done
exit $rc
