"""The PyTorch side of `benchmarks/peers.py`: trains one zuko flow or a DCGAN and prints one JSON line.

Runs in benchmarks/.peers-venv (made by `benchmarks/peers_setup.sh`), never in kerasgen's environment.
Argument: a JSON object with "model" (realnvp, maf, nsf or dcgan), "data" (an npz with float32 "train"
(N, 2) and "test" (M, 2); for dcgan "images" (N, 28, 28, 1) in [-1, 1]), "epochs", "batch_size", "seed";
flows: "transforms", "hidden", "bins", "lr"; dcgan: "precision" ("float32" or "bfloat16": autocast);
optional "device" ("cpu", the default, or "cuda").

Output: {"wall_s": seconds from before building the flow to the end of training, "steady_steps_per_s":
steps per second after the first `steady_from` epochs, "test_nll": -mean log p(test), "steps": N,
"torch": version, "threads": torch's intra-op threads}.
"""

import json
import sys
import time

import numpy as np
import torch
import zuko


def dcgan_networks(latent_dim=100, base=64):
    """kerasgen's `dcgan` networks at 28x28x1 (kerasgen.networks.dcgan), layer for layer: the generator
    Dense 7*7*128 -> BN -> ReLU -> 4x4 stride-1 transposed conv 128 (a 'same' 4x4 convolution) -> BN ->
    ReLU -> 4x4 stride-2 transposed conv 64 -> BN -> ReLU -> 4x4 stride-2 transposed conv 1 -> tanh; the
    discriminator 4x4 stride-2 convs 64, 128 (LeakyReLU 0.2) -> 3x3 conv 256 -> LeakyReLU -> Dense 1."""
    nn = torch.nn

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.dense = nn.Sequential(nn.Linear(latent_dim, 7 * 7 * 2 * base, bias=False),
                                       nn.BatchNorm1d(7 * 7 * 2 * base), nn.ReLU())
            self.convs = nn.Sequential(
                nn.Conv2d(2 * base, 2 * base, 4, padding="same", bias=False), nn.BatchNorm2d(2 * base), nn.ReLU(),
                nn.ConvTranspose2d(2 * base, base, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(base), nn.ReLU(),
                nn.ConvTranspose2d(base, 1, 4, stride=2, padding=1), nn.Tanh())

        def forward(self, z):
            return self.convs(self.dense(z).view(-1, 2 * base, 7, 7))

    discriminator = nn.Sequential(
        nn.Conv2d(1, base, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(base, 2 * base, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * base, 4 * base, 3, padding=1), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(4 * base * 7 * 7, 1))
    return Generator(), discriminator


def _clock(device):
    """perf_counter after the device has finished its queued work."""
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter()


def train_dcgan(cfg):
    """kerasgen's GAN step with the `dcgan` preset's defaults: a discriminator update on a real batch and
    a freshly generated one, then a generator update on new noise (non-saturating loss), both Adam 2e-4
    (beta_1 0.5); channels-last data is moved to torch's channels-first once, before timing."""
    device = cfg.get("device", "cpu")
    images = torch.from_numpy(np.load(cfg["data"])["images"]).permute(0, 3, 1, 2).contiguous().to(device)
    torch.manual_seed(cfg["seed"])
    start = _clock(device)
    generator, discriminator = (net.to(device) for net in dcgan_networks())
    g_opt = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    autocast = torch.autocast(device, dtype=torch.bfloat16, enabled=cfg.get("precision") == "bfloat16")
    batch, epoch_ends, steps = cfg["batch_size"], [], 0
    for _ in range(cfg["epochs"]):
        order = torch.randperm(len(images), device=device)
        for i in range(0, len(images) - batch + 1, batch):
            real = images[order[i:i + batch]]
            with autocast:
                with torch.no_grad():
                    fake = generator(torch.randn(batch, 100, device=device))
                real_logit, fake_logit = discriminator(real).float(), discriminator(fake).float()
                d_loss = bce(real_logit, torch.ones_like(real_logit)) + bce(fake_logit, torch.zeros_like(fake_logit))
            d_opt.zero_grad()
            d_loss.backward()
            d_opt.step()
            with autocast:
                logit = discriminator(generator(torch.randn(batch, 100, device=device))).float()
                g_loss = bce(logit, torch.ones_like(logit))
            g_opt.zero_grad()
            g_loss.backward()
            g_opt.step()
            steps += 1
        epoch_ends.append((_clock(device), steps))
    return start, epoch_ends, steps, None


def main():
    cfg = json.loads(sys.argv[1])
    if cfg["model"] == "dcgan":
        start, epoch_ends, steps, _ = train_dcgan(cfg)
        wall = epoch_ends[-1][0] - start
        (t0, s0), (t1, s1) = epoch_ends[min(cfg.get("steady_from", 2), len(epoch_ends) - 1) - 1], epoch_ends[-1]
        print(json.dumps({"wall_s": wall, "first_epoch_s": epoch_ends[0][0] - start,
                          "steady_steps_per_s": (s1 - s0) / (t1 - t0), "steps": steps,
                          "torch": torch.__version__, "threads": torch.get_num_threads()}))
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
            loss = -flow().log_prob(train[order[i:i + batch]]).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            steps += 1
        epoch_ends.append((_clock(device), steps))
    wall = epoch_ends[-1][0] - start
    skip = min(cfg.get("steady_from", 2), len(epoch_ends) - 1) - 1
    (t0, s0), (t1, s1) = epoch_ends[skip], epoch_ends[-1]
    with torch.no_grad():
        nll = float(torch.cat([-flow().log_prob(test[i:i + 5000]) for i in range(0, len(test), 5000)]).mean())
    print(json.dumps({"wall_s": wall, "steady_steps_per_s": (s1 - s0) / (t1 - t0), "test_nll": nll, "steps": steps,
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
