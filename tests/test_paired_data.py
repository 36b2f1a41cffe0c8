"""Paired and inpainting data (ganzoo/data/paired.py): folders, AB images, jitter, masks, errors."""

import numpy as np
import pytest
from PIL import Image

from ganzoo import recipes
from ganzoo.data.paired import (
    box_masks,
    digit_pairs,
    edge_map,
    find_pairs,
    inpainting,
    paired,
    stroke_masks,
)
from ganzoo.training import make_dataset


def _png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, "uint8")).save(path)


def _images(n, h=16, w=16, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3)).astype("uint8")


def _batches(ds):
    return [tuple(np.asarray(t) for t in batch) for batch in ds]


@pytest.fixture
def ab_folder(tmp_path):
    a, b = _images(4), _images(4, seed=1)
    for i in range(4):
        _png(tmp_path / "A" / f"{i}.png", a[i])
        _png(tmp_path / "B" / f"{i}.png", b[i])
    return tmp_path, a, b


def test_a_b_folders_pair_by_file_name(ab_folder):
    folder, a, b = ab_folder
    (src, tgt), = _batches(paired(folder, 16, batch_size=4, shuffle=False))
    np.testing.assert_allclose(src, a / 127.5 - 1, atol=1e-6)
    np.testing.assert_allclose(tgt, b / 127.5 - 1, atol=1e-6)
    (src, tgt), = _batches(paired(folder, 16, batch_size=4, shuffle=False, direction="b2a"))
    np.testing.assert_allclose(src, b / 127.5 - 1, atol=1e-6)
    np.testing.assert_allclose(tgt, a / 127.5 - 1, atol=1e-6)


def test_side_by_side_ab_images_split_in_halves(tmp_path):
    a, b = _images(2), _images(2, seed=1)
    _png(tmp_path / "train" / "0.png", np.concatenate([a[0], b[0]], axis=1))
    Image.fromarray(np.concatenate([a[1], b[1]], axis=1)).save(tmp_path / "train" / "1.jpg", quality=95)
    pairs, layout = find_pairs(tmp_path, split="train")
    assert layout == "AB" and len(pairs) == 2
    (src, tgt), = _batches(paired(tmp_path, 16, batch_size=2, split="train", shuffle=False))
    np.testing.assert_allclose(src[0], a[0] / 127.5 - 1, atol=1e-6)
    np.testing.assert_allclose(tgt[0], b[0] / 127.5 - 1, atol=1e-6)
    # JPEG: lossy, and TensorFlow's decoder rounds differently from PIL's; the halves still match.
    full = np.asarray(Image.open(tmp_path / "train" / "1.jpg"), "float32") / 127.5 - 1
    assert np.abs(src[1] - full[:, :16]).mean() < 0.03 and np.abs(tgt[1] - full[:, 16:]).mean() < 0.03


def test_jitter_crops_and_flips_source_and_target_alike(tmp_path):
    a = _images(8, 24, 24)
    for i in range(8):
        _png(tmp_path / "A" / f"{i}.png", a[i])
        _png(tmp_path / "B" / f"{i}.png", 255 - a[i])   # B = inverted A, pixel by pixel
    ds = paired(tmp_path, 16, batch_size=8, load_size=20, flip=True, seed=3, shuffle=False)
    (src, tgt), = _batches(ds)
    # Bicubic resizing and clipping commute with inversion: the same crop and flip give tgt = -src.
    np.testing.assert_allclose(tgt, -src, atol=1e-5)
    assert src.shape == (8, 16, 16, 3)
    # Each source is a 16x16 crop (maybe flipped) of its image resized to 20x20; the crops vary.
    import tensorflow as tf

    resized = np.clip(tf.image.resize(a / 255.0, (20, 20), method="bicubic").numpy(), 0, 1) * 2 - 1
    found = []
    for i in range(8):
        for dy in range(5):
            for dx in range(5):
                for flip in (False, True):
                    view = resized[i, :, ::-1] if flip else resized[i]
                    if np.abs(view[dy:dy + 16, dx:dx + 16] - src[i]).max() < 1e-4:
                        found.append((i, dy, dx, flip))
    assert sorted({f[0] for f in found}) == list(range(8))
    assert len({f[1:] for f in found}) > 2


def test_bad_pairings_are_errors_that_name_the_file(tmp_path, ab_folder):
    folder, *_ = ab_folder
    (folder / "B" / "3.png").unlink()
    with pytest.raises(ValueError, match=r"A/3.png has no partner .*B/3.png"):
        paired(folder, 16, batch_size=1)
    _png(folder / "B" / "3.png", _images(1, 16, 20)[0])
    with pytest.raises(ValueError, match=r"A/3.png is 16x16 but its partner .*B/3.png is 20x16"):
        paired(folder, 16, batch_size=1)
    _png(folder / "B" / "3.png", _images(1)[0])
    _png(folder / "B" / "extra.png", _images(1)[0])
    with pytest.raises(ValueError, match=r"B/extra.png has no partner"):
        paired(folder, 16, batch_size=1)
    odd = tmp_path / "odd"
    _png(odd / "x.png", _images(1, 16, 33)[0])
    with pytest.raises(ValueError, match=r"x.png is 33x16; a side-by-side AB image needs an even width"):
        paired(odd, 16, batch_size=1)
    unpaired = tmp_path / "horse2zebra"
    _png(unpaired / "trainA" / "h.png", _images(1)[0])
    _png(unpaired / "trainB" / "z.png", _images(1)[0])
    with pytest.raises(ValueError, match=r"unpaired domains \(trainA, trainB\).*CycleGAN"):
        paired(unpaired, 16, batch_size=1)
    with pytest.raises(ValueError, match="is not a folder"):
        paired(tmp_path / "missing", 16, batch_size=1)
    with pytest.raises(ValueError, match="direction must be one of a2b, b2a"):
        paired(folder, 16, batch_size=1, direction="AtoB")


