"""An evaluator outside the zoo: pool ``posterior_predictive/x_generated`` of a 2-D run over every chain and
draw, as an ArviZ user would, and compare with the run's ``metrics.json``.

Uses only numpy and xarray (not the zoo's metric code), with the published definitions (VEEGAN,
Srivastava et al. 2017; PacGAN, Lin et al. 2018): a sample is high quality within 3 sigma of its nearest
mode, a mode is captured by one high-quality sample. Every pooled sample counts (not 2,500).

    python scripts/check_pooled.py runs/grid25-sghmc-seed0 [more run directories]

Compares with ``modes``/``high_quality`` for samplers and ``modes_pooled``/``high_quality_pooled`` for
optimisers, whose headline is the final iterate.
"""

import json
import sys
from pathlib import Path

import numpy as np
import xarray as xr

MODES = {
    "grid25": (np.array([[x, y] for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)], float), 0.05),
    "ring8": (np.stack([np.cos(a := np.linspace(0, 2 * np.pi, 8, endpoint=False)), np.sin(a)], -1), 0.01),
}


def evaluate(run: Path) -> dict:
    metrics = json.loads((run / "metrics.json").read_text())
    modes, sigma = MODES[metrics["experiment"]]
    # samplers' headline is the pooled posterior predictive; optimisers' (ML twin, ensemble, MAP controls)
    # headline is the final iterate, and their pooled post-warmup iterates are stored under *_pooled
    pooled = "_pooled" if "modes_pooled" in metrics else ""
    try:
        pp = xr.open_dataset(run / "posterior.nc", group="posterior_predictive", engine="h5netcdf")
    except OSError:  # a run that diverged before its first post-warmup draw stores no posterior_predictive
        return {"run": run.name, "pooled_samples": 0, "diverged": metrics.get("diverged"),
                "metrics_pooled_figures": any(k.endswith("_pooled") for k in metrics)}
    x = pp["x_generated"].values.reshape(-1, 2)
    dist = np.linalg.norm(x[:, None, :] - modes[None], axis=-1)
    nearest, d = dist.argmin(1), dist.min(1)
    hq = d <= 3 * sigma
    warm = xr.open_dataset(run / "posterior.nc", group="warmup_posterior_predictive", engine="h5netcdf")
    return {"run": run.name, "pooled_samples": len(x), "draws": int(pp.sizes["draw"]),
            "first_iteration": int(pp["iteration"].min()), "warmup_last_iteration": int(warm["iteration"].max()),
            "num_warmup": metrics["num_warmup"],
            "modes": int(len(np.unique(nearest[hq]))), "metrics_modes": metrics[f"modes{pooled}"],
            "high_quality": round(float(hq.mean()), 4),
            "metrics_high_quality": round(metrics[f"high_quality{pooled}"], 4), "metrics_key": f"modes{pooled}"}


def main(argv: list[str] | None = None) -> int:
    """One JSON line per run directory (:func:`evaluate`); 2 for a bad command line or a missing file."""
    import argparse

    parser = argparse.ArgumentParser(prog="check_pooled.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dirs", nargs="+", type=Path, help="run directories of experiment=grid25 or ring8")
    args = parser.parse_args(argv)
    for run in args.run_dirs:
        if not (run / "metrics.json").is_file() or not (run / "posterior.nc").is_file():
            print(f"check_pooled: error: {run}: no metrics.json and posterior.nc (a finished bgan-run run)",
                  file=sys.stderr)
            return 2
        print(json.dumps(evaluate(run)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
