"""Fine-tuning a pretrained GAN on new data, with FreezeD.

FreezeD (Mo, Cho & Shin 2020, "Freeze the Discriminator: a Simple Baseline
for Fine-Tuning GANs", arXiv 2002.10964) keeps the lower layers of the
pretrained discriminator fixed and fine-tunes only its upper layers (and the
whole generator). Frozen layers keep their weights and, for normalization
layers, their moving statistics (a frozen BatchNormalization runs in
inference mode).

The discriminator is split into *blocks*: each top-level layer that owns
weights starts a block, and a normalization layer joins the block before
it. For the DCGAN discriminator at 32x32 that gives
`[down0] [down1, down1_norm] [down2, down2_norm] [logit]`;
`freeze_d_layers=2` freezes the first two.

Example:
    >>> import ganzoo
    >>> from ganzoo.finetune import prepare_finetune
    >>> gan = ganzoo.load("dcgan-digits")
    >>> prepare_finetune(gan, freeze_d_layers=2)
    >>> gan.fit(my_images, batch_size=64, epochs=5)
"""

import keras

_NORMALIZATIONS = (
    keras.layers.BatchNormalization,
    keras.layers.LayerNormalization,
    keras.layers.GroupNormalization,
)


def discriminator_blocks(discriminator):
    """The discriminator's blocks (lists of layers), input side first.

    Example:
        >>> [[l.name for l in b] for b in discriminator_blocks(gan.discriminator)]
        [['down0'], ['down1', 'down1_norm'], ['down2', 'down2_norm'], ['logit']]
    """
    blocks = []
    for layer in getattr(discriminator, "layers", []):
        if not layer.weights:
            continue
        if isinstance(layer, _NORMALIZATIONS) and blocks:
            blocks[-1].append(layer)
        else:
            blocks.append([layer])
    return blocks


def freeze_discriminator_layers(gan, n):
    """Freeze the first `n` discriminator blocks (FreezeD); return their layer names.

    `n=0` unfreezes nothing and freezes nothing. Call before `compile` so the
    discriminator optimizer is built over the trainable layers only.

    Example:
        >>> freeze_discriminator_layers(gan, 2)
        ['down0', 'down1', 'down1_norm']
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"freeze_d_layers must be an int >= 0 (blocks to freeze), got {n!r}.")
    discriminator = getattr(gan, "discriminator", None)
    if discriminator is None:
        raise ValueError(
            "this model has no discriminator (was it loaded with generator_only=True?); "
            "load the full model with ganzoo.load(spec) to fine-tune it."
        )
    blocks = discriminator_blocks(discriminator)
    if n >= len(blocks):
        names = " | ".join(", ".join(layer.name for layer in block) for block in blocks)
        raise ValueError(
            f"freeze_d_layers={n} would freeze the whole discriminator, which has {len(blocks)} blocks "
            f"({names}); use at most {len(blocks) - 1}."
        )
    frozen = []
    for block in blocks[:n]:
        for layer in block:
            layer.trainable = False
            frozen.append(layer.name)
    return frozen


def prepare_finetune(gan, *, freeze_d_layers=0, g_optimizer=None, d_optimizer=None, recipe=None, **compile_kwargs):
    """Get a loaded GAN ready to fine-tune: freeze D's first blocks, compile fresh optimizers.

    Args:
        gan: a full `ganzoo.GAN` (e.g. from `ganzoo.load(name)`).
        freeze_d_layers: number of discriminator blocks to freeze (FreezeD;
            see `discriminator_blocks`). The paper freezes the lower
            half or so of D.
        g_optimizer, d_optimizer: optimizers for the fine-tuning run; default:
            the recipe's optimizers when `recipe` is given, else Adam(2e-4, 0.5).
        recipe: a recipe dict (or registry name) whose `optimizers` to use
            (every network it names gets its optimizer; `g_optimizer` and
            `d_optimizer` replace the generator's and discriminator's).
        **compile_kwargs: passed to `GAN.compile` (e.g. `jit_compile=False`).

    Returns:
        `gan`, compiled; call `gan.fit(...)` next. It keeps `gan.provenance`
        (from `ganzoo.load`), so a preset saved after fine-tuning keeps the
        pretrained weights' license and names them as its `parent`.

    Example:
        >>> gan = prepare_finetune(ganzoo.load("dcgan-digits"), freeze_d_layers=2)
        >>> gan.fit(new_images, batch_size=64, epochs=3)
    """
    freeze_discriminator_layers(gan, freeze_d_layers)
    if recipe is None or (g_optimizer is not None and d_optimizer is not None):
        gan.compile(g_optimizer=g_optimizer, d_optimizer=d_optimizer, **compile_kwargs)
        return gan
    from ganzoo import recipes
    from ganzoo.factory import build_optimizers

    recipe = recipe if isinstance(recipe, dict) else recipes.get(recipe)
    built = build_optimizers(recipe["optimizers"], gan)
    given = {"generator": g_optimizer, "discriminator": d_optimizer}
    built["optimizers"].update({name: opt for name, opt in given.items() if opt is not None})
    gan.compile(**built, **compile_kwargs)
    return gan
