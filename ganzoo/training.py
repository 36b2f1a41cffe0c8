"""Train a recipe end to end: data, model, fit, evaluation, outputs.

`ganzoo train` and the benchmark tests call `train()`; the output folder is
written atomically (to a temporary sibling, renamed when complete), so an
interrupted run never leaves a half-written folder behind.

Example:
    >>> from ganzoo.training import train
    >>> gan, metrics = train("ring8-nsgan", out_dir="runs/ring8", epochs=2)
    >>> metrics["modes"], metrics["high_quality"]
"""

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from ganzoo import recipes
from ganzoo.factory import build_gan, build_optimizers
from ganzoo.utils.plot import TOY_SOURCES, write_samples
from ganzoo.utils.plot import toy_spec_of as _toy_spec


def make_dataset(recipe, epochs, seed, data=None):
    """Training data for a recipe as `(x, fit_kwargs)`.

    Toy recipes draw `epochs * steps_per_epoch * batch_size` fresh samples;
    image recipes read `data` (a folder, `.npy`/`.npz` file, array, `(x, y)`
    pair, `tfds:NAME` or `builtin:NAME`) or the recipe's own source.

    With `data.labels: true` (conditional recipes) `x` is a `tf.data.Dataset`
    of `(samples, labels)` batches, labels int32 class ids, and
    `x.class_names` lists the classes found (`len(x.class_names)` is the
    number of classes, to check against the model's `num_classes`; toy modes
    are named "0".."K-1"). Labels come from class sub-folders, the `y` array
    of an `.npz`, a TFDS class label, the digit of `builtin:digits`, or the
    mode of a toy sample. `data.classes` (a list of names) picks and orders a
    folder's class sub-folders. Without `labels` the data carries none, and
    `x.class_names` is None for a dataset.

    Example:
        >>> x, fit_kwargs = make_dataset(recipes.get("dcgan-digits"), epochs=1, seed=0)
        >>> x, _ = make_dataset({**recipe, "data": {**recipe["data"], "labels": True}}, 1, 0)
        >>> len(x.class_names)
        10
    """
    data_cfg, train_cfg = recipe["data"], recipe["training"]
    batch_size = int(train_cfg.get("batch_size", 64))
    labels = _recipe_labels(recipe)
    source = data if data is not None else data_cfg.get("source")
    if source in TOY_SOURCES:
        steps = int(train_cfg.get("steps_per_epoch", 500))
        # Fresh samples every step; the iterator carries over between epochs.
        spec = _toy_spec(data_cfg)
        sample = spec.sample(epochs * steps * batch_size, seed=seed, labels=labels)
        if not labels:
            return sample, {"batch_size": batch_size, "shuffle": False, "steps_per_epoch": steps}
        import tensorflow as tf

        # (points, modes) batches; exactly epochs * steps of them, read by one iterator.
        ds = tf.data.Dataset.from_tensor_slices(sample).batch(batch_size).prefetch(tf.data.AUTOTUNE)
        ds.class_names = [str(k) for k in range(len(spec.centers))]
        return ds, {"steps_per_epoch": steps}
    if source is None:
        raise ValueError(
            f"{recipe['name']}: no data; pass --data PATH (an image folder, .npy/.npz file or tfds:NAME)."
        )
    from ganzoo.data import images

    if isinstance(source, (str, os.PathLike)) and os.fspath(source).endswith(".npy"):
        if labels:
            raise ValueError(
                f"{recipe['name']} is conditional (data.labels) but {os.fspath(source)} is a .npy file of images "
                "only: save images and labels with np.savez(path, x=images, y=labels) and pass the .npz"
            )
        source = np.load(source, allow_pickle=False)
    elif isinstance(source, (str, os.PathLike)) and os.fspath(source).endswith(".npz"):
        with np.load(source, allow_pickle=False) as archive:
            if "x" not in archive or (labels and "y" not in archive):
                raise ValueError(
                    f"{os.fspath(source)} holds {sorted(archive)}; a training .npz needs 'x' (images)"
                    f"{' and y (class ids)' if labels else ''}: np.savez(path, x=images, y=labels)"
                )
            source = (archive["x"], archive["y"]) if labels else archive["x"]
    ds = images(
        source,
        resolution=int(data_cfg["resolution"]),
        batch_size=batch_size,
        channels=data_cfg.get("channels"),
        seed=seed,
        labels=labels,
        class_names=data_cfg.get("classes"),
    )
    if "steps_per_epoch" in train_cfg:
        class_names = ds.class_names  # an attribute: re-attached to the repeated dataset
        ds = ds.repeat()
        ds.class_names = class_names
        return ds, {"steps_per_epoch": int(train_cfg["steps_per_epoch"])}
    return ds, {}


def _recipe_labels(recipe):
    """`data.labels` as a bool (absent: False); used by `make_dataset`."""
    value = recipe["data"].get("labels")
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValueError(f"{recipe['name']}: data.labels must be true or false, got {value!r}.")
    return value


