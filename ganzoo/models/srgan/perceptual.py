"""SRGAN's VGG content loss: MSE between VGG19 feature maps phi_5,4 of the HR image and of G(LR).

phi_5,4 is the output of the 4th convolution (after its ReLU) before the
5th max-pooling of VGG19 (Keras's layer "block5_conv4"). Ledig et al. 2017
(Sec. 2.2.1 and 3.2) rescale the feature maps by 1/12.75 so the VGG loss has
the scale of the pixel MSE: the loss is mean((phi(HR) - phi(G(LR)))^2) / 12.75^2.

The weights are `keras.applications.VGG19(weights="imagenet", include_top=False)`,
which Keras downloads once into ~/.keras/models/
(vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5). Offline, copy that
file there first; `weights=None` builds a randomly initialised VGG (tests).
The extractor is held outside the model's tracked state: it is frozen, it is
not saved with presets (loading an SRGAN for inference needs no VGG), and it
is built when training starts.

Example:
    >>> content = VGGContent(weights=None)
    >>> loss = content(hr_images, sr_images)        # scalar
"""

import keras
from keras import ops

SCALE = 12.75
LAYER = "block5_conv4"
# Caffe-style preprocessing of keras.applications.vgg19: BGR, minus the ImageNet means (0-255 scale).
_BGR_MEAN = (103.939, 116.779, 123.68)


class VGGContent:
    """The phi_5,4 VGG19 feature MSE, rescaled by 1/12.75 (see the module docstring).

    Args:
        weights: "imagenet" (the paper's) or None (random, for tests).
        layer: the VGG19 layer whose output is compared.
        seed: seed of the random weights when `weights=None`.

    Example:
        >>> VGGContent(weights=None, seed=0).features(keras.ops.zeros((1, 32, 32, 3))).shape
        (1, 2, 2, 512)
    """

    def __init__(self, weights="imagenet", layer=LAYER, seed=0):
        self.weights, self.layer, self.seed = weights, layer, seed
        self.model = None

    def build(self):
        """Build (and for "imagenet" download once) the frozen extractor.

        Example:
            >>> VGGContent(weights=None).build()
        """
        if self.model is not None:
            return
        if self.weights is None and self.seed is not None:
            keras.utils.set_random_seed(int(self.seed))
        try:
            vgg = keras.applications.VGG19(weights=self.weights, include_top=False, input_shape=(None, None, 3))
        except Exception as e:  # noqa: BLE001  (offline: urllib / OSError / ValueError, each backend its own)
            if self.weights != "imagenet":
                raise
            raise OSError(
                f"SRGAN's VGG content loss needs keras.applications.VGG19(weights='imagenet'), which could not "
                f"be downloaded ({type(e).__name__}: {' '.join(str(e).split())[:200]}); copy "
                "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5 into ~/.keras/models/ and retry."
            ) from None
        self.model = keras.Model(vgg.input, vgg.get_layer(self.layer).output, name="vgg19_phi54")
        self.model.trainable = False

    def features(self, images):
        """phi of images in [-1, 1] (grayscale is repeated to RGB), float32.

        Example:
            >>> content.features(keras.ops.zeros((2, 32, 32, 1))).shape
            (2, 2, 2, 512)
        """
        self.build()
        x = ops.cast(images, "float32")
        if x.shape[-1] == 1:
            x = ops.concatenate([x, x, x], axis=-1)
        x = (x + 1.0) * 127.5
        x = ops.flip(x, axis=-1) - ops.convert_to_tensor(_BGR_MEAN, "float32")
        return ops.cast(self.model(x, training=False), "float32")

    def __call__(self, hr, sr):
        diff = (self.features(hr) - self.features(sr)) / SCALE
        return ops.mean(ops.square(diff))

    def get_config(self):
        return {"weights": self.weights, "layer": self.layer, "seed": self.seed}
