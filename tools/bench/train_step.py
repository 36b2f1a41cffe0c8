"""Training-step throughput: ganzoo's `GAN.fit` on each backend vs two baselines.

Models: DCGAN 32x32 and 64x64 (RGB, latent 100, width 64, BatchNorm,
non-saturating loss, Adam(2e-4, 0.5)) and WGAN-GP 32x32 (LayerNorm critic,
Wasserstein loss, gradient penalty 10, 5 critic steps, Adam(1e-4, 0, 0.9)).

Implementations:
* ganzoo-tensorflow / ganzoo-jax / ganzoo-torch: `ganzoo.GAN.compile` + `fit`
  on a repeated in-memory tf.data dataset of random images in [-1, 1].
* keras-io-tf: the keras.io DCGAN / WGAN-GP `train_step` (explicit
  `tf.GradientTape`s) on the same Keras networks, in `fit` with the default
  compile, KERAS_BACKEND=tensorflow.
* torch-loop: the pytorch/examples DCGAN loop (and the usual torch WGAN-GP
  loop with `torch.autograd.grad(create_graph=True)`) on equivalent plain
  `torch.nn` networks, NCHW float32.

* ganzoo-*-shared: the same with `GAN(share_fakes=True)`: the G step reuses the
  D step's fakes and their forward pass, as the torch loop does (one G forward
  per step instead of two).
* ganzoo-tensorflow-xla / ganzoo-tensorflow-noxla: ganzoo on TensorFlow with
  `jit_compile=True` / `False` (plain ganzoo-tensorflow uses `--jit-compile`,
  default "auto", which is XLA on here, as for keras-io-tf).

Each implementation runs in its own process (the Keras backend is fixed at
import) and reports one JSON line; steps are timed after `--warmup` steps
(tracing / compilation), from the start of step `warmup` to the end of
training with one wait for the device (JAX's asynchronous dispatch) at each
end, so the clock itself adds no per-step host sync. `--rounds R` runs every
implementation R times, interleaved (A B C A B C ...), and reports the median
steps/s: on a shared machine compare the ratios, not the absolute numbers.
images/s counts real images consumed (batch * steps/s); "ratio" is steps/s
over the faster baseline's on the same model.

Example:
    python tools/bench/train_step.py --models dcgan64 wgangp32 --rounds 3 --warmup 3 --steps 10
"""

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import time

LATENT, WIDTH = 100, 64
MODELS = {
    "dcgan32": {"resolution": 32, "wgan": False},
    "dcgan64": {"resolution": 64, "wgan": False},
    "wgangp32": {"resolution": 32, "wgan": True},
}
IMPLS = {  # name -> Keras backend of its process
    "ganzoo-tensorflow": "tensorflow",
    "ganzoo-jax": "jax",
    "ganzoo-torch": "torch",
    "ganzoo-tensorflow-shared": "tensorflow",
    "ganzoo-jax-shared": "jax",
    "ganzoo-torch-shared": "torch",
    "ganzoo-tensorflow-xla": "tensorflow",
    "ganzoo-tensorflow-noxla": "tensorflow",
    "keras-io-tf": "tensorflow",
    "torch-loop": "torch",
}
BASELINES = ("keras-io-tf", "torch-loop")
D_STEPS, GP_WEIGHT = 5, 10.0


def _images(resolution, batch, batches=8):
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, (batches * batch, resolution, resolution, 3)).astype("float32")


def _dataset(resolution, batch):
    import tensorflow as tf

    x = _images(resolution, batch)
    return tf.data.Dataset.from_tensor_slices(x).batch(batch, drop_remainder=True).repeat()


def _keras_networks(resolution, wgan):
    from ganzoo.architectures import dcgan_discriminator, dcgan_generator

    G = dcgan_generator(latent_dim=LATENT, resolution=resolution, channels=3, width=WIDTH)
    D = dcgan_discriminator(
        resolution=resolution, channels=3, width=WIDTH, normalization="layer" if wgan else "batch"
    )
    return G, D


def _adam(wgan):
    import keras

    return keras.optimizers.Adam(1e-4, 0.0, 0.9) if wgan else keras.optimizers.Adam(2e-4, 0.5)


