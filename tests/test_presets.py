"""The preset contract: every registered preset, on each data kind it declares, in its small
configuration, built from `kg.models.get(name, data=info)` alone.

Per case: build; config JSON round trip; one fit step with finite metrics; `sample` shape, range
and seed determinism; `.keras` reload with identical samples and optimiser state; for exact
likelihoods invertibility, the log-det against the autodiff Jacobian and a gradient for every
trainable variable. Export parity in both formats runs for a few presets by default and for every
preset under `-m slow`. Family test files keep only what is specific to their family.
"""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasgen as kg
from tests.helpers import DATA_KINDS, batch_of, contract_cases, contract_data, data_for, perturb_weights, preset_model

CASES = contract_cases()
# The contract's fit step runs eagerly (the same step, five times faster to run than to trace);
# the traced step of every preset runs under `-m slow`, and of one preset per step kind by default.
TRACED_FASTER = {"ffjord"}  # an adaptive ODE solve runs faster traced than eagerly
COMPILED_BY_DEFAULT = {"dcgan", "wgan-gp", "infogan", "vae", "aae", "vq-vae", "realnvp"}
COMPILED_CASES = [(n, k) if n in COMPILED_BY_DEFAULT and (n, k) == next(c for c in CASES if c[0] == n)
                  else pytest.param(n, k, marks=pytest.mark.slow) for n, k in CASES]


def test_every_registered_preset_is_in_the_contract():
    documented = {"gan", "dcgan", "wgan", "wgan-gp", "lsgan", "sngan", "cgan", "acgan", "infogan", "vae", "conv-vae",
                  "beta-vae", "cvae", "iwae", "hvae", "vq-vae", "aae", "vae-flow", "nice", "realnvp", "nsf", "glow",
                  "maf", "iaf", "planar", "radial", "lu-leaky", "residual", "ffjord", "pix2pix", "srresnet", "srgan",
                  "inpaint", "cyclegan"}
    assert documented <= set(kg.models.list())
    covered = {name for name, _ in CASES}
    assert covered == set(kg.models.list())
    # generative presets declare vectors and/or images; translation presets pairs or unpaired, never both worlds
    for name, preset in kg.models.list().items():
        translation = preset.family == "translation"
        assert set(preset.data) <= ({"pairs", "unpaired"} if translation else {"vectors", "images"}), name
    for name, preset in kg.models.list().items():
        assert preset.data, f"{name} declares no data kind"
        assert preset.small, f"{name} has no small configuration"
        assert preset.reference and preset.description, f"{name} needs a reference and a description"
        assert set(preset.data) <= set(DATA_KINDS)


def _fit_one_step(model, data, compiled=False):
    compiled = compiled or model.preset in TRACED_FASTER
    model.compile(**({} if compiled else {"run_eagerly": True}))
    n = 16
    args = batch_of(model, data, 0, n)
    history = model.fit(*args, batch_size=n, epochs=1, shuffle=False, verbose=0).history
    metrics = {k: v[-1] for k, v in history.items()}
    assert set(metrics) == {m.name for m in model.metrics} and metrics, "fit reports exactly the trackers"
    for key, value in metrics.items():
        assert np.isfinite(value), f"metric {key} is not finite: {value}"
    if model.standardizer is not None:  # learned from the data on the first fit, undone in sample
        np.testing.assert_allclose(model.standardizer.mean.numpy(), data.x[:n].mean(axis=0), atol=1e-4)
    return metrics


def _check_samples(model, data, kind):
    if hasattr(model, "translate"):  # translation: a deterministic map of source images, no sampling
        out = model.translate(data.x[:6])
        assert out.shape == (6, *model.data_shape) and out.dtype == np.float32
        assert np.isfinite(out).all() and out.min() >= -1.0 and out.max() <= 1.0
        np.testing.assert_array_equal(out, model.translate(data.x[:6]))
        assert not np.array_equal(out[:3], out[3:])  # the output follows the source
        with pytest.raises(NotImplementedError, match="translate"):
            model.sample(2, seed=0)
        return out
    samples = model.sample(6, seed=3)
    assert samples.shape == (6, *data.info.data_shape) and samples.dtype == np.float32
    assert np.isfinite(samples).all()
    if kind == "images":
        assert samples.min() >= -1.0 and samples.max() <= 1.0
    np.testing.assert_array_equal(samples, model.sample(6, seed=3))
    assert not np.array_equal(samples, model.sample(6, seed=4))
    return samples


