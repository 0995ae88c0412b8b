"""Image-to-image networks: U-Net, ResNet and SRResNet generators, PatchGAN discriminator."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerasgen as kg
from kerasgen.layers import ReflectionPadding2D, SubPixelUpsampling

N = kg.networks

# (source, target): same size, superres 2x, inpainting (image + mask -> image), colourisation, odd 4x, RGB
PAIRS = [((8, 8, 1), (8, 8, 1)), ((4, 4, 1), (8, 8, 1)), ((8, 8, 2), (8, 8, 1)), ((8, 8, 1), (8, 8, 3)),
         ((7, 7, 1), (28, 28, 1)), ((32, 32, 3), (32, 32, 3))]
pair_id = lambda p: "x".join(map(str, p[0])) + "-" + "x".join(map(str, p[1]))  # noqa: E731


def small_generators(source, target):
    return {"unet": N.unet(source, target, base_filters=4, max_filters=16),
            "resnet": N.resnet_generator(source, target, base_filters=4, blocks=1),
            "srresnet": N.srresnet(source, target, base_filters=4, blocks=1)}


def rand(shape, batch=2, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (batch, *shape)).astype("float32")


def inbound(layer):
    """Names of the layers feeding `layer` (used once)."""
    inputs = layer.input if isinstance(layer.input, list) else [layer.input]
    return [t._keras_history.operation.name for t in inputs]


# the default run builds the three mechanisms (same size, a larger target, more channels); every pair under -m slow
DEFAULT_PAIRS = {"8x8x1-8x8x1", "4x4x1-8x8x1", "8x8x2-8x8x1"}


@pytest.mark.parametrize("pair", [pytest.param(p, id=pair_id(p), marks=[] if pair_id(p) in DEFAULT_PAIRS
                                               else [pytest.mark.slow]) for p in PAIRS])
def test_networks_fit_source_and_target_shapes(pair):
    source, target = pair
    x = rand(source)
    for name, g in small_generators(source, target).items():
        y = g(x)
        assert tuple(y.shape) == (2, *target), name
        assert y.dtype == "float32", name
        assert float(np.abs(y).max()) <= 1.0, name
    d = N.patchgan(target, source_shape=source, base_filters=4)
    logits = d([x, rand(target)])
    n = N.patchgan_layers(*target[:2])
    assert tuple(logits.shape) == (2, -(-target[0] // 2**n), -(-target[1] // 2**n), 1)
    assert logits.dtype == "float32"
    assert tuple(N.patchgan(target, base_filters=4)(rand(target)).shape) == tuple(logits.shape)


def test_registered_by_role():
    get = kg.registry.get_network
    assert get("unet", "generator") is N.unet
    assert get("resnet", "generator") is N.resnet_generator
    assert get("srresnet", "generator") is N.srresnet
    assert get("patchgan", "discriminator") is N.patchgan


def test_unet_skips_join_encoder_and_decoder_at_every_resolution():
    g = N.unet((32, 32, 3), (32, 32, 3), base_filters=4)
    depth = N.unet_depth(32, 32)
    assert depth == 5 and [N.unet_depth(s, s) for s in (8, 28, 64, 256)] == [3, 2, 6, 8]
    skips = [layer for layer in g.layers if isinstance(layer, keras.layers.Concatenate)]
    # one per level 1 .. depth-1 (none at the source size, none at the bottleneck), all named
    assert sorted(layer.name for layer in skips) == [f"skip_{level}" for level in range(1, depth)]
    for level in range(1, depth):
        layer = g.get_layer(f"skip_{level}")
        assert inbound(layer) == [f"dec_{level}", f"enc_{level}"]
        side = 32 // 2**level
        assert [tuple(t.shape[1:3]) for t in layer.input] == [(side, side)] * 2
    # a shallower U-Net has one skip fewer per level removed
    g3 = N.unet((32, 32, 3), (32, 32, 3), base_filters=4, depth=3)
    assert sorted(layer.name for layer in g3.layers if isinstance(layer, keras.layers.Concatenate)) == [
        "skip_1", "skip_2"]
    assert tuple(g3.get_layer("enc_3").output.shape[1:3]) == (4, 4)
    # dropout in the min(3, depth // 2) innermost decoder stages
    assert [layer.name for layer in g.layers if isinstance(layer, keras.layers.Dropout)] == [
        "dec_4_dropout", "dec_3_dropout"]


def test_unet_output_depends_on_the_skip_path():
    g = N.unet((16, 16, 1), (16, 16, 1), base_filters=4, dropout=0.0)
    depth = N.unet_depth(16, 16)
    x = rand((16, 16, 1), batch=2, seed=1)
    conv = g.get_layer(f"enc_{depth}_conv")
    conv.set_weights([np.zeros_like(w) for w in conv.get_weights()])
    bottleneck = keras.Model(g.input, g.get_layer(f"enc_{depth}").output)
    assert float(np.abs(bottleneck(x)).max()) == 0.0  # nothing passes the bottleneck any more
    y = np.asarray(g(x, training=False))
    assert np.abs(y[0] - y[1]).max() > 1e-4  # ... but the input still reaches the output: the skips
    # control: cutting the outermost level (which every path crosses) makes the output constant
    first = g.get_layer("enc_1_conv")
    first.set_weights([np.zeros_like(w) for w in first.get_weights()])
    y = np.asarray(g(x, training=False))
    assert np.abs(y[0] - y[1]).max() == 0.0


def test_unet_upsamples_past_the_source_without_skips():
    g = N.unet((4, 4, 2), (16, 16, 1), base_filters=4)  # depth 2, k = 2
    names = [layer.name for layer in g.layers]
    assert [n for n in names if n.startswith("skip_")] == ["skip_1"]
    assert "dec_0" in names and "extra_1" in names and "extra_2" not in names
    assert tuple(g.get_layer("dec_0").output.shape[1:3]) == (4, 4)
    assert tuple(g.get_layer("extra_1").output.shape[1:3]) == (8, 8)
    assert tuple(g.get_layer("out_conv").output.shape[1:]) == (16, 16, 1)
    # an odd source has no encoder levels: a stride-1 stem then the upsampling stages
    g = N.unet((7, 7, 1), (7, 7, 1), base_filters=4)
    assert "stem" in [layer.name for layer in g.layers] and tuple(g(rand((7, 7, 1))).shape) == (2, 7, 7, 1)


def test_resnet_generator_stages_and_blocks():
    g = N.resnet_generator((8, 8, 1), (8, 8, 1), base_filters=4)
    names = [layer.name for layer in g.layers]
    assert sum(n.endswith("_add") for n in names) == N.translation.resnet_blocks(8) == 3
    assert tuple(g.get_layer("down_2").output.shape[1:3]) == (2, 2)  # 8x8 keeps 2x2
    norms = [layer for layer in g.layers if "norm" in layer.name]
    assert len(norms) == 1 + 2 + 2 * 3 + 2  # stem, downs, two per block, ups
    for layer in norms:  # instance norm: one group per channel
        assert isinstance(layer, keras.layers.GroupNormalization) and layer.groups == layer.input.shape[-1]
    assert isinstance(g.get_layer("stem_pad"), ReflectionPadding2D)
    assert [N.translation.resnet_blocks(s) for s in (8, 28, 32, 64, 128, 256)] == [3, 3, 3, 6, 6, 9]
    assert [N.translation.resnet_down_stages(s, s) for s in (4, 7, 8, 28, 256)] == [1, 0, 2, 2, 2]
    g = N.resnet_generator((4, 4, 1), (16, 16, 3), base_filters=4, blocks=0)  # 1 down, 1 up, 2 extra stages
    sides = {name: g.get_layer(name).output.shape[1] for name in ("down_1", "up_1", "extra_1", "extra_2")}
    assert sides == {"down_1": 2, "up_1": 4, "extra_1": 8, "extra_2": 16}
    assert tuple(g(rand((4, 4, 1))).shape) == (2, 16, 16, 3)


def test_resnet_generator_down_stages_and_norm_options():
    g = N.resnet_generator((8, 8, 1), (8, 8, 1), base_filters=4, blocks=1, down_stages=0, norm=None)
    assert tuple(g.get_layer("block_1_add").output.shape[1:]) == (8, 8, 4)  # the blocks at full resolution
    assert not any("down" in layer.name or "up_" in layer.name for layer in g.layers)
    assert not any(isinstance(layer, (keras.layers.GroupNormalization, keras.layers.BatchNormalization))
                   for layer in g.layers)
    assert all(layer.use_bias for layer in g.layers if isinstance(layer, keras.layers.Conv2D))
    g = N.resnet_generator((8, 8, 1), (8, 8, 1), base_filters=4, blocks=1, down_stages=1, norm="batch")
    assert tuple(g.get_layer("block_1_add").output.shape[1:]) == (4, 4, 8)
    batch_norms = [layer for layer in g.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(batch_norms) == 1 + 1 + 2 + 1 and {layer.momentum for layer in batch_norms} == {0.9}
    assert tuple(g(rand((8, 8, 1))).shape) == (2, 8, 8, 1)
    with pytest.raises(ValueError, match="down_stages must be an int from 0 to 2"):
        N.resnet_generator((8, 8, 1), (8, 8, 1), down_stages=3)
    with pytest.raises(ValueError, match="norm"):
        N.resnet_generator((8, 8, 1), (8, 8, 1), norm="layer")


def test_patchgan_receptive_field_formula():
    assert N.patchgan_receptive_field(3) == 70  # the classic C64-C128-C256-C512 PatchGAN
    assert N.patchgan_receptive_field([(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)]) == 70
    classic = N.patchgan((64, 64, 3), base_filters=4, layers=3)
    assert [layer.filters for layer in classic.layers if isinstance(layer, keras.layers.Conv2D)] == [4, 8, 16, 32, 1]
    assert N.patchgan_receptive_field(classic) == 70
    assert [N.patchgan_receptive_field(n) for n in range(5)] == [7, 16, 34, 70, 142]
    # the documented defaults: 8 -> 7, 28 -> 7, 32 -> 16, 64 -> 16, 256 -> 70 pixels
    sides = (8, 28, 32, 64, 128, 256)
    assert [N.patchgan_layers(s, s) for s in sides] == [0, 0, 1, 1, 2, 3]
    fields = [N.patchgan_receptive_field(N.patchgan_layers(s, s)) for s in sides]
    assert fields == [7, 7, 16, 16, 34, 70]
    assert all(s / 4 <= f <= s / 2 for s, f in zip(sides[1:], fields[1:]))


@pytest.mark.parametrize("layers,side", [(0, 16), (1, 32), (2, 64)])
def test_patchgan_receptive_field_measured(layers, side):
    """The gradient of one interior logit is non-zero exactly on a window of the documented size."""
    d = N.patchgan((side, side, 1), base_filters=2, layers=layers)
    x = tf.constant(rand((side, side, 1), batch=1, seed=2))
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = d(x, training=False)
        i = logits.shape[1] // 2
        out = logits[0, i, i, 0]
    grad = np.abs(np.asarray(tape.gradient(out, x))[0, :, :, 0])
    rows, cols = np.nonzero(grad)
    field = N.patchgan_receptive_field(layers)
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (field, field)
    assert field < side  # interior: not clipped by the border


def test_conditional_patchgan_resizes_the_source():
    d = N.patchgan((16, 16, 1), source_shape=(4, 4, 2), base_filters=4)
    assert [t.name for t in d.inputs] == ["source", "image"]
    assert isinstance(d.get_layer("source_resize"), keras.layers.Resizing)
    assert inbound(d.get_layer("pair")) == ["source_resize", "image"]
    source, image = tf.constant(rand((4, 4, 2), batch=1)), tf.constant(rand((16, 16, 1), batch=1))
    with tf.GradientTape() as tape:
        tape.watch(source)
        logits = d([source, image], training=False)
    assert tuple(logits.shape) == (1, 16, 16, 1) and logits.dtype == "float32"  # 16 px: no stride-2 layer
    assert float(tf.reduce_max(tf.abs(tape.gradient(logits, source)))) > 0
    same = N.patchgan((8, 8, 1), source_shape=(8, 8, 3), base_filters=4)
    assert "source_resize" not in [layer.name for layer in same.layers]
    assert tuple(same([rand((8, 8, 3)), rand((8, 8, 1))]).shape) == (2, 8, 8, 1)
    assert N.patchgan((8, 8, 1), base_filters=4, norm="instance").count_params() > 0


def test_srresnet_upsamples_with_sub_pixel_layers():
    g = N.srresnet((7, 7, 1), (28, 28, 1), base_filters=4, blocks=2)
    shuffles = [layer for layer in g.layers if isinstance(layer, SubPixelUpsampling)]
    assert [layer.factor for layer in shuffles] == [2, 2]
    assert [tuple(layer.output.shape[1:]) for layer in shuffles] == [(14, 14, 4), (28, 28, 4)]
    assert sum(layer.name.endswith("_add") for layer in g.layers) == 2
    assert not any(isinstance(layer, SubPixelUpsampling)
                   for layer in N.srresnet((8, 8, 1), (8, 8, 1), base_filters=4, blocks=1).layers)
    x = rand((3, 5, 12), seed=3)
    np.testing.assert_array_equal(np.asarray(SubPixelUpsampling(2)(x)), tf.nn.depth_to_space(x, 2).numpy())
    np.testing.assert_array_equal(np.asarray(ReflectionPadding2D(2)(x)),
                                  np.pad(x, [(0, 0), (2, 2), (2, 2), (0, 0)], mode="reflect"))


def test_keras_round_trip(tmp_path):
    source, target = (4, 4, 2), (8, 8, 1)
    x, y = rand(source, seed=4), rand(target, seed=5)
    nets = {**small_generators(source, target),
            "patchgan": N.patchgan(target, source_shape=source, base_filters=4, norm="instance")}
    for name, model in nets.items():
        inputs = [x, y] if name == "patchgan" else x
        path = str(tmp_path / f"{name}.keras")
        model.save(path)
        loaded = keras.models.load_model(path, safe_mode=True)
        np.testing.assert_array_equal(np.asarray(loaded(inputs, training=False)),
                                      np.asarray(model(inputs, training=False)), err_msg=name)


@pytest.mark.parametrize("builder", ["unet", "resnet_generator", "srresnet"])
def test_bad_shapes_raise_one_clear_error(builder):
    build = getattr(N, builder)
    for source, target, match in [((8, 8, 1), (12, 12, 1), "power of 2"), ((8, 8, 1), (16, 8, 1), "power of 2"),
                                  ((16, 16, 1), (8, 8, 1), "smaller than the source"),
                                  ((8, 8, 1), (24, 24, 1), "power of 2"),
                                  ((8, 8), (8, 8, 1), "image shape"), ((8, 8, 1), (8, 8, 0), "image shape"),
                                  ((8, 8, 1), (8.0, 8, 1), "image shape"), (None, (8, 8, 1), "image shape")]:
        with pytest.raises(ValueError, match=match):
            build(source, target, base_filters=4)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="image shape"):
        N.patchgan((8,))
    with pytest.raises(ValueError, match="image shape"):
        N.patchgan((8, 8, 1), source_shape=(8, 8))
    with pytest.raises(ValueError, match="norm"):
        N.patchgan((8, 8, 1), norm="layer")
    with pytest.raises(ValueError, match="depth"):
        N.unet((8, 8, 1), (8, 8, 1), depth=4)
    with pytest.raises(ValueError, match="at least 4"):
        N.resnet_generator((2, 2, 1), (8, 8, 1))
    with pytest.raises(ValueError, match="blocks"):
        N.srresnet((8, 8, 1), (8, 8, 1), blocks=-1)
    assert N.translation_scale((7, 7, 1), (28, 28, 3)) == 4


def test_mixed_bfloat16_outputs_float32():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        source, target = (4, 4, 2), (8, 8, 1)
        for name, g in small_generators(source, target).items():
            assert g.get_layer("out_conv").compute_dtype == "bfloat16", name
            y = g(rand(source))
            assert y.dtype == "float32" and tuple(y.shape) == (2, *target), name
        d = N.patchgan(target, source_shape=source, base_filters=4)
        assert d.get_layer("conv_0").compute_dtype == "bfloat16"
        logits = d([rand(source), rand(target)])
        assert logits.dtype == "float32" and bool(np.isfinite(np.asarray(logits)).all())
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.slow
def test_full_size_networks_at_256():
    source = target = (256, 256, 3)
    x = rand(source, batch=1)
    g = N.unet(source, target)
    assert sum(isinstance(layer, keras.layers.Concatenate) for layer in g.layers) == 7
    assert tuple(g.get_layer("enc_8").output.shape[1:]) == (1, 1, 512)
    assert tuple(g(x).shape) == (1, *target)
    g = N.resnet_generator(source, target)
    assert sum(layer.name.endswith("_add") for layer in g.layers) == 9
    assert tuple(g.get_layer("down_2").output.shape[1:]) == (64, 64, 256)
    assert tuple(g(x).shape) == (1, *target)
    g = N.srresnet((64, 64, 3), target)
    assert tuple(g(rand((64, 64, 3), batch=1)).shape) == (1, *target)
    d = N.patchgan(target, source_shape=source)
    assert N.patchgan_receptive_field(d) == 70
    assert tuple(d([x, x]).shape) == (1, 32, 32, 1)
