"""Translation presets: the paired step (`Translation`) and CycleGAN with the networks of their papers.

Each builder takes the target shape (`data_shape`), the source shape (`source_shape`) and network
size overrides (`base_filters`, `blocks`); `kerasgen.models.get(name, data=info)` reads both shapes
from the `DataInfo` of `kerasgen.data.pairs` / `unpaired`.
"""

from __future__ import annotations

from kerasgen.models.optimizers import adam
from kerasgen.models.translation.cycle import CycleGAN
from kerasgen.models.translation.paired import Translation
from kerasgen.registry import register_preset

SMALL = dict(base_filters=8, blocks=2)


def _networks():
    from kerasgen import networks  # the translation networks register on import

    return networks


def _with(overrides, **defaults):
    """The preset's algorithm settings, with what the user passed winning."""
    return {**defaults, **overrides}


def _unet_with_pair_discriminator(name, data_shape, source_shape, base_filters, **kw):
    """pix2pix's recipe: U-Net, conditional PatchGAN, non-saturating loss + 100 x L1, Adam 2e-4 (beta_1 0.5)."""
    nets = _networks()
    return Translation(nets.unet(source_shape, data_shape, base_filters=base_filters),
                       nets.patchgan(data_shape, source_shape=source_shape, base_filters=base_filters),
                       source_shape=source_shape, target_shape=data_shape, preset=name,
                       **_with(kw, loss="non_saturating", adversarial_weight=1.0, reconstruction="l1",
                               reconstruction_weight=100.0, g_optimizer_config=adam(2e-4, 0.5),
                               d_optimizer_config=adam(2e-4, 0.5)))


def _content_space(target_shape):
    """The content loss' feature space: the bundled digit classifier for grey-scale targets, VGG19 for RGB."""
    return "digits" if target_shape[-1] == 1 else "vgg19"


@register_preset("pix2pix", "translation", "U-Net generator, PatchGAN on (source, output) pairs, L1 x 100",
                 data=("pairs",), small=SMALL,
                 reference="Isola et al. 2017, Image-to-Image Translation with Conditional Adversarial Networks, "
                           "arXiv:1611.07004")
def pix2pix(data_shape, source_shape, base_filters=64, blocks=None, latent_dim=None, num_classes=None, **kw):
    """pix2pix: U-Net with skips, conditional PatchGAN scaled to the image, non-saturating loss + 100 L1."""
    return _unet_with_pair_discriminator("pix2pix", data_shape, source_shape, base_filters, **kw)


@register_preset("srresnet", "translation", "SRResNet: residual generator, sub-pixel upsampling, pixel MSE",
                 data=("pairs",), small=SMALL,
                 reference="Ledig et al. 2017, Photo-Realistic Single Image Super-Resolution Using a Generative "
                           "Adversarial Network, arXiv:1609.04802")
def srresnet(data_shape, source_shape, base_filters=64, blocks=16, latent_dim=None, num_classes=None, **kw):
    """SRResNet trained on the pixel MSE alone (the paper's PSNR-oriented SRResNet-MSE); no discriminator."""
    nets = _networks()
    return Translation(nets.srresnet(source_shape, data_shape, base_filters=base_filters, blocks=blocks), None,
                       source_shape=source_shape, target_shape=data_shape, preset="srresnet",
                       **_with(kw, adversarial_weight=0.0, reconstruction="l2", reconstruction_weight=1.0,
                               g_optimizer_config=adam(1e-4, 0.9)))


#: Generator updates of `srgan` on the pixel MSE alone before the content and adversarial terms join.
SRGAN_WARMUP_STEPS = 200


@register_preset("srgan", "translation", "SRGAN: SRResNet generator, content loss in a feature space + 1e-3 "
                 "adversarial", data=("pairs",), small=SMALL,
                 reference="Ledig et al. 2017, Photo-Realistic Single Image Super-Resolution Using a Generative "
                           "Adversarial Network, arXiv:1609.04802")
def srgan(data_shape, source_shape, base_filters=64, blocks=16, content=None, latent_dim=None, num_classes=None,
          **kw):
    """SRGAN: the SRResNet generator; content loss in a feature space (the digit classifier's features
    for grey-scale targets, VGG19's block5_conv4 for RGB) plus the pixel MSE, and 1e-3 x the
    adversarial loss of a PatchGAN on the output.

    The generator's first `warmup_steps` (200) updates take the pixel MSE alone, as the paper starts SRGAN
    from a trained SRResNet. On 4x super-resolution of MNIST (240 s, batch 64) the warm-up took the test
    PSNR from below bicubic upsampling's 14.7 dB to 18.0 dB: the content and adversarial terms from the
    first step pull an untrained generator away from the pixels (12.5 dB after 120 s)."""
    nets = _networks()
    return Translation(nets.srresnet(source_shape, data_shape, base_filters=base_filters, blocks=blocks),
                       nets.patchgan(data_shape, base_filters=base_filters),
                       source_shape=source_shape, target_shape=data_shape, preset="srgan",
                       content=content or _content_space(data_shape),
                       **_with(kw, loss="non_saturating", adversarial_weight=1e-3, reconstruction="l2",
                               reconstruction_weight=1.0, content_weight=1.0, warmup_steps=SRGAN_WARMUP_STEPS,
                               g_optimizer_config=adam(1e-4, 0.9),
                               d_optimizer_config=adam(1e-4, 0.9)))


