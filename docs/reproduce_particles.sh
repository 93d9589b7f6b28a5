#!/usr/bin/env bash
# The particle study (docs/results.md, "Posterior or ensemble?"): J_g in {1, 2, 4, 8, 16} on grid25 at its
# default budget, 3 seeds, for the ensemble, the coupled MAP and the Bayesian GAN (J_d = 2 where a method has
# discriminator particles: the coupled MAP and the Bayesian GAN). The coupled MAP is the one with the
# preconditioner adapting throughout (rmsprop_running, as `grid25-coupled_ensemble_running` of the verdict
# table): with the default frozen preconditioner it diverges right after warmup (5/5 verdict seeds, and at
# J_g = 1 here). Finished runs are skipped.
# Usage: JOBS=2 bash docs/reproduce_particles.sh [RUNS_DIR]   then
#        python docs/plot_particles.py RUNS_DIR docs/img/particles.png
set -euo pipefail
R=${1:-runs/particles}
JOBS=${JOBS:-1}
BGAN=${BGAN:-bgan-run}
jobs() {
  for j in 1 2 4 8 16; do
    for seed in 0 1 2; do
      echo "grid25-ensemble-J$j-s$seed experiment=grid25 inference=ensemble inference.num_generators=$j seed=$seed"
      echo "grid25-coupled_ensemble_running-J$j-s$seed experiment=grid25 inference=coupled_ensemble inference.preconditioner=rmsprop_running inference.num_generators=$j inference.num_discriminators=2 seed=$seed"
      echo "grid25-sghmc-J$j-s$seed experiment=grid25 inference.num_generators=$j inference.num_discriminators=2 seed=$seed"
    done
  done
}
jobs | grep -E -e "${ONLY:-.}" | while read -r name args; do
  [ -f "$R/$name/metrics.json" ] || echo "$name $args"
done | xargs -r -P "$JOBS" -L 1 bash -c 'name=$0; mkdir -p '"$R"'; '"$BGAN"' "$@" out_dir='"$R"'/$name progress=false > '"$R"'/$name.log 2>&1 || echo "failed: $name (see '"$R"'/$name.log)"'
