"""Stacked MNIST: the training set kept as index triples reads as the dense stacks would (numpy and JAX
indices, through jit and vmap), the builder draws its stacks once by the seed from the prepared MNIST
splits, and the modes / KL figures of known histograms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow_datasets as tfds

from experiments import metrics as M
from experiments.datasets import load_dataset
from experiments.stacked import StackedImages

#: The experiment these tests run end to end (tests/experiments/test_cli.py counts it as covered).
STACKED = "stacked_mnist"


def _dense(base, triples):
    """The stacks as pixels, built the obvious way: channel c of stack i is base[triples[i, c]]."""
    return np.stack([np.stack([base[t] for t in row], -1).reshape(-1) for row in triples])


@pytest.fixture
def stacked():
    rng = np.random.default_rng(0)
    base = rng.random((7, 12), dtype=np.float32)  # 7 images of 3 x 4 pixels
    return StackedImages(base, rng.integers(0, 7, (20, 3)).astype(np.int32))


def test_stacks_read_as_their_dense_array_with_numpy_and_jax_indices(stacked):
    dense = _dense(stacked.base, stacked.triples)
    assert stacked.shape == dense.shape == (20, 36) and len(stacked) == 20 and stacked.dtype == np.float32
    idx = np.array([[3, 0], [19, 3]])
    np.testing.assert_array_equal(stacked[idx], dense[idx])  # any index shape
    np.testing.assert_array_equal(stacked[idx, :5], dense[idx, :5])
    np.testing.assert_array_equal(stacked.dense(), dense)
    on_device = jax.tree.map(jnp.asarray, stacked)
    np.testing.assert_array_equal(np.asarray(on_device[jnp.asarray(idx)]), dense[idx])
    # through jit (as an argument) and vmap, as the samplers read a minibatch
    read = jax.jit(lambda data, key: data[jax.random.randint(key, (4,), 0, data.shape[0])])
    keys = jax.random.split(jax.random.key(1), 3)
    batches = jax.vmap(read, in_axes=(None, 0))(on_device, keys)
    rows = jax.vmap(lambda key: jax.random.randint(key, (4,), 0, 20))(keys)
    np.testing.assert_allclose(np.asarray(batches), dense[np.asarray(rows)], rtol=0, atol=0)
    # a traced index into numpy leaves (the set closed over by a compiled step), a 1-tuple key
    gather = jax.jit(lambda i: stacked[i])
    np.testing.assert_array_equal(np.asarray(gather(jnp.asarray(idx))), dense[idx])
    np.testing.assert_array_equal(stacked[(idx,)], dense[idx])
    with pytest.raises(TypeError, match="not converted to a dense array implicitly"):
        np.asarray(stacked)


def test_stacked_mnist_is_drawn_once_by_the_seed_from_the_prepared_splits(tmp_path):
    from experiments.metrics import ConvClassifier

    d = str(tmp_path)
    with tfds.testing.mock_data(num_examples=60), pytest.raises(ValueError, match="channel classifier is not stored"):
        load_dataset("stacked_mnist", data_dir=d)  # refused before any run starts: bgan-prepare stores it
    rng = np.random.default_rng(0)
    ConvClassifier(rng.random((20, 784)), np.arange(20) % 10, (28, 28), epochs=1).save(
        tmp_path / "mnist" / "channel_classifier")
    with tfds.testing.mock_data(num_examples=60):
        data = load_dataset("stacked_mnist", num_train=500, num_eval=40, seed=3, data_dir=d)
        again = load_dataset("stacked_mnist", num_train=500, num_eval=40, seed=3, data_dir=d)
        other = load_dataset("stacked_mnist", num_train=500, num_eval=40, seed=4, data_dir=d)
        mnist = load_dataset("mnist", seed=3, data_dir=d)
    assert data.event_shape == (28, 28, 3) and data.train.shape == (500, 28 * 28 * 3)
    assert data.eval.shape == (40, 28 * 28 * 3) and data.eval.dtype == np.float32
    np.testing.assert_array_equal(data.train.triples, again.train.triples)
    assert not np.array_equal(data.train.triples, other.train.triples)
    # the channels are MNIST training images; the labels are the triples' mode ids
    np.testing.assert_array_equal(data.train.base, mnist.train)
    triples = data.train.triples
    np.testing.assert_array_equal(data.train_labels, 100 * mnist.train_labels[triples[:, 0]]
                                  + 10 * mnist.train_labels[triples[:, 1]] + mnist.train_labels[triples[:, 2]])
    first = data.train[np.array([0])].reshape(28, 28, 3)
    np.testing.assert_array_equal(first[..., 2], mnist.train[triples[0, 2]].reshape(28, 28))
    # evaluation stacks come from the evaluation images, the channel classifier's data from the training ones
    channels = data.eval.reshape(40, -1, 3)
    assert all(any(np.array_equal(channels[i, :, c], e) for e in mnist.eval) for i in range(5) for c in range(3))
    np.testing.assert_array_equal(data.classifier_train, mnist.train)
    with tfds.testing.mock_data(num_examples=60), pytest.raises(ValueError, match="num_train=0"):
        load_dataset("stacked_mnist", num_train=0, data_dir=d)


def _constant_stacks(triples, pixels=4):
    """Stacks whose channel c is an image of constant intensity digit / 10 (the digit readable back)."""
    triples = np.asarray(triples)
    return np.repeat((triples / 10.0)[:, None, :], pixels, axis=1).reshape(len(triples), -1)


def _read_digit(images):
    return np.rint(images.mean(-1) * 10).astype(int)


def test_modes_and_kl_of_known_histograms():
    # one triple: 1 mode, KL = log 1000
    one = M.stacked_metrics(_constant_stacks([[1, 2, 3]] * 50), _read_digit)
    assert one["modes"] == 1 and one["kl_uniform"] == pytest.approx(np.log(1000))
    assert one["channel_histograms"][0][1] == 50 and one["channel_histograms"][2][3] == 50
    # every triple once: 1,000 modes, KL 0
    every = np.array([[a, b, c] for a in range(10) for b in range(10) for c in range(10)])
    uniform = M.stacked_metrics(_constant_stacks(every), _read_digit)
    assert uniform["modes"] == 1000 and uniform["kl_uniform"] == pytest.approx(0, abs=1e-12)
    assert uniform["channel_histograms"] == [[100] * 10] * 3 and uniform["num_samples"] == 1000
    # 3 of 4 samples on one triple, 1 on another: KL = 3/4 log(750) + 1/4 log(250)
    mixed = M.stacked_metrics(_constant_stacks([[0, 0, 7]] * 3 + [[9, 8, 7]]), _read_digit)
    assert mixed["modes"] == 2 and mixed["kl_uniform"] == pytest.approx(0.75 * np.log(750) + 0.25 * np.log(250))
    assert M.mode_ids(np.array([[9, 8, 7], [0, 0, 7]])).tolist() == [987, 7]


def test_the_floor_reads_real_stacks_through_the_classifier():
    digits = np.repeat(np.arange(10), 30)
    images = np.repeat((digits / 10.0)[:, None], 4, axis=1)
    perfect = M.stacked_floor(images, digits, _read_digit)
    assert perfect["channel_classifier_accuracy"] == 1.0
    assert perfect["modes_real"] == 1000 and perfect["kl_uniform_real"] < 0.03  # 25,600 uniform draws
    # a classifier that reads every 9 as 8 loses 271 triples (those with a 9) and its accuracy drops by 0.1
    blind = M.stacked_floor(images, digits, lambda x: np.minimum(_read_digit(x), 8))
    assert blind["channel_classifier_accuracy"] == pytest.approx(0.9) and blind["modes_real"] == 729


def _band_digits(raw):
    """MNIST-style IDX files (120 training, 40 test images) whose digit is a bright band at its row: learnable."""
    import idx2numpy

    rng = np.random.default_rng(0)
    raw.mkdir()
    for prefix, n in (("train", 120), ("t10k", 40)):
        labels = np.arange(n) % 10
        images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        for i, d in enumerate(labels):
            images[i, 2 * d + 4: 2 * d + 7] = 250
        idx2numpy.convert_to_file(str(raw / f"{prefix}-images-idx3-ubyte"), images)
        idx2numpy.convert_to_file(str(raw / f"{prefix}-labels-idx1-ubyte"), labels.astype(np.uint8))
    return raw


@pytest.mark.slow  # trains the CNN twice (~25 s)
def test_bgan_prepare_builds_the_channel_classifier_once(tmp_path, capsys, monkeypatch):
    """An MNIST-shaped set (28 x 28, 10 classes) gets Stacked MNIST's channel classifier at prepare time,
    stored beside it with its test accuracy; a later run loads it instead of training; another name gets none."""
    from experiments.metrics import ConvClassifier
    from experiments.prepare import main as prepare
    from experiments.prepare import channel_classifier

    rng = np.random.default_rng(0)
    raw = _band_digits(tmp_path / "raw")
    assert prepare([str(raw), "--name", "mnist", "--data-dir", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "Stacked MNIST's channel classifier" in out and "on 40 test images" in out
    folder = tmp_path / "d" / "mnist" / "channel_classifier"
    stored = ConvClassifier.load(folder)
    assert stored.meta["num_train"] == 120 and stored.meta["test_accuracy"] > 0.9
    test = load_dataset("mnist", data_dir=str(tmp_path / "d"))  # the stored parameters are the trained ones
    assert np.mean(stored.predict(test.eval) == test.eval_labels) == stored.meta["test_accuracy"]
    monkeypatch.setattr(ConvClassifier, "__init__", lambda *a, **k: pytest.fail("trained again"))
    loaded = channel_classifier(tmp_path / "d", "mnist")
    images = rng.random((5, 784)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(images), stored.predict(images))
    with pytest.raises(FileNotFoundError, match="no stored classifier"):
        channel_classifier(tmp_path / "d", "fashion", build=False)
    # another name or shape gets none
    assert prepare([str(raw), "--name", "digits_copy", "--data-dir", str(tmp_path / "d")]) == 0
    assert not (tmp_path / "d" / "digits_copy" / "channel_classifier").exists()


class _Reader:
    """A channel classifier that reads a constant image's digit (intensity digit / 10)."""

    @staticmethod
    def predict(images):
        return _read_digit(np.asarray(images))


