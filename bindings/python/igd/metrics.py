"""Metrics: image-level AUROC, F1-max, accuracy, ROC, quantiles; pixel-level AUROC and AUPRO."""

from __future__ import annotations

import ctypes
from typing import Any, Tuple

import numpy as np

from . import _arrays, _lib
from ._handle import Owned
from .errors import InvalidArgumentError

__all__ = ["auroc", "f1_max", "accuracy", "roc", "quantile", "PixelMetrics"]


def _scores_labels(scores: Any, labels: Any) -> Tuple[np.ndarray, np.ndarray]:
    s = _arrays.contiguous(scores, np.float64, "scores", ndim=1)
    lab = _arrays.contiguous(labels, np.intc, "labels", ndim=1)
    if s.shape != lab.shape:
        raise InvalidArgumentError(f"{s.shape[0]} scores but {lab.shape[0]} labels")
    return s, lab


def auroc(scores: Any, labels: Any) -> float:
    """Area under the ROC curve (labels: 1 anomalous = positive, 0 normal; ties count half)."""
    s, lab = _scores_labels(scores, labels)
    out = ctypes.c_double()
    _lib.lib.igd_metric_auroc(s.ctypes.data, lab.ctypes.data, s.shape[0], ctypes.byref(out))
    return out.value


def f1_max(scores: Any, labels: Any) -> Tuple[float, float]:
    """The best F1 over all thresholds (anomalous when score >= threshold), and that threshold."""
    s, lab = _scores_labels(scores, labels)
    f1, t = ctypes.c_double(), ctypes.c_double()
    _lib.lib.igd_metric_f1_max(s.ctypes.data, lab.ctypes.data, s.shape[0], ctypes.byref(f1),
                               ctypes.byref(t))
    return f1.value, t.value


def accuracy(scores: Any, labels: Any, threshold: float) -> float:
    """Share of samples classified right at a threshold (anomalous when score >= threshold)."""
    s, lab = _scores_labels(scores, labels)
    out = ctypes.c_double()
    _lib.lib.igd_metric_accuracy(s.ctypes.data, lab.ctypes.data, s.shape[0], float(threshold),
                                 ctypes.byref(out))
    return out.value


def roc(scores: Any, labels: Any) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ROC curve's corner points from (0, 0) to (1, 1): (fpr, tpr, thresholds)."""
    s, lab = _scores_labels(scores, labels)
    points = ctypes.c_size_t()
    _lib.lib.igd_metric_roc(s.ctypes.data, lab.ctypes.data, s.shape[0], None, None, None, 0,
                            ctypes.byref(points))
    n = points.value
    fpr, tpr, thr = np.zeros(n), np.zeros(n), np.zeros(n)
    _lib.lib.igd_metric_roc(s.ctypes.data, lab.ctypes.data, s.shape[0], fpr.ctypes.data,
                            tpr.ctypes.data, thr.ctypes.data, n, ctypes.byref(points))
    n = points.value
    return fpr[:n], tpr[:n], thr[:n]


def quantile(values: Any, q: float) -> float:
    """The q-quantile (0 <= q <= 1, linear interpolation) of values."""
    v = _arrays.contiguous(values, np.float64, "values", ndim=1)
    out = ctypes.c_double()
    _lib.lib.igd_metric_quantile(v.ctypes.data, v.shape[0], float(q), ctypes.byref(out))
    return out.value


class PixelMetrics(Owned):
    """Pixel-level metrics accumulated image by image (igd_pixel_metrics); images may differ
    in size."""

    _kind = "pixel metrics"

    def __init__(self) -> None:
        out = ctypes.c_void_p()
        _lib.lib.igd_pixel_metrics_create(ctypes.byref(out))
        self._own(out.value, _lib.lib.igd_pixel_metrics_free)

    def add(self, maps: Any, masks: Any) -> "PixelMetrics":
        """Adds one (H, W) map and its mask (nonzero = anomalous pixel), or a batch of them
        shaped (N, H, W)."""
        m = np.asarray(maps)
        k = np.asarray(masks)
        if m.ndim == 3 and k.ndim == 3:
            if m.shape[0] != k.shape[0]:
                raise InvalidArgumentError(f"{m.shape[0]} maps but {k.shape[0]} masks")
            for i in range(m.shape[0]):
                self.add(m[i], k[i])
            return self
        mf = _arrays.contiguous(m, np.float32, "map", ndim=2)
        if k.dtype == np.uint8:
            mk = np.ascontiguousarray(k)
        else:
            mk = np.ascontiguousarray(k != 0, dtype=np.uint8)
        if mk.shape != mf.shape:
            raise InvalidArgumentError(f"map {mf.shape} and mask {mk.shape} differ in shape")
        _lib.lib.igd_pixel_metrics_add(self.handle, mf.ctypes.data, mk.ctypes.data,
                                       mf.shape[1], mf.shape[0])
        return self

    def auroc(self) -> float:
        """Pixel AUROC over every pixel added."""
        out = ctypes.c_double()
        _lib.lib.igd_pixel_metrics_auroc(self.handle, ctypes.byref(out))
        return out.value

    def aupro(self, max_fpr: float = 0.3) -> float:
        """Area under the per-region-overlap curve up to max_fpr, normalised to 0..1."""
        out = ctypes.c_double()
        _lib.lib.igd_pixel_metrics_aupro(self.handle, float(max_fpr), ctypes.byref(out))
        return out.value
