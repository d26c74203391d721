"""Models: creation, files, training, E-step, thresholds, detection, heatmaps, latents."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import igd

from conftest import TINY, make_images


def test_create_save_load(tmp_path, train_images, test_images):
    m = igd.Model(TINY, classifier="svdd", seed=5, heatmap_smooth=1.5)
    assert m.options["classifier"] == igd.Classifier.SVDD and m.options["seed"] == 5
    assert m.threshold is None
    with pytest.raises(igd.StateError):
        m.train_step(train_images[:8])  # needs an E-step first
    m.estep(train_images)
    losses = m.train_step(train_images[:8])
    assert set(losses) == {"total", "classifier", "reconstruction", "mae", "msssim",
                           "fooling", "critic", "seg"}
    assert all(np.isfinite(v) for v in losses.values())
    m.save(tmp_path / "a.igd")
    m.save(tmp_path / "b.igd", optimizer=True)
    plain, full = (tmp_path / "a.igd").read_bytes(), (tmp_path / "b.igd").read_bytes()
    assert len(full) > len(plain)
    assert m.to_bytes() == plain and m.to_bytes(optimizer=True) == full
    m.estep(train_images)
    loaded = igd.Model.load(tmp_path / "a.igd", threads=2)
    assert loaded.options["classifier"] == igd.Classifier.SVDD
    # Runtime options not given at load keep the file's values, given ones replace them.
    assert loaded.options["threads"] == 2 and loaded.options["heatmap_smooth"] == 1.5
    smooth = igd.Model.load(tmp_path / "a.igd", heatmap_smooth=4.0)
    assert smooth.options["heatmap_smooth"] == 4.0
    smooth.close()
    # Resuming from a file with the optimiser state trains exactly like the original.
    resumed = igd.Model.load(tmp_path / "b.igd")
    resumed.set_options(threads=1)
    m2 = igd.Model.from_bytes(full, threads=1)  # a file's thread count is not applied
    a = resumed.train_step(train_images[8:16])
    b = m2.train_step(train_images[8:16])
    assert a == b
    assert resumed.to_bytes() == m2.to_bytes()
    assert "Model(" in repr(m)
    for x in (m, loaded, resumed, m2):
        x.close()
    assert "closed" in repr(m)
    with pytest.raises(ValueError, match="closed"):
        m.detect(test_images)


def test_estep_forms_agree(train_images):
    """The E-step from one array, from an iterable of batches, from a Dataset and by hand gives
    the same centre."""
    base = igd.Model(TINY).to_bytes()
    centres = []
    for feed in ("array", "iterable", "dataset", "manual"):
        m = igd.Model.from_bytes(base, threads=1)
        if feed == "array":
            m.estep(train_images, batch_size=5)
        elif feed == "iterable":
            m.estep((train_images[i:i + 4] for i in range(0, 16, 4)), net="global")
        elif feed == "dataset":
            labels = [0] * 16 + [1] * 2
            data = np.concatenate([train_images, make_images(2, seed=8)])
            with igd.Dataset.from_array(data, labels) as ds:
                m.estep(ds, net=igd.Net.GLOBAL, batch_size=6)  # anomalous samples skipped
        else:
            m.estep_begin("global")
            m.estep_add(train_images[:10])
            m.estep_add(train_images[10:])
            m.estep_finish(1)
        centres.append(m.center("global"))
    for c, s in centres[1:]:
        assert np.allclose(c, centres[0][0], rtol=1e-5, atol=1e-6)
        assert s == pytest.approx(centres[0][1], rel=1e-5)
    assert centres[0][0].shape == (8,) and centres[0][0].dtype == np.float32
    m = igd.Model(TINY)
    with pytest.raises(igd.StateError):
        m.center()
    with pytest.raises(igd.StateError):
        m.estep_finish()
    with pytest.raises(igd.StateError):
        m.estep_begin("local")  # no local model
    with pytest.raises(igd.InvalidArgumentError):
        m.estep_begin("sideways")


def test_thresholds(model, test_images):
    scores = model.detect(test_images)
    t = model.calibrate(scores, 0.5)
    assert t == model.threshold == pytest.approx(np.quantile(scores, 0.5))
    model.threshold = 2.0
    assert model.threshold == 2.0
    s = np.array([0.5, 1.0, 2.0, 4.0])
    expected = np.where(s < 2.0, s / 4.0, 1 - 2.0 / (2 * s))
    assert np.allclose(model.normalize_scores(s), expected)
    with pytest.raises(igd.InvalidArgumentError):
        model.threshold = -1
    with pytest.raises(igd.InvalidArgumentError):
        model.calibrate([], 0.5)
    fresh = igd.Model(TINY)
    assert fresh.threshold is None
    with pytest.raises(igd.StateError):
        fresh.normalize_scores(s)


def test_detect_parts_and_decisions(model, test_images):
    scores = model.detect(test_images)
    assert scores.shape == (6,) and scores.dtype == np.float64
    d = model.detect(test_images, parts=True, decisions=True)
    assert isinstance(d, igd.Detection)
    assert np.array_equal(d.scores, scores)
    assert d.parts.shape == (6, 9)
    assert np.array_equal(d.parts[:, igd.Part.SCORE], scores)
    assert np.allclose(d.parts[:, igd.Part.NORMALIZED], model.normalize_scores(scores))
    assert np.allclose(d.parts[:, igd.Part.GLOBAL], scores)
    assert np.array_equal(d.decisions, scores >= model.threshold)
    assert d.decisions.dtype == bool
    only = model.detect(test_images, decisions=True)
    assert only.parts is None and np.array_equal(only.decisions, d.decisions)
    no_thr = igd.Model.from_bytes(model.to_bytes())
    no_thr_scores = no_thr.detect(test_images)
    assert np.array_equal(no_thr_scores, scores)
    # Any size, and RGB input to a grey model.
    assert model.detect(make_images(2, 40, 24)).shape == (2,)
    assert model.detect(make_images(2, 16, 16, c=3)).shape == (2,)


def test_heatmap_and_encode(model, test_images):
    maps = model.heatmap(test_images)
    assert maps.shape == (6, 16, 16) and maps.dtype == np.float32
    assert np.isfinite(maps).all()
    single = model.heatmap(test_images[2])
    assert single.shape == (1, 16, 16) and np.array_equal(single[0], maps[2])
    wide = model.heatmap(make_images(1, 20, 30))
    assert wide.shape == (1, 20, 30)
    z = model.encode(test_images)
    assert z.shape == (6, 8) and z.dtype == np.float32
    assert np.array_equal(model.encode(test_images[:2], "global"), z[:2])
    with pytest.raises(igd.StateError):
        model.encode(test_images, "local")
    with pytest.raises(igd.StateError):
        model.patch_grid()


def test_local_model(train_images, test_images):
    m = igd.Model(TINY, nets=3, image_size=32, patch_size=16, patch_stride=8)
    m.estep(train_images, net="global")
    m.estep(train_images, net="local")
    loss = m.train_step(train_images[:8], net="local")
    assert np.isfinite(loss["total"])
    assert m.patch_grid() == (3, 3)
    z = m.encode(test_images[:2], "local")
    assert z.shape == (2, 3, 3, 8)
    d = m.detect(test_images, parts=True)
    assert np.allclose(d.parts[:, igd.Part.GLOBAL] + d.parts[:, igd.Part.LOCAL], d.scores)
    assert (d.parts[:, igd.Part.LOCAL] > 0).all()
    assert m.heatmap(test_images).shape == (6, 16, 16)


def test_patch_memory(train_images, test_images):
    m = igd.Model(TINY, nets=3, image_size=32, patch_size=16, patch_stride=8, memory_size=100)
    plain = igd.Model.from_bytes(m.to_bytes())
    plain.set_options(memory_size=0)
    for model in (m, plain):
        model.estep(train_images, net="global")
        model.estep(train_images, net="local")
    # Every training latent is kept: the training images' classifier terms vanish.
    d = m.detect(train_images, parts=True)
    assert np.abs(d.parts[:, igd.Part.GLOBAL_CLASSIFIER]).max() < 1e-4
    assert np.abs(d.parts[:, igd.Part.LOCAL_CLASSIFIER]).max() < 1e-4
    t = m.detect(test_images, parts=True)
    assert (t.parts[:, igd.Part.LOCAL_CLASSIFIER] > 0).all()
    assert not np.array_equal(t.scores, plain.detect(test_images))
    # The memory travels with the model: 16 global and 9 x 16 local latents of 8 floats.
    extra = len(m.to_bytes()) - len(plain.to_bytes())
    assert extra == 2 * (16 + 12) + 24 * 10 + 4 * 8 * (16 + 9 * 16)
    again = igd.Model.from_bytes(m.to_bytes())
    assert np.array_equal(again.detect(test_images), t.scores)
    m.set_options(heatmap_global_weight=0.0)
    assert np.abs(m.heatmap(train_images[:2])).max() < 1e-4
    assert m.heatmap(test_images).max() > 1e-3
    # A coreset of 3 latents per position (out of 16 sampled): 3 + 9 x 3 latents.
    m.set_options(memory_coreset=3)
    m.estep(train_images, net="global")
    m.estep(train_images, net="local")
    grown = len(m.to_bytes()) - len(plain.to_bytes())
    assert grown == 2 * (16 + 12) + 24 * 10 + 4 * 8 * (3 + 9 * 3)
    with pytest.raises(igd.InvalidArgumentError):
        m.set_options(memory_coreset=-1)
    # memory_size 0: the next E-step drops it.
    m.set_options(memory_size=0)
    m.estep(train_images, net="local")
    assert len(m.to_bytes()) < len(plain.to_bytes()) + extra
    with pytest.raises(igd.InvalidArgumentError):
        m.set_options(memory_radius=-1.0)


def test_fit_on_arrays_and_datasets(train_images, test_images):
    a = igd.Model(TINY).fit(train_images)
    assert a.threshold is not None and a.threshold > 0
    with igd.Dataset.from_array(train_images) as ds:
        b = igd.Model(TINY).fit(ds)
    assert a.to_bytes() == b.to_bytes()  # same options, seed, data: the same model
    labels = [0] * 16 + [1] * 4
    data = np.concatenate([train_images, make_images(4, seed=11)])
    with igd.Dataset.from_array(data, labels) as ds:
        c = igd.Model(TINY).fit(ds)  # trains on the normal samples only
    d = igd.Model(TINY).fit(data, labels)
    assert c.to_bytes() == d.to_bytes()
    mean, std = a.normalization
    assert mean.shape == (1,) and 0 < mean[0] < 1 and 0 < std[0] < 1
    a.set_normalization([0.25], [0.5])
    mean, std = a.normalization
    assert mean[0] == 0.25 and std[0] == 0.5
    with pytest.raises(igd.InvalidArgumentError):
        a.set_normalization([0.2, 0.3, 0.4], [1, 1, 1])  # one channel only
    with pytest.raises(igd.InvalidArgumentError):
        a.set_normalization([0.2], [0.0])
    assert a.channels == 1


def test_sessions_keep_their_model_alive(model_bytes, test_images):
    m = igd.Model.from_bytes(model_bytes, threads=1)
    expected = m.detect(test_images)
    s = m.session()
    ref = weakref.ref(m)
    del m
    gc.collect()
    assert ref() is not None  # the session holds the model
    assert np.array_equal(s.detect(test_images), expected)
    assert s.error == ""
    with pytest.raises(igd.InvalidArgumentError):
        s.detect(np.zeros((1, 4, 4, 2), np.uint8))  # two channels
    assert "channels" in s.error
    del s
    gc.collect()
    assert ref() is None  # and lets it go with the last session


def test_closing_a_model_closes_its_sessions(model_bytes, test_images):
    m = igd.Model.from_bytes(model_bytes, threads=1)
    s1 = m.session()
    m.detect(test_images)  # makes this thread's own session
    with m.session() as s2:
        s2.detect(test_images)
    assert s2.closed and not s1.closed
    m.close()
    assert m.closed and s1.closed
    with pytest.raises(ValueError, match="closed"):
        s1.detect(test_images)
    with pytest.raises(ValueError, match="closed"):
        m.detect(test_images)
    s1.close()


def test_models_are_collected(model_bytes, test_images):
    m = igd.Model.from_bytes(model_bytes)
    m.detect(test_images)  # a thread-local session referring back to the model
    m.set_log(lambda *a: None)
    ref = weakref.ref(m)
    del m
    gc.collect()
    assert ref() is None


def test_presets_and_the_segmentation_head():
    names = igd.presets()
    assert list(names) == ["digits", "texture", "object"] and all(names.values())
    o = igd.Options(preset="texture", seed=3)
    assert o["seg_width"] > 0 and o["seg_scale"] == 0.5 and o["seed"] == 3
    with pytest.raises(igd.NotFoundError):
        igd.Options(preset="nope")
    # A tiny head, trained briefly on textures through fit.
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:40, 0:56]
    train = np.stack([(127 + 60 * np.sin(0.9 * x + 0.2 * y + p)).astype(np.uint8)
                      for p in rng.random(12) * 6])
    m = igd.Model(TINY, epochs=0, seg_width=4, seg_depth=2, seg_tile=16, seg_steps=20,
                  score_rec_weight=0, score_gauss_weight=0)
    m.fit(train)
    test = train[:3].copy()
    test[1, 10:14, 20:40] = 0
    det, maps = m.analyze(test)
    assert maps.shape == (3, 40, 56) and np.all((maps >= 0) & (maps <= 1))
    assert np.allclose(det.scores, det.parts[:, igd.Part.SEG])
    assert det.decisions is not None
    np.testing.assert_array_equal(det.scores, m.detect(test))
    np.testing.assert_array_equal(maps, m.heatmap(test))
    again = igd.Model.from_bytes(m.to_bytes())
    np.testing.assert_array_equal(again.heatmap(test), maps)
