"""Differentiable image transforms in `keras.ops`, given their random parameters.

Every function takes NHWC images and per-sample parameters (tensors with a
leading batch axis) and is differentiable with respect to the images, on
every backend: augmentations for D (DiffAugment, ADA) sit between G and D,
so G's gradient must flow through them. Drawing the parameters is the
caller's job (`ganzoo.engine.augment`), so the same parameters give the same
images everywhere.

Example:
    >>> y = translate(x, ops.array([1, -2]), ops.array([0, 3]))   # integer shifts, zero fill
    >>> y = affine(x, theta)                                        # bilinear, reflected edges
    >>> y = affine_antialiased(x, theta)                            # 2x, sym6 filters (ADA)
"""

import numpy as np
from keras import ops


def _per_sample(v, ndim=4):
    v = ops.convert_to_tensor(v)
    return ops.reshape(v, (-1,) + (1,) * (ndim - 1))


def gather_pixels(x, rows, cols):
    """`x[n, rows[n, i, j], cols[n, i, j], :]` for int index maps of shape (N, H', W').

    Example:
        >>> y = gather_pixels(x, rows, cols)     # (N, H', W', C)
    """
    x = ops.convert_to_tensor(x)
    n, h, w, c = (ops.shape(x)[i] for i in range(4))
    flat = ops.reshape(x, (n, h * w, c))
    index = ops.cast(rows, "int32") * w + ops.cast(cols, "int32")  # broadcasts rows (., H', 1) and cols (., 1, W')
    out_h, out_w = ops.shape(index)[1], ops.shape(index)[2]
    index = ops.broadcast_to(index, (n, out_h, out_w))
    index = ops.reshape(index, (n, out_h * out_w, 1))
    picked = ops.take_along_axis(flat, ops.broadcast_to(index, (n, out_h * out_w, c)), axis=1)
    return ops.reshape(picked, (n, out_h, out_w, c))


def _grid(x):
    h, w = ops.shape(x)[1], ops.shape(x)[2]
    rows = ops.reshape(ops.arange(h, dtype="int32"), (1, h, 1))
    cols = ops.reshape(ops.arange(w, dtype="int32"), (1, 1, w))
    return rows, cols


def translate(x, dy, dx):
    """Shift each image by integer `(dy[n], dx[n])` pixels, filling with zeros (DiffAugment).

    Example:
        >>> translate(x, ops.array([1]), ops.array([0]))   # one row down
    """
    x = ops.convert_to_tensor(x)
    h, w = ops.shape(x)[1], ops.shape(x)[2]
    rows, cols = _grid(x)
    src_r = rows - ops.reshape(ops.cast(dy, "int32"), (-1, 1, 1))
    src_c = cols - ops.reshape(ops.cast(dx, "int32"), (-1, 1, 1))
    valid = (src_r >= 0) & (src_r < h) & (src_c >= 0) & (src_c < w)
    out = gather_pixels(x, ops.clip(src_r, 0, h - 1), ops.clip(src_c, 0, w - 1))
    return out * ops.cast(valid, x.dtype)[..., None]


def cutout(x, cy, cx, size_h, size_w):
    """Zero a `size_h x size_w` box centred at `(cy[n], cx[n])` in each image (DeVries 2017).

    Example:
        >>> cutout(x, ops.array([4]), ops.array([4]), 4, 4)
    """
    x = ops.convert_to_tensor(x)
    rows, cols = _grid(x)
    top = ops.reshape(ops.cast(cy, "int32"), (-1, 1, 1)) - size_h // 2
    left = ops.reshape(ops.cast(cx, "int32"), (-1, 1, 1)) - size_w // 2
    inside = (rows >= top) & (rows < top + size_h) & (cols >= left) & (cols < left + size_w)
    return x * (1.0 - ops.cast(inside, x.dtype))[..., None]


def brightness(x, b):
    """`x + b[n]` (DiffAugment draws b - 0.5 from U[0, 1); ADA from N(0, 0.2))."""
    x = ops.convert_to_tensor(x)
    return x + ops.cast(_per_sample(b), x.dtype)


