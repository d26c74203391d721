"""numpy batches: shapes, dtypes, strides described without copies, copies when needed."""

from __future__ import annotations

import numpy as np
import pytest

import igd
from igd import _arrays

from conftest import make_images


def _inside(batch, original):
    """Whether the batch's pointer lies in the original array's memory (no copy made)."""
    lo = original.__array_interface__["data"][0]
    return lo <= batch.pointer < lo + original.nbytes


def test_shapes():
    imgs = make_images(3, 12, 10)
    b = _arrays.batch(imgs)
    assert (b.count, b.height, b.width, b.channels, b.single) == (3, 12, 10, 1, False)
    assert b.row_stride == 10 and b.image_stride == 120 and b.pointer == imgs.ctypes.data
    b = _arrays.batch(imgs[0])
    assert (b.count, b.height, b.width, b.channels, b.single) == (1, 12, 10, 1, True)
    rgb = make_images(2, 12, 10, c=3)
    b = _arrays.batch(rgb)
    assert (b.count, b.channels, b.row_stride, b.image_stride) == (2, 3, 30, 360)
    b = _arrays.batch(rgb[0])
    assert (b.count, b.height, b.width, b.channels, b.single) == (1, 12, 10, 3, True)
    b = _arrays.batch(imgs[..., None])
    assert (b.count, b.channels) == (3, 1)
    with pytest.raises(igd.InvalidArgumentError, match="alpha"):
        _arrays.batch(np.zeros((8, 8, 4), np.uint8))  # RGBA
    assert _arrays.batch(np.zeros((8, 8, 4, 1), np.uint8)).count == 8
    with pytest.raises(igd.InvalidArgumentError):
        _arrays.batch(np.zeros(5, np.uint8))
    with pytest.raises(igd.InvalidArgumentError):
        _arrays.batch(np.zeros((1, 2, 3, 4, 5), np.uint8))


def test_dtypes():
    imgs = make_images(2)
    assert _arrays.batch(imgs).type == _arrays.PIXEL_U8
    assert _arrays.batch(imgs.astype(np.uint16) * 257).type == _arrays.PIXEL_U16
    f = imgs.astype(np.float32) / 255
    b = _arrays.batch(f)
    assert b.type == _arrays.PIXEL_F32 and b.pointer == f.ctypes.data
    assert b.row_stride == 16 * 4
    d = _arrays.batch(imgs.astype(np.float64) / 255)
    assert d.type == _arrays.PIXEL_F32 and d.array.dtype == np.float32
    with pytest.raises(TypeError):
        _arrays.batch(imgs.astype(np.int32))
    with pytest.raises(TypeError):
        _arrays.batch(imgs.astype(bool))


def test_views_pass_without_copies():
    big = make_images(10, 20, 24, c=3)
    crop = big[2:8:2, 3:15, 4:20]  # every other image, a window of rows and columns
    b = _arrays.batch(crop)
    assert _inside(b, big) and b.pointer == crop.__array_interface__["data"][0]
    assert b.row_stride == 24 * 3 and b.image_stride == 2 * 20 * 24 * 3
    assert (b.count, b.height, b.width, b.channels) == (3, 12, 16, 3)
    grey = make_images(6, 20, 24)
    b = _arrays.batch(grey[:, 2:18, 1:17])
    assert _inside(b, grey) and b.row_stride == 24 and b.image_stride == 480
    b = _arrays.batch(grey[4])  # one image of a batch
    assert _inside(b, grey) and b.image_stride == 0
    # One channel of an RGB batch cannot be described (channel stride 3 bytes): copied.
    b = _arrays.batch(big[:, :, :, :1])
    assert not _inside(b, big) and b.array.flags.c_contiguous
    # Transposed images and reversed rows are copied as well.
    for view in (grey.transpose(0, 2, 1), grey[:, ::-1], grey[::-1], grey[:, :, ::2]):
        b = _arrays.batch(view)
        assert not _inside(b, grey)
        assert np.array_equal(b.array[..., 0], view)
    # Images that overlap each other (stride smaller than an image) are copied.
    overlapping = np.lib.stride_tricks.as_strided(grey, shape=(3, 20, 24),
                                                  strides=(24, 24, 1))
    assert not _inside(_arrays.batch(overlapping), grey)


def test_views_and_copies_score_alike(model):
    big = make_images(8, 24, 30, seed=5)
    view = big[1:7:2, 3:19, 5:21]
    contiguous = np.ascontiguousarray(view)
    assert np.array_equal(model.detect(view), model.detect(contiguous))
    assert np.array_equal(model.heatmap(view), model.heatmap(contiguous))
    # Reversed rows go through a copy, and are scored as that copy.
    flipped = big[:, ::-1, :]
    assert np.array_equal(model.detect(flipped), model.detect(np.ascontiguousarray(flipped)))
    # Floats in 0..1 and uint8 give the same scores up to rounding of the input.
    f = contiguous.astype(np.float32) / 255
    assert np.allclose(model.detect(f), model.detect(contiguous), rtol=1e-4, atol=1e-5)
    u16 = contiguous.astype(np.uint16) * 257
    assert np.allclose(model.detect(u16), model.detect(contiguous), rtol=1e-4, atol=1e-5)
    # One image alone scores as in a batch.
    assert model.detect(contiguous[1])[0] == model.detect(contiguous)[1]
    assert model.detect(contiguous[1][..., None])[0] == model.detect(contiguous)[1]
    # Lists of images are stacked.
    assert np.array_equal(model.detect(list(contiguous)), model.detect(contiguous))


def test_empty_batches(model):
    empty = np.zeros((0, 16, 16), np.uint8)
    assert model.detect(empty).shape == (0,)
    assert model.heatmap(empty).shape == (0, 16, 16)
    assert model.encode(empty).shape == (0, 8)
    with pytest.raises(igd.InvalidArgumentError):
        model.train_step(empty)
