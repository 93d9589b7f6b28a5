#!/usr/bin/env bash
# Issue 25: semi-supervised MNIST with Salimans et al.'s recipe (experiment=mnist_ssl_improved_gan) on the
# test split, with the settings chosen on validation (scripts/reproduce_ssl_recipe_choice.sh). docs/images.md,
# "The recipe in the zoo". Every row: the recipe's networks, 8,000 training images (all unlabelled), the
# labelled images of labels_seed 1, 30,000 iterations, the 2,000-image test split.
#   N_s = 100, seeds 1-5: the ML twin (raw and its moving average: two forms of one run), the ensemble of
#   J_g = 2 twins, the Bayesian GAN (SGHMC, J_g = J_d = 2), the supervised-only control (the same
#   discriminator on the 100 labelled images alone); seeds 1-3: the coupled MAP (T = 0, the preconditioner
#   adapting throughout) and cyclical SGHMC.
#   N_s = 20, 50, 200, seed 1 (one seed: a curve, not a verdict): the twin, the Bayesian GAN and the
#   supervised-only control, the labelled term weighted 2 N / N_s as at N_s = 100 (800, 320, 80).
# One Hydra sweep per row in JOBS joblib lanes, one XLA thread per run when JOBS >= 2; a finished run is kept
# (skip_complete=true) and a stopped one resumes from its checkpoint with the same command. The exit code is
# the worst of the sweeps'. STAGES=verdict or STAGES=curve runs one part (default: both).
# Usage: DATA_DIR=... JOBS=2 bash scripts/reproduce_ssl_recipe.sh [RUNS_DIR]; then
#   bgan-summarize RUNS_DIR/mnist_ssl_improved_gan-{mle,ensemble,sghmc,supervised,coupled_ensemble_running,cyclical_sghmc}-s* \
#     --against mnist_ssl_improved_gan-ensemble --against mnist_ssl_improved_gan-ensemble:ema \
#     --against mnist_ssl_improved_gan-mle:ema \
#     --against mnist_ssl_improved_gan-supervised --reliability RUNS_DIR/reliability.png
#   (the curve: bgan-summarize RUNS_DIR/mnist_ssl_improved_gan-ns*)
. "$(dirname "$0")/common.sh"
set -uo pipefail
R=${1:-runs/ssl-recipe}
D=${DATA_DIR:?set DATA_DIR to the prepared tfds directory}
JOBS=${JOBS:-1}
STAGES=${STAGES:-verdict,curve}
if [ "$JOBS" -ge 2 ]; then
  export XLA_FLAGS="${XLA_FLAGS:-} --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
  export OMP_NUM_THREADS=1
fi
rc=0
row() {  # NAME SEEDS OVERRIDES...: out_dir RUNS_DIR/mnist_ssl_improved_gan-NAME-s<seed>
  local name=$1 seeds=$2; shift 2
  $BGAN -m experiment=mnist_ssl_improved_gan "experiment.dataset.data_dir=$D" "$@" "seed=$seeds" \
    "out_dir=$R/mnist_ssl_improved_gan-$name-s\${seed}" skip_complete=true progress=false \
    hydra/launcher=joblib hydra.launcher.n_jobs="$JOBS"
  local code=$?; [ $code -gt $rc ] && rc=$code; return 0
}
case ",$STAGES," in *,verdict,*)
  row mle 1,2,3,4,5 inference=mle
  row sghmc 1,2,3,4,5 inference=sghmc
  row ensemble 1,2,3,4,5 inference=ensemble
  row supervised 1,2,3,4,5 experiment=mnist_ssl_improved_gan_supervised inference=mle
  row coupled_ensemble_running 1,2,3 inference=coupled_ensemble inference.preconditioner=rmsprop_running
  row cyclical_sghmc 1,2,3 inference=sghmc inference.schedule=cyclical ;;
esac
case ",$STAGES," in *,curve,*)
  for ns in 20:2:800 50:5:320 200:20:80; do
    IFS=: read -r n per_class weight <<< "$ns"
    labels="experiment.labels_per_class=$per_class experiment.labelled_weight=$weight"
    # shellcheck disable=SC2086
    row "ns$n-mle" 1 inference=mle $labels
    # shellcheck disable=SC2086
    row "ns$n-sghmc" 1 inference=sghmc $labels
    # shellcheck disable=SC2086
    row "ns$n-supervised" 1 experiment=mnist_ssl_improved_gan_supervised inference=mle $labels
  done ;;
esac
exit $rc
