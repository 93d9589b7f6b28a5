"""A reference outside the zoo: a stand-alone JAX/optax replica of Salimans et al. 2016's semi-supervised
feature-matching GAN for MNIST (openai/improved-gan, mnist_svhn_cifar10/train_mnist_feature_matching.py and
nn.py), run on the zoo's prepared split, to measure what the published recipe reaches on our data.

The recipe: D = Gaussian noise (0.3 on the input, 0.5 after every hidden layer) + dense 1000-500-250-250-250
ReLU with weight normalisation whose scales are fixed after data-dependent initialisation (trainable only
on the 10-logit output; ``--train_hidden_scale`` trains them all), K-class logits with the fake logit at 0;
G = z ~ U(0, 1)^100, dense 500-500 softplus with batch norm, weight-normalised sigmoid output; feature
matching on D's last hidden layer; Adam 3e-3, beta1 0.5, batch 100; test error of the raw D and of its
exponential moving average (rate 1e-4). The 8,000 training images are all unlabelled, 10 per class of them
labelled (numpy seed ``--seed_data``); the 2,000-image test split is scored every ``--eval_every``
iterations (a reference measurement, nothing is chosen on it).

    bgan-prepare ../shared/data/mnist-t10k --name mnist --data-dir DATA_DIR
    python scripts/ssl_reference.py --data_dir DATA_DIR --iters 30000 --log ssl_reference.log

``--noise_scale 0`` removes D's Gaussian noise (the ablation in docs/images.md).

One thread (set below before jax is imported), ~55 ms per iteration on this 2-core CPU with two other runs
sharing it.
"""
import os
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import argparse, time, sys
import numpy as np
import jax, jax.numpy as jnp
import optax

def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="ssl_reference.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--seed_data", type=int, default=1)
    p.add_argument("--batch_size", type=int, default=100)
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--iters", type=int, default=30000)
    p.add_argument("--eval_every", type=int, default=2000)
    p.add_argument("--chunk", type=int, default=400)
    p.add_argument("--train_hidden_scale", action="store_true")
    p.add_argument("--noise_scale", type=float, default=1.0,
                   help="multiplies D's Gaussian-noise standard deviations (0: no noise, an ablation)")
    p.add_argument("--hidden_noise_scale", type=float, default=None,
                   help="multiplies the hidden layers' noise only (default: --noise_scale); with --noise_scale "
                        "it separates input noise from hidden-layer noise")
    p.add_argument("--log", default=None, help="also append the log lines to this file")
    p.add_argument("--data_dir", required=True, help="the tfds directory bgan-prepare wrote")
    return p.parse_args(argv)


# ---------------- models ----------------
D_UNITS = [1000, 500, 250, 250, 250, 10]
D_NOISE = [0.3] + [0.5] * 5  # noise before each dense layer (main() scales it by --noise_scale)
B = 100  # batch size (main() sets --batch_size)
TRAIN_HIDDEN_SCALE = False  # main() sets --train_hidden_scale

def d_init_params(key):
    ps, n_in = [], 784
    for i, n in enumerate(D_UNITS):
        key, k = jax.random.split(key)
        ps.append(dict(theta=0.1 * jax.random.normal(k, (n_in, n)), b=jnp.zeros(n), scale=jnp.ones(n)))
        n_in = n
    return ps

def d_weight(l):
    return l["theta"] * (l["scale"] / jnp.sqrt(jnp.sum(jnp.square(l["theta"]), 0)))[None, :]

def d_forward(ps, x, key, noise):
    """returns logits, last hidden features (layers[-3] output: relu of 5th dense, before noise)."""
    h, feat = x, None
    for i, l in enumerate(ps):
        if noise:
            key, k = jax.random.split(key)
            h = h + D_NOISE[i] * jax.random.normal(k, h.shape)
        a = h @ d_weight(l) + l["b"]
        if i < len(ps) - 1:
            h = jnp.maximum(a, 0.)
            feat = h
        else:
            h = a
    return h, feat

