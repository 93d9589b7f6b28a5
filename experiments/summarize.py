"""``bgan-summarize RUN_DIR ... [--against ROW ...]``: a markdown table of run directories, mean ± sd over seeds;
where a task computes baselines in the same run (a supervised-only classifier, real-only training, a kNN
score) every row's paired per-seed differences from them; with ``--against`` also every row's paired
per-seed differences from the row ``ROW`` on each set's verdict figures (``--against`` may be repeated: one
table per reference row). ``--reliability PNG`` also draws every row's reliability diagram (its headline
predictive and moving average, pooled over seeds) in one figure. ``--against ROW:ema`` reads the reference row in its moving-average form
(``inference.ema_decay``: ``test_error_ema`` etc.) against every form of the other rows, e.g. the Bayesian
GAN's posterior predictive against the twin with the moving average. Intervals are 95 % paired-t. With ``--equal-count`` the pooled count-dependent
figures (modes, high quality, reverse KL, classes covered, class KL) are those of 2,500 samples of the pool,
spread evenly over its chains and draws (``*_pooled_2500``), the final draw's count and the published rows' (PacGAN, VEEGAN): the column
reads ``pooled_2500``. Stacked MNIST's figures count 25,600 samples in both forms already and are read as they are.

``--findings PAGE.md [--fixtures DIR] RUN_DIR ...`` writes docs/findings.md instead: one table per set (the
ML twin, the ensemble, the coupled MAP, the Bayesian GAN and the best zoo row at equal sample counts, with
paired differences from the ensemble), the readings that decompose the Bayesian GAN's effect, where the
runs ran and what is open (:mod:`experiments.findings`); ``--fixtures`` also stores the runs' metrics.json,
trimmed, under DIR (the page's test fixtures, tests/data/findings).

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

from experiments.tasks import TASKS

#: Per metric family, its columns as ``(key, kind)``: ``kind`` ``"pooled"`` is the figure of the pooled
#: post-warmup draws (the posterior predictive; an optimiser's ``*_pooled``), ``"final"`` that of the final
#: draw(s) (a sampler's ``*_final_draw``; an optimiser's headline), ``None`` a figure with one form. Pooled is
#: compared with pooled and final with final, whatever a run's headline is.
COLUMNS = {
    "stacked": [("modes", "pooled"), ("kl_uniform", "pooled"), ("modes", "final"), ("kl_uniform", "final"),
                ("modes_real", None), ("wall_seconds", None)],
    "mixture": [("modes", "pooled"), ("high_quality", "pooled"), ("reverse_kl", "pooled"), ("modes", "final"),
                ("high_quality", "final"), ("reverse_kl", "final"), ("data_copying_z", "pooled"),
                ("wall_seconds", None)],
    "classes": [("classes_covered", "pooled"), ("class_kl", "pooled"), ("frechet_classifier_distance", "pooled"),
                ("classes_covered", "final"), ("frechet_classifier_distance", "final"), ("data_copying_z", "pooled"),
                ("wall_seconds", None)],
    "synthetic": [("js_divergence", "pooled"), ("js_divergence", "final"), ("data_copying_z", "pooled"),
                  ("wall_seconds", None)],
}


#: Per metric family, the verdict figures and their direction (+1: higher is better, -1: lower is better):
#: modes and reverse KL on the 2-D sets, JS divergence on the synthetic set, classifier Fréchet on images.
VERDICT_FIGURES = {"stacked": [("modes", 1), ("kl_uniform", -1)], "mixture": [("modes", 1), ("reverse_kl", -1)], "classes": [("frechet_classifier_distance", -1)],
                   "synthetic": [("js_divergence", -1)]}
#: A task's verdict figures, compared wherever the reference row has them (beside its data set's).
TASK_VERDICT_FIGURES = [("test_error", -1), ("test_nll", -1), ("test_ece", -1), ("auroc", 1), ("test_accuracy", 1),
                        ("minority_accuracy", 1)]
#: The reference forms ``--against ROW:FORM`` may name: the figures a run also records for its moving
#: average of the weights (``<key>_ema``; :mod:`inference.averaging`).
REFERENCE_FORMS = ("ema",)


#: The figure that marks a family's runs where its first column's does not: Stacked MNIST's runs have modes
#: too (the datasets' families are tried in :data:`COLUMNS`'s order, Stacked MNIST's first).
MARKERS = {"stacked": "kl_uniform"}


#: Families whose pooled and final figures count the same samples (the dataset's own count, 25,600 on Stacked
#: MNIST): ``--equal-count`` leaves them as they are.
COUNTED_ALIKE = ("stacked",)


def _marked(runs: list[dict], family: str, cols: list) -> bool:
    key = MARKERS.get(family, cols[0][0])
    return any(k in runs[0] for k in (key, f"{key}_pooled"))


def _has_family(runs: list[dict], family: str, cols: list) -> bool:
    """Do ``runs`` belong in ``family``'s table: their data set's family (one per run), or a task's whose
    figures they have."""
    if family in COLUMNS:
        return next((f for f, c in COLUMNS.items() if _marked(runs, f, c)), None) == family
    return _marked(runs, family, cols)


def columns() -> dict[str, list]:
    """:data:`COLUMNS` (the datasets' families) and every registered task's
    (:attr:`experiments.tasks.base.Task.columns`), looked up when a table is made."""
    return COLUMNS | {name: list(task.columns) for name, task in TASKS.items() if task.columns}


def three_digit_keys() -> set[str]:
    """The task figures that are fractions (errors, AUROCs, accuracies): printed with three decimals."""
    return {k for task in TASKS.values() if task.fractions for k, _ in task.columns} - {"wall_seconds"}

#: Reverse KL is not credited where fewer than this fraction of the samples is high quality (it then
#: describes a handful of samples).
MIN_HIGH_QUALITY = 0.10


#: The pooled form at the final draw's sample count (``--equal-count``): ``<key>_pooled_2500`` for every run,
#: sampler or optimiser (:func:`experiments.evaluation.equal_count_figures`).
EQUAL = "pooled_2500"


def equal_count(cols: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """``cols`` with every pooled count-dependent figure (:data:`experiments.evaluation.COUNT_KEYS`) read
    at the final draw's count (kind :data:`EQUAL`), so pooled and final figures count the same number of
    samples."""
    from experiments.evaluation import COUNT_KEYS

    return [(k, EQUAL if kind == "pooled" and k in COUNT_KEYS else kind) for k, kind in cols]


def figure(metrics: dict, key: str, kind: str | None):
    """A run's ``key`` in the form ``kind`` (see :func:`columns`; :data:`EQUAL` is the pooled form at the
    final draw's count); ``None`` if the run lacks it (runs made before the pooled figures existed have only
    final-draw figures, runs made before the equal-count figures have no ``*_pooled_2500``)."""
    if kind is None:
        return metrics.get(key)
    if kind == EQUAL:
        return metrics.get(f"{key}_{EQUAL}")
    pooled_headline = str(metrics.get("headline", "")).startswith("posterior predictive")
    if kind == "pooled":
        return metrics.get(key if pooled_headline else f"{key}_pooled")
    return metrics.get(f"{key}_final_draw" if pooled_headline else key)


def _fmt(values: list[float], key: str) -> str:
    """``mean ± sd`` (sample sd) over the runs that have the figure; ``(n=k)`` marks a figure only ``k`` of
    the runs have (e.g. a metric added after some runs were made); ``–`` if none has it."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if v.size == 0:
        return "–"
    scale = 100.0 if key == "high_quality" else 1.0
    digits = 1 if key in ("modes", "classes_covered", "high_quality", "wall_seconds") else 3 if key in three_digit_keys() else 2
    mean, sd = v.mean() * scale, (v.std(ddof=1) * scale if len(v) > 1 else 0.0)
    return f"{mean:.{digits}f} ± {sd:.{digits}f}" + (f" (n={v.size})" if v.size < len(values) else "")


