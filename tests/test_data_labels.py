"""Class labels from the data: folders, (x, y) arrays, .npz, TFDS, builtin digits, toy modes,
recipes (`training.make_dataset`) and `ganzoo sample --labels`."""

import argparse
import logging
import types

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("tensorflow")

import keras  # noqa: E402

from ganzoo.data import builtin, images  # noqa: E402

# Three classes, deliberately not created in sorted order; their grey levels tell them apart.
CLASSES = {"zebra": 40, "ant": 120, "Moose": 220}  # sorted: Moose (uppercase first), ant, zebra


def _all(ds):
    xs, ys = zip(*[(np.asarray(x), np.asarray(y)) for x, y in ds])
    return np.concatenate(xs), np.concatenate(ys)


def _png(path, value, size=6):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), value, np.uint8)).save(path)


@pytest.fixture
def class_folder(tmp_path):
    root = tmp_path / "classes"
    for name, value in CLASSES.items():
        for i in range(2):
            _png(root / name / f"{i}.png", value)
    _png(root / "ant" / "nested" / "2.png", CLASSES["ant"])  # classes are searched recursively
    (root / ".cache").mkdir()  # hidden folders are not classes (as in Keras)
    return root


# --------------------------------------------------------------------------- folders


def test_folder_labels_follow_keras_class_names(class_folder):
    ds = images(class_folder, 4, batch_size=7, labels=True, shuffle=False)
    reference = keras.utils.image_dataset_from_directory(class_folder, image_size=(4, 4), verbose=False)
    assert ds.class_names == reference.class_names == ["Moose", "ant", "zebra"]
    x, y = _all(ds)
    assert x.shape == (7, 4, 4, 3) and y.dtype == np.int32 and y.shape == (7,)
    assert np.bincount(y).tolist() == [2, 3, 2]
    # Each image carries its own folder's id: the grey level identifies the folder.
    for image, label in zip(x, y):
        value = round((float(image.mean()) + 1) * 127.5)
        assert abs(value - CLASSES[ds.class_names[label]]) <= 1
    shuffled = _all(images(class_folder, 4, 7, labels=True, seed=1))
    assert sorted(zip(shuffled[1].tolist(), shuffled[0][:, 0, 0, 0].round(3).tolist())) == sorted(
        zip(y.tolist(), x[:, 0, 0, 0].round(3).tolist())), "shuffling keeps each image with its label"


def test_folder_class_names_pick_and_order(class_folder):
    ds = images(class_folder, 4, 4, labels=True, shuffle=False, class_names=["zebra", "ant"], drop_remainder=False)
    x, y = _all(ds)
    assert ds.class_names == ["zebra", "ant"] and y.tolist() == [0, 0, 1, 1, 1]
    with pytest.raises(ValueError, match=r"class_names \['cat'\] are not sub-folders"):
        images(class_folder, 4, 1, labels=True, class_names=["ant", "cat"])
    with pytest.raises(ValueError, match=r"needs at least two class sub-folders; found 1 \('ant'\)"):
        images(class_folder, 4, 1, labels=True, class_names=["ant"])


def test_folder_errors(tmp_path, caplog):
    flat = tmp_path / "flat"
    _png(flat / "a.png", 0)
    _png(flat / "b.png", 255)
    with pytest.raises(ValueError) as info:
        images(flat, 4, 1, labels=True)
    message = str(info.value)
    assert "has 2 images directly in it (e.g. a.png)" in message and "sub-folder named after its class" in message
    assert "\n" not in message
    _png(flat / "only" / "c.png", 0)
    with pytest.raises(ValueError, match="has 2 images directly in it"):
        images(flat, 4, 1, labels=True)
    one = tmp_path / "one"
    _png(one / "cats" / "a.png", 0)
    with pytest.raises(ValueError) as info:
        images(one, 4, 1, labels=True)
    assert "a conditional recipe needs at least two class sub-folders; found 1 ('cats')" in str(info.value)
    # An empty class keeps its id (as in Keras), with a warning.
    _png(one / "dogs" / "b.png", 255)
    (one / "emus").mkdir()
    caplog.set_level(logging.WARNING)
    ds = images(one, 4, 2, labels=True)
    assert ds.class_names == ["cats", "dogs", "emus"] and "'emus' (id 2)" in caplog.text
    with pytest.raises(ValueError, match="class_names needs labels=True"):
        images(one, 4, 1, class_names=["cats"])


