"""Data sets: arrays, folders, MVTec AD trees, IDX files, and the protocol edits."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

import igd

from conftest import make_images


def _write_idx(path, array, gz=True):
    code = {np.dtype(np.uint8): 0x08}[array.dtype]
    header = struct.pack(">HBB", 0, code, array.ndim) + b"".join(
        struct.pack(">I", d) for d in array.shape)
    data = header + array.tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


def test_from_array_and_accessors():
    imgs = make_images(6, 10, 12)
    labels = [0, 0, 1, 0, 1, 0]
    classes = [3, 3, 5, 3, 7, 3]
    with igd.Dataset.from_array(imgs, labels, classes) as ds:
        assert len(ds) == 6
        assert list(ds.labels) == labels and list(ds.classes) == classes
        assert ds.label(2) == 1 and ds.class_id(4) == 7 and ds.label(-1) == 0
        assert ds.path(0) is None
        assert np.array_equal(ds.load(3), imgs[3]) and np.array_equal(ds[3], imgs[3])
        assert np.array_equal(ds.load_all(), imgs)
        assert np.array_equal(np.stack(list(ds)), imgs)
        assert np.array_equal(ds.load_mask(0), np.zeros((10, 12), np.uint8))
        with pytest.raises(IndexError):
            ds.load(6)
        with ds.load_image(1) as img:
            assert img.shape == (10, 12)
        assert "6 samples" in repr(ds)
    with pytest.raises(igd.InvalidArgumentError):
        igd.Dataset.from_array(imgs, [0, 1])
    with pytest.raises(igd.InvalidArgumentError):
        igd.Dataset.from_array(imgs, [0, 0, 2, 0, 0, 0])
    rgb = make_images(3, 8, 8, c=3)
    with igd.Dataset.from_array(rgb[:, 1:7]) as ds:  # a strided view is copied by the library
        assert np.array_equal(ds.load_all(), rgb[:, 1:7])


def test_protocol_edits():
    imgs = make_images(20, 8, 8)
    classes = [i % 4 for i in range(20)]
    ds = igd.Dataset.from_array(imgs, classes=classes)
    assert ds.set_normal_class(2) is ds
    assert list(ds.labels) == [0 if c == 2 else 1 for c in classes]
    cp = ds.copy()
    cp.keep_label(0)
    assert len(cp) == 5 and set(cp.classes) == {2} and len(ds) == 20
    sh = ds.copy().shuffle(7)
    assert sorted(map(bytes, sh.load_all())) == sorted(map(bytes, imgs))
    assert not np.array_equal(sh.load_all(), imgs)
    assert np.array_equal(ds.copy().shuffle(7).load_all(), sh.load_all())  # same seed
    sub = ds.copy().subsample(0.5, 3)
    assert len(sub) == 10
    train = ds.copy().keep_label(0)
    source = ds.copy().keep_label(1)
    train.contaminate(source, 0.5, 1)
    assert len(train) == 10 and list(train.labels).count(1) == 5 and len(source) == 10
    with pytest.raises(igd.InvalidArgumentError):
        ds.subsample(0.0)
    ds.close()
    with pytest.raises(ValueError, match="closed"):
        len(ds)


def test_open_folder(tmp_path):
    imgs = make_images(3, 9, 7)
    for i, img in enumerate(imgs):
        igd.save_png(img, tmp_path / f"im{i}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    ds = igd.Dataset.open_folder(tmp_path, label=1)
    assert len(ds) == 3 and list(ds.labels) == [1, 1, 1]
    assert ds.path(0).endswith("im0.png")
    assert np.array_equal(ds.load_all(), imgs)
    with pytest.raises((igd.NotFoundError, igd.InputOutputError)):
        igd.Dataset.open_folder(tmp_path / "missing")


def test_open_mvtec(tmp_path):
    root = tmp_path / "bottle"
    for d in ("train/good", "test/good", "test/crack", "ground_truth/crack"):
        (root / d).mkdir(parents=True)
    imgs = make_images(5, 8, 8, seed=4)
    igd.save_png(imgs[0], root / "train/good/000.png")
    igd.save_png(imgs[1], root / "train/good/001.png")
    igd.save_png(imgs[2], root / "test/good/000.png")
    igd.save_png(imgs[3], root / "test/crack/000.png")
    igd.save_png(imgs[4], root / "test/crack/001.png")
    mask = np.zeros((8, 8), np.uint8)
    mask[2:5, 3:6] = 255
    igd.save_png(mask, root / "ground_truth/crack/000_mask.png")
    train = igd.Dataset.open_mvtec(root, "train")
    assert len(train) == 2 and list(train.labels) == [0, 0]
    test = igd.Dataset.open_mvtec(root, igd.SPLIT_TEST)
    assert len(test) == 3 and sorted(test.labels) == [0, 1, 1]
    names = {test.class_name(test.class_id(i)) for i in range(3)}
    assert names == {"good", "crack"}
    for i in range(3):
        if test.path(i).endswith("crack/000.png"):
            assert np.array_equal(test.load_mask(i), mask)
        elif test.path(i).endswith("crack/001.png"):
            with pytest.raises(igd.NotFoundError):
                test.load_mask(i)
        else:
            assert not test.load_mask(i).any()
    with pytest.raises(igd.InvalidArgumentError):
        igd.Dataset.open_mvtec(root, "validation")
    with pytest.raises((igd.NotFoundError, igd.InputOutputError)):
        igd.Dataset.open_mvtec(tmp_path / "nothing")


def test_open_idx(tmp_path):
    imgs = make_images(7, 6, 5, seed=9)
    labels = np.array([0, 1, 2, 1, 0, 2, 1], np.uint8)
    _write_idx(tmp_path / "img.gz", imgs)
    _write_idx(tmp_path / "lab", labels, gz=False)
    ds = igd.Dataset.open_idx(tmp_path / "img.gz", tmp_path / "lab")
    assert len(ds) == 7 and list(ds.classes) == list(labels) and not ds.labels.any()
    assert np.array_equal(ds.load_all(), imgs)
    assert ds.class_name(1) == "1"
    ds.set_normal_class(1)
    assert list(ds.labels) == [int(c != 1) for c in labels]
    ds2 = igd.Dataset.open_idx(tmp_path / "img.gz")
    assert len(ds2) == 7
    with pytest.raises(igd.LimitError):
        igd.Dataset.open_idx(tmp_path / "img.gz", limits={"max_image_side": 4})
    (tmp_path / "bad").write_bytes(b"\0\0\x08\x03" + b"\0" * 5)
    with pytest.raises(igd.CorruptError):
        igd.Dataset.open_idx(tmp_path / "bad")
