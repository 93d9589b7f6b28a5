#!/usr/bin/env bash
# The posterior noise's effect, one change at a time (issue 23, docs/results.md "Posterior or ensemble?"): the
# Bayesian GAN (SGHMC, T = 1) against the coupled MAP (the same sweep at T = 0), both with the preconditioner
# adapting at every step (inference.preconditioner=rmsprop_running), on grid25 and ring8 at seeds 0-4 and the
# sets' default budget, J_g and J_d. The two rows differ in the temperature alone.
# Two Hydra sweeps in JOBS joblib lanes; a finished run is kept (skip_complete=true); the exit code is the worst
# of the sweeps' (3: a run diverged). The runs' output interleaves on this script's.
# Usage: JOBS=2 bash scripts/reproduce_noise.sh [RUNS_DIR]
#   then bgan-summarize --equal-count RUNS_DIR/grid25-* --against grid25-coupled_ensemble_running (and ring8)
. "$(dirname "$0")/common.sh"
set -uo pipefail
R=${1:-runs/noise}
JOBS=${JOBS:-1}
SETS=${SETS:-grid25,ring8}
rc=0
for inference in sghmc coupled_ensemble; do
  $BGAN -m "experiment=$SETS" inference=$inference inference.preconditioner=rmsprop_running seed=0,1,2,3,4 \
    "out_dir=$R/\${experiment.name}-${inference}_running-s\${seed}" \
    skip_complete=true progress=false hydra/launcher=joblib hydra.launcher.n_jobs="$JOBS"
  code=$?; [ $code -gt $rc ] && rc=$code
done
exit $rc
