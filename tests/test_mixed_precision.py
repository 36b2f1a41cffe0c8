"""bf16 mixed precision (`training.precision: bf16`, `ganzoo train --precision bf16`).

Under Keras's "mixed_bfloat16" policy the layers compute in bfloat16 and
keep float32 variables; the engine keeps D's logits, the losses and the
penalties' input gradients in float32. Checked here: the gradients the
penalties take norms of are float32 and their values match the float32
model's within bfloat16 rounding; weights, optimizer slots and EMA stay
float32 through training steps; test_dcgan's learning target is still met
(and, marked slow, test_learning's shortened ring8 run).
"""

import copy

import keras
import numpy as np
import pytest
from keras import ops

from ganzoo import backend, recipes
from ganzoo.architectures import mlp_discriminator, mlp_generator
from ganzoo.engine import penalties as penalties_lib
from ganzoo.engine.gan import GAN
from ganzoo.training import build, precision_scope, train


def _gan(precision, weights_from=None):
    with precision_scope(precision):
        G = mlp_generator(latent_dim=4, output_shape=2, hidden=[32, 32], activation="relu")
        D = mlp_discriminator(input_shape=2, hidden=[32, 32], activation="leaky_relu")
        gan = GAN(G, D, latent_dim=4, seed=3, ema_decay=0.9, penalties=[
            penalties_lib.GradientPenalty(1.0), penalties_lib.R2(1.0), penalties_lib.PathLength(1.0, every=1)])
        gan.compile()
    if weights_from is not None:
        gan.set_weights(weights_from.get_weights())
    return gan


@pytest.fixture(scope="module")
def pair():
    keras.utils.set_random_seed(7)
    fp32 = _gan("fp32")
    return fp32, _gan("bf16", weights_from=fp32)


def test_the_bf16_model_computes_in_bf16_with_float32_variables_and_logits(pair):
    _, gan = pair
    dense = [layer for layer in gan.discriminator.layers if isinstance(layer, keras.layers.Dense)]
    assert dense and all(layer.compute_dtype == "bfloat16" for layer in dense)
    assert all(v.dtype == "float32" for v in gan.trainable_variables)
    x = np.random.default_rng(0).normal(size=(8, 2)).astype("float32")
    assert keras.backend.standardize_dtype(gan.discriminator(x).dtype) == "bfloat16"  # the raw net
    assert keras.backend.standardize_dtype(gan.discriminate(x)["logits"].dtype) == "float32"  # the contract


def test_penalty_gradients_are_float32_and_match_fp32(pair, monkeypatch):
    # GP (interpolates), R2 (the bf16 generator's own fakes) and path length (G's input).
    seen = []
    original = backend.input_grad

    def recording(fn, x):
        y, g = original(fn, x)
        seen.append(keras.backend.standardize_dtype(g.dtype))
        return y, g

    monkeypatch.setattr(penalties_lib.backend, "input_grad", recording)
    real = {"x": ops.convert_to_tensor(np.random.default_rng(1).normal(size=(16, 2)).astype("float32"))}
    values = {}
    for label, gan in zip(("fp32", "bf16"), pair):
        state = gan.seed_generator.state
        state.assign(ops.convert_to_tensor(np.array([11, 0]), dtype=state.dtype))  # the same noise for both
        with backend.no_grad():  # same weights: the bf16 fakes are the float32 ones rounded
            fake = {k: ops.stop_gradient(v) for k, v in gan.sample_fakes(real).items()}
        for penalty in gan.regularizers:
            value = penalty(gan, real, fake)
            assert keras.backend.standardize_dtype(value.dtype) == "float32", penalty.name
            values[label, penalty.name] = float(ops.convert_to_numpy(value))
    assert len(seen) == 6 and set(seen) == {"float32"}, seen
    for name in ("gp", "r2", "pl"):
        # bfloat16 keeps 8 significant bits: relative error ~ 2^-8 per op; 5% bounds these short nets.
        assert values["fp32", name] > 1e-6, values
        np.testing.assert_allclose(values["bf16", name], values["fp32", name], rtol=0.05, err_msg=name)


