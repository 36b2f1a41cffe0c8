"""Small-data benchmark for D augmentation: no augmentation vs DiffAugment vs ADA on 200 digits.

Trains one digits recipe (`dcgan-digits` by default) on a fixed, class-balanced
subset of `--images` (200) of scikit-learn's digits, once per augmentation and
seed (same seeds, same subset, same batch order for every augmentation), and
reports, with the digits protocol of `ganzoo.metrics.digits`:

* quality of 2,000 EMA samples: `confident` (share the digits classifier labels
  with p >= 0.9), `class_kl` (label histogram vs uniform), `fd_fit` (the
  protocol's `frechet_pca`, PCA-20 Fréchet distance to the protocol's fitting
  half, which contains the training subset) and `fd_held` (the same distance to
  the held-out half, which the model never saw: the generalisation measure);
* D overfitting, on un-augmented images (inference mode): `d_gap`, the mean
  logit on the training reals minus on the held-out reals, and ADA's
  validation heuristic r_v = (E[D(train)] - E[D(held)]) / (E[D(train)] -
  E[D(fake)]) (Karras et al. 2020, eq. 1; 0 = no overfitting, 1 = D tells
  training from held-out reals as well as reals from fakes), plus r_t =
  E[sign D(train)] (ADA's controller signal), every `--eval-every` steps;
* ADA's p at the end (and along the curve); with `--curve-quality`, also
  `confident` and `fd_held` at every evaluation.

Reference rows: the held-out half itself (`fd_fit` floor, `frechet_pca_real`)
and the 200 training images themselves (`fd_held` of a perfect memoriser).
Prints one JSON line per run and, at the end, a Markdown table (mean ± std
over seeds). The numbers depend on the backend's random streams; the
comparison is between augmentations under one backend.

Example:
    KERAS_BACKEND=jax python tools/bench/augment_small_data.py --seeds 0,1,2 --steps 2000 --out aug.jsonl
    KERAS_BACKEND=torch python tools/bench/augment_small_data.py --augment none,ada --steps 500
"""

import argparse
import copy
import json
import sys
import time

import numpy as np

AUGMENTS = ("none", "diffaugment", "ada")


def split_digits(resolution, images_per_class, subset_seed):
    """The digits protocol's fitting/held-out halves, and a class-balanced training subset of the fitting half.

    Returns `(x, y, train_idx, fit_idx, held_idx)`; the halves are the ones
    `ganzoo.metrics.digits` uses (stratified 50/50, `random_state=0`).

    Example:
        >>> x, y, train, fit, held = split_digits(32, 20, 0)
        >>> len(train), len(set(train) & set(held))
        (200, 0)
    """
    from sklearn.model_selection import train_test_split

    from ganzoo.data.builtin import digits_with_labels

    x, y = digits_with_labels(resolution)
    # Same call as the protocol on (features, labels): the permutation depends only on n and y.
    fit_idx, held_idx = train_test_split(np.arange(len(y)), test_size=0.5, stratify=y, random_state=0)
    rng = np.random.default_rng(subset_seed)
    train_idx = np.concatenate(
        [rng.choice(fit_idx[y[fit_idx] == c], images_per_class, replace=False) for c in range(10)])
    return x, y, np.sort(train_idx), fit_idx, held_idx


def augment_spec(name, ada_target, ada_speed_kimg, ada_transforms):
    """The `model.augment` recipe entry for a benchmark augmentation name.

    Example:
        >>> augment_spec("ada", 0.6, 50.0, "bgc")["target"]
        0.6
    """
    if name == "none":
        return None
    if name == "diffaugment":
        return {"name": "diffaugment", "policy": "color,translation,cutout"}
    if name == "ada":
        return {"name": "ada", "transforms": ada_transforms, "target": ada_target, "speed_kimg": ada_speed_kimg}
    raise ValueError(f"Unknown benchmark augmentation {name!r}; valid: {', '.join(AUGMENTS)}.")


def d_logits(gan, images, batch_size=256):
    """Mean D logit over `images`, un-augmented, D in inference mode.

    Example:
        >>> d_logits(gan, x[:64])
    """
    from keras import ops

    out = []
    for i in range(0, len(images), batch_size):
        logits = gan.discriminate(ops.convert_to_tensor(images[i:i + batch_size]), training=False)["logits"]
        out.append(np.asarray(ops.convert_to_numpy(logits)))
    return np.concatenate(out)


