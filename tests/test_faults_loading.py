"""Faults in loading: nothing lost, nothing mislabelled, no traceback.

* a loaded model keeps its provenance, and presets derived from it keep its
  license and name it as their parent (re-save, save_preset, prepare_finetune,
  train --resume, push);
* `import ganzoo` is enough for `keras.saving.load_model` in a new process;
* a corrupt file in the download cache is evicted, with one line naming it
  and its address;
* a corrupt preset folder or `.keras` file is one line naming the file, and
  nothing in it runs.

All offline and small (two-layer toy networks; no real checkpoint).
"""

import io
import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

import ganzoo
from ganzoo import download, sources
from ganzoo.engine.gan import GAN

NC = "nvidia-source-code-license-nc"
NC_URL = "https://nvlabs.github.io/stylegan2-ada-pytorch/license.html"
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("GANZOO_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # nothing here may touch the network


def tiny_gan(seed=0):
    keras.utils.set_random_seed(seed)
    generator = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(2)])
    discriminator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8), keras.layers.Dense(1)])
    return GAN(generator, discriminator, latent_dim=4)


def nc_preset(folder):
    """A preset like a converted NVIDIA one: non-commercial license, source, recipe, metrics."""
    recipe = {"name": "sg2-nc", "family": "stylegan2", "license": NC, "eval": {"protocol": "FID 50k"}}
    tiny_gan().save_to_preset(folder, recipe=recipe, license=NC, metrics={"fid": 2.84},
                              source="converted with ganzoo.convert.stylegan2 from ffhq.pkl", samples=False)
    meta = json.loads((folder / "metadata.json").read_text())
    meta["license_url"] = NC_URL  # as a converter would record it
    (folder / "metadata.json").write_text(json.dumps(meta))
    return folder


def meta(folder):
    return json.loads((Path(folder) / "metadata.json").read_text())


def one_line(err, *must):
    text = str(err.value if hasattr(err, "value") else err)
    assert "\n" not in text, text
    for piece in must:
        assert str(piece) in text, (piece, text)
    return text


# --------------------------------------------------------------------------- 1. provenance


def test_loaded_model_carries_provenance_and_resave_keeps_license(tmp_path):
    parent = nc_preset(tmp_path / "parent")
    gan = ganzoo.load(str(parent))
    assert gan.provenance["license"] == NC and gan.provenance["license_url"] == NC_URL
    assert gan.provenance["name"] == "sg2-nc" and gan.provenance["recipe"]["name"] == "sg2-nc"
    assert "ffhq.pkl" in gan.provenance["source"] and gan.provenance["preset"] == str(parent)

    out = Path(gan.save_to_preset(tmp_path / "child", samples=False))
    m = meta(out)
    assert m["license"] == NC and m["license_url"] == NC_URL  # was relabelled apache-2.0
    assert m["name"] == "sg2-nc" and m["recipe"]["name"] == "sg2-nc"
    assert m["parent"]["name"] == "sg2-nc" and m["parent"]["license"] == NC
    assert "ffhq.pkl" in m["parent"]["source"] and m["parent"]["metrics"]["fid"]["value"] == 2.84
    assert "derived with ganzoo from sg2-nc" in m["source"]
    card = (out / "README.md").read_text()
    assert f"license: {NC}" in card and "Derived from `sg2-nc`" in card

    # Through ganzoo.presets.save_preset, and a grandchild keeps the chain.
    grandchild = ganzoo.presets.save_preset(ganzoo.load(str(out)), tmp_path / "grandchild", samples=False)
    m2 = meta(grandchild)
    assert m2["license"] == NC and m2["parent"]["parent"]["name"] == "sg2-nc"


def test_explicit_license_wins_but_parent_is_recorded(tmp_path):
    gan = ganzoo.load(str(nc_preset(tmp_path / "parent")))
    m = meta(gan.save_to_preset(tmp_path / "child", license="cc-by-nc-4.0", samples=False))
    assert m["license"] == "cc-by-nc-4.0" and "license_url" not in m
    assert m["parent"]["license"] == NC


