"""Sample quality of every preset on its reference task, under one training budget per preset.

Reference tasks (embedded data, so anyone can reproduce the table offline):
- image presets: scikit-learn's 8x8 digits (kerasgen's train split, 1,527 digits, 17 grey levels);
  evaluated on the held-out test split (270 digits) in the bundled digit classifier's feature space:
  FID, KID, IS, precision/recall (k = 3), and the NLL in bits/dim where the model has one;
- presets made for low-dimensional densities (planar, radial, residual, ffjord, lu-leaky): the
  toy2d ring of 8 Gaussians, evaluated on 2,000 fresh points: modes captured, FID of the raw
  coordinates, precision/recall and the NLL in nats.
The NLL column shows the flows' exact discrete NLL (bits/dim on the digits' 17 levels). The VAE
family's importance-sampled NLL under a Bernoulli decoder is not a likelihood of grey levels, so it
is kept in the JSON records only (see the VAE NLL benchmark on binarised MNIST).
The first row of each task is the data itself (train split against test split, or two independent
draws): the floor a model can reach with that reference set.

Each preset trains with `model.fit` and its default settings for `--budget` seconds (whole epochs)
on this machine. Prints one Markdown table (and, with --json, the raw records).

    python benchmarks/quality.py --budget 60
    python benchmarks/quality.py --presets dcgan wgan-gp --budget 300 --n 5000
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import kerasgen as kg  # noqa: E402
from common import TimeBudget, machine, print_table  # noqa: E402

TOY_PRESETS = ["planar", "radial", "residual", "ffjord", "lu-leaky"]
TOY_DATA, IMAGE_DATA = "toy2d:8gaussians", "digits"
IMAGE_METRICS, TOY_METRICS = ("fid", "kid", "is", "pr"), ("modes", "fid", "pr")
TOY_TEST_POINTS = 2000  # ignored by the digits
HEADERS = ["model", "data", "FID", "KID", "IS", "precision", "recall", "modes", "NLL", "training"]


def reference_task(preset):
    """(data spec, metrics, batch size) of a preset's reference task."""
    if preset in TOY_PRESETS:
        return TOY_DATA, TOY_METRICS, 256
    return IMAGE_DATA, IMAGE_METRICS, 64


def data_row(spec, metrics, n, seed):
    """Metrics of the data against itself: train (or a second draw) as the 'samples'."""
    test = kg.data.load_arrays(spec, split="test", seed=seed, n_samples=TOY_TEST_POINTS)
    train = kg.data.load_arrays(spec, split="train", seed=seed, n_samples=n)

    class Data:  # the training data posing as a model that samples it
        num_classes = None

        def sample(self, k, seed=None):
            return train.x[np.random.default_rng(seed).permutation(len(train.x))[:k]]

    mixture = kg.data.density_of(spec)
    features = kg.metrics.report.default_features(test.info.data_shape, test.info.is_image)
    records = kg.metrics.evaluate(Data(), test.x, test.y, metrics, features=features, n=min(n, len(train.x)),
                                  seed=seed, mixture=mixture)
    if mixture is not None:  # the true density's NLL of the test points: the floor of the flows' NLL
        records["nll"] = {"nll": float(-np.mean(mixture.log_prob(test.x))), "k": 0}
    return {"preset": "data (train split)" if test.info.is_image else "data (second draw)", "data": spec,
            "records": records, "seconds": 0.0, "epochs": 0}


def run(preset, n, budget_s, seed):
    """Trains `preset` on its reference task for `budget_s` and evaluates it."""
    spec, metrics, batch_size = reference_task(preset)
    keras.utils.set_random_seed(seed)
    ds, info = kg.data.load(spec, batch_size=batch_size, seed=seed, return_info=True)
    model = kg.models.get(preset, data=info, seed=seed)
    model.compile()
    start = time.perf_counter()
    history = model.fit(ds, epochs=100_000, callbacks=[TimeBudget(budget_s)], verbose=0)
    seconds = time.perf_counter() - start
    test = kg.data.load_arrays(spec, split="test", seed=seed, n_samples=TOY_TEST_POINTS)
    mixture = kg.data.density_of(spec)
    features = kg.metrics.report.default_features(info.data_shape, info.is_image)
    records = kg.metrics.evaluate(model, test.x, test.y, (*metrics, *(["nll"] if model.likelihood_kind else [])),
                                  features=features, n=n, seed=seed, k=100, mixture=mixture)
    return {"preset": preset, "data": spec, "records": records, "seconds": seconds,
            "epochs": len(next(iter(history.history.values())))}


def cells(result):
    r = result["records"]

    def get(name, key="value", fmt="{:.3f}"):
        return fmt.format(r[name][key]) if name in r else ""

    nll = ""
    preset = kg.registry.PRESETS.get(result["preset"])
    if "nll" in r and (preset is None or preset.family == "flow"):
        nll = f"{r['nll']['bits_per_dim']:.3f} bits/dim" if result["data"] == IMAGE_DATA else f"{r['nll']['nll']:.3f} nats"
    modes = f"{r['modes']['modes']}/{r['modes']['num_modes']}" if "modes" in r else ""
    return [result["preset"], result["data"], get("fid", fmt="{:.2f}" if result["data"] == IMAGE_DATA else "{:.4f}"),
            get("kid", fmt="{:.2f}"), get("is", fmt="{:.2f}"), get("pr", "precision", "{:.2f}"),
            get("pr", "recall", "{:.2f}"), modes, nll, f"{result['seconds']:.0f} s ({result['epochs']} ep)"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", nargs="*", default=None, help="default: every preset")
    p.add_argument("--budget", type=float, default=60.0, help="training seconds per preset")
    p.add_argument("--n", type=int, default=2000, help="samples per evaluation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="also write the raw records here")
    p.add_argument("--from-json", default=None, help="print the table of records written by --json; no training")
    args = p.parse_args()
    if args.from_json:
        with open(args.from_json) as f:
            print_table(HEADERS, [cells(r) for r in json.load(f)])
        return
    presets = args.presets or sorted(n for n, p in kg.registry.PRESETS.items() if p.family != "translation")
    results = []
    for spec, metrics in ((IMAGE_DATA, IMAGE_METRICS), (TOY_DATA, TOY_METRICS)):
        group = [name for name in presets if reference_task(name)[0] == spec]
        if not group:
            continue
        results.append(data_row(spec, metrics, args.n, args.seed))
        print(f"# {cells(results[-1])}", flush=True)
        for name in group:
            results.append(run(name, args.n, args.budget, args.seed))
            print(f"# {cells(results[-1])}", flush=True)
    print(f"\nMachine: {machine()}; {args.budget:g} s of training per preset (whole epochs, preset defaults); "
          f"{args.n} samples per evaluation, seed {args.seed}. Digits: FID/KID/IS in the bundled digit classifier's "
          "features against the 270 test digits, KID x 1; toy2d: raw coordinates against 2,000 test points.\n")
    print_table(HEADERS, [cells(r) for r in results])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=float)


if __name__ == "__main__":
    main()
