"""One run: validated config -> data, model, inference, draws -> a run directory.

The sampling loop runs as compiled chunks (:class:`inference.driver.Sampling`). After every chunk its
draws are streamed to disk and the sampler state is checkpointed with orbax, in a staging directory next
to ``out_dir`` (:mod:`experiments.store`); a killed run resumes from there when the same command is run
again, and produces the draws an uninterrupted run would have. When the run is complete the run
directory is assembled chunk by chunk (memory does not grow with the number of draws) and renamed into
place, so a half-written ``posterior.nc`` is never visible under ``out_dir``.

A particle whose log density (or loss) or weights become non-finite stops the run after its chunk: the
draws before the divergence are written as a run directory, ``metrics.json`` records where it diverged,
and :class:`Diverged` is raised (``bgan-run`` exits with code 3).
"""

from __future__ import annotations

import functools
import math
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
from jax.experimental import multihost_utils
import numpy as np
from omegaconf import DictConfig, OmegaConf

from tqdm.auto import tqdm

from experiments import metrics as M
from experiments.datasets import Dataset, load_dataset
from experiments.diagnose import per_draw_stats, save_plots
from experiments.report import plot_samples, write_json, write_report
from experiments.schema import SGMCMC, ConfigError, resolve_priors
from experiments.store import RunStore
from inference.bridge import site_shapes
from inference.autoencoder import AutoencoderStart, pretrain_autoencoder
from inference.checkpoint import Checkpointer
from inference.driver import CHUNK_BYTES, NO_DIVERGENCE, Sampling, draw_nbytes, make_recorder, make_schedule
from inference.registry import build_inference
from models.bgan import BayesGAN
from models.losses import build_loss
from models.networks import build_networks
from models.priors import build_prior, with_path_overrides


EVAL_POINTS = 256  # fixed held-out real points on which the discriminators' outputs are tracked