def evaluate(gan, recipe, seed=0):
    """The recipe's evaluation protocol: `mode_coverage` for toy recipes,
    `ganzoo.metrics.digits` for `eval.protocol: digits_classifier` (and its
    per-class form, `digits_classifier_conditional`); else nothing.

    Example:
        >>> evaluate(gan, recipes.get("ring8-nsgan"))["modes"]
    """
    eval_cfg = recipe.get("eval") or {}
    if recipe["data"].get("source") in TOY_SOURCES:
        from ganzoo.metrics.mode_coverage import mode_coverage

        spec = _toy_spec(recipe["data"])
        n = int(eval_cfg.get("num_samples", 2500))
        samples = gan.generate(n, seed=seed)
        result = mode_coverage(samples, spec.centers, spec.std)
        return {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in result.items()}
    if eval_cfg.get("protocol") == "digits_classifier":
        from ganzoo.metrics.digits import digits_quality

        report = digits_quality(gan.generate(int(eval_cfg.get("num_samples", 2000)), seed=seed))
        return {k: report[k] for k in ("confident", "classes", "class_kl", "frechet_pca")}
    if eval_cfg.get("protocol") == "digits_classifier_conditional":
        from ganzoo.metrics.digits import conditional_digits_quality

        labels = np.repeat(np.arange(10), max(int(eval_cfg.get("num_samples", 1000)) // 10, 10))
        report = conditional_digits_quality(gan.generate(seed=seed, labels=labels), labels)
        keys = ("class_accuracy", "min_class_accuracy", "mean_class_accuracy", "variety", "mean_variety")
        return {k: report[k] for k in keys}
    return {}


def build(recipe, seed=None):
    """An untrained, compiled GAN for a recipe (name, path or dict).

    Example:
        >>> gan = build("ring8-hinge", seed=0)
    """
    if not isinstance(recipe, dict):
        recipe = recipes.get(recipe)
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    gan = build_gan(recipe["model"])
    gan.compile(**build_optimizers(recipe["optimizers"], gan))
    return gan


def resume_folder(path):
    """The preset folder to resume from: `path` itself, or `path/preset` for a `train` output folder.

    Example:
        >>> resume_folder("runs/ring8")        # written by `ganzoo train ... --out runs/ring8`
        PosixPath('runs/ring8/preset')
    """
    from ganzoo.presets import CONFIG_FILE, check_preset_folder

    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"--resume {path}: no such folder (give a preset folder or a `ganzoo train` output folder).")
    if not (path / CONFIG_FILE).is_file() and (path / "preset").is_dir():
        path = path / "preset"
    check_preset_folder(path)
    return path


def _resume(gan, recipe, path):
    """Load a preset's weights (and optimizer state, when saved) into a compiled GAN built from `recipe`."""
    from ganzoo.presets import _verify_files, check_preset_folder

    folder = resume_folder(path)
    weights = check_preset_folder(folder)
    _verify_files(folder)
    import warnings

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gan.load_weights(folder / weights[0])
        # Keras skips some mismatches (optimizer slots, containers) with a warning only. A preset
        # saved without optimizer state (embedded presets) resumes with fresh optimizers.
        skipped = [
            str(w.message) for w in caught
            if "Skipping" in str(w.message) and "saved optimizer has 0 variables" not in str(w.message)
        ]
        if skipped:
            raise ValueError(skipped[0].strip())
    except (ValueError, KeyError) as e:
        raise ValueError(
            f"cannot resume from {folder}: its weights do not fit recipe {recipe['name']!r} ({e}); resume with "
            "the recipe the preset was trained from (see its metadata.json)."
        ) from None
    return folder


def train(
    recipe, *, out_dir=None, epochs=None, seed=None, data=None, verbose=1, overwrite=False, resume=None,
    distribute=None,
):
    """Train a recipe; optionally write `metrics.json`, `samples.png`, `preset/`.

    Args:
        recipe: registry name, YAML path, or a recipe dict.
        out_dir: output folder (must not exist unless `overwrite`).
        epochs: overrides `training.epochs` (with `resume`: epochs to add).
        seed: seeds weights, data and noise (default `training.seed` or 0).
        data: image data for image recipes (folder, array, `tfds:NAME`).
        resume: a preset folder (or a `train` output folder, whose `preset/`
            is used) to continue from: networks, EMA, step counter and the
            optimizer state saved with it (fresh optimizers when the preset has
            none, as embedded presets). The data order is reseeded with
            `seed + step` so the resumed run sees fresh batches; the latent
            noise stream restarts from `seed`. Also a way to fine-tune on new
            `data` (see `ganzoo.finetune` for FreezeD).
        distribute: a `ganzoo.distribute.DataParallel` (from
            `ganzoo.distribute.strategy()`): the model is built and trained
            inside it, `training.batch_size` is the global batch, and only
            the chief process writes `out_dir`.

    Returns:
        `(gan, metrics)`.

    Example:
        >>> gan, metrics = train("ring8-nsgan", epochs=1, verbose=0)
        >>> gan, metrics = train("ring8-nsgan", epochs=1, resume="runs/ring8")
    """
    if not isinstance(recipe, dict):
        recipe = recipes.get(recipe)
    if out_dir is not None:
        out_dir = Path(out_dir)
        if out_dir.exists() and not overwrite:
            raise FileExistsError(f"{out_dir} already exists; choose another --out or pass --overwrite.")
    train_cfg = recipe["training"]
    epochs = int(epochs if epochs is not None else train_cfg.get("epochs", 1))
    seed = int(seed if seed is not None else train_cfg.get("seed", 0))
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}.")

    from ganzoo import distribute as distribute_lib

    dp = distribute or distribute_lib.DataParallel(keras.backend.backend(), 1)
    start = time.perf_counter()
    with dp:
        rank = distribute_lib.rank()  # torch joins its process group on entering
        gan = build(recipe, seed=seed)
        start_step, resumed_from = 0, None
        if resume is not None:
            resumed_from = str(_resume(gan, recipe, resume))
            start_step = int(gan.step_counter.numpy())
        x, fit_kwargs = make_dataset(recipe, epochs, seed + start_step, data=data)
        _check_classes(gan, recipe, getattr(x, "class_names", None))
        x, fit_kwargs = _shard(dp, x, fit_kwargs, recipe)
        history = gan.fit(x, epochs=epochs, verbose=verbose if rank == 0 else 0, **fit_kwargs)
    seconds = time.perf_counter() - start

    metrics = evaluate(gan, recipe, seed=seed + 12345)
    metrics.update(
        {
            "recipe": recipe["name"],
            "seconds": round(seconds, 2),
            "backend": keras.backend.backend(),
            "epochs": epochs,
            "seed": seed,
            "steps": int(gan.step_counter.numpy()),
            "replicas": dp.num_replicas,
            **({"rank": rank} if dp.num_replicas > 1 else {}),
            **({"resumed_from": resumed_from, "start_step": start_step} if resumed_from else {}),
            "final_logs": {k: float(v[-1]) for k, v in history.history.items()},
        }
    )
    if out_dir is not None and rank == 0:
        _write_outputs(gan, recipe, metrics, out_dir, overwrite)
    return gan, metrics


