"""The thin layer: finding and loading libigd, the ABI check, and one table of every public
function's argument and result types.

Handles (``igd_model *``, ``igd_options *``, ...) are ``c_void_p``; no structure is mirrored.
Buffers are passed as addresses (``c_void_p``); scalar outputs as pointers to ctypes scalars.
Functions that return an ``igd_status`` raise the matching :class:`igd.Error` subclass, with the
library's message from ``igd_last_error()``, when it is not ``IGD_OK``.

The library is loaded with :class:`ctypes.CDLL`, which releases the GIL during every call, so
several Python threads can run libigd calls at the same time.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import operator
import os
from ctypes import (
    CFUNCTYPE,
    POINTER,
    c_char_p,
    c_double,
    c_float,
    c_int,
    c_int64,
    c_size_t,
    c_uint,
    c_uint64,
    c_void_p,
)
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from .errors import error_for_status

__all__ = ["ABI_VERSION", "lib", "path", "candidates", "load", "check_abi", "FUNCTIONS"]

#: The ABI (soname number) these bindings were written for.
ABI_VERSION = 1

#: The soname of the library these bindings expect.
SONAME = f"libigd.so.{ABI_VERSION}"

# Callback types of igd.h.
LOG_FN = CFUNCTYPE(None, c_void_p, c_int, c_char_p)
PROGRESS_FN = CFUNCTYPE(None, c_void_p, c_int, c_uint64, c_uint64, POINTER(c_double), c_size_t)
ABORT_FN = CFUNCTYPE(c_int, c_void_p)
MALLOC_FN = CFUNCTYPE(c_void_p, c_void_p, c_size_t)
REALLOC_FN = CFUNCTYPE(c_void_p, c_void_p, c_void_p, c_size_t)
FREE_FN = CFUNCTYPE(None, c_void_p, c_void_p)

# Names for the types in the table below.
_status = c_int  # igd_status (checked)
_enum = c_int  # every other enum (igd_option, igd_net, igd_pixel_type, ...)
_h = c_void_p  # any handle
_hp = POINTER(c_void_p)  # igd_<object> **out
_buf = c_void_p  # any pixel, score, map or byte buffer
_str = c_char_p
_size = c_size_t
_sizep = POINTER(c_size_t)
_dblp = POINTER(c_double)
_intp = POINTER(c_int)
_STATUS = "status"  # marks functions returning igd_status

#: name -> (restype, argtypes): every public function of include/igd/igd.h, in its order.
FUNCTIONS: Dict[str, Tuple[Any, Sequence[Any]]] = {
    # Status codes and versions
    "igd_status_string": (_str, [_status]),
    "igd_last_error": (_str, []),
    "igd_version_number": (c_uint, []),
    "igd_version_string": (_str, []),
    "igd_abi_version": (c_uint, []),
    "igd_check_version": (_STATUS, [c_uint]),
    # Process settings
    "igd_set_allocator": (_STATUS, [MALLOC_FN, REALLOC_FN, FREE_FN, c_void_p]),
    # Options
    "igd_options_create": (_STATUS, [_hp]),
    "igd_options_copy": (_STATUS, [_h, _hp]),
    "igd_options_free": (None, [_h]),
    "igd_options_set_int": (_STATUS, [_h, _enum, c_int64]),
    "igd_options_set_real": (_STATUS, [_h, _enum, c_double]),
    "igd_options_get_int": (_STATUS, [_h, _enum, POINTER(c_int64)]),
    "igd_options_get_real": (_STATUS, [_h, _enum, _dblp]),
    "igd_options_parse": (_STATUS, [_h, _str, _str]),
    "igd_options_apply_preset": (_STATUS, [_h, _str]),
    "igd_preset_count": (_size, []),
    "igd_preset_name": (_str, [_size]),
    "igd_preset_help": (_str, [_size]),
    "igd_option_count": (_size, []),
    "igd_option_at": (_STATUS, [_size, _intp]),
    "igd_option_name": (_str, [_enum]),
    "igd_option_help": (_str, [_enum]),
    "igd_option_find": (_STATUS, [_str, _intp]),
    "igd_option_info": (_STATUS, [_enum, _intp, _dblp, _dblp, _dblp, _intp]),
    # Images
    "igd_image_load": (_STATUS, [_str, _h, _hp]),
    "igd_image_decode": (_STATUS, [_buf, _size, _h, _hp]),
    "igd_image_create": (_STATUS, [_size, _size, _size, _enum, _hp]),
    "igd_image_from_pixels": (_STATUS, [_buf, _enum, _size, _size, _size, _size, _hp]),
    "igd_image_free": (None, [_h]),
    "igd_image_width": (_size, [_h]),
    "igd_image_height": (_size, [_h]),
    "igd_image_channels": (_size, [_h]),
    "igd_image_type": (_enum, [_h]),
    "igd_image_stride": (_size, [_h]),
    "igd_image_data": (c_void_p, [_h]),
    "igd_image_const_data": (c_void_p, [_h]),
    "igd_image_save_png": (_STATUS, [_h, _str]),
    "igd_image_encode_png": (_STATUS, [_h, _buf, _size, _sizep]),
    "igd_image_resize": (_STATUS, [_h, _size, _size, _hp]),
    "igd_image_convert": (_STATUS, [_h, _size, _enum, _hp]),
    "igd_image_crop_center": (_STATUS, [_h, _size, _size, _hp]),
    "igd_heatmap_colorize": (_STATUS, [_buf, _size, _size, c_float, c_float, _h, c_double, _hp]),
    # Data sets
    "igd_dataset_open_mvtec": (_STATUS, [_str, _enum, _hp]),
    "igd_dataset_open_folder": (_STATUS, [_str, c_int, _hp]),
    "igd_dataset_open_idx": (_STATUS, [_str, _str, _h, _hp]),
    "igd_dataset_from_pixels": (
        _STATUS,
        [_buf, _enum, _size, _size, _size, _size, _size, _size, _buf, _buf, _hp],
    ),
    "igd_dataset_copy": (_STATUS, [_h, _hp]),
    "igd_dataset_set_limits": (_STATUS, [_h, _h]),
    "igd_dataset_free": (None, [_h]),
    "igd_dataset_count": (_size, [_h]),
    "igd_dataset_label": (_STATUS, [_h, _size, _intp]),
    "igd_dataset_class": (_STATUS, [_h, _size, _intp]),
    "igd_dataset_class_name": (_str, [_h, c_int]),
    "igd_dataset_path": (_str, [_h, _size]),
    "igd_dataset_load": (_STATUS, [_h, _size, _hp]),
    "igd_dataset_load_mask": (_STATUS, [_h, _size, _hp]),
    "igd_dataset_set_normal_class": (_STATUS, [_h, c_int]),
    "igd_dataset_keep_label": (_STATUS, [_h, c_int]),
    "igd_dataset_shuffle": (_STATUS, [_h, c_uint64]),
    "igd_dataset_subsample": (_STATUS, [_h, c_double, c_uint64]),
    "igd_dataset_contaminate": (_STATUS, [_h, _h, c_double, c_uint64]),
    # Models
    "igd_model_create": (_STATUS, [_h, _hp]),
    "igd_model_load": (_STATUS, [_str, _h, _hp]),
    "igd_model_load_memory": (_STATUS, [_buf, _size, _h, _hp]),
    "igd_model_free": (None, [_h]),
    "igd_model_error": (_str, [_h]),
    "igd_model_save": (_STATUS, [_h, _str, c_uint]),
    "igd_model_save_memory": (_STATUS, [_h, c_uint, _buf, _size, _sizep]),
    "igd_model_get_options": (_STATUS, [_h, _hp]),
    "igd_model_set_option_int": (_STATUS, [_h, _enum, c_int64]),
    "igd_model_set_option_real": (_STATUS, [_h, _enum, c_double]),
    "igd_model_set_normalization": (_STATUS, [_h, _buf, _buf, _size]),
    "igd_model_get_normalization": (_STATUS, [_h, _buf, _buf, _size]),
    "igd_model_set_log": (None, [_h, LOG_FN, c_void_p]),
    "igd_model_set_progress": (None, [_h, PROGRESS_FN, c_void_p]),
    "igd_model_set_abort": (None, [_h, ABORT_FN, c_void_p]),
    "igd_model_train_step": (
        _STATUS,
        [_h, _enum, _buf, _enum, _size, _size, _size, _size, _size, _size, _buf, _size],
    ),
    "igd_model_estep_begin": (_STATUS, [_h, _enum]),
    "igd_model_estep_add": (
        _STATUS,
        [_h, _enum, _buf, _enum, _size, _size, _size, _size, _size, _size],
    ),
    "igd_model_estep_finish": (_STATUS, [_h, _enum]),
    "igd_model_get_center": (_STATUS, [_h, _enum, _buf, _size, _dblp]),
    "igd_model_fit": (_STATUS, [_h, _h]),
    "igd_model_calibrate": (_STATUS, [_h, _buf, _size, c_double]),
    "igd_model_set_threshold": (_STATUS, [_h, c_double]),
    "igd_model_get_threshold": (_STATUS, [_h, _dblp]),
    "igd_model_normalize_scores": (_STATUS, [_h, _buf, _size, _buf]),
    # Inference
    "igd_session_create": (_STATUS, [_h, _hp]),
    "igd_session_free": (None, [_h]),
    "igd_session_error": (_str, [_h]),
    "igd_session_detect": (
        _STATUS,
        [_h, _buf, _enum, _size, _size, _size, _size, _size, _size, _buf, _buf, _buf, _size],
    ),
    "igd_session_analyze": (
        _STATUS,
        [_h, _buf, _enum, _size, _size, _size, _size, _size, _size, _buf, _buf, _buf, _size,
         _buf],
    ),
    "igd_session_heatmap": (
        _STATUS,
        [_h, _buf, _enum, _size, _size, _size, _size, _size, _size, _buf],
    ),
    "igd_session_encode": (
        _STATUS,
        [_h, _enum, _buf, _enum, _size, _size, _size, _size, _size, _size, _buf, _size],
    ),
    "igd_session_patch_grid": (_STATUS, [_h, _sizep, _sizep]),
    # Metrics
    "igd_metric_auroc": (_STATUS, [_buf, _buf, _size, _dblp]),
    "igd_metric_f1_max": (_STATUS, [_buf, _buf, _size, _dblp, _dblp]),
    "igd_metric_accuracy": (_STATUS, [_buf, _buf, _size, c_double, _dblp]),
    "igd_metric_roc": (_STATUS, [_buf, _buf, _size, _buf, _buf, _buf, _size, _sizep]),
    "igd_metric_quantile": (_STATUS, [_buf, _size, c_double, _dblp]),
    "igd_pixel_metrics_create": (_STATUS, [_hp]),
    "igd_pixel_metrics_free": (None, [_h]),
    "igd_pixel_metrics_add": (_STATUS, [_h, _buf, _buf, _size, _size]),
    "igd_pixel_metrics_auroc": (_STATUS, [_h, _dblp]),
    "igd_pixel_metrics_aupro": (_STATUS, [_h, c_double, _dblp]),
}


def candidates() -> Iterator[Tuple[str, str]]:
    """The places the library is looked for, in order, as (how, name or path) pairs:
    the IGD_LIBRARY environment variable, a copy beside the package, ctypes.util.find_library,
    and the soname. Lazy: find_library (which may run ldconfig) is only asked if needed."""
    env = os.environ.get("IGD_LIBRARY")
    if env:
        yield ("IGD_LIBRARY", env)
    here = os.path.dirname(os.path.abspath(__file__))
    for name in (SONAME, "libigd.so"):
        beside = os.path.join(here, name)
        if os.path.exists(beside):
            yield ("beside the package", beside)
            break
    name = ctypes.util.find_library("igd")
    if name:
        yield ("find_library('igd')", name)
    yield ("soname", SONAME)


def load() -> Tuple[ctypes.CDLL, str]:
    """Loads the first library found (see :func:`candidates`). When IGD_LIBRARY is set, it is the
    only place tried: a wrong path is an error rather than a silent fallback."""
    tried: List[str] = []
    for how, name in candidates():
        try:
            return ctypes.CDLL(name), name
        except OSError as exc:
            if how == "IGD_LIBRARY":
                raise ImportError(
                    f"igd: cannot load the library named by IGD_LIBRARY ({name}): {exc}"
                ) from exc
            tried.append(f"{how}: {name} ({exc})")
    raise ImportError(
        "igd: cannot find libigd; set IGD_LIBRARY to the path of libigd.so.1. Tried: "
        + "; ".join(tried)
    )


def check_abi(library: Any, where: str = "") -> None:
    """Raises ImportError unless the library implements ABI_VERSION."""
    try:
        fn = library.igd_abi_version
    except AttributeError as exc:
        raise ImportError(f"igd: {where or library} is not libigd (no igd_abi_version)") from exc
    fn.restype = c_uint
    fn.argtypes = []
    found = int(fn())
    if found != ABI_VERSION:
        raise ImportError(
            f"igd: the library {where or library} implements ABI {found}, but these bindings "
            f"were written for ABI {ABI_VERSION}; install matching versions of libigd and its "
            "Python bindings"
        )


def _make_errcheck(last_error: Callable[[], Optional[bytes]]) -> Callable[..., int]:
    def errcheck(result: int, func: Any, args: Any) -> int:
        if result != 0:
            message = last_error()
            text = message.decode("utf-8", "replace") if message else ""
            if not text:
                text = f"{func.__name__} failed with status {result}"
            raise error_for_status(result, text)
        return result

    return errcheck


def _checked_int(ctype: Any, bits: int, signed: bool) -> Any:
    """An argument type for ctype that refuses integers it cannot hold (ctypes would silently
    keep their low bits: 2**70 would pass as 0)."""
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)

    class Arg:
        @classmethod
        def from_param(cls, value: Any) -> Any:
            if isinstance(value, ctype):
                return value
            v = operator.index(value)
            if not lo <= v <= hi:
                raise OverflowError(f"{v} is out of range for a C {ctype.__name__} ({lo}..{hi})")
            return ctype(v)

    Arg.__name__ = f"checked_{ctype.__name__}"
    return Arg


class _CheckedStr:
    """char * arguments: text with an embedded NUL would be cut short there (a path 'a\\0b'
    would name 'a'), so it is refused."""

    @classmethod
    def from_param(cls, value: Any) -> Any:
        if isinstance(value, (bytes, bytearray)) and b"\0" in value:
            raise ValueError("embedded NUL character in a string or path")
        return c_char_p.from_param(value)


_CHECKED: Dict[Any, Any] = {
    c_int: _checked_int(c_int, 8 * ctypes.sizeof(c_int), True),
    c_uint: _checked_int(c_uint, 8 * ctypes.sizeof(c_uint), False),
    c_int64: _checked_int(c_int64, 64, True),
    c_uint64: _checked_int(c_uint64, 64, False),
    c_size_t: _checked_int(c_size_t, 8 * ctypes.sizeof(c_size_t), False),
    c_char_p: _CheckedStr,
}


def bind(library: Any) -> None:
    """Sets restype, argtypes (and the status check) of every function in FUNCTIONS."""
    missing = [name for name in FUNCTIONS if not hasattr(library, name)]
    if missing:
        raise ImportError(f"igd: the library lacks {', '.join(missing)}")
    last_error = library.igd_last_error
    last_error.restype = c_char_p
    last_error.argtypes = []
    errcheck = _make_errcheck(last_error)
    for name, (restype, argtypes) in FUNCTIONS.items():
        fn = getattr(library, name)
        checked = [_CHECKED.get(t, t) for t in argtypes]
        fn.argtypes = checked
        if restype == _STATUS:
            fn.restype = _status
            fn.errcheck = errcheck
        else:
            fn.restype = restype
        if any(t in _CHECKED.values() for t in checked):
            setattr(library, name, _with_checks(fn, checked))


def _with_checks(fn: Any, argtypes: Sequence[Any]) -> Callable[..., Any]:
    """fn, checking its integer and string arguments first, so that an integer out of range
    raises OverflowError and a string with a NUL ValueError (ctypes would wrap either in its
    ArgumentError)."""
    checks = [(i, t) for i, t in enumerate(argtypes) if t in _CHECKED.values()]

    def call(*args: Any) -> Any:
        for i, t in checks:
            if i < len(args):
                t.from_param(args[i])
        return fn(*args)

    call.__name__ = fn.__name__
    call.__doc__ = fn.__doc__
    call.argtypes = fn.argtypes  # type: ignore[attr-defined]
    call.restype = fn.restype  # type: ignore[attr-defined]
    call.function = fn  # type: ignore[attr-defined]
    return call


lib, path = load()
check_abi(lib, path)
bind(lib)
lib.igd_check_version(ABI_VERSION)
