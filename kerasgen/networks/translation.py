"""Image-to-image networks: U-Net and ResNet generators, SRResNet, and the PatchGAN discriminator.

Every generator maps a source image (B, *source_shape) to a target image (B, *target_shape) float32
in [-1, 1] (tanh). Source and target may differ in channels (colourisation 1 -> 3, inpainting C+1 ->
C: image and mask) and in size by a power of 2: target H, W = source H, W times 2^k, k >= 0, the
same k for both sides (super-resolution). A target smaller than the source, a ratio that is not a
power of 2, or a shape that is not (H, W, C) raises one ValueError naming both shapes.

Sizes from the shapes (S = the source side, T = the image side of the discriminator):

| side | U-Net depth (bottleneck) | ResNet down stages, blocks | PatchGAN stride-2 layers (receptive field) |
|------|--------------------------|----------------------------|--------------------------------------------|
| 4    | 2 (1x1)                  | 1, by target side          | 0 (7)                                      |
| 7    | 0 (no encoder; stem)     | 0, by target side          | 0 (7)                                      |
| 8    | 3 (1x1)                  | 2 (2x2), 3                 | 0 (7)                                      |
| 28   | 2 (7x7)                  | 2 (7x7), 3                 | 0 (7)                                      |
| 32   | 5 (1x1)                  | 2 (8x8), 3                 | 1 (16)                                     |
| 64   | 6 (1x1)                  | 2 (16x16), 6               | 1 (16)                                     |
| 128  | 7 (1x1)                  | 2 (32x32), 6               | 2 (34)                                     |
| 256  | 8 (1x1)                  | 2 (64x64), 9               | 3 (70, the classic 70x70 PatchGAN)         |

- U-Net depth (`unet_depth`): halve while both sides are even (down to 1 pixel), as pix2pix's 8
  levels at 256x256.
- ResNet down stages (`resnet_down_stages`): at most 2 (Johnson et al.), each while both sides are
  even and the halves stay at least 2 pixels; residual blocks (`resnet_blocks`, from the larger
  target side): 9 above 128 px, 6 from 64 to 128 px, 3 below 64 px.
- PatchGAN (`patchgan_layers`, from the smaller image side): the most stride-2 layers whose receptive
  field (`patchgan_receptive_field`: 9 * 2^n - 2 pixels for n of them) is at most half the side:
  70 px at 256 (27%), 34 at 128, 16 at 64 (25%) and 32 (50%), 7 at 28 (25%); below 16 px the
  smallest PatchGAN (7x7) is all there is (7 of 8 px).

References:
    Isola, Zhu, Zhou & Efros 2017, "Image-to-Image Translation with Conditional Adversarial
    Networks" (pix2pix: U-Net, PatchGAN).
    Zhu, Park, Isola & Efros 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent
    Adversarial Networks" (CycleGAN: ResNet generator with instance norm, 70x70 PatchGAN).
    Johnson, Alahi & Fei-Fei 2016, "Perceptual Losses for Real-Time Style Transfer and
    Super-Resolution" (the residual transformation network).
    Ledig et al. 2017, "Photo-Realistic Single Image Super-Resolution Using a Generative
    Adversarial Network" (SRResNet / SRGAN); Shi et al. 2016 (sub-pixel convolution).
"""

from __future__ import annotations

import operator

import keras
from keras import layers as kl

from kerasgen.layers.conv import Conv2D, Conv2DTranspose
from kerasgen.layers.spatial import ReflectionPadding2D, SubPixelUpsampling
from kerasgen.networks.common import batch_norm_layer
from kerasgen.registry import register_network

__all__ = ["unet", "resnet_generator", "local_translator", "patchgan", "srresnet", "patchgan_receptive_field", "patchgan_layers",
           "unet_depth", "resnet_down_stages", "resnet_blocks", "translation_scale"]


# ---------------------------------------------------------------------------------------------- shapes


