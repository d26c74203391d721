"""Options: the igd_options object, and the table of option keys (names, types, bounds)."""

from __future__ import annotations

import contextlib
import ctypes
import enum
import numbers
import functools
from typing import Any, Dict, Iterator, List, Mapping, NamedTuple, Optional, Union

from . import _lib
from ._handle import Owned
from .errors import InvalidArgumentError

__all__ = [
    "OptionType",
    "OptionInfo",
    "Options",
    "option_info",
    "option_names",
    "option_key",
    "options_table",
]


class OptionType(enum.IntEnum):
    """igd_option_type."""

    INT = 1
    REAL = 2


class OptionInfo(NamedTuple):
    """One option key's description (igd_option_info, igd_option_name, igd_option_help)."""

    key: int
    name: str
    help: str
    type: OptionType
    min: float
    max: float
    default: Union[int, float]
    runtime: bool


def option_key(name: Union[str, int]) -> int:
    """The igd_option number of an option name (igd_option_find), or a number checked to be a
    key. Raises NotFoundError for an unknown name."""
    if isinstance(name, numbers.Integral) and not isinstance(name, bool):
        if _lib.lib.igd_option_name(int(name)) is None:
            raise InvalidArgumentError(f"unknown option {int(name)}")
        return int(name)
    key = ctypes.c_int()
    _lib.lib.igd_option_find(str(name).encode(), ctypes.byref(key))
    return key.value


def option_info(name: Union[str, int]) -> OptionInfo:
    """The description of one option, by name or number."""
    return _info(option_key(name))


@functools.lru_cache(maxsize=None)
def _info(key: int) -> OptionInfo:
    lib = _lib.lib
    t = ctypes.c_int()
    lo, hi, default = ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    runtime = ctypes.c_int()
    lib.igd_option_info(
        key, ctypes.byref(t), ctypes.byref(lo), ctypes.byref(hi), ctypes.byref(default),
        ctypes.byref(runtime),
    )
    otype = OptionType(t.value)
    value: Union[int, float] = int(default.value) if otype == OptionType.INT else default.value
    return OptionInfo(
        key=key,
        name=lib.igd_option_name(key).decode(),
        help=(lib.igd_option_help(key) or b"").decode(),
        type=otype,
        min=lo.value,
        max=hi.value,
        default=value,
        runtime=bool(runtime.value),
    )


def options_table() -> List[OptionInfo]:
    """Every option key in numeric order (igd_option_count, igd_option_at)."""
    return list(_table())


@functools.lru_cache(maxsize=None)
def _table() -> "tuple[OptionInfo, ...]":
    lib = _lib.lib
    out = []
    key = ctypes.c_int()
    for i in range(lib.igd_option_count()):
        lib.igd_option_at(i, ctypes.byref(key))
        out.append(_info(key.value))
    return tuple(out)


def presets() -> Dict[str, str]:
    """The named presets and their one-line descriptions."""
    lib = _lib.lib
    return {lib.igd_preset_name(i).decode(): lib.igd_preset_help(i).decode()
            for i in range(lib.igd_preset_count())}


def option_names() -> List[str]:
    """The names of every option key, in numeric order."""
    return [info.name for info in options_table()]


def _set(handle: int, name: Union[str, int], value: Any) -> None:
    """Sets one option on an igd_options handle from a Python value: a string goes through
    igd_options_parse (numbers, or enum names like "svdd"), a number through the typed setter."""
    lib = _lib.lib
    key = option_key(name)
    if isinstance(value, str):
        lib.igd_options_parse(handle, str(key).encode(), value.encode())
        return
    info = option_info(key)
    if info.type == OptionType.INT:
        if isinstance(value, numbers.Integral):
            lib.igd_options_set_int(handle, key, int(value))
        elif isinstance(value, numbers.Real) and float(value).is_integer():
            lib.igd_options_set_int(handle, key, int(value))
        else:
            raise InvalidArgumentError(
                f"option '{info.name}' takes an integer (or a name), not {value!r}"
            )
    else:
        if not isinstance(value, numbers.Real):
            raise InvalidArgumentError(f"option '{info.name}' takes a number, not {value!r}")
        lib.igd_options_set_real(handle, key, float(value))