# Weight noise before the exact-likelihood checks: after one step from zero-initialised output layers a flow
# is near the identity (|log det| 0.006-0.04), where invertibility and log-det checks test an identity map.
PERTURBATION = {"vectors": 0.3, "images": 0.1}
PERTURBATION_OF = {("iaf", "images"): 0.25, ("realnvp", "vectors"): 0.6, ("nsf", "vectors"): 0.35, ("ffjord", "vectors"): 0.1,
                   ("planar", "vectors"): 0.6, ("radial", "vectors"): 1.0, ("residual", "vectors"): 0.6}
# (nsf on vectors: 0.45 made its exponential knot slopes steep enough that float32 inversion erred by 5e-4)
# flows whose construction bounds their log-det on 2-D data (contractive residual blocks, planar and radial
# layers) or makes it constant (NICE's additive couplings)
BOUNDED_LOG_DET = {"nice", "planar", "radial", "residual"}


def _assert_far_from_identity(model, kind, jacobian, log_det):
    """The perturbed flow's map is no near-identity: its Jacobian (B, D, D) differs from I by > 0.5
    (vectors), or couples pixels by > 0.5 (images, whose fixed logit step is elementwise); vector flows with
    unbounded log-dets also have |log det| > 0.5."""
    if kind == "vectors":
        deviation = np.linalg.norm(jacobian - np.eye(jacobian.shape[-1]), axis=(1, 2))
        if model.preset not in BOUNDED_LOG_DET:
            assert np.abs(log_det).mean() > 0.5, f"the flow is near the identity: log det {log_det}"
    else:
        deviation = np.linalg.norm(jacobian * (1 - np.eye(jacobian.shape[-1])), axis=(1, 2))
    assert deviation.mean() > 0.5, f"the flow is near the identity: Jacobian deviation {deviation}"


def _check_exact_likelihood(model, data, kind):
    """Invertibility, log-det against the autodiff Jacobian, a gradient for every variable, on a flow whose
    weights were moved well off the identity (asserted by `_assert_far_from_identity`).

    The Jacobian is taken in the direction the flow computes in one pass (sampling for IAF,
    density for the others), on 3 vectors or 1 image (an image's Jacobian is D x D)."""
    perturb_weights(model, PERTURBATION_OF.get((model.preset, kind), PERTURBATION[kind]))
    rng = np.random.default_rng(1)
    batch = 3 if len(model.data_shape) == 1 else 1
    z = tf.constant(rng.normal(size=(batch, model.noise_dim)), tf.float32)
    x = model.bijector().forward(z)
    np.testing.assert_allclose(model.bijector().inverse(tf.identity(x)).numpy(), z.numpy(),
                               atol=5e-3 if model.preset == "ffjord" else 2e-4)  # FFJORD: up to its ODE solver
    forward = model.preset == "iaf"
    start = z if forward else tf.identity(x)
    bijector = model.bijector()  # a fresh one: the one that made x would answer from its cache
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(start)
        end = tf.reshape(bijector.forward(start) if forward else bijector.inverse(start), (batch, -1))
        flat_start = tf.reshape(start, (batch, -1))
    # pfor pays off on images; on 2-D vectors (and through FFJORD's ODE solves) plain loops are faster
    jacobian = tape.batch_jacobian(end, start, experimental_use_pfor=batch == 1).numpy().astype(np.float64)
    jacobian = jacobian.reshape(batch, flat_start.shape[1], -1) if batch == 1 else jacobian
    log_det = (bijector.forward_log_det_jacobian(start, event_ndims=1) if forward
               else bijector.inverse_log_det_jacobian(start, event_ndims=len(model.data_shape)))
    np.testing.assert_allclose(np.broadcast_to(np.asarray(log_det), (batch,)), np.linalg.slogdet(jacobian)[1],
                               rtol=1e-4, atol=5e-3 if model.preset == "ffjord" else 2e-3)
    _assert_far_from_identity(model, kind, jacobian, np.broadcast_to(np.asarray(log_det), (batch,)))
    labels = tf.constant(data.y[:8]) if model.conditional else None
    with tf.GradientTape() as tape:
        nll = -tf.reduce_mean(model._log_prob(model.to_model_space(data.x[:8]), labels, noise_seed=tf.constant([1, 2])))
    grads = tape.gradient(nll, model.trainable_variables)
    assert model.trainable_variables
    for var, grad in zip(model.trainable_variables, grads):
        assert grad is not None and np.abs(grad.numpy()).max() > 0, f"{var.path} gets no gradient"