def _image_shape(shape, what: str, who: str) -> tuple:
    try:
        dims = tuple(operator.index(d) for d in shape)
    except TypeError:
        dims = None
    if dims is None or len(dims) != 3 or min(dims) <= 0:
        raise ValueError(f"{who}: {what} must be an image shape (height, width, channels) of positive ints, "
                         f"got {shape!r}")
    return dims


def _scale_log2(source: tuple, target: tuple, who: str) -> int:
    ratio = target[0] // source[0]
    exact = target[0] % source[0] == 0 and target[1] == source[1] * ratio
    if not exact or ratio < 1 or ratio & (ratio - 1):
        raise ValueError(
            f"{who}: target_shape {target} must be source_shape {source} with height and width both multiplied "
            f"by the same power of 2 (1, 2, 4, ...; a target smaller than the source is not supported), "
            f"got ratios {target[0] / source[0]:g} x {target[1] / source[1]:g}")
    return ratio.bit_length() - 1


def translation_scale(source_shape, target_shape, who: str = "translation network") -> int:
    """The upscaling factor 2^k from source to target (1 when they have the same size).

    Raises one ValueError when either shape is not (H, W, C) with positive sides, or the target's
    height and width are not the source's times the same power of 2 (>= 1).
    """
    source = _image_shape(source_shape, "source_shape", who)
    target = _image_shape(target_shape, "target_shape", who)
    return 2 ** _scale_log2(source, target, who)


def _shapes(source_shape, target_shape, who):
    source = _image_shape(source_shape, "source_shape", who)
    target = _image_shape(target_shape, "target_shape", who)
    return source, target, _scale_log2(source, target, who)


def _stage_count(value, most: int, what: str, who: str, source: tuple, why: str = "") -> int:
    """`value` (an int from 0 to `most`), or `most` when None; one ValueError otherwise."""
    if value is None:
        return most
    if not isinstance(value, int) or not 0 <= value <= most:
        raise ValueError(f"{who}: {what} must be an int from 0 to {most} for source_shape {source}{why}, "
                         f"got {value!r}")
    return value


def unet_depth(height: int, width: int) -> int:
    """Number of stride-2 levels of the default U-Net: halvings while both sides are even (to 1 pixel)."""
    depth = 0
    while height % 2 == 0 and width % 2 == 0:
        height, width, depth = height // 2, width // 2, depth + 1
    return depth


def resnet_down_stages(height: int, width: int, max_stages: int = 2) -> int:
    """Number of stride-2 stages of the ResNet generator: at most `max_stages`, each while both sides
    are even and their halves at least 2 pixels (8x8 -> 2 stages, 2x2 at the blocks)."""
    stages = 0
    while stages < max_stages and height % 2 == 0 and width % 2 == 0 and height >= 4 and width >= 4:
        height, width, stages = height // 2, width // 2, stages + 1
    return stages


def resnet_blocks(side: int) -> int:
    """Default number of residual blocks for images of this (largest) side: 9 above 128 px (CycleGAN at
    256x256), 6 from 64 to 128 px (CycleGAN at 128x128), 3 below 64 px."""
    return 9 if side > 128 else 6 if side >= 64 else 3


# ---------------------------------------------------------------------------------------------- U-Net


