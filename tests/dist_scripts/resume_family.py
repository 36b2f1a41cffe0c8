"""Reload a saved EncodedGAN (tests/families) on this process's backend and train on.

argv: MODEL.keras DATA.npy OUT.json. Writes the optimizers' iterations on load
and after one more epoch, and the reconstruction error before and after.
"""

import json
import sys

import numpy as np

import keras
from keras import ops

from families.encoded_gan import EncodedGAN  # noqa: F401  (registers the class)


def rec_error(gan, x):
    out = gan.generator(gan.encoder(ops.convert_to_tensor(x)))
    return float(np.mean((np.asarray(ops.convert_to_numpy(out)) - x) ** 2))


path, data, out = sys.argv[1:4]
x = np.load(data)
gan = keras.saving.load_model(path)
loaded = {name: int(ops.convert_to_numpy(o.iterations)) for name, o in gan.optimizers.items()}
before = rec_error(gan, x)
gan.fit(x, batch_size=16, epochs=1, verbose=0)
after = {name: int(ops.convert_to_numpy(o.iterations)) for name, o in gan.optimizers.items()}
with open(out, "w") as f:
    json.dump({"backend": keras.backend.backend(), "loaded": loaded, "after": after,
               "rec_before": before, "rec_after": rec_error(gan, x)}, f)