def test_generator_only_and_finetune_keep_provenance(tmp_path):
    parent = nc_preset(tmp_path / "parent")
    sampler = ganzoo.load(str(parent), generator_only=True)
    assert sampler.provenance["license"] == NC
    gan = ganzoo.prepare_finetune(ganzoo.load(str(parent)), freeze_d_layers=1)
    gan.fit(np.random.default_rng(0).normal(size=(16, 2)).astype("float32"), batch_size=8, epochs=1, verbose=0)
    m = meta(gan.save_to_preset(tmp_path / "tuned", samples=False))
    assert m["license"] == NC and m["parent"]["name"] == "sg2-nc"


def test_resumed_run_output_keeps_license(tmp_path):
    # `ganzoo train --resume DIR` builds a fresh model, loads DIR's weights, and saves with
    # metrics["resumed_from"] = DIR: the parent is found from that.
    parent = nc_preset(tmp_path / "parent")
    fresh = tiny_gan(seed=1)
    recipe = {"name": "my-run", "license": "apache-2.0"}
    m = meta(fresh.save_to_preset(tmp_path / "run", recipe=recipe, metrics={"resumed_from": str(parent)},
                                  samples=False))
    assert m["license"] == NC and m["name"] == "my-run" and m["parent"]["loaded_from"] == str(parent)


def test_trained_from_scratch_is_unchanged(tmp_path):
    m = meta(tiny_gan().save_to_preset(tmp_path / "p", samples=False))
    assert m["license"] == "apache-2.0" and "parent" not in m and m["source"] == "trained with ganzoo"


def test_registry_load_records_source_license(tmp_path, monkeypatch):
    folder = tmp_path / "hubless"
    tiny_gan().save_to_preset(folder, samples=False)
    m = meta(folder)
    del m["license"]  # e.g. an older preset without one: the source's license applies
    (folder / "metadata.json").write_text(json.dumps(m))
    monkeypatch.setattr(sources, "fetch", lambda recipe, src, revision=None: folder)
    monkeypatch.setattr("ganzoo.hub.show_license_notice", lambda *a, **k: True)
    recipe = {"name": "reg-nc", "weights": {"hub": "org/reg-nc", "license": NC, "license_url": NC_URL}}
    gan = sources.load_from_sources(recipe)
    assert gan.provenance["license"] == NC and gan.provenance["loaded_from"] == "reg-nc"
    assert meta(gan.save_to_preset(tmp_path / "child", samples=False))["license"] == NC


def test_push_of_non_commercial_model_says_so(tmp_path, monkeypatch, capsys):
    from huggingface_hub import HfApi

    from ganzoo import hub

    uploaded = {}

    class Info:
        repo_url = "http://127.0.0.1:9/me/tuned"

    monkeypatch.setattr(HfApi, "create_repo", lambda self, *a, **k: None)
    monkeypatch.setattr(HfApi, "upload_folder", lambda self, **k: uploaded.update(
        card=(Path(k["folder_path"]) / "README.md").read_text()) or Info())
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    gan = ganzoo.load(str(nc_preset(tmp_path / "parent")))
    hub.push_to_hub(gan, "me/tuned", token="hf_x")
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "non-commercial" in line]
    assert len(lines) == 1 and NC in lines[0] and "me/tuned" in lines[0]
    assert f"license: {NC}" in uploaded["card"]
    hub.push_to_hub(tiny_gan(), "me/free", token="hf_x")
    assert "non-commercial" not in capsys.readouterr().out
    assert hub.is_non_commercial("cc-by-nc-sa-4.0") and not hub.is_non_commercial("mit")


# --------------------------------------------------------------------------- 2. import ganzoo registers


def _run(code, *args):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=300)