def build_model(cfg: DictConfig, data: Dataset, init: bool = False,
                autoencoder: AutoencoderStart | None = None) -> BayesGAN:
    """Networks, priors (per network, with per-path overrides: :func:`experiments.schema.resolve_priors`)
    and the GAN likelihood (``loss``).

    With ``init=True`` the prior's ``init_scale`` (if set) replaces the ``scale`` of every spec: the model
    whose prior draws initialise the sampler. For ``experiment.task='class_imbalance'`` the model is BAGAN's
    (class-conditional latents from ``autoencoder``, see :func:`bagan_start`; trained here if not given).
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
    semi = {}
    if e.task == "semi_supervised":
        x_lab, y_lab = labelled_subset(data, e.labels_per_class, cfg.seed)
        weight = e.labelled_weight if e.labelled_weight is not None else len(data.train) / len(y_lab)
        semi = {"num_classes": int(data.train_labels.max()) + 1, "x_labelled": jnp.asarray(x_lab),
                "y_labelled": jnp.asarray(y_lab), "labelled_weight": float(weight)}
    elif e.task == "class_imbalance":
        autoencoder = autoencoder or bagan_start(cfg, data)
        semi = {"num_classes": int(data.train_labels.max()) + 1, "labelled_data": True,
                "latent_means": jnp.asarray(autoencoder.latent_means),
                "latent_chols": jnp.asarray(autoencoder.latent_chols)}
    try:
        generator, discriminator = build_networks(
            e.network, latent_dim=e.latent_dim, data_dim=data.data_dim, image_shape=data.image_shape,
            generator_hidden=list(e.generator_hidden), discriminator_hidden=list(e.discriminator_hidden),
            output_activation=e.output_activation, channels=e.channels, layer_norm=e.layer_norm,
            out_features=semi["num_classes"] + 1 if semi else 1)
    except ValueError as err:
        raise ConfigError(f"experiment.network={e.network!r} is invalid: {err}") from None
    return BayesGAN(
        generator=generator,
        discriminator=discriminator,
        generator_prior=priors["generator"],
        discriminator_prior=priors["discriminator"],
        loss=build_loss(cfg.loss.name, **loss_hyper),
        latent_dim=e.latent_dim,
        **semi,
    )


def bagan_start(cfg: DictConfig, data: Dataset) -> AutoencoderStart:
    """BAGAN's autoencoder initialisation (:func:`inference.autoencoder.pretrain_autoencoder`) for ``cfg``:
    decoder = the generator's architecture, encoder = the discriminator's with ``latent_dim`` outputs,
    ``experiment.autoencoder_steps`` Adam steps on every training image."""
    e = cfg.experiment
    decoder, encoder = build_networks(
        e.network, latent_dim=e.latent_dim, data_dim=data.data_dim, image_shape=data.image_shape,
        generator_hidden=list(e.generator_hidden), discriminator_hidden=list(e.discriminator_hidden),
        output_activation=e.output_activation, channels=e.channels, layer_norm=e.layer_norm,
        out_features=e.latent_dim, seed=cfg.seed)
    return pretrain_autoencoder(decoder, encoder, data.train, data.train_labels,
                                num_classes=int(data.train_labels.max()) + 1, steps=e.autoencoder_steps,
                                batch_size=e.batch_size, seed=cfg.seed)


def labelled_subset(data: Dataset, per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` training examples of every class, drawn with ``seed``: the labels a semi-supervised
    run may use (``(K per_class, data_dim)`` images and their classes).

    Raises
    ------
    ConfigError
        If the data has no labels or a class has fewer than ``per_class`` examples.
    """
    if data.train_labels is None:
        raise ConfigError(f"experiment.task='semi_supervised' is invalid: dataset {data.name!r} has no labels")
    rng = np.random.default_rng(seed)
    counts = np.bincount(data.train_labels)
    if per_class > counts.min():
        raise ConfigError(f"experiment.labels_per_class={per_class} is invalid: the rarest class of {data.name} has "
                          f"{counts.min()} training examples")
    idx = np.sort(np.concatenate([rng.permutation(np.flatnonzero(data.train_labels == k))[:per_class]
                                  for k in range(len(counts))]))
    return data.train[idx], data.train_labels[idx]


def weight_subset(shapes: dict[str, tuple[int, ...]], per_site: int) -> dict[str, np.ndarray]:
    """Evenly spaced flat indices (at most ``per_site``) of every weight site: the thinned posterior."""
    out = {}
    for name, shape in sorted(shapes.items()):
        size = math.prod(shape)
        out[name] = np.unique(np.linspace(0, size - 1, min(per_site, size)).astype(np.int64))
    return out


class Diverged(RuntimeError):
    """A particle's log density (or loss) or weights became non-finite; the run directory holds the draws
    before it. The message is one line for the user."""


#: Config keys that do not change the draws (a resumed run may differ in them).
NOT_RESUME_KEYS = ("progress", "resume", "distributed")


def load_configured_dataset(cfg: DictConfig) -> Dataset:
    """The dataset of ``cfg.experiment.dataset`` (its non-null keys are the builder's keyword arguments).

    Raises
    ------
    ConfigError
        For a key the dataset does not take, sizes it cannot give, or image data that is not prepared.
    """
    spec = {k: v for k, v in cfg.experiment.dataset.items() if k != "name" and v is not None}
    try:
        return load_dataset(cfg.experiment.dataset.name, seed=cfg.seed, **spec)
    except TypeError as err:
        bad = next((k for k in spec if f"'{k}'" in str(err)), "?")
        raise ConfigError(f"experiment.dataset.{bad} is invalid: dataset {cfg.experiment.dataset.name!r} does not "
                          "take it") from None
    except (KeyError, ValueError) as err:
        raise ConfigError(f"experiment.dataset: {str(err).strip(chr(34))}") from None


