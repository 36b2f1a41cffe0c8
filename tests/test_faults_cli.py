"""CLI faults: one-line errors with exit 2, Ctrl-C exits 130, bugs keep their traceback,
arguments checked before the backend loads, and the training overrides reach `train`.

Most cases call `ganzoo.cli.main` in-process with a stand-in `train`, so no
model is built; the "no backend imported" checks run in a fresh subprocess.
"""

import inspect
import json
import os
import subprocess
import sys
import types

import numpy as np
import pytest

from ganzoo import cli
from ganzoo.commands import train as train_cmd

BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")


def one_line_error(capsys, command):
    """The stderr of a failed command: exactly one `ganzoo CMD: error:` line, no traceback."""
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"ganzoo {command}: error: "), err
    assert "Traceback" not in err
    return err


@pytest.fixture
def fake_train(monkeypatch):
    """Replace `ganzoo.training.train` with a recorder (no model is built); yields the calls."""
    import ganzoo.training

    calls = []

    def train(recipe, *, out_dir=None, epochs=None, seed=None, data=None, verbose=1, overwrite=False,
              resume=None, distribute=None, checkpoint_every=None, checkpoint_minutes=10.0):
        calls.append(dict(recipe=recipe, epochs=epochs, checkpoint_every=checkpoint_every,
                          checkpoint_minutes=checkpoint_minutes))
        return None, {"steps": 0}

    monkeypatch.setattr(ganzoo.training, "train", train)
    return calls


# --------------------------------------------------------------- fast argument checks
def test_bad_arguments_fail_before_the_backend_loads(tmp_path):
    # A fresh interpreter: neither Keras nor TensorFlow may be imported for these mistakes.
    script = (
        "import sys, json; from ganzoo.cli import main\n"
        "cases = [['train', 'no-such-recipe', '--out', 'x'], ['sample', 'dcgan-digits', '-n', '0', '--out', 'g.png'],\n"
        "         ['train', 'ring8-nsgan', '--out', 'x', '--set', 'model.ema_decy=0.9'],\n"
        "         ['train', 'ring8-nsgan', '--out', 'x', '--devices', '3', '--batch-size', '64'],\n"
        "         ['train', 'ring8-nsgan', '--out', 'x', '--data', 'no/such/folder'],\n"
        "         ['sample', 'no-such-model', '--out', 'g.png'], ['sample', 'dcgan-digits', '--labels', '-1', '--out', 'g.png']]\n"
        "codes = [main(c) for c in cases]\n"
        "print(json.dumps([codes, [m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules]]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    codes, loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert codes == [2] * 7 and loaded == [], (codes, loaded, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 7 and all(": error: " in line for line in lines), proc.stderr
    assert "did you mean 'model.ema_decay'" in lines[2]
    assert "Did you mean" in lines[5] or "Unknown model" in lines[5]


@pytest.mark.parametrize(
    "extra, expect",
    [
        (["--set", "model.ema_decy=0.9"], "unknown key 'model.ema_decy' (did you mean 'model.ema_decay'?)"),
        (["--set", "trainin.epochs=3"], "did you mean 'training'"),
        (["--set", "training.epochs"], "expected KEY=VALUE"),
        (["--set", "training.epochs.x=1"], "not a section"),
        (["--set", "training.epochs=three"], "training.epochs must be a positive integer"),
        (["--lr", "encoder=1e-4"], "NAME one of generator, discriminator"),
        (["--lr", "fast"], "expected a positive learning rate"),
        (["--epochs", "0"], "--epochs must be >= 1"),
        (["--devices", "3", "--batch-size", "64"],
         "batch size 64 is not divisible by 3 devices; use --batch-size 63 or 66, or --devices 2/4"),
        (["--data", "no/such/folder"], "--data no/such/folder: no such file or folder"),
        (["--resume", "no/such/run"], "--resume no/such/run: no such folder"),
    ],
)
def test_train_bad_input_is_one_line(capsys, fake_train, extra, expect):
    assert cli.main(["train", "ring8-nsgan", "--out", "never-written", *extra]) == 2
    assert expect in one_line_error(capsys, "train")
    assert fake_train == [] and not os.path.exists("never-written")


@pytest.mark.parametrize(
    "extra, expect",
    [
        (["--steps", "0"], "argument --steps: expected a positive integer"),
        (["--steps", "10", "--kimg", "1"], "not allowed with argument"),
        (["--kimg", "-1"], "argument --kimg: expected a positive number"),
        (["--checkpoint-minutes", "0"], "expected a positive number"),
        (["--devices", "0"], "argument --devices: expected a positive integer"),
    ],
)
def test_train_bad_numbers_are_usage_errors(capsys, extra, expect):
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "ring8-nsgan", "--out", "x", *extra])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert expect in err and "Traceback" not in err


