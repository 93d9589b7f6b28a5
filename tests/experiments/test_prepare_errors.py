"""bgan-prepare: an input that would leave a split empty is refused (one line, exit 2, nothing written), and a
failure while writing leaves an earlier dataset of that name as it was."""

import errno
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments import prepare
from experiments.datasets import tfds_images
from experiments.prepare import main as prepare_main
from experiments.tfds_builder import ImageArrays


def _npz(path: Path, n: int, value: int, **extra) -> Path:
    np.savez(path, x=np.full((n, 4, 4), value, np.uint8), y=np.arange(n) % 2, **extra)
    return path


def test_one_image_npz_exits_2_and_writes_nothing(tmp_path, capsys):
    one = _npz(tmp_path / "one.npz", 1, 7)
    assert prepare_main([str(one), "--name", "one", "--data-dir", str(tmp_path / "d")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == (
        f"bgan-prepare: error: {one}['x'] holds only 1 image: the test split is held out of it (20 %, at least 1 "
        "image), so the train split would be empty; give at least 2 images or an 'x_test' array\n")
    assert not (tmp_path / "d").exists()


def test_one_image_folder_exits_2_and_writes_nothing(tmp_path, capsys):
    from PIL import Image

    (tmp_path / "imgs" / "cat").mkdir(parents=True)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "imgs" / "cat" / "0.png")
    assert prepare_main([str(tmp_path / "imgs"), "--name", "pets", "--data-dir", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert err == (f"bgan-prepare: error: {tmp_path / 'imgs'} holds only 1 image: the test split is held out of it "
                   "(20 %, at least 1 image), so the train split would be empty; give at least 2 images\n")
    assert not (tmp_path / "d").exists()


def test_bgan_prepare_console_script_one_image_npz(tmp_path):
    one = _npz(tmp_path / "one.npz", 1, 7)
    script = Path(sys.executable).parent / "bgan-prepare"
    proc = subprocess.run([str(script), str(one), "--name", "one", "--data-dir", str(tmp_path / "d")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == "" and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(f"bgan-prepare: error: {one}['x'] holds only 1 image")
    assert not (tmp_path / "d").exists()


def test_one_image_with_an_x_test_is_two_non_empty_splits(tmp_path):
    one = _npz(tmp_path / "one.npz", 1, 7, x_test=np.zeros((1, 4, 4), np.uint8))
    assert prepare_main([str(one), "--name", "one", "--data-dir", str(tmp_path / "d")]) == 0
    data = tfds_images("one", data_dir=str(tmp_path / "d"), num_eval=1)
    assert data.train.shape == (1, 16) and data.eval.shape == (1, 16)


def _fail_while_writing(monkeypatch, error: Exception) -> None:
    """The builder writes one example, then ``error`` is raised inside tfds's writer."""

    def failing(self, images, labels):
        yield 0, {"image": images[0], "label": int(labels[0])}
        raise error

    monkeypatch.setattr(ImageArrays, "_generate_examples", failing)


def _pixel_values(data_dir: Path, name: str) -> set:
    data = tfds_images(name, data_dir=str(data_dir), num_eval=1)
    return set(np.round(data.train * 255).astype(int).ravel().tolist())


def test_a_failing_write_keeps_the_earlier_dataset(tmp_path, capsys, monkeypatch):
    data_dir = tmp_path / "d"
    assert prepare_main([str(_npz(tmp_path / "old.npz", 10, 11)), "--name", "mine", "--data-dir", str(data_dir)]) == 0
    capsys.readouterr()
    before = sorted(p.relative_to(data_dir) for p in data_dir.rglob("*"))
    _fail_while_writing(monkeypatch, OSError(errno.ENOSPC, "No space left on device"))
    assert prepare_main([str(_npz(tmp_path / "new.npz", 10, 22)), "--name", "mine", "--data-dir", str(data_dir)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == (
        f"bgan-prepare: error: --data-dir={str(data_dir)!r}: cannot write dataset 'mine' there ([Errno 28] No space "
        f"left on device); the earlier {data_dir / 'mine'} is unchanged\n")
    assert sorted(p.relative_to(data_dir) for p in data_dir.rglob("*")) == before  # no staging directory left
    monkeypatch.undo()
    assert _pixel_values(data_dir, "mine") == {11}


def test_an_unexpected_error_while_writing_also_keeps_the_earlier_dataset(tmp_path, capsys, monkeypatch):
    data_dir = tmp_path / "d"
    assert prepare_main([str(_npz(tmp_path / "old.npz", 10, 11)), "--name", "mine", "--data-dir", str(data_dir)]) == 0
    _fail_while_writing(monkeypatch, RuntimeError("a bug"))
    with pytest.raises(RuntimeError, match="a bug"):
        prepare_main([str(_npz(tmp_path / "new.npz", 10, 22)), "--name", "mine", "--data-dir", str(data_dir)])
    monkeypatch.undo()
    assert sorted(p.name for p in data_dir.iterdir()) == ["mine"]
    assert _pixel_values(data_dir, "mine") == {11}


def test_a_failing_first_write_leaves_no_data_dir(tmp_path, capsys, monkeypatch):
    _fail_while_writing(monkeypatch, OSError(errno.EACCES, "Permission denied"))
    data_dir = tmp_path / "d"
    assert prepare_main([str(_npz(tmp_path / "new.npz", 10, 22)), "--name", "mine", "--data-dir", str(data_dir)]) == 2
    assert capsys.readouterr().err.endswith("([Errno 13] Permission denied); nothing written\n")
    assert not data_dir.exists()


@pytest.mark.parametrize("atomic_swap", [True, False])
def test_a_second_prepare_replaces_the_dataset(tmp_path, capsys, monkeypatch, atomic_swap):
    swaps, swap = [], prepare._swap
    # atomic_swap=False: the fallback where renameat2(RENAME_EXCHANGE) is not available
    monkeypatch.setattr(prepare, "_swap", lambda new, old: swaps.append(new) or (atomic_swap and swap(new, old)))
    data_dir = tmp_path / "d"
    for value in (11, 22):
        assert prepare_main([str(_npz(tmp_path / f"{value}.npz", 10, value)), "--name", "mine",
                             "--data-dir", str(data_dir)]) == 0
    assert len(swaps) == 1  # the second prepare replaced an existing dataset
    out = capsys.readouterr().out.splitlines()  # one line each, naming the final place (not the staging one)
    assert out == [f"bgan-prepare: wrote {data_dir / 'mine' / '1.0.0'} (train: 8, test: 2; images (4, 4, 1), "
                   "2 classes)"] * 2
    assert sorted(p.name for p in data_dir.iterdir()) == ["mine"]
    assert _pixel_values(data_dir, "mine") == {22}
