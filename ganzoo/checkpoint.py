"""Run folders, training checkpoints and safe output writing for `ganzoo.training`.

A run folder (`ganzoo train --out DIR`) holds a marker file, `.ganzoo-run`,
so that `--overwrite` only ever replaces folders ganzoo wrote. While training
runs, DIR holds only the marker and `checkpoint/`:

    checkpoint/state.json            the commit point: step, plan, the weights file
    checkpoint/step-00000042.weights.h5   `gan.save_weights` of the compiled model:
                                      networks, EMA, every optimizer, step counter;
                                      `save_weights` skips seed-generator states (the
                                      noise stream), so state.json holds those

A checkpoint is written as a new weights file first and then `state.json`
is replaced atomically (`os.replace`), so a killed process always leaves a
consistent checkpoint behind. This follows Keras's `BackupAndRestore`
convention (a backup folder inside the run, removed when training ends).

Example:
    >>> from ganzoo.checkpoint import find_checkpoint
    >>> find_checkpoint("runs/ring8")["step"]      # an interrupted run
    42
"""

import errno
import json
import math
import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path

import keras

MARKER = ".ganzoo-run"
CHECKPOINT_DIR = "checkpoint"
STATE_FILE = "state.json"
FORMAT = 1


class TrainingInterrupted(RuntimeError):
    """Training stopped early (Ctrl-C); a checkpoint was saved where the message says.

    Attributes: `out_dir` (the run folder, or None) and `step` (the step of
    the saved checkpoint, or None when nothing was saved).

    Example:
        >>> try:
        ...     train("ring8-nsgan", out_dir="runs/r")
        ... except TrainingInterrupted as e:
        ...     train("ring8-nsgan", out_dir="runs/r", resume=e.out_dir)
    """

    def __init__(self, message, out_dir=None, step=None):
        super().__init__(message)
        self.out_dir, self.step = out_dir, step


# ---------------------------------------------------------------------------
# Files: umask, atomic JSON, finite JSON, disk space


def umask():
    """The process umask (read without changing it for long).

    Example:
        >>> oct(umask())
        '0o22'
    """
    old = os.umask(0o022)
    os.umask(old)
    return old


def apply_umask(path, directory=None):
    """Give `path` the mode a plain `open()`/`mkdir()` would (0666/0777 minus the umask).

    Files made with `tempfile.mkstemp`/`mkdtemp` are owner-only and keep that
    mode after `os.replace`; outputs are meant to be read by others.

    Example:
        >>> fd, tmp = tempfile.mkstemp(); apply_umask(tmp); oct(os.stat(tmp).st_mode & 0o777)
        '0o644'
    """
    path = Path(path)
    if directory is None:
        directory = path.is_dir()
    os.chmod(path, (0o777 if directory else 0o666) & ~umask())


def apply_umask_tree(root):
    """`apply_umask` on a folder and everything below it.

    Example:
        >>> apply_umask_tree("runs/ring8")
    """
    root = Path(root)
    apply_umask(root, directory=True)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            apply_umask(Path(dirpath) / name, directory=True)
        for name in filenames:
            apply_umask(Path(dirpath) / name, directory=False)


def finite_json(value):
    """`(value, paths)`: a copy with every non-finite float replaced by None, and their key paths.

    JSON has no NaN/Infinity (`json.dump` would write invalid JSON).

    Example:
        >>> finite_json({"loss": float("nan"), "x": [1.0, float("inf")]})
        ({'loss': None, 'x': [1.0, None]}, ['loss', 'x[1]'])
    """
    found = []

    def walk(v, where):
        if isinstance(v, float) and not math.isfinite(v):
            found.append(where)
            return None
        if isinstance(v, dict):
            return {k: walk(item, f"{where}.{k}" if where else str(k)) for k, item in v.items()}
        if isinstance(v, (list, tuple)):
            return [walk(item, f"{where}[{i}]") for i, item in enumerate(v)]
        if hasattr(v, "dtype") and getattr(v, "shape", None) == ():  # numpy scalars
            return walk(v.item(), where)
        return v

    return walk(value, ""), found