def _cell(runs: list[dict], key: str, kind: str | None) -> str:
    cell = _fmt([figure(m, key, kind) for m in runs], key)
    if key == "reverse_kl" and cell != "–":  # with the high-quality samples it rests on
        hq = [figure(m, "high_quality", kind) for m in runs]
        n = [figure(m, "num_samples", kind) or 2500 for m in runs]
        if all(h is not None for h in hq):
            mean_hq = float(np.mean(hq))
            count = float(np.mean([h * k for h, k in zip(hq, n, strict=True)]))
            cell += f" [{count:.0f} HQ" + (", not credited]" if mean_hq < MIN_HIGH_QUALITY else "]")
    return cell


def _header(key: str, kind: str | None) -> str:
    return key + (" (%)" if key == "high_quality" else "") + (f" {kind}" if kind else "")


def load_metrics(d: Path) -> dict:
    """A run directory's ``metrics.json``, with its ``data`` read from ``config.yaml`` where a run written before
    metrics.json recorded it has none.

    Raises
    ------
    FileNotFoundError
        If ``d`` has no ``metrics.json``.
    ValueError
        If it is not a JSON object with an integer ``seed`` (the message names the file).
    """
    path = Path(d) / "metrics.json"
    if not path.is_file():
        raise FileNotFoundError(f"{d}: no metrics.json (not a bgan-run directory)")
    try:
        metrics = json.loads(path.read_bytes().decode("utf-8"))
    except ValueError as err:  # JSONDecodeError and UnicodeDecodeError
        raise ValueError(f"{path}: not a JSON metrics file ({err})") from None
    if not isinstance(metrics, dict) or not isinstance(metrics.get("seed"), int):
        raise ValueError(f"{path}: not a bgan-run metrics file (a JSON object with an integer seed)")
    saved = Path(d) / "config.yaml"
    if "data" not in metrics and saved.is_file():  # a run written before metrics.json recorded its data
        import yaml

        from experiments.schema import data_identity

        metrics["data"] = data_identity((yaml.safe_load(saved.read_text()) or {}).get("experiment") or {})
    return metrics


