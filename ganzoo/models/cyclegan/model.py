"""CycleGAN (Zhu et al. 2017, arXiv 1703.10593): unpaired translation with two G, two D and cycle consistency.

Networks (names as attributes and in `compile(optimizers=...)`):

* `generator`: G, A -> B;  `generator_ba`: F, B -> A;
* `discriminator`: D_B, judges B images;  `discriminator_a`: D_A, judges A images.

Losses (the reference `cycle_gan_model.py`, read for facts):

* G phase (G and F together, one optimizer): LSGAN terms
  E(D_B(G(a)) - 1)^2 + E(D_A(F(b)) - 1)^2, plus the cycle terms
  lambda_A |F(G(a)) - a|_1 + lambda_B |G(F(b)) - b|_1 (lambda = 10 each),
  plus identity 0.5 lambda (|G(b) - b|_1 + |F(a) - a|_1). L1 is a mean.
* D phase (D_A and D_B, one optimizer): each D on real images vs fakes drawn
  from its 50-image history pool (`ganzoo.models.cyclegan.pool`), loss
  1/2 (E(D(real) - 1)^2 + E D(fake)^2).

The engine's least-squares G loss carries the LSGAN paper's 1/2; the
reference's is the plain MSE, so `adversarial_weight=2` keeps the reference's
balance against lambda. The schedule runs G first, then D (the reference's
order); D sees fakes drawn after the G update. The learning-rate decay is a
`LinearDecay` schedule on both optimizers (`ganzoo.models.cyclegan.schedule`).

Example:
    >>> gan = CycleGAN(resnet_generator(image_size=64), patch_discriminator(norm="instance", image_size=64),
    ...                resnet_generator(image_size=64), patch_discriminator(norm="instance", image_size=64))
    >>> gan.compile(optimizers={"generator": keras.optimizers.Adam(2e-4, 0.5),
    ...                         "discriminator": keras.optimizers.Adam(2e-4, 0.5)})
    >>> gan.fit(unpaired_dataset, epochs=1)                 # batches {"a": ..., "b": ...}
    >>> zebras = gan.translate(horses, direction="a2b")
"""

import keras
from keras import ops

from ganzoo.engine import registry
from ganzoo.engine.phases import Phase
from ganzoo.engine.translation import ImageTranslationGAN
from ganzoo.models.cyclegan.pool import ImagePool

NETWORKS = ("generator", "generator_ba", "discriminator", "discriminator_a")


def l1(x, y):
    """Mean absolute difference (PyTorch's `L1Loss`), in float32.

    Example:
        >>> float(l1(keras.ops.ones((2, 2)), keras.ops.zeros((2, 2))))
        1.0
    """
    return ops.mean(ops.abs(ops.cast(x, "float32") - ops.cast(y, "float32")))


