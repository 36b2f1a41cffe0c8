"""The per-family test matrix of issue 14 ("Tests (every backend)"), filling what the family files lack.

Audit: where each check lives (1 one step = hand computation, 2 save -> load on another backend ->
same samples, 3 resume keeps optimizer iterations + control variables, 4 learns within the CI budget;
"here" = this file):

- InfoGAN: 1 here (info_loss vs numpy: test_infogan::test_info_loss_equals_numpy); 2, 3 here (same
  backend only: test_infogan::test_save_load_same_samples); 4 test_infogan::test_q_learns_to_recover_the_codes.
- AAE: 1 here (two runs: reconstruction + D phases, then D + encoder phases); 2, 3 here (same backend
  only: test_aae::test_encode_decode_generate_and_save_load); 4 test_aae::test_aggregated_posterior_matches...
- Semi-supervised AAE: 1 here (three runs, one encoder phase each; losses alone:
  test_aae::test_semisupervised_losses_match_numpy);
  2, 3 test_aae::test_semisupervised_save_load_resume_on_another_backend; 4 test_aae::test_semisupervised_classify...
- BEGAN (k): 1 here (weights), k's update: test_began::test_one_step_k_update_equals_numpy; 2, 3 here
  (k used and moved after the reload; same backend: test_began::test_k_and_samples_survive_save_load);
  4 test_began::test_m_global_falls.
- SD-GAN: 1, 2, 3 here (same backend: test_sdgan::test_generate_with_identities_and_save_load);
  4 test_sdgan::test_shared_identity_codes_give_closer_samples.
- ProGAN: 1 here (WGAN + drift), GP by finite differences: test_progan::test_gradient_penalty_and_drift...;
  2, 3 test_progan::test_mid_fade_save_load_resume_on_another_backend (stage, stage_images, alpha);
  4 test_progan::test_fit_stages_runs_the_schedule_and_learns.
- ADA (p): 1 controller vs numpy: test_augment::test_controller_step_equals_numpy and
  test_ada_controller_in_training_and_p_survives_save_load; 2, 3 here (p and its accumulators,
  saved mid-interval); 4 none (no learning test with ADA on).

"One step = hand computation": each family is compiled with SGD (momentum 0.9: its first step is
w - lr * g, and it leaves momentum slots for the resume check) and its training noise is replaced by
fixed tables (`FixedNoise`), so the step is a function of known inputs. The independent truth is the
phase's loss written out here in numpy from the networks' forward outputs (the family's loss code
is not called), differentiated by central finite differences on one entry per trainable variable (of the 4
entries the step moved most, the first where differences at h and h/3 agree: a kink check that
never reads the step's result). A phase sees the networks that earlier phases trained at their
updated values (G's phase uses D after D's update) and the others at their initial values.
Float32 forward passes limit the differences. Measured worst case over TF, JAX and torch: 2.7e-5
absolute (4.6e-4 relative) for the tanh families, 1.7e-4 (1.6e-3) for ProGAN; asserted rtol 5e-3 with
atol 1e-4 (ProGAN 3e-4). The check fails for small loss errors: with BEGAN's k dropped from L_D, the
continuous-code weight of InfoGAN's L_info set to 0, or ProGAN's drift (0.001 E[D(x)^2]) left out,
it failed (by 1.9e-2, 4.8e-3 and 5.8e-4; torch).

"Save -> load on another backend": every model is trained a few steps here, saved (.keras), and one
subprocess on the next backend (tests/dist_scripts/resume_matrix.py) loads them all, samples fixed
seeds (compared to here at 1e-5), reports optimizer iterations, the optimizers' slots and the
control variables, trains on, and reports again.
"""

import json
import sys

import numpy as np
import pytest

import keras
from keras import layers, ops

from conftest import BACKEND
from ganzoo.engine import registry
from ganzoo.engine.gan import GAN
from ganzoo.models import AAE, BEGAN, SDGAN, InfoGAN
from ganzoo.models.aae import SemiSupervisedAAE
from ganzoo.models.progan import ProGAN, progan_discriminator, progan_generator
from processes import ROOT, env, run_ok

NEXT_BACKEND = {"tensorflow": "jax", "jax": "torch", "torch": "tensorflow"}[BACKEND]
LR = 0.05
N = 8  # batch size of every run here


