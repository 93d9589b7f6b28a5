#!/usr/bin/env bash
# Real MNIST generation table (docs/images.md, "Real MNIST"): the ML twin, the ensemble, the coupled MAP, the
# Bayesian GAN (experiment=mnist's default SGHMC) and cyclical SGHMC at experiment=mnist's defaults, seeds 1-3
# (seed 0 was the validation search's), scored on the 2,000-image test split. ONLY=<regex> keeps the matching
# run names: ONLY='^mnist-' is the generation table; ONLY='^mnist_(ssl|anomaly)-' the application rows
# (experiment=mnist_ssl with 100 labels, Bayesian, twin and ensemble, seeds 1-5; experiment=mnist_anomaly with
# digits 9, 4 and 1 held out at seed 1 and digit 9 at seeds 2-5, Bayesian, twin and ensemble; ONLY='^mnist_augment-' the
# low-data augmentation rows: experiment=mnist_augment at 10 and 50 images per class, Bayesian, twin and ensemble, seeds 1-3). Needs the shared set prepared:
#   bgan-prepare ../shared/data/mnist-t10k --name mnist --data-dir DATA_DIR
# Usage: DATA_DIR=... JOBS=2 bash scripts/reproduce_mnist.sh [RUNS_DIR]; then bgan-summarize RUNS_DIR/mnist-* --against mnist-ensemble (or RUNS_DIR/mnist_ssl-* --against mnist_ssl-mle)
. "$(dirname "$0")/common.sh"
set -euo pipefail
R=${1:-runs/mnist}
D=${DATA_DIR:?set DATA_DIR to the prepared tfds directory}
JOBS=${JOBS:-1}
jobs() {
  for seed in 1 2 3; do
    echo "mnist-mle-s$seed experiment=mnist inference=mle seed=$seed"
    echo "mnist-ensemble-s$seed experiment=mnist inference=ensemble seed=$seed"
    echo "mnist-sghmc-s$seed experiment=mnist seed=$seed"
    echo "mnist-coupled_ensemble-s$seed experiment=mnist inference=coupled_ensemble seed=$seed"
    echo "mnist-cyclical_sghmc-s$seed experiment=mnist inference.schedule=cyclical seed=$seed"
  done
  for seed in 1 2 3 4 5; do
    echo "mnist_ssl-sghmc-s$seed experiment=mnist_ssl seed=$seed"
    echo "mnist_ssl-mle-s$seed experiment=mnist_ssl inference=mle seed=$seed"
    echo "mnist_ssl-ensemble-s$seed experiment=mnist_ssl inference=ensemble seed=$seed"
  done
  for run in d9-s1 d4-s1 d1-s1 d9-s2 d9-s3 d9-s4 d9-s5; do  # three digits at seed 1, then digit 9 at seeds 2-5
    digit=${run:1:1} seed=${run:4:1}
    for inf in sghmc mle ensemble; do
      echo "mnist_anomaly-d$digit-$inf-s$seed experiment=mnist_anomaly experiment.dataset.held_out_class=$digit inference=$inf seed=$seed"
    done
  done
  for n in 10 50; do
    for seed in 1 2 3; do
      for inf in sghmc mle ensemble; do
        echo "mnist_augment-n$n-$inf-s$seed experiment=mnist_augment experiment.dataset.num_per_class=$n inference=$inf seed=$seed"
      done
    done
  done
}
jobs | run_jobs "$R" experiment.dataset.data_dir="$D"
