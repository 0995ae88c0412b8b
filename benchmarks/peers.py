"""kerasgen against the PyTorch stacks people would pick instead, side by side: zuko's flows, normflows'
Glow, and DCGAN, WGAN-GP and a conv VAE written layer for layer in PyTorch.

For each flow (realnvp, maf, nsf), both sides train the same architecture (`--transforms` steps,
`--hidden` conditioner units, `--bins` spline bins for nsf) with Adam (`--lr`) at the same batch size
on the same training points of a 2-D density (`kg.data.get_density`), for the same epochs, and score
the same held-out points; the density's own NLL on them is the floor. The two sides alternate,
`--rounds` times, round r seeding both sides' initialisation and shuffling with `--seed` + r; the
table gives medians (and, for the NLL gap, the range over the rounds):
- steady steps/s: steps per second after the first 2 epochs (batch-end timestamps inside the run);
- wall time to a trained model: from before building the model to the end of training (kerasgen: build,
  compile, `fit` with its tracing; zuko: build and the training loop);
- held-out NLL and its gap to the floor.
kerasgen runs in this process (its defaults: `--precision` of flows is float32, Keras' `fit` on a cached,
shuffled `tf.data` pipeline); zuko runs in `benchmarks/.peers-venv` (create it with
`bash benchmarks/peers_setup.sh`: CPU-only torch, zuko, normflows from the package registry) through
`benchmarks/peers_torch.py`, at torch's default threads.

    bash benchmarks/peers_setup.sh                       # once
    python benchmarks/peers.py                           # realnvp, maf, nsf; 30 epochs of 30,000 points; 3 rounds
    python benchmarks/peers.py --models nsf --epochs 60 --density moons --rounds 1
    python benchmarks/peers.py --models dcgan wgan-gp conv-vae glow   # 3 epochs of 7,000 MNIST digits

Image models (`--models dcgan wgan-gp conv-vae glow`): kerasgen's preset at 28x28x1 with its defaults
against the same networks, step and optimisers written in PyTorch (`peers_torch.py`; the pytorch/examples
DCGAN is the same pattern; Glow from normflows' blocks in kerasgen's layout), float32 and bfloat16
(kerasgen mixed_bfloat16, torch autocast; glow in float32 only, as kerasgen's `auto` trains flows), batch
`--image-batch-size`, on the first 7,000 digits of `--mnist` (random images without the file; the speed
does not depend on the pixels): steady steps/s after the first epoch, the first epoch's time, the wall
time to a trained model, conv-vae's negative ELBO (nats) and glow's bits per dimension on the last 1,000
digits (one dequantisation draw per digit), the GANs' FID against those 1,000 test digits of 1,000 samples
each side draws from its generator in inference mode after training (untimed), both scored here in the
same feature space (the bundled digit classifier's, `kg.metrics.DigitFeatures`; the header gives 1,000
training digits' FID against the test digits, the floor at this sample size), and the fraction of the
roofline that kerasgen reaches where the step's FLOPs are counted (`step_gflops`: dcgan and conv-vae):
the machine's measured matmul rate over the step's FLOPs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import kerasgen as kg  # noqa: E402
from common import DEFAULT_MNIST, cpu_flags_summary, machine, matmul_peak_gflops, print_table  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS_PYTHON = os.path.join(HERE, ".peers-venv", "bin", "python")
FLOWS = ("realnvp", "maf", "nsf")
GANS = ("dcgan", "wgan-gp")
VAES = ("conv-vae",)
IMAGE_FLOWS = ("glow",)  # trained in float32 only
IMAGE_MODELS = GANS + VAES + IMAGE_FLOWS
GAN_SAMPLES = 1000  # images each side draws from its trained generator for the FID (the test split's size)
FID_FEATURES = "digits"


class _EpochEnds(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.ends, self.steps, self.seen = [], [], 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen = batch + 1

    def on_epoch_end(self, epoch, logs=None):
        self.ends.append(time.perf_counter())
        self.steps.append((self.steps[-1] if self.steps else 0) + self.seen)

    def steady_rate(self, after):
        """Steps per second after the first `after` epochs (or after the first of two or more)."""
        skip = min(after, len(self.ends) - 1) - 1
        return (self.steps[-1] - self.steps[skip]) / (self.ends[-1] - self.ends[skip])


def run_kerasgen(name, train, test, args, seed):
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    extra = {"num_bins": args.bins} if name == "nsf" else {}
    model = kg.models.get(name, data_shape=(2,), seed=seed, num_steps=args.transforms,
                          hidden=tuple(args.hidden), **extra)
    model.compile(optimizer=keras.optimizers.Adam(args.lr))
    data = (tf.data.Dataset.from_tensor_slices(train).cache().shuffle(len(train), seed=seed)
            .batch(args.batch_size).prefetch(tf.data.AUTOTUNE))
    ends = _EpochEnds()
    model.fit(data, epochs=args.epochs, verbose=0, callbacks=[ends])
    wall = time.perf_counter() - start
    steady = ends.steady_rate(after=2)
    nll = float(-np.mean(np.concatenate([model.log_prob(test[i:i + 5000]) for i in range(0, len(test), 5000)])))
    return {"wall_s": wall, "steady_steps_per_s": steady, "test_nll": nll}


def run_peer(config, args):
    """Runs `peers_torch.py` with `config` in the peers' environment; returns its JSON line."""
    config = {**config, "device": "cuda" if args.gpu else "cpu"}
    out = subprocess.run([PEERS_PYTHON, os.path.join(HERE, "peers_torch.py"), json.dumps(config)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_zuko(name, data_path, args, seed):
    return run_peer({"model": name, "data": data_path, "epochs": args.epochs, "batch_size": args.batch_size,
                     "transforms": args.transforms, "hidden": args.hidden, "bins": args.bins, "lr": args.lr,
                     "seed": seed, "steady_from": 2}, args)


def device_description(args):
    """The machine, and with --gpu the GPU's name."""
    if not args.gpu:
        return machine()
    details = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])
    return f"{machine()}, GPU {details.get('device_name', '?')}"