def test_existing_output_folder_and_coordinator_backend(tmp_path, capsys, monkeypatch, fake_train):
    monkeypatch.setenv("KERAS_BACKEND", BACKEND)  # --backend below rewrites it; restored after the test
    out = tmp_path / "run"
    out.mkdir()
    assert cli.main(["train", "ring8-nsgan", "--out", str(out)]) == 2
    assert "already exists" in one_line_error(capsys, "train")
    other = "tensorflow" if BACKEND != "tensorflow" else "torch"
    # Used to be a bare SystemExit(message) with exit 1.
    assert cli.main(["train", "ring8-nsgan", "--out", str(tmp_path / "r"), "--backend", other,
                     "--coordinator", "127.0.0.1:1"]) == 2
    assert "--coordinator starts a multi-process JAX job" in one_line_error(capsys, "train")


@pytest.mark.parametrize(
    "extra, expect",
    [
        (["-n", "0"], "-n must be a positive number"),
        (["--batch-size", "0"], "--batch-size must be >= 1"),
        (["--truncation", "2"], "--truncation must lie in (0, 1]"),
        (["--labels", "a,b"], "--labels gives 2 labels for -n"),
        (["-n", "3", "--labels", "1,2"], "--labels gives 2 labels for -n 3"),
    ],
)
def test_sample_bad_input_is_one_line(tmp_path, capsys, extra, expect):
    assert cli.main(["sample", "dcgan-digits", "--out", str(tmp_path / "g.png"), *extra]) == 2
    assert expect in one_line_error(capsys, "sample")
    assert not (tmp_path / "g.png").exists()


def test_model_spec_checks_without_backend(tmp_path):
    from ganzoo.sources import check_model_spec

    with pytest.raises(ValueError, match="Did you mean: dcgan-digits"):
        check_model_spec("dcgan-digitz")
    with pytest.raises(FileNotFoundError, match="No .keras file"):
        check_model_spec(str(tmp_path / "m.keras"))
    with pytest.raises(FileNotFoundError, match="No preset folder"):
        check_model_spec(str(tmp_path / "preset"))
    with pytest.raises(ValueError, match="Unsupported model spec"):
        check_model_spec("s3://bucket/x")
    check_model_spec("hf://someone/model")  # left to the download
    check_model_spec("dcgan-digits")


def test_eval_missing_files_are_one_line(tmp_path, capsys):
    assert cli.main(["eval", "dcgan-digits", "--reference", str(tmp_path / "none.npz")]) == 2
    assert "--reference" in one_line_error(capsys, "eval")
    assert cli.main(["eval", "dcgan-digits", "--weights", str(tmp_path / "w.pth"), "--reference", "x"]) == 2
    assert "--weights" in one_line_error(capsys, "eval")


# --------------------------------------------------------------- overrides reach train
def test_overrides_reach_train(fake_train):
    assert cli.main(["train", "ring8-nsgan", "--out", "o1", "--steps", "1000", "--batch-size", "32",
                     "--lr", "generator=1e-4,discriminator=4e-4", "--set", "model.ema_decay=0.99",
                     "--set", "training.epochs=5"]) == 0
    recipe = fake_train[-1]["recipe"]
    assert recipe["training"]["batch_size"] == 32
    assert (recipe["training"]["epochs"], recipe["training"]["steps_per_epoch"]) == (5, 200)
    assert fake_train[-1]["epochs"] == 5
    assert recipe["model"]["ema_decay"] == 0.99
    assert recipe["optimizers"]["generator"]["learning_rate"] == 1e-4
    assert recipe["optimizers"]["discriminator"]["learning_rate"] == 4e-4
    assert recipe["optimizers"]["generator"]["beta_1"] == 0.5  # the rest of the optimizer is kept
    # --kimg: ceil(1000 * 0.5 / 256) = 2 steps; a count the epochs do not divide -> one epoch.
    assert cli.main(["train", "ring8-nsgan", "--out", "o2", "--kimg", "0.5", "--lr", "3e-4"]) == 0
    recipe = fake_train[-1]["recipe"]
    assert (recipe["training"]["epochs"], recipe["training"]["steps_per_epoch"]) == (1, 2)
    assert {spec["learning_rate"] for spec in recipe["optimizers"].values()} == {3e-4}
    # The registry's own recipe is untouched.
    from ganzoo import recipes

    assert recipes.get("ring8-nsgan")["training"]["steps_per_epoch"] == 500


