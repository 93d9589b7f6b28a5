"""``bgan-summarize RUN_DIR ...``: a markdown table of run directories, mean ± sd over seeds.

Runs are grouped by their directory name with a trailing ``-s<seed>`` or ``-seed<seed>`` removed, so
``grid25-sghmc-s0 .. -s2`` (or bgan-run's default ``grid25-sghmc-seed0 ..``) form one row. Every figure is read from the runs' ``metrics.json``.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

COLUMNS = {
    "mixture": ["modes", "high_quality", "reverse_kl", "data_copying_z", "wall_seconds"],
    "classes": ["classes_covered", "class_kl", "frechet_classifier_distance", "data_copying_z", "wall_seconds"],
    "synthetic": ["js_divergence", "data_copying_z", "wall_seconds"],
    "semi_supervised": ["test_error", "test_error_per_sample", "test_error_supervised_only", "wall_seconds"],
    "anomaly": ["auroc", "auroc_spread", "auroc_knn", "wall_seconds"],
    "class_imbalance": ["minority_accuracy", "minority_accuracy_real_only", "balanced_accuracy",
                        "balanced_accuracy_real_only", "wall_seconds"],
}
# the application tasks' errors, AUROCs and accuracies are fractions: three decimals
THREE_DIGITS = {k for task in ("semi_supervised", "anomaly", "class_imbalance") for k in COLUMNS[task]} - {"wall_seconds"}


def _fmt(values: list[float], key: str) -> str:
    """``mean ± sd`` (sample sd) over the runs that have the figure; ``(n=k)`` marks a figure only ``k`` of
    the runs have (e.g. a metric added after some runs were made); ``–`` if none has it."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return "–"
    scale = 100.0 if key == "high_quality" else 1.0
    digits = 1 if key in ("modes", "classes_covered", "high_quality", "wall_seconds") else 3 if key in THREE_DIGITS else 2
    mean, sd = v.mean() * scale, (v.std(ddof=1) * scale if len(v) > 1 else 0.0)
    return f"{mean:.{digits}f} ± {sd:.{digits}f}" + (f" (n={v.size})" if v.size < len(values) else "")


def summarize(run_dirs: list[Path]) -> str:
    """Markdown tables (one per metric family) of the given run directories.

    Raises
    ------
    FileNotFoundError
        If a directory has no ``metrics.json``.
    """
    groups: dict[str, list[dict]] = defaultdict(list)
    for d in run_dirs:
        path = Path(d) / "metrics.json"
        if not path.is_file():
            raise FileNotFoundError(f"{d}: no metrics.json (not a bgan-run directory)")
        groups[re.sub(r"-s(?:eed)?\d+$", "", Path(d).name)].append(json.loads(path.read_text()))
    out = []
    for family, cols in COLUMNS.items():
        rows = {k: v for k, v in groups.items() if cols[0] in v[0]}
        if not rows:
            continue
        head = ["run", "seeds", *[c + (" (%)" if c == "high_quality" else "") for c in cols]]
        out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for name, ms in sorted(rows.items()):
            seeds = ",".join(str(m["seed"]) for m in sorted(ms, key=lambda m: m["seed"]))
            out.append(f"| {name} | {seeds} | " + " | ".join(_fmt([m.get(c) for m in ms], c) for c in cols) + " |")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: bgan-summarize RUN_DIR [RUN_DIR ...]", file=sys.stderr)
        return 2
    try:
        print(summarize([Path(a) for a in argv]))
    except (FileNotFoundError, json.JSONDecodeError, KeyError) as err:
        print(f"bgan-summarize: error: {err}", file=sys.stderr)
        return 2
    return 0


def console_main() -> None:
    """``bgan-summarize`` console script."""
    sys.exit(main())
