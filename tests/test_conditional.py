"""Class-conditional training through the one engine, against numpy hand computations,
on every backend: the cGAN SGD step, AC-GAN's and the projection D's losses, labels that
really flow, layer losses that reach the phase loss, and bad labels."""

import numpy as np
import pytest
import keras
from keras import layers, ops

import ganzoo
from ganzoo.models.conditional import ACGAN

K = 3


def to_np(x):
    return np.asarray(ops.convert_to_numpy(x), dtype="float64")


def sig(t):
    return 1 / (1 + np.exp(-t))


def softplus(t):
    return np.log1p(np.exp(t))


def cond_generator(latent_dim=1, out=1, name="generator"):
    """G([z, y]) = z @ A + c[y]: a label embedding added to a linear map."""
    z = keras.Input((latent_dim,), name="z")
    y = keras.Input((), dtype="int32", name="y")
    x = layers.Dense(out, use_bias=False, name="lin")(z)
    c = layers.Embedding(K, out, name="class_shift")(y)
    return keras.Model([z, y], layers.Add()([x, c]), name=name)


def projection_critic(dim=1, name="discriminator"):
    """D([x, y]) = x @ w + b + <E[y], x>: a linear projection discriminator."""
    x = keras.Input((dim,), name="x")
    y = keras.Input((), dtype="int32", name="y")
    psi = layers.Dense(1, name="psi")(x)
    e = layers.Embedding(K, dim, name="class_embedding")(y)
    proj = layers.Dot(axes=1)([e, x])
    return keras.Model([x, y], layers.Add()([psi, proj]), name=name)


def aux_critic(dim=2, name="discriminator"):
    x = keras.Input((dim,), name="x")
    return keras.Model(
        x, {"logits": layers.Dense(1, name="adv")(x), "class_logits": layers.Dense(K, name="cls")(x)}, name=name
    )


class FixedNoise(ganzoo.GAN):
    """Same latents and fake labels every phase so numpy can replay the step."""

    fixed_z = np.array([[0.5], [-1.0], [2.0], [0.25]], "float32")
    fixed_y = np.array([2, 0, 1, 1], "int32")

    def sample_latents(self, batch_size):
        return ops.convert_to_tensor(self.fixed_z)

    def sample_labels(self, batch_size, real=None):
        return ops.convert_to_tensor(self.fixed_y, "int32")


def test_cgan_one_d_and_one_g_sgd_update_equal_numpy():
    G, D = cond_generator(), projection_critic()
    a, cg = 0.7, np.array([[0.3], [-0.4], [0.1]], "float32")
    w, b, e = 1.3, -0.2, np.array([[0.5], [-0.25], [0.75]], "float32")
    G.get_layer("lin").kernel.assign([[a]])
    G.get_layer("class_shift").embeddings.assign(cg)
    D.get_layer("psi").kernel.assign([[w]])
    D.get_layer("psi").bias.assign([b])
    D.get_layer("class_embedding").embeddings.assign(e)
    gan = FixedNoise(G, D, latent_dim=1, objective="non_saturating", num_classes=K)
    lr = 0.1
    gan.compile(g_optimizer=keras.optimizers.SGD(lr), d_optimizer=keras.optimizers.SGD(lr))
    xr = np.array([[1.0], [2.0], [0.0], [-1.0]], "float32")
    yr = np.array([0, 1, 2, 0], "int32")
    gan.fit(xr, yr, batch_size=4, epochs=1, shuffle=False, verbose=0)

    z, yf = FixedNoise.fixed_z[:, 0].astype("float64"), FixedNoise.fixed_y
    x_r, e0, cg0 = xr[:, 0].astype("float64"), e[:, 0].astype("float64"), cg[:, 0].astype("float64")
    xf = a * z + cg0[yf]
    # D logit(x, y) = (w + e[y]) x + b; loss = mean softplus(-l_real) + mean softplus(l_fake).
    lr_, lf = (w + e0[yr]) * x_r + b, (w + e0[yf]) * xf + b
    gr, gf = -(1 - sig(lr_)) / 4, sig(lf) / 4          # d loss / d logit per sample
    dw = np.sum(gr * x_r) + np.sum(gf * xf)
    db = np.sum(gr) + np.sum(gf)
    de = np.zeros(K)
    np.add.at(de, yr, gr * x_r)
    np.add.at(de, yf, gf * xf)
    w1, b1, e1 = w - lr * dw, b - lr * db, e0 - lr * de
    # G loss = mean softplus(-l(G(z, y), y)) with the updated D.
    lg = (w1 + e1[yf]) * xf + b1
    gg = -(1 - sig(lg)) / 4 * (w1 + e1[yf])              # d loss / d x_fake
    da = np.sum(gg * z)
    dc = np.zeros(K)
    np.add.at(dc, yf, gg)
    np.testing.assert_allclose(to_np(D.get_layer("psi").kernel.value)[0, 0], w1, rtol=1e-5)
    np.testing.assert_allclose(to_np(D.get_layer("psi").bias.value)[0], b1, rtol=1e-5)
    np.testing.assert_allclose(to_np(D.get_layer("class_embedding").embeddings.value)[:, 0], e1, rtol=1e-5)
    np.testing.assert_allclose(to_np(G.get_layer("lin").kernel.value)[0, 0], a - lr * da, rtol=1e-5)
    np.testing.assert_allclose(to_np(G.get_layer("class_shift").embeddings.value)[:, 0], cg0 - lr * dc,
                               rtol=1e-5, atol=1e-7)


