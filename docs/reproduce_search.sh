#!/usr/bin/env bash
# The bounded search of issue 14, item 6 (docs/results.md, "Beyond the published rows"): configurations of the
# best zoo row (cyclical SGHMC) on grid25 at its default budget, chosen on the validation seeds 20 and 21 only
# (seeds used by no table); the target is 25/25 modes, >= 95 % high quality and reverse KL <= 0.02 (pooled).
# The configurations were fixed before any run (at most 12; these are 4): particles, temperature, cycles.
# Finished runs are skipped.
# Usage: JOBS=2 bash docs/reproduce_search.sh [RUNS_DIR]   then   bgan-summarize RUNS_DIR/grid25-*
set -euo pipefail
R=${1:-runs/search}
JOBS=${JOBS:-1}
BGAN=${BGAN:-bgan-run}
jobs() {
  for seed in 20 21; do
    echo "grid25-cyc_J16-s$seed experiment=grid25 inference.schedule=cyclical inference.num_generators=16 seed=$seed"
    echo "grid25-cyc_J16_T0.1-s$seed experiment=grid25 inference.schedule=cyclical inference.num_generators=16 inference.temperature=0.1 seed=$seed"
    echo "grid25-cyc_J16_M8-s$seed experiment=grid25 inference.schedule=cyclical inference.num_generators=16 inference.num_cycles=8 seed=$seed"
    echo "grid25-cyc_J25-s$seed experiment=grid25 inference.schedule=cyclical inference.num_generators=25 seed=$seed"
  done
}
jobs | grep -E -e "${ONLY:-.}" | while read -r name args; do
  [ -f "$R/$name/metrics.json" ] || echo "$name $args"
done | xargs -r -P "$JOBS" -L 1 bash -c 'name=$0; mkdir -p '"$R"'; '"$BGAN"' "$@" out_dir='"$R"'/$name progress=false > '"$R"'/$name.log 2>&1 || echo "failed: $name (see '"$R"'/$name.log)"'