def layer_flops(model):
    """Forward multiply-add FLOPs (2 per multiply-add) of one example through the Dense, Conv2D and
    Conv2DTranspose layers of a functional Keras model."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            total += 2 * layer.input.shape[-1] * layer.units
        elif isinstance(layer, keras.layers.Conv2DTranspose):  # every input pixel meets the whole kernel
            h, w, c = layer.input.shape[1:]
            total += 2 * h * w * c * layer.filters * np.prod(layer.kernel_size)
        elif isinstance(layer, keras.layers.Conv2D):
            h, w, _ = layer.output.shape[1:]
            total += 2 * h * w * layer.input.shape[-1] * layer.filters * np.prod(layer.kernel_size)
    return int(total)


def step_gflops(name, model, batch_size):
    """FLOPs of one default training step, counting a backward pass as twice its forward, or None where
    the count would be a guess (WGAN-GP's double backward through the critic).

    dcgan: generator 1 forward for the discriminator update, 1 forward and 1 backward for its own (4
    forwards); discriminator 2 forwards and 2 backwards on real and fake, then 1 forward and 1
    input-gradient pass for the generator's update (8 forwards). conv-vae: encoder and decoder 1
    forward and 1 backward each (3 forwards each)."""
    if name == "dcgan":
        return batch_size * (4 * layer_flops(model.generator) + 8 * layer_flops(model.discriminator)) / 1e9
    if name == "conv-vae":
        return batch_size * 3 * (layer_flops(model.encoder) + layer_flops(model.decoder)) / 1e9
    return None


def run_kerasgen_image(name, train, test, args, precision, seed):
    """kerasgen's preset `name` at 28x28x1 with its defaults: build, compile, `fit` on the cached,
    shuffled training images; conv-vae also scores the negative ELBO per test image, glow the test bits
    per dimension, a GAN the FID of `GAN_SAMPLES` samples against the test images."""
    kg.precision.set_policy(precision)
    try:
        keras.utils.set_random_seed(seed)
        start = time.perf_counter()
        model = kg.models.get(name, data_shape=train.shape[1:], seed=seed)
        model.compile()
        data = (tf.data.Dataset.from_tensor_slices(train).cache().shuffle(len(train), seed=seed)
                .batch(args.image_batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE))
        ends = _EpochEnds()
        model.fit(data, epochs=args.image_epochs, verbose=0, callbacks=[ends])
        wall = time.perf_counter() - start
        steady = ends.steady_rate(after=1)
        quality = None
        if name in VAES:
            quality = float(-np.mean(np.concatenate([model.bound_terms(test[i:i + 500], seed=seed)["elbo"][0]
                                                     for i in range(0, len(test), 500)])))
        elif name in IMAGE_FLOWS:
            quality = kg.metrics.log_likelihood(model, test, batch_size=250, seed=seed).bits_per_dim
        elif name in GANS:
            samples = model.sample(GAN_SAMPLES, seed=seed)
            keras.mixed_precision.set_global_policy("float32")  # the feature extractor, if built here, in float32
            quality = kg.metrics.fid(test, samples, features=FID_FEATURES)
        return {"wall_s": wall, "first_epoch_s": ends.ends[0] - start, "steady_steps_per_s": steady,
                "test_nll": quality, "gflops_per_step": step_gflops(name, model, args.image_batch_size)}
    finally:
        keras.mixed_precision.set_global_policy("float32")


def run_torch_image(name, data_path, test, args, precision, seed):
    """The PyTorch side of `run_kerasgen_image`; a GAN's samples come back in a file and are scored here,
    in the same feature space."""
    samples_path = os.path.join(os.path.dirname(data_path), "torch_samples.npz")
    result = run_peer({"model": name, "data": data_path, "epochs": args.image_epochs,
                       "batch_size": args.image_batch_size, "precision": precision, "seed": seed, "steady_from": 1,
                       "samples": GAN_SAMPLES, "samples_path": samples_path if name in GANS else None}, args)
    if name in GANS:
        with np.load(samples_path) as samples:
            result["test_nll"] = kg.metrics.fid(test, samples["images"], features=FID_FEATURES)
        os.remove(samples_path)
    return result


def compare_images(args):
    """The image presets against the same networks and step in PyTorch, float32 and bfloat16: steady
    steps/s (after the first epoch), the first epoch's time, wall time to a trained model, the
    negative test ELBO of conv-vae, the test bits per dimension of glow (float32 only), the GANs' FID
    against the test images, and (where the step's FLOPs are counted) the fraction of the matmul
    roofline reached."""
    if os.path.isfile(args.mnist):
        images, source = np.load(args.mnist)["x"].astype("float32")[..., None] / 127.5 - 1.0, args.mnist
    else:  # the speed does not depend on the pixels
        images = np.random.default_rng(0).uniform(-1, 1, (8000, 28, 28, 1)).astype("float32")
        source = "8,000 random 28x28 images (no MNIST file)"
    train, test = images[:7000], images[7000:8000]
    peaks = {p: matmul_peak_gflops(p) for p in ("float32", "bfloat16")}
    floor_fid = kg.metrics.fid(test, train[:GAN_SAMPLES], features=FID_FEATURES)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        data_path = os.path.join(folder, "images.npz")
        np.savez(data_path, images=train, test_images=test)
        for name in args.models:
            for precision in ["float32"] if name in IMAGE_FLOWS else args.image_precisions:
                ours, theirs = [], []
                policy = {"float32": "float32", "bfloat16": "mixed_bfloat16"}[precision]
                for r in range(args.rounds):
                    ours.append(run_kerasgen_image(name, train, test, args, policy, args.seed + r))
                    theirs.append(run_torch_image(name, data_path, test, args, precision, args.seed + r))
                    print(f"# {name} {precision}: kerasgen {ours[-1]}, torch {theirs[-1]}", flush=True)
                med = lambda runs, key: statistics.median(r[key] for r in runs)
                k, t = med(ours, "steady_steps_per_s"), med(theirs, "steady_steps_per_s")
                digits = 3 if name in IMAGE_FLOWS else 1 if name in VAES else 2
                quality = (f"{med(ours, 'test_nll'):.{digits}f}", f"{med(theirs, 'test_nll'):.{digits}f}")
                gflops = ours[0]["gflops_per_step"]
                roofline = peaks[precision] / gflops if gflops else None
                rows.append([f"{name} {precision}", f"{k:.1f}", f"{t:.1f}", f"{k / t:.2f}x",
                             f"{med(ours, 'first_epoch_s'):.1f}", f"{med(theirs, 'first_epoch_s'):.1f}",
                             f"{med(theirs, 'wall_s') / med(ours, 'wall_s'):.2f}x", *quality,
                             f"{gflops:.1f}" if gflops else "-", f"{roofline:.1f}" if roofline else "-",
                             f"{k / roofline:.2f}" if roofline else "-"])
        torch_version = theirs[-1].get("torch", "?")
    print(f"\n{device_description(args)}: {cpu_flags_summary()}; matmul peak {peaks['float32']:.0f} GFLOP/s float32, "
          f"{peaks['bfloat16']:.0f} bfloat16 (2048x2048 in TensorFlow); TensorFlow {tf.__version__}, Keras "
          f"{keras.__version__} against torch {torch_version}; {source}: 7,000 training, 1,000 test images; batch "
          f"{args.image_batch_size}, {args.image_epochs} epochs (steady: after the first); kerasgen bfloat16 = "
          f"mixed_bfloat16, torch bfloat16 = autocast; medians of {args.rounds} alternating rounds; test score: "
          f"-ELBO in nats (conv-vae), bits per dimension (glow), FID of {GAN_SAMPLES} samples against the test images "
          f"in the {FID_FEATURES} classifier's features (GANs; {GAN_SAMPLES} training images score {floor_fid:.2f})\n")
    print_table(["model", "kerasgen steady steps/s", "torch steady steps/s", "speed ratio",
                 "kerasgen first epoch (s)", "torch first epoch (s)", "wall ratio (torch / kerasgen)",
                 "kerasgen test score", "torch test score", "GFLOP per step", "roofline steps/s",
                 "kerasgen fraction of roofline"], rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(FLOWS), choices=FLOWS + IMAGE_MODELS,
                        help="flows (against zuko) or image models (against the same networks in PyTorch); "
                             "not both at once")
    parser.add_argument("--density", default="8gaussians")
    parser.add_argument("--points", type=int, default=30_000)
    parser.add_argument("--test-points", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--transforms", type=int, default=4)
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 64])
    parser.add_argument("--bins", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--image-epochs", type=int, default=3)
    parser.add_argument("--image-batch-size", type=int, default=64)
    parser.add_argument("--image-precisions", nargs="+", default=["float32", "bfloat16"],
                        choices=["float32", "bfloat16"])
    parser.add_argument("--mnist", default=DEFAULT_MNIST, help="npz with x (N, 28, 28) uint8 for the image rows")
    parser.add_argument("--gpu", action="store_true",
                        help="both sides on the first GPU (kerasgen through TensorFlow, the peers through CUDA); "
                             "without it both run on the CPU")
    args = parser.parse_args()
    if args.gpu and not tf.config.list_physical_devices("GPU"):
        sys.exit("--gpu: TensorFlow sees no GPU on this machine")
    if not args.gpu:
        tf.config.set_visible_devices([], "GPU")
    if not os.path.isfile(PEERS_PYTHON):
        sys.exit(f"no {PEERS_PYTHON}: run 'bash benchmarks/peers_setup.sh' first")
    if set(args.models) & set(IMAGE_MODELS):
        if not set(args.models) <= set(IMAGE_MODELS):
            sys.exit("--models: give flows or image models, not both")
        return compare_images(args)

    density = kg.data.get_density(args.density)
    train = density.sample(args.points, seed=args.seed).astype("float32")
    test = density.sample(args.test_points, seed=10_000 + args.seed).astype("float32")
    floor = float(-density.log_prob(test).mean())
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        data_path = os.path.join(folder, "data.npz")
        np.savez(data_path, train=train, test=test)
        for name in args.models:
            ours, theirs = [], []
            for r in range(args.rounds):
                ours.append(run_kerasgen(name, train, test, args, args.seed + r))
                theirs.append(run_zuko(name, data_path, args, args.seed + r))
                print(f"# {name}: kerasgen {ours[-1]}, zuko {theirs[-1]}", flush=True)
            med = {side: {key: statistics.median(r[key] for r in runs) for key in ("wall_s", "steady_steps_per_s", "test_nll")}
                   for side, runs in (("kerasgen", ours), ("zuko", theirs))}
            k, z = med["kerasgen"], med["zuko"]
            gaps = {side: sorted(r["test_nll"] - floor for r in runs) for side, runs in (("kerasgen", ours), ("zuko", theirs))}
            span = lambda side: f" ({gaps[side][0]:.3f}-{gaps[side][-1]:.3f})" if len(gaps[side]) > 1 else ""
            rows.append([name, f"{k['steady_steps_per_s']:.0f}", f"{z['steady_steps_per_s']:.0f}",
                         f"{k['steady_steps_per_s'] / z['steady_steps_per_s']:.2f}x",
                         f"{k['wall_s']:.1f}", f"{z['wall_s']:.1f}", f"{z['wall_s'] / k['wall_s']:.2f}x",
                         f"{k['test_nll'] - floor:.3f}{span('kerasgen')}", f"{z['test_nll'] - floor:.3f}{span('zuko')}"])
        torch_version = theirs[-1].get("torch", "?") if args.models else "?"
    print(f"\n{device_description(args)}: {cpu_flags_summary()}; TensorFlow {tf.__version__}, Keras {keras.__version__} against torch {torch_version}, "
          f"zuko; {args.density}: {args.points} training and {args.test_points} test points (floor, the density's "
          f"own NLL: {floor:.3f} nats); {args.epochs} epochs at batch {args.batch_size}; {args.transforms} "
          f"transforms, hidden {tuple(args.hidden)}, {args.bins} bins (nsf); Adam {args.lr:g}; medians of "
          f"{args.rounds} alternating rounds (seeds {args.seed}-{args.seed + args.rounds - 1})\n")
    print_table(["flow", "kerasgen steady steps/s", "zuko steady steps/s", "speed ratio",
                 "kerasgen wall to trained (s)", "zuko wall to trained (s)", "wall ratio (zuko / kerasgen)",
                 "kerasgen NLL gap (nats)", "zuko NLL gap (nats)"], rows)


if __name__ == "__main__":
    main()
