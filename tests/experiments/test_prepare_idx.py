"""bgan-prepare reads MNIST's IDX files (a folder or the files, gzip or not): a train and a t10k split as
published, or one split divided once by the documented rule (20 % stratified test, seed 0); malformed
files are one line with exit code 2 and nothing written. The shared real MNIST test set is read when present."""

import gzip
import hashlib
from pathlib import Path

import idx2numpy
import numpy as np
import pytest

from experiments.datasets import load_dataset
from experiments.prepare import main as prepare_main

SHARED_MNIST = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist-t10k"


def _write_idx(path: Path, array: np.ndarray) -> Path:
    """``array`` as an IDX file (gzip when ``path`` ends in .gz), written by idx2numpy."""
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            idx2numpy.convert_to_file(f, array)
    else:
        idx2numpy.convert_to_file(str(path), array)
    return path


def _pair(folder: Path, prefix: str, n: int, *, gz: bool = True, num_classes: int = 10):
    """A tiny MNIST-layout pair: n images 6x5 whose every pixel is the image's index mod 256, labels cycling."""
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    x = np.broadcast_to((np.arange(n) % 256).astype(np.uint8)[:, None, None], (n, 6, 5)).copy()
    y = (np.arange(n) % num_classes).astype(np.uint8)
    return (_write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", x),
            _write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", y))


def _read(data_dir: Path, name: str = "mnist"):
    data = load_dataset("tfds", tfds_name=name, data_dir=str(data_dir), seed=0)
    ids = lambda x: sorted(np.round(x[:, 0] * 255).astype(int).tolist())  # noqa: E731
    return data, ids(data.train), ids(data.eval)


def test_a_train_and_a_t10k_pair_are_the_published_splits(tmp_path, capsys):
    _pair(tmp_path / "raw", "train", 30, gz=False)
    _pair(tmp_path / "raw", "t10k", 20, gz=True)
    assert prepare_main([str(tmp_path / "raw"), "--name", "mnist", "--data-dir", str(tmp_path / "d")]) == 0
    assert "(train: 30, test: 20; images (6, 5, 1), 10 classes)" in capsys.readouterr().out
    data, train, test = _read(tmp_path / "d")
    assert train == list(range(30)) and test == list(range(20))
    assert data.event_shape == (6, 5) and data.train.shape == (30, 30)
    # labels travel with their images
    assert (np.round(data.train[:, 0] * 255).astype(int) % 10 == data.train_labels).all()


def test_files_given_one_by_one_read_like_their_folder(tmp_path):
    files = [*_pair(tmp_path / "raw", "train", 30), *_pair(tmp_path / "raw", "t10k", 20)]
    assert prepare_main([*map(str, files), "--name", "mnist", "--data-dir", str(tmp_path / "d")]) == 0
    assert prepare_main([str(tmp_path / "raw"), "--name", "again", "--data-dir", str(tmp_path / "d")]) == 0
    assert _read(tmp_path / "d")[1:] == _read(tmp_path / "d", "again")[1:]


def test_a_single_split_is_divided_once_stratified_with_a_fixed_seed(tmp_path):
    _pair(tmp_path / "raw", "t10k", 100)
    for name in ("first", "second"):
        assert prepare_main([str(tmp_path / "raw"), "--name", name, "--data-dir", str(tmp_path / "d")]) == 0
    first, train, test = _read(tmp_path / "d", "first")
    assert len(train) == 80 and len(test) == 20 and not set(train) & set(test)
    assert np.bincount(first.eval_labels).tolist() == [2] * 10  # stratified: 20 % of every class
    assert np.bincount(first.train_labels).tolist() == [8] * 10
    assert _read(tmp_path / "d", "second")[1:] == (train, test)  # the same split every time


def _truncate(path: Path) -> None:
    data = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(data[:-7]))


def _bad_magic(path: Path) -> None:
    data = bytearray(gzip.decompress(path.read_bytes()))
    data[3] = 1  # an images file that says it has 1 axis
    path.write_bytes(gzip.compress(bytes(data)))


def _corrupt_stream(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[20:40] = bytes(range(20))  # inside the deflate stream: zlib's "invalid ..." error
    path.write_bytes(bytes(data))


def _huge_header(path: Path) -> None:
    header = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (10**6, 10**6, 10**3))
    path.write_bytes(gzip.compress(header + bytes(100)))


