"""InfoGAN's structured latent: noise + categorical codes + continuous codes.

The generator's input is the concatenation `[noise, one_hot(c_1), ...,
one_hot(c_k), continuous]` (Chen et al. 2016, section 5: MNIST uses 62
noise variables, one 10-way categorical code and two continuous codes
U(-1, 1)); the noise is N(0, 1) by default or U(-1, 1) with
`noise="uniform"`, as the official MNIST code, openai/InfoGAN, draws it.
`LatentCodes` knows the layout: it draws codes in training
(keras.ops, from the model's seed generator), in numpy from a seed for
`generate`, and checks what a user passes.

Example:
    >>> codes = LatentCodes(noise_dim=62, categorical=(10,), continuous=2)
    >>> codes.latent_dim
    74
    >>> z = codes.assemble_numpy(noise, categorical=[[3]] * 4, continuous=np.zeros((4, 2)))
"""

import numpy as np
from keras import ops

NOISE_KINDS = ("normal", "uniform")


class LatentCodes:
    """The layout of an InfoGAN latent.

    Args:
        noise_dim: incompressible noise variables.
        categorical: the size of each categorical code (a tuple; () for none).
        continuous: number of continuous codes, U(-1, 1).
        noise: the noise's distribution, "normal" (N(0, 1), the default) or
            "uniform" (U(-1, 1), as openai/InfoGAN's MNIST code).

    Example:
        >>> LatentCodes(62, (10,), 2).split_sizes()
        (62, 10, 2)
    """

    def __init__(self, noise_dim=62, categorical=(10,), continuous=2, noise="normal"):
        if noise not in NOISE_KINDS:
            raise ValueError(f"InfoGAN noise must be one of {', '.join(NOISE_KINDS)}; got {noise!r}.")
        self.noise = str(noise)
        categorical = (categorical,) if isinstance(categorical, (int, np.integer)) else tuple(categorical)
        if int(noise_dim) < 0 or int(continuous) < 0 or any(int(k) < 2 for k in categorical):
            raise ValueError(
                f"InfoGAN codes need noise_dim >= 0, continuous >= 0 and categorical sizes >= 2; got "
                f"noise_dim={noise_dim}, categorical={categorical}, continuous={continuous}."
            )
        if not categorical and not int(continuous):
            raise ValueError("InfoGAN needs at least one categorical or continuous code.")
        self.noise_dim, self.categorical, self.continuous = int(noise_dim), tuple(int(k) for k in categorical), int(continuous)

    @property
    def latent_dim(self):
        """Size of the generator's input."""
        return self.noise_dim + sum(self.categorical) + self.continuous

    @property
    def q_dim(self):
        """Size of Q's output: one logit per category, one mean per continuous code."""
        return sum(self.categorical) + self.continuous

    def split_sizes(self):
        """(noise, each categorical, continuous) widths along the latent."""
        return (self.noise_dim, *self.categorical, self.continuous)

    # ------------------------------------------------------------- training
    def sample(self, gan, n):
        """Training latents `z` and their codes, from `gan`'s seed generator.

        Returns `(z, categorical (N, k) int32, continuous (N, m) float32)`.
        """
        parts = []
        if self.noise_dim:
            shape = (n, self.noise_dim)
            parts.append(gan.random_uniform(shape) * 2.0 - 1.0 if self.noise == "uniform" else gan.random_normal(shape))
        cats = []
        for k in self.categorical:
            c = ops.cast(ops.floor(gan.random_uniform((n,)) * k), "int32")
            c = ops.minimum(c, k - 1)  # u < 1, but guard rounding
            cats.append(c)
            parts.append(ops.one_hot(c, k))
        cont = gan.random_uniform((n, self.continuous)) * 2.0 - 1.0 if self.continuous else None
        if cont is not None:
            parts.append(cont)
        categorical = ops.stack(cats, axis=1) if cats else None
        return ops.concatenate(parts, axis=1), categorical, cont

    def split_q(self, q):
        """Q's output `(N, q_dim)` as `([logits of each categorical code], continuous means)`."""
        logits, start = [], 0
        for k in self.categorical:
            logits.append(q[:, start:start + k])
            start += k
        return logits, (q[:, start:start + self.continuous] if self.continuous else None)

    # ---------------------------------------------------------------- numpy
    def check_categorical(self, categorical, n):
        """User categorical values as int (n, num_categorical) numpy; None draws nothing."""
        if categorical is None:
            return None
        arr = np.asarray(categorical)
        k = len(self.categorical)
        if not k:
            raise ValueError("This InfoGAN has no categorical codes; drop categorical=.")
        if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"categorical codes must be integers, got {arr.dtype} values {arr.ravel()[:6].tolist()}.")
        if arr.ndim == 0:
            if k != 1:
                raise ValueError(f"This InfoGAN has {k} categorical codes: pass one value per code, e.g. {[0] * k}.")
            arr = np.full((n, 1), int(arr))
        elif arr.ndim == 1:  # one code: a value per sample; several codes: one value per code for all
            arr = arr[:, None] if k == 1 else (np.tile(arr[None], (n, 1)) if len(arr) == k else arr)
        if arr.shape != (n, k):
            raise ValueError(
                f"categorical must be one value or one per sample (one code), {k} values (one per code) or shape "
                f"({n}, {k}); got shape {np.shape(categorical)}."
            )
        for j, size in enumerate(self.categorical):
            bad = arr[:, j][(arr[:, j] < 0) | (arr[:, j] >= size)]
            if len(bad):
                raise ValueError(f"categorical code {j} takes values in [0, {size}); got {int(bad[0])}.")
        return arr.astype("int32")

    def check_continuous(self, continuous, n):
        """User continuous values as float32 (n, m) numpy; None draws nothing."""
        if continuous is None:
            return None
        if not self.continuous:
            raise ValueError("This InfoGAN has no continuous codes; drop continuous=.")
        arr = np.asarray(continuous, dtype="float32")
        m = self.continuous
        if arr.ndim == 0 and m == 1:
            arr = np.full((n, 1), float(arr), "float32")
        elif arr.ndim == 1 and len(arr) == m:
            arr = np.tile(arr[None], (n, 1))
        elif arr.ndim == 1 and m == 1 and len(arr) == n:
            arr = arr[:, None]
        if arr.shape != (n, m):
            raise ValueError(
                f"continuous must have {m} value(s) (one per code) or shape ({n}, {m}); got shape {np.shape(continuous)}."
            )
        return arr

    def assemble_numpy(self, noise, categorical, continuous):
        """`[noise, one_hot(categorical), continuous]` as float32 numpy."""
        parts = [np.asarray(noise, "float32")] if self.noise_dim else []
        for j, k in enumerate(self.categorical):
            parts.append(np.eye(k, dtype="float32")[categorical[:, j]])
        if self.continuous:
            parts.append(np.asarray(continuous, "float32"))
        return np.concatenate(parts, axis=1)

    def sample_numpy(self, n, seed=None, categorical=None, continuous=None):
        """Latents for `generate`: noise and any code not given drawn with numpy from `seed`."""
        rng = np.random.default_rng(seed)
        # Everything is drawn, then the given codes replace theirs: fixing one code leaves the others as they were.
        shape = (n, self.noise_dim)
        noise = (rng.uniform(-1, 1, shape) if self.noise == "uniform" else rng.standard_normal(shape)).astype("float32")
        cat = np.stack([rng.integers(0, k, n) for k in self.categorical], axis=1).astype("int32") if self.categorical else None
        cont = rng.uniform(-1, 1, (n, self.continuous)).astype("float32") if self.continuous else None
        given_cat, given_cont = self.check_categorical(categorical, n), self.check_continuous(continuous, n)
        return self.assemble_numpy(noise, cat if given_cat is None else given_cat, cont if given_cont is None else given_cont)

    def get_config(self):
        return {"noise_dim": self.noise_dim, "categorical": list(self.categorical), "continuous": self.continuous,
                "noise": self.noise}
