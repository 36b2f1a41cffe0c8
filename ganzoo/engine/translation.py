"""Image-to-image GANs: the translator task base (paired source -> target).

The second sampling contract of the engine (KerasHub's `ImageToImage` task
is the model): a translator maps images to images, `translate(images)`,
instead of drawing latents. `ImageTranslationGAN` is a `GAN` whose batches
are `{"source", "target"}` (a `(source, target)` tuple, or a dict), whose
fakes are `{"x": G(source), "source": source}`, and whose discriminator
judges an image, or a `(source, image)` pair when it has two inputs (the
conditional PatchGAN of pix2pix). Its logits may be a patch map `(N, h, w)`
or `(N, h, w, 1)`: objectives average over every element. Families (Pix2Pix,
CycleGAN, SRGAN, inpainting) add their terms with `generator_terms` /
`discriminator_terms` or their own `phases()`; none copies the loop.

Example:
    >>> gan = ImageTranslationGAN(unet, patch_d, objective="non_saturating")
    >>> gan.compile(g_optimizer="adam", d_optimizer="adam")
    >>> gan.fit(sources, targets, batch_size=4, epochs=1)   # or a dataset of (source, target)
    >>> out = gan.translate(images)                         # numpy NHWC in [-1, 1]
"""

import keras
import numpy as np
from keras import ops

from ganzoo import backend
from ganzoo.engine import registry
from ganzoo.engine.gan import GAN, _has_dataset_structure


def _shape_text(shape):
    return "x".join("?" if d is None else str(d) for d in shape)


class TranslatorMixin:
    """`translate(images, direction=...)` over one network per direction.

    A model using the mixin implements `translation_network(direction)` and
    lists `translation_directions()`; `check_translation_input(images,
    direction)` may refuse sizes the network cannot take (a U-Net's
    multiples of 2^depth) with a one-line error.

    Example:
        >>> class MyTranslator(TranslatorMixin, keras.Model): ...
    """

    def translation_directions(self):
        """The directions `translate` accepts; the first is the default.

        Example:
            >>> pix2pix.translation_directions()
            ('a2b',)
        """
        return ("a2b",)

    def translation_network(self, direction):
        """The network that translates in `direction` (default: the generator).

        Example:
            >>> cyclegan.translation_network("b2a") is cyclegan.generator_ba
            True
        """
        return self.generator

    def check_translation_input(self, images, direction):
        """Refuse inputs the network cannot take (one-line `ValueError`); default: channels only.

        Example:
            >>> gan.check_translation_input(np.zeros((1, 256, 256, 3), "float32"), "a2b")
        """
        network = self.translation_network(direction)
        want = tuple(network.inputs[0].shape[1:]) if getattr(network, "inputs", None) else None
        if want is None:
            return
        got = tuple(images.shape[1:])
        if len(got) != len(want) or any(w is not None and w != g for w, g in zip(want, got)):
            hint = ""
            if len(got) == len(want) and want[-1] is not None and got[-1] != want[-1]:
                hint = (" Grayscale images for an RGB model: repeat the channel "
                        "(np.repeat(x, 3, axis=-1)); RGB for a 1-channel model: average the channels.")
            raise ValueError(
                f"{type(self).__name__} ({direction}) takes images of shape N x {_shape_text(want)} (NHWC), "
                f"got N x {_shape_text(got)}.{hint}"
            )

    def resolve_direction(self, direction):
        """`direction` checked against `translation_directions()` (None: the default).

        Example:
            >>> cyclegan.resolve_direction(None)
            'a2b'
        """
        directions = tuple(self.translation_directions())
        if direction is None:
            return directions[0]
        if direction not in directions:
            if len(directions) == 1:
                raise ValueError(
                    f"{type(self).__name__} translates one way only ({directions[0]}); "
                    f"drop direction={direction!r}."
                )
            raise ValueError(f"direction must be one of {', '.join(directions)}; got {direction!r}.")
        return direction

    def translate(self, images, direction=None, batch_size=16, progress=None, training=False):
        """Translate images: numpy NHWC float in [-1, 1] in, the same out.

        Args:
            images: one image (H, W, C) or a batch (N, H, W, C), values in [-1, 1].
            direction: for two-way models ("a2b" or "b2a"); default the first.
            batch_size: images per forward pass.
            progress: a callable `progress(done, total)` called after each
                batch (the CLI passes a progress bar); None for none.
            training: run the network in training mode (pix2pix's test-time
                dropout); normally False.

        Returns:
            numpy float32 array of translated images (a single image when one was given).

        Example:
            >>> zebras = gan.translate(horses)               # (N, 256, 256, 3)
            >>> horses = cyclegan.translate(zebras, direction="b2a")
        """
        direction = self.resolve_direction(direction)
        arr = np.asarray(images)
        single = arr.ndim == 3
        if single:
            arr = arr[None]
        if arr.ndim != 4:
            raise ValueError(f"translate() takes images of shape (N, H, W, C) or (H, W, C), got {arr.shape}.")
        if len(arr) == 0:
            raise ValueError("translate() got zero images; pass at least one.")
        if not np.issubdtype(arr.dtype, np.floating):
            raise ValueError(
                f"translate() takes float images in [-1, 1], got {arr.dtype}; scale uint8 images with x / 127.5 - 1."
            )
        arr = arr.astype("float32")
        self.check_translation_input(arr, direction)
        network = self.translation_network(direction)
        outputs = []
        for start in range(0, len(arr), int(batch_size)):
            with backend.no_grad():
                out = network(ops.convert_to_tensor(arr[start:start + int(batch_size)]), training=training)
            outputs.append(np.asarray(ops.convert_to_numpy(out), dtype="float32"))
            if progress is not None:
                progress(min(start + int(batch_size), len(arr)), len(arr))
        out = np.concatenate(outputs, axis=0)
        return out[0] if single else out


