"""Spectral normalization (Miyato et al. 2018, arXiv 1802.05957).

The wrapped layer's kernel ``W`` is divided by an estimate of its largest
singular value ``sigma(W)`` on every call. Unlike
``keras.layers.SpectralNormalization`` we never write ``W / sigma`` back into
the trainable kernel: that write is a side effect JAX training drops, and it
makes the optimizer step on the normalized rather than the raw weights. Here
the raw kernel stays the trainable parameter, ``W_sn = W / sigma(W)`` is a
function of it (so gradients flow through ``sigma`` as in the paper), and the
only state is the power-iteration vector ``u``, a non-trainable variable that
every backend's train step threads like BatchNorm statistics.
"""

import keras
from keras import ops

_TRANSPOSE_CONVS = (
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
)
_CONVS = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
_SUPPORTED = (keras.layers.Dense, keras.layers.Embedding, *_CONVS, *_TRANSPOSE_CONVS)


def _l2_normalize(x, eps):
    # x / max(||x||, eps), as torch.nn.functional.normalize: no blow-up at 0.
    return x / ops.maximum(ops.sqrt(ops.sum(ops.square(x))), eps)


@keras.saving.register_keras_serializable(package="ganzoo")
class SpectralNormalization(keras.layers.Wrapper):
    """Divides a layer's kernel by its spectral norm on every call.

    The kernel is viewed as a matrix with the output channels as columns
    (``Dense``: ``(in, units)``; ``Conv``: ``(kh*kw*in, filters)``;
    ``ConvTranspose``: the ``(kh, kw, filters, in)`` kernel with its last two
    axes swapped, then ``(kh*kw*in, filters)``, as torch's ``dim=1``;
    ``Embedding``: ``(vocab, dim)``). Writing ``W`` for the transpose of that
    matrix, Algorithm 1 of the paper is run from the stored ``u``:
    ``v = W^T u / ||W^T u||``, ``u' = W v / ||W v||``,
    ``sigma = u'^T W v`` with ``u'`` and ``v`` held constant for gradients.

    ``training=True`` stores ``u'`` (the one state change); ``training=False``
    runs the same computation but leaves ``u`` untouched, so inference is a
    pure function of the weights and both modes give the same output for the
    same state.

    Args:
        layer: a built or unbuilt ``Dense``, ``Conv1D/2D/3D``,
            ``Conv1D/2D/3DTranspose`` or ``Embedding`` layer.
        power_iterations: power-iteration steps per call (the paper uses 1).
        eps: floor on vector norms and on ``sigma``.

    Example:
        >>> sn = SpectralNormalization(keras.layers.Dense(8))
        >>> y = sn(np.ones((2, 4)), training=True)
        >>> tuple(y.shape)
        (2, 8)
    """

    def __init__(self, layer, power_iterations=1, eps=1e-12, **kwargs):
        # Compute in the wrapped layer's precision (e.g. a float32 output layer
        # under a mixed policy), unless told otherwise. Under a mixed policy
        # the kernel is read at compute precision, like the wrapped layer's.
        if isinstance(layer, keras.layers.Layer):
            kwargs.setdefault("dtype", layer.dtype_policy)
        super().__init__(layer, **kwargs)
        if not isinstance(layer, _SUPPORTED):
            raise ValueError(
                "SpectralNormalization supports Dense, Conv1D/2D/3D, "
                "Conv1D/2D/3DTranspose and Embedding; got "
                f"{type(layer).__name__}. Wrap one of those instead."
            )
        if getattr(layer, "quantization_mode", None):
            raise ValueError(
                "SpectralNormalization cannot wrap a quantized layer; wrap the "
                "float layer and quantize after training."
            )
        if int(power_iterations) != power_iterations or power_iterations < 1:
            raise ValueError(
                f"power_iterations must be an integer >= 1, got {power_iterations!r}."
            )
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps!r}.")
        self.power_iterations = int(power_iterations)
        self.eps = float(eps)

    def build(self, input_shape):
        super().build(input_shape)
        num_outputs = self._matrix_shape()[1]
        # The scale of u is irrelevant (it is normalized before use). No
        # autocast: under a mixed policy torch would assign into a cast copy.
        self.u = self.add_weight(
            name="u",
            shape=(num_outputs,),
            initializer=keras.initializers.RandomNormal(0.0, 1.0),
            trainable=False,
            autocast=False,
        )
        self.built = True

    # -- the kernel as a matrix -------------------------------------------------

    def _kernel(self):
        if isinstance(self.layer, keras.layers.Embedding):
            return self.layer.embeddings
        return self.layer.kernel

    def _matrix_shape(self):
        shape = tuple(self._kernel().shape)
        if isinstance(self.layer, _TRANSPOSE_CONVS):
            shape = shape[:-2] + (shape[-1], shape[-2])
        rows = 1
        for d in shape[:-1]:
            rows *= d
        return rows, shape[-1]

    def _to_matrix(self, kernel):
        if isinstance(self.layer, _TRANSPOSE_CONVS):
            kernel = ops.swapaxes(kernel, -1, -2)
        return ops.reshape(kernel, self._matrix_shape())

    def _power_iteration(self, w_mat):
        """Returns ``(u', sigma)`` for the matrix ``w_mat`` (outputs as columns)."""
        u = ops.reshape(ops.cast(self.u, w_mat.dtype), (-1, 1))
        for _ in range(self.power_iterations):
            v = _l2_normalize(ops.matmul(w_mat, u), self.eps)
            u = _l2_normalize(ops.matmul(ops.transpose(w_mat), v), self.eps)
        u = ops.stop_gradient(u)
        v = ops.stop_gradient(v)
        sigma = ops.sum(v * ops.matmul(w_mat, u))
        return ops.reshape(u, (-1,)), ops.maximum(sigma, self.eps)

    def _normalize(self, training):
        kernel = self._kernel()
        w_mat = ops.cast(self._to_matrix(kernel), "float32")
        u, sigma = self._power_iteration(w_mat)
        if training:
            self.u.assign(ops.cast(u, self.u.dtype))
        kernel = ops.cast(kernel, "float32") / sigma
        return ops.cast(kernel, self.compute_dtype), sigma

    def normalized_kernel(self):
        """The kernel ``W / sigma(W)`` as used in inference (``u`` not updated).

        Example:
            >>> sn = SpectralNormalization(keras.layers.Dense(3))
            >>> sn.build((None, 5))
            >>> tuple(sn.normalized_kernel().shape)
            (5, 3)
        """
        if not self.built:
            raise ValueError("Build or call the layer before normalized_kernel().")
        return self._normalize(training=False)[0]

    # -- the wrapped layer's computation with the normalized kernel -------------

    def call(self, inputs, training=None):
        kernel, _ = self._normalize(bool(training))
        layer = self.layer
        if isinstance(layer, keras.layers.Embedding):
            if inputs.dtype not in ("int32", "int64"):
                inputs = ops.cast(inputs, "int32")
            return ops.take(kernel, inputs, axis=0)
        if isinstance(layer, keras.layers.Dense):
            outputs = ops.matmul(inputs, kernel)
        elif isinstance(layer, _TRANSPOSE_CONVS):
            outputs = ops.conv_transpose(
                inputs,
                kernel,
                strides=list(layer.strides),
                padding=layer.padding,
                output_padding=layer.output_padding,
                dilation_rate=layer.dilation_rate,
                data_format=layer.data_format,
            )
        else:
            if layer.padding == "causal":  # Conv1D only; mirror its call().
                left = layer.dilation_rate[0] * (layer.kernel_size[0] - 1)
                pad = [[0, 0], [left, 0], [0, 0]]
                if layer.data_format == "channels_first":
                    pad = [[0, 0], [0, 0], [left, 0]]
                inputs = ops.pad(inputs, pad)
                outputs = ops.conv(
                    inputs, kernel, strides=list(layer.strides), padding="valid",
                    dilation_rate=layer.dilation_rate, data_format=layer.data_format,
                )
            else:
                outputs = layer.convolution_op(inputs, kernel)
        bias = getattr(layer, "bias", None)
        if bias is not None:
            if getattr(layer, "data_format", "channels_last") == "channels_first":
                bias = ops.reshape(bias, (1, -1) + (1,) * (len(outputs.shape) - 2))
            outputs = ops.add(outputs, ops.cast(bias, outputs.dtype))
        if layer.activation is not None:
            outputs = layer.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def compute_mask(self, inputs, mask=None):
        return self.layer.compute_mask(inputs, mask)

    def get_config(self):
        config = super().get_config()
        config.update({"power_iterations": self.power_iterations, "eps": self.eps})
        return config
