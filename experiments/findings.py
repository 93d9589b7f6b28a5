"""``bgan-summarize --findings PAGE.md RUN_DIR ...``: docs/findings.md, the project's current answer to "is it
the posterior or the ensemble?" on one page, generated from run directories.

For every data set among the runs, one table: the ML twin, the ensemble, the coupled MAP, the Bayesian GAN
and the best zoo row (:data:`ROLES`; the row names are ``<set>-<label>`` as the reproduce scripts write
them), each figure as mean ± sd over seeds at equal sample counts (the pooled count-dependent figures at the
final draw's count, :func:`experiments.summarize.equal_count`), and beside it the paired per-seed
difference from the ensemble with its 95 % paired-t interval (:func:`experiments.summarize.paired_rows`).
Under each table, the readings that decompose the Bayesian GAN's effect: the Bayesian GAN and the coupled
MAP against the ensemble, and the posterior noise alone (the SGHMC row whose sweep, preconditioner and
schedule, is the coupled MAP's, minus the coupled MAP). A semi-supervised set adds the twin's moving average
and the supervised-only control and reads the Bayesian GAN against both. Every section says where its runs
ran (:mod:`experiments.provenance`) and what is still open (rows with fewer than :data:`VERDICT_SEEDS`
seeds, missing rows).
"""

from __future__ import annotations

import math
import os
import re
import shutil
from pathlib import Path

from experiments.summarize import (COUNTED_ALIKE, EQUAL, REFERENCE_FORMS, TASK_VERDICT_FIGURES, VERDICT_FIGURES,
                                   _cell, _diverged_note, _family, _fmt, equal_count, figure, load_metrics,
                                   paired_rows, row_name, same_data)

#: The rows of every table, as ``(role, labels)``: the first label among a set's rows fills the role
#: (``coupled_ensemble_running``, the coupled MAP with its preconditioner adapting throughout, before the
#: default, which diverges after warmup on grid25 and ring8).
ROLES = (("ML twin", ("mle",)), ("ensemble", ("ensemble",)),
         ("coupled MAP", ("coupled_ensemble_running", "coupled_ensemble")), ("Bayesian GAN", ("sghmc",)))
#: Rows only a semi-supervised set has: the control trained on the labelled images alone.
TASK_ROLES = (("supervised-only", ("supervised",)),)
#: The reference row of every table's paired differences.
REFERENCE = "ensemble"
#: Seeds a verdict needs (fewer: the section lists the row as open).
VERDICT_SEEDS = 5
#: The fewest seeds a row needs to be ranked as the best zoo row.
RANKED_SEEDS = 2
#: The config keys of a sampler's sweep (``inference.<key>`` in ``config.yaml``): the posterior noise's row
#: against the coupled MAP is the SGHMC row with the same ones.
SWEEP_KEYS = ("preconditioner", "schedule")

#: Each set's title and the section of docs/ with its full tables.
SETS = {
    "grid25": ("grid25: 25 Gaussians on a grid", "results.md#grid25"),
    "ring8": ("ring8: 8 Gaussians on a ring", "results.md#ring8"),
    "synthetic": ("synthetic: Saatchi & Wilson's 100-dimensional set", "results.md#synthetic"),
    "digits": ("digits: scikit-learn's 8×8 digits", "results.md#digits"),
    "stacked_mnist": ("Stacked MNIST: 1,000 modes", "results.md#stacked-mnist-1000-modes"),
    "mnist_ssl_improved_gan": ("Semi-supervised MNIST, 100 labels: Salimans et al.'s recipe",
                               "images.md#the-recipe-in-the-zoo-experimentmnist_ssl_improved_gan"),
}
#: Real-image sets come after the toy sets, under their own heading.
REAL_IMAGES = ("stacked_mnist", "mnist_ssl_improved_gan")
#: The nested figures a page reads, and a run's reliability bins (the four of
#: :data:`experiments.report.RELIABILITY_KEYS`: ``bgan-summarize --reliability`` reads ``reliability`` and
#: ``reliability_ema``, a run's own diagram all four), so that the fixtures keep them when the run directories
#: are gone; the rest of a run's nested figures, e.g. its function-space diagnostics, is left out.
KEPT_NESTED = ("data", "provenance", "diverged", "sweep",
               "reliability", "reliability_final_draw", "reliability_pooled", "reliability_ema")


