"""Status codes as exceptions, and options."""

from __future__ import annotations

import pytest

import igd
from igd import errors

from conftest import TINY

STATUS_CLASSES = {
    -1: igd.InvalidArgumentError,
    -2: igd.OutOfMemoryError,
    -3: igd.InputOutputError,
    -4: igd.CorruptError,
    -5: igd.UnsupportedError,
    -6: igd.LimitError,
    -7: igd.AbortedError,
    -8: igd.StateError,
    -9: igd.BackendError,
    -10: igd.VersionError,
    -11: igd.NotFoundError,
    -12: igd.InternalError,
    -13: igd.NumericError,
}


def test_one_class_per_status():
    assert len(set(STATUS_CLASSES.values())) == 13
    for status, cls in STATUS_CLASSES.items():
        assert issubclass(cls, igd.Error)
        err = igd.error_for_status(status, "msg")
        assert type(err) is cls and err.status == status and err.message == "msg"
        assert str(err) == "msg"
        assert igd.status_string(status) not in ("", "unknown status")
    assert igd.status_string(0) == "success"
    assert type(igd.error_for_status(-99, "x")) is igd.Error
    assert issubclass(igd.InvalidArgumentError, ValueError)
    assert issubclass(igd.OutOfMemoryError, MemoryError)
    assert issubclass(igd.InputOutputError, OSError)
    assert issubclass(igd.NotFoundError, LookupError)


def test_corrupt_model_raises_corrupt_error_with_the_library_message(model_bytes, tmp_path):
    damaged = bytearray(model_bytes)
    damaged[len(damaged) // 2] ^= 0xFF
    with pytest.raises(igd.CorruptError) as info:
        igd.Model.from_bytes(bytes(damaged))
    err = info.value
    assert err.status == -4
    assert err.message and err.message == igd.last_error()
    path = tmp_path / "bad.igd"
    path.write_bytes(b"not a model file at all, not at all")
    with pytest.raises(igd.CorruptError) as info:
        igd.Model.load(path)
    assert info.value.message == igd.last_error() != ""


def test_missing_file_and_bad_arguments():
    with pytest.raises((igd.NotFoundError, igd.InputOutputError)) as info:
        igd.Model.load("/nonexistent/model.igd")
    assert "nonexistent" in info.value.message
    with pytest.raises(igd.InvalidArgumentError) as info:
        igd.Model(global_size=3)  # below the bound
    assert "global_size" in info.value.message or "3" in info.value.message
    with pytest.raises(igd.NotFoundError, match="no_such_option"):
        igd.Model(no_such_option=1)


def test_object_error_message(model):
    with pytest.raises(igd.StateError) as info:
        model.set_options(global_size=32)  # not a runtime option
    assert model.error == info.value.message
    assert "global_size" in model.error


def test_options_by_name_and_enum_names():
    opts = igd.Options(global_size=16, classifier="svdd", rho=0.25, bn_mode=igd.BnMode.FROZEN)
    assert opts["global_size"] == 16
    assert opts["classifier"] == igd.Classifier.SVDD == 2
    assert opts["rho"] == 0.25
    assert opts["bn_mode"] == 1
    opts["rho"] = "0.5"  # text goes through igd_options_parse
    assert opts["rho"] == 0.5
    opts["partner"] = "random"
    assert opts["partner"] == igd.Partner.RANDOM
    assert opts["conv_algorithm"] == igd.ConvAlgorithm.FAST
    for alg in igd.ConvAlgorithm:
        opts["conv_algorithm"] = alg.name.lower()
        assert opts["conv_algorithm"] == alg
    assert opts["standardize"] == 0.0
    opts["standardize"] = 3
    assert opts["standardize"] == 3.0
    with pytest.raises(igd.InvalidArgumentError):
        opts["standardize"] = -1
    opts["epochs"] = 3.0
    assert opts["epochs"] == 3
    with pytest.raises(igd.InvalidArgumentError):
        opts["epochs"] = 2.5
    with pytest.raises(igd.InvalidArgumentError):
        opts["classifier"] = "nonsense"
    with pytest.raises(igd.InvalidArgumentError):
        opts["rho"] = 2.0
    d = opts.to_dict()
    assert set(d) == set(igd.option_names()) and d["rho"] == 0.5
    c = opts.copy()
    c["rho"] = 0.75
    assert opts["rho"] == 0.5 and c["rho"] == 0.75
    assert "rho=0.5" in repr(opts)
    assert opts[igd.option_key("rho")] == 0.5
    assert list(opts) == igd.option_names()
    with igd.Options() as o:
        pass
    assert o.closed
    with pytest.raises(ValueError, match="closed"):
        o["rho"]


def test_option_table():
    table = igd.options_table()
    assert len(table) == len(igd.option_names())
    keys = [i.key for i in table]
    assert keys == sorted(keys)
    info = igd.option_info("learning_rate")
    assert info.type == igd.OptionType.REAL and info.default == pytest.approx(1e-4)
    assert info.help and not info.runtime
    gs = igd.option_info("global_size")
    assert gs.type == igd.OptionType.INT and gs.default == 32 and gs.min == 8
    assert igd.option_info("threads").runtime
    assert igd.option_key("global_size") == 3 == gs.key
    assert igd.option_info(3).name == "global_size"
    with pytest.raises(igd.NotFoundError):
        igd.option_info("nope")
    with pytest.raises(igd.InvalidArgumentError):
        igd.option_info(9999)


def test_model_options_and_runtime_options():
    with igd.Model(TINY, classifier="gaussian_msd") as m:
        o = m.options
        assert o["classifier"] == 1 and o["global_size"] == 16 and o["threads"] == 1
        m.set_options(heatmap_smooth=0, rho=0.3, patch_stride="8", conv_algorithm="direct")
        o = m.options
        assert o["heatmap_smooth"] == 0 and o["rho"] == 0.3 and o["patch_stride"] == 8
        assert o["conv_algorithm"] == igd.ConvAlgorithm.DIRECT
        with pytest.raises(igd.InvalidArgumentError):
            m.set_options(rho=5)
        assert m.options["rho"] == 0.3
    assert isinstance(errors.Error("x"), Exception)


@pytest.mark.parametrize("name,value", [("threads", 2**70), ("global_size", 2**64 + 16),
                                        ("seed", -(2**63) - 1), ("threads", 2**64)])
def test_integers_beyond_64_bits_are_refused_not_wrapped(name, value):
    opts = igd.Options()
    with pytest.raises((OverflowError, ValueError)):
        opts[name] = value
    assert opts[name] == igd.Options()[name]  # unchanged
    with pytest.raises((OverflowError, ValueError)):
        igd.Model({**TINY, name: value})


def test_paths_with_an_embedded_nul_are_refused(tmp_path, model_bytes):
    model = igd.Model.from_bytes(model_bytes)
    target = tmp_path / "a.igd"
    with pytest.raises(ValueError):
        model.save(str(target) + "\0.bak")
    assert not target.exists()
    with pytest.raises(ValueError):
        igd.Model.load(str(target) + "\0x")
    with pytest.raises(ValueError):
        igd.Options()["rho\0x"] = 0.2