def resume_key(cfg: DictConfig) -> str:
    """The config as YAML without the keys that do not change the draws: what a resumed run must match."""
    return OmegaConf.to_yaml(OmegaConf.masked_copy(cfg, [k for k in cfg if k not in NOT_RESUME_KEYS]))


class FunctionSpace:
    """Per-draw function-space statistics of generated samples, computed chunk by chunk while sampling.

    ``x_mean``, ``x_std`` (every dataset), ``high_quality`` (Gaussian mixtures: fraction within 3 sigma of
    a mode) and ``class_entropy`` (digits: entropy of the classifier's class histogram).

    Parameters
    ----------
    data : experiments.datasets.Dataset
    classifier : experiments.metrics.ImageClassifier, optional
        For labelled image data.
    """

    def __init__(self, data: Dataset, classifier: M.ImageClassifier | None = None):
        self.data, self.classifier = data, classifier

    def __call__(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Statistics of ``x`` ``(chain, draw, sample, data_dim)``, each ``(chain, draw)``."""
        stats = per_draw_stats(x)
        if self.data.modes is not None:
            stats["high_quality"] = M.high_quality_per_draw(x, self.data.modes, self.data.sigma)
        if self.classifier is not None:
            finite = np.isfinite(x).all(axis=-1)  # a diverging particle's samples: no class, entropy nan
            pred = self.classifier.predict(np.where(finite[..., None], x, 0.0).reshape(-1, x.shape[-1]))
            stats["class_entropy"] = np.apply_along_axis(
                lambda p: -np.sum((q := np.bincount(p) / len(p))[q > 0] * np.log(q[q > 0])), 2,
                pred.reshape(x.shape[:3]))
            stats["class_entropy"][~finite.all(axis=-1)] = np.nan
        return stats

    def headline(self, x: np.ndarray) -> dict[str, str]:
        """The progress bar's figure for the latest draw ``x`` ``(chain, sample, data_dim)``."""
        samples = x.reshape(-1, x.shape[-1])
        if self.data.modes is not None:
            m = M.mixture_metrics(samples[: M.NUM_METRIC_SAMPLES], self.data.modes, self.data.sigma)
            return {"modes": f"{m['modes']}/{len(self.data.modes)}", "hq": f"{100 * m['high_quality']:.0f}%"}
        if self.classifier is not None:
            classes = np.unique(self.classifier.predict(np.nan_to_num(samples[: M.NUM_METRIC_SAMPLES])))
            return {"classes": f"{len(classes)}/{self.classifier.num_classes}"}
        return {"x_std": f"{samples.std():.3g}"}


def _classifier(data: Dataset) -> M.ImageClassifier | None:
    """The metrics classifier, fitted to the full training split (:attr:`Dataset.reference`)."""
    return M.ImageClassifier(*data.reference) if data.train_labels is not None else None


#: Keys of a quality-figure dict that describe the real data or the definition, not the samples: stored
#: once, not per variant.
SHARED_KEYS = ("definition", "frechet_classifier_distance_real", "classifier_eval_accuracy", "minority_classes",
               "minority_accuracy_real_only", "balanced_accuracy_real_only", "test_error_supervised_only",
               "auroc_knn", "num_labelled", "num_anomalies", "num_eval")
POOLED, FINAL = "_pooled", "_final_draw"


def sample_metrics(data: Dataset, samples: np.ndarray, classifier: M.ImageClassifier | None = None) -> dict:
    """Quality and diversity figures of one pool of generated samples ``(n, data_dim)``, in an order that
    spreads every prefix evenly over chains and draws (:func:`experiments.metrics.metric_samples`): Saatchi
    & Wilson's JS divergence (synthetic), mode coverage (Gaussian mixtures) or classifier figures (labelled
    images), and the data-copying z of Meehan et al. (2020).

    Counting figures (modes, high quality, reverse KL, classes covered, class KL) use every sample given;
    the estimators whose value depends on the sample count (JS of KDEs, Fréchet distance, z) use the first
    :data:`experiments.metrics.NUM_METRIC_SAMPLES` (2,500), so they compare across pools of any size."""
    first = samples[: M.NUM_METRIC_SAMPLES]
    if data.name == "synthetic":
        out = M.synthetic_metrics(data.eval, first)
    elif data.modes is not None:
        out = M.mixture_metrics(samples, data.modes, data.sigma)
        out["definition"] = "VEEGAN (Srivastava et al. 2017) / PacGAN (Lin et al. 2018): 3-sigma high quality"
    else:
        out = M.classifier_metrics(classifier, samples, data.eval, data.eval_labels)
        if len(samples) > len(first):
            out["frechet_classifier_distance"] = M.classifier_metrics(
                classifier, first, data.eval, data.eval_labels)["frechet_classifier_distance"]
        out["frechet_classifier_distance_real"] = M.frechet_distance(
            classifier.features(data.reference[0]), classifier.features(data.eval))
        out["classifier_eval_accuracy"] = float((classifier.predict(data.eval) == data.eval_labels).mean())
        out["definition"] = ("classes from an sklearn MLP trained on the real training images; Frechet distance "
                             "in its hidden layer (not Inception FID)")
    out["data_copying_z"] = M.data_copying_z(data.train, data.eval, first)
    return out


def headline_and_variant(headline: dict | None, variant: dict | None, suffix: str) -> dict:
    """``headline``'s figures as they are, ``variant``'s under ``<key><suffix>`` (shared keys once)."""
    out = dict(headline or {})
    for k, v in (variant or {}).items():
        if k in SHARED_KEYS:
            out.setdefault(k, v)
        else:
            out[f"{k}{suffix}"] = v
    return out


def compute_metrics(data: Dataset, x_generated: np.ndarray, metric_draws: int,
                    d_eval: np.ndarray | None = None, *, stats: dict[str, np.ndarray] | None = None,
                    classifier: M.ImageClassifier | None = None, num_warmup_draws: int = 0,
                    pooled: np.ndarray | None = None, pooled_headline: bool = True) -> dict:
    """The figures of ``metrics.json``.

    Parameters
    ----------
    data : experiments.datasets.Dataset
    x_generated : numpy.ndarray, shape ``(chain, draw, sample, data_dim)``
        At least the last ``metric_draws`` draws: the final-draw figures use those.
    metric_draws : int
    d_eval : numpy.ndarray, shape ``(disc_chain, draw)``, optional
        The discriminators' mean output on fixed real points, every draw: adds the discriminator's
        function-space diagnostics (post-warmup draws).
    stats : dict of str to numpy.ndarray, optional
        :class:`FunctionSpace` statistics of every draw (default: computed from ``x_generated``, which then
        must hold every draw); R-hat and ESS use the post-warmup draws.
    classifier : experiments.metrics.ImageClassifier, optional
        Trained on ``data`` (labelled image data; trained here if absent).
    num_warmup_draws : int
        Draws recorded during warmup (excluded from the pooled figures and the diagnostics).
    pooled : numpy.ndarray, shape ``(chain, draw, sample, data_dim)``, optional
        The post-warmup draws (or the samples of them the pool uses); default: ``x_generated``'s
        post-warmup draws, which it then must hold. Its figures pool up to
        :data:`experiments.metrics.NUM_POOLED_SAMPLES` samples evenly over every chain and draw
        (:func:`experiments.metrics.metric_samples`): the posterior predictive.
    pooled_headline : bool
        True (samplers): the headline figures are the pooled ones and the final-draw figures go under
        ``*_final_draw``; False (optimisers): the headline is the final iterate and the pooled figures go
        under ``*_pooled``.
    """
    if data.train_labels is not None and classifier is None:
        classifier = _classifier(data)
    if stats is None:
        stats = FunctionSpace(data, classifier)(x_generated)
    if pooled is None:
        pooled = x_generated[:, num_warmup_draws:]
    final = sample_metrics(data, M.metric_samples(x_generated, metric_draws), classifier)
    pool = sample_metrics(data, M.metric_samples(pooled, pooled.shape[1], M.NUM_POOLED_SAMPLES),
                          classifier) if pooled.shape[1] else None
    if pooled_headline and pool is not None:
        out = headline_and_variant(pool, final, FINAL) | {"headline": "posterior predictive: post-warmup draws pooled"}
    else:
        out = headline_and_variant(final, pool, POOLED) | {"headline": f"final {metric_draws} draw(s)" + (
            "" if pool is not None or not pooled_headline else " (no post-warmup draw kept)")}
    post = {k: v[:, num_warmup_draws:] for k, v in stats.items()}
    out["function_space_diagnostics"] = M.convergence_diagnostics(post)
    if d_eval is not None:
        out["discriminator_function_space_diagnostics"] = M.convergence_diagnostics(
            {"d_eval": d_eval[:, num_warmup_draws:]})
    return out


def _divergence(chunk, draws: dict, first_draw: int, thin: int, objective: tuple[str, str]):
    """The earliest divergence in a chunk, or ``None``.

    Returns
    -------
    (int, str, int, str) or None
        ``(iteration, network, particle, what)``: the first iteration (1-based) whose update started
        from a non-finite state (objective or weights), the network and particle, and what was non-finite.
    """
    found = []
    for network, bad, flags, what in (
            ("generator", chunk.first_divergence[0], draws["stats/diverging"], objective[0]),
            ("discriminator", chunk.first_divergence[1], draws["disc_stats/diverging"], objective[1])):
        for j in np.flatnonzero(bad < NO_DIVERGENCE):
            found.append((int(bad[j]), network, int(j), what))
        for j, d in zip(*np.nonzero(flags), strict=True):
            found.append(((first_draw + int(d) + 1) * thin + 1, network, int(j),
                          "weights or samples" if network == "generator" else "weights"))
    return min(found) if found else None


def run(cfg: DictConfig) -> Path:
    """Run the experiment described by a validated config (see :func:`experiments.schema.validate`).

    Resumes an unfinished run of the same config in the same ``out_dir`` from its newest checkpoint.

    Returns
    -------
    pathlib.Path
        The run directory with ``config.yaml``, ``posterior.nc``, ``metrics.json``, ``samples.png``,
        ``trace.png`` (and ``rank.png`` with two or more chains) and ``report.md``.

    Raises
    ------
    ConfigError
        For a dataset that cannot be built as asked, or an unfinished run with another config in the way.
    Diverged
        If a particle diverged (after the run directory with the earlier draws is written).
    """
    e, inf = cfg.experiment, cfg.inference
    data = load_configured_dataset(cfg)
    if e.batch_size > data.train.shape[0]:
        raise ConfigError(f"experiment.batch_size={e.batch_size} is invalid: must be <= the "
                          f"{data.train.shape[0]} training points")
    autoencoder = bagan_start(cfg, data) if e.task == "class_imbalance" else None
    model = build_model(cfg, data, autoencoder=autoencoder)
    hyper = {k: v for k, v in OmegaConf.to_container(inf).items() if k != "name"}
    iterations = make_schedule(cfg.iterations, e.num_draws).iterations
    train = data.train if not model.labelled_data else np.concatenate(  # BAGAN: labels as a last column
        [data.train, data.train_labels[:, None].astype(np.float32)], axis=1)
    sampler = build_inference(inf.name, model, jnp.asarray(train), batch_size=e.batch_size,
                              iterations=iterations, init_model=build_model(cfg, data, init=True, autoencoder=autoencoder),
                              init_position=autoencoder[:2] if autoencoder else None, **hyper)
    num_chains = inf.get("num_generators", 1)
    samples_per_draw = e.samples_per_draw or math.ceil(M.NUM_METRIC_SAMPLES / (num_chains * e.metric_draws))
    weights = weight_subset(site_shapes(model.prior_model), e.weights_per_site)
    eval_points = e.task != "generation"  # every held-out point's D(x) (and classes) per draw
    eval_x = data.eval if eval_points else data.eval[:EVAL_POINTS]
    record = make_recorder(model, sampler, samples_per_draw, weights, eval_x=jnp.asarray(eval_x),
                           eval_points=eval_points)
    store = RunStore(Path(cfg.out_dir))
    lead = jax.process_index() == 0  # with jax.distributed, process 0 alone writes files
    resumed = store.check(resume_key(cfg), resume=cfg.resume)
    if jax.process_count() > 1:
        if inf.name in SGMCMC and inf.num_generators % jax.device_count():
            raise ConfigError(f"inference.num_generators={inf.num_generators} is invalid: a distributed run "
                              f"shards the particles over all {jax.device_count()} devices, so it must be a multiple")
        multihost_utils.sync_global_devices("bgan-run: staging checked")
    if lead:
        store.begin(resume_key(cfg), resume=cfg.resume)
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices("bgan-run: staging ready")

    schedule = make_schedule(cfg.iterations, e.num_draws, checkpoint_every=cfg.checkpoint_every,
                             max_chunk_draws=CHUNK_BYTES // draw_nbytes(sampler, record))
    sampling = Sampling(sampler, record, jax.random.key(cfg.seed), schedule)
    classifier = _classifier(data)
    function_space = FunctionSpace(data, classifier)

    checkpoints = Checkpointer(store.checkpoint_dir)
    step = checkpoints.latest_step() if resumed else None
    if step is not None:
        state, meta = checkpoints.restore(step, sampling.abstract_state())
        seconds_before = meta["seconds"]
    else:
        state, step, seconds_before = sampling.init(), 0, 0.0
    start = time.perf_counter()
    desc = f"{e.name}/{inf.name} seed {cfg.seed}"
    chunk_iterations = schedule.chunk_draws * schedule.thin
    divergence, chunks_done = None, step
    with tqdm(total=schedule.iterations, initial=step * chunk_iterations, desc=desc, unit="it",
              disable=not lead or (None if cfg.progress is None else not cfg.progress)) as bar:
        if step and lead:
            bar.write(f"bgan-run: resuming at iteration {step * chunk_iterations} of {schedule.iterations} "
                      f"from {store.checkpoint_dir}", file=sys.stderr)
        for c in range(step, schedule.num_chunks):
            chunk = sampling.chunk(state, c)
            draws = dict(chunk.draws)
            draws |= {f"fs/{k}": v for k, v in function_space(draws["x_generated"]).items()}
            if lead:
                store.save_chunk(c, draws)
            chunks_done = c + 1
            divergence = _divergence(chunk, draws, c * schedule.chunk_draws, schedule.thin, sampler.objective)
            if divergence is not None:
                break
            state = chunk.state
            checkpoints.save(chunks_done, state, {
                "iteration": chunks_done * chunk_iterations, "draws": chunks_done * schedule.chunk_draws,
                "seconds": seconds_before + time.perf_counter() - start})
            bar.update(chunk_iterations)
            if bar.disable is False:
                bar.set_postfix(function_space.headline(draws["x_generated"][:, -1]))
    checkpoints.close()
    seconds = seconds_before + time.perf_counter() - start

    # draws before the divergence: their state was finite when recorded
    draw_iterations = (np.arange(schedule.num_draws) + 1) * schedule.thin
    num_kept = schedule.num_draws if divergence is None else int(np.sum(draw_iterations <= divergence[0] - 2))
    if lead:
        extra = {"autoencoder_mse": autoencoder.reconstruction_mse} if autoencoder else {}
        _write_run_dir(cfg, data, store, schedule, weights, classifier, function_space, divergence, chunks_done,
                       num_kept, seconds, extra)
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices("bgan-run: run directory written")
    out_dir = store.out_dir
    if divergence is not None:
        iteration, network, particle, what = divergence
        knob = "inference.step_size" if "step_size" in inf else "inference.learning_rate"
        raise Diverged(
            f"diverged at iteration {iteration} of {schedule.iterations}: {network} particle {particle} has a "
            f"non-finite {what.replace('logdensity', 'log density').replace('_', ' ')}; the {num_kept} draws before "
            f"it are in {out_dir}; lower {knob} (now {inf[knob.split('.')[1]]})")
    return out_dir


def _write_run_dir(cfg, data, store, schedule, weights, classifier, function_space, divergence, chunks_done,
                   num_kept, seconds, extra_metrics) -> Path:
    """Assemble the run directory from the streamed chunks (one chunk in memory at a time) and move it into
    place: ``config.yaml``, ``posterior.nc``, ``metrics.json``, ``samples.png``, ``trace.png``/``rank.png``
    and ``report.md``."""
    e, inf = cfg.experiment, cfg.inference
    draw_iterations = (np.arange(schedule.num_draws) + 1) * schedule.thin
    kept_chunks = list(range(chunks_done))
    small = _small_arrays(store, kept_chunks, num_kept)
    stats = {k.removeprefix("fs/"): v for k, v in small.items() if k.startswith("fs/")}
    metrics = {"experiment": e.name, "inference": inf.name, "seed": cfg.seed, "iterations": schedule.iterations,
               "wall_seconds": round(seconds, 2), "evaluated_on": data.eval_split, **extra_metrics}
    num_warmup_draws = int(np.sum(draw_iterations[:num_kept] <= inf.num_warmup))
    metrics |= {"num_warmup": int(inf.num_warmup), "num_warmup_draws": num_warmup_draws,
                "num_posterior_draws": num_kept - num_warmup_draws}
    read = functools.partial(_read_draws, store, kept_chunks, schedule.chunk_draws)
    last = read(max(0, num_kept - e.metric_draws), num_kept) if num_kept else None
    # samplers: the headline is the posterior predictive (every post-warmup draw); optimisers: the final iterate
    sampler_run = inf.name in SGMCMC
    if last is not None:
        chains = last.shape[0]
        per_draw = math.ceil(M.NUM_POOLED_SAMPLES / (chains * max(1, num_kept - num_warmup_draws)))
        pooled = read(num_warmup_draws, num_kept, per_draw=per_draw)
        metrics |= compute_metrics(data, last, last.shape[1], small.get("disc_stats/d_eval"), stats=stats,
                                   classifier=classifier, num_warmup_draws=num_warmup_draws, pooled=pooled,
                                   pooled_headline=sampler_run)
        # task figures (the discriminator's predictive, augmentation): every post-warmup draw (samplers) or
        # the final metric_draws draws
        final_draw, post_warmup = (max(0, num_kept - e.metric_draws), num_kept), (num_warmup_draws, num_kept)
        head, variant, suffix = (post_warmup, final_draw, FINAL) if sampler_run else (final_draw, post_warmup, POOLED)
        if variant[0] >= variant[1] or head[0] >= head[1]:
            head, variant = (head if head[0] < head[1] else variant), None
        task_metrics = None
        if e.task == "semi_supervised":
            x_lab, y_lab = labelled_subset(data, e.labels_per_class, cfg.seed)
            task_metrics = lambda lo, hi: M.semi_supervised_metrics(  # noqa: E731
                read(lo, hi, key="disc_points/class_probs"), data.eval, data.eval_labels, x_lab, y_lab,
                tuple(e.discriminator_hidden), seed=cfg.seed)
        elif e.task == "anomaly":
            task_metrics = lambda lo, hi: M.anomaly_metrics(  # noqa: E731
                read(lo, hi, key="disc_points/d_real"), data.eval_labels == e.dataset.held_out_class,
                data.train, data.eval)
        elif e.task == "class_imbalance":
            def task_metrics(lo, hi):
                n = math.ceil(M.NUM_METRIC_SAMPLES / (chains * (hi - lo)))
                x, c = read(lo, hi, per_draw=n), read(lo, hi, key="class_generated", per_draw=n)
                return M.imbalance_metrics(M.metric_samples(x, x.shape[1]), M.metric_samples(c[..., None], c.shape[1])[:, 0],
                                           data.train, data.train_labels, data.eval, data.eval_labels,
                                           list(e.dataset.minority_classes), seed=cfg.seed)
        if task_metrics is not None:
            metrics |= headline_and_variant(task_metrics(*head), task_metrics(*variant) if variant else None, suffix)
        metrics["diverging_draws"] = int(small["stats/diverging"].sum() + small["disc_stats/diverging"].sum())
    if divergence is not None:
        iteration, network, particle, what = divergence
        metrics["diverged"] = {"iteration": iteration, "network": network, "particle": particle,
                               "non_finite": what, "draws_kept": num_kept}
    title = f"{e.name} / {inf.name} / seed {cfg.seed}"
    store.build_dir.mkdir()
    build = store.build_dir
    cfg_yaml = OmegaConf.to_yaml(cfg)
    (build / "config.yaml").write_text(cfg_yaml)
    store.write_posterior(
        build / "posterior.nc", kept_chunks, draw_iterations=draw_iterations, keep_draws=num_kept,
        num_warmup_draws=num_warmup_draws,
        select=lambda k: not k.startswith("fs/"), event_shape=data.event_shape, observed=data.eval,
        weight_indices=weights, attrs={"experiment": e.name, "inference": inf.name, "seed": cfg.seed,
                                       "num_warmup": int(inf.num_warmup), "thin": int(schedule.thin)})
    write_json(build / "metrics.json", metrics)
    if last is not None:
        gallery = last
        if len(data.event_shape) > 1:  # images: up to 8 rows of posterior draws, the newest of every chain
            want = min(num_kept, -(-8 // last.shape[0]))
            if want > last.shape[1]:
                gallery = read(num_kept - want, num_kept)
        plot_samples(build / "samples.png", gallery, data.eval, data.event_shape, title,
                     first_draw=num_kept - gallery.shape[1])
        save_plots(stats, build, first_kept=num_warmup_draws)
    write_report(build / "report.md", cfg_yaml=cfg_yaml, metrics=metrics, title=title)
    return store.finish()


def _small_arrays(store: RunStore, chunks: list[int], num_kept: int) -> dict[str, np.ndarray]:
    """Every per-draw scalar array (sample stats, function-space statistics) of the kept draws,
    concatenated over chunks: ``(chain, draw)`` each. Samples and weights stay on disk."""
    pieces = []
    for c in chunks:
        with np.load(store.chunk_path(c)) as f:
            pieces.append({k: f[k] for k in f.files if k.startswith(("stats/", "disc_stats/", "fs/"))})
    if not pieces:
        return {}
    return {k: np.concatenate([p[k] for p in pieces], axis=1)[:, :num_kept] for k in pieces[0]}


def _read_draws(store: RunStore, chunks: list[int], chunk_draws: int, first: int, stop: int,
                key: str = "x_generated", per_draw: int | None = None) -> np.ndarray:
    """The array ``key`` (default ``x_generated``) of draws ``first .. stop - 1``, ``(chain, draw, ...)``,
    read chunk by chunk; with ``per_draw`` only the first ``per_draw`` samples (axis 2) of each draw are
    kept, so a pool over many draws does not hold every sample in memory."""
    pieces = []
    for c in chunks:
        lo, hi = c * chunk_draws, (c + 1) * chunk_draws
        if hi <= first or lo >= stop:
            continue
        x = store.load_chunk(c, [key])[key][:, max(first, lo) - lo: min(stop, hi) - lo]
        pieces.append(np.array(x if per_draw is None else x[:, :, :per_draw]))  # a copy: frees the chunk
    return np.concatenate(pieces, axis=1)
