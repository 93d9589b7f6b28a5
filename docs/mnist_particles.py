"""Per-particle collapse of finished MNIST runs (docs/images.md, "Real MNIST"): for each run directory, the last
draw's `particle_spread` and `classes_per_particle` (experiments.metrics.particle_spread) with the CNN metrics
classifier trained on the run's own training split, as `bgan-run` now writes them into metrics.json; for runs
that predate those keys.

Usage: python docs/mnist_particles.py RUN_DIR [RUN_DIR ...]   (runs of experiment=mnist, same data and split)
"""
import sys
from pathlib import Path

import arviz as az
import numpy as np
from omegaconf import OmegaConf

from experiments.build import load_configured_dataset
from experiments.evaluation import metrics_classifier
from experiments.metrics import particle_spread


def main(run_dirs: list[str]) -> None:
    cfg = OmegaConf.load(Path(run_dirs[0]) / "config.yaml")
    data = load_configured_dataset(cfg)
    classifier = metrics_classifier(data, "cnn")
    for d in run_dirs:
        x = az.from_netcdf(Path(d) / "posterior.nc").posterior_predictive["x_generated"].isel(draw=-1).values
        out = particle_spread(x.reshape(x.shape[0], x.shape[1], -1), data.train, classifier)
        print(f"{Path(d).name}: classes per particle {out['classes_per_particle']}, "
              f"spread {np.round(out['particle_spread'], 2).tolist()}")


if __name__ == "__main__":
    main(sys.argv[1:])
