"""The PyTorch side of `benchmarks/peers.py`: trains one zuko flow, a DCGAN, a WGAN-GP, a conv VAE or a
normflows Glow and prints one JSON line.

Runs in benchmarks/.peers-venv (made by `benchmarks/peers_setup.sh`), never in kerasgen's environment.
Argument: a JSON object with "model" (realnvp, maf, nsf, dcgan, wgan-gp, conv-vae or glow), "data" (an npz
with float32 "train" (N, 2) and "test" (M, 2); for the image models "images" (N, 28, 28, 1) in [-1, 1],
and for conv-vae and glow also "test_images"), "epochs", "batch_size", "seed"; flows: "transforms", "hidden",
"bins", "lr"; image models: "precision" ("float32" or "bfloat16": autocast); optional "device" ("cpu",
the default, or "cuda").

Output: {"wall_s": seconds from before building the model to the end of training, "steady_steps_per_s":
steps per second after the first `steady_from` epochs, "test_nll": -mean log p(test) (flows), the
negative ELBO per test image (conv-vae) or test bits per dimension (glow), "steps": N, "torch": version,
"threads": torch's intra-op threads}.
"""

import json
import sys
import time

import numpy as np
import torch
import zuko


class DCGANGenerator(torch.nn.Module):
    """kerasgen.networks.dcgan_generator at 28x28x1, layer for layer: Dense 7*7*2b -> BN -> ReLU -> 4x4
    stride-1 transposed conv 2b (a 'same' 4x4 convolution) -> BN -> ReLU -> 4x4 stride-2 transposed conv
    b -> BN -> ReLU -> 4x4 stride-2 transposed conv 1, then tanh (a GAN) or linear outputs (a VAE's
    Bernoulli logits). Batch norm's momentum is torch's 0.1, kerasgen's 0.9."""

    def __init__(self, latent_dim, base, tanh=True):
        super().__init__()
        nn = torch.nn
        self.base = base
        self.dense = nn.Sequential(nn.Linear(latent_dim, 7 * 7 * 2 * base, bias=False),
                                   nn.BatchNorm1d(7 * 7 * 2 * base), nn.ReLU())
        self.convs = nn.Sequential(
            nn.Conv2d(2 * base, 2 * base, 4, padding="same", bias=False), nn.BatchNorm2d(2 * base), nn.ReLU(),
            nn.ConvTranspose2d(2 * base, base, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(base), nn.ReLU(),
            nn.ConvTranspose2d(base, 1, 4, stride=2, padding=1), *([nn.Tanh()] if tanh else []))

    def forward(self, z):
        return self.convs(self.dense(z).view(-1, 2 * self.base, 7, 7))


def dcgan_networks(latent_dim=100, base=64):
    """kerasgen's `dcgan` networks at 28x28x1 (kerasgen.networks.dcgan): the generator above (b = 64,
    tanh); the discriminator 4x4 stride-2 convs 64, 128 (LeakyReLU 0.2) -> 3x3 conv 256 -> LeakyReLU ->
    Dense 1."""
    nn = torch.nn
    discriminator = nn.Sequential(
        nn.Conv2d(1, base, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(base, 2 * base, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * base, 4 * base, 3, padding=1), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(4 * base * 7 * 7, 1))
    return DCGANGenerator(latent_dim, base), discriminator


def conv_vae_networks(latent_dim=16, base=32):
    """kerasgen's `conv-vae` networks at 28x28x1 (kerasgen.networks.conv_encoder and dcgan_decoder),
    layer for layer: the encoder 4x4 stride-2 convs 32, 64 (ReLU) -> Dense 256 (ReLU) -> Dense mean and
    Dense log-variance (16 each); the decoder the DCGAN generator at b = 32 with linear outputs."""
    nn = torch.nn

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk = nn.Sequential(
                nn.Conv2d(1, base, 4, stride=2, padding=1), nn.ReLU(),
                nn.Conv2d(base, 2 * base, 4, stride=2, padding=1), nn.ReLU(),
                nn.Flatten(), nn.Linear(2 * base * 7 * 7, 256), nn.ReLU())
            self.mean, self.log_var = nn.Linear(256, latent_dim), nn.Linear(256, latent_dim)

        def forward(self, x):
            h = self.trunk(x)
            return self.mean(h), self.log_var(h)

    return Encoder(), DCGANGenerator(latent_dim, base, tanh=False)


def _clock(device):
    """perf_counter after the device has finished its queued work."""
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter()


def _descend(optimizer, loss):
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def _sampler(generator, device, autocast, latent_dim=100):
    """sample(n, seed): n images (n, 28, 28, 1) in [-1, 1] as NumPy, channels last, from the generator in
    inference mode (batch norm's running statistics, as kerasgen's `sample`) under the training precision."""

    def sample(n, seed):
        generator.eval()
        noise = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed)).to(device)
        with torch.no_grad(), autocast:
            images = generator(noise).float()
        generator.train()
        return images.permute(0, 2, 3, 1).cpu().numpy()

    return sample