def load_run(d: Path) -> dict:
    """A run's ``metrics.json`` (:func:`experiments.summarize.load_metrics`) with its ``sweep``: the
    :data:`SWEEP_KEYS` of ``config.yaml``'s inference block, where the run has a ``config.yaml`` (stored
    fixtures carry it in their metrics)."""
    metrics = load_metrics(d)
    saved = Path(d) / "config.yaml"
    if "sweep" not in metrics and saved.is_file():
        import yaml

        inference = (yaml.safe_load(saved.read_text()) or {}).get("inference") or {}
        metrics["sweep"] = {k: inference.get(k) for k in SWEEP_KEYS}
    return metrics


def load_runs(run_dirs: list[Path]) -> list[tuple[Path, dict]]:
    """Every run directory with its metrics (:func:`load_run`), read once; plain files are skipped."""
    return [(Path(d), load_run(d)) for d in run_dirs if not Path(d).is_file()]


def load_rows(loaded: list[tuple[Path, dict]]) -> dict[str, list[dict]]:
    """The runs (:func:`load_runs`) grouped into rows (:func:`experiments.summarize.row_name`), by seed.

    Raises
    ------
    KeyError
        If a row has a seed twice (two directories of one run: a mean and an interval would count it twice).
    """
    rows: dict[str, dict[int, tuple[Path, dict]]] = {}
    for d, metrics in loaded:
        seen = rows.setdefault(row_name(d), {})
        if metrics["seed"] in seen:
            raise KeyError(f"--findings: row {row_name(d)} has seed {metrics['seed']} twice ({seen[metrics['seed']][0]} "
                           f"and {d}); give each run once")
        seen[metrics["seed"]] = (Path(d), metrics)
    return {row: [m for _, m in sorted(by_seed.values(), key=lambda x: x[1]["seed"])] for row, by_seed in rows.items()}


def _split(row: str) -> tuple[str, str]:
    """``<set>-<label>`` -> ``(set, label)``."""
    data_set, _, label = row.partition("-")
    return data_set, label


def _figures(family: str | None, runs: list[dict]) -> list[tuple[str, int]]:
    """A table's figures: the task's verdict figures where its runs record them (a semi-supervised set's test
    error, NLL and calibration error: the question there), else the family's."""
    task = [(k, s) for k, s in TASK_VERDICT_FIGURES if any(k in m or f"{k}_pooled" in m for m in runs)]
    return task or list(VERDICT_FIGURES.get(family, []))


def _forms(family: str | None, key: str) -> tuple[str, str]:
    """The pooled column's kind (at the final draw's count where the figure counts samples) and the final's."""
    pooled = "pooled" if family in COUNTED_ALIKE else equal_count([(key, "pooled")])[0][1]
    return pooled, "final"


def _rank(runs: list[dict], figures: list[tuple[str, int]], family: str | None) -> tuple | None:
    """A row's sort key for "best": its mean pooled figures (the posterior predictive, an optimiser's pooled
    iterates; the counting figures at equal counts) in the table's order, each signed so that lower is
    better; ``None`` where a run diverged or a figure is missing or not finite."""
    if any(m.get("diverged") for m in runs):
        return None
    out = []
    for key, sign in figures:
        values = [figure(m, key, _forms(family, key)[0]) for m in runs]
        if any(v is None or not math.isfinite(v) for v in values):
            return None
        out.append(-sign * sum(values) / len(values))
    return tuple(out)


def _threads(xla_flags: str | None) -> str:
    found = re.search(r"intra_op_parallelism_threads=(\d+)", xla_flags or "")
    if not found:
        return "XLA's default threads"
    n = int(found.group(1))
    return f"{n} XLA thread{'s' * (n != 1)}"


def _provenance(runs: list[dict]) -> str:
    """Where a section's runs ran: each distinct commit, CPU, device and thread setting with its run count (the
    commit of the process that started the run's last segment)."""
    seen: dict[str, int] = {}
    for m in runs:
        p = m.get("provenance")
        if not p:
            text = "not recorded (a run made before metrics.json recorded its provenance)"
        else:
            text = (f"commit {p.get('commit') or 'unknown'}, {p.get('cpu')} ({p.get('cpu_count')} cores), "
                    f"device {p.get('device')}, JAX {p.get('jax')}, {_threads(p.get('xla_flags'))}")
        seen[text] = seen.get(text, 0) + 1
    return "; ".join(f"{n} run{'s' * (n > 1)}: {text}" for text, n in seen.items())


