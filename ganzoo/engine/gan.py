"""`GAN`: the adversarial training engine, one `keras.Model` for every backend.

A GAN is networks + an objective + penalties + a schedule of phases
(`ganzoo.engine.phases.Phase`, after NVIDIA's stylegan2-ada phase list).
The default schedule (`GAN.phases()`):

1. `d_steps` discriminator phases (Goodfellow et al. 2014, Algorithm 1),
   each with fresh fakes and the step's real batch; penalties with
   `every=1` are added to this loss; weight constraints (clipping) follow.
2. one generator phase.
3. lazy regularization phases: a penalty with `every=N` runs in its own
   phase on steps divisible by N with weight `weight * N` (Karras 2020).
4. the generator EMA update (once per step, after every G update).

Batches are dicts (`unpack_batch`): `{"x": samples}` or, for a
class-conditional model, `{"x", "y"}`; fakes are dicts too (`sample_fakes`):
`{"x", "z"}` (+ `"y"`). D answers with a dict (`discriminate`): `logits`
always, `features` / `class_logits` when the network has them. A family
declares its networks (`network_names`), batch keys, losses and phases;
it never copies the loop. `ganzoo.backend` holds the only backend-specific
code the step needs.

Example:
    >>> gan = GAN(generator, discriminator, latent_dim=64,
    ...           objective="wasserstein",
    ...           penalties=[penalties.GradientPenalty(10.0)], d_steps=5)
    >>> gan.compile(g_optimizer=keras.optimizers.Adam(1e-4, 0.0, 0.9),
    ...             d_optimizer=keras.optimizers.Adam(1e-4, 0.0, 0.9))
    >>> gan.fit(dataset, epochs=10)
    >>> images = gan.generate(16, seed=0)
"""

import functools
import math
import threading

import keras
import numpy as np
from keras import ops

from ganzoo import backend
from ganzoo.engine import registry
from ganzoo.engine import augment as augment_lib
from ganzoo.engine import objectives as objectives_lib
from ganzoo.engine import penalties as penalties_lib
from ganzoo.engine.phases import Phase, check_schedule, fake_providers
from ganzoo.engine.sampling import LatentSamplingMixin, check_labels


class PhaseOptimizers(keras.optimizers.Optimizer):
    """The per-network optimizers presented to Keras as `model.optimizer`.

    `fit()` threads only `model.optimizer.variables` through the JAX train
    step; optimizers kept elsewhere would be frozen into the compiled step
    (their slots reset every step, silently). Exposing both optimizers'
    variables here keeps all their state in the loop. `iterations` counts
    training steps (batches), which callbacks such as TensorBoard read.

    Example:
        >>> opt = PhaseOptimizers([g_opt, d_opt])
        >>> len(opt.variables) == 2 + len(g_opt.variables) + len(d_opt.variables)
    """

    def __init__(self, optimizers, name="gan_optimizers", **kwargs):
        super().__init__(learning_rate=0.0, name=name, **kwargs)
        self._phase_optimizers = list(optimizers)

    @property
    def variables(self):
        own = list(self._variables)
        for optimizer in self._phase_optimizers:
            own.extend(optimizer.variables)
        return own

    # Only the wrapper's own variables are stored here: the wrapped
    # optimizers are saved as the model's `<network>_optimizer` attributes.
    def save_own_variables(self, store):
        for i, variable in enumerate(self._variables):
            store[str(i)] = variable.numpy()

    def load_own_variables(self, store):
        for i, variable in enumerate(self._variables):
            if str(i) in store:
                variable.assign(store[str(i)])

    def update_step(self, gradient, variable, learning_rate):
        raise TypeError(
            "PhaseOptimizers does not update variables itself; each phase of the GAN "
            "engine calls its own named optimizer."
        )

    def get_config(self):
        config = super().get_config()
        config["optimizers"] = [keras.optimizers.serialize(o) for o in self._phase_optimizers]
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        optimizers = [keras.optimizers.deserialize(o) for o in config.pop("optimizers")]
        config.pop("learning_rate", None)
        return cls(optimizers, name=config.get("name", "gan_optimizers"))


class _NonFiniteGuard(keras.callbacks.Callback):
    """Stops `fit` with a one-line message naming the first step whose logged loss is NaN or Inf.

    No host sync per step on PyTorch: the guard is `async_safe` there, so
    Keras runs `on_train_batch_end`, and its conversion of the logs to Python
    floats, in a worker thread while the next steps are dispatched. (Not on
    JAX: reading a step's logs after the next dispatch failed in the suite with
    "Array has been deleted", even with every log copied to its own buffer in
    the step; Keras runs no callbacks off-thread on TensorFlow.) A failure found there is raised in the
    training thread at the start of the next step, or at the epoch's end
    (before the other callbacks' `on_epoch_end`: `fit` puts the guard first),
    once every earlier step has been checked, so the step named is the first
    non-finite one. On TensorFlow (no async callbacks in Keras) it is checked
    and raised in the step itself. Logged losses are running means over the
    epoch, so a non-finite step keeps every later log of its epoch
    non-finite.
    """

    async_safe = backend.NAME == "torch"

    def __init__(self):
        super().__init__()
        self._cv = threading.Condition()
        self._failure = None  # (step, message) of the earliest non-finite step found
        self._dispatched = self._checked = 0
        self._epoch_steps, self._steps_before = 0, 0
        self._thread = None

    def on_train_begin(self, logs=None):
        self._thread = threading.get_ident()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_steps = 0

    def on_train_batch_begin(self, batch, logs=None):
        self._raise_if_failed()
        with self._cv:
            self._dispatched += 1

    def on_train_batch_end(self, batch, logs=None):
        step = self._steps_before + batch + 1
        with self._cv:
            self._epoch_steps = max(self._epoch_steps, batch + 1)
            for key, value in (logs or {}).items():
                try:
                    value = float(value)
                except (TypeError, ValueError):
                    continue
                if not math.isfinite(value) and (self._failure is None or step < self._failure[0]):
                    self._failure = (step, (
                        f"{key} became {value} at training step {step} (batch {batch} of "
                        "this epoch); lower the learning rates, add a gradient penalty, or "
                        "check the data for NaN/Inf."
                    ))
                    self.model.stop_training = True
            self._checked += 1
            self._cv.notify_all()
        if threading.get_ident() == self._thread:  # called synchronously: stop at this step
            self._raise_if_failed()

    def on_epoch_end(self, epoch, logs=None):
        self._raise_if_failed()
        self._steps_before += self._epoch_steps

    def on_train_end(self, logs=None):
        self._raise_if_failed()

    def _raise_if_failed(self):
        with self._cv:
            if self._failure is None:
                return
            # Every dispatched step checked first, so the earliest failure is the one named.
            self._cv.wait_for(lambda: self._checked >= self._dispatched, timeout=60)
            message = self._failure[1]
        raise FloatingPointError(message)