def dcgan_step(device, autocast):
    """kerasgen's GAN step with the `dcgan` preset's defaults: a discriminator update on a real batch and
    a freshly generated one, then a generator update on new noise (non-saturating loss), both Adam 2e-4
    (beta_1 0.5). Returns (step(real), None)."""
    generator, discriminator = (net.to(device) for net in dcgan_networks())
    g_opt = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = torch.nn.functional.binary_cross_entropy_with_logits

    def step(real):
        batch = len(real)
        with autocast:
            with torch.no_grad():
                fake = generator(torch.randn(batch, 100, device=device))
            real_logit, fake_logit = discriminator(real).float(), discriminator(fake).float()
            d_loss = bce(real_logit, torch.ones_like(real_logit)) + bce(fake_logit, torch.zeros_like(fake_logit))
        _descend(d_opt, d_loss)
        with autocast:
            logit = discriminator(generator(torch.randn(batch, 100, device=device))).float()
            g_loss = bce(logit, torch.ones_like(logit))
        _descend(g_opt, g_loss)

    return step, None, _sampler(generator, device, autocast)


def wgan_gp_step(device, autocast):
    """kerasgen's GAN step with the `wgan-gp` preset's defaults on the DCGAN networks: 5 critic updates
    on the step's real batch (each with fresh fakes and interpolation weights; Wasserstein loss plus 10
    times the gradient penalty, the gradient norm taken as sqrt(sum g^2 + 1e-12)), then one generator
    update on new noise; Adam 1e-4 (0.5, 0.9) for both. Returns (step(real), None, sample(n, seed))."""
    generator, critic = (net.to(device) for net in dcgan_networks())
    g_opt = torch.optim.Adam(generator.parameters(), lr=1e-4, betas=(0.5, 0.9))
    d_opt = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.5, 0.9))

    def step(real):
        batch = len(real)
        for _ in range(5):
            with torch.no_grad(), autocast:
                fake = generator(torch.randn(batch, 100, device=device)).float()
            alpha = torch.rand(batch, 1, 1, 1, device=device)
            mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
            with autocast:
                wasserstein = critic(fake).float().mean() - critic(real).float().mean()
                mixed_score = critic(mixed).float()
            grad, = torch.autograd.grad(mixed_score.sum(), mixed, create_graph=True)
            norm = torch.sqrt(grad.float().pow(2).sum((1, 2, 3)) + 1e-12)
            _descend(d_opt, wasserstein + 10.0 * (norm - 1).pow(2).mean())
        with autocast:
            g_loss = -critic(generator(torch.randn(batch, 100, device=device))).float().mean()
        _descend(g_opt, g_loss)

    return step, None, _sampler(generator, device, autocast)


def conv_vae_step(device, autocast):
    """kerasgen's VAE step with the `conv-vae` preset's defaults: one posterior sample per image, the
    Bernoulli NLL of the pixels mapped to [0, 1] summed over the image plus the analytic KL, averaged
    over the batch; Adam 1e-3. Returns (step(real), score(test)): the negative ELBO per test image (one
    posterior sample each, batch norm in inference mode), None."""
    encoder, decoder = (net.to(device) for net in conv_vae_networks())
    optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=1e-3)
    bce = torch.nn.functional.binary_cross_entropy_with_logits

    def negative_elbo(x):
        with autocast:
            mean, log_var = (t.float() for t in encoder(x))
            z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
            logits = decoder(z).float()
        recon = bce(logits, (x + 1) / 2, reduction="none").sum((1, 2, 3))
        kl = 0.5 * (mean.pow(2) + log_var.exp() - log_var - 1).sum(1)
        return recon + kl

    def score(test):
        encoder.eval(), decoder.eval()
        with torch.no_grad():
            return float(torch.cat([negative_elbo(test[i:i + 500]) for i in range(0, len(test), 500)]).mean())

    return (lambda real: _descend(optimizer, negative_elbo(real).mean())), score, None