def test_projection_discriminator_hinge_loss_equals_numpy():
    D = projection_critic(dim=2)
    gan = ganzoo.GAN(cond_generator(2, 2), D, latent_dim=2, objective="hinge", num_classes=K)
    rng = np.random.default_rng(0)
    xr, xf = rng.normal(size=(5, 2)).astype("float32"), rng.normal(size=(5, 2)).astype("float32")
    yr, yf = np.array([0, 1, 2, 1, 0], "int32"), np.array([2, 2, 0, 1, 0], "int32")
    real = {"x": ops.convert_to_tensor(xr), "y": ops.convert_to_tensor(yr)}
    fake = {"x": ops.convert_to_tensor(xf), "y": ops.convert_to_tensor(yf)}
    loss, logs = gan.discriminator_loss(real, fake)
    w = to_np(D.get_layer("psi").kernel.value)[:, 0]
    b = to_np(D.get_layer("psi").bias.value)[0]
    E = to_np(D.get_layer("class_embedding").embeddings.value)
    logit = lambda x, y: x @ w + b + np.sum(E[y] * x, axis=1)  # noqa: E731
    want = np.mean(np.maximum(0, 1 - logit(xr, yr))) + np.mean(np.maximum(0, 1 + logit(xf, yf)))
    np.testing.assert_allclose(to_np(loss), want, rtol=1e-5)
    np.testing.assert_allclose(to_np(logs["d_real"]), np.mean(logit(xr, yr)), rtol=1e-5, atol=1e-7)


def test_acgan_losses_equal_numpy():
    D = aux_critic()
    gan = ACGAN(cond_generator(2, 2), D, latent_dim=2, num_classes=K, class_weight=0.5,
                objective="non_saturating")
    rng = np.random.default_rng(1)
    xr, xf = rng.normal(size=(6, 2)).astype("float32"), rng.normal(size=(6, 2)).astype("float32")
    yr, yf = np.array([0, 1, 2, 2, 1, 0], "int32"), np.array([1, 1, 0, 2, 0, 2], "int32")
    real = {"x": ops.convert_to_tensor(xr), "y": ops.convert_to_tensor(yr)}
    fake = {"x": ops.convert_to_tensor(xf), "y": ops.convert_to_tensor(yf)}
    wa, ba = (to_np(v.value) for v in D.get_layer("adv").weights)
    wc, bc = (to_np(v.value) for v in D.get_layer("cls").weights)

    def ce(x, y):
        logits = x @ wc + bc
        logp = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
        return -np.mean(logp[np.arange(len(y)), y])

    adv = lambda x: (x @ wa + ba)[:, 0]  # noqa: E731
    d_want = np.mean(softplus(-adv(xr))) + np.mean(softplus(adv(xf))) + 0.5 * (ce(xr, yr) + ce(xf, yf))
    loss, logs = gan.discriminator_loss(real, fake)
    np.testing.assert_allclose(to_np(loss), d_want, rtol=1e-5)
    np.testing.assert_allclose(to_np(logs["d_class"]), ce(xr, yr) + ce(xf, yf), rtol=1e-5)
    acc = np.mean(np.argmax(xr @ wc + bc, axis=1) == yr)
    np.testing.assert_allclose(to_np(logs["d_accuracy"]), acc, rtol=1e-6)
    g_loss, g_logs = gan.generator_loss(real, fake)
    np.testing.assert_allclose(to_np(g_loss), np.mean(softplus(-adv(xf))) + 0.5 * ce(xf, yf), rtol=1e-5)
    np.testing.assert_allclose(to_np(g_logs["g_class"]), ce(xf, yf), rtol=1e-5)