def _stacked_data(num_metric_samples=300):
    """A small Stacked-MNIST-like Dataset: constant 4-pixel channel images, a StackedClassifier reading them."""
    from experiments.datasets import Dataset

    digits = np.repeat(np.arange(10), 3)
    base = np.repeat((digits / 10.0)[:, None], 4, axis=1).astype(np.float32)
    rng = np.random.default_rng(0)
    train = StackedImages(base, rng.integers(0, len(base), (500, 3)).astype(np.int32))
    classifier = M.StackedClassifier(lambda: _Reader(), base, digits, seed=0)
    return Dataset("stacked_mnist", train, train[np.arange(50)], (2, 2, 3), train_labels=np.zeros(500, np.int64),
                   eval_labels=np.zeros(50, np.int64), metrics_classifier=classifier,
                   num_metric_samples=num_metric_samples)


def test_the_stacked_classifier_reads_modes_captions_and_its_floor():
    data = _stacked_data()
    clf = data.metrics_classifier
    stacks = _constant_stacks([[3, 7, 1], [0, 0, 9]])
    assert clf.predict(stacks).tolist() == [371, 9] and clf.caption(stacks) == ["3 7 1", "0 0 9"]
    assert clf.num_classes == 1000
    assert clf.metrics(stacks) == M.stacked_metrics(stacks, _read_digit)
    assert clf.floor == M.stacked_floor(clf._images, clf._digits, _read_digit, seed=0)
    assert clf.floor["channel_classifier_accuracy"] == 1.0 and clf.floor["modes_real"] == 1000