def saturation(x, s):
    """Scale each pixel's deviation from its channel mean by `s[n]`."""
    x = ops.convert_to_tensor(x)
    mean = ops.mean(x, axis=-1, keepdims=True)
    return (x - mean) * ops.cast(_per_sample(s), x.dtype) + mean


def contrast(x, c):
    """Scale each image's deviation from its mean (over pixels and channels) by `c[n]`."""
    x = ops.convert_to_tensor(x)
    mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
    return (x - mean) * ops.cast(_per_sample(c), x.dtype) + mean


def flip_x(x, flip):
    """Mirror left-right the images where `flip[n]` is 1."""
    x = ops.convert_to_tensor(x)
    f = ops.cast(_per_sample(flip), x.dtype)
    return f * ops.flip(x, axis=2) + (1.0 - f) * x


def _reflect(i, n):
    # Mirror an integer index into [0, n) without repeating the edge (numpy's "reflect").
    period = ops.maximum(2 * n - 2, 1)
    i = ops.mod(i, period)
    return ops.where(i >= n, period - i, i)


def affine(x, matrix):
    """Resample each image at `matrix[n] @ (u, v, 1)` with bilinear weights and reflected edges.

    `matrix` (N, 3, 3) maps an output pixel's centred coordinates (origin
    at the image centre, in pixels; u right, v down) to the input position
    it reads, as the inverse warp of StyleGAN2-ADA's augment pipe. Edges
    are mirrored (ADA pads by reflection). No anti-aliasing filter: see
    `affine_antialiased` for ADA's filtered warp.

    Example:
        >>> eye = ops.tile(ops.eye(3)[None], (len(x), 1, 1))
        >>> bool(ops.all(ops.abs(affine(x, eye) - x) < 1e-6))
        True
    """
    x = ops.convert_to_tensor(x)
    h, w = ops.shape(x)[1], ops.shape(x)[2]
    cy, cx = (ops.cast(h, "float32") - 1.0) / 2.0, (ops.cast(w, "float32") - 1.0) / 2.0
    v = ops.reshape(ops.arange(h, dtype="float32"), (1, h, 1)) - cy
    u = ops.reshape(ops.arange(w, dtype="float32"), (1, 1, w)) - cx
    m = ops.cast(matrix, "float32")
    m = [[ops.reshape(m[:, i, j], (-1, 1, 1)) for j in range(3)] for i in range(3)]
    src_u = m[0][0] * u + m[0][1] * v + m[0][2] + cx
    src_v = m[1][0] * u + m[1][1] * v + m[1][2] + cy
    u0, v0 = ops.floor(src_u), ops.floor(src_v)
    wu, wv = (src_u - u0)[..., None], (src_v - v0)[..., None]
    u0, v0 = ops.cast(u0, "int32"), ops.cast(v0, "int32")
    out = 0.0
    for dv, weight_v in ((0, 1.0 - wv), (1, wv)):
        for du, weight_u in ((0, 1.0 - wu), (1, wu)):
            pixels = gather_pixels(x, _reflect(v0 + dv, h), _reflect(u0 + du, w))
            out = out + ops.cast(weight_v * weight_u, x.dtype) * pixels
    return out


def color_transform(x, matrix):
    """Apply a per-sample 4x4 homogeneous colour matrix to RGB pixels (ADA's colour pipe).

    Example:
        >>> y = color_transform(x, ops.tile(ops.eye(4)[None], (len(x), 1, 1)))   # identity
    """
    x = ops.convert_to_tensor(x)
    m = ops.cast(matrix, x.dtype)
    rgb = ops.einsum("nij,nhwj->nhwi", m[:, :3, :3], x)
    return rgb + m[:, None, None, :3, 3]


# -------------------------------------------------------------- matrices (numpy-free, per sample)
def _stack_rows(rows):
    return ops.stack([ops.stack(r, axis=-1) for r in rows], axis=-2)