def overfitting(gan, x_train, x_held, seed):
    """D's overfitting signals: `d_gap`, r_v (Karras et al. 2020, eq. 1) and r_t on un-augmented images.

    Example:
        >>> overfitting(gan, x[train], x[held], seed=0)["r_v"]
    """
    train, held = d_logits(gan, x_train), d_logits(gan, x_held)
    fake = d_logits(gan, gan.generate(len(x_held), seed=10_000 + seed, use_ema=False))
    gap = float(train.mean() - held.mean())
    spread = float(train.mean() - fake.mean())
    return {"d_train": float(train.mean()), "d_held": float(held.mean()), "d_fake": float(fake.mean()),
            "d_gap": gap, "r_v": gap / spread if abs(spread) > 1e-6 else float("nan"),
            "r_t": float(np.mean(np.sign(train)))}


def quality(samples, x_fit, x_held):
    """Digits-protocol quality plus the PCA-20 Fréchet distance to the held-out half (`fd_held`).

    Example:
        >>> quality(gan.generate(2000, seed=1), x[fit], x[held])["fd_held"]
    """
    from sklearn.decomposition import PCA

    from ganzoo.metrics.digits import PCA_COMPONENTS, digits_quality, frechet, to_digits8

    report = digits_quality(samples)
    # The protocol's PCA (20 components, fit on the fitting half, random_state=0), refit here:
    # the protocol exposes distances to the fitting half only.
    pca = PCA(PCA_COMPONENTS, random_state=0).fit(to_digits8(x_fit))
    fd_held = frechet(pca.transform(to_digits8(samples)), pca.transform(to_digits8(x_held)))
    return {"confident": report["confident"], "classes": report["classes"], "class_kl": report["class_kl"],
            "fd_fit": report["frechet_pca"], "fd_held": fd_held,
            "frechet_pca_real": report["frechet_pca_real"], "confident_real": report["confident_real"]}


