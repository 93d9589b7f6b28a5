#!/usr/bin/env bash
# Real MNIST applications (docs/images.md, "Real MNIST"): semi-supervised learning with 100 labels
# (experiment=mnist_ssl, labels_per_class 10), the Bayesian SSL GAN against its ML twin, seeds 1-5; anomaly
# detection (experiment=mnist_anomaly) with digits 1, 4 and 9 held out, seed 1; scored on the 2,000-image
# test split. Needs the shared set prepared:
#   bgan-prepare ../shared/data/mnist-t10k --name mnist --data-dir DATA_DIR
# Usage: DATA_DIR=... JOBS=2 bash docs/reproduce_mnist_apps.sh [RUNS_DIR]; then bgan-summarize RUNS_DIR/mnist_ssl-* --against mnist_ssl-mle (and RUNS_DIR/mnist_anomaly-*)
set -euo pipefail
R=${1:-runs/mnist}
D=${DATA_DIR:?set DATA_DIR to the prepared tfds directory}
JOBS=${JOBS:-1}
BGAN=${BGAN:-bgan-run}
jobs() {
  for seed in 1 2 3 4 5; do
    echo "mnist_ssl-sghmc-s$seed experiment=mnist_ssl seed=$seed"
    echo "mnist_ssl-mle-s$seed experiment=mnist_ssl inference=mle seed=$seed"
  done
  for digit in 9 4 1; do
    echo "mnist_anomaly-d$digit-sghmc-s1 experiment=mnist_anomaly experiment.dataset.held_out_class=$digit seed=1"
    echo "mnist_anomaly-d$digit-mle-s1 experiment=mnist_anomaly experiment.dataset.held_out_class=$digit inference=mle seed=1"
  done
}
jobs | while read -r name args; do
  [ -f "$R/$name/metrics.json" ] || echo "$name $args"
done | xargs -r -P "$JOBS" -L 1 bash -c 'name=$0; mkdir -p '"$R"'; '"$BGAN"' "$@" experiment.dataset.data_dir='"$D"' out_dir='"$R"'/$name progress=false > '"$R"'/$name.log 2>&1 || echo "failed: $name (see '"$R"'/$name.log)"'
