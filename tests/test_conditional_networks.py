"""Class-conditional MLP and DCGAN builders: the engine's network contract.

- G takes `[z, y]`, D takes `[x, y]` (y: int32 class ids (N,), input "y");
- D returns logits (N, 1) or `{"logits", "features"?, "class_logits"?}`;
- the projection D is `psi(phi) + <E[y], phi>` from its own weights;
- labels change G's samples and a conditioned D's logits;
- `.keras` round trips; unconditional defaults rebuild the embedded presets.
"""

import json
import os

import keras
import numpy as np
import pytest

import ganzoo
from ganzoo.architectures import (
    dcgan_discriminator,
    dcgan_generator,
    mlp_discriminator,
    mlp_generator,
)
from ganzoo.engine import registry

K = 3  # classes
N = 4
RNG = np.random.default_rng(7)
Z = RNG.normal(size=(N, 8)).astype("float32")
Y = np.array([0, 1, 2, 1], "int32")
EMBEDDED = os.path.join(os.path.dirname(ganzoo.__file__), "embedded")


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _generator(family, **kwargs):
    if family == "mlp":
        return mlp_generator(8, (2,), hidden=(6, 5), **kwargs)
    return dcgan_generator(8, resolution=8, channels=2, width=4, **kwargs)


def _discriminator(family, **kwargs):
    if family == "mlp":
        return mlp_discriminator(2, hidden=(6, 5), **kwargs)
    return dcgan_discriminator(resolution=8, channels=2, width=4, **kwargs)


def _samples(family):
    shape = (N, 2) if family == "mlp" else (N, 8, 8, 2)
    return RNG.normal(size=shape).astype("float32")


def _call_d(D, x, y):
    return D([x, y], training=False) if len(D.inputs) == 2 else D(x, training=False)


def _logits(out):
    return _np(out["logits"] if isinstance(out, dict) else out)


@pytest.mark.parametrize("family", ["mlp", "dcgan"])
@pytest.mark.parametrize("conditioning", ["input", "hidden"])
def test_generator_takes_z_and_y_and_the_label_changes_the_sample(family, conditioning):
    G = _generator(family, num_classes=K, conditioning=conditioning)
    assert [t.name for t in G.inputs] == ["z", "y"] and G.inputs[1].dtype == "int32"
    assert tuple(G.inputs[1].shape) == (None,)
    out = _np(G([Z, Y], training=False))
    assert out.shape == ((N, 2) if family == "mlp" else (N, 8, 8, 2))
    # The same z with two labels gives two samples.
    other = _np(G([Z, (Y + 1) % K], training=False))
    assert np.abs(out - other).max() > 1e-6


def test_hidden_generator_joins_the_label_to_every_hidden_input():
    G = mlp_generator(8, 2, hidden=(6, 5, 4), num_classes=K, conditioning="hidden")
    assert [G.get_layer(f"fc{i}").kernel.shape[0] for i in range(3)] == [8 + K, 6 + K, 5 + K]
    G = dcgan_generator(8, resolution=16, channels=1, width=4, num_classes=K, conditioning="hidden")
    assert G.get_layer("project").kernel.shape[-1] == 8 + K  # transposed conv: (h, w, out, in)
    assert G.get_layer("up1").kernel.shape[-1] == 8 + K and G.get_layer("to_image").kernel.shape[-1] == 4 + K
    G = dcgan_generator(8, resolution=16, channels=1, width=4, num_classes=K, conditioning="input")
    assert G.get_layer("project").kernel.shape[-1] == 8 + K and G.get_layer("up1").kernel.shape[-1] == 8


