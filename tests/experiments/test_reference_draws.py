"""Every shipped experiment x inference produces the draws it produced before the architecture refactor.

The references in ``tests/data/reference_draws/`` were written by this module (``python -m
tests.experiments.test_reference_draws --write``) from the code at commit 96b9c00, before the task registry, the heads and
the sampler interface existed, on an AMD EPYC (``synthetic-sghmc`` rewritten on 2026-12-02 from 96b9c00's code
on that machine class). A short run of each configuration (8 iterations) must reproduce every stored variable
of ``posterior.nc`` (its first :data:`KEEP` values) to within the float32 rounding growth of those 8
iterations. The fast tier checks the Bayesian GAN on ring8; the slow tier checks all 40.

**The tolerance is measured rounding growth, not a guess.** Float32 rounding differs between CPUs (an FMA or
not, the vector width of a reduction, a library's ``exp``) and between JAX patch versions, and a GAN's
updates amplify it: after 8 iterations the ring8 Bayesian GAN's generated points differ by 2.6e-4 between
the AMD EPYC that wrote the references and an Intel Xeon (AVX-512), and by 8e-5 between that Xeon with and
without FMA (``XLA_FLAGS=--xla_cpu_max_isa=SSE4_2``). For each configuration, ``tolerances.json`` holds its
measured relative growth ``g``: the largest deviation, over every variable ``v`` and every measured rounding
path, of ``max|x_v - ref_v| / max|ref_v|``. The paths (listed in the file) are the stored reference's machine
and the calibrating machine under each instruction-set limit and each JAX patch of the allowed minor version.
A value then passes if ``|x_v - ref_v| <= SAFETY * max(g, G_MIN) * max|ref_v|`` (integers and booleans
exactly). A changed update is far outside it: the step size times ``1 + 1e-3`` moves the ring8 draws by
~1e4 times the Xeon's rounding deviation (:func:`test_a_changed_update_fails`).

Recalibrate on a new machine or JAX patch (each run adds its path; a path is a folder of fingerprints)::

    python -m tests.experiments.test_reference_draws --fingerprints /tmp/fp/xeon-0.12.1
    XLA_FLAGS=--xla_cpu_max_isa=SSE4_2 python -m tests.experiments.test_reference_draws --fingerprints /tmp/fp/xeon-sse
    python -m tests.experiments.test_reference_draws --tolerances /tmp/fp/*
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

REFERENCE = Path(__file__).parents[1] / "data" / "reference_draws"
TOLERANCES = REFERENCE / "tolerances.json"
EXPERIMENTS = ("ring8", "grid25", "digits", "synthetic", "digits_ssl", "digits_anomaly", "digits_lowdata",
               "digits_imbalanced")
INFERENCES = ("sghmc", "sgld", "svi", "mc_dropout", "mle")
SHORT = ["iterations=8", "experiment.num_draws=2", "experiment.metric_draws=1", "experiment.autoencoder_steps=20",
         "progress=false"]
FAST = {("ring8", "sghmc")}
KEEP = 48  # values kept per variable
#: Headroom over the largest rounding growth measured: a CPU or JAX patch not among the measured paths may
#: round differently again (the AMD-Xeon gap was 3x the Xeon's FMA/no-FMA gap on ring8).
SAFETY = 10.0
#: The least relative growth credited (a configuration whose measured paths agreed bit for bit): 8 iterations
#: of float32 rounding, one ulp (2**-23) each.
G_MIN = 8 * 2.0**-23


def fingerprint(experiment: str, inference: str, out: Path, *overrides: str) -> dict[str, np.ndarray]:
    """Run the short configuration with ``bgan-run`` in-process; the first :data:`KEEP` values of every
    variable of every group of its ``posterior.nc``."""
    import arviz as az

    from experiments.cli import main

    code = main([f"experiment={experiment}", f"inference={inference}", f"out_dir={out}", *SHORT, *overrides])
    assert code == 0, (experiment, inference, code)
    dt = az.from_netcdf(out / "posterior.nc")
    found = {}
    for group in dt.children:
        for name, var in dt[group].data_vars.items():
            found[f"{group}.{name}"] = np.asarray(var.values).reshape(-1)[:KEEP]
    return found


def relative_deviation(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> dict[str, float]:
    """Per floating-point variable, ``max|got - want| / max|want|`` (``inf`` where non-finite values differ);
    integer and boolean variables: 0 if equal, ``inf`` if not."""
    out = {}
    for key, w in want.items():
        g = got[key]
        if w.dtype.kind not in "fc":
            out[key] = 0.0 if np.array_equal(g, w) else float("inf")
            continue
        w64, g64 = w.astype(np.float64), g.astype(np.float64)
        if not np.array_equal(np.isfinite(w64), np.isfinite(g64)):
            out[key] = float("inf")
            continue
        finite = np.isfinite(w64)
        scale = float(np.max(np.abs(w64[finite]), initial=0.0)) or 1.0
        out[key] = float(np.max(np.abs(g64[finite] - w64[finite]), initial=0.0)) / scale
    return out


def load_reference(name: str) -> tuple[dict[str, np.ndarray], float]:
    """The stored fingerprint of ``name`` (``experiment-inference``) and its allowed relative deviation,
    ``SAFETY * max(g, G_MIN)``."""
    with np.load(REFERENCE / f"{name}.npz") as f:
        want = dict(f)
    growth = json.loads(TOLERANCES.read_text())["growth"][name]
    return want, SAFETY * max(growth, G_MIN)


def assert_matches(got: dict[str, np.ndarray], want: dict[str, np.ndarray], allowed: float) -> None:
    """Every variable of ``got`` within ``allowed`` (relative to the variable's largest stored magnitude)."""
    assert sorted(got) == sorted(want)
    dev = relative_deviation(got, want)
    over = {k: f"{v:.3g}" for k, v in dev.items() if not v <= allowed}
    assert not over, f"beyond float32 rounding growth (allowed {allowed:.3g} of each variable's scale): {over}"


CASES = [pytest.param(e, i, marks=[] if (e, i) in FAST else [pytest.mark.slow])
         for e in EXPERIMENTS for i in INFERENCES]


@pytest.mark.parametrize("experiment,inference", CASES)
def test_draws_match_the_stored_reference(tmp_path, experiment, inference):
    want, allowed = load_reference(f"{experiment}-{inference}")
    assert_matches(fingerprint(experiment, inference, tmp_path / "run"), want, allowed)


def test_a_changed_update_fails(tmp_path):
    """The step size times 1 + 1e-3 (a changed update, every other bit the same) is far beyond the ring8
    Bayesian GAN's tolerance: the test above would catch it."""
    from experiments.compose import load_config

    step = float(load_config(["experiment=ring8", "inference=sghmc"]).inference.step_size)
    want, allowed = load_reference("ring8-sghmc")
    got = fingerprint("ring8", "sghmc", tmp_path / "run", f"inference.step_size={step * (1 + 1e-3)!r}")
    with pytest.raises(AssertionError, match="beyond float32 rounding growth"):
        assert_matches(got, want, allowed)
    worst = max(relative_deviation(got, want).values())
    assert worst > 10 * allowed, (worst, allowed)  # not a near miss


def test_tolerances_cover_every_reference():
    table = json.loads(TOLERANCES.read_text())
    names = {f"{e}-{i}" for e in EXPERIMENTS for i in INFERENCES}
    assert set(table["growth"]) == names == {p.stem for p in REFERENCE.glob("*.npz")}
    assert all(0 <= g < 1e-2 for g in table["growth"].values()), table["growth"]
    assert len(table["paths"]) >= 2


def _write_fingerprints(folder: Path) -> None:
    import jax

    folder.mkdir(parents=True, exist_ok=True)
    for e in EXPERIMENTS:
        for i in INFERENCES:
            if (folder / f"{e}-{i}.npz").exists():  # an interrupted calibration resumes
                continue
            with tempfile.TemporaryDirectory() as tmp:
                np.savez_compressed(folder / f"{e}-{i}.npz", **fingerprint(e, i, Path(tmp) / "run"))
            print(e, i, flush=True)
    import os

    (folder / "path.json").write_text(json.dumps({
        "cpu": _cpu_name(), "machine": platform.machine(), "jax": jax.__version__,
        "jaxlib": __import__("jaxlib").__version__, "XLA_FLAGS": os.environ.get("XLA_FLAGS", "")}, indent=1))


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _write_tolerances(folders: list[Path]) -> None:
    """``tolerances.json``: per configuration the largest relative deviation among the stored reference and
    the fingerprints in ``folders`` (every pair of paths)."""
    paths = [json.loads((f / "path.json").read_text()) for f in folders]
    growth = {}
    for e in EXPERIMENTS:
        for i in INFERENCES:
            name = f"{e}-{i}"
            with np.load(REFERENCE / f"{name}.npz") as f:
                runs = [dict(f)]
            for folder in folders:
                with np.load(folder / f"{name}.npz") as f:
                    runs.append(dict(f))
            growth[name] = max(max(relative_deviation(a, b).values()) for k, a in enumerate(runs)
                               for b in runs[:k])
    TOLERANCES.write_text(json.dumps({
        "definition": "per configuration, max over variables and over pairs of rounding paths of "
                      "max|x - y| / max|y| after the 8 iterations of test_reference_draws.SHORT",
        "paths": [{"cpu": "AMD EPYC (the stored references)", "jax": "that of commit 96b9c00's runs (not recorded)"}, *paths],
        "growth": growth}, indent=1) + "\n")


if __name__ == "__main__":
    if "--write" in sys.argv:
        REFERENCE.mkdir(parents=True, exist_ok=True)
        for e in EXPERIMENTS:
            for i in INFERENCES:
                with tempfile.TemporaryDirectory() as tmp:
                    np.savez_compressed(REFERENCE / f"{e}-{i}.npz", **fingerprint(e, i, Path(tmp) / "run"))
                print(e, i, flush=True)
    elif "--fingerprints" in sys.argv:
        _write_fingerprints(Path(sys.argv[sys.argv.index("--fingerprints") + 1]))
    elif "--tolerances" in sys.argv:
        _write_tolerances([Path(a) for a in sys.argv[sys.argv.index("--tolerances") + 1:]])