def test_acgan_trains_and_logs_its_class_losses():
    gan = ACGAN(cond_generator(2, 2), aux_critic(), latent_dim=2, num_classes=K, ema_decay=0.9)
    gan.compile()
    x = np.random.default_rng(2).normal(size=(32, 2)).astype("float32")
    y = np.arange(32, dtype="int32") % K
    history = gan.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert {"d_loss", "g_loss", "d_class", "d_accuracy", "g_class"} <= set(history.history)
    assert all(np.isfinite(v[-1]) for v in history.history.values())


def test_labels_flow_to_samples_and_errors_name_the_range():
    G = cond_generator(2, 2)
    G.get_layer("class_shift").embeddings.assign(np.eye(K, 2, dtype="float32") * 5)
    gan = ganzoo.GAN(G, projection_critic(2), latent_dim=2, num_classes=K)
    a, b = gan.generate(4, seed=0, labels=0), gan.generate(4, seed=0, labels=1)
    assert not np.allclose(a, b)
    np.testing.assert_allclose(b - a, np.tile([[-5.0, 5.0]], (4, 1)), rtol=1e-5)  # c[1] - c[0]
    per = gan.generate(seed=0, labels=[0, 1, 1, 0])
    np.testing.assert_allclose(per[[0, 3]], a[[0, 3]], rtol=1e-6)
    np.testing.assert_allclose(per[[1, 2]], b[[1, 2]], rtol=1e-6)
    assert gan.interpolate(0, 1, steps=5, labels=2).shape == (5, 2)
    with pytest.raises(ValueError, match=r"class-conditional: pass labels=.*\[0, 3\)"):
        gan.generate(4, seed=0)
    with pytest.raises(ValueError, match=r"class ids in \[0, 3\); got \[3\]"):
        gan.generate(2, seed=0, labels=[0, 3])
    with pytest.raises(ValueError, match="integer class ids"):
        gan.generate(2, seed=0, labels=[0.5, 1.0])
    with pytest.raises(ValueError, match="Got 3 labels for 2 samples"):
        gan.generate(2, seed=0, labels=[0, 1, 2])
    unconditional = ganzoo.GAN(keras.Sequential([keras.Input((2,)), layers.Dense(2)]),
                               keras.Sequential([keras.Input((2,)), layers.Dense(1)]), latent_dim=2)
    with pytest.raises(ValueError, match="unconditional"):
        unconditional.generate(2, seed=0, labels=1)


def test_label_errors_in_fit():
    x = np.zeros((8, 2), "float32")
    unconditional = ganzoo.GAN(keras.Sequential([keras.Input((2,)), layers.Dense(2)]),
                               keras.Sequential([keras.Input((2,)), layers.Dense(1)]), latent_dim=2)
    unconditional.compile()
    with pytest.raises(ValueError, match="unconditional"):
        unconditional.fit(x, np.zeros(8, "int32"), batch_size=4, verbose=0)
    gan = ganzoo.GAN(cond_generator(2, 2), projection_critic(2), latent_dim=2, num_classes=K)
    gan.compile()
    with pytest.raises(ValueError, match="has no labels"):
        gan.fit(x, batch_size=4, verbose=0)
    with pytest.raises(ValueError, match=r"\[0, 3\); got \[5\]"):
        gan.fit(x, np.array([0, 1, 2, 5, 0, 1, 2, 0]), batch_size=4, verbose=0)
    with pytest.raises(ValueError, match="integer class ids"):
        gan.fit(x, np.zeros(8, "float32"), batch_size=4, verbose=0)
    with pytest.raises(ValueError, match="shape"):
        gan.fit(x, np.zeros((8, 3), "int32"), batch_size=4, verbose=0)
    with pytest.raises(ValueError, match="num_classes must be 0"):
        ganzoo.GAN(cond_generator(2, 2), projection_critic(2), latent_dim=2, num_classes=1)


