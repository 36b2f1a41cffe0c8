"""`EncodedGAN`: a toy three-network family written against the engine contract.

An encoder E maps samples to latents and learns, in its own phase with its
own optimizer, to reconstruct samples through the generator,
||G(E(x)) - x||^2 (the reconstruction phase of an adversarial autoencoder).
It overrides no method whose name starts with `_`: networks, a loss, a phase
and its config are all it declares.
"""

import keras
from keras import ops

import ganzoo
from ganzoo.engine.phases import Phase


@keras.saving.register_keras_serializable(package="ganzoo_tests")
class EncodedGAN(ganzoo.GAN):
    def __init__(self, generator, discriminator, encoder, latent_dim, reconstruction_weight=1.0, **kwargs):
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.encoder = encoder
        self.reconstruction_weight = float(reconstruction_weight)

    def network_names(self):
        return (*super().network_names(), "encoder")

    def phases(self):
        reconstruction = Phase("reconstruction", networks=("encoder",), optimizer="encoder",
                               loss=self.reconstruction_loss, fakes="none", logs=("rec",))
        return [*super().phases(), reconstruction]

    def reconstruction_loss(self, real, fake):
        x = real["x"]
        rec = ops.mean(ops.square(self.generator(self.encoder(x, training=True), training=True) - x))
        return self.reconstruction_weight * rec, {"rec": rec}

    def get_config(self):
        config = super().get_config()
        config.update(encoder=keras.saving.serialize_keras_object(self.encoder),
                      reconstruction_weight=self.reconstruction_weight)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"], custom_objects=custom_objects)
        return super().from_config(config, custom_objects)


def build(seed=0):
    keras.utils.set_random_seed(seed)
    mlp = lambda i, o, name: keras.Sequential(  # noqa: E731
        [keras.Input((i,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(o)], name=name)
    gan = EncodedGAN(mlp(2, 2, "generator"), mlp(2, 1, "discriminator"), mlp(2, 2, "encoder"), latent_dim=2,
                     ema_decay=0.9)
    gan.compile(optimizers={"generator": keras.optimizers.Adam(1e-3), "discriminator": keras.optimizers.Adam(1e-3),
                            "encoder": keras.optimizers.Adam(5e-3)})
    return gan
