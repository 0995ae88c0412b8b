"""Pictures of training: TensorBoard event files (`kerasgen train --tensorboard --metrics`), the
`kerasgen report` HTML page and its SVG charts."""

import base64
import io
import json
import os
import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import kerasgen as kg
from kerasgen.cli import main
from kerasgen.report import svg
from tests.helpers import build


# ---- trained runs, one per family, shared by the tests of this module ----------------------------
def _train(root, name, argv):
    run = str(root / name)
    assert main(["train", *argv, "--out", run, "--quiet"]) == 0
    return run


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    """A 2-D GAN, 2 epochs, with TensorBoard logs and FID/KID every epoch."""
    return _train(tmp_path_factory.mktemp("runs"), "gan",
                  ["gan", "--data", "toy2d:moons", "--epochs", "2", "--batch-size", "128", "--n-samples", "512",
                   "--tensorboard", "--metrics", "fid,kid"])


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory):
    """A VAE on the 8x8 digits, 2 epochs, with TensorBoard logs and an evaluation."""
    run = _train(tmp_path_factory.mktemp("runs"), "vae",
                 ["vae", "--data", "digits", "--epochs", "2", "--batch-size", "256", "--tensorboard"])
    assert main(["evaluate", run, "--metric", "elbo", "--limit", "60"]) == 0
    return run


@pytest.fixture(scope="module")
def flow_run(tmp_path_factory):
    """A 2-D RealNVP, 2 epochs (writes density.png)."""
    return _train(tmp_path_factory.mktemp("runs"), "flow",
                  ["realnvp", "--data", "toy2d:moons", "--epochs", "2", "--batch-size", "256", "--n-samples", "512"])


def _history(run):
    with open(os.path.join(run, "history.json")) as f:
        return json.load(f)


