"""The convolution layers whose bfloat16 kernel gradients run as forward convolutions (kerasgen.layers.conv)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasgen as kg
from kerasgen.layers import conv


def _relative_error(a, b):
    a, b = tf.cast(a, tf.float64), tf.cast(b, tf.float64)
    return float(tf.reduce_max(tf.abs(a - b)) / (tf.reduce_max(tf.abs(b)) + 1e-30))


@pytest.mark.parametrize("size, c_in, c_out, kernel, stride, padding", [
    (7, 5, 6, 3, 1, "SAME"), (14, 4, 3, 4, 2, "SAME"), (9, 3, 2, 3, 2, "VALID"), (8, 2, 3, 4, 2, "VALID"),
    (5, 3, 4, 5, 1, "SAME"), (11, 2, 5, 4, 3, "SAME"), (10, 3, 3, 3, 3, "VALID"),
])
def test_kernel_gradient_equals_tensorflows_weight_gradient(size, c_in, c_out, kernel, stride, padding):
    x = tf.random.stateless_normal((3, size, size + 1, c_in), seed=(1, 2))
    out = tf.nn.conv2d(x, tf.zeros((kernel, kernel, c_in, c_out)), stride, padding)
    dy = tf.random.stateless_normal(out.shape, seed=(3, 4))
    expected = tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=(kernel, kernel, c_in, c_out), out_backprop=dy,
                                               strides=[1, stride, stride, 1], padding=padding)
    got = conv.kernel_gradient(x, dy, (kernel, kernel, c_in, c_out), stride, padding)
    assert got.shape == (kernel, kernel, c_in, c_out)
    assert _relative_error(got, expected) < 1e-5


def _gradients(fn, x, kernel):
    """Output, first gradients of sum(y^2) and the kernel gradient of a gradient penalty on x."""
    with tf.GradientTape() as outer:
        outer.watch(kernel)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([x, kernel])
            y = fn(x, kernel)
            loss = tf.reduce_sum(y ** 2)
        dx, dk = tape.gradient(loss, [x, kernel])
        penalty = tf.reduce_sum(dx ** 2)
    return y, dx, dk, outer.gradient(penalty, kernel)


@pytest.mark.parametrize("stride, padding", [(1, "SAME"), (2, "SAME"), (2, "VALID")])
def test_conv2d_and_its_transpose_differentiate_as_tensorflows_ops_to_second_order(stride, padding):
    x = tf.random.stateless_normal((2, 7, 7, 3), seed=(5, 6))
    kernel = tf.random.stateless_normal((4, 4, 3, 5), seed=(7, 8))
    ours = _gradients(lambda x, k: conv.conv2d(x, k, stride, padding), x, kernel)
    theirs = _gradients(lambda x, k: tf.nn.conv2d(x, k, stride, padding), x, kernel)
    for a, b in zip(ours, theirs):
        assert _relative_error(a, b) < 1e-5

    kernel_t = tf.random.stateless_normal((4, 4, 5, 3), seed=(9, 10))  # (kh, kw, C_out, C_in)
    rows = 7 * stride if padding == "SAME" else (7 - 1) * stride + 4
    shape = tf.constant([2, rows, rows, 5])
    ours = _gradients(lambda x, k: conv.conv2d_transpose(x, k, shape, stride, padding), x, kernel_t)
    theirs = _gradients(lambda x, k: tf.nn.conv2d_transpose(x, k, shape, stride, padding), x, kernel_t)
    for a, b in zip(ours, theirs):
        assert _relative_error(a, b) < 1e-5


def _unrolled_generator_gradient(conv_fn, transpose_fn, padding, steps=2):
    """The gradient, with respect to a scale w of the fake images, of a generator loss scored by a small
    discriminator (a stride-2 convolution and a stride-2 transposed convolution back to the image size, both
    biased) after `steps` differentiable SGD updates on real and fake images, as an unrolled GAN takes it
    (second order through every kernel gradient)."""
    size = 8 if padding == "SAME" else 9  # 8 -> 4 -> 8, or 9 -> 4 -> 9
    real = tf.random.stateless_normal((2, size, size, 3), seed=(1, 2))
    w = tf.constant(0.5)
    weights = [tf.random.stateless_normal((3, 3, 3, 4), seed=(3, 4)) * 0.3, tf.zeros((4,)) + 0.1,
               tf.random.stateless_normal((3, 3, 2, 4), seed=(5, 6)) * 0.3, tf.zeros((2,)) + 0.1]

    def discriminator(x, weights):
        k1, b1, k2, b2 = weights
        h = tf.nn.leaky_relu(conv_fn(x, k1, 2, padding) + b1, 0.2)
        return transpose_fn(h, k2, tf.constant([2, size, size, 2]), 2, padding) + b2

    with tf.GradientTape() as outer:
        outer.watch(w)
        fake = real * w
        for _ in range(steps):
            with tf.GradientTape() as tape:
                tape.watch(weights)
                loss = tf.reduce_sum(discriminator(real, weights) ** 2) + tf.reduce_sum(discriminator(fake, weights))
            weights = [v - 0.05 * g for v, g in zip(weights, tape.gradient(loss, weights))]
        generator_loss = tf.reduce_sum(discriminator(fake, weights) ** 2)
    return outer.gradient(generator_loss, w)


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_kernel_gradients_differentiate_through_unrolled_updates_as_tensorflows(padding):
    ours = tf.function(lambda: _unrolled_generator_gradient(conv.conv2d, conv.conv2d_transpose, padding))
    theirs = tf.function(lambda: _unrolled_generator_gradient(tf.nn.conv2d, tf.nn.conv2d_transpose, padding))()
    assert abs(float(theirs)) > 1e-3
    assert _relative_error(ours(), theirs) < 1e-4
    # second order takes no dilated backward convolution (TensorFlow's CPU kernels without oneDNN have none)
    backward = [op for op in ours.get_concrete_function().graph.get_operations()
                if op.type in ("Conv2DBackpropFilter", "Conv2DBackpropInput")]
    assert backward and all(list(op.get_attr("dilations")) == [1, 1, 1, 1] for op in backward)


@pytest.fixture
def forward_form_calls(monkeypatch):
    """The dtypes of the traced calls of `conv.kernel_gradient` (one per layer whose kernel gradient takes the
    forward form)."""
    calls = []
    original = conv.kernel_gradient

    def counted(*args, **kwargs):
        calls.append(args[0].dtype)
        return original(*args, **kwargs)

    monkeypatch.setattr(conv, "kernel_gradient", counted)
    return calls


def _train(layer, shape):
    """The layer's output on a fixed input of `shape` and the gradients of sum(output^2) for its weights."""
    x = tf.random.stateless_normal(shape, seed=(11, 12))
    with tf.GradientTape() as tape:
        y = layer(x)
        loss = tf.reduce_sum(tf.cast(y, tf.float32) ** 2)
    return y, tape.gradient(loss, layer.trainable_variables)


