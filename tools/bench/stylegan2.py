"""StyleGAN2 throughput on the current Keras backend (a benchmark, never a test).

Measures
* generator images/s (mapping + synthesis, noise "const", config F channels)
  at the given resolutions and batch sizes, compiled the backend's way
  (`keras.Model.predict`: XLA on JAX/TF, eager on torch), after one warm-up;
* training kimg/s of `ganzoo.models.StyleGAN2` (lazy R1 every 16, path length
  every 4, style mixing, EMA) at `--train-resolution` with the stylegan2-ada
  'auto' channel schedule, after a warm-up epoch that compiles the step;
and prints one JSON line per measurement (plus sec/kimg, NVIDIA's unit).

Usage:
    KERAS_BACKEND=jax python tools/bench/stylegan2.py --resolutions 256 1024 --batches 1 8
    KERAS_BACKEND=torch python tools/bench/stylegan2.py --skip-generator --train-steps 8

Example:
    >>> main(["--resolutions", "256", "--batches", "1", "--skip-train"])   # doctest: +SKIP
"""

import argparse
import json
import time

import numpy as np


def _gen_bench(resolution, batch, repeats):
    import keras

    from ganzoo.architectures.stylegan2 import Generator, cfg_kwargs

    G_kwargs, _ = cfg_kwargs("f", resolution=resolution)
    G = Generator(**G_kwargs)
    z = np.random.default_rng(0).standard_normal((batch, G.z_dim)).astype("float32")
    G.predict(z, batch_size=batch, verbose=0)  # compile / warm up
    start = time.perf_counter()
    for _ in range(repeats):
        G.predict(z, batch_size=batch, verbose=0)
    seconds = (time.perf_counter() - start) / repeats
    return {"what": "generator", "backend": keras.backend.backend(), "resolution": resolution, "batch": batch,
            "repeats": repeats, "images_per_s": round(batch / seconds, 3), "s_per_batch": round(seconds, 4)}


def _train_bench(resolution, batch, steps, warmup):
    import keras

    from ganzoo.architectures.stylegan2 import Discriminator, Generator, cfg_kwargs
    from ganzoo.models.stylegan2 import StyleGAN2

    G_kwargs, D_kwargs = cfg_kwargs("auto", resolution=resolution)
    gan = StyleGAN2(Generator(**G_kwargs), Discriminator(**D_kwargs), ema_kimg=batch * 10 / 32)
    gan.compile(g_optimizer=keras.optimizers.Adam(0.0025 * 4 / 5, 0.0, 0.99 ** (4 / 5), 1e-8),
                d_optimizer=keras.optimizers.Adam(0.0025 * 16 / 17, 0.0, 0.99 ** (16 / 17), 1e-8))
    x = np.random.default_rng(0).uniform(-1, 1, (batch * steps, resolution, resolution, 3)).astype("float32")
    gan.fit(x[: batch * warmup], batch_size=batch, epochs=1, verbose=0)  # compile (JAX/TF: all phases by step 16)
    start = time.perf_counter()
    gan.fit(x, batch_size=batch, epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    kimg_per_s = batch * steps / 1000.0 / seconds
    return {"what": "train", "backend": keras.backend.backend(), "resolution": resolution, "batch": batch,
            "steps": steps, "kimg_per_s": round(kimg_per_s, 5), "sec_per_kimg": round(1.0 / kimg_per_s, 1)}


def main(argv=None):
    """Run the measurements and print JSON lines; returns the list of results.

    Example:
        >>> rows = main(["--skip-generator", "--train-steps", "16"])   # doctest: +SKIP
    """
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--resolutions", type=int, nargs="+", default=[256, 1024])
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--train-resolution", type=int, default=64)
    p.add_argument("--train-batch", type=int, default=8)
    p.add_argument("--train-steps", type=int, default=32, help="timed steps (a multiple of 16: lazy phases in proportion)")
    p.add_argument("--warmup-steps", type=int, default=16, help="untimed steps first (16 compiles every phase)")
    p.add_argument("--skip-generator", action="store_true")
    p.add_argument("--skip-train", action="store_true")
    args = p.parse_args(argv)
    rows = []
    if not args.skip_generator:
        for res in args.resolutions:
            for batch in args.batches:
                rows.append(_gen_bench(res, batch, args.repeats))
                print(json.dumps(rows[-1]), flush=True)
    if not args.skip_train:
        rows.append(_train_bench(args.train_resolution, args.train_batch, args.train_steps, args.warmup_steps))
        print(json.dumps(rows[-1]), flush=True)
    return rows


if __name__ == "__main__":
    main()
