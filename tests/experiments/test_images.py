"""The image zoo: DCGAN networks, tensorflow-datasets through tfds.data_source (mock data and bgan-prepare),
image configs, and the semi-supervised / anomaly / low-data experiments end to end."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow_datasets as tfds

from experiments import metrics as M
from experiments.cli import load_config, main
from experiments.datasets import load_dataset
from experiments.prepare import main as prepare_main
from experiments.build import load_configured_dataset
from inference.bridge import make_logdensity_fn, site_shapes
from inference.common import init_particles
from models.bgan import BayesGAN, DiscriminatorBatch
from models.heads import SemiSupervisedHead
from models.losses import build_loss
from models.networks import build_networks
from models.priors import build_prior

ROOT = Path(__file__).resolve().parents[2]
TINY_IMAGES = ["iterations=4", "experiment.num_draws=2", "experiment.metric_draws=2", "experiment.network.dcgan.channels=4",
               "experiment.latent_dim=8", "experiment.dataset.num_eval=60"]


@pytest.mark.parametrize("shape,deconvs", [((8, 8, 1), 1), ((28, 28, 1), 2), ((32, 32, 3), 3)])
def test_dcgan_shapes_and_every_weight_is_a_sample_site(shape, deconvs):
    dim = int(np.prod(shape))
    gen, disc = build_networks("dcgan", latent_dim=8, data_dim=dim, image_shape=shape, channels=4, layer_norm=True,
                               out_features=3)
    x = gen(jnp.ones((2, 5, 8)))
    assert x.shape == (2, 5, dim) and float(x.min()) >= 0 and float(x.max()) <= 1
    assert disc(x).shape == (2, 5, 3)
    prior = build_prior("normal")
    model = BayesGAN(gen, disc, prior, prior, build_loss("non_saturating"), latent_dim=8)
    sites = site_shapes(model.prior_model)
    assert sum(k.startswith("generator__deconvs.") and k.endswith("kernel") for k in sites) == deconvs
    assert "generator__norms.0.scale" in sites and "discriminator__out.kernel" in sites  # layer norm: weights too
    assert sites[f"generator__deconvs.{deconvs - 1}.kernel"] == (4, 4, 4, shape[-1])  # channels=4 nearest the image
    # MC dropout masks the input channels of every kernel that reads hidden units
    assert set(model.dropout_sites()) >= {"generator__deconvs.0.kernel", "discriminator__out.kernel"}


def test_dcgan_refuses_vectors():
    with pytest.raises(ValueError, match="needs image data"):
        build_networks("dcgan", latent_dim=2, data_dim=2, image_shape=None)


def test_tfds_images_through_data_source_on_mock_data():
    with tfds.testing.mock_data(num_examples=50):
        data = load_dataset("mnist", num_eval=20, seed=0)
    assert data.train.shape == (50, 784) and data.eval.shape == (20, 784) and data.event_shape == (28, 28)
    assert data.train.dtype == np.float32 and 0 <= data.train.min() and data.train.max() <= 1
    assert data.train_labels.shape == (50,) and data.image_shape == (28, 28, 1)
    with tfds.testing.mock_data(num_examples=30):
        cifar = load_dataset("cifar10", num_eval=10, seed=0)
    assert cifar.event_shape == (32, 32, 3) and cifar.data_dim == 3072


def test_absent_dataset_fails_with_instructions(tmp_path):
    with pytest.raises(ValueError) as err:
        load_dataset("mnist", data_dir=str(tmp_path), seed=0)
    assert "mnist is not prepared there" in str(err.value) and "tfds build mnist --file_format=array_record" in str(
        err.value) and "bgan-prepare" in str(err.value)


@pytest.mark.slow  # a fresh process
def test_bgan_run_mnist_without_data_exits_2(tmp_path):
    """A fresh process, as a user runs it: one line of instructions, exit 2, nothing written."""
    proc = subprocess.run([sys.executable, "-m", "experiments.cli", "experiment=mnist",
                           f"experiment.dataset.data_dir={tmp_path / 'tfds'}", f"out_dir={tmp_path / 'run'}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.startswith("bgan-run")]
    assert lines == [proc.stderr.strip().splitlines()[-1]] and "mnist is not prepared" in lines[0]
    assert not (tmp_path / "run").exists() and not (tmp_path / ".run.partial").exists()


IMAGE_CONFIGS = ["mnist", "fashion_mnist", "cifar10"]


@pytest.mark.slow
@pytest.mark.parametrize("experiment", IMAGE_CONFIGS)
def test_image_configs_run_on_mock_data(tmp_path, experiment):
    out = tmp_path / "run"
    with tfds.testing.mock_data(num_examples=120):
        assert main([f"experiment={experiment}", *TINY_IMAGES, f"out_dir={out}"]) == 0
    dt = az.from_netcdf(out / "posterior.nc")
    x = dt["posterior_predictive"]["x_generated"]
    event = {"cifar10": (32, 32, 3)}.get(experiment, (28, 28))
    assert x.shape[-len(event):] == event and x.sizes["chain"] == 4
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"classes_covered", "frechet_classifier_distance"} <= set(metrics)
    assert (out / "samples.png").is_file()


#: The real-MNIST application configs (run on the shared set in test_prepare_idx.py when it is present),
#: here on tfds mock data with a cut small enough for its 120 images.
MNIST_APPLICATIONS = {"mnist_ssl": (["experiment.labels_per_class=2"], "test_error"),
                      "mnist_anomaly": (["experiment.dataset.held_out_class=9"], "auroc_isolation_forest"),
                      "mnist_lowdata": (["experiment.dataset.num_per_class=2", "experiment.batch_size=16"], "class_kl"),
                      "mnist_augment": (["experiment.dataset.num_per_class=2", "experiment.batch_size=16",
                                         "experiment.autoencoder_steps=5", "experiment.metric_draws=2",
                                         "experiment.generated_per_class=3"], "test_accuracy")}


#: The recipe configs (Salimans et al.'s networks), run end to end on tfds mock data below.
RECIPES = ["mnist_ssl_improved_gan", "mnist_ssl_improved_gan_supervised"]


@pytest.mark.slow
@pytest.mark.parametrize("experiment", RECIPES)
@pytest.mark.parametrize("inference", ["sghmc", "mle"])
def test_the_improved_gan_recipe_runs_end_to_end_on_mock_data(tmp_path, experiment, inference):
    """experiment=mnist_ssl_improved_gan with the Bayesian GAN (its default inference: the noise layers inside
    the likelihood) and with the twin, whose moving average is reported beside the raw figures; and its
    supervised-only control (the unlabelled terms weighted 0)."""
    out = tmp_path / "run"
    with tfds.testing.mock_data(num_examples=120):
        assert main([f"experiment={experiment}", f"inference={inference}", "experiment.labels_per_class=2",
                     "iterations=4", "experiment.num_draws=2", "progress=false", f"out_dir={out}"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 <= metrics["test_error"] <= 1 and np.isfinite(metrics["test_nll"])
    assert ("test_error_ema" in metrics) == (inference == "mle")  # the experiment sets mle.ema_decay only


def test_labelled_images_follow_the_replica_rule():
    """labels_per_class images of each class: the first of each class in numpy RandomState(seed)'s permutation
    of the training set, the rule of scripts/ssl_reference.py (--seed_data) and Salimans et al.'s script."""
    from types import SimpleNamespace

    from experiments.tasks.semi_supervised import labelled_subset

    labels = np.random.default_rng(0).integers(0, 4, 200)
    data = SimpleNamespace(train=np.arange(200.0)[:, None], train_labels=labels, name="toy")
    x, y = labelled_subset(data, 3, seed=7)
    perm = np.random.RandomState(7).permutation(200)
    want = np.concatenate([perm[labels[perm] == k][:3] for k in range(4)])
    np.testing.assert_array_equal(x[:, 0], want)
    np.testing.assert_array_equal(y, np.repeat(np.arange(4), 3))