def d_data_init(ps, x, key):
    """nn.DenseLayer init=True pass (noise ON, deterministic=False as in reference)."""
    new, h = [], x
    for i, l in enumerate(ps):
        key, k = jax.random.split(key)
        h = h + D_NOISE[i] * jax.random.normal(k, h.shape)
        a = h @ d_weight(l)
        ma = a.mean(0); a = a - ma
        stdv = jnp.sqrt(jnp.mean(jnp.square(a), 0)); a = a / stdv
        new.append(dict(theta=l["theta"], scale=l["scale"] / stdv, b=-ma / stdv))
        h = jnp.maximum(a, 0.) if i < len(ps) - 1 else a
    return new

def glorot(k, shape):
    a = np.sqrt(6.0 / (shape[0] + shape[1]))
    return jax.random.uniform(k, shape, minval=-a, maxval=a)

def g_init_params(key):
    k1, k2, k3 = jax.random.split(key, 3)
    return dict(W1=glorot(k1, (100, 500)), b1=jnp.zeros(500), W2=glorot(k2, (500, 500)), b2=jnp.zeros(500),
                W3=glorot(k3, (500, 784)), b3=jnp.zeros(784), s3=jnp.ones(784))

def bn(a):  # nn.BatchNormLayer, deterministic=False (batch stats), g=None
    m = a.mean(0); c = a - m
    return c / jnp.sqrt(1e-6 + jnp.mean(jnp.square(c), 0))

def g_forward(gp, key):
    z = jax.random.uniform(key, (B, 100))
    h = jax.nn.softplus(bn(z @ gp["W1"]) + gp["b1"])
    h = jax.nn.softplus(bn(h @ gp["W2"]) + gp["b2"])
    W3 = gp["W3"] * (gp["s3"] / jnp.sqrt(1e-6 + jnp.sum(jnp.square(gp["W3"]), 0)))[None, :]
    return jax.nn.sigmoid(h @ W3 + gp["b3"])

# split D params into trainable / fixed (hidden weight_scale train_scale=False; output train_scale=True)
NL = len(D_UNITS)
def split_d(ps):
    tr, fx = [], []
    for i, l in enumerate(ps):
        if i == NL - 1 or TRAIN_HIDDEN_SCALE:
            tr.append(dict(l)); fx.append({})
        else:
            tr.append(dict(theta=l["theta"], b=l["b"])); fx.append(dict(scale=l["scale"]))
    return tr, fx
def merge_d(tr, fx):
    return [dict(**a, **b) for a, b in zip(tr, fx)]

lse = lambda l: jax.nn.logsumexp(l, axis=1)

def d_loss(dtr, dfx, gp, xl, yl, xu, key):
    ps = merge_d(dtr, dfx)
    k1, k2, k3, k4 = jax.random.split(key, 4)
    gen = jax.lax.stop_gradient(g_forward(gp, k4))
    ol, _ = d_forward(ps, xl, k1, True)
    ou, _ = d_forward(ps, xu, k2, True)
    of, _ = d_forward(ps, gen, k3, True)
    l_lab = jnp.take_along_axis(ol, yl[:, None], 1)[:, 0]
    loss_lab = -jnp.mean(l_lab) + jnp.mean(lse(ol))
    l_unl = lse(ou)
    loss_unl = -0.5 * jnp.mean(l_unl) + 0.5 * jnp.mean(jax.nn.softplus(l_unl)) + 0.5 * jnp.mean(jax.nn.softplus(lse(of)))
    train_err = jnp.mean(jnp.argmax(ol, 1) != yl)
    return loss_lab + 1.0 * loss_unl, (loss_lab, loss_unl, train_err)

def g_loss(gp, ps, xu2, key):
    k1, k2, k3 = jax.random.split(key, 3)
    gen = g_forward(gp, k1)
    _, fg = d_forward(ps, gen, k2, True)
    _, fr = d_forward(ps, xu2, k3, True)
    return jnp.mean(jnp.square(fg.mean(0) - fr.mean(0)))


