"""Augmentations for the discriminator: DiffAugment and ADA, for every model.

Both augment every image D sees in training — reals and fakes, in D and G
phases and inside penalties — through differentiable transforms
(`ganzoo.engine.augment_ops`), so G learns through them and D never sees
un-augmented data that would leak the augmentation into G's samples.

* `DiffAugment` (Zhao et al. 2020, arXiv 2006.10738): colour (brightness,
  saturation, contrast), translation (1/8 of the size, zero fill) and cutout
  (half the size), each applied to every image.
* `AdaptiveAugment` (ADA, Karras et al. 2020, arXiv 2006.06676): each
  transform of the pipeline (xflip, rotate90, integer translation,
  isotropic scaling, rotation, anisotropic scaling, fractional translation,
  brightness, contrast, luma flip, hue, saturation) is applied with
  probability p. p is model state (travels through the JAX step, saving and
  resume) and, with `target`, is adjusted every `interval` D steps from the
  overfitting heuristic r_t = E[sign(D(real))]:
  p <- clip(p + sign(r_t - target) * images / (speed_kimg * 1000), 0, 1).
  The geometric warp is bilinear at 1x by default; `antialias=True` warps
  at 2x between sym6 low-pass filters as stylegan2-ada does.

Use `GAN(..., augment="diffaugment")`, `augment={"name": "ada", "target": 0.6}`
or a recipe's `model: {augment: ...}`. Standalone, `aug(images, seed=0)`
draws its parameters with numpy from the seed, so the same seed gives the
same augmentation on every backend.

Example:
    >>> aug = get("diffaugment")
    >>> y = aug(images, seed=0)                                  # numpy in, tensor out
    >>> gan = GAN(G, D, latent_dim=64, augment={"name": "ada", "target": 0.6})
"""

import difflib
import math

import keras
import numpy as np
from keras import ops

from ganzoo import backend
from ganzoo.engine import augment_ops as T
from ganzoo.engine.draws import ModelDraws, NumpyDraws

DIFFAUGMENT_POLICIES = ("color", "translation", "cutout")
ADA_TRANSFORMS = (
    "xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac",
    "brightness", "contrast", "lumaflip", "hue", "saturation",
)
_ADA_PRESETS = {
    "bgc": ADA_TRANSFORMS,
    "bg": ADA_TRANSFORMS[:7],
    "b": ADA_TRANSFORMS[:3],
    "c": ADA_TRANSFORMS[7:],
}


