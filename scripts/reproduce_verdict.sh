#!/usr/bin/env bash
# "Posterior or ensemble?" (docs/results.md): every row of the verdict tables, at each set's default budget.
# Rows: ML twin, ensemble, coupled MAP and Bayesian GAN (SGHMC) at seeds 0-4; independent MAP, cyclical SGHMC,
# EBGAN and SVI at seeds 0-2; and EBGAN in its authors' synthetic set-up (minimax loss, 2,500 iterations). Finished runs are skipped (the default SGHMC and twin runs of seeds 0-2 are those
# of scripts/reproduce_trust.sh, which this script finds when given the same RUNS_DIR or linked in).
# Five Hydra sweeps in JOBS joblib lanes (a sweep ends before the next starts); a finished run is kept
# (skip_complete=true). The runs' output interleaves on this script's: keep it with `2>&1 | tee RUNS_DIR.log`.
# The exit code is the worst of the sweeps' (3: a run diverged).
# Usage: JOBS=2 bash scripts/reproduce_verdict.sh [RUNS_DIR]   then   bgan-summarize RUNS_DIR/<set>-*
# SETS=grid25,ring8 limits the sets (default: grid25,synthetic,ring8,digits).
. "$(dirname "$0")/common.sh"
set -uo pipefail
R=${1:-runs/verdict}
JOBS=${JOBS:-1}
SETS=${SETS:-grid25,synthetic,ring8,digits}
rc=0
row() {  # NAME SETS SEEDS OVERRIDES...: out_dir RUNS_DIR/<set>-NAME-s<seed> (NAME may be ${inference.name})
  local name=$1 sets=$2 seeds=$3; shift 3
  $BGAN -m "experiment=$sets" "$@" "seed=$seeds" "out_dir=$R/\${experiment.name}-$name-s\${seed}" \
    skip_complete=true progress=false hydra/launcher=joblib hydra.launcher.n_jobs="$JOBS"
  local code=$?; [ $code -gt $rc ] && rc=$code; return 0
}
row '${inference.name}' "$SETS" 0,1,2,3,4 inference=sghmc,mle,ensemble,coupled_ensemble
row '${inference.name}' "$SETS" 0,1,2 inference=independent_map,ebgan,svi
row cyclical_sghmc "$SETS" 0,1,2 inference.schedule=cyclical
# the coupled MAP with the preconditioner adapting throughout (the default freezes it after warmup, and
# without noise the sweep then diverges within ~70 iterations on grid25)
case ",$SETS," in *,grid25,*)
  row coupled_ensemble_running grid25 0,1,2,3,4 inference=coupled_ensemble inference.preconditioner=rmsprop_running ;; esac
case ",$SETS," in *,synthetic,*)
  row ebgan_minimax_2500 synthetic 0,1,2 inference=ebgan loss=minimax iterations=2500 ;; esac
exit $rc