def _wait(model):
    """Block until the model's latest step has run (JAX dispatches asynchronously)."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        state = getattr(model, "_jax_state", None)  # the newest arrays during JAX's fit loop
        jax.block_until_ready(state if state is not None else [v.value for v in model.variables])


def _fit_rate(model, resolution, batch, warmup, steps, steps_per_execution=1):
    """Steps/s of `model.fit` from the start of step `warmup` to the end of training."""
    import keras

    class Clock(keras.callbacks.Callback):
        async_safe = True  # no per-step host sync: Keras may run batch ends off the training thread

        def on_train_batch_begin(self, batch, logs=None):
            if batch == warmup:
                _wait(model)
                self.start = time.perf_counter()

        def on_train_end(self, logs=None):
            _wait(model)
            self.end = time.perf_counter()

    if warmup % steps_per_execution or steps % steps_per_execution:
        raise ValueError("--warmup and --steps must be multiples of --steps-per-execution.")
    clock = Clock()
    model.fit(_dataset(resolution, batch), epochs=1, steps_per_epoch=warmup + steps,
              callbacks=[clock], verbose=0)
    return steps / (clock.end - clock.start)


def run_ganzoo(resolution, wgan, batch, warmup, steps, jit_compile="auto", steps_per_execution=1, fixed_jit=None,
               share_fakes=False):
    import ganzoo

    jit_compile = jit_compile if fixed_jit is None else fixed_jit

    G, D = _keras_networks(resolution, wgan)
    kwargs = {"objective": "wasserstein", "penalties": [ganzoo.penalties.GradientPenalty(GP_WEIGHT)],
              "d_steps": D_STEPS} if wgan else {"objective": "non_saturating"}
    gan = ganzoo.GAN(G, D, latent_dim=LATENT, seed=0, share_fakes=share_fakes, **kwargs)
    gan.compile(g_optimizer=_adam(wgan), d_optimizer=_adam(wgan), jit_compile=jit_compile,
                steps_per_execution=steps_per_execution)
    return _fit_rate(gan, resolution, batch, warmup, steps, steps_per_execution)


def run_keras_io(resolution, wgan, batch, warmup, steps, jit_compile=None, steps_per_execution=1):
    """The keras.io DCGAN and WGAN-GP examples' `train_step`s (training=True throughout)."""
    import keras
    import tensorflow as tf

    class KerasIOGAN(keras.Model):
        def __init__(self, generator, discriminator):
            super().__init__()
            self.generator, self.discriminator = generator, discriminator
            self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
            self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

        def compile(self, d_optimizer, g_optimizer):
            super().compile()
            self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
            self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

        @property
        def metrics(self):
            return [self.d_loss_tracker, self.g_loss_tracker]

        def _dcgan_step(self, real_images):
            batch_size = tf.shape(real_images)[0]
            z = tf.random.normal((batch_size, LATENT))
            generated = self.generator(z, training=True)
            combined = tf.concat([generated, real_images], axis=0)
            labels = tf.concat([tf.ones((batch_size, 1)), tf.zeros((batch_size, 1))], axis=0)
            labels += 0.05 * tf.random.uniform(tf.shape(labels))
            with tf.GradientTape() as tape:
                d_loss = self.loss_fn(labels, self.discriminator(combined, training=True))
            grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
            self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
            z = tf.random.normal((batch_size, LATENT))
            with tf.GradientTape() as tape:
                predictions = self.discriminator(self.generator(z, training=True), training=True)
                g_loss = self.loss_fn(tf.zeros((batch_size, 1)), predictions)
            grads = tape.gradient(g_loss, self.generator.trainable_weights)
            self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
            return d_loss, g_loss

        def _gradient_penalty(self, batch_size, real_images, fake_images):
            alpha = tf.random.uniform([batch_size, 1, 1, 1], 0.0, 1.0)
            interpolated = real_images + alpha * (fake_images - real_images)
            with tf.GradientTape() as gp_tape:
                gp_tape.watch(interpolated)
                pred = self.discriminator(interpolated, training=True)
            grads = gp_tape.gradient(pred, [interpolated])[0]
            norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))
            return tf.reduce_mean((norm - 1.0) ** 2)

        def _wgan_gp_step(self, real_images):
            batch_size = tf.shape(real_images)[0]
            for _ in range(D_STEPS):
                z = tf.random.normal((batch_size, LATENT))
                with tf.GradientTape() as tape:
                    fake_images = self.generator(z, training=True)
                    fake_logits = self.discriminator(fake_images, training=True)
                    real_logits = self.discriminator(real_images, training=True)
                    d_cost = tf.reduce_mean(fake_logits) - tf.reduce_mean(real_logits)
                    gp = self._gradient_penalty(batch_size, real_images, fake_images)
                    d_loss = d_cost + gp * GP_WEIGHT
                grads = tape.gradient(d_loss, self.discriminator.trainable_variables)
                self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables))
            z = tf.random.normal((batch_size, LATENT))
            with tf.GradientTape() as tape:
                fake_logits = self.discriminator(self.generator(z, training=True), training=True)
                g_loss = -tf.reduce_mean(fake_logits)
            grads = tape.gradient(g_loss, self.generator.trainable_variables)
            self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))
            return d_loss, g_loss

        def train_step(self, real_images):
            d_loss, g_loss = (self._wgan_gp_step if wgan else self._dcgan_step)(real_images)
            self.d_loss_tracker.update_state(d_loss)
            self.g_loss_tracker.update_state(g_loss)
            return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}

    model = KerasIOGAN(*_keras_networks(resolution, wgan))
    model.compile(d_optimizer=_adam(wgan), g_optimizer=_adam(wgan))
    return _fit_rate(model, resolution, batch, warmup, steps)


