"""GANMetrics and SampleGrid in a real `fit`, and the image helpers they use."""

import glob
import os

import keras
import numpy as np
import pytest
from PIL import Image

import ganzoo
from ganzoo.callbacks import GANMetrics
from ganzoo.callbacks import SampleGrid
from ganzoo.metrics.fid import fid_from_features
from ganzoo.metrics.reference import compute_reference_stats
from ganzoo.utils.images import make_grid
from ganzoo.utils.images import save_png
from ganzoo.utils.images import to_uint8


class BlockMeanExtractor:
    """Stand-in for the Inception extractor: 2x2 block means as features, same call interface."""

    batch_size = 16
    protocol = {"network": "block-mean"}

    def __init__(self):
        self.images_seen = 0

    def __call__(self, images):
        x = np.asarray(images, np.float32) / 255.0
        n, h, w, c = x.shape
        self.images_seen += n
        pool = x.reshape(n, 2, h // 2, 2, w // 2, c).mean((2, 4)).reshape(n, -1)
        pool = np.concatenate([pool, x.reshape(n, -1)[:, ::7]], axis=1)  # 4 + 10 dims
        return {"pool": pool, "logits": pool[:, :4] * 10.0}


def _tiny_gan(latent_dim=4):
    generator = keras.Sequential(
        [keras.Input((latent_dim,)), keras.layers.Dense(8 * 8), keras.layers.Activation("tanh"),
         keras.layers.Reshape((8, 8, 1))]
    )
    discriminator = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    gan = ganzoo.GAN(generator, discriminator, latent_dim=latent_dim, seed=1)
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-2), d_optimizer=keras.optimizers.Adam(1e-2))
    return gan


@pytest.fixture(scope="module")
def real_images():
    rng = np.random.default_rng(0)
    return np.tanh(rng.normal(size=(64, 8, 8, 1))).astype("float32")


def test_metrics_reach_history_and_model_checkpoint(real_images, tmp_path):
    extractor = BlockMeanExtractor()
    reference = compute_reference_stats(to_uint8(real_images), extractor, progress=False)
    metrics = GANMetrics(
        reference=reference, num_samples=48, metrics=("fid", "is", "kid"), extractor=extractor, verbose=0
    )
    checkpoint = keras.callbacks.ModelCheckpoint(
        str(tmp_path / "best.weights.h5"), monitor="fid", mode="min", save_best_only=True,
        save_weights_only=True,
    )
    gan = _tiny_gan()
    with pytest.warns(UserWarning, match="subsets have 48 samples"):
        history = gan.fit(real_images, batch_size=16, epochs=3, verbose=0, callbacks=[metrics, checkpoint])
    fids = history.history["fid"]
    assert len(fids) == 3 and len(history.history["is"]) == 3 and len(history.history["kid"]) == 3
    assert all(np.isfinite(fids)) and min(fids) > 0
    assert extractor.images_seen == 64 + 3 * 48
    # The logged value is the FID of exactly what generate() returns.
    features = extractor(to_uint8(np.concatenate([gan.generate(16, seed=s) for s in (0, 1, 2)])))["pool"]
    assert fids[-1] == pytest.approx(fid_from_features(features, extractor(to_uint8(real_images))["pool"]), rel=1e-6)
    # ModelCheckpoint saw the metric: it tracked the best FID and wrote the weights.
    assert checkpoint.best == pytest.approx(min(fids))
    assert os.path.isfile(tmp_path / "best.weights.h5")
    assert metrics.results[-1]["protocol"]["num_fake"] == 48
    assert metrics.results[-1]["protocol"]["num_real"] == 64


