#!/usr/bin/env bash
# PacGAN's packing on grid25 (issue 26, item 6): the ML twin with its discriminator packed in pairs
# (network.pack=2) beside the same twin unpacked, seeds 0-2, grid25's default budget; the figures at the
# final draw's 2,500 samples, PacGAN's count (Lin et al. 2018, Table 1, whose grid rows count 2,500 samples
# of a final generator). docs/results.md, "Packing on grid25".
# One Hydra sweep in JOBS joblib lanes; a finished run is kept (skip_complete=true).
# Usage: JOBS=2 bash scripts/reproduce_packing.sh [RUNS_DIR]; then
#   bgan-summarize RUNS_DIR/grid25-mle-pack* --against grid25-mle-pack1
. "$(dirname "$0")/common.sh"
set -uo pipefail
R=${1:-runs/packing}
JOBS=${JOBS:-1}
$BGAN -m experiment=grid25 inference=mle network.pack=1,2 seed=0,1,2 \
  "out_dir=$R/grid25-mle-pack\${network.pack}-s\${seed}" skip_complete=true progress=false \
  hydra/launcher=joblib hydra.launcher.n_jobs="$JOBS"