def _value(runs: list[dict], key: str, kind: str | None, ema: bool = False) -> str:
    """A table cell: mean ± sd over the seeds (:func:`experiments.summarize._cell`: a reverse KL with the
    high-quality samples it rests on), ``(k ∞)`` where k seeds' reverse KL is infinite (no high-quality
    sample)."""
    if ema:
        return _fmt([m.get(f"{key}_ema") for m in runs], key)
    cell = _cell(runs, key, kind)
    if key == "reverse_kl":
        infinite = sum(1 for m in runs if figure(m, key, kind) is None and figure(m, "high_quality", kind) is not None)
        cell += f" ({infinite} ∞)" if infinite else ""
    return cell


def _against(records: list[dict], row: str, key: str, kind: str, seeds: list[int]) -> str:
    """A difference cell: ``mean [95 %] reading``, and the paired seeds where they are not all of the row's."""
    r = next((r for r in records if r["row"] == row and r["key"] == key and r["kind"] == kind), None)
    if r is None:
        return "–"
    paired = sorted(s for s, _ in r["pairs"] + r["collapsed"])
    cell = f"{r['cell']} {r['reading']}".replace("no difference detected", "not detected").replace("– ", "")
    return cell + (f" (seeds {','.join(map(str, paired))})" if paired != seeds else "")


def _readings(records: list[dict], other: list[str], row: str, title: str, keys: set[str], runs: list[dict]) -> str:
    """One line: ``row``'s paired differences (``records``) on the table's figures (``keys``) and both forms,
    headed ``title``; why none is paired where none is."""
    def seeds(r):  # a single difference reads "one seed" already
        n = len(r["pairs"]) + len(r["collapsed"])
        return "" if n == 1 else f"; {n} seeds"

    parts = [f"{r['key']} {r['kind'].replace(EQUAL, 'pooled at 2,500')} {r['cell']} "
             f"({r['reading'].replace('no difference detected', 'not detected')}{seeds(r)})"
             for r in records if r["row"] == row and r["key"] in keys]
    why = ("not paired: another data set or split" if row in other else "no seed in common")
    return f"- **{title}{_diverged_note(runs)}:** " + ("; ".join(parts) if parts else why) + "."


def _noise_row(groups: dict[str, list[dict]], roles: dict[str, str]) -> tuple[str, bool]:
    """The SGHMC row to read against the coupled MAP for the posterior noise alone: the Bayesian GAN where its
    sweep (:data:`SWEEP_KEYS`) is the coupled MAP's, else another SGHMC row of the set with that sweep (e.g.
    ``sghmc_running`` beside ``coupled_ensemble_running``); else the Bayesian GAN with ``False`` (the two rows
    differ in more than the noise)."""
    coupled = groups[roles["coupled MAP"]][0].get("sweep")
    bayes = roles["Bayesian GAN"]
    if coupled is None or groups[bayes][0].get("sweep") == coupled:
        return bayes, coupled is not None
    for name, runs in sorted(groups.items()):
        if name != roles["coupled MAP"] and runs[0].get("inference") == "sghmc" and runs[0].get("sweep") == coupled:
            return name, True
    return bayes, False


