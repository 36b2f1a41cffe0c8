"""Inception Score (Salimans et al. 2016, arXiv 1606.03498).

IS = exp(E_x KL(p(y|x) || p(y))), with p(y|x) the softmax over the 1008 logits
of the FID Inception network and p(y) its mean over a split. As in the original
code (and torch-fidelity), samples are split into 10 parts and the mean and
standard deviation over the splits are reported; the original code feeds the
logits *without* the fc bias (`logits_unbiased` of the extractor), and
torch-fidelity shuffles the samples with a fixed seed before splitting.
"""

import numpy as np
from scipy import special


def inception_score(logits, splits=10, shuffle=True, seed=2020):
    """Inception Score `(mean, std)` over `splits` parts of the samples.

    `logits` is `(N, num_classes)`; probabilities are the softmax in float64.
    With `shuffle`, rows are permuted with `np.random.RandomState(seed)` first
    (torch-fidelity's default), so the result does not depend on sample order.

    Example:
    >>> one_hot = np.eye(10)[np.arange(100) % 10] * 50.0   # confident, 10 classes equally
    >>> mean, std = inception_score(one_hot, splits=1)
    >>> round(mean, 3), round(std, 3)
    (10.0, 0.0)
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2:
        raise ValueError(f"logits must be a 2-D array (num_samples, num_classes), got shape {logits.shape}")
    n = logits.shape[0]
    splits = int(splits)
    if splits < 1:
        raise ValueError(f"splits must be a positive integer, got {splits}")
    if n < splits:
        raise ValueError(
            f"Inception Score with {splits} splits needs at least {splits} samples, got {n}; "
            "use more samples (50000 is standard) or fewer splits"
        )
    if not np.all(np.isfinite(logits)):
        raise ValueError("logits contain NaN or infinity")
    if shuffle:
        logits = logits[np.random.RandomState(seed).permutation(n)]
    log_p = special.log_softmax(logits, axis=1)
    p = np.exp(log_p)
    scores = []
    for i in range(splits):
        part_p = p[i * n // splits : (i + 1) * n // splits]
        part_log_p = log_p[i * n // splits : (i + 1) * n // splits]
        log_marginal = np.log(part_p.mean(axis=0, keepdims=True))
        kl = np.sum(part_p * (part_log_p - log_marginal), axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))