def _assert_trains_as_keras(ours, keras_layer, shape, kwargs):
    """Our layer and Keras' with the same weights under mixed_bfloat16: the same output, and gradients as close
    to the float32 ones as Keras' own bfloat16 gradients are (bfloat16 keeps 8 bits)."""
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    a, b = ours(**kwargs), keras_layer(**kwargs)
    a.build(shape)
    b.build(shape)
    b.set_weights(a.get_weights())
    keras.mixed_precision.set_global_policy("float32")
    reference = keras_layer(**kwargs)  # the same weights computing in float32
    reference.build(shape)
    reference.set_weights(a.get_weights())
    (ya, ga), (yb, gb), (_, gr) = _train(a, shape), _train(b, shape), _train(reference, shape)
    assert ya.dtype == yb.dtype and ya.shape == yb.shape
    assert _relative_error(ya, yb) == 0.0  # the same forward computation
    for ours_g, keras_g, exact in zip(ga, gb, gr):
        assert ours_g.dtype == tf.float32
        assert _relative_error(ours_g, exact) <= max(2 * _relative_error(keras_g, exact), 0.02)


LAYER_CASES = [
    (conv.Conv2D, keras.layers.Conv2D, (6, 14, 14, 8), dict(filters=12, kernel_size=4, strides=2, padding="same")),
    (conv.Conv2D, keras.layers.Conv2D, (6, 7, 7, 8), dict(filters=12, kernel_size=3, padding="same",
                                                          activation="relu")),
    (conv.Conv2D, keras.layers.Conv2D, (6, 9, 9, 8), dict(filters=12, kernel_size=3, strides=2, padding="valid")),
    (conv.Conv2DTranspose, keras.layers.Conv2DTranspose, (6, 7, 7, 8), dict(filters=5, kernel_size=4, strides=2,
                                                                           padding="same")),
    (conv.Conv2DTranspose, keras.layers.Conv2DTranspose, (6, 4, 4, 8), dict(filters=5, kernel_size=3, strides=2,
                                                                           padding="valid", activation="tanh")),
    # kernels and images that are not square
    (conv.Conv2D, keras.layers.Conv2D, (4, 5, 9, 3), dict(filters=4, kernel_size=(1, 3), strides=2, padding="same")),
    (conv.Conv2D, keras.layers.Conv2D, (4, 9, 6, 3), dict(filters=4, kernel_size=(3, 1), strides=2, padding="valid")),
    (conv.Conv2D, keras.layers.Conv2D, (4, 6, 7, 3), dict(filters=4, kernel_size=(2, 5), padding="same")),
    (conv.Conv2DTranspose, keras.layers.Conv2DTranspose, (4, 3, 5, 3), dict(filters=4, kernel_size=(2, 3), strides=2,
                                                                           padding="same")),
    (conv.Conv2DTranspose, keras.layers.Conv2DTranspose, (4, 3, 5, 3), dict(filters=4, kernel_size=(3, 2), strides=3,
                                                                           padding="valid")),
]


