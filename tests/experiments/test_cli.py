"""bgan-run end to end: every shipped experiment x inference, the output contract, and bad input."""

import json
import os
import re
import subprocess
import sys

import arviz as az
import jax
import numpy as np
import pytest

from pathlib import Path

from omegaconf import OmegaConf

from experiments import provenance
from experiments.cli import load_config, main
from experiments.compose import config_dir, group_options
from experiments.diagnose import main as diagnose_main
from experiments.datasets import DATASETS
from experiments.datasets import load_dataset
from experiments.evaluation import compute_metrics
from experiments.schema import INFERENCE_SCHEMAS, LOSS_SCHEMAS, PRIOR_SCHEMAS
from inference.registry import INFERENCE
from models.losses import LOSSES
from models.priors import PRIORS

SMALL = ["iterations=30", "experiment.num_draws=3"]


def test_config_groups_match_registries():
    assert group_options("inference") == sorted(INFERENCE) == sorted(INFERENCE_SCHEMAS)
    assert group_options("prior") == sorted(PRIORS) == sorted(PRIOR_SCHEMAS)
    assert group_options("loss") == sorted(LOSSES) == sorted(LOSS_SCHEMAS)
    for name in group_options("experiment"):  # every shipped experiment reads a registered dataset
        assert load_config([f"experiment={name}"]).experiment.dataset.name in DATASETS, name


SMOKE = [(e, i) for e in ("ring8", "grid25", "digits", "synthetic") for i in ("sghmc", "mle")] + [
    ("ring8", i) for i in ("sgld", "svi", "mc_dropout", "ensemble", "independent_map", "coupled_ensemble", "ebgan")]
#: Chains per draw where an inference does not follow the experiment's sghmc block (J_g)
OWN_CHAINS = {"mle": 1, "sgld": 4, "svi": 4, "mc_dropout": 4}
METRIC_KEYS = {"digits": ("classes_covered", "class_kl", "frechet_classifier_distance"),
               "synthetic": ("js_divergence",)}


def test_smoke_covers_every_shipped_experiment_and_inference():
    from tests.experiments.test_images import APPLICATIONS, IMAGE_CONFIGS, MNIST_APPLICATIONS, RECIPES  # run there
    from tests.experiments.test_stacked import STACKED  # run there

    covered = ({e for e, _ in SMOKE} | {e for e, _ in APPLICATIONS} | set(IMAGE_CONFIGS) | set(MNIST_APPLICATIONS)
               | set(RECIPES) | {STACKED})
    assert covered == set(group_options("experiment"))
    assert {i for _, i in SMOKE} == set(group_options("inference"))


@pytest.mark.parametrize("experiment,inference", [  # the fast tier: one generation run; the rest: slow
    pytest.param(e, i, marks=[] if (e, i) == ("ring8", "sghmc") else [pytest.mark.slow]) for e, i in SMOKE])
