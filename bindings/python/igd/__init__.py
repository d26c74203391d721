"""Python bindings of libigd, the Interpolated Gaussian Descriptor one-class image anomaly
detector.

Quick start::

    import igd
    model = igd.Model(global_size=32, epochs=5)
    model.fit(train_images)              # (N, H, W) uint8 array, or an igd.Dataset
    scores = model.detect(test_images)   # float64, one per image
    maps = model.heatmap(test_images)    # (N, H, W) float32
    model.save("model.igd")

The library is found through the IGD_LIBRARY environment variable, then a copy beside this
package, then ``ctypes.util.find_library("igd")``, then the soname ``libigd.so.1``; its ABI is
checked at import. Every failing call raises a subclass of :class:`igd.Error`.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from . import _lib
from ._lib import ABI_VERSION
from .dataset import SPLIT_TEST, SPLIT_TRAIN, Dataset
from .errors import (
    AbortedError,
    BackendError,
    CorruptError,
    Error,
    InputOutputError,
    InternalError,
    NumericError,
    InvalidArgumentError,
    LimitError,
    NotFoundError,
    OutOfMemoryError,
    StateError,
    UnsupportedError,
    VersionError,
    error_for_status,
)
from .image import (
    Image,
    colorize,
    convert,
    crop_center,
    decode_image,
    encode_png,
    load_image,
    resize,
    save_png,
)
from .metrics import PixelMetrics, accuracy, auroc, f1_max, quantile, roc
from .model import (
    BnMode,
    Classifier,
    ConvAlgorithm,
    Detection,
    Loss,
    LogLevel,
    Model,
    Net,
    Part,
    Partner,
    Session,
    Stage,
)
from .options import (
    OptionInfo,
    Options,
    OptionType,
    option_info,
    option_key,
    option_names,
    options_table,
    presets,
)

#: Version of these bindings.
__version__ = "0.6.0"

#: Path or name of the loaded library.
library_path: str = _lib.path


def version() -> str:
    """The library's version, "major.minor.patch" (igd_version_string)."""
    return _lib.lib.igd_version_string().decode()


def version_number() -> int:
    """The library's version as major * 10000 + minor * 100 + patch."""
    return int(_lib.lib.igd_version_number())


def abi_version() -> int:
    """The ABI (soname number) the loaded library implements."""
    return int(_lib.lib.igd_abi_version())


def check_version(abi: int = ABI_VERSION) -> None:
    """Raises VersionError unless the library implements ABI `abi`."""
    _lib.lib.igd_check_version(abi)


def status_string(status: int) -> str:
    """The English description of a status code."""
    return _lib.lib.igd_status_string(status).decode()


def last_error() -> str:
    """The message of the calling thread's most recent failed libigd call ("" if none)."""
    return (_lib.lib.igd_last_error() or b"").decode("utf-8", "replace")


_allocator: Optional[tuple] = None


def set_allocator(malloc: Optional[Callable[[int], Any]] = None,
                  realloc: Optional[Callable[[Optional[int], int], Any]] = None,
                  free: Optional[Callable[[Optional[int]], Any]] = None) -> None:
    """Routes the library's allocations through Python callables (all three, or none to
    restore the C library's): malloc(size) -> address or None, realloc(address, size) ->
    address or None, free(address). Only while no library object exists. Returning None (or
    raising) makes the library call fail with OutOfMemoryError. Mostly for tests: every
    allocation then takes the GIL."""
    global _allocator
    if malloc is None and realloc is None and free is None:
        _lib.lib.igd_set_allocator(_lib.MALLOC_FN(), _lib.REALLOC_FN(), _lib.FREE_FN(), None)
        _allocator = None
        return
    if malloc is None or realloc is None or free is None:
        raise InvalidArgumentError("give all three allocator functions, or none")

    def c_malloc(user: Any, size: int) -> Optional[int]:
        try:
            return malloc(size) or None
        except BaseException:  # noqa: B036 - a failed allocation, reported by the library
            return None

    def c_realloc(user: Any, ptr: Optional[int], size: int) -> Optional[int]:
        try:
            return realloc(ptr, size) or None
        except BaseException:  # noqa: B036
            return None

    def c_free(user: Any, ptr: Optional[int]) -> None:
        try:
            free(ptr)
        except BaseException:  # noqa: B036
            pass

    fns = (_lib.MALLOC_FN(c_malloc), _lib.REALLOC_FN(c_realloc), _lib.FREE_FN(c_free))
    _lib.lib.igd_set_allocator(*fns, None)
    _allocator = fns  # the library calls these until they are replaced


__all__ = [
    "ABI_VERSION",
    "AbortedError",
    "BackendError",
    "BnMode",
    "Classifier",
    "ConvAlgorithm",
    "CorruptError",
    "Dataset",
    "Detection",
    "Error",
    "Image",
    "InputOutputError",
    "InternalError",
    "NumericError",
    "InvalidArgumentError",
    "LimitError",
    "LogLevel",
    "Loss",
    "Model",
    "Net",
    "NotFoundError",
    "OptionInfo",
    "OptionType",
    "Options",
    "OutOfMemoryError",
    "Part",
    "Partner",
    "PixelMetrics",
    "SPLIT_TEST",
    "SPLIT_TRAIN",
    "Session",
    "Stage",
    "StateError",
    "UnsupportedError",
    "VersionError",
    "abi_version",
    "accuracy",
    "auroc",
    "check_version",
    "colorize",
    "convert",
    "crop_center",
    "decode_image",
    "encode_png",
    "error_for_status",
    "f1_max",
    "last_error",
    "library_path",
    "load_image",
    "option_info",
    "option_key",
    "option_names",
    "presets",
    "options_table",
    "quantile",
    "resize",
    "roc",
    "save_png",
    "set_allocator",
    "status_string",
    "version",
    "version_number",
]