def test_unlabelled_paths_unchanged(class_folder):
    ds = images(class_folder, 4, 7, shuffle=False)
    batch = next(iter(ds))
    assert ds.class_names is None and not isinstance(batch, tuple) and batch.shape == (7, 4, 4, 3)
    x = np.zeros((4, 4, 4), np.uint8)
    for ds in (images(x, 4, 2), images((x, np.arange(4)), 4, 2, labels=False), images({"x": x}, 4, 2)):
        batch = next(iter(ds))
        assert ds.class_names is None and not isinstance(batch, tuple) and batch.shape == (2, 4, 4, 1)


# --------------------------------------------------------------------------- arrays


def test_numpy_pairs_and_mappings(tmp_path):
    x = (np.arange(6, dtype=np.uint8) * 40)[:, None, None] * np.ones((1, 4, 4), np.uint8)
    y = np.array([2, 0, 1, 2, 0, 1])
    for source in ((x, y), {"x": x, "y": y}, (x, y.astype("float32")), (x, np.eye(3)[y]), (x, y[:, None])):
        ds = images(source, 4, 3, shuffle=False)
        xs, ys = _all(ds)
        assert ys.dtype == np.int32 and ys.tolist() == y.tolist() and ds.class_names == ["0", "1", "2"]
        np.testing.assert_allclose(xs[:, 0, 0, 0], x[:, 0, 0] / 127.5 - 1.0, atol=1e-6)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    with np.load(tmp_path / "d.npz") as archive:
        assert _all(images(archive, 4, 3, shuffle=False))[1].tolist() == y.tolist()
    named = images((x, y), 4, 3, class_names=["a", "b", "c", "d"])
    assert named.class_names == ["a", "b", "c", "d"], "class_names sets K (a class may be absent)"
    a, b = _all(images((x, y), 4, 3, seed=5)), _all(images((x, y), 4, 3, seed=5))
    np.testing.assert_array_equal(a[1], b[1])
    order = np.round((a[0][:, 0, 0, 0] + 1) * 127.5 / 40).astype(int)
    assert a[1].tolist() == y[order].tolist(), "shuffling keeps each image with its label"


@pytest.mark.parametrize(
    "y, fragment",
    [
        (np.arange(5), "labels must be 6 class ids (one per image, shape (6,))"),
        (np.zeros((6, 2, 2)), "got shape (6, 2, 2)"),
        (np.array([0, 1, 0.5, 1, 0, 1]), "float labels must hold whole class ids; found 0.5 at index 2"),
        (np.array([0, 1, np.nan, 1, 0, 1]), "float labels must hold whole class ids"),
        (np.array([0, 1, -1, 1, 0, 1]), "labels must be class ids >= 0, found -1"),
        (np.array(list("abcabc")), "dtype <U1; map names to ids first"),
        (np.ones(6, bool), "labels must be integer class ids, got dtype bool"),
        (np.full((6, 3), 1 / 3), "2-D labels must be one-hot rows (one 1, the rest 0); row 0"),
        (np.array([[1, 1], [0, 1]] * 3), "row 0 is [1, 1]"),
        (np.array([[0.0, 1.0], [np.nan, 1.0]] * 3), "row 1 is [nan, 1.0]"),
    ],
)
def test_bad_labels(y, fragment):
    with pytest.raises(ValueError) as info:
        images((np.zeros((6, 4, 4), np.uint8), y), 4, 2)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_label_argument_errors():
    x = np.zeros((4, 4, 4), np.uint8)
    with pytest.raises(ValueError, match=r"labels=True needs class ids with the array: pass \(x, y\)"):
        images(x, 4, 2, labels=True)
    with pytest.raises(ValueError, match="the source has no 'y' entry"):
        images({"x": x}, 4, 2, labels=True)
    with pytest.raises(ValueError, match="needs an 'x' entry"):
        images({"images": x}, 4, 2)
    for bad in ("yes", np.arange(4)):
        with pytest.raises(ValueError, match="labels must be True, False or None"):
            images(x, 4, 2, labels=bad)
    with pytest.raises(ValueError, match="label 3 is out of range for 2 class_names"):
        images((x, [0, 1, 2, 3]), 4, 2, class_names=["a", "b"])
    with pytest.raises(ValueError, match="a tuple source must be"):
        images((x,), 4, 2)