def test_smoke_every_shipped_experiment(tmp_path, experiment, inference):
    out = tmp_path / "run"
    assert main([f"experiment={experiment}", f"inference={inference}", f"out_dir={out}", *SMALL]) == 0
    chains = OWN_CHAINS.get(inference, {"synthetic": 10, "digits": 4}.get(experiment, 6))  # J_g
    assert sorted(p.name for p in out.iterdir()) == [  # a rank plot needs >= 2 chains
        "config.yaml", "metrics.json", "posterior.nc", *(["rank.png"] if chains > 1 else []), "report.md",
        "samples.png", "trace.png"]
    dt = az.from_netcdf(out / "posterior.nc")
    x = dt["posterior_predictive"]["x_generated"]
    event = {"digits": ("height", "width"), "synthetic": ("feature",)}.get(experiment, ("coord",))
    assert x.dims == ("chain", "draw", "sample", *event)
    # iterations 10, 20, 30; warmup = half the run (15): one warmup draw, two posterior draws
    warm = dt["warmup_posterior_predictive"]["x_generated"]
    assert x.sizes["chain"] == chains and x.sizes["draw"] == 2 and warm.sizes["draw"] == 1
    assert list(x["iteration"].values) == [20, 30] and list(warm["iteration"].values) == [10]
    for group in ("posterior", "sample_stats", "discriminator_posterior", "discriminator_sample_stats"):
        assert dt[f"warmup_{group}"].sizes["draw"] == 1 and dt[group].sizes["draw"] == 2, group
    assert dt["observed_data"]["x"].dims == ("obs", *event)
    assert len(dt["posterior"].data_vars) == 6  # 3 layers x (kernel, bias), thinned
    assert all(v.startswith("generator__") for v in dt["posterior"].data_vars)
    assert "discriminator__layers.0.kernel" in dt["discriminator_posterior"]
    stats = dt["sample_stats"]
    assert {"svi": "expected_loglik", "mc_dropout": "generator_loss", "mle": "generator_loss",
            "ensemble": "generator_loss"}.get(inference, "logdensity") in stats
    assert "diverging" in stats and not stats["diverging"].any()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["wall_seconds"] > 0 and metrics["iterations"] == 30
    where = metrics["provenance"]  # which code, CPU and device made the figures
    assert where["cpu_count"] == os.cpu_count() and where["device"] == jax.devices()[0].device_kind
    assert where["commit"] == provenance.commit() and where["jax"] == jax.__version__
    keys = METRIC_KEYS.get(experiment, ("modes", "high_quality", "reverse_kl"))
    assert all(k in metrics for k in keys)
    assert set(metrics["function_space_diagnostics"]["x_mean"]) == {"rhat", "ess_bulk", "ess_tail"}
    assert "d_eval" in metrics["discriminator_function_space_diagnostics"]
    assert dt["discriminator_sample_stats"]["d_eval"].dims == ("chain", "draw")
    if experiment == "ring8":  # bgan-diagnose reads every run kind, and rewrites the plots
        (out / "trace.png").unlink()
        assert diagnose_main([str(out), "--plot"]) == 0
        assert (out / "trace.png").is_file()
    # the metrics are computed from the very samples stored in posterior.nc
    ds = OmegaConf.load(Path(config_dir()) / "experiment" / f"{experiment}.yaml").dataset
    data = load_dataset(experiment, seed=0, **{k: v for k, v in ds.items() if k != "name" and v is not None})
    stored = np.concatenate([np.asarray(warm), np.asarray(x)], axis=1).reshape(chains, 3, x.shape[2], -1)
    sampler = inference in ("sghmc", "sgld", "ebgan")
    again = compute_metrics(data, stored, 1, num_warmup_draws=1, pooled_headline=sampler)
    assert metrics["headline"] == again["headline"] and metrics["num_warmup_draws"] == 1
    variant = "_final_draw" if sampler else "_pooled"
    for k in [*keys, *(f"{k}{variant}" for k in keys)]:  # (a non-finite figure is stored as null)
        assert (again[k] if again[k] is None or np.isfinite(again[k]) else None) == pytest.approx(metrics[k]), k
    # per-particle collapse: one figure per generator particle of the last stored draw
    last = np.asarray(x)[:, -1].reshape(chains, x.shape[2], -1)
    assert metrics["particle_spread"] == pytest.approx(
        (last.std(axis=1).mean(axis=-1) / data.train.std(axis=0).mean()).tolist(), abs=1e-4)
    assert metrics["collapsed_particles"] == sum(s < 0.1 for s in metrics["particle_spread"])
    assert ("classes_per_particle" in metrics) == (experiment == "digits")
    if experiment == "digits":
        assert len(metrics["classes_per_particle"]) == chains




# Every shipped inference x loss x prior, as a covering array: each pair of (inference, loss), (inference,
# prior) and (loss, prior) runs at least once (prior = (i + l) mod 4), on small networks. svi x wasserstein
# is refused (above); its (svi, prior) and (wasserstein, prior) pairs are added back.
_INF, _LOSS, _PRIOR = group_options("inference"), group_options("loss"), group_options("prior")
COMBINATIONS = [(i, l, _PRIOR[(a + b) % len(_PRIOR)]) for a, i in enumerate(_INF) for b, l in enumerate(_LOSS)]
_REFUSED = [c for c in COMBINATIONS if c[:2] == ("svi", "wasserstein")]
COMBINATIONS = [c for c in COMBINATIONS if c not in _REFUSED] + [
    ("svi", "wasserstein_gp", _REFUSED[0][2]), ("sghmc", "wasserstein", _REFUSED[0][2])]


