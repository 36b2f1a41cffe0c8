"""DCGAN: the paper's architecture rules at several resolutions, and a
short training run that must learn the structure of its images."""

import keras
import numpy as np
import pytest
from keras import layers

import ganzoo
from ganzoo.architectures import dcgan_discriminator, dcgan_generator


@pytest.mark.parametrize("resolution,channels", [(8, 1), (16, 3), (32, 5)])
def test_shapes_at_any_power_of_two_and_channel_count(resolution, channels):
    G = dcgan_generator(latent_dim=16, resolution=resolution, channels=channels, width=8)
    D = dcgan_discriminator(resolution=resolution, channels=channels, width=8)
    z = np.random.randn(2, 16).astype("float32")
    x = keras.ops.convert_to_numpy(G(z, training=False))
    assert x.shape == (2, resolution, resolution, channels)
    assert np.all(np.abs(x) <= 1.0)  # tanh output
    assert keras.ops.convert_to_numpy(D(x, training=False)).shape == (2, 1)


def test_paper_architecture_rules():
    G = dcgan_generator(latent_dim=16, resolution=32, channels=3, width=8)
    D = dcgan_discriminator(resolution=32, channels=3, width=8)
    for net in (G, D):
        kinds = {type(layer).__name__ for layer in net.layers}
        assert not kinds & {"MaxPooling2D", "AveragePooling2D"}, "no pooling"
        assert "Dense" not in kinds, "no fully connected hidden layers"
    assert G.layers[-1].activation.__name__ == "tanh"
    assert any(isinstance(layer, layers.ReLU) for layer in G.layers)
    assert any(isinstance(layer, layers.LeakyReLU) for layer in D.layers)
    # BatchNorm everywhere except G's output and D's input layer.
    g_bn = [layer for layer in G.layers if isinstance(layer, layers.BatchNormalization)]
    d_bn = [layer for layer in D.layers if isinstance(layer, layers.BatchNormalization)]
    assert len(g_bn) == 3 and len(d_bn) == 2
    assert isinstance(D.layers[2], layers.LeakyReLU)  # input conv -> LeakyReLU directly
    strides = [layer.strides for layer in D.layers if isinstance(layer, layers.Conv2D)]
    assert strides[:-1] == [(2, 2)] * 3


def test_bad_resolution_is_a_clear_error():
    with pytest.raises(ValueError, match="power of two >= 8"):
        dcgan_generator(resolution=48)
    with pytest.raises(ValueError, match="normalization"):
        dcgan_discriminator(resolution=16, normalization="group")


def half_bright_images(n, rng):
    """Left half bright, right half dark, with noise: structure a GAN must learn."""
    x = np.full((n, 8, 8, 1), -0.7, "float32")
    x[:, :, :4] = 0.7
    return np.clip(x + 0.1 * rng.standard_normal(x.shape), -1, 1).astype("float32")


def contrast(images):
    return float(np.mean(images[:, :, :4]) - np.mean(images[:, :, 4:]))


def test_dcgan_learns_the_structure_of_its_data():
    rng = np.random.default_rng(0)
    G = dcgan_generator(latent_dim=16, resolution=8, channels=1, width=16)
    D = dcgan_discriminator(resolution=8, channels=1, width=16)
    gan = ganzoo.GAN(G, D, latent_dim=16, objective="non_saturating", ema_decay=0.9)
    gan.compile(
        g_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5),
        d_optimizer=keras.optimizers.Adam(2e-3, beta_1=0.5),
    )
    before = contrast(gan.generate(64, seed=0))
    gan.fit(half_bright_images(32 * 150, rng), batch_size=32, epochs=1, verbose=0)
    after = gan.generate(64, seed=0)
    assert abs(before) < 0.3
    assert contrast(after) > 0.9, f"contrast {contrast(after):.2f} (real data: 1.4)"