def test_stacked_figures_count_the_datasets_samples_in_both_forms():
    """compute_metrics on a dataset with its own count: the final form reads that many samples of the final
    draw, the pool that many of the post-warmup draws; the figures are the classifier's modes and KL of exactly
    those samples, with the floor beside them, and no data-copying z."""
    from experiments.evaluation import compute_metrics

    data = _stacked_data(num_metric_samples=300)
    rng = np.random.default_rng(1)
    digits = rng.integers(0, 10, (2, 6, 200, 3))  # (chain, draw, sample, channel)
    x = np.repeat((digits / 10.0)[..., None, :], 4, axis=-2).reshape(2, 6, 200, 12).astype(np.float32)
    out = compute_metrics(data, x, 1, num_warmup_draws=2)
    assert out["final_draw_samples"] == 300 and out["pooled_samples"] == 300
    assert out["num_samples"] == out["num_samples_final_draw"] == 300
    final = M.metric_samples(x, 1, 300)
    pooled = M.metric_samples(x[:, 2:], 4, 300)
    assert out["modes_final_draw"] == M.stacked_metrics(final, _read_digit)["modes"]
    assert out["kl_uniform"] == pytest.approx(M.stacked_metrics(pooled, _read_digit)["kl_uniform"])
    whole_pool = M.metric_samples(x[:, 2:], 4, 2_500)  # 1,600 samples: fewer than 2,500
    assert out["modes_pooled_2500"] == M.stacked_metrics(whole_pool, _read_digit)["modes"]
    assert out["modes_real"] == data.metrics_classifier.floor["modes_real"] and "data_copying_z" not in out
    assert len(out["classes_per_particle"]) == 2  # each particle's modes, the training stacks read lazily
    # every mode a particle's samples reach (of 0.1 % each, a 1 % floor would read a spread particle as 0 modes)
    assert out["classes_per_particle"] == [len(np.unique(M.mode_ids(digits[j, -1]))) for j in range(2)]


