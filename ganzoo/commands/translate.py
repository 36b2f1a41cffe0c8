"""`ganzoo translate NAME INPUT --out OUTPUT`: run an image-to-image model on files.

    ganzoo translate pix2pix-facades labels.png --out photo.png
    ganzoo translate cyclegan-horse2zebra horses/ --out zebras/ --direction a2b
    ganzoo translate pix2pix-inpaint photo.png --mask hole.png --out filled.png

INPUT is one PNG/JPEG file (OUTPUT: a .png file, or a folder) or a folder of
them (OUTPUT: a folder; files keep their names, as .png). Each image is
converted to the model's channels (RGB or grayscale, said once on stderr),
resized to the nearest size the network takes (a U-Net: multiples of
2^depth; a fixed-size model: its size; stated when it happens), translated,
and resized back to its original size. `--direction` is for two-way models
(CycleGAN); on a one-way model it is an error. `--mask` (inpainting models):
a PNG whose white (> 127) pixels are the hole, one file for every input or a
folder with the inputs' file names.
"""

import os
import sys
from pathlib import Path

EXTENSIONS = (".png", ".jpg", ".jpeg")


def add_parser(subparsers):
    """Register `ganzoo translate` on an argparse subparsers object.

    Example:
        >>> import argparse
        >>> sub = argparse.ArgumentParser().add_subparsers()
        >>> add_parser(sub).parse_args(["pix2pix-facades", "in.png", "--out", "o.png"]).direction is None
        True
    """
    p = subparsers.add_parser(
        "translate",
        help="translate images with an image-to-image model (pix2pix, CycleGAN, inpainting)",
        description="Translate one PNG/JPEG file or a folder of them with an image-to-image model "
        "(registry name, preset folder, .keras file or hf://org/repo). Outputs are PNG at the "
        "input's size (images are resized to a size the network takes and back).",
    )
    p.add_argument("name", help="registry name, preset folder, .keras file, or hf://org/repo[@rev]")
    p.add_argument("input", help="an image file (PNG/JPEG) or a folder of them")
    p.add_argument("--out", required=True, help="output .png file (one input) or folder")
    p.add_argument("--direction", choices=("a2b", "b2a"), help="for two-way models (CycleGAN); default a2b")
    p.add_argument("--mask", help="inpainting models: hole mask PNG (white = hole), or a folder of masks")
    p.add_argument("--batch-size", type=int, default=8,
                   help="images read at a time; those of one shape share a network call (default 8)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or notes")
    p.add_argument("--backend", choices=("tensorflow", "jax", "torch"), help="Keras backend")
    p.set_defaults(func=run)
    return p