# --------------------------------------------------------------------------- digits, toy, TFDS


def test_digits_labels():
    x, y = builtin.load("digits", 8, labels=True)
    assert x.shape == (1797, 8, 8, 1) and y.dtype == np.int32 and sorted(set(y.tolist())) == list(range(10))
    assert builtin.class_names("digits") == [str(d) for d in range(10)]
    ds = images("builtin:digits", 8, 10, labels=True, shuffle=False)
    bx, by = next(iter(ds))
    assert ds.class_names == builtin.class_names("digits") and by.numpy().tolist() == y[:10].tolist()
    np.testing.assert_allclose(bx.numpy(), x[:10], atol=1e-5)
    plain = images("builtin:digits", 8, 10, shuffle=False)
    assert plain.class_names is None and next(iter(plain)).shape == (10, 8, 8, 1)


def test_toy_modes():
    from ganzoo.data.toy import ring_centers, sample_mixture, toy_spec

    points, modes = toy_spec("ring").sample(400, seed=0, labels=True)
    np.testing.assert_array_equal(points, toy_spec("ring").sample(400, seed=0))
    assert modes.dtype == np.int32 and set(modes.tolist()) == set(range(8))
    nearest = np.argmin(((points[:, None] - ring_centers()[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(nearest, modes)
    assert sample_mixture(3, np.zeros((2, 2)), 0.1, seed=0).shape == (3, 2)


def test_tfds_labels():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=8):
        ds = images("tfds:mnist", 8, 4, labels=True, seed=0)
        batches = list(ds)
        plain = images("tfds:mnist", 8, 4, shuffle=False)
        plain_batch = next(iter(plain))
        with pytest.raises(ValueError) as info:
            images("tfds:celeb_a", 8, 4, labels=True)
        with pytest.raises(ValueError, match="its features are label: Text, image: Image"):
            images("tfds:lfw", 8, 4, labels=True)
    assert ds.class_names == [str(d) for d in range(10)]
    assert len(batches) == 2 and batches[0][0].shape == (4, 8, 8, 1) and batches[0][1].dtype == "int32"
    assert all(0 <= int(v) < 10 for _, y in batches for v in y)
    assert plain.class_names is None and plain_batch.shape == (4, 8, 8, 1)
    message = str(info.value)
    assert "'tfds:celeb_a' has no class-label feature" in message and "pass labels=False" in message
    assert "\n" not in message


# --------------------------------------------------------------------------- recipes


def _recipe(source, labels=True, **data):
    return {
        "name": "test-recipe",
        "data": {"source": source, "resolution": 8, "labels": labels, **data},
        "training": {"batch_size": 4},
    }


def test_make_dataset_labels(tmp_path, class_folder):
    from ganzoo import recipes
    from ganzoo.training import make_dataset

    # The embedded digits recipe, made conditional by one key, validates and reads the digit labels.
    digits = recipes.parse(recipes.config_dir() / "dcgan-digits.yaml")
    conditional = recipes.validate({**digits, "data": {**digits["data"], "labels": True}})
    ds, _ = make_dataset(conditional, epochs=1, seed=0)
    x, y = next(iter(ds))
    assert ds.class_names == [str(d) for d in range(10)] and y.shape == (x.shape[0],)
    assert x.shape[1:] == (digits["data"]["resolution"],) * 2 + (1,)
    with pytest.raises(ValueError, match="unknown key 'data.label'"):
        recipes.validate({**digits, "data": {**digits["data"], "label": True}})
    ds, kwargs = make_dataset(_recipe("builtin:digits"), epochs=1, seed=0)
    x, y = next(iter(ds))
    assert kwargs == {} and ds.class_names == [str(d) for d in range(10)] and y.dtype == "int32"
    plain, _ = make_dataset(_recipe("builtin:digits", labels=None), epochs=1, seed=0)
    assert plain.class_names is None and next(iter(plain)).shape == (4, 8, 8, 1)
    # --data overrides the source; steps_per_epoch repeats the data and keeps class_names.
    recipe = {**_recipe("builtin:digits"), "training": {"batch_size": 4, "steps_per_epoch": 3}}
    ds, kwargs = make_dataset(recipe, epochs=1, seed=0, data=str(class_folder))
    assert kwargs == {"steps_per_epoch": 3} and ds.class_names == ["Moose", "ant", "zebra"]
    assert [tuple(b[0].shape) for b in ds.take(3)] == [(4, 8, 8, 3)] * 3
    ds, _ = make_dataset(_recipe(str(class_folder), classes=["zebra", "ant"]), epochs=1, seed=0)
    assert ds.class_names == ["zebra", "ant"]
    # .npz with x and y; .npy holds images only.
    xs = np.zeros((6, 8, 8), np.uint8)
    np.savez(tmp_path / "d.npz", x=xs, y=np.arange(6) % 3)
    ds, _ = make_dataset(_recipe(None), epochs=1, seed=0, data=str(tmp_path / "d.npz"))
    assert ds.class_names == ["0", "1", "2"] and next(iter(ds))[1].shape == (4,)
    ds, _ = make_dataset(_recipe(str(tmp_path / "d.npz"), labels=False), epochs=1, seed=0)
    assert ds.class_names is None and next(iter(ds)).shape == (4, 8, 8, 1)
    np.save(tmp_path / "d.npy", xs)
    with pytest.raises(ValueError, match=r"is a .npy file of images only: save .* np.savez"):
        make_dataset(_recipe(str(tmp_path / "d.npy")), epochs=1, seed=0)
    np.savez(tmp_path / "nolabels.npz", x=xs)
    with pytest.raises(ValueError, match=r"holds \['x'\]; a training .npz needs 'x' \(images\) and y"):
        make_dataset(_recipe(str(tmp_path / "nolabels.npz")), epochs=1, seed=0)
    with pytest.raises(ValueError, match="data.labels must be true or false"):
        make_dataset(_recipe("builtin:digits", labels="yes"), epochs=1, seed=0)


def test_make_dataset_toy_labels():
    from ganzoo.training import make_dataset

    recipe = {**_recipe("toy:ring"), "training": {"batch_size": 16, "steps_per_epoch": 5}}
    ds, kwargs = make_dataset(recipe, epochs=2, seed=0)
    assert kwargs == {"steps_per_epoch": 5} and ds.class_names == [str(k) for k in range(8)]
    batches = list(ds)
    assert len(batches) == 10 and batches[0][0].shape == (16, 2) and batches[0][1].dtype == "int32"
    plain, kwargs = make_dataset({**recipe, "data": {"source": "toy:ring"}}, epochs=2, seed=0)
    assert isinstance(plain, np.ndarray) and plain.shape == (160, 2) and kwargs["batch_size"] == 16


# --------------------------------------------------------------------------- ganzoo sample --labels


class _StandIn:
    """A conditional model's sampling surface: `num_classes` and `generate(..., labels=)`."""

    latent_dim = 3

    def __init__(self, num_classes):
        self.num_classes = num_classes
        self.calls = []

    def sample_latents_numpy(self, n, seed=None):
        return np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype("float32")

    def generate(self, n=None, *, seed=None, latents=None, labels=None, batch_size=256, use_ema=True):
        if self.num_classes and labels is None:
            raise ValueError(f"This GAN is class-conditional: pass labels= class ids in [0, {self.num_classes}).")
        if not self.num_classes and labels is not None:
            raise ValueError("unconditional; do not pass labels")
        self.calls.append(None if labels is None else np.asarray(labels).tolist())
        out = np.zeros((len(latents), 4, 4, 1), "float32")
        if labels is not None:
            out += np.asarray(labels, "float32")[:, None, None, None] / 10
        return out


def _args(**kw):
    base = dict(name="stand-in", num=4, seed=0, out="x.npz", no_ema=False, truncation=None, labels=None,
                batch_size=3, quiet=True)
    return argparse.Namespace(**{**base, **kw})


def test_sample_labels_with_stand_in():
    from ganzoo.commands.sample import num_classes, sample

    model = _StandIn(5)
    samples, labels = sample(model, _args(labels="0,1,2,4"))
    assert labels.dtype == np.int32 and labels.tolist() == [0, 1, 2, 4]
    assert model.calls == [[0, 1, 2], [4]], "labels are split with the latents, batch by batch"
    np.testing.assert_allclose(samples[:, 0, 0, 0], [0.0, 0.1, 0.2, 0.4])
    assert sample(model, _args(labels="3"))[1].tolist() == [3, 3, 3, 3]
    with pytest.raises(ValueError, match="--labels has class id 5 but stand-in has 5 classes; use ids 0..4"):
        sample(model, _args(labels="5"))
    with pytest.raises(ValueError) as info:
        sample(model, _args())
    message = str(info.value)
    assert "class ids in [0, 5)" in message and "--labels ID" in message and "\n" not in message
    with pytest.raises(ValueError, match="is not class-conditional; drop --labels"):
        sample(_StandIn(0), _args(labels="1"))
    assert sample(_StandIn(0), _args())[1] is None
    stylegan_like = types.SimpleNamespace(conditional=True)
    assert num_classes(stylegan_like) is None and num_classes(_StandIn(0)) == 0 and num_classes(model) == 5


def test_sample_cli_one_line_errors(tmp_path, capsys, monkeypatch):
    import ganzoo
    from ganzoo.cli import main

    monkeypatch.setattr(ganzoo, "load", lambda name, generator_only=True: _StandIn(3))
    out = tmp_path / "s.npz"
    assert main(["sample", "cgan", "-n", "3", "--labels", "0,1,2", "--out", str(out)]) == 0
    assert np.load(out)["labels"].tolist() == [0, 1, 2]
    capsys.readouterr()
    assert main(["sample", "cgan", "-n", "3", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ganzoo sample: error:" in err and "[0, 3)" in err and "--labels" in err
    assert main(["sample", "cgan", "--labels", "7", "--out", str(out)]) == 2
    assert "has 3 classes; use ids 0..2" in capsys.readouterr().err


# --------------------------------------------------------------------------- end to end, a real conditional GAN


def _tiny_cgan(num_classes):
    """G([z, y]) and a projection D([x, y]) on 4x4 images; just big enough to run."""
    import ganzoo

    z, y = keras.Input((4,)), keras.Input((), dtype="int32")
    h = keras.layers.Concatenate()([z, keras.layers.Flatten()(keras.layers.Embedding(num_classes, 4)(y))])
    G = keras.Model([z, y], keras.layers.Reshape((4, 4, 1))(keras.layers.Dense(16, activation="tanh")(h)))
    x, yd = keras.Input((4, 4, 1)), keras.Input((), dtype="int32")
    f = keras.layers.Dense(8)(keras.layers.Flatten()(x))
    proj = keras.ops.sum(f * keras.layers.Flatten()(keras.layers.Embedding(num_classes, 8)(yd)), axis=1, keepdims=True)
    D = keras.Model([x, yd], keras.layers.Add()([keras.layers.Dense(1)(f), proj]))
    gan = ganzoo.GAN(G, D, latent_dim=4, num_classes=num_classes, seed=0)
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.Adam(1e-3))
    return gan


def test_conditional_gan_trains_on_labelled_data_and_samples():
    import ganzoo
    from ganzoo.commands.sample import sample

    keras.utils.set_random_seed(0)
    gan = _tiny_cgan(3)
    data = np.random.default_rng(0).integers(0, 256, (12, 4, 4), dtype=np.uint8)
    ds = images((data, np.arange(12) % 3), 4, 4, seed=0)
    assert len(ds.class_names) == gan.num_classes
    history = gan.fit(ds, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][-1])
    samples, labels = sample(gan, _args(labels="0,1,2,1"))
    assert samples.shape == (4, 4, 4, 1) and labels.tolist() == [0, 1, 2, 1]
    np.testing.assert_allclose(samples, gan.generate(latents=gan.sample_latents_numpy(4, 0), labels=labels),
                               atol=1e-5)
    with pytest.raises(ValueError) as info:
        sample(gan, _args())
    assert "[0, 3)" in str(info.value) and "--labels ID" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ValueError, match="has 3 classes; use ids 0..2"):
        sample(gan, _args(labels="3"))
    # Last: under JAX a fit() that fails mid-step leaves the variables unusable.
    with pytest.raises(ValueError, match="no labels"):
        gan.fit(images(data, 4, 4), epochs=1, verbose=0)