def test_checkpoint_flags_only_when_train_accepts_them(monkeypatch, capsys, fake_train):
    assert cli.main(["train", "ring8-nsgan", "--out", "o", "--checkpoint-every", "50",
                     "--checkpoint-minutes", "2.5"]) == 0
    assert fake_train[-1]["checkpoint_every"] == 50 and fake_train[-1]["checkpoint_minutes"] == 2.5
    assert cli.main(["train", "ring8-nsgan", "--out", "o"]) == 0  # not given: train's defaults
    assert fake_train[-1]["checkpoint_every"] is None and fake_train[-1]["checkpoint_minutes"] == 10.0

    import ganzoo.training

    def old_train(recipe, *, out_dir=None, epochs=None, seed=None, data=None, verbose=1, overwrite=False,
                  resume=None, distribute=None):
        return None, {}

    monkeypatch.setattr(ganzoo.training, "train", old_train)
    assert "checkpoint_every" not in inspect.signature(old_train).parameters
    assert cli.main(["train", "ring8-nsgan", "--out", "o", "--checkpoint-every", "5"]) == 2
    assert "--checkpoint-every is not supported" in one_line_error(capsys, "train")


def test_small_folder_error_names_the_cli_flags():
    error = ValueError("my_imgs/ has only 10 images, fewer than batch_size=64: lower batch_size, "
                       "or pass drop_remainder=False or repeat=True")
    text = str(train_cmd._cli_wording(error, 4))
    assert "--batch-size 8" in text and "drop_remainder" not in text and "repeat=True" not in text
    assert train_cmd._cli_wording(ValueError("something else"), 1) is None


def test_small_folder_trains_message_end_to_end(tmp_path, capsys):
    from ganzoo.utils.images import save_png

    folder = tmp_path / "few"
    folder.mkdir()
    for i in range(5):
        save_png(folder / f"{i}.png", np.full((32, 32, 1), 40 * i, dtype="uint8"))
    assert cli.main(["train", "dcgan-digits", "--out", str(tmp_path / "run"), "--data", str(folder),
                     "--quiet"]) == 2
    err = one_line_error(capsys, "train")
    assert "--batch-size 5" in err and "drop_remainder" not in err
    assert not (tmp_path / "run").exists()


def test_batch_split_messages():
    assert train_cmd.batch_split_error(64, 4) is None and train_cmd.batch_split_error(64, None) is None
    assert train_cmd.batch_split_error(10, 4) == (
        "batch size 10 is not divisible by 4 devices; use --batch-size 8 or 12, or --devices 2/5"
    )
    assert "--batch-size 3" in train_cmd.batch_split_error(2, 3)


def test_distribute_checks_the_split_of_all_devices():
    from ganzoo import distribute

    distribute.check_batch_split(64, 4)
    distribute.check_batch_split(None, 3)
    with pytest.raises(ValueError, match="use --batch-size 63 or 66, or --devices 2/4"):
        distribute.check_batch_split(64, 3)