# ---- TensorBoard ----------------------------------------------------------------------------------
def _events(run):
    """{tag: [(step, value)]} of the run's TensorBoard train logs: floats for scalars, bytes
    arrays for images and text."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(os.path.join(run, "tensorboard", "train"), size_guidance={"tensors": 0})
    acc.Reload()
    return {tag: [(e.step, tf.make_ndarray(e.tensor_proto)) for e in acc.Tensors(tag)]
            for tag in acc.Tags()["tensors"]}


def _png(image_tensor):
    """(width, height, PIL image) of one image of a TF2 image summary: [width, height, png...]."""
    width, height, png = image_tensor[0], image_tensor[1], image_tensor[2]
    return int(width), int(height), Image.open(io.BytesIO(png))


def test_tensorboard_holds_the_epoch_scalars_sample_scatters_and_config(gan_run):
    # rejects: no event files, scalars missing (FID/KID added after Keras' TensorBoard saw the logs),
    # values or steps other than history.json's, pictures missing or undecodable, no config text
    events, history = _events(gan_run), _history(gan_run)
    assert set(history) == {"d_loss", "g_loss", "fid", "kid"}
    for name, values in history.items():
        logged = events[f"epoch_{name}"]
        assert [step for step, _ in logged] == [0, 1], name
        np.testing.assert_allclose([float(v) for _, v in logged], values, rtol=1e-6, err_msg=name)
    pictures = events["samples"]
    assert [step for step, _ in pictures] == [0, 1]
    for _, tensor in pictures:
        width, height, image = _png(tensor)
        assert (width, height) == image.size == (400, 400)  # a scatter of 2-D samples
        assert np.asarray(image.convert("L")).min() < 128  # points drawn, not a blank
    (step, text), = events["config"]
    markdown = text.item().decode()
    assert step == 0 and "| `preset` | `gan` |" in markdown and "| `data` | `toy2d:moons` |" in markdown
    assert '| `metrics` | `["fid", "kid"]` |' in markdown


def test_tensorboard_image_grids_of_an_image_model(vae_run):
    events = _events(vae_run)
    assert set(_history(vae_run)) <= {tag[len("epoch_"):] for tag in events if tag.startswith("epoch_")}
    assert [step for step, _ in events["samples"]] == [0, 1]
    width, height, image = _png(events["samples"][-1][1])
    # 64 samples of 8x8: 8 columns and rows with 1-pixel gaps, drawn 4x larger
    assert (width, height) == image.size == ((8 * 9 + 1) * 4,) * 2
    # the picture is the one SampleGrid saved for that epoch (same seed, same drawing)
    saved = Image.open(os.path.join(vae_run, "samples", "samples_epoch_0002.png"))
    np.testing.assert_array_equal(np.asarray(image.convert("L")), np.asarray(saved.convert("L")))


def test_tensorboard_samples_skip_vectors_that_cannot_be_drawn(tmp_path):
    model = build("gan", (3,), seed=0)
    callback = kg.callbacks.TensorBoardSamples(str(tmp_path), config={"a|b": "x"})
    callback.set_model(model)
    callback.on_epoch_begin(0)
    callback.on_epoch_end(0)
    callback.on_train_end()
    assert callback.written_steps == []
    assert kg.callbacks.tensorboard.config_markdown({"a|b": [1, "`"]}) == \
        "| key | value |\n| --- | --- |\n| `a\\|b` | `[1, \"'\"]` |"
    with pytest.raises(ValueError, match="every"):
        kg.callbacks.TensorBoardSamples(str(tmp_path), every=0)


def test_train_rejects_unknown_quality_metrics_or_no_tensorboard_in_one_line(tmp_path, capsys, monkeypatch):
    argv = ["train", "gan", "--data", "toy2d:moons", "--n-samples", "256", "--out", str(tmp_path / "r")]
    assert main([*argv, "--metrics", "fid,bogus"]) == 2
    assert "('fid', 'kid')" in capsys.readouterr().err
    monkeypatch.setattr(kg.callbacks.tensorboard, "tensorboard_available", lambda: False)
    assert main([*argv, "--tensorboard"]) == 2
    assert "--tensorboard needs the tensorboard package" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "r" / "run.json")  # refused before anything was trained


# ---- the HTML report --------------------------------------------------------------------------------
class _Page(HTMLParser):
    """The parts of a report the tests look at."""

    def __init__(self):
        super().__init__()
        self.svgs, self.images, self.refs, self.text = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("src", "href", "xlink:href"):
            if key in attrs:
                self.refs.append(attrs[key])
        if tag in ("link", "script", "iframe", "object", "embed"):
            self.refs.append(f"<{tag}>")
        if tag == "svg":
            self.svgs.append({"title": attrs.get("aria-label", ""), "polylines": []})
        elif tag == "polyline":
            self.svgs[-1]["polylines"].append(attrs["points"].split())
        elif tag == "img":
            self.images.append(attrs)

    def handle_data(self, data):
        self.text.append(data)

    def picture(self, index):
        src = self.images[index]["src"]
        assert src.startswith("data:image/png;base64,")
        return Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))

    def captions(self):
        return [img["alt"] for img in self.images]


def _report(run, *extra):
    assert main(["report", run, *extra]) == 0
    path = os.path.join(run, "report.html")
    page = _Page()
    with open(path, encoding="utf-8") as f:
        source = f.read()
    page.feed(source)
    page.close()
    assert page.refs and all(ref.startswith("data:image/png;base64,") for ref in page.refs), page.refs
    assert "http://" not in source.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in source
    return page, source


def _assert_curves(page, history):
    epochs = max(len(v) for v in history.values())
    assert len(page.svgs) == len(history)
    for chart, name in zip(page.svgs, history):
        assert chart["title"].startswith(f"{name}:")
        (points,) = chart["polylines"]
        assert len(points) == epochs, name


def test_report_of_a_gan_run(gan_run):
    page, source = _report(gan_run)
    history = _history(gan_run)
    _assert_curves(page, history)
    assert "kerasgen run: gan on toy2d:moons" in source
    assert page.captions() == ["epoch 1", "epoch 2"]  # the scatters of samples/, nothing else
    for i in range(2):
        assert page.picture(i).size == (400, 400)
    text = " ".join(page.text)
    assert "No interpolation strip: the model draws vectors" in text and "tensorboard --logdir" in text
    assert "Not evaluated" in text


def test_report_of_a_vae_run_with_its_interpolation_strip_and_evaluation(vae_run):
    page, source = _report(vae_run)
    _assert_curves(page, _history(vae_run))
    assert "kerasgen run: vae on digits" in source
    captions = page.captions()
    assert captions[:2] == ["epoch 1", "epoch 2"] and captions[2].startswith("8 samples along the slerp path")
    assert page.picture(0).size == page.picture(1).size == (292, 292)
    strip = page.picture(2)
    assert strip.size == ((8 * 9 + 1) * 4, (8 + 2) * 4)  # one row of 8 images of 8x8
    # the strip's first image is the model's sample of the run's seed (the path starts at its noise)
    model = kg.models.load(os.path.join(vae_run, "model.keras"))
    first = kg.plotting.image_grid(model.sample(1, seed=0), scale=4)
    assert np.abs(np.asarray(strip)[:40, :40].astype(int) - np.asarray(first).astype(int)).max() <= 1
    assert not np.array_equal(np.asarray(strip)[:40, :40], np.asarray(strip)[:40, -40:])  # it moves
    assert "-ELBO (nats)" in " ".join(page.text) and "digits (test)" in " ".join(page.text)


@pytest.mark.slow  # (about 20 s on 2 cores: the flow's first trace and its 400x400 density map)
def test_report_of_a_2d_flow_shows_its_density(flow_run):
    page, source = _report(flow_run, "--out", os.path.join(flow_run, "report.html"))
    _assert_curves(page, _history(flow_run))
    assert "kerasgen run: realnvp on toy2d:moons" in source
    assert page.captions()[-1].startswith("learned density")
    with open(os.path.join(flow_run, "density.png"), "rb") as f:
        assert page.images[-1]["src"] == kg.report.html.data_uri(f.read())
    assert page.picture(-1).size == (400, 400)


def test_report_embeds_the_density_picture_of_a_run(gan_run, tmp_path):
    # (the fast stand-in for the flow run above: the density section embeds RUN/density.png as it is)
    run = str(tmp_path / "with-density")
    shutil.copytree(gan_run, run, ignore=shutil.ignore_patterns("model.keras", "report.html"))
    log_prob = lambda p: -0.5 * np.sum(np.asarray(p, np.float64) ** 2, axis=1)
    kg.plotting.save_image(kg.plotting.density_image(log_prob, ((-3, -3), (3, 3)), size=60),
                           os.path.join(run, "density.png"))
    page, _ = _report(run)
    assert page.captions()[-1].startswith("learned density")
    with open(os.path.join(run, "density.png"), "rb") as f:
        assert page.images[-1]["src"] == kg.report.html.data_uri(f.read())
    assert page.picture(-1).size == (60, 60)


def test_report_of_an_unfinished_run_and_model_cards(vae_run, tmp_path):
    run = str(tmp_path / "unfinished")
    shutil.copytree(vae_run, run, ignore=shutil.ignore_patterns("model.keras", "history.json", "report.html"))
    cards = tmp_path / "exports"
    os.makedirs(cards / "export")
    with open(cards / "export" / "vae.model_card.json", "w") as f:
        json.dump({"format": "onnx", "note": "<script>alert(1)</script>"}, f)
    page, source = _report(run, "--export-dir", str(cards))
    text = " ".join(page.text)
    assert "not finished (no model.keras)" in text and "No interpolation strip: the run has not finished" in text
    assert "From checkpoints/ckpt-00002-000000.keras" in text  # the curves come from the newest checkpoint
    _assert_curves(page, _history(vae_run))
    assert "export/vae.model_card.json" in text and "<script>" not in source  # escaped: &lt;script&gt;
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in source


def test_report_on_a_folder_that_is_not_a_run_is_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a run folder (no run.json" in err


# ---- the SVG writer ---------------------------------------------------------------------------------
def _points(chart):
    """([[(x, y)] per polyline], number of lone-point dots, title) of an SVG chart."""
    root = ET.fromstring(chart)  # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    lines = [[tuple(map(float, p.split(","))) for p in line.get("points").split()]
             for line in root.iter(f"{ns}polyline")]
    lone = [c for c in root.iter(f"{ns}circle") if c.get("class") == "point"]
    return lines, len(lone), root.find(f"{ns}title").text


def test_svg_chart_maps_data_to_the_plot_area():
    chart = svg.line_chart([1, 2, 3], [0.0, 5.0, 10.0], title="loss <a&b>", y_label="loss")
    (line,), circles, title = _points(chart)
    # x ticks 1, 2, 3 and y ticks 0..10 span the plot area exactly: corners and centre
    left, right = svg.LEFT, svg.WIDTH - svg.RIGHT
    top, bottom = svg.TOP, svg.HEIGHT - svg.BOTTOM
    assert line == [(left, bottom), ((left + right) / 2, (top + bottom) / 2), (right, top)]
    assert circles == 0 and title == "loss <a&b>" and chart.count('class="marker"') == 3  # a dot per point
    frame = svg.Frame((0.0, 10.0), (-1.0, 1.0), width=200, height=100, left=10, right=10, top=10, bottom=10)
    assert (frame.x(2.5), frame.y(0.5)) == (55.0, 30.0)
    assert svg.nice_ticks(0.31, 0.37) == [0.3, 0.32, 0.34, 0.36, 0.38]
    assert svg.nice_ticks(1, 50, count=6, integer=True) == [0, 10, 20, 30, 40, 50]
    assert "<text" in chart and ">0.0<" not in chart and ">10<" in chart and ">epoch<" in chart


def test_svg_chart_leaves_gaps_for_nan_and_infinity():
    lines, circles, title = _points(svg.line_chart([1, 2, 3, 4, 5, 6], [1.0, np.nan, 2.0, 3.0, np.inf, 4.0]))
    assert [len(line) for line in lines] == [1, 2, 1] and circles == 2  # lone points also get a dot
    assert "2 non-finite values not drawn" in title
    assert [x for line in lines for x, _ in line] == sorted({x for line in lines for x, _ in line})
    empty, circles, title = _points(svg.line_chart([1, 2], [np.nan, np.nan], title="kid"))
    assert empty == [] and circles == 0 and "2 non-finite values" in title
    flat, _, _ = _points(svg.line_chart([1, 2, 3], [7.0, 7.0, 7.0]))  # one value: a level line mid-chart
    assert len({y for _, y in flat[0]}) == 1 and svg.TOP < flat[0][0][1] < svg.HEIGHT - svg.BOTTOM