@pytest.mark.parametrize("ours, keras_layer, shape, kwargs", LAYER_CASES)
def test_layers_train_as_keras_layers_under_mixed_bfloat16_through_the_forward_form(
        monkeypatch, forward_form_calls, ours, keras_layer, shape, kwargs):
    monkeypatch.setenv(conv.FORM_ENV, "forward")
    _assert_trains_as_keras(ours, keras_layer, shape, kwargs)
    assert forward_form_calls == [tf.bfloat16]  # only our layer, once, computing in bfloat16


@pytest.mark.parametrize("ours, keras_layer, shape, kwargs", [
    (conv.Conv2D, keras.layers.Conv2D, (4, 8, 8, 3), dict(filters=4, kernel_size=3, strides=(1, 2), padding="same")),
    (conv.Conv2D, keras.layers.Conv2D, (4, 8, 8, 6), dict(filters=6, kernel_size=3, groups=3, padding="same")),
    (conv.Conv2DTranspose, keras.layers.Conv2DTranspose, (4, 4, 4, 3),
     dict(filters=4, kernel_size=3, strides=2, output_padding=1, padding="same")),
    (conv.Conv2D, keras.layers.Conv2D, (4, 3, 8, 8), dict(filters=4, kernel_size=3, padding="same",
                                                          data_format="channels_first")),
])
def test_layers_keep_keras_computation_where_the_forward_form_does_not_apply(
        monkeypatch, forward_form_calls, ours, keras_layer, shape, kwargs):
    monkeypatch.setenv(conv.FORM_ENV, "forward")
    _assert_trains_as_keras(ours, keras_layer, shape, kwargs)
    assert not forward_form_calls


def test_kernel_gradient_of_a_kernel_that_is_not_square():
    x = tf.random.stateless_normal((3, 9, 10, 2), seed=(1, 2))
    for padding in ("SAME", "VALID"):
        dy = tf.random.stateless_normal(tf.nn.conv2d(x, tf.zeros((2, 5, 2, 3)), 2, padding).shape, seed=(3, 4))
        expected = tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=(2, 5, 2, 3), out_backprop=dy,
                                                   strides=[1, 2, 2, 1], padding=padding)
        assert _relative_error(conv.kernel_gradient(x, dy, (2, 5, 2, 3), 2, padding), expected) < 1e-5


