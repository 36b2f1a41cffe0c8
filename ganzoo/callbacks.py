"""Keras callbacks for GAN training: sample metrics and sample grids.

`GANMetrics` computes FID / IS / KID (and precision/recall) at the end of an
epoch and writes them into the epoch `logs`, so every callback that comes
after it in the list (History, `ModelCheckpoint(monitor="fid")`,
`EarlyStopping`, `TensorBoard`, the progress bar) sees them. `SampleGrid`
saves a grid of samples from fixed latents each epoch, as PNG and, when a
`keras.callbacks.TensorBoard` is among the callbacks, as a TensorBoard image.

Both sample through `model.generate(n, seed=...)` (float NHWC in [-1, 1],
EMA weights when the model has them), the interface of `ganzoo.GAN`.

Under multi-process training (`ganzoo.distribute`, torch) only rank 0
samples, computes metrics and writes files; GANMetrics then broadcasts its
numbers so every rank's logs agree (an `EarlyStopping(monitor="fid")` stops
all ranks at the same epoch instead of leaving the others waiting).

Example:
    >>> gan.fit(images, epochs=50, callbacks=[
    ...     GANMetrics(reference="cifar10_train.npz", num_samples=10000, every_n_epochs=5),
    ...     SampleGrid(path="runs/samples/epoch_{epoch:04d}.png"),
    ...     keras.callbacks.ModelCheckpoint("best.weights.h5", monitor="fid", mode="min",
    ...                                     save_best_only=True, save_weights_only=True),
    ... ])                                                     # doctest: +SKIP
"""

import os
import sys
import warnings

import keras

from ganzoo import distribute
from ganzoo.utils.images import make_grid
from ganzoo.utils.images import save_png
from ganzoo.utils.images import to_uint8

_LOG_KEYS = {"fid": ("fid",), "is": ("is",), "kid": ("kid",), "pr": ("precision", "recall")}
_LOG_KEYS["c2st"] = ("c2st",)  # classifier two-sample test accuracy (ganzoo.metrics.c2st)


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _generate(model, n, seed, who):
    if not callable(getattr(model, "generate", None)):
        raise TypeError(
            f"{who} needs a model with generate(n, seed=...) (such as ganzoo.GAN), got "
            f"{type(model).__name__}"
        )
    return model.generate(n, seed=seed)


class GANMetrics(keras.callbacks.Callback):
    """Compute FID / IS / KID / precision-recall during `fit`, into the epoch logs.

    Args:
        reference: real-data reference for FID, KID and PR: an `.npz` of
            statistics (`ganzoo eval --stats`, or pytorch-fid's for FID only),
            an image folder or array (statistics computed once at the start of
            training and cached), or `ganzoo.metrics.ReferenceStats`.
        every_n_epochs: compute after every n-th epoch (other epochs have no
            metric in their logs, so History lists have fewer entries).
        num_samples: generated samples per evaluation. FID is biased by the
            sample count: compare numbers only at equal `num_samples`.
        metrics: any of "fid", "is", "kid", "pr", "c2st"; the log keys are `fid`,
            `is`, `kid`, `precision`, `recall` and `c2st` (the classifier
            two-sample test's held-out accuracy, `ganzoo.metrics.c2st`).
        extractor: feature extractor; default `ganzoo.metrics.load_inception()`
            (loaded at the start of training).
        seed: base seed of the samples; the same samples are drawn each time,
            so epoch-to-epoch changes come from the model, not from noise.
        verbose: 1 shows a progress bar while features are computed.

    Full results with their protocol are kept in `self.results`.

    Example:
    >>> metrics = GANMetrics(reference="stats.npz", num_samples=5000, metrics=("fid", "kid"))
    >>> gan.fit(data, epochs=10, callbacks=[metrics])    # doctest: +SKIP
    >>> metrics.results[-1]["protocol"]["num_fake"]       # doctest: +SKIP
    5000
    """

    def __init__(
        self,
        reference=None,
        every_n_epochs=1,
        num_samples=10000,
        metrics=("fid", "is", "kid"),
        extractor=None,
        seed=0,
        batch_size=None,
        verbose=1,
    ):
        super().__init__()
        from ganzoo.metrics.evaluate import check_metrics

        self.metrics = check_metrics(metrics)
        self.every_n_epochs = _positive_int(every_n_epochs, "every_n_epochs")
        self.num_samples = _positive_int(num_samples, "num_samples")
        if reference is None and any(m in self.metrics for m in ("fid", "kid", "pr", "c2st")):
            raise ValueError(
                f"GANMetrics with metrics {self.metrics} needs reference= (an .npz of statistics "
                "or an image folder of real data)"
            )
        self.reference = reference
        self.extractor = extractor
        self.seed = int(seed)
        self.batch_size = batch_size
        self.verbose = verbose
        self.results = []
        self._reference_stats = None

    def on_train_begin(self, logs=None):
        from ganzoo.metrics.reference import load_reference

        if not distribute.is_chief():
            return
        if self.extractor is None:
            from ganzoo.metrics.extractor import load_inception

            self.extractor = load_inception()
        if self.reference is not None and self._reference_stats is None:
            self._reference_stats = load_reference(
                self.reference, self.extractor, progress=bool(self.verbose)
            )
            if any(m in self.metrics for m in ("kid", "pr", "c2st")) and self._reference_stats.features is None:
                raise ValueError(
                    "GANMetrics: KID, precision/recall and c2st need reference features, but the "
                    "reference has only mu/sigma; rebuild it with `ganzoo eval --stats DIR --out stats.npz`"
                )

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        from ganzoo.metrics.evaluate import evaluate

        keys = [key for metric in self.metrics for key in _LOG_KEYS[metric]]
        if not distribute.is_chief():
            values = distribute.broadcast_floats([0.0] * len(keys))  # receive rank 0's
            if logs is not None:
                logs.update(zip(keys, values))
            return
        model = self.model
        result = evaluate(
            lambda n, seed: _generate(model, n, seed, "GANMetrics"),
            self._reference_stats,
            self.metrics,
            self.extractor,
            num_samples=self.num_samples,
            seed=self.seed,
            batch_size=self.batch_size,
            progress=bool(self.verbose),
        )
        self.results.append({"epoch": epoch + 1, **result})
        values = distribute.broadcast_floats([float(result[key]) for key in keys])
        if logs is not None:
            logs.update(zip(keys, values))


