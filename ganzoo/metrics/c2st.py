"""The classifier two-sample test (C2ST; Lopez-Paz & Oquab 2017, arXiv 1610.06545).

A fresh classifier learns to tell real from generated samples; its accuracy
on held-out samples estimates how distinguishable the two are: 0.5 = no
better than chance (the samples look like the data to this classifier),
1.0 = every held-out sample told apart. The "discriminator-based two-sample
test" of the GAN-evaluation notes, with a classifier that did not take part
in training.

Protocol (fixed, and recorded in the result's ``protocol``):

1. ``n = min(len(real), len(fake), max_samples)`` samples of each (drawn
   without replacement with ``seed`` when there are more), labelled 1 / 0.
2. Features: raw pixels (``features=None``, flattened), ``"digits"`` (the
   8x8 gray levels of ``ganzoo.metrics.digits``, per channel), ``"inception"``
   (FID Inception pool features, ``ganzoo.metrics.load_inception``) or any
   callable ``f(x) -> (N, d)``.
3. A stratified split, ``test_fraction`` (0.5) held out, with ``seed``;
   features standardized with the training half's mean and std.
4. The classifier: scikit-learn's ``MLPClassifier`` (one hidden layer of
   ``hidden`` = 64 ReLU units, Adam, L2 ``alpha`` 1e-3, ``epochs`` = 100
   passes, batch 128, ``random_state=seed``, no early stopping), the same on
   every Keras backend.
5. ``accuracy`` on the held-out half with its exact (Clopper-Pearson)
   two-sided binomial ``confidence`` interval (0.95), and the one-sided
   binomial test's ``p_value`` against chance (H0: accuracy = 0.5).

Example:
    >>> from ganzoo.metrics import c2st
    >>> result = c2st(real_images, gan.generate(2000, seed=0), features="digits")   # doctest: +SKIP
    >>> result["accuracy"], result["interval"]                                      # doctest: +SKIP
    (0.53, (0.508, 0.552))
"""

import numpy as np

FEATURES = ("pixels", "digits", "inception")


def clopper_pearson(successes, trials, confidence=0.95):
    """Exact two-sided binomial confidence interval ``(low, high)`` for ``successes / trials``.

    Example:
        >>> [round(v, 4) for v in clopper_pearson(50, 100)]
        [0.3983, 0.6017]
    """
    from scipy.stats import beta

    k, n = int(successes), int(trials)
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= successes <= trials and trials >= 1, got {k} of {n}.")
    alpha = 1.0 - float(confidence)
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


def _feature_fn(features):
    if callable(features):
        return features, getattr(features, "__name__", "callable")
    name = "pixels" if features is None else features
    if name == "pixels":
        return (lambda x: np.asarray(x, np.float64).reshape(len(x), -1)), "pixels"
    if name == "digits":
        from ganzoo.metrics.digits import to_digits8

        def digits(x):
            x = np.asarray(x)
            if x.ndim == 4:
                return np.concatenate([to_digits8(x[..., c]) for c in range(x.shape[-1])], axis=1)
            return to_digits8(x)

        return digits, "digits"
    if name == "inception":
        from ganzoo.metrics.extractor import load_inception
        from ganzoo.utils.images import to_uint8

        extractor = load_inception()

        def inception(x):
            x = np.asarray(x)
            images = to_uint8(x) if x.dtype != np.uint8 else x
            return np.concatenate(
                [np.asarray(extractor(images[i : i + 64])["pool"], np.float64) for i in range(0, len(images), 64)]
            )

        return inception, "inception"
    raise ValueError(f"c2st features must be one of {FEATURES}, None (pixels) or a callable; got {features!r}.")


def c2st(
    real,
    fake,
    *,
    features=None,
    test_fraction=0.5,
    epochs=100,
    hidden=64,
    alpha=1e-3,
    max_samples=None,
    confidence=0.95,
    seed=0,
):
    """Classifier two-sample test of real vs generated samples; see the module docstring.

    Args:
        real, fake: arrays ``(N, ...)``: images in [-1, 1] (or uint8), or
            feature vectors ``(N, d)`` with ``features=None``.
        features: None (raw values), "digits", "inception" or a callable.
        test_fraction: share of the samples held out for the accuracy.
        epochs: passes of the classifier over its training half.
        hidden: hidden units of the classifier (one ReLU layer).
        alpha: its L2 penalty.
        max_samples: use at most this many samples of each.
        confidence: level of the Clopper-Pearson interval.
        seed: seeds the subsampling, the split and the classifier.

    Returns ``{"accuracy", "interval": (low, high), "p_value", "num_test",
    "protocol": {...}}``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> result = c2st(rng.normal(size=(1000, 4)), rng.normal(size=(1000, 4)) + 3.0)
        >>> result["accuracy"] > 0.95
        True
    """
    from scipy.stats import binomtest
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    from ganzoo.metrics.digits import _one_thread

    real, fake = np.asarray(real), np.asarray(fake)
    if real.ndim < 2 or fake.ndim < 2 or real.shape[1:] != fake.shape[1:]:
        raise ValueError(
            f"c2st needs real and fake samples of one shape (N, ...), got {real.shape} and {fake.shape}."
        )
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}.")
    if int(epochs) < 1 or int(hidden) < 1:
        raise ValueError(f"epochs and hidden must be >= 1, got {epochs} and {hidden}.")
    n = min(len(real), len(fake), int(max_samples) if max_samples else len(real))
    if n < 10:
        raise ValueError(f"c2st needs at least 10 samples of each, got {len(real)} real and {len(fake)} fake.")
    rng = np.random.default_rng(seed)
    real = real[np.sort(rng.choice(len(real), n, replace=False))] if len(real) > n else real
    fake = fake[np.sort(rng.choice(len(fake), n, replace=False))] if len(fake) > n else fake
    fn, feature_name = _feature_fn(features)
    x = np.concatenate([fn(real), fn(fake)]).astype(np.float64)
    y = np.concatenate([np.ones(n, np.int64), np.zeros(n, np.int64)])
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=float(test_fraction), stratify=y, random_state=int(seed)
    )
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std[std < 1e-8] = 1.0  # constant features stay constant
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    clf = MLPClassifier(
        hidden_layer_sizes=(int(hidden),), alpha=float(alpha), batch_size=min(128, len(x_train)),
        max_iter=int(epochs), random_state=int(seed), early_stopping=False, tol=0.0, n_iter_no_change=int(epochs) + 1,
    )
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with _one_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed epoch budget, by design
        clf.fit(x_train, y_train)
        correct = int(np.sum(clf.predict(x_test) == y_test))
    trials = len(y_test)
    return {
        "accuracy": correct / trials,
        "interval": clopper_pearson(correct, trials, confidence),
        "p_value": float(binomtest(correct, trials, 0.5, alternative="greater").pvalue),
        "num_test": trials,
        "protocol": {
            "test": "classifier two-sample test (Lopez-Paz & Oquab 2017)",
            "num_real": n,
            "num_fake": n,
            "features": feature_name,
            "test_fraction": float(test_fraction),
            "classifier": f"sklearn MLPClassifier(hidden={int(hidden)}, relu, adam, alpha={float(alpha)}, batch 128)",
            "epochs": int(epochs),
            "standardized": True,
            "seed": int(seed),
            "interval": f"Clopper-Pearson exact, {float(confidence):g} two-sided",
        },
    }