def test_masks_stay_inside_the_border():
    m = box_masks(64, 32, hole=20, border=4, seed=0)
    assert m.shape == (64, 32, 32, 1) and set(np.unique(m)) == {0.0, 1.0}
    assert np.all(m.sum(axis=(1, 2, 3)) == 400)
    assert m[:, :4].sum() == m[:, -4:].sum() == m[:, :, :4].sum() == m[:, :, -4:].sum() == 0
    assert len({m[i].tobytes() for i in range(64)}) > 10  # positions vary
    with pytest.raises(ValueError, match="does not fit"):
        box_masks(1, 32, hole=30, border=4)
    s = stroke_masks(8, 64, seed=0)
    assert 0.01 < s.mean() < 0.5 and set(np.unique(s)) <= {0.0, 1.0}


def test_inpainting_batches_hold_the_holed_image_and_its_mask():
    x = np.random.default_rng(0).uniform(-1, 1, (32, 32, 32, 1)).astype("float32")
    src, tgt = _batches(inpainting(x, 16, hole=20, border=4, seed=0, shuffle=False))[0]
    assert src.shape == (16, 32, 32, 2) and tgt.shape == (16, 32, 32, 1)
    np.testing.assert_array_equal(tgt, x[:16])
    mask = src[..., 1:]
    assert np.all(mask.sum(axis=(1, 2, 3)) == 400)
    np.testing.assert_array_equal(src[..., :1], np.where(mask == 1, 0.0, x[:16]))
    assert len({mask[i].tobytes() for i in range(16)}) > 3  # a fresh hole per example


def test_edge_map_of_a_step_is_its_sobel_magnitude():
    step = np.full((1, 8, 8, 1), -1.0, "float32")
    step[:, :, 4:] = 1.0  # 0 -> 1 in [0, 1] units between columns 3 and 4
    e = edge_map(step)
    # Sobel x on a unit step: (1 + 2 + 1) / 4 = 1 next to the step, 0 elsewhere.
    np.testing.assert_allclose(e[0, :, 3:5, 0], 1.0)
    np.testing.assert_allclose(e[0, :, :2, 0], -1.0)
    a, b = digit_pairs(16, target="edges")
    assert a.shape == b.shape == (1797, 16, 16, 1) and -1 <= b.min() < b.max() <= 1


def test_recipes_read_paired_and_inpainting_data():
    recipe = recipes.get("pix2pix-digits")
    ds, kwargs = make_dataset(recipe, epochs=1, seed=0)
    src, tgt = next(iter(ds))
    r = recipe["data"]["resolution"]
    assert tuple(src.shape) == tuple(tgt.shape) == (recipe["training"]["batch_size"], r, r, 1)
    assert ds.preview_sources.shape[1:] == (r, r, 1)
    recipe = recipes.get("pix2pix-inpaint")
    ds, _ = make_dataset(recipe, epochs=1, seed=0)
    src, tgt = next(iter(ds))
    assert src.shape[-1] == 2 and tgt.shape[-1] == 1
    # options.mask: free_form draws stroke masks (not boxes) into the source's mask channel.
    strokes = {**recipe, "data": {**recipe["data"], "options": {**recipe["data"]["options"], "mask": "free_form"}}}
    masks = {}
    for name, rec in (("box", recipe), ("free_form", strokes)):
        source, _ = next(iter(make_dataset(rec, epochs=1, seed=0)[0]))
        masks[name] = np.asarray(source)[..., 1]
    for m in masks["box"]:  # each hole is one filled axis-aligned rectangle
        rows, cols = np.nonzero(m > 0.5)
        assert m[rows.min():rows.max() + 1, cols.min():cols.max() + 1].min() > 0.5
    boxy = [m[np.ix_(*[np.unique(a) for a in np.nonzero(m > 0.5)])].min() > 0.5 for m in masks["free_form"]]
    assert not all(boxy) and masks["free_form"].max() == 1.0  # strokes, not rectangles
    bad = {**recipe, "data": {**recipe["data"], "options": {"hole_size": 3}}}
    with pytest.raises(ValueError, match="unknown data.options key 'hole_size'"):
        make_dataset(bad, epochs=1, seed=0)
    bad = {**recipe, "data": {**recipe["data"], "kind": "pairs"}}
    with pytest.raises(ValueError, match="Unknown dataset 'pairs'.*paired"):
        make_dataset(bad, epochs=1, seed=0)