def test_every_n_epochs_and_bad_arguments(real_images):
    extractor = BlockMeanExtractor()
    metrics = GANMetrics(metrics=("is",), num_samples=20, every_n_epochs=2, extractor=extractor, verbose=0)
    history = _tiny_gan().fit(real_images, batch_size=32, epochs=4, verbose=0, callbacks=[metrics])
    assert [r["epoch"] for r in metrics.results] == [2, 4] and len(history.history["is"]) == 2
    with pytest.raises(ValueError, match="needs reference="):
        GANMetrics(metrics=("fid",))
    with pytest.raises(ValueError, match="unknown metric 'ssim'"):
        GANMetrics(reference="x.npz", metrics=("ssim",))
    with pytest.raises(ValueError, match="every_n_epochs must be a positive integer"):
        GANMetrics(reference="x.npz", every_n_epochs=0)


def test_sample_grid_fixed_latents_png_and_tensorboard(real_images, tmp_path):
    gan = _tiny_gan()
    grid_cb = SampleGrid(path=str(tmp_path / "samples" / "epoch_{epoch:04d}.png"), num_samples=9, seed=3)
    callbacks = [grid_cb]
    try:
        import tensorboard  # noqa: F401
        import tensorflow
    except ImportError:  # Keras' TensorBoard callback needs both
        tensorflow = None
    else:
        callbacks.append(keras.callbacks.TensorBoard(str(tmp_path / "tb"), write_graph=False))
    gan.fit(real_images, batch_size=16, epochs=2, verbose=0, callbacks=callbacks)
    files = sorted(os.listdir(tmp_path / "samples"))
    assert files == ["epoch_0001.png", "epoch_0002.png"]  # no temporary files left
    saved = np.asarray(Image.open(tmp_path / "samples" / "epoch_0002.png"))
    expected = make_grid(to_uint8(gan.generate(9, seed=3)))[..., 0]
    np.testing.assert_array_equal(saved, expected)  # same latents as generate(seed=3)
    assert saved.shape == (3 * 8 + 4 * 2, 3 * 8 + 4 * 2)
    if tensorflow is not None:
        import tensorflow as tf

        events = glob.glob(str(tmp_path / "tb" / "samples" / "events.out.tfevents.*"))
        tags = {
            (value.tag, event.step)
            for path in events
            for event in tf.compat.v1.train.summary_iterator(path)
            for value in event.summary.value
        }
        assert {("samples", 1), ("samples", 2)} <= tags


def test_image_helpers():
    assert to_uint8(np.array([-1.0, -0.999, 0.0, 0.5, 1.0, 2.0])).tolist() == [0, 0, 128, 191, 255, 255]
    assert to_uint8(np.array([0.0, 1.0]), value_range=(0, 1)).tolist() == [0, 255]
    with pytest.raises(ValueError, match="NaN"):
        to_uint8(np.array([np.nan]))
    images = np.arange(5 * 2 * 3 * 3, dtype=np.uint8).reshape(5, 2, 3, 3)
    grid = make_grid(images, nrow=2, padding=1, pad_value=255)
    assert grid.shape == (3 * 3 + 1, 2 * 4 + 1, 3)
    np.testing.assert_array_equal(grid[1:3, 5:8], images[1])  # row 0, column 1
    np.testing.assert_array_equal(grid[7:9, 1:4], images[4])  # row 2, column 0
    assert (grid[7:9, 5:8] == 255).all()  # empty cell keeps the pad value
    assert make_grid(np.zeros((4, 5, 5)), padding=0).shape == (10, 10, 1)
    with pytest.raises(ValueError, match="non-empty batch"):
        make_grid(np.zeros((0, 4, 4, 3)))


def test_save_png_roundtrip(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    gray = rgb[..., :1]
    save_png(tmp_path / "a" / "rgb.png", rgb)
    save_png(tmp_path / "a" / "gray.png", gray)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "a" / "rgb.png")), rgb)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "a" / "gray.png")), gray[..., 0])
    assert sorted(os.listdir(tmp_path / "a")) == ["gray.png", "rgb.png"]
    with pytest.raises(ValueError, match="uint8 pixels, got float32.*to_uint8"):
        save_png(tmp_path / "x.png", rgb.astype(np.float32))
    with pytest.raises(ValueError, match=r"got shape \(5, 7, 2\)"):
        save_png(tmp_path / "x.png", rgb[..., :2])