@register_network("unet", "generator")
def unet(source_shape, target_shape, base_filters=64, max_filters=512, depth=None, dropout=0.5, name="generator"):
    """pix2pix U-Net: an encoder-decoder with skip connections at every resolution.

    Encoder, levels i = 1..depth (level i at source size / 2^i): Conv2D 4x4 stride 2 with
    min(base_filters * 2^(i-1), max_filters) filters, BatchNorm (not on level 1 nor on the innermost
    level, as pix2pix: a 1x1 bottleneck would be normalised to zero at batch size 1), LeakyReLU 0.2.
    Layers "enc_{i}_conv", "enc_{i}_norm", "enc_{i}" (the activation, the skip source).

    Decoder, from the bottleneck up: Conv2DTranspose 4x4 stride 2, BatchNorm, Dropout(`dropout`) in
    the min(3, depth // 2) innermost stages (pix2pix's three CD512 at depth 8; Keras Dropout, active in
    training only), ReLU; the stage arriving at level l >= 1 has the filters of encoder level l and is
    then concatenated with the encoder's level-l features by the Concatenate layer "skip_{l}", so there
    are depth - 1 skips, "skip_1" (source / 2) .. "skip_{depth-1}" (source / 2^(depth-1)). The stage
    arriving at the source resolution has no skip (pix2pix's outermost layer does not concatenate the
    input).

    Larger targets (target = source * 2^k): the decoder does not stop at the source resolution; k
    more Conv2DTranspose 4x4 stride-2 stages follow, with no skip (the encoder has no features at
    those resolutions). Every upsampling stage but the last is hidden (ConvT, BatchNorm, ReLU; those at
    or above the source resolution have `base_filters` filters: "dec_0" at the source size,
    "extra_{m}" at source * 2^m); the last one maps straight to the target channels ("out_conv") and
    is followed by tanh ("image", float32). So the U-Net has depth + k upsampling stages in all.

    A source with an odd side cannot be halved (depth 0, e.g. 7x7): its "encoder" is a stride-1
    Conv2D 4x4 (`base_filters`, LeakyReLU 0.2, "stem") and the network has no skip; when target and
    source also have the same size, "out_conv" is a stride-1 Conv2D 4x4.

    Args:
        source_shape: (H, W, C_in) of the inputs; C_in may differ from the target's (inpainting image
            + mask, colourisation).
        target_shape: (H * 2^k, W * 2^k, C_out), k >= 0.
        base_filters: filters of the outermost encoder level; deeper ones double.
        max_filters: cap on the filters of any level (512 in pix2pix).
        depth: number of stride-2 encoder levels; default `unet_depth(H, W)` (down to 1 pixel: 3 at
            8x8, 5 at 32x32, 8 at 256x256); a smaller one leaves a larger bottleneck.
        dropout: rate of the decoder's innermost stages; 0 for none.

    Returns:
        A `keras.Model`: source (B, *source_shape) -> images (B, *target_shape) float32 in [-1, 1].
    """
    who = "unet"
    source, target, k = _shapes(source_shape, target_shape, who)
    depth = _stage_count(depth, unet_depth(source[0], source[1]), "depth", who, source,
                         " (halvings while both sides are even)")
    channels = target[-1]

    def level_filters(level):
        return min(base_filters * 2 ** (level - 1), max_filters) if level >= 1 else base_filters

    x = keras.Input(source, name="source")
    h, skips = x, {}
    for i in range(1, depth + 1):
        normed = 1 < i < depth
        h = Conv2D(level_filters(i), 4, strides=2, padding="same", use_bias=not normed, name=f"enc_{i}_conv")(h)
        if normed:
            h = batch_norm_layer(name=f"enc_{i}_norm")(h)
        h = kl.LeakyReLU(0.2, name=f"enc_{i}")(h)
        skips[i] = h
    if depth == 0:
        h = Conv2D(base_filters, 4, padding="same", name="stem_conv")(h)
        h = kl.LeakyReLU(0.2, name="stem")(h)

    arrivals = list(range(depth - 1, -k - 1, -1))  # the level each upsampling stage arrives at
    dropout_stages = min(3, depth // 2) if dropout else 0
    if not arrivals:
        h = Conv2D(channels, 4, padding="same", name="out_conv")(h)
    for index, level in enumerate(arrivals):
        if index == len(arrivals) - 1:
            h = Conv2DTranspose(channels, 4, strides=2, padding="same", name="out_conv")(h)
            break
        tag = f"dec_{level}" if level >= 0 else f"extra_{-level}"
        h = Conv2DTranspose(level_filters(level), 4, strides=2, padding="same", use_bias=False,
                               name=f"{tag}_conv")(h)
        h = batch_norm_layer(name=f"{tag}_norm")(h)
        if index < dropout_stages:
            h = kl.Dropout(dropout, name=f"{tag}_dropout")(h)
        h = kl.ReLU(name=tag)(h)
        if level >= 1:
            h = kl.Concatenate(name=f"skip_{level}")([h, skips[level]])
    y = kl.Activation("tanh", dtype="float32", name="image")(h)
    return keras.Model(x, y, name=name)


# ---------------------------------------------------------------------------------------------- ResNet


NORMS = ("batch", "instance", None)


def _instance_norm(name):
    # GroupNormalization with one group per channel is instance normalisation (with a learned scale and
    # offset per channel); Keras computes it in float32 under mixed policies
    return kl.GroupNormalization(groups=-1, name=name)


def _normalise(h, norm, name):
    """h through the normalisation `norm` names (one of NORMS; None: h unchanged)."""
    if norm is None:
        return h
    layer = batch_norm_layer(name=name) if norm == "batch" else _instance_norm(name)
    return layer(h)


@register_network("resnet", "generator")
def resnet_generator(source_shape, target_shape, base_filters=64, blocks=None, down_stages=None, norm="instance",
                     name="generator"):
    """Johnson et al. / CycleGAN ResNet generator, with instance normalisation by default (`norm`).

    Stem: ReflectionPadding2D(3), Conv2D 7x7 (`base_filters`), InstanceNorm, ReLU. Then
    `resnet_down_stages(H, W)` stride-2 stages (Conv2D 3x3, filters doubling, InstanceNorm, ReLU):
    2 as in the papers, fewer for tiny or odd sources (4x4 -> 1, 7x7 -> 0) so the blocks see at least
    2x2. Then `blocks` residual blocks at that resolution: x + [ReflectionPadding2D(1), Conv2D 3x3,
    InstanceNorm, ReLU, ReflectionPadding2D(1), Conv2D 3x3, InstanceNorm] ("block_{b}_add"). Then as
    many stride-2 Conv2DTranspose 3x3 stages back to the source size (filters halving, InstanceNorm,
    ReLU), and, when target = source * 2^k, k more such stages with `base_filters` ("extra_{m}").
    Head: ReflectionPadding2D(3), Conv2D 7x7 to the target channels ("out_conv"), tanh ("image",
    float32).

    Instance norm is `keras.layers.GroupNormalization(groups=-1)` (one group per channel). The
    reflection paddings need the source sides to be at least 4.

    Args:
        source_shape: (H, W, C_in), both sides >= 4.
        target_shape: (H * 2^k, W * 2^k, C_out), k >= 0.
        base_filters: filters of the stem (64 in the papers).
        blocks: residual blocks; default `resnet_blocks(max target side)`: 9 above 128 px, 6 for
            64-128 px, 3 below 64 px.
        down_stages: stride-2 stages before the blocks; default `resnet_down_stages(H, W)`; at most
            that many.
        norm: "instance" (the papers), "batch" or None (no normalisation; the convolutions get biases).

    Returns:
        A `keras.Model`: source (B, *source_shape) -> images (B, *target_shape) float32 in [-1, 1].
    """
    who = "resnet_generator"
    source, target, k = _shapes(source_shape, target_shape, who)
    if min(source[:2]) < 4:
        raise ValueError(f"{who}: source_shape {source} needs both sides at least 4 (the 7x7 convolution's "
                         f"reflection padding of 3)")
    if blocks is None:
        blocks = resnet_blocks(max(target[:2]))
    elif not isinstance(blocks, int) or blocks < 0:
        raise ValueError(f"{who}: blocks must be an int >= 0, got {blocks!r}")
    stages = _stage_count(down_stages, resnet_down_stages(source[0], source[1]), "down_stages", who, source)
    if norm not in NORMS:
        raise ValueError(f"{who}: norm must be one of {NORMS}, got {norm!r}")
    biased = norm is None
    x = keras.Input(source, name="source")
    h = ReflectionPadding2D(3, name="stem_pad")(x)
    h = Conv2D(base_filters, 7, use_bias=biased, name="stem_conv")(h)
    h = _normalise(h, norm, "stem_norm")
    h = kl.ReLU(name="stem")(h)
    filters = base_filters
    for i in range(1, stages + 1):
        filters *= 2
        h = Conv2D(filters, 3, strides=2, padding="same", use_bias=biased, name=f"down_{i}_conv")(h)
        h = _normalise(h, norm, f"down_{i}_norm")
        h = kl.ReLU(name=f"down_{i}")(h)
    for b in range(1, blocks + 1):
        r = ReflectionPadding2D(1, name=f"block_{b}_pad1")(h)
        r = Conv2D(filters, 3, use_bias=biased, name=f"block_{b}_conv1")(r)
        r = _normalise(r, norm, f"block_{b}_norm1")
        r = kl.ReLU(name=f"block_{b}_relu")(r)
        r = ReflectionPadding2D(1, name=f"block_{b}_pad2")(r)
        r = Conv2D(filters, 3, use_bias=biased, name=f"block_{b}_conv2")(r)
        r = _normalise(r, norm, f"block_{b}_norm2")
        h = kl.Add(name=f"block_{b}_add")([h, r])
    ups = [(f"up_{i}", base_filters * 2 ** (stages - i)) for i in range(1, stages + 1)]
    ups += [(f"extra_{m}", base_filters) for m in range(1, k + 1)]
    for tag, filters in ups:
        h = Conv2DTranspose(filters, 3, strides=2, padding="same", use_bias=biased, name=f"{tag}_conv")(h)
        h = _normalise(h, norm, f"{tag}_norm")
        h = kl.ReLU(name=tag)(h)
    h = ReflectionPadding2D(3, name="out_pad")(h)
    h = Conv2D(target[-1], 7, name="out_conv")(h)
    y = kl.Activation("tanh", dtype="float32", name="image")(h)
    return keras.Model(x, y, name=name)


@register_network("local", "generator")
def local_translator(source_shape, target_shape, base_filters=32, layers=2, name="generator"):
    """A per-neighbourhood translator for tiny images: `layers` Conv2D 3x3 ("same", `base_filters`,
    ReLU; "conv_{i}"), then Conv2D 1x1 to the target channels ("out_conv") and tanh ("image", float32).

    One output pixel sees `2 * layers + 1` pixels per side (5 by default), so the map cannot move
    content across an 8x8 image. A CycleGAN pair whose generators see the whole image can map one digit
    onto another and back, which cycle consistency cannot tell from the true map; on 8x8 digits
    against their inversion this network learned the true map for 3 of 3 seeds where the ResNet
    generator (a 25-pixel field) learned 1 of 3 (`cyclegan` preset below `LOCAL_BELOW` px).

    Args:
        source_shape: (H, W, C_in).
        target_shape: (H, W, C_out): the source's height and width.
        base_filters: filters of each 3x3 convolution.
        layers: 3x3 convolutions, >= 1.

    Returns:
        A `keras.Model`: source (B, *source_shape) -> images (B, *target_shape) float32 in [-1, 1].
    """
    who = "local_translator"
    source, target, k = _shapes(source_shape, target_shape, who)
    if k:
        raise ValueError(f"{who}: target_shape {target} must have the source's height and width {source[:2]} "
                         f"(it translates pixel neighbourhoods and does not upsample)")
    if not isinstance(layers, int) or isinstance(layers, bool) or layers < 1:
        raise ValueError(f"{who}: layers must be an int >= 1, got {layers!r}")
    x = keras.Input(source, name="source")
    h = x
    for i in range(1, layers + 1):
        h = Conv2D(base_filters, 3, padding="same", activation="relu", name=f"conv_{i}")(h)
    h = Conv2D(target[-1], 1, name="out_conv")(h)
    y = kl.Activation("tanh", dtype="float32", name="image")(h)
    return keras.Model(x, y, name=name)


# ---------------------------------------------------------------------------------------------- SRResNet


@register_network("srresnet", "generator")
def srresnet(source_shape, target_shape, base_filters=64, blocks=16, name="generator"):
    """SRResNet (Ledig et al. 2017), the SRGAN generator.

    Conv2D 9x9 (`base_filters`) + PReLU ("stem"); `blocks` residual blocks x + [Conv2D 3x3, BatchNorm,
    PReLU, Conv2D 3x3, BatchNorm] ("block_{b}_add"); Conv2D 3x3 + BatchNorm added to the stem's
    output ("global_skip"); then log2(factor) upsampling stages, each Conv2D 3x3 to 4 * base_filters,
    `SubPixelUpsampling(2)` (depth-to-space, "up_{m}_shuffle") and PReLU; finally Conv2D 9x9 to the
    target channels ("out_conv") and tanh ("image", float32). PReLUs have one slope per channel.

    Args:
        source_shape: (H, W, C_in) of the low-resolution inputs.
        target_shape: (H * f, W * f, C_out), f = 2^k >= 1 (4 in the paper; 1 allowed: no upsampling).
        base_filters: filters of the trunk (64 in the paper).
        blocks: residual blocks (16 in the paper).

    Returns:
        A `keras.Model`: source (B, *source_shape) -> images (B, *target_shape) float32 in [-1, 1].
    """
    who = "srresnet"
    source, target, k = _shapes(source_shape, target_shape, who)
    if not isinstance(blocks, int) or blocks < 0:
        raise ValueError(f"{who}: blocks must be an int >= 0, got {blocks!r}")

    def prelu(name):
        return kl.PReLU(shared_axes=[1, 2], name=name)

    x = keras.Input(source, name="source")
    h = Conv2D(base_filters, 9, padding="same", name="stem_conv")(x)
    stem = h = prelu("stem")(h)
    for b in range(1, blocks + 1):
        r = Conv2D(base_filters, 3, padding="same", use_bias=False, name=f"block_{b}_conv1")(h)
        r = batch_norm_layer(name=f"block_{b}_norm1")(r)
        r = prelu(f"block_{b}_prelu")(r)
        r = Conv2D(base_filters, 3, padding="same", use_bias=False, name=f"block_{b}_conv2")(r)
        r = batch_norm_layer(name=f"block_{b}_norm2")(r)
        h = kl.Add(name=f"block_{b}_add")([h, r])
    h = Conv2D(base_filters, 3, padding="same", use_bias=False, name="trunk_conv")(h)
    h = batch_norm_layer(name="trunk_norm")(h)
    h = kl.Add(name="global_skip")([stem, h])
    for m in range(1, k + 1):
        h = Conv2D(4 * base_filters, 3, padding="same", name=f"up_{m}_conv")(h)
        h = SubPixelUpsampling(2, name=f"up_{m}_shuffle")(h)
        h = prelu(f"up_{m}")(h)
    h = Conv2D(target[-1], 9, padding="same", name="out_conv")(h)
    y = kl.Activation("tanh", dtype="float32", name="image")(h)
    return keras.Model(x, y, name=name)


# ---------------------------------------------------------------------------------------------- PatchGAN


def _patchgan_convs(n: int) -> list:
    """(kernel, stride) of every conv of a PatchGAN with n stride-2 layers, the logit conv included."""
    return [(4, 2)] * n + [(4, 1), (4, 1)]


def patchgan_receptive_field(layers) -> int:
    """Receptive field, in pixels along each side, of one PatchGAN logit.

    Args:
        layers: the number n of stride-2 layers of `patchgan` (its convs are n 4x4 stride-2, one 4x4
            stride-1 and the 4x4 stride-1 logit conv: 9 * 2^n - 2 pixels, 70 for the classic
            C64-C128-C256-C512 PatchGAN, n = 3); or a sequence of (kernel, stride) pairs of a chain of
            convolutions, input first; or a built `keras.Model` whose Conv2D layers form such a chain
            (read in order).

    Computed backwards from one output pixel: r = 1, then r = (r - 1) * stride + kernel per conv.
    """
    if isinstance(layers, keras.Model):
        pairs = [(int(layer.kernel_size[0]), int(layer.strides[0])) for layer in layers.layers
                 if isinstance(layer, kl.Conv2D)]
    elif isinstance(layers, int):
        if layers < 0:
            raise ValueError(f"patchgan_receptive_field: layers must be >= 0, got {layers}")
        pairs = _patchgan_convs(layers)
    else:
        pairs = [(int(k), int(s)) for k, s in layers]
    field = 1
    for kernel, stride in reversed(pairs):
        field = (field - 1) * stride + kernel
    return field


def patchgan_layers(height: int, width: int) -> int:
    """Default number of stride-2 PatchGAN layers: the most whose receptive field is at most half the
    smaller side (at least 0): 256 -> 3 (70 px), 128 -> 2 (34), 64 and 32 -> 1 (16), 28 and 8 -> 0 (7)."""
    n = 0
    while patchgan_receptive_field(n + 1) <= min(height, width) / 2:
        n += 1
    return n


@register_network("patchgan", "discriminator")
def patchgan(target_shape, source_shape=None, base_filters=64, layers=None, norm="batch", name="discriminator"):
    """PatchGAN discriminator: a grid of logits, each judging one patch of the image.

    Convs, all 4x4 "same": `layers` stride-2 ones with base_filters * 2^i filters (capped at
    8 * base_filters), one stride-1 with the next filters, then a stride-1 conv to 1 channel
    ("logits", float32, linear). Every conv but the first and the logit conv is followed by the
    normalisation; every one but the logit conv by LeakyReLU 0.2. `layers=3` is the classic 70x70
    PatchGAN of pix2pix and CycleGAN (C64-C128-C256-C512, strides 2, 2, 2, 1, then the logit conv).

    Receptive field of one logit (`patchgan_receptive_field(layers)`) = 9 * 2^layers - 2 pixels:
    0 -> 7, 1 -> 16, 2 -> 34, 3 -> 70, 4 -> 142. Default `layers` (`patchgan_layers`): the most
    with a field at most half the smaller image side: 8 px -> 0 (7), 28 -> 0 (7), 32 -> 1 (16),
    64 -> 1 (16), 128 -> 2 (34), 256 -> 3 (70).

    Args:
        target_shape: (H, W, C) of the images judged.
        source_shape: when given, the discriminator is conditional (pix2pix): inputs [source, image];
            the source (any size, any channels) is resized bilinearly to H, W inside the model
            (`keras.layers.Resizing`, "source_resize", float32) and concatenated with the image on
            channels ("pair"). Without it: the image alone (CycleGAN).
        base_filters: filters of the first conv.
        layers: stride-2 convs; default from the image size (above).
        norm: "batch" (pix2pix), "instance" (CycleGAN; GroupNormalization(groups=-1)) or None (e.g.
            for WGAN-GP critics).

    Returns:
        A `keras.Model`: image (B, H, W, C), or [source (B, *source_shape), image] -> logits
        (B, ceil(H / 2^layers), ceil(W / 2^layers), 1) float32.
    """
    who = "patchgan"
    target = _image_shape(target_shape, "target_shape", who)
    if layers is None:
        layers = patchgan_layers(target[0], target[1])
    elif not isinstance(layers, int) or layers < 0:
        raise ValueError(f"{who}: layers must be an int >= 0, got {layers!r}")
    if norm not in NORMS:
        raise ValueError(f"{who}: norm must be one of {NORMS}, got {norm!r}")

    image = keras.Input(target, name="image")
    h, inputs = image, image
    if source_shape is not None:
        source = _image_shape(source_shape, "source_shape", who)
        cond = keras.Input(source, name="source")
        inputs, c = [cond, image], cond
        if source[:2] != target[:2]:
            c = kl.Resizing(target[0], target[1], interpolation="bilinear", dtype="float32", name="source_resize")(c)
        h = kl.Concatenate(name="pair")([c, image])

    convs = [(min(base_filters * 2**i, 8 * base_filters), 2) for i in range(layers)]
    convs.append((min(base_filters * 2**layers, 8 * base_filters), 1))
    for i, (filters, stride) in enumerate(convs):
        normed = i > 0 and norm is not None
        h = Conv2D(filters, 4, strides=stride, padding="same", use_bias=not normed, name=f"conv_{i}")(h)
        if normed:
            h = _normalise(h, norm, f"conv_{i}_norm")
        h = kl.LeakyReLU(0.2, name=f"conv_{i}_act")(h)
    logits = Conv2D(1, 4, padding="same", dtype="float32", name="logits")(h)
    return keras.Model(inputs, logits, name=name)