def test_combinations_cover_every_pair():
    for (x, y) in ((0, 1), (0, 2), (1, 2)):
        pairs = {(c[x], c[y]) for c in COMBINATIONS}
        want = {(a, b) for a in (_INF, _LOSS, _PRIOR)[x] for b in (_INF, _LOSS, _PRIOR)[y]}
        assert pairs == want - {("svi", "wasserstein")}, (x, y)


@pytest.mark.slow
@pytest.mark.parametrize("inference,loss,prior", COMBINATIONS)
def test_every_inference_loss_prior_combination_runs(tmp_path, inference, loss, prior):
    out = tmp_path / "run"
    # EBGAN's default generator step (0.1) diverges within 5 iterations on feature matching's quadratic term
    # (docs/design.md); 0.001 runs
    step = ["inference.learning_rate=0.001"] if (inference, loss) == ("ebgan", "feature_matching") else []
    assert main(["experiment=ring8", f"inference={inference}", f"loss={loss}", f"prior={prior}",
                 "experiment.network.mlp.generator_hidden=[16]", "experiment.network.mlp.discriminator_hidden=[16]",
                 "iterations=6", "experiment.num_draws=2", f"out_dir={out}", *step]) == 0
    cfg = OmegaConf.load(out / "config.yaml")
    assert (cfg.inference.name, cfg.loss.name, cfg.prior.name) == (inference, loss, prior)
    dt = az.from_netcdf(out / "posterior.nc")
    assert np.isfinite(dt["posterior_predictive"]["x_generated"].values).all()
    names = set(dt["posterior"].data_vars) | set(dt["discriminator_posterior"].data_vars)
    assert any(n.endswith("_precision") for n in names) == (prior == "hierarchical")
    if prior == "hierarchical":
        assert (dt["posterior"]["generator__layers.0.kernel_precision"] > 0).all()  # exported constrained
    if loss == "wasserstein":
        assert float(np.abs(dt["discriminator_posterior"]["discriminator__layers.0.kernel"]).max()) <= 0.01 + 1e-7


def test_out_dir_that_is_not_a_run_directory_is_refused(tmp_path, capsys):
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    assert main(["experiment=ring8", f"out_dir={precious}"]) == 2
    assert "is not a bgan-run directory (holds thesis.tex)" in capsys.readouterr().err
    assert (precious / "thesis.tex").read_text() == "years of work"
    a_file = tmp_path / "f"
    a_file.write_text("x")
    assert main([f"out_dir={a_file}"]) == 2
    assert "is an existing file" in capsys.readouterr().err


def test_diagnose_bad_directory_exits_2(tmp_path, capsys):
    assert diagnose_main([str(tmp_path)]) == 2
    assert "no posterior.nc" in capsys.readouterr().err


def test_help_is_plain_text_with_every_groups_options_and_keys(capsys):
    """``bgan-run --help`` prints no reStructuredText markup, and lists every option of every group with that
    option's own keys (from its schema), the default of each group marked."""
    from experiments.compose import GROUPS, group_options, option_keys

    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "``" not in text and ":mod:" not in text and ":class:" not in text
    assert "bgan-run [KEY=VALUE ...]" in text and "(see experiments.launch)" in text
    flat = " ".join(text.split())
    for group in GROUPS:
        section = flat.split(f"{group} (default ")[1].split(" (default ")[0]
        for option in group_options(group):
            assert option in section, (group, option)
            if group != "experiment":
                keys = ", ".join(option_keys(group, option)) or "(no keys)"
                assert f"{option}: {keys}" in section, (group, option)
    assert "inference (default sghmc)" in flat and "network (default mlp)" in flat
    assert "sghmc: num_generators, num_discriminators, step_size, temperature" in flat
    assert "experiment.dataset.data_dir" in flat


@pytest.mark.parametrize("module", ["summarize", "diagnose", "prepare"])
def test_every_other_console_scripts_help_is_plain_text(module, capsys):
    """``bgan-summarize``, ``bgan-diagnose`` and ``bgan-prepare --help`` exit 0 with their docstring, no
    reStructuredText markup (argparse's ``--help`` exits through SystemExit 0)."""
    import importlib

    mod = importlib.import_module(f"experiments.{module}")
    try:
        code = mod.main(["--help"])
    except SystemExit as exit_:
        code = exit_.code
    text = capsys.readouterr().out
    assert code == 0 and f"bgan-{module}" in text
    assert "``" not in text and not re.search(r":(mod|func|class|meth):`", text), text[:300]


