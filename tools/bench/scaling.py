"""Data-parallel scaling: training images/s on 1 vs N devices, per backend.

Model: DCGAN 32x32 RGB (latent 64, width `--width`, LayerNorm critic,
WGAN-GP with 1 critic step so every step does double backprop), Adam, a
fixed global batch. Runs, each in its own process (the backend and the
simulated device count are fixed at start-up):

* `1`      : plain `fit`, no strategy (the reference).
* `1-dp`   : `ganzoo.distribute.strategy(devices=1)` (TF, JAX): the
             distributed code path on one device; slower than `1` = a bug.
* `N`      : `strategy(devices=N)`: TF MirroredStrategy / JAX DataParallel on
             N simulated CPU devices; torch: N gloo processes on loopback,
             one intra-op thread each (so N processes use N cores, 1 uses 1).
* `Np`     : N processes with one device each on loopback, as on N hosts
             (TF: MultiWorkerMirroredStrategy from TF_CONFIG; JAX: a
             jax.distributed job from Keras's KERAS_DISTRIBUTION_* variables).

On a CPU the "devices" share the same cores, so N devices cannot be faster
than the cores allow; the numbers show the overhead of the distributed path,
and real speed-ups need N accelerators. images/s = global batch * timed
steps / seconds, timed inside one `fit` from the end of batch `--warmup`
(tracing, compilation excluded) to the end of the last batch.

Example:
    python tools/bench/scaling.py --backends tensorflow jax torch --devices 2 --out scaling.json
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _worker(args):
    import keras
    import numpy as np

    from ganzoo import distribute

    if keras.backend.backend() == "torch":
        import torch

        torch.set_num_threads(1)  # per process: 2 intra-op threads ran 2.5-4x slower here
    elif args.devices >= 1 and args.mode == "dp":  # "mp": one device per process
        distribute.simulate_cpu_devices(args.devices)

    import ganzoo
    from ganzoo.architectures import dcgan_discriminator, dcgan_generator

    def build():
        G = dcgan_generator(latent_dim=64, resolution=32, channels=3, width=args.width)
        D = dcgan_discriminator(resolution=32, channels=3, width=args.width, normalization="layer")
        gan = ganzoo.GAN(G, D, latent_dim=64, objective="wasserstein",
                         penalties=[ganzoo.penalties.GradientPenalty(10.0)], seed=0)
        gan.compile(g_optimizer=keras.optimizers.Adam(1e-4, 0.0, 0.9),
                    d_optimizer=keras.optimizers.Adam(1e-4, 0.0, 0.9))
        return gan

    class Clock(keras.callbacks.Callback):
        """Time from the end of batch `warmup` to the end of the last batch."""

        def on_train_batch_end(self, batch, logs=None):
            if batch + 1 == args.warmup:
                self.start = time.perf_counter()
            self.end = time.perf_counter()

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (args.batch * (args.warmup + args.steps), 32, 32, 3)).astype("float32")
    if args.mode == "dp":
        context = distribute.strategy(devices=args.devices)
    elif args.mode == "mp":
        context = distribute.strategy(timeout=args.timeout)
    else:
        context = distribute.DataParallel(keras.backend.backend(), 1)
    with context as dp:
        gan = build()
        local, batch = dp.shard(x, batch_size=args.batch)
        clock = Clock()
        gan.fit(local, batch_size=batch, epochs=1, shuffle=False, verbose=0, callbacks=[clock])
        seconds = clock.end - clock.start
        if dp.is_chief:
            print(json.dumps({
                "backend": keras.backend.backend(),
                "run": args.run,
                "replicas": dp.num_replicas,
                "mechanism": type(dp.mechanism).__name__ if dp.mechanism is not None else
                ("gloo processes" if dp.num_replicas > 1 else "none"),
                "processes": dp.num_processes,
                "global_batch": args.batch,
                "images_per_s": round(args.batch * args.steps / seconds, 1),
                "step_s": round(seconds / args.steps, 4),
            }), flush=True)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(backend, run, args):
    if run.endswith("p") and run[:-1].isdigit():
        mode, devices = "mp", int(run[:-1])
    else:
        mode, devices = ("plain", 1) if run == "1" else ("dp", 1 if run == "1-dp" else args.devices)
    cmd = [sys.executable, __file__, "--worker", "--mode", mode, "--run", run,
           "--devices", str(devices), "--batch", str(args.batch), "--width", str(args.width),
           "--warmup", str(args.warmup), "--steps", str(args.steps)]
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join([ROOT, env.get("PYTHONPATH", "")])
    envs = [env]
    if backend == "torch" and devices > 1:
        port = str(_free_port())
        envs = [dict(env, RANK=str(r), LOCAL_RANK=str(r), WORLD_SIZE=str(devices),
                     MASTER_ADDR="127.0.0.1", MASTER_PORT=port) for r in range(devices)]
    if mode == "mp":
        ports = [_free_port() for _ in range(devices)]
        if backend == "jax":
            envs = [dict(env, KERAS_DISTRIBUTION_JOB_ADDRESSES=f"127.0.0.1:{ports[0]}",
                         KERAS_DISTRIBUTION_NUM_PROCESSES=str(devices), KERAS_DISTRIBUTION_PROCESS_ID=str(r))
                    for r in range(devices)]
        else:
            workers = [f"127.0.0.1:{port}" for port in ports]
            envs = [dict(env, TF_CONFIG=json.dumps({"cluster": {"worker": workers},
                                                    "task": {"type": "worker", "index": r}}))
                    for r in range(devices)]
    procs = [subprocess.Popen(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for e in envs]
    try:
        outs = [p.communicate(timeout=args.timeout) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (out, err) in zip(procs, outs):
        if p.returncode:
            raise RuntimeError(f"{backend} run {run} failed:\n{err[-3000:]}")
    lines = [line for out, _ in outs for line in out.splitlines() if line.startswith("{")]
    return json.loads(lines[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax", "torch"])
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32, help="global batch")
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--out", default=None)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="plain", help=argparse.SUPPRESS)
    parser.add_argument("--run", default="1", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args)
    if args.batch % args.devices:
        parser.error(f"--batch {args.batch} must be divisible by --devices {args.devices}")
    results = []
    for backend in args.backends:
        runs = ["1", str(args.devices)]
        if backend != "torch":  # torch's N devices are already N processes
            runs += ["1-dp", f"{args.devices}p"]
        for run in runs:
            result = _launch(backend, run, args)
            print(json.dumps(result), flush=True)
            results.append(result)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
    return results


if __name__ == "__main__":
    main()
