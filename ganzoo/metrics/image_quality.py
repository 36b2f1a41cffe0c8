"""Full-reference image quality: PSNR and SSIM (for super-resolution and paired translation).

* PSNR = 10 log10(L^2 / MSE), per image, L the data range (2 for images in
  [-1, 1], 255 for uint8).
* SSIM (Wang, Bovik, Sheikh & Simoncelli 2004, IEEE TIP 13(4)): local means,
  variances and covariance under an 11x11 Gaussian window (sigma 1.5),
  `((2 mu_x mu_y + C1)(2 s_xy + C2)) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2))`,
  `C1 = (0.01 L)^2`, `C2 = (0.03 L)^2`, over the windows that fit inside the
  image ("valid", as the paper's reference code `ssim_index.m` filters), the
  map averaged per channel and then over channels. Variances use the
  window's weights as given (no Bessel correction), as the paper does.

Numpy only (metrics never import the engine); batches (N, H, W, C).

Example:
    >>> from ganzoo.metrics.image_quality import psnr, ssim
    >>> x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    >>> float(ssim(x, x)), psnr(x, x + 0.02)
    (1.0, 40.0...)
"""

import numpy as np


def _pair(a, b, what):
    a = np.asarray(a, dtype="float64")
    b = np.asarray(b, dtype="float64")
    if a.shape != b.shape:
        raise ValueError(f"{what}: images and references must have the same shape, got {a.shape} and {b.shape}.")
    if a.ndim == 3:
        a, b = a[None], b[None]
    if a.ndim != 4:
        raise ValueError(f"{what} takes images (N, H, W, C) or (H, W, C), got shape {a.shape}.")
    return a, b


def psnr(images, references, data_range=2.0, per_image=False):
    """Peak signal-to-noise ratio in dB, per image, averaged (or the per-image values).

    Args:
        data_range: L, the span of pixel values (2.0 for [-1, 1], 255 for uint8).
        per_image: return the (N,) values instead of their mean.

    Identical images give `inf`.

    Example:
        >>> round(float(psnr(np.zeros((1, 4, 4, 1)), np.full((1, 4, 4, 1), 0.2))), 3)   # 10 log10(4 / 0.04)
        20.0
    """
    a, b = _pair(images, references, "psnr")
    mse = np.mean((a - b) ** 2, axis=(1, 2, 3))
    with np.errstate(divide="ignore"):
        values = 10.0 * np.log10(float(data_range) ** 2 / mse)
    return values if per_image else float(np.mean(values))


def gaussian_window(size=11, sigma=1.5):
    """The normalized 1-D Gaussian of the SSIM window (the 2-D window is its outer product).

    Example:
        >>> w = gaussian_window()
        >>> w.shape, round(float(w.sum()), 6)
        ((11,), 1.0)
    """
    x = np.arange(size, dtype="float64") - (size - 1) / 2.0
    w = np.exp(-(x ** 2) / (2.0 * sigma ** 2))
    return w / w.sum()


def _filter_valid(x, w):
    """Separable 'valid' weighted sums of (N, H, W, C) with the 1-D window `w` on H then W."""
    k = len(w)
    h, wd = x.shape[1] - k + 1, x.shape[2] - k + 1
    out = sum(w[i] * x[:, i:i + h] for i in range(k))
    return sum(w[j] * out[:, :, j:j + wd] for j in range(k))


def ssim_map(images, references, data_range=2.0, window=11, sigma=1.5, k1=0.01, k2=0.03):
    """The SSIM map (N, H - window + 1, W - window + 1, C).

    Example:
        >>> ssim_map(np.zeros((1, 16, 16, 1)), np.zeros((1, 16, 16, 1))).shape
        (1, 6, 6, 1)
    """
    a, b = _pair(images, references, "ssim")
    if min(a.shape[1:3]) < window:
        raise ValueError(f"ssim: images of {a.shape[1]}x{a.shape[2]} are smaller than the {window}x{window} window; "
                         "pass a smaller window= (odd) or larger images.")
    w = gaussian_window(window, sigma)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    mu_a, mu_b = _filter_valid(a, w), _filter_valid(b, w)
    var_a = _filter_valid(a * a, w) - mu_a ** 2
    var_b = _filter_valid(b * b, w) - mu_b ** 2
    cov = _filter_valid(a * b, w) - mu_a * mu_b
    return ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))


def ssim(images, references, data_range=2.0, window=11, sigma=1.5, per_image=False):
    """Mean structural similarity (Wang et al. 2004), per image then averaged (or per image).

    Args:
        data_range: L (2.0 for [-1, 1] images, 255 for uint8).
        window, sigma: the Gaussian window (11, 1.5 as in the paper).
        per_image: return the (N,) values instead of their mean.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.uniform(-1, 1, (1, 16, 16, 1))
        >>> float(ssim(x, x)), abs(ssim(x, rng.uniform(-1, 1, x.shape))) < 0.2
        (1.0, True)
    """
    values = np.mean(ssim_map(images, references, data_range, window, sigma), axis=(1, 2, 3))
    return values if per_image else float(np.mean(values))


def translation_quality(translator, sources, targets, *, direction=None, fid=False, extractor=None,
                        batch_size=16, data_range=2.0):
    """PSNR and SSIM (and optionally FID) of a translator's outputs against paired targets.

    Args:
        translator: anything with `translate(images, direction=..., batch_size=...)`
            (Pix2Pix, CycleGAN, SRGAN-style models), numpy NHWC in [-1, 1].
        sources, targets: paired images, NHWC in [-1, 1].
        fid: also the FID of the translations against the targets through
            `ganzoo.metrics.evaluate.evaluate` (default extractor: the FID
            Inception; `extractor` for another). Meaningful with thousands
            of images only.

    Returns:
        `{"psnr", "ssim"[, "fid", "fid_protocol"]}`; "ssim" is None for images under 11x11.

    Example:
        >>> translation_quality(pix2pix, facades_labels, facades_photos)   # doctest: +SKIP
        {'psnr': 13.2, 'ssim': 0.31}
    """
    targets = np.asarray(targets, "float32")
    out = np.asarray(translator.translate(np.asarray(sources, "float32"), direction=direction, batch_size=batch_size))
    result = {"psnr": psnr(out, targets, data_range), "ssim": None}
    if min(out.shape[1:3]) >= 11:
        result["ssim"] = ssim(out, targets, data_range)
    if fid:
        from ganzoo.metrics.evaluate import evaluate
        from ganzoo.utils.images import to_uint8

        report = evaluate(to_uint8(out), to_uint8(targets), metrics=("fid",), extractor=extractor, progress=False)
        result["fid"], result["fid_protocol"] = float(report["fid"]), report["protocol"]
    return result
