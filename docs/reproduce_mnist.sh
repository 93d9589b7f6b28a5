#!/usr/bin/env bash
# Real MNIST generation table (docs/images.md, "Real MNIST"): the ML twin, the ensemble, the coupled MAP, the
# Bayesian GAN (experiment=mnist's default SGHMC) and cyclical SGHMC at experiment=mnist's defaults, seeds 1-3
# (seed 0 was the validation search's), scored on the 2,000-image test split. Needs the shared set prepared:
#   bgan-prepare ../shared/data/mnist-t10k --name mnist --data-dir DATA_DIR
# Usage: DATA_DIR=... JOBS=2 bash docs/reproduce_mnist.sh [RUNS_DIR]; then bgan-summarize RUNS_DIR/mnist-* --against mnist-ensemble
set -euo pipefail
R=${1:-runs/mnist}
D=${DATA_DIR:?set DATA_DIR to the prepared tfds directory}
JOBS=${JOBS:-1}
BGAN=${BGAN:-bgan-run}
jobs() {
  for seed in 1 2 3; do
    echo "mnist-mle-s$seed inference=mle seed=$seed"
    echo "mnist-ensemble-s$seed inference=ensemble seed=$seed"
    echo "mnist-sghmc-s$seed seed=$seed"
    echo "mnist-coupled_ensemble-s$seed inference=coupled_ensemble seed=$seed"
    echo "mnist-cyclical_sghmc-s$seed inference.schedule=cyclical seed=$seed"
  done
}
jobs | while read -r name args; do
  [ -f "$R/$name/metrics.json" ] || echo "$name $args"
done | xargs -r -P "$JOBS" -L 1 bash -c 'name=$0; mkdir -p '"$R"'; '"$BGAN"' experiment=mnist experiment.dataset.data_dir='"$D"' "$@" out_dir='"$R"'/$name progress=false > '"$R"'/$name.log 2>&1 || echo "failed: $name (see '"$R"'/$name.log)"'