@registry.register("model_class")
@keras.saving.register_keras_serializable(package="ganzoo")
class ImageTranslationGAN(TranslatorMixin, GAN):
    """A paired image-to-image GAN: G(source) should pass D as the target.

    Args:
        generator: a Keras model mapping source images to target images.
        discriminator: judges target-domain images: one input `x`, or two
            inputs `[source, x]` (conditional on the source, pix2pix).
        Other arguments as `ganzoo.GAN` (no `latent_dim`, no classes).

    Batches are `(source, target)` or `{"source": ..., "target": ...}`.

    Example:
        >>> gan = ImageTranslationGAN(G, D)
        >>> gan.compile(); gan.fit(sources, targets, batch_size=8)
        >>> gan.translate(sources[:4]).shape == sources[:4].shape
        True
    """

    def __init__(self, generator, discriminator, **kwargs):
        for bad in ("latent_dim", "num_classes"):
            if kwargs.get(bad):
                raise ValueError(f"{type(self).__name__} translates images: it takes no {bad}.")
            kwargs.pop(bad, None)
        if kwargs.get("augment") is not None:
            # A pair (source, image) would need one transform for both halves: not written yet.
            raise ValueError(f"{type(self).__name__} does not take augment yet (paired augmentation is "
                             "not implemented); jitter the data instead (random crop/flip).")
        if kwargs.get("penalties"):
            # Penalties differentiate D w.r.t. batch["x"]; a translator's batches have no "x".
            raise ValueError(f"{type(self).__name__} does not take penalties yet (gradient penalties on "
                             "translators are not implemented); add terms with discriminator_terms.")
        super().__init__(generator, discriminator, latent_dim=None, **kwargs)

    @property
    def discriminator_takes_labels(self):
        return False

    @property
    def discriminator_takes_source(self):
        """True when D judges `(source, image)` pairs (it has two inputs)."""
        return len(getattr(self.discriminator, "inputs", None) or ()) == 2

    def infer_sample_shape(self):
        """The generator's output shape for its declared input shape (may hold None)."""
        if not getattr(self.generator, "inputs", None):
            raise ValueError(
                f"{type(self).__name__} needs a functional generator with a declared input shape "
                "(keras.Input((H, W, C)) or (None, None, C))."
            )
        return tuple(self.generator.outputs[0].shape[1:])

    # ------------------------------------------------------------------ data
    def batch_keys(self):
        return ("source", "target")

    def unpack_batch(self, data):
        """`(source, target)` or a dict with those keys, checked (float32 images).

        Example:
            >>> gan.unpack_batch((a, b)).keys()
            dict_keys(['source', 'target'])
        """
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise ValueError(f"{type(self).__name__}.fit does not use sample weights; pass (source, target) batches.")
        batch = dict(x) if isinstance(x, dict) else {"source": x, "target": y}
        if isinstance(x, dict) and y is not None:
            raise ValueError("Pass either a dict batch or (source, target), not both.")
        self.unpack_keys_check({k for k, v in batch.items() if v is not None})
        return self.check_batch(batch)

    def unpack_keys_check(self, keys):
        wanted = set(self.batch_keys())
        if keys != wanted:
            missing = sorted(wanted - set(keys))
            hint = ""
            if "target" in missing:
                hint = (" This is a paired translator: give (source, target) pairs (e.g. "
                        "ganzoo.data.paired(...)); unpaired domains need an unpaired model (CycleGAN).")
            raise ValueError(
                f"{type(self).__name__} reads batches with keys {sorted(wanted)}; got {sorted(keys)}.{hint}"
            )

    def check_batch(self, batch):
        batch = dict(batch)
        for key, value in batch.items():
            if len(value.shape) != 4:
                raise ValueError(f"Batch entry {key!r} must be images (N, H, W, C), got shape {tuple(value.shape)}.")
            batch[key] = ops.cast(value, "float32")
        return batch

    def check_fit_data(self, x, y=None):
        """Check `fit(sources, targets)` / a dataset of pairs before training starts.

        Example:
            >>> gan.check_fit_data(sources, targets)
        """
        first, second = self.batch_keys()  # ("source", "target"); CycleGAN: ("a", "b")
        if _has_dataset_structure(x):
            spec = x.element_spec
            if isinstance(spec, dict):
                keys = set(spec)
            elif isinstance(spec, (tuple, list)):
                keys = {first, second} if len(spec) >= 2 else {first}
            else:
                keys = {first}
            self.unpack_keys_check(keys)
            return
        if isinstance(x, dict):
            self.unpack_keys_check(set(x))
            return
        if not hasattr(x, "shape"):
            return  # generators / PyDatasets: checked when the first batch is traced
        self.unpack_keys_check({first} | ({second} if y is not None else set()))
        if len(x) != len(y):
            raise ValueError(self.length_mismatch_message(len(x), len(y)))

    def length_mismatch_message(self, n_first, n_second):
        """The error for `fit(x, y)` arrays of different lengths (families word it for their data)."""
        return f"Got {n_first} source images but {n_second} targets; pairs need one target per source."

    # --------------------------------------------------------------- fakes/D
    def sample_fakes(self, real):
        """`{"x": G(source), "source": source}`.

        Example:
            >>> fake = gan.sample_fakes(real)
        """
        return {"x": self.generator(real["source"], training=True), "source": real["source"]}

    def discriminate(self, x, y=None, training=True, source=None):
        """D's answer as a dict; a two-input D also sees the source image.

        Example:
            >>> out = gan.discriminate(fake["x"], source=fake["source"])
        """
        if self.discriminator_takes_source:
            if source is None:
                raise ValueError("This discriminator judges (source, image) pairs: pass source=.")
            out = self.discriminator([source, x], training=training)
        else:
            out = self.discriminator(x, training=training)
        out = dict(out) if isinstance(out, dict) else {"logits": out}
        logits = out["logits"]
        if len(logits.shape) == 2 and logits.shape[-1] == 1:
            logits = ops.reshape(logits, (-1,))
        out["logits"] = ops.cast(logits, "float32")
        return out

    def discriminator_loss(self, real, fake):
        """The objective on D(source, target) vs D(source, G(source)) + `discriminator_terms`.

        Example:
            >>> loss, logs = gan.discriminator_loss(real, fake)
        """
        real_out = self.discriminate(real["target"], source=real["source"])
        fake_out = self.discriminate(fake["x"], source=fake["source"])
        loss = self.objective.d_loss(real_out["logits"], fake_out["logits"])
        logs = {"d_real": ops.mean(real_out["logits"]), "d_fake": ops.mean(fake_out["logits"])}
        extra, extra_logs = self.discriminator_terms(real, fake, real_out, fake_out)
        logs.update(extra_logs)
        return (loss if extra is None else loss + extra), logs

    def generator_loss(self, real, fake):
        """The objective on D(source, G(source)) + `generator_terms` (L1, cycle, ...).

        Example:
            >>> loss, logs = gan.generator_loss(real, gan.sample_fakes(real))
        """
        fake_out = self.discriminate(fake["x"], source=fake["source"])
        kwargs = {}
        if self.objective.needs_real:
            kwargs["real"] = self.discriminate(real["target"], source=real["source"])["logits"]
        loss = self.objective.g_loss(fake_out["logits"], **kwargs)
        extra, extra_logs = self.generator_terms(real, fake, fake_out)
        return (loss if extra is None else loss + extra), dict(extra_logs)

    def call(self, source, training=False):
        """G(source) with the live generator."""
        return self.generator(source, training=training)

    def get_config(self):
        config = super().get_config()
        config.pop("latent_dim", None)
        return config
