"""`write_report(run_dir)`: one self-contained HTML page about a training run (`kerasgen report RUN`).

The page (`RUN/report.html` by default) opens from disk with nothing else: images are embedded as
`data:` URIs, curves are inline SVG (`kerasgen.report.svg`), the style sheet is inline. It shows, from
what the run folder holds:

- the configuration (`run.json`);
- one curve per metric of `history.json` (losses, and FID/KID of `kerasgen train --metrics`), the
  epoch on x; an unfinished run's curves come from its newest checkpoint;
- the sample grids over epochs (`samples/samples_epoch_XXXX.png`, at most `max_grids` of them,
  evenly spaced, the first and the last included);
- a latent interpolation strip drawn from `model.keras` (image models: `latent.prior_interpolation`
  between the noise draws of the run's seed and the next one, slerp; class 0 for conditional
  models); none for 2-D or other vector data, for discrete noise, or for an unfinished run;
- the learned density of a 2-D flow (`density.png`);
- the evaluation table (`evaluation.json`, which `kerasgen evaluate` writes);
- the model cards of exports: `model_card.json` files under the run folder and under `export_dir`
  (the `--out` of `kerasgen export`): `saved_models/NAME/<newest version>/model_card.json` and
  `export/NAME.model_card.json`.
"""

from __future__ import annotations

import glob
import json
import os
import re

import numpy as np

from kerasgen.report import html, svg

__all__ = ["NotARunError", "write_report", "metric_epochs", "sample_grids"]

REPORT_FILE = "report.html"
_GRID = re.compile(r"^samples_epoch_(\d{4,})\.png$")


class NotARunError(ValueError):
    """The folder is not a run folder written by `kerasgen train` (no readable run.json)."""


def _read_json(path):
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise NotARunError(f"{path} is unreadable or not JSON ({err})") from None


def run_history(run_dir: str) -> tuple[dict, str]:
    """({metric: [per-epoch values]}, where they came from): `history.json`, else the newest
    checkpoint's history (a run still training, or stopped), else {}."""
    history = _read_json(os.path.join(run_dir, "history.json"))
    if history is not None:
        return history, "history.json"
    from kerasgen.callbacks.checkpoint import latest

    found = latest(os.path.join(run_dir, "checkpoints"))
    if found is not None:
        return found[1].get("history") or {}, os.path.relpath(found[0], run_dir)
    return {}, "nothing (no history.json and no checkpoint)"


def metric_epochs(name: str, values, epochs: int, run_info: dict) -> list[int]:
    """The epochs (1-based) of a metric's values: 1..epochs for a metric logged every epoch; every,
    2 * every, ... for the sample-quality metrics of `kerasgen train --metrics` logged every
    `metrics_every` epochs (recorded in run.json); 1..len(values) otherwise."""
    n = len(values)
    every = run_info.get("metrics_every") if name in (run_info.get("metrics") or ()) else None
    if n != epochs and every and n == epochs // every:
        return [every * (i + 1) for i in range(n)]
    return list(range(1, n + 1))


def sample_grids(run_dir: str, max_grids: int = 16) -> tuple[list[tuple[int, str]], int]:
    """([(epoch, path)] of the sample PNGs `SampleGrid` wrote, at most `max_grids` evenly spaced with
    the first and last included, oldest first; the number there are)."""
    folder = os.path.join(run_dir, "samples")
    found = sorted((int(m.group(1)), os.path.join(folder, name)) for name in
                   (os.listdir(folder) if os.path.isdir(folder) else ()) if (m := _GRID.match(name)))
    if len(found) <= max_grids:
        return found, len(found)
    keep = sorted(set(np.round(np.linspace(0, len(found) - 1, max_grids)).astype(int).tolist()))
    return [found[i] for i in keep], len(found)