def test_forward_form_only_under_bfloat16_for_small_outputs_when_chosen(monkeypatch, forward_form_calls):
    def trains_through_forward_form(layer, shape):
        forward_form_calls.clear()
        _train(layer, shape)
        return bool(forward_form_calls)

    monkeypatch.setenv(conv.FORM_ENV, "forward")
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    assert trains_through_forward_form(conv.Conv2D(4, 3, padding="same"), (2, 8, 8, 3))  # 64 pixels out
    assert not trains_through_forward_form(conv.Conv2D(4, 3, padding="same"), (2, 9, 8, 3))  # 72
    assert not trains_through_forward_form(conv.Conv2D(4, 3, padding="same"), (2, 13, 5, 3))  # 65
    assert not trains_through_forward_form(conv.Conv2D(4, 3, padding="same"), (2, 4, 17, 3))  # 68 (4 rows)
    assert trains_through_forward_form(conv.Conv2D(4, 3, padding="same"), (2, 16, 4, 3))  # 64 (16 rows)
    assert trains_through_forward_form(conv.Conv2D(4, 4, strides=2, padding="same"), (2, 16, 16, 3))  # 8x8 out
    assert not trains_through_forward_form(conv.Conv2D(4, 3, dilation_rate=2, padding="same"), (2, 8, 8, 3))
    # a transposed convolution by its input, the output side of its kernel gradient
    assert trains_through_forward_form(conv.Conv2DTranspose(4, 4, strides=2, padding="same"), (2, 8, 8, 3))
    assert not trains_through_forward_form(conv.Conv2DTranspose(4, 4, strides=2, padding="same"), (2, 9, 9, 3))
    assert not trains_through_forward_form(conv.Conv2DTranspose(4, 4, strides=2, padding="same"), (2, 4, 17, 3))
    assert not trains_through_forward_form(conv.Conv2DTranspose(4, 4, strides=2, padding="same"), (2, 13, 5, 3))
    monkeypatch.setenv(conv.FORM_ENV, "native")
    assert not trains_through_forward_form(conv.Conv2D(4, 3, padding="same"), (2, 8, 8, 3))
    assert not trains_through_forward_form(conv.Conv2DTranspose(4, 4, strides=2, padding="same"), (2, 4, 4, 3))
    monkeypatch.setenv(conv.FORM_ENV, "forward")
    keras.mixed_precision.set_global_policy("float32")
    assert not trains_through_forward_form(conv.Conv2D(4, 3, padding="same"), (2, 8, 8, 3))
    assert not trains_through_forward_form(conv.Conv2DTranspose(4, 4, strides=2, padding="same"), (2, 4, 4, 3))
    # any bfloat16 compute dtype, not only the mixed policy
    assert trains_through_forward_form(conv.Conv2D(4, 3, padding="same", dtype="bfloat16"), (2, 8, 8, 3))
    assert forward_form_calls == [tf.bfloat16]


def test_the_setting_is_read_from_the_environment_and_auto_keeps_tensorflows_kernel_on_amx_or_gpu(monkeypatch):
    monkeypatch.setenv(conv.FORM_ENV, "Forward ")
    assert conv.weight_gradient_form() == "forward"
    monkeypatch.setenv(conv.FORM_ENV, "native")
    assert conv.weight_gradient_form() == "native"
    monkeypatch.setenv(conv.FORM_ENV, "fast")
    with pytest.raises(ValueError, match="KERASGEN_CONV_WEIGHT_GRADIENT='fast'"):
        conv.weight_gradient_form()

    cases = [(frozenset({"avx512_bf16"}), [], "forward"), (frozenset({"avx512_bf16", "amx_bf16"}), [], "native"),
             (frozenset({"avx512_bf16"}), ["a GPU"], "native")]
    for setting in ("auto", None, "  "):  # unset or blank is auto
        if setting is None:
            monkeypatch.delenv(conv.FORM_ENV)
        else:
            monkeypatch.setenv(conv.FORM_ENV, setting)
        for flags, gpus, expected in cases:
            monkeypatch.setattr(kg.precision, "cpu_flags", lambda flags=flags: flags)
            monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None, gpus=gpus: gpus)
            conv._auto_form.cache_clear()
            try:
                assert conv.weight_gradient_form() == expected
            finally:
                conv._auto_form.cache_clear()


