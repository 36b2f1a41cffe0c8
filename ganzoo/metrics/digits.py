"""Quality of generated 8x8-style digits, judged by models fit on the real digits.

The FID Inception weights are not available offline, and Inception features
say little about 32x32 grayscale digits anyway. This protocol ("digits
classifier", used for the embedded ``dcgan-digits`` preset) uses scikit-learn's
real digits as the independent truth:

1. The 1,797 real digits are split 50/50 (stratified, ``random_state=0``)
   into a fitting half and a held-out half. Every image, real or generated,
   goes through the same pipeline: 32x32 in [-1, 1] -> [0, 16] gray levels ->
   4x4 block means -> 8x8 (real images are first upscaled to 32x32 the way
   ``ganzoo.data.builtin`` does, so both sides see the same round trip).
2. A logistic-regression classifier and a 20-component PCA are fit on the
   fitting half.
3. For ``num_samples`` generated images it reports:

   * ``confident``: the fraction the classifier labels with probability >= 0.9
     (recognisable digits); the held-out real half gives the reference;
   * ``classes``: how many of the 10 digits get at least 5% of the samples;
   * ``class_kl``: KL divergence (nats) of the predicted-label histogram from
     uniform (0 = all digits equally often; mode collapse raises it);
   * ``frechet_pca``: the Fréchet distance between Gaussians fit to PCA-20
     features of the samples and of the fitting half ("FID-like", in units of
     squared gray levels). The held-out real half gives the floor
     (``frechet_pca_real``); blurred noise gives a ceiling
     (``frechet_pca_noise``).

For class-conditional generators, ``conditional_digits_quality(samples,
labels)`` reports, per requested digit, the share of samples the same
classifier assigns to that digit (``class_accuracy``), and the within-class
variety: the mean pairwise distance between a class's samples in PCA-20
space divided by the same for the held-out real digits of that class
(``variety``; 1 = as varied as real digits, 0 = one image per class).

Example:
    >>> from ganzoo.metrics.digits import digits_quality
    >>> report = digits_quality(gan.generate(2000, seed=1))     # doctest: +SKIP
    >>> report["confident"], report["frechet_pca"]              # doctest: +SKIP
"""

import functools

import numpy as np

CONFIDENCE = 0.9
MIN_CLASS_SHARE = 0.05
PCA_COMPONENTS = 20


def to_digits8(images):
    """``(N, 32, 32, 1)`` (any multiple of 8) images in [-1, 1] -> ``(N, 64)`` gray levels in [0, 16].

    Example:
        >>> to_digits8(np.ones((1, 32, 32, 1), "float32")).max()
        16.0
    """
    x = np.asarray(images, dtype="float64")
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3 or x.shape[1] != x.shape[2] or x.shape[1] % 8:
        raise ValueError(f"expected square grayscale images (N, R, R[, 1]) with R a multiple of 8, got {np.shape(images)}")
    f = x.shape[1] // 8
    x = (np.clip(x, -1.0, 1.0) + 1.0) * 8.0
    return x.reshape(len(x), 8, f, 8, f).mean(axis=(2, 4)).reshape(len(x), 64)


def _one_thread():
    # Tiny problems: BLAS threads only contend (measured 50x slower on a loaded 2-core machine).
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


@functools.lru_cache(maxsize=2)
def _reference(resolution=32):
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    from ganzoo.data.builtin import digits_with_labels

    images, labels = digits_with_labels(resolution)
    feats = to_digits8(images)
    x_fit, x_held, y_fit, y_held = train_test_split(feats, labels, test_size=0.5, stratify=labels, random_state=0)
    with _one_thread():
        clf = LogisticRegression(max_iter=5000, C=0.1).fit(x_fit, y_fit)
        pca = PCA(PCA_COMPONENTS, random_state=0).fit(x_fit)
    return clf, pca, x_fit, x_held, y_held


def _gaussian(features):
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet(a, b):
    """Fréchet distance between Gaussians fit to two feature sets ``(N, d)``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> round(frechet(rng.normal(size=(5000, 2)), rng.normal(size=(5000, 2)) + [3, 0]))
        9
    """
    from scipy import linalg

    (mu1, s1), (mu2, s2) = _gaussian(np.asarray(a, "float64")), _gaussian(np.asarray(b, "float64"))
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    covmean = np.real(covmean)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2.0 * covmean))


def _scores(clf, pca, x_fit, feats):
    probs = clf.predict_proba(feats)
    labels = probs.argmax(axis=1)
    hist = np.bincount(labels, minlength=10) / len(labels)
    nonzero = hist > 0
    return {
        "confident": float(np.mean(probs.max(axis=1) >= CONFIDENCE)),
        "classes": int(np.sum(hist >= MIN_CLASS_SHARE)),
        "class_kl": float(np.sum(hist[nonzero] * np.log(hist[nonzero] * 10.0))),
        "frechet_pca": frechet(pca.transform(feats), pca.transform(x_fit)),
        "histogram": [round(float(h), 4) for h in hist],
    }