def _get(handle: int, key: int, otype: OptionType) -> Union[int, float]:
    lib = _lib.lib
    if otype == OptionType.INT:
        iv = ctypes.c_int64()
        lib.igd_options_get_int(handle, key, ctypes.byref(iv))
        return iv.value
    rv = ctypes.c_double()
    lib.igd_options_get_real(handle, key, ctypes.byref(rv))
    return rv.value


def _to_dict(handle: int) -> Dict[str, Union[int, float]]:
    return {info.name: _get(handle, info.key, info.type) for info in _table()}


class Options(Owned):
    """An igd_options object: every option key with a value, starting from the defaults.

    ``Options(global_size=16, classifier="svdd")`` sets options by name; values are numbers, or
    strings parsed by the library (enum names such as ``"svdd"``, ``"frozen"``). Read and write
    single options with ``opts["rho"]`` / ``opts["rho"] = 0.2``; ``to_dict()`` gives all.
    """

    _kind = "options"

    def __init__(self, values: Optional[Mapping[str, Any]] = None, *,
                 preset: Optional[str] = None, **kwargs: Any) -> None:
        out = ctypes.c_void_p()
        _lib.lib.igd_options_create(ctypes.byref(out))
        self._own(out.value, _lib.lib.igd_options_free)
        if preset is not None:
            self.apply_preset(preset)
        self.update(values or {}, **kwargs)

    def apply_preset(self, name: str) -> None:
        """Applies a named preset (see presets()) over the current values; options set
        afterwards override it. Experimental: preset values may change between releases."""
        _lib.lib.igd_options_apply_preset(self.handle, str(name).encode())

    @classmethod
    def _adopt(cls, handle: int) -> "Options":
        self = cls.__new__(cls)
        self._own(handle, _lib.lib.igd_options_free)
        return self

    @classmethod
    def coerce(cls, value: Union["Options", Mapping[str, Any], None]) -> Optional["Options"]:
        """None, an Options, or a mapping of names to values made into Options."""
        if value is None or isinstance(value, Options):
            return value
        return cls(value)

    @classmethod
    @contextlib.contextmanager
    def temporary(cls, value: Union["Options", Mapping[str, Any], None]) -> Iterator[
            Optional["Options"]]:
        """Like coerce(), in a with block: Options made here are freed on leaving it."""
        opts = cls.coerce(value)
        try:
            yield opts
        finally:
            if opts is not None and opts is not value:
                opts.close()

    def update(self, values: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> None:
        """Sets several options by name."""
        for name, value in {**(values or {}), **kwargs}.items():
            _set(self.handle, name, value)

    def __setitem__(self, name: Union[str, int], value: Any) -> None:
        _set(self.handle, name, value)

    def __getitem__(self, name: Union[str, int]) -> Union[int, float]:
        info = option_info(name)
        return _get(self.handle, info.key, info.type)

    def __iter__(self) -> Iterator[str]:
        return iter(option_names())

    def to_dict(self) -> Dict[str, Union[int, float]]:
        """Every option by name."""
        return _to_dict(self.handle)

    def copy(self) -> "Options":
        """An independent copy (igd_options_copy)."""
        out = ctypes.c_void_p()
        _lib.lib.igd_options_copy(self.handle, ctypes.byref(out))
        return Options._adopt(out.value)

    def __repr__(self) -> str:
        if self.closed:
            return "Options(<closed>)"
        defaults = {i.name: i.default for i in options_table()}
        changed = {k: v for k, v in self.to_dict().items() if v != defaults[k]}
        return f"Options({', '.join(f'{k}={v!r}' for k, v in changed.items())})"
