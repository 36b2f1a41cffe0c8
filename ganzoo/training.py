"""Train a recipe end to end: data, model, fit, evaluation, outputs.

`ganzoo train` and the benchmark tests call `train()`; the outputs are
written atomically (to a temporary sibling, renamed when complete), so an
interrupted run never leaves a half-written folder behind; while training,
the output folder holds only checkpoints (`ganzoo.checkpoint`), from which
`train(..., resume=out_dir)` continues an interrupted run.

Example:
    >>> from ganzoo.training import train
    >>> gan, metrics = train("ring8-nsgan", out_dir="runs/ring8", epochs=2)
    >>> metrics["modes"], metrics["high_quality"]
"""

import contextlib
import os
import shutil
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
    if data_cfg.get("source") in TOY_SOURCES and not (isinstance(source, str) and source in TOY_SOURCES):
        # Without this the image path below fails on the missing data.resolution as a bare KeyError.
        given = repr(os.fspath(data)) if isinstance(data, (str, os.PathLike)) else f"a {type(data).__name__}"
        raise ValueError(
            f"{recipe['name']} is a toy recipe: it trains on 2-D points drawn from {data_cfg['source']} "
            f"(data.source), not on --data {given}; drop --data, or train an image recipe (e.g. dcgan-digits)."
        )
    if data_cfg.get("kind") is not None:
        # A registered data maker (paired / inpainting / unpaired ... data): ganzoo.data registers them.
        import ganzoo.data
        from ganzoo.engine import registry

        ganzoo.data.load_data_kinds()

        maker = registry.lookup("dataset", data_cfg["kind"], where=f"{recipe['name']}: data.kind")
        return maker(recipe, source, epochs=epochs, seed=seed)
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
        resolution=_recipe_resolution(recipe),
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


def _recipe_resolution(recipe):
    """`data.resolution` as an int, or a one-line error naming the key; used by `make_dataset`.

    Example:
        >>> _recipe_resolution({"name": "r", "data": {"resolution": 32}})
        32
    """
    value = recipe["data"].get("resolution")
    if value is None:
        raise ValueError(
            f"{recipe['name']}: data.resolution is missing; an image recipe needs the side of its images "
            "(e.g. data: {resolution: 32})."
        )
    number = int(value) if isinstance(value, str) and value.strip().isdigit() else value
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ValueError(f"{recipe['name']}: data.resolution must be a positive int, got {value!r}.")
    return number


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
    with precision_scope(recipe["training"].get("precision")):
        gan = build_gan(recipe["model"])
        gan.compile(**build_optimizers(recipe["optimizers"], gan))
    return gan


# training.precision -> Keras dtype policy. bf16 is Keras's mixed policy: bfloat16 compute with
# float32 variables (so optimizer slots and the EMA are float32); the engine keeps D's logits,
# losses and the penalties' gradients float32.
PRECISIONS = {"fp32": "float32", "bf16": "mixed_bfloat16"}


@contextlib.contextmanager
def precision_scope(precision):
    """Build layers under the dtype policy of `training.precision` ("fp32", "bf16" or None).

    The layers keep the policy they were built with; the global policy is
    restored on exit.

    Example:
        >>> with precision_scope("bf16"):
        ...     gan = build_gan(recipe["model"])     # bfloat16 compute, float32 variables
    """
    if precision is None:
        yield
        return
    if precision not in PRECISIONS:
        raise ValueError(f"training.precision must be one of {sorted(PRECISIONS)}, got {precision!r}.")
    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(PRECISIONS[precision])
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)


