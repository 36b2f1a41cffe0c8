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
def _build_recipes(keep):
    for name in sorted(set(recipes.names().values())):  # each file once, not its aliases
        recipe = recipes.get(name)  # every recipe parses
        if recipe["model"].get("class", "GAN") != "GAN" or not keep(name):
            continue
        gan = build(recipe, seed=0)
        assert gan.sample_shape[-1] in (1, 2, 3)


# The CPU-sized recipes (toys, digits) build in the default run; the CIFAR/CelebA-sized ones
# (SNGAN/SAGAN with spectral norm everywhere: ~1.5 min on JAX) in the slow run.
_SMALL = ("ring8-", "grid25-", "-digits", "-mnist")


def test_every_recipe_parses_and_the_small_ones_build():
    _build_recipes(lambda name: any(tag in name for tag in _SMALL))


@pytest.mark.slow
def test_every_recipe_parses_and_builds_a_model():
    _build_recipes(lambda name: True)


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
        ganzoo.load("ring8-hinge")


def test_override_copies_checks_and_parses_yaml_values():
    base = recipes.get("ring8-nsgan")
    new = recipes.override(base, ["model.d_steps=3", "optimizers.generator.learning_rate=4e-4"])
    assert new["model"]["d_steps"] == 3 and new["optimizers"]["generator"]["learning_rate"] == 4e-4
    assert base["model"].get("d_steps", 1) == 1  # the original is untouched
    with pytest.raises(ValueError, match="unknown key 'model.dsteps' \\(did you mean 'model.d_steps'\\?\\)"):
        recipes.override(base, ["model.dsteps=2"])
    with pytest.raises(ValueError, match="expected KEY=VALUE"):
        recipes.override(base, ["model.d_steps"])


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
    assert main(["train", str(path), "--out", str(out), "--quiet"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_failed_training_leaves_no_output_folder(tmp_path):
    _, path = tiny_recipe(tmp_path, steps=20)
    out = tmp_path / "run"
    assert main(["train", str(path), "--out", str(out), "--quiet", "--epochs", "0"]) == 2
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


# ------------------------------------------------------- sharded weights
def test_sharded_preset_round_trip(tmp_path):
    from ganzoo.presets import save_preset

    gan, recipe = trained_gan(tmp_path)
    folder = tmp_path / "sharded"
    save_preset(gan, folder, recipe=recipe, samples=False, max_shard_size=2e-6)  # ~2 kB shards
    names = sorted(os.listdir(folder))
    shards = [n for n in names if n.startswith("model_") and n.endswith(".weights.h5")]
    assert "model.weights.json" in names and "model.weights.h5" not in names and len(shards) >= 2
    listed = json.loads((folder / "metadata.json").read_text())["files"]
    assert set(listed) == {"config.json", "model.weights.json", *shards}
    np.testing.assert_allclose(ganzoo.load(str(folder)).generate(8, seed=2), gan.generate(8, seed=2), atol=1e-6)
    sampler = ganzoo.load(str(folder), generator_only=True)
    np.testing.assert_allclose(sampler.generate(8, seed=2), gan.generate(8, seed=2), atol=1e-6)
    # Below the limit (the 2 GiB default) there is one file.
    save_preset(gan, tmp_path / "single", samples=False)
    assert "model.weights.h5" in os.listdir(tmp_path / "single")
    os.remove(folder / shards[-1])
    with pytest.raises(FileNotFoundError, match=f"missing weight shards {shards[-1]} listed in model.weights.json"):
        ganzoo.load(str(folder))
    with pytest.raises(ValueError, match="max_shard_size must be a positive size in GiB"):
        save_preset(gan, tmp_path / "x", max_shard_size=0)


# ------------------------------------------------------------- bad input
def test_load_bad_specs_and_broken_folders(tmp_path):
    from ganzoo.presets import load_preset

    with pytest.raises(ValueError, match="Unknown model 'dcgan-digit'. Did you mean: dcgan-digits"):
        ganzoo.load("dcgan-digit")
    with pytest.raises(ValueError, match="malformed Hub spec 'hf://ganzoo'"):
        ganzoo.load("hf://ganzoo")
    with pytest.raises(ValueError, match="empty revision"):
        ganzoo.load("hf://ganzoo/x@")
    with pytest.raises(ValueError, match="Unsupported model spec 's3://bucket/x'"):
        ganzoo.load("s3://bucket/x")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match=r"missing config.json, model.weights.h5 \(or a sharded model.weights.json\) \(it has: notes.txt\)"):
        ganzoo.load(str(empty))
    gan, recipe = trained_gan(tmp_path)
    folder = tmp_path / "preset"
    gan.save_to_preset(folder, recipe=recipe, samples=False)
    config = json.loads((folder / "config.json").read_text())
    config.update({"class_name": "MyGAN", "registered_name": "mypkg>MyGAN"})
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="names class 'MyGAN' \\(registered name 'mypkg>MyGAN'\\), which is not registered"):
        load_preset(folder, verify=False)


# ------------------------------------------------------------ CLI additions
def test_cli_list_columns(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "family", "resolution", "source", "license", "cached"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["dcgan-digits"] == ["dcgan-digits", "dcgan", "32", "embedded", "Apache-2.0", "embedded"]
    assert rows["ring8-nsgan"][2:] == ["2-D", "embedded", "Apache-2.0", "embedded"]
    assert rows["ring8-hinge"][3] == "-" and rows["ring8-hinge"][5] == "-"


def test_cli_sample_options_and_errors(tmp_path, capsys):
    out = tmp_path / "s.npz"
    assert main(["sample", "ring8-nsgan", "-n", "100", "--batch-size", "32", "--seed", "4", "--out", str(out)]) == 0
    assert "sampling" in capsys.readouterr().err  # progress bar over 4 batches
    whole = ganzoo.load("ring8-nsgan").generate(100, seed=4)
    np.testing.assert_allclose(np.load(out)["samples"], whole, atol=1e-6)
    assert main(["sample", "ring8-nsgan", "--truncation", "0.7", "--out", str(out)]) == 2
    assert "does not support truncation" in capsys.readouterr().err
    assert main(["sample", "ring8-nsgan", "--labels", "1", "--out", str(out)]) == 2
    assert "is not class-conditional; drop --labels" in capsys.readouterr().err
    assert main(["sample", "ring8-nsgan", "--truncation", "1.5", "--out", str(out)]) == 2
    assert "--truncation must lie in (0, 1]" in capsys.readouterr().err
    from ganzoo.commands.sample import parse_labels

    assert parse_labels("2", 3).tolist() == [2, 2, 2]
    with pytest.raises(ValueError, match="gives 2 ids for -n 3"):
        parse_labels("0,1", 3)
    with pytest.raises(ValueError, match="comma-separated integer class ids"):
        parse_labels("cat", 1)


def test_every_command_has_complete_help(capsys):
    from ganzoo.cli import COMMANDS

    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    for name in COMMANDS:
        assert name in top
        with pytest.raises(SystemExit) as info:
            main([name, "--help"])
        assert info.value.code == 0
        text = capsys.readouterr().out
        assert f"usage: ganzoo {name}" in text and len(text) > 200
    assert main([]) == 2
