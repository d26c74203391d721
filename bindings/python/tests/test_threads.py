"""Several Python threads detecting on one model at once, with the GIL released in C."""

from __future__ import annotations

import ctypes
import sys
import time
import threading

import numpy as np

from igd import _lib

from conftest import make_images

THREADS = 8


def _run_threads(target):
    results = [None] * THREADS
    errors = []
    barrier = threading.Barrier(THREADS)

    def run(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def test_eight_threads_with_their_own_sessions(model):
    images = make_images(24, 20, 20, seed=3)
    serial_scores = model.detect(images, parts=True)
    serial_maps = model.heatmap(images[:4])
    sessions = [model.session() for _ in range(THREADS)]

    def work(i):
        s = sessions[i]
        out = []
        for k in range(3):  # rotate the images so threads score different batches at once
            sel = np.roll(np.arange(24), 3 * i + k)
            out.append((sel, s.detect(images[sel], parts=True)))
        return out, s.heatmap(images[:4])

    for batches, maps in _run_threads(work):
        for sel, d in batches:
            assert d.scores.tobytes() == serial_scores.scores[sel].tobytes()
            assert d.parts.tobytes() == serial_scores.parts[sel].tobytes()
        assert maps.tobytes() == serial_maps.tobytes()
    for s in sessions:
        s.close()


def test_model_detect_is_thread_safe(model):
    images = make_images(16, seed=4)
    serial = model.detect(images)
    got = _run_threads(lambda i: (model.detect(images[i:]), model.heatmap(images[i:i + 2]),
                                  model._thread_session()))
    for i, (scores, maps, session) in enumerate(got):
        assert scores.tobytes() == serial[i:].tobytes()
        assert maps.shape == (2, 16, 16)
    assert len({id(s) for _, _, s in got}) == THREADS  # one session per thread
    assert model._thread_session() not in [s for _, _, s in got]


def test_calls_release_the_gil():
    """A Python thread keeps running while another thread is inside a long libigd call: its
    longest pause is a small part of the call. The same call through a PyDLL (which holds the
    GIL) pauses it for the whole call, which shows that the check can fail."""
    n = 4_000_000
    scores = np.random.default_rng(0).random(n)
    labels = (np.arange(n) % 2).astype(np.intc)
    out = ctypes.c_double()

    def measure(fn):
        done = threading.Event()
        span = []

        def call():
            t0 = time.perf_counter()
            fn(scores.ctypes.data, labels.ctypes.data, n, ctypes.byref(out))
            span.append(time.perf_counter() - t0)
            done.set()

        t = threading.Thread(target=call)
        last = time.perf_counter()
        longest = 0.0
        t.start()
        while not done.is_set():
            now = time.perf_counter()
            longest = max(longest, now - last)
            last = now
        t.join()
        return longest, span[0]

    held = ctypes.PyDLL(_lib.path).igd_metric_auroc
    held.restype = ctypes.c_int
    held.argtypes = _lib.lib.igd_metric_auroc.argtypes
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)  # short turns between threads that wait for the GIL
    try:
        free_pause, free_call = measure(_lib.lib.igd_metric_auroc)
        expected = out.value
        held_pause, held_call = measure(held)
    finally:
        sys.setswitchinterval(interval)
    assert out.value == expected
    assert held_pause > 0.8 * held_call  # the control: a held GIL stops the loop
    assert free_pause < 0.25 * free_call, (free_pause, free_call)