def test_bf16_training_keeps_weights_optimizer_state_and_ema_float32(pair):
    _, gan = pair
    x = np.random.default_rng(2).normal(size=(64, 2)).astype("float32")
    history = gan.fit(x, batch_size=16, epochs=1, verbose=0)
    assert all(np.isfinite(v[-1]) for v in history.history.values()), history.history
    assert all(v.dtype == "float32" for v in gan.trainable_variables)
    assert gan.ema_weights and all(v.dtype == "float32" for v in gan.ema_weights)
    slots = [v for opt in gan.optimizers.values() for v in opt.variables if "int" not in v.dtype]
    assert slots and all(v.dtype == "float32" for v in slots), {v.name: v.dtype for v in slots}
    assert keras.mixed_precision.global_policy().name == "float32"  # the scope restored it


def test_precision_option_reaches_the_recipe_and_checks_its_value():
    import argparse

    from ganzoo.commands.train import apply_overrides

    args = argparse.Namespace(overrides=None, batch_size=None, epochs=None, steps=None, kimg=None, lr=None,
                              precision="bf16")
    recipe = apply_overrides(recipes.get("ring8-nsgan"), args)
    assert recipe["training"]["precision"] == "bf16"
    bad = copy.deepcopy(recipe)
    bad["training"]["precision"] = "fp16"
    with pytest.raises(ValueError, match="training.precision must be one of"):
        build(bad)


def test_dcgan_learns_the_structure_of_its_data_in_bf16():
    # test_dcgan's learning target (150 steps on 8x8 images, left half bright) in bf16.
    from test_dcgan import contrast, half_bright_images

    from ganzoo.architectures import dcgan_discriminator, dcgan_generator

    rng = np.random.default_rng(0)
    with precision_scope("bf16"):
        G = dcgan_generator(latent_dim=16, resolution=8, channels=1, width=16)
        D = dcgan_discriminator(resolution=8, channels=1, width=16)
        gan = GAN(G, D, latent_dim=16, objective="non_saturating", ema_decay=0.9)
        gan.compile(g_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5),
                    d_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5))
    assert G.get_layer("project").compute_dtype == "bfloat16"
    before = contrast(gan.generate(64, seed=0))
    gan.fit(half_bright_images(32 * 150, rng), batch_size=32, epochs=1, verbose=0)
    after = gan.generate(64, seed=0)
    assert abs(before) < 0.3
    assert contrast(after) > 0.9, f"contrast {contrast(after):.2f} (real data: 1.4)"


@pytest.mark.slow
def test_ring8_learns_the_modes_in_bf16():
    # test_learning's shortened ring8 run (1,000 steps, batch 128, width 64,
    # lr 2e-3, EMA 0.99) in bf16: the same targets as in float32.
    recipe = copy.deepcopy(recipes.get("ring8-nsgan"))
    recipe["training"].update(batch_size=128, steps_per_epoch=500, epochs=2, precision="bf16")
    for net in ("generator", "discriminator"):
        recipe["model"][net]["hidden"] = [64, 64, 64]
        recipe["optimizers"][net]["learning_rate"] = 2e-3
    recipe["model"]["ema_decay"] = 0.99
    gan, metrics = train(recipe, seed=0, verbose=0)
    assert gan.generator.layers[-1].compute_dtype == "bfloat16"
    assert metrics["modes"] >= 7, metrics
    assert metrics["high_quality"] >= 0.45, metrics


def test_one_filter_conv_gradient_in_bf16():
    # DCGAN's logit conv (one 4x4 filter): torch's CPU fallback without native bf16 once failed its
    # backward on channels-last kernels ("grad_weight must be contiguous"; ganzoo.backend.torch).
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    grads = {}
    for precision in ("fp32", "bf16"):
        with precision_scope(precision):
            conv = keras.layers.Conv2D(1, 4, padding="valid", kernel_initializer=keras.initializers.Constant(0.05))
            conv.build(x.shape)
            loss_fn = lambda: (ops.sum(ops.cast(conv(x), "float32")), {})  # noqa: E731
            _, _, (g_kernel, _) = backend.value_and_grad(loss_fn, conv.trainable_variables)
            grads[precision] = np.asarray(ops.convert_to_numpy(ops.cast(g_kernel, "float32")))
    # d sum / d kernel = the sum of 50 input entries (2 images x 5x5 positions); bf16 rounds each to
    # 3 significant digits and a bf16 accumulator adds a rounding of about 2^-9 of the partial sum per
    # term (TF: 0.4 off on -15.9), so compare norms; a wrong layout or a transposed kernel is O(1) off.
    reference = grads["fp32"]
    assert np.linalg.norm(grads["bf16"] - reference) <= 0.03 * np.linalg.norm(reference)
    assert np.max(np.abs(grads["bf16"] - reference)) <= 0.05 * np.max(np.abs(reference))