def section(data_set: str, groups: dict[str, list[dict]]) -> tuple[list[str], list[str]]:
    """One set's section (markdown lines) and its open questions.

    Parameters
    ----------
    data_set : str
        The set's name, the ``<set>`` of its rows.
    groups : dict
        Its rows, ``<set>-<label>`` -> the runs' ``metrics.json`` (:func:`load_rows`).
    """
    title, link = SETS.get(data_set, (data_set, None))
    roles = {}
    for role, labels in ROLES + TASK_ROLES:
        row = next((f"{data_set}-{label}" for label in labels if f"{data_set}-{label}" in groups), None)
        if row:
            roles[role] = row
    open_items = [f"{title}: no {role} row" for role, _ in ROLES if role not in roles]
    reference = roles.get(REFERENCE)
    anchor = groups[reference or next(iter(roles.values()))]  # the rows' family and data: the reference's
    family = _family(anchor)
    figures = _figures(family, anchor)
    keys = {k for k, _ in figures}
    alike = {name: runs for name, runs in groups.items()
             if _family(runs) == family and all(same_data(m, anchor[0]) for m in runs)}
    ranked = {name: _rank(runs, figures, family) for name, runs in alike.items() if len(runs) >= RANKED_SEEDS}
    ranked = {k: v for k, v in ranked.items() if v is not None}
    best = min(ranked, key=ranked.get) if ranked else None
    rows = list(roles.values()) + ([best] if best and best not in roles.values() else [])
    equal = family not in COUNTED_ALIKE
    records, other = paired_rows(groups, reference, equal) if reference else ([], [])
    twin = roles.get("ML twin")
    ema = twin if twin and any(f"{k}_ema" in m for m in groups[twin] for k in keys) else None

    lines = [f"### {title}", ""]
    if link:
        lines += [f"Full tables: [docs/{link.partition('#')[0]}]({link}).", ""]
    lines += ["| row | run | seeds | figure | pooled: mean ± sd | − ensemble [95 %] | final: mean ± sd | − ensemble [95 %] |",
              "|---|---|---|---|---|---|---|---|"]
    entries = [(r, False) for r in rows]
    if ema:
        entries.insert(rows.index(ema) + 1, (ema, True))
    for row, is_ema in entries:
        runs = groups[row]
        role = next((k for k, v in roles.items() if v == row), None)
        name = (f"{role}, moving average" if is_ema else role) if role else "best zoo row"
        if row == best and role and not is_ema:
            name += " (best zoo row)"
        seeds = [m["seed"] for m in runs]
        for key, _ in figures:
            pooled, final = _forms(family, key)
            label = f"{key} (pooled at 2,500)" if pooled == EQUAL else key
            if is_ema:  # one form: the moving average of the weights at the end of the run
                cells = ["–", "–", _value(runs, key, None, ema=True), "–"]
            else:
                cells = [_value(runs, key, pooled), _against(records, row, key, pooled, seeds),
                         _value(runs, key, final), _against(records, row, key, final, seeds)]
            lines.append(f"| {name} | `{row}`{_diverged_note(runs)} | {','.join(map(str, seeds))} | {label} | "
                         + " | ".join(cells) + " |")
    lines += [""]
    reads = []
    for role in ("Bayesian GAN", "coupled MAP"):
        if role in roles and reference:
            reads.append(_readings(records, other, roles[role], f"{role} − ensemble", keys, groups[roles[role]]))
    if "Bayesian GAN" in roles and "coupled MAP" in roles:
        noise, alike_sweep = _noise_row(groups, roles)
        recs, out = paired_rows(groups, roles["coupled MAP"], equal)
        who = "Bayesian GAN" if noise == roles["Bayesian GAN"] else f"`{noise}`"
        what = (f"{who} − coupled MAP: the posterior noise alone (the same sweep, T = 0 against T > 0)" if alike_sweep
                else "Bayesian GAN − coupled MAP: the posterior noise and the sweep together (their preconditioner "
                     "or schedule differ, or a run does not record it)")
        reads.append(_readings(recs, out, noise, what, keys, groups[noise]))
    if "Bayesian GAN" in roles and ema:
        recs, out = paired_rows(groups, f"{ema}:{REFERENCE_FORMS[0]}", False)
        reads.append(_readings(recs, out, roles["Bayesian GAN"], "Bayesian GAN − ML twin's moving average", keys,
                               groups[roles["Bayesian GAN"]]))
    control = roles.get("supervised-only")
    if control:
        recs, out = paired_rows(groups, control, False)
        for role in ("Bayesian GAN", "ensemble", "ML twin"):
            if role in roles:
                reads.append(_readings(recs, out, roles[role], f"{role} − supervised-only", keys, groups[roles[role]]))
    where = _provenance([m for r in rows for m in groups[r]])
    if "not recorded" in where and link:
        where += f"; the full tables say where they ran ([docs/{link.partition('#')[0]}]({link}))"
    lines += reads + ["", f"Where: {where}.", ""]
    for row in rows:
        n = len(groups[row])
        if n < VERDICT_SEEDS:
            open_items.append(f"{title}: `{row}` has {n} seed{'s' * (n > 1)} of {VERDICT_SEEDS}")
    return lines, open_items


