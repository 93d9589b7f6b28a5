"""``bgan-summarize --findings PAGE.md RUN_DIR ...``: docs/findings.md, the project's current answer to "is it
the posterior or the ensemble?" on one page, generated from run directories.

For every data set among the runs, one table: the ML twin, the ensemble, the coupled MAP, the Bayesian GAN
and the best zoo row (:data:`ROLES`; the row names are ``<set>-<label>`` as the reproduce scripts write
them), each figure as mean ± sd over seeds at equal sample counts (the pooled count-dependent figures at the
final draw's count, :func:`experiments.summarize.equal_count`), and beside it the paired per-seed
difference from the ensemble with its 95 % paired-t interval (:func:`experiments.summarize.paired_rows`).
Under each table, the readings that decompose the Bayesian GAN's effect: the Bayesian GAN and the coupled
MAP against the ensemble, and the Bayesian GAN against the coupled MAP (the posterior noise alone). A
semi-supervised set adds the twin's moving average and the supervised-only control and reads the
Bayesian GAN against both. Every section says where its runs ran (:mod:`experiments.provenance`) and what
is still open (rows with fewer than :data:`VERDICT_SEEDS` seeds, missing rows).
"""

from __future__ import annotations

import os
from pathlib import Path

from experiments.summarize import (COUNTED_ALIKE, EQUAL, REFERENCE_FORMS, TASK_VERDICT_FIGURES, VERDICT_FIGURES,
                                   _diverged_note, _family, _fmt, _groups, _interval_cell, equal_count, figure,
                                   paired_rows)

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


def _headline(runs: list[dict]) -> str:
    return "pooled" if str(runs[0].get("headline", "")).startswith("posterior predictive") else "final"


def _rank(runs: list[dict], figures: list[tuple[str, int]], family: str | None) -> tuple | None:
    """A row's sort key for "best": its mean headline figures in the table's order, each signed so that lower
    is better; ``None`` where a run diverged or a figure is missing."""
    if any(m.get("diverged") for m in runs):
        return None
    form = _headline(runs)
    out = []
    for key, sign in figures:
        kind = _forms(family, key)[0] if form == "pooled" else "final"
        values = [figure(m, key, kind) for m in runs]
        if any(v is None for v in values):
            return None
        out.append(-sign * sum(values) / len(values))
    return tuple(out)


def _provenance(runs: list[dict]) -> str:
    """Where a section's runs ran: each distinct commit, CPU, device and thread setting with its run count."""
    seen: dict[str, int] = {}
    for m in runs:
        p = m.get("provenance")
        if not p:
            text = "not recorded (a run made before metrics.json recorded its provenance)"
        else:
            threads = "one XLA thread" if "intra_op_parallelism_threads=1" in (p.get("xla_flags") or "") else (
                "XLA's default threads")
            text = (f"commit {p.get('commit') or 'unknown'}, {p.get('cpu')} ({p.get('cpu_count')} cores), "
                    f"device {p.get('device')}, JAX {p.get('jax')}, {threads}")
        seen[text] = seen.get(text, 0) + 1
    return "; ".join(f"{n} run{'s' * (n > 1)}: {text}" for text, n in seen.items())


def _cell(runs: list[dict], key: str, kind: str | None, ema: bool = False) -> str:
    values = [m.get(f"{key}_ema") for m in runs] if ema else [figure(m, key, kind) for m in runs]
    return _fmt(values, key)


def _against(records: list[dict], row: str, key: str, kind: str) -> str:
    r = next((r for r in records if r["row"] == row and r["key"] == key and r["kind"] == kind), None)
    if r is None:
        return "–"
    return f"{r['cell']} {r['reading']}".replace("no difference detected", "no difference")


def _readings(records: list[dict], row: str, title: str) -> str:
    """One line: ``row``'s paired differences (``records``) on every figure and form, headed ``title``."""
    parts = [f"{r['key']} {r['kind'].replace(EQUAL, 'pooled at 2,500')} {r['cell']} ({r['reading']})"
             for r in records if r["row"] == row]
    return f"- **{title}:** " + ("; ".join(parts) if parts else "no paired seed") + "."


