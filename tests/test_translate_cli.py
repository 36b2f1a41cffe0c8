"""`ganzoo translate` (ganzoo/commands/translate.py) and PSNR/SSIM (ganzoo/metrics/image_quality.py).

The CLI runs on a small untrained Pix2Pix preset whose U-Net takes sides
that are multiples of 8: outputs must equal `translate()` of the resized
image, resized back to the input's size; errors are one line with exit 2.
SSIM is checked against a direct per-window implementation of Wang et al.
(2004) written here (scikit-image is not installed).
"""

import numpy as np
import pytest
from PIL import Image

from ganzoo.cli import main
from ganzoo.commands.translate import resize
from ganzoo.metrics.image_quality import gaussian_window, psnr, ssim
from ganzoo.models.pix2pix import Pix2Pix, Pix2PixInpaint, patch_discriminator, unet_generator


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    root = tmp_path_factory.mktemp("translate")
    G = unet_generator(in_channels=3, out_channels=3, depth=3, ngf=4, seed=0)
    gan = Pix2Pix(G, patch_discriminator(channels=3, source_channels=3, n_layers=1, ndf=4, seed=1))
    gan.save_to_preset(root / "rgb")
    G = unet_generator(in_channels=2, out_channels=1, depth=3, ngf=4, seed=0)
    inpaint = Pix2PixInpaint(G, patch_discriminator(channels=1, source_channels=2, n_layers=1, ndf=4, seed=1))
    inpaint.save_to_preset(root / "inpaint")
    return root, gan, inpaint


def _write(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, "uint8")).save(path)


def _read(path):
    return np.asarray(Image.open(path))


def test_translate_a_folder_restores_each_size(presets, tmp_path, capsys):
    root, gan, _ = presets
    rng = np.random.default_rng(0)
    images = {"a.png": rng.integers(0, 256, (20, 28, 3)), "b.png": rng.integers(0, 256, (16, 16, 3))}
    for name, image in images.items():
        _write(tmp_path / "in" / name, image)
    _write(tmp_path / "in" / "gray.png", rng.integers(0, 256, (16, 24)))
    assert main(["translate", str(root / "rgb"), str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png", "gray.png"]
    for name, image in images.items():
        out = _read(tmp_path / "out" / name)
        assert out.shape == image.shape
        x = image.astype("float32") / 127.5 - 1
        size = gan.valid_size(*x.shape[:2])
        want = resize(gan.translate(resize(x, size)), x.shape[:2])
        expected = np.clip(np.floor((want + 1) * 127.5 + 0.5), 0, 255)
        assert np.abs(out.astype("float64") - expected).max() <= 1.0
    assert _read(tmp_path / "out" / "gray.png").shape == (16, 24, 3)  # grayscale converted to RGB
    # The conversion is said once on stderr, even over several batches.
    _write(tmp_path / "in" / "gray2.png", rng.integers(0, 256, (16, 16)))
    capsys.readouterr()
    assert main(["translate", str(root / "rgb"), str(tmp_path / "in"), "--out", str(tmp_path / "out2"),
                 "--batch-size", "1"]) == 0
    assert capsys.readouterr().err.count("grayscale inputs converted to RGB (the model takes 3 channels)") == 1
    assert gan.valid_size(20, 28) == (24, 32)
    # Notes (resizing, conversion) go to stderr unless --quiet.
    assert main(["translate", str(root / "rgb"), str(tmp_path / "in" / "a.png"), "--out", str(tmp_path / "one.png")]) == 0
    err = capsys.readouterr().err
    assert "20x28 resized to 24x32" in err
    assert _read(tmp_path / "one.png").shape == (20, 28, 3)


def test_translate_errors_are_one_line(presets, tmp_path, capsys):
    root, *_ = presets
    _write(tmp_path / "x.png", np.zeros((16, 16, 3)))
    cases = [
        (["--direction", "a2b"], "translates one way only"),
        (["--direction", "b2a"], "one way only"),
        (["--mask", str(tmp_path / "x.png")], "not an inpainting model; drop --mask"),
    ]
    for extra, message in cases:
        rc = main(["translate", str(root / "rgb"), str(tmp_path / "x.png"), "--out", str(tmp_path / "o.png"), *extra])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and message in err and len(err.splitlines()) == 1, err
    rc = main(["translate", str(root / "rgb"), str(tmp_path / "missing.png"), "--out", str(tmp_path / "o.png")])
    assert rc == 2 and "no such file" in capsys.readouterr().err
    rc = main(["sample", str(root / "rgb"), "--out", str(tmp_path / "g.png")])
    err = capsys.readouterr().err
    assert rc == 2 and "use `ganzoo translate" in err, err


def test_translate_with_a_mask_keeps_the_known_pixels(presets, tmp_path):
    root, _, inpaint = presets
    image = np.random.default_rng(1).integers(0, 256, (16, 16)).astype("uint8")
    mask = np.zeros((16, 16), "uint8")
    mask[4:12, 4:12] = 255
    _write(tmp_path / "img.png", image)
    _write(tmp_path / "mask.png", mask)
    rc = main(["translate", str(root / "inpaint"), str(tmp_path / "img.png"), "--mask", str(tmp_path / "mask.png"),
               "--out", str(tmp_path / "filled.png")])
    assert rc == 0
    out = _read(tmp_path / "filled.png")
    known = mask == 0
    np.testing.assert_array_equal(out[known], image[known])
    x = image[None, ..., None].astype("float32") / 127.5 - 1
    want = inpaint.inpaint(x, (mask > 0)[None])[0, ..., 0]
    assert np.abs(out.astype("float64") - np.floor((want + 1) * 127.5 + 0.5)).max() <= 1.0
    rc = main(["translate", str(root / "inpaint"), str(tmp_path / "img.png"), "--out", str(tmp_path / "f.png")])
    assert rc == 2


# ------------------------------------------------------------------ metrics
def _ssim_by_windows(a, b, data_range=2.0):
    """Wang et al. 2004 written out window by window (2-D, one channel)."""
    w = np.outer(gaussian_window(11, 1.5), gaussian_window(11, 1.5))
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    values = []
    for i in range(a.shape[0] - 10):
        for j in range(a.shape[1] - 10):
            x, y = a[i:i + 11, j:j + 11], b[i:i + 11, j:j + 11]
            mx, my = (w * x).sum(), (w * y).sum()
            vx, vy = (w * (x - mx) ** 2).sum(), (w * (y - my) ** 2).sum()
            cxy = (w * (x - mx) * (y - my)).sum()
            values.append((2 * mx * my + c1) * (2 * cxy + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2)))
    return float(np.mean(values))


def test_ssim_and_psnr_equal_their_definitions():
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (2, 20, 18, 2))
    b = np.clip(a + rng.normal(0, 0.3, a.shape), -1, 1)
    per_image = ssim(a, b, per_image=True)
    for n in range(2):
        want = np.mean([_ssim_by_windows(a[n, ..., c], b[n, ..., c]) for c in range(2)])
        np.testing.assert_allclose(per_image[n], want, rtol=1e-10)
    assert ssim(a, a) == pytest.approx(1.0)
    assert abs(ssim(a, rng.uniform(-1, 1, a.shape))) < 0.1  # independent images: no structure in common
    assert ssim(a, np.clip(a + rng.normal(0, 0.05, a.shape), -1, 1)) > ssim(a, b)
    mse = np.mean((a - b) ** 2, axis=(1, 2, 3))
    np.testing.assert_allclose(psnr(a, b, per_image=True), 10 * np.log10(4.0 / mse), rtol=1e-12)
    u8 = (a[0] + 1) * 127.5
    assert psnr(u8, u8 + 2.55, data_range=255) == pytest.approx(20 * np.log10(100.0))
    with pytest.raises(ValueError, match="smaller than the 11x11 window"):
        ssim(np.zeros((1, 8, 8, 1)), np.zeros((1, 8, 8, 1)))
    with pytest.raises(ValueError, match="same shape"):
        psnr(np.zeros((1, 8, 8, 1)), np.zeros((1, 8, 9, 1)))


