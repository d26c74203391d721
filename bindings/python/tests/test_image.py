"""Images: decoding, encoding, resizing, conversion, colouring, against numpy references."""

from __future__ import annotations

import numpy as np
import pytest

import igd

from conftest import make_images


def test_png_round_trips(tmp_path):
    grey = make_images(1, 9, 13)[0]
    path = tmp_path / "g.png"
    igd.save_png(grey, path)
    assert np.array_equal(igd.load_image(path), grey)
    rgb = np.stack([grey, 255 - grey, grey // 2], axis=2)
    data = igd.encode_png(rgb)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    back = igd.decode_image(data)
    assert back.shape == (9, 13, 3) and back.dtype == np.uint8 and np.array_equal(back, rgb)
    deep = grey.astype(np.uint16) * 257 + 3
    igd.save_png(deep, tmp_path / "d.png")
    back = igd.load_image(tmp_path / "d.png")
    assert back.dtype == np.uint16 and np.array_equal(back, deep)
    # A strided view of rows is read in place.
    igd.save_png(rgb[::2, 1:], tmp_path / "v.png")
    assert np.array_equal(igd.load_image(tmp_path / "v.png"), rgb[::2, 1:])


def test_image_object(tmp_path):
    img = igd.Image.create(5, 4, 3, np.float32)
    assert (img.width, img.height, img.channels, img.dtype) == (5, 4, 3, np.float32)
    assert img.stride == 5 * 3 * 4 and img.shape == (4, 5, 3)
    assert np.array_equal(img.to_array(), np.zeros((4, 5, 3), np.float32))
    assert img.data_pointer() == img.data_pointer(const=True) != 0
    view = img.view()
    view[1, 2, 0] = 0.5  # writes the library's pixels
    assert img.to_array()[1, 2, 0] == 0.5
    assert np.asarray(img)[1, 2, 0] == 0.5
    expected = make_images(1, 6, 7)[0]
    kept = igd.Image.from_array(expected).view()  # the view alone keeps its Image alive
    import gc
    gc.collect()
    assert np.array_equal(kept, expected) and kept.shape == (6, 7)
    assert "5x4" in repr(img)
    with igd.Image.from_array(make_images(1, 6, 7)[0]) as g:
        assert g.shape == (6, 7) and g.dtype == np.uint8
        g.save_png(tmp_path / "x.png")
        with igd.Image.load(tmp_path / "x.png") as h:
            assert np.array_equal(h.to_array(), g.to_array())
        with igd.Image.decode(g.encode_png()) as h:
            assert np.array_equal(h.to_array(), g.to_array())
    assert g.closed
    with pytest.raises(ValueError, match="closed"):
        g.width
    img.close()
    img.close()  # twice is fine


def test_resize_convert_crop_against_references():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (8, 12), dtype=np.uint8).astype(np.float32) / 255
    half = igd.resize(a, 6, 4)
    ref = a.reshape(4, 2, 6, 2).mean(axis=(1, 3))  # area averaging of 2x2 blocks
    assert half.shape == (4, 6) and np.allclose(half, ref, atol=1e-6)
    const = np.full((5, 7, 3), 0.25, np.float32)
    assert np.allclose(igd.resize(const, 11, 9), 0.25)
    rgb = rng.random((4, 5, 3)).astype(np.float32)
    grey = igd.convert(rgb, channels=1)
    ref = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    assert grey.shape == (4, 5) and np.allclose(grey, ref, atol=1e-6)
    back = igd.convert(grey, channels=3)
    assert np.allclose(back, np.repeat(grey[..., None], 3, axis=2))
    u8 = igd.convert(np.array([[0.0, 1.0, 0.5]], np.float32), dtype=np.uint8)
    assert u8.dtype == np.uint8 and u8[0, 0] == 0 and u8[0, 1] == 255 and u8[0, 2] in (127, 128)
    big = np.arange(10 * 12, dtype=np.uint8).reshape(10, 12)
    assert np.array_equal(igd.crop_center(big, 4, 6), big[2:8, 4:8])
    with pytest.raises(igd.InvalidArgumentError):
        igd.crop_center(big, 20, 2)
    with pytest.raises(igd.InvalidArgumentError):
        igd.resize(make_images(2), 4, 4)  # a batch is not one image


def test_colorize():
    m = np.tile(np.linspace(0, 1, 16, dtype=np.float32), (4, 1))
    c = igd.colorize(m, 0.0, 1.0)
    assert c.shape == (4, 16, 3) and c.dtype == np.uint8
    assert not np.array_equal(c[0, 0], c[0, -1])  # the ends of the colour map differ
    assert np.array_equal(c[0], c[3])
    # Values outside lo..hi take the end colours.
    d = igd.colorize(m * 3 - 1, 0.0, 1.0)
    assert np.array_equal(d[0, 0], c[0, 0]) and np.array_equal(d[0, -1], c[0, -1])
    base = np.full((4, 16), 200, np.uint8)
    assert np.array_equal(igd.colorize(m, 0, 1, base=base, opacity=0.0),
                          np.full((4, 16, 3), 200, np.uint8))
    assert np.array_equal(igd.colorize(m, 0, 1, base=base, opacity=1.0), c)
    with pytest.raises(igd.InvalidArgumentError):
        igd.colorize(m, 0, 1, base=np.zeros((3, 3), np.uint8))


def test_image_errors_and_limits(tmp_path):
    with pytest.raises(igd.CorruptError) as info:
        igd.decode_image(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    assert info.value.message
    with pytest.raises((igd.UnsupportedError, igd.CorruptError)):
        igd.decode_image(b"GIF89a" + b"\0" * 40)
    with pytest.raises((igd.NotFoundError, igd.InputOutputError)):
        igd.load_image(tmp_path / "missing.png")
    igd.save_png(make_images(1, 20, 30)[0], tmp_path / "big.png")
    with pytest.raises(igd.LimitError):
        igd.load_image(tmp_path / "big.png", limits={"max_image_side": 25})
    with igd.Options(max_image_pixels=100) as lim, pytest.raises(igd.LimitError):
        igd.Image.load(tmp_path / "big.png", lim)
    assert igd.load_image(tmp_path / "big.png", limits={"max_image_side": 30}).shape == (20, 30)