# The default run keeps the contract of every preset on vectors, and on images for one preset per image
# mechanism (convolutional GAN, conditional GAN with an auxiliary head, convolutional VAE, VQ codes, and Glow:
# squeeze, actnorm, invertible 1x1 convolution and multi-scale split); every other image case, and the costliest
# vector cases (FFJORD's ODE solves through a perturbed field, 30-40 s on 2 cores; the residual flow's exact
# log-det and fixed-point inverse, 10 s), run with -m slow, which CI runs too.
DEFAULT_IMAGE_CONTRACT = {"dcgan", "acgan", "conv-vae", "vq-vae", "glow"}
# The GAN presets of one option each share the GAN step the gan/dcgan cases check by default; their options
# have their own default tests (test_gan_options, test_losses): pacgan stays by default, the rest run under -m slow.
SLOW_CONTRACT = {("ffjord", "vectors"), ("residual", "vectors"), ("unrolled-gan", "vectors"), ("fm-gan", "vectors"),
                 ("fgan-kl", "vectors"), ("fgan-js", "vectors"), ("fgan-pearson", "vectors")}
# Translation: pix2pix (the paired step with a discriminator) by default; cyclegan (10 s; its step trains by default
# in test_translation), srresnet (no discriminator), srgan (content loss) and inpaint (masked output) under -m slow.
DEFAULT_TRANSLATION_CONTRACT = {"pix2pix"}
CONTRACT_CASES = [pytest.param(n, k, id=f"{n}-{k}", marks=[pytest.mark.slow] if (n, k) in SLOW_CONTRACT
                               or (k == "images" and n not in DEFAULT_IMAGE_CONTRACT)
                               or (k in ("pairs", "unpaired") and n not in DEFAULT_TRANSLATION_CONTRACT) else [])
                  for n, k in CASES]