def translation_matrix(tx, ty):
    """(N, 3, 3) homogeneous translations."""
    one, zero = ops.ones_like(tx), ops.zeros_like(tx)
    return _stack_rows([[one, zero, tx], [zero, one, ty], [zero, zero, one]])


def scale_matrix(sx, sy):
    """(N, 3, 3) homogeneous axis scalings."""
    one, zero = ops.ones_like(sx), ops.zeros_like(sx)
    return _stack_rows([[sx, zero, zero], [zero, sy, zero], [zero, zero, one]])


def rotation_matrix(theta):
    """(N, 3, 3) homogeneous rotations by `theta` radians."""
    c, s = ops.cos(theta), ops.sin(theta)
    one, zero = ops.ones_like(theta), ops.zeros_like(theta)
    return _stack_rows([[c, -s, zero], [s, c, zero], [zero, zero, one]])


LUMA_AXIS = (np.asarray([1.0, 1.0, 1.0, 0.0]) / np.sqrt(3.0)).astype("float32")


# -------------------------------------------------------------- anti-aliased warp (ADA's geometric pipe)
# Symlet-6 low-pass decomposition taps (Daubechies 1992), the filter of stylegan2-ada's augment pipe.
SYM6 = np.asarray([
    0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633,
    0.4910559419267466, 0.787641141030194, 0.3379294217276218, -0.07263752278646252,
    -0.021060292512300564, 0.04472490177066578, 0.0017677118642428036, -0.007800708325034148,
])


def _fir(x, taps, axis, stride=1):
    # Depthwise 1-D cross-correlation along H (axis 1) or W (axis 2), "valid", per channel.
    c = int(x.shape[-1])
    shape = (len(taps), 1) if axis == 1 else (1, len(taps))
    kernel = np.tile(np.asarray(taps, "float32").reshape(shape + (1, 1)), (1, 1, c, 1))
    y = ops.depthwise_conv(x, ops.cast(ops.convert_to_tensor(kernel), x.dtype), strides=1, padding="valid")
    # Stride by slicing: TF's CPU depthwise conv refuses unequal row/column strides.
    return y if stride == 1 else (y[:, ::stride] if axis == 1 else y[:, :, ::stride])


def _pad_axis(x, before, after, axis):
    pads = [(0, 0)] * 4
    pads[axis] = (before, after)
    return ops.pad(x, pads, mode="reflect")


def upsample2x(x, taps=SYM6):
    """Double H and W: zero insertion, then the low-pass `taps` (gain 2 per axis), edges mirrored.

    Output pixel k sits at input coordinate k/2 - 1/4 (pixel centres), so
    in centred coordinates the image is scaled by exactly 2. The taps run as
    a convolution here and as a correlation in `downsample2x`, so the pair
    has no net shift (stylegan2-ada's `upsample2d` / `downsample2d(flip_filter=True)`).

    Example:
        >>> upsample2x(ops.ones((1, 8, 8, 1))).shape
        (1, 16, 16, 1)
    """
    x = ops.convert_to_tensor(x)
    taps = np.asarray(taps, "float64")[::-1] / np.sum(taps) * 2.0  # convolution, gain 2 per axis
    m = len(taps) // 4  # input pixels of mirrored margin the filter reads past each edge
    for axis in (1, 2):
        n = int(x.shape[axis])
        x = _pad_axis(x, m, m, axis)
        stuffed = ops.stack([x, ops.zeros_like(x)], axis=axis + 1)
        shape = [-1, int(x.shape[1]), int(x.shape[2]), int(x.shape[3])]
        shape[axis] = 2 * (n + 2 * m)
        x = ops.reshape(stuffed, shape)
        x = _fir(x, taps, axis)
        x = x[:, : 2 * n] if axis == 1 else x[:, :, : 2 * n]
    return x


