"""igd_set_allocator from Python (in a child process: it must come before any object)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import igd

SCRIPT = textwrap.dedent(r"""
    import ctypes
    import numpy as np
    import igd

    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.realloc.restype = ctypes.c_void_p
    libc.realloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    live = {}
    calls = {"malloc": 0, "realloc": 0, "free": 0}
    budget = [None]  # allocations left before failing; None = no limit

    def take():
        if budget[0] is None:
            return True
        if budget[0] == 0:
            return False
        budget[0] -= 1
        return True

    def my_malloc(size):
        calls["malloc"] += 1
        if not take():
            return None
        p = libc.malloc(size)
        live[p] = size
        return p

    def my_realloc(ptr, size):
        calls["realloc"] += 1
        if not take():
            return None
        q = libc.realloc(ptr, size)
        if q:
            live.pop(ptr, None)
            live[q] = size
        return q

    def my_free(ptr):
        calls["free"] += 1
        if ptr:
            live.pop(ptr)
            libc.free(ptr)

    igd.set_allocator(my_malloc, my_realloc, my_free)
    images = (np.random.default_rng(0).random((8, 16, 16)) * 255).astype(np.uint8)
    tiny = dict(global_size=16, base_width=4, depth=2, latent_size=8, hidden_size=0,
                batch_size=8, threads=1)
    with igd.Model(**tiny) as m:
        m.estep(images)
        scores = m.detect(images)
        assert live, "the model's memory goes through the Python allocator"
    assert calls["malloc"] > 0 and not live, live

    # Failing the n-th allocation for every n until creation succeeds: each failure is an
    # OutOfMemoryError and leaves nothing allocated.
    failures = 0
    for n in range(100000):
        budget[0] = n
        try:
            with igd.Model(**tiny) as m:
                pass
        except igd.OutOfMemoryError as exc:
            assert exc.message and exc.status == -2
            failures += 1
            assert not live, (n, len(live))
            continue
        break
    budget[0] = None
    assert failures > 0 and not live

    try:
        igd.set_allocator(my_malloc, None, my_free)
    except igd.InvalidArgumentError:
        pass
    else:
        raise AssertionError("a partial allocator was accepted")
    igd.set_allocator()  # back to the C library's
    with igd.Options(rho=0.5) as o:
        before = calls["malloc"]
    assert calls["malloc"] == before
    print("ok", failures)
""")


def test_python_allocator_counts_and_failures():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(igd.__file__)))
    env["IGD_LIBRARY"] = igd.library_path
    r = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok")