@register_preset("inpaint", "translation", "U-Net inpainting: masked L1 x 100 + adversarial; only the hole is "
                 "replaced", data=("pairs",), small=SMALL,
                 reference="Pathak et al. 2016, Context Encoders: Feature Learning by Inpainting, arXiv:1604.07379; "
                           "Isola et al. 2017, arXiv:1611.07004")
def inpaint(data_shape, source_shape, base_filters=64, blocks=None, latent_dim=None, num_classes=None, **kw):
    """Inpainting: the source is the masked image plus the mask channel (`kerasgen.data.pairs(..., "inpaint")`);
    a U-Net fills the hole, the output keeps the known pixels; L1 over the hole x 100 + a conditional PatchGAN."""
    return _unet_with_pair_discriminator("inpaint", data_shape, source_shape, base_filters, masked=True, **kw)


#: Below this image side the `cyclegan` preset's generators keep the full resolution (no stride-2 stages,
#: no normalisation): on the 8k MNIST (28x28, digits against their inversion, seed 0, 1,200 steps) they
#: reached L1 0.067 to the true inversion with the digits kept, where the paper's layout (blocks at 7x7,
#: instance norm) reached 0.309 in more time; squeezed to a few pixels, the blocks can map one digit onto
#: another and back, which cycle consistency cannot tell from the true map.
FULL_RESOLUTION_BELOW = 32

#: Below this image side the `cyclegan` preset's generators are `local_translator`s (a 5-pixel field)
#: and its discriminators see the whole image without normalisation. On 8x8 digits against their
#: inversion (1,000 steps, seeds 0-2) this learned the true map on 3 of 3 seeds (L1 0.075-0.116, 98.5-100%
#: of digits kept); the full-resolution ResNet generators (a 25-pixel field, more than the image) with
#: 7-pixel instance-norm PatchGANs learned 1 of 3 (L1 0.19; the others 0.97-1.07, digits swapped).
LOCAL_BELOW = 16


@register_preset("cyclegan", "translation", "CycleGAN: ResNet generators, PatchGANs, least squares, cycle x 10, "
                 "history pools", data=("unpaired",), small=SMALL,
                 reference="Zhu et al. 2017, Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial "
                           "Networks, arXiv:1703.10593")
def cyclegan(data_shape, source_shape, base_filters=None, blocks=None, latent_dim=None, num_classes=None, **kw):
    """CycleGAN between domain A (`source_shape`) and B (`data_shape`): ResNet generators, instance-norm
    PatchGAN discriminators, least squares, cycle weight 10, pools of 50, Adam 2e-4 (beta_1 0.5).

    Sizes from the smaller image side S:
    - S >= 32: the paper's generator (two stride-2 stages, residual blocks at a quarter of the side,
      instance norm) with `base_filters` 64 from 64 px on and 32 below;
    - 16 <= S < 32 (`FULL_RESOLUTION_BELOW`): the residual blocks at the full resolution without
      normalisation and 16 base filters (at 28x28 a step costs a fifth of the paper's layout);
    - S < 16 (`LOCAL_BELOW`): `local_translator` generators (two 3x3 convolutions of 32 filters, a
      5-pixel field) and PatchGANs of 16 base filters without normalisation whose field covers the
      image (one stride-2 layer: 16 px); `base_filters` sets the generators' filters, `blocks` is unused.

    The identity loss is off (`identity_weight=0`): the paper adds it for painting -> photo, to keep
    colours (its section 5.2); it pulls G(b) towards b, against any map that changes intensities, and
    on the digits against their inversion it held the 8x8 models in a near-identity pair of maps.
    Pass `identity_weight=0.5` for the paper's colour-preserving setting."""
    side = min(data_shape[0], data_shape[1], source_shape[0], source_shape[1])
    nets = _networks()
    if side < LOCAL_BELOW:
        def generator(source, target, name):
            return nets.local_translator(source, target, base_filters=base_filters or 32, name=name)

        def discriminator(shape, name):
            return nets.patchgan(shape, base_filters=16, layers=1, norm=None, name=name)
    else:
        full_resolution = side < FULL_RESOLUTION_BELOW
        if base_filters is None:
            base_filters = 64 if side >= 64 else 32 if not full_resolution else 16
        layout = dict(down_stages=0, norm=None) if full_resolution else {}

        def generator(source, target, name):
            return nets.resnet_generator(source, target, base_filters=base_filters, blocks=blocks, name=name,
                                         **layout)

        def discriminator(shape, name):
            return nets.patchgan(shape, base_filters=base_filters, norm="instance", name=name)
    return CycleGAN(generator(source_shape, data_shape, "generator_ab"),
                    generator(data_shape, source_shape, "generator_ba"),
                    discriminator(source_shape, "discriminator_a"), discriminator(data_shape, "discriminator_b"),
                    shape_a=source_shape, shape_b=data_shape, preset="cyclegan",
                    **_with(kw, loss="least_squares", cycle_weight=10.0, identity_weight=0.0, pool_size=50,
                           g_optimizer_config=adam(2e-4, 0.5), d_optimizer_config=adam(2e-4, 0.5)))
