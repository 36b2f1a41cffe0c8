"""Saving and loading (.keras, .weights.h5, preset folders, across backends),
recipes, and the `ganzoo train` / `sample` / `list` commands."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import yaml

import ganzoo
from ganzoo import recipes
from ganzoo.cli import main
from ganzoo.training import build

from conftest import BACKEND

NEXT_BACKEND = {"tensorflow": "jax", "jax": "torch", "torch": "tensorflow"}[BACKEND]


def tiny_recipe(tmp_path, name="tiny-ring", steps=30, **model):
    recipe = recipes.get("ring8-nsgan")
    recipe["name"] = name
    recipe["model"]["generator"]["hidden"] = [16, 16]
    recipe["model"]["discriminator"]["hidden"] = [16, 16]
    recipe["model"].update(model)
    recipe["training"].update({"steps_per_epoch": steps, "epochs": 1, "batch_size": 32})
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return recipe, path


def trained_gan(tmp_path):
    recipe, _ = tiny_recipe(tmp_path)
    gan = build(recipe, seed=0)
    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    gan.fit(x, batch_size=32, epochs=1, verbose=0)
    return gan, recipe


def test_keras_file_round_trip_restores_weights_ema_and_optimizers(tmp_path):
    gan, _ = trained_gan(tmp_path)
    path = tmp_path / "gan.keras"
    gan.save(path)
    loaded = ganzoo.load(str(path))
    np.testing.assert_allclose(loaded.generate(8, seed=1), gan.generate(8, seed=1), atol=1e-6)
    assert int(loaded.g_optimizer.iterations.numpy()) == int(gan.g_optimizer.iterations.numpy()) == 2
    for a, b in zip(loaded.d_optimizer.variables, gan.d_optimizer.variables):
        np.testing.assert_allclose(np.asarray(a.numpy()), np.asarray(b.numpy()), atol=1e-7)
    # Training continues from the loaded state.
    loaded.fit(np.random.randn(32, 2).astype("float32"), batch_size=32, epochs=1, verbose=0)
    assert int(loaded.g_optimizer.iterations.numpy()) == 3


def test_weights_h5_round_trip(tmp_path):
    gan, recipe = trained_gan(tmp_path)
    gan.save_weights(tmp_path / "gan.weights.h5")
    other = build(recipe, seed=99)
    assert not np.allclose(other.generate(4, seed=0), gan.generate(4, seed=0))
    other.load_weights(tmp_path / "gan.weights.h5")
    np.testing.assert_allclose(other.generate(4, seed=0), gan.generate(4, seed=0), atol=1e-6)


def test_preset_folder_round_trip_and_integrity_checks(tmp_path):
    gan, recipe = trained_gan(tmp_path)
    folder = tmp_path / "preset"
    gan.save_to_preset(folder, recipe=recipe, metrics={"modes": 3})
    names = sorted(os.listdir(folder))
    assert names == ["README.md", "config.json", "metadata.json", "model.weights.h5", "samples.png"]
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["keras_version"] == keras.__version__ and metadata["backend"] == BACKEND
    assert set(metadata["files"]) == {"config.json", "model.weights.h5"}
    assert "library_name: keras" in (folder / "README.md").read_text()
    loaded = ganzoo.load(str(folder))
    np.testing.assert_allclose(loaded.generate(16, seed=5), gan.generate(16, seed=5), atol=1e-6)

    with open(folder / "model.weights.h5", "r+b") as f:  # corrupt one byte
        f.seek(200)
        byte = f.read(1)
        f.seek(200)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ValueError, match="does not match the sha256"):
        ganzoo.load(str(folder))
    os.remove(folder / "model.weights.h5")
    with pytest.raises(FileNotFoundError, match="missing model.weights.h5"):
        ganzoo.load(str(folder))


def test_preset_saved_here_gives_equal_samples_on_another_backend(tmp_path):
    gan, recipe = trained_gan(tmp_path)
    folder = tmp_path / "preset"
    gan.save_to_preset(folder, recipe=recipe)
    np.save(tmp_path / "here.npy", gan.generate(32, seed=7))
    script = textwrap.dedent(
        f"""
        import numpy as np, ganzoo
        gan = ganzoo.load({str(folder)!r})
        np.save({str(tmp_path / 'there.npy')!r}, gan.generate(32, seed=7))
        """
    )
    env = dict(os.environ, KERAS_BACKEND=NEXT_BACKEND, TF_CPP_MIN_LOG_LEVEL="2")
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=300)
    np.testing.assert_allclose(np.load(tmp_path / "there.npy"), np.load(tmp_path / "here.npy"), atol=1e-5)


# ------------------------------------------------------------------ recipes
def test_every_recipe_parses_and_builds_a_model():
    for name in recipes.names():
        recipe = recipes.get(name)
        if recipe["model"].get("class", "GAN") != "GAN":
            continue
        gan = build(recipe, seed=0)
        assert gan.sample_shape[-1] in (1, 2, 3)


def test_recipe_errors_name_the_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmodel: {latent_dim: 2\n")
    with pytest.raises(ValueError, match="malformed YAML at line"):
        recipes.get(str(bad))
    _, path = tiny_recipe(tmp_path)
    text = path.read_text().replace("optimizers:", "optimisers:")
    path.write_text(text)
    with pytest.raises(ValueError, match="unknown key 'optimisers' \\(did you mean 'optimizers'\\?\\)"):
        recipes.get(str(path))
    with pytest.raises(ValueError, match="Did you mean: ring8-nsgan"):
        recipes.get("ring8-nsgn")
    with pytest.raises(ValueError, match="without pretrained weights"):
        ganzoo.load("ring8-nsgan")


# ---------------------------------------------------------------------- CLI
def test_cli_train_writes_metrics_samples_and_a_loadable_preset(tmp_path, capsys):
    _, path = tiny_recipe(tmp_path, steps=20)
    out = tmp_path / "run"
    assert main(["train", str(path), "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"modes", "high_quality", "reverse_kl", "seconds", "backend"} <= set(metrics)
    assert metrics["backend"] == BACKEND and metrics["steps"] == 20
    assert (out / "samples.png").stat().st_size > 1000
    gan = ganzoo.load(str(out / "preset"))
    assert gan.generate(3, seed=0).shape == (3, 2)
    # Sampling the trained preset from the CLI.
    assert main(["sample", str(out / "preset"), "-n", "100", "--out", str(tmp_path / "s.npz")]) == 0
    assert np.load(tmp_path / "s.npz")["samples"].shape == (100, 2)
    # An existing folder is not overwritten by accident.
    assert main(["train", str(path), "--out", str(out), "--quiet"]) == 1
    assert "already exists" in capsys.readouterr().err


def test_failed_training_leaves_no_output_folder(tmp_path):
    _, path = tiny_recipe(tmp_path, steps=20)
    out = tmp_path / "run"
    assert main(["train", str(path), "--out", str(out), "--quiet", "--epochs", "0"]) == 1
    assert not out.exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".run")] == []


def test_cli_list_and_help(capsys):
    assert main(["list"]) == 0
    listing = capsys.readouterr().out
    for name in ("ring8-nsgan", "grid25-wgan-gp", "dcgan-celeba64", "wgan-cifar10"):
        assert name in listing
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "--out" in capsys.readouterr().out
