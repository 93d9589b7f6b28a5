"""A tensorflow-datasets builder for in-memory image arrays (what ``bgan-prepare`` writes).

A regular ``tfds.core.GeneratorBasedBuilder``; images are a ``uint8`` ``Tensor`` feature rather than an
``Image`` feature because PNG encoding needs TensorFlow, which this project does not install. Datasets
written with it are read back like any tfds dataset, by name and ``data_dir``
(``tfds.data_source(name, data_dir=...)``), without this module.
"""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds


class ImageArrays(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Builder of ``{"image": uint8 (H, W, C), "label": ClassLabel}`` examples from arrays.

    Parameters
    ----------
    splits : dict of str to (numpy.ndarray, numpy.ndarray)
        ``{split: (images (N, H, W, C) uint8, labels (N,) int)}``.
    image_shape : (int, int, int)
    class_names : list of str
    **kwargs
        Passed to ``tfds.core.GeneratorBasedBuilder`` (``data_dir``, ``file_format``).
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Written by bgan-prepare."}

    def __init__(self, *, splits: dict, image_shape: tuple[int, ...], class_names: list[str], **kwargs):
        self._splits, self._image_shape, self._class_names = splits, tuple(image_shape), list(class_names)
        super().__init__(**kwargs)

    @classmethod
    def named(cls, name: str) -> type[ImageArrays]:
        """A subclass whose dataset name is ``name`` (not added to tfds's registry of builders)."""
        with tfds.core.registered.skip_registration():
            return type(f"ImageArrays_{name}", (cls,), {"name": name, "__module__": __name__})

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            description="Images written by bgan-prepare (Bayesian GAN model zoo).",
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Tensor(shape=self._image_shape, dtype=np.uint8),
                "label": tfds.features.ClassLabel(names=self._class_names),
            }),
            supervised_keys=("image", "label"),
        )

    # tfds prints "Downloading and preparing dataset ... to DIR" and "... prepared to DIR" on stdout; bgan-prepare
    # builds in a staging directory and prints its own line once the dataset is in place, so these stay quiet
    def _log_download_bytes(self) -> None:
        pass

    def _log_download_done(self) -> None:
        pass

    def _split_generators(self, dl_manager):
        del dl_manager
        return {split: self._generate_examples(x, y) for split, (x, y) in self._splits.items()}

    def _generate_examples(self, images, labels):
        for i, (image, label) in enumerate(zip(images, labels, strict=True)):
            yield i, {"image": image, "label": int(label)}
