"""Shared fixtures: tiny models (fast to train) and synthetic images."""

from __future__ import annotations

import os
import pathlib
from typing import Dict

import numpy as np
import pytest

import igd

#: A model small enough to train in well under a second; one thread so that timings do not
#: depend on the machine's load.
TINY: Dict[str, object] = dict(
    global_size=16,
    base_width=4,
    depth=2,
    latent_size=8,
    hidden_size=0,
    batch_size=8,
    epochs=1,
    threads=1,
)

REPO = pathlib.Path(__file__).resolve().parents[3]


def make_images(n: int, h: int = 16, w: int = 16, seed: int = 0, c: int = 0) -> np.ndarray:
    """Smooth random grey (or c-channel) uint8 images: blobs plus noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.empty((n, h, w), np.float64)
    for i in range(n):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        r = rng.uniform(2, max(3, h / 3))
        out[i] = 0.7 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
    out += rng.uniform(0, 0.3, out.shape)
    img = np.clip(out * 255, 0, 255).astype(np.uint8)
    if c:
        img = np.repeat(img[..., None], c, axis=3).copy()
    return img


@pytest.fixture(scope="session")
def train_images() -> np.ndarray:
    return make_images(16, seed=1)


@pytest.fixture(scope="session")
def test_images() -> np.ndarray:
    return make_images(6, seed=2)


@pytest.fixture(scope="session")
def model_bytes(train_images: np.ndarray) -> bytes:
    """A tiny trained global model with a threshold, as model file bytes."""
    with igd.Model(**TINY) as m:
        m.estep(train_images)
        m.train_step(train_images[:8])
        m.estep(train_images)
        m.calibrate(m.detect(train_images), 0.9)
        return m.to_bytes()


@pytest.fixture(scope="session")
def model_path(model_bytes: bytes, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("model") / "tiny.igd"
    path.write_bytes(model_bytes)
    return str(path)


@pytest.fixture
def model(model_bytes: bytes):
    """A fresh copy of the tiny trained model for each test."""
    with igd.Model.from_bytes(model_bytes, threads=1) as m:
        yield m


def library_path() -> str:
    """The file of the loaded library."""
    return igd.library_path if os.path.isabs(igd.library_path) else ""
