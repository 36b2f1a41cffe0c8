"""The semi-supervised AAE protocol on scikit-learn's digits (Makhzani et al. 2016, section 5, on 8x8 digits).

A stratified split (fixed seed) holds out half of the 1,797 digits as the
test set; of the other half, 10 images per class keep their label (100
labels) and the rest are unlabelled. The `aae-digits-semisupervised` recipe
trains on the labelled + unlabelled half; the test accuracy of
`classify` is reported next to an SVC (scikit-learn defaults: RBF, C=1)
fitted on the same 100 labelled images alone.

Usage:
    KERAS_BACKEND=jax python tools/aae_semisupervised.py [--epochs 60] [--seed 0] [--split-seed 0] [--json out.json]

Example:
    $ KERAS_BACKEND=torch python tools/aae_semisupervised.py --epochs 40
    {"backend": "torch", "aae_accuracy": ..., "svc_accuracy": ..., ...}
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def svc_baseline(labelled, test):
    """Test accuracy of an SVC (scikit-learn defaults) on the labelled images alone.

    Example:
        >>> svc_baseline(split["labelled"], split["test"])
        0.93...
    """
    from sklearn.svm import SVC

    (x_l, y_l), (x_t, y_t) = labelled, test
    clf = SVC().fit(x_l.reshape(len(x_l), -1), y_l)
    return float((clf.predict(x_t.reshape(len(x_t), -1)) == y_t).mean())


def run(epochs=None, seed=0, split_seed=0, recipe_name="aae-digits-semisupervised", verbose=0, callbacks=()):
    """Train the recipe (a name, path or recipe dict) on the split and return the protocol's numbers (a dict).

    Example:
        >>> run(epochs=5)["aae_accuracy"]          # doctest: +SKIP
    """
    import keras

    from ganzoo import recipes
    from ganzoo.factory import build_gan, build_optimizers
    from ganzoo.models.aae.data import semisupervised_digits

    recipe = recipe_name if isinstance(recipe_name, dict) else recipes.get(recipe_name)
    options = dict(recipe["data"].get("options") or {})
    split = semisupervised_digits(int(options.get("per_class", 10)), int(recipe["data"].get("resolution", 8)),
                                  float(options.get("test_fraction", 0.5)), int(split_seed),
                                  options.get("labelled_share", 0.5))
    keras.utils.set_random_seed(int(seed))
    gan = build_gan({**recipe["model"], "seed": int(seed)})
    gan.compile(**build_optimizers(recipe["optimizers"], gan))
    epochs = int(epochs or recipe["training"]["epochs"])
    start = time.perf_counter()
    history = gan.fit(split["train"], batch_size=int(recipe["training"]["batch_size"]), epochs=epochs,
                      shuffle=True, verbose=verbose, callbacks=[c(gan, split) for c in callbacks]).history
    seconds = time.perf_counter() - start
    x_t, y_t = split["test"]
    return {
        "backend": keras.backend.backend(), "epochs": epochs, "seed": int(seed), "split_seed": int(split_seed),
        "labelled": int(len(split["labelled"][1])), "unlabelled": split["unlabelled"], "test": int(len(y_t)),
        "aae_accuracy": float((gan.classify(x_t) == y_t).mean()),
        "svc_accuracy": svc_baseline(split["labelled"], split["test"]),
        "train_seconds": round(seconds, 1),
        "final": {k: round(float(v[-1]), 4) for k, v in history.items()},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's training.epochs")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the test split and the labelled choice")
    parser.add_argument("--recipe", default="aae-digits-semisupervised")
    parser.add_argument("--json", default=None, help="also write the result here")
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args(argv)
    result = run(args.epochs, args.seed, args.split_seed, args.recipe, args.verbose)
    text = json.dumps(result)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