def resume_folder(path):
    """The preset folder to resume from: `path` itself, `path/preset` for a `train` output
    folder, or, when `path` is no folder but a registry name with weights (`ganzoo list`),
    that model's preset folder (embedded in the package, or fetched from its weight sources).

    Example:
        >>> resume_folder("runs/ring8")        # written by `ganzoo train ... --out runs/ring8`
        PosixPath('runs/ring8/preset')
        >>> resume_folder("dcgan-digits").name  # a registry name: its embedded preset
        'dcgan-digits'
    """
    from ganzoo.presets import CONFIG_FILE, check_preset_folder

    text = os.fspath(path)
    path = Path(path)
    if not path.is_dir() and os.sep not in text and not text.startswith("."):
        path = _registry_preset(text) or path
    if not path.is_dir():
        raise FileNotFoundError(
            f"--resume {path}: no such folder or registry model (give a preset folder, a `ganzoo train` "
            "output folder or a registry name with weights)."
        )
    if not (path / CONFIG_FILE).is_file() and (path / "preset").is_dir():
        path = path / "preset"
    check_preset_folder(path)
    return path


def _registry_preset(name):
    """The local preset folder of registry model `name` (None when no such recipe)."""
    try:
        recipe = recipes.get(name)
    except (ValueError, OSError):
        return None
    if not recipe.get("weights"):
        raise ValueError(
            f"--resume {name}: the registry recipe {name!r} has no pretrained weights; resume from a preset "
            "folder or a `ganzoo train` output folder."
        )
    from ganzoo import sources

    tried = []
    for src in sources.normalize(recipe):
        try:
            return Path(sources.fetch(recipe, src))
        except (OSError, ValueError, ImportError) as e:
            tried.append(f"{sources.describe(src)}: {e}")
    raise OSError(f"--resume {name}: could not get its weights ({'; '.join(tried)}).")


def _load_into(gan, recipe, folder, weights_path):
    """`gan.load_weights(weights_path)`, refusing (one line) weights that do not fit `recipe`."""
    import warnings

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gan.load_weights(weights_path)
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


def _resume(gan, recipe, path):
    """Load a preset's weights (and optimizer state, when saved) into a compiled GAN built from `recipe`."""
    from ganzoo.presets import _verify_files, check_preset_folder

    folder = resume_folder(path)
    weights = check_preset_folder(folder)
    _verify_files(folder)
    _load_into(gan, recipe, folder, folder / weights[0])
    return folder


