"""Fine-tuning a loaded preset with FreezeD (Mo et al. 2020): the frozen
discriminator blocks keep every value (weights and BatchNorm statistics), the
rest trains, losses stay finite; and `ganzoo train --resume` continues a run."""

import json

import numpy as np
import pytest

import ganzoo
from ganzoo import recipes
from ganzoo.cli import main
from ganzoo.finetune import discriminator_blocks, freeze_discriminator_layers, prepare_finetune
from ganzoo.training import build


def tiny_dcgan_recipe():
    recipe = recipes.get("dcgan-digits")
    recipe["name"] = "tiny-dcgan"
    recipe["model"]["latent_dim"] = 8
    recipe["model"]["generator"].update({"latent_dim": 8, "resolution": 16, "width": 4})
    recipe["model"]["discriminator"].update({"resolution": 16, "width": 4})
    recipe["data"]["resolution"] = 16
    return recipe


def values(layers):
    return [np.array(v.numpy()) for layer in layers for v in layer.weights]


def test_freezed_fine_tuning_of_a_loaded_preset(tmp_path):
    from ganzoo.data import builtin

    recipe = tiny_dcgan_recipe()
    pretrained = build(recipe, seed=0)
    pretrained.save_to_preset(tmp_path / "preset", recipe=recipe, samples=False)

    gan = ganzoo.load(str(tmp_path / "preset"))
    blocks = discriminator_blocks(gan.discriminator)
    assert [[layer.name for layer in b] for b in blocks] == [["down0"], ["down1", "down1_norm"], ["logit"]]
    prepare_finetune(gan, freeze_d_layers=2, recipe=recipe)
    frozen = blocks[0] + blocks[1]
    assert not any(layer.trainable for layer in frozen) and blocks[2][0].trainable
    trainable_ids = {id(v) for v in gan.discriminator.trainable_variables}
    assert not any(id(v) in trainable_ids for layer in frozen for v in layer.weights)

    before_frozen = values(frozen)
    before_top = values(blocks[2])
    before_g = [np.array(v.numpy()) for v in gan.generator.trainable_variables]
    new_data = builtin.load("digits", 16)[:16]  # "new data": the real digits at 16x16
    history = gan.fit(new_data, batch_size=8, epochs=1, verbose=0)

    for key in ("d_loss", "g_loss"):
        assert np.all(np.isfinite(history.history[key])), key
    assert int(gan.g_optimizer.iterations.numpy()) == 2
    for a, b in zip(before_frozen, values(frozen)):
        np.testing.assert_array_equal(a, b)  # weights and BN moving statistics
    assert any(not np.allclose(a, b) for a, b in zip(before_top, values(blocks[2])))
    after_g = [np.array(v.numpy()) for v in gan.generator.trainable_variables]
    assert any(not np.allclose(a, b) for a, b in zip(before_g, after_g))


def test_freeze_d_layers_bad_input(tmp_path):
    recipe = tiny_dcgan_recipe()
    gan = build(recipe, seed=0)
    with pytest.raises(ValueError, match="has 3 blocks .*use at most 2"):
        freeze_discriminator_layers(gan, 3)
    with pytest.raises(ValueError, match="must be an int >= 0"):
        freeze_discriminator_layers(gan, -1)
    gan.save_to_preset(tmp_path / "p", samples=False)
    sampler = ganzoo.load(str(tmp_path / "p"), generator_only=True)
    with pytest.raises(ValueError, match="generator_only=True"):
        prepare_finetune(sampler, freeze_d_layers=1)
    assert freeze_discriminator_layers(gan, 0) == []


def test_train_resume_continues_steps_and_optimizer_state(tmp_path):
    recipe = recipes.get("ring8-nsgan")
    recipe["name"] = "tiny-ring"
    recipe["model"]["generator"]["hidden"] = [16, 16]
    recipe["model"]["discriminator"]["hidden"] = [16, 16]
    recipe["training"].update({"steps_per_epoch": 5, "epochs": 1, "batch_size": 32})
    path = tmp_path / "tiny.yaml"
    import yaml

    path.write_text(yaml.safe_dump(recipe))
    assert main(["train", str(path), "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert main(["train", str(path), "--out", str(tmp_path / "b"), "--quiet", "--resume", str(tmp_path / "a")]) == 0
    metrics = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert metrics["steps"] == 10 and metrics["start_step"] == 5
    assert metrics["resumed_from"].endswith("preset")
    # The optimizer state travelled with the preset: Adam's step count continues.
    resumed = build(recipe, seed=5)
    resumed.load_weights(tmp_path / "b" / "preset" / "model.weights.h5")
    assert int(resumed.g_optimizer.iterations.numpy()) == 10
    # A preset of another architecture is refused with the reason.
    from ganzoo.presets import EMBEDDED_DIR
    from ganzoo.training import _resume, train

    # Embedded presets carry no optimizer state: resuming from one starts fresh optimizers.
    ring = build("ring8-nsgan", seed=0)
    _resume(ring, recipes.get("ring8-nsgan"), EMBEDDED_DIR / "ring8-nsgan")
    assert int(ring.step_counter.numpy()) == 5000 and int(ring.g_optimizer.iterations.numpy()) == 0

    recipe["model"]["generator"]["hidden"] = [8]
    with pytest.raises(ValueError, match="cannot resume from .*do not fit recipe 'tiny-ring'"):
        _resume(build(recipe, seed=0), recipe, tmp_path / "a")
    with pytest.raises(FileNotFoundError, match="no such folder"):
        train(recipe, resume=tmp_path / "nope")
