"""Models and sessions: training, the E-step, calibration, files, and detection."""

from __future__ import annotations

import contextlib
import ctypes
import enum
import os
import threading
import weakref
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Tuple,
    Union,
)

import numpy as np

from . import _arrays, _lib
from ._handle import Box, Owned
from .dataset import Dataset
from .errors import Error, InvalidArgumentError, StateError
from .image import PathLike
from .options import Options, _to_dict, option_info, OptionType

__all__ = [
    "Net",
    "Stage",
    "LogLevel",
    "Loss",
    "Part",
    "Classifier",
    "BnMode",
    "Partner",
    "Detection",
    "Model",
    "Session",
]


class Net(enum.IntEnum):
    """igd_net: the global model (whole images) or the local model (patches)."""

    GLOBAL = 1
    LOCAL = 2


class Stage(enum.IntEnum):
    """igd_stage: what a progress report is about."""

    ESTEP = 1
    TRAIN = 2
    CALIBRATE = 3
    NORMALIZE = 4
    SEG = 5


class LogLevel(enum.IntEnum):
    """igd_log_level."""

    ERROR = 1
    WARNING = 2
    INFO = 3
    DEBUG = 4


class Loss(enum.IntEnum):
    """igd_loss: the loss terms of a training step."""

    TOTAL = 0
    CLASSIFIER = 1
    RECONSTRUCTION = 2
    MAE = 3
    MSSSIM = 4
    FOOLING = 5
    CRITIC = 6
    SEG = 7


class Part(enum.IntEnum):
    """igd_part: the columns of Detection.parts."""

    SCORE = 0
    NORMALIZED = 1
    GLOBAL = 2
    GLOBAL_REC = 3
    GLOBAL_CLASSIFIER = 4
    LOCAL = 5
    LOCAL_REC = 6
    LOCAL_CLASSIFIER = 7
    SEG = 8


class Classifier(enum.IntEnum):
    """igd_classifier (option "classifier")."""

    GAUSSIAN = 0
    GAUSSIAN_MSD = 1
    SVDD = 2


class BnMode(enum.IntEnum):
    """igd_bn_mode (option "bn_mode")."""

    BATCH = 0
    FROZEN = 1


class Partner(enum.IntEnum):
    """igd_partner (option "partner")."""

    MIRROR = 0
    RANDOM = 1


class ConvAlgorithm(enum.IntEnum):
    """igd_conv_algorithm (option "conv_algorithm")."""

    FAST = 0
    DIRECT = 1
    WINOGRAD = 2


LOSS_COUNT = len(Loss)
PART_COUNT = len(Part)
SAVE_OPTIMIZER = 1

NetLike = Union[str, int, Net]
LogFn = Callable[[LogLevel, str], Any]
ProgressFn = Callable[[Stage, int, int, Optional[Dict[str, float]]], Any]
AbortFn = Callable[[], Any]


def net_value(net: NetLike) -> int:
    """"global" / "local" / Net / 1 / 2 as an igd_net number."""
    if isinstance(net, str):
        try:
            return Net[net.upper()].value
        except KeyError:
            raise InvalidArgumentError(f"net must be 'global' or 'local', not {net!r}") from None
    return int(net)


def _loss_dict(values: Any, count: int) -> Dict[str, float]:
    return {Loss(i).name.lower(): float(values[i]) for i in range(min(count, LOSS_COUNT))}


class Detection(NamedTuple):
    """Results of detect() when decisions or parts are asked for."""

    #: Raw scores s = s_G + s_L, one per image (float64).
    scores: np.ndarray
    #: True where the score reaches the threshold, or None if not asked for.
    decisions: Optional[np.ndarray]
    #: (N, 8) score parts indexed by Part, or None if not asked for.
    parts: Optional[np.ndarray]