def test_layer_regularization_reaches_the_phase_loss():
    G = keras.Sequential([keras.Input((2,)), layers.Dense(2, kernel_regularizer=keras.regularizers.L2(1e6))])
    D = keras.Sequential([keras.Input((2,)), layers.Dense(1, activity_regularizer=keras.regularizers.L1(1e3))])
    gan = ganzoo.GAN(G, D, latent_dim=2)
    gan.compile(g_optimizer=keras.optimizers.SGD(0.0), d_optimizer=keras.optimizers.SGD(0.0))
    history = gan.fit(np.ones((4, 2), "float32"), batch_size=4, epochs=1, verbose=0)
    l2 = 1e6 * np.sum(to_np(G.layers[0].kernel.value) ** 2)
    g_loss = history.history["g_loss"][0]
    assert l2 > 1e3
    # The objective's part is a softplus of small logits (< 10): the rest is the L2 term.
    assert l2 < g_loss < l2 + 10.0
    # D's activity regularizer (L1 of D's output on the last call) reaches d_loss too.
    assert history.history["d_loss"][0] > 1e-1 * 1e3 * abs(history.history["d_fake"][0])


@pytest.mark.parametrize("conditioning", ["input", "projection"])
def test_conditional_dcgan_draws_the_colour_of_the_label_asked_for(conditioning):
    from ganzoo.architectures import dcgan_discriminator, dcgan_generator

    colours = np.array([[0.9, -0.7, -0.7], [-0.7, -0.5, 0.9]], "float32")  # red for 0, blue for 1
    y = np.arange(64, dtype="int32") % 2
    x = np.broadcast_to(colours[y][:, None, None, :], (64, 8, 8, 3)).astype("float32")
    keras.utils.set_random_seed(0)
    G = dcgan_generator(latent_dim=8, resolution=8, channels=3, width=16, num_classes=2)
    D = dcgan_discriminator(resolution=8, channels=3, width=16, num_classes=2, conditioning=conditioning)
    gan = ganzoo.GAN(G, D, latent_dim=8, num_classes=2)
    gan.compile(g_optimizer=keras.optimizers.Adam(2e-3, 0.5), d_optimizer=keras.optimizers.Adam(2e-3, 0.5))
    gan.fit(x, y, batch_size=16, epochs=25, verbose=0)  # 100 steps
    means = [gan.generate(32, seed=3, labels=c).mean(axis=(0, 1, 2)) for c in (0, 1)]
    own = [np.abs(means[c] - colours[c]).mean() for c in (0, 1)]
    other = [np.abs(means[c] - colours[1 - c]).mean() for c in (0, 1)]
    assert all(o < 0.5 * t for o, t in zip(own, other)), (own, other)


def test_training_refuses_data_with_another_class_count(tmp_path):
    from PIL import Image

    from ganzoo.training import train

    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        for i in range(24):
            Image.fromarray(np.full((8, 8), 10 * i, np.uint8)).save(tmp_path / name / f"{i}.png")
    with pytest.raises(ValueError, match=r"built for 10 classes .* the data has 3 \(a, b, c\)"):
        train("cgan-digits-mlp", data=str(tmp_path), epochs=1, verbose=0)


def test_acgan_and_cgan_presets_round_trip(tmp_path):
    from ganzoo.presets import load_preset

    for cls, D in ((ACGAN, aux_critic()), (ganzoo.GAN, projection_critic(2))):
        gan = cls(cond_generator(2, 2), D, latent_dim=2, num_classes=K, ema_decay=0.9)
        gan.compile()
        gan.fit(np.random.default_rng(4).normal(size=(16, 2)).astype("float32"), np.arange(16) % K,
                batch_size=8, epochs=1, verbose=0)
        folder = tmp_path / cls.__name__
        gan.save_to_preset(folder)
        back = load_preset(folder)
        assert type(back) is cls and back.num_classes == K
        np.testing.assert_allclose(back.generate(6, seed=2, labels=[0, 1, 2, 0, 1, 2]),
                                   gan.generate(6, seed=2, labels=[0, 1, 2, 0, 1, 2]), atol=1e-6)
        sampler = ganzoo.load(str(folder), generator_only=True)
        np.testing.assert_allclose(sampler.generate(3, seed=2, labels=1), gan.generate(3, seed=2, labels=1), atol=1e-6)