def _empty_images(path: Path) -> None:
    header = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (20, 0, 5))
    path.write_bytes(gzip.compress(header))


def _fewer_labels(path: Path) -> None:
    _write_idx(path.with_name("t10k-labels-idx1-ubyte.gz"), np.zeros(19, np.uint8))


@pytest.mark.parametrize("damage,message", [
    (_truncate, "t10k-images-idx3-ubyte.gz: truncated or malformed IDX file"),
    (_bad_magic, "t10k-images-idx3-ubyte.gz: magic number 2049 is not 2051 (IDX, uint8, 3 axes, as MNIST's images files)"),
    (_fewer_labels, "t10k-labels-idx1-ubyte.gz: 19 labels for the 20 images of"),
    (_corrupt_stream, "t10k-images-idx3-ubyte.gz: cannot read it ("),
    (_huge_header, "t10k-images-idx3-ubyte.gz: truncated or malformed IDX file (its header announces 1000000 x "
     "1000000 x 1000 = 1000000000000000 bytes, 100 follow)"),
    (_empty_images, "has shape (20, 0, 5, 1): expected (N, H, W) or (N, H, W, C) with N, H, W >= 1"),
    (lambda p: _write_idx(p.with_name("t10k-images-idx3-ubyte"), np.zeros((20, 6, 5), np.uint8)),
     "a second images file for 't10k'"),
    (lambda p: p.with_name("t10k-labels-idx1-ubyte.gz").unlink(), "t10k-images-idx3-ubyte.gz: its "
     "t10k-labels-idx1-ubyte[.gz] file is missing; give both files of a split"),
    (lambda p: p.write_bytes(b"not gzip at all"), "t10k-images-idx3-ubyte.gz: cannot read it (Not a gzipped file"),
])
def test_a_malformed_idx_file_exits_2_in_one_line_and_writes_nothing(tmp_path, capsys, damage, message):
    images, _ = _pair(tmp_path / "raw", "t10k", 20)
    damage(images)
    assert prepare_main([str(tmp_path / "raw"), "--name", "mnist", "--data-dir", str(tmp_path / "d")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("bgan-prepare: error: ") and message in err, err
    assert not (tmp_path / "d").exists()


def test_dotted_names_as_some_copies_spell_them_are_read(tmp_path):
    images, labels = _pair(tmp_path / "raw", "t10k", 20)
    images.rename(images.with_name("t10k-images.idx3-ubyte.gz"))
    labels.rename(labels.with_name("t10k-labels.idx1-ubyte.gz"))
    assert prepare_main([str(tmp_path / "raw"), "--name", "mnist", "--data-dir", str(tmp_path / "d")]) == 0
    assert sorted(_read(tmp_path / "d")[1] + _read(tmp_path / "d")[2]) == list(range(20))


def test_a_file_not_named_as_idx_among_idx_files_is_refused(tmp_path, capsys):
    images, labels = _pair(tmp_path / "raw", "t10k", 20)
    other = tmp_path / "raw" / "notes.txt"
    other.write_text("x")
    assert prepare_main([str(images), str(labels), str(other), "--name", "mnist", "--data-dir", str(tmp_path / "d")]) == 2
    assert f"{other}: not an IDX file name" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason=f"the shared real MNIST test set is absent ({SHARED_MNIST})")
def test_the_shared_mnist_test_set_prepares_into_8000_train_and_2000_test_images(tmp_path, capsys):
    images = gzip.decompress((SHARED_MNIST / "t10k-images-idx3-ubyte.gz").read_bytes())
    assert hashlib.sha256(images).hexdigest().startswith("0fa7898d509279e4")  # its README's checksum
    assert prepare_main([str(SHARED_MNIST), "--name", "mnist", "--data-dir", str(tmp_path / "d")]) == 0
    assert "(train: 8000, test: 2000; images (28, 28, 1), 10 classes)" in capsys.readouterr().out
    data = load_dataset("mnist", data_dir=str(tmp_path / "d"), seed=0)
    assert data.train.shape == (8000, 784) and data.eval.shape == (2000, 784) and data.event_shape == (28, 28)
    published = np.array([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])  # the README's class counts
    assert (np.bincount(data.train_labels) + np.bincount(data.eval_labels) == published).all()
    assert np.abs(np.bincount(data.eval_labels) - published * 0.2).max() <= 1  # stratified
    assert 0.0 <= data.train.min() and data.train.max() == 1.0


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason=f"the shared real MNIST test set is absent ({SHARED_MNIST})")
@pytest.mark.parametrize("inference", ["sghmc", "mle"])
def test_bgan_run_mnist_on_the_shared_set_writes_the_run_directory(tmp_path, capsys, inference):
    """The acceptance path, shortened: prepare the shared set, then experiment=mnist with its defaults but a
    few iterations. The metrics classifier is trained on the training split and holds >= 97 % on the test split."""
    import json

    from experiments.cli import main as bgan_run
    from experiments.schema import RUN_FILES

    assert prepare_main([str(SHARED_MNIST), "--name", "mnist", "--data-dir", str(tmp_path / "d")]) == 0
    out = tmp_path / "run"
    assert bgan_run(["experiment=mnist", f"experiment.dataset.data_dir={tmp_path / 'd'}", f"inference={inference}",
                     "iterations=40", "experiment.num_draws=4", f"out_dir={out}", "progress=false"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["classifier_eval_accuracy"] >= 0.97 and metrics["evaluated_on"] == "test"
    assert metrics["num_samples"] >= 2500 and 1 <= metrics["classes_covered"] <= 10
    assert {"config.yaml", "posterior.nc", "metrics.json", "samples.png", "report.md"} <= set(p.name for p in out.iterdir())
    assert {p.name for p in out.iterdir()} <= RUN_FILES


@pytest.fixture(scope="module")
def shared_mnist_dir(tmp_path_factory):
    """The shared set prepared once for this module's application runs."""
    d = tmp_path_factory.mktemp("mnist") / "d"
    assert prepare_main([str(SHARED_MNIST), "--name", "mnist", "--data-dir", str(d)]) == 0
    return d


SHARED_MNIST_APPLICATIONS = [
    ("mnist_ssl", ("test_error", "test_error_supervised_only")),
    ("mnist_anomaly", ("auroc", "auroc_spread", "auroc_knn", "auroc_isolation_forest", "auroc_anogan")),
    ("mnist_lowdata", ("classes_covered", "class_kl")),
    ("mnist_augment", ("test_accuracy", "test_accuracy_real_only")),
]


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason=f"the shared real MNIST test set is absent ({SHARED_MNIST})")
@pytest.mark.parametrize("experiment,keys", SHARED_MNIST_APPLICATIONS)
def test_mnist_applications_run_on_the_shared_set(tmp_path, shared_mnist_dir, experiment, keys):
    """experiment=mnist_ssl / mnist_anomaly / mnist_lowdata / mnist_augment read the prepared shared set, keep digits_*'s
    metrics.json keys, and cut the data as named: 100 labelled images, digit 9 absent from training (its
    200 test images scored), 10 training images of every digit."""
    import json

    from experiments.build import load_configured_dataset
    from experiments.cli import load_config
    from experiments.cli import main as bgan_run

    overrides = [f"experiment={experiment}", f"experiment.dataset.data_dir={shared_mnist_dir}"]
    out = tmp_path / "run"
    cut = ["experiment.autoencoder_steps=5", "experiment.metric_draws=2"] if experiment == "mnist_augment" else []
    assert bgan_run([*overrides, *cut, "iterations=20", "experiment.num_draws=2", f"out_dir={out}", "progress=false"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert all(metrics[k] is not None and np.isfinite(metrics[k]) for k in keys)
    data = load_configured_dataset(load_config(overrides))
    if experiment == "mnist_ssl":
        assert metrics["num_labelled"] == 100 and len(data.train) == 8000
    elif experiment == "mnist_anomaly":
        assert 9 not in set(data.train_labels.tolist()) and metrics["num_eval"] == 2000
        assert metrics["num_anomalies"] == int((data.eval_labels == 9).sum()) > 150
    else:  # mnist_lowdata, mnist_augment
        assert np.bincount(data.train_labels).tolist() == [10] * 10