# nn.adam_updates: m/(1-b1^t) / sqrt(v/(1-b2^t) + 1e-8), constant lr (MNIST script has no decay)
LR = 0.003


def make_opt():
    return optax.chain(optax.scale_by_adam(b1=0.5, b2=0.999, eps=0.0, eps_root=1e-8), optax.scale(-LR))


def main(argv=None):
    global B, D_NOISE, TRAIN_HIDDEN_SCALE
    args = parse_args(argv)
    B = args.batch_size
    TRAIN_HIDDEN_SCALE = args.train_hidden_scale
    _hidden = args.noise_scale if args.hidden_noise_scale is None else args.hidden_noise_scale
    D_NOISE = [args.noise_scale * 0.3] + [_hidden * 0.5] * 5

    logf = open(args.log, "a") if args.log else None
    def log(s):
        print(s); sys.stdout.flush()
        if logf:
            logf.write(s + "\n"); logf.flush()
    log(f"# {time.strftime('%H:%M:%S')} args={vars(args)}")

    # ---------------- data (prepared tfds ArrayRecord) ----------------
    import tensorflow_datasets as tfds
    root = args.data_dir
    import glob
    info = sorted(glob.glob(f"{root}/mnist/*/dataset_info.json"))[-1]  # the version bgan-prepare wrote
    builder = tfds.builder_from_directory(os.path.dirname(info))
    src = {s: builder.as_data_source(split=s) for s in ("train", "test")}
    def load(s):
        recs = [src[s][i] for i in range(len(src[s]))]
        x = np.stack([r["image"] for r in recs]).reshape(len(recs), -1).astype(np.float32) / 255.0
        y = np.array([r["label"] for r in recs], dtype=np.int32)
        return x, y
    trainx, trainy = load("train"); testx, testy = load("test")
    log(f"# train {trainx.shape} test {testx.shape} xrange [{trainx.min()},{trainx.max()}]")

    # fixed random seeds (as in reference)
    rng = np.random.RandomState(args.seed)
    key = jax.random.PRNGKey(rng.randint(2 ** 15))
    _ = rng.randint(2 ** 15)  # lasagne rng draw in the reference (kept for rng-stream parity)
    data_rng = np.random.RandomState(args.seed_data)

    trainx_unl = trainx.copy()
    inds = data_rng.permutation(trainx.shape[0])
    trainx_p, trainy_p = trainx[inds], trainy[inds]
    txs = np.concatenate([trainx_p[trainy_p == j][:args.count] for j in range(10)], 0)
    tys = np.concatenate([trainy_p[trainy_p == j][:args.count] for j in range(10)], 0)
    init_x = trainx_p[:500]
    log(f"# labelled {txs.shape} per class {np.bincount(tys)}")

    opt_d, opt_g = make_opt(), make_opt()

    X_unl = jnp.asarray(trainx_unl); X_lab = jnp.asarray(txs); Y_lab = jnp.asarray(tys)

    def step(carry, idx):
        dtr, dfx, gp, ods, ogs, avg, key = carry
        il, iu, iu2 = idx
        key, kd, kg = jax.random.split(key, 3)
        (_, aux), gd = jax.value_and_grad(d_loss, has_aux=True)(dtr, dfx, gp, X_lab[il], Y_lab[il], X_unl[iu], kd)
        upd, ods = opt_d.update(gd, ods, dtr)
        # EMA update uses pre-update params (theano simultaneous updates), avg initialised at 0
        avg = jax.tree_util.tree_map(lambda a, p: a + 0.0001 * (p - a), avg, dtr)
        dtr = optax.apply_updates(dtr, upd)
        lg, gg = jax.value_and_grad(g_loss)(gp, merge_d(dtr, dfx), X_unl[iu2], kg)
        upd, ogs = opt_g.update(gg, ogs, gp)
        gp = optax.apply_updates(gp, upd)
        return (dtr, dfx, gp, ods, ogs, avg, key), jnp.stack([aux[0], aux[1], aux[2], lg])

    @jax.jit
    def run_chunk(carry, il, iu, iu2):
        return jax.lax.scan(step, carry, (il, iu, iu2))

    @jax.jit
    def test_err(dtr, dfx):
        o, _ = d_forward(merge_d(dtr, dfx), jnp.asarray(testx), None, False)
        return jnp.mean(jnp.argmax(o, 1) != jnp.asarray(testy))

    # ---------------- init ----------------
    key, kd, kg, ki = jax.random.split(key, 4)
    dps = jax.jit(d_data_init)(d_init_params(kd), jnp.asarray(init_x), ki)
    dtr, dfx = split_d(dps)
    gp = g_init_params(kg)
    carry = (dtr, dfx, gp, opt_d.init(dtr), opt_g.init(gp), jax.tree_util.tree_map(jnp.zeros_like, dtr), key)
    log(f"# init test err (raw) {float(test_err(dtr, dfx)):.4f}")

    # ---------------- index stream, epoch by epoch like the reference ----------------
    nb = trainx_unl.shape[0] // B
    perm_unl = np.arange(trainx_unl.shape[0]); perm_unl2 = np.arange(trainx_unl.shape[0])
    buf = {"l": [], "u": [], "u2": []}
    def fill():
        nonlocal perm_unl, perm_unl2
        lab = np.concatenate([rng.permutation(txs.shape[0]) for _ in range(trainx_unl.shape[0] // txs.shape[0])])
        perm_unl = perm_unl[rng.permutation(len(perm_unl))]
        perm_unl2 = perm_unl2[rng.permutation(len(perm_unl2))]
        buf["l"] += list(lab.reshape(-1, B)[:nb]); buf["u"] += list(perm_unl.reshape(-1, B)[:nb]); buf["u2"] += list(perm_unl2.reshape(-1, B)[:nb])
    def take(n):
        while len(buf["l"]) < n: fill()
        out = [np.stack(buf[k][:n]).astype(np.int32) for k in ("l", "u", "u2")]
        for k in buf: buf[k] = buf[k][n:]
        return out

    log("iter\telapsed_s\tms_per_iter\tloss_lab\tloss_unl\ttrain_err\tloss_gen\ttest_err_raw\ttest_err_ema\ttest_err_ema_biascorr")
    t0 = time.time(); it = 0; acc = []
    tlast, itlast = t0, 0
    while it < args.iters:
        n = min(args.chunk, args.iters - it)
        il, iu, iu2 = take(n)
        carry, m = run_chunk(carry, il, iu, iu2)
        m = np.asarray(m); acc.append(m); it += n
        if it == args.chunk:
            log(f"# first chunk (incl. compile) {time.time()-t0:.1f}s")
        if it % args.eval_every == 0 or it == args.iters:
            dtr, dfx, gp, _, _, avg, _ = carry
            corr = 1.0 - 0.9999 ** it
            avg_bc = jax.tree_util.tree_map(lambda a: a / corr, avg)
            e_raw, e_ema, e_bc = float(test_err(dtr, dfx)), float(test_err(avg, dfx)), float(test_err(avg_bc, dfx))
            mm = np.concatenate(acc, 0).mean(0); acc = []
            now = time.time()
            log(f"{it}\t{now-t0:.0f}\t{1000*(now-tlast)/(it-itlast):.1f}\t{mm[0]:.4f}\t{mm[1]:.4f}\t{mm[2]:.4f}\t{mm[3]:.5f}\t{e_raw:.4f}\t{e_ema:.4f}\t{e_bc:.4f}")
            tlast, itlast = now, it
    log(f"# done {it} iters in {time.time()-t0:.0f}s")


if __name__ == "__main__":
    main()