def _unknown(kind, name, valid):
    close = difflib.get_close_matches(str(name), valid, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ValueError(f"Unknown {kind} {name!r}; valid: {', '.join(valid)}.{hint}")


class Augment:
    """Base of D augmentations: `apply(x, draws, p)` plus engine hooks.

    Example:
        >>> class Flip(Augment):
        ...     name = "flip"
        ...     def apply(self, x, draws, p=None):
        ...         return T.flip_x(x, ops.cast(draws.uniform((ops.shape(x)[0],)) < 0.5, "float32"))
    """

    name = "augment"
    log_names = ()

    def apply(self, x, draws, p=None):
        raise NotImplementedError

    def __call__(self, images, seed=None, p=None):
        """Augment `images` (NHWC) with parameters drawn by numpy from `seed`.

        Example:
            >>> y = get("diffaugment")(np.zeros((2, 8, 8, 3), "float32"), seed=0)
        """
        x = ops.convert_to_tensor(np.asarray(images, "float32") if not hasattr(images, "dtype") else images)
        if len(x.shape) != 4:
            raise ValueError(f"augmentations take NHWC images, got shape {tuple(x.shape)}.")
        return self.apply(ops.cast(x, "float32"), NumpyDraws(seed), p)

    def training_apply(self, gan, x):
        """What the engine calls on every image D sees in training."""
        return self.apply(x, ModelDraws(gan), self.current_p(gan))

    def current_p(self, gan):
        return None

    def build_state(self, gan):
        """Create model state (called once by the engine)."""

    def d_logs(self, gan, real_out):
        """Extra D-phase logs (ADA: r_t and p)."""
        return {}

    def d_hooks(self, gan):
        """`after` hooks for the D phase (ADA's p controller)."""
        return ()

    def get_config(self):
        return {}


class DiffAugment(Augment):
    """DiffAugment (Zhao et al. 2020): the same random transforms for reals and fakes.

    Args:
        policy: comma-separated subset of "color,translation,cutout" (all by default).
        translation_ratio: largest shift as a fraction of the size (paper: 1/8).
        cutout_ratio: box side as a fraction of the size (paper: 1/2).

    Example:
        >>> aug = DiffAugment("translation,cutout")
        >>> y = aug(images, seed=0)
    """

    name = "diffaugment"

    def __init__(self, policy="color,translation,cutout", translation_ratio=0.125, cutout_ratio=0.5):
        parts = [p.strip() for p in (policy.split(",") if isinstance(policy, str) else policy) if p.strip()]
        for part in parts:
            if part not in DIFFAUGMENT_POLICIES:
                raise _unknown("DiffAugment policy", part, DIFFAUGMENT_POLICIES)
        if not parts:
            raise ValueError(f"DiffAugment needs at least one policy of {', '.join(DIFFAUGMENT_POLICIES)}.")
        for label, r in (("translation_ratio", translation_ratio), ("cutout_ratio", cutout_ratio)):
            if not 0.0 < float(r) <= 1.0:
                raise ValueError(f"DiffAugment {label} must lie in (0, 1], got {r}.")
        self.policy = tuple(parts)
        self.translation_ratio, self.cutout_ratio = float(translation_ratio), float(cutout_ratio)

    def apply(self, x, draws, p=None):
        n = ops.shape(x)[0]
        h, w = int(x.shape[1]), int(x.shape[2])
        for part in self.policy:
            if part == "color":
                x = T.brightness(x, draws.uniform((n,)) - 0.5)
                x = T.saturation(x, draws.uniform((n,)) * 2.0)
                x = T.contrast(x, draws.uniform((n,)) + 0.5)
            elif part == "translation":
                sh, sw = int(h * self.translation_ratio + 0.5), int(w * self.translation_ratio + 0.5)
                dy = ops.floor(draws.uniform((n,)) * (2 * sh + 1)) - sh
                dx = ops.floor(draws.uniform((n,)) * (2 * sw + 1)) - sw
                x = T.translate(x, dy, dx)
            elif part == "cutout":
                ch, cw = int(h * self.cutout_ratio + 0.5), int(w * self.cutout_ratio + 0.5)
                cy = ops.floor(draws.uniform((n,)) * (h + (1 - ch % 2)))
                cx = ops.floor(draws.uniform((n,)) * (w + (1 - cw % 2)))
                x = T.cutout(x, cy, cx, ch, cw)
        return x

    def get_config(self):
        return {"policy": ",".join(self.policy), "translation_ratio": self.translation_ratio,
                "cutout_ratio": self.cutout_ratio}


class AdaptiveAugment(Augment):
    """ADA (Karras et al. 2020): the augment pipeline applied with probability p.

    Args:
        transforms: a preset ("bgc" all, "bg" geometric, "b" pixel blitting,
            "c" colour) or a list of names from `ADA_TRANSFORMS`.
        p: initial (or, without `target`, fixed) probability in [0, 1].
        target: r_t target in (0, 1) for the adaptive controller (paper
            0.6); None keeps p fixed.
        interval: D steps between p updates (paper 4).
        speed_kimg: thousands of images for p to move from 0 to 1 (paper 500).
        antialias: warp geometric transforms at 2x between sym6 low-pass
            filters, as stylegan2-ada does (`augment_ops.affine_antialiased`:
            the warp runs on 4x the pixels, plus two filter passes); False
            (default) warps bilinearly at 1x, which aliases under zoom-out
            and rotation.

    Logs `ada_p` and `ada_rt` from the D phase when adaptive.

    Example:
        >>> ada = AdaptiveAugment("bgc", target=0.6)
        >>> y = AdaptiveAugment("bgc", p=0.5)(images, seed=0)
        >>> smooth = AdaptiveAugment("bg", target=0.6, antialias=True)
    """

    name = "ada"
    # Strengths from the paper's appendix (stylegan2-ada's augment pipe defaults).
    XINT_MAX, SCALE_STD, ROTATE_MAX, ANISO_STD, XFRAC_STD = 0.125, 0.2, 1.0, 0.2, 0.125
    BRIGHTNESS_STD, CONTRAST_STD, HUE_MAX, SATURATION_STD = 0.2, 0.5, 1.0, 1.0

    def __init__(self, transforms="bgc", p=0.0, target=None, interval=4, speed_kimg=500.0, antialias=False):
        names = _ADA_PRESETS.get(transforms) if isinstance(transforms, str) else None
        if names is None:
            if isinstance(transforms, str):
                if transforms not in ADA_TRANSFORMS:
                    raise _unknown("ADA transform or preset", transforms, (*_ADA_PRESETS, *ADA_TRANSFORMS))
                names = (transforms,)
            else:
                names = tuple(transforms)
                for t in names:
                    if t not in ADA_TRANSFORMS:
                        raise _unknown("ADA transform", t, ADA_TRANSFORMS)
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"ADA's p must lie in [0, 1], got {p}.")
        if target is not None and not 0.0 < float(target) < 1.0:
            raise ValueError(
                f"ADA's target r_t must lie in (0, 1) (the paper uses 0.6), got {target}; "
                "use target=None for a fixed p."
            )
        if int(interval) < 1 or float(speed_kimg) <= 0:
            raise ValueError(f"ADA needs interval >= 1 and speed_kimg > 0, got {interval}, {speed_kimg}.")
        self.transforms = names
        self.p_init = float(p)
        self.target = None if target is None else float(target)
        self.interval, self.speed_kimg = int(interval), float(speed_kimg)
        if not isinstance(antialias, bool):
            raise ValueError(f"ADA's antialias must be true or false, got {antialias!r}.")
        self.antialias = antialias
        self.log_names = ("ada_p", "ada_rt") if self.target is not None else ("ada_p",)

    # ---------------------------------------------------------------- state
    def build_state(self, gan):
        gan.ada_p = gan.add_weight(shape=(), initializer=keras.initializers.Constant(self.p_init),
                                   trainable=False, name="ada_p")
        gan.ada_sign_sum = gan.add_weight(shape=(), initializer="zeros", trainable=False, name="ada_sign_sum")
        gan.ada_count = gan.add_weight(shape=(), initializer="zeros", trainable=False, name="ada_count")

    def current_p(self, gan):
        return gan.ada_p.value

    def d_logs(self, gan, real_out):
        logs = {"ada_p": ops.copy(gan.ada_p.value)}  # read now (TF would read it after the controller)
        if self.target is not None:
            logs["ada_rt"] = ops.mean(ops.sign(ops.cast(real_out["logits"], "float32")))
        return logs

    def d_hooks(self, gan):
        if self.target is None:
            return ()

        def controller(real, fake, logs):
            gan.ada_sign_sum.assign_add(logs["ada_rt"])
            gan.ada_count.assign_add(1.0)
            images = ops.cast(gan.batch_size_of(real) * backend.replica_info()[0], "float32")

            def update():
                gan.ada_p.assign(self.update_p(gan.ada_p.value, gan.ada_sign_sum.value / gan.ada_count.value,
                                               images * self.interval))
                gan.ada_sign_sum.assign(0.0)
                gan.ada_count.assign(0.0)

            backend.cond(gan.ada_count.value >= self.interval, update)

        return (controller,)

    def update_p(self, p, rt, images):
        """One controller step: `clip(p + sign(rt - target) * images / (speed_kimg * 1000), 0, 1)`.

        Example:
            >>> float(AdaptiveAugment(target=0.6).update_p(0.0, 0.9, 256 * 4))
            0.002048
        """
        step = ops.sign(ops.cast(rt, "float32") - self.target) * ops.cast(images, "float32") / (self.speed_kimg * 1000.0)
        return ops.clip(ops.cast(p, "float32") + step, 0.0, 1.0)

    # ---------------------------------------------------------------- the pipe
    def apply(self, x, draws, p=None):
        n = ops.shape(x)[0]
        h, w = int(x.shape[1]), int(x.shape[2])
        p = ops.cast(self.p_init if p is None else p, "float32")
        on = set(self.transforms)

        def gate(value, identity, prob=None):
            keep = draws.uniform((n,)) < (p if prob is None else prob)
            return ops.where(keep, value, identity)

        zeros, ones = ops.zeros((n,), "float32"), ops.ones((n,), "float32")
        geometric = ops.tile(ops.eye(3, dtype="float32")[None], (n, 1, 1))
        any_geometric = False

        def then(m):
            return ops.matmul(geometric, m)

        if "xflip" in on:
            flip = gate(ops.floor(draws.uniform((n,)) * 2.0), zeros)
            geometric, any_geometric = then(T.scale_matrix(1.0 - 2.0 * flip, ones)), True
        if "rotate90" in on and h == w:
            k = gate(ops.floor(draws.uniform((n,)) * 4.0), zeros)
            geometric, any_geometric = then(T.rotation_matrix(k * (math.pi / 2))), True
        if "xint" in on:
            t = (draws.uniform((n, 2)) * 2.0 - 1.0) * self.XINT_MAX
            tx, ty = gate(ops.round(t[:, 0] * w), zeros), gate(ops.round(t[:, 1] * h), zeros)
            geometric, any_geometric = then(T.translation_matrix(tx, ty)), True
        if "scale" in on:
            s = gate(ops.power(2.0, draws.normal((n,)) * self.SCALE_STD), ones)
            geometric, any_geometric = then(T.scale_matrix(s, s)), True
        p_rot = 1.0 - ops.sqrt(ops.clip(1.0 - p, 0.0, 1.0))  # pre and post rotation: p overall
        if "rotate" in on:
            theta = gate((draws.uniform((n,)) * 2.0 - 1.0) * math.pi * self.ROTATE_MAX, zeros, p_rot)
            geometric, any_geometric = then(T.rotation_matrix(theta)), True
        if "aniso" in on:
            s = gate(ops.power(2.0, draws.normal((n,)) * self.ANISO_STD), ones)
            geometric, any_geometric = then(T.scale_matrix(s, 1.0 / s)), True
        if "rotate" in on:
            theta = gate((draws.uniform((n,)) * 2.0 - 1.0) * math.pi * self.ROTATE_MAX, zeros, p_rot)
            geometric = then(T.rotation_matrix(theta))
        if "xfrac" in on:
            t = draws.normal((n, 2)) * self.XFRAC_STD
            geometric, any_geometric = then(T.translation_matrix(gate(t[:, 0] * w, zeros),
                                                                 gate(t[:, 1] * h, zeros))), True
        if any_geometric:
            x = (T.affine_antialiased if self.antialias else T.affine)(x, geometric)
        return self._color(x, draws, gate, zeros, ones, on, n)

    def _color(self, x, draws, gate, zeros, ones, on, n):
        if "brightness" in on:
            x = T.brightness(x, gate(draws.normal((n,)) * self.BRIGHTNESS_STD, zeros))
        if "contrast" in on:
            c = gate(ops.power(2.0, draws.normal((n,)) * self.CONTRAST_STD), ones)
            x = x * ops.cast(ops.reshape(c, (-1, 1, 1, 1)), x.dtype)
        if int(x.shape[-1]) != 3 or not on & {"lumaflip", "hue", "saturation"}:
            return x  # luma flip, hue and saturation act on RGB only
        v = ops.convert_to_tensor(T.LUMA_AXIS[:3])
        vvt = ops.outer(v, v)
        eye = ops.eye(3, dtype="float32")
        m = ops.tile(eye[None], (n, 1, 1))
        if "lumaflip" in on:
            i = gate(ops.floor(draws.uniform((n,)) * 2.0), zeros)
            m = ops.matmul(eye[None] - 2.0 * vvt[None] * ops.reshape(i, (-1, 1, 1)), m)
        if "hue" in on:
            theta = gate((draws.uniform((n,)) * 2.0 - 1.0) * math.pi * self.HUE_MAX, zeros)
            c, s = ops.reshape(ops.cos(theta), (-1, 1, 1)), ops.reshape(ops.sin(theta), (-1, 1, 1))
            cross = ops.convert_to_tensor(np.asarray(
                [[0, -T.LUMA_AXIS[2], T.LUMA_AXIS[1]], [T.LUMA_AXIS[2], 0, -T.LUMA_AXIS[0]],
                 [-T.LUMA_AXIS[1], T.LUMA_AXIS[0], 0]], "float32"))
            rot = c * eye[None] + s * cross[None] + (1.0 - c) * vvt[None]  # Rodrigues, about the luma axis
            m = ops.matmul(rot, m)
        if "saturation" in on:
            s = gate(ops.power(2.0, draws.normal((n,)) * self.SATURATION_STD), ones)
            m = ops.matmul(vvt[None] + (eye - vvt)[None] * ops.reshape(s, (-1, 1, 1)), m)
        full = ops.concatenate([ops.concatenate([m, ops.zeros((n, 3, 1))], axis=2),
                                ops.tile(ops.convert_to_tensor([[[0.0, 0.0, 0.0, 1.0]]]), (n, 1, 1))], axis=1)
        return T.color_transform(x, full)

    def get_config(self):
        return {"transforms": list(self.transforms), "p": self.p_init, "target": self.target,
                "interval": self.interval, "speed_kimg": self.speed_kimg, "antialias": self.antialias}


AUGMENTS = {"diffaugment": DiffAugment, "ada": AdaptiveAugment}


def get(spec):
    """An augmentation from a name, a `{"name": ..., **config}` dict, an instance, or None.

    Example:
        >>> get("diffaugment").policy
        ('color', 'translation', 'cutout')
        >>> get({"name": "ada", "target": 0.6}).target
        0.6
    """
    if spec is None or isinstance(spec, Augment):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict) or "name" not in spec:
        raise ValueError(f"augment must be a name ({', '.join(AUGMENTS)}), a dict with 'name', or None; got {spec!r}.")
    config = dict(spec)
    name = str(config.pop("name")).lower()
    if name not in AUGMENTS:
        raise _unknown("augmentation", name, tuple(AUGMENTS))
    try:
        return AUGMENTS[name](**config)
    except TypeError as e:
        raise ValueError(f"augmentation {name!r}: {e}") from None


def serialize(augment):
    """`{"name", **config}` for `get` (None for None).

    Example:
        >>> serialize(get("ada"))["name"]
        'ada'
    """
    return None if augment is None else {"name": augment.name, **augment.get_config()}