def test_layers_keep_keras_names_and_save_as_kerasgen_layers(tmp_path):
    inputs = keras.Input((8, 8, 2))
    h = conv.Conv2D(4, 3, strides=2, padding="same")(inputs)
    outputs = conv.Conv2DTranspose(2, 4, strides=2, padding="same")(h)
    model = keras.Model(inputs, outputs)
    assert [layer.name.rsplit("_", 1)[0] if layer.name[-1].isdigit() else layer.name for layer in model.layers[1:]] \
        == ["conv2d", "conv2d_transpose"]  # auto names as Keras' layers get them: weights files line up
    assert keras.saving.get_registered_name(conv.Conv2D) == "kerasgen>Conv2D"  # what saved files name
    assert keras.saving.get_registered_name(conv.Conv2DTranspose) == "kerasgen>Conv2DTranspose"
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert [type(layer) for layer in loaded.layers[1:]] == [conv.Conv2D, conv.Conv2DTranspose]
    x = np.random.default_rng(0).normal(size=(3, 8, 8, 2)).astype("float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_dcgan_trains_its_small_layers_through_the_forward_form_under_mixed_bfloat16(monkeypatch, forward_form_calls):
    monkeypatch.setenv(conv.FORM_ENV, "forward")
    kg.precision.set_policy("mixed_bfloat16")
    model = kg.models.get("dcgan", data_shape=(8, 8, 1), seed=0)
    model.compile()
    x = np.random.default_rng(0).uniform(-1, 1, (32, 8, 8, 1)).astype("float32")
    history = model.fit(x, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][-1]) and np.isfinite(history.history["g_loss"][-1])
    # the discriminator's convolutions (4x4 and 4x4 outputs) and the generator's first transposed convolutions
    assert len(forward_form_calls) >= 3


def test_unrolled_updates_of_a_bfloat16_discriminator_train_through_the_forward_form(monkeypatch, forward_form_calls):
    """Second order through several layers' kernel and bias gradients under oneDNN (where its graph pass once
    fused a bias gradient into a cycle), against the same network of Keras' layers."""
    from kerasgen.models.adversarial.unrolled import unroll

    monkeypatch.setenv(conv.FORM_ENV, "forward")
    keras.mixed_precision.set_global_policy("mixed_bfloat16")

    def discriminator(conv2d):
        inputs = keras.Input((8, 8, 3))
        h = keras.layers.LeakyReLU(0.2)(conv2d(8, 4, strides=2, padding="same")(inputs))
        h = keras.layers.LeakyReLU(0.2)(conv2d(8, 3, padding="same")(h))
        return keras.Model(inputs, keras.layers.Dense(1, dtype="float32")(keras.layers.Flatten()(h)))

    ours, theirs = discriminator(conv.Conv2D), discriminator(keras.layers.Conv2D)
    theirs.set_weights(ours.get_weights())
    real = tf.random.stateless_normal((4, 8, 8, 3), seed=(1, 2))
    fake = tf.random.stateless_normal((4, 8, 8, 3), seed=(3, 4))

    @tf.function
    def generator_gradient(network, scale):
        with tf.GradientTape() as tape:
            tape.watch(scale)
            scaled = fake * scale

            def loss_fn(net):
                return tf.reduce_mean(tf.nn.softplus(-net(real))) + tf.reduce_mean(tf.nn.softplus(net(scaled)))

            unrolled = unroll(network, loss_fn, 3, 0.05)
            loss = tf.reduce_mean(tf.nn.softplus(-unrolled(scaled)))
        return tape.gradient(loss, scale)

    got = generator_gradient(ours, tf.constant(1.0))
    assert forward_form_calls  # the kernel gradients took the forward form
    expected = generator_gradient(theirs, tf.constant(1.0))
    assert np.isfinite(float(got)) and abs(float(expected)) > 1e-4
    assert abs(float(got) - float(expected)) <= 0.05 * abs(float(expected))