def test_batches_go_through_the_network_one_call_per_shape(presets, tmp_path):
    from pathlib import Path

    from ganzoo.commands.translate import translate_files

    _, gan, _ = presets
    rng = np.random.default_rng(1)
    files = []
    for i, shape in enumerate([(16, 16, 3), (16, 24, 3), (16, 16, 3), (16, 16, 3), (16, 24, 3)]):
        files.append(tmp_path / "in" / f"{i}.png")
        _write(files[-1], rng.integers(0, 256, shape))
    calls, plain = [], gan.translate

    def counting(images, **kwargs):
        calls.append(len(images))
        return plain(images, **kwargs)

    gan.translate = counting
    try:
        outs = {b: [tmp_path / f"out{b}" / f.name for f in files] for b in (1, 8)}
        for b in (1, 8):
            assert translate_files(gan, [Path(f) for f in files], outs[b], batch_size=b) == 5
    finally:
        del gan.translate
    assert calls == [1, 1, 1, 1, 1, 3, 2]  # batch 1: five calls; batch 8: one per shape (three 16x16, two 16x24)
    for a, b in zip(outs[1], outs[8]):  # batched float math may round one level apart in uint8
        assert np.abs(_read(a).astype(int) - _read(b).astype(int)).max() <= 1


def test_jpeg_in_png_out(presets, tmp_path):
    root, gan, _ = presets
    image = np.random.default_rng(2).integers(0, 256, (16, 16, 3)).astype("uint8")
    Image.fromarray(image).save(tmp_path / "photo.jpg", quality=95)
    assert main(["translate", str(root / "rgb"), str(tmp_path / "photo.jpg"), "--out", str(tmp_path / "o.png"),
                 "--quiet"]) == 0
    out = Image.open(tmp_path / "o.png")
    assert out.format == "PNG" and out.size == (16, 16)
    x = np.asarray(Image.open(tmp_path / "photo.jpg"), "float32") / 127.5 - 1  # the decoded JPEG is the input
    expected = np.clip(np.floor((gan.translate(x) + 1) * 127.5 + 0.5), 0, 255)
    assert np.abs(np.asarray(out, "float64") - expected).max() <= 1.0
