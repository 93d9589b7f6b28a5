"""The particle-study figure: modes, high quality and reverse KL against J_g and against wall time.

Usage: ``python scripts/plot_particles.py RUNS_DIR OUT.png`` (the figure; its numbers are printed as a markdown
table) over the run directories of
``scripts/reproduce_particles.sh`` (named ``grid25-<method>-J<j>-s<seed>``). Each point is the mean over seeds
of a method's headline figure (solid: the Bayesian GAN's pooled posterior predictive, the optimisers' final
iterate) and of the other form (dashed: the sampler's final draw, the optimisers' pooled post-warmup
iterates), so pooling is compared with pooling, with a bar of one standard deviation; a J_g where a seed
diverged is ringed (its figures are those of its last finite draw). Uses matplotlib only.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

FIGURES = (("modes", "modes (of 25)"), ("high_quality", "high quality"), ("reverse_kl", "reverse KL"))
NAME = re.compile(r"^grid25-(?P<method>.+)-J(?P<j>\d+)-s(?P<seed>\d+)$")


def collect(runs_dir: Path) -> dict:
    """``{method: {J_g: [metrics, ...]}}`` from the run directories that have a ``metrics.json``."""
    out: dict = defaultdict(lambda: defaultdict(list))
    for d in sorted(Path(runs_dir).iterdir()):
        m = NAME.match(d.name)
        if m and (d / "metrics.json").is_file():
            out[m["method"]][int(m["j"])].append(json.loads((d / "metrics.json").read_text()))
    return out


def figure(run: dict, key: str) -> float:
    """``run[key]`` as a float, NaN where the run has no such figure (e.g. no pooled draws)."""
    value = run.get(key)
    return float(value) if value is not None else np.nan


def other_form(key: str, by_j: dict) -> str | None:
    """The form beside the headline: a sampler's final draw (``*_final_draw``) or an optimiser's pooled
    post-warmup iterates (``*_pooled``), whichever the runs report; None if neither."""
    runs = [r for rs in by_j.values() for r in rs]
    for suffix in ("_pooled", "_final_draw"):
        if any(f"{key}{suffix}" in r for r in runs):
            return f"{key}{suffix}"
    return None


def form_name(form: str, by_j: dict) -> str:
    """``final``/``pooled`` for a line's legend: what the headline is (from ``metrics.json``'s
    ``headline``) or the suffix of the other form."""
    if form.endswith("_pooled"):
        return "pooled"
    if form.endswith("_final_draw"):
        return "final"
    heads = {r.get("headline", "") for rs in by_j.values() for r in rs}
    return "final" if all(h.startswith("final") for h in heads) else "pooled"


def plot(data: dict, path: Path) -> None:
    fig, axes = plt.subplots(2, len(FIGURES), figsize=(4 * len(FIGURES), 7), constrained_layout=True)
    for method, by_j in sorted(data.items()):
        js = sorted(by_j)
        for col, (key, label) in enumerate(FIGURES):
            wall = np.array([np.mean([r["wall_seconds"] for r in by_j[j]]) for j in js])
            diverged = np.array([any(r.get("diverged") for r in by_j[j]) for j in js])
            for row, x in enumerate((np.array(js), wall)):
                ax = axes[row, col]
                color = None
                for form, style in ((key, "-"), (other_form(key, by_j), "--")):
                    if form is None:
                        continue
                    values = [[figure(r, form) for r in by_j[j]] for j in js]
                    mean = np.array([np.nanmean(v) if np.isfinite(v).any() else np.nan for v in values])
                    sd = np.array([np.nanstd(v) if np.isfinite(v).any() else np.nan for v in values])
                    line = ax.errorbar(x, mean, yerr=sd, marker="o" if style == "-" else "x", capsize=3,
                                       linestyle=style, color=color,
                                       label=f"{method} ({form_name(form, by_j)})")
                    if color is None:
                        color, head_mean = line[0].get_color(), mean
                ax.scatter(x[diverged], head_mean[diverged], s=120, facecolors="none", edgecolors=color)
                ax.set_xscale("log", base=2 if row == 0 else 10)
                ax.set_xlabel("J_g" if row == 0 else "wall seconds")
                ax.set_ylabel(label)
    axes[0, 0].legend()
    fig.suptitle("grid25: particles against quality (mean ± sd over seeds; solid: headline, dashed: the other form; ringed: a seed diverged)")
    fig.savefig(path, dpi=110)


def table(data: dict) -> str:
    """The figure's numbers as a markdown table: per method and J_g, mean ± sd over seeds of the headline and
    the other form of each figure, and the wall seconds."""
    def cell(runs, key):
        v = np.array([figure(r, key) for r in runs])
        v = v[np.isfinite(v)]
        if not len(v):
            return "–"
        scale = 100 if key.startswith("high_quality") else 1
        fmt = "{:.1f} ± {:.1f}" if not key.startswith("reverse_kl") else "{:.3f} ± {:.3f}"
        return fmt.format(scale * v.mean(), scale * v.std())

    lines = ["| method | J_g | seeds | modes | high quality (%) | reverse KL | other form: modes / HQ (%) / "
             "reverse KL | wall seconds |", "|---|---|---|---|---|---|---|---|"]
    for method, by_j in sorted(data.items()):
        for j in sorted(by_j):
            runs = by_j[j]
            head, other = form_name("modes", by_j), other_form("modes", by_j)
            alt = " / ".join(cell(runs, other_form(k, by_j)) for k, _ in FIGURES) if other else "–"
            seeds = ",".join(str(r["seed"]) for r in runs)
            div = sum(bool(r.get("diverged")) for r in runs)
            lines.append(f"| {method} ({head}) | {j} | {seeds}{f' ({div} diverged)' if div else ''} | "
                         + " | ".join(cell(runs, k) for k, _ in FIGURES)
                         + f" | {alt} | {cell(runs, 'wall_seconds')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Draw the figure and print its table; 2 (argparse's code) for a bad command line or no run directory."""
    import argparse

    parser = argparse.ArgumentParser(prog="plot_particles.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs_dir", type=Path, help="the RUNS_DIR of scripts/reproduce_particles.sh")
    parser.add_argument("out", type=Path, help="the figure to write (PNG)")
    args = parser.parse_args(argv)
    data = collect(args.runs_dir)
    if not data:
        print(f"plot_particles: error: {args.runs_dir}: no grid25-<method>-J<j>-s<seed> run directory", file=sys.stderr)
        return 2
    plot(data, args.out)
    print(table(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
