"""Function-space convergence diagnostics: rank-normalised split R-hat and bulk/tail ESS (ArviZ)."""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np


def convergence_diagnostics(stats: dict[str, np.ndarray]) -> dict:
    """Rank-normalised split R-hat and bulk/tail ESS (Vehtari et al. 2021, via ArviZ) of each statistic.

    Parameters
    ----------
    stats : dict of str to numpy.ndarray, shape ``(chain, draw)``

    Returns
    -------
    dict
        ``{name: {"rhat", "ess_bulk", "ess_tail"}}`` (tail ESS of the 5 % and 95 % quantiles); ``None``
        where undefined (one chain has no between-chain R-hat; too few draws).
    """

    def clean(v):
        v = float(np.asarray(v))
        return v if np.isfinite(v) else None

    out = {}
    for name, x in stats.items():
        x = np.asarray(x, dtype=np.float64)
        if x.shape[1] < 4:  # too few draws for split R-hat / ESS
            out[name] = {"rhat": None, "ess_bulk": None, "ess_tail": None}
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rhat = az.rhat(x, method="rank") if x.shape[0] > 1 else np.nan
            out[name] = {
                "rhat": clean(rhat),
                "ess_bulk": clean(az.ess(x, method="bulk")),
                "ess_tail": clean(az.ess(x, method="tail", prob=(0.05, 0.95))),
            }
    return out