def downsample2x(x, taps=SYM6):
    """Halve H and W: the low-pass `taps` (a correlation), then every other pixel, edges mirrored.

    Output pixel i averages around input coordinate 2i + 1/2, the inverse of
    `upsample2x`'s geometry.

    Example:
        >>> downsample2x(ops.ones((1, 16, 16, 1))).shape
        (1, 8, 8, 1)
    """
    x = ops.convert_to_tensor(x)
    taps = np.asarray(taps, "float64") / np.sum(taps)
    pad = (len(taps) - 2) // 2  # centre of the taps between input pixels 2i and 2i + 1
    for axis in (1, 2):
        x = _fir(_pad_axis(x, pad, len(taps) - 2 - pad, axis), taps, axis, stride=2)
    return x


def is_pixel_exact(matrix, tol=1e-5):
    """(N,) bool: `matrix[n]` maps pixel centres onto pixel centres (a signed permutation plus an
    integer shift: flips, quarter turns, integer translations), so `affine` needs no filter.

    Example:
        >>> bool(is_pixel_exact(ops.eye(3)[None])[0])
        True
    """
    m = ops.cast(matrix, "float32")
    lin, t = m[:, :2, :2], m[:, :2, 2]
    r = ops.round(lin)
    integer = ops.all(ops.abs(lin - r) < tol, axis=(1, 2)) & ops.all(ops.abs(t - ops.round(t)) < tol, axis=1)
    unit = ops.all(ops.abs(r) <= 1.0, axis=(1, 2))
    det = r[:, 0, 0] * r[:, 1, 1] - r[:, 0, 1] * r[:, 1, 0]
    return integer & unit & (ops.abs(det) == 1.0)


def affine_antialiased(x, matrix, taps=SYM6):
    """`affine` with anti-aliasing: upsample 2x, warp bilinearly, low-pass and downsample 2x.

    The bilinear warp alone aliases: a zoom-out or a rotation moves detail
    past the Nyquist frequency and it folds back as spurious patterns (and
    bilinear weights leak high frequencies). Warping at twice the
    resolution, between two sym6 low-pass filters, is stylegan2-ada's
    remedy (Karras et al. 2020; its augment pipe's geometric stage). Samples whose matrix is
    pixel-exact (`is_pixel_exact`: identity, flips, quarter turns, integer
    shifts) take the plain, lossless `affine`, so p = 0 stays the identity.
    Edges are mirrored at the 2x grid.

    Example:
        >>> theta = rotation_matrix(ops.full((len(x),), 0.3))
        >>> y = affine_antialiased(x, theta)
    """
    x = ops.convert_to_tensor(x)
    m = ops.cast(matrix, "float32")
    # Centred coordinates scale by 2 at the 2x grid: the linear part is unchanged, shifts double.
    m2 = m * ops.convert_to_tensor(np.asarray([[1, 1, 2], [1, 1, 2], [1, 1, 1]], "float32"))[None]
    # sym6 is not symmetric: its delay at low frequencies (the taps' centroid) puts the 2x image
    # `delay` 2x-pixels off the nominal grid; `downsample2x` undoes the shift, but a warp in between
    # must turn about the true centre: conjugate by the shift, adding (A - I) @ (delay, delay).
    taps = np.asarray(taps, "float64")
    delay = float((len(taps) - 1) / 2.0 - np.sum(np.arange(len(taps)) * taps) / np.sum(taps))
    du = ((m[:, 0, 0] - 1.0) + m[:, 0, 1]) * delay
    dv = (m[:, 1, 0] + (m[:, 1, 1] - 1.0)) * delay
    m2 = m2 + _stack_rows([[ops.zeros_like(du), ops.zeros_like(du), du],
                           [ops.zeros_like(du), ops.zeros_like(du), dv],
                           [ops.zeros_like(du), ops.zeros_like(du), ops.zeros_like(du)]])
    smooth = downsample2x(affine(upsample2x(x, taps), m2), taps)
    exact = ops.reshape(is_pixel_exact(m), (-1, 1, 1, 1))
    return ops.where(exact, affine(x, m), smooth)