def _sibling_callbacks(callback):
    """The callbacks of the `fit` call that is running `callback` (empty if unknown).

    Keras does not hand callbacks their siblings; the `CallbackList` that
    dispatches the current event is the caller a few frames up.
    """
    frame = sys._getframe(1)
    for _ in range(10):
        if frame is None:
            break
        owner = frame.f_locals.get("self")
        if isinstance(owner, keras.callbacks.CallbackList) and any(
            c is callback for c in owner.callbacks
        ):
            return list(owner.callbacks)
        frame = frame.f_back
    return []


class SampleGrid(keras.callbacks.Callback):
    """Save a grid of samples from fixed latents after every n-th epoch.

    The same `seed` is used every time, so consecutive grids show how the same
    latents evolve. Each grid is written as PNG to `path` (formatted with the
    1-based `epoch`, like `ModelCheckpoint`; written atomically), and, when a
    `keras.callbacks.TensorBoard` is among the `fit` callbacks (or given as
    `tensorboard=`, a callback or a log folder), as image `samples` under its
    `log_dir/samples` (needs TensorFlow installed; skipped otherwise).

    Example:
    >>> grid = SampleGrid(path="runs/samples/epoch_{epoch:04d}.png", num_samples=36)
    >>> gan.fit(data, epochs=5, callbacks=[grid, keras.callbacks.TensorBoard("runs/tb")])  # doctest: +SKIP
    >>> grid.last_path                                                                     # doctest: +SKIP
    'runs/samples/epoch_0005.png'
    """

    def __init__(
        self,
        every_n_epochs=1,
        path="samples/epoch_{epoch:04d}.png",
        seed=0,
        num_samples=64,
        nrow=None,
        tensorboard=None,
    ):
        super().__init__()
        self.every_n_epochs = _positive_int(every_n_epochs, "every_n_epochs")
        self.num_samples = _positive_int(num_samples, "num_samples")
        self.path = os.fspath(path)
        try:
            self.path.format(epoch=1)
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(
                f"path {self.path!r} must be a file name with an optional {{epoch}} field, e.g. "
                f"'samples/epoch_{{epoch:04d}}.png' ({e})"
            ) from None
        self.seed = int(seed)
        self.nrow = nrow
        self.tensorboard = tensorboard
        self.last_path = None
        self._writer = None

    def on_train_begin(self, logs=None):
        if not distribute.is_chief():
            return
        log_dir = self.tensorboard
        if log_dir is None:
            for cb in _sibling_callbacks(self):
                if isinstance(cb, keras.callbacks.TensorBoard):
                    log_dir = cb
                    break
        if isinstance(log_dir, keras.callbacks.TensorBoard):
            log_dir = log_dir.log_dir
        if log_dir is not None and self._writer is None:
            try:
                import tensorboard  # noqa: F401  (tf.summary's implementation)
                import tensorflow as tf
            except ImportError:
                warnings.warn(
                    "SampleGrid: TensorBoard images need tensorflow and tensorboard installed; "
                    "writing PNG files only",
                    stacklevel=2,
                )
                return
            self._writer = tf.summary.create_file_writer(os.path.join(os.fspath(log_dir), "samples"))

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs or not distribute.is_chief():
            return
        images = _generate(self.model, self.num_samples, self.seed, "SampleGrid")
        if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
            raise ValueError(
                f"SampleGrid needs image samples (N, H, W, 1|3|4), the model generated shape "
                f"{images.shape}"
            )
        grid = make_grid(to_uint8(images), nrow=self.nrow)
        path = self.path.format(epoch=epoch + 1)
        save_png(path, grid)
        self.last_path = path
        if self._writer is not None:
            import tensorflow as tf

            with self._writer.as_default():
                tf.summary.image("samples", grid[None], step=epoch + 1)
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