HEADER = """# Findings: is it the posterior or the ensemble?

<!-- Generated by `bgan-summarize --findings docs/findings.md RUN_DIR ...` from the runs' metrics.json; do not
edit by hand: regenerate. -->

Every reviewer of a Bayesian GAN asks how it differs from an ensemble of GANs. Each table below holds, on one
set, the rows that decompose the Bayesian GAN's effect, each run with the set's networks, data, loss and
budget and differing in the inference alone: the **ML twin** (one GAN, optax Adam), the **ensemble** (J_g
independent twins, predictive pooled), the **coupled MAP** (Saatchi & Wilson's coupled sweep at T = 0), the
**Bayesian GAN** (SGHMC), and the **best zoo row** among the runs given, which may change more (its run name
says what). The best row is ranked on the pooled column, by the table's first figure with ties broken by
the next; a row with fewer than 2 seeds, a diverged run, a missing or infinite figure, or other data is not
ranked.

How to read them. *Pooled* is the posterior predictive (a sampler's post-warmup draws pooled; an
optimiser's post-warmup iterates); *final* is the last draw (an optimiser's headline). Pooled is compared
with pooled and final with final, so averaging over iterates is not mistaken for the posterior. Every column
compares rows at one sample count: 2,500 samples in both forms (the counting figures, modes, high
quality, reverse KL, classes covered and class KL, read the pool at the final draw's count, "pooled at
2,500"; the Fréchet distance and JS divergence are computed on 2,500 samples of the pool, spread over its
draws), and Stacked MNIST's 25,600 in both. A reverse KL cell carries the mean number of high-quality samples
it rests on. "− ensemble" is the per-seed difference from the ensemble, its mean and 95 % paired-t interval,
with "better"/"worse" where the interval excludes 0 in the figure's good direction (higher modes and
accuracy; lower reverse KL, JS, Fréchet distance, KL, error, NLL and calibration error) and "not detected"
where it does not; the paired seeds are named where they are not all of the row's. The page shows no
wall-clock figure: a run's figures do not depend on what shared its cores (the "Where" lines give each
run's XLA threads; one thread computes the same bits alone or beside other runs).
"""


def findings_page(run_dirs: list[Path], command: str) -> str:
    """docs/findings.md's text from run directories (see the module docstring).

    Parameters
    ----------
    run_dirs : list of Path
        ``bgan-run`` output directories named ``<set>-<label>-s<seed>``; plain files among them are skipped.
    command : str
        The command that regenerates the page, printed on it.

    Raises
    ------
    FileNotFoundError
        If a directory has no ``metrics.json``.
    KeyError
        If no run directory is one of a table's rows (:data:`ROLES`).
    """
    return _page(load_runs(run_dirs), command)


def _page(loaded: list[tuple[Path, dict]], command: str) -> str:
    by_set: dict[str, dict[str, list[dict]]] = {}
    for row, runs in load_rows(loaded).items():
        by_set.setdefault(_split(row)[0], {})[row] = runs
    labels = {label for _, labels in ROLES for label in labels}
    sets = [s for s in by_set if any(_split(r)[1] in labels for r in by_set[s])]
    if not sets:
        raise KeyError("--findings: no run directory is a table's row (named <set>-<label>-s<seed> with the label "
                       f"one of {', '.join(sorted(labels))})")
    order = list(SETS)
    sets.sort(key=lambda s: (s in REAL_IMAGES, order.index(s) if s in order else len(order), s))
    out = [HEADER, f"Regenerate: `{command}`.", ""]
    open_items = []
    toy = [s for s in sets if s not in REAL_IMAGES]
    real = [s for s in sets if s in REAL_IMAGES]
    for heading, group in (("Toy and small sets", toy), ("Real images", real)):
        if not group:
            continue
        out += [f"## {heading}", ""]
        for s in group:
            lines, items = section(s, by_set[s])
            out += lines
            open_items += items
    out += ["## Open", ""]
    out += [f"- {item}." for item in open_items] or ["- Every row has its verdict seeds."]
    skipped = sorted(s for s in by_set if s not in sets)
    if skipped:
        out += ["", f"Not tabled (none of the table's rows): {', '.join(skipped)}."]
    return "\n".join(out).rstrip() + "\n"


