"""Benchmarks of the zoo, each printed as a ratio against a baseline measured in the same process.

Usage::

    python benchmarks/bench.py                    # every row (about 10 minutes on 2 CPU cores)
    python benchmarks/bench.py --only overhead particles
    python benchmarks/bench.py --grid-iterations 20000

Rows (``docs/benchmarks.md`` holds a measured table and reads it):

- ``overhead``: one iteration of the zoo against a minimal hand-written JAX/optax GAN step of the same
  networks (flax ``nnx`` MLPs, 2 x 128), batch (64) and data: the ML twin against a hand-written Adam
  GAN step, and the Bayesian GAN (SGHMC, J_g = J_d = 1, no preconditioner) against a hand-written SGHMC
  GAN step with the same update.
  The Bayesian GAN also against a hand-written SGHMC step with the same particle axes (vmapped), at J_g =
  J_d = 1 and at grid25's J_g = 6, J_d = 2.
- ``recipe`` (opt-in): ``experiment=mnist_ssl_improved_gan``'s twin and Bayesian GAN (J_g = J_d = 1, 2)
  against the stand-alone replica's step (scripts/ssl_reference.py); its supervised-only control with the
  generator frozen (the default) against the same control with the generator trained.
- ``particles``: a Bayesian GAN iteration with J_g = J_d = J particles (vmapped, coupled through the
  shared likelihood terms) against J sequential single-particle iterations, J = 1, 4, 10; and J
  independent single-particle samplers vmapped against the same J run one after another.
- ``modes``: wall time until the generated samples cover 24 of the 25 grid modes (grid25, default
  configs), Bayesian GAN against the ML twin.
- ``memory``: peak resident memory of a long run against a short one (``bgan-run`` in subprocesses).

Per-iteration times are the best of ``--repeats`` timed calls of a compiled ``lax.scan`` of
``--iterations`` iterations, after a warm-up call that compiles it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import optax
from flax import nnx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from experiments.datasets import ring8  # noqa: E402
from experiments.metrics import mixture_metrics  # noqa: E402
from inference.bayesgan import bayesgan  # noqa: E402
from inference.mle import mle_gan  # noqa: E402
from models.bgan import BayesGAN  # noqa: E402
from models.losses import build_loss  # noqa: E402
from models.networks import make_discriminator, make_generator  # noqa: E402
from models.priors import build_prior  # noqa: E402

BATCH, HIDDEN = 64, [128, 128]


def model() -> BayesGAN:
    prior = build_prior("normal", scale=1.0, fan_in_scaling=True)
    return BayesGAN(make_generator(2, HIDDEN, 2, output_activation="linear"), make_discriminator(2, HIDDEN),
                    prior, prior, build_loss("non_saturating"), latent_dim=2)


def seconds_per_iteration(step, state, iterations: int, repeats: int) -> float:
    """Best-of-``repeats`` wall time of one iteration of ``step(key, state, iteration) -> (state, info)``, timed
    as a jitted ``lax.scan`` of ``iterations`` iterations (compiled by a warm-up call)."""
    @jax.jit
    def loop(state, key):
        def body(s, kt):
            s, _ = step(*kt[:1], s, kt[1])
            return s, None
        return jax.lax.scan(body, state, (jax.random.split(key, iterations), jnp.arange(iterations)))[0]

    jax.block_until_ready(loop(state, jax.random.key(0)))
    best = math.inf
    for r in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(loop(state, jax.random.key(r + 1)))
        best = min(best, time.perf_counter() - start)
    return best / iterations


# -- hand-written baselines ------------------------------------------------------------------------
def _log_prior(p):
    """N(0, 1/fan_in) kernels, N(0, 1) biases (up to a constant)."""
    return sum(-0.5 * jnp.sum(w**2) * (w.shape[0] if w.ndim == 2 else 1) for w in jax.tree.leaves(p))


def _sghmc_update(key, p, v, grad, step_size, friction):
    """SGHMC with persistent momentum (Chen et al. 2014, eq. 15; no preconditioner, T = 1)."""
    leaves, tree = jax.tree.flatten(p)
    noise = jax.tree.unflatten(tree, [jax.random.normal(k, x.shape) for k, x in
                                      zip(jax.random.split(key, len(leaves)), leaves)])
    v = jax.tree.map(lambda v, g, e: (1 - friction) * v + step_size * g
                     + jnp.sqrt(2 * friction * step_size) * e, v, grad, noise)
    return jax.tree.map(jnp.add, p, v), v


def handwritten(data: jax.Array, update: str, *, step_size=1e-4, friction=0.1, learning_rate=1e-3):
    """A minimal GAN step written directly in JAX/optax on the same flax networks: the generator's
    non-saturating step, then the discriminator's step on fresh real and fake minibatches.

    ``update="adam"``: optax Adam on the mean losses. ``update="sghmc"``: SGHMC with persistent momentum
    on ``N * mean log-likelihood + log N(0, 1/fan_in) prior`` (the zoo's Bayesian GAN, written out).
    Returns ``(init_state, step)``.
    """
    n = data.shape[0]
    g_def, g_params = nnx.split(make_generator(2, HIDDEN, 2, output_activation="linear"))
    d_def, d_params = nnx.split(make_discriminator(2, HIDDEN))

    def G(p, z):
        return nnx.merge(g_def, p)(z)

    def D(p, x):
        return nnx.merge(d_def, p)(x)[..., 0]

    def g_loglik(gp, dp, z):
        return jnp.mean(jax.nn.log_sigmoid(D(dp, G(gp, z))))

    def d_loglik(dp, x, xf):
        return jnp.mean(jax.nn.log_sigmoid(D(dp, x))) + jnp.mean(jax.nn.log_sigmoid(-D(dp, xf)))

    log_prior = _log_prior

    if update == "adam":
        opt = optax.adam(learning_rate, b1=0.5)
        state = (g_params, d_params, opt.init(g_params), opt.init(d_params))

        def step(key, state, iteration=None):
            gp, dp, go, do = state
            kz, ki, kf = jax.random.split(key, 3)
            z = jax.random.normal(kz, (BATCH, 2))
            grads = jax.grad(lambda p: -g_loglik(p, dp, z))(gp)
            upd, go = opt.update(grads, go, gp)
            gp = optax.apply_updates(gp, upd)
            x = data[jax.random.randint(ki, (BATCH,), 0, n)]
            xf = G(gp, jax.random.normal(kf, (BATCH, 2)))
            grads = jax.grad(lambda p: -d_loglik(p, x, xf))(dp)
            upd, do = opt.update(grads, do, dp)
            return (gp, optax.apply_updates(dp, upd), go, do), None
        return state, step

    zeros = lambda p: jax.tree.map(jnp.zeros_like, p)  # noqa: E731
    state = (g_params, d_params, zeros(g_params), zeros(d_params))

    def sghmc_update(key, p, v, grad):
        return _sghmc_update(key, p, v, grad, step_size, friction)

    def step(key, state, iteration=None):
        gp, dp, gv, dv = state
        kz, ki, kf, kg, kd = jax.random.split(key, 5)
        z = jax.random.normal(kz, (BATCH, 2))
        grad = jax.grad(lambda p: n * g_loglik(p, dp, z) + log_prior(p))(gp)
        gp, gv = sghmc_update(kg, gp, gv, grad)
        x = data[jax.random.randint(ki, (BATCH,), 0, n)]
        xf = G(gp, jax.random.normal(kf, (BATCH, 2)))
        grad = jax.grad(lambda p: n * d_loglik(p, x, xf) + log_prior(p))(dp)
        dp, dv = sghmc_update(kd, dp, dv, grad)
        return (gp, dp, gv, dv), None
    return state, step


def handwritten_particles(data: jax.Array, j_g: int, j_d: int, *, step_size=1e-4, friction=0.1):
    """:func:`handwritten`'s SGHMC step over ``J_g`` generator and ``J_d`` discriminator particles (leading
    axes, ``jax.vmap``), coupled as Saatchi & Wilson's sweep: each generator's log-likelihood is the mean over
    the J_d discriminators, each discriminator sees the fakes pooled over the J_g generators."""
    n = data.shape[0]
    g_def, g_params = nnx.split(make_generator(2, HIDDEN, 2, output_activation="linear"))
    d_def, d_params = nnx.split(make_discriminator(2, HIDDEN))
    stack = lambda p, j: jax.tree.map(lambda x: jnp.stack([x] * j), p)  # noqa: E731
    zeros = lambda p: jax.tree.map(jnp.zeros_like, p)  # noqa: E731
    gp, dp = stack(g_params, j_g), stack(d_params, j_d)
    state = (gp, dp, zeros(gp), zeros(dp))

    def G(p, z):
        return nnx.merge(g_def, p)(z)

    def D(p, x):
        return nnx.merge(d_def, p)(x)[..., 0]

    log_prior = _log_prior

    def sghmc_update(key, p, v, grad):
        return _sghmc_update(key, p, v, grad, step_size, friction)

    def step(key, state, iteration=None):
        gp, dp, gv, dv = state
        kz, ki, kf, kg, kd = jax.random.split(key, 5)
        z = jax.random.normal(kz, (j_g, BATCH, 2))

        def g_logdensity(p, zj):
            loglik = jnp.mean(jax.vmap(lambda d: jnp.mean(jax.nn.log_sigmoid(D(d, G(p, zj)))))(dp))
            return n * loglik + log_prior(p)

        grad = jax.vmap(jax.grad(g_logdensity))(gp, z)
        gp, gv = jax.vmap(sghmc_update)(jax.random.split(kg, j_g), gp, gv, grad)
        x = data[jax.random.randint(ki, (BATCH,), 0, n)]
        xf = jax.vmap(G)(gp, jax.random.normal(kf, (j_g, BATCH, 2))).reshape(-1, 2)

        def d_logdensity(p):
            return n * (jnp.mean(jax.nn.log_sigmoid(D(p, x))) + jnp.mean(jax.nn.log_sigmoid(-D(p, xf)))) + log_prior(p)

        grad = jax.vmap(jax.grad(d_logdensity))(dp)
        dp, dv = jax.vmap(sghmc_update)(jax.random.split(kd, j_d), dp, dv, grad)
        return (gp, dp, gv, dv), None
    return state, step


def zoo_sghmc(data, j_g: int, j_d: int):
    s = bayesgan(model(), data, batch_size=BATCH, num_generators=j_g, num_discriminators=j_d, step_size=1e-4,
                 friction=0.1, temperature=1.0, preconditioner="none")
    return s.init(jax.random.key(0)), s.step


def row(name, t, t_ref, ref_name):
    return {"row": name, "ms_per_iteration": round(1e3 * t, 4), "baseline": ref_name,
            "baseline_ms_per_iteration": round(1e3 * t_ref, 4), "ratio": round(t / t_ref, 3)}


def bench_overhead(data, iterations, repeats):
    rows = []
    state, step = handwritten(data, "adam")
    t_ref = seconds_per_iteration(step, state, iterations, repeats)
    s = mle_gan(model(), data, batch_size=BATCH, learning_rate=1e-3)
    t = seconds_per_iteration(s.step, s.init(jax.random.key(0)), iterations, repeats)
    rows.append(row("zoo ML twin (inference=mle) iteration", t, t_ref, "hand-written JAX/optax Adam GAN step"))
    # what the twin's state cost before it dropped its size-1 particle axis: the same hand-written step vmapped
    vstate = jax.tree.map(lambda x: x[None], state)
    t_axis = seconds_per_iteration(lambda k, s, t=None: jax.vmap(step, in_axes=(None, 0))(k, s), vstate,
                                   iterations, repeats)
    rows.append(row("hand-written Adam GAN step with a particle axis of size 1 (vmapped)", t_axis, t_ref,
                    "hand-written JAX/optax Adam GAN step"))
    state, step = handwritten(data, "sghmc")
    t_ref = seconds_per_iteration(step, state, iterations, repeats)
    t = seconds_per_iteration(*reversed(zoo_sghmc(data, 1, 1)), iterations, repeats)
    rows.append(row("zoo Bayesian GAN (SGHMC, J_g = J_d = 1) iteration", t, t_ref,
                    "hand-written JAX SGHMC GAN step (same update)"))
    for j_g, j_d in ((1, 1), (6, 2)):  # the same particle axes on both sides (grid25's default J_g = 6, J_d = 2)
        t_ref = seconds_per_iteration(*reversed(handwritten_particles(data, j_g, j_d)), iterations, repeats)
        t = seconds_per_iteration(*reversed(zoo_sghmc(data, j_g, j_d)), iterations, repeats)
        rows.append(row(f"zoo Bayesian GAN (SGHMC, J_g = {j_g}, J_d = {j_d}) iteration", t, t_ref,
                        f"hand-written JAX SGHMC GAN step with the same particle axes ({j_g}, {j_d}, vmapped)"))
    return rows


def bench_recipe(iterations: int, repeats: int):
    """Per-iteration time of ``experiment=mnist_ssl_improved_gan`` (Salimans et al.'s networks, built by the
    experiment's own code): the twin (Adam, with its moving average), the Bayesian GAN at J_g = J_d = 1 and 2,
    and the supervised-only control trained with the generator, against the stand-alone replica's step
    (scripts/ssl_reference.py: its ``d_loss``, ``g_loss`` and Adam, the same networks and batch). The data
    are 8,000 random 28x28 images with labels: the cost does not depend on the pixels. The supervised-only
    control with its generator frozen (the default: nothing the generator does reaches its discriminator) is
    timed against the same control with the generator trained, and the ensemble control (J_g = 2 twins
    vmapped) against the twin: its ideal ratio is J_g."""
    import importlib.util

    import numpy as np
    from omegaconf import OmegaConf

    from experiments.build import build_model
    from experiments.cli import load_config
    from experiments.datasets import Dataset
    from experiments.tasks import get_task
    from inference.registry import build_inference

    spec = importlib.util.spec_from_file_location("ssl_reference", ROOT / "scripts" / "ssl_reference.py")
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    rng = np.random.default_rng(0)
    x = rng.random((8000, 784), dtype=np.float32)
    data = Dataset("mnist", x, x[:100], (28, 28), train_labels=np.arange(8000) % 10, eval_labels=np.arange(100) % 10)
    # the replica's step: its losses and Adam on the same batch shapes
    dps = ref.d_data_init(ref.d_init_params(jax.random.PRNGKey(0)), jnp.asarray(x[:500]), jax.random.PRNGKey(1))
    dtr, dfx = ref.split_d(dps)
    gp = ref.g_init_params(jax.random.PRNGKey(2))
    opt = ref.make_opt()
    xj, lab = jnp.asarray(x), jnp.arange(100) % 10

    def replica_step(key, state, iteration=None):
        dtr, gp, od, og = state
        ki, kd, kg = jax.random.split(key, 3)
        i1, i2 = jax.random.randint(ki, (2, ref.B), 0, 8000)
        gd = jax.grad(lambda p: ref.d_loss(p, dfx, gp, xj[:100], lab, xj[i1], kd)[0])(dtr)
        upd, od = opt.update(gd, od, dtr)
        dtr = optax.apply_updates(dtr, upd)
        gg = jax.grad(lambda p: ref.g_loss(p, ref.merge_d(dtr, dfx), xj[i2], kg))(gp)
        upd, og = opt.update(gg, og, gp)
        return (dtr, optax.apply_updates(gp, upd), od, og), None

    t_ref = seconds_per_iteration(replica_step, (dtr, gp, opt.init(dtr), opt.init(gp)), iterations, repeats)
    rows = []
    trained = "supervised-only control, generator trained"
    times = {}
    for label, experiment, name, over, base in (  # base: the row timed against (None: the replica's step)
            ("twin (Adam, moving average)", "mnist_ssl_improved_gan", "mle", {}, None),
            *((f"Bayesian GAN (SGHMC), J_g = J_d = {j}", "mnist_ssl_improved_gan", "sghmc",
               {"num_generators": j, "num_discriminators": j}, None) for j in (1, 2)),
            # the ensemble control (J_g = 2 twins, one vmap): ideally 2x the twin
            ("ensemble of J_g = 2 twins (vmapped)", "mnist_ssl_improved_gan", "ensemble", {},
             "twin (Adam, moving average)"),
            (trained, "mnist_ssl_improved_gan_supervised", "mle", {"train_generator": True}, None),
            ("supervised-only control (generator frozen: the default)", "mnist_ssl_improved_gan_supervised", "mle",
             {}, trained)):
        cfg = load_config([f"experiment={experiment}", f"inference={name}", "out_dir=/tmp/unused"])
        setup = get_task(cfg.experiment.task).prepare(cfg, data)
        model, init_model = build_model(cfg, data, setup.head)
        hyper = {k: v for k, v in OmegaConf.to_container(cfg.inference).items() if k not in ("name", "num_warmup")}
        s = build_inference(name, model, jnp.asarray(setup.train), batch_size=cfg.experiment.batch_size,
                            iterations=cfg.iterations, init_model=init_model, num_warmup=cfg.iterations // 2,
                            init_position=model.network_start(), **(hyper | over))
        times[label] = t = seconds_per_iteration(s.step, s.init(jax.random.key(0)), iterations, repeats)
        if base is None:
            rows.append(row(f"mnist_ssl_improved_gan: {label}", t, t_ref,
                            "the replica's step (scripts/ssl_reference.py, Adam)"))
        else:
            rows.append(row(f"mnist_ssl_improved_gan: {label}", t, times[base], f"mnist_ssl_improved_gan: {base}"))
    return rows


def bench_particles(data, iterations, repeats):
    rows = []
    t1 = seconds_per_iteration(*reversed(zoo_sghmc(data, 1, 1)), iterations, repeats)
    for j in (1, 4, 10):
        t = seconds_per_iteration(*reversed(zoo_sghmc(data, j, j)), iterations, repeats)
        rows.append(row(f"Bayesian GAN, J_g = J_d = {j} (vmapped, coupled)", t, j * t1,
                        f"{j} sequential single-particle iterations"))
    for j in (4, 10):
        state, step = zoo_sghmc(data, 1, 1)
        states = jax.vmap(lambda k: bayesgan(model(), data, batch_size=BATCH, num_generators=1,
                                             num_discriminators=1, step_size=1e-4, friction=0.1,
                                             temperature=1.0, preconditioner="none").init(k))(
            jax.random.split(jax.random.key(0), j))
        vstep = jax.vmap(step, in_axes=(0, 0, None))

        def many(key, states, iteration, vstep=vstep, j=j):
            return vstep(jax.random.split(key, j), states, iteration)
        t = seconds_per_iteration(many, states, iterations, repeats)
        rows.append(row(f"{j} independent single-particle samplers, vmapped", t, j * t1,
                        f"the {j} run one after another"))
    return rows


def bench_mnist(iterations: int, repeats: int, networks=("mlp", "dcgan"), particles=((1, 1), (4, 2), (4, 4), (10, 2))):
    """Per-iteration time of ``experiment=mnist``'s Bayesian GAN (its networks, priors, loss and SGHMC
    settings, built by the experiment's own code) at J_g = 1, 4 and 10 against J_g = J_d = 1, for the MLP
    default and the DCGAN (timed over ``iterations`` and ``iterations // 20`` iterations, at least 3: a DCGAN
    iteration costs ~100x an MLP one on a CPU). The data are 8,000 random 28x28 images: the cost does not
    depend on the pixels."""
    import numpy as np
    from omegaconf import OmegaConf

    from experiments.build import build_model
    from experiments.cli import load_config
    from experiments.datasets import Dataset
    from inference.registry import build_inference

    rng = np.random.default_rng(0)
    data = Dataset("mnist", rng.random((8000, 784), dtype=np.float32), rng.random((100, 784), dtype=np.float32),
                   (28, 28), train_labels=np.arange(8000) % 10, eval_labels=np.arange(100) % 10)
    rows = []
    for network in networks:
        base = None
        for j_g, j_d in particles:
            cfg = load_config(["experiment=mnist", f"network={network}", "out_dir=/tmp/unused",
                               f"inference.num_generators={j_g}", f"inference.num_discriminators={j_d}"])
            model, init_model = build_model(cfg, data)
            hyper = {k: v for k, v in OmegaConf.to_container(cfg.inference).items() if k != "name"}
            s = build_inference("sghmc", model, jnp.asarray(data.train), batch_size=cfg.experiment.batch_size,
                                iterations=cfg.iterations, init_model=init_model, **hyper)
            n = iterations if network == "mlp" else max(3, iterations // 20)
            t = seconds_per_iteration(s.step, s.init(jax.random.key(0)), n, repeats)
            base = base or t
            rows.append(row(f"mnist {network}: Bayesian GAN, J_g = {j_g}, J_d = {j_d}", t, base,
                            f"mnist {network}: J_g = J_d = 1"))
    return rows


def bench_modes(iterations: int):
    """Iterations and seconds until >= 24 of 25 grid modes, Bayesian GAN (default grid25 config) vs ML twin."""
    from experiments.cli import load_config
    from experiments.build import build_model, load_configured_dataset
    from inference.driver import make_recorder, make_schedule, run
    from inference.registry import build_inference
    from omegaconf import OmegaConf

    out = {}
    for inf in ("sghmc", "mle"):
        cfg = load_config(["experiment=grid25", f"inference={inf}", f"iterations={iterations}",
                           "experiment.num_draws=100", "out_dir=runs/.bench-unused"])
        data = load_configured_dataset(cfg)
        m, init_model = build_model(cfg, data)
        hyper = {k: v for k, v in OmegaConf.to_container(cfg.inference).items() if k != "name"}
        schedule = make_schedule(iterations, 100)
        sampler = build_inference(inf, m, jnp.asarray(data.train), batch_size=64, iterations=schedule.iterations,
                                  init_model=init_model, **hyper)
        chains = hyper.get("num_generators", 1)
        record = make_recorder(m, sampler, math.ceil(2500 / chains), {})
        _, draws, seconds = run(sampler, record, jax.random.key(0), schedule, progress=False)
        x = draws["x_generated"]
        modes = [mixture_metrics(x[:, d].reshape(-1, 2)[:2500], data.modes, data.sigma)["modes"]
                 for d in range(x.shape[1])]
        first = next((d for d, m_ in enumerate(modes) if m_ >= 24), None)
        per_it = seconds / schedule.iterations
        out[inf] = {"max_modes": int(max(modes)), "final_modes": int(modes[-1]), "run_seconds": round(seconds, 1),
                    "iterations_to_24": None if first is None else int((first + 1) * schedule.thin),
                    "seconds_to_24": None if first is None else round((first + 1) * schedule.thin * per_it, 1)}
    return out


def bench_memory(tmp: Path):
    script = ("import resource, sys; from experiments.cli import main; rc = main(sys.argv[1:]); "
              "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024); sys.exit(rc)")
    peaks = {}
    for draws in (500, 5000):
        args = ["experiment=ring8", f"iterations={draws}", f"experiment.num_draws={draws}", "checkpoint_every=100",
                "experiment.samples_per_draw=1000", "experiment.weights_per_site=1", f"out_dir={tmp}/mem-{draws}"]
        proc = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(proc.stderr)
        peaks[draws] = int(proc.stdout.strip().splitlines()[-1])
    return {"short_draws": 500, "long_draws": 5000, "short_peak_mib": peaks[500], "long_peak_mib": peaks[5000],
            "ratio": round(peaks[5000] / peaks[500], 3),
            "samples_written_mb_long": round(5000 * 6 * 1000 * 2 * 4 / 1e6)}


def machine() -> dict:
    cpu = platform.processor()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import arviz, blackjax, flax, numpyro
    return {"cpu": cpu, "cores": os.cpu_count(), "devices": [str(d) for d in jax.devices()],
            "python": platform.python_version(), "jax": jax.__version__, "numpyro": numpyro.__version__,
            "blackjax": blackjax.__version__, "flax": flax.__version__, "optax": optax.__version__,
            "arviz": arviz.__version__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # mnist is opt-in (--only mnist): its DCGAN rows take hours on a 2-core CPU
    parser.add_argument("--only", nargs="*", default=["overhead", "particles", "modes", "memory"],
                        choices=["overhead", "particles", "modes", "memory", "mnist", "recipe"])
    parser.add_argument("--mnist-networks", nargs="+", default=["mlp", "dcgan"], choices=["mlp", "dcgan"],
                        help="the mnist rows' networks (dcgan: ~100x an MLP iteration on a CPU)")
    parser.add_argument("--mnist-iterations", type=int, default=100,
                        help="iterations per timed scan of the mnist MLP rows (DCGAN rows: a twentieth, at least 3)")
    parser.add_argument("--iterations", type=int, default=2000, help="iterations per timed scan")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--grid-iterations", type=int, default=50_000)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    data = jnp.asarray(ring8(num_train=100_000, seed=0).train)
    results = {"machine": machine()}
    print(json.dumps(results["machine"], indent=1), flush=True)
    if "overhead" in args.only:
        results["overhead"] = bench_overhead(data, args.iterations, args.repeats)
    if "particles" in args.only:
        results["particles"] = bench_particles(data, args.iterations, args.repeats)
    if "mnist" in args.only:
        results["mnist"] = bench_mnist(args.mnist_iterations, min(args.repeats, 3), networks=tuple(args.mnist_networks))
    if "recipe" in args.only:
        results["recipe"] = bench_recipe(args.mnist_iterations, min(args.repeats, 3))
    for key in ("overhead", "particles", "mnist", "recipe"):
        for r in results.get(key, []):
            print(f"| {r['row']} | {r['ms_per_iteration']} ms | {r['baseline']} | "
                  f"{r['baseline_ms_per_iteration']} ms | {r['ratio']}x |", flush=True)
    if "modes" in args.only:
        results["modes"] = bench_modes(args.grid_iterations)
        print(json.dumps(results["modes"], indent=1), flush=True)
    if "memory" in args.only:
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            results["memory"] = bench_memory(Path(tmp))
        print(json.dumps(results["memory"], indent=1), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
