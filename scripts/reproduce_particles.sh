#!/usr/bin/env bash
# The particle study (docs/results.md, "Posterior or ensemble?"): J_g in {1, 2, 4, 8, 16} on grid25 at its
# default budget, 3 seeds, for the ensemble, the coupled MAP and the Bayesian GAN (J_d = 2 where a method has
# discriminator particles: the coupled MAP and the Bayesian GAN). The coupled MAP is the one with the
# preconditioner adapting throughout (rmsprop_running, as `grid25-coupled_ensemble_running` of the verdict
# table): with the default frozen preconditioner it diverges right after warmup (5/5 verdict seeds, and at
# J_g = 1 here). Three Hydra sweeps in JOBS joblib lanes; a finished run is kept (skip_complete=true);
# a sweep ends before the next starts. The exit code is the worst of the sweeps' (3: a run diverged).
# Usage: JOBS=2 bash scripts/reproduce_particles.sh [RUNS_DIR]   then
#        python scripts/plot_particles.py RUNS_DIR docs/img/particles.png
. "$(dirname "$0")/common.sh"
set -uo pipefail
rc=0
R=${1:-runs/particles}
JOBS=${JOBS:-1}
sweep() {  # NAME OVERRIDES...: J_g in {1, 2, 4, 8, 16} x seeds 0-2, out_dir RUNS_DIR/grid25-NAME-J<J_g>-s<seed>
  local name=$1; shift
  $BGAN -m experiment=grid25 "$@" inference.num_generators=1,2,4,8,16 seed=0,1,2 \
    "out_dir=$R/grid25-$name-J\${inference.num_generators}-s\${seed}" skip_complete=true progress=false \
    hydra/launcher=joblib hydra.launcher.n_jobs="$JOBS"
  local code=$?; [ $code -gt $rc ] && rc=$code; return 0
}
sweep ensemble inference=ensemble
sweep coupled_ensemble_running inference=coupled_ensemble inference.preconditioner=rmsprop_running inference.num_discriminators=2
sweep sghmc inference=sghmc inference.num_discriminators=2
exit $rc
