#!/usr/bin/env bash
# The issue-14 acceptance check (docs/results.md, "Posterior or ensemble?"): on a seed no verdict or search run
# used (7), every new method of the verdict tables on grid25 at its default budget, then an evaluator outside
# the zoo (docs/check_pooled.py: numpy + xarray, every pooled posterior_predictive sample) against each run's
# metrics.json (the headline for samplers, *_pooled for optimisers).
# Usage: JOBS=2 bash docs/reproduce_evaluator.sh [RUNS_DIR]; then python docs/check_pooled.py RUNS_DIR/*-s7
set -euo pipefail
R=${1:-runs/evaluator}
JOBS=${JOBS:-1}
BGAN=${BGAN:-bgan-run}
jobs() {
  echo "grid25-ensemble-s7 experiment=grid25 inference=ensemble seed=7"
  echo "grid25-independent_map-s7 experiment=grid25 inference=independent_map seed=7"
  echo "grid25-coupled_ensemble-s7 experiment=grid25 inference=coupled_ensemble seed=7"
  echo "grid25-coupled_ensemble_running-s7 experiment=grid25 inference=coupled_ensemble inference.preconditioner=rmsprop_running seed=7"
  echo "grid25-cyclical_sghmc-s7 experiment=grid25 inference.schedule=cyclical seed=7"
  echo "grid25-ebgan-s7 experiment=grid25 inference=ebgan seed=7"
}
jobs | while read -r name args; do
  [ -f "$R/$name/metrics.json" ] || echo "$name $args"
done | xargs -r -P "$JOBS" -L 1 bash -c 'name=$0; mkdir -p '"$R"'; '"$BGAN"' "$@" out_dir='"$R"'/$name progress=false > '"$R"'/$name.log 2>&1 || echo "failed: $name (see '"$R"'/$name.log)"'
