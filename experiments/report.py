"""Pictures and the short report of a run directory (matplotlib, markdown)."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_samples(path, x_generated: np.ndarray, observed: np.ndarray, event_shape, title: str,
                 first_draw: int = 0, caption=None) -> None:
    """Write ``samples.png``.

    Parameters
    ----------
    path : str or path-like
        Where the PNG goes.
    x_generated : numpy.ndarray, shape ``(chain, draw, sample, data_dim)``
        Generated samples of every recorded draw (``posterior_predictive/x``).
    observed : numpy.ndarray, shape ``(M, data_dim)``
        Held-out real data (drawn behind 2-D samples).
    event_shape : tuple of int
        ``(2,)`` for 2-D data, ``(H, W)`` or ``(H, W, C)`` for images in [0, 1].
    title : str
    first_draw : int
        The draw index (ArviZ ``draw`` coordinate) of ``x_generated[:, 0]``, for the row labels.
    caption : callable, optional
        Images only: ``caption(images)`` maps ``(n, data_dim)`` images to ``n`` strings written under them
        (Stacked MNIST: each channel's predicted digit, :meth:`experiments.metrics.StackedClassifier.caption`).

    2-D data: the final draw's samples of every chain (one colour each) over the held-out real data.
    Images: the gallery of the posterior, one row per posterior draw (up to 8 rows: the final draw of every
    chain, then earlier draws of each chain, newest first), 12 samples per row, so the rows show how the
    generated images vary over the weights' posterior.
    """
    last = x_generated[:, -1]  # (chain, sample, data_dim)
    if len(event_shape) == 1:
        fig, ax = plt.subplots(figsize=(6, 6))
        ax.scatter(observed[:, 0], observed[:, 1], s=2, c="0.7", label="real (held out)")
        for c in range(last.shape[0]):
            ax.scatter(last[c, :, 0], last[c, :, 1], s=2, alpha=0.6, label=f"chain {c}")
        ax.set_aspect("equal")
        ax.legend(markerscale=4, fontsize=7, loc="upper right")
    else:
        chains, draws = x_generated.shape[:2]
        picks = [(c, draws - 1 - d) for d in range(draws) for c in range(chains)][:8]
        rows, cols = len(picks), min(12, x_generated.shape[2])
        row_height = 0.8 if caption is None else 0.95
        fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.8 + 0.6, rows * row_height + 0.4), squeeze=False)
        cmap = "gray_r" if len(event_shape) == 2 or event_shape[-1] == 1 else None
        for r, (chain, draw) in enumerate(picks):
            captions = caption(x_generated[chain, draw, :cols]) if caption is not None else None
            for c in range(cols):
                ax = axes[r, c]
                if captions is not None:
                    ax.set_xlabel(captions[c], fontsize=5, labelpad=1)
                image = np.clip(x_generated[chain, draw, c].reshape(event_shape), 0, 1)
                ax.imshow(image.squeeze(-1) if image.ndim == 3 and image.shape[-1] == 1 else image,
                          cmap=cmap, vmin=0, vmax=1)
                ax.set_xticks([])
                ax.set_yticks([])
            axes[r, 0].set_ylabel(f"chain {chain}\ndraw {first_draw + draw}", fontsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


#: The predictives whose reliability a run records: ``metrics.json``'s key and the legend's label.
RELIABILITY_KEYS = (("reliability", "headline predictive"), ("reliability_final_draw", "final draw"),
                    ("reliability_pooled", "post-warmup draws"), ("reliability_ema", "moving average"))


def plot_reliability(path, curves: dict, title: str) -> None:
    """Write a reliability diagram (Guo et al. 2017, fig. 1): accuracy against confidence per bin.

    Parameters
    ----------
    path : str or path-like
        Where the PNG goes.
    curves : dict of str to list of dict
        A label per predictive, and its bins as :func:`experiments.metrics.calibration` returns them
        (``edge``, ``confidence``, ``accuracy``, ``count``; empty bins are skipped).
    title : str

    The diagonal is perfect calibration; a point below it is over-confident. The marker area grows with the
    bin's share of the points.
    """
    fig, ax = plt.subplots(figsize=(4.6, 4.6))
    ax.plot([0, 1], [0, 1], ls="--", c="0.6", lw=1, label="calibrated")
    for label, bins in curves.items():
        filled = [b for b in bins if b["count"]]
        total = sum(b["count"] for b in filled)
        conf = [b["confidence"] for b in filled]
        acc = [b["accuracy"] for b in filled]
        (line,) = ax.plot(conf, acc, marker=None, lw=1.2, label=label)
        ax.scatter(conf, acc, s=[4 + 200 * b["count"] / total for b in filled], color=line.get_color(), alpha=0.7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (largest class probability)")
    ax.set_ylabel("accuracy")
    ax.set_aspect("equal")
    # below the axes: the well-calibrated mass sits in the top right corner, where a legend inside would hide it
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    ax.set_title(title, fontsize=8)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def write_report(path, *, cfg_yaml: str, metrics: dict, title: str) -> None:
    """Write ``report.md``: the headline metrics, the wall time and the resolved config."""
    headline = {k: v for k, v in metrics.items() if not isinstance(v, (dict, list))}  # (no reliability bins)
    lines = [f"# {title}", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in headline.items()]
    diag = metrics.get("function_space_diagnostics", {})
    if diag:
        lines += ["", "Function-space convergence (rank-normalised R-hat, bulk/tail ESS; second half of the draws):",
                  "", "| statistic | R-hat | ESS bulk | ESS tail |", "|---|---|---|---|"]
        fmt = lambda v: "n/a" if v is None else f"{v:.3g}"  # noqa: E731
        lines += [f"| {k} | {fmt(d['rhat'])} | {fmt(d['ess_bulk'])} | {fmt(d['ess_tail'])} |" for k, d in diag.items()]
    lines += ["", "Files: `posterior.nc` (ArviZ), `metrics.json`, `samples.png`, `config.yaml`.", "",
              "Resolved config:", "", "```yaml", cfg_yaml.rstrip(), "```", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def _finite_or_none(obj):
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite_or_none(v) for v in obj]
    return obj


def write_json(path, obj) -> None:
    """Strict JSON: a non-finite figure (e.g. ``reverse_kl`` with no high-quality sample) is ``null``."""
    with open(path, "w") as f:
        json.dump(_finite_or_none(obj), f, indent=2, allow_nan=False)
        f.write("\n")