def _check_classes(gan, recipe, class_names):
    """The data's class count must be the model's `num_classes` (a one-line error otherwise)."""
    num_classes = getattr(gan, "num_classes", 0)
    if class_names is None or not num_classes or len(class_names) == num_classes:
        return
    shown = ", ".join(map(str, class_names[:12])) + (", ..." if len(class_names) > 12 else "")
    raise ValueError(
        f"{recipe['name']} is built for {num_classes} classes (model.num_classes) but the data has "
        f"{len(class_names)} ({shown}); use data with {num_classes} class sub-folders or change model.num_classes "
        "and the networks' num_classes."
    )


def _shard(dp, x, fit_kwargs, recipe):
    """Split the training data across `dp`'s replicas (a no-op on one device).

    Arrays go through `DataParallel.shard`; a `tf.data` pipeline of global
    batches is fed whole by a single process (Keras splits each batch) and,
    with several processes (torch ranks, TF workers, JAX hosts), rebatched to
    `batch / processes` and split so each process reads its own batches, the
    same number on every process.
    """
    from ganzoo import distribute as distribute_lib

    if dp.num_replicas == 1:
        return x, fit_kwargs
    batch_size = int(fit_kwargs.get("batch_size") or recipe["training"].get("batch_size", 64))
    if isinstance(x, np.ndarray):
        x, local = dp.shard(x, batch_size=batch_size)
        return x, {**fit_kwargs, "batch_size": local}
    if dp.num_processes == 1:
        return x, fit_kwargs
    world, rank = dp.num_processes, distribute_lib.rank()
    if batch_size % world:
        raise ValueError(
            f"training.batch_size {batch_size} is not divisible by the {world} processes; "
            "use a multiple of the process count."
        )
    local = x.unbatch().batch(batch_size // world, drop_remainder=True)
    total = int(local.cardinality())
    local = local.shard(world, rank)
    if total >= 0:  # finite: every rank must run the same number of steps
        local = local.take(total // world)
    return local, fit_kwargs


def _write_outputs(gan, recipe, metrics, out_dir, overwrite):
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        with open(tmp / "metrics.json", "w") as f:
            json.dump(metrics, f, indent=2)
        write_samples(gan, tmp / "samples.png", recipe=recipe)
        gan.save_to_preset(tmp / "preset", recipe=recipe, metrics=metrics)
        if out_dir.exists() and overwrite:
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
