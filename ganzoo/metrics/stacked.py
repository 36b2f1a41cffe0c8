"""Modes and KL of a stacked-digits generator (the Stacked-MNIST protocol).

Protocol (Metz et al. 2017; VEEGAN's Table 2, PacGAN, R3GAN): draw
``num_samples`` = 26,000 images; label each of the three channels with a
digit classifier; a sample's mode is its triple (1,000 possible). Report

* ``modes``: how many distinct triples occur among the samples;
* ``kl``: KL(p || uniform) in nats of the samples' mode histogram p against
  the uniform distribution over the 1,000 modes, ``sum_k p_k log(1000 p_k)``
  (empty modes add 0; 0 = every mode equally often, log 1000 = 6.91 = one
  mode).

The classifier is ``ganzoo.metrics.digits``' logistic regression fit on half
of scikit-learn's digits (each channel goes through the same 8x8 round trip
as the real digits). Its error rate on held-out real digits is reported
(``classifier_accuracy``); ``real`` gives the same numbers for 26,000 real
stacked images, the floor this classifier can show (``real_reference=True``).

Example:
    >>> from ganzoo.metrics.stacked import stacked_digits_modes
    >>> report = stacked_digits_modes(gan.generate(26000, seed=0))     # doctest: +SKIP
    >>> report["modes"], report["kl"]                                  # doctest: +SKIP
"""

import numpy as np

NUM_MODES = 1000
NUM_SAMPLES = 26_000  # the protocol's sample count


def mode_statistics(triples, num_modes=NUM_MODES):
    """``{"modes", "kl", "num_samples", "histogram"}`` of digit triples ``(N, 3)`` (or mode ids ``(N,)``).

    Example:
        >>> mode_statistics(np.array([[1, 2, 3], [1, 2, 3]]))["modes"]
        1
    """
    ids = np.asarray(triples)
    if ids.ndim == 2:
        if ids.shape[1] != 3:
            raise ValueError(f"triples must have shape (N, 3) (red, green, blue digit), got {ids.shape}.")
        if ids.size and (ids.min() < 0 or ids.max() > 9):
            raise ValueError("triples must hold digits 0-9.")
        ids = 100 * ids[:, 0] + 10 * ids[:, 1] + ids[:, 2]
    if ids.ndim != 1 or len(ids) == 0:
        raise ValueError(f"need a non-empty (N, 3) array of digit triples or (N,) mode ids, got shape {ids.shape}.")
    if not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0 or ids.max() >= num_modes:
        raise ValueError(f"mode ids must be integers in [0, {num_modes}).")
    counts = np.bincount(ids.astype(np.int64), minlength=num_modes)
    p = counts / counts.sum()
    nz = p > 0
    return {
        "modes": int(nz.sum()),
        "kl": float(np.sum(p[nz] * np.log(p[nz] * num_modes))),
        "num_samples": int(len(ids)),
        "histogram": counts,
    }


def classify_channels(images):
    """Digit of each channel of stacked images ``(N, R, R, 3)`` in [-1, 1] (R a multiple of 8): ``(N, 3)``.

    Example:
        >>> classify_channels(stacked_digits(10, 16, seed=0)).shape    # doctest: +SKIP
        (10, 3)
    """
    from ganzoo.metrics.digits import _one_thread, _reference, to_digits8

    x = np.asarray(images)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"stacked digits are RGB images (N, R, R, 3), got shape {x.shape}.")
    clf = _reference(int(x.shape[1]))[0]
    n = len(x)
    channels = np.concatenate([x[..., c] for c in range(3)], axis=0)  # (3N, R, R)
    with _one_thread():
        digits = clf.predict(to_digits8(channels))
    return np.stack([digits[c * n : (c + 1) * n] for c in range(3)], axis=1).astype(np.int64)


def stacked_digits_modes(samples, *, real_reference=False, seed=0):
    """Modes and KL of generated stacked digits; see the module docstring.

    Args:
        samples: generated images ``(N, R, R, 3)`` in [-1, 1]; the protocol
            uses N = 26,000 (fewer are allowed, and recorded).
        real_reference: also score ``N`` real stacked images (``real``).
        seed: seed of the real reference draw.

    Returns ``{"modes", "kl", "num_samples", "classifier_accuracy",
    "protocol"}`` (+ ``"real": {"modes", "kl"}``).

    Example:
        >>> stacked_digits_modes(gan.generate(26000, seed=0))["modes"]    # doctest: +SKIP
        1000
    """
    from ganzoo.metrics.digits import _one_thread, _reference

    samples = np.asarray(samples)
    stats = mode_statistics(classify_channels(samples))
    clf, _, _, x_held, y_held = _reference(int(samples.shape[1]))
    with _one_thread():
        accuracy = float(clf.score(x_held, y_held))
    out = {
        "modes": stats["modes"],
        "kl": stats["kl"],
        "num_samples": stats["num_samples"],
        "classifier_accuracy": accuracy,
        "protocol": (
            f"stacked digits: modes = distinct (r, g, b) digit triples among {stats['num_samples']} samples, "
            "KL(p || uniform over 1000) in nats; channel classifier = ganzoo.metrics.digits logistic regression"
        ),
    }
    if real_reference:
        from ganzoo.data.stacked import stacked_digits

        real = mode_statistics(classify_channels(stacked_digits(len(samples), samples.shape[1], seed=seed)))
        out["real"] = {"modes": real["modes"], "kl": real["kl"]}
    return out
