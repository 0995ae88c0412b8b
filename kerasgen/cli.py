"""Command line: `kerasgen list | train | sample | translate | evaluate | export | report | serve | download`.

A run folder holds `model.keras` (the finished model), `checkpoints/` (the newest complete
training states, written atomically every epoch and on request: `--resume` continues from them
whatever stopped the run), `run.json` (what was trained on what), `history.json` (per-epoch
metrics), `samples/` (PNG grids per epoch) and, for 2-D flows, `density.png` (the learned density).

Data sets (`tfds:<name>`) and feature-extractor weights are downloaded when first needed, unless
`--offline` or `KERASGEN_OFFLINE=1`; `kerasgen download ITEM...` fetches them ahead of time (on a
machine with a network, to copy to one without).

Every command prints its own lines, a progress bar and errors only: TensorFlow's start-up logs and
known harmless warnings are filtered out (`kerasgen.console`); `--verbose` keeps them.

Exit status: 0 done; 2 an error the user can fix (printed as one line); 3 training stopped on a NaN
or infinite metric (the last good checkpoint is kept); 128 + N after signal N (130 for Ctrl-C),
with a checkpoint written at the next step boundary.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import os
import sys

from kerasgen.precision import CHOICES as PRECISIONS  # no TensorFlow import at parse time

STRATEGIES = ("default", "mirrored", "multiworker")
TASKS = ("superres", "inpaint", "edges", "colorize", "paired")
MODEL_FILE = "model.keras"
CHECKPOINTS = "checkpoints"
DEFAULT_EPOCHS = 5


class UsageError(Exception):
    """An error in what the user asked for; printed as one line."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kerasgen", description="Deep generative models for Keras 3.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true",
                        help="keep TensorFlow's own log lines and warnings (filtered out by default)")
    data_options = argparse.ArgumentParser(add_help=False)
    data_options.add_argument("--data-dir", default=None,
                              help="tensorflow-datasets' data folder for tfds: data (default: $TFDS_DATA_DIR or "
                                   "~/tensorflow_datasets)")
    data_options.add_argument("--offline", action="store_true",
                              help="never use the network: tfds data and feature weights must already be here "
                                   "(also KERASGEN_OFFLINE=1)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the model presets", parents=[common])

    t = sub.add_parser("train", help="train a preset on a data spec", parents=[common, data_options])
    t.add_argument("preset")
    t.add_argument("--data", required=True,
                   help="data spec, e.g. digits, toy2d:moons, npz:path.npz, tfds:cifar10 (downloaded on first use)")
    t.add_argument("--epochs", type=int, default=None,
                   help=f"the run's total epochs (default {DEFAULT_EPOCHS}; with --resume: the interrupted run's own)")
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--out", required=True, help="run folder")
    t.add_argument("--latent-dim", type=int, default=None)
    t.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="dtype policy; auto: mixed_float16 on a tensor-core GPU, mixed_bfloat16 on a CPU with "
                        "native bfloat16 (AMX/AVX512-BF16), else float32; flows always float32 (default: auto)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--image-size", type=int, nargs=2, metavar=("H", "W"), default=None,
                   help="resize images to H x W (bilinear, antialiased), after --crop")
    t.add_argument("--crop", type=int, nargs=2, metavar=("H", "W"), default=None,
                   help="take the central H x W of each image first (e.g. --crop 140 140 --image-size 64 64 for "
                        "CelebA faces)")
    t.add_argument("--n-samples", type=int, default=None, help="points drawn from a toy2d density")
    tr = t.add_argument_group("translation presets (pix2pix, srresnet, srgan, inpaint, cyclegan)")
    tr.add_argument("--task", choices=TASKS, default=None,
                    help="paired task built from --data: superres (source = the image downsampled by --factor), "
                         "inpaint (masked image + mask), edges, colorize (RGB data), paired (an npz with source "
                         "and target, or a folder with A/ and B/)")
    tr.add_argument("--factor", type=int, default=2, choices=(2, 4, 8), help="super-resolution factor (default 2)")
    tr.add_argument("--mask", choices=("box", "strokes"), default="box", help="inpainting mask (default box)")
    tr.add_argument("--mask-fraction", type=float, default=0.25, help="share of the image masked (default 0.25)")
    tr.add_argument("--data-b", default=None, help="cyclegan: the spec of domain B (default: --data)")
    tr.add_argument("--transform-b", default=None, choices=("invert", "rotate90", "tint"),
                    help="cyclegan: domain B is this known transform of its images (so the true mapping is known)")
    t.add_argument("--sample-every", type=int, default=1, help="epochs between sample grids")
    t.add_argument("--tensorboard", action="store_true",
                   help="write TensorBoard logs to OUT/tensorboard: the epoch scalars, sample pictures every "
                        "--sample-every epochs and the run's configuration")
    t.add_argument("--metrics", default=None,
                   help="sample-quality metrics computed during training (1,000 samples against the held-out "
                        "split, in evaluate's default features) and logged with the losses: fid, kid or fid,kid "
                        "(default none)")
    t.add_argument("--metrics-every", type=int, default=None, metavar="N",
                   help="epochs between --metrics evaluations (default --sample-every)")
    t.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its newest complete checkpoint (or finished model)")
    t.add_argument("--checkpoint-every", type=int, default=None, metavar="N",
                   help="also checkpoint every N training steps (a checkpoint is written every epoch)")
    t.add_argument("--checkpoint-minutes", type=float, default=None, metavar="M",
                   help="also checkpoint when M minutes passed since the last one")
    t.add_argument("--keep", type=int, default=2, help="complete checkpoints kept in OUT/checkpoints (default 2)")
    t.add_argument("--on-nan", choices=("stop", "skip"), default="stop",
                   help="a NaN or infinite loss: stop (keeping the last good checkpoint; exit status 3) or skip "
                        "the update and count it (default stop; a resumed run keeps the mode it started with)")
    t.add_argument("--overwrite", action="store_true", help="replace a model already in --out")
    t.add_argument("--jit-compile", action="store_true", help="compile the train step with XLA")
    t.add_argument("--strategy", choices=STRATEGIES, default="default",
                   help="mirrored: every local GPU (or CPU); multiworker: the workers named in TF_CONFIG "
                        "(run the same command on each; --batch-size is the global batch)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    s = sub.add_parser("sample", help="draw samples from a trained run", parents=[common])
    s.add_argument("run", help="run folder, a .keras file, or an ONNX export (.onnx: drawn with onnxruntime, "
                                "no TensorFlow)")
    s.add_argument("--unsafe", action="store_true",
                   help="load Python code stored in the model file (Keras safe_mode off): trusted files only")
    s.add_argument("--n", type=int, default=64)
    s.add_argument("--out", default="samples.png", help=".png for a picture, .npy for the array")
    s.add_argument("--seed", type=int, default=None)
    s.add_argument("--labels", type=int, nargs="*", default=None, help="class of each sample (conditional models)")
    s.add_argument("--truncation", type=float, default=None)

    tl = sub.add_parser("translate", help="translate images with a trained translation run", parents=[common])
    tl.add_argument("run", help="run folder or .keras file of a translation preset")
    tl.add_argument("--input", nargs="+", required=True,
                    help="image files (PNG, JPEG) of the source shape, or .npy arrays (N, H, W, C) in [-1, 1]")
    tl.add_argument("--out", required=True, help="folder for translated.png (source, output pairs) and translated.npy")
    tl.add_argument("--direction", choices=("a_to_b", "b_to_a"), default="a_to_b")
    tl.add_argument("--unsafe", action="store_true",
                    help="load Python code stored in the model file (Keras safe_mode off): trusted files only")

    e = sub.add_parser("evaluate", help="evaluate a trained run on held-out data", parents=[common, data_options])
    e.add_argument("run", help="run folder (or a .keras file with --data)")
    e.add_argument("--unsafe", action="store_true",
                   help="load Python code stored in the model file (Keras safe_mode off): trusted files only")
    e.add_argument("--metrics", "--metric", default=None,
                   help="comma-separated: nll (importance-sampled or exact NLL), elbo (negative ELBO), fid, kid, "
                        "is (Inception score), pr (precision/recall), dc (density/coverage), modes (toy mixtures); "
                        "translation runs: psnr, ssim, l1, fid, kid, labels (label preservation); default nll for "
                        "VAEs and flows, psnr,ssim,l1 for translation, fid,kid otherwise")
    e.add_argument("--features", default="auto",
                   help="feature space of the sample metrics: auto (digits for grey-scale images, inception for "
                        "RGB, the raw values for vectors), digits, inception (Keras' Inception-v3), inception-fid "
                        "(the original TensorFlow FID network: FIDs comparable with published tables), identity, "
                        "or a .keras model file")
    e.add_argument("--n", type=int, default=10000, help="samples drawn for the sample metrics")
    e.add_argument("--k", type=int, default=1000, help="importance samples per example (nll)")
    e.add_argument("--data", default=None, help="data spec (default: the run's training data)")
    e.add_argument("--split", choices=("train", "test", "all"), default="test")
    e.add_argument("--limit", type=int, default=None, help="evaluate the first N examples only")
    e.add_argument("--batch-size", type=int, default=100)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--json", default=None, help="also write the results to this JSON file")

    x = sub.add_parser("export", help="export a trained run's generator for serving", parents=[common])
    x.add_argument("run", help="run folder (or a .keras file)")
    x.add_argument("--unsafe", action="store_true",
                   help="load Python code stored in the model file (Keras safe_mode off): trusted files only")
    x.add_argument("--format", choices=("savedmodel", "onnx", "both"), default="both")
    x.add_argument("--out", default=".", help="writes OUT/saved_models/NAME/<version>/ and OUT/export/NAME.onnx")
    x.add_argument("--name", default=None, help="model name (default: the preset)")
    x.add_argument("--version", type=int, default=None, help="SavedModel version (default: the next free one)")
    x.add_argument("--uint8", action="store_true", help="SavedModel image samples as uint8 in [0, 255]")
    x.add_argument("--opset", type=int, default=17)

    v = sub.add_parser("serve", parents=[common],
                       help="answer TF Serving's REST API for an export (or run) and serve the explorer page")
    v.add_argument("model", help="saved_models/NAME (its highest version), a version folder, export/NAME.onnx, "
                                 "or a run folder (exported to a temporary SavedModel first)")
    v.add_argument("--port", type=int, default=8501, help="REST port (TF Serving's default 8501; 0: any free port)")
    v.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    v.add_argument("--name", default=None, help="model name in the REST routes (default: from the path)")
    v.add_argument("--api", default="",
                   help="the REST address the page calls, e.g. http://localhost:8501 for a TF Serving container "
                        "started with --rest_api_enable_cors_support=true (default: this server)")
    v.add_argument("--cors", action="store_true", help="send CORS headers (for pages served from elsewhere)")
    v.add_argument("--log-requests", action="store_true", help="print one line per request")

    d = sub.add_parser("download", parents=[common],
                       help="fetch data sets and feature weights ahead of time (then copy them to a machine without "
                            "a network)")
    d.add_argument("items", nargs="+", metavar="ITEM",
                   help="tfds:<name> (downloaded and prepared by tensorflow-datasets), inception (Keras' Inception-v3 "
                        "weights) or inception-fid (the graph of the original TensorFlow FID code)")
    d.add_argument("--data-dir", default=None,
                   help="tensorflow-datasets' data folder (default: $TFDS_DATA_DIR or ~/tensorflow_datasets)")

    pr = sub.add_parser("precision", parents=[common],
                        help="show the dtype policies --precision auto measured on this machine, or measure them again")
    pr.add_argument("--measure", nargs="*", default=None, metavar="FAMILY",
                    help="time each family's probe under float32 and the hardware's reduced precision now and cache "
                         "the winner (no FAMILY: adversarial, variational and translation)")

    r = sub.add_parser("report", parents=[common], help="write a self-contained HTML page about a run (RUN/report.html)")
    r.add_argument("run", help="run folder")
    r.add_argument("--out", default=None, help="the HTML file (default RUN/report.html)")
    r.add_argument("--export-dir", default=None, help="the --out of 'kerasgen export', searched for model cards")
    r.add_argument("--unsafe", action="store_true",
                   help="load Python code stored in the model file (Keras safe_mode off): trusted files only")
    return p


def _model_path(run: str) -> str:
    path = run if run.endswith(".keras") else os.path.join(run, MODEL_FILE)
    if not os.path.isfile(path):
        from kerasgen.callbacks.checkpoint import latest

        found = None if run.endswith(".keras") else latest(os.path.join(run, CHECKPOINTS))
        if found is not None:
            raise UsageError(f"the run in {run} has not finished (no {MODEL_FILE}); its newest checkpoint is "
                             f"{found[0]}: finish it with 'kerasgen train ... --out {run} --resume' or pass that file")
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


def _resume_point(args, out_of_chief: str):
    """What `--resume` continues: {"model": path, "epoch", "batch", "history", "metric_states",
    "target_epochs", "steps_per_epoch"} from the newest complete checkpoint of the run (the chief's,
    for every worker of a multi-worker run), else from a finished run's model.keras; None when
    there is neither."""
    from kerasgen.callbacks.checkpoint import latest

    found = latest(os.path.join(out_of_chief, CHECKPOINTS))
    if found is not None:
        path, meta = found
        return {**meta, "model": path}
    model_path = os.path.join(out_of_chief, MODEL_FILE)
    if not os.path.isfile(model_path):
        return None
    history = _read_json(os.path.join(out_of_chief, "history.json"))
    epochs = len(next(iter(history.values()), []))
    return {"model": model_path, "epoch": epochs, "batch": 0, "history": history, "metric_states": None,
            "target_epochs": epochs, "steps_per_epoch": None}


def _check_train_args(args) -> None:
    if (args.epochs is not None and args.epochs < 1) or args.batch_size < 1:
        raise UsageError("--epochs and --batch-size must be >= 1")
    if args.checkpoint_every is not None and args.checkpoint_every < 1:
        raise UsageError("--checkpoint-every must be >= 1 (steps)")
    if args.checkpoint_minutes is not None and args.checkpoint_minutes <= 0:
        raise UsageError("--checkpoint-minutes must be > 0")
    if args.keep < 1:
        raise UsageError("--keep must be >= 1")
    if args.checkpoint_minutes is not None and args.strategy == "multiworker":
        raise UsageError("--checkpoint-minutes would let the workers' clocks disagree on when to save; "
                         "use --checkpoint-every (steps) with --strategy multiworker")


def _resume_command(argv) -> str:
    import shlex

    words = [w for w in argv if w != "--overwrite"]
    if "--resume" not in words:
        words.append("--resume")
    return "kerasgen " + " ".join(shlex.quote(w) for w in words)


def cmd_train(args) -> int:
    """Trains a preset and writes the run folder (model, checkpoints, history, samples, run.json).

    Returns 0 when the run finished, 3 when a metric became NaN or infinite (the last good
    checkpoint is kept), 128 + the signal's number after SIGINT or SIGTERM (a checkpoint is written
    at the next step boundary first).
    """
    import shutil
    import signal

    import keras

    from kerasgen import __version__, data, io, models, registry
    from kerasgen.callbacks import Checkpoint, SampleGrid, SampleQuality, StopOnNonFinite
    from kerasgen.callbacks.tensorboard import tensorboard_available, tensorboard_callbacks

    preset = registry.get_preset(args.preset)
    _check_train_args(args)
    strategy = distribution_strategy(args.strategy)
    out = _worker_out(args.out, strategy)
    io.check_writable(out)
    point = _resume_point(args, args.out)
    if point is not None and not (args.resume or args.overwrite):
        raise UsageError(f"{args.out} holds a model or checkpoints; pass --resume to continue it or "
                         f"--overwrite to replace it")
    if args.resume and point is None:
        raise UsageError(f"--resume: no model or checkpoint to continue in {args.out}")
    if args.resume:
        _check_version(args.out)
    if not args.resume:
        point = None
        shutil.rmtree(os.path.join(out, CHECKPOINTS), ignore_errors=True)
    start_epoch, start_batch = (point["epoch"], point["batch"]) if point else (0, 0)
    target = args.epochs or (point["target_epochs"] if point else DEFAULT_EPOCHS)
    trained = bool(point) and not start_batch and target <= start_epoch  # nothing left to train
    final = os.path.join(args.out, MODEL_FILE)
    if trained and (target < start_epoch or (os.path.isfile(final) and os.path.getmtime(final) >= point.get("time", 0))):
        raise UsageError(f"--resume: the run in {args.out} has trained {start_epoch} epochs"
                         f"{'' if args.epochs else ', its total'}; pass --epochs with a larger total to train further")
    # (trained, without a newer model.keras: killed after its last checkpoint; the resume only writes the results)
    policy = _training_policy(args, preset.family, os.path.join(args.out, "run.json") if args.resume else None)
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(args.seed)

    translation = preset.family == "translation"
    pictures = {}
    if translation:
        arrays, info, independent = translation_data(args, preset, "train")
        held_out = translation_data(args, preset, "test")[0]
        pictures = {"sources": held_out[0][:16], "targets": None if independent else held_out[1][:16]}

        def stream(epoch, batch):
            return (*data.stream_arrays(arrays, batch_size=args.batch_size, seed=args.seed, start_epoch=epoch,
                                        skip_batches=batch, independent=independent), info)
    else:
        if args.task or args.data_b or args.transform_b:
            raise UsageError(f"--task, --data-b and --transform-b are for translation presets; {args.preset!r} "
                             f"is a {preset.family} preset")

        def stream(epoch, batch):
            return data.stream(args.data, batch_size=args.batch_size, seed=args.seed, start_epoch=epoch,
                               skip_batches=batch, image_size=args.image_size, n_samples=args.n_samples,
                               crop=args.crop, data_dir=args.data_dir)

    ds, steps, info = stream(start_epoch, 0)
    if point and point.get("steps_per_epoch") not in (None, steps) and start_batch:
        raise UsageError(f"--resume: the checkpoint was written with {point['steps_per_epoch']} batches per epoch, "
                         f"this data and --batch-size give {steps}; resume with the run's own data and batch size")
    if start_batch:
        ds = stream(start_epoch, start_batch)[0]
    if preset.needs_classes and info.num_classes is None:
        raise UsageError(f"preset {args.preset!r} needs labelled data; {args.data!r} has no labels")
    kind = (("unpaired" if info.task == "unpaired" else "pairs") if translation
            else "images" if info.is_image else "vectors")
    if args.metrics and translation:
        raise UsageError("--metrics during training scores samples; translation models draw none: evaluate the run "
                         "with kerasgen evaluate (psnr, ssim, l1, fid, kid, labels)")
    if not preset.supports(kind):
        raise UsageError(f"preset {args.preset!r} models {' and '.join(preset.data)}; {args.data!r} holds {kind}")
    if args.tensorboard and not tensorboard_available():
        raise UsageError("--tensorboard needs the tensorboard package: pip install tensorboard")
    metrics_every = args.metrics_every or args.sample_every
    quality = [SampleQuality.on_held_out(args.data, args.metrics, seed=args.seed, image_size=args.image_size,
                                         n_samples=args.n_samples, crop=args.crop, data_dir=args.data_dir,
                                         every=metrics_every, n=1000)] if args.metrics else []
    run_info = {"preset": args.preset, "data": args.data, "data_info": info.to_dict(), "precision": policy,
                "seed": args.seed, "batch_size": args.batch_size, "epochs": start_epoch, "target_epochs": target,
                "image_size": args.image_size, "crop": args.crop,
                "data_dir": os.path.abspath(args.data_dir) if args.data_dir else None,
                "n_samples": args.n_samples, "strategy": args.strategy, "task": args.task, "factor": args.factor,
                "mask": args.mask, "mask_fraction": args.mask_fraction, "data_b": args.data_b,
                "transform_b": args.transform_b,
                "replicas": int(strategy.num_replicas_in_sync),
                "kerasgen_version": __version__}
    run_info.update(sample_every=args.sample_every, metrics=quality[0].metrics_to_log if quality else [],
                    metrics_every=metrics_every if quality else None)
    with strategy.scope():
        if point:
            model = models.load(point["model"])
        else:
            model = models.get(args.preset, data=info, latent_dim=args.latent_dim, seed=args.seed)
            model.compile(jit_compile=args.jit_compile, on_nonfinite="skip" if args.on_nan == "skip" else "error")
    run_info["latent_dim"] = getattr(model, "latent_dim", None)
    run_info["on_nan"] = "skip" if model.skips_nonfinite else "stop"  # a resumed model keeps its optimisers' mode
    io.write_json(run_info, os.path.join(out, "run.json"))
    checkpoint = Checkpoint(os.path.join(out, CHECKPOINTS), every_steps=args.checkpoint_every,
                            every_minutes=args.checkpoint_minutes, keep=args.keep,
                            history=point["history"] if point else {}, steps_per_epoch=steps,
                            metric_states=point.get("metric_states") if point else None, target_epochs=target)
    nan_stop = StopOnNonFinite()
    grid = SampleGrid(os.path.join(out, "samples"), every=args.sample_every,
                      n=16 if translation else 64 if info.is_image else 2000, seed=args.seed, **pictures)
    boards = tensorboard_callbacks(os.path.join(out, "tensorboard"), every=args.sample_every, config=run_info,
                                   seed=args.seed, **pictures) if args.tensorboard else []
    phases = [] if trained else [(start_epoch, min(start_epoch + 1, target) if start_batch else target, start_batch)]
    if start_batch and target > start_epoch + 1:
        phases.append((start_epoch + 1, target, 0))
    previous = {sig: signal.signal(sig, checkpoint.signal_handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for i, (first, last, skip) in enumerate(phases):
            if i:
                ds = stream(first, 0)[0]
            checkpoint.start_batch = nan_stop.start_batch = skip
            model.fit(ds, steps_per_epoch=steps - skip, epochs=last, initial_epoch=first,
                      callbacks=[nan_stop, *quality, checkpoint, grid, *boards], verbose=0 if args.quiet else 1)
            if nan_stop.stopped or checkpoint.stopped_at is not None:
                break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    history = checkpoint.history
    done = len(next(iter(history.values()), []))
    io.write_json(history, os.path.join(out, "history.json"))
    io.write_json({**run_info, "epochs": done, "skipped_steps": model.skipped_steps}, os.path.join(out, "run.json"))
    newest = checkpoint.saved[-1] if checkpoint.saved else (point["model"] if point else None)
    if nan_stop.stopped:
        print(f"kerasgen: training stopped: {nan_stop.message}; the last good checkpoint is {newest} "
              f"(continue with --resume, perhaps with a lower learning rate, or train with --on-nan skip)",
              file=sys.stderr)
        return 3
    if checkpoint.stopped_at is not None:
        epochs, batches = checkpoint.stopped_at
        where = f"after batch {batches} of epoch {epochs + 1}" if batches else f"at the end of epoch {epochs}"
        print(f"kerasgen: {checkpoint.stop_requested}: saved a checkpoint {where} ({newest}); continue with: "
              f"{_resume_command(args.argv)}", file=sys.stderr)
        return 128 + getattr(signal, checkpoint.stop_requested, signal.SIGINT).value
    model_path = io.save_model(model, os.path.join(out, MODEL_FILE))
    if model.likelihood_kind == "exact" and info.data_shape == (2,):
        from kerasgen import plotting

        bounds = plotting.bounds_of(model.sample(5000, seed=args.seed), margin=0.25)
        plotting.save_image(plotting.density_image(model.log_prob, bounds), os.path.join(out, "density.png"))
    last = {k: round(v[-1], 4) for k, v in history.items()}
    skipped = f"; skipped {model.skipped_steps} steps with NaN or infinite gradients" if model.skips_nonfinite else ""
    print(f"saved {model_path}; last epoch: {last}{skipped}")
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
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UsageError(f"{path} is unreadable or not JSON ({err}); was it edited or cut short?") from None


def _check_version(run_dir: str) -> None:
    """Refuses a run folder written by a newer kerasgen (major.minor) than this one."""
    from kerasgen import __version__

    written = _read_json(os.path.join(run_dir, "run.json")).get("kerasgen_version")
    if written is None:
        return
    mine, theirs = (tuple(int(p) for p in str(v).split(".")[:2] if p.isdigit()) for v in (__version__, written))
    if theirs > mine:
        raise UsageError(f"the run in {run_dir} was written by kerasgen {written}, newer than this {__version__}; "
                         f"upgrade kerasgen to read it")


def _load_model(args):
    """The model of `args.run` (a run folder or a .keras file), with clear errors."""
    from kerasgen import models

    path = _model_path(args.run)
    _check_version(os.path.dirname(path))
    return models.load(path, safe_mode=not args.unsafe)


def cmd_sample(args) -> int:
    """Loads a run's model (or an ONNX export) and writes samples as a PNG or .npy."""
    import numpy as np

    if args.n < 1:
        raise UsageError("--n must be >= 1")
    if args.run.endswith(".onnx"):
        return _sample_onnx(args)
    model = _load_model(args)
    kwargs = {}
    if args.labels:
        labels = np.resize(np.asarray(args.labels), args.n)
        kwargs["labels"] = labels
    if args.truncation is not None:
        if "truncation" not in inspect.signature(model.sample).parameters:
            raise UsageError(f"--truncation is for GANs and VAEs (a Gaussian prior); {model.preset} samples "
                             f"without it")
        kwargs["truncation"] = args.truncation
    _write_samples(model.sample(args.n, seed=args.seed, **kwargs), args.out)
    print(f"wrote {args.n} samples to {args.out}")
    return 0


def _write_samples(samples, out) -> None:
    """Samples to `out`: the array for a .npy path, else a picture (`plotting.save_samples`)."""
    import numpy as np

    from kerasgen.plotting import save_samples

    if out.endswith(".npy"):
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        np.save(out, samples)
    else:
        save_samples(samples, out)


def _sample_onnx(args) -> int:
    """`kerasgen sample NAME.onnx`: samples drawn by onnxruntime through `OnnxGenerator` (TensorFlow
    is not imported); the same seed gives the Keras model's samples."""
    import numpy as np

    from kerasgen.export.runtime import OnnxGenerator

    if not os.path.isfile(args.run):
        raise UsageError(f"no ONNX file at {args.run}")
    generator = OnnxGenerator(args.run)
    labels = np.resize(np.asarray(args.labels, np.int32), args.n) if args.labels else None
    _write_samples(generator.sample(args.n, seed=args.seed, labels=labels, truncation=args.truncation), args.out)
    print(f"wrote {args.n} samples to {args.out} (onnxruntime)")
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
    from kerasgen import data, io
    from kerasgen.metrics import report

    model_path = _model_path(args.run)
    run_dir = os.path.dirname(model_path)
    run_info = _read_json(os.path.join(run_dir, "run.json"))
    spec = args.data or run_info.get("data")
    if spec is None:
        raise UsageError("no --data given and no run.json names the training data")
    if min(args.k, args.batch_size, args.n) < 1 or (args.limit is not None and args.limit < 1):
        raise UsageError("--k, --n, --batch-size and --limit must be >= 1")
    model = _load_model(args)
    if hasattr(model, "translate"):
        return _evaluate_translation(args, model, run_info, run_dir)
    metric_names = report.parse_metrics(args.metrics or ("nll" if model.likelihood_kind else "fid,kid"))
    same_data = args.data is None or args.data == run_info.get("data")
    arrays = data.load_arrays(spec, split=args.split, seed=args.seed,
                              image_size=run_info.get("image_size") if same_data else None,
                              n_samples=run_info.get("n_samples") if same_data else None,
                              crop=run_info.get("crop") if same_data else None, limit=args.limit,
                              data_dir=args.data_dir or (run_info.get("data_dir") if same_data else None))
    x, y = arrays.x, arrays.y
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


def _evaluate_translation(args, model, run_info, run_dir) -> int:
    """`evaluate` of a translation run: its held-out pairs (or domains) translated and compared with the truth."""
    from kerasgen import data, io
    from kerasgen.metrics import translation as metrics
    from kerasgen.metrics.report import render_table

    if args.data is not None and args.data != run_info.get("data"):
        raise UsageError("a translation run is evaluated on its own data and task (omit --data)")
    saved = {k: run_info.get(k) for k in ("data", "task", "factor", "mask", "mask_fraction", "data_b", "transform_b",
                                         "image_size")}
    unpaired = hasattr(model, "shape_a")
    common = dict(split=args.split, seed=args.seed, image_size=saved["image_size"], limit=args.limit)
    if unpaired:
        if args.metrics and "labels" in metrics.parse_metrics(args.metrics) and not saved["transform_b"]:
            raise UsageError("labels needs a run whose domain B is a known transform of A (--transform-b): "
                             "its inverse maps the outputs back to digits the classifier reads")
        domains = data.unpaired_arrays(saved["data"], saved["data_b"], transform_b=saved["transform_b"], **common)
        source, target, labels = domains.a, domains.b_true, domains.y_a
        default = "psnr,ssim,l1" if target is not None else "fid,kid"
        if target is None:
            target = domains.b[: len(source)]
    else:
        pairs = data.pair_arrays(saved["data"], saved["task"], factor=saved["factor"] or 2, mask=saved["mask"] or "box",
                                 mask_fraction=saved["mask_fraction"] or 0.25, **common)
        source, target, labels, default = pairs.source, pairs.target, pairs.y, "psnr,ssim,l1"
    features = _features_for(args.features, data.DataInfo(saved["data"], tuple(target.shape[1:]), None, True))
    to_labelled = None
    if unpaired and saved["transform_b"]:  # the classifier reads domain A: outputs go back through the inverse
        to_labelled = data.transforms.get_inverse(saved["transform_b"])
    records = metrics.evaluate_translation(model, source, target, labels, metrics=args.metrics or default,
                                           features=features, seed=args.seed, batch_size=args.batch_size,
                                           to_labelled=to_labelled)
    for record in records.values():
        record.update({"data": saved["data"], "split": args.split})
    evaluation_path = os.path.join(run_dir, "evaluation.json")
    io.write_json({**_read_json(evaluation_path), **records}, evaluation_path)
    if args.json:
        io.write_json(records, args.json)
    print(f"{run_info.get('preset') or type(model).__name__} on {saved['data']} ({args.split}, {len(source)} pairs)")
    print(render_table(metrics.format_rows(records)))
    print(f"recorded in {evaluation_path}" + (f" and {args.json}" if args.json else ""))
    return 0


def cmd_export(args) -> int:
    """Exports a run's generator as a TF Serving SavedModel and/or an ONNX graph, both verified."""
    from kerasgen import export

    model_path = _model_path(args.run)
    run_dir = os.path.dirname(model_path)
    run_info = _read_json(os.path.join(run_dir, "run.json"))
    history = _read_json(os.path.join(run_dir, "history.json"))
    metrics = {k: v[-1] for k, v in history.items() if v}
    model = _load_model(args)
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


def cmd_report(args) -> int:
    """Writes the run's HTML report (configuration, curves, samples, interpolation, density, evaluation)."""
    from kerasgen.report import NotARunError, write_report

    try:
        path = write_report(args.run, out=args.out, export_dir=args.export_dir, safe_mode=not args.unsafe)
    except NotARunError as err:
        raise UsageError(str(err)) from None
    print(f"wrote {path}")
    return 0


def cmd_serve(args) -> int:
    """Serves TF Serving's REST API for one model and the explorer page until Ctrl-C or SIGTERM."""
    import signal

    from kerasgen.explorer import ExplorerServer, ServingError, default_name, open_backend

    try:
        backend = open_backend(args.model)
    except ServingError as err:
        raise UsageError(str(err)) from None
    name = args.name or default_name(args.model)
    try:
        server = ExplorerServer(backend, name, args.host, args.port, api=args.api.rstrip("/"),
                                cors=args.cors, log_requests=args.log_requests)
    except OSError as err:
        raise UsageError(f"cannot listen on {args.host}:{args.port} ({err.strerror or err}); pass another --port") from None
    kind = "ONNX" if args.model.endswith(".onnx") else f"SavedModel version {backend.version}"
    print(f"serving {name} ({kind} from {backend.folder})\n"
          f"  explorer page: {server.url}/\n"
          f"  REST predict:  POST {server.url}/v1/models/{name}:predict\n"
          f"  Ctrl-C stops", flush=True)

    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
        getattr(backend, "cleanup", lambda: None)()
    print("stopped")
    return 0


def translation_data(args, preset, split):
    """(arrays, DataInfo, independent) of a translation run's split: `(source, target)` pairs from --data and
    --task, or CycleGAN's `(a, b)` domains from --data, --data-b and --transform-b (independent orders)."""
    from kerasgen import data

    common = dict(split=split, seed=args.seed, image_size=args.image_size)
    if "unpaired" in preset.data:
        if args.task:
            raise UsageError(f"{args.preset!r} learns from unpaired domains: give --data (A) and --data-b or "
                             "--transform-b (B), not --task")
        if args.data_b is None and args.transform_b is None:
            raise UsageError(f"{args.preset!r} needs a second domain: --data-b SPEC or --transform-b "
                             "invert|rotate90|tint")
        domains = data.unpaired_arrays(args.data, args.data_b, transform_b=args.transform_b, **common)
        return (domains.a, domains.b), domains.info, True
    if args.task is None:
        raise UsageError(f"{args.preset!r} learns from pairs: give --task superres|inpaint|edges|colorize|paired")
    pairs = data.pair_arrays(args.data, args.task, factor=args.factor, mask=args.mask,
                             mask_fraction=args.mask_fraction, **common)
    return (pairs.source, pairs.target), pairs.info, False


def cmd_translate(args) -> int:
    """Translates image files or arrays with a trained translation run; writes the outputs and a grid."""
    import numpy as np

    from kerasgen import plotting

    model = _load_model(args)
    if not hasattr(model, "translate"):
        raise UsageError(f"{args.run} holds a {type(model).__name__}, not a translation model; use kerasgen sample")
    if hasattr(model, "shape_a"):  # CycleGAN
        source_shape = model.shape_a if args.direction == "a_to_b" else model.shape_b
    else:
        source_shape = model.source_shape
    sources = np.concatenate([_read_sources(path, source_shape) for path in args.input])
    outputs = model.translate(sources, direction=args.direction)
    os.makedirs(args.out, exist_ok=True)
    np.save(os.path.join(args.out, "translated.npy"), outputs)
    picture = plotting.translation_image(sources, outputs, per_row=min(4, len(sources)))
    plotting.save_image(picture, os.path.join(args.out, "translated.png"))
    print(f"translated {len(sources)} image(s) ({args.direction}); wrote {os.path.join(args.out, 'translated.png')} "
          f"(source, output pairs) and translated.npy")
    return 0


def _read_sources(path, shape) -> np.ndarray:
    """Images (N, *shape) float32 in [-1, 1] from a .npy array or an image file of that shape."""
    import numpy as np

    if not os.path.isfile(path):
        raise UsageError(f"no input file {path}")
    if path.endswith(".npy"):
        x = np.load(path).astype(np.float32)
        x = x[None] if x.ndim == 3 else x
    else:
        from PIL import Image

        with Image.open(path) as img:
            pixels = np.asarray(img.convert("L" if shape[-1] == 1 else "RGB"), np.float32)
        x = (pixels.reshape(1, *pixels.shape[:2], -1) / 127.5 - 1.0)
    if x.shape[1:] != tuple(shape):
        raise UsageError(f"{path} holds images of shape {x.shape[1:]}; the model translates {tuple(shape)}")
    if not np.isfinite(x).all() or x.min() < -1.0 - 1e-6 or x.max() > 1.0 + 1e-6:
        raise UsageError(f"{path}: values must be finite and within [-1, 1]")
    return x


def cmd_download(args) -> int:
    """Fetches data sets and feature weights into the folders kerasgen reads them from."""
    from kerasgen import downloads

    known = ("tfds:<name>", "inception", "inception-fid")
    for item in args.items:
        if not (item.startswith("tfds:") and item[5:]) and item not in known[1:]:
            raise UsageError(f"cannot download {item!r}; items are {', '.join(known)}")
    if downloads.offline_requested():
        raise UsageError(f"{downloads.OFFLINE_ENV} is set: unset it to download")
    for item in args.items:
        if item.startswith("tfds:"):
            from kerasgen.data.tfds_source import prepare

            where = prepare(item[5:], args.data_dir, download=True).data_dir
        elif item == "inception":
            from kerasgen.metrics.features import InceptionFeatures

            where = InceptionFeatures._find_weights(None, True, "published", True)[0]
        else:
            from kerasgen.metrics.inception_fid import download_graph

            where = download_graph(True)
        print(f"{item}: {where}")
    return 0


def cmd_precision(args) -> int:
    """Prints the cached decisions of `--precision auto` (and measures first with --measure)."""
    from kerasgen import precision

    if args.measure is not None:
        families = args.measure or list(precision.MEASURED_FAMILIES)
        unknown = [f for f in families if f not in precision.MEASURED_FAMILIES]
        if unknown:
            raise UsageError(f"--measure: unknown family {unknown[0]!r}; choose from "
                             f"{', '.join(precision.MEASURED_FAMILIES)} (flows always train in float32)")
        candidate = precision.hardware_policy("adversarial")
        if candidate == "float32":
            print("this machine has no native reduced precision (no GPU with tensor cores, no AMX-BF16 or "
                  "AVX512-BF16): auto is float32, nothing to measure")
        for family in families if candidate != "float32" else []:
            print(f"measuring {family} ...", flush=True)
            precision.measure_family(family, candidate)
    print(f"decisions in {precision.cache_path()}; this machine: {precision.machine_description()}")
    decisions = precision.cached_decisions()
    if not decisions:
        print("none yet: --precision auto measures on a family's first run here (or run 'kerasgen precision --measure')")
    for key in sorted(decisions):
        d = decisions[key]
        rates = ", ".join(f"{policy} {rate:g}" for policy, rate in d.get("steps_per_second", {}).items())
        print(f"{d.get('family', '?'):12s} {d.get('policy', '?'):15s} steps/s: {rates} ({d.get('probe', '')}); "
              f"{d.get('machine', '')}, TensorFlow {d.get('tensorflow', '?')}, {d.get('measured_at', '')}")
    print(f"hardware rule here: {precision.hardware_policy('adversarial')} (flows: float32)")
    return 0


COMMANDS = {"list": cmd_list, "train": cmd_train, "sample": cmd_sample, "translate": cmd_translate,
            "evaluate": cmd_evaluate,
            "export": cmd_export, "report": cmd_report, "serve": cmd_serve, "download": cmd_download,
            "precision": cmd_precision}


def entry() -> int:
    """The `kerasgen` console script (and `python -m kerasgen`): `main` on the command line's
    arguments, with TensorFlow's log lines filtered out unless `--verbose` is among them."""
    argv = sys.argv[1:]
    if "--verbose" not in argv:
        from kerasgen.console import quiet

        quiet()
    return main(argv)


def main(argv=None) -> int:
    """Runs one command (`argv` as on the command line); returns the exit status."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    args.argv = [a for a in argv if a != "--verbose"]
    from kerasgen import downloads

    try:
        with downloads.offline() if getattr(args, "offline", False) else contextlib.nullcontext():
            return COMMANDS[args.command](args)
    except (UsageError, ValueError, FileNotFoundError, FileExistsError, NotImplementedError, PermissionError) as err:
        if os.environ.get("KERASGEN_TRACEBACK"):  # for bug reports: the full traceback instead of one line
            raise
        print(f"kerasgen: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(entry())
