"""Throughput of FID feature extraction: ganzoo's Keras Inception per backend vs pytorch-fid.

    python tools/bench/fid_features.py --batch-sizes 64,200 --out bench_fid.json

Each backend runs in its own process (the Keras backend is fixed at import).
All networks get random weights (speed does not depend on them, and nothing is
downloaded) and the same uint8 images, resized to 299x299 inside each pipeline
(TF1 legacy bilinear in ganzoo, `F.interpolate` in pytorch-fid). Reports
images/second over `--batches` timed batches after two warm-up batches
(compilation, kernel selection), as a table and JSON.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _images(batch_size, size, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (batch_size, size, size, 3), dtype=np.uint8)


def _time(fn, batch, batches, warmup=2):
    # Warm-up: XLA / tf.function compilation, and oneDNN builds its kernels for
    # each new shape over the first two calls (torch's first calls are ~10x slower).
    for _ in range(warmup):
        fn(batch)
    start = time.perf_counter()
    for _ in range(batches):
        fn(batch)
    return batches * len(batch) / (time.perf_counter() - start)


def bench_ganzoo(batch_sizes, size, batches):
    """Images/s of ganzoo's extractor on the current backend, per batch size.

    Example:
    >>> bench_ganzoo([64], size=32, batches=1)  # doctest: +SKIP
    {64: 6.9}
    """
    sys.path.insert(0, ROOT)
    from ganzoo.metrics.extractor import InceptionExtractor
    from ganzoo.metrics.inception import build_fid_inception

    extractor = InceptionExtractor(build_fid_inception())
    return {bs: _time(lambda x: extractor(x, batch_size=len(x)), _images(bs, size), batches) for bs in batch_sizes}


def bench_pytorch_fid(batch_sizes, size, batches):
    """Images/s of pytorch-fid's InceptionV3([3]) (its own pipeline: float [0, 1] NCHW input).

    Example:
    >>> bench_pytorch_fid([64], size=32, batches=1)  # doctest: +SKIP
    {64: 3.3}
    """
    import torch

    from ganzoo.utils.pytorch_fid import import_pytorch_fid

    module = import_pytorch_fid()
    built = []
    original_builder, original_loader = module._inception_v3, module.load_state_dict_from_url

    def spy(*args, **kwargs):
        built.append(original_builder(*args, **kwargs))
        return built[-1]

    module._inception_v3 = spy
    module.load_state_dict_from_url = lambda *a, **k: built[-1].state_dict()  # no download
    try:
        model = module.InceptionV3([3]).eval()
    finally:
        module._inception_v3, module.load_state_dict_from_url = original_builder, original_loader

    def run(x):
        with torch.no_grad():
            t = torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255.0
            return model(t)[0][:, :, 0, 0].numpy()

    return {bs: _time(run, _images(bs, size), batches) for bs in batch_sizes}


def _worker(name, batch_sizes, size, batches):
    if name == "pytorch-fid":
        return bench_pytorch_fid(batch_sizes, size, batches)
    return bench_ganzoo(batch_sizes, size, batches)


def main(argv=None):
    """Run every implementation in a subprocess; print a table and JSON; returns the exit status.

    Example:
    >>> main(["--batch-sizes", "64", "--batches", "1"])  # doctest: +SKIP
    0
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--implementations", default="tensorflow,jax,torch,pytorch-fid")
    parser.add_argument("--batch-sizes", default="64,200")
    parser.add_argument("--image-size", type=int, default=32, help="input size before the resize to 299")
    parser.add_argument("--batches", type=int, default=2, help="timed batches per setting")
    parser.add_argument("--out", help="write the JSON here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    if args.worker:
        result = _worker(args.worker, batch_sizes, args.image_size, args.batches)
        print("RESULT " + json.dumps(result))
        return 0

    import platform

    results = {}
    for name in args.implementations.split(","):
        env = dict(os.environ, KERAS_BACKEND=name if name != "pytorch-fid" else "torch")
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", name, "--batch-sizes",
               args.batch_sizes, "--image-size", str(args.image_size), "--batches", str(args.batches)]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
        if proc.returncode or not lines:
            print(f"{name}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        results[name] = {int(k): v for k, v in json.loads(lines[-1][7:]).items()}
    header = ["implementation"] + [f"batch {b} (img/s)" for b in batch_sizes]
    rows = [[name] + [f"{results[name][b]:.1f}" for b in batch_sizes] for name in results]
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
    record = {
        "images_per_second": results,
        "image_size": args.image_size,
        "timed_batches": args.batches,
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
    }
    if "pytorch-fid" in results:
        best = max((n for n in results if n != "pytorch-fid"), key=lambda n: results[n][batch_sizes[0]], default=None)
        if best:
            record["fastest_vs_pytorch_fid"] = {
                b: results[best][b] / results["pytorch-fid"][b] for b in batch_sizes
            }
    text = json.dumps(record, indent=2)
    print(text)
    if args.out:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(os.path.abspath(args.out)))
        with os.fdopen(fd, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
