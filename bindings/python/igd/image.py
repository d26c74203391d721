"""Images: the igd_image object, and helpers that take and return numpy arrays.

Arrays of one image are shaped (H, W) for grey and (H, W, 3) for RGB, of dtype uint8 (0..255),
uint16 (0..65535) or float32 (0..1).
"""

from __future__ import annotations

import ctypes
import os
from typing import Any, Mapping, Optional, Union

import numpy as np

from . import _arrays, _lib
from ._handle import Owned
from .errors import InvalidArgumentError
from .options import Options

__all__ = [
    "Image",
    "load_image",
    "decode_image",
    "save_png",
    "encode_png",
    "resize",
    "convert",
    "crop_center",
    "colorize",
]

PathLike = Union[str, "os.PathLike[str]"]
Limits = Union[Options, Mapping[str, Any], None]


def _path(path: PathLike) -> bytes:
    return os.fsencode(path)


def _one_image(array: Any) -> _arrays.Batch:
    b = _arrays.batch(array)
    if b.count != 1:
        raise InvalidArgumentError(f"expected one image, not a batch of {b.count}")
    return b


class Image(Owned):
    """An igd_image: pixels owned by the library. Make one with :meth:`load`, :meth:`decode`,
    :meth:`create` or :meth:`from_array`; read it with :meth:`to_array` (a copy) or
    :meth:`view` (no copy, valid while the Image lives)."""

    _kind = "image"

    def __init__(self, handle: int) -> None:
        """Takes ownership of an igd_image pointer."""
        self._own(handle, _lib.lib.igd_image_free)

    @staticmethod
    def _out(call: Any, *args: Any) -> "Image":
        out = ctypes.c_void_p()
        call(*args, ctypes.byref(out))
        return Image(out.value)

    @classmethod
    def load(cls, path: PathLike, limits: Limits = None) -> "Image":
        """Decodes a PNG or JPEG file (limits: options max_image_pixels, max_image_side)."""
        with Options.temporary(limits) as opts:
            return cls._out(_lib.lib.igd_image_load, _path(path),
                            opts.handle if opts else None)

    @classmethod
    def decode(cls, data: bytes, limits: Limits = None) -> "Image":
        """Decodes a PNG or JPEG held in memory."""
        buf = bytes(data)
        with Options.temporary(limits) as opts:
            return cls._out(_lib.lib.igd_image_decode, buf, len(buf),
                            opts.handle if opts else None)

    @classmethod
    def create(cls, width: int, height: int, channels: int = 1, dtype: Any = np.uint8) -> "Image":
        """A new image with zeroed pixels."""
        return cls._out(_lib.lib.igd_image_create, width, height, channels,
                        _arrays.pixel_type(dtype))

    @classmethod
    def from_array(cls, array: Any) -> "Image":
        """A copy of one image given as an (H, W) or (H, W, C) array (rows may be strided)."""
        b = _one_image(array)
        return cls._out(_lib.lib.igd_image_from_pixels, b.pointer, b.type, b.width, b.height,
                        b.channels, b.row_stride)

    @property
    def width(self) -> int:
        return int(_lib.lib.igd_image_width(self.handle))

    @property
    def height(self) -> int:
        return int(_lib.lib.igd_image_height(self.handle))

    @property
    def channels(self) -> int:
        return int(_lib.lib.igd_image_channels(self.handle))

    @property
    def dtype(self) -> np.dtype:
        """uint8, uint16 or float32."""
        return _arrays.dtype_of(_lib.lib.igd_image_type(self.handle))

    @property
    def stride(self) -> int:
        """Bytes between the starts of two rows."""
        return int(_lib.lib.igd_image_stride(self.handle))

    @property
    def shape(self) -> "tuple[int, ...]":
        """(H, W) or (H, W, C), the shape of to_array()."""
        c = self.channels
        return (self.height, self.width) if c == 1 else (self.height, self.width, c)

    def data_pointer(self, const: bool = False) -> int:
        """The address of the first pixel (igd_image_data, or igd_image_const_data)."""
        fn = _lib.lib.igd_image_const_data if const else _lib.lib.igd_image_data
        return int(fn(self.handle) or 0)

    def to_array(self) -> np.ndarray:
        """A copy of the pixels as a numpy array."""
        return _arrays.image_to_array(self.handle, copy=True)

    def view(self) -> np.ndarray:
        """A writable numpy view of the image's own memory; it keeps the Image alive, and must
        not be used after close()."""
        return _arrays.image_to_array(self.handle, copy=False, keep=self)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = self.to_array()  # always a copy
        return arr if dtype is None else arr.astype(dtype)

    def save_png(self, path: PathLike) -> None:
        """Writes a PNG file (8 or 16 bits), atomically."""
        _lib.lib.igd_image_save_png(self.handle, _path(path))

    def encode_png(self) -> bytes:
        """The image as PNG bytes."""
        size = ctypes.c_size_t()
        _lib.lib.igd_image_encode_png(self.handle, None, 0, ctypes.byref(size))
        buf = ctypes.create_string_buffer(size.value)
        _lib.lib.igd_image_encode_png(self.handle, buf, size.value, ctypes.byref(size))
        return buf.raw[: size.value]

    def resize(self, width: int, height: int) -> "Image":
        """A resized copy: area averaging when shrinking, bilinear when enlarging."""
        return self._out(_lib.lib.igd_image_resize, self.handle, width, height)

    def convert(self, channels: Optional[int] = None, dtype: Any = None) -> "Image":
        """A copy with other channels (1 or 3) and/or pixel type (uint8, uint16, float32)."""
        c = self.channels if channels is None else channels
        t = _lib.lib.igd_image_type(self.handle) if dtype is None else _arrays.pixel_type(dtype)
        return self._out(_lib.lib.igd_image_convert, self.handle, c, t)

    def crop_center(self, width: int, height: int) -> "Image":
        """The centred width x height window."""
        return self._out(_lib.lib.igd_image_crop_center, self.handle, width, height)

    @classmethod
    def colorize(cls, heatmap: Any, lo: float = 0.0, hi: float = 1.0, base: Any = None,
                 opacity: float = 0.5) -> "Image":
        """Colours a (H, W) map with a perceptual colour map, values lo..hi to its ends, blended
        over `base` (an Image or array of the same size) when given. 8-bit RGB."""
        m = _arrays.contiguous(heatmap, np.float32, "heatmap", ndim=2)
        base_img = None
        if base is not None:
            base_img = base if isinstance(base, Image) else Image.from_array(base)
        out = ctypes.c_void_p()
        try:
            _lib.lib.igd_heatmap_colorize(m.ctypes.data, m.shape[1], m.shape[0], lo, hi,
                                          base_img.handle if base_img is not None else None,
                                          opacity, ctypes.byref(out))
        finally:
            if base_img is not None and base_img is not base:
                base_img.close()
        return cls(out.value)

    def __repr__(self) -> str:
        if self.closed:
            return "Image(<closed>)"
        return f"Image({self.width}x{self.height}, channels={self.channels}, dtype={self.dtype})"


