"""The bilinear resize baked into the FID Inception graph (TensorFlow 1, legacy).

The 2015 Inception graph used by TTUR, pytorch-fid's reference numbers,
torch-fidelity and clean-fid's "legacy_tensorflow" mode resizes every image to
299x299 with TF1's `ResizeBilinear(align_corners=False, half_pixel_centers=False)`:
source coordinate `i * in / out` (no half-pixel shift), no antialiasing, edge
pixels repeated. Modern resizers (`tf.image.resize`, `torch.nn.functional.
interpolate`, `keras.ops.image.resize`) all use half-pixel centres, which shifts
the image by half a pixel and changes FID, so this module rebuilds the legacy
kernel from gathers and two lerps, in the same float32 order as the C++ kernel
(x lerp on the top and bottom rows first, then the y lerp).
"""

import numpy as np
from keras import ops


def legacy_bilinear_grid(in_size, out_size):
    """Source indices and weights of TF1 legacy bilinear resampling along one axis.

    Returns `(lower, upper, lerp)`: int32 arrays of the two source pixels of each
    output pixel and the float32 weight of `upper`, computed in float32 exactly
    as TF1's `compute_interpolation_weights` with the legacy scaler.

    Example:
    >>> lower, upper, lerp = legacy_bilinear_grid(4, 8)
    >>> lower.tolist(), upper.tolist(), lerp.tolist()
    ([0, 0, 1, 1, 2, 2, 3, 3], [0, 1, 1, 2, 2, 3, 3, 3], [0.0, 0.5, 0.0, 0.5, 0.0, 0.5, 0.0, 0.5])
    """
    in_size, out_size = int(in_size), int(out_size)
    if in_size < 1 or out_size < 1:
        raise ValueError(
            f"resize sizes must be positive, got in_size={in_size}, out_size={out_size}"
        )
    # TF1: scale = in / (float)out, in = (float)i * scale, all in float32.
    scale = np.float32(in_size) / np.float32(out_size)
    source = np.arange(out_size, dtype=np.float32) * scale
    floor = np.floor(source)
    lower = np.maximum(floor.astype(np.int64), 0)
    upper = np.minimum(np.ceil(source).astype(np.int64), in_size - 1)
    lerp = (source - floor).astype(np.float32)
    return lower.astype(np.int32), upper.astype(np.int32), lerp


def resize_bilinear_tf1(images, size):
    """Resize NHWC images like TF1 `resize_bilinear(align_corners=False)`.

    `images` is a float tensor or array `(N, H, W, C)`; `size` is
    `(height, width)`. Returns float32 `(N, height, width, C)`. Works on every
    Keras backend and inside `jit`/`tf.function` (the sampling grid depends only
    on the static input and output sizes).

    Example:
    >>> import numpy as np
    >>> x = np.arange(4, dtype="float32").reshape(1, 1, 4, 1)
    >>> y = resize_bilinear_tf1(x, (1, 8))
    >>> np.asarray(y).ravel().tolist()
    [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.0]
    """
    if len(images.shape) != 4:
        raise ValueError(
            f"resize_bilinear_tf1 expects NHWC images of rank 4, got shape {tuple(images.shape)}"
        )
    out_h, out_w = (int(s) for s in size)
    in_h, in_w = int(images.shape[1]), int(images.shape[2])
    images = ops.cast(images, "float32")
    if (in_h, in_w) == (out_h, out_w):
        return images  # lerp weights are all 0: the legacy kernel is the identity
    rows_lo, rows_hi, dy = legacy_bilinear_grid(in_h, out_h)
    cols_lo, cols_hi, dx = legacy_bilinear_grid(in_w, out_w)
    dx = ops.convert_to_tensor(dx.reshape(1, 1, out_w, 1))
    dy = ops.convert_to_tensor(dy.reshape(1, out_h, 1, 1))
    top = ops.take(images, ops.convert_to_tensor(rows_lo), axis=1)
    bottom = ops.take(images, ops.convert_to_tensor(rows_hi), axis=1)
    cols_lo, cols_hi = ops.convert_to_tensor(cols_lo), ops.convert_to_tensor(cols_hi)
    top_left, top_right = ops.take(top, cols_lo, axis=2), ops.take(top, cols_hi, axis=2)
    bottom_left = ops.take(bottom, cols_lo, axis=2)
    bottom_right = ops.take(bottom, cols_hi, axis=2)
    top = top_left + (top_right - top_left) * dx
    bottom = bottom_left + (bottom_right - bottom_left) * dx
    return top + (bottom - top) * dy