# ------------------------------------------------------------------ families never override private methods
FAMILIES = sorted((name, cls) for name, cls in registry.entries("model_class").items()
                  if cls.__module__.startswith("ganzoo.models"))


@pytest.mark.parametrize("name,cls", FAMILIES, ids=[n for n, _ in FAMILIES])
def test_family_overrides_no_private_method(name, cls):
    """A `_name` a family defines must not exist on any base class (the engine's loop stays the engine's)."""
    own = [n for n in vars(cls) if n.startswith("_") and not n.startswith("__")]
    overridden = [n for n in own if any(n in vars(base) for base in cls.__mro__[1:])]
    assert overridden == [], f"{name} overrides private methods {overridden}"
    assert issubclass(cls, GAN)


# ------------------------------------------------------------------ tiny networks and fixed noise
def dense_generator(latent, shape=(4, 4, 1)):
    z = keras.Input((latent,))
    h = layers.Dense(int(np.prod(shape)), activation="tanh")(layers.Dense(6, activation="tanh")(z))
    return keras.Model(z, layers.Reshape(shape)(h))


def dense_critic(shape=(4, 4, 1), width=6, features=False):
    x = keras.Input(shape)
    f = layers.Dense(width, activation="tanh")(layers.Flatten()(x))
    logits = layers.Dense(1)(f)
    return keras.Model(x, {"logits": logits, "features": f} if features else logits)


def dense_autoencoder(shape=(4, 4, 1), embedding=3):
    x = keras.Input(shape)
    h = layers.Dense(embedding, activation="tanh")(layers.Flatten()(x))
    return keras.Model(x, layers.Reshape(shape)(layers.Dense(int(np.prod(shape)))(h)))


class FixedNoise:
    """Replaces a model's training noise by fixed numpy tables: `random_normal(shape)` is the first
    shape[0] rows of a table keyed by the other dimensions (the batch axis may be symbolic on TF)."""

    def __init__(self, gan, rows=64):
        self.rows, self.tables = rows, {}
        gan.random_normal = lambda shape: self.tensor("normal", shape)
        gan.random_uniform = lambda shape: self.tensor("uniform", shape)

    def table(self, kind, rest):
        key = (kind, tuple(int(s) for s in rest))
        if key not in self.tables:
            rng = np.random.default_rng([len(kind), *key[1]])
            draw = rng.standard_normal if kind == "normal" else rng.uniform
            self.tables[key] = draw(size=(self.rows, *key[1])).astype("float32")
        return self.tables[key]

    def tensor(self, kind, shape):
        return ops.convert_to_tensor(self.table(kind, shape[1:]))[: shape[0]]

    def normal(self, n, *rest):
        return self.table("normal", rest)[:n].astype("float64")

    def uniform(self, n, *rest):
        return self.table("uniform", rest)[:n].astype("float64")


def np64(t):
    return np.asarray(ops.convert_to_numpy(t), "float64")


def softplus(v):
    return np.logaddexp(0.0, v)


def sgd(lr=LR):
    return keras.optimizers.SGD(lr, momentum=0.9)  # first step: w - lr * g (the velocity starts at 0)


def snapshot(gan):
    return {name: [np.array(ops.convert_to_numpy(v.value)) for v in net.trainable_variables]
            for name, net in gan.networks.items()}


def restore(gan, weights):
    for name, net in gan.networks.items():
        for v, w in zip(net.trainable_variables, weights[name]):
            v.assign(w)


