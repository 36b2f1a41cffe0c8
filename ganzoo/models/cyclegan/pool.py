"""The image history pool of CycleGAN (Shrivastava et al. 2017; Zhu et al. 2017, Sec. 4).

D is updated on a history of generated images rather than only the latest
ones. The rule (junyanz/pytorch-CycleGAN-and-pix2pix `util/image_pool.py`,
read for facts): images of a batch are taken one after the other; until the
pool holds `pool_size` images each new fake is stored and returned as it
is; once it is full, with probability 0.5 a uniformly chosen stored image
is returned and the new fake takes its place, otherwise the new fake is
returned and the pool is unchanged.

The pool is a layer whose buffers are non-trainable variables (and whose
random draws come from its own seed generator), so it is model state: it
travels through the JAX train step and is saved and resumed with the model.

Example:
    >>> pool = ImagePool(50, (64, 64, 3), seed=0)
    >>> shown_to_d = pool(fakes)          # (N, 64, 64, 3)
"""

import keras
from keras import ops


def pool_query(images, buffer, count, u, idx):
    """The pool rule on explicit random draws (pure: returns new state).

    Args:
        images: the new fakes (N, H, W, C).
        buffer: the stored images (pool_size, H, W, C).
        count: how many are stored (int32 scalar, <= pool_size).
        u: uniform draws in [0, 1), one per image (N,); a swap happens when u > 0.5.
        idx: int32 slots in [0, pool_size), one per image (N,).

    Returns:
        `(returned images, new buffer, new count)`.

    Example:
        >>> out, buf, n = pool_query(x, buf, n, keras.random.uniform((4,)), keras.random.randint((4,), 0, 50))
    """
    size = buffer.shape[0]
    n = ops.shape(images)[0]
    images = ops.cast(images, buffer.dtype)
    u = ops.cast(u, "float32")
    idx = ops.cast(idx, "int32")
    rank = len(images.shape) - 1

    def body(i, state):
        buf, cnt, out = state
        image = ops.take(images, i, axis=0)
        full = ops.greater_equal(cnt, size)
        swap = ops.logical_and(full, ops.greater(ops.take(u, i), 0.5))
        slot = ops.where(full, ops.take(idx, i), ops.minimum(cnt, size - 1))
        write = ops.logical_or(ops.logical_not(full), swap)
        stored = ops.take(buf, slot, axis=0)
        returned = ops.where(swap, stored, image)
        hit = ops.logical_and(ops.equal(ops.arange(size, dtype="int32"), slot), write)
        buf = ops.where(ops.reshape(hit, (size,) + (1,) * rank), image[None], buf)
        row = ops.equal(ops.arange(n, dtype="int32"), i)
        out = ops.where(ops.reshape(row, (-1,) + (1,) * rank), returned[None], out)
        cnt = ops.minimum(cnt + 1, size)
        return buf, cnt, out

    buf, cnt, out = ops.fori_loop(0, n, body, (buffer, ops.cast(count, "int32"), ops.zeros_like(images)))
    return out, buf, cnt


@keras.saving.register_keras_serializable(package="ganzoo")
class ImagePool(keras.layers.Layer):
    """A history of `pool_size` generated images, queried with the CycleGAN rule (see the module docstring).

    Args:
        pool_size: images kept (50 in CycleGAN); 0 passes images through.
        image_shape: (H, W, C) of the images (fixed: the buffer is a variable).
        seed: seed of the pool's random draws.

    Example:
        >>> pool = ImagePool(50, (16, 16, 1), seed=0)
        >>> pool(keras.ops.zeros((4, 16, 16, 1))).shape
        (4, 16, 16, 1)
    """

    def __init__(self, pool_size=50, image_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = int(pool_size)
        if self.pool_size < 0:
            raise ValueError(f"pool_size must be >= 0, got {pool_size}.")
        if self.pool_size and (image_shape is None or any(d is None for d in image_shape)):
            raise ValueError(
                f"An image pool stores images of one size; got image_shape={image_shape}. Give the "
                "networks a fixed image_size or pass pool_shape=(H, W, C) (or pool_size=0 for no pool)."
            )
        self.image_shape = None if image_shape is None else tuple(None if d is None else int(d) for d in image_shape)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="pool_noise")
        if self.pool_size:
            self.images = self.add_weight(shape=(self.pool_size, *self.image_shape), initializer="zeros",
                                          trainable=False, name="images")
            self.count = self.add_weight(shape=(), dtype="int32", initializer="zeros", trainable=False, name="count")
        self.built = True

    def call(self, images):
        if not self.pool_size:
            return images
        n = ops.shape(images)[0]
        u = keras.random.uniform((n,), seed=self.seed_generator)
        idx = keras.random.randint((n,), 0, self.pool_size, seed=self.seed_generator)
        out, buf, cnt = pool_query(ops.stop_gradient(images), self.images.value, self.count.value, u, idx)
        self.images.assign(buf)
        self.count.assign(cnt)
        return ops.cast(out, images.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size,
                "image_shape": None if self.image_shape is None else list(self.image_shape), "seed": self.seed}
