"""Gradient penalties, path length and weight constraints, written once in `keras.ops`.

A penalty is a scalar computed from the discriminator around some points,
added to a phase's loss as `weight * penalty`. With `every=N > 1` it is
*lazy* (Karras et al. 2020): the engine applies it in its own phase every
N steps with weight `weight * N`, so its average strength is unchanged.

The engine logs each penalty's *unweighted* value under its `name`.
Penalties receive the batch dicts `(gan, real, fake)` (`{"x", "y"}`; a bare
tensor is read as `{"x": tensor}`) and differentiate D with respect to the
images, the labels held fixed (StudioGAN's `cal_grad_penalty(real_images,
real_labels, ...)` shape).

Example:
    >>> from ganzoo.engine import penalties
    >>> gp = penalties.GradientPenalty(weight=10.0)
    >>> r1 = penalties.R1(gamma=10.0, every=16)
"""

import abc

import keras
import numpy as np
from keras import ops

from ganzoo import backend
from ganzoo.engine import registry

_EPS = 1e-12  # inside sqrt: the norm's gradient is finite at g = 0


def _per_sample_sq_norm(g):
    g = ops.reshape(ops.cast(g, "float32"), (ops.shape(g)[0], -1))
    return ops.sum(ops.square(g), axis=1)


def _per_sample_shape(x):
    return (ops.shape(x)[0],) + (1,) * (len(x.shape) - 1)


def as_batch(batch):
    """A batch dict from a dict, a bare sample tensor (`{"x": tensor}`) or None.

    Example:
        >>> as_batch(images)["x"] is images
        True
    """
    if batch is None or isinstance(batch, dict):
        return batch
    return {"x": batch}


def critic_of(gan, labels):
    """`x -> D(x, labels)` logits: the function penalties differentiate (labels fixed).

    Example:
        >>> _, g = backend.input_grad(critic_of(gan, real.get("y")), real["x"])
    """
    if labels is None:
        return gan.discriminator_logits
    return lambda x: gan.discriminator_logits(x, labels)


class Penalty(abc.ABC):
    """Base class for regularizers of the discriminator or the generator.

    Args:
        weight: multiplier of the penalty in the loss.
        every: apply every N steps (lazy regularization, scaled by N).

    Subclasses implement `__call__(gan, real, fake)` returning the unweighted
    scalar, and set `name`, `network` ("discriminator" or "generator") and
    `needs_fake` (False lets a lazy phase skip drawing fakes).
    """

    name = "penalty"
    network = "discriminator"
    needs_fake = True

    def __init__(self, weight=1.0, every=1):
        weight, every = float(weight), int(every)
        if weight < 0:
            raise ValueError(f"{type(self).__name__}: weight must be >= 0, got {weight}.")
        if every < 1:
            raise ValueError(f"{type(self).__name__}: every must be >= 1, got {every}.")
        self.weight, self.every = weight, every

    @property
    def lazy(self):
        """True when the penalty runs in its own phase every `every` steps."""
        return self.every > 1

    @abc.abstractmethod
    def __call__(self, gan, real, fake):
        """Unweighted penalty value (a scalar)."""

    def get_config(self):
        """Constructor arguments, so `get(config)` rebuilds the penalty."""
        return {"weight": self.weight, "every": self.every}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@registry.register("penalty", aliases=('gradient_penalty', 'wgan_gp', 'wgan-gp'))