def one_step(gan, x):
    """Fit exactly one step of the whole batch; return (weights before, weights after)."""
    before = snapshot(gan)
    gan.fit(x, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    return before, snapshot(gan)


def finite_difference(loss, variable, index, h):
    """Central difference of `loss` in one entry of `variable` (restored afterwards)."""
    base = np.array(ops.convert_to_numpy(variable.value))
    values = []
    try:
        for delta in (h, -h):
            w = base.copy()
            w[index] += delta
            variable.assign(w)
            values.append(loss())
    finally:
        variable.assign(base)
    return (values[0] - values[1]) / (2 * h)


def smooth_difference(loss, variable, candidates, h):
    """`(index, derivative)` at the first candidate entry where differences at h and h/3 agree.

    A kink of a piecewise-linear network (leaky ReLU, |.|) inside [w - h, w + h] makes a central
    difference wrong by up to several % (measured on ProGAN's D biases: 2% at h = 3e-4) and the
    two step sizes disagree; such an entry is skipped. The choice reads only the differences,
    never the step's update. None when no candidate is smooth.
    """
    for index in candidates:
        coarse, fine = finite_difference(loss, variable, index, h), finite_difference(loss, variable, index, h / 3)
        if abs(coarse - fine) <= 3e-3 * abs(fine) + 1e-4:
            return index, coarse  # the less noisy one; the two agree here
    return None


def compare_step(gan, w0, w1, phases, lrs, rtol=5e-3, atol=1e-4, h=1e-3, candidates=4):
    """For each `(phase, networks, loss)` in schedule order: (w0 - w1) / lr == finite differences of `loss`.

    One entry per trainable variable: of the `candidates` entries the step moved most, the first
    where the differences are smooth (`smooth_difference`). Returns
    `[(phase, network, variable index, step gradient, finite difference)]`; fails when more than a
    fifth of the variables had no smooth entry.
    """
    final, done, rows, skipped = snapshot(gan), set(), [], []
    try:
        for phase, networks, loss in phases:
            restore(gan, {n: (w1 if n in done else w0)[n] for n in gan.networks})
            for net in networks:
                for i, v in enumerate(gan.networks[net].trainable_variables):
                    moved = w0[net][i] - w1[net][i]
                    order = np.argsort(-np.abs(moved), axis=None)[:candidates]
                    found = smooth_difference(loss, v, [np.unravel_index(k, moved.shape) for k in order], h)
                    if found is None:
                        skipped.append((phase, net, i))
                        continue
                    index, fd = found
                    rows.append((phase, net, i, float(moved[index]) / lrs[phase], fd))
            done.update(networks)
    finally:
        restore(gan, final)
    assert len(skipped) <= 0.2 * (len(rows) + len(skipped)), skipped
    step, fd = np.array([r[3] for r in rows]), np.array([r[4] for r in rows])
    assert np.abs(fd).max() > 1e-2, rows  # not a comparison of zeros
    np.testing.assert_allclose(step, fd, rtol=rtol, atol=atol, err_msg=str(rows))
    return rows


# ------------------------------------------------------------------ the families, one module fixture each
def data(shape=(4, 4, 1), rows=48, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (rows, *shape)).astype("float32")


def more_steps(gan, x, steps=5):
    gan.fit(x[: N * steps], batch_size=N, epochs=1, shuffle=False, verbose=0)


@pytest.fixture(scope="module")
def infogan():
    keras.utils.set_random_seed(0)
    G, D = dense_generator(3 + 3 + 1), dense_critic(features=True)
    q_in = keras.Input((6,))
    Q = keras.Model(q_in, layers.Dense(4)(q_in))
    gan = InfoGAN(G, D, noise_dim=3, categorical=(3,), continuous=1, q_network=Q, seed=0)
    gan.compile(g_optimizer=sgd(), d_optimizer=sgd())
    noise, x = FixedNoise(gan), data()
    w0, w1 = one_step(gan, x[:N])
    more_steps(gan, x)
    return {"gan": gan, "noise": noise, "x": x, "w": (w0, w1), "steps": 6, "controls": ["step_counter"]}


def test_infogan_one_step_equals_hand_computation(infogan):
    gan, noise, x = infogan["gan"], infogan["noise"], infogan["x"][:N].astype("float64")
    G, D, Q = gan.generator, gan.discriminator, gan.q_network
    cat = np.minimum(np.floor(noise.uniform(N) * 3), 2).astype(int)
    cont = noise.uniform(N, 1) * 2 - 1
    z = np.concatenate([noise.normal(N, 3), np.eye(3)[cat], cont], 1).astype("float32")

    def info(out):
        q = np64(Q(out["features"]))
        logp = q[:, :3] - np.log(np.exp(q[:, :3]).sum(1, keepdims=True))
        return -logp[np.arange(N), cat].mean() + 0.1 * 0.5 * np.mean((q[:, 3:] - cont) ** 2)

    def d_loss():
        real, fake = D(x.astype("float32")), D(G(z))
        return (softplus(-np64(real["logits"])).mean() + softplus(np64(fake["logits"])).mean() + info(fake))

    def g_loss():
        fake = D(G(z))
        return softplus(-np64(fake["logits"])).mean() + info(fake)

    compare_step(gan, *infogan["w"], [("discriminator", ("discriminator", "q_network"), d_loss),
                                      ("generator", ("generator",), g_loss)],
                 {"discriminator": LR, "generator": LR})


@pytest.fixture(scope="module")
def began():
    keras.utils.set_random_seed(0)
    gan = BEGAN(dense_generator(3), dense_autoencoder(), gamma=0.5, lambda_k=0.1, k_init=0.3, seed=0)
    gan.compile(g_optimizer=sgd(), d_optimizer=sgd())
    noise, x = FixedNoise(gan), data()
    w0, w1 = one_step(gan, x[:N])
    more_steps(gan, x)
    return {"gan": gan, "noise": noise, "x": x, "w": (w0, w1), "steps": 6, "controls": ["k", "step_counter"]}


def test_began_one_step_equals_hand_computation(began):
    # k's own update is test_began::test_one_step_k_update_equals_numpy; here k_0 = 0.3 weights L(G(z)).
    gan, noise, x = began["gan"], began["noise"], began["x"][:N]
    G, D = gan.generator, gan.discriminator
    z = noise.normal(N, 3).astype("float32")

    def l1(v):  # L(v) = mean |v - D(v)| per sample, averaged over the batch
        return np.abs(np64(v) - np64(D(v))).mean()

    compare_step(gan, *began["w"], [("discriminator", ("discriminator",), lambda: l1(x) - 0.3 * l1(G(z))),
                                    ("generator", ("generator",), lambda: l1(G(z)))],
                 {"discriminator": LR, "generator": LR})


@pytest.fixture(scope="module")
def sdgan():
    keras.utils.set_random_seed(0)
    gan = SDGAN(dense_generator(5), dense_critic(shape=(2, 4, 4, 1)), identity_dim=2, observation_dim=3, seed=0)
    gan.compile(g_optimizer=sgd(), d_optimizer=sgd())
    noise = FixedNoise(gan)
    x = data(shape=(2, 4, 4, 1))
    w0, w1 = one_step(gan, x[:N])
    more_steps(gan, x)
    return {"gan": gan, "noise": noise, "x": x, "w": (w0, w1), "steps": 6, "controls": ["step_counter"]}


def test_sdgan_one_step_equals_hand_computation(sdgan):
    gan, noise, x = sdgan["gan"], sdgan["noise"], sdgan["x"][:N]
    G, D = gan.generator, gan.discriminator
    # Tuples share z_I: each identity row twice, then its own z_O per image.
    z = np.concatenate([np.repeat(noise.normal(N, 2), 2, axis=0), noise.normal(2 * N, 3)], 1).astype("float32")

    def fakes():
        return ops.reshape(G(z), (N, 2, 4, 4, 1))

    def d_loss():
        return softplus(-np64(D(x))).mean() + softplus(np64(D(fakes()))).mean()

    compare_step(gan, *sdgan["w"], [("discriminator", ("discriminator",), d_loss),
                                    ("generator", ("generator",), lambda: softplus(-np64(D(fakes()))).mean())],
                 {"discriminator": LR, "generator": LR})


def _aae(encoder_lr, generator_lr):
    e_in = keras.Input((4, 4, 1))
    E = keras.Model(e_in, layers.Dense(2)(layers.Dense(6, activation="tanh")(layers.Flatten()(e_in))))
    aae = AAE(E, dense_generator(2), dense_critic(shape=(2,)), latent_dim=2, prior="gaussian", seed=0)
    aae.compile(optimizers={"generator": sgd(generator_lr), "discriminator": sgd(), "encoder": sgd(encoder_lr)})
    return aae, FixedNoise(aae)


def _aae_losses(aae, noise, x):
    E, Dec, D = aae.encoder, aae.generator, aae.discriminator
    prior = noise.normal(N, 2).astype("float32")
    return {"reconstruction": lambda: np.mean((np64(Dec(E(x))) - x) ** 2),
            "discriminator": lambda: softplus(-np64(D(prior))).mean() + softplus(np64(D(E(x)))).mean(),
            "encoder": lambda: softplus(-np64(D(E(x)))).mean()}


@pytest.fixture(scope="module")
def aae():
    # Step 1 with the encoder phase's lr at 0: E then moves in the reconstruction phase only, so the
    # discriminator phase's E is known (E after the step). Then all optimizers train on.
    keras.utils.set_random_seed(0)
    gan, noise = _aae(encoder_lr=0.0, generator_lr=LR)
    x = data()
    w0, w1 = one_step(gan, x[:N])
    gan.optimizers["encoder"].learning_rate = LR
    more_steps(gan, x)
    return {"gan": gan, "noise": noise, "x": x, "w": (w0, w1), "steps": 6, "controls": ["step_counter"]}


def test_aae_one_step_equals_hand_computation(aae):
    gan = aae["gan"]
    loss = _aae_losses(gan, aae["noise"], aae["x"][:N])
    compare_step(gan, *aae["w"], [("reconstruction", ("encoder", "generator"), loss["reconstruction"]),
                                  ("discriminator", ("discriminator",), loss["discriminator"])],
                 {"reconstruction": LR, "discriminator": LR})


def test_aae_encoder_phase_equals_hand_computation():
    # The other half: the reconstruction phase's lr at 0 (E starts the D phase at its initial value),
    # the encoder phase at LR against D after its update.
    keras.utils.set_random_seed(1)
    gan, noise = _aae(encoder_lr=LR, generator_lr=0.0)
    x = data(seed=1)[:N]
    w0, w1 = one_step(gan, x)
    for a, b in zip(w0["generator"], w1["generator"]):
        np.testing.assert_array_equal(a, b)  # lr 0: the decoder stayed
    loss = _aae_losses(gan, noise, x)
    compare_step(gan, w0, w1, [("discriminator", ("discriminator",), loss["discriminator"]),
                               ("encoder", ("encoder",), loss["encoder"])],
                 {"discriminator": LR, "encoder": LR})


def test_progan_one_step_equals_hand_computation():
    # Stage 0 (4x4) of an 8x8 model, WGAN + drift; the gradient penalty's own value is checked against
    # finite differences in test_progan (a penalty on input gradients does not difference cleanly twice).
    # Leaky ReLUs: a step h crosses kinks (a bias moves every unit after it): at a fixed h = 1e-3 the
    # differences were off by up to 1.8% (TF), at 3e-4 by 2% (JAX); `smooth_difference` skips those.
    from ganzoo.engine.penalties import Drift

    keras.utils.set_random_seed(0)
    G, D = progan_generator(4, 8, 1, fmap_base=16, fmap_max=4), progan_discriminator(8, 1, fmap_base=16, fmap_max=4)
    gan = ProGAN(G, D, penalties=[Drift(0.001)], ema_decay=None, seed=0)
    gan.compile(g_optimizer=sgd(0.01), d_optimizer=sgd(0.01))
    noise = FixedNoise(gan)
    x = data(shape=(8, 8, 1))[:N]
    w0, w1 = one_step(gan, x)
    x4 = x.reshape(N, 4, 2, 4, 2, 1).mean(axis=(2, 4))  # the reals at stage 0: 2x2 average pooling
    z = noise.normal(N, 4).astype("float32")

    def critic(v):
        return np64(D(v, stage=0, alpha=1.0))[:, 0]

    def d_loss():
        real = critic(x4)
        return critic(G(z, stage=0, alpha=1.0)).mean() - real.mean() + 0.001 * np.mean(real**2)

    compare_step(gan, w0, w1, [("discriminator", ("discriminator",), d_loss),
                               ("generator", ("generator",), lambda: -critic(G(z, stage=0, alpha=1.0)).mean())],
                 {"discriminator": 0.01, "generator": 0.01}, atol=3e-4, h=3e-4)


@pytest.fixture(scope="module")
def ada():
    # D's kernel 0, bias 5, lr 0: D(x) = 5, so r_t = E[sign D(real)] = 1 > target and p rises by
    # interval * batch / (speed_kimg * 1000) = 4 * 8 / 1000 every 4 steps. 6 steps here: one update,
    # and the accumulators hold 2 steps of the next interval when the model is saved.
    keras.utils.set_random_seed(0)
    d_in = keras.Input((4, 4, 1))
    constant = layers.Dense(1, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(5.0))
    D = keras.Model(d_in, constant(layers.Flatten()(d_in)))
    gan = GAN(dense_generator(3), D, latent_dim=3, seed=0,
              augment={"name": "ada", "transforms": ["xflip"], "target": 0.6, "interval": 4, "speed_kimg": 1.0})
    gan.compile(g_optimizer=keras.optimizers.Adam(1e-3), d_optimizer=keras.optimizers.SGD(0.0, momentum=0.9))
    x = data()
    gan.fit(x, batch_size=N, epochs=1, shuffle=False, verbose=0)
    assert float(ops.convert_to_numpy(gan.ada_p.value)) == pytest.approx(0.032, abs=1e-6)
    return {"gan": gan, "x": x, "steps": 6, "controls": ["ada_p", "ada_sign_sum", "ada_count", "step_counter"]}


# ------------------------------------------------------------------ save -> load on the next backend -> resume
JOBS = {"infogan": 2, "began": 1, "sdgan": 2, "aae": 2, "ada": 2}  # steps trained after the reload
SEEDS = [3, 11]


def local_state(gan, controls):
    iterations = {k: int(ops.convert_to_numpy(o.iterations)) for k, o in gan.optimizers.items()}
    slots = {k: float(sum(np.abs(np64(v.value)).sum() for v in o.variables)) for k, o in gan.optimizers.items()}
    return iterations, slots, {c: float(ops.convert_to_numpy(getattr(gan, c).value)) for c in controls}


@pytest.fixture(scope="module")
def resumed(infogan, began, sdgan, aae, ada, tmp_path_factory):
    # One subprocess for the five models: measured 28 s CPU (6 s of it imports), 50-110 s wall on the
    # shared 2-core machine at load ~10; a fit's compilation per model is most of it.
    tmp = tmp_path_factory.mktemp("matrix")
    families = {"infogan": infogan, "began": began, "sdgan": sdgan, "aae": aae, "ada": ada}
    manifest, here = [], {}
    for name, rec in families.items():
        gan = rec["gan"]
        path, x_path = tmp / f"{name}.keras", tmp / f"{name}.npy"
        gan.save(path)
        np.save(x_path, rec["x"])
        here[name] = {"samples": [gan.generate(4, seed=s) for s in SEEDS],
                      "state": local_state(gan, rec["controls"])}
        manifest.append({"name": name, "model": str(path), "data": str(x_path), "seeds": SEEDS, "n": 4,
                         "batch_size": N, "steps": JOBS[name], "controls": rec["controls"]})
    (tmp / "manifest.json").write_text(json.dumps(manifest))
    out = tmp / "out.json"
    script = f"{ROOT}/tests/dist_scripts/resume_matrix.py"
    run_ok([([sys.executable, script, str(tmp / "manifest.json"), str(out)],
             env(KERAS_BACKEND=NEXT_BACKEND, PYTHONPATH=f"{ROOT}/tests"))], timeout=300, what="resume_matrix")
    return json.loads(out.read_text()), here


@pytest.mark.parametrize("name", list(JOBS))
def test_save_load_on_next_backend_same_samples_and_state(resumed, name):
    there, here = resumed[0][name], resumed[1][name]
    assert there["backend"] == NEXT_BACKEND
    for got, want in zip(there["samples"], here["samples"]):
        np.testing.assert_allclose(np.asarray(got), want, atol=1e-5)
    iterations, slots, controls = here["state"]
    loaded = there["loaded"]
    assert loaded["iterations"] == iterations  # every optimizer, by name
    for k in slots:  # momentum / Adam moments restored (sums of |v| over each optimizer's variables)
        assert loaded["slots"][k] == pytest.approx(slots[k], rel=1e-6, abs=1e-6), k
    assert loaded["controls"] == pytest.approx(controls, abs=1e-6)
    steps = JOBS[name]
    assert there["after"]["iterations"] == {k: v + steps for k, v in iterations.items()}
    assert there["after"]["controls"]["step_counter"] == controls["step_counter"] + steps


def test_began_k_resumes_on_next_backend(resumed):
    """The resumed step uses the loaded k and moves it by its own L(x), L(G(z)) (one step: logs = that step)."""
    there, here = resumed[0]["began"], resumed[1]["began"]
    k, h = here["state"][2]["k"], there["history"]
    assert 0.0 < k < 1.0 and h["k"][0] == pytest.approx(k, abs=1e-6)
    expected = np.clip(k + 0.1 * (0.5 * h["l_real"][0] - h["l_fake"][0]), 0, 1)
    assert there["after"]["controls"]["k"] == pytest.approx(expected, abs=1e-6)
    assert abs(there["after"]["controls"]["k"] - k) > 1e-4  # lambda_k = 0.1: k really moved


def test_ada_p_and_its_accumulators_resume_on_next_backend(resumed):
    """Saved 2 steps into an interval: 2 more steps there complete it only if the accumulators came along."""
    there = resumed[0]["ada"]
    assert there["loaded"]["controls"]["ada_count"] == 2.0 and there["loaded"]["controls"]["ada_sign_sum"] == 2.0
    after = there["after"]["controls"]
    assert after["ada_p"] == pytest.approx(0.064, abs=1e-6)
    assert after["ada_count"] == 0.0 and after["ada_sign_sum"] == 0.0


# ------------------------------------------------------------------ semi-supervised AAE: four phases, three runs
SS_K, SS_D = 3, 2  # classes, style size
SS_LRS = {  # per run, the lr of each optimizer; the encoder moves in three phases, so one of them per run
    "reconstruction": {"generator": LR, "discriminator": LR, "encoder": 0.0, "classifier": 0.0},
    "encoder": {"generator": 0.0, "discriminator": LR, "encoder": LR, "classifier": 0.0},
    "classification": {"generator": 0.0, "discriminator": 0.0, "encoder": 0.0, "classifier": LR},
}


@pytest.fixture(scope="module")
def semisupervised_aae():
    # One model, one compiled step, three one-step runs from the same weights w0 (restored before each).
    # The encoder is trained by the reconstruction, encoder and classification phases; each run gives
    # lr 0 to all but one of them, so the encoder's move is that phase's gradient at a known encoder.
    # SGD without momentum: a step is w - lr * g whatever the earlier runs left in the optimizers.
    keras.utils.set_random_seed(0)
    x_in = keras.Input((4, 4, 1))
    h = layers.Dense(6, activation="tanh")(layers.Flatten()(x_in))
    E = keras.Model(x_in, [layers.Dense(SS_K)(h), layers.Dense(SS_D)(h)])
    z_in, y_in = keras.Input((SS_D,)), keras.Input((SS_K,))
    g = layers.Dense(6, activation="tanh")(layers.Concatenate()([z_in, y_in]))
    Dec = keras.Model([z_in, y_in], layers.Reshape((4, 4, 1))(layers.Dense(16, activation="tanh")(g)))
    # Non-default weights: a loss that dropped either would fail.
    gan = SemiSupervisedAAE(Dec, dense_critic(shape=(SS_D,)), latent_dim=SS_D, encoder=E,
                            discriminator_y=dense_critic(shape=(SS_K,)), num_classes=SS_K,
                            reconstruction_weight=0.7, supervised_weight=1.5, seed=0)
    gan.compile(optimizers={name: keras.optimizers.SGD(LR) for name in SS_LRS["reconstruction"]})
    noise = FixedNoise(gan)
    y = np.array([0, -1, 2, 1, -1, 0, -1, 2], "int32")  # 5 labelled rows of 8, every class
    batch = {"x": data()[:N], "y": y, "labelled": (y >= 0).astype("float32")}
    w0, runs = snapshot(gan), {}
    for name, lrs in SS_LRS.items():
        restore(gan, w0)
        for opt, lr in lrs.items():
            gan.optimizers[opt].learning_rate = lr
        gan.fit(batch, batch_size=N, epochs=1, shuffle=False, verbose=0)
        runs[name] = (w0, snapshot(gan))
    return {"gan": gan, "noise": noise, "batch": batch, "runs": runs}


def test_semisupervised_aae_one_step_equals_hand_computation(semisupervised_aae):
    # All four phases (reconstruction; both latent Ds; the encoder against both; classification on the
    # labelled rows). Measured worst step-vs-differences gap over TF, JAX and torch: 1.6e-5 absolute,
    # 2.9e-4 relative (38 variables, none skipped). It failed (torch) with supervised_weight 1.0 in
    # place of 1.5 (by 0.13), the mean over all 8 rows instead of the 5 labelled (0.15), the categorical
    # prior term left out of L_D (0.51) or its one-hot draws shifted by one class (0.078), e_cat left
    # out of L_E (0.066), reconstruction_weight 1.0 for 0.7 (0.022).
    # Time (fixture + test, 2 shared cores): TF 4.1 s, JAX 7.1 s, torch 0.8 s.
    gan, noise, batch, runs = (semisupervised_aae[k] for k in ("gan", "noise", "batch", "runs"))
    E, Dec, D, Dy = gan.encoder, gan.generator, gan.discriminator, gan.discriminator_y
    x, y, mask = batch["x"], batch["y"], batch["labelled"].astype("float64")
    prior_z = noise.normal(N, SS_D).astype("float32")
    k = np.minimum(np.floor(noise.uniform(N) * SS_K), SS_K - 1).astype(int)
    prior_y = np.eye(SS_K, dtype="float32")[k]
    assert len(set(k.tolist())) > 1  # the categorical prior's draws are not all one class

    def heads():
        logits, z = (np64(t) for t in E(x))
        log_q = logits - logits.max(1, keepdims=True)
        log_q -= np.log(np.exp(log_q).sum(1, keepdims=True))
        return log_q, z

    def logit(net, v):
        return np64(net(np.asarray(v, "float32")))[:, 0]

    def recon():
        log_q, z = heads()
        return 0.7 * np.mean((np64(Dec([z.astype("float32"), np.exp(log_q).astype("float32")])) - x) ** 2)

    def d_loss():
        log_q, z = heads()
        return (softplus(-logit(D, prior_z)).mean() + softplus(logit(D, z)).mean()
                + softplus(-logit(Dy, prior_y)).mean() + softplus(logit(Dy, np.exp(log_q))).mean())

    def e_loss():
        log_q, z = heads()
        return softplus(-logit(D, z)).mean() + softplus(-logit(Dy, np.exp(log_q))).mean()

    def class_loss():  # the labelled rows' mean cross-entropy; unlabelled rows (y = -1) weigh 0
        log_q, _ = heads()
        return 1.5 * -(mask * log_q[np.arange(N), np.maximum(y, 0)]).sum() / mask.sum()

    discriminators = ("discriminator", "discriminator_y")
    lrs = {"reconstruction": LR, "discriminator": LR, "encoder": LR, "classification": LR}
    # Run 1: the D phase sees the encoder after the reconstruction phase (its only move in this run).
    compare_step(gan, *runs["reconstruction"], [("reconstruction", ("encoder", "generator"), recon),
                                                ("discriminator", discriminators, d_loss)], lrs)
    # Run 2: the encoder phase starts from the initial encoder, against both Ds after their update.
    compare_step(gan, *runs["encoder"], [("discriminator", discriminators, d_loss),
                                         ("encoder", ("encoder",), e_loss)], lrs)
    # Run 3: the classification phase alone, from the initial encoder.
    compare_step(gan, *runs["classification"], [("classification", ("encoder",), class_loss)], lrs)
    for run, lr_of in SS_LRS.items():  # the lr-0 optimizers left their networks as they were
        w0, w1 = runs[run]
        still = [n for n, opt in (("generator", "generator"), ("discriminator", "discriminator"),
                                  ("discriminator_y", "discriminator")) if lr_of[opt] == 0.0]
        for n in still:
            for a, b in zip(w0[n], w1[n]):
                np.testing.assert_array_equal(a, b, err_msg=f"{run}: {n}")
    # Classification moves only the y head and the shared body, never the style head z.
    w0, w1 = runs["classification"]
    z_head = [i for i, v in enumerate(E.trainable_variables) if tuple(v.shape) in ((6, SS_D), (SS_D,))]
    assert len(z_head) == 2
    for i in z_head:
        np.testing.assert_array_equal(w0["encoder"][i], w1["encoder"][i])