def section(data_set: str, groups: dict[str, list[dict]]) -> tuple[list[str], list[str]]:
    """One set's section (markdown lines) and its open questions.

    Parameters
    ----------
    data_set : str
        The set's name, the ``<set>`` of its rows.
    groups : dict
        Its rows, ``<set>-<label>`` -> the runs' ``metrics.json``.
    """
    title, link = SETS.get(data_set, (data_set, None))
    roles = {}
    for role, labels in ROLES + TASK_ROLES:
        row = next((f"{data_set}-{label}" for label in labels if f"{data_set}-{label}" in groups), None)
        if row:
            roles[role] = row
    open_items = [f"{title}: no {role} row" for role, _ in ROLES if role not in roles]
    reference = roles.get(REFERENCE)
    anchor = groups[reference or next(iter(roles.values()))]  # the rows' family: the reference's, else a role's
    family = _family(anchor)
    figures = _figures(family, anchor)
    same_family = {name: runs for name, runs in groups.items() if _family(runs) == family}
    ranked = {name: _rank(runs, figures, family) for name, runs in same_family.items()}
    ranked = {k: v for k, v in ranked.items() if v is not None and len(groups[k]) >= 2}
    best = min(ranked, key=ranked.get) if ranked else None
    rows = list(roles.values()) + ([best] if best and best not in roles.values() else [])
    equal = family not in COUNTED_ALIKE
    records = paired_rows(same_family, reference, equal)[0] if reference else []
    ema = roles.get("ML twin") if any(f"{k}_ema" in m for m in groups.get(roles.get("ML twin", ""), [])
                                       for k, _ in figures) else None

    lines = [f"### {title}", ""]
    if link:
        lines += [f"Full tables: [docs/{link.partition('#')[0]}]({link}).", ""]
    lines += ["| row | run | seeds | figure | pooled: mean ± sd | − ensemble [95 %] | final: mean ± sd | − ensemble [95 %] |",
              "|---|---|---|---|---|---|---|---|"]
    entries = [(r, False) for r in rows]
    if ema:
        entries.insert(rows.index(ema) + 1, (ema, True))
    for row, is_ema in entries:
        runs = sorted(groups[row], key=lambda m: m["seed"])
        role = next((k for k, v in roles.items() if v == row), None)
        name = (f"{role}, moving average" if is_ema else role) if role else "best zoo row"
        if row == best and role and not is_ema:
            name += " (best zoo row)"
        seeds = ",".join(str(m["seed"]) for m in runs)
        for key, _ in figures:
            pooled, final = _forms(family, key)
            label = f"{key} (pooled at 2,500)" if pooled == EQUAL else key
            if is_ema:  # one form: the moving average of the weights at the end of the run
                cells = ["–", "–", _cell(runs, key, None, ema=True), "–"]
            else:
                cells = [_cell(runs, key, pooled), _against(records, row, key, pooled),
                         _cell(runs, key, final), _against(records, row, key, final)]
            lines.append(f"| {name} | `{row}`{_diverged_note(runs)} | {seeds} | {label} | "
                         + " | ".join(cells) + " |")
    lines += [""]
    reads = []
    for role in ("Bayesian GAN", "coupled MAP"):
        if role in roles and reference:
            reads.append(_readings(records, roles[role], f"{role} − ensemble"))
    if "Bayesian GAN" in roles and "coupled MAP" in roles:  # the posterior noise alone
        noise = paired_rows(same_family, roles["coupled MAP"], equal)[0]
        reads.append(_readings(noise, roles["Bayesian GAN"], "Bayesian GAN − coupled MAP (the posterior noise)"))
    if "Bayesian GAN" in roles and ema:
        recs = paired_rows(same_family, f"{ema}:{REFERENCE_FORMS[0]}", False)[0]
        reads.append(_readings(recs, roles["Bayesian GAN"], "Bayesian GAN − ML twin's moving average"))
    control = roles.get("supervised-only")
    if control:
        recs = paired_rows(groups, control, False)[0]
        for role in ("Bayesian GAN", "ensemble", "ML twin"):
            if role in roles:
                reads.append(_readings(recs, roles[role], f"{role} − supervised-only"))
    counts = {r: sorted({m.get("pooled_samples") for m in groups[r]} - {None}) for r in rows}
    if len({tuple(c) for c in counts.values() if c}) > 1:
        reads.append("- **Pooled sample counts differ between rows:** "
                     + "; ".join(f"`{r}` {', '.join(map(str, c))}" for r, c in counts.items() if c) + ".")
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
set, the rows that decompose the Bayesian GAN's effect with the same networks, data, loss, seeds and budget:
the **ML twin** (one GAN, optax Adam), the **ensemble** (J_g independent twins, predictive pooled), the
**coupled MAP** (Saatchi & Wilson's coupled sweep at T = 0), the **Bayesian GAN** (SGHMC) and the **best zoo
row** among the runs given (by the headline figures in the table's order; a row that diverged is not ranked).

How to read them. *Pooled* is the posterior predictive (a sampler's post-warmup draws pooled; an
optimiser's post-warmup iterates); *final* is the last draw (an optimiser's headline). Pooled is compared
with pooled and final with final, so averaging over iterates is not mistaken for the posterior. Every column
compares rows at one sample count: the counting figures (modes, high quality, reverse KL, classes covered,
class KL) read the pool at the final draw's 2,500 samples ("pooled at 2,500"); the Fréchet distance reads
every row's pool of 25,000 and its final draw's 2,500, JS divergence 2,500 in both forms, Stacked MNIST
25,600 in both (a table says so where its rows' pools differ). "− ensemble" is the per-seed difference from
the ensemble, its mean and 95 % paired-t interval, with "better"/"worse" where the interval excludes 0 in
the figure's good direction (higher modes and accuracy; lower reverse KL, JS, Fréchet distance, KL, error,
NLL and calibration error).
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
    by_set: dict[str, dict[str, list[dict]]] = {}
    for row, runs in _groups(run_dirs).items():
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
    where given."""
    parents: dict[str, list[str]] = {}
    for a in args:
        parents.setdefault(os.path.dirname(a) or ".", []).append(a)
    words = []
    for parent, given in parents.items():
        every = {os.path.join(parent, n) if parent != "." else n for n in os.listdir(parent) if not n.startswith(".")}
        words += [os.path.join(parent, "*")] if set(given) == every else sorted(given)
    return " ".join(["bgan-summarize --findings", page, *(["--fixtures", fixtures] if fixtures else []), *words])


#: The nested figures a page reads (the rest of a run's nested figures, e.g. its function-space diagnostics,
#: is left out of the stored fixtures).
KEPT_NESTED = ("data", "provenance", "diverged")


def check_fixtures_dir(dest: Path) -> None:
    """Refuse a ``--fixtures`` directory that holds anything but ``<run>/metrics.json`` fixtures (it is replaced
    whole).

    Raises
    ------
    FileExistsError
        If ``dest`` is a file, or holds a file or a folder other than one with ``metrics.json`` alone.
    """
    if not dest.exists():
        return
    if not dest.is_dir() or any(not p.is_dir() or {q.name for q in p.iterdir()} != {"metrics.json"}
                                for p in dest.iterdir()):
        raise FileExistsError(f"--fixtures {dest}: holds other files than <run>/metrics.json; name a new directory")


def store_fixtures(run_dirs: list[Path], dest: Path) -> None:
    """Store every run's ``metrics.json``, less the nested figures a page does not read (:data:`KEPT_NESTED`), as
    ``dest/<run>/metrics.json``: the fixtures from which a test regenerates docs/findings.md
    (tests/data/findings). ``dest`` is replaced whole (the fixtures of runs no longer given go); plain files
    among ``run_dirs`` are skipped.

    Raises
    ------
    FileExistsError
        If ``dest`` holds anything but such fixtures (it is then left as it was).
    """
    import json
    import shutil

    check_fixtures_dir(dest)
    staging = dest.with_name(f".{dest.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    for d in run_dirs:
        if not Path(d).is_dir():
            continue
        metrics = json.loads((Path(d) / "metrics.json").read_text())
        kept = {k: v for k, v in metrics.items() if not isinstance(v, (dict, list)) or k in KEPT_NESTED}
        (staging / Path(d).name).mkdir(parents=True)
        (staging / Path(d).name / "metrics.json").write_text(json.dumps(kept, indent=1, sort_keys=True) + "\n")
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(staging, dest)


def write_findings(path: Path, run_dirs: list[Path], command: str) -> None:
    """Write :func:`findings_page` to ``path`` whole (a temporary file renamed into place: an error leaves the
    old page as it was)."""
    text = findings_page(run_dirs, command)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
