#!/usr/bin/env bash
# Issue 25, stage 1: the recipe's settings chosen on a labelled validation split at N_s = 100, the test split
# unread. experiment=mnist_ssl_improved_gan (Salimans et al.'s networks, feature matching) with 1,000 of the
# 8,000 training images held out as a stratified, labelled validation split
# (experiment.dataset.validation_fraction=0.125: 1,000 images resolve 0.1 points of error, 100 would resolve
# 1), 100 labelled and 7,000 unlabelled training images, seed 0 (the reported seeds are 1-5), 10,000
# iterations (a third of the recipe's budget: the validation budget), one row per configuration (at most 6
# per method). The twin's and the ensemble's settings are the recipe's (no search: they are the reference);
# the supervised-only control takes the twin's. Needs the shared set prepared first:
#   bgan-prepare ../shared/data/mnist-t10k --name mnist --data-dir DATA_DIR
# Usage: DATA_DIR=... bash scripts/reproduce_ssl_recipe_choice.sh [RUNS_DIR]; then bgan-summarize RUNS_DIR/*
# Finished rows are kept (skip_complete=true); a stopped row resumes with the same command.
. "$(dirname "$0")/common.sh"
set -euo pipefail
R=${1:-runs/ssl-recipe-choice}
D=${DATA_DIR:?set DATA_DIR to the prepared tfds directory}
while read -r name args; do
  [ -z "$name" ] && continue
  # shellcheck disable=SC2086
  $BGAN experiment=mnist_ssl_improved_gan experiment.dataset.data_dir=$D experiment.dataset.validation_fraction=0.125 \
    iterations=10000 experiment.num_draws=20 seed=0 $args out_dir=$R/$name skip_complete=true progress=false
done <<'ROWS'
twin inference=mle
sghmc-a inference=sghmc inference.num_generators=1 inference.num_discriminators=1
sghmc-b inference=sghmc inference.num_generators=1 inference.num_discriminators=1 inference.step_size=1.5e-3
sghmc-c inference=sghmc inference.num_generators=1 inference.num_discriminators=1 inference.temperature=1.0
sghmc-d inference=sghmc inference.num_generators=1 inference.num_discriminators=1 inference.temperature=0.01
sghmc-e inference=sghmc inference.num_generators=2 inference.num_discriminators=2
sghmc-f inference=sghmc inference.num_generators=1 inference.num_discriminators=1 inference.step_size=2.5e-4
ROWS