def input_files(path):
    """The image files to translate: `[path]` for a file, the sorted PNG/JPEG files of a folder.

    Example:
        >>> input_files("photo.png")   # doctest: +SKIP
        [PosixPath('photo.png')]
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir()
                       if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in EXTENSIONS)
        if not files:
            raise ValueError(f"{path} holds no PNG/JPEG images to translate.")
        return files
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    if path.suffix.lower() not in EXTENSIONS:
        raise ValueError(f"{path}: translate reads PNG or JPEG images (.png, .jpg, .jpeg).")
    return [path]


def output_paths(files, input_path, out):
    """Where each translation goes: OUTPUT itself for one file to a .png, else OUTPUT/<name>.png.

    Example:
        >>> output_paths([Path("a.jpg")], "a.jpg", "b.png")
        [PosixPath('b.png')]
    """
    out = Path(out)
    if len(files) == 1 and not Path(input_path).is_dir() and out.suffix.lower() == ".png":
        return [out]
    if out.suffix.lower() in EXTENSIONS and not out.is_dir():
        raise ValueError(f"--out {out} is a file name but INPUT is a folder of {len(files)} images; give a folder.")
    return [out / (f.stem + ".png") for f in files]


def check_args(args):
    """Checks that need no backend: numbers, files, --mask.

    Example:
        >>> import argparse
        >>> check_args(argparse.Namespace(batch_size=0, input="x", out="y", mask=None, name="m"))
        Traceback (most recent call last):
        ValueError: --batch-size must be >= 1, got 0
    """
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
    files = input_files(args.input)
    outs = output_paths(files, args.input, args.out)
    masks = mask_files(args.mask, files) if args.mask else None
    return files, outs, masks


def mask_files(mask, files):
    """The mask file of each input: one file for all, or `MASK/<input name>` (any image extension).

    Example:
        >>> mask_files("hole.png", [Path("a.png"), Path("b.png")])   # doctest: +SKIP
        [PosixPath('hole.png'), PosixPath('hole.png')]
    """
    mask = Path(mask)
    if mask.is_dir():
        out = []
        for f in files:
            found = [mask / (f.stem + ext) for ext in EXTENSIONS if (mask / (f.stem + ext)).is_file()]
            if not found:
                raise ValueError(f"--mask folder {mask} has no mask for {f.name} (expected {mask / (f.stem + '.png')}).")
            out.append(found[0])
        return out
    if not mask.is_file():
        raise FileNotFoundError(f"--mask: no such file or folder: {mask}")
    return [mask] * len(files)


def read_image(path, channels):
    """A PNG/JPEG file as float32 (H, W, channels) in [-1, 1]; RGB <-> grayscale converted.

    Returns `(image, converted)` where `converted` names the conversion (or None).

    Example:
        >>> image, note = read_image("photo.jpg", 3)   # doctest: +SKIP
    """
    import numpy as np
    from PIL import Image

    try:
        with Image.open(path) as im:
            mode = im.mode
            im = im.convert("L" if channels == 1 else "RGB")
            arr = np.asarray(im, dtype="float32")
    except OSError as e:
        raise ValueError(f"cannot read image {path}: {e}") from None
    if arr.ndim == 2:
        arr = arr[..., None]
    note = None
    if channels == 1 and mode not in ("L", "1", "I;16", "I", "F"):
        note = "RGB inputs converted to grayscale (the model takes 1 channel)"
    elif channels == 3 and mode in ("L", "1", "I;16", "I", "F", "LA"):
        note = "grayscale inputs converted to RGB (the model takes 3 channels)"
    return arr / 127.5 - 1.0, note


def resize(image, size, method="bicubic"):
    """Resize an (H, W, C) float image to `size` (h, w); a no-op when it has that size.

    Example:
        >>> resize(np.zeros((10, 12, 3), "float32"), (16, 16)).shape   # doctest: +SKIP
        (16, 16, 3)
    """
    import numpy as np
    from PIL import Image

    h, w = size
    if image.shape[:2] == (h, w):
        return image
    resample = Image.BICUBIC if method == "bicubic" else Image.NEAREST
    planes = [np.asarray(Image.fromarray(image[..., c].astype("float32"), mode="F").resize((w, h), resample))
              for c in range(image.shape[-1])]
    return np.stack(planes, axis=-1).astype("float32")


def network_size(model, direction, height, width):
    """The (h, w) the model's network takes for an input of `height x width`.

    A model's `valid_size(h, w)` when it has one (the U-Net's multiples of
    2^depth); else the network's declared input size, or the input's own.

    Example:
        >>> network_size(pix2pix, "a2b", 250, 300)   # doctest: +SKIP
        (256, 256)
    """
    if hasattr(model, "valid_size"):
        return tuple(model.valid_size(height, width))
    network = model.translation_network(direction)
    declared = tuple(network.inputs[0].shape[1:3]) if getattr(network, "inputs", None) else (None, None)
    if None not in declared:
        return int(declared[0]), int(declared[1])
    return height, width


def translate_files(model, files, outs, *, direction=None, masks=None, batch_size=8, note=print, progress=False):
    """Translate image files to PNG files at their original sizes. Returns the count.

    Example:
        >>> translate_files(gan, [Path("a.png")], [Path("out/a.png")])   # doctest: +SKIP
        1
    """
    import numpy as np

    from ganzoo.utils.images import save_png, to_uint8

    direction = model.resolve_direction(direction)
    network = model.translation_network(direction)
    inpainting = hasattr(model, "inpaint")
    if masks is not None and not inpainting:
        raise ValueError(f"{type(model).__name__} is not an inpainting model; drop --mask.")
    if inpainting and masks is None:
        raise ValueError(f"{type(model).__name__} fills holes: give --mask MASK.png (white = hole).")
    in_channels = network.inputs[0].shape[-1] - (1 if inpainting else 0)
    notes, said = set(), set()  # said: each note once per run, not once per batch
    done = 0
    starts = range(0, len(files), batch_size)
    if len(starts) > 1 and progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc="translating", unit="batch", leave=False)
    for start in starts:
        chunk = list(range(start, min(start + batch_size, len(files))))
        images, sizes, mask_arrays = [], [], []
        for i in chunk:
            image, converted = read_image(files[i], in_channels)
            if converted:
                notes.add(converted)
            size = network_size(model, direction, *image.shape[:2])
            if size != image.shape[:2]:
                notes.add(f"{files[i].name}: {image.shape[0]}x{image.shape[1]} resized to {size[0]}x{size[1]} "
                          "for the network and back")
            sizes.append(image.shape[:2])
            images.append(resize(image, size))
            if masks is not None:
                m, _ = read_image(masks[i], 1)
                if m.shape[:2] != image.shape[:2]:
                    raise ValueError(f"--mask {masks[i]} is {m.shape[0]}x{m.shape[1]} but {files[i]} is "
                                     f"{image.shape[0]}x{image.shape[1]}; the mask needs the image's size.")
                mask_arrays.append((resize(m, size, method="nearest") > 0.0).astype("float32"))
        for text in sorted(notes - said):
            note(text)
        said |= notes
        notes.clear()
        # Images of one batch may differ in size: one network call per shape in the batch.
        groups = {}
        for i, image in enumerate(images):
            groups.setdefault(image.shape, []).append(i)
        for members in groups.values():
            stack = np.stack([images[i] for i in members])
            if masks is not None:
                results = model.inpaint(stack, np.stack([mask_arrays[i] for i in members]))
            else:
                results = model.translate(stack, direction=direction)
            for i, out in zip(members, results):
                path = outs[chunk[i]]
                path.parent.mkdir(parents=True, exist_ok=True)
                save_png(path, to_uint8(resize(out, sizes[i])))
                done += 1
    return done


def run(args):
    """Run `ganzoo translate`; returns the exit status.

    Example:
        >>> from ganzoo.cli import main
        >>> main(["translate", "pix2pix-facades", "in.png", "--out", "out.png"])   # doctest: +SKIP
        0
    """
    files, outs, masks = check_args(args)

    from ganzoo.cli import import_tensorflow_quietly

    if (args.backend or os.environ.get("KERAS_BACKEND", "tensorflow")) == "tensorflow":
        import_tensorflow_quietly()
    import ganzoo

    model = ganzoo.load(args.name)
    if not hasattr(model, "translate"):
        raise ValueError(f"{args.name} ({type(model).__name__}) draws samples from latents, it does not translate "
                         f"images: use `ganzoo sample {args.name} --out grid.png`.")
    model.resolve_direction(args.direction)  # one-way models refuse --direction before any file is read
    if args.direction is not None and len(tuple(model.translation_directions())) == 1:
        raise ValueError(f"{args.name} translates one way only ({model.translation_directions()[0]}); "
                         "drop --direction.")

    def note(text):
        if not args.quiet:
            print(f"note: {text}", file=sys.stderr)

    count = translate_files(model, files, outs, direction=args.direction, masks=masks,
                            batch_size=args.batch_size, note=note, progress=not args.quiet)
    where = outs[0] if len(outs) == 1 else outs[0].parent
    print(f"wrote {count} translated image{'s' if count != 1 else ''} to {where}")
    return 0