def train(
    recipe, *, out_dir=None, epochs=None, seed=None, data=None, verbose=1, overwrite=False, resume=None,
    distribute=None, checkpoint_every=None, checkpoint_minutes=10.0, callbacks=None,
):
    """Train a recipe; optionally write `metrics.json`, `samples.png`, `preset/`.

    While training, `out_dir` holds checkpoints (`out_dir/checkpoint/`, see
    `ganzoo.checkpoint`): every `checkpoint_every` steps, every
    `checkpoint_minutes`, at each epoch end and on Ctrl-C, which then raises
    `TrainingInterrupted` saying how to resume. When training ends the
    folder is replaced by the finished outputs (written to a hidden sibling
    first, so a failure leaves the checkpoint in place).

    Args:
        recipe: registry name, YAML path, or a recipe dict.
        out_dir: output folder (must not exist unless `overwrite`, which only
            replaces folders ganzoo wrote; never the data or a folder around it).
        epochs: overrides `training.epochs` (with `resume` of a finished run:
            epochs to add; of an interrupted run: the run's total, by default
            the one it was started with).
        seed: seeds weights, data and noise (default `training.seed` or 0).
        data: image data for image recipes (folder, array, `tfds:NAME`).
        resume: an interrupted run's `out_dir` (its checkpoint): training
            continues to the same result as an uninterrupted run (same data
            order, same noise). Or a preset folder, a finished `train` output
            folder (its `preset/`), or a registry name with weights, to
            continue from: networks, EMA, step counter and the optimizer state
            saved with it (fresh optimizers when the preset has none, as
            embedded presets); the data order is then reseeded with
            `seed + step`. Also a way to fine-tune on new `data` (see
            `ganzoo.finetune` for FreezeD).
        distribute: a `ganzoo.distribute.DataParallel` (from
            `ganzoo.distribute.strategy()`): the model is built and trained
            inside it, `training.batch_size` is the global batch, and only
            the chief process writes `out_dir` (no checkpoints with several
            processes).
        checkpoint_every: also checkpoint every this many steps (None: no).
        checkpoint_minutes: also checkpoint every this many minutes (None: no).
        callbacks: extra Keras callbacks for `fit`.

    Returns:
        `(gan, metrics)`.

    Example:
        >>> gan, metrics = train("ring8-nsgan", epochs=1, verbose=0)
        >>> gan, metrics = train("ring8-nsgan", epochs=1, resume="runs/ring8")
        >>> train("ring8-nsgan", out_dir="runs/r", checkpoint_every=500)   # Ctrl-C: TrainingInterrupted
        >>> train("ring8-nsgan", out_dir="runs/r", resume="runs/r")        # continues it
    """
    from ganzoo import checkpoint as ckpt_lib

    if not isinstance(recipe, dict):
        recipe = recipes.get(recipe)
    train_cfg = recipe["training"]
    state = None
    if resume is not None and os.path.isdir(resume):
        state = ckpt_lib.find_checkpoint(resume)
    if state is not None:
        if seed is not None and int(seed) != int(state["seed"]):
            raise ValueError(f"the interrupted run in {resume} used seed {state['seed']}; resume it without --seed.")
        seed, epochs = int(state["seed"]), int(epochs if epochs is not None else state["epochs"])
    epochs = int(epochs if epochs is not None else train_cfg.get("epochs", 1))
    seed = int(seed if seed is not None else train_cfg.get("seed", 0))
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}.")
    if out_dir is not None:
        out_dir = Path(out_dir)
        _check_out_dir(out_dir, overwrite=overwrite, data=data, recipe=recipe, resume=resume, state=state)

    from ganzoo import distribute as distribute_lib

    dp = distribute or distribute_lib.DataParallel(keras.backend.backend(), 1)
    start = time.perf_counter()
    with dp:
        rank = distribute_lib.rank()  # torch joins its process group on entering
        if out_dir is not None and rank == 0:
            ckpt_lib.clean_stale_temps(out_dir)
        gan = build(recipe, seed=seed)
        if state is not None:
            _load_into(gan, recipe, state["folder"], state["weights_path"])
            ckpt_lib.restore_unsaved_variables(gan, state)  # the noise stream continues
            resumed_from, plan_start, data_seed = state.get("resumed_from"), state["plan_start_step"], state["data_seed"]
        elif resume is not None:
            resumed_from = str(_resume(gan, recipe, resume))
            plan_start = int(gan.step_counter.numpy())
            data_seed = seed + plan_start
        else:
            resumed_from, plan_start, data_seed = None, 0, seed
        step = int(gan.step_counter.numpy())
        x, fit_kwargs = make_dataset(recipe, epochs, data_seed, data=data)
        if getattr(x, "preview_sources", None) is not None:  # a translator's samples.png: source | output
            gan.preview_sources = x.preview_sources
        _check_classes(gan, recipe, getattr(x, "class_names", None))
        segments, steps_per_epoch = _fit_segments(x, fit_kwargs, step - plan_start, epochs, recipe)

        def checkpoint_state(at_step):
            return {
                "recipe": recipe["name"], "seed": seed, "epochs": epochs, "step": at_step,
                "plan_start_step": plan_start, "data_seed": data_seed, "steps_per_epoch": steps_per_epoch,
                "resumed_from": resumed_from, "backend": keras.backend.backend(), "final_logs": {**final_logs, **checkpointer.logs},
            }

        writes = out_dir is not None and rank == 0 and getattr(dp, "num_processes", 1) == 1
        checkpointer = ckpt_lib.Checkpointer(
            out_dir if writes else None, checkpoint_state, every=checkpoint_every, minutes=checkpoint_minutes,
            step0=step,
        )
        final_logs = dict((state or {}).get("final_logs") or {})
        try:
            with checkpointer.catch_sigint():
                for seg_x, seg_kwargs, first, last in segments:
                    seg_x, seg_kwargs = _shard(dp, seg_x, seg_kwargs, recipe)
                    history = gan.fit(
                        seg_x, epochs=last, initial_epoch=first, verbose=verbose if rank == 0 else 0,
                        callbacks=[*(callbacks or []), checkpointer], **seg_kwargs,
                    )
                    final_logs.update({k: float(v[-1]) for k, v in history.history.items() if v})
                    if checkpointer.interrupted:
                        break
        except KeyboardInterrupt:
            raise _interrupted(recipe, out_dir if writes else None, checkpointer, resume, saved_now=False) from None
        if checkpointer.interrupted:
            raise _interrupted(recipe, out_dir if writes else None, checkpointer, resume, saved_now=True)
        if segments and int(gan.step_counter.numpy()) == step:  # else an untrained model is saved as a result
            raise ValueError(
                f"{recipe['name']}: trained 0 steps: the data gave no full batch of training.batch_size="
                f"{recipe['training'].get('batch_size', 64)} (fewer images than one batch); add images, or lower "
                "training.batch_size."
            )
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
            **({"resumed_from": resumed_from, "start_step": plan_start} if resumed_from else {}),
            **({"continued_from_step": step} if state is not None else {}),
            "final_logs": final_logs,
        }
    )
    if out_dir is not None and rank == 0:
        _write_outputs(gan, recipe, metrics, out_dir)
    return gan, metrics


