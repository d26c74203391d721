"""Progress, log and abort callbacks; exceptions raised inside them."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

import igd

from conftest import TINY

FIT = dict(TINY, epochs=2)


def test_progress_and_log(train_images):
    m = igd.Model(FIT)
    reports, logs = [], []
    m.set_progress(lambda stage, done, total, losses: reports.append((stage, done, total,
                                                                       losses)))
    m.set_log(lambda level, message: logs.append((level, message)))
    gc.collect()  # the lambdas live only in the model: they must stay alive
    m.fit(train_images)
    stages = {r[0] for r in reports}
    assert stages == {igd.Stage.NORMALIZE, igd.Stage.ESTEP, igd.Stage.TRAIN,
                      igd.Stage.CALIBRATE}
    train = [r for r in reports if r[0] == igd.Stage.TRAIN]
    assert [r[1] for r in train] == list(range(1, len(train) + 1))
    assert all(r[2] == len(train) for r in train)
    assert all(set(r[3]) >= {"total", "critic"} for r in train)
    assert all(r[3] is None for r in reports if r[0] != igd.Stage.TRAIN)
    assert all(0 <= r[1] <= r[2] for r in reports)
    assert logs and all(isinstance(lv, igd.LogLevel) and isinstance(msg, str)
                        for lv, msg in logs)
    assert any("threshold" in msg for _, msg in logs)
    m.set_progress(None)
    m.set_log(None)
    reports.clear()
    m.fit(train_images)
    assert not reports


def test_abort(train_images):
    m = igd.Model(FIT)
    with_calls = []
    m.set_abort(lambda: with_calls.append(1) or True)
    with pytest.raises(igd.AbortedError) as info:
        m.fit(train_images)
    assert info.value.message and len(with_calls) == 1
    steps = []
    m.set_progress(lambda s, d, t, l: steps.append(s) if s == igd.Stage.TRAIN else None)
    m.set_abort(lambda: len(steps) >= 2)
    with pytest.raises(igd.AbortedError):
        m.fit(train_images)
    assert len(steps) == 2
    m.set_abort(None)
    m.fit(train_images)  # the model is usable afterwards
    assert m.threshold is not None


class Boom(Exception):
    pass


@pytest.mark.parametrize("where", ["progress", "log", "abort"])
def test_exceptions_in_callbacks_are_raised_after_the_call(train_images, test_images, where):
    m = igd.Model(FIT)
    calls = []

    def bad(*args):
        calls.append(args)
        raise Boom(where)

    getattr(m, "set_" + where)(bad)
    with pytest.raises(Boom, match=where) as info:
        m.fit(train_images)
    if where != "log":
        # The first exception stopped the fit: no further progress or abort calls.
        assert len(calls) == 1
        assert isinstance(info.value.__cause__, igd.AbortedError)
    getattr(m, "set_" + where)(None)
    m.fit(train_images)  # nothing stale is left behind
    assert np.isfinite(m.detect(test_images)).all()


def test_keyboard_interrupt_in_a_callback_stops_fit(train_images):
    m = igd.Model(FIT)

    def interrupt(*args):
        raise KeyboardInterrupt

    m.set_progress(interrupt)
    with pytest.raises(KeyboardInterrupt):
        m.fit(train_images)


def test_callbacks_run_on_the_calling_thread(train_images):
    m = igd.Model(FIT)
    seen = set()
    errors = []
    m.set_progress(lambda *a: seen.add(threading.get_ident()))

    def run():
        try:
            m.fit(train_images)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert not errors and seen == {t.ident}
    # An exception in a callback on another thread is raised on that thread only.
    m.set_progress(lambda *a: (_ for _ in ()).throw(Boom("thread")))
    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert len(errors) == 1 and isinstance(errors[0], Boom)
    m.set_progress(None)
    m.fit(train_images)  # the main thread has nothing pending