def digits_quality(samples, *, seed=0):
    """Score generated digit images ``(N, R, R, 1)`` in [-1, 1]; see the module docstring.

    Returns a dict with ``confident``, ``classes``, ``class_kl``,
    ``frechet_pca`` and ``histogram`` for the samples, and the references
    ``classifier_accuracy`` (on the held-out real half), ``confident_real``,
    ``frechet_pca_real`` and ``frechet_pca_noise``.

    Example:
        >>> digits_quality(gan.generate(2000, seed=1))["classes"]    # doctest: +SKIP
        10
    """
    samples = np.asarray(samples)
    if len(samples) < 100:
        raise ValueError(f"digits_quality needs at least 100 samples for stable statistics, got {len(samples)}")
    clf, pca, x_fit, x_held, y_held = _reference(int(samples.shape[1]))
    with _one_thread():
        out = _scores(clf, pca, x_fit, to_digits8(samples))
        real = _scores(clf, pca, x_fit, x_held)
    from scipy.ndimage import gaussian_filter

    noise = np.random.default_rng(seed).uniform(-1, 1, size=(len(samples), 8, 8))
    noise = np.stack([gaussian_filter(n, 1.0) for n in noise])
    noise = (noise - noise.min()) / (noise.max() - noise.min()) * 16.0
    with _one_thread():
        noise_fd = frechet(pca.transform(noise.reshape(len(noise), 64)), pca.transform(x_fit))
        accuracy = float(clf.score(x_held, y_held))
    out.update(
        {
            "num_samples": int(len(samples)),
            "classifier_accuracy": accuracy,
            "confident_real": real["confident"],
            "frechet_pca_real": real["frechet_pca"],
            "frechet_pca_noise": noise_fd,
        }
    )
    return out


def _mean_pairwise_distance(feats):
    d = np.sqrt(np.maximum(0.0, np.sum((feats[:, None, :] - feats[None, :, :]) ** 2, axis=-1)))
    n = len(feats)
    return float(d.sum() / (n * (n - 1))) if n > 1 else 0.0


def conditional_digits_quality(samples, labels):
    """Per-class accuracy and within-class variety of class-conditional digit samples.

    Args:
        samples: generated images ``(N, R, R, 1)`` in [-1, 1], R a multiple of 8.
        labels: the digit (0-9) each sample was generated for, shape (N,).

    Returns a dict with ``class_accuracy`` (list of 10: share of each digit's
    samples classified as that digit), ``min_class_accuracy``,
    ``mean_class_accuracy``, ``variety`` (list of 10, see the module
    docstring), ``mean_variety``, ``classifier_accuracy`` (held-out real
    digits) and ``num_samples``.

    Example:
        >>> y = np.repeat(np.arange(10), 100)
        >>> report = conditional_digits_quality(cgan.generate(seed=0, labels=y), y)   # doctest: +SKIP
        >>> report["min_class_accuracy"] >= 0.9                                     # doctest: +SKIP
    """
    samples, labels = np.asarray(samples), np.asarray(labels).astype(int)
    if samples.ndim < 3 or len(samples) != len(labels):
        raise ValueError(f"need one label per sample, got {len(samples)} samples and {len(labels)} labels")
    counts = np.bincount(labels, minlength=10)
    if labels.min() < 0 or labels.max() > 9 or counts.min() < 10:
        raise ValueError(f"need at least 10 samples of every digit 0-9, got counts {counts.tolist()}")
    clf, pca, _, x_held, y_held = _reference(int(samples.shape[1]))
    feats = to_digits8(samples)
    with _one_thread():
        predicted = clf.predict(feats)
        z, z_real = pca.transform(feats), pca.transform(x_held)
        accuracy = float(clf.score(x_held, y_held))
    class_accuracy, variety = [], []
    for c in range(10):
        mine = labels == c
        class_accuracy.append(float(np.mean(predicted[mine] == c)))
        variety.append(_mean_pairwise_distance(z[mine]) / _mean_pairwise_distance(z_real[y_held == c]))
    return {
        "class_accuracy": [round(a, 4) for a in class_accuracy],
        "min_class_accuracy": float(min(class_accuracy)),
        "mean_class_accuracy": float(np.mean(class_accuracy)),
        "variety": [round(v, 4) for v in variety],
        "mean_variety": float(np.mean(variety)),
        "classifier_accuracy": accuracy,
        "num_samples": int(len(samples)),
    }


def code_digit_purity(samples_per_value):
    """How well one categorical code picks out digits (InfoGAN's MNIST check, unsupervised).

    `samples_per_value[v]` holds samples generated with the code fixed at
    value `v` (other latents drawn). The classifier of this protocol labels
    each sample; per value, `purity` is the share of its samples given the
    value's most common digit. Reports `purity` per value, its minimum and
    mean, the majority digit of each value and `distinct_digits`, how many
    different digits the values' majorities cover (10 for a perfect
    one-value-per-digit code). InfoGAN's paper reports 5% error on MNIST
    (purity 0.95) when values are matched to digits.

    Example:
        >>> report = code_digit_purity([gan.generate(200, seed=v, categorical=v) for v in range(10)])  # doctest: +SKIP
        >>> report["min_purity"], report["distinct_digits"]                                           # doctest: +SKIP
    """
    clf = _reference(32)[0]
    purity, majority = [], []
    with _one_thread():
        for samples in samples_per_value:
            labels = clf.predict(to_digits8(samples))
            counts = np.bincount(labels, minlength=10)
            majority.append(int(counts.argmax()))
            purity.append(float(counts.max() / max(len(labels), 1)))
    return {
        "purity": [round(p, 4) for p in purity],
        "min_purity": float(min(purity)),
        "mean_purity": float(np.mean(purity)),
        "majority_digit": majority,
        "distinct_digits": len(set(majority)),
    }