@pytest.mark.parametrize("family", ["mlp", "dcgan"])
@pytest.mark.parametrize("conditioning", [None, "input", "hidden", "projection"])
@pytest.mark.parametrize("aux", [False, True])
def test_discriminator_inputs_outputs_and_label_dependence(family, conditioning, aux):
    D = _discriminator(family, num_classes=K, conditioning=conditioning, aux_classifier=aux)
    x = _samples(family)
    names = [t.name for t in D.inputs]
    assert names == (["x" if family == "mlp" else "image"] + (["y"] if conditioning else []))
    out = _call_d(D, x, Y)
    if aux:
        assert sorted(out) == ["class_logits", "logits"]
        assert _np(out["class_logits"]).shape == (N, K)
    else:
        assert not isinstance(out, dict)  # plain logits when nothing else is asked for
    assert _logits(out).shape == (N, 1)
    if conditioning:
        changed = _logits(_call_d(D, x, (Y + 1) % K))
        assert np.abs(changed - _logits(out)).max() > 1e-7, "the logit must depend on y"


@pytest.mark.parametrize("family", ["mlp", "dcgan"])
def test_return_features_is_a_dict(family):
    D = _discriminator(family, num_classes=K, conditioning="projection", aux_classifier=True, return_features=True)
    out = _call_d(D, _samples(family), Y)
    assert sorted(out) == ["class_logits", "features", "logits"]
    assert _np(out["features"]).shape == ((N, 5) if family == "mlp" else (N, 4, 4, 4))
    D = _discriminator(family, return_features=True)
    assert sorted(D(_samples(family))) == ["features", "logits"]


def test_mlp_projection_equals_numpy_from_its_weights():
    D = mlp_discriminator(3, hidden=(4,), num_classes=K, conditioning="projection")
    x = RNG.normal(size=(N, 3)).astype("float32")
    w0, b0 = (_np(v) for v in D.get_layer("fc0").weights)
    w, b = (_np(v) for v in D.get_layer("logit").weights)
    E = _np(D.get_layer("class_embedding").embeddings)
    h = x @ w0 + b0
    phi = np.where(h > 0, h, 0.2 * h)  # LeakyReLU(0.2)
    want = phi @ w + b + np.sum(E[Y] * phi, axis=1, keepdims=True)
    np.testing.assert_allclose(_np(D([x, Y])), want, rtol=1e-5, atol=1e-6)


def test_dcgan_projection_is_sum_pooled_psi_plus_inner_product():
    D = dcgan_discriminator(resolution=8, channels=2, width=4, num_classes=K, conditioning="projection",
                            return_features=True)
    x = _samples("dcgan")
    out = D([x, Y], training=False)
    fmap = _np(out["features"])
    phi = fmap.sum(axis=(1, 2))  # global sum pooling (Miyato & Koyama 2018)
    w, b = (_np(v) for v in D.get_layer("logit").weights)
    E = _np(D.get_layer("class_embedding").embeddings)
    assert E.shape == (K, 4)
    want = phi @ w + b + np.sum(E[Y] * phi, axis=1, keepdims=True)
    np.testing.assert_allclose(_np(out["logits"]), want, rtol=1e-4, atol=1e-5)


def test_keras_round_trip_of_conditional_networks(tmp_path):
    nets = {
        "G": (dcgan_generator(8, resolution=8, channels=2, width=4, num_classes=K, conditioning="hidden"), [Z, Y]),
        "D": (dcgan_discriminator(resolution=8, channels=2, width=4, num_classes=K, conditioning="projection",
                                  aux_classifier=True, return_features=True), [_samples("dcgan"), Y]),
        "mlpD": (mlp_discriminator(2, hidden=(6, 5), num_classes=K, conditioning="hidden"), [_samples("mlp"), Y]),
    }
    for key, (net, inputs) in nets.items():
        path = str(tmp_path / f"{key}.keras")
        net.save(path)
        loaded = keras.models.load_model(path)
        want, got = net(inputs, training=False), loaded(inputs, training=False)
        if isinstance(want, dict):
            assert sorted(got) == sorted(want)
            for name in want:
                np.testing.assert_array_equal(_np(got[name]), _np(want[name]), err_msg=f"{key}.{name}")
        else:
            np.testing.assert_array_equal(_np(got), _np(want), err_msg=key)