class _Callbacks:
    """The model's C callbacks and the Python callables behind them. An exception raised by a
    callable is kept (per thread) and re-raised when the libigd call returns; while one is
    pending no other callable runs and the abort callback asks the library to stop. The ctypes
    function objects live here for as long as the model's handle does."""

    def __init__(self) -> None:
        self.log: Optional[LogFn] = None
        self.progress: Optional[ProgressFn] = None
        self.abort: Optional[AbortFn] = None
        self._pending = threading.local()
        self.c_log = _lib.LOG_FN(self._on_log)
        self.c_progress = _lib.PROGRESS_FN(self._on_progress)
        self.c_abort = _lib.ABORT_FN(self._on_abort)

    def _keep(self, exc: BaseException) -> None:
        if getattr(self._pending, "exc", None) is None:
            self._pending.exc = exc

    def take(self) -> Optional[BaseException]:
        exc = getattr(self._pending, "exc", None)
        self._pending.exc = None
        return exc

    def _busy(self) -> bool:
        """Whether an exception is pending on this thread: callbacks are then skipped until
        the library call returns."""
        return getattr(self._pending, "exc", None) is not None

    def _on_log(self, user: Any, level: int, message: Optional[bytes]) -> None:
        try:
            fn = self.log
            if fn is not None and not self._busy():
                try:
                    lvl: Any = LogLevel(level)
                except ValueError:
                    lvl = level
                fn(lvl, (message or b"").decode("utf-8", "replace"))
        except BaseException as exc:  # noqa: B036 - kept and re-raised after the call
            self._keep(exc)

    def _on_progress(self, user: Any, stage: int, done: int, total: int, losses: Any,
                     count: int) -> None:
        try:
            fn = self.progress
            if fn is not None and not self._busy():
                try:
                    st: Any = Stage(stage)
                except ValueError:
                    st = stage
                terms = _loss_dict(losses, count) if losses and count else None
                fn(st, int(done), int(total), terms)
        except BaseException as exc:  # noqa: B036
            self._keep(exc)

    def _on_abort(self, user: Any) -> int:
        try:
            if self._busy():
                return 1
            fn = self.abort
            return 1 if fn is not None and fn() else 0
        except BaseException as exc:  # noqa: B036
            self._keep(exc)
            return 1


def _free_model(box: Box, sessions: Dict[int, Box], lock: threading.Lock,
                callbacks: _Callbacks) -> None:
    """Frees every session of the model, then the model; the callbacks stay referenced until
    then (this function holds them)."""
    with lock:
        boxes = list(sessions.values())
        sessions.clear()
    for s in boxes:
        s.free()
    box.free()
    del callbacks


@contextlib.contextmanager
def _runtime(values: Mapping[str, Any]) -> Iterator[Optional[Options]]:
    """Temporary Options from keyword arguments (None for none), freed on leaving."""
    if not values:
        yield None
        return
    opts = Options(values)
    try:
        yield opts
    finally:
        opts.close()


