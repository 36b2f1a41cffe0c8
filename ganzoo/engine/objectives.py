"""Adversarial objectives, written once in `keras.ops`.

An objective turns discriminator outputs into the two losses that the
engine minimises. Discriminator outputs are raw scores ("logits"): for the
probabilistic objectives D(x) = sigmoid(logit), and the log-probabilities are
computed with `softplus` so they stay finite for large logits:

    -log D(x)      = softplus(-logit)
    -log(1 - D(x)) = softplus(logit)

Every objective is a small class with `d_loss(real, fake)` and
`g_loss(fake, real=None)`, returning scalars (means over the batch).

Example:
    >>> from ganzoo.engine import objectives
    >>> obj = objectives.get("hinge")
    >>> d = obj.d_loss(keras.ops.ones((4,)), -keras.ops.ones((4,)))  # 0.0
"""

import abc

import keras  # noqa: F401  (doc examples)
from keras import ops

from ganzoo.engine import registry


def _mean(x):
    return ops.mean(ops.cast(x, "float32"))


def _bce_with_logits(logits, target):
    """Binary cross-entropy against a constant target in [0, 1]."""
    loss = ops.softplus(-logits)  # -log sigmoid(logits)
    if target != 1.0:
        loss = target * loss + (1.0 - target) * ops.softplus(logits)
    return loss


class Objective(abc.ABC):
    """Base class: a discriminator loss and a generator loss.

    Subclasses set `name` and implement `d_loss` and `g_loss`. Set
    `needs_features = True` when `g_loss` needs discriminator features
    (then the engine passes `real_features` and `fake_features`), and
    `needs_real = True` when it needs D's logits on real data
    (relativistic losses; the engine passes `real=`).

    Example:
        >>> class MyObjective(Objective):
        ...     name = "mine"
        ...     def d_loss(self, real, fake):
        ...         return ops.mean(fake) - ops.mean(real)
        ...     def g_loss(self, fake, real=None):
        ...         return -ops.mean(fake)
    """

    name = "objective"
    needs_features = False
    needs_real = False

    @abc.abstractmethod
    def d_loss(self, real, fake):
        """Discriminator loss from D's outputs on real and generated data."""

    @abc.abstractmethod
    def g_loss(self, fake, real=None, **features):
        """Generator loss from D's outputs on generated (and maybe real) data."""

    def get_config(self):
        """Constructor arguments, so `get(config)` rebuilds the objective."""
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@registry.register("objective", aliases=('mm',))
class Minimax(Objective):
    """The original minimax game (Goodfellow et al. 2014).

    D minimises -E[log D(x)] - E[log(1 - D(G(z)))]; G minimises
    E[log(1 - D(G(z)))], which saturates when D wins early on.

    Args:
        real_label: target for real data in D's loss. 0.9 is one-sided
            label smoothing (Salimans et al. 2016).
        fake_label: target for fake data in D's loss; non-zero (e.g. 0.1)
            together with `real_label` < 1 is two-sided smoothing.

    Example:
        >>> obj = Minimax(real_label=0.9)
    """

    name = "minimax"

    def __init__(self, real_label=1.0, fake_label=0.0):
        for arg, value in (("real_label", real_label), ("fake_label", fake_label)):
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{arg} must lie in [0, 1], got {value}.")
        self.real_label = float(real_label)
        self.fake_label = float(fake_label)

    def d_loss(self, real, fake):
        return _mean(_bce_with_logits(real, self.real_label)) + _mean(
            _bce_with_logits(fake, self.fake_label)
        )

    def g_loss(self, fake, real=None, **features):
        # E[log(1 - D(G(z)))] = -E[softplus(fake)]
        return -_mean(ops.softplus(fake))

    def get_config(self):
        return {"real_label": self.real_label, "fake_label": self.fake_label}


@registry.register("objective", aliases=('nsgan', 'ns'))
class NonSaturating(Minimax):
    """The non-saturating "-log D trick" (Goodfellow et al. 2014).

    Same discriminator loss as `Minimax`; G minimises -E[log D(G(z))].

    Example:
        >>> obj = NonSaturating(real_label=0.9)  # one-sided label smoothing
    """

    name = "non_saturating"

    def g_loss(self, fake, real=None, **features):
        return _mean(ops.softplus(-fake))


@registry.register("objective", aliases=('ml',))
class MaximumLikelihood(Minimax):
    """Maximum-likelihood generator cost (Goodfellow 2014, arXiv 1412.6515).

    With an optimal D, G minimises -1/2 E[exp(sigma^-1(D(G(z))))] = -1/2
    E[exp(logit)], whose expected gradient equals that of maximum likelihood.

    Example:
        >>> obj = MaximumLikelihood()
    """

    name = "maximum_likelihood"

    def g_loss(self, fake, real=None, **features):
        return -0.5 * _mean(ops.exp(fake))