def glow_step(device, autocast):
    """kerasgen's `glow` preset at 28x28x1 in normflows: pixels (k + u) / 256 with uniform noise u afresh
    each step, the logit transform (alpha 0.05), then two scales of 8 Glow blocks (ActNorm, LU 1x1
    convolution, affine coupling on half the channels with a 3x3-1x1-3x3 conditioner of 64 channels
    whose last layer starts at zero): 14x14x4 after the first squeeze, half of it factored out to a
    standard normal, 7x7x8 after the second. normflows' coupling scale is a sigmoid (Glow's), kerasgen's
    a bounded exp, and its conditioner sees the kept half of the channels where kerasgen's sees them
    all with the other half masked to zero. Adam 1e-3 (0.9, 0.999), kerasgen's default for flows.
    Returns (step(real), score(test), None): test bits per dimension (one noise draw per test image)."""
    import normflows as nf
    levels, steps, hidden = 2, 8, 64
    q0, merges, flows = [], [], []
    for i in range(levels):  # normflows lists the scales from the coarsest
        channels = 2 ** (levels + 1 - i)
        flows.append([nf.flows.GlowBlock(channels, hidden, split_mode="channel", scale=True) for _ in range(steps)]
                     + [nf.flows.Squeeze()])
        side = 28 // 2 ** (levels - i)
        if i > 0:
            merges.append(nf.flows.Merge())
        q0.append(nf.distributions.DiagGaussian((channels if i == 0 else channels // 2, side, side), trainable=False))
    model = nf.MultiscaleFlow(q0, flows, merges, transform=nf.transforms.Logit(alpha=0.05), class_cond=False)
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    dims = 28 * 28

    def bits_per_dim(x):
        levels_k = torch.round((x + 1) * 127.5)
        y = (levels_k + torch.rand_like(levels_k)) / 256.0
        with autocast:
            log_p = model.log_prob(y, None).float()
        return -(log_p - dims * np.log(256.0)) / (dims * np.log(2.0))

    def score(test):
        model.eval()
        with torch.no_grad():
            return float(torch.cat([bits_per_dim(test[i:i + 250]) for i in range(0, len(test), 250)]).mean())

    return (lambda real: _descend(optimizer, bits_per_dim(real).mean())), score, None


def train_images(cfg, build):
    """The training loop of the image models: `build(device, autocast)` makes the networks and returns
    (step(real batch), score(test images) or None, sample(n, seed) or None); epochs of shuffled full
    batches. Channels-last images are moved to torch's channels-first once, before timing. After training
    a GAN writes `cfg["samples"]` generated images to the .npz `cfg["samples_path"]` (key "images",
    channels last), untimed. Returns (start, [(epoch end, steps)], steps, score or None)."""
    device = cfg.get("device", "cpu")
    data = np.load(cfg["data"])
    channels_first = lambda key: torch.from_numpy(data[key]).permute(0, 3, 1, 2).contiguous().to(device)  # noqa: E731
    images = channels_first("images")
    torch.manual_seed(cfg["seed"])
    start = _clock(device)
    autocast = torch.autocast(device, dtype=torch.bfloat16, enabled=cfg.get("precision") == "bfloat16")
    step, score, sample = build(device, autocast)
    batch, epoch_ends, steps = cfg["batch_size"], [], 0
    for _ in range(cfg["epochs"]):
        order = torch.randperm(len(images), device=device)
        for i in range(0, len(images) - batch + 1, batch):
            step(images[order[i:i + batch]])
            steps += 1
        epoch_ends.append((_clock(device), steps))
    if sample is not None and cfg.get("samples_path"):
        np.savez(cfg["samples_path"], images=sample(cfg.get("samples", 1000), cfg["seed"]))
    return start, epoch_ends, steps, score(channels_first("test_images")) if score else None


IMAGE_MODELS = {"dcgan": dcgan_step, "wgan-gp": wgan_gp_step, "conv-vae": conv_vae_step, "glow": glow_step}


def report(cfg, start, epoch_ends, steps, quality):
    """The output line's fields from the start time, the [(epoch end, steps so far)] and the score."""
    (t0, s0), (t1, s1) = epoch_ends[min(cfg.get("steady_from", 2), len(epoch_ends) - 1) - 1], epoch_ends[-1]
    return {"wall_s": epoch_ends[-1][0] - start, "first_epoch_s": epoch_ends[0][0] - start,
            "steady_steps_per_s": (s1 - s0) / (t1 - t0), "steps": steps, "test_nll": quality,
            "torch": torch.__version__, "threads": torch.get_num_threads()}


def main():
    cfg = json.loads(sys.argv[1])
    if cfg["model"] in IMAGE_MODELS:
        print(json.dumps(report(cfg, *train_images(cfg, IMAGE_MODELS[cfg["model"]]))))
        return
    device = cfg.get("device", "cpu")
    data = np.load(cfg["data"])
    train, test = torch.from_numpy(data["train"]).to(device), torch.from_numpy(data["test"]).to(device)
    torch.manual_seed(cfg["seed"])
    start = _clock(device)
    flows = {"realnvp": zuko.flows.RealNVP, "maf": zuko.flows.MAF, "nsf": zuko.flows.NSF}
    kwargs = {"features": 2, "transforms": cfg["transforms"], "hidden_features": tuple(cfg["hidden"])}
    if cfg["model"] == "nsf":
        kwargs["bins"] = cfg["bins"]
    flow = flows[cfg["model"]](**kwargs).to(device)
    optimizer = torch.optim.Adam(flow.parameters(), lr=cfg["lr"])
    batch, epoch_ends, steps = cfg["batch_size"], [], 0
    for _ in range(cfg["epochs"]):
        order = torch.randperm(len(train), device=device)
        for i in range(0, len(train), batch):
            _descend(optimizer, -flow().log_prob(train[order[i:i + batch]]).mean())
            steps += 1
        epoch_ends.append((_clock(device), steps))
    with torch.no_grad():
        nll = float(torch.cat([-flow().log_prob(test[i:i + 5000]) for i in range(0, len(test), 5000)]).mean())
    print(json.dumps(report(cfg, start, epoch_ends, steps, nll)))


if __name__ == "__main__":
    main()
