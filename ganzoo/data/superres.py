"""Low/high-resolution pairs for super-resolution, made on the fly by bicubic downsampling.

`superres(source, hr_size, scale=4, ...)` reads one image source (a
folder, an array, a TFDS spec, "builtin:digits": anything
`ganzoo.data.images` takes) at `hr_size` and pairs every HR image with its
bicubic downsampling by `scale` (antialiased, TensorFlow's
`tf.image.resize(method="bicubic", antialias=True)`, the usual MATLAB-style
`imresize` stand-in), clipped to [-1, 1]. `bicubic_downsample` /
`bicubic_upsample` do the same on numpy arrays (the upsampling is the
bicubic baseline SR models are compared with).

Example:
    >>> from ganzoo.data.superres import superres
    >>> ds = superres("builtin:digits", hr_size=32, scale=4, batch_size=16)
    >>> lr, hr = next(iter(ds))
    >>> lr.shape, hr.shape
    (TensorShape([16, 8, 8, 1]), TensorShape([16, 32, 32, 1]))
"""

import numpy as np


def _tf():
    import tensorflow as tf

    return tf


def _check(hr_size, scale):
    if int(scale) < 2 or int(scale) != scale:
        raise ValueError(f"scale must be an integer >= 2, got {scale!r}.")
    if int(hr_size) % int(scale):
        raise ValueError(f"hr_size {hr_size} is not a multiple of scale {scale}: pick e.g. {int(hr_size) // int(scale) * int(scale)}.")
    return int(hr_size), int(scale)


def _resize(tf, images, size, antialias):
    out = tf.image.resize(images, (size[0], size[1]), method="bicubic", antialias=antialias)
    return tf.clip_by_value(out, -1.0, 1.0)


def bicubic_downsample(images, scale=4):
    """Antialiased bicubic downsampling of NHWC float images in [-1, 1] (numpy in, numpy out).

    Example:
        >>> bicubic_downsample(np.zeros((2, 32, 32, 1), "float32"), 4).shape
        (2, 8, 8, 1)
    """
    tf = _tf()
    x = np.asarray(images, "float32")
    h, w = x.shape[1], x.shape[2]
    if h % int(scale) or w % int(scale):
        raise ValueError(f"image size {h}x{w} is not a multiple of scale {scale}.")
    return _resize(tf, x, (h // int(scale), w // int(scale)), True).numpy()


def bicubic_upsample(images, scale=4):
    """Bicubic upsampling by `scale` (the baseline SR output), clipped to [-1, 1].

    Example:
        >>> bicubic_upsample(np.zeros((2, 8, 8, 1), "float32"), 4).shape
        (2, 32, 32, 1)
    """
    tf = _tf()
    x = np.asarray(images, "float32")
    return _resize(tf, x, (x.shape[1] * int(scale), x.shape[2] * int(scale)), False).numpy()


def superres(source, hr_size, scale=4, batch_size=16, *, channels=None, shuffle=True, seed=None, repeat=False,
             crop="center"):
    """A `tf.data.Dataset` of `(lr, hr)` batches: HR images of `source` and their bicubic downsamplings.

    Args:
        source: anything `ganzoo.data.images` reads.
        hr_size: the high-resolution size (a multiple of `scale`).
        scale: the downsampling factor (4 for SRGAN).
        Other arguments as `ganzoo.data.images`.

    Example:
        >>> sr.fit(superres("photos/", hr_size=96, scale=4, batch_size=16), epochs=10)   # doctest: +SKIP
    """
    from ganzoo.data.images import images

    hr_size, scale = _check(hr_size, scale)
    tf = _tf()
    ds = images(source, hr_size, batch_size, channels=channels, shuffle=shuffle, seed=seed, repeat=repeat, crop=crop)
    lr = hr_size // scale
    return ds.map(lambda hr: (_resize(tf, hr, (lr, lr), True), hr))


def _register():
    from ganzoo.engine.registry import register

    @register("dataset", name="superres")
    def superres_recipe_data(recipe, source, epochs=1, seed=0):
        """`data.kind: superres`: `(lr, hr)` pairs of any image source at `data.resolution` (HR);
        options: scale (4).

        Example:
            >>> ds, fit_kwargs = superres_recipe_data(recipes.get("srresnet-digits"), "builtin:digits")
        """
        options = dict(recipe["data"].get("options") or {})
        unknown = sorted(set(options) - {"scale"})
        if unknown:
            raise ValueError(f"{recipe['name']}: unknown data.options key(s) {unknown}; valid: scale.")
        if source is None:
            raise ValueError(f"{recipe['name']}: no data; pass --data PATH (an image folder, .npy file or tfds:NAME).")
        ds = superres(source, int(recipe["data"]["resolution"]), int(options.get("scale", 4)),
                      int(recipe["training"].get("batch_size", 16)), channels=recipe["data"].get("channels"),
                      seed=seed)
        if "steps_per_epoch" in recipe["training"]:
            return ds.repeat(), {"steps_per_epoch": int(recipe["training"]["steps_per_epoch"])}
        return ds, {}

    return superres_recipe_data


superres_recipe_data = _register()
