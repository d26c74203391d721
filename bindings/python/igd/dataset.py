"""Data sets: MVTec AD folders, image folders, IDX files (MNIST layout) and numpy arrays."""

from __future__ import annotations

import ctypes
import os
from typing import Any, Iterator, List, Optional, Sequence, Union

import numpy as np

from . import _arrays, _lib
from ._handle import Owned
from .errors import InvalidArgumentError
from .image import Image, Limits, PathLike
from .options import Options

__all__ = ["Dataset", "SPLIT_TRAIN", "SPLIT_TEST"]

SPLIT_TRAIN = 1
SPLIT_TEST = 2
_SPLITS = {"train": SPLIT_TRAIN, "test": SPLIT_TEST}


def _opt_path(path: Optional[PathLike]) -> Optional[bytes]:
    return None if path is None else os.fsencode(path)


class Dataset(Owned):
    """An igd_dataset: a list of samples, each with a label (0 normal, 1 anomalous), a class,
    maybe a file path, and pixels loaded on demand.

    ``len(ds)``, ``ds[i]`` (the pixels, like ``load(i)``) and iteration over pixels work as for
    a sequence. The editing methods (``set_normal_class``, ``keep_label``, ``shuffle``,
    ``subsample``, ``contaminate``) change the data set in place and return it.
    """

    _kind = "data set"

    def __init__(self, handle: int) -> None:
        """Takes ownership of an igd_dataset pointer."""
        self._own(handle, _lib.lib.igd_dataset_free)

    @staticmethod
    def _out(call: Any, *args: Any) -> "Dataset":
        out = ctypes.c_void_p()
        call(*args, ctypes.byref(out))
        return Dataset(out.value)

    @classmethod
    def open_mvtec(cls, root: PathLike, split: Union[str, int] = "train") -> "Dataset":
        """An MVTec AD category folder's "train" or "test" split."""
        s = _SPLITS.get(split, split) if isinstance(split, str) else split
        if s not in (SPLIT_TRAIN, SPLIT_TEST):
            raise InvalidArgumentError(f"split must be 'train' or 'test', not {split!r}")
        return cls._out(_lib.lib.igd_dataset_open_mvtec, os.fsencode(root), s)

    @classmethod
    def open_folder(cls, path: PathLike, label: int = 0) -> "Dataset":
        """Every PNG or JPEG file of a folder, sorted by name, all labelled `label`."""
        return cls._out(_lib.lib.igd_dataset_open_folder, os.fsencode(path), label)

    @classmethod
    def open_idx(cls, images: PathLike, labels: Optional[PathLike] = None,
                 limits: Limits = None) -> "Dataset":
        """An IDX image file (gzip or not) and optionally its label file; the label file's
        values become the samples' classes, and every sample is normal until
        :meth:`set_normal_class`."""
        with Options.temporary(limits) as opts:
            return cls._out(_lib.lib.igd_dataset_open_idx, os.fsencode(images),
                            _opt_path(labels), opts.handle if opts else None)

    @classmethod
    def from_array(cls, images: Any, labels: Optional[Sequence[int]] = None,
                   classes: Optional[Sequence[int]] = None) -> "Dataset":
        """A data set of copies of a batch of images (N, H, W[, C]); labels (0/1) and classes
        are optional, one per image."""
        b = _arrays.batch(images)
        lab = cls._ints(labels, b.count, "labels")
        cla = cls._ints(classes, b.count, "classes")
        return cls._out(_lib.lib.igd_dataset_from_pixels, *b.args(), _arrays.address(lab),
                        _arrays.address(cla))

    @staticmethod
    def _ints(values: Optional[Sequence[int]], count: int, name: str) -> Optional[np.ndarray]:
        if values is None:
            return None
        arr = _arrays.contiguous(values, np.intc, name, ndim=1)
        if arr.shape[0] != count:
            raise InvalidArgumentError(f"{name} has {arr.shape[0]} values for {count} images")
        return arr

    def copy(self) -> "Dataset":
        """An independent copy (it shares the files or pixels, not the list)."""
        return self._out(_lib.lib.igd_dataset_copy, self.handle)

    def __len__(self) -> int:
        return int(_lib.lib.igd_dataset_count(self.handle))

    def _index(self, index: int) -> int:
        n = len(self)
        i = index + n if index < 0 else index
        if not 0 <= i < n:
            raise IndexError(f"sample {index} of a data set of {n}")
        return i

    def label(self, index: int) -> int:
        """0 (normal) or 1 (anomalous)."""
        v = ctypes.c_int()
        _lib.lib.igd_dataset_label(self.handle, self._index(index), ctypes.byref(v))
        return v.value

    def class_id(self, index: int) -> int:
        """The sample's class: its IDX label, or the index of its MVTec kind."""
        v = ctypes.c_int()
        _lib.lib.igd_dataset_class(self.handle, self._index(index), ctypes.byref(v))
        return v.value

    def class_name(self, class_id: int) -> Optional[str]:
        """The name of a class ("good", "crack"; for IDX the number), None if unknown."""
        name = _lib.lib.igd_dataset_class_name(self.handle, class_id)
        return None if name is None else os.fsdecode(name)

    def path(self, index: int) -> Optional[str]:
        """The sample's file, or None (IDX and array samples)."""
        p = _lib.lib.igd_dataset_path(self.handle, self._index(index))
        return None if p is None else os.fsdecode(p)

    @property
    def labels(self) -> np.ndarray:
        """Every sample's label, as an int array."""
        return np.array([self.label(i) for i in range(len(self))], dtype=np.intc)

    @property
    def classes(self) -> np.ndarray:
        """Every sample's class, as an int array."""
        return np.array([self.class_id(i) for i in range(len(self))], dtype=np.intc)

    def load_image(self, index: int) -> Image:
        """The sample's pixels as an Image."""
        out = ctypes.c_void_p()
        _lib.lib.igd_dataset_load(self.handle, self._index(index), ctypes.byref(out))
        return Image(out.value)

    def load(self, index: int) -> np.ndarray:
        """The sample's pixels: (H, W) grey or (H, W, 3) RGB, uint8 (or uint16)."""
        with self.load_image(index) as img:
            return img.to_array()

    def load_mask(self, index: int) -> np.ndarray:
        """The sample's ground-truth mask, (H, W) uint8 of 0 and 255 (all zero for a normal
        sample; NotFoundError for an anomalous one without a mask)."""
        out = ctypes.c_void_p()
        _lib.lib.igd_dataset_load_mask(self.handle, self._index(index), ctypes.byref(out))
        with Image(out.value) as img:
            return img.to_array()

    def load_all(self, indices: Optional[Sequence[int]] = None) -> np.ndarray:
        """Pixels of several samples (all by default) stacked into one (N, H, W[, C]) array;
        they must share one size."""
        idx = range(len(self)) if indices is None else indices
        arrays: List[np.ndarray] = [self.load(i) for i in idx]
        if not arrays:
            raise InvalidArgumentError("no samples to load")
        return np.stack(arrays)

    def __getitem__(self, index: int) -> np.ndarray:
        return self.load(index)

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self.load(i)

    def set_normal_class(self, class_id: int) -> "Dataset":
        """One-class protocol: samples of class_id become normal, all others anomalous."""
        _lib.lib.igd_dataset_set_normal_class(self.handle, class_id)
        return self

    def keep_label(self, label: int) -> "Dataset":
        """Keeps only the samples with this label."""
        _lib.lib.igd_dataset_keep_label(self.handle, label)
        return self

    def shuffle(self, seed: int = 1) -> "Dataset":
        """Reorders the samples by a permutation drawn from seed."""
        _lib.lib.igd_dataset_shuffle(self.handle, seed)
        return self

    def subsample(self, share: float, seed: int = 1) -> "Dataset":
        """Keeps a random share (0 < share <= 1) of the samples, in their order."""
        _lib.lib.igd_dataset_subsample(self.handle, share, seed)
        return self

    def contaminate(self, source: "Dataset", rate: float, seed: int = 1) -> "Dataset":
        """Moves random anomalous samples of `source` into this data set until they are `rate`
        of it (both must come from the same files or pixels)."""
        _lib.lib.igd_dataset_contaminate(self.handle, source.handle, rate, seed)
        return self

    def __repr__(self) -> str:
        if self.closed:
            return "Dataset(<closed>)"
        return f"Dataset({len(self)} samples)"