def _with_image(array: Any, fn: Any) -> np.ndarray:
    with Image.from_array(array) as img, fn(img) as out:
        return out.to_array()


def load_image(path: PathLike, limits: Limits = None) -> np.ndarray:
    """Decodes a PNG or JPEG file into an array."""
    with Image.load(path, limits) as img:
        return img.to_array()


def decode_image(data: bytes, limits: Limits = None) -> np.ndarray:
    """Decodes PNG or JPEG bytes into an array."""
    with Image.decode(data, limits) as img:
        return img.to_array()


def save_png(array: Any, path: PathLike) -> None:
    """Writes an (H, W) or (H, W, 3) uint8/uint16 array as a PNG file."""
    with Image.from_array(array) as img:
        img.save_png(path)


def encode_png(array: Any) -> bytes:
    """An (H, W) or (H, W, 3) uint8/uint16 array as PNG bytes."""
    with Image.from_array(array) as img:
        return img.encode_png()


def resize(array: Any, width: int, height: int) -> np.ndarray:
    """A resized copy of one image."""
    return _with_image(array, lambda img: img.resize(width, height))


def convert(array: Any, channels: Optional[int] = None, dtype: Any = None) -> np.ndarray:
    """One image converted to other channels (1 <-> 3) and/or pixel type."""
    return _with_image(array, lambda img: img.convert(channels, dtype))


def crop_center(array: Any, width: int, height: int) -> np.ndarray:
    """The centred width x height window of one image."""
    return _with_image(array, lambda img: img.crop_center(width, height))


def colorize(heatmap: Any, lo: float = 0.0, hi: float = 1.0, base: Any = None,
             opacity: float = 0.5) -> np.ndarray:
    """A (H, W) heatmap as a (H, W, 3) uint8 colour picture, blended over base if given."""
    with Image.colorize(heatmap, lo, hi, base, opacity) as img:
        return img.to_array()
