#!/usr/bin/env bash
# Issue 26: mode collapse on Stacked MNIST (1,000 modes), "Posterior or ensemble?" on real images
# (docs/results.md, "Stacked MNIST"). experiment=stacked_mnist: 128,000 training stacks, the CPU MLP pair with the
# discriminator chosen on seed 0 (scripts/reproduce_stacked_choice.sh), the figures at 25,600 samples in both
# forms. Rows on the same networks, budget and seeds: at seeds 1-5 (the verdict) the ML twin, the ensemble of
# J_g = 2 twins and the Bayesian GAN (SGHMC, J_g = J_d = 2); at seeds 1-3 the coupled MAP (T = 0, the
# preconditioner adapting throughout), the twin and the Bayesian GAN with PacGAN's packing in pairs
# (network.pack=2), and cyclical SGHMC.
# Hydra joblib sweeps in JOBS lanes, one XLA thread per run when JOBS >= 2; a finished run is kept
# (skip_complete=true) and a stopped one resumes from its checkpoint with the same command. The exit code is the
# worst of the sweeps'. Needs the shared set prepared first (which stores the channel classifier):
#   bgan-prepare ../shared/data/mnist-t10k --name mnist --data-dir DATA_DIR
# Usage: DATA_DIR=... JOBS=2 bash scripts/reproduce_stacked.sh [RUNS_DIR]; then
#   bgan-summarize RUNS_DIR/stacked_mnist-* --against stacked_mnist-ensemble --against stacked_mnist-mle
. "$(dirname "$0")/common.sh"
set -uo pipefail
R=${1:-runs/stacked}
D=${DATA_DIR:?set DATA_DIR to the prepared tfds directory}
JOBS=${JOBS:-1}
if [ "$JOBS" -ge 2 ]; then
  export XLA_FLAGS="${XLA_FLAGS:-} --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
  export OMP_NUM_THREADS=1
fi
rc=0
row() {  # NAME SEEDS OVERRIDES...: out_dir RUNS_DIR/stacked_mnist-NAME-s<seed>
  local name=$1 seeds=$2; shift 2
  $BGAN -m experiment=stacked_mnist "experiment.dataset.data_dir=$D" "$@" "seed=$seeds" \
    "out_dir=$R/stacked_mnist-$name-s\${seed}" skip_complete=true progress=false \
    hydra/launcher=joblib hydra.launcher.n_jobs="$JOBS"
  local code=$?; [ $code -gt $rc ] && rc=$code; return 0
}
row mle 1,2,3,4,5 inference=mle
row ensemble 1,2,3,4,5 inference=ensemble
row sghmc 1,2,3,4,5 inference=sghmc
row coupled_ensemble_running 1,2,3 inference=coupled_ensemble inference.preconditioner=rmsprop_running
row mle-pack2 1,2,3 inference=mle network.pack=2
row sghmc-pack2 1,2,3 inference=sghmc network.pack=2
row cyclical_sghmc 1,2,3 inference=sghmc inference.schedule=cyclical
exit $rc
