"""One run: validated config -> data, task, model, inference, draws -> a run directory.

The task (:mod:`experiments.tasks`) is looked up once: it prepares the data and the model's head, and adds
its figures to ``metrics.json``; this module is the run loop and its output, the same for every task.

The sampling loop runs as compiled chunks (:class:`inference.driver.Sampling`). After every chunk its
draws are streamed to disk and the sampler state is checkpointed with orbax, in a staging directory next
to ``out_dir`` (:mod:`experiments.rundir.store`); a killed run resumes from there when the same command is run
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
from experiments.build import build_model, load_configured_dataset
from experiments.diagnose import save_plots
from experiments.evaluation import FINAL, POOLED, FunctionSpace, compute_metrics, headline_and_variant, metrics_classifier
from experiments.provenance import provenance
from experiments.report import RELIABILITY_KEYS, plot_reliability, plot_samples, write_json, write_report
from experiments.rundir.checkpoint import Checkpointer
from experiments.rundir.store import RunStore, filing_order
from experiments.schema import ConfigError, data_identity
from experiments.tasks import MetricInputs, get_task
from inference.bridge import site_shapes
from inference.base import EXPLORATION, SAMPLING, WARMUP
from inference.driver import CHUNK_BYTES, NO_DIVERGENCE, Sampling, draw_nbytes, make_recorder, make_schedule
from inference.registry import build_inference


EVAL_POINTS = 256  # fixed held-out real points on which the discriminators' outputs are tracked



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
NOT_RESUME_KEYS = ("progress", "resume", "skip_complete", "distributed")


def resume_key(cfg: DictConfig) -> str:
    """The config as YAML without the keys that do not change the draws: what a resumed run must match."""
    return OmegaConf.to_yaml(OmegaConf.masked_copy(cfg, [k for k in cfg if k not in NOT_RESUME_KEYS]))


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
    task = get_task(e.task)
    data = load_configured_dataset(cfg)
    if e.batch_size > data.train.shape[0]:
        raise ConfigError(f"experiment.batch_size={e.batch_size} is invalid: must be <= the "
                          f"{data.train.shape[0]} training points")
    setup = task.prepare(cfg, data)
    model, init_model = build_model(cfg, data, setup.head)
    hyper = {k: v for k, v in OmegaConf.to_container(inf).items() if k != "name"}
    draws_at = make_schedule(cfg.iterations, e.num_draws)  # chunking aside: iterations, draws, thin
    iterations = draws_at.iterations
    sampler = build_inference(inf.name, model, jax.tree.map(jnp.asarray, setup.train), batch_size=e.batch_size,
                              iterations=iterations, init_model=init_model,
                              init_position=setup.init_position or model.network_start(),
                              **hyper)
    num_chains = inf.get("num_generators", 1)
    samples_per_draw = e.samples_per_draw or math.ceil(M.NUM_METRIC_SAMPLES / (num_chains * e.metric_draws))
    if data.num_metric_samples:  # enough for the pool to hold the dataset's count
        pooled_draws = np.sum(sampler.phase((np.arange(draws_at.num_draws) + 1) * draws_at.thin - 1) == SAMPLING)
        needed = math.ceil(data.num_metric_samples / (num_chains * max(1, int(pooled_draws))))
        if e.samples_per_draw and e.samples_per_draw < needed:
            raise ConfigError(f"experiment.samples_per_draw={e.samples_per_draw} is invalid: {e.dataset.name}'s figures "
                              f"count {data.num_metric_samples} samples in both forms, so its {int(pooled_draws)} "
                              f"post-warmup draws of {num_chains} chain(s) need >= {needed} each (or null)")
        samples_per_draw = e.samples_per_draw or needed
    weights = weight_subset(site_shapes(model.prior_model), e.weights_per_site)
    eval_x = data.eval if task.eval_points else data.eval[:EVAL_POINTS]
    record = make_recorder(model, sampler, samples_per_draw, weights, eval_x=jnp.asarray(eval_x),
                           eval_points=task.eval_points)
    store = RunStore(Path(cfg.out_dir))
    lead = jax.process_index() == 0  # with jax.distributed, process 0 alone writes files
    resumed = store.check(resume_key(cfg), resume=cfg.resume)
    if jax.process_count() > 1:
        if sampler.particle_axes is not None and inf.num_generators % jax.device_count():
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
    classifier = metrics_classifier(data, e.metrics_classifier)
    function_space = FunctionSpace(data, classifier)

    checkpoints = Checkpointer(store.checkpoint_dir)
    step = checkpoints.latest_step() if resumed else None
    if step is not None:
        state, meta = checkpoints.restore(step, sampling.abstract_state())
        seconds_before = meta["seconds"]
    else:
        state, step, seconds_before = sampling.init(), 0, 0.0
    where = provenance()  # the code and machine of this segment (a resumed run: its last)
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
    final = average = None  # the final state's samples and average, for figures that need the networks
    if divergence is None and chunks_done and jax.process_count() == 1:  # (one process only)
        final = jax.tree.map(np.asarray, sampler.positions(state, jax.random.key(cfg.seed)))
        if sampler.averaged is not None:
            average = jax.tree.map(np.asarray, sampler.averaged(state))
    if lead:
        _write_run_dir(cfg, data, task, setup, sampler, store, schedule, weights, classifier, divergence,
                       chunks_done, num_kept, seconds, model=model, final_position=final, averaged_position=average,
                       samples_per_draw=samples_per_draw, where=where)
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


def generate_final(model, generator_params: dict, num_samples: int, rng_key: jax.Array,
                   batch_size: int | None = None) -> np.ndarray:
    """``num_samples`` samples of the final generator particles, spread evenly over them.

    Parameters
    ----------
    model : models.bgan.BayesGAN
    generator_params : dict of str to array
        The final generator particles (leading axis ``J_g``), as :meth:`inference.base.Inference.positions`
        gives them.
    num_samples : int
        Samples in all (``ceil(num_samples / J_g)`` per particle).
    rng_key : jax.Array
        The latents' key.
    batch_size : int, optional
        Latents per generator call (a generator that normalises by batch statistics pools one call);
        default: 1,000.

    Returns
    -------
    numpy.ndarray, shape ``(J_g, 1, ceil(num_samples / J_g), data_dim)``, float32
        One "draw" per particle, as :func:`experiments.evaluation.compute_metrics` reads the final draw.
    """
    num_chains = len(next(iter(generator_params.values())))
    per_chain = -(-num_samples // num_chains)
    batch = min(batch_size or 1_000, per_chain)
    generate = jax.jit(jax.vmap(model.generate))
    out = []
    for i, start in enumerate(range(0, per_chain, batch)):
        z = model.sample_latent(jax.random.fold_in(rng_key, i), (num_chains, batch))
        out.append(np.asarray(generate(generator_params, z))[:, : per_chain - start])
    return np.concatenate(out, axis=1)[:, None]


def _write_run_dir(cfg, data, task, setup, sampler, store, schedule, weights, classifier, divergence, chunks_done,
                   num_kept, seconds, model=None, final_position=None, averaged_position=None,
                   samples_per_draw=None, where=None) -> Path:
    """Assemble the run directory from the streamed chunks (one chunk in memory at a time) and move it into
    place: ``config.yaml``, ``posterior.nc``, ``metrics.json``, ``samples.png``, ``trace.png``/``rank.png``
    and ``report.md``."""
    e, inf = cfg.experiment, cfg.inference
    draw_iterations = (np.arange(schedule.num_draws) + 1) * schedule.thin
    kept_chunks = list(range(chunks_done))
    # a draw recorded after iteration t (1-based) belongs to the phase of iteration t - 1 (0-based); the
    # non-sampling draws (warmup, exploration) are read first, so the post-warmup draws are a range
    phases = sampler.phase(draw_iterations[:num_kept] - 1)
    order = filing_order(phases == SAMPLING)
    num_warmup_draws = int(np.sum(phases != SAMPLING))
    small = store.small_arrays(kept_chunks, num_kept, order)
    stats = {k.removeprefix("fs/"): v for k, v in small.items() if k.startswith("fs/")}
    recorded = {k: v[:, np.argsort(order)] for k, v in stats.items()}  # time order, for the trace plot
    metrics = {"experiment": e.name, "inference": inf.name, "seed": cfg.seed, "iterations": schedule.iterations,
               "wall_seconds": round(seconds, 2), "evaluated_on": data.eval_split,
               "data": data_identity(OmegaConf.to_container(e, resolve=True)),
               "provenance": where or provenance(), **setup.extra_metrics}
    metrics |= {"num_warmup": int(inf.num_warmup), "num_warmup_draws": int(np.sum(phases == WARMUP)),
                "num_posterior_draws": num_kept - num_warmup_draws}
    if EXPLORATION in phases:
        metrics["num_exploration_draws"] = int(np.sum(phases == EXPLORATION))
    read = functools.partial(store.read_draws, kept_chunks, schedule.chunk_draws, order=order)
    last = read(max(0, num_kept - e.metric_draws), num_kept) if num_kept else None
    # samplers: the headline is the posterior predictive (every post-warmup draw); optimisers: the final iterate
    sampler_run = sampler.samples_posterior
    if last is not None:
        chains = last.shape[0]
        pool_count = data.num_metric_samples or M.NUM_POOLED_SAMPLES
        per_draw = math.ceil(pool_count / (chains * max(1, num_kept - num_warmup_draws)))
        pooled = read(num_warmup_draws, num_kept, per_draw=per_draw)
        final_samples = last
        if data.num_metric_samples and final_position is not None and model is not None:
            # the final form at the dataset's count, generated afresh from the final weights (the stored
            # draws hold fewer samples each)
            # (in calls of the stored draws' size: a generator that normalises by batch statistics sees the
            # batches it was recorded with)
            final_samples = generate_final(model, final_position[0], data.num_metric_samples,
                                           jax.random.fold_in(jax.random.key(cfg.seed), 2), samples_per_draw)
        metrics |= compute_metrics(data, final_samples, final_samples.shape[1], small.get("disc_stats/d_eval"),
                                   stats=stats,
                                   classifier=classifier, num_warmup_draws=num_warmup_draws, pooled=pooled,
                                   pooled_headline=sampler_run,
                                   pooled_draws="sampling-stage" if EXPLORATION in phases else "post-warmup")
        # task figures (the discriminator's predictive, augmentation): every post-warmup draw (samplers) or
        # the final metric_draws draws
        final_draw, post_warmup = (max(0, num_kept - e.metric_draws), num_kept), (num_warmup_draws, num_kept)
        head, variant, suffix = (post_warmup, final_draw, FINAL) if sampler_run else (final_draw, post_warmup, POOLED)
        if variant[0] >= variant[1] or head[0] >= head[1]:
            head, variant = (head if head[0] < head[1] else variant), None
        inputs = MetricInputs(cfg, data, setup, read, chains, model=model, final_position=final_position,
                              averaged_position=averaged_position)
        figures = task.metrics(inputs, *head)
        if figures is not None:
            metrics |= headline_and_variant(figures, task.metrics(inputs, *variant) if variant else None, suffix)
        if final_position is not None:
            metrics |= task.final_metrics(inputs) or {}
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
        sampling=phases == SAMPLING,
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
                     first_draw=num_kept - gallery.shape[1], caption=getattr(classifier, "caption", None))
        save_plots(stats, build, first_kept=num_warmup_draws, recorded=recorded)
    curves = {label: metrics[key] for key, label in RELIABILITY_KEYS if key in metrics}
    if curves:  # a classifier's calibration (the semi-supervised task)
        plot_reliability(build / "reliability.png", curves, title)
    write_report(build / "report.md", cfg_yaml=cfg_yaml, metrics=metrics, title=title)
    return store.finish()