def model_cards(run_dir: str, export_dir: str | None = None) -> list[str]:
    """Paths of export model cards for the report: in the run folder and in `export_dir`, the
    `model_card.json` of the newest SavedModel version of each name and every ONNX
    `NAME.model_card.json`."""
    found = []
    for root in dict.fromkeys(d for d in (run_dir, export_dir) if d):
        found += glob.glob(os.path.join(root, "model_card.json")) + glob.glob(os.path.join(root, "*.model_card.json"))
        found += glob.glob(os.path.join(root, "export", "*.model_card.json"))
        for name_dir in sorted(glob.glob(os.path.join(root, "saved_models", "*"))):
            versions = [d for d in os.listdir(name_dir) if d.isdigit()] if os.path.isdir(name_dir) else []
            for version in sorted(versions, key=int, reverse=True):
                card = os.path.join(name_dir, version, "model_card.json")
                if os.path.isfile(card):
                    found.append(card)
                    break
    return sorted(dict.fromkeys(os.path.normpath(p) for p in found))


# ---- sections -----------------------------------------------------------------------------------
def _configuration(run_info: dict) -> str:
    return html.table(("key", "value"), run_info.items(), code_columns=(1,))


def _curves(history: dict, epochs: int, run_info: dict, source: str) -> str:
    if not history:
        return html.note(f"No per-epoch metrics: the run recorded {source}.")
    charts = []
    for name, values in history.items():
        values = [np.nan if v is None else v for v in values]
        xs = metric_epochs(name, values, epochs, run_info)
        last = values[-1] if values else float("nan")
        title = f"{name}: {last:.4g} at epoch {xs[-1]}" if values else name
        charts.append(svg.line_chart(xs, values, title=title, x_label="epoch", y_label=name))
    return f'<p class="sub">From {html.text(source)}.</p>\n<div class="charts">' + "\n".join(charts) + "</div>"


def _samples(run_dir: str, max_grids: int) -> str:
    grids, total = sample_grids(run_dir, max_grids)
    if not grids:
        return html.note("No sample pictures in samples/.")
    figures = []
    for epoch, path in grids:
        with open(path, "rb") as f:
            figures.append(html.figure(f.read(), f"epoch {epoch}"))
    shown = f"{len(grids)} of {total}" if total > len(grids) else f"all {total}"
    intro = f'<p class="sub">The same noise every time ({shown} pictures in samples/).</p>'
    return intro + '\n<div class="figures">' + "\n".join(figures) + "</div>"


def _interpolation(run_dir: str, run_info: dict, safe_mode: bool, steps: int) -> str:
    from kerasgen import plotting

    shape = tuple((run_info.get("data_info") or {}).get("data_shape") or ())
    if len(shape) != 3:
        return html.note("No interpolation strip: the model draws vectors"
                         + (" (see the learned density and the sample scatters)." if shape == (2,) else "."))
    model_path = os.path.join(run_dir, "model.keras")
    if not os.path.isfile(model_path):
        return html.note("No interpolation strip: the run has not finished (no model.keras).")
    from kerasgen import latent, models

    try:
        model = models.load(model_path, safe_mode=safe_mode)
        seed = int(run_info.get("seed") or 0)
        strip = latent.prior_interpolation(model, steps=steps, seed=seed)
    except ValueError as err:  # e.g. discrete noise (VQ-VAE): no path between draws
        return html.note(f"No interpolation strip: {err}")
    except Exception as err:  # the rest of the report stays useful; say what went wrong
        return html.note(f"No interpolation strip: {type(err).__name__}: {err}")
    label = " of class 0" if getattr(model, "num_classes", None) else ""
    image = plotting.image_grid(np.clip(strip, -1, 1), columns=steps, scale=4)
    caption = (f"{steps} samples{label} along the slerp path between the noise draws of seed {seed} "
               f"and seed {seed + 1}")
    return html.figure(html.png_bytes(image), caption)


def _density(run_dir: str) -> str | None:
    path = os.path.join(run_dir, "density.png")
    if not os.path.isfile(path):
        return None
    with open(path, "rb") as f:
        return html.figure(f.read(), "learned density (dark: dense), over the central 99% of samples",
                           css_class="density")


