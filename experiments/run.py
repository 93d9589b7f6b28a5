"""One run: validated config -> data, model, inference, draws -> a run directory.

The run directory is written to a temporary sibling and renamed into place when complete, so a
half-written ``posterior.nc`` is never visible under ``out_dir``.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from omegaconf import DictConfig, OmegaConf

from experiments import metrics as M
from experiments.datasets import Dataset, load_dataset
from experiments.report import plot_samples, write_json, write_report
from experiments.diagnose import save_plots
from experiments.schema import ConfigError, resolve_priors
from inference.arviz_export import to_datatree
from inference.bridge import site_shapes
from inference.driver import make_recorder, make_schedule
from inference.driver import run as run_driver
from inference.registry import build_inference
from models.bgan import BayesGAN
from models.losses import build_loss
from models.networks import make_discriminator, make_generator
from models.priors import build_prior, with_path_overrides


EVAL_POINTS = 256  # fixed held-out real points on which the discriminators' outputs are tracked


def build_model(cfg: DictConfig, data: Dataset, init: bool = False) -> BayesGAN:
    """Networks, priors (per network, with per-path overrides: :func:`experiments.schema.resolve_priors`)
    and the GAN likelihood (``loss``).

    With ``init=True`` the prior's ``init_scale`` (if set) replaces the ``scale`` of every spec: the model
    whose prior draws initialise the sampler.
    """
    e = cfg.experiment
    init_scale = cfg.prior.get("init_scale") if init else None

    def build(spec: dict):
        hyper = {k: v for k, v in spec.items() if k != "name"}
        if init_scale is not None:
            hyper["scale"] = init_scale
        return build_prior(spec["name"], **hyper)

    priors = {net: with_path_overrides(net, build(spec), [(glob, build(s)) for glob, s in paths])
              for net, (spec, paths) in resolve_priors(cfg.prior).items()}
    loss_hyper = {k: v for k, v in OmegaConf.to_container(cfg.loss).items() if k != "name"}
    return BayesGAN(
        generator=make_generator(e.latent_dim, list(e.generator_hidden), data.data_dim,
                                 output_activation=e.output_activation),
        discriminator=make_discriminator(data.data_dim, list(e.discriminator_hidden)),
        generator_prior=priors["generator"],
        discriminator_prior=priors["discriminator"],
        loss=build_loss(cfg.loss.name, **loss_hyper),
        latent_dim=e.latent_dim,
    )


def weight_subset(shapes: dict[str, tuple[int, ...]], per_site: int) -> dict[str, np.ndarray]:
    """Evenly spaced flat indices (at most ``per_site``) of every weight site: the thinned posterior."""
    out = {}
    for name, shape in sorted(shapes.items()):
        size = math.prod(shape)
        out[name] = np.unique(np.linspace(0, size - 1, min(per_site, size)).astype(np.int64))
    return out


def compute_metrics(data: Dataset, x_generated: np.ndarray, metric_draws: int,
                    d_eval: np.ndarray | None = None) -> dict:
    """The figures of ``metrics.json`` from ``x_generated`` ``(chain, draw, sample, data_dim)``.

    ``d_eval`` (``(disc_chain, draw)``), the discriminators' mean output on fixed real points, adds the
    discriminator's function-space diagnostics.
    """
    samples = M.metric_samples(x_generated, metric_draws)
    half = x_generated[:, x_generated.shape[1] // 2 :]
    stats = {"x_mean": half.mean(axis=(2, 3)), "x_std": half.std(axis=(2, 3))}
    if data.name == "synthetic":
        out = {"js_divergence": M.pca_js_divergence(data.eval, samples), "num_samples": int(len(samples)),
               "definition": "Saatchi & Wilson 2017 sec. 5.1: JS (nats) of Gaussian KDEs in the real data's "
                             "2-D PCA plane, 0.1 grid"}
    elif data.modes is not None:
        out = M.mixture_metrics(samples, data.modes, data.sigma)
        stats["high_quality"] = M.high_quality_per_draw(half, data.modes, data.sigma)
        out["definition"] = "VEEGAN (Srivastava et al. 2017) / PacGAN (Lin et al. 2018): 3-sigma high quality"
    else:
        clf = M.DigitsClassifier(data.train, data.train_labels)
        out = M.classifier_metrics(clf, samples, data.eval, data.eval_labels)
        out["frechet_classifier_distance_real"] = M.frechet_distance(
            clf.features(data.train), clf.features(data.eval)
        )
        out["classifier_eval_accuracy"] = float((clf.predict(data.eval) == data.eval_labels).mean())
        pred = clf.predict(half.reshape(-1, half.shape[-1])).reshape(half.shape[:3])
        stats["class_entropy"] = np.apply_along_axis(
            lambda p: -np.sum((q := np.bincount(p, minlength=10) / len(p))[q > 0] * np.log(q[q > 0])), 2, pred
        )
        out["definition"] = ("classes from an sklearn MLP trained on the real digits; Frechet distance in its "
                             "hidden layer (not Inception FID)")
    out["data_copying_z"] = M.data_copying_z(data.train, data.eval, samples)
    out["function_space_diagnostics"] = M.convergence_diagnostics(stats)
    if d_eval is not None:
        out["discriminator_function_space_diagnostics"] = M.convergence_diagnostics(
            {"d_eval": d_eval[:, d_eval.shape[1] // 2 :]})
    return out


def _write_atomically(out_dir: Path, write) -> None:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    try:
        write(tmp)
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, old)
            os.replace(tmp, out_dir)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def run(cfg: DictConfig) -> Path:
    """Run the experiment described by a validated config (see :func:`experiments.schema.validate`).

    Returns
    -------
    pathlib.Path
        The run directory with ``config.yaml``, ``posterior.nc``, ``metrics.json``, ``samples.png`` and
        ``report.md``.
    """
    e, inf = cfg.experiment, cfg.inference
    sizes = {k: v for k, v in (("num_train", e.dataset.num_train), ("num_eval", e.dataset.num_eval)) if v is not None}
    try:
        data = load_dataset(e.dataset.name, seed=cfg.seed, **sizes)
    except (KeyError, ValueError) as err:
        raise ConfigError(f"experiment.dataset: {err}") from None
    if e.batch_size > data.train.shape[0]:
        raise ConfigError(f"experiment.batch_size={e.batch_size} is invalid: must be <= the "
                          f"{data.train.shape[0]} training points")
    model = build_model(cfg, data)
    hyper = {k: v for k, v in OmegaConf.to_container(inf).items() if k != "name"}
    schedule = make_schedule(cfg.iterations, e.num_draws)
    sampler = build_inference(inf.name, model, jnp.asarray(data.train), batch_size=e.batch_size,
                              iterations=schedule.iterations, init_model=build_model(cfg, data, init=True),
                              **hyper)
    num_chains = inf.get("num_generators", 1)
    samples_per_draw = e.samples_per_draw or math.ceil(M.NUM_METRIC_SAMPLES / num_chains)
    weights = weight_subset(site_shapes(model.prior_model), e.weights_per_site)
    record = make_recorder(model, sampler, samples_per_draw, weights, eval_x=jnp.asarray(data.eval[:EVAL_POINTS]))
    desc = f"{e.name}/{inf.name} seed {cfg.seed}"
    _, draws, seconds = run_driver(sampler, record, jax.random.key(cfg.seed), schedule,
                                   progress=cfg.progress, desc=desc)

    metrics = compute_metrics(data, draws["x_generated"], e.metric_draws, draws["disc_stats/d_eval"])
    metrics["diverging_draws"] = int(draws["stats/diverging"].sum() + draws["disc_stats/diverging"].sum())
    metrics = {"experiment": e.name, "inference": inf.name, "seed": cfg.seed,
               "iterations": schedule.iterations, "wall_seconds": round(seconds, 2), **metrics}
    dt = to_datatree(
        draws, event_shape=data.event_shape, observed=data.eval, weight_indices=weights,
        draw_iterations=(np.arange(schedule.num_draws) + 1) * schedule.thin,
        attrs={"experiment": e.name, "inference": inf.name, "seed": cfg.seed},
    )
    cfg_yaml = OmegaConf.to_yaml(cfg)
    title = f"{e.name} / {inf.name} / seed {cfg.seed}"

    def write(tmp: Path):
        (tmp / "config.yaml").write_text(cfg_yaml)
        dt.to_netcdf(tmp / "posterior.nc", engine="h5netcdf")
        write_json(tmp / "metrics.json", metrics)
        plot_samples(tmp / "samples.png", draws["x_generated"], data.eval, data.event_shape, title)
        save_plots(dt, tmp)
        write_report(tmp / "report.md", cfg_yaml=cfg_yaml, metrics=metrics, title=title)

    out_dir = Path(cfg.out_dir)
    _write_atomically(out_dir, write)
    return out_dir
