"""Metrics against straightforward numpy references."""

from __future__ import annotations

import numpy as np
import pytest

import igd


def _auroc_ref(scores, labels):
    pos = scores[labels == 1]
    neg = scores[labels == 0]
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return (greater + 0.5 * ties) / (len(pos) * len(neg))


def _f1_ref(scores, labels):
    best = (0.0, 0.0)
    for t in np.unique(scores):
        pred = scores >= t
        tp = (pred & (labels == 1)).sum()
        fp = (pred & (labels == 0)).sum()
        fn = (~pred & (labels == 1)).sum()
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        if f1 > best[0]:
            best = (f1, t)
    return best


@pytest.fixture
def data():
    rng = np.random.default_rng(12)
    labels = rng.integers(0, 2, 200)
    scores = np.round(rng.normal(labels * 0.8, 1.0), 1)  # rounded: many ties
    return scores, labels


def test_image_metrics(data):
    scores, labels = data
    assert igd.auroc(scores, labels) == pytest.approx(_auroc_ref(scores, labels), abs=1e-12)
    assert igd.auroc(scores, labels.astype(bool)) == igd.auroc(scores, labels)
    f1, t = igd.f1_max(scores, labels)
    rf1, rt = _f1_ref(scores, labels)
    assert f1 == pytest.approx(rf1, abs=1e-12) and t == rt
    for thr in (-1.0, 0.3, 5.0):
        expected = np.mean((scores >= thr) == (labels == 1))
        assert igd.accuracy(scores, labels, thr) == pytest.approx(expected)
    fpr, tpr, thresholds = igd.roc(scores, labels)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert len(fpr) == len(tpr) == len(thresholds) <= len(scores) + 1
    assert np.trapz(tpr, fpr) == pytest.approx(igd.auroc(scores, labels), abs=1e-12)
    for q in (0.0, 0.1, 0.5, 0.99, 1.0):
        assert igd.quantile(scores, q) == pytest.approx(np.quantile(scores, q), abs=1e-12)


def test_metric_errors():
    with pytest.raises(igd.InvalidArgumentError):
        igd.auroc([0.1, 0.2], [0, 0])  # one class only
    with pytest.raises(igd.InvalidArgumentError):
        igd.auroc([0.1, 0.2, 0.3], [0, 1])
    with pytest.raises(igd.InvalidArgumentError):
        igd.quantile([1.0, 2.0], 1.5)
    with pytest.raises(igd.InvalidArgumentError):
        igd.quantile([], 0.5)


def test_pixel_metrics():
    rng = np.random.default_rng(2)
    masks = np.zeros((3, 12, 10), np.uint8)
    masks[0, 2:6, 3:7] = 255
    masks[2, 7:11, 1:4] = 1
    perfect = masks.astype(np.float32)
    with igd.PixelMetrics() as pm:
        pm.add(perfect, masks)
        assert pm.auroc() == 1.0
        assert pm.aupro(0.3) == pytest.approx(1.0, abs=1e-6)
    noisy = rng.random((3, 12, 10)).astype(np.float32) + perfect * 0.3
    pm = igd.PixelMetrics()
    for i in range(3):
        pm.add(noisy[i], masks[i] > 0)  # boolean masks work too
    pm_maps = rng.random((5, 7)).astype(np.float32)
    pm.add(pm_maps, np.zeros((5, 7), bool))  # another size
    all_maps = np.concatenate([noisy.ravel(), pm_maps.ravel()])
    all_masks = np.concatenate([(masks.ravel() > 0), np.zeros(35, bool)]).astype(int)
    assert pm.auroc() == pytest.approx(_auroc_ref(all_maps.astype(np.float64), all_masks),
                                       abs=1e-9)
    assert 0.0 <= pm.aupro() <= 1.0
    with pytest.raises(igd.InvalidArgumentError):
        pm.add(np.zeros((4, 4), np.float32), np.zeros((4, 5), np.uint8))
    with pytest.raises(igd.InvalidArgumentError):
        pm.aupro(0.0)
    pm.close()
    with pytest.raises(ValueError, match="closed"):
        pm.auroc()


def test_pixel_auroc_equals_reference():
    rng = np.random.default_rng(5)
    maps = rng.random((2, 9, 8)).astype(np.float32)
    masks = (rng.random((2, 9, 8)) < 0.2).astype(np.uint8)
    pm = igd.PixelMetrics().add(maps, masks)
    assert pm.auroc() == pytest.approx(_auroc_ref(maps.ravel().astype(np.float64),
                                                  masks.ravel()), abs=1e-9)
