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


def test_stacked_mnist_is_drawn_once_by_the_seed_from_the_prepared_splits():
    with tfds.testing.mock_data(num_examples=60):
        data = load_dataset("stacked_mnist", num_train=500, num_eval=40, seed=3)
        again = load_dataset("stacked_mnist", num_train=500, num_eval=40, seed=3)
        other = load_dataset("stacked_mnist", num_train=500, num_eval=40, seed=4)
        mnist = load_dataset("mnist", seed=3)
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
        load_dataset("stacked_mnist", num_train=0)


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


@pytest.mark.slow  # trains the CNN twice (~25 s)
def test_bgan_prepare_builds_the_channel_classifier_once(tmp_path, capsys, monkeypatch):
    """An MNIST-shaped set (28 x 28, 10 classes) gets Stacked MNIST's channel classifier at prepare time,
    stored beside it with its test accuracy; a later run loads it instead of training; another name gets none."""
    import idx2numpy

    from experiments.metrics import ConvClassifier
    from experiments.prepare import main as prepare
    from experiments.prepare import channel_classifier

    rng = np.random.default_rng(0)
    raw = tmp_path / "raw"
    raw.mkdir()
    for prefix, n in (("train", 120), ("t10k", 40)):  # a digit is a bright band at its row: learnable
        labels = np.arange(n) % 10
        images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        for i, d in enumerate(labels):
            images[i, 2 * d + 4: 2 * d + 7] = 250
        idx2numpy.convert_to_file(str(raw / f"{prefix}-images-idx3-ubyte"), images)
        idx2numpy.convert_to_file(str(raw / f"{prefix}-labels-idx1-ubyte"), labels.astype(np.uint8))
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