def test_generate_final_spreads_the_count_over_the_final_particles():
    import jax

    from experiments.build import build_model
    from experiments.cli import load_config
    from experiments.datasets import load_dataset
    from experiments.run import generate_final
    from inference.bridge import site_shapes

    cfg = load_config(["experiment=ring8"])
    model, _ = build_model(cfg, load_dataset("ring8", seed=0, num_train=100, num_eval=10))
    rng = np.random.default_rng(0)  # two generator particles
    params = {k: rng.normal(0, 0.5, (2, *s)).astype(np.float32) for k, s in site_shapes(model.generator_net).items()}
    key = jax.random.key(3)
    out = generate_final(model, params, 7, key, batch_size=3)  # 4 per particle, in batches of 3 and 1
    assert out.shape == (2, 1, 4, 2)
    for j in range(2):
        one = jax.tree.map(lambda p: p[j], params)
        z = [model.sample_latent(jax.random.fold_in(key, i), (2, b))[j] for i, b in enumerate((3, 3))]
        expected = np.concatenate([np.asarray(model.generate(one, zi)) for zi in z])[:4]
        np.testing.assert_allclose(out[j, 0], expected, rtol=1e-6, atol=1e-6)
    assert not np.allclose(out[0], out[1])


def test_stacked_mnist_is_a_generation_benchmark_only(tmp_path):
    from experiments.cli import load_config
    from experiments.schema import ConfigError, validate

    with pytest.raises(ConfigError, match="experiment.task.*'generation' with experiment.dataset.name=stacked_mnist"):
        validate(load_config(["experiment=stacked_mnist", "experiment.task=semi_supervised",
                              f"out_dir={tmp_path}"]))