def _interrupted(recipe, out_dir, checkpointer, resume, saved_now):
    """The `TrainingInterrupted` error for a stopped run: where its checkpoint is, how to resume."""
    from ganzoo.checkpoint import TrainingInterrupted, find_checkpoint

    found = find_checkpoint(out_dir) if out_dir is not None and out_dir.is_dir() else None
    if found is None:
        where = "no checkpoint was saved" + ("" if out_dir is not None else " (no output folder)")
        return TrainingInterrupted(f"training of {recipe['name']} interrupted; {where}.", out_dir, None)
    when = "" if saved_now else " (the last checkpoint; later steps are lost)"
    return TrainingInterrupted(
        f"training of {recipe['name']} interrupted at step {found['step']}; checkpoint saved in "
        f"{found['folder']}{when}; continue with: ganzoo train {recipe['name']} --out {out_dir} --resume {out_dir}",
        out_dir, found["step"],
    )


def _data_paths(data, recipe):
    """Local paths among `data` and the recipe's data source (toy, tfds and builtin sources are none)."""
    paths = []
    for source in (data, recipe["data"].get("source")):
        if isinstance(source, (str, os.PathLike)) and ":" not in os.fspath(source)[:8] and os.path.exists(source):
            paths.append(Path(source).resolve())
    return paths


def _check_out_dir(out_dir, *, overwrite, data, recipe, resume, state):
    """Refuse (one line) an `out_dir` that is, holds or lies inside the data, or that
    would replace a folder ganzoo did not write."""
    from ganzoo.checkpoint import is_run_folder

    out = out_dir.resolve()
    for src in _data_paths(data, recipe):
        if out == src or out in src.parents or src in out.parents:
            how = "is" if out == src else ("contains" if out in src.parents else "is inside")
            raise ValueError(f"--out {out_dir} {how} the training data {src}; choose an --out outside the data.")
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise FileExistsError(f"--out {out_dir} is a file; choose another --out.")
    interrupted = (out_dir / "checkpoint" / "state.json").is_file()
    if interrupted and state is not None and Path(resume).resolve() == out:
        return  # continuing an interrupted run into its own folder
    if not overwrite:
        hint = f" (it holds an interrupted run: continue it with --resume {out_dir})" if interrupted else ""
        raise FileExistsError(f"{out_dir} already exists{hint}; choose another --out or pass --overwrite.")
    if not (is_run_folder(out_dir) or _legacy_run_folder(out_dir)):
        raise FileExistsError(
            f"refusing to --overwrite {out_dir}: it is not a folder written by `ganzoo train` (no .ganzoo-run "
            "marker); remove it yourself or choose another --out."
        )


def _legacy_run_folder(path):
    """A run folder of an older ganzoo (no marker): only metrics.json, samples.png and preset/."""
    names = {p.name for p in path.iterdir()}
    return "preset" in names and (path / "preset" / "config.json").is_file() and names <= {
        "metrics.json", "samples.png", "preset"
    }


