"""Faults around a run's outputs: nothing lost, nothing mislabelled, no traceback.

`--overwrite` only replaces ganzoo's own run folders and never the data;
a full disk gives one line and keeps the trained weights in a checkpoint;
Ctrl-C or a crash leaves a checkpoint from which `resume` reaches the same
weights as an uninterrupted run; metrics.json is strict JSON; outputs
follow the umask.
"""

import errno
import json
import os
import signal

import keras
import numpy as np
import pytest
import yaml

from ganzoo import recipes
from ganzoo.checkpoint import MARKER, TrainingInterrupted, find_checkpoint
from ganzoo.cli import main
from ganzoo.training import resume_folder, train


def tiny_ring():
    recipe = recipes.get("ring8-nsgan")
    recipe["name"] = "tiny-ring"
    recipe["model"]["generator"]["hidden"] = [16, 16]
    recipe["model"]["discriminator"]["hidden"] = [16, 16]
    recipe["training"].update({"steps_per_epoch": 5, "epochs": 2, "batch_size": 32})
    recipe["eval"]["num_samples"] = 200
    return recipe


def state_of(gan):
    """Every variable training changes: networks, EMA, step counter, noise seed, all optimizers."""
    variables = list(gan.variables)
    assert any("seed_generator" in v.path for v in variables)
    for opt in gan.optimizers.values():
        variables += list(opt.variables)
    return [np.array(keras.ops.convert_to_numpy(v.value)) for v in variables]


class At(keras.callbacks.Callback):
    """Calls `action()` after training step `step` (counted over the whole fit)."""

    def __init__(self, step, action):
        super().__init__()
        self.step, self.action, self.seen = step, action, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            self.action()


def crash():
    raise RuntimeError("boom")


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    gan, metrics = train(tiny_ring(), out_dir=tmp_path_factory.mktemp("straight") / "run", verbose=0)
    return state_of(gan), metrics


def assert_same(a, b):
    """Resumed state equals the straight run's: integers exactly, floats to 3e-4 of each tensor's norm.

    A wrong resume (a step lost or repeated, fresh Adam moments, another batch) moves every weight by
    about the learning rate (1e-3 here): 3e-3 of a 16x16 kernel's norm, and far more in the moments.
    CI saw TF resume 1.4e-5 off in ONE entry of 256 (relative 4.8e-4 there, 3e-6 of the norm): Adam
    turns a last-bit difference in a near-zero gradient into a visible step, so entry-wise tolerances
    cannot separate float noise from a bug; norms can, with a 10x margin each side.
    """
    assert len(a) == len(b)
    for x, y in zip(a, b):
        if not np.issubdtype(y.dtype, np.floating):
            np.testing.assert_array_equal(x, y)
            continue
        x, y = x.astype("float64"), y.astype("float64")
        assert np.all(np.isfinite(x))
        off, scale = np.linalg.norm(x - y), np.linalg.norm(y)
        assert off <= 3e-4 * scale + 1e-9, f"resumed state off by {off:.3g} (norm {scale:.3g})"


def test_overwrite_refuses_foreign_folders_and_the_data(tmp_path, capsys):
    recipe = tiny_ring()
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    with pytest.raises(FileExistsError, match="refusing to --overwrite .*no .ganzoo-run marker"):
        train(recipe, out_dir=precious, overwrite=True, verbose=0)
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(recipe))
    assert main(["train", str(path), "--out", str(precious), "--overwrite", "--quiet"]) != 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "refusing to --overwrite" in err and "Traceback" not in err
    assert (precious / "thesis.txt").read_text() == "years of work"

    data = tmp_path / "d2"
    (data / "cats").mkdir(parents=True)
    (data / "cats" / "a.png").write_bytes(b"png")
    for out, how in ((data, "is the training data"), (data / "run", "is inside the training data"),
                     (tmp_path, "contains the training data")):
        with pytest.raises(ValueError, match=how):
            train(recipe, out_dir=out, data=str(data), overwrite=True, verbose=0)
    assert (data / "cats" / "a.png").is_file()
    with pytest.raises(FileExistsError, match="already exists; choose another --out or pass --overwrite"):
        train(recipe, out_dir=precious, verbose=0)


@pytest.mark.skipif(not hasattr(signal, "raise_signal"), reason="needs signal.raise_signal")
def test_ctrl_c_saves_a_checkpoint_and_resume_matches_a_straight_run(tmp_path, straight, capsys):
    out = tmp_path / "run"
    with pytest.raises(TrainingInterrupted, match=r"interrupted at step \d+; checkpoint saved in .*--resume") as info:
        train(tiny_ring(), out_dir=out, verbose=0, callbacks=[At(7, lambda: signal.raise_signal(signal.SIGINT))])
    assert info.value.step in (7, 8) and str(info.value).count("\n") == 0
    assert (out / MARKER).is_file() and not (out / "metrics.json").exists()
    assert find_checkpoint(out)["step"] == info.value.step
    # An interrupted run is resumed into its own folder without --overwrite.
    gan, metrics = train(tiny_ring(), out_dir=out, resume=out, verbose=0)
    assert metrics["steps"] == 10 and metrics["continued_from_step"] == info.value.step
    assert_same(state_of(gan), straight[0])
    assert metrics["modes"] == straight[1]["modes"]
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "metrics.json", "preset", "samples.png"]