@pytest.mark.parametrize("name,kind", CONTRACT_CASES)
def test_preset_keeps_the_contract(name, kind, tmp_path):
    data = contract_data(name, kind)
    model = preset_model(name, data.info)
    preset = kg.registry.get_preset(name)
    assert model.preset == name and model.data_shape == data.info.data_shape
    assert model.conditional == preset.needs_labels
    if preset.needs_labels:
        assert model.num_classes == data.info.num_classes

    config = json.dumps(model.get_config())
    rebuilt = type(model).from_config(json.loads(config))  # (from_config may consume its argument)
    assert json.loads(json.dumps(rebuilt.get_config())) == json.loads(config)

    _fit_one_step(model, data)
    samples = _check_samples(model, data, kind)

    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = kg.models.load(path)
    assert loaded.capabilities == model.capabilities
    # the training noise stream resumes where it stopped
    np.testing.assert_array_equal(np.asarray(loaded.seed_generator.state), np.asarray(model.seed_generator.state))
    again = loaded.translate(data.x[:6]) if hasattr(model, "translate") else loaded.sample(6, seed=3)
    np.testing.assert_allclose(again, samples, atol=1e-6)
    before, after = model.get_compile_config(), loaded.get_compile_config()
    assert set(before) == set(after) == {p.optimizer for p in model.players()}
    for player in model.players():
        mine, theirs = getattr(model, player.optimizer), getattr(loaded, player.optimizer)
        assert int(mine.iterations.numpy()) == int(theirs.iterations.numpy()) > 0
        assert len(mine.variables) == len(theirs.variables)
        for a, b in zip(mine.variables, theirs.variables):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # exact resume: one more step of the model and of its reload gives the same losses and weights, bit for bit
    # (rejects a reload that loses optimiser slots, the noise generator's position, batch-norm statistics or
    # a flow's data-initialised state)
    loaded.run_eagerly = model.run_eagerly
    batch = batch_of(model, data, 16, 32)
    uninterrupted = model.fit(*batch, batch_size=16, epochs=1, shuffle=False, verbose=0).history
    assert loaded.fit(*batch, batch_size=16, epochs=1, shuffle=False, verbose=0).history == uninterrupted
    assert [v.shape for v in loaded.weights] == [v.shape for v in model.weights]
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(np.asarray(b), np.asarray(a), err_msg=a.path)

    if model.likelihood_kind == "exact":
        np.testing.assert_allclose(loaded.log_prob(data.x[:4], data.y[:4] if model.conditional else None),
                                   model.log_prob(data.x[:4], data.y[:4] if model.conditional else None), atol=1e-4)
        _check_exact_likelihood(model, data, kind)


@pytest.mark.parametrize("name,kind", COMPILED_CASES)
def test_preset_trains_with_its_compiled_step(name, kind):
    """The traced (graph) train step, as `fit` runs it by default, gives finite metrics."""
    data = contract_data(name, kind)
    _fit_one_step(preset_model(name, data.info), data, compiled=True)


@pytest.mark.parametrize("kind", ["vectors", "images", "rgb"])
def test_every_preset_builds_from_the_data_alone(kind):
    """With no other argument than the data info: 8 Gaussians, the labelled digits and an npz of RGB
    32x32 images (the defaults a user gets; shapes, labels and pixel levels come from the data)."""
    info = data_for(kind).info
    for name, preset in kg.models.list(data="vectors" if kind == "vectors" else "images").items():
        model = kg.models.get(name, data=info)
        assert model.data_shape == info.data_shape, name
        assert model.conditional == preset.needs_labels, name
        if preset.needs_labels:
            assert model.num_classes == info.num_classes, name
        if preset.uses_levels and kind != "vectors":
            assert model.num_levels == info.num_levels, name


@pytest.mark.slow
def test_every_image_preset_samples_rgb_images_with_its_defaults():
    data = data_for("rgb")
    for name in kg.models.list(data="images"):
        model = kg.models.get(name, data=data.info)
        if name == "maf":  # sampling is 3,072 sequential passes here (about 30 s): its one-pass direction instead
            assert np.isfinite(model.log_prob(data.x[:2])).all()
            continue
        samples = model.sample(2, seed=0)
        assert samples.shape == (2, 32, 32, 3) and np.abs(samples).max() <= 1.0, name


