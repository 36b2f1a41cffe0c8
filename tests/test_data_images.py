"""Tests for ganzoo.data.images: folders, numpy arrays, TFDS (mock data) and bad input."""

import logging
import os

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("tensorflow")

import ganzoo.data  # noqa: E402
from ganzoo.data import images  # noqa: E402


def _save(path, array, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format=fmt)


def _all(ds):
    return np.concatenate([np.asarray(b) for b in ds], axis=0)


def _solid(h, w, value, channels=3):
    shape = (h, w, channels) if channels > 1 else (h, w)
    return np.full(shape, value, dtype=np.uint8)


@pytest.fixture
def image_folder(tmp_path):
    root = tmp_path / "imgs"
    _save(root / "a.png", _solid(16, 16, 255))
    _save(root / "b.jpg", _solid(20, 20, 0))
    _save(root / "nested" / "c.bmp", _solid(16, 16, 128))
    _save(root / "nested" / "deeper" / "d.gif", _solid(8, 8, 64))
    _save(root / "nested" / "e.webp", _solid(16, 16, 200))
    wide = np.zeros((12, 36, 3), dtype=np.uint8)
    wide[:, 12:24] = 255  # white centre third, black sides
    _save(root / "nested" / "wide.png", wide)
    (root / "bad.png").write_bytes(b"this is not an image")
    (root / "notes.txt").write_text("hello")
    (root / ".hidden.png").write_bytes(b"junk")
    return root


def test_folder_recursive_formats_and_skips(image_folder, caplog):
    caplog.set_level(logging.WARNING)
    ds = images(str(image_folder), 16, batch_size=4, shuffle=False, drop_remainder=False)
    x = _all(ds)
    assert x.shape == (6, 16, 16, 3) and x.dtype == np.float32
    assert x.min() >= -1.0 and x.max() <= 1.0
    # shuffle=False keeps the sorted, recursive file order: a.png, b.jpg, then nested/...
    assert np.allclose(x[0], 1.0) and np.allclose(x[1], -1.0, atol=0.02)
    assert "skipped 3 of 9 files" in caplog.text
    assert "1 unreadable (bad.png" in caplog.text and "not an image extension (e.g. notes.txt)" in caplog.text
    full = images(image_folder, 16, batch_size=4, seed=0)
    batches = list(full)
    assert len(batches) == 1 and batches[0].shape == (4, 16, 16, 3)


def test_non_square_crop_policies(tmp_path):
    wide = np.zeros((12, 36, 3), dtype=np.uint8)
    wide[:, 12:24] = 255
    _save(tmp_path / "w" / "wide.png", wide)
    center = _all(images(tmp_path / "w", 12, 1, shuffle=False))[0]
    assert np.allclose(center, 1.0, atol=1e-5), "center crop keeps the white middle square"
    pad = _all(images(tmp_path / "w", 12, 1, shuffle=False, crop="pad"))[0]
    assert np.allclose(pad[0], -1.0) and np.allclose(pad[-1], -1.0), "pad adds black rows"
    assert pad[6].max() > 0.0
    stretch = _all(images(tmp_path / "w", 12, 1, shuffle=False, crop="stretch"))[0]
    assert stretch[:, 0].mean() < -0.9 and stretch[:, 6].mean() > 0.9
    rect = _all(images(tmp_path / "w", (6, 18), 1, shuffle=False))
    assert rect.shape == (1, 6, 18, 3)


def test_folder_channels(tmp_path):
    _save(tmp_path / "g" / "a.png", _solid(8, 8, 255, channels=1))
    _save(tmp_path / "g" / "b.png", _solid(8, 8, 0, channels=1))
    gray = _all(images(tmp_path / "g", 8, 2, shuffle=False))
    assert gray.shape == (2, 8, 8, 1)
    assert np.allclose(gray[0], 1.0, atol=1e-3) and np.allclose(gray[1], -1.0)
    rgb = _all(images(tmp_path / "g", 8, 2, channels=3))
    assert rgb.shape == (2, 8, 8, 3)
    _save(tmp_path / "c" / "a.png", np.dstack([_solid(8, 8, 255, 1), _solid(8, 8, 0, 1), _solid(8, 8, 0, 1)]))
    red_gray = _all(images(tmp_path / "c", 8, 1, channels=1))
    assert red_gray.shape == (1, 8, 8, 1)
    assert np.allclose(red_gray, 0.2989 * 2 - 1, atol=0.01)


def test_folder_without_readable_images(tmp_path):
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "bad.png").write_bytes(b"nope")
    (folder / "bad2.jpg").write_bytes(b"")
    (folder / "readme.md").write_text("x")
    with pytest.raises(ValueError) as info:
        images(folder, 8, 1)
    message = str(info.value)
    assert "no readable images" in message and "skipped 3 files" in message
    assert "2 unreadable" in message and "1 not an image extension (e.g. readme.md)" in message
    assert "\n" not in message


def test_folder_too_small_for_batch(image_folder):
    with pytest.raises(ValueError, match="only 6 images, fewer than batch_size=8"):
        images(image_folder, 8, 8)
    assert _all(images(image_folder, 8, 8, drop_remainder=False)).shape == (6, 8, 8, 3)
    repeated = images(image_folder, 8, 8, repeat=True, seed=1)
    assert [b.shape[0] for b in repeated.take(3)] == [8, 8, 8]