@registry.register("model_class")
@keras.saving.register_keras_serializable(package="ganzoo")
class CycleGAN(ImageTranslationGAN):
    """Two generators and two discriminators trained on unpaired batches `{"a", "b"}`.

    Args:
        generator: G, domain A -> B (e.g. `resnet_generator`).
        discriminator: D_B, judges domain-B images (e.g. `patch_discriminator(norm="instance")`).
        generator_ba: F, domain B -> A (None, with `discriminator_a=None`: a one-way model
            that translates a2b only and cannot train, e.g. a converted published G_A).
        discriminator_a: D_A, judges domain-A images.
        objective: default "least_squares" (the paper's LSGAN loss).
        cycle_weight: lambda of each cycle term (10); a pair `[lambda_A, lambda_B]` sets them apart.
        identity_weight: identity loss weight as a fraction of lambda (0.5; 0 turns it off).
        adversarial_weight: weight of the G adversarial terms (2: see the module docstring).
        pool_size: images in each D's history pool (50; 0: no pool).
        pool_shape: (H, W, C) of pooled images; default the generators' fixed output shape.
        seed: seed of the pools' draws.

    Batches: `{"a": images_A, "b": images_B}` or a tuple `(images_A, images_B)`;
    the two need not be related (`ganzoo.data.unpaired(...)`).

    Example:
        >>> gan = CycleGAN(G, D_B, F, D_A, pool_size=50)
        >>> gan.translation_directions()
        ('a2b', 'b2a')
    """

    def __init__(self, generator, discriminator, generator_ba=None, discriminator_a=None,
                 objective="least_squares", cycle_weight=10.0, identity_weight=0.5, adversarial_weight=2.0,
                 pool_size=50, pool_shape=None, **kwargs):
        if (generator_ba is None) != (discriminator_a is None):
            raise ValueError("CycleGAN needs four networks: generator (A->B), discriminator (D_B), "
                             "generator_ba (B->A) and discriminator_a (D_A); or neither of the last two "
                             "(a one-way model that translates a2b and does not train).")
        # One way: a published G_A alone (the authors publish generators only; their `--model test`).
        self.one_way = generator_ba is None
        if self.one_way:
            pool_size, pool_shape = 0, None
        super().__init__(generator, discriminator, objective=objective, **kwargs)
        self.generator_ba = generator_ba
        self.discriminator_a = discriminator_a
        weights = cycle_weight if isinstance(cycle_weight, (list, tuple)) else (cycle_weight, cycle_weight)
        if len(weights) != 2 or min(float(w) for w in weights) < 0 or float(identity_weight) < 0:
            raise ValueError(f"cycle_weight must be >= 0 (or a pair) and identity_weight >= 0; got "
                             f"{cycle_weight!r}, {identity_weight!r}.")
        self.cycle_weight = [float(w) for w in weights]
        self.identity_weight = float(identity_weight)
        self.adversarial_weight = float(adversarial_weight)
        self.pool_size = int(pool_size)
        shape_b = tuple(pool_shape) if pool_shape is not None else tuple(generator.outputs[0].shape[1:])
        out_ba = generator if self.one_way else generator_ba
        shape_a = tuple(pool_shape) if pool_shape is not None else tuple(out_ba.outputs[0].shape[1:])
        if pool_shape is not None and shape_a[-1] != generator_ba.outputs[0].shape[-1]:
            shape_a = (*shape_a[:-1], generator_ba.outputs[0].shape[-1])
        seed = kwargs.get("seed")
        self.pool_a = ImagePool(self.pool_size, shape_a, seed=seed, name="pool_a")  # fakes F(b) for D_A
        self.pool_b = ImagePool(self.pool_size, shape_b, seed=None if seed is None else seed + 1, name="pool_b")
        self.pool_shape = None if pool_shape is None else list(pool_shape)

    def network_names(self):
        return NETWORKS[::2] if self.one_way else NETWORKS

    # ------------------------------------------------------------ translation
    def translation_directions(self):
        return ("a2b",) if self.one_way else ("a2b", "b2a")

    def translation_network(self, direction):
        return self.generator if direction == "a2b" else self.generator_ba

    # ------------------------------------------------------------------ data
    def batch_keys(self):
        return ("a", "b")

    def unpack_batch(self, data):
        """`(images_a, images_b)` or `{"a": ..., "b": ...}`, checked (float32 images).

        Example:
            >>> sorted(gan.unpack_batch((a, b)))
            ['a', 'b']
        """
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise ValueError("CycleGAN.fit does not use sample weights; pass (images_a, images_b) batches.")
        if isinstance(x, dict) and y is not None:
            raise ValueError("Pass either a dict batch {'a', 'b'} or (images_a, images_b), not both.")
        batch = dict(x) if isinstance(x, dict) else {"a": x, "b": y}
        self.unpack_keys_check({k for k, v in batch.items() if v is not None})
        return self.check_batch(batch)

    def unpack_keys_check(self, keys):
        """One-line error for batches that are not `{"a", "b"}` (paired data names the fix).

        Example:
            >>> gan.unpack_keys_check({"a", "b"})
        """
        keys = set(keys)
        if keys == {"a", "b"}:
            return
        hint = ""
        if keys & {"source", "target"}:
            hint = " Paired (source, target) data works too: pass it as (images_a, images_b)."
        elif keys <= {"a", "x"}:
            hint = " Give images of both domains: fit(images_a, images_b) or ganzoo.data.unpaired(dir_a, dir_b)."
        raise ValueError(f"CycleGAN reads unpaired batches with keys ['a', 'b']; got {sorted(keys)}.{hint}")

    def length_mismatch_message(self, n_a, n_b):
        return (f"fit(images_a, images_b) slices both arrays together: got {n_a} and {n_b} images; "
                "trim them to one length or use ganzoo.data.unpaired(...) for domains of different sizes.")

    # ---------------------------------------------------------------- phases
    def phases(self):
        """G and F together (one optimizer), then D_A and D_B together on pooled fakes.

        Example:
            >>> [p.name for p in gan.phases()]
            ['generator', 'discriminator']
        """
        if self.one_way:
            raise ValueError("This CycleGAN holds one generator (A->B, e.g. a converted published G_A): it "
                             "translates a2b but cannot train; build all four networks to train (a cyclegan-* recipe).")
        return [
            Phase("generator", networks=("generator", "generator_ba"), optimizer="generator",
                  loss=self.generator_loss, fakes="live",
                  logs=("g_gan_a2b", "g_gan_b2a", "cycle_a", "cycle_b", "identity_a", "identity_b"),
                  total_log="g_loss"),
            Phase("discriminator", networks=("discriminator", "discriminator_a"), optimizer="discriminator",
                  loss=self.discriminator_loss, logs=("d_b_real", "d_b_fake", "d_a_real", "d_a_fake"),
                  total_log="d_loss"),
        ]

    def sample_fakes(self, real):
        """`{"ab": G(a), "ba": F(b)}`.

        Example:
            >>> fake = gan.sample_fakes({"a": a, "b": b})
        """
        return {"ab": self.generator(real["a"], training=True), "ba": self.generator_ba(real["b"], training=True)}

    def judge(self, network, x):
        """Logits of `network` (D_A or D_B) for `x`, float32, any patch map shape.

        Example:
            >>> gan.judge(gan.discriminator, b).shape      # (N, h, w, 1)
        """
        out = network(x, training=True)
        out = out["logits"] if isinstance(out, dict) else out
        return ops.cast(out, "float32")

    def cycle_losses(self, real, fake):
        """`(cycle_a, cycle_b)`: |F(G(a)) - a|_1 and |G(F(b)) - b|_1 (unweighted means).

        Example:
            >>> cycle_a, cycle_b = gan.cycle_losses(real, gan.sample_fakes(real))
        """
        rec_a = self.generator_ba(fake["ab"], training=True)
        rec_b = self.generator(fake["ba"], training=True)
        return l1(rec_a, real["a"]), l1(rec_b, real["b"])

    def identity_losses(self, real):
        """`(identity_a, identity_b)`: |F(a) - a|_1 and |G(b) - b|_1 (unweighted; needs equal channels).

        Example:
            >>> idt_a, idt_b = gan.identity_losses(real)
        """
        return (l1(self.generator_ba(real["a"], training=True), real["a"]),
                l1(self.generator(real["b"], training=True), real["b"]))

    def generator_loss(self, real, fake):
        """Adversarial + cycle + identity terms of G and F (see the module docstring).

        Example:
            >>> loss, logs = gan.generator_loss(real, gan.sample_fakes(real))
        """
        gan_ab = self.objective.g_loss(self.judge(self.discriminator, fake["ab"]))
        gan_ba = self.objective.g_loss(self.judge(self.discriminator_a, fake["ba"]))
        cycle_a, cycle_b = self.cycle_losses(real, fake)
        lam_a, lam_b = self.cycle_weight
        loss = self.adversarial_weight * (gan_ab + gan_ba) + lam_a * cycle_a + lam_b * cycle_b
        logs = {"g_gan_a2b": gan_ab, "g_gan_b2a": gan_ba, "cycle_a": cycle_a, "cycle_b": cycle_b}
        if self.identity_weight > 0:
            idt_a, idt_b = self.identity_losses(real)
            # Reference weights: F(a) ~ a by lambda_A, G(b) ~ b by lambda_B, each times identity_weight.
            loss = loss + self.identity_weight * (lam_a * idt_a + lam_b * idt_b)
        else:
            idt_a = idt_b = ops.zeros((), "float32")
        logs.update(identity_a=idt_a, identity_b=idt_b)
        return loss, logs

    def discriminator_loss(self, real, fake):
        """Both D's objective on real images vs pooled fakes (D_B: G(a) fakes; D_A: F(b) fakes).

        Example:
            >>> loss, logs = gan.discriminator_loss(real, gan.sample_fakes(real))
        """
        fake_b = self.pool_b(ops.stop_gradient(fake["ab"]))
        fake_a = self.pool_a(ops.stop_gradient(fake["ba"]))
        logs, loss = {}, 0.0
        for key, network, real_x, fake_x in (("b", self.discriminator, real["b"], fake_b),
                                            ("a", self.discriminator_a, real["a"], fake_a)):
            r, f = self.judge(network, real_x), self.judge(network, fake_x)
            loss = loss + self.objective.d_loss(r, f)
            logs[f"d_{key}_real"], logs[f"d_{key}_fake"] = ops.mean(r), ops.mean(f)
        return loss, logs

    def get_config(self):
        config = super().get_config()
        config.update(
            generator_ba=keras.saving.serialize_keras_object(self.generator_ba),
            discriminator_a=keras.saving.serialize_keras_object(self.discriminator_a),
            cycle_weight=list(self.cycle_weight), identity_weight=self.identity_weight,
            adversarial_weight=self.adversarial_weight, pool_size=self.pool_size, pool_shape=self.pool_shape,
        )
        for key in ("penalties", "d_steps", "ema_decay"):
            config.pop(key, None)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("generator_ba", "discriminator_a"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key], custom_objects=custom_objects)
        return super().from_config(config, custom_objects)