def _evaluation(records: dict) -> str:
    from kerasgen.metrics.report import table_rows

    try:
        rows = table_rows(records)
    except (KeyError, TypeError, ValueError):  # records of another version: show them as they are
        return html.table(("metric", "record"), records.items(), code_columns=(1,))
    where = sorted({f"{r.get('data')} ({r.get('split')})" for r in records.values() if isinstance(r, dict)
                    and r.get("data")})
    intro = f'<p class="sub">On {html.text(", ".join(where))}.</p>' if where else ""
    return intro + html.table(("metric", "value", "+-", "details"), rows)


def _cards(paths, run_dir: str) -> str:
    parts = []
    for path in paths:
        card = _read_json(path) or {}
        rows = []
        for key, value in card.items():
            shown = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
            rows.append((key, shown if len(shown) <= 400 else shown[:400] + " ..."))
        parts.append(f"<h3>{html.text(os.path.relpath(path, run_dir))}</h3>"
                     + html.table(("key", "value"), rows, code_columns=(1,)))
    return "\n".join(parts)


def write_report(run_dir: str, out: str | None = None, export_dir: str | None = None, safe_mode: bool = True,
                 max_grids: int = 16, strip_steps: int = 8) -> str:
    """Writes the HTML report of the run in `run_dir` (see the module's docstring for its content).

    Args:
        run_dir: a run folder written by `kerasgen train` (finished or not).
        out: where the page goes; default `run_dir/report.html`.
        export_dir: a folder given to `kerasgen export --out`, searched for model cards.
        safe_mode: Keras' safe mode for loading `model.keras` (False: trusted files only).
        max_grids: most sample pictures shown.
        strip_steps: images in the interpolation strip (>= 2).

    Returns:
        the path written.

    Raises:
        NotARunError: `run_dir` holds no readable run.json.
    """
    from kerasgen import io

    run_dir = os.fspath(run_dir)
    run_info = _read_json(os.path.join(run_dir, "run.json")) if os.path.isdir(run_dir) else None
    if not isinstance(run_info, dict):
        raise NotARunError(f"{run_dir} is not a run folder (no run.json; 'kerasgen train --out' writes one)")
    if strip_steps < 2 or max_grids < 1:
        raise ValueError(f"strip_steps must be >= 2 and max_grids >= 1, got {strip_steps} and {max_grids}")
    history, source = run_history(run_dir)
    epochs = max((len(v) for v in history.values()), default=0)
    finished = os.path.isfile(os.path.join(run_dir, "model.keras"))
    title = f"{run_info.get('preset', 'model')} on {run_info.get('data', 'unknown data')}"
    status = (f"{epochs} epoch{'s' * (epochs != 1)} of {run_info.get('target_epochs', '?')} trained"
              + ("" if finished else "; not finished (no model.keras)")
              + f"; kerasgen {run_info.get('kerasgen_version', '?')}; {os.path.abspath(run_dir)}")
    sections = [html.section("Configuration", _configuration(run_info), "configuration"),
                html.section("Training curves", _curves(history, epochs, run_info, source), "curves"),
                html.section("Samples over training", _samples(run_dir, max_grids), "samples"),
                html.section("Latent interpolation", _interpolation(run_dir, run_info, safe_mode, strip_steps),
                             "interpolation")]
    density = _density(run_dir)
    if density:
        sections.append(html.section("Learned density", density, "density"))
    evaluation = _read_json(os.path.join(run_dir, "evaluation.json"))
    sections.append(html.section("Evaluation", _evaluation(evaluation) if evaluation else
                                 html.note("Not evaluated: 'kerasgen evaluate RUN' records its results in "
                                           "evaluation.json."), "evaluation"))
    cards = model_cards(run_dir, export_dir)
    if cards:
        sections.append(html.section("Model card" + "s" * (len(cards) > 1), _cards(cards, run_dir), "cards"))
    if os.path.isdir(os.path.join(run_dir, "tensorboard")):
        sections.append(html.section("TensorBoard", html.note(
            f"TensorBoard logs: tensorboard --logdir {os.path.join(run_dir, 'tensorboard')}"), "tensorboard"))
    out = os.fspath(out) if out else os.path.join(run_dir, REPORT_FILE)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".partial"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(html.page(f"kerasgen run: {title}", status, sections))
        io.replace_atomically(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return out