def run(recipe_name, augment, seed, args, data):
    """Train one (augmentation, seed) run; return its JSON record.

    Example:
        >>> record = run("dcgan-digits", "ada", 0, args, split_digits(32, 20, 0))
    """
    import keras

    from ganzoo import recipes
    from ganzoo.training import build

    x, _, train_idx, fit_idx, held_idx = data
    recipe = copy.deepcopy(recipes.get(recipe_name))
    if args.resolution:  # smaller images train faster; the digits are 8x8 at heart
        for role in ("generator", "discriminator"):
            recipe["model"][role]["resolution"] = args.resolution
        recipe["data"]["resolution"] = args.resolution
    recipe["model"]["augment"] = augment_spec(augment, args.ada_target, args.ada_speed_kimg, args.ada_transforms)
    gan = build(recipe, seed=seed)
    x_train, x_held = x[train_idx], x[held_idx]
    order = np.random.default_rng(seed)  # the batch order: the same for every augmentation
    curve, done, start, history = [], 0, time.perf_counter(), {}
    while done < args.steps:
        steps = min(args.eval_every, args.steps - done)
        # Whole epochs of the subset, reshuffled, cut into full batches (no ragged last batch).
        need = steps * args.batch_size
        idx = np.concatenate([order.permutation(len(x_train)) for _ in range(need // len(x_train) + 1)])[:need]
        history = gan.fit(x_train[idx], batch_size=args.batch_size, epochs=1, shuffle=False, verbose=0).history
        done += steps
        point = {"step": done, **{k: round(v, 4) for k, v in overfitting(gan, x_train, x_held, seed).items()}}
        if args.curve_quality and done < args.steps:  # the last point's quality is the record's
            q = quality(gan.generate(args.samples, seed=seed + 1), x[fit_idx], x_held)
            point.update({k: round(float(q[k]), 4) for k in ("confident", "fd_held")})
        if "ada_p" in history:
            point["ada_p"] = round(float(history["ada_p"][-1]), 4)
        curve.append(point)
    seconds = time.perf_counter() - start
    q = quality(gan.generate(args.samples, seed=seed + 1), x[fit_idx], x_held)
    record = {"recipe": recipe_name, "backend": keras.backend.backend(), "augment": augment, "seed": seed,
              "images": len(train_idx), "steps": done, "batch_size": args.batch_size,
              "train_seconds": round(seconds, 1), **{k: round(float(v), 4) for k, v in q.items()},
              **{k: v for k, v in curve[-1].items() if k != "step"}, "curve": curve}
    if augment == "ada":
        record["ada"] = recipe["model"]["augment"]
        record["ada_p"] = round(float(np.asarray(keras.ops.convert_to_numpy(gan.ada_p.value))), 4)
    return record


def reference_rows(data):
    """Quality of real images under the same measures: the held-out half and the training subset itself.

    Example:
        >>> reference_rows(split_digits(32, 20, 0))["train_subset"]["fd_held"]
    """
    from sklearn.decomposition import PCA

    from ganzoo.metrics.digits import PCA_COMPONENTS, frechet, to_digits8

    x, _, train_idx, fit_idx, held_idx = data
    pca = PCA(PCA_COMPONENTS, random_state=0).fit(to_digits8(x[fit_idx]))
    z = {k: pca.transform(to_digits8(x[i])) for k, i in (("train", train_idx), ("fit", fit_idx), ("held", held_idx))}
    return {"held_out_half": {"fd_fit": round(frechet(z["held"], z["fit"]), 4)},
            "train_subset": {"fd_fit": round(frechet(z["train"], z["fit"]), 4),
                             "fd_held": round(frechet(z["train"], z["held"]), 4)}}


def table(records):
    """Markdown table: mean ± std over seeds per augmentation.

    Example:
        >>> print(table(records))
    """
    cols = ("confident", "class_kl", "fd_fit", "fd_held", "d_gap", "r_v", "r_t")
    lines = ["| augment | seeds | " + " | ".join(cols) + " | ADA p |", "|" + "---|" * (len(cols) + 3)]
    for name in AUGMENTS:
        rows = [r for r in records if r["augment"] == name]
        if not rows:
            continue
        cells = []
        for c in cols:
            v = np.asarray([r[c] for r in rows], "float64")
            cells.append(f"{v.mean():.3f} ± {v.std():.3f}" if len(v) > 1 else f"{v.mean():.3f}")
        p = [r["ada_p"] for r in rows if "ada_p" in r]
        ada_p = f"{np.mean(p):.3f}" if p else "-"
        lines.append(f"| {name} | {len(rows)} | " + " | ".join(cells) + f" | {ada_p} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default="dcgan-digits", help="an unconditional digits recipe")
    p.add_argument("--augment", default=",".join(AUGMENTS), help="comma-separated subset of none,diffaugment,ada")
    p.add_argument("--seeds", default="0,1", help="comma-separated seeds (init, noise, batch order)")
    p.add_argument("--resolution", type=int, default=16,
                   help="override the recipe's G/D/data resolution (0 keeps the recipe's)")
    p.add_argument("--images", type=int, default=200, help="training images (a multiple of 10: balanced classes)")
    p.add_argument("--subset-seed", type=int, default=0, help="which training images (fixed across runs)")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--samples", type=int, default=2000)
    p.add_argument("--curve-quality", action="store_true", help="also score samples at every evaluation")
    p.add_argument("--ada-target", type=float, default=0.6)
    p.add_argument("--ada-speed-kimg", type=float, default=50.0,
                   help="kimg for p to go 0 -> 1 (paper 500; short runs need faster)")
    p.add_argument("--ada-transforms", default="bgc")
    p.add_argument("--out", help="also append the JSON lines here")
    args = p.parse_args(argv)
    names = [a.strip() for a in args.augment.split(",") if a.strip()]
    for a in names:
        augment_spec(a, args.ada_target, args.ada_speed_kimg, args.ada_transforms)  # fail before training
    if args.images % 10 or args.images < 10:
        raise ValueError(f"--images must be a positive multiple of 10 (balanced classes), got {args.images}.")
    from ganzoo import recipes

    resolution = args.resolution or int(recipes.get(args.recipe)["data"]["resolution"])
    data = split_digits(resolution, args.images // 10, args.subset_seed)
    print(json.dumps({"reference": reference_rows(data)}), flush=True)
    records = []
    for seed in (int(s) for s in args.seeds.split(",")):
        for name in names:  # interleaved: the shared machine's load hits every augmentation alike
            record = run(args.recipe, name, seed, args, data)
            records.append(record)
            print(json.dumps(record), flush=True)
            if args.out:
                with open(args.out, "a") as f:
                    f.write(json.dumps(record) + "\n")
    print(table(records), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
