"""A transposed convolution that is fast to differentiate on every backend.

`keras.layers.Conv2DTranspose` on JAX lowers to a convolution with
`lhs_dilation`, whose kernel gradient XLA:CPU computes about 100x slower than
an ordinary convolution of the same size (jax#23783, openxla/xla#34273). This
layer is Keras's layer (same arguments, kernel layout `(kh, kw, filters,
in_channels)`, variables "kernel" and "bias", class name, so weight files
and presets load unchanged) with one change on JAX: the kernel gradient comes
from the adjoint identity `<g, T(x, w)> = <A(g, w), x>`, where `A` is the
strided convolution whose transpose `T` is. Then `dx = A(dy, w)` and `dw` is
`A`'s kernel gradient at cotangent `x`, both ordinary (window-dilated)
convolutions (`ganzoo.backend.FAST_CONV_TRANSPOSE`, defined in the JAX room). The forward pass
is Keras's own.

Measured for the DCGAN-64 generator's five layers (batch 64, forward plus
input and kernel gradients, interleaved on a shared 2-core CPU), this beat
the other exact formulations on JAX: 2.7 s in all vs 3.8 s for one GEMM plus
overlap-add (col2im), 7.1 s for the sub-pixel phase decomposition (Shi et al.
2016) and 7.7 s for zero-insertion plus a stride-1 convolution; Keras's own
takes about 90 s per stride-2 layer there. On TensorFlow and PyTorch Keras's
own call was the fastest of these, so it is kept there.

Dilation rates other than 1, `channels_first` and unknown spatial sizes use
Keras's call on every backend.

Example:
    >>> up = Conv2DTranspose(64, 4, strides=2, padding="same", name="up1")
    >>> y = up(keras.ops.zeros((2, 8, 8, 128)))   # (2, 16, 16, 64)
"""

import keras
from keras import ops

from ganzoo import backend

_KINDS = ("adjoint", "native")


def keras_pads(size, kernel, stride, padding, output_padding):
    """`(left, right, out)`: edge padding of the zero-inserted input, as Keras's JAX backend pads it,
    and the output size (dilation 1).

    Example:
        >>> keras_pads(8, 4, 2, "same", None)
        (2, 2, 16)
    """
    if padding == "valid":
        output_padding = max(kernel, stride) - kernel if output_padding is None else output_padding
        left, right = kernel - 1, kernel - 1 + output_padding
    else:
        if output_padding is None:
            total = stride + kernel - 2
        else:
            total = kernel + kernel % 2 - 2 + output_padding
        left = min(total // 2 + total % 2, kernel - 1)
        right = total - left
    return left, right, (size - 1) * stride + 1 + left + right - kernel + 1


@keras.saving.register_keras_serializable(package="ganzoo")
class Conv2DTranspose(keras.layers.Conv2DTranspose):
    """`keras.layers.Conv2DTranspose` with a gradient that is fast on every backend.

    Same arguments, weights (kernel `(kh, kw, filters, in_channels)`, bias)
    and outputs as Keras's layer; only `call` differs, on JAX (see the module
    docstring).

    Example:
        >>> up = Conv2DTranspose(32, 4, strides=2, padding="same", use_bias=False, name="up2")
        >>> up(keras.ops.ones((1, 4, 4, 8))).shape
        (1, 8, 8, 32)
    """

    # Tests set this to compare formulations; None: "adjoint" where the backend has one, else "native".
    formulation = None

    def _kind(self, inputs):
        # The backend names its fastest exact formulation (measured: see the module docstring).
        kind = self.formulation or ("adjoint" if backend.FAST_CONV_TRANSPOSE else "native")
        if kind not in _KINDS:
            raise ValueError(f"Unknown Conv2DTranspose formulation {kind!r}; use one of {_KINDS}.")
        if kind == "adjoint" and backend.FAST_CONV_TRANSPOSE is None:
            raise ValueError('The "adjoint" Conv2DTranspose formulation exists on JAX only; use "native".')
        if (
            self.data_format != "channels_last"
            or tuple(self.dilation_rate) != (1, 1)
            or any(d is None for d in inputs.shape[1:3])
        ):
            return "native"
        return kind

    def call(self, inputs):
        if self._kind(inputs) == "native":
            return super().call(inputs)
        output_padding = self.output_padding or (None, None)
        plans = [
            keras_pads(int(inputs.shape[1 + i]), self.kernel_size[i], self.strides[i], self.padding,
                       output_padding[i])
            for i in range(2)
        ]
        outputs = backend.FAST_CONV_TRANSPOSE(
            inputs, ops.cast(self.kernel, inputs.dtype), self.strides,
            [(left, right) for left, right, _ in plans], [out for _, _, out in plans],
        )
        if self.use_bias:
            outputs = outputs + ops.cast(self.bias, outputs.dtype)
        if self.activation is not None:
            return self.activation(outputs)
        return outputs
