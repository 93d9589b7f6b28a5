"""``bgan-prepare``: write images as a TensorFlow-Datasets ArrayRecord dataset that ``bgan-run`` reads
through ``tfds.data_source`` (no TensorFlow needed, offline).

Usage::

    bgan-prepare digits [--data-dir DIR]                 # scikit-learn's bundled 8x8 digits as "bgan_digits"
    bgan-prepare FILE.npz --name NAME [--data-dir DIR]   # arrays x (N, H, W[, C]) and optional y (N,),
                                                         # x_test / y_test (else 20 % held out); Keras's
                                                         # x_train / y_train names are read as x / y
    bgan-prepare FOLDER --name NAME [--data-dir DIR]     # FOLDER/<class name>/<image files> (PNG, JPEG, ...)
    bgan-prepare IDX... --name NAME [--data-dir DIR]     # MNIST's IDX files (a folder of them, or the files;
                                                         # gzip or not): PREFIX-images-idx3-ubyte with
                                                         # PREFIX-labels-idx1-ubyte, PREFIX train or t10k

then ``bgan-run experiment.dataset.name=tfds experiment.dataset.tfds_name=NAME
experiment.dataset.data_dir=DIR network=dcgan ...``. The dataset has the splits ``train`` and
``test`` and the features ``image`` (``uint8``, ``(H, W, C)``, stored as a tensor: encoding PNG would need
TensorFlow) and ``label`` (``ClassLabel``; all 0 without labels). A source with one split (an ``.npz`` without ``x_test``, a
folder of images, one IDX pair such as MNIST's 10,000 ``t10k`` images) is split once, here, by a fixed rule:
20 % of it held out as ``test``, stratified by label (where every class has 2 images or more), with seed 0 (MNIST's ``t10k`` set: 8,000 train / 2,000
test), so every run sees the same test split. ``DIR`` defaults to tfds's
(``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``). A bad path or array prints one line and exits with code
2, writing nothing; the dataset is built beside ``DIR/NAME`` and replaces an earlier one only when complete.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from experiments.datasets import CLASSIFIER_FOLDER, channel_classifier, default_data_dir
from experiments.errors import plain

#: IDX file names as published on the MNIST site (and Fashion-MNIST's): PREFIX-images-idx3-ubyte[.gz] and
#: PREFIX-labels-idx1-ubyte[.gz]; the prefix ``train`` is the train split, ``t10k`` (or ``test``) the test split.
IDX_NAME = re.compile(r"(?P<prefix>.+)-(?P<kind>images|labels)[-.]idx(?P<ndim>[13])-ubyte(?:\.gz)?", re.IGNORECASE)
IDX_SPLITS = {"train": "train", "t10k": "test", "test": "test"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
VERSION = "1.0.0"


class PrepareError(ValueError):
    """A user mistake in ``bgan-prepare``'s input; the message is one line."""