def _steps_per_epoch(x, fit_kwargs):
    if "steps_per_epoch" in fit_kwargs:
        return int(fit_kwargs["steps_per_epoch"])
    cardinality = int(x.cardinality()) if hasattr(x, "cardinality") else -1
    return cardinality if cardinality > 0 else None


def _skip_batches(x, fit_kwargs, skip, steps_per_epoch):
    """`(x, fit_kwargs)` that start `skip` batches into the run's data stream, `steps_per_epoch` per epoch.

    Toy arrays are drawn whole for the run and read in order (no shuffle), so
    slicing continues the stream exactly; a `tf.data` pipeline is skipped
    (repeated first when each epoch was one pass), the same batches when the
    pipeline is deterministic for its seed.
    """
    if isinstance(x, np.ndarray):
        batch = int(fit_kwargs["batch_size"])
        return x[skip * batch:], {**fit_kwargs, "steps_per_epoch": steps_per_epoch}
    class_names = getattr(x, "class_names", None)  # an attribute: re-attached below
    if "steps_per_epoch" not in fit_kwargs:
        x = x.repeat()
    x = x.skip(skip)
    x.class_names = class_names
    return x, {**fit_kwargs, "steps_per_epoch": steps_per_epoch}


def _fit_segments(x, fit_kwargs, done, epochs, recipe):
    """The `fit` calls that train batches `done..epochs*steps` of the run: `[(x, kwargs, initial_epoch, epochs)]`.

    A fresh run is one call with the data unchanged; a run resumed mid-epoch
    first finishes that epoch, then runs the remaining epochs.
    """
    steps = _steps_per_epoch(x, fit_kwargs)
    if done == 0:
        return [(x, fit_kwargs, 0, epochs)], steps
    if steps is None:
        raise ValueError(
            f"cannot continue {recipe['name']} mid-run: its data has no known length; set training.steps_per_epoch."
        )
    first, partial = divmod(done, steps)
    if first + (partial > 0) > epochs:
        raise ValueError(
            f"the interrupted run of {recipe['name']} already trained {done} steps ({done / steps:g} epochs); "
            f"resume with --epochs {first + (partial > 0)} or more."
        )
    segments = []
    if partial:
        segments.append((*_skip_batches(x, fit_kwargs, done, steps - partial), first, first + 1))
        first += 1
    if first < epochs:
        segments.append((*_skip_batches(x, fit_kwargs, first * steps, steps), first, epochs))
    return segments, steps


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


def _write_outputs(gan, recipe, metrics, out_dir):
    """Write metrics.json, samples.png and preset/ to a hidden marked sibling, then put it in place.

    A full disk gives one line naming the file, the space needed and the
    checkpoint that still holds the trained weights; the sibling is removed.
    """
    from ganzoo import checkpoint as ckpt_lib
    from ganzoo.engine.preset_io import weights_nbytes

    kept = out_dir / ckpt_lib.CHECKPOINT_DIR if (out_dir / ckpt_lib.CHECKPOINT_DIR / ckpt_lib.STATE_FILE).is_file() else None
    needed = weights_nbytes(gan) + 2 * 2**20  # the weights, plus room for samples, metadata and card
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    ckpt_lib.check_free_space(out_dir.parent, needed, out_dir, kept)
    tmp = ckpt_lib.make_temp_run_folder(out_dir)
    writing = out_dir / "metrics.json"
    try:
        ckpt_lib.write_json(tmp / "metrics.json", metrics, non_finite_key="non_finite")
        writing = out_dir / "samples.png"
        write_samples(gan, tmp / "samples.png", recipe=recipe)
        writing = out_dir / "preset"
        gan.save_to_preset(tmp / "preset", recipe=recipe, metrics=metrics)
        writing = out_dir
        ckpt_lib.replace_folder(tmp, out_dir)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, Exception) and ckpt_lib.is_no_space(e):
            raise ckpt_lib.no_space_error(writing, needed, kept) from None
        raise
