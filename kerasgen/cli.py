"""Command line: `kerasgen list | train | sample | evaluate | export`.

A run folder holds `model.keras`, `run.json` (what was trained on what),
`history.json` (per-epoch metrics), `samples/` (PNG grids per epoch) and, for 2-D
flows, `density.png` (the learned density).
Errors a user can fix print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys

from kerasgen.precision import CHOICES as PRECISIONS  # no TensorFlow import at parse time

STRATEGIES = ("default", "mirrored", "multiworker")
MODEL_FILE = "model.keras"


class UsageError(Exception):
    """An error in what the user asked for; printed as one line."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kerasgen", description="Deep generative models for Keras 3.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the model presets")

    t = sub.add_parser("train", help="train a preset on a data spec")
    t.add_argument("preset")
    t.add_argument("--data", required=True, help="data spec, e.g. digits, toy2d:moons, npz:path.npz")
    t.add_argument("--epochs", type=int, default=5)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--out", required=True, help="run folder")
    t.add_argument("--latent-dim", type=int, default=None)
    t.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="dtype policy; auto: mixed_float16 on a tensor-core GPU, mixed_bfloat16 on a CPU with "
                        "native bfloat16 (AMX/AVX512-BF16), else float32; flows always float32 (default: auto)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--image-size", type=int, nargs=2, metavar=("H", "W"), default=None)
    t.add_argument("--n-samples", type=int, default=None, help="points drawn from a toy2d density")
    t.add_argument("--sample-every", type=int, default=1, help="epochs between sample grids")
    t.add_argument("--resume", action="store_true", help="continue the model in --out")
    t.add_argument("--overwrite", action="store_true", help="replace a model already in --out")
    t.add_argument("--jit-compile", action="store_true", help="compile the train step with XLA")
    t.add_argument("--strategy", choices=STRATEGIES, default="default",
                   help="mirrored: every local GPU (or CPU); multiworker: the workers named in TF_CONFIG "
                        "(run the same command on each; --batch-size is the global batch)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    s = sub.add_parser("sample", help="draw samples from a trained run")
    s.add_argument("run", help="run folder (or a .keras file)")
    s.add_argument("--n", type=int, default=64)
    s.add_argument("--out", default="samples.png", help=".png for a picture, .npy for the array")
    s.add_argument("--seed", type=int, default=None)
    s.add_argument("--labels", type=int, nargs="*", default=None, help="class of each sample (conditional models)")
    s.add_argument("--truncation", type=float, default=None)

    e = sub.add_parser("evaluate", help="evaluate a trained run on held-out data")
    e.add_argument("run", help="run folder (or a .keras file with --data)")
    e.add_argument("--metrics", "--metric", default=None,
                   help="comma-separated: nll (importance-sampled or exact NLL), elbo (negative ELBO), fid, kid, "
                        "is (Inception score), pr (precision/recall), dc (density/coverage), modes (toy mixtures); "
                        "default nll for VAEs and flows, fid,kid otherwise")
    e.add_argument("--features", default="auto",
                   help="feature space of the sample metrics: auto (digits for grey-scale images, inception for "
                        "RGB, the raw values for vectors), digits, inception, identity, or a .keras model file")
    e.add_argument("--n", type=int, default=10000, help="samples drawn for the sample metrics")
    e.add_argument("--k", type=int, default=1000, help="importance samples per example (nll)")
    e.add_argument("--data", default=None, help="data spec (default: the run's training data)")
    e.add_argument("--split", choices=("train", "test", "all"), default="test")
    e.add_argument("--limit", type=int, default=None, help="evaluate the first N examples only")
    e.add_argument("--batch-size", type=int, default=100)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--json", default=None, help="also write the results to this JSON file")

    x = sub.add_parser("export", help="export a trained run's generator for serving")
    x.add_argument("run", help="run folder (or a .keras file)")
    x.add_argument("--format", choices=("savedmodel", "onnx", "both"), default="both")
    x.add_argument("--out", default=".", help="writes OUT/saved_models/NAME/<version>/ and OUT/export/NAME.onnx")
    x.add_argument("--name", default=None, help="model name (default: the preset)")
    x.add_argument("--version", type=int, default=None, help="SavedModel version (default: the next free one)")
    x.add_argument("--uint8", action="store_true", help="SavedModel image samples as uint8 in [0, 255]")
    x.add_argument("--opset", type=int, default=17)
    return p


def _model_path(run: str) -> str:
    path = run if run.endswith(".keras") else os.path.join(run, MODEL_FILE)
    if not os.path.isfile(path):
        raise UsageError(f"no trained model at {path} (is {run!r} a run folder written by 'kerasgen train'?)")
    return path


def cmd_list(args) -> int:
    """Prints every preset with its description."""
    from kerasgen import models

    print(f"{'preset':12s} {'family':12s} {'data':24s} description")
    for name, preset in models.list().items():
        print(f"{name:12s} {preset.summary()}")
    return 0


_STRATEGIES: dict = {}


def distribution_strategy(name: str):
    """The tf.distribute strategy `name` (one per process: TensorFlow allows a single multi-worker
    strategy, so it is created once and reused)."""
    import tensorflow as tf

    if name not in _STRATEGIES:
        if name == "multiworker" and "TF_CONFIG" not in os.environ:
            raise UsageError("--strategy multiworker needs TF_CONFIG describing the cluster and this worker's task")
        _STRATEGIES[name] = {"default": tf.distribute.get_strategy, "mirrored": tf.distribute.MirroredStrategy,
                             "multiworker": tf.distribute.MultiWorkerMirroredStrategy}[name]()
    return _STRATEGIES[name]


def _worker_out(out: str, strategy) -> str:
    """Where this process writes: `out` for the chief (or a single process), `out/.worker-<i>` for the
    other workers of a multi-worker run, so that workers sharing a file system do not overwrite it."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or resolver.task_type in (None, "chief"):
        return out
    cluster = resolver.cluster_spec().as_dict()
    if resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in cluster:
        return out
    return os.path.join(out, f".{resolver.task_type}-{resolver.task_id}")


def cmd_train(args) -> int:
    """Trains a preset and writes the run folder (model, history, samples, run.json)."""
    import keras

    from kerasgen import data, io, models, registry
    from kerasgen.callbacks import SampleGrid

    preset = registry.get_preset(args.preset)
    strategy = distribution_strategy(args.strategy)
    out = _worker_out(args.out, strategy)
    model_path = os.path.join(out, MODEL_FILE)
    exists = os.path.isfile(model_path)
    if exists and not (args.resume or args.overwrite):
        raise UsageError(f"{model_path} exists; pass --resume to continue it or --overwrite to replace it")
    if args.resume and not exists:
        raise UsageError(f"--resume: no model to continue at {model_path}")
    if args.epochs < 1 or args.batch_size < 1:
        raise UsageError("--epochs and --batch-size must be >= 1")
    policy = _training_policy(args, preset.family, os.path.join(out, "run.json") if args.resume else None)
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(args.seed)
    ds, info = data.load(args.data, batch_size=args.batch_size, seed=args.seed, image_size=args.image_size,
                         n_samples=args.n_samples, return_info=True)
    if preset.needs_labels and info.num_classes is None:
        raise UsageError(f"preset {args.preset!r} needs labelled data; {args.data!r} has no labels")
    kind = "images" if info.is_image else "vectors"
    if not preset.supports(kind):
        raise UsageError(f"preset {args.preset!r} models {' and '.join(preset.data)}; {args.data!r} holds {kind}")
    history_path = os.path.join(out, "history.json")
    initial_epoch, history = 0, {}
    with strategy.scope():
        if args.resume:
            model = models.load(model_path)
            history = _read_json(history_path)
            initial_epoch = len(next(iter(history.values()), []))
        else:
            model = models.get(args.preset, data=info, latent_dim=args.latent_dim, seed=args.seed)
            model.compile(jit_compile=args.jit_compile)
    grid_n = 64 if info.is_image else 2000
    callbacks = [SampleGrid(os.path.join(out, "samples"), every=args.sample_every, n=grid_n, seed=args.seed)]
    result = model.fit(ds, epochs=initial_epoch + args.epochs, initial_epoch=initial_epoch,
                       callbacks=callbacks, verbose=0 if args.quiet else 1)
    for key, values in result.history.items():
        history.setdefault(key, []).extend(float(v) for v in values)
    io.save_model(model, model_path)
    io.write_json(history, history_path)
    io.write_json({"preset": args.preset, "data": args.data, "data_info": info.to_dict(),
                   "precision": policy, "seed": args.seed, "batch_size": args.batch_size,
                   "epochs": initial_epoch + args.epochs, "latent_dim": getattr(model, "latent_dim", None),
                   "image_size": args.image_size, "n_samples": args.n_samples, "strategy": args.strategy,
                   "replicas": int(strategy.num_replicas_in_sync)},
                  os.path.join(out, "run.json"))
    if model.likelihood_kind == "exact" and info.data_shape == (2,):
        from kerasgen import plotting

        bounds = plotting.bounds_of(model.sample(5000, seed=args.seed), margin=0.25)
        plotting.save_image(plotting.density_image(model.log_prob, bounds), os.path.join(out, "density.png"))
    last = {k: round(v[-1], 4) for k, v in history.items()}
    print(f"saved {model_path}; last epoch: {last}")
    return 0


def _training_policy(args, family: str, previous_run: str | None) -> str:
    """The dtype policy to train under: `--precision` resolved for the preset's family, or, when
    resuming, the policy the saved model was trained under (a saved model keeps its layers' policies,
    so asking for another one is an error)."""
    from kerasgen import precision

    previous = _read_json(previous_run).get("precision") if previous_run else None
    if previous is None:
        return precision.resolve(args.precision, family)
    if args.precision not in ("auto", previous):
        raise UsageError(f"--resume: the model in {os.path.dirname(previous_run)} was trained under {previous}; "
                         f"--precision {args.precision} cannot change a saved model's policy")
    return previous


def _read_json(path):
    import json

    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        return json.load(f)


def cmd_sample(args) -> int:
    """Loads a run's model and writes samples as a PNG or .npy."""
    import numpy as np

    from kerasgen import models
    from kerasgen.plotting import save_samples

    model = models.load(_model_path(args.run))
    if args.n < 1:
        raise UsageError("--n must be >= 1")
    kwargs = {}
    if args.labels:
        labels = np.resize(np.asarray(args.labels), args.n)
        kwargs["labels"] = labels
    if args.truncation is not None:
        if "truncation" not in inspect.signature(model.sample).parameters:
            raise UsageError(f"--truncation is for GANs and VAEs (a Gaussian prior); {model.preset} samples "
                             f"without it")
        kwargs["truncation"] = args.truncation
    samples = model.sample(args.n, seed=args.seed, **kwargs)
    if args.out.endswith(".npy"):
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        np.save(args.out, samples)
    else:
        save_samples(samples, args.out)
    print(f"wrote {args.n} samples to {args.out}")
    return 0


def _features_for(spec, info):
    """The --features choice as a name or a loaded Keras model."""
    from kerasgen.metrics import report

    if spec == "auto":
        return report.default_features(info.data_shape, info.is_image)
    if spec.endswith(".keras"):
        import keras

        if not os.path.isfile(spec):
            raise UsageError(f"no feature model at {spec}")
        return keras.models.load_model(spec)
    return spec


def cmd_evaluate(args) -> int:
    """Evaluates a run's model on held-out data with the chosen metrics; prints a table and records
    the results in the run's evaluation.json (and --json)."""
    from kerasgen import data, io, models
    from kerasgen.metrics import report

    model_path = _model_path(args.run)
    run_dir = os.path.dirname(model_path)
    run_info = _read_json(os.path.join(run_dir, "run.json"))
    spec = args.data or run_info.get("data")
    if spec is None:
        raise UsageError("no --data given and no run.json names the training data")
    if min(args.k, args.batch_size, args.n) < 1 or (args.limit is not None and args.limit < 1):
        raise UsageError("--k, --n, --batch-size and --limit must be >= 1")
    model = models.load(model_path)
    metric_names = report.parse_metrics(args.metrics or ("nll" if model.likelihood_kind else "fid,kid"))
    same_data = args.data is None or args.data == run_info.get("data")
    arrays = data.load_arrays(spec, split=args.split, seed=args.seed,
                              image_size=run_info.get("image_size") if same_data else None,
                              n_samples=run_info.get("n_samples") if same_data else None)
    x, y = arrays.x[: args.limit], None if arrays.y is None else arrays.y[: args.limit]
    mixture = data.density_of(spec)
    records = report.evaluate(model, x, y, metrics=metric_names, features=_features_for(args.features, arrays.info),
                              n=args.n, seed=args.seed, k=args.k, batch_size=args.batch_size, mixture=mixture)
    for record in records.values():
        record.update({"data": spec, "split": args.split})
    evaluation_path = os.path.join(run_dir, "evaluation.json")
    io.write_json({**_read_json(evaluation_path), **records}, evaluation_path)
    if args.json:
        io.write_json(records, args.json)
    name = run_info.get("preset") or getattr(model, "preset", None) or type(model).__name__
    print(f"{name} on {spec} ({args.split}, {len(x)} real examples)")
    print(report.format_table(records))
    print(f"recorded in {evaluation_path}" + (f" and {args.json}" if args.json else ""))
    return 0


def cmd_export(args) -> int:
    """Exports a run's generator as a TF Serving SavedModel and/or an ONNX graph, both verified."""
    from kerasgen import export, models

    model_path = _model_path(args.run)
    run_dir = os.path.dirname(model_path)
    run_info = _read_json(os.path.join(run_dir, "run.json"))
    history = _read_json(os.path.join(run_dir, "history.json"))
    metrics = {k: v[-1] for k, v in history.items() if v}
    model = models.load(model_path)
    name = args.name or model.preset or "model"
    data_spec = run_info.get("data_info") or run_info.get("data")
    if args.format in ("savedmodel", "both"):
        folder = export.saved_model(model, os.path.join(args.out, "saved_models", name), version=args.version,
                                    uint8=args.uint8, data_spec=data_spec, metrics=metrics)
        print(f"wrote SavedModel {folder} (verified against Keras)")
    if args.format in ("onnx", "both"):
        files = export.onnx(model, os.path.join(args.out, "export", f"{name}.onnx"), opset=args.opset,
                            data_spec=data_spec, metrics=metrics)
        print(f"wrote ONNX {', '.join(files.values())} (verified with onnxruntime)")
    return 0


COMMANDS = {"list": cmd_list, "train": cmd_train, "sample": cmd_sample, "evaluate": cmd_evaluate,
            "export": cmd_export}


def main(argv=None) -> int:
    """Entry point of the `kerasgen` console script."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (UsageError, ValueError, FileNotFoundError, FileExistsError, NotImplementedError) as err:
        print(f"kerasgen: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