@pytest.mark.slow
@pytest.mark.parametrize("experiment", sorted(MNIST_APPLICATIONS))
def test_mnist_application_configs_run_on_mock_data(tmp_path, experiment):
    cut, key = MNIST_APPLICATIONS[experiment]
    out = tmp_path / "run"
    with tfds.testing.mock_data(num_examples=120):
        assert main([f"experiment={experiment}", *cut, *TINY_IMAGES, f"out_dir={out}"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics[key] is not None and np.isfinite(metrics[key])


@pytest.mark.slow
def test_bgan_prepare_digits_then_bgan_run_reads_it_through_tfds(tmp_path, capsys):
    data_dir = tmp_path / "tfds"
    assert prepare_main(["digits", "--data-dir", str(data_dir)]) == 0
    assert "bgan_digits/1.0.0 (train: 1437, test: 360" in capsys.readouterr().out
    data = load_dataset("tfds", tfds_name="bgan_digits", data_dir=str(data_dir), num_eval=360, seed=0)
    digits = load_dataset("digits", seed=0)
    assert data.train.shape == (1437, 64) and data.event_shape == (8, 8)
    # the same pixels as the bundled digits (rounded to uint8 levels), as a set of images
    rows = {tuple(np.round(r * 255).astype(int)) for r in np.concatenate([data.train, data.eval])}
    assert rows == {tuple(np.round(r * 255).astype(int)) for r in np.concatenate([digits.train, digits.eval])}
    out = tmp_path / "run"
    assert main(["experiment=digits", "experiment.dataset.name=tfds", "experiment.dataset.tfds_name=bgan_digits",
                 f"experiment.dataset.data_dir={data_dir}", "network=dcgan", "experiment.network.dcgan.channels=4",
                 "iterations=4", "experiment.num_draws=2", f"out_dir={out}"]) == 0
    assert json.loads((out / "metrics.json").read_text())["classes_covered"] >= 1


def test_a_local_keras_mnist_npz_prepared_as_mnist_is_read_by_the_mnist_loader(tmp_path):
    """The acceptance path: no data -> exit 2 with instructions; bgan-prepare a local file; the same loader
    (experiment=mnist's ``mnist``) reads it, from the prepared version rather than tfds's registered one."""
    rng = np.random.default_rng(1)
    arrays = {"x_train": (rng.random((50, 28, 28)) * 255).astype(np.uint8), "y_train": np.arange(50) % 10,
              "x_test": (rng.random((20, 28, 28)) * 255).astype(np.uint8), "y_test": np.arange(20) % 10}
    np.savez(tmp_path / "mnist.npz", **arrays)
    data_dir = tmp_path / "tfds"
    with pytest.raises(ValueError, match="mnist is not prepared there"):
        load_dataset("mnist", data_dir=str(data_dir), num_eval=10, seed=0)
    assert prepare_main([str(tmp_path / "mnist.npz"), "--name", "mnist", "--data-dir", str(data_dir)]) == 0
    data = load_dataset("mnist", data_dir=str(data_dir), num_eval=20, seed=0)
    assert data.train.shape == (50, 784) and data.event_shape == (28, 28)
    assert sorted({tuple(np.round(r * 255).astype(int)) for r in data.train}) == sorted(
        {tuple(r.reshape(-1).astype(int)) for r in arrays["x_train"]})
    assert sorted(data.eval_labels.tolist()) == sorted(arrays["y_test"].tolist())


def test_bgan_prepare_npz_and_folder(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((40, 8, 8)).astype(np.float32)
    np.savez(tmp_path / "mine.npz", x=x, y=np.arange(40) % 4)
    assert prepare_main([str(tmp_path / "mine.npz"), "--name", "mine", "--data-dir", str(tmp_path / "d")]) == 0
    data = load_dataset("tfds", tfds_name="mine", data_dir=str(tmp_path / "d"), num_eval=8, seed=0)
    assert data.train.shape == (32, 64) and sorted(set(data.train_labels.tolist())) == [0, 1, 2, 3]
    from PIL import Image

    for k in ("cat", "dog"):
        (tmp_path / "imgs" / k).mkdir(parents=True)
        for i in range(5):
            Image.fromarray((rng.random((8, 8, 3)) * 255).astype(np.uint8)).save(tmp_path / "imgs" / k / f"{i}.png")
    assert prepare_main([str(tmp_path / "imgs"), "--name", "pets", "--data-dir", str(tmp_path / "d")]) == 0
    pets = load_dataset("tfds", tfds_name="pets", data_dir=str(tmp_path / "d"), num_eval=2, seed=0)
    assert pets.event_shape == (8, 8, 3) and pets.train.shape == (8, 192)


@pytest.mark.parametrize("args,message", [
    (["nothing.npz", "--name", "x"], "is neither 'digits', an existing .npz file, IDX files nor a folder"),
    (["digits", "--name", "Bad-Name"], "--name='Bad-Name' is invalid"),
    (["BAD_NPZ", "--name", "x"], "expected an array named 'x'"),
    (["BAD_VALUES", "--name", "x"], "expected uint8, or floats in [0, 1]"),
])
def test_bgan_prepare_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    np.savez(tmp_path / "bad.npz", images=np.zeros((3, 8, 8)))
    np.savez(tmp_path / "values.npz", x=np.full((3, 8, 8), 7.5))
    args = [{"BAD_NPZ": "bad.npz", "BAD_VALUES": "values.npz"}.get(a, a) for a in args]
    assert prepare_main([*args, "--data-dir", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "d").exists()


def test_semi_supervised_log_density_adds_the_labelled_term_exactly():
    """K + 1-class discriminator: the unlabelled/fake terms use log(1 - D[0]) and log D[0], and the labelled
    examples add sum log p(y_s | x_s, real), the K-class log-softmax (unscaled: the whole labelled set every step)."""
    gen, disc = build_networks("mlp", latent_dim=2, data_dim=3, generator_hidden=[4], discriminator_hidden=[5],
                               output_activation="linear", out_features=4)
    prior = build_prior("normal")
    x_lab = jax.random.normal(jax.random.key(1), (6, 3))
    y_lab = jnp.array([0, 1, 2, 0, 1, 2])
    model = BayesGAN(gen, disc, prior, prior, build_loss("non_saturating"), latent_dim=2,
                     head=SemiSupervisedHead(num_classes=3, x_labelled=x_lab, y_labelled=y_lab))
    _, d = init_particles(jax.random.key(0), model, 1, 1)
    d1 = jax.tree.map(lambda v: v[0], d)
    xr, xf, n = jax.random.normal(jax.random.key(2), (4, 3)), jax.random.normal(jax.random.key(3), (8, 3)), 100
    out = lambda x: model.discriminator_outputs(d1, x)  # noqa: E731
    log_p = lambda x: jax.nn.log_softmax(out(x), axis=-1)  # noqa: E731
    log_real = lambda x: jax.nn.logsumexp(log_p(x)[:, 1:], axis=-1)  # noqa: E731
    log_class = jax.nn.log_softmax(out(x_lab)[:, 1:], axis=-1)[jnp.arange(6), y_lab]  # over the K real classes
    want = n / 4 * jnp.sum(log_real(xr)) + n / 8 * jnp.sum(log_p(xf)[:, 0]) + jnp.sum(log_class)
    got = make_logdensity_fn(model.discriminator_model)(d1, DiscriminatorBatch(xr, xf, n))
    log_prior = sum(jnp.sum(prior(k.split("__")[1], v.shape).log_prob(v)) for k, v in d1.items())
    np.testing.assert_allclose(got - log_prior, want, rtol=1e-5)
    probs = model.class_probabilities(d1, xr)
    assert probs.shape == (4, 3) and np.allclose(probs.sum(-1), 1, atol=1e-6)
    np.testing.assert_allclose(jax.nn.sigmoid(model.discriminate(d1, xr)), 1 - jax.nn.softmax(out(xr))[:, 0], rtol=1e-5)
    # labelled_weight multiplies the labelled term only (N / N_s: Saatchi & Wilson's weighting)
    weighted = dataclasses.replace(model, head=dataclasses.replace(model.head, labelled_weight=n / 6))
    got_w = make_logdensity_fn(weighted.discriminator_model)(d1, DiscriminatorBatch(xr, xf, n))
    np.testing.assert_allclose(got_w - got, (n / 6 - 1) * jnp.sum(log_class), rtol=1e-4)
    # unlabelled_weight scales the minibatch terms only; 0 is the supervised-only classifier: the labelled term
    # and the prior, whatever the real and fake minibatches
    for w in (0.5, 0.0):
        control = dataclasses.replace(model, head=dataclasses.replace(model.head, unlabelled_weight=w))
        logdensity = make_logdensity_fn(control.discriminator_model)
        got_u = logdensity(d1, DiscriminatorBatch(xr, xf, n))
        np.testing.assert_allclose(got_u - log_prior, want - (1 - w) * (want - jnp.sum(log_class)), rtol=1e-5)
    from inference.common import discriminator_mean_loss  # the optimisers' loss (twin, ensemble, MC dropout)

    batches = [DiscriminatorBatch(a, b, n) for a, b in ((xr, xf), (xf[:4], 5 * xr))]
    for fn in (logdensity, lambda p, b: discriminator_mean_loss(control, p, b)):
        grads = [jax.grad(fn)(d1, b) for b in batches]
        for k in d1:
            np.testing.assert_array_equal(np.asarray(grads[0][k]), np.asarray(grads[1][k]))
    np.testing.assert_allclose(discriminator_mean_loss(control, d1, batches[0]), -jnp.sum(log_class) / n, rtol=1e-5)
    with pytest.raises(ValueError, match="unlabelled_weight"):
        dataclasses.replace(model.head, unlabelled_weight=-1.0)
    # the control reads no unlabelled image, not even for a data-dependent initialisation
    assert control.head.initialisation_images is x_lab and model.head.initialisation_images is None


def test_the_supervised_control_initialises_from_the_labelled_images(monkeypatch, tmp_path):
    """build_model hands a data-dependent initialisation (weight norm's scales) the labelled images when the
    unlabelled terms are off, else training images in the seed's order."""
    import experiments.build as B
    from experiments.datasets import Dataset

    seen = []
    real_build = B.build_networks
    monkeypatch.setattr(B, "build_networks", lambda *a, init_data, **k: seen.append(init_data) or real_build(
        *a, init_data=init_data, **k))
    rng = np.random.default_rng(0)
    data = Dataset("digits", rng.random((40, 64), dtype=np.float32), rng.random((10, 64), dtype=np.float32), (8, 8),
                   train_labels=np.arange(40) % 4, eval_labels=np.arange(10) % 4)
    x_lab = data.train[:8]
    cfg = load_config(["experiment=digits_ssl", f"out_dir={tmp_path}"])
    for weight, want in ((0.0, x_lab), (1.0, data.train[np.random.default_rng(cfg.seed).permutation(40)])):
        head = SemiSupervisedHead(num_classes=4, x_labelled=jnp.asarray(x_lab), y_labelled=jnp.arange(8) % 4,
                                  unlabelled_weight=weight)
        B.build_model(cfg, data, head)
        np.testing.assert_array_equal(np.asarray(seen[-1]), want)


def test_semi_supervised_and_anomaly_metrics_known_cases():
    labels = np.array([0, 1, 2, 1])
    perfect = np.eye(3)[labels][None, None]  # (1, 1, 4, 3)
    x_eval = np.eye(4, 3)
    m = M.semi_supervised_metrics(np.repeat(perfect, 2, axis=1), x_eval, labels, x_eval, labels, (4,))
    assert m["test_error"] == 0 and m["test_nll"] < 1e-6 and m["predictive_samples"] == 2
    # averaging over samples: two samples each wrong on a different point still predict every point right
    a, b = perfect.copy(), perfect.copy()
    a[..., 0, :] = [0.4, 0.6, 0.0]
    b[..., 1, :] = [0.0, 0.4, 0.6]
    m = M.semi_supervised_metrics(np.concatenate([a, b], axis=1), x_eval, labels, x_eval, labels, (4,))
    assert m["test_error"] == 0 and m["test_error_per_sample"] == 0.25
    is_anomaly = np.array([False, False, True, True])
    d_real = np.array([[[0.9, 0.8, 0.2, 0.1], [0.9, 0.8, 0.3, 0.0]]])
    x_train = np.random.default_rng(0).normal(0, 0.05, (50, 2))
    m = M.anomaly_metrics(d_real, is_anomaly, x_train, np.array([[0, 0], [0, 0.1], [5, 5], [6, 6.0]]))
    assert m["auroc"] == 1.0 and m["auroc_knn"] == 1.0 and m["auroc_spread"] == 1.0
    assert m["auroc_isolation_forest"] == 1.0  # the far points are isolated first
    # the forest's score is minus score_samples: reversing the roles of normal and anomalous points flips it
    assert M.anomaly_metrics(d_real, ~is_anomaly, x_train, np.array([[0, 0], [0, 0.1], [5, 5], [6, 6.0]]))[
        "auroc_isolation_forest"] == 0.0


def test_expected_calibration_error_known_cases():
    """Guo et al. (2017)'s ECE over 15 equal-width bins of the top-label confidence, per bin."""
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    probs = np.array([[0.9, 0.1]] * 4 + [[0.3, 0.7]] * 4)  # every point right, confidence 0.9 and 0.7
    m = M.calibration(probs, labels)
    assert m["test_ece"] == pytest.approx(0.5 * 0.1 + 0.5 * 0.3)  # under-confident by 0.1 and 0.3
    bins = m["reliability"]
    assert len(bins) == 15 and sum(b["count"] for b in bins) == 8
    # 0.7 lies in (10/15, 11/15], 0.9 in (13/15, 14/15]: the bin of a confidence c is ceil(15 c)
    assert bins[10] == {"edge": round(11 / 15, 6), "confidence": pytest.approx(0.7), "accuracy": 1.0, "count": 4}
    assert bins[13]["confidence"] == pytest.approx(0.9) and bins[13]["count"] == 4
    assert bins[0]["accuracy"] is None and bins[0]["count"] == 0
    # a wrong point counts against its bin: half right at confidence 0.9 is over-confident by 0.4
    wrong = labels.copy()
    wrong[:2] = 1
    m = M.calibration(probs, wrong)
    assert m["reliability"][13]["accuracy"] == 0.5
    assert m["test_ece"] == pytest.approx(0.5 * 0.4 + 0.5 * 0.3)
    # a calibrated predictive: confidence equal to accuracy in every bin gives 0
    calibrated = np.array([[0.75, 0.25]] * 4)
    assert M.calibration(calibrated, np.array([0, 0, 0, 1]))["test_ece"] == pytest.approx(0.0, abs=1e-12)
    # the predictive figures carry it, on the averaged predictive
    figures = M.predictive_figures(probs[None], labels)
    assert figures["test_ece"] == pytest.approx(0.2) and len(figures["reliability"]) == M.CALIBRATION_BINS


APPLICATIONS = [
    ("digits_ssl", ("test_error", "test_error_supervised_only", "test_nll")),
    ("digits_anomaly", ("auroc", "auroc_spread", "auroc_knn", "auroc_isolation_forest", "auroc_anogan")),
    ("digits_lowdata", ("classes_covered", "class_kl")),
    ("digits_imbalanced", ("minority_accuracy", "minority_accuracy_real_only", "autoencoder_mse")),
]


# the fast tier runs the semi-supervised end-to-end run with the Bayesian GAN (the anomaly and class-imbalance
# runs are the fast tier's slowest tests, so they joined the ML twins and the low-data runs in the slow tier;
# test_reported_crashes keeps a fast class-imbalance run)
APPLICATION_CASES = [pytest.param(e, k, i, marks=[pytest.mark.slow] if i == "mle" or e != "digits_ssl" else [])
                     for e, k in APPLICATIONS for i in ("sghmc", "mle")]


@pytest.mark.parametrize("experiment,keys,inference", APPLICATION_CASES)
def test_application_experiments_end_to_end(tmp_path, experiment, keys, inference):
    out = tmp_path / "run"
    extra = ["experiment.autoencoder_steps=20", "experiment.metric_draws=4"] if experiment == "digits_imbalanced" else []
    assert main([f"experiment={experiment}", f"inference={inference}", "iterations=40", "experiment.num_draws=4",
                 f"out_dir={out}", *extra]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    keys = [k for k in keys if not (inference == "mle" and k == "auroc_spread")]  # one network: no spread
    assert all(metrics[k] is not None and np.isfinite(metrics[k]) for k in keys)
    dt = az.from_netcdf(out / "posterior.nc")
    if experiment in ("digits_ssl", "digits_anomaly"):  # figures of the discriminator's posterior predictive
        # J_d = 2 particles x the post-warmup draws (sampler), the final network (ML twin)
        assert metrics["predictive_samples"] == (1 if inference == "mle" else 2 * metrics["num_posterior_draws"])
        pred = dt["discriminator_predictive"]
        assert pred["d_real"].dims == ("chain", "draw", "obs") and pred.sizes["obs"] == 360
        if experiment == "digits_ssl":
            assert pred["class_probs"].sizes["class"] == 10
            # calibration of the headline predictive and its variant: 15 bins holding every test point
            variant = "reliability_pooled" if inference == "mle" else "reliability_final_draw"
            for key in ("reliability", variant):
                assert len(metrics[key]) == 15 and sum(b["count"] for b in metrics[key]) == 360
            assert 0 <= metrics["test_ece"] <= 1 and (out / "reliability.png").is_file()
            # the data the run was made on, as bgan-summarize pairs rows: the labelled images included
            assert metrics["data"]["name"] == "digits" and metrics["data"]["labels_per_class"] == 10
            assert "data_dir" not in metrics["data"]
            assert "test_ece_supervised_only" in metrics and not any(
                k.startswith("test_ece_supervised_only_") for k in metrics)  # the baseline's, stored once
            # a finished run (reliability.png included) is kept by skip_complete, not refused
            assert main([f"experiment={experiment}", f"inference={inference}", "iterations=40",
                         "experiment.num_draws=4", f"out_dir={out}", "skip_complete=true"]) == 0
        return
    # generation tasks: figures of the generated samples alone
    assert "predictive_samples" not in metrics
    hist = np.array(metrics["class_histogram"])
    assert hist.shape == (10,) and hist.sum() == pytest.approx(1, abs=1e-3)
    assert metrics["classes_covered"] == int((hist >= 0.01).sum())
    counts = np.bincount(load_configured_dataset(load_config([f"experiment={experiment}"])).train_labels)
    if experiment == "digits_lowdata":  # 20 training images of every class; no discriminator predictive
        assert counts.tolist() == [20] * 10 and "discriminator_predictive" not in dt
        return
    # digits_imbalanced: classes 0-2 cut to 10 % of their training images
    full = np.bincount(load_dataset("digits", num_eval=360, seed=0).train_labels)
    assert counts.tolist() == [*np.ceil(0.1 * full[:3]).astype(int).tolist(), *full[3:].tolist()]
    # a class-conditional generator, asked for every class equally often
    classes = dt["posterior_predictive"]["class_generated"].values
    assert np.allclose(np.bincount(classes.ravel(), minlength=10) / classes.size, 0.1, atol=0.03)
    # each minority class augmented with its own generated images up to the other classes' mean count; all of
    # them when the figures pool >= 2,500 samples (about 250 per class, 8 sd above the ~129 needed)
    needed = {str(c): int(round(counts[3:].mean()) - counts[c]) for c in (0, 1, 2)}
    added = metrics["generated_added"]
    assert added.keys() == needed.keys() and all(0 < added[c] <= needed[c] for c in needed)
    if metrics["num_samples"] >= 2500:
        assert added == needed


def test_particle_spread_counts_the_particles_that_ignore_z():
    """One particle emitting the same image whatever z (collapsed), one spreading like the data, one at 5 %
    of the data's spread (collapsed: below COLLAPSE_RATIO)."""
    rng = np.random.default_rng(0)
    train = rng.uniform(0, 1, (500, 16))
    one_image = np.broadcast_to(train[0], (200, 16))
    like_data = rng.uniform(0, 1, (200, 16))
    faint = 0.5 + 0.05 * (like_data - 0.5)
    out = M.particle_spread(np.stack([one_image, like_data, faint]), train)
    assert out["collapsed_particles"] == 2
    np.testing.assert_allclose(out["particle_spread"], [0.0, 1.0, 0.05], atol=0.06)
    # with a classifier: each particle's own classes (a stand-in classifier labelling by the first feature)
    class ByFirstFeature:
        num_classes = 10

        def predict(self, x):
            return np.minimum((np.asarray(x)[:, 0] * 10).astype(int), 9)

    out = M.particle_spread(np.stack([one_image, like_data]), train, ByFirstFeature())
    assert out["classes_per_particle"] == [1, 10]