def test_bgan_summarize_tables_stacked_runs_as_their_own_family(tmp_path):
    """Stacked MNIST's runs (which have modes, like the 2-D mixtures) form their own table with modes and KL in
    both forms, are paired on them, and keep their 25,600-sample figures under --equal-count."""
    import json

    from experiments.summarize import paired_table, summarize

    dirs = []
    for row, modes in (("stk-mle", (100, 140, 90)), ("stk-sghmc", (400, 500, 450))):
        for seed, m in enumerate(modes):
            d = tmp_path / f"{row}-s{seed}"
            d.mkdir()
            (d / "metrics.json").write_text(json.dumps({
                "seed": seed, "headline": "final 1 draw(s)", "modes": m, "kl_uniform": 7.0 - m / 100,
                "modes_pooled": m + 1, "kl_uniform_pooled": 6.9 - m / 100, "modes_pooled_2500": 3,
                "kl_uniform_pooled_2500": 9.0, "modes_real": 1000, "wall_seconds": 1.0,
                "data": {"name": "stacked_mnist"}}))
            dirs.append(d)
    grid = tmp_path / "grid-mle-s0"
    grid.mkdir()
    (grid / "metrics.json").write_text(json.dumps({"seed": 0, "modes": 20, "high_quality": 0.5, "reverse_kl": 1.0}))
    table = summarize(dirs + [grid], equal=True)
    head = next(line for line in table.splitlines() if "modes_real" in line)
    assert "kl_uniform" in head and "high_quality" not in head
    stacked_rows = [line for line in table.splitlines() if line.startswith("| stk-")]
    assert len(stacked_rows) == 2 and "| 111.0 ±" in stacked_rows[0] and "| 3.0 ±" not in table  # not pooled_2500
    grid_rows = [line for line in table.splitlines() if line.startswith("| grid-")]
    assert len(grid_rows) == 1  # the mixture table holds the grid row alone
    paired = paired_table(dirs, "stk-mle", equal=True)
    modes_final = next(line for line in paired.splitlines() if "stk-sghmc | modes | final" in line)
    assert "+340" in modes_final  # (400 - 100 + 500 - 140 + 450 - 90) / 3
    assert "kl_uniform" in paired and "pooled_2500" not in paired


@pytest.mark.slow  # prepares a set (trains the channel classifier) and runs (~2 and ~4 min)
@pytest.mark.parametrize("inference,network", [("mle", []), ("sghmc", ["network=dcgan_metz", "network.pack=2"])],
                         ids=["mle-mlp", "sghmc-dcgan_metz-packed"])
def test_bgan_run_stacked_mnist_end_to_end(tmp_path, inference, network):
    """bgan-prepare, then bgan-run experiment=stacked_mnist: the figures at 25,600 samples in both forms (the
    final weights' generated afresh, the pool read at that count), the floor of the stored classifier, and the
    sample grid captioned with each channel's digit; the CPU MLPs, and Metz et al.'s DCGAN pair packed."""
    import json

    from experiments.cli import main as bgan_run
    from experiments.metrics import ConvClassifier
    from experiments.prepare import main as prepare

    data_dir = tmp_path / "d"
    assert prepare([str(_band_digits(tmp_path / "raw")), "--name", "mnist", "--data-dir", str(data_dir)]) == 0
    out = tmp_path / "run"
    assert bgan_run([f"experiment={STACKED}", f"inference={inference}", f"experiment.dataset.data_dir={data_dir}",
                     "experiment.dataset.num_train=600", "iterations=40", "experiment.num_draws=4",
                     f"out_dir={out}", "progress=false", *network]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["final_draw_samples"] == m["pooled_samples"] == 25_600
    sampler = inference == "sghmc"
    final, pooled = ("_final_draw", "") if sampler else ("", "_pooled")
    for form in (final, pooled):
        assert m[f"num_samples{form}"] == 25_600 and 1 <= m[f"modes{form}"] <= 1000
        assert 0 <= m[f"kl_uniform{form}"] <= np.log(1000) + 1e-9
        assert [sum(h) for h in m[f"channel_histograms{form}"]] == [25_600] * 3
    stored = ConvClassifier.load(data_dir / "mnist" / "channel_classifier")
    assert m["channel_classifier_accuracy"] == pytest.approx(stored.meta["test_accuracy"])  # the same 40 test images
    assert m["modes_real"] > 900 and "data_copying_z" not in m
    assert len(m["classes_per_particle"]) == (2 if sampler else 1)
    assert (out / "samples.png").stat().st_size > 0
