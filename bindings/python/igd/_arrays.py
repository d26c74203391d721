"""numpy arrays to and from libigd's pixel batches, without copies where the layout allows."""

from __future__ import annotations

import ctypes
from typing import Any, NamedTuple, Optional

import numpy as np

from . import _lib
from .errors import InvalidArgumentError

PIXEL_U8 = 1
PIXEL_U16 = 2
PIXEL_F32 = 3

_TYPE_OF_DTYPE = {
    np.dtype(np.uint8): PIXEL_U8,
    np.dtype(np.uint16): PIXEL_U16,
    np.dtype(np.float32): PIXEL_F32,
}
_DTYPE_OF_TYPE = {v: k for k, v in _TYPE_OF_DTYPE.items()}


def pixel_type(dtype: Any) -> int:
    """The igd_pixel_type of a numpy dtype (uint8, uint16 or float32)."""
    dt = np.dtype(dtype)
    if dt not in _TYPE_OF_DTYPE:
        raise TypeError(f"pixels must be uint8, uint16 or float32, not {dt}")
    return _TYPE_OF_DTYPE[dt]


def dtype_of(ptype: int) -> np.dtype:
    """The numpy dtype of an igd_pixel_type."""
    return _DTYPE_OF_TYPE[ptype]


class Batch(NamedTuple):
    """A batch of images as libigd's batch arguments. `array` is the (N, H, W, C) array whose
    memory `pointer` addresses; keep it referenced while C reads it."""

    array: np.ndarray
    pointer: int
    type: int
    count: int
    height: int
    width: int
    channels: int
    row_stride: int
    image_stride: int
    single: bool

    def args(self) -> tuple:
        """pixels, type, count, height, width, channels, row_stride, image_stride."""
        return (
            self.pointer,
            self.type,
            self.count,
            self.height,
            self.width,
            self.channels,
            self.row_stride,
            self.image_stride,
        )


def _as_pixels(images: Any) -> np.ndarray:
    arr = images if isinstance(images, np.ndarray) else np.asarray(images)
    if arr.dtype in _TYPE_OF_DTYPE:
        return arr
    if arr.dtype.kind == "f":
        # Floats of other widths become float32 (0..1); this copies.
        return arr.astype(np.float32)
    raise TypeError(
        f"images must be uint8 (0..255), uint16 (0..65535) or float32 (0..1), not {arr.dtype}"
    )


def as_4d(images: Any) -> "tuple[np.ndarray, bool]":
    """A (N, H, W, C) view of images, and whether they were one image. Shapes: (N, H, W) and
    (N, H, W, C) are batches; (H, W) is one grey image; a 3-D array whose last axis is 1 or 3
    long is one image (H, W, C), any other 3-D array a grey batch (N, H, W)."""
    arr = _as_pixels(images)
    if arr.ndim == 2:
        return arr[np.newaxis, :, :, np.newaxis], True
    if arr.ndim == 3:
        if arr.shape[2] in (1, 3):
            return arr[np.newaxis], True
        if arr.shape[2] in (2, 4):
            raise InvalidArgumentError(
                f"a 3-D array shaped {arr.shape} is ambiguous: images have 1 or 3 channels (drop "
                "the alpha channel), and a batch of grey images of width 2 or 4 must be shaped "
                "(N, H, W, 1)")
        return arr[:, :, :, np.newaxis], False
    if arr.ndim == 4:
        return arr, False
    raise InvalidArgumentError(
        f"images must be shaped (N, H, W), (N, H, W, C), (H, W) or (H, W, C), not {arr.shape}"
    )


def _describe(arr: np.ndarray) -> Optional["tuple[int, int]"]:
    """(row_stride, image_stride) in bytes when libigd can read the (N, H, W, C) array in place:
    pixels and their channels packed, rows and images at non-negative strides that do not
    overlap. None when a copy is needed."""
    n, h, w, c = arr.shape
    s_n, s_h, s_w, s_c = arr.strides
    item = arr.itemsize
    if not arr.flags.aligned:
        return None
    if c > 1 and s_c != item:
        return None
    if w > 1 and s_w != c * item:
        return None
    row = w * c * item
    if h == 1:
        row_stride = row
    elif s_h >= row:
        row_stride = s_h
    else:
        return None
    span = (h - 1) * row_stride + row
    if n == 1:
        image_stride = 0
    elif s_n >= span:
        image_stride = s_n
    else:
        return None
    return row_stride, image_stride


def batch(images: Any, *, copy_ok: bool = True) -> Batch:
    """Describes images (see :func:`as_4d`) as a libigd batch, copying only when the layout
    cannot be described with row and image strides."""
    arr, single = as_4d(images)
    n, h, w, c = arr.shape
    strides = _describe(arr) if arr.size else None
    if strides is None:
        if not copy_ok:
            raise InvalidArgumentError("the array's layout needs a copy")
        arr = np.ascontiguousarray(arr)
        strides = (0, 0) if arr.size == 0 else _describe(arr)
        assert strides is not None
    return Batch(
        array=arr,
        pointer=arr.ctypes.data,
        type=pixel_type(arr.dtype),
        count=n,
        height=h,
        width=w,
        channels=c,
        row_stride=strides[0],
        image_stride=strides[1],
        single=single,
    )


def contiguous(values: Any, dtype: Any, name: str = "values",
               ndim: Optional[int] = None) -> np.ndarray:
    """values as a C-contiguous array of dtype (copied only if needed)."""
    arr = np.ascontiguousarray(values, dtype=dtype)
    if ndim is not None and arr.ndim != ndim:
        raise InvalidArgumentError(f"{name} must have {ndim} dimension(s), not shape {arr.shape}")
    return arr


def address(arr: Optional[np.ndarray]) -> Optional[int]:
    """The address of an array's first element (None for None)."""
    return None if arr is None else arr.ctypes.data


def image_to_array(handle: int, *, copy: bool = True, keep: Any = None) -> np.ndarray:
    """The pixels of an igd_image as a (H, W) or (H, W, C) array: a copy, or (copy=False) a view
    of the image's memory that keeps `keep` (the owner of the handle) alive."""
    lib = _lib.lib
    width = lib.igd_image_width(handle)
    height = lib.igd_image_height(handle)
    channels = lib.igd_image_channels(handle)
    stride = lib.igd_image_stride(handle)
    dt = dtype_of(lib.igd_image_type(handle))
    data = lib.igd_image_data(handle)
    nbytes = stride * height
    raw = (ctypes.c_ubyte * nbytes).from_address(data)
    if keep is not None:
        # Stored in the ctypes array, which the numpy view keeps as its base.
        raw._igd_owner = keep  # type: ignore[attr-defined]
    flat = np.frombuffer(raw, dtype=dt)  # rows are packed: nbytes is a multiple of the pixel
    view = np.lib.stride_tricks.as_strided(
        flat,
        shape=(height, width, channels),
        strides=(stride, channels * dt.itemsize, dt.itemsize),
        writeable=not copy,
    )
    if channels == 1:
        view = view[:, :, 0]
    return np.array(view, copy=True) if copy else view
