#!/usr/bin/env bash
# The issue-14 acceptance check (docs/results.md, "Posterior or ensemble?"): on a seed no verdict or search run
# used (7), every new method of the verdict tables on grid25 at its default budget, then an evaluator outside
# the zoo (docs/check_pooled.py: numpy + xarray, every pooled posterior_predictive sample) against each run's
# metrics.json (the headline for samplers, *_pooled for optimisers).
# One Hydra sweep per method in JOBS joblib lanes; a finished run is kept (skip_complete=true).
# Usage: JOBS=2 bash docs/reproduce_evaluator.sh [RUNS_DIR]; then python docs/check_pooled.py RUNS_DIR/*-s7
set -uo pipefail
R=${1:-runs/evaluator}
JOBS=${JOBS:-1}
BGAN=${BGAN:-bgan-run}
run() {  # NAME OVERRIDES...: out_dir RUNS_DIR/grid25-NAME-s7
  local name=$1; shift
  $BGAN -m experiment=grid25 "$@" seed=7 "out_dir=$R/grid25-$name-s\${seed}" skip_complete=true progress=false \
    hydra/launcher=joblib hydra.launcher.n_jobs="$JOBS" || echo "$name: exit $? (see above)"
}
run ensemble inference=ensemble
run independent_map inference=independent_map
run coupled_ensemble inference=coupled_ensemble
run coupled_ensemble_running inference=coupled_ensemble inference.preconditioner=rmsprop_running
run cyclical_sghmc inference.schedule=cyclical
run ebgan inference=ebgan