def test_get_takes_what_the_data_knows_and_explicit_arguments_win():
    images = data_for("images").info
    assert kg.models.get("cgan", data=images, **kg.registry.get_preset("cgan").small).num_classes == 10
    assert kg.models.get("realnvp", data=images, channels=8).num_levels == 17
    assert kg.models.get("realnvp", data=images, channels=8, num_levels=256).num_levels == 256
    assert kg.models.get("dcgan", data=images, data_shape=(16, 16, 1), base_filters=8).data_shape == (16, 16, 1)
    assert kg.models.get("gan", data=(2,), hidden=(8,)).data_shape == (2,)
    vectors = kg.data.load_arrays("toy2d:8gaussians", n_samples=64).info
    with pytest.raises(ValueError, match="conditional and needs labelled data: the data 'toy2d:8gaussians' have no"):
        kg.models.get("cvae", data=vectors)
    with pytest.raises(ValueError, match="preset 'glow' models images, not vectors"):
        kg.models.get("glow", data=vectors)
    with pytest.raises(ValueError, match="takes no labels"):
        kg.models.get("dcgan", data=images, num_classes=10)
    with pytest.raises(ValueError, match="pass data=info"):
        kg.models.get("dcgan")
    with pytest.raises(TypeError, match="DataInfo or a shape"):
        kg.models.get("dcgan", data="digits")
    with pytest.raises(ValueError, match="preset 'lsgan' sets 'loss' itself, so it cannot be overridden"):
        kg.models.get("lsgan", data=(2,), loss="hinge")
    with pytest.raises(ValueError, match="Unrecognized keyword arguments passed to GAN: {'losses': 'hinge'}"):
        kg.models.get("lsgan", data=(2,), losses="hinge")


def test_capabilities_are_declared():
    images = data_for("images").info
    expected = {"dcgan": (None, False, False), "cgan": (None, True, False), "vae": ("bound", False, True),
                "cvae": ("bound", True, True), "vq-vae": (None, False, False), "realnvp": ("exact", False, False)}
    for name, (likelihood, conditional, encoder) in expected.items():
        model = preset_model(name, images)
        assert (model.likelihood_kind, model.conditional, model.has_encoder) == (likelihood, conditional, encoder)


def test_players_compile_round_trip_and_refuse_unknown_optimisers():
    images = data_for("images").info
    gan = preset_model("wgan", images)
    gan.compile(d_optimizer=keras.optimizers.SGD(0.1))
    assert isinstance(gan.g_optimizer, keras.optimizers.RMSprop) and isinstance(gan.d_optimizer, keras.optimizers.SGD)
    aae = preset_model("aae", images)
    aae.compile()
    assert [p.optimizer for p in aae.players()] == ["optimizer", "d_optimizer"]
    ae_ids = {id(v) for v in aae.players()[0].variables()}
    assert not ae_ids & {id(v) for v in aae.discriminator.trainable_variables}
    with pytest.raises(ValueError, match="has no player g_optimizer; its optimisers are optimizer, d_optimizer"):
        aae.compile(g_optimizer="adam")
    for player in aae.players():  # each optimiser holds state for its own player's variables only
        optimizer = getattr(aae, player.optimizer)
        assert {id(v) for v in optimizer._trainable_variables} == {id(v) for v in player.variables()}
    vae = preset_model("vae", images)
    vae.compile(optimizer="sgd")
    assert vae.get_compile_config()["optimizer"]["class_name"] == "SGD"


# ---- export parity -------------------------------------------------------------------------
# the default run exports one preset per mechanism (GAN, labels, InfoGAN codes, VAE, CVAE,
# hierarchical prior, VQ codes, a flow's generate and log_prob graphs: MAF, whose inverse is the hardest to
# convert, an autoregressive loop); `-m slow` exports every preset
# (about 10 s each on 2 cores, glow 30 s, minutes for FFJORD)
DEFAULT_EXPORTS = {"dcgan", "cgan", "infogan", "vae", "cvae", "hvae", "vq-vae", "maf"}
# Both formats of one preset run on one xdist worker (`--dist loadgroup`): the session fixture exports a preset
# once per worker, and FFJORD's and the residual flow's unrolled export graphs take minutes.
EXPORT_CASES = [pytest.param(n, marks=[pytest.mark.xdist_group(f"export-{n}")]
                             + ([] if n in DEFAULT_EXPORTS else [pytest.mark.slow])) for n in sorted(kg.PRESETS)
                if kg.registry.get_preset(n).family != "translation"]  # translation exports: tests/test_translation.py


def signature_names(model):
    names = {"serving_default", "generate", "sample", *model.export_functions()}
    if "encode" in names:
        names.add("decode")
    return names