def _optimizer(identifier, default):
    if identifier is None:
        return default()
    if isinstance(identifier, dict) and "class_name" not in identifier:
        raise ValueError(
            "Optimizer dicts need Keras's serialized form {'class_name': ..., 'config': ...}; "
            "or pass a keras.optimizers.Optimizer instance."
        )
    return keras.optimizers.get(identifier)


def _optimizer_attribute(name):
    # Stable weight-file paths: the two classic optimizers keep their names.
    return {"generator": "g_optimizer", "discriminator": "d_optimizer"}.get(name, f"{name}_optimizer")


def _latent_dim_config(shape):
    if shape is None:
        return None
    return list(shape) if len(shape) > 1 else shape[0]


def _has_dataset_structure(x):
    # tf.data.Dataset without importing TensorFlow here (the engine is backend-neutral).
    return hasattr(x, "element_spec") and hasattr(x, "cardinality")


def _is_int_dtype(x):
    return "int" in keras.backend.standardize_dtype(x.dtype)


@registry.register("model_class")
@keras.saving.register_keras_serializable(package="ganzoo")
class GAN(LatentSamplingMixin, keras.Model):
    """A generative adversarial network with a custom `train_step`.

    Args:
        generator: a Keras model mapping latents `(N, *latent_shape)` to
            samples; with `num_classes > 0` it takes `[z, y]`, `y` int class
            ids of shape (N,).
        discriminator: a Keras model mapping samples to scores (logits),
            shape `(N,)` or `(N, 1)`, or to a dict `{"logits", "features",
            "class_logits"}`. A label-conditioned D has two inputs `[x, y]`.
        latent_dim: size of the latent vector (int) or a latent shape (tuple).
        objective: name, dict or `ganzoo.objectives.Objective`
            (default "non_saturating").
        penalties: list of penalties/constraints (names, dicts or objects
            from `ganzoo.penalties`), applied to their `network` ("discriminator" or "generator").
        d_steps: discriminator updates per generator update.
        ema_decay: decay of the generator's exponential moving average
            (e.g. 0.999); `None` disables it. `generate()` uses the EMA.
        seed: seed of the training noise (latents, labels, interpolation weights).
        num_classes: number of classes of a class-conditional model (0: unconditional).
        label_distribution: how the fakes' labels are drawn in training:
            "uniform" over the classes, or "data" (the real batch's labels,
            shuffled: the data's class frequencies).
        augment: augmentation of every image D sees in training (Zhao 2020
            DiffAugment, Karras 2020 ADA): "diffaugment", "ada", a dict
            `{"name": "ada", "target": 0.6, ...}` or an object from
            `ganzoo.engine.augment`; None (default) for none.
        share_fakes: the G phase reuses the last D step's fakes (same
            latents) and their forward pass instead of drawing new ones, as
            the pytorch/examples DCGAN loop does: one G forward pass per step
            instead of two. Default False (a fresh draw, Goodfellow et al.
            2014, Algorithm 1). Not with generator-side penalties.

    Example:
        >>> gan = GAN(G, D, latent_dim=128, objective="hinge", ema_decay=0.999)
        >>> gan.compile(g_optimizer="adam", d_optimizer="adam")
        >>> history = gan.fit(images, batch_size=64, epochs=5)
        >>> cgan = GAN(cG, cD, latent_dim=64, num_classes=10)
        >>> cgan.compile(); cgan.fit(images, labels, batch_size=64)
    """

    def __init__(
        self,
        generator,
        discriminator,
        latent_dim,
        objective="non_saturating",
        penalties=(),
        d_steps=1,
        ema_decay=None,
        seed=None,
        num_classes=0,
        label_distribution="uniform",
        augment=None,
        share_fakes=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(d_steps) < 1:
            raise ValueError(f"d_steps must be >= 1, got {d_steps}.")
        if ema_decay is not None and not 0.0 <= float(ema_decay) < 1.0:
            raise ValueError(f"ema_decay must lie in [0, 1) or be None, got {ema_decay}.")
        if isinstance(num_classes, bool) or int(num_classes) < 0 or int(num_classes) == 1:
            raise ValueError(f"num_classes must be 0 (unconditional) or >= 2, got {num_classes}.")
        if label_distribution not in ("uniform", "data"):
            raise ValueError(f"label_distribution must be 'uniform' or 'data', got {label_distribution!r}.")
        self.generator = generator
        self.discriminator = discriminator
        # None: a translator (ganzoo.engine.translation) draws no latents.
        self.latent_shape = None if latent_dim is None else (
            (int(latent_dim),) if isinstance(latent_dim, (int, np.integer)) else tuple(latent_dim)
        )
        self.objective = objectives_lib.get(objective)
        self.regularizers = [penalties_lib.get(p) for p in (penalties or ())]
        self.augment = augment_lib.get(augment)
        self.share_fakes = bool(share_fakes)
        if self.share_fakes and self._eager_penalties("generator"):
            raise ValueError(
                "share_fakes=True reuses D's fakes for the G step, which generator penalties "
                f"({', '.join(p.name for p in self._eager_penalties('generator'))}) cannot use; "
                "set share_fakes=False."
            )
        self.d_steps = int(d_steps)
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.seed = seed
        self.num_classes = int(num_classes)
        self.label_distribution = label_distribution
        self.seed_generator = keras.random.SeedGenerator(seed, name="train_noise")

        names = [p.name for p in self.regularizers if not isinstance(p, penalties_lib.WeightClipping)]
        if len(set(names)) != len(names):
            raise ValueError(f"Each penalty may appear once; got {names}.")
        self._trackers = {}
        self.schedule = ()
        self._fake_providers = {}  # {phase drawing shared fakes: phase using them}, set by compile
        self._build_networks()

    # ------------------------------------------------------------------ build
    def network_names(self):
        """Names of the model's networks (attributes); phases and optimizers refer to them.

        Families with more networks extend it.

        Example:
            >>> gan.network_names()
            ('generator', 'discriminator')
        """
        return ("generator", "discriminator")

    @property
    def networks(self):
        """`{name: network}` for `network_names()`."""
        return {name: getattr(self, name) for name in self.network_names()}

    @property
    def discriminator_takes_labels(self):
        """True when D is label-conditioned (a functional model with inputs `[x, y]`)."""
        inputs = getattr(self.discriminator, "inputs", None) or ()
        return self.num_classes > 0 and len(inputs) == 2

    def _build_networks(self):
        self.sample_shape = self.infer_sample_shape()
        if not self.discriminator.built:
            x = (None, *self.sample_shape)
            self.discriminator.build([x, (None,)] if self.discriminator_takes_labels else x)
        self.step_counter = self.add_weight(
            shape=(), dtype="int32", initializer="zeros", trainable=False, name="step"
        )
        self.ema_weights = []
        if self.ema_decay is not None:
            for i, v in enumerate(self.generator.trainable_variables):
                ema = self.add_weight(
                    shape=v.shape, dtype=v.dtype, initializer="zeros", trainable=False,
                    name=f"ema_{i}",
                )
                ema.assign(ops.copy(v.value))  # own buffer: JAX donates state
                self.ema_weights.append(ema)
        for penalty in self.regularizers:  # penalties with state (path length's running mean)
            if hasattr(penalty, "build_state"):
                penalty.build_state(self)
        if self.augment is not None:  # ADA's p and its controller's accumulators
            self.augment.build_state(self)
        self.built = True

    def build(self, input_shape=None):
        """Networks are built in `__init__`; kept for Keras's loading path."""
        self.built = True

    @property
    def metrics(self):
        return list(self._trackers.values())

    # ---------------------------------------------------------------- phases
    def phases(self):
        """The training schedule: a list of `ganzoo.engine.phases.Phase`.

        Default: D x `d_steps` (eager penalties in its loss, weight clipping
        after it), G, one phase per lazy penalty (every N steps, weight x N),
        then the EMA update. Families return another list; the loop that
        runs it is the engine's.

        Example:
            >>> class WithEncoder(GAN):
            ...     def network_names(self):
            ...         return (*super().network_names(), "encoder")
            ...     def phases(self):
            ...         return [*super().phases(), Phase("encoder", ("encoder",), "encoder",
            ...                 self.encoder_loss, fakes="none", logs=("e_loss",))]
        """
        d_eager = [p.name for p in self._eager_penalties("discriminator")]
        g_eager = [p.name for p in self._eager_penalties("generator")]
        clips = [c for c in self.regularizers if isinstance(c, penalties_lib.WeightClipping)]
        phases = [
            Phase("discriminator", networks=("discriminator",), optimizer="discriminator",
                  loss=self.discriminator_loss, repeat=self.d_steps,
                  after=(*(self.clip_hook(c) for c in clips), *self.augment_hooks()),
                  logs=("d_real", "d_fake", *d_eager, *self.augment_logs()), total_log="d_loss"),
            Phase("generator", networks=("generator",), optimizer="generator",
                  loss=self.generator_loss, fakes="shared" if self.share_fakes else "live",
                  logs=tuple(g_eager), total_log="g_loss"),
        ]
        for penalty in self.regularizers:
            if isinstance(penalty, penalties_lib.Penalty) and penalty.lazy:
                needs_fake = penalty.network == "discriminator" and penalty.needs_fake
                phases.append(
                    Phase(f"{penalty.name}_lazy", networks=(penalty.network,), optimizer=penalty.network,
                          loss=functools.partial(self.lazy_penalty_loss, penalty), every=penalty.every,
                          fakes="detached" if needs_fake else "none", logs=(penalty.name,),
                          network_losses=False)
                )
        if self.ema_decay is not None:  # once per step, after every G update (Karras 2020)
            phases.append(Phase("ema", fakes="none", after=(self.update_ema,)))
        return phases

    def augment_logs(self):
        """Log names the augmentation adds to the D phase (ADA: `ada_p`, `ada_rt`)."""
        return tuple(self.augment.log_names) if self.augment is not None else ()

    def augment_hooks(self):
        """`after` hooks the augmentation adds to the D phase (ADA's p controller)."""
        return tuple(self.augment.d_hooks(self)) if self.augment is not None else ()

    def phase_variables(self, phase):
        """The trainable variables a phase updates (its networks', deduplicated).

        Example:
            >>> len(gan.phase_variables(gan.schedule[0]))
        """
        seen, out = set(), []
        for name in phase.networks:
            for v in getattr(self, name).trainable_variables:
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    # ---------------------------------------------------------------- compile
    def compile(
        self,
        g_optimizer=None,
        d_optimizer=None,
        *,
        optimizers=None,
        jit_compile="auto",
        steps_per_execution=1,
        run_eagerly=False,
        **kwargs,
    ):
        """Configure the named optimizers and the phase schedule.

        Args:
            optimizers: `{name: optimizer}`, one per optimizer the phases
                name (by default one per network: "generator",
                "discriminator", ...). Instances, names, or Keras serialized
                dicts. Missing ones default to Adam(2e-4, beta_1=0.5) (DCGAN).
            g_optimizer, d_optimizer: shorthand for `optimizers["generator"]`
                and `optimizers["discriminator"]`.
            jit_compile: as in `keras.Model.compile` ("auto": XLA where the
                backend supports it).

        Example:
            >>> gan.compile(g_optimizer=keras.optimizers.Adam(2e-4, 0.5),
            ...             d_optimizer=keras.optimizers.Adam(2e-4, 0.5))
            >>> aae.compile(optimizers={"generator": "adam", "discriminator": "adam", "encoder": "adam"})
        """
        for bad in ("optimizer", "loss", "metrics"):
            if kwargs.pop(bad, None) is not None:
                raise ValueError(
                    f"GAN.compile does not take `{bad}`: pass optimizers={{name: optimizer}} (or g_optimizer= "
                    "and d_optimizer=); losses come from the GAN's objective, penalties and phases."
                )
        given = dict(optimizers or {})
        for name, opt in (("generator", g_optimizer), ("discriminator", d_optimizer)):
            if opt is not None:
                if name in given:
                    raise ValueError(f"The {name} optimizer was given twice (shorthand and optimizers=); pass it once.")
                given[name] = opt
        self.schedule = check_schedule(self.phases(), self.network_names())
        self._fake_providers = fake_providers(self.schedule)
        needed = list(dict.fromkeys(p.optimizer for p in self.schedule if p.updates))
        unknown = [name for name in given if name not in needed]
        if unknown:
            raise ValueError(
                f"compile() got an optimizer for {', '.join(map(repr, unknown))}, which no phase of this "
                f"{type(self).__name__} uses; its optimizers are: {', '.join(needed)}."
            )
        default = lambda: keras.optimizers.Adam(2e-4, beta_1=0.5)  # noqa: E731
        built = {name: _optimizer(given.get(name), default) for name in needed}
        if len({id(o) for o in built.values()}) != len(built):
            raise ValueError("Each phase optimizer must be its own optimizer object; got one object twice.")
        self._optimizer_names = tuple(needed)
        for name, opt in built.items():
            setattr(self, _optimizer_attribute(name), opt)
        self._trackers = {}
        for phase in self.schedule:
            for name in phase.logs:
                self._trackers.setdefault(name, keras.metrics.Mean(name=name))
        super().compile(
            optimizer=PhaseOptimizers(list(built.values())),
            jit_compile=jit_compile,
            steps_per_execution=steps_per_execution,
            run_eagerly=run_eagerly,
            **kwargs,
        )
        # fit() builds only `self.optimizer`: build each over the variables of its phases.
        for name, opt in built.items():
            seen, variables = set(), []
            for phase in self.schedule:
                if phase.optimizer == name:
                    for v in self.phase_variables(phase):
                        if id(v) not in seen:
                            seen.add(id(v))
                            variables.append(v)
            opt.build(variables)
        self.optimizer.build([])

    @property
    def optimizers(self):
        """`{name: optimizer}` in schedule order (after `compile`).

        Example:
            >>> int(gan.optimizers["discriminator"].iterations)
        """
        return {name: getattr(self, _optimizer_attribute(name)) for name in getattr(self, "_optimizer_names", ())}

    def get_compile_config(self):
        if not getattr(self, "compiled", False):
            return None
        return {"optimizers": {name: keras.optimizers.serialize(o) for name, o in self.optimizers.items()}}

    def compile_from_config(self, config):
        if "optimizers" in config:
            named = config["optimizers"]
        else:  # files written before named optimizers
            named = {"generator": config["g_optimizer"], "discriminator": config["d_optimizer"]}
        self.compile(optimizers={name: keras.optimizers.deserialize(o) for name, o in named.items()})

    # ------------------------------------------------------------ primitives
    def sample_latents(self, batch_size):
        """Training latents z ~ N(0, I) from the model's seed generator."""
        return self.random_normal((batch_size, *self.latent_shape))

    def sample_labels(self, batch_size, real=None):
        """Training labels of the fakes: int32 class ids (N,).

        Uniform over the classes, or with `label_distribution="data"` the
        real batch's labels in shuffled order.

        Example:
            >>> y = gan.sample_labels(8)
        """
        if self.label_distribution == "data" and real is not None and "y" in real:
            return keras.random.shuffle(real["y"], axis=0, seed=self.seed_generator)
        draw = functools.partial(keras.random.randint, minval=0, maxval=self.num_classes, dtype="int32")
        return self._replica_slice(draw, (batch_size,))

    def random_normal(self, shape):
        """Training noise N(0, 1) of `shape` (leading axis: this replica's batch).

        Under data parallelism (`ganzoo.distribute`) each replica draws the
        noise of the whole global batch from the shared seed and keeps its
        own slice, so replicas get different noise and N replicas reproduce
        the one-device draw exactly. Penalties draw their noise here too.

        Example:
            >>> u = gan.random_normal((8, 1))
        """
        return self._replica_slice(keras.random.normal, shape)

    def random_uniform(self, shape):
        """Training noise U[0, 1) of `shape`; see `random_normal`.

        Example:
            >>> u = gan.random_uniform((8, 1, 1, 1))   # GP interpolation weights
        """
        return self._replica_slice(keras.random.uniform, shape)

    def _replica_slice(self, draw, shape):
        replicas, replica_id = backend.replica_info()
        if replicas == 1:
            return draw(tuple(shape), seed=self.seed_generator)
        batch, rest = shape[0], tuple(shape[1:])
        noise = draw((batch * replicas, *rest), seed=self.seed_generator)
        return ops.take(ops.reshape(noise, (replicas, batch, *rest)), replica_id, axis=0)

    @staticmethod
    def batch_size_of(batch):
        """Rows in a batch dict (its first entry's leading dimension)."""
        return ops.shape(next(iter(batch.values())))[0]

    def sample_fakes(self, real):
        """Fakes for a training phase, with what made them: `{"x", "z"}` (+ `"y"`).

        Every phase draws its fakes here; families override it to change the
        sampling path (StyleGAN2: mapping + style mixing; translation: G(source)).

        Example:
            >>> fake = gan.sample_fakes(real)      # fake["x"] = G(fake["z"], fake["y"])
        """
        n = self.batch_size_of(real)
        z = self.sample_latents(n)
        if not self.num_classes:
            return {"x": self.generator(z, training=True), "z": z}
        y = self.sample_labels(n, real)
        return {"x": self.generator([z, y], training=True), "z": z, "y": y}

    def ema_decay_at(self, batch_size):
        """Decay of the generator EMA for one step of `batch_size` (global) samples.

        Subclasses override it (StyleGAN2: a half-life in images).

        Example:
            >>> gan.ema_decay_at(64)
            0.999
        """
        return self.ema_decay

    def discriminate(self, x, y=None, training=True):
        """D's answer as a dict: `logits` (N,) float32 always; `features`,
        `class_logits`, ... when the network returns them.

        A label-conditioned D receives `y`; other discriminators ignore it.
        In training, the model's `augment` (DiffAugment, ADA) transforms `x`
        first, so every image D sees in training (reals, fakes, penalty
        inputs) is augmented and gradients flow through the transform.

        Example:
            >>> out = gan.discriminate(real["x"], real.get("y"))
            >>> out["logits"].shape
            (8,)
        """
        x = self.augment_images(x, training)
        if self.discriminator_takes_labels:
            if y is None:
                raise ValueError("This discriminator is label-conditioned: discriminate(x, y) needs the labels y.")
            out = self.discriminator([x, y], training=training)
        else:
            out = self.discriminator(x, training=training)
        if isinstance(out, (list, tuple)):
            raise ValueError(
                "The discriminator returned a list/tuple; return the logits, or a dict "
                "{'logits': ..., 'features': ..., 'class_logits': ...}."
            )
        out = dict(out) if isinstance(out, dict) else {"logits": out}
        if "logits" not in out:
            raise ValueError(f"The discriminator's output dict needs a 'logits' entry, got keys {sorted(out)}.")
        logits = out["logits"]
        if len(logits.shape) == 2 and logits.shape[-1] == 1:
            logits = ops.reshape(logits, (-1,))
        out["logits"] = ops.cast(logits, "float32")
        if "class_logits" in out:
            out["class_logits"] = ops.cast(out["class_logits"], "float32")
        return out

    def augment_images(self, x, training=True):
        """`x` through the model's augmentation in training, else unchanged.

        `discriminate` calls it first; a family overriding `discriminate`
        calls it too, so DiffAugment/ADA work for every model.

        Example:
            >>> x = gan.augment_images(x, training=True)
        """
        if training and self.augment is not None:
            return self.augment.training_apply(self, x)
        return x

    def discriminator_logits(self, x, y=None, training=True):
        """D's scores for `x` (what penalties differentiate, labels held fixed).

        Example:
            >>> _, g = backend.input_grad(gan.discriminator_logits, x)
        """
        return self.discriminate(x, y, training=training)["logits"]

    def _eager_penalties(self, network):
        return [
            p
            for p in self.regularizers
            if isinstance(p, penalties_lib.Penalty) and p.network == network and not p.lazy
        ]

    # ------------------------------------------------------------------ data
    def batch_keys(self):
        """The keys a training batch must have: `("x",)`, or `("x", "y")` when conditional.

        Families name their own (paired translation: `("source", "target")`).

        Example:
            >>> cgan.batch_keys()
            ('x', 'y')
        """
        return ("x", "y") if self.num_classes else ("x",)

    def unpack_batch(self, data):
        """A Keras batch (`x`, `(x, y)`, `(x, y, w)` or a dict) as a checked dict.

        Nothing is ignored silently: labels given to an unconditional model,
        sample weights and unknown keys are errors.

        Example:
            >>> gan.unpack_batch((images, labels))   # {"x": images, "y": labels}
        """
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise ValueError("GAN.fit does not use sample weights; pass (x,) or (x, y) batches.")
        if isinstance(x, dict):
            batch = dict(x)
            if y is not None:
                if "y" in batch:
                    raise ValueError("Labels were given twice: as y and as the batch dict's 'y' entry.")
                batch["y"] = y
        else:
            batch = {"x": x} if y is None else {"x": x, "y": y}
        self.unpack_keys_check(set(batch))
        return self.check_batch(batch)

    def check_batch(self, batch):
        """Check and cast a batch dict: `x` float32 of the generator's shape, `y` int32 (N,).

        Example:
            >>> batch = gan.check_batch({"x": images})
        """
        batch = dict(batch)
        if "x" in batch:
            real = batch["x"]
            shape = tuple(real.shape[1:])
            if len(shape) != len(self.sample_shape) or any(
                a is not None and a != b for a, b in zip(shape, self.sample_shape)
            ):
                raise ValueError(
                    f"Data samples have shape {shape} but the generator produces {self.sample_shape}; "
                    "resize the data to the model's shape (e.g. ganzoo.data.images(path, resolution=...)) "
                    "or build the networks for your data."
                )
            batch["x"] = ops.cast(real, "float32")
        if "y" in batch:
            y = batch["y"]
            if not _is_int_dtype(y):
                raise ValueError(
                    f"Labels must be integer class ids in [0, {self.num_classes}), got dtype "
                    f"{keras.backend.standardize_dtype(y.dtype)}; cast them, e.g. y.astype('int32')."
                )
            if len(y.shape) == 2 and y.shape[-1] == 1:
                y = ops.reshape(y, (-1,))
            if len(y.shape) != 1:
                raise ValueError(
                    f"Labels must be class ids of shape (N,), got shape {tuple(y.shape)}; "
                    "one-hot labels: pass y.argmax(-1)."
                )
            batch["y"] = ops.cast(y, "int32")
        return batch

    # ---------------------------------------------------------------- losses
    def discriminator_loss(self, real, fake):
        """The D phase's loss: objective + eager penalties + `discriminator_terms`.

        Example:
            >>> loss, logs = gan.discriminator_loss(real, fake)
        """
        real_out = self.discriminate(real["x"], real.get("y"))
        fake_out = self.discriminate(fake["x"], fake.get("y"))
        loss = self.objective.d_loss(real_out["logits"], fake_out["logits"])
        logs = {"d_real": ops.mean(real_out["logits"]), "d_fake": ops.mean(fake_out["logits"])}
        if self.augment is not None:
            logs.update(self.augment.d_logs(self, real_out))
        for penalty in self._eager_penalties("discriminator"):
            value = penalty(self, real, fake)
            logs[penalty.name] = value
            loss = loss + penalty.weight * value
        extra, extra_logs = self.discriminator_terms(real, fake, real_out, fake_out)
        logs.update(extra_logs)
        if extra is not None:
            loss = loss + extra
        return loss, logs

    def discriminator_terms(self, real, fake, real_out, fake_out):
        """Extra D loss terms from D's outputs (AC-GAN's class loss); default none.

        Returns `(term or None, logs)`; declare new log names in `phases()`.

        Example:
            >>> def discriminator_terms(self, real, fake, real_out, fake_out):
            ...     ce = class_loss(real_out["class_logits"], real["y"])
            ...     return ce, {"d_class": ce}
        """
        return None, {}

    def generator_loss(self, real, fake):
        """The G phase's loss: objective on D(fake) + eager G penalties + `generator_terms`.

        `fake` is live (drawn inside the differentiated function).

        Example:
            >>> loss, logs = gan.generator_loss(real, gan.sample_fakes(real))
        """
        fake_out = self.discriminate(fake["x"], fake.get("y"))
        kwargs = {}
        if self.objective.needs_features or self.objective.needs_real:
            real_out = self.discriminate(real["x"], real.get("y"))
            if self.objective.needs_features:
                kwargs.update(real_features=real_out.get("features"), fake_features=fake_out.get("features"))
            if self.objective.needs_real:
                kwargs["real"] = real_out["logits"]
        loss = self.objective.g_loss(fake_out["logits"], **kwargs)
        logs = {}
        for penalty in self._eager_penalties("generator"):
            value = penalty(self, real, fake)
            logs[penalty.name] = value
            loss = loss + penalty.weight * value
        extra, extra_logs = self.generator_terms(real, fake, fake_out)
        logs.update(extra_logs)
        if extra is not None:
            loss = loss + extra
        return loss, logs

    def generator_terms(self, real, fake, fake_out):
        """Extra G loss terms (AC-GAN's class loss on fakes, InfoGAN's code loss); default none.

        Example:
            >>> def generator_terms(self, real, fake, fake_out):
            ...     ce = class_loss(fake_out["class_logits"], fake["y"])
            ...     return ce, {"g_class": ce}
        """
        return None, {}

    def lazy_penalty_loss(self, penalty, real, fake):
        """A lazy penalty's phase loss: `weight * every * value` (Karras 2020).

        Example:
            >>> loss, logs = gan.lazy_penalty_loss(r1, real, None)
        """
        value = penalty(self, real, fake)
        return penalty.weight * penalty.every * value, {penalty.name: value}

    def network_losses(self, phase):
        """`sum(net.losses)` over the networks a phase trains (regularizers, `add_loss`), or None.

        Example:
            >>> gan.network_losses(gan.schedule[1])      # G's kernel regularizers
        """
        seen, losses = set(), []
        for name in phase.networks:
            for loss in getattr(self, name).losses:
                if id(loss) not in seen:
                    seen.add(id(loss))
                    losses.append(ops.cast(loss, "float32"))
        return ops.sum(ops.stack(losses)) if losses else None

    # ------------------------------------------------------------ hooks
    def clip_hook(self, constraint):
        """An `after` hook applying a weight constraint every `constraint.every` D updates.

        Example:
            >>> Phase("critic", ..., after=(gan.clip_hook(WeightClipping(0.01)),))
        """

        def hook(real, fake, logs):
            backend.cond(
                ops.equal(self.step_counter.value % constraint.every, 0),
                lambda: constraint.apply(self.discriminator.trainable_variables),
            )

        return hook

    def update_ema(self, real, fake=None, logs=None):
        """Move the EMA shadows toward the generator's weights (an `after` hook).

        Example:
            >>> Phase("ema", after=(gan.update_ema,))
        """
        if self.ema_decay is None:
            return
        # The half-life of an EMA counts images of the global batch (this
        # replica's batch times the replica count under data parallelism).
        batch_size = self.batch_size_of(real)
        decay = self.ema_decay_at(batch_size * backend.replica_info()[0])
        for ema, v in zip(self.ema_weights, self.generator.trainable_variables):
            ema.assign(ema.value + (1.0 - decay) * (ops.cast(v.value, ema.dtype) - ema.value))

    # ------------------------------------------------------------ the loop
    def _record(self, phase, logs):
        for name, value in logs.items():
            if name not in phase.logs:
                raise ValueError(
                    f"Phase {phase.name!r} logged {name!r}, which it does not declare; add it to the "
                    f"phase's logs (e.g. phase.with_logs({name!r})). Declared: {list(phase.logs)}."
                )
            self._trackers[name].update_state(value)

    def _run_phase(self, phase, real, shared):
        # shared: this step's {"fakes": (fake, pull)} from a provider to its fakes="shared" phase.
        variables = self.phase_variables(phase) if phase.updates else []
        optimizer = self.optimizers[phase.optimizer] if phase.updates else None
        consumer = self._fake_providers.get(phase.name)
        for i in range(phase.repeat):
            fake = pull = None
            if phase.fakes == "detached":
                if consumer is not None and i == phase.repeat - 1:
                    # The last draw keeps its forward pass for the phase that shares it.
                    def draw():
                        f = self.sample_fakes(real)
                        return f["x"], {k: v for k, v in f.items() if k != "x"}

                    x, rest, pull_x = backend.pullback(draw, self.phase_variables(consumer))
                    fake = dict(rest, x=x)
                    shared["fakes"] = (fake, pull_x)
                else:
                    with backend.no_grad():
                        fake = self.sample_fakes(real)
                fake = keras.tree.map_structure(ops.stop_gradient, fake)
            elif phase.fakes == "shared":
                fake, pull = shared.pop("fakes")
            logs = {}
            if phase.updates:

                def loss_fn(fake=fake):
                    if phase.fakes == "live":
                        fake = self.sample_fakes(real)
                    loss, logs = phase.loss(real, fake)
                    logs = dict(logs)
                    extra = self.network_losses(phase) if phase.network_losses else None
                    if extra is not None:
                        if pull is not None:
                            raise ValueError(
                                f"Phase {phase.name!r} shares its fakes, but its networks have their own "
                                "losses (regularizers, add_loss), whose gradient does not go through the "
                                "fakes; set share_fakes=False."
                            )
                        loss = loss + extra
                    if phase.total_log is not None:
                        logs[phase.total_log] = loss
                    return loss, (logs, fake)

                if pull is None:
                    _, (logs, fake), grads = backend.value_and_grad(loss_fn, variables)
                else:
                    _, (logs, fake), grads = pull(lambda x: loss_fn(dict(fake, x=x)))
                optimizer.apply(grads, variables)
            for hook in phase.after:
                hook(real, fake, logs)
            self._record(phase, logs)

    def _train_step(self, data):
        if not self.schedule:
            raise RuntimeError("Call compile() before fit(): it sets up the optimizers and the phase schedule.")
        real = self.unpack_batch(data)
        step = self.step_counter.value
        shared = {}
        for phase in self.schedule:
            run = functools.partial(self._run_phase, phase, real, shared)
            if phase.every > 1:
                backend.cond(ops.equal(step % phase.every, 0), run)
            else:
                run()
        self.step_counter.assign_add(1)
        self.optimizer.iterations.assign_add(1)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, *args):
        """One training step: the phase schedule (`phases()`), in order.

        Keras calls `train_step(data)` on TensorFlow and PyTorch and
        `train_step(state, data)` on JAX; both run the same phases.
        """
        return backend.train_step(self, self._train_step, *args)

    def fit(self, *args, callbacks=None, **kwargs):
        """`keras.Model.fit`, plus a guard that stops on non-finite losses.

        Labels: `fit(x, y)` or a dataset of `(x, y)` for a conditional model;
        numpy labels are checked (integer ids in range) before training.

        Example:
            >>> gan.fit(images, epochs=5)
            >>> cgan.fit(images, labels, batch_size=64, epochs=5)
        """
        x = kwargs.get("x", args[0] if args else None)
        y = kwargs.get("y", args[1] if len(args) > 1 else None)
        self.check_fit_data(x, y)
        if _has_dataset_structure(x):
            kwargs.setdefault("shuffle", False)  # a dataset shuffles itself (Keras warns otherwise)
        callbacks = list(callbacks or [])
        if not any(isinstance(c, _NonFiniteGuard) for c in callbacks):
            # First: a non-finite epoch stops before other callbacks' on_epoch_end (checkpoints).
            callbacks.insert(0, _NonFiniteGuard())
        custom = backend.custom_fit(self)  # TF multi-worker: Keras's fit fails there (keras-team/keras#20585)
        if custom is not None:
            return custom(*args, callbacks=callbacks, **kwargs)
        return super().fit(*args, callbacks=callbacks, **kwargs)

    def check_fit_data(self, x, y=None):
        """Check what `fit` was given before Keras takes over the variables.

        Numpy labels must be integer ids in range; a conditional model needs
        labels and an unconditional one refuses them. For a `tf.data.Dataset`
        the element structure is checked, and one that yields no batch is an
        error (a dataset of unknown length is read for one batch to tell).
        Images that look like `[0, 255]` (an integer dtype, or floats above
        1.5 in an `(N, H, W[, C])` array) get a warning: the networks here
        work in `[-1, 1]`. A warning, not an error, since the engine cannot
        know the generator's output range (a linear output may model other
        ranges on purpose). (Errors raised inside a compiled step would leave
        a JAX model's variables unusable.)

        Example:
            >>> cgan.check_fit_data(images, labels)
            >>> gan.check_fit_data(np.zeros((8, 32, 32, 3), "uint8"))   # warns: scale to [-1, 1]
        """
        import warnings

        def warn_range(what):
            warnings.warn(
                f"fit() got {what}, but GANs here train on images in [-1, 1] (the generator's tanh range): "
                "scale them (x / 127.5 - 1 for [0, 255]) or load them with ganzoo.data.images(...).",
                UserWarning,
                stacklevel=3,
            )

        if _has_dataset_structure(x):
            spec = x.element_spec
            if isinstance(spec, dict):
                keys, x_spec = set(spec), spec.get("x")
            elif isinstance(spec, (tuple, list)):
                keys = {"x", "y"} if len(spec) >= 2 and spec[1] is not None else {"x"}
                x_spec = spec[0] if spec else None
            else:
                keys, x_spec = {"x"}, spec
            self.unpack_keys_check(keys)
            length = int(x.cardinality())
            if length == -2:  # unknown (e.g. after filter): look for a first batch, which costs one batch
                length = sum(1 for _ in x.take(1))
            if length == 0:  # Keras would run no step (JAX: a traceback; TF: an empty step that counts)
                raise ValueError(
                    "fit() got a dataset that yields no batch: it holds fewer samples than one "
                    "batch (with drop_remainder=True) or none; add data or lower the batch size."
                )
            if hasattr(x_spec, "dtype") and _is_int_dtype(x_spec):
                warn_range(f"a dataset of {keras.backend.standardize_dtype(x_spec.dtype)} images")
            return
        if isinstance(x, dict):
            keys = set(x) | ({"y"} if y is not None else set())
            images = x.get("x")
        elif hasattr(x, "shape"):  # arrays and tensors
            keys = {"x", "y"} if y is not None else {"x"}
            images = x
        else:
            return  # generators / PyDatasets: checked when the first batch is traced
        self.unpack_keys_check(keys)
        if hasattr(images, "shape") and hasattr(images, "dtype") and len(images.shape) and images.shape[0]:
            if _is_int_dtype(images):
                warn_range(f"{keras.backend.standardize_dtype(images.dtype)} images")
            elif len(images.shape) >= 3:  # images only: 2-D toy points may span any range
                # The first few million values tell [0, 255] from [-1, 1] without a pass over all the data.
                per_image = max(1, int(np.prod(images.shape[1:])))
                top = float(np.max(keras.ops.convert_to_numpy(images[: max(1, 2**22 // per_image)])))
                if top > 1.5:
                    warn_range(f"float images with values up to {top:.4g}")
        if y is None:
            return
        y_np = np.asarray(y)
        if y_np.ndim == 2 and y_np.shape[1] == 1:
            y_np = y_np[:, 0]
        if y_np.ndim != 1:
            raise ValueError(
                f"Labels must be class ids of shape (N,), got shape {y_np.shape}; one-hot labels: pass y.argmax(-1)."
            )
        check_labels(y_np, None, self.num_classes)

    def unpack_keys_check(self, keys):
        """Raise the one-line error `unpack_batch` would for a batch with these keys.

        Example:
            >>> gan.unpack_keys_check({"x"})
        """
        wanted = set(self.batch_keys())
        if "y" in keys and "y" not in wanted and not self.num_classes:
            raise ValueError(
                "The data has labels but this GAN is unconditional (num_classes=0): build it with "
                "num_classes=K to train a class-conditional model, or pass images only."
            )
        if "y" in wanted and "y" not in keys:
            raise ValueError(
                f"This GAN is class-conditional (num_classes={self.num_classes}) but the data has no labels: "
                "pass fit(x, y), a dataset of (images, labels), or ganzoo.data.images(..., labels=True)."
            )
        if keys != wanted:
            raise ValueError(f"{type(self).__name__} reads batches with keys {sorted(wanted)}; got {sorted(keys)}.")

    # -------------------------------------------------------------- sampling
    def call(self, z, y=None, training=False):
        """Map latents (and labels) to samples with the live (non-EMA) generator."""
        return self.call_generator(z, y, training=training)

    def save_to_preset(self, path, **kwargs):
        """Write a preset folder (see `ganzoo.engine.preset_io.save_preset`).

        Example:
            >>> gan.save_to_preset("out/preset")
            >>> ganzoo.load("out/preset")
        """
        from ganzoo.engine.preset_io import save_preset

        return save_preset(self, path, **kwargs)

    # ----------------------------------------------------------------- config
    def get_config(self):
        config = {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": _latent_dim_config(self.latent_shape),
            "objective": objectives_lib.serialize(self.objective),
            "penalties": [penalties_lib.serialize(p) for p in self.regularizers],
            "d_steps": self.d_steps,
            "ema_decay": self.ema_decay,
            "seed": self.seed,
        }
        if self.share_fakes:  # configs without it stay as they were
            config["share_fakes"] = True
        if self.augment is not None:
            config["augment"] = augment_lib.serialize(self.augment)
        if self.num_classes:  # unconditional configs stay as they were
            config.update(num_classes=self.num_classes, label_distribution=self.label_distribution)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("generator", "discriminator"):
            config[key] = keras.saving.deserialize_keras_object(
                config[key], custom_objects=custom_objects
            )
        return cls(**config)