def regenerate_command(page: str, args: list[str], fixtures: str | None = None) -> str:
    """The ``bgan-summarize --findings`` command as a user types it: the run directories of a folder written
    ``FOLDER/*`` where every entry of the folder (its ``*``) was given, else one by one; ``--fixtures DIR``
    where given.

    Raises
    ------
    FileNotFoundError
        If a run directory's folder does not exist.
    """
    parents: dict[str, list[str]] = {}
    for a in args:
        parents.setdefault(os.path.dirname(a) or ".", []).append(a)
    words = []
    for parent, given in parents.items():
        if not os.path.isdir(parent):
            raise FileNotFoundError(f"{given[0]}: no such directory {parent}")
        every = {os.path.join(parent, n) if parent != "." else n for n in os.listdir(parent) if not n.startswith(".")}
        words += [os.path.join(parent, "*")] if set(given) == every else sorted(given)
    return " ".join(["bgan-summarize --findings", page, *(["--fixtures", fixtures] if fixtures else []), *words])


def check_fixtures_dir(dest: Path) -> None:
    """Refuse a ``--fixtures`` directory that holds anything but ``<run>/metrics.json`` fixtures (it is replaced
    whole), or whose parent does not exist.

    Raises
    ------
    FileExistsError
        If ``dest`` is a file, or holds a file or a folder other than one with ``metrics.json`` alone.
    FileNotFoundError
        If its parent directory does not exist.
    """
    if not dest.parent.is_dir():
        raise FileNotFoundError(f"--fixtures {dest}: no such directory {dest.parent}")
    if not dest.exists():
        return
    if not dest.is_dir() or any(not p.is_dir() or {q.name for q in p.iterdir()} != {"metrics.json"}
                                for p in dest.iterdir()):
        raise FileExistsError(f"--fixtures {dest}: holds other files than <run>/metrics.json; name a new directory")


def _stage_fixtures(loaded: list[tuple[Path, dict]], staging: Path) -> None:
    import json

    for d, metrics in loaded:
        kept = {k: v for k, v in metrics.items() if not isinstance(v, (dict, list)) or k in KEPT_NESTED}
        (staging / d.name).mkdir(parents=True)
        (staging / d.name / "metrics.json").write_text(json.dumps(kept, indent=1, sort_keys=True) + "\n")


def write_findings(path: Path, run_dirs: list[Path], command: str, fixtures: Path | None = None) -> None:
    """Write :func:`findings_page` to ``path`` and, with ``fixtures``, every run's ``metrics.json`` less the
    nested figures other than :data:`KEPT_NESTED` (the page's, and the reliability bins; ``data`` and ``sweep``
    as the page read them) to ``fixtures/<run>/metrics.json``, the directory replaced whole: the fixtures from
    which a test regenerates docs/findings.md (tests/data/findings). Both are built aside and moved into place
    last: an error leaves the old page and fixtures as they were.

    Raises
    ------
    FileNotFoundError, FileExistsError, KeyError, ValueError
        As :func:`findings_page` and :func:`check_fixtures_dir`; ``IsADirectoryError`` where ``path`` is a
        directory.
    """
    if path.is_dir():
        raise IsADirectoryError(f"--findings {path}: is a directory; name the markdown page to write")
    if fixtures is not None:
        check_fixtures_dir(fixtures)
        if path.resolve().is_relative_to(fixtures.resolve()):
            raise FileExistsError(f"--findings {path}: inside --fixtures {fixtures}, which is replaced whole")
    loaded = load_runs(run_dirs)  # read once: the page and the fixtures
    text = _page(loaded, command)
    tmp = path.with_name(f".{path.name}.tmp")
    staging = fixtures.with_name(f".{fixtures.name}.tmp") if fixtures is not None else None
    try:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            _stage_fixtures(loaded, staging)
        tmp.write_text(text)
        if staging is not None:
            shutil.rmtree(fixtures, ignore_errors=True)
            os.replace(staging, fixtures)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