@pytest.mark.parametrize("name", EXPORT_CASES)
def test_savedmodel_serves_every_signature_like_keras(name, exports):
    from kerasgen.export import graph

    model, folder, _ = exports[name]
    assert os.path.basename(folder) == "1"
    loaded = tf.saved_model.load(folder)
    assert set(loaded.signatures) == signature_names(model)
    inputs = graph.verification_inputs(model, graph.generate_spec(model), 5)
    got = loaded.signatures["serving_default"](**{k: tf.constant(v) for k, v in inputs.items()})["samples"].numpy()
    want = np.asarray(model.export_generate(*[tf.constant(v) for v in inputs.values()]))
    assert got.dtype == np.float32 and got.shape == (5, *model.data_shape)
    np.testing.assert_allclose(got, want, atol=1e-4)
    drawn = loaded.signatures["sample"](num_samples=tf.constant(4), seed=tf.constant(3, tf.int64))["samples"]
    assert drawn.shape == (4, *model.data_shape) and np.isfinite(drawn.numpy()).all()
    again = loaded.signatures["sample"](num_samples=tf.constant(4), seed=tf.constant(3, tf.int64))["samples"]
    np.testing.assert_array_equal(drawn.numpy(), again.numpy())  # stateless: the seed decides
    # `sample` is `generate` of its documented noise (rejects a signature that draws other noise, ignores the
    # seed, or pairs the noise with other labels)
    documented = {model.export_noise()["name"]: model.prior_noise(4, tf.constant([3, 0], tf.int64))}
    if getattr(model, "num_classes", None):
        documented["labels"] = tf.range(4, dtype=tf.int32) % model.num_classes
    np.testing.assert_allclose(drawn.numpy(), loaded.signatures["generate"](**documented)["samples"].numpy(),
                               atol=1e-6)
    card = json.load(open(os.path.join(folder, "model_card.json")))
    assert card["preset"] == name and card["data_shape"] == list(model.data_shape)
    assert card["capabilities"] == model.capabilities and "sample_signature" in card["noise_streams"]
    assert set(card["parity"]) == signature_names(model)
    assert all(v <= 1e-4 for by_batch in card["parity"].values() for v in by_batch.values())
    assert card["versions"]["tensorflow"] == tf.__version__


@pytest.mark.parametrize("name", EXPORT_CASES)
def test_onnx_runs_without_keras_and_matches_it(name, exports):
    model, _, files = exports[name]
    generator = kg.export.OnnxGenerator(files["generate"])
    noise = generator.draw_noise(3, seed=0)
    labels = np.array([0, 1, 2]) if generator.num_classes else None
    want = np.asarray(model.export_generate(tf.constant(noise), None if labels is None else tf.constant(labels, tf.int32)))
    np.testing.assert_allclose(generator.generate(noise, labels), want, atol=1e-4)
    card = json.load(open(files["card"]))
    # one noise path: the same seed gives the Keras model's samples (FFJORD's export integrates with fixed
    # Runge-Kutta steps, the model adaptively: they agree within the 1e-3 its card is held to below)
    atol = 1e-3 if "export_deviation_from_model" in card else 1e-4
    np.testing.assert_allclose(generator.sample(7, seed=11), model.sample(7, seed=11), atol=atol)
    assert card["format"] == "onnx" and all(v <= 1e-4 for b in card["parity"].values() for v in b.values())
    if "export_deviation_from_model" in card:  # FFJORD: fixed-step Runge-Kutta against the adaptive solver
        assert card["export_deviation_from_model"]["samples"] < 1e-3
        assert card["export_deviation_from_model"]["log_prob"] < 1e-3
    if "log_prob" in files:  # (quantised data at the centre of their cell)
        log_prob = model.export_functions()["log_prob"][0]
        np.testing.assert_allclose(generator.log_prob(want), log_prob(tf.constant(want))["log_prob"].numpy(),
                                   rtol=1e-5, atol=1e-4)
