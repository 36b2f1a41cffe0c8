"""BigGAN-deep-128 sampling speed: ganzoo on each backend beside pytorch-pretrained-biggan.

Usage:
    python tools/bench/biggan_deep.py [--batch 4] [--batches 2] [--rounds 3] [--backends tensorflow,jax,torch]

Both sides use the same full-size random weights: the port's `BigGAN` is
built with its published 128-pixel config (its weight download is not
needed), saved in the published folder layout and converted once with
`ganzoo.convert.biggan`. One long-lived worker process per
contestant (the port, and ganzoo on each Keras backend) loads its model and
warms up (JAX compiles); then the parent asks them in turn, round after
round (port, tf, jax, torch, port, ...), to generate `batches x batch`
images at truncation 0.4, and reports the median img/s of each and its
ratio to the port's median. Interleaving keeps the comparison fair on a
machine shared with other work; absolute numbers are not (say so).

Example:
    $ python tools/bench/biggan_deep.py --batch 4 --batches 2 --rounds 3
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.abspath(__file__)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))


def make_port_folder(folder, seed=0):
    """Save a random full-size BigGAN-deep-128 in the port's layout (config.json + pytorch_model.bin).

    Example:
        >>> make_port_folder("/tmp/bgd128")   # doctest: +SKIP
    """
    import torch
    from pytorch_pretrained_biggan import BigGAN
    from pytorch_pretrained_biggan.convert_tf_to_pytorch import BigGAN128

    torch.manual_seed(seed)
    model = BigGAN(BigGAN128)
    model.train()
    with torch.no_grad():  # one spectral-norm power step, as the port's converter wrote u and v
        model(torch.zeros(1, 128), torch.eye(1000)[:1], 1.0)
    os.makedirs(folder, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(folder, "pytorch_model.bin"))
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(BigGAN128.to_json_string())


def _worker(kind, folder, preset, batch, batches):
    import numpy as np

    z = (0.4 * np.clip(np.random.default_rng(0).standard_normal((batch, 128)), -2, 2)).astype("float32")
    y = np.arange(batch) % 1000
    if kind == "port":
        import torch
        from pytorch_pretrained_biggan import BigGAN

        model = BigGAN.from_pretrained(folder).eval()
        zt, yt = torch.from_numpy(z), torch.eye(1000)[y]

        def run():
            with torch.no_grad():
                for _ in range(batches):
                    model(zt, yt, 0.4).numpy()
    else:
        import ganzoo

        gan = ganzoo.load(preset, generator_only=True)

        def run():
            for _ in range(batches):
                gan.generate(latents=z, labels=y, truncation=0.4, batch_size=batch)
    run()  # warm-up (JAX compiles here)
    print(json.dumps({"ready": kind}), flush=True)
    for line in sys.stdin:
        if line.strip() != "go":
            break
        start = time.perf_counter()
        run()
        print(json.dumps({"img_s": batch * batches / (time.perf_counter() - start)}), flush=True)


def main(argv=None):
    """Run the interleaved benchmark and print a table; returns 0.

    Example:
        >>> main(["--batch", "2", "--batches", "1", "--rounds", "1"])   # doctest: +SKIP
        0
    """
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--batches", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--backends", default="tensorflow,jax,torch")
    p.add_argument("--workdir", help="keep the port folder and preset here (default: a temporary folder)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--folder", help=argparse.SUPPRESS)
    p.add_argument("--preset", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        _worker(args.worker, args.folder, args.preset, args.batch, args.batches)
        return 0
    work = args.workdir or tempfile.mkdtemp(prefix="bench-biggan-")
    folder, preset = os.path.join(work, "port"), os.path.join(work, "preset")
    if not os.path.isfile(os.path.join(folder, "pytorch_model.bin")):
        make_port_folder(folder)
    if not os.path.isfile(os.path.join(preset, "config.json")):
        subprocess.run([sys.executable, os.path.join(REPO, "tools", "convert_biggan.py"), folder, preset,
                        "--samples", "0"], check=True, env={**os.environ, "KERAS_BACKEND": "torch"})
    kinds = ["port"] + [b for b in args.backends.split(",") if b]
    workers = {}
    for kind in kinds:
        env = {**os.environ, "KERAS_BACKEND": "torch" if kind == "port" else kind, "TF_CPP_MIN_LOG_LEVEL": "2"}
        cmd = [sys.executable, HERE, "--worker", kind, "--folder", folder, "--preset", preset,
               "--batch", str(args.batch), "--batches", str(args.batches)]
        workers[kind] = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    for kind, proc in workers.items():  # wait for every warm-up before timing anything
        json.loads(proc.stdout.readline())
    speeds = {kind: [] for kind in kinds}
    for _ in range(args.rounds):
        for kind, proc in workers.items():
            proc.stdin.write("go\n")
            proc.stdin.flush()
            speeds[kind].append(json.loads(proc.stdout.readline())["img_s"])
    for proc in workers.values():
        proc.stdin.close()
        proc.wait()
    port = statistics.median(speeds["port"])
    print(f"BigGAN-deep-128, batch {args.batch} x {args.batches}, truncation 0.4, {args.rounds} interleaved rounds "
          "(shared machine: compare ratios, not absolute numbers)")
    print(f"{'contestant':<28}{'median img/s':>14}{'vs port':>10}   all rounds")
    for kind in kinds:
        med = statistics.median(speeds[kind])
        name = "pytorch-pretrained-biggan" if kind == "port" else f"ganzoo {kind}"
        print(f"{name:<28}{med:>14.3f}{med / port:>9.2f}x   " + ", ".join(f"{s:.3f}" for s in speeds[kind]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