# --------------------------------------------------------------- interrupts, bugs, --debug
def _command(monkeypatch, func):
    """Make `ganzoo list` run `func` (the parser is real; only the action changes)."""
    import ganzoo.commands.list as list_cmd

    monkeypatch.setattr(list_cmd, "run", func)


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    _command(monkeypatch, interrupted)
    assert cli.main(["list"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "ganzoo list: interrupted" and "Traceback" not in err


def test_training_interrupt_error_is_printed_and_exits_130(monkeypatch, capsys):
    class TrainingInterrupted(RuntimeError):
        pass

    def interrupted(args):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise TrainingInterrupted("interrupted at step 120; checkpoint saved: resume with --resume runs/x")

    _command(monkeypatch, interrupted)
    assert cli.main(["list"]) == 130
    assert "resume with --resume runs/x" in one_line_error(capsys, "list")


def test_bugs_keep_their_traceback(monkeypatch):
    def buggy(args):
        return {}["missing"]

    _command(monkeypatch, buggy)
    with pytest.raises(KeyError):
        cli.main(["list"])
    monkeypatch.setattr(cli, "build_parser", lambda: (_ for _ in ()).throw(TypeError("bug")))
    with pytest.raises(TypeError):
        cli.main(["list"])


def test_debug_flag_and_env_show_the_traceback(monkeypatch, capsys):
    monkeypatch.delenv("GANZOO_DEBUG", raising=False)
    with pytest.raises(ValueError, match="Unknown model"):
        cli.main(["--debug", "train", "no-such-recipe", "--out", "x"])
    monkeypatch.setenv("GANZOO_DEBUG", "1")
    with pytest.raises(ValueError, match="Unknown model"):
        cli.main(["train", "no-such-recipe", "--out", "x"])
    monkeypatch.setenv("GANZOO_DEBUG", "0")  # "0" means off
    assert cli.main(["train", "no-such-recipe", "--out", "x"]) == 2
    assert "--debug" in cli.build_parser().format_help()
    assert "traceback" in cli.build_parser().format_help()


# --------------------------------------------------------------- logs and PNG clipping
def test_startup_noise_filter():
    keep = "W0000 00:00:1.0 1 foo.cc:1] a real warning\n"
    for line in (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
        "I0000 00:00:1796158205.744803    1865 port.cc:153] oneDNN custom operations are on.",
    ):
        assert cli._STARTUP_NOISE.match(line)
    assert not cli._STARTUP_NOISE.match(keep.strip())
    assert not cli._STARTUP_NOISE.match("E0000 00:00:1.0 1 x.cc:1] an error")


@pytest.mark.skipif(BACKEND != "tensorflow", reason="TensorFlow's start-up logs")
def test_tensorflow_startup_logs_are_quiet(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "GANZOO_DEBUG")}
    cmd = [sys.executable, "-m", "ganzoo.cli", "sample", "dcgan-digits", "-n", "2", "--out", "g.png", "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "oneDNN" not in proc.stderr and "InitializeLog" not in proc.stderr, proc.stderr


def test_user_log_level_is_left_alone(monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    assert cli.quiet_backend_logs() is False and os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"


def test_png_output_clips_out_of_range_samples(tmp_path, monkeypatch, capsys):
    import ganzoo
    from PIL import Image

    class Overshooting:  # StyleGAN2-like: raw values beyond [-1, 1]
        def sample_latents_numpy(self, n, seed):
            return np.zeros((n, 4), "float32")

        def generate(self, latents=None, batch_size=8):
            return np.tile(np.array([-3.0, 3.0], "float32").reshape(1, 1, 2, 1), (len(latents), 2, 1, 3))

    monkeypatch.setattr(ganzoo, "load", lambda name, generator_only=True: Overshooting(), raising=False)
    out = tmp_path / "g.png"
    assert cli.main(["sample", "dcgan-digits", "-n", "1", "--out", str(out)]) == 0
    pixels = np.asarray(Image.open(out))
    assert pixels.min() == 0 and pixels.max() == 255


def test_stylegan2_clip_keyword():
    from ganzoo.models.stylegan2 import StyleGAN2

    for method in (StyleGAN2.generate, StyleGAN2.synthesize_numpy):
        assert inspect.signature(method).parameters["clip"].default is False
    raw = np.array([[-1.5, 0.25, 1.75]], "float32")
    stand_in = types.SimpleNamespace(_run=lambda fn, use_ema: raw)
    ws = np.zeros((1, 2, 3), "float32")
    np.testing.assert_array_equal(StyleGAN2.synthesize_numpy(stand_in, ws), raw)
    np.testing.assert_array_equal(StyleGAN2.synthesize_numpy(stand_in, ws, clip=True), [[-1.0, 0.25, 1.0]])