def test_dry_run_validates_every_job_and_writes_nothing(tmp_path, capsys):
    """``bgan-run --dry-run``: each job of a sweep composed and validated, its out_dir printed, nothing written;
    a bad job is exit 2 as for a real run; a finished run is reported as kept under skip_complete."""
    out = tmp_path / "r"
    sweep = ["experiment=grid25,ring8", "seed=0,1", f"out_dir={out}/${{experiment.name}}-${{seed}}"]
    assert main(["--dry-run", "-m", *sweep]) == 0
    text = capsys.readouterr().out
    assert [line.split()[3].rstrip(":") for line in text.splitlines()] == [
        f"{out}/{e}-{s}" for e in ("grid25", "ring8") for s in (0, 1)]
    assert not out.exists()
    assert main(["--dry-run", "experiment=grid25", "inference.step_sise=1", f"out_dir={out}"]) == 2
    assert "step_sise" in capsys.readouterr().err
    assert main(["experiment=ring8", *SMALL, f"out_dir={out}/done", "progress=false"]) == 0
    capsys.readouterr()
    assert main(["--dry-run", "experiment=ring8", *SMALL, f"out_dir={out}/done", "skip_complete=true"]) == 0
    assert f"would keep {out}/done" in capsys.readouterr().out
    # the flag anywhere; a finished run replaced without skip_complete, another config's run named
    assert main(["experiment=ring8", *SMALL, f"out_dir={out}/done", "--dry-run"]) == 0
    assert f"would rerun (replacing it) {out}/done" in capsys.readouterr().out
    assert main(["-m", "--dry-run", "experiment=ring8", "iterations=32", "experiment.num_draws=3", f"out_dir={out}/done",
                 "skip_complete=true"]) == 0
    assert "would rerun (it holds another config's run (iterations: 30 -> 32" in capsys.readouterr().out
    assert (out / "done" / "metrics.json").is_file()  # nothing replaced


def test_console_script_exit_code(tmp_path):
    bin_dir = __import__("pathlib").Path(sys.executable).parent
    proc = subprocess.run([str(bin_dir / "bgan-run"), "experiment=nope", f"out_dir={tmp_path / 'r'}"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("bgan-run: error: unknown experiment 'nope'; valid: cifar10, digits, digits_anomaly, "
                                   "digits_imbalanced, digits_lowdata, digits_ssl, fashion_mnist, grid25, mnist, "
                                   "mnist_anomaly, mnist_augment, mnist_lowdata, mnist_ssl, mnist_ssl_improved_gan, "
                                   "mnist_ssl_improved_gan_supervised, ring8, stacked_mnist, "
                                   "synthetic")
    assert proc.stdout == ""


def test_multirun_expands_hydra_sweeps_in_order():
    from experiments.cli import expand_sweeps

    jobs = expand_sweeps(["experiment=ring8", "inference=sghmc,mle", "seed=range(0,2)"])
    assert jobs == [["experiment=ring8", "inference=sghmc", "seed=0"], ["experiment=ring8", "inference=sghmc", "seed=1"],
                    ["experiment=ring8", "inference=mle", "seed=0"], ["experiment=ring8", "inference=mle", "seed=1"]]


@pytest.mark.slow
def test_multirun_runs_every_job_and_refuses_a_shared_out_dir(tmp_path, capsys):
    args = ["experiment=ring8", "seed=0,1", "iterations=6", "experiment.num_draws=2", *[
        "experiment.network.mlp.generator_hidden=[8]", "experiment.network.mlp.discriminator_hidden=[8]"]]
    assert main(["-m", *args, f"out_dir={tmp_path / 'one'}"]) == 2
    assert "several jobs of the sweep would write it" in capsys.readouterr().err
    assert main(["-m", *args, "iterations=6,0", f"out_dir={tmp_path}/" + "${seed}"]) == 2  # validated up front
    assert "iterations=0 is invalid" in capsys.readouterr().err and list(tmp_path.iterdir()) == []
    assert main(["-m", *args, f"out_dir={tmp_path}/" + "s${seed}"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s0", "s1"]
    seeds = [json.loads((tmp_path / d / "metrics.json").read_text())["seed"] for d in ("s0", "s1")]
    assert seeds == [0, 1]