def run_torch_loop(resolution, wgan, batch, warmup, steps, jit_compile=None, steps_per_execution=1):
    """pytorch/examples DCGAN loop; the usual torch WGAN-GP loop for `wgan`."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    stages = resolution.bit_length() - 3  # log2(resolution) - 2
    g_widths = [WIDTH * 2 ** (stages - 1 - i) for i in range(stages)]
    layers = [nn.ConvTranspose2d(LATENT, g_widths[0], 4, 1, 0, bias=False),
              nn.BatchNorm2d(g_widths[0]), nn.ReLU(True)]
    for cin, cout in zip(g_widths, g_widths[1:]):
        layers += [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]
    netG = nn.Sequential(*layers, nn.ConvTranspose2d(g_widths[-1], 3, 4, 2, 1), nn.Tanh())

    layers, cin, side = [], 3, resolution
    for i in range(stages):
        cout, side = WIDTH * 2**i, side // 2
        layers.append(nn.Conv2d(cin, cout, 4, 2, 1, bias=i == 0))
        if i > 0:
            layers.append(nn.LayerNorm([cout, side, side]) if wgan else nn.BatchNorm2d(cout))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        cin = cout
    netD = nn.Sequential(*layers, nn.Conv2d(cin, 1, 4, 1, 0), nn.Flatten(0))

    def weights_init(m):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)

    netG.apply(weights_init)
    netD.apply(weights_init)
    betas = (0.0, 0.9) if wgan else (0.5, 0.999)
    lr = 1e-4 if wgan else 2e-4
    optimizerD = torch.optim.Adam(netD.parameters(), lr=lr, betas=betas)
    optimizerG = torch.optim.Adam(netG.parameters(), lr=lr, betas=betas)
    criterion = nn.BCEWithLogitsLoss()
    data = torch.from_numpy(_images(resolution, batch)).permute(0, 3, 1, 2).contiguous().split(batch)
    real_label, fake_label = torch.ones(batch), torch.zeros(batch)

    def dcgan_step(real):
        netD.zero_grad()
        errD_real = criterion(netD(real), real_label)
        errD_real.backward()
        fake = netG(torch.randn(batch, LATENT, 1, 1))
        errD_fake = criterion(netD(fake.detach()), fake_label)
        errD_fake.backward()
        optimizerD.step()
        netG.zero_grad()
        errG = criterion(netD(fake), real_label)
        errG.backward()
        optimizerG.step()
        return errD_real.item() + errD_fake.item(), errG.item()

    def wgan_gp_step(real):
        for p in netD.parameters():
            p.requires_grad_(True)
        for _ in range(D_STEPS):
            netD.zero_grad()
            with torch.no_grad():
                fake = netG(torch.randn(batch, LATENT, 1, 1))
            d_cost = netD(fake).mean() - netD(real).mean()
            alpha = torch.rand(batch, 1, 1, 1)
            interpolated = (real + alpha * (fake - real)).requires_grad_(True)
            (grads,) = torch.autograd.grad(netD(interpolated).sum(), interpolated, create_graph=True)
            gp = ((grads.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()
            d_loss = d_cost + GP_WEIGHT * gp
            d_loss.backward()
            optimizerD.step()
        for p in netD.parameters():
            p.requires_grad_(False)
        netG.zero_grad()
        g_loss = -netD(netG(torch.randn(batch, LATENT, 1, 1))).mean()
        g_loss.backward()
        optimizerG.step()
        return d_loss.item(), g_loss.item()

    step = wgan_gp_step if wgan else dcgan_step
    for i in range(warmup):
        step(data[i % len(data)])
    start = time.perf_counter()
    for i in range(steps):
        step(data[i % len(data)])
    return steps / (time.perf_counter() - start)


RUNNERS = {
    "ganzoo-tensorflow": run_ganzoo,
    "ganzoo-jax": run_ganzoo,
    "ganzoo-torch": run_ganzoo,
    "ganzoo-tensorflow-shared": functools.partial(run_ganzoo, share_fakes=True),
    "ganzoo-jax-shared": functools.partial(run_ganzoo, share_fakes=True),
    "ganzoo-torch-shared": functools.partial(run_ganzoo, share_fakes=True),
    "ganzoo-tensorflow-xla": functools.partial(run_ganzoo, fixed_jit=True),
    "ganzoo-tensorflow-noxla": functools.partial(run_ganzoo, fixed_jit=False),
    "keras-io-tf": run_keras_io,
    "torch-loop": run_torch_loop,
}


def worker(args):
    spec = MODELS[args.model]
    jit = {"auto": "auto", "true": True, "false": False}[args.jit_compile]
    spe = args.steps_per_execution if args.impl.startswith("ganzoo") else 1
    rate = RUNNERS[args.impl](spec["resolution"], spec["wgan"], args.batch, args.warmup, args.steps,
                              jit_compile=jit, steps_per_execution=spe)
    result = {"model": args.model, "impl": args.impl, "batch": args.batch, "steps": args.steps,
              "steps_per_s": rate, "images_per_s": rate * args.batch}
    print("RESULT " + json.dumps(result))


def run_one(args, model, impl):
    env = dict(os.environ, KERAS_BACKEND=IMPLS[impl], TF_CPP_MIN_LOG_LEVEL="3")
    cmd = [sys.executable, __file__, "--worker", "--model", model, "--impl", impl, "--batch", str(args.batch),
           "--steps", str(args.steps), "--warmup", str(args.warmup), "--jit-compile", args.jit_compile,
           "--steps-per-execution", str(args.steps_per_execution)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            print(f"  {model} {impl}: {json.loads(line[7:])['steps_per_s']:.3f} steps/s", file=sys.stderr, flush=True)
            return json.loads(line[7:])
    raise RuntimeError(f"{impl} on {model} failed:\n{out.stderr[-3000:]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--impls", nargs="+", choices=list(IMPLS),
                        default=["ganzoo-tensorflow", "ganzoo-jax", "ganzoo-torch", "keras-io-tf", "torch-loop"])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (>= 1)")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved runs of every impl; median")
    parser.add_argument("--jit-compile", choices=["auto", "true", "false"], default="auto",
                        help="jit_compile of the ganzoo impls' compile (baselines keep their defaults)")
    parser.add_argument("--steps-per-execution", type=int, default=1,
                        help="steps_per_execution of the ganzoo impls' compile")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per implementation run")
    parser.add_argument("--out", default="train_step.json")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.warmup < 1 or args.steps < 1 or args.rounds < 1 or args.steps_per_execution < 1:
        parser.error("--warmup, --steps, --rounds and --steps-per-execution must be >= 1")
    if args.worker:
        return worker(args)

    rows = []
    for model in args.models:
        runs = {impl: [] for impl in args.impls}
        for _ in range(args.rounds):  # interleaved: load changes hit every impl alike
            for impl in args.impls:
                runs[impl].append(run_one(args, model, impl)["steps_per_s"])
        results = [{"model": model, "impl": impl, "batch": args.batch, "steps": args.steps,
                    "rounds": rates, "steps_per_s": statistics.median(rates),
                    "images_per_s": statistics.median(rates) * args.batch} for impl, rates in runs.items()]
        baseline = max((r["steps_per_s"] for r in results if r["impl"] in BASELINES), default=None)
        for r in results:
            r["ratio"] = r["steps_per_s"] / baseline if baseline else None
        rows.extend(results)
    print(f"batch {args.batch}, {args.steps} timed steps after {args.warmup} warm-up, median of "
          f"{args.rounds} interleaved round(s), jit_compile={args.jit_compile}, "
          f"steps_per_execution={args.steps_per_execution} (ganzoo)\n")
    print("| model | impl | steps/s | images/s | ratio vs faster baseline |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        print(f"| {r['model']} | {r['impl']} | {r['steps_per_s']:.3f} | {r['images_per_s']:.1f} | {ratio} |")
    with open(args.out, "w") as f:
        json.dump({"args": {k: v for k, v in vars(args).items() if k not in ("worker", "model", "impl")},
                   "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