def test_load_model_after_import_ganzoo_in_a_new_process(tmp_path):
    from ganzoo.layers.minibatch import MinibatchStdLayer

    gan = tiny_gan()
    gan.save(tmp_path / "g.keras")
    inputs = keras.Input((4, 4, 2))
    layered = keras.Model(inputs, keras.layers.Flatten()(MinibatchStdLayer(group_size=2)(inputs)))
    layered.save(tmp_path / "layer.keras")
    x = np.random.default_rng(0).normal(size=(2, 4, 4, 2)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", keras.ops.convert_to_numpy(layered(x)))
    code = """
        import sys
        import numpy as np
        {first}
        gan = keras.saving.load_model(sys.argv[1])
        assert type(gan).__name__ == "GAN", type(gan)
        m = keras.saving.load_model(sys.argv[2])
        y = keras.ops.convert_to_numpy(m(np.load(sys.argv[3])))
        np.testing.assert_allclose(y, np.load(sys.argv[4]), atol=1e-6)
        print("ok")
    """
    for first in ("import ganzoo\n        import keras", "import keras\n        import ganzoo"):
        result = _run(code.format(first=first), tmp_path / "g.keras", tmp_path / "layer.keras",
                      tmp_path / "x.npy", tmp_path / "y.npy")
        assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-2000:]


def test_import_ganzoo_stays_light():
    result = _run("import sys, ganzoo; print(sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch') "
                  "if m in sys.modules))")
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr[-2000:]


# --------------------------------------------------------------------------- 3. corrupt downloads


URL = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/fake.pkl"