def _embedded_network(preset, role):
    with open(os.path.join(EMBEDDED, preset, "config.json")) as f:
        return keras.saving.deserialize_keras_object(json.load(f)["config"][role])


def _same_network(built, saved, inputs):
    def layout(model):
        return [type(layer).__name__ for layer in model.layers]

    assert layout(built) == layout(saved)
    assert [tuple(w.shape) for w in built.weights] == [tuple(w.shape) for w in saved.weights]
    named = [layer.name for layer in saved.layers if layer.weights]
    assert [layer.name for layer in built.layers if layer.weights] == named
    built.set_weights(saved.get_weights())
    np.testing.assert_allclose(_np(built(inputs, training=False)), _np(saved(inputs, training=False)),
                               rtol=1e-6, atol=1e-6)


def test_unconditional_defaults_rebuild_the_embedded_presets():
    # dcgan-digits and ring8-nsgan were saved before conditioning existed.
    z = RNG.normal(size=(2, 32)).astype("float32")
    _same_network(dcgan_generator(latent_dim=32, resolution=32, channels=1, width=32),
                  _embedded_network("dcgan-digits", "generator"), z)
    _same_network(dcgan_discriminator(resolution=32, channels=1, width=32),
                  _embedded_network("dcgan-digits", "discriminator"), RNG.normal(size=(2, 32, 32, 1)).astype("float32"))
    points = RNG.normal(size=(2, 2)).astype("float32")
    _same_network(mlp_generator(2, 2, hidden=(128, 128, 128)), _embedded_network("ring8-nsgan", "generator"), points)
    _same_network(mlp_discriminator(2, hidden=(128, 128, 128)), _embedded_network("ring8-nsgan", "discriminator"),
                  points)


def test_builders_are_registered():
    for name in ("mlp_generator", "mlp_discriminator", "dcgan_generator", "dcgan_discriminator",
                 "stylegan2_generator", "stylegan2_discriminator"):
        assert registry.lookup("builder", name) is getattr(ganzoo.architectures, name)


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: mlp_discriminator(2, conditioning="input"), "needs num_classes"),
        (lambda: dcgan_discriminator(8, 1, conditioning="projection"), "needs num_classes"),
        (lambda: mlp_discriminator(2, num_classes=K, conditioning="concat"), "Unknown discriminator conditioning"),
        (lambda: dcgan_discriminator(8, 1, num_classes=K, conditioning="Projection"), "Unknown discriminator"),
        (lambda: mlp_discriminator(2, aux_classifier=True), "aux_classifier=True needs num_classes"),
        (lambda: dcgan_discriminator(8, 1, aux_classifier=True), "aux_classifier=True needs num_classes"),
        (lambda: mlp_discriminator(2, hidden=(), num_classes=K, conditioning="hidden"), "give hidden"),
        (lambda: mlp_generator(2, 2, conditioning="hidden"), "needs num_classes"),
        (lambda: dcgan_generator(8, resolution=8, num_classes=K, conditioning="projection"),
         "Unknown generator conditioning"),
        (lambda: mlp_generator(2, 2, num_classes=-1), "num_classes must be an integer >= 0"),
        (lambda: mlp_generator(2, 2, normalization="sync"), "Unknown normalization"),
        (lambda: mlp_discriminator(2, normalization=True), "Unknown normalization"),
    ],
)
def test_bad_combinations_are_clear_errors(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_mlp_normalization_names_match_dcgan():
    def kinds(model):
        return [type(layer).__name__ for layer in model.layers if "Normalization" in type(layer).__name__]

    assert kinds(mlp_generator(2, 2, hidden=(4, 4), normalization="batch")) == ["BatchNormalization"] * 2
    assert kinds(mlp_generator(2, 2, hidden=(4,), normalization="sync_batch")) == ["SyncBatchNormalization"]
    assert kinds(mlp_discriminator(2, hidden=(4,), normalization="layer")) == ["LayerNormalization"]
    assert kinds(mlp_generator(2, 2, hidden=(4,))) == []  # "none" is the MLP's default