class GradientPenalty(Penalty):
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad D(x_hat)||_2 - target)^2].

    `x_hat = x + u (G(z) - x)` with `u ~ U[0, 1]` per sample, on the line
    between a real and a fake sample.

    Args:
        weight: lambda (10 in the paper).
        target: the norm to pull towards (1 for 1-Lipschitz).
        one_sided: penalise only norms above `target`, E[relu(||g|| - t)^2].
        every: lazy interval.

    Example:
        >>> gp = GradientPenalty(10.0)
    """

    name = "gp"

    def __init__(self, weight=10.0, target=1.0, one_sided=False, every=1):
        super().__init__(weight, every)
        self.target, self.one_sided = float(target), bool(one_sided)

    def __call__(self, gan, real, fake):
        real, fake = as_batch(real), as_batch(fake)
        x, xf = real["x"], fake["x"]
        u = gan.random_uniform(_per_sample_shape(x))
        x_hat = x + u * (ops.cast(xf, x.dtype) - x)
        # Conditional D: interpolates are judged with the real labels.
        _, g = backend.input_grad(critic_of(gan, real.get("y")), x_hat)
        norm = ops.sqrt(_per_sample_sq_norm(g) + _EPS)
        gap = norm - self.target
        if self.one_sided:
            gap = ops.relu(gap)
        return ops.mean(ops.square(gap))

    def get_config(self):
        return {**super().get_config(), "target": self.target, "one_sided": self.one_sided}


@registry.register("penalty")
class DRAGAN(Penalty):
    """DRAGAN (Kodali et al. 2017): a gradient penalty around the real data.

    `x_p = x + c * std(x) * U[0, 1]` (noise of the reference implementation),
    `x_hat = x + u (x_p - x)` with `u ~ U[0, 1]` per sample, penalty
    E[(||grad D(x_hat)|| - target)^2].

    Example:
        >>> dragan = DRAGAN(weight=10.0, c=0.5)
    """

    name = "dragan"
    needs_fake = False

    def __init__(self, weight=10.0, c=0.5, target=1.0, every=1):
        super().__init__(weight, every)
        self.c, self.target = float(c), float(target)

    def __call__(self, gan, real, fake):
        real = as_batch(real)
        x = real["x"]
        std = ops.std(ops.cast(x, "float32"))
        noise = gan.random_uniform(ops.shape(x))
        u = gan.random_uniform(_per_sample_shape(x))
        x_hat = x + u * ops.cast(self.c * std * noise, x.dtype)
        _, g = backend.input_grad(critic_of(gan, real.get("y")), x_hat)
        norm = ops.sqrt(_per_sample_sq_norm(g) + _EPS)
        return ops.mean(ops.square(norm - self.target))

    def get_config(self):
        return {**super().get_config(), "c": self.c, "target": self.target}


@registry.register("penalty")
class R1(Penalty):
    """R1 (Mescheder et al. 2018): gamma / 2 * E[||grad D(x)||^2] on real data.

    The value returned (and logged) is E[||grad D(x)||^2]; the loss adds
    `gamma / 2` times it, matching StyleGAN2's `r1_gamma`.

    Example:
        >>> r1 = R1(gamma=10.0, every=16)   # lazy, as in StyleGAN2
    """

    name = "r1"
    needs_fake = False

    def __init__(self, gamma=10.0, every=1):
        super().__init__(0.5 * float(gamma), every)
        self.gamma = float(gamma)

    def points(self, real, fake):
        """The batch whose images the penalty differentiates at (real data for R1)."""
        return real

    def __call__(self, gan, real, fake):
        batch = as_batch(self.points(as_batch(real), as_batch(fake)))
        # float32 points: the gradient (and its norm) is float32 under mixed precision too.
        x = ops.stop_gradient(ops.cast(batch["x"], "float32"))
        _, g = backend.input_grad(critic_of(gan, batch.get("y")), x)
        return ops.mean(_per_sample_sq_norm(g))

    def get_config(self):
        return {"gamma": self.gamma, "every": self.every}


@registry.register("penalty")
class R2(R1):
    """R2: the R1 penalty on generated data, gamma / 2 * E[||grad D(G(z))||^2].

    Example:
        >>> r2 = R2(gamma=1.0)
    """

    name = "r2"
    needs_fake = True

    def points(self, real, fake):
        """Generated data (with the labels they were made for)."""
        return fake


@registry.register("penalty", aliases=("epsilon_drift",))
class Drift(Penalty):
    """Drift penalty (Karras et al. 2018, Progressive GAN, Sec. A.1): epsilon * E[D(x)^2] on reals.

    Keeps a WGAN critic's outputs from drifting far from zero; the paper
    uses epsilon = 0.001 (the `weight`) next to WGAN-GP.

    Example:
        >>> drift = Drift(0.001)
    """

    name = "drift"
    needs_fake = False

    def __call__(self, gan, real, fake):
        batch = as_batch(real)
        logits = ops.cast(critic_of(gan, batch.get("y"))(batch["x"]), "float32")
        return ops.mean(ops.square(logits))


def path_lengths(synthesis, ws, noise):
    """Per-sample path lengths ||J_w^T y||: `sqrt(mean_i sum_k (d <g(w), y> / d w_ik)^2)`.

    `synthesis` maps styles `ws` (N, num_ws, w_dim) or (N, w_dim) to images;
    `noise` is the image-space direction y. The squared gradient norm is
    summed over w_dim and averaged over the num_ws style layers, as in
    NVIDIA's `pl_grads.square().sum(2).mean(1).sqrt()`. Differentiable in the
    synthesis weights (double backprop).

    Example:
        >>> lengths = path_lengths(G.synthesis, ws, noise)   # shape (N,)
    """
    axes = tuple(range(1, len(noise.shape)))
    ws = ops.cast(ws, "float32")  # the gradient in float32 under mixed precision
    _, g = backend.input_grad(
        lambda w: ops.sum(ops.cast(synthesis(w), "float32") * noise, axis=axes), ws
    )
    sq = ops.sum(ops.square(ops.cast(g, "float32")), axis=-1)
    if len(sq.shape) > 1:
        sq = ops.mean(sq, axis=tuple(range(1, len(sq.shape))))
    return ops.sqrt(sq + _EPS)


@registry.register("penalty", aliases=('path_length',))
class PathLength(Penalty):
    """Path-length regularization of the generator (Karras et al. 2020, Eq. 4).

    E_{w, y}[(||J_w^T y||_2 - a)^2] with y ~ N(0, I) / sqrt(H W) an image-space
    direction, J_w the Jacobian of the synthesis g(w) with respect to the
    styles and `a` the running mean of the lengths (`decay` 0.01). `a` is a
    non-trainable model variable (`gan.pl_mean`), so it is saved with the
    weights and threaded through JAX steps. Lengths use
    `max(N // batch_shrink, 1)` fresh samples.

    The model supplies the styles and synthesis: `gan.sample_styles(n, labels)`
    and `gan.synthesize(ws)` when it has them (StyleGAN2), else the latents z
    and `gan.call_generator(z, labels)` (path length in z). A conditional
    model's labels are drawn with `gan.sample_labels(n, real)` and held fixed.

    Args:
        weight: the penalty weight (2 in NVIDIA's code).
        every: lazy interval (4 in StyleGAN2).
        decay: the running mean's update rate `a <- a + decay (mean - a)`.
        batch_shrink: use N // batch_shrink samples (2 in StyleGAN2).

    Example:
        >>> pl = PathLength(weight=2.0, every=4)
    """

    name = "pl"
    network = "generator"
    needs_fake = False

    def __init__(self, weight=2.0, every=4, decay=0.01, batch_shrink=2):
        super().__init__(weight, every)
        if not 0.0 <= float(decay) <= 1.0:
            raise ValueError(f"PathLength: decay must lie in [0, 1], got {decay}.")
        if int(batch_shrink) < 1:
            raise ValueError(f"PathLength: batch_shrink must be >= 1, got {batch_shrink}.")
        self.decay, self.batch_shrink = float(decay), int(batch_shrink)

    def build_state(self, gan):
        """Create the running mean `gan.pl_mean` (called by the engine at build)."""
        gan.pl_mean = gan.add_weight(shape=(), initializer="zeros", trainable=False, name="pl_mean")

    def __call__(self, gan, real, fake):
        real = as_batch(real)
        batch = ops.shape(real["x"])[0] if "x" in real else gan.batch_size_of(real)
        if isinstance(batch, int):  # static (JAX, torch, eager TF): shapes must stay Python ints
            n = max(batch // self.batch_shrink, 1)
        else:
            n = ops.maximum(batch // self.batch_shrink, 1)
        labels = gan.sample_labels(n, None) if getattr(gan, "num_classes", 0) else None
        if hasattr(gan, "sample_styles"):
            ws, synthesis = gan.sample_styles(n, labels), gan.synthesize
        else:
            ws = gan.sample_latents(n)
            synthesis = lambda z: gan.call_generator(z, labels, training=True)  # noqa: E731
        shape = tuple(gan.sample_shape)
        pixels = float(np.prod(shape[:-1])) if len(shape) >= 3 else 1.0
        noise = gan.random_normal((n, *shape)) / np.sqrt(pixels)
        lengths = path_lengths(synthesis, ws, noise)
        mean = gan.pl_mean.value + self.decay * (ops.mean(lengths) - gan.pl_mean.value)
        gan.pl_mean.assign(ops.stop_gradient(mean))
        return ops.mean(ops.square(lengths - mean))

    def get_config(self):
        return {**super().get_config(), "decay": self.decay, "batch_shrink": self.batch_shrink}


@registry.register("penalty", aliases=('weight_clipping',))
class WeightClipping:
    """WGAN weight clipping (Arjovsky et al. 2017): clip D's weights to [-c, c].

    A constraint, not a loss: the engine applies it after each
    discriminator update (every `every` updates).

    Example:
        >>> clip = WeightClipping(0.01)
    """

    name = "clip"
    network = "discriminator"
    weight = 0.0
    lazy = False
    needs_fake = False

    def __init__(self, clip_value=0.01, every=1):
        if float(clip_value) <= 0:
            raise ValueError(f"WeightClipping: clip_value must be > 0, got {clip_value}.")
        self.clip_value, self.every = float(clip_value), int(every)

    def apply(self, variables):
        """Clip every variable in place."""
        for v in variables:
            v.assign(ops.clip(v.value, -self.clip_value, self.clip_value))

    def get_config(self):
        return {"clip_value": self.clip_value, "every": self.every}

    def __repr__(self):
        return f"WeightClipping(clip_value={self.clip_value}, every={self.every})"


def serialize(penalty):
    """Return `{"name": ..., "config": {...}}`.

    Example:
        >>> serialize(R1(10.0))
        {'name': 'r1', 'config': {'gamma': 10.0, 'every': 1}}
    """
    return {"name": penalty.name, "config": penalty.get_config()}


def get(identifier):
    """Return a penalty from a name, a `{"name", "config"}` dict, or an instance.

    Example:
        >>> get({"name": "gp", "config": {"weight": 10.0}})
        GradientPenalty(weight=10.0, every=1, target=1.0, one_sided=False)
    """
    if isinstance(identifier, (Penalty, WeightClipping)):
        return identifier
    return registry.resolve(identifier, "penalty")