def row_name(d: Path) -> str:
    """A run directory's row: its name less a trailing ``-s<seed>`` or ``-seed<seed>``."""
    return re.sub(r"-s(?:eed)?\d+$", "", Path(d).name)


def _groups(run_dirs: list[Path]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for d in run_dirs:
        if Path(d).is_file():  # a run's log beside the run directories (RUNS/* matches it too)
            continue
        groups[row_name(d)].append(load_metrics(d))
    return groups


def _family(runs: list[dict]) -> str | None:
    for family, cols in columns().items():
        if _has_family(runs, family, cols):
            return family
    return None


def _diverged_note(runs: list[dict]) -> str:
    """`` (diverged k/n: iterations a-b of T)`` for a row some of whose runs diverged: their figures are those
    of the last finite draws, before the budget was spent."""
    its = sorted(m["diverged"]["iteration"] for m in runs if m.get("diverged"))
    if not its:
        return ""
    span = f"{its[0]}" if its[0] == its[-1] else f"{its[0]}–{its[-1]}"
    return f" (diverged {len(its)}/{len(runs)}: iteration {span} of {runs[0].get('iterations', '?')})"


def summarize(run_dirs: list[Path], equal: bool = False) -> str:
    """Markdown tables (one per metric family) of the given run directories; ``equal``: the pooled
    count-dependent figures at the final draw's count (:func:`equal_count`).

    Raises
    ------
    FileNotFoundError
        If a directory has no ``metrics.json``.
    """
    groups = _groups(run_dirs)
    out = []
    for family, cols in columns().items():
        # a row is in every table whose figures it has (a task's beside its data set's)
        rows = {k: v for k, v in groups.items() if _has_family(v, family, cols)}
        cols = equal_count(cols) if equal and family not in COUNTED_ALIKE else cols
        if not rows:
            continue
        head = ["run", "seeds", *[_header(k, kind) for k, kind in cols]]
        out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for name, ms in sorted(rows.items()):
            seeds = ",".join(str(m["seed"]) for m in sorted(ms, key=lambda m: m["seed"]))
            label = name + _diverged_note(ms)
            out.append(f"| {label} | {seeds} | " + " | ".join(_cell(ms, k, kind) for k, kind in cols) + " |")
        out.append("")
    return "\n".join(out)


def paired_difference(values: list[float], level: float = 0.95) -> tuple[float, float, float] | None:
    """Mean of per-seed differences and its two-sided paired-t interval (Student t with ``n - 1`` degrees of
    freedom, ``scipy.stats.t``); ``None`` with fewer than 2 differences.

    Returns
    -------
    (mean, low, high) : floats, in the figure's units
    """
    from scipy import stats

    d = np.asarray(values, dtype=float)
    if d.size < 2:
        return None
    half = stats.t.ppf(0.5 + level / 2, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


def _interval_cell(diffs: list[float], sign: int, digits: int) -> tuple[str, str]:
    """The ``mean [95 % interval]`` cell of per-seed differences and its reading: "better"/"worse" where the
    interval excludes 0 in the direction ``sign`` (+1: higher is better), "no difference detected" where it
    contains 0, "one seed" with a single difference."""
    ci = paired_difference(diffs)
    if ci is None:
        return f"{diffs[0]:+.{digits}f}", "one seed"
    mean, low, high = ci
    good_low, good_high = sorted((sign * low, sign * high))  # in the "higher is better" direction
    reading = "better" if good_low > 0 else "worse" if good_high < 0 else "no difference detected"
    return f"{mean:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]", reading


def baseline_table(run_dirs: list[Path]) -> str:
    """Every row's paired per-seed differences from the baselines its task computes in the same run
    (:attr:`experiments.tasks.base.Task.baselines`, e.g. ``test_error`` minus ``test_error_supervised_only``),
    final and pooled, with the mean and its 95 % paired-t interval; ``""`` when no row has a baseline."""
    groups = _groups(run_dirs)
    triples = list(dict.fromkeys(b for task in TASKS.values() for b in task.baselines))
    out = []
    for name, runs in sorted(groups.items()):
        runs = sorted(runs, key=lambda m: m["seed"])
        for key, base, sign in triples:
            two_forms = any(f"{key}_final_draw" in m or f"{key}_pooled" in m for m in runs)
            for kind in ("final", "pooled") if two_forms else (None,):
                pairs = [(m["seed"], figure(m, key, kind) - m[base]) for m in runs
                         if m.get(base) is not None and figure(m, key, kind) is not None]
                if not pairs:
                    continue
                cell, reading = _interval_cell([d for _, d in pairs], sign, 3)
                out.append(f"| {name}{_diverged_note(runs)} | {key} − {base} | {kind or '–'} | "
                           f"{','.join(str(s) for s, _ in pairs)} | {', '.join(f'{d:+.3f}' for _, d in pairs)} | "
                           f"{cell} | {reading} |")
    if not out:
        return ""
    return "\n".join(["Paired per-seed differences from the baselines computed in the same run (95 % paired-t "
                      "interval):", "", "| row | figure | form | seeds | per seed | mean [95 % interval] | reading |",
                      "|---|---|---|---|---|---|---|", *out]) + "\n"


def same_data(a: dict, b: dict) -> bool:
    """Whether two runs were made on the same data, as rows are paired: their ``metrics.json``'s ``data``
    (the dataset config and the labelled images, :func:`experiments.schema.data_identity`) where both record
    it (read from ``config.yaml`` for runs written before ``metrics.json`` recorded it), else their
    experiment's name."""
    if "data" in a and "data" in b:
        def known(data: dict) -> dict:  # what metrics.json wrote before None keys were dropped
            return {k: v for k, v in data.items() if v is not None}

        return known(a["data"]) == known(b["data"])
    return a.get("experiment") == b.get("experiment")


def paired_rows(groups: dict[str, list[dict]], against: str, equal: bool = False) -> tuple[list[dict], list[str]]:
    """The paired per-seed differences of :func:`paired_table` as records, one per row, figure and form:
    ``row`` (the row's name), ``runs`` (its metrics), ``key``, ``kind``, ``pairs`` (``(seed, difference)``),
    ``collapsed`` (``(seed, who)`` where a reverse KL is infinite), ``cell`` (``mean [low, high]``) and
    ``reading``; and the rows on another data set than the reference's (not paired). ``groups``: rows as
    ``bgan-summarize`` groups run directories.

    Raises
    ------
    KeyError
        If no row is named ``against`` or it records no figure in the form ``ROW:FORM`` names.
    """
    label = against
    against, _, form = against.partition(":")
    if form and form not in REFERENCE_FORMS:
        raise KeyError(f"--against {label!r}: unknown form {form!r}; forms: {', '.join(REFERENCE_FORMS)}")
    if against not in groups:
        raise KeyError(f"--against {against!r}: no such row; rows: {', '.join(sorted(groups))}")
    base = {m["seed"]: m for m in groups[against]}
    family = _family(groups[against])
    if form:  # the reference's task figures in that form only (a data set's verdict figures have none)
        figures = [(k, s) for k, s in TASK_VERDICT_FIGURES if any(f"{k}_{form}" in m for m in groups[against])]
        if not figures:
            raise KeyError(f"--against {label!r}: the row {against} records no {form} figure "
                           f"({', '.join(f'{k}_{form}' for k, _ in TASK_VERDICT_FIGURES[:3])}, ...)")
    else:
        figures = list(VERDICT_FIGURES.get(family, [])) + [
            (k, s) for k, s in TASK_VERDICT_FIGURES if any(k in m or f"{k}_pooled" in m for m in groups[against])]
    records, reference, other_data = [], groups[against][0], []
    for name, runs in sorted(groups.items()):
        if (name == against and not form) or _family(runs) != family:
            continue
        if not all(same_data(m, reference) for m in runs):  # grid25 and ring8 share a family; so do splits
            other_data.append(name)
            continue
        for key, sign in figures:
            counted = equal and family not in COUNTED_ALIKE
            for kind in ("final", *(k for _, k in equal_count([(key, "pooled")]))) if counted else ("final", "pooled"):
                pairs, collapsed, uncredited = [], [], False
                for m in sorted(runs, key=lambda m: m["seed"]):
                    if m["seed"] not in base:
                        continue
                    a = figure(m, key, kind)
                    b = base[m["seed"]].get(f"{key}_{form}") if form else figure(base[m["seed"]], key, kind)
                    if key == "reverse_kl":  # null beside a high-quality figure: no high-quality sample, KL infinite
                        hq = [figure(r, "high_quality", kind) for r in (m, base[m["seed"]])]
                        if any(h is None for h in hq):
                            continue  # the form is absent (e.g. a run that diverged before any pooled draw)
                        uncredited |= min(hq) < MIN_HIGH_QUALITY
                        if a is None or b is None:
                            collapsed.append((m["seed"], "row" if a is None else against))
                            continue
                    if a is None or b is None or not (np.isfinite(a) and np.isfinite(b)):
                        continue
                    pairs.append((m["seed"], a - b))
                if not pairs and not collapsed:
                    continue
                digits = 1 if key == "modes" else 3
                if collapsed:  # an infinite difference: no interval, the reading is the collapse
                    who = {w for _, w in collapsed}
                    cell = "–"
                    reading = ("worse (no high-quality sample)" if who == {"row"} else
                               "better (the reference has no high-quality sample)" if who == {against} else "–")
                else:
                    cell, reading = _interval_cell([d for _, d in pairs], sign, digits)
                if uncredited:
                    reading += f" (not credited: < {MIN_HIGH_QUALITY:.0%} high quality on a seed)"
                records.append({"row": name, "runs": runs, "key": key, "kind": kind, "digits": digits,
                                "pairs": pairs, "collapsed": collapsed, "cell": cell, "reading": reading})
    return records, other_data


def paired_table(run_dirs: list[Path], against: str, equal: bool = False) -> str:
    """Every row's paired per-seed differences (row minus ``against``, same seeds) on its family's verdict
    figures (:data:`VERDICT_FIGURES`, and a task's :data:`TASK_VERDICT_FIGURES` where the reference has them), final against final and pooled against pooled, with the mean and its
    95 % paired-t interval; ``against`` as ``ROW:ema`` compares both forms of every row with the reference's
    moving-average figures (``<key>_ema``, :data:`REFERENCE_FORMS`); ``equal``: pooled count-dependent figures at the final draw's count
    (:func:`equal_count`). Only rows on the reference's data (:func:`same_data`, every run of the row) are
    paired; the others are named under the table. "better"/"worse" where the interval excludes 0 in the figure's good/bad
    direction, "no difference detected" where it contains 0. A seed whose reverse KL is infinite (no
    high-quality sample: stored as null) is listed and decides the reading (no interval is given); a
    reverse KL resting on fewer than :data:`MIN_HIGH_QUALITY` high-quality samples on a seed is marked not
    credited, as in :func:`summarize` (the records: :func:`paired_rows`).

    Raises
    ------
    KeyError
        If no run directory belongs to the row ``against``.
    """
    records, other_data = paired_rows(_groups(run_dirs), against, equal)
    out = [f"Paired per-seed differences, row minus {against} (95 % paired-t interval):", "",
           "| row | figure | form | seeds | per seed | mean [95 % interval] | reading |", "|---|---|---|---|---|---|---|"]
    for r in records:
        digits, collapsed = r["digits"], r["collapsed"]
        per_seed = ", ".join(f"{d:+.{digits}f}" for _, d in r["pairs"])
        per_seed += "".join(f", s{s}: {who} infinite" for s, who in collapsed)
        seeds = ",".join(str(s) for s, _ in sorted(r["pairs"] + collapsed))
        out.append(f"| {r['row']}{_diverged_note(r['runs'])} | {r['key']} | {r['kind']} | {seeds} | "
                   f"{per_seed.lstrip(', ')} | {r['cell']} | {r['reading']} |")
    if other_data:
        out += ["", f"Not paired (another data set or split than {against.partition(':')[0]}'s): {', '.join(other_data)}."]
    return "\n".join(out) + "\n"


def pooled_reliability(runs: list[dict], key: str = "reliability") -> list[dict] | None:
    """A row's reliability bins (``metrics.json``'s ``key``) pooled over its seeds: each bin's count summed, its
    confidence and accuracy averaged with the seeds' counts as weights, i.e. the bins of every seed's test
    points together. ``None`` where no run has ``key``.

    Raises
    ------
    KeyError
        If the runs' bins differ (another number of bins).
    """
    per_run = [m[key] for m in runs if m.get(key)]
    if not per_run:
        return None
    if len({len(bins) for bins in per_run}) > 1:
        raise KeyError(f"{key}: the runs have different numbers of bins")
    out = []
    for bins in zip(*per_run, strict=True):
        count = sum(b["count"] for b in bins)
        mean = {f: (sum(b[f] * b["count"] for b in bins if b["count"]) / count if count else None)
                for f in ("confidence", "accuracy")}
        out.append({"edge": bins[0]["edge"], "count": count, **mean})
    return out


def reliability_figure(run_dirs: list[Path], path: Path) -> list[str]:
    """Write one reliability diagram of every row (:func:`experiments.report.plot_reliability`): its headline
    predictive, and its moving average where it records one, each pooled over its seeds
    (:func:`pooled_reliability`). Returns the curves' labels.

    Raises
    ------
    KeyError
        If no run records reliability bins (a semi-supervised run's test predictions do).
    """
    from experiments.report import plot_reliability

    curves = {}
    for name, runs in sorted(_groups(run_dirs).items()):
        seeds = len(runs)
        for key, label in (("reliability", name), ("reliability_ema", f"{name}, moving average")):
            bins = pooled_reliability(runs, key)
            if bins:
                curves[f"{label} ({seeds} seed{'s' * (seeds > 1)})"] = bins
    if not curves:
        raise KeyError("--reliability: no run records reliability bins (a semi-supervised run's test predictions)")
    plot_reliability(path, curves, "reliability of the headline predictives, pooled over seeds")
    return list(curves)


USAGE = ("usage: bgan-summarize RUN_DIR [RUN_DIR ...] [--against ROW ...] [--equal-count] [--reliability PNG]\n"
         "       bgan-summarize --findings PAGE.md [--fixtures DIR] RUN_DIR [RUN_DIR ...]")


def take_option(argv: list[str], flag: str, need: str) -> tuple[str | None, list[str]]:
    """The value after ``flag`` (its first occurrence) and ``argv`` without the two; ``(None, argv)`` without
    the flag.

    Raises
    ------
    ValueError
        ``"FLAG needs NEED"`` where the value is missing.
    """
    if flag not in argv:
        return None, argv
    i = argv.index(flag)
    if i + 1 >= len(argv) or argv[i + 1].startswith("--"):
        raise ValueError(f"{flag} needs {need}")
    return argv[i + 1], argv[:i] + argv[i + 2:]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        from experiments.errors import plain

        print(USAGE + "\n\n" + plain(__doc__ or ""))
        return 0
    against, figure_path = [], None
    equal = "--equal-count" in argv
    argv = [a for a in argv if a != "--equal-count"]
    try:
        png, argv = take_option(argv, "--reliability", "the PNG file to write (e.g. --reliability rel.png)")
        if png is not None and not png.endswith(".png"):
            raise ValueError("--reliability needs the PNG file to write (e.g. --reliability rel.png)")
        figure_path = png and Path(png)
        while "--against" in argv:
            row, argv = take_option(argv, "--against", "a row name (a run directory name without -s<seed>)")
            against.append(row)
    except ValueError as err:
        print(f"bgan-summarize: error: {err}", file=sys.stderr)
        return 2
    if not argv:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        text = summarize([Path(a) for a in argv], equal)
        baselines = baseline_table([Path(a) for a in argv])
        if baselines:
            text += "\n" + baselines
        for row in against:
            text += "\n" + paired_table([Path(a) for a in argv], row, equal)
        if figure_path is not None:
            labels = reliability_figure([Path(a) for a in argv], figure_path)
            text += f"\nReliability diagram: {figure_path} ({'; '.join(labels)})\n"
        print(text)
    except (OSError, ValueError, KeyError) as err:
        print(f"bgan-summarize: error: {err.args[0] if isinstance(err, KeyError) else err}", file=sys.stderr)
        return 2
    return 0


def console_main() -> None:
    """``bgan-summarize`` without ``--findings`` (the console script is :func:`experiments.summarize_cli.console_main`)."""
    sys.exit(main())
