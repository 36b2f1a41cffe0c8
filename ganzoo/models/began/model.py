"""BEGAN (Berthelot et al. 2017, arXiv 1703.10717): boundary equilibrium with an auto-encoder D.

With L(v) = mean |v - D(v)| (D an auto-encoder), for each step t:

    L_D = L(x) - k_t * L(G(z))          L_G = L(G(z))
    k_{t+1} = clip(k_t + lambda_k * (gamma * L(x) - L(G(z))), 0, 1)
    M_global = L(x) + |gamma * L(x) - L(G(z))|     (the convergence measure)

gamma in (0, 1] sets the diversity ratio E[L(G(z))] / E[L(x)] the control
keeps (paper: 0.3-0.7; lambda_k = 0.001). k is model state: a
non-trainable variable updated by a hook after D's phase from that phase's
L(x) and L(G(z)) (the values the official code feeds its update), so it
travels through the JAX step, saving and resume.

Example:
    >>> from ganzoo.models.began.networks import began_generator, began_discriminator
    >>> gan = BEGAN(began_generator(64, 32, 1), began_discriminator(64, 32, 1), gamma=0.5)
    >>> gan.compile(); gan.fit(images, batch_size=16)               # doctest: +SKIP
"""

import keras
from keras import ops

from ganzoo.engine import registry
from ganzoo.engine.gan import GAN
from ganzoo.engine.phases import Phase


def reconstruction_l1(x, reconstruction):
    """Per-sample mean absolute reconstruction error (N,).

    Example:
        >>> reconstruction_l1(ops.zeros((2, 4, 4, 1)), ops.ones((2, 4, 4, 1)))
    """
    return ops.mean(ops.abs(ops.cast(x, "float32") - ops.cast(reconstruction, "float32")), axis=(1, 2, 3))


@registry.register("model_class")
@keras.saving.register_keras_serializable(package="ganzoo")
class BEGAN(GAN):
    """Boundary-equilibrium GAN: D reconstructs, k balances D's two goals.

    Args:
        generator: z -> image.
        discriminator: image -> reconstruction (same shape).
        gamma: diversity ratio in (0, 1].
        lambda_k: learning rate of k (paper 0.001).
        k_init: k_0 in [0, 1] (paper 0).
        Other arguments as `ganzoo.GAN` (no objective or penalties: BEGAN's
        losses are its own).

    Logs `l_real`, `l_fake`, `k` (the value used this step) and `m_global`
    from D's phase, and `g_loss`.

    Example:
        >>> gan = BEGAN(G, D, latent_dim=64, gamma=0.5)
        >>> float(gan.k.value)
        0.0
    """

    def __init__(self, generator, discriminator, latent_dim=None, gamma=0.5, lambda_k=0.001, k_init=0.0, **kwargs):
        if not 0.0 < float(gamma) <= 1.0:
            raise ValueError(f"BEGAN's gamma must lie in (0, 1] (the paper uses 0.3-0.7), got {gamma}.")
        if float(lambda_k) < 0 or not 0.0 <= float(k_init) <= 1.0:
            raise ValueError(f"BEGAN needs lambda_k >= 0 and k_init in [0, 1], got {lambda_k}, {k_init}.")
        for bad in ("objective", "penalties", "num_classes"):
            if kwargs.get(bad):
                raise ValueError(f"BEGAN has its own losses and is unconditional: it takes no {bad}.")
            kwargs.pop(bad, None)
        if latent_dim is None:
            latent_dim = int(generator.inputs[0].shape[-1])
        augment = kwargs.get("augment")
        if getattr(augment, "target", None) is not None or (isinstance(augment, dict) and augment.get("target")):
            # ADA's controller reads sign(D(real)); BEGAN's D answers with reconstruction errors.
            raise ValueError("BEGAN takes DiffAugment or ADA with a fixed p; adaptive ADA (target=) needs a logit D.")
        self.gamma, self.lambda_k, self.k_init = float(gamma), float(lambda_k), float(k_init)
        super().__init__(generator, discriminator, latent_dim=latent_dim, **kwargs)
        self.k = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.k_init),
                                 trainable=False, name="began_k")

    def phases(self):
        d, g, *rest = super().phases()
        d = Phase("discriminator", networks=("discriminator",), optimizer="discriminator",
                  loss=self.discriminator_loss, repeat=self.d_steps, after=(self.update_k, *self.augment_hooks()),
                  logs=("l_real", "l_fake", "k", "m_global", *self.augment_logs()), total_log="d_loss")
        return [d, g, *rest]

    def discriminate(self, x, y=None, training=True):
        """`{"logits": -L(x) (N,), "reconstruction": D(x)}`: higher logits = better reconstructed = "real".

        Example:
            >>> gan.discriminate(images)["reconstruction"].shape == images.shape
            True
        """
        x = self.augment_images(x, training)
        reconstruction = self.discriminator(x, training=training)
        return {"logits": -reconstruction_l1(x, reconstruction), "reconstruction": reconstruction}

    def discriminator_loss(self, real, fake):
        l_real = -ops.mean(self.discriminate(real["x"])["logits"])
        l_fake = -ops.mean(self.discriminate(fake["x"])["logits"])
        k = ops.copy(ops.cast(self.k.value, "float32"))  # a read now: the log is the k this step used
        logs = {"l_real": l_real, "l_fake": l_fake, "k": k,
                "m_global": l_real + ops.abs(self.gamma * l_real - l_fake)}
        if self.augment is not None:
            logs.update(self.augment.d_logs(self, {"logits": -l_real * ops.ones((1,))}))
        return l_real - k * l_fake, logs

    def generator_loss(self, real, fake):
        return -ops.mean(self.discriminate(fake["x"])["logits"]), {}

    def next_k(self, k, l_real, l_fake):
        """`clip(k + lambda_k * (gamma * l_real - l_fake), 0, 1)`.

        Example:
            >>> float(BEGAN.next_k(gan, 0.5, 0.2, 0.05))    # 0.5 + 0.001 * (0.5 * 0.2 - 0.05)
            0.50005
        """
        return ops.clip(ops.cast(k, "float32") + self.lambda_k * (self.gamma * l_real - l_fake), 0.0, 1.0)

    def update_k(self, real, fake, logs):
        """D phase hook: the equilibrium control step from this phase's L(x) and L(G(z))."""
        self.k.assign(self.next_k(self.k.value, logs["l_real"], logs["l_fake"]))

    def get_config(self):
        config = super().get_config()
        for key in ("objective", "penalties"):
            config.pop(key, None)
        config.update(gamma=self.gamma, lambda_k=self.lambda_k, k_init=self.k_init)
        return config