def test_a_crash_resumes_from_the_last_periodic_checkpoint(tmp_path, straight):
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="boom"):
        train(tiny_ring(), out_dir=out, verbose=0, checkpoint_every=4, callbacks=[At(9, crash)])
    assert find_checkpoint(out)["step"] == 8  # every 4 steps (and step 5, the epoch end)
    with pytest.raises(FileExistsError, match="interrupted run: continue it with --resume"):
        train(tiny_ring(), out_dir=out, verbose=0)
    gan, _ = train(tiny_ring(), out_dir=tmp_path / "elsewhere", resume=out, verbose=0)
    assert_same(state_of(gan), straight[0])


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_keeps_the_weights_and_leaves_no_temporary_folder(tmp_path, monkeypatch, straight):
    out = tmp_path / "run"
    stale = tmp_path / ".run.killed1"  # left by a killed run: marked, so cleaned
    stale.mkdir()
    (stale / MARKER).write_text("")
    foreign = tmp_path / ".run.notours"  # not marked: kept
    foreign.mkdir()
    import ganzoo.training
    import ganzoo.utils.plot

    monkeypatch.setattr(ganzoo.training, "write_samples", _no_space)
    with pytest.raises(OSError, match=r"^no space left on device while writing .*samples.png; about \d+ MB "
                                      r"needed; the trained weights are kept in .*checkpoint") as info:
        train(tiny_ring(), out_dir=out, verbose=0)
    assert info.value.errno == errno.ENOSPC and "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run.notours", "run"]
    assert find_checkpoint(out)["step"] == 10
    monkeypatch.undo()

    # Inside the preset (after its weights file): the preset's own temporary folder goes too.
    monkeypatch.setattr(ganzoo.utils.plot, "write_samples", _no_space)
    with pytest.raises(OSError, match=r"while writing .*run/preset; about \d+ MB needed; .*kept in"):
        train(tiny_ring(), out_dir=out, resume=out, verbose=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run.notours", "run"]
    monkeypatch.undo()

    # The checkpoint completes the run: no step trained again. NaN metrics are written as null.
    monkeypatch.setattr(ganzoo.training, "evaluate", lambda *a, **k: {"modes": 8, "reverse_kl": float("nan")})
    old_umask = os.umask(0o027)
    try:
        gan, metrics = train(tiny_ring(), out_dir=out, resume=out, verbose=0)
    finally:
        os.umask(old_umask)
    assert_same(state_of(gan), straight[0])

    def strict(text):
        return json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))

    written = strict((out / "metrics.json").read_text())
    assert written["reverse_kl"] is None and written["non_finite"] == ["reverse_kl"]
    metadata = strict((out / "preset" / "metadata.json").read_text())
    assert "reverse_kl" not in metadata["metrics"] and metadata["non_finite_metrics"] == ["reverse_kl"]
    for path, mode in ((out, 0o750), (out / "metrics.json", 0o640), (out / "samples.png", 0o640),
                       (out / "preset", 0o750), (out / "preset" / "model.weights.h5", 0o640)):
        assert oct(path.stat().st_mode & 0o777) == oct(mode), path


def test_no_space_for_a_checkpoint_is_one_line_before_writing(tmp_path, monkeypatch):
    import shutil as shutil_mod

    import ganzoo.checkpoint

    usage = shutil_mod.disk_usage(tmp_path)
    monkeypatch.setattr(ganzoo.checkpoint.shutil, "disk_usage", lambda p: usage._replace(free=1000))
    with pytest.raises(OSError, match=r"^no space left on device while writing .*checkpoint; about \d+ MB needed"):
        train(tiny_ring(), out_dir=tmp_path / "run", verbose=0)
    assert not list((tmp_path / "run" / "checkpoint").glob("*.h5"))


def test_resume_accepts_a_registry_name(tmp_path):
    from ganzoo.sources import EMBEDDED_DIR

    assert resume_folder("ring8-nsgan") == EMBEDDED_DIR / "ring8-nsgan"
    with pytest.raises(ValueError, match="has no pretrained weights"):
        resume_folder("acgan-mnist")
    with pytest.raises(FileNotFoundError, match="no such folder or registry model"):
        resume_folder("no-such-model-here")
    from ganzoo.training import _resume, build

    gan = build("ring8-nsgan", seed=0)
    _resume(gan, recipes.get("ring8-nsgan"), "ring8-nsgan")  # what `--resume ring8-nsgan` loads
    assert int(gan.step_counter.numpy()) == 5000
