"""``bgan-diagnose RUN_DIR``: ArviZ convergence summary of a run, flagging what has not converged.

Reads ``RUN_DIR/posterior.nc``, keeps its post-warmup draws (the ``posterior*`` groups of a run that stores
its warmup in ``warmup_*`` groups; the second half of the draws of a file written before it did), and prints
rank-normalised split R-hat and bulk/tail ESS (Vehtari et al. 2021, ``arviz.summary``) for

- function space: per-draw mean and standard deviation of the generated samples of each chain;
- ``sample_stats`` (the log density, or the ML twin's loss) and ``discriminator_sample_stats`` (its log
  density, and ``d_eval``: each discriminator's mean output on fixed held-out real points);
- weight space: the thinned generator and discriminator weights.

A statistic is flagged when R-hat > 1.01 or bulk ESS < 100 (Vehtari et al.'s thresholds). Weight-space
R-hat of a neural network is expected to be large: hidden units can be permuted, so independent particles
sit in different but equivalent modes; function-space figures are the ones to read.

Every ``bgan-run`` saves the plots of :func:`save_plots` with the run: ``trace.png`` (ArviZ trace and
marginal of the function-space statistics, all draws) and ``rank.png`` (rank plot of the kept draws, runs
with two or more chains). ``bgan-diagnose RUN_DIR --plot`` rewrites them.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

RHAT_MAX, ESS_MIN = 1.01, 100
PLOT_DRAWS = 1000
GROUPS = ("sample_stats", "discriminator_sample_stats", "posterior", "discriminator_posterior")


def function_space(dt, block: int = 64) -> dict[str, np.ndarray]:
    """Per-(chain, draw) statistics of ``posterior_predictive/x_generated``: ``x_mean``, ``x_std``.

    Reads ``block`` draws at a time, so a long run's samples are never all in memory at once.
    """
    x = dt["posterior_predictive"]["x_generated"]
    pieces = []
    for start in range(0, x.sizes["draw"], block):
        v = np.asarray(x.isel(draw=slice(start, start + block)))
        pieces.append(per_draw_stats(v.reshape(*v.shape[:3], -1)))
    return {k: np.concatenate([p[k] for p in pieces], axis=1) for k in pieces[0]} if pieces else {}


def per_draw_stats(x: np.ndarray) -> dict[str, np.ndarray]:
    """``x_mean`` and ``x_std`` over the samples and features of each ``(chain, draw)`` of ``x``
    ``(chain, draw, sample, feature)``: the generic function-space statistics."""
    return {"x_mean": x.mean(axis=(2, 3)), "x_std": x.std(axis=(2, 3))}


def _as_dataset(stats: dict[str, np.ndarray], keep: slice):
    import xarray as xr

    return xr.Dataset({k: (("chain", "draw"), v[:, keep]) for k, v in stats.items()})


def save_plots(stats: dict[str, np.ndarray], run_dir: Path, first_kept: int | None = None,
               recorded: dict[str, np.ndarray] | None = None) -> list[str]:
    """Write ``trace.png`` (``arviz.plot_trace_dist``, all draws) and, with two or more chains,
    ``rank.png`` (``arviz.plot_rank``, the draws from ``first_kept`` on: the post-warmup draws; default the
    second half) of function-space statistics.

    A run of more than :data:`PLOT_DRAWS` draws is plotted thinned to at most that many (evenly spaced),
    so the plots cost the same for any run length.

    Parameters
    ----------
    stats : dict of str to numpy.ndarray, shape ``(chain, draw)``
        Per-draw statistics (e.g. :func:`function_space` of a run's posterior).
    recorded : dict, optional
        The same statistics in recorded (time) order, for the trace plot, when ``stats`` is in reading order
        (a cyclical run's non-sampling draws first); default ``stats``.
    run_dir : path
        Directory to write into.

    Returns
    -------
    list of str
        The file names written.
    """
    import arviz as az
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_draws = next(iter(stats.values())).shape[1]
    every = -(-n_draws // PLOT_DRAWS)
    written = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pc = az.plot_trace_dist(_as_dataset(stats if recorded is None else recorded, slice(None, None, every)),
                                backend="matplotlib")
        pc.savefig(Path(run_dir) / "trace.png")
        written.append("trace.png")
        fs = _as_dataset(stats, slice(n_draws // 2 if first_kept is None else first_kept, None, every))
        if fs.sizes["chain"] >= 2 and fs.sizes["draw"] >= 1:  # a run that diverged in warmup has no post-warmup draw
            pc = az.plot_rank(fs, backend="matplotlib")
            pc.savefig(Path(run_dir) / "rank.png")
            written.append("rank.png")
    plt.close("all")
    return written


class PosteriorError(ValueError):
    """``posterior.nc`` cannot be read as a bgan-run posterior; the message is one line naming the file."""


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
WANTED = ("the posterior.nc bgan-run writes: netCDF-4/HDF5 with posterior_predictive/x_generated "
          "(chain, draw, sample, ...)")


def _reason(err: BaseException) -> str:
    """The first sentence of ``err``'s message, on one line and at most 160 characters."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text.split(". ")[0][:160]


def open_posterior(path: Path) -> tuple:
    """Open a run's ``posterior.nc`` and check it is one: ``(DataTree, {group: Dataset})``.

    ``posterior_predictive/x_generated`` stays lazy (it can be large; :func:`function_space` reads it
    block by block); the other groups of :data:`GROUPS` present in the file are read into memory, their
    floating-point variables (not ``step_size``) and second half of the draws.

    Raises
    ------
    PosteriorError
        If ``path`` is not netCDF-4/HDF5 (random bytes, truncated, corrupt), is an HDF5 file of another
        layout, or lacks ``posterior_predictive/x_generated`` with dimensions ``(chain, draw, sample, ...)``.
    """
    import arviz as az

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. h5netcdf's phony_dims warning on a foreign HDF5 file
            dt = az.from_netcdf(path)
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as err:
        with open(path, "rb") as f:
            head = f.read(len(HDF5_SIGNATURE))
        what = (f"cannot read it as netCDF-4/HDF5 ({_reason(err)})" if head == HDF5_SIGNATURE else
                f"not a netCDF-4/HDF5 file (it starts with {head[:4]!r}, not the HDF5 signature b'\\x89HDF')")
        raise PosteriorError(f"{path}: {what}; expected {WANTED}") from None
    pp = dt.children.get("posterior_predictive")
    x = None if pp is None else pp.to_dataset().data_vars.get("x_generated")
    if x is None or x.dims[:3] != ("chain", "draw", "sample") or x.sizes["draw"] == 0:
        found = ", ".join(f"{(node.path.rstrip('/') + '/' + v).lstrip('/')}({', '.join(node.ds[v].dims)})"
                          for node in dt.subtree for v in node.ds.data_vars)[:200]
        raise PosteriorError(f"{path}: holds {found or 'no variables'}; expected {WANTED}")
    keep = _kept(dt, x.sizes["draw"])
    sections = {}
    for group in GROUPS:
        if group not in dt.children:
            continue
        try:
            ds = dt[group].to_dataset()
            # a deterministic schedule (step_size) has no sampling variability to diagnose
            ds = ds[[v for v in ds.data_vars if np.issubdtype(ds[v].dtype, np.floating) and v != "step_size"]]
            if not ds.data_vars:
                continue
            if not {"chain", "draw"} <= set(ds.dims):
                raise ValueError(f"dimensions {tuple(ds.dims)}, expected (chain, draw, ...)")
            sections[group] = ds.isel(draw=keep).load()
        except (OSError, ValueError, TypeError, KeyError, RuntimeError) as err:
            raise PosteriorError(f"{path}: cannot read group {group} ({_reason(err)}); expected {WANTED}") from None
    return dt, sections


def _kept(dt, n_draws: int) -> slice:
    """The draws to diagnose: every draw of the ``posterior*`` groups when the run keeps its warmup apart
    (``warmup_*`` groups, or a ``num_warmup`` attribute), else the second half (files of older runs)."""
    pp = dt.children.get("posterior_predictive")
    apart = any(name.startswith("warmup_") for name in dt.children) or (
        pp is not None and "num_warmup" in pp.to_dataset().attrs)
    return slice(0, None) if apart else slice(n_draws // 2, None)


def diagnose(run_dir: Path, plot: bool = False) -> tuple[str, int]:
    """Build the report for ``run_dir``.

    Returns
    -------
    (str, int)
        The printable report and the number of flagged statistics.

    Raises
    ------
    FileNotFoundError
        If ``run_dir/posterior.nc`` does not exist.
    PosteriorError
        If it is not a readable bgan-run posterior (:func:`open_posterior`).
    """
    import arviz as az

    path = Path(run_dir) / "posterior.nc"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir}: no posterior.nc (not a bgan-run directory)")
    dt, groups = open_posterior(path)
    n_draws = dt["posterior_predictive"].sizes["draw"]
    keep = _kept(dt, n_draws)
    try:
        stats = function_space(dt)
    except (OSError, ValueError, RuntimeError) as err:  # a corrupt data chunk surfaces only when read
        raise PosteriorError(f"{path}: cannot read posterior_predictive/x_generated ({_reason(err)})") from None
    fs = _as_dataset(stats, keep)
    sections = {"function space (generated samples)": fs, **groups}
    kept = len(range(n_draws)[keep])
    lines, flagged = [f"bgan-diagnose {run_dir}: {kept} of {n_draws} posterior draws kept" + (
        "" if kept == n_draws else " (a file without warmup groups: its second half)")], 0
    for title, ds in sections.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            summ = az.summary(ds, kind="diagnostics", round_to=3)
        bad = summ[(summ["r_hat"].astype(float) > RHAT_MAX) | (summ["ess_bulk"].astype(float) < ESS_MIN)]
        flagged += len(bad)
        lines += ["", f"== {title}: {len(bad)} of {len(summ)} flagged (R-hat > {RHAT_MAX} or bulk ESS < {ESS_MIN})",
                  summ[["r_hat", "ess_bulk", "ess_tail"]].to_string() if "posterior" not in title
                  else bad[["r_hat", "ess_bulk", "ess_tail"]].head(10).to_string()]
    if plot:
        written = save_plots(stats, run_dir, first_kept=keep.start or 0)
        lines.append(f"\nwrote {', '.join(written)}" + ("" if "rank.png" in written else
                     " (no rank plot: a rank plot compares chains, and this run has one)"))
    return "\n".join(lines), flagged


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        from experiments.errors import plain

        print("usage: bgan-diagnose RUN_DIR [--plot]\n\n" + plain(__doc__ or ""))
        return 0
    plot = "--plot" in argv
    dirs = [a for a in argv if a != "--plot"]
    if len(dirs) != 1:
        print("usage: bgan-diagnose RUN_DIR [--plot]", file=sys.stderr)
        return 2
    try:
        report, _ = diagnose(Path(dirs[0]), plot=plot)
    except (FileNotFoundError, OSError, KeyError, PosteriorError) as err:
        print(f"bgan-diagnose: error: {err}", file=sys.stderr)
        return 2
    print(report)
    return 0


def console_main() -> None:
    """``bgan-diagnose`` console script."""
    sys.exit(main())