def _as_uint8_images(x: np.ndarray, what: str) -> np.ndarray:
    """``(N, H, W)`` or ``(N, H, W, C)`` uint8, or floats in [0, 1] -> ``(N, H, W, C)`` uint8."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or 0 in x.shape[:3] or x.shape[-1] not in (1, 3, 4):
        raise PrepareError(f"{what} has shape {x.shape}: expected (N, H, W) or (N, H, W, C) with N, H, W >= 1 and "
                           "C in 1, 3, 4")
    if x.dtype == np.uint8:
        return x
    if np.issubdtype(x.dtype, np.floating) and np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1:
        return np.round(x * 255).astype(np.uint8)
    if np.issubdtype(x.dtype, np.integer) and x.min() >= 0 and x.max() <= 255:
        return x.astype(np.uint8)
    raise PrepareError(f"{what} has dtype {x.dtype} with values in [{x.min()}, {x.max()}]: expected uint8, "
                       "or floats in [0, 1]")


def _labels(y, n: int, what: str) -> np.ndarray:
    if y is None:
        return np.zeros(n, dtype=np.int64)
    y = np.asarray(y)
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer) or (n and y.min() < 0):
        raise PrepareError(f"{what} must be {n} non-negative integer labels, got shape {y.shape} dtype {y.dtype}")
    return y.astype(np.int64)


def _holdout(x, y, what: str, alternative: str = "", fraction: float = 0.2, seed: int = 0):
    """Split ``(x, y)`` into train and test: ``fraction`` of it (at least one image) held out for test,
    stratified by label (scikit-learn's ``train_test_split``), with the fixed ``seed``. Stratification needs
    every class to have two images or more and a test split with room for every class; otherwise the split
    is a plain random one (as before stratification was added).

    Raises
    ------
    PrepareError
        If fewer than two images would leave the train split empty; the message names ``what`` and
        suggests ``alternative`` too.
    """
    from sklearn.model_selection import train_test_split

    if len(x) < 2:
        raise PrepareError(f"{what} holds only {len(x)} image: the test split is held out of it (20 %, at least "
                           f"1 image), so the train split would be empty; give at least 2 images{alternative}")
    num_test = max(1, int(round(fraction * len(x))))
    counts = np.unique(y, return_counts=True)[1]
    stratify = y if counts.min() >= 2 and len(counts) <= min(num_test, len(x) - num_test) else None
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=num_test, stratify=stratify, random_state=seed)
    return (x_tr, y_tr), (x_te, y_te)


def from_digits():
    """scikit-learn's bundled digits as ``{"train": (x, y), "test": (x, y)}``, 360 test images (stratified)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = np.round(bunch.images * 255 / 16).astype(np.uint8)[..., None]
    x_tr, x_te, y_tr, y_te = train_test_split(x, bunch.target, test_size=360, stratify=bunch.target, random_state=0)
    return {"train": (x_tr, y_tr), "test": (x_te, y_te)}, [str(i) for i in range(10)]


def from_npz(path: Path):
    """Arrays ``x`` (and ``y``, ``x_test``, ``y_test``) of an ``.npz`` file; Keras's ``x_train`` / ``y_train``
    (as in its ``mnist.npz``) stand for ``x`` / ``y``."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError) as err:
        raise PrepareError(f"{path}: cannot read it as .npz ({' '.join(str(err).split())[:120]})") from None
    if "x" not in arrays and "x_train" in arrays:
        arrays["x"] = arrays.pop("x_train")
        if "y_train" in arrays:
            arrays["y"] = arrays.pop("y_train")
    if "x" not in arrays:
        raise PrepareError(f"{path}: holds {sorted(arrays)}; expected an array named 'x' (and optionally 'y', "
                           "'x_test', 'y_test')")
    x = _as_uint8_images(arrays["x"], f"{path}['x']")
    y = _labels(arrays.get("y"), len(x), f"{path}['y']")
    if "x_test" in arrays:
        x_te = _as_uint8_images(arrays["x_test"], f"{path}['x_test']")
        if x_te.shape[1:] != x.shape[1:]:
            raise PrepareError(f"{path}: x_test images are {x_te.shape[1:]}, x images {x.shape[1:]}")
        splits = {"train": (x, y), "test": (x_te, _labels(arrays.get("y_test"), len(x_te), f"{path}['y_test']"))}
    else:
        splits = dict(zip(("train", "test"), _holdout(x, y, f"{path}['x']", " or an 'x_test' array"), strict=True))
    num_classes = int(max(int(s[1].max()) for s in splits.values()) + 1)
    return splits, [str(i) for i in range(num_classes)]


def from_folder(path: Path):
    """Images in ``path/<class>/`` (PIL), one class per sub-folder, sorted by name."""
    from PIL import Image

    classes = sorted(p.name for p in path.iterdir() if p.is_dir())
    if not classes:
        raise PrepareError(f"{path}: no class sub-folders (expected {path}/<class name>/<image files>)")
    images, labels = [], []
    for k, name in enumerate(classes):
        for file in sorted((path / name).iterdir()):
            if file.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                with Image.open(file) as im:
                    images.append(np.asarray(im.convert("L" if im.mode in ("1", "L", "P", "I;16") else "RGB")))
            except OSError as err:
                raise PrepareError(f"{file}: cannot read it as an image ({err})") from None
            labels.append(k)
    if not images:
        raise PrepareError(f"{path}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in its class folders")
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise PrepareError(f"{path}: images of several sizes {sorted(shapes)[:3]}; resize them to one size first")
    x = _as_uint8_images(np.stack(images), str(path))
    return dict(zip(("train", "test"), _holdout(x, np.asarray(labels), str(path)), strict=True)), classes


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """The ``uint8`` array of one IDX file (gzip or not) with ``ndim`` axes, read by ``idx2numpy``.

    The header is checked first: the magic number (``uint8``, ``ndim`` axes), then that the axis sizes
    account for exactly the bytes that follow, so a wrong or truncated file is refused before any array is
    allocated.

    Raises
    ------
    PrepareError
        If the file is not IDX (magic number), not ``uint8`` with ``ndim`` axes, truncated or too long, or
        not readable (a broken gzip stream included).
    """
    import gzip
    import zlib

    import idx2numpy
    from idx2numpy import FormatError

    what = "images" if ndim == 3 else "labels"
    try:
        with (gzip.open if path.suffix.lower() == ".gz" else open)(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as err:
        raise PrepareError(f"{path}: cannot read it ({' '.join(str(err).split())[:100]})") from None
    expected = bytes([0, 0, 0x08, ndim])
    if raw[:4] != expected:
        found = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else repr(raw[:4])
        raise PrepareError(f"{path}: magic number {found} is not {int.from_bytes(expected, 'big')} (IDX, uint8, "
                           f"{ndim} axes, as MNIST's {what} files)")
    header = 4 + 4 * ndim
    sizes = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    if len(raw) < header or len(raw) - header != math.prod(sizes):
        raise PrepareError(f"{path}: truncated or malformed IDX file (its header announces {' x '.join(map(str, sizes))}"
                           f" = {math.prod(sizes)} bytes, {max(0, len(raw) - header)} follow)")
    try:
        return idx2numpy.convert_from_string(raw)
    except FormatError as err:  # the checks above leave nothing for it; kept as the library's own word
        raise PrepareError(f"{path}: malformed IDX file ({' '.join(str(err).split())[:100]})") from None


def idx_files(paths: list[Path]) -> dict[str, dict[str, Path]]:
    """Group MNIST-style IDX files by prefix: ``{prefix: {"images": path, "labels": path}}``.

    ``paths`` are files, or one folder whose IDX files (:data:`IDX_NAME`) are taken. Returns ``{}`` if a
    single folder holds no IDX file (it is then read as a folder of class sub-folders).

    Raises
    ------
    PrepareError
        If a file is not named as an IDX file, or an images file lacks its labels file or the reverse.
    """
    if len(paths) == 1 and paths[0].is_dir():
        files = sorted(p for p in paths[0].iterdir() if p.is_file() and IDX_NAME.fullmatch(p.name))
        if not files:
            return {}
    else:
        files = paths
    groups: dict[str, dict[str, Path]] = {}
    for f in files:
        m = IDX_NAME.fullmatch(f.name)
        if m is None or not f.is_file():
            why = "not a file" if f.is_dir() else "no such file" if not f.exists() else "not an IDX file name"
            raise PrepareError(f"{f}: {why}; expected PREFIX-images-idx3-ubyte[.gz] and PREFIX-labels-idx1-ubyte[.gz] "
                               "(as on the MNIST site)")
        kind, prefix = m["kind"].lower(), m["prefix"]
        if m["ndim"] != ("3" if kind == "images" else "1"):
            raise PrepareError(f"{f}: {kind} files are idx{'3' if kind == 'images' else '1'}-ubyte")
        if kind in groups.setdefault(prefix, {}):
            raise PrepareError(f"{f}: a second {kind} file for {prefix!r} (also {groups[prefix][kind]}), e.g. "
                               "the same file gzipped and not; give the files one by one, or move one away")
        groups[prefix][kind] = f
    for prefix, pair in groups.items():
        if len(pair) < 2:
            (kind, have), = pair.items()
            other = "labels-idx1" if kind == "images" else "images-idx3"
            raise PrepareError(f"{have}: its {prefix}-{other}-ubyte[.gz] file is missing; give both files of a split")
    return groups


def from_idx(groups: dict[str, dict[str, Path]]):
    """MNIST-style IDX files (:func:`idx_files`) as splits: the prefix ``train`` is the train split and
    ``t10k`` (or ``test``) the test split; a single prefix (e.g. only MNIST's 10,000 ``t10k`` images) is
    split by :func:`_holdout` (20 % stratified test, seed 0: 8,000 / 2,000 for ``t10k``).

    Raises
    ------
    PrepareError
        On a malformed file (:func:`_read_idx`), a label count unequal to the image count, prefixes that are
        not one split or a train and a test split, or train and test images of different sizes.
    """
    arrays = {}
    for prefix, pair in sorted(groups.items()):
        x, y = _read_idx(pair["images"], 3), _read_idx(pair["labels"], 1)
        if len(x) != len(y):
            raise PrepareError(f"{pair['labels']}: {len(y)} labels for the {len(x)} images of {pair['images']}")
        arrays[prefix] = (_as_uint8_images(x, str(pair["images"])), y.astype(np.int64))
    if len(arrays) == 1:
        (prefix, (x, y)), = arrays.items()
        splits = dict(zip(("train", "test"), _holdout(x, y, str(groups[prefix]["images"])), strict=True))
    else:
        names = {IDX_SPLITS.get(prefix.lower()) for prefix in arrays}
        if len(arrays) != 2 or names != {"train", "test"}:
            raise PrepareError(f"IDX files of {sorted(arrays)}: give one split, or a train and a test split "
                               "(prefixes train and t10k)")
        splits = {IDX_SPLITS[prefix.lower()]: xy for prefix, xy in arrays.items()}
        if splits["train"][0].shape[1:] != splits["test"][0].shape[1:]:
            raise PrepareError(f"train images are {splits['train'][0].shape[1:3]}, test images "
                               f"{splits['test'][0].shape[1:3]}")
        splits = {"train": splits["train"], "test": splits["test"]}
    num_classes = int(max(int(s[1].max()) for s in splits.values()) + 1)
    return splits, [str(i) for i in range(num_classes)]


def _swap(new: Path, old: Path) -> bool:
    """Exchange the directories ``new`` and ``old`` atomically (Linux ``renameat2(RENAME_EXCHANGE)``).
    Returns False where that is not available (another system, an old kernel or C library, a file
    system without it)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    at_fdcwd, rename_exchange = -100, 2
    return renameat2 is not None and renameat2(at_fdcwd, os.fsencode(new), at_fdcwd, os.fsencode(old),
                                               rename_exchange) == 0


def _replace_dir(new: Path, target: Path) -> None:
    """Put the directory ``new`` at ``target``; an earlier ``target`` ends up beside ``new`` (in the staging
    directory, to be deleted).

    A missing ``target`` appears with one atomic rename; an existing one is swapped atomically where
    :func:`_swap` can, else renamed aside first (and put back if the second rename fails).
    """
    if not target.exists():
        os.rename(new, target)
    elif not _swap(new, target):
        aside = new.with_name(new.name + ".old")
        os.rename(target, aside)
        try:
            os.rename(new, target)
        except OSError:
            os.rename(aside, target)
            raise


def write(name: str, splits: dict, class_names: list[str], data_dir: Path) -> Path:
    """Write ``splits`` (``{split: (uint8 (N, H, W, C), int labels (N,))}``) as the ArrayRecord tfds dataset
    ``name`` under ``data_dir``, replacing an earlier one of that name. Returns its version directory.

    The dataset is built in a temporary directory ``data_dir/.NAME.*.partial`` and moved to ``data_dir/NAME``
    only once complete (:func:`_replace_dir`), so a failure leaves an earlier dataset as it was, and a
    ``data_dir`` this call created is removed again.

    Raises
    ------
    PrepareError
        If the dataset cannot be written (``OSError``: no space, no permission, ...).
    """
    import tensorflow_datasets as tfds

    from experiments.tfds_builder import ImageArrays

    tfds.disable_progress_bar()
    shape = next(iter(splits.values()))[0].shape[1:]
    target = data_dir / name
    created, staging, done = not data_dir.exists(), None, False
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=data_dir))
        builder = ImageArrays.named(name)(splits=splits, image_shape=shape, class_names=class_names,
                                          data_dir=str(staging), file_format="array_record")
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(verify_ssl=False))
        version = Path(builder.data_dir).relative_to(staging / name)
        _replace_dir(staging / name, target)
        done = True
    except OSError as err:
        raise PrepareError(f"--data-dir={str(data_dir)!r}: cannot write dataset {name!r} there "
                           f"({' '.join(str(err).split())[:160]}); "
                           + (f"the earlier {target} is unchanged" if target.exists() else "nothing written")) from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if created and not done:
            with contextlib.suppress(OSError):
                data_dir.rmdir()
    return target / version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bgan-prepare", description=plain(__doc__.split("\n\n")[0]))
    parser.add_argument("source", nargs="+", help="'digits', an .npz file, a folder of class sub-folders of images, "
                        "or MNIST-style IDX files (or their folder)")
    parser.add_argument("--name", help="dataset name (lowercase letters, digits, _); default bgan_digits for digits")
    parser.add_argument("--data-dir", type=Path, default=None, help="tfds data directory (default: tfds's)")
    args = parser.parse_args(argv)
    data_dir = (args.data_dir or default_data_dir()).expanduser()
    try:
        name = args.name or ("bgan_digits" if args.source == ["digits"] else None)
        if not name or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise PrepareError(f"--name={name!r} is invalid: give a name of lowercase letters, digits and _ "
                               "starting with a letter (e.g. --name my_faces)")
        sources = [Path(p).expanduser() for p in args.source]
        source = sources[0]
        idx = idx_files(sources) if len(sources) > 1 or IDX_NAME.fullmatch(source.name) or source.is_dir() else {}
        if idx:
            splits, classes = from_idx(idx)
        elif len(sources) > 1:
            raise PrepareError(f"several sources given ({' '.join(args.source)}): only IDX files come in several")
        elif args.source == ["digits"]:
            splits, classes = from_digits()
        elif source.is_file() and source.suffix == ".npz":
            splits, classes = from_npz(source)
        elif source.is_dir():
            splits, classes = from_folder(source)
        else:
            raise PrepareError(f"{args.source[0]!r} is neither 'digits', an existing .npz file, IDX files nor a folder")
        if data_dir.exists() and not data_dir.is_dir():
            raise PrepareError(f"--data-dir={str(data_dir)!r} is a file")
        out = write(name, splits, classes, data_dir)
    except PrepareError as err:
        print(f"bgan-prepare: error: {err}", file=sys.stderr)
        return 2
    sizes = ", ".join(f"{k}: {len(v[0])}" for k, v in splits.items())
    shape = next(iter(splits.values()))[0].shape[1:]
    print(f"bgan-prepare: wrote {out} ({sizes}; images {shape}, {len(classes)} classes)")
    if name == "mnist" and tuple(shape) in ((28, 28), (28, 28, 1)) and len(classes) == 10 and "test" in splits:
        # the set Stacked MNIST reads: its channel classifier, trained once here (the folder is new: write()
        # replaced the dataset's whole directory)
        try:
            classifier = channel_classifier(data_dir, name)
        except (ValueError, OSError) as err:  # the dataset itself is written: say so in one line, keep it
            print(f"bgan-prepare: warning: Stacked MNIST's channel classifier was not built ({err}); it is built "
                  "when first needed", file=sys.stderr)
            return 0
        print(f"bgan-prepare: wrote {data_dir / name / CLASSIFIER_FOLDER} (Stacked MNIST's channel classifier: "
              f"{100 * classifier.meta['test_accuracy']:.1f} % on {classifier.meta['num_test']} test images)")
    return 0


def console_main() -> None:
    """``bgan-prepare`` console script."""
    sys.exit(main())


if __name__ == "__main__":
    console_main()
