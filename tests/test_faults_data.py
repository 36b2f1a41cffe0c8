"""Bad data and bad recipe arguments: nothing silently lost, nothing mislabelled, a one-line error.

Each test builds its own tiny input (a few 8x8 images, a 2-D MLP GAN) so the file runs in seconds.
"""

import importlib
import io
import logging
import re
import tomllib
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

pytest.importorskip("tensorflow")

import tensorflow as tf  # noqa: E402

from ganzoo import recipes, training  # noqa: E402
from ganzoo.data import images  # noqa: E402
from ganzoo.engine import penalties, objectives  # noqa: E402
from ganzoo.factory import build_gan, build_network, build_optimizers  # noqa: E402


def _one_line(err):
    message = str(err.value)
    assert "\n" not in message, message
    return message


def _png(path, value, size=8):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size), value, np.uint8)).save(path)


def _truncated_png(path):
    """A PNG whose header PIL reads but whose pixel data stops half way."""
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (8, 8), dtype=np.uint8)).save(buf, format="PNG")
    data = buf.getvalue()
    path.write_bytes(data[: len(data) // 2])
    with Image.open(path) as im:  # the old header-only scan accepted it
        assert im.format == "PNG"


def _folder(root, n, truncated=()):
    for i in range(n):
        _png(root / f"{i:02d}.png", 20 * i)
    for name in truncated:
        _truncated_png(root / name)
    return root


def _mlp_gan(shape=(8, 8, 1)):
    gan = build_gan({
        "latent_dim": 4,
        "generator": {"builder": "mlp_generator", "latent_dim": 4, "output_shape": list(shape), "hidden": [8]},
        "discriminator": {"builder": "mlp_discriminator", "input_shape": list(shape), "hidden": [8]},
        "objective": "hinge",
    })
    gan.compile(**build_optimizers({"generator": {"name": "adam"}, "discriminator": {"name": "adam"}}, gan))
    return gan


# --------------------------------------------------------------------------- 1. damaged files, 0 steps


def test_truncated_png_is_dropped_at_scan_and_named_once(tmp_path, caplog):
    root = _folder(tmp_path / "imgs", 5, truncated=["bad_a.png", "bad_b.png"])
    caplog.set_level(logging.WARNING)
    ds = images(root, 8, batch_size=2, shuffle=False, drop_remainder=False)
    assert int(ds.cardinality()) == 3  # ceil(5 / 2): the damaged files are not counted
    assert sum(int(b.shape[0]) for b in ds) == 5
    lines = [r.getMessage() for r in caplog.records if "bad_a.png" in r.getMessage()]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert "bad_b.png" in lines[0] and "2 unreadable" in lines[0] and "fails to decode" in lines[0]


def test_too_few_readable_images_is_one_line_error(tmp_path):
    root = _folder(tmp_path / "imgs", 3, truncated=["broken.png"])
    with pytest.raises(ValueError) as err:
        images(root, 8, batch_size=4)
    message = _one_line(err)
    assert "only 3 images" in message and "broken.png" in message and "batch_size=4" in message


def test_only_damaged_files_is_one_line_error(tmp_path):
    root = tmp_path / "imgs"
    root.mkdir()
    _truncated_png(root / "x.png")
    with pytest.raises(ValueError) as err:
        images(root, 8, batch_size=1)
    assert "no readable images" in _one_line(err) and "x.png" in str(err.value)


def test_class_with_only_damaged_files_is_reported_empty(tmp_path, caplog):
    _folder(tmp_path / "imgs" / "a", 2)
    (tmp_path / "imgs" / "b").mkdir()
    _truncated_png(tmp_path / "imgs" / "b" / "t.png")
    caplog.set_level(logging.WARNING)
    ds = images(tmp_path / "imgs", 8, batch_size=2, labels=True)
    assert ds.class_names == ["a", "b"]
    assert "'b' (id 1)" in caplog.text and "b/t.png" in caplog.text


def test_train_refuses_a_run_that_trained_nothing(monkeypatch):
    # A fit that ran no step (whatever the cause) must not save an untrained model as a result.
    monkeypatch.setattr(keras.Model, "fit", lambda self, *a, **k: keras.callbacks.History())
    with pytest.raises(ValueError) as err:
        training.train("ring8-nsgan", epochs=1, verbose=0)
    message = _one_line(err)
    assert "trained 0 steps" in message and "batch_size" in message


@pytest.mark.parametrize("length", ["known", "unknown"])
def test_fit_refuses_a_dataset_with_no_batch(length):
    ds = tf.data.Dataset.from_tensor_slices(np.zeros((3, 8, 8, 1), np.float32))
    if length == "unknown":
        ds = ds.filter(lambda x: True)  # cardinality unknown: Keras's JAX fit failed with UnboundLocalError
    ds = ds.batch(4, drop_remainder=True)
    gan = _mlp_gan()
    with pytest.raises(ValueError) as err:
        gan.fit(ds, epochs=1, verbose=0)
    assert "yields no batch" in _one_line(err)
    assert int(gan.step_counter.numpy()) == 0


# --------------------------------------------------------------------------- 2. steps per epoch


def test_folder_epochs_count_the_same_steps_on_every_backend(tmp_path):
    root = _folder(tmp_path / "imgs", 10)
    ds = images(root, 8, batch_size=4, seed=0)  # drop_remainder: 2 batches per epoch
    assert int(ds.cardinality()) == 2
    gan = _mlp_gan()
    gan.fit(ds, epochs=3, verbose=0)
    assert int(gan.step_counter.numpy()) == 6  # TensorFlow counted 9: one empty step per epoch
    iterations = {name: int(opt.iterations.numpy()) for name, opt in gan.optimizers.items()}
    assert iterations == {"generator": 6, "discriminator": 6}


# --------------------------------------------------------------------------- 3. [0, 255] arrays


@pytest.mark.parametrize(
    "x, fragment",
    [
        (np.full((4, 8, 8, 1), 200, np.uint8), "uint8 images"),
        (np.full((4, 8, 8, 1), 200.0, np.float32), "values up to 200"),
        (np.full((4, 8, 8), 7, np.int64), "int64 images"),
    ],
    ids=["uint8", "float-0-255", "int64-NHW"],
)
def test_fit_warns_on_0_255_images(x, fragment):
    gan = _mlp_gan(x.shape[1:])
    with pytest.warns(UserWarning, match=re.escape(fragment)) as caught:
        gan.check_fit_data(x)
    message = str(caught[0].message)
    assert "x / 127.5 - 1" in message and "ganzoo.data.images" in message and "\n" not in message


def test_fit_warns_on_integer_image_dataset():
    ds = tf.data.Dataset.from_tensor_slices(np.zeros((4, 8, 8, 1), np.uint8)).batch(2)
    with pytest.warns(UserWarning, match="uint8 images"):
        _mlp_gan().check_fit_data(ds)


def test_no_range_warning_for_scaled_images_or_toy_points(recwarn):
    _mlp_gan().check_fit_data(np.linspace(-1, 1, 4 * 64, dtype=np.float32).reshape(4, 8, 8, 1))
    _mlp_gan((2,)).check_fit_data(np.full((16, 2), 4.0, np.float32))  # toy 2-D points span any range
    assert not [w for w in recwarn if "[-1, 1]" in str(w.message)]


# --------------------------------------------------------------------------- 4. recipe data keys


def test_toy_recipe_given_image_data_names_the_problem(tmp_path):
    recipe = recipes.get("ring8-nsgan")
    with pytest.raises(ValueError) as err:
        training.make_dataset(recipe, 1, 0, data=str(tmp_path / "my_digits"))
    message = _one_line(err)
    assert "toy recipe" in message and "my_digits" in message and "--data" in message
    with pytest.raises(ValueError) as err:
        training.make_dataset(recipe, 1, 0, data=np.zeros((4, 8, 8), np.uint8))
    assert "toy recipe" in _one_line(err) and "ndarray" in str(err.value)


@pytest.mark.parametrize("resolution, fragment", [(None, "data.resolution is missing"),
                                                  ("big", "data.resolution must be a positive int")])
def test_image_recipe_without_resolution_names_the_key(tmp_path, resolution, fragment):
    recipe = recipes.get("dcgan-digits")
    data = {k: v for k, v in recipe["data"].items() if k != "resolution"}
    if resolution is not None:
        data["resolution"] = resolution
    root = _folder(tmp_path / "imgs", 4)
    with pytest.raises(ValueError) as err:
        training.make_dataset({**recipe, "data": data}, 1, 0, data=str(root))
    assert fragment in _one_line(err) and "dcgan-digits" in str(err.value)


# --------------------------------------------------------------------------- 5. argument typos


def test_penalty_typo_is_one_line_with_close_match():
    with pytest.raises(ValueError) as err:
        penalties.get({"name": "r1", "config": {"gama": 1.0}})
    message = _one_line(err)
    assert "'gama'" in message and "did you mean 'gamma'" in message and "valid: gamma, every" in message


def test_objective_typo_is_one_line_with_close_match():
    with pytest.raises(ValueError) as err:
        objectives.get({"name": "non_saturating", "config": {"real_lable": 0.9}})
    message = _one_line(err)
    assert "'real_lable'" in message and "did you mean 'real_label'" in message


def test_penalty_typo_in_a_recipe_reaches_build_gan_as_value_error():
    model = dict(recipes.get("ring8-nsgan")["model"], penalties=[{"name": "r1", "config": {"gama": 1.0}}])
    with pytest.raises(ValueError) as err:
        build_gan(model)
    assert "did you mean 'gamma'" in _one_line(err)


def test_penalty_config_not_a_mapping():
    with pytest.raises(ValueError) as err:
        penalties.get({"name": "r1", "config": [1.0]})
    assert "config must be a mapping" in _one_line(err)


def test_builder_typo_and_missing_argument():
    with pytest.raises(ValueError) as err:
        build_network({"builder": "mlp_discriminator", "input_shape": 2, "hiden": [8]}, "discriminator")
    assert "did you mean 'hidden'" in _one_line(err)
    with pytest.raises(ValueError) as err:
        build_network({"builder": "mlp_discriminator", "hidden": [8]}, "discriminator")
    message = _one_line(err)
    assert "model.discriminator" in message and "input_shape" in message


# --------------------------------------------------------------------------- 6. the data extra


def test_data_extra_has_what_tensorflow_datasets_imports():
    extra = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    data = extra["project"]["optional-dependencies"]["data"]
    assert any(req.startswith("importlib_resources") for req in data)
    pytest.importorskip("tensorflow_datasets")
    # tensorflow_datasets.core.dataset_builder imports it lazily, at its first tfds.load / builder.
    importlib.import_module("importlib_resources")
    from tensorflow_datasets.core import dataset_builder

    assert dataset_builder.importlib_resources.abc.Traversable is not None