@registry.register("objective", aliases=('wgan',))
class Wasserstein(Objective):
    """Wasserstein GAN critic and generator losses (Arjovsky et al. 2017).

    The critic minimises E[D(G(z))] - E[D(x)]; G minimises -E[D(G(z))]. The
    Lipschitz constraint comes from a penalty (`GradientPenalty`) or a
    constraint (`WeightClipping`).

    Example:
        >>> obj = Wasserstein()
    """

    name = "wasserstein"

    def d_loss(self, real, fake):
        return _mean(fake) - _mean(real)

    def g_loss(self, fake, real=None, **features):
        return -_mean(fake)


@registry.register("objective")
class Hinge(Objective):
    """Hinge loss (Lim & Ye 2017; SNGAN, SAGAN, BigGAN).

    D minimises E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]; G minimises
    -E[D(G(z))].

    Example:
        >>> obj = Hinge()
    """

    name = "hinge"

    def d_loss(self, real, fake):
        return _mean(ops.relu(1.0 - real)) + _mean(ops.relu(1.0 + fake))

    def g_loss(self, fake, real=None, **features):
        return -_mean(fake)


@registry.register("objective", aliases=('lsgan',))
class LeastSquares(Objective):
    """Least-squares GAN (Mao et al. 2017), with the paper's 1/2 factors.

    D minimises 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2]; G minimises
    1/2 E[(D(G(z)) - c)^2]. Defaults a=0, b=c=1 (the paper's 0-1 coding).

    Example:
        >>> obj = LeastSquares(a=-1.0, b=1.0, c=0.0)  # the paper's a-b-c coding
    """

    name = "least_squares"

    def __init__(self, a=0.0, b=1.0, c=1.0):
        self.a, self.b, self.c = float(a), float(b), float(c)

    def d_loss(self, real, fake):
        return 0.5 * _mean(ops.square(real - self.b)) + 0.5 * _mean(
            ops.square(fake - self.a)
        )

    def g_loss(self, fake, real=None, **features):
        return 0.5 * _mean(ops.square(fake - self.c))

    def get_config(self):
        return {"a": self.a, "b": self.b, "c": self.c}


@registry.register("objective", aliases=('fm',))
class FeatureMatching(Objective):
    """Feature matching (Salimans et al. 2016) for the generator.

    G minimises ||E f(x) - E f(G(z))||^2 over an intermediate layer f of D;
    D keeps the loss of `base` (non-saturating by default). The
    discriminator must return `(logits, features)`.

    Example:
        >>> obj = FeatureMatching(base="non_saturating")
    """

    name = "feature_matching"
    needs_features = True

    def __init__(self, base="non_saturating"):
        self.base = get(base)
        if isinstance(self.base, FeatureMatching):
            raise ValueError("FeatureMatching cannot wrap itself; pick e.g. base='non_saturating'.")

    def d_loss(self, real, fake):
        return self.base.d_loss(real, fake)

    def g_loss(self, fake, real=None, real_features=None, fake_features=None):
        if real_features is None or fake_features is None:
            raise ValueError(
                "feature_matching needs a discriminator that returns (logits, features)."
            )
        real_mean = ops.mean(ops.reshape(real_features, (ops.shape(real_features)[0], -1)), axis=0)
        fake_mean = ops.mean(ops.reshape(fake_features, (ops.shape(fake_features)[0], -1)), axis=0)
        return ops.sum(ops.square(ops.stop_gradient(real_mean) - fake_mean))

    def get_config(self):
        return {"base": serialize(self.base)}


def serialize(objective):
    """Return `{"name": ..., "config": {...}}` for an objective.

    Example:
        >>> serialize(Hinge())
        {'name': 'hinge', 'config': {}}
    """
    return {"name": objective.name, "config": objective.get_config()}


def get(identifier):
    """Return an `Objective` from a name, a serialized dict, or an instance.

    Example:
        >>> get("lsgan")
        LeastSquares(a=0.0, b=1.0, c=1.0)
        >>> get({"name": "non_saturating", "config": {"real_label": 0.9}})
        NonSaturating(real_label=0.9, fake_label=0.0)
    """
    if isinstance(identifier, Objective):
        return identifier
    return registry.resolve(identifier, "objective")



@registry.register("objective", aliases=("rpgan", "relativistic", "r3gan"))
class RelativisticPairing(Objective):
    """Relativistic pairing GAN loss (Jolicoeur-Martineau 2019; R3GAN, Huang et al. 2024).

    Real and fake samples are paired by batch position: D minimises
    E[softplus(D(G(z_i)) - D(x_i))]; G minimises E[softplus(D(x_i) -
    D(G(z_i)))]. With R1 and R2 (`penalties.R1`, `penalties.R2`) it is
    R3GAN's regularized objective (arXiv 2501.05441, Eq. 4). G's loss needs
    D's logits on the real batch (`needs_real`).

    Example:
        >>> obj = RelativisticPairing()
        >>> obj.g_loss(fake_logits, real=real_logits)
    """

    name = "relativistic_pairing"
    needs_real = True

    def d_loss(self, real, fake):
        return _mean(ops.softplus(ops.cast(fake, "float32") - ops.cast(real, "float32")))

    def g_loss(self, fake, real=None, **features):
        if real is None:
            raise ValueError("relativistic_pairing's generator loss needs D's logits on real data (real=...).")
        return _mean(ops.softplus(ops.cast(real, "float32") - ops.cast(fake, "float32")))