def test_numpy_uint8_and_order():
    x = np.arange(10, dtype=np.uint8)[:, None, None] * np.ones((1, 4, 4), np.uint8) * 25  # image i == 25*i
    ordered = _all(images(x, 4, 5, shuffle=False))
    assert ordered.shape == (10, 4, 4, 1)
    assert np.allclose(ordered[:, 0, 0, 0], x[:, 0, 0] / 127.5 - 1.0)
    a = _all(images(x, 4, 5, seed=3))
    b = _all(images(x, 4, 5, seed=3))
    np.testing.assert_array_equal(a, b)
    assert sorted(np.round(a[:, 0, 0, 0], 5)) == sorted(np.round(ordered[:, 0, 0, 0], 5)), "each image once"
    assert not np.array_equal(a, ordered)
    full = np.full((2, 4, 4, 3), 255, np.uint8)
    full[1] = 0
    out = _all(images(full, 4, 2, shuffle=False))
    assert out[0].min() == 1.0 and out[1].max() == -1.0


@pytest.mark.parametrize(
    "array, expected",
    [
        (np.full((2, 4, 4, 3), 0.5, np.float32), 0.0),  # [0, 1]
        (np.full((2, 4, 4, 3), -0.5, np.float64), -0.5),  # [-1, 1]
        (np.full((2, 4, 4, 3), 255, np.int64), 1.0),  # integer [0, 255]
        (np.full((2, 4, 4, 4), 255, np.uint8), 1.0),  # RGBA: alpha dropped
    ],
)
def test_numpy_ranges(array, expected):
    out = _all(images(array, 4, 2))
    assert out.shape == (2, 4, 4, 3)
    assert np.allclose(out, expected, atol=1e-6)


def test_numpy_resize_and_channels():
    x = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    out = _all(images(x, 32, 3, channels=3))
    assert out.shape == (3, 32, 32, 3) and out.min() >= -1 and out.max() <= 1
    out = _all(images(x.astype(np.float32) / 255.0, (14, 7), 3, crop="pad"))
    assert out.shape == (3, 14, 7, 1)


@pytest.mark.parametrize(
    "array, fragment",
    [
        (np.full((2, 4, 4), 255.0, np.float32), "values span [255, 255]; expected [0, 1] or [-1, 1]"),
        (np.linspace(-3, 3, 32, dtype=np.float32).reshape(2, 4, 4), "values span [-3, 3]"),
        (np.full((2, 4, 4), -5, np.int32), "integer image array values span [-5, -5]"),
        (np.full((2, 4, 4), np.nan, np.float32), "NaN or inf"),
        (np.zeros((2, 4, 4), bool), "dtype must be uint8 or float"),
        (np.zeros((2, 4, 4, 2), np.uint8), "C in 1, 3 or 4; got (2, 4, 4, 2)"),
        (np.zeros((4, 4), np.uint8), "got (4, 4)"),
        (np.zeros((0, 4, 4), np.uint8), "empty"),
    ],
)
def test_numpy_bad_input(array, fragment):
    with pytest.raises(ValueError) as info:
        images(array, 4, 1)
    assert fragment in str(info.value)


def test_tfds_mock_mnist():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=8):
        ds = images("tfds:mnist", 32, 4, seed=0)
        batches = list(ds)
        rgb = next(iter(images("tfds:mnist:test", 16, 4, channels=3, shuffle=False)))
    assert len(batches) == 2 and batches[0].shape == (4, 32, 32, 1)
    assert batches[0].dtype == "float32"
    values = np.concatenate([np.asarray(b) for b in batches])
    assert values.min() >= -1.0 and values.max() <= 1.0
    assert rgb.shape == (4, 16, 16, 3)


def test_tfds_bad_specs():
    pytest.importorskip("tensorflow_datasets")
    with pytest.raises(ValueError, match="malformed TFDS spec"):
        images("tfds:", 8, 1)
    with pytest.raises(ValueError, match="unknown TFDS dataset 'no_such_dataset_xyz'"):
        images("tfds:no_such_dataset_xyz", 8, 1)


@pytest.mark.parametrize(
    "kwargs, error, fragment",
    [
        ({"resolution": 0}, ValueError, "resolution must be positive"),
        ({"resolution": (8,)}, ValueError, "(height, width)"),
        ({"resolution": 8.0}, ValueError, "resolution must be an int"),
        ({"batch_size": 0}, ValueError, "batch_size must be a positive int"),
        ({"channels": 2}, ValueError, "channels must be 1"),
        ({"crop": "random"}, ValueError, "crop must be one of"),
        ({"seed": "a"}, ValueError, "seed must be an int"),
    ],
)
def test_bad_arguments(kwargs, error, fragment):
    args = {"resolution": 8, "batch_size": 1} | kwargs
    with pytest.raises(error) as info:
        images(np.zeros((2, 8, 8), np.uint8), args.pop("resolution"), args.pop("batch_size"), **args)
    assert fragment in str(info.value)


def test_bad_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        images(tmp_path / "missing", 8, 1)
    (tmp_path / "one.png").write_bytes(b"x")
    with pytest.raises(ValueError, match="is a file; pass the folder"):
        images(tmp_path / "one.png", 8, 1)
    with pytest.raises(TypeError, match="got int"):
        images(42, 8, 1)


def test_package_exports():
    assert ganzoo.data.images is images and callable(images)
    assert "images" in dir(ganzoo.data) and "toy" in dir(ganzoo.data)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ganzoo.data.nope  # noqa: B018
    if os.path.exists(os.path.join(os.path.dirname(ganzoo.data.__file__), "toy.py")):
        assert ganzoo.data.toy.__name__ == "ganzoo.data.toy"


def test_keras_consumes_dataset():
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(1).integers(0, 256, (6, 8, 8), dtype=np.uint8)
    ds = images(x, 8, 3, seed=0)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
    assert model.predict(ds, verbose=0).shape == (6, 2)