def write_json(path, value, *, non_finite_key=None):
    """Write `value` as strict JSON, atomically, with the umask's mode.

    Non-finite floats become `null`; with `non_finite_key` (a dict value) the
    key paths that were not finite are listed under that key.

    Example:
        >>> write_json("runs/r/metrics.json", {"fid": float("nan")}, non_finite_key="non_finite")
        >>> json.load(open("runs/r/metrics.json"))
        {'fid': None, 'non_finite': ['fid']}
    """
    path = Path(path)
    clean, found = finite_json(value)
    if non_finite_key and found and isinstance(clean, dict):
        clean[non_finite_key] = found
    text = json.dumps(clean, indent=2, allow_nan=False, default=str)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        apply_umask(tmp, directory=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def is_no_space(error):
    """Whether an exception (or one it was raised from) means the disk is full.

    h5py and Keras wrap the OS error, so the chain and message are checked too.

    Example:
        >>> is_no_space(OSError(errno.ENOSPC, "No space left on device"))
        True
    """
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(error)
        if "No space left" in text or "errno = 28" in text or "error number = 28" in text:
            return True
        error = error.__cause__ or error.__context__
    return False


def no_space_error(where, needed_bytes, kept=None):
    """The one-line OSError (errno ENOSPC) for a full disk while writing `where`.

    Example:
        >>> str(no_space_error("runs/r/preset", 5 * 2**20, kept="runs/r/checkpoint"))
        'no space left on device while writing runs/r/preset; about 5 MB needed; ...'
    """
    mb = max(1, math.ceil(needed_bytes / 2**20))
    message = f"no space left on device while writing {where}; about {mb} MB needed"
    if kept:
        message += f"; the trained weights are kept in {kept} (free space, then rerun with --resume {Path(kept).parent})"
    else:
        message += "; free some space and run again"
    error = OSError(message)
    error.errno = errno.ENOSPC
    return error


def check_free_space(folder, needed_bytes, where, kept=None):
    """Raise `no_space_error` before writing when `folder`'s disk has less than `needed_bytes` free.

    Checking first keeps h5py from hitting a full disk (which can crash the
    process on some backends instead of raising).

    Example:
        >>> check_free_space("runs", 10 * 2**20, "runs/r/preset")
    """
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return
    if free < needed_bytes:
        raise no_space_error(where, needed_bytes, kept)


# ---------------------------------------------------------------------------
# Run folders


def is_run_folder(path):
    """Whether `path` is a folder ganzoo wrote as a run (it holds the `.ganzoo-run` marker).

    Example:
        >>> is_run_folder("runs/ring8"), is_run_folder("my_thesis")
        (True, False)
    """
    return (Path(path) / MARKER).is_file()


def mark_run_folder(path):
    """Write the `.ganzoo-run` marker into `path` (a folder).

    Example:
        >>> mark_run_folder(tmp)
    """
    (Path(path) / MARKER).write_text("written by ganzoo; `ganzoo train --overwrite` may replace this folder\n")
    apply_umask(Path(path) / MARKER, directory=False)


def make_temp_run_folder(out_dir):
    """A new hidden marked sibling `.NAME.xxxx/` of `out_dir`, to fill and then rename.

    Example:
        >>> make_temp_run_folder(Path("runs/ring8"))
        PosixPath('runs/.ring8.k2j3h4')
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    mark_run_folder(tmp)
    return tmp


def clean_stale_temps(out_dir):
    """Remove hidden `.NAME.xxxx/` siblings of `out_dir` left by killed runs (marked ones only).

    Returns the removed paths.

    Example:
        >>> clean_stale_temps(Path("runs/ring8"))
        [PosixPath('runs/.ring8.k2j3h4')]
    """
    out_dir = Path(out_dir)
    removed = []
    if not out_dir.parent.is_dir():
        return removed
    for path in out_dir.parent.glob(f".{out_dir.name}.*"):
        if path.is_dir() and not path.is_symlink() and is_run_folder(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def replace_folder(tmp, out_dir):
    """Move the complete folder `tmp` to `out_dir`, replacing a previous run folder there.

    The old folder is renamed aside first (renaming onto a non-empty folder
    fails), then removed; `out_dir` is never left missing a complete run for
    longer than two renames.

    Example:
        >>> replace_folder(Path("runs/.ring8.k2j3h4"), Path("runs/ring8"))
    """
    tmp, out_dir = Path(tmp), Path(out_dir)
    apply_umask(tmp, directory=True)
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        mark_run_folder(old)  # a crash right here leaves a marked, cleanable sibling
        aside = old / "run"
        os.replace(out_dir, aside)
        os.replace(tmp, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out_dir)


# ---------------------------------------------------------------------------
# Checkpoints


def find_checkpoint(path):
    """The checkpoint state dict of a run folder (or of a `checkpoint/` folder), or None.

    The dict is `state.json` plus `folder` and `weights_path`.

    Example:
        >>> find_checkpoint("runs/ring8")["step"]
        42
    """
    path = Path(path)
    for folder in (path / CHECKPOINT_DIR, path):
        state_path = folder / STATE_FILE
        if state_path.is_file():
            try:
                state = json.loads(state_path.read_text())
                weights = folder / state["weights"]
            except (ValueError, KeyError, TypeError) as e:
                raise ValueError(f"{state_path} is not a ganzoo checkpoint ({e}); resume from an earlier run.") from None
            if not weights.is_file():
                raise FileNotFoundError(f"checkpoint {state_path} names {weights.name}, which is missing.")
            return {**state, "folder": str(folder), "weights_path": str(weights)}
    return None


def save_checkpoint(gan, out_dir, state):
    """Write a checkpoint of `gan` (all its variables) into `out_dir/checkpoint/`, atomically.

    `state` (JSON-able; must hold `step`) is stored as `state.json`, the
    commit point; older weights files are removed afterwards. Creates and
    marks `out_dir` when needed. Returns the checkpoint folder.

    Example:
        >>> save_checkpoint(gan, "runs/ring8", {"step": 42, "epochs": 10})
        PosixPath('runs/ring8/checkpoint')
    """
    from ganzoo.engine.preset_io import weights_nbytes

    out_dir = Path(out_dir)
    folder = out_dir / CHECKPOINT_DIR
    if not out_dir.exists():
        out_dir.mkdir(parents=True)
        mark_run_folder(out_dir)
    folder.mkdir(exist_ok=True)
    check_free_space(folder, weights_nbytes(gan) + 2**20, folder)
    name = f"step-{int(state['step']):08d}.weights.h5"
    partial = folder / f".partial-{name}"
    try:
        gan.save_weights(partial)
        apply_umask(partial, directory=False)
        os.replace(partial, folder / name)
        extra = {v.path: keras.ops.convert_to_numpy(v.value).tolist() for v in unsaved_variables(gan)}
        write_json(folder / STATE_FILE, {
            "format": FORMAT, **state, "weights": name, "variables": extra, "time": time.time(),
        })
    except BaseException as e:
        partial.unlink(missing_ok=True)
        if is_no_space(e):
            raise no_space_error(folder, weights_nbytes(gan) + 2**20) from None
        raise
    for old in folder.glob("*.weights.h5"):
        if old.name != name:
            old.unlink(missing_ok=True)
    return folder


def unsaved_variables(gan):
    """Variables of `gan` that `save_weights` leaves out: the seed generators' states
    (the latent-noise stream), stored in `state.json` so a resumed run draws the same noise.

    Example:
        >>> [v.path for v in unsaved_variables(gan)]
        ['train_noise/seed_generator_state']
    """
    saved = {id(v) for v in gan.weights}
    named = getattr(gan, "optimizers", None)
    for optimizer in [getattr(gan, "optimizer", None), *(named.values() if isinstance(named, dict) else [])]:
        if optimizer is not None:
            saved.update(id(v) for v in optimizer.variables)
    return [v for v in gan.variables if id(v) not in saved]


def restore_unsaved_variables(gan, state):
    """Assign the values `save_checkpoint` stored for `unsaved_variables(gan)`.

    Example:
        >>> restore_unsaved_variables(gan, find_checkpoint("runs/ring8"))
    """
    stored = state.get("variables") or {}
    for v in unsaved_variables(gan):
        if v.path in stored:
            v.assign(keras.ops.convert_to_tensor(stored[v.path], dtype=v.dtype))


class Checkpointer(keras.callbacks.Callback):
    """Saves checkpoints during `fit`: every `every` steps, every `minutes`, at each epoch end,
    and at the next step boundary after Ctrl-C (then stops training).

    `state_fn(step)` gives the state dict to store for `step` (this fit's
    steps are counted from `step0`). With `out_dir=None` nothing is saved
    but Ctrl-C still stops cleanly.

    Example:
        >>> ckpt = Checkpointer("runs/r", state_fn=lambda step: {"step": step}, every=100)
        >>> with ckpt.catch_sigint():
        ...     gan.fit(x, epochs=2, callbacks=[ckpt])
        >>> ckpt.interrupted
        False
    """

    def __init__(self, out_dir, state_fn, *, every=None, minutes=None, step0=0, at_epoch_end=True):
        super().__init__()
        if every is not None and int(every) < 1:
            raise ValueError(f"checkpoint_every must be a number of steps >= 1 or None, got {every!r}.")
        if minutes is not None and not float(minutes) > 0:
            raise ValueError(f"checkpoint_minutes must be > 0 or None, got {minutes!r}.")
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.state_fn, self.every, self.minutes = state_fn, every and int(every), minutes and float(minutes)
        self.step, self.saved_step, self.at_epoch_end = int(step0), None, at_epoch_end
        self.interrupted, self._last, self.logs = False, time.monotonic(), {}

    def save(self):
        """Save a checkpoint of the current step now (no-op without `out_dir`)."""
        if self.out_dir is None or self.saved_step == self.step:
            return
        save_checkpoint(self.model, self.out_dir, self.state_fn(self.step))  # self.model syncs JAX state
        self.saved_step, self._last = self.step, time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.interrupted:
            self.save()
            self._model.stop_training = True
            return
        due = self.every and self.step % self.every == 0
        due = due or (self.minutes and time.monotonic() - self._last >= self.minutes * 60)
        if due:
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        self.logs = {k: float(v) for k, v in (logs or {}).items()}
        if self.at_epoch_end and not self.interrupted:
            self.save()

    def catch_sigint(self):
        """A context manager: the first Ctrl-C asks to stop at the next step boundary
        (so the checkpoint is consistent); a second one interrupts at once."""
        return _SigintDeferral(self)


class _SigintDeferral:
    def __init__(self, checkpointer):
        self.checkpointer, self.previous = checkpointer, None

    def _handle(self, signum, frame):
        if self.checkpointer.interrupted:
            raise KeyboardInterrupt
        self.checkpointer.interrupted = True
        print("\nganzoo: stopping after this step and saving a checkpoint (Ctrl-C again to abort now)", flush=True)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False
