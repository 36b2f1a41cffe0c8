"""`GAN`: the adversarial training engine, one `keras.Model` for every backend.

A GAN is networks + an objective + penalties + a schedule. Each training
step runs a schedule of *phases*:

1. `d_steps` discriminator phases (Goodfellow et al. 2014, Algorithm 1),
   each with fresh latents and the step's real batch; penalties with
   `every=1` are added to this loss; weight constraints (clipping) follow.
2. one generator phase.
3. lazy regularization phases: a penalty with `every=N` runs in its own
   phase on steps divisible by N with weight `weight * N` (Karras 2020).
4. the generator EMA update (once per step, after every G update).

The phases are written once in `keras.ops`; `ganzoo.engine.autodiff` holds
the only backend-specific code (how gradients are taken, how the JAX step
threads state). Subclasses add losses by overriding `discriminator_loss`
or `generator_loss`, never the loop.

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

import keras
import numpy as np
from keras import ops
from keras.src.backend import compute_output_spec

from ganzoo.engine import autodiff, latents, multiworker_tf
from ganzoo.engine import objectives as objectives_lib
from ganzoo.engine import penalties as penalties_lib

_BASE_LOGS = ("d_loss", "g_loss", "d_real", "d_fake")


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
    # optimizers are saved as the model's `g_optimizer` / `d_optimizer`.
    def save_own_variables(self, store):
        for i, variable in enumerate(self._variables):
            store[str(i)] = variable.numpy()

    def load_own_variables(self, store):
        for i, variable in enumerate(self._variables):
            if str(i) in store:
                variable.assign(store[str(i)])

    def update_step(self, gradient, variable, learning_rate):
        raise TypeError(
            "PhaseOptimizers does not update variables itself; the GAN engine "
            "calls g_optimizer and d_optimizer."
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
    """Stops `fit` with a one-line message when a logged loss is NaN or Inf."""

    def __init__(self):
        super().__init__()
        self.step = 0

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        for key, value in (logs or {}).items():
            try:
                value = float(value)
            except (TypeError, ValueError):
                continue
            if not math.isfinite(value):
                self.model.stop_training = True
                raise FloatingPointError(
                    f"{key} became {value} at training step {self.step} (batch {batch} of "
                    "this epoch); lower the learning rates, add a gradient penalty, or "
                    "check the data for NaN/Inf."
                )


def _optimizer(identifier, default):
    if identifier is None:
        return default()
    if isinstance(identifier, dict) and "class_name" not in identifier:
        raise ValueError(
            "Optimizer dicts need Keras's serialized form {'class_name': ..., 'config': ...}; "
            "or pass a keras.optimizers.Optimizer instance."
        )
    return keras.optimizers.get(identifier)


@keras.saving.register_keras_serializable(package="ganzoo")
class GAN(keras.Model):
    """A generative adversarial network with a custom `train_step`.

    Args:
        generator: a Keras model mapping latents `(N, *latent_shape)` to samples.
        discriminator: a Keras model mapping samples to scores (logits),
            shape `(N,)` or `(N, 1)`; or to `(logits, features)` for
            feature matching.
        latent_dim: size of the latent vector (int) or a latent shape (tuple).
        objective: name, dict or `ganzoo.objectives.Objective`
            (default "non_saturating").
        penalties: list of penalties/constraints (names, dicts or objects
            from `ganzoo.penalties`), applied to their `network` ("discriminator" or "generator").
        d_steps: discriminator updates per generator update.
        ema_decay: decay of the generator's exponential moving average
            (e.g. 0.999); `None` disables it. `generate()` uses the EMA.
        seed: seed of the training noise (latents, interpolation weights).

    Example:
        >>> gan = GAN(G, D, latent_dim=128, objective="hinge", ema_decay=0.999)
        >>> gan.compile(g_optimizer="adam", d_optimizer="adam")
        >>> history = gan.fit(images, batch_size=64, epochs=5)
        >>> history.history["d_loss"]
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
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(d_steps) < 1:
            raise ValueError(f"d_steps must be >= 1, got {d_steps}.")
        if ema_decay is not None and not 0.0 <= float(ema_decay) < 1.0:
            raise ValueError(f"ema_decay must lie in [0, 1) or be None, got {ema_decay}.")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_shape = (
            (int(latent_dim),) if isinstance(latent_dim, (int, np.integer)) else tuple(latent_dim)
        )
        self.objective = objectives_lib.get(objective)
        self.regularizers = [penalties_lib.get(p) for p in (penalties or ())]
        self.d_steps = int(d_steps)
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="train_noise")

        names = [p.name for p in self.regularizers if not isinstance(p, penalties_lib.WeightClipping)]
        if len(set(names)) != len(names):
            raise ValueError(f"Each penalty may appear once; got {names}.")
        self._trackers = {
            name: keras.metrics.Mean(name=name) for name in (*_BASE_LOGS, *names)
        }
        self._build_networks()

    # ------------------------------------------------------------------ build
    @property
    def latent_dim(self):
        """Latent size (int) for vector latents, else the latent shape."""
        return self.latent_shape[0] if len(self.latent_shape) == 1 else self.latent_shape

    def _infer_sample_shape(self):
        """Shape of one generated sample (without batch), from a symbolic G call.

        Subclasses whose generator needs more than `z` (e.g. class labels) override this.
        """
        z = keras.KerasTensor((1, *self.latent_shape))
        if not self.generator.built:
            self.generator.build(z.shape)
        spec = compute_output_spec(
            functools.partial(self.generator, training=False), z
        )
        return tuple(spec.shape[1:])

    def _build_networks(self):
        self.sample_shape = self._infer_sample_shape()
        if not self.discriminator.built:
            self.discriminator.build((None, *self.sample_shape))
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
        self.built = True

    def build(self, input_shape=None):
        """Networks are built in `__init__`; kept for Keras's loading path."""
        self.built = True

    @property
    def metrics(self):
        return list(self._trackers.values())

    # ---------------------------------------------------------------- compile
    def compile(
        self,
        g_optimizer=None,
        d_optimizer=None,
        *,
        jit_compile="auto",
        steps_per_execution=1,
        run_eagerly=False,
        **kwargs,
    ):
        """Configure the two optimizers.

        Args:
            g_optimizer, d_optimizer: optimizer instances, names, or Keras
                serialized dicts. Default: Adam(2e-4, beta_1=0.5) (DCGAN).
            jit_compile: as in `keras.Model.compile` ("auto": XLA where the
                backend supports it).

        Example:
            >>> gan.compile(g_optimizer=keras.optimizers.Adam(2e-4, 0.5),
            ...             d_optimizer=keras.optimizers.Adam(2e-4, 0.5))
        """
        for bad in ("optimizer", "loss", "metrics"):
            if kwargs.pop(bad, None) is not None:
                raise ValueError(
                    f"GAN.compile does not take `{bad}`: pass g_optimizer= and d_optimizer=; "
                    "losses come from the GAN's objective and penalties."
                )
        default = lambda: keras.optimizers.Adam(2e-4, beta_1=0.5)  # noqa: E731
        self.g_optimizer = _optimizer(g_optimizer, default)
        self.d_optimizer = _optimizer(d_optimizer, default)
        if self.g_optimizer is self.d_optimizer:
            raise ValueError("g_optimizer and d_optimizer must be two different optimizer objects.")
        super().compile(
            optimizer=PhaseOptimizers([self.g_optimizer, self.d_optimizer]),
            jit_compile=jit_compile,
            steps_per_execution=steps_per_execution,
            run_eagerly=run_eagerly,
            **kwargs,
        )
        # fit() builds only `self.optimizer`: build each over its own network.
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.optimizer.build([])

    def get_compile_config(self):
        if not getattr(self, "compiled", False):
            return None
        return {
            "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
            "d_optimizer": keras.optimizers.serialize(self.d_optimizer),
        }

    def compile_from_config(self, config):
        self.compile(
            g_optimizer=keras.optimizers.deserialize(config["g_optimizer"]),
            d_optimizer=keras.optimizers.deserialize(config["d_optimizer"]),
        )

    # ------------------------------------------------------------ primitives
    def sample_latents(self, batch_size):
        """Training latents z ~ N(0, I) from the model's seed generator."""
        return self.random_normal((batch_size, *self.latent_shape))

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
        replicas, replica_id = autodiff.replica_info()
        if replicas == 1:
            return draw(tuple(shape), seed=self.seed_generator)
        batch, rest = shape[0], tuple(shape[1:])
        noise = draw((batch * replicas, *rest), seed=self.seed_generator)
        return ops.take(ops.reshape(noise, (replicas, batch, *rest)), replica_id, axis=0)

    def generate_fakes(self, batch_size):
        """Fake samples for a training phase: G(z) with fresh latents.

        Every phase (D, G, lazy) draws its fakes here; subclasses override it
        to change the sampling path (StyleGAN2: mapping + style mixing).

        Example:
            >>> fake = gan.generate_fakes(8)
        """
        return self.generator(self.sample_latents(batch_size), training=True)

    def ema_decay_at(self, batch_size):
        """Decay of the generator EMA for one step of `batch_size` (global) samples.

        Subclasses override it (StyleGAN2: a half-life in images).

        Example:
            >>> gan.ema_decay_at(64)
            0.999
        """
        return self.ema_decay

    def discriminator_outputs(self, x, training=True):
        """D(x) as `(logits, features)`; `features` is None unless D returns them.

        Logits of shape (N, 1) are flattened to (N,).
        """
        out = self.discriminator(x, training=training)
        features = None
        if isinstance(out, dict):
            out, features = out["logits"], out.get("features")
        elif isinstance(out, (list, tuple)):
            out, features = out[0], out[1]
        if len(out.shape) == 2 and out.shape[-1] == 1:
            out = ops.reshape(out, (-1,))
        return ops.cast(out, "float32"), features

    def discriminator_logits(self, x, training=True):
        """D's scores for `x` (what penalties differentiate)."""
        return self.discriminator_outputs(x, training=training)[0]

    def _eager_penalties(self, network):
        return [
            p
            for p in self.regularizers
            if isinstance(p, penalties_lib.Penalty) and p.network == network and not p.lazy
        ]

    # ---------------------------------------------------------------- losses
    def discriminator_loss(self, real, fake):
        """Total D loss of one phase and the values to log.

        Override to add terms (an auxiliary classifier, say); the engine
        takes the gradient with respect to D's trainable variables.
        """
        real_logits, _ = self.discriminator_outputs(real)
        fake_logits, _ = self.discriminator_outputs(fake)
        loss = self.objective.d_loss(real_logits, fake_logits)
        logs = {"d_real": ops.mean(real_logits), "d_fake": ops.mean(fake_logits)}
        for penalty in self._eager_penalties("discriminator"):
            value = penalty(self, real, fake)
            logs[penalty.name] = value
            loss = loss + penalty.weight * value
        logs["d_loss"] = loss
        return loss, logs

    def generator_loss(self, real, batch_size):
        """Total G loss of one phase and the values to log."""
        fake = self.generate_fakes(batch_size)
        fake_logits, fake_features = self.discriminator_outputs(fake)
        kwargs = {}
        if self.objective.needs_features:
            _, real_features = self.discriminator_outputs(real)
            kwargs = {"real_features": real_features, "fake_features": fake_features}
        loss = self.objective.g_loss(fake_logits, **kwargs)
        logs = {}
        for penalty in self._eager_penalties("generator"):
            value = penalty(self, real, fake)
            logs[penalty.name] = value
            loss = loss + penalty.weight * value
        logs["g_loss"] = loss
        return loss, logs

    # ---------------------------------------------------------------- phases
    def _record(self, logs):
        for name, value in logs.items():
            if name in self._trackers:
                self._trackers[name].update_state(value)

    def _discriminator_phase(self, real, batch_size):
        with autodiff.no_grad():
            fake = self.generate_fakes(batch_size)
        fake = ops.stop_gradient(fake)
        variables = self.discriminator.trainable_variables
        _, logs, grads = autodiff.value_and_grad(
            lambda: self.discriminator_loss(real, fake), variables
        )
        self.d_optimizer.apply(grads, variables)
        for constraint in self.regularizers:
            if isinstance(constraint, penalties_lib.WeightClipping):
                autodiff.cond(
                    ops.equal(self.step_counter.value % constraint.every, 0),
                    lambda c=constraint: c.apply(variables),
                )
        self._record(logs)

    def _generator_phase(self, real, batch_size):
        variables = self.generator.trainable_variables
        _, logs, grads = autodiff.value_and_grad(
            lambda: self.generator_loss(real, batch_size), variables
        )
        self.g_optimizer.apply(grads, variables)
        self._record(logs)

    def _lazy_phase(self, penalty, real, batch_size):
        network = self.discriminator if penalty.network == "discriminator" else self.generator
        optimizer = self.d_optimizer if penalty.network == "discriminator" else self.g_optimizer
        fake = None
        if penalty.network == "discriminator":
            with autodiff.no_grad():
                fake = ops.stop_gradient(self.generate_fakes(batch_size))

        def loss_fn():
            value = penalty(self, real, fake)
            return penalty.weight * penalty.every * value, {penalty.name: value}

        _, logs, grads = autodiff.value_and_grad(loss_fn, network.trainable_variables)
        optimizer.apply(grads, network.trainable_variables)
        self._record(logs)

    def _update_ema(self, batch_size):
        if self.ema_decay is None:
            return
        # The half-life of an EMA counts images of the global batch (this
        # replica's batch times the replica count under data parallelism).
        decay = self.ema_decay_at(batch_size * autodiff.replica_info()[0])
        for ema, v in zip(self.ema_weights, self.generator.trainable_variables):
            ema.assign(ema.value + (1.0 - decay) * (ops.cast(v.value, ema.dtype) - ema.value))

    def _real_batch(self, data):
        real = data[0] if isinstance(data, (list, tuple)) else data
        if isinstance(real, dict):
            raise ValueError("GAN.fit expects batches of samples (arrays), not dicts.")
        shape = tuple(real.shape[1:])
        if len(shape) != len(self.sample_shape) or any(
            a is not None and a != b for a, b in zip(shape, self.sample_shape)
        ):
            raise ValueError(
                f"Data samples have shape {shape} but the generator produces {self.sample_shape}; "
                "resize the data to the model's shape (e.g. ganzoo.data.images(path, resolution=...)) "
                "or build the networks for your data."
            )
        return ops.cast(real, "float32")

    def _train_step(self, data):
        real = self._real_batch(data)
        batch_size = ops.shape(real)[0]
        step = self.step_counter.value
        for _ in range(self.d_steps):
            self._discriminator_phase(real, batch_size)
        self._generator_phase(real, batch_size)
        for penalty in self.regularizers:
            if isinstance(penalty, penalties_lib.Penalty) and penalty.lazy:
                autodiff.cond(
                    ops.equal(step % penalty.every, 0),
                    functools.partial(self._lazy_phase, penalty, real, batch_size),
                )
        self._update_ema(batch_size)  # once per step, after every G update (Karras 2020)
        self.step_counter.assign_add(1)
        self.optimizer.iterations.assign_add(1)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, *args):
        """One training step: the phase schedule of the module docstring.

        Keras calls `train_step(data)` on TensorFlow and PyTorch and
        `train_step(state, data)` on JAX; both run the same phases.
        """
        return autodiff.train_step(self, self._train_step, *args)

    def fit(self, *args, callbacks=None, **kwargs):
        """`keras.Model.fit`, plus a guard that stops on non-finite losses."""
        callbacks = list(callbacks or [])
        if not any(isinstance(c, _NonFiniteGuard) for c in callbacks):
            callbacks.append(_NonFiniteGuard())
        if multiworker_tf.active(self):  # Keras's fit fails there (keras-team/keras#20585)
            return multiworker_tf.fit(self, *args, callbacks=callbacks, **kwargs)
        return super().fit(*args, callbacks=callbacks, **kwargs)

    # -------------------------------------------------------------- sampling
    def call(self, z, training=False):
        """Map latents to samples with the live (non-EMA) generator."""
        return self.generator(z, training=training)

    def _sampling_scope(self, use_ema):
        from ganzoo.distribute import local_value

        values = {id(v): v.value for v in self.generator.variables}
        if use_ema and self.ema_weights:
            for v, ema in zip(self.generator.trainable_variables, self.ema_weights):
                values[id(v)] = ema.value
        # Multi-process JAX: sample with this process's copy of the weights, no collective.
        return keras.StatelessScope(
            state_mapping=[(v, local_value(values[id(v)])) for v in self.generator.variables]
        )

    def generate(self, n=None, *, seed=None, latents=None, batch_size=256, use_ema=True):
        """Sample from the generator (its EMA when present).

        Args:
            n: number of samples (ignored when `latents` is given).
            seed: seed of the numpy latent draw; the same seed gives the same
                latents on every backend.
            latents: explicit latents of shape (N, *latent_shape).
            batch_size: samples per forward pass.
            use_ema: use the EMA weights when the model has them.

        Returns:
            numpy float32 array `(N, *sample_shape)`; images are NHWC in [-1, 1].

        Example:
            >>> images = gan.generate(16, seed=0)
        """
        if latents is None:
            if n is None or isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"generate() needs a positive number of samples, got n={n!r}.")
            latents = self.sample_latents_numpy(n, seed)
        latents = np.asarray(latents, dtype="float32")
        if tuple(latents.shape[1:]) != self.latent_shape:
            raise ValueError(
                f"latents must have shape (N, {', '.join(map(str, self.latent_shape))}), "
                f"got {latents.shape}."
            )
        if len(latents) == 0:
            raise ValueError("generate() got zero latents; pass at least one.")
        outputs = []
        for start in range(0, len(latents), int(batch_size)):
            chunk = latents[start : start + int(batch_size)]
            with autodiff.no_grad(), self._sampling_scope(use_ema):
                out = self.generator(ops.convert_to_tensor(chunk), training=False)
            outputs.append(np.asarray(ops.convert_to_numpy(out), dtype="float32"))
        return np.concatenate(outputs, axis=0)

    def sample_latents_numpy(self, n, seed=None):
        """`n` latents drawn with numpy from `seed` (backend-independent).

        Example:
            >>> z = gan.sample_latents_numpy(8, seed=1)
        """
        return latents.sample_normal(n, self.latent_shape, seed=seed)

    def _latent(self, ref):
        if isinstance(ref, (int, np.integer)):
            return self.sample_latents_numpy(1, seed=int(ref))[0]
        ref = np.asarray(ref, dtype="float32")
        if tuple(ref.shape) != self.latent_shape:
            raise ValueError(f"Expected a seed or a latent of shape {self.latent_shape}, got {ref.shape}.")
        return ref

    def interpolate(self, a, b, steps=8, method="slerp", **generate_kwargs):
        """Samples along a path between two latents (or seeds).

        Args:
            a, b: seeds (int) or latent vectors.
            steps: number of samples, end points included.
            method: "lerp" or "slerp" (spherical, White 2016).

        Example:
            >>> frames = gan.interpolate(0, 1, steps=8, method="slerp")
        """
        path = latents.interpolate(self._latent(a), self._latent(b), steps=steps, method=method)
        return self.generate(latents=path, **generate_kwargs)

    def latent_arithmetic(self, positive, negative=(), **generate_kwargs):
        """Generate from `sum(mean(p)) - sum(mean(n))` over groups of latents/seeds.

        Each group is a list of seeds or latents, averaged first (the DCGAN
        paper averages three exemplars per concept).

        Example:
            >>> img = gan.latent_arithmetic([[1, 2, 3], [7, 8, 9]], [[4, 5, 6]])
        """
        group = lambda g: np.stack([self._latent(r) for r in (g if isinstance(g, (list, tuple)) else [g])])  # noqa: E731
        z = latents.vector_arithmetic([group(g) for g in positive], [group(g) for g in negative])
        return self.generate(latents=z[None], **generate_kwargs)

    def save_to_preset(self, path, **kwargs):
        """Write a preset folder (see `ganzoo.presets.save_preset`).

        Example:
            >>> gan.save_to_preset("out/preset")
            >>> ganzoo.load("out/preset")
        """
        from ganzoo.presets import save_preset  # presets sit above the engine

        return save_preset(self, path, **kwargs)

    # ----------------------------------------------------------------- config
    def get_config(self):
        return {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": list(self.latent_shape) if len(self.latent_shape) > 1 else self.latent_shape[0],
            "objective": objectives_lib.serialize(self.objective),
            "penalties": [penalties_lib.serialize(p) for p in self.regularizers],
            "d_steps": self.d_steps,
            "ema_decay": self.ema_decay,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("generator", "discriminator"):
            config[key] = keras.saving.deserialize_keras_object(
                config[key], custom_objects=custom_objects
            )
        return cls(**config)
