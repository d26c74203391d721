"""Ownership of library handles: freed once, by close(), a with block, or the finaliser."""

from __future__ import annotations

import weakref
from typing import Any, Callable, Optional


class Box:
    """Holds a handle and the function that frees it; free() runs that function at most once.
    Finalisers and owners refer to the box, never to the Python object that wraps it."""

    __slots__ = ("ptr", "free_fn", "__weakref__")

    def __init__(self, ptr: Optional[int], free_fn: Callable[[int], None]) -> None:
        self.ptr = ptr
        self.free_fn = free_fn

    def free(self) -> None:
        ptr, self.ptr = self.ptr, None
        if ptr:
            self.free_fn(ptr)


class Owned:
    """Base of the objects that own a handle: ``close()``, ``with``, and a finaliser that frees
    the handle when the object is collected (or at interpreter exit)."""

    _kind = "object"

    def _own(self, ptr: Optional[int], free_fn: Callable[[int], None],
             finalize: Optional[Callable[[], None]] = None) -> None:
        self._box = Box(ptr, free_fn)
        self._finalizer = weakref.finalize(self, finalize or self._box.free)

    @property
    def handle(self) -> int:
        """The library pointer (raises ValueError once closed)."""
        box = getattr(self, "_box", None)
        if box is None or not box.ptr:
            raise ValueError(f"the {self._kind} is closed")
        return box.ptr

    @property
    def closed(self) -> bool:
        """Whether close() has run."""
        box = getattr(self, "_box", None)
        return box is None or not box.ptr

    def close(self) -> None:
        """Frees the library object now. Later calls raise ValueError; closing twice is fine."""
        fin = getattr(self, "_finalizer", None)
        if fin is not None:
            fin()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