class Model(Owned):
    """An IGD model (igd_model).

    ``Model(global_size=16, classifier="svdd")`` creates an untrained model from options given
    by name (see :func:`igd.option_names`); ``Model.load(path)`` / ``Model.from_bytes(b)`` read
    a model file. Training: :meth:`fit` (the whole schedule), or :meth:`estep` and
    :meth:`train_step` by hand. Detection: :meth:`detect`, :meth:`heatmap` and :meth:`encode`
    are thread-safe (each thread gets its own :class:`Session`); mutating calls wait for
    running detections.
    """

    _kind = "model"

    def __init__(self, options: Union[Options, Mapping[str, Any], None] = None,
                 **kwargs: Any) -> None:
        """A new, untrained model: options as an Options object, a mapping, and/or keyword
        arguments by option name (numbers, or names such as classifier="svdd")."""
        given = options if isinstance(options, Options) else None
        opts = Options.coerce(options)
        try:
            if kwargs:
                opts = opts.copy() if opts is not None else Options()
                opts.update(kwargs)
            out = ctypes.c_void_p()
            _lib.lib.igd_model_create(opts.handle if opts else None, ctypes.byref(out))
        finally:
            if opts is not None and opts is not given:
                opts.close()  # a temporary: freed now rather than by the collector
        self._setup(out.value)

    def _setup(self, handle: int) -> None:
        self._sessions: Dict[int, Box] = {}
        self._sessions_lock = threading.Lock()
        self._local = threading.local()
        self._callbacks = _Callbacks()
        box = Box(handle, _lib.lib.igd_model_free)
        self._box = box
        self._finalizer = weakref.finalize(self, _free_model, box, self._sessions,
                                           self._sessions_lock, self._callbacks)
        cb = self._callbacks
        _lib.lib.igd_model_set_log(handle, cb.c_log, None)
        _lib.lib.igd_model_set_progress(handle, cb.c_progress, None)
        _lib.lib.igd_model_set_abort(handle, cb.c_abort, None)

    @classmethod
    def _adopt(cls, handle: int) -> "Model":
        self = cls.__new__(cls)
        self._setup(handle)
        return self

    @classmethod
    def load(cls, path: PathLike, **runtime: Any) -> "Model":
        """Loads a model file; keyword arguments override its [runtime] options (threads, ...);
        the others keep the values saved in the file."""
        out = ctypes.c_void_p()
        with _runtime(runtime) as opts:
            _lib.lib.igd_model_load(os.fsencode(path), opts.handle if opts else None,
                                    ctypes.byref(out))
        return cls._adopt(out.value)

    @classmethod
    def from_bytes(cls, data: bytes, **runtime: Any) -> "Model":
        """Loads a model from the bytes of a model file."""
        buf = bytes(data)
        out = ctypes.c_void_p()
        with _runtime(runtime) as opts:
            _lib.lib.igd_model_load_memory(buf, len(buf), opts.handle if opts else None,
                                           ctypes.byref(out))
        return cls._adopt(out.value)

    # -- calls that may run callbacks -------------------------------------------------------

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Runs a libigd call; re-raises an exception kept from a callback (chained to the
        library's error, if the call failed too)."""
        try:
            result = fn(*args)
        except Error as err:
            pending = self._callbacks.take()
            if pending is not None:
                raise pending from err
            raise
        pending = self._callbacks.take()
        if pending is not None:
            raise pending
        return result

    def set_log(self, fn: Optional[LogFn]) -> None:
        """fn(level: LogLevel, message: str), called on the thread of the call that logs;
        None for silence."""
        self._callbacks.log = fn

    def set_progress(self, fn: Optional[ProgressFn]) -> None:
        """fn(stage: Stage, done: int, total: int, losses: dict or None) during fit."""
        self._callbacks.progress = fn

    def set_abort(self, fn: Optional[AbortFn]) -> None:
        """fn() -> truthy to stop a running fit, which then raises AbortedError. An exception
        in any callback also stops it, and is raised instead."""
        self._callbacks.abort = fn

    # -- files --------------------------------------------------------------------------------

    def save(self, path: PathLike, optimizer: bool = False) -> None:
        """Writes the model file atomically; optimizer=True also keeps Adam's state so that
        training can resume exactly."""
        _lib.lib.igd_model_save(self.handle, os.fsencode(path),
                                SAVE_OPTIMIZER if optimizer else 0)

    def to_bytes(self, optimizer: bool = False) -> bytes:
        """The model file's bytes."""
        flags = SAVE_OPTIMIZER if optimizer else 0
        size = ctypes.c_size_t()
        _lib.lib.igd_model_save_memory(self.handle, flags, None, 0, ctypes.byref(size))
        buf = ctypes.create_string_buffer(size.value)
        _lib.lib.igd_model_save_memory(self.handle, flags, buf, size.value, ctypes.byref(size))
        return buf.raw[: size.value]

    # -- configuration ------------------------------------------------------------------------

    @property
    def options(self) -> Dict[str, Union[int, float]]:
        """The model's configuration: every option by name."""
        out = ctypes.c_void_p()
        _lib.lib.igd_model_get_options(self.handle, ctypes.byref(out))
        with Options._adopt(out.value) as opts:
            return _to_dict(opts.handle)

    def set_options(self, **values: Any) -> None:
        """Changes [runtime] options (threads, patch_stride, rho, heatmap_smooth, ...)."""
        for name, value in values.items():
            info = option_info(name)
            if isinstance(value, str):
                with Options({name: value}) as tmp:
                    value = tmp[name]
            if info.type == OptionType.INT:
                if not float(value).is_integer():
                    raise InvalidArgumentError(f"option '{name}' takes an integer, not {value!r}")
                _lib.lib.igd_model_set_option_int(self.handle, info.key, int(value))
            else:
                _lib.lib.igd_model_set_option_real(self.handle, info.key, float(value))

    @property
    def channels(self) -> int:
        return int(self.options["channels"])

    @property
    def normalization(self) -> Tuple[np.ndarray, np.ndarray]:
        """Per-channel (mean, std) subtracted from and dividing pixels in 0..1."""
        c = self.channels
        mean = np.zeros(c, np.float64)
        std = np.zeros(c, np.float64)
        _lib.lib.igd_model_get_normalization(self.handle, mean.ctypes.data, std.ctypes.data, c)
        return mean, std

    def set_normalization(self, mean: Any, std: Any) -> None:
        """Sets the per-channel normalisation (one value per channel each)."""
        m = _arrays.contiguous(np.atleast_1d(mean), np.float64, "mean", ndim=1)
        s = _arrays.contiguous(np.atleast_1d(std), np.float64, "std", ndim=1)
        if m.shape != s.shape:
            raise InvalidArgumentError("mean and std need one value per channel each")
        _lib.lib.igd_model_set_normalization(self.handle, m.ctypes.data, s.ctypes.data,
                                             m.shape[0])

    @property
    def error(self) -> str:
        """The message of the model's most recent failed call ("" if none)."""
        return (_lib.lib.igd_model_error(self.handle) or b"").decode("utf-8", "replace")

    # -- training -----------------------------------------------------------------------------

    def fit(self, data: Any, labels: Any = None) -> "Model":
        """Trains on a Dataset's normal images (or an (N, H, W[, C]) array) with the whole
        schedule: normalisation, E-steps, epochs, threshold calibration."""
        if isinstance(data, Dataset):
            self._call(_lib.lib.igd_model_fit, self.handle, data.handle)
        else:
            with Dataset.from_array(data, labels) as ds:
                self._call(_lib.lib.igd_model_fit, self.handle, ds.handle)
        return self

    def train_step(self, images: Any, net: NetLike = "global") -> Dict[str, float]:
        """One M-step on a batch of normal images; returns the loss terms by name (total,
        classifier, reconstruction, mae, msssim, fooling, critic)."""
        b = _arrays.batch(images)
        losses = np.zeros(LOSS_COUNT, np.float64)
        self._call(_lib.lib.igd_model_train_step, self.handle, net_value(net), *b.args(),
                   losses.ctypes.data, LOSS_COUNT)
        return _loss_dict(losses, LOSS_COUNT)

    def estep_begin(self, net: NetLike = "global") -> None:
        """Starts a streamed E-step."""
        self._call(_lib.lib.igd_model_estep_begin, self.handle, net_value(net))

    def estep_add(self, images: Any, net: NetLike = "global") -> None:
        """Adds a batch of training images to a streamed E-step."""
        b = _arrays.batch(images)
        self._call(_lib.lib.igd_model_estep_add, self.handle, net_value(net), *b.args())

    def estep_finish(self, net: NetLike = "global") -> None:
        """Ends a streamed E-step: sets the classifier's centre and spread."""
        self._call(_lib.lib.igd_model_estep_finish, self.handle, net_value(net))

    def estep(self, images: Any, net: NetLike = "global", batch_size: int = 64) -> None:
        """The whole E-step over the training images: a Dataset (its normal samples' pixels,
        grouped in batches of equal size), one (N, H, W[, C]) array (in batches of
        batch_size), or any iterable of images or batches."""
        n = net_value(net)
        self.estep_begin(n)
        for chunk in _batches(images, batch_size):
            self.estep_add(chunk, n)
        self.estep_finish(n)

    def center(self, net: NetLike = "global") -> Tuple[np.ndarray, float]:
        """The classifier's centre (latent_size floats) and spread sigma^2."""
        size = int(self.options["latent_size"])
        c = np.zeros(size, np.float32)
        spread = ctypes.c_double()
        _lib.lib.igd_model_get_center(self.handle, net_value(net), c.ctypes.data, size,
                                      ctypes.byref(spread))
        return c, spread.value

    # -- thresholds ---------------------------------------------------------------------------

    def calibrate(self, scores: Any, quantile: float = 0.99) -> float:
        """Sets the threshold to the quantile of normal images' scores; returns it."""
        s = _arrays.contiguous(scores, np.float64, "scores", ndim=1)
        self._call(_lib.lib.igd_model_calibrate, self.handle, s.ctypes.data, s.shape[0],
                   quantile)
        return float(self.threshold)  # type: ignore[arg-type]

    @property
    def threshold(self) -> Optional[float]:
        """The decision threshold on raw scores, None while the model has none."""
        t = ctypes.c_double()
        try:
            _lib.lib.igd_model_get_threshold(self.handle, ctypes.byref(t))
        except StateError:
            return None
        return t.value

    @threshold.setter
    def threshold(self, value: float) -> None:
        _lib.lib.igd_model_set_threshold(self.handle, float(value))

    def normalize_scores(self, scores: Any) -> np.ndarray:
        """Raw scores mapped so that the threshold becomes 0.5."""
        s = _arrays.contiguous(scores, np.float64, "scores", ndim=1)
        out = np.empty_like(s)
        _lib.lib.igd_model_normalize_scores(self.handle, s.ctypes.data, s.shape[0],
                                            out.ctypes.data)
        return out

    # -- detection ----------------------------------------------------------------------------

    def session(self) -> "Session":
        """A new inference context (for one thread at a time)."""
        return Session(self)

    def _thread_session(self) -> "Session":
        s = getattr(self._local, "session", None)
        if s is None or s.closed:
            s = Session(self)
            self._local.session = s
        return s

    def detect(self, images: Any, parts: bool = False,
               decisions: bool = False) -> Union[np.ndarray, Detection]:
        """Scores images (see :meth:`Session.detect`); uses this thread's own session."""
        return self._thread_session().detect(images, parts=parts, decisions=decisions)

    def analyze(self, images: Any) -> Tuple[Detection, np.ndarray]:
        """Scores and heatmaps in one pass (see :meth:`Session.analyze`)."""
        return self._thread_session().analyze(images)

    def heatmap(self, images: Any) -> np.ndarray:
        """Per-pixel anomaly maps (see :meth:`Session.heatmap`)."""
        return self._thread_session().heatmap(images)

    def encode(self, images: Any, net: NetLike = "global") -> np.ndarray:
        """Latents (see :meth:`Session.encode`)."""
        return self._thread_session().encode(images, net)

    def patch_grid(self) -> Tuple[int, int]:
        """(rows, cols) of the local model's patch grid."""
        return self._thread_session().patch_grid()

    def _register(self, box: Box) -> None:
        with self._sessions_lock:
            self._sessions[id(box)] = box

    def close(self) -> None:
        """Frees the model and every session made from it (they become closed). Call it only
        when no other thread is using the model."""
        super().close()

    def __repr__(self) -> str:
        if self.closed:
            return "Model(<closed>)"
        o = self.options
        nets = {1: "global", 2: "local", 3: "global+local"}.get(int(o["nets"]), "?")
        return (f"Model(nets={nets}, channels={o['channels']}, global_size={o['global_size']}, "
                f"latent_size={o['latent_size']}, threshold={self.threshold})")


def _batches(images: Any, batch_size: int) -> Iterable[Any]:
    if isinstance(images, Dataset):
        pending: List[np.ndarray] = []
        for i in range(len(images)):
            if images.label(i) != 0:
                continue
            img = images.load(i)
            if pending and (img.shape != pending[0].shape or len(pending) >= batch_size):
                yield np.stack(pending)
                pending = []
            pending.append(img)
        if pending:
            yield np.stack(pending)
        return
    if isinstance(images, np.ndarray):
        arr, _single = _arrays.as_4d(images)
        for first in range(0, arr.shape[0], max(1, batch_size)):
            yield arr[first:first + batch_size]
        return
    yield from images


def _free_session(box: Box, sessions: Dict[int, Box], lock: threading.Lock) -> None:
    with lock:
        sessions.pop(id(box), None)
    box.free()


class Session(Owned):
    """A per-thread inference context of a model (igd_session). It keeps its Model alive; use a
    session from one thread at a time, and one session per thread to detect in parallel."""

    _kind = "session"

    def __init__(self, model: Model) -> None:
        out = ctypes.c_void_p()
        _lib.lib.igd_session_create(model.handle, ctypes.byref(out))
        self.model = model
        box = Box(out.value, _lib.lib.igd_session_free)
        model._register(box)
        self._box = box
        # The finaliser refers to the model's session table, not to the model: a session kept
        # in the model's thread-local storage must not keep the model reachable forever.
        self._finalizer = weakref.finalize(self, _free_session, box, model._sessions,
                                           model._sessions_lock)

    @property
    def error(self) -> str:
        """The message of the session's most recent failed call ("" if none)."""
        return (_lib.lib.igd_session_error(self.handle) or b"").decode("utf-8", "replace")

    def detect(self, images: Any, parts: bool = False,
               decisions: bool = False) -> Union[np.ndarray, Detection]:
        """Scores images: a batch (N, H, W[, C]) or one image (H, W[, C]), uint8, uint16 or
        float32 (0..1), any size. Returns the raw scores (float64, one per image); with
        parts=True and/or decisions=True, a Detection (scores, decisions, parts)."""
        b = _arrays.batch(images)
        scores = np.zeros(b.count, np.float64)
        flags = np.zeros(b.count, np.uint8) if decisions else None
        part_arr = np.zeros((b.count, PART_COUNT), np.float64) if parts else None
        if b.count:
            self.model._call(_lib.lib.igd_session_detect, self.handle, *b.args(),
                             scores.ctypes.data, _arrays.address(flags),
                             _arrays.address(part_arr), PART_COUNT if parts else 0)
        if not parts and not decisions:
            return scores
        return Detection(scores, None if flags is None else flags.astype(bool), part_arr)

    def analyze(self, images: Any) -> Tuple[Detection, np.ndarray]:
        """Scores, parts, decisions (when the model has a threshold) and heatmaps in one pass
        (igd_session_analyze): (Detection, maps (N, H, W) float32)."""
        b = _arrays.batch(images)
        scores = np.zeros(b.count, np.float64)
        has_threshold = self.model.threshold is not None
        flags = np.zeros(b.count, np.uint8) if has_threshold else None
        part_arr = np.zeros((b.count, PART_COUNT), np.float64)
        maps = np.zeros((b.count, b.height, b.width), np.float32)
        if b.count:
            self.model._call(_lib.lib.igd_session_analyze, self.handle, *b.args(),
                             scores.ctypes.data, _arrays.address(flags),
                             _arrays.address(part_arr), PART_COUNT, maps.ctypes.data)
        return Detection(scores, None if flags is None else flags.astype(bool), part_arr), maps

    def heatmap(self, images: Any) -> np.ndarray:
        """Per-pixel anomaly maps at the images' size: (N, H, W) float32."""
        b = _arrays.batch(images)
        maps = np.zeros((b.count, b.height, b.width), np.float32)
        if b.count:
            self.model._call(_lib.lib.igd_session_heatmap, self.handle, *b.args(),
                             maps.ctypes.data)
        return maps

    def patch_grid(self) -> Tuple[int, int]:
        """(rows, cols) of the local model's patch grid (StateError without a local model)."""
        rows, cols = ctypes.c_size_t(), ctypes.c_size_t()
        _lib.lib.igd_session_patch_grid(self.handle, ctypes.byref(rows), ctypes.byref(cols))
        return rows.value, cols.value

    def encode(self, images: Any, net: NetLike = "global") -> np.ndarray:
        """Latents: (N, latent_size) for the global model, (N, rows, cols, latent_size) for the
        local model's patches (float32)."""
        n = net_value(net)
        b = _arrays.batch(images)
        latent = int(self.model.options["latent_size"])
        shape: Tuple[int, ...] = (b.count, latent)
        if n == Net.LOCAL:
            rows, cols = self.patch_grid()
            shape = (b.count, rows, cols, latent)
        out = np.zeros(shape, np.float32)
        if b.count:
            self.model._call(_lib.lib.igd_session_encode, self.handle, n, *b.args(),
                             out.ctypes.data, out.size)
        return out

    def __repr__(self) -> str:
        return "Session(<closed>)" if self.closed else f"Session(of {self.model!r})"
