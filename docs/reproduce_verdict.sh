#!/usr/bin/env bash
# "Posterior or ensemble?" (docs/results.md): every row of the verdict tables, at each set's default budget.
# Rows: ML twin, ensemble, coupled MAP and Bayesian GAN (SGHMC) at seeds 0-4; independent MAP, cyclical SGHMC,
# EBGAN and SVI at seeds 0-2; and EBGAN in its authors' synthetic set-up (minimax loss, 2,500 iterations). Finished runs are skipped (the default SGHMC and twin runs of seeds 0-2 are those
# of docs/reproduce_trust.sh, which this script finds when given the same RUNS_DIR or linked in).
# Usage: JOBS=2 bash docs/reproduce_verdict.sh [RUNS_DIR]   then   bgan-summarize RUNS_DIR/<set>-*
# ONLY=<regex> keeps the matching run names (e.g. ONLY='^(grid25|synthetic)-').
set -euo pipefail
R=${1:-runs/verdict}
JOBS=${JOBS:-1}
BGAN=${BGAN:-bgan-run}
jobs() {
  for seed in 0 1 2; do
    echo "synthetic-ebgan_minimax_2500-s$seed experiment=synthetic inference=ebgan loss=minimax iterations=2500 seed=$seed"
  done
  for exp in grid25 synthetic ring8 digits; do
    for seed in 0 1 2 3 4; do
      echo "$exp-sghmc-s$seed experiment=$exp seed=$seed"
      echo "$exp-mle-s$seed experiment=$exp inference=mle seed=$seed"
      echo "$exp-ensemble-s$seed experiment=$exp inference=ensemble seed=$seed"
      echo "$exp-coupled_ensemble-s$seed experiment=$exp inference=coupled_ensemble seed=$seed"
    done
  done
  # the coupled MAP with the preconditioner adapting throughout (the default freezes it after warmup, and
  # without noise the sweep then diverges within ~70 iterations on grid25)
  for seed in 0 1 2 3 4; do
    echo "grid25-coupled_ensemble_running-s$seed experiment=grid25 inference=coupled_ensemble inference.preconditioner=rmsprop_running seed=$seed"
  done
  for exp in grid25 synthetic ring8 digits; do
    for seed in 0 1 2; do
      echo "$exp-independent_map-s$seed experiment=$exp inference=independent_map seed=$seed"
      echo "$exp-cyclical_sghmc-s$seed experiment=$exp inference.schedule=cyclical seed=$seed"
      echo "$exp-ebgan-s$seed experiment=$exp inference=ebgan seed=$seed"
      echo "$exp-svi-s$seed experiment=$exp inference=svi seed=$seed"
    done
  done
}
jobs | grep -E -e "${ONLY:-.}" | while read -r name args; do
  [ -f "$R/$name/metrics.json" ] || echo "$name $args"
done | xargs -r -P "$JOBS" -L 1 bash -c 'name=$0; mkdir -p '"$R"'; '"$BGAN"' "$@" out_dir='"$R"'/$name progress=false > '"$R"'/$name.log 2>&1 || echo "failed: $name (see '"$R"'/$name.log)"'