class _Boom:
    """A booby-trapped pickle: unpickling it would create `marker`."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def _bad_pickles(tmp_path):
    good = pickle.dumps({"G_ema": [1.0, 2.0], "D": None}, protocol=4)
    return {
        "truncated": (good[: len(good) // 2], "truncated"),
        "garbage-int": (b"Ifoo\n.", "ValueError: could not convert string to int"),
        "wrong-layout": (pickle.dumps({"weights": [1, 2]}), "G_ema"),
        "empty": (b"", "EOFError"),
        "booby-trapped": (pickle.dumps(_Boom(tmp_path / "pwned")), "refused by the safe pickle reader"),
    }


@pytest.mark.parametrize("case", ["truncated", "garbage-int", "wrong-layout", "empty", "booby-trapped"])
def test_corrupt_cached_download_is_evicted_with_one_line(tmp_path, case):
    data, fragment = _bad_pickles(tmp_path)[case]
    recipe = {"name": "sg2-fake", "weights": {"url": URL, "converter": "stylegan2", "sha256": None}}
    cached = download.cached_path(URL)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(data)  # a pre-filled cache: no network needed to reach the converter
    with pytest.raises(OSError) as err:
        sources.load_from_sources(recipe)
    text = one_line(err, cached, URL, fragment, "removed from the cache")
    if case != "booby-trapped":
        assert "re-run to download it again" in text and "sha256 is pinned" in text
    assert not cached.exists() and not (tmp_path / "pwned").exists()
    # The next call does not trip over the same bad copy: it wants to download again.
    with pytest.raises(OSError) as again:
        sources.load_from_sources(recipe)
    one_line(again, "not in the cache")


def test_corrupt_converted_copy_is_dropped(tmp_path):
    src = {"url": URL, "converter": "stylegan2", "sha256": None}
    recipe = {"name": "sg2-fake", "weights": src}
    target = sources.converted_dir(recipe, src)
    target.mkdir(parents=True)
    (target / "config.json").write_text('{"class_name": "GAN", ')  # cut short
    (target / "model.weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    with pytest.raises(OSError) as err:
        sources.load_from_sources(recipe)
    one_line(err, target / "config.json", "is not valid JSON", "was removed: re-run to convert again")
    assert not target.exists()


def test_readme_and_recipes_say_nvidia_downloads_are_unchecked():
    readme = (REPO_ROOT / "README.md").read_text()
    assert "not pinned" in readme and "removed from the cache" in readme
    from ganzoo import recipes

    for name in recipes.names():
        recipe = recipes.get(name)
        for src in sources.normalize(recipe) if recipe.get("weights") else []:
            if "url" in src and not src.get("sha256"):
                path = REPO_ROOT / "zoo_configs" / f"{recipe['name']}.yaml"
                text = path.read_text()  # unpinned: say so, and that the first download's hash is then enforced
                assert "not checked" in text or "trust-on-first-use" in text, path


# --------------------------------------------------------------------------- 4. corrupt preset folders


@pytest.fixture
def preset(tmp_path):
    return Path(tiny_gan().save_to_preset(tmp_path / "preset", samples=False))


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def test_truncated_weights_with_checksums(preset):
    _truncate(preset / "model.weights.h5")
    with pytest.raises(ValueError) as err:
        ganzoo.load(str(preset))
    one_line(err, preset / "model.weights.h5", "sha256", "save the preset again")


def test_truncated_weights_without_metadata(preset):
    _truncate(preset / "model.weights.h5")
    (preset / "metadata.json").unlink()
    for generator_only in (False, True):
        with pytest.raises(ValueError) as err:
            ganzoo.load(str(preset), generator_only=generator_only)
        one_line(err, preset / "model.weights.h5", "truncated or corrupted", "save the preset again")


def test_config_not_json(preset):
    (preset / "config.json").write_text("{not json")
    with pytest.raises(ValueError) as err:
        ganzoo.presets.load_preset(preset, verify=False)
    one_line(err, preset / "config.json", "not valid JSON")


def test_metadata_not_json(preset):
    (preset / "metadata.json").write_text("[1, 2")
    with pytest.raises(ValueError) as err:
        ganzoo.load(str(preset))
    one_line(err, preset / "metadata.json", "not valid JSON")


def test_config_names_unknown_class(preset):
    config = json.loads((preset / "config.json").read_text())
    config.update(class_name="Evil", registered_name="evil>Evil", module="os")
    (preset / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError) as err:
        ganzoo.presets.load_preset(preset, verify=False)
    one_line(err, preset / "config.json", "'Evil'", "not registered")


def test_config_with_a_nested_booby_trap_runs_nothing(preset, tmp_path):
    config = json.loads((preset / "config.json").read_text())
    marker = tmp_path / "pwned"
    config["config"]["generator"] = {"module": "os", "class_name": "mkdir", "registered_name": None,
                                     "config": {"path": str(marker)}}
    (preset / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError) as err:
        ganzoo.presets.load_preset(preset, verify=False)
    one_line(err, preset / "config.json", "cannot rebuild")
    assert not marker.exists()


def test_missing_weights_file(preset):
    (preset / "model.weights.h5").unlink()
    with pytest.raises(FileNotFoundError) as err:
        ganzoo.load(str(preset))
    one_line(err, "model.weights.h5", "download the whole folder")


def test_truncated_keras_file(tmp_path):
    path = tmp_path / "g.keras"
    tiny_gan().save(path)
    _truncate(path)
    with pytest.raises(ValueError) as err:
        ganzoo.load(str(path))
    one_line(err, path, "truncated or corrupted")


def test_booby_trapped_pickle_as_weights_source(tmp_path):
    from ganzoo.convert import UnsafePickleError, convert_stylegan2, load_pickle

    marker = tmp_path / "pwned"
    bomb = tmp_path / "network.pkl"
    bomb.write_bytes(pickle.dumps({"G_ema": _Boom(marker)}))
    with pytest.raises(UnsafePickleError) as err:
        convert_stylegan2(str(bomb), str(tmp_path / "out"))
    one_line(err, "refusing to unpickle global 'posix.mkdir'", "nothing from the file was imported or run")
    with pytest.raises(UnsafePickleError):
        load_pickle(io.BytesIO(pickle.dumps(_Boom(marker))))
    assert not marker.exists() and not (tmp_path / "out").exists()
