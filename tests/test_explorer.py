"""`kerasgen serve`: TF Serving's REST routes over HTTP, from a SavedModel and from an ONNX export,
and the explorer page in a real headless Chromium (skipped where Chromium is not installed)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest

import kerasgen as kg
from kerasgen.explorer import ExplorerServer, open_backend


def _get(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, dict(response.headers), json.loads(response.read())


def _post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture
def served():
    """Starts an ExplorerServer on a free port in a thread: served(path, **kwargs) -> server."""
    servers = []

    def start(path, name="model", **kwargs):
        server = ExplorerServer(open_backend(path), name, port=0, **kwargs)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.xdist_group("export-cgan")  # shares the worker that exports cgan
def test_the_rest_routes_answer_as_tf_serving_does(exports, served):
    # rejects: a server that answers errors with HTTP 200, serves any model name or version, reports
    # other metadata than the SavedModel's signatures, or predicts differently from serve_rest
    from kerasgen.export.savedmodel import serve_rest

    model, folder, _ = exports["cgan"]
    server = served(os.path.dirname(folder), name="cgan", cors=True)  # the model folder: its highest version
    base = f"{server.url}/v1/models/cgan"
    status, headers, body = _get(base)
    assert status == 200 and body["model_version_status"][0]["state"] == "AVAILABLE"
    assert body["model_version_status"][0]["version"] == "1" and headers["Access-Control-Allow-Origin"] == "*"
    signatures = _get(f"{base}/metadata")[2]["metadata"]["signature_def"]["signature_def"]
    assert set(signatures) == {"serving_default", "generate", "sample"}
    z_info = signatures["serving_default"]["inputs"]["z"]
    assert z_info["dtype"] == "DT_FLOAT" and [d["size"] for d in z_info["tensor_shape"]["dim"]] == \
        ["-1", str(model.generator_input_dim)]
    sample_inputs = signatures["sample"]["inputs"]
    assert signatures["serving_default"]["inputs"]["labels"]["dtype"] == "DT_INT32"
    assert (sample_inputs["num_samples"]["dtype"], sample_inputs["seed"]["dtype"]) == ("DT_INT32", "DT_INT64")
    # rejects: an ONNX backend whose metadata describes other inputs than the SavedModel of the same model
    onnx_signatures = open_backend(exports["cgan"][2]["generate"]).signatures()
    for name in ("serving_default", "generate", "sample"):
        assert onnx_signatures[name]["inputs"] == signatures[name]["inputs"], name
    z = np.random.default_rng(0).normal(size=(2, model.generator_input_dim)).astype("float32")
    request = kg.export.predict_request({"z": z, "labels": np.array([3, 4], np.int32)})
    status, answer = _post(f"{base}:predict", request)
    assert status == 200 and answer == json.loads(json.dumps(serve_rest(folder, request)))
    np.testing.assert_allclose(kg.export.parse_predict_response(answer)["output"],
                               model.generate(z, np.array([3, 4])), atol=1e-4)
    assert _post(f"{base}/versions/1:predict", request)[0] == 200
    status, answer = _post(f"{base}:predict", {"instances": [{"z": z[0].tolist(), "labels": 10}]})
    assert status == 400 and "labels must lie in [0, 9]" in answer["error"]
    assert _post(f"{base}/versions/2:predict", request)[0] == 404
    assert _post(f"{server.url}/v1/models/other:predict", request)[0] == 404
    status, answer = _post(f"{base}:predict", "not an object")
    assert status == 400 and "JSON object" in answer["error"]
    config = _get(f"{server.url}/config.json")[2]
    assert config["model"] == "cgan" and config["card"]["preset"] == "cgan" and config["api"] == ""


@pytest.mark.xdist_group("export-maf")  # shares the worker that exports maf
def test_an_onnx_export_serves_generate_sample_and_log_prob_without_tensorflow_calls(exports, served):
    # rejects: an ONNX backend whose `sample` is another stream than OnnxGenerator.sample, or whose log_prob
    # or error answers differ from the generator's
    _, _, files = exports["maf"]
    generator = kg.export.OnnxGenerator(files["generate"])
    server = served(files["generate"], name="maf")
    base = f"{server.url}/v1/models/maf"
    status, headers, body = _get(f"{base}/metadata")
    assert "Access-Control-Allow-Origin" not in headers  # CORS headers only when asked for (--cors)
    signatures = body["metadata"]["signature_def"]["signature_def"]
    assert set(signatures) == {"serving_default", "generate", "sample", "log_prob"}
    status, answer = _post(f"{base}:predict", {"signature_name": "sample", "inputs": {"num_samples": 5, "seed": 7}})
    assert status == 200
    np.testing.assert_allclose(answer["outputs"], generator.sample(5, seed=7), atol=1e-6)
    x = generator.sample(3, seed=1)
    status, answer = _post(f"{base}:predict", {"signature_name": "log_prob", "instances": x.tolist()})
    assert status == 200
    np.testing.assert_allclose(answer["predictions"], generator.log_prob(x), rtol=1e-6)
    status, answer = _post(f"{base}:predict", {"signature_name": "log_prob", "instances": [[float("nan"), 0.0]]})
    assert status == 400 and "NaN" in answer["error"]
    status, answer = _post(f"{base}:predict", {"signature_name": "encode", "instances": []})
    assert status == 400 and '"encode" not found' in answer["error"]


def test_serve_refuses_what_it_cannot_serve(tmp_path):
    from kerasgen.cli import main

    (tmp_path / "empty").mkdir()
    proc = subprocess.run([sys.executable, "-m", "kerasgen", "serve", str(tmp_path / "empty")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "holds no SavedModel version" in proc.stderr and "export/NAME.onnx" in proc.stderr
    assert main(["serve", str(tmp_path / "missing.onnx")]) == 2


def _chromium():
    """(chromium, chromedriver) paths, or a pytest skip naming what is missing."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (pip install selenium)")
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("Chromium and ChromeDriver are not installed (Debian: apt-get install chromium chromium-driver)")
    return browser, driver


@pytest.fixture
def serve_command():
    """Runs `kerasgen serve ... --port 0` in a subprocess: serve_command(path, name) -> base URL."""
    procs = []

    def start(path, name):
        proc = subprocess.Popen([sys.executable, "-m", "kerasgen", "serve", path, "--name", name, "--port", "0"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        for line in proc.stdout:
            if "explorer page:" in line:
                return line.split("explorer page:")[1].strip().rstrip("/")
        raise AssertionError(f"kerasgen serve did not start: {proc.stderr.read()}")

    yield start
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "stopped" in out and err == "", err


@pytest.fixture
def browser():
    """A headless Chromium driven by selenium (the test is skipped where either is missing)."""
    binary, driver_path = _chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


def _open_page(driver, url):
    """Loads the explorer page and waits until it has drawn; returns a 60-second WebDriverWait."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url + "/")
    wait = WebDriverWait(driver, 60)
    wait.until(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))
    return wait


def _console_errors(driver):
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"
            and ":predict" not in entry["message"]]  # (a deliberate bad request is logged as a failed request)


@pytest.mark.xdist_group("export-cgan")  # shares the worker that exports cgan
def test_the_explorer_page_in_a_real_browser(exports, serve_command, browser):
    # rejects: sliders that do not reach the request, a page that swallows the server's error, a page with
    # console errors (a missing file, a script error), an interpolation that draws one image
    from selenium.webdriver.support.ui import WebDriverWait

    url = serve_command(exports["cgan"][2]["generate"], "cgan")
    wait = _open_page(browser, url)
    assert "cgan" in browser.find_element("id", "title").text
    picture = lambda: browser.execute_script("return document.getElementById('sample').toDataURL()")  # noqa: E731
    before = picture()
    # the interpolation strip: 8 images of 8x8 pixels with 1-pixel gaps, drawn 8 times larger
    assert browser.execute_script("return document.getElementById('strip').width") == (8 * (8 + 1) - 1) * 8
    # move the first slider to its far end, as a user dragging it would
    browser.execute_script("const s = document.getElementById('slider-0'); s.value = s.value > 0 ? -3 : 3;"
                           "s.dispatchEvent(new Event('input'));")
    # rejects: an interpolation that draws one noise (or one seed's) image in every tile: its ends differ
    ends_differ = """const c = document.getElementById('strip'), ctx = c.getContext('2d'), w = 8 * 8;
        const a = ctx.getImageData(0, 0, w, w).data, b = ctx.getImageData(c.width - w, 0, w, w).data;
        return a.some((v, i) => v !== b[i]);"""
    assert browser.execute_script(ends_differ)
    WebDriverWait(browser, 10).until(lambda d: picture() != before)  # (one predict call: fails fast if it never comes)
    assert browser.find_element("id", "error").text == ""
    # a class the model does not have: the server's own message appears on the page
    field = browser.find_element("id", "class")
    field.clear()
    field.send_keys("12")
    browser.execute_script("document.getElementById('class').dispatchEvent(new Event('change'))")
    wait.until(lambda d: d.find_element("id", "error").text)
    assert "labels must lie in [0, 9]" in browser.find_element("id", "error").text
    assert _console_errors(browser) == []


@pytest.mark.xdist_group("export-maf")  # shares the worker that exports maf
def test_the_page_reads_out_a_flows_log_density_of_a_point(exports, served, browser):
    # rejects: a readout of another point, of the negated value, or without the log_prob call
    _, _, files = exports["maf"]
    wait = _open_page(browser, served(files["generate"], name="maf").url)
    browser.find_element("id", "point").send_keys("0.5, -1.25")
    browser.find_element("id", "score-point").click()
    wait.until(lambda d: d.find_elements("id", "log-prob"))
    want = kg.export.OnnxGenerator(files["generate"]).log_prob(np.array([[0.5, -1.25]], np.float32))[0]
    assert float(browser.find_element("id", "log-prob").text) == pytest.approx(want, abs=0.006)
    assert _console_errors(browser) == []


@pytest.mark.xdist_group("export-vae")  # shares the worker that exports vae
def test_the_page_reads_out_a_vaes_bound_for_an_uploaded_image(exports, served, browser, tmp_path):
    # rejects: a page that scores other pixels than the uploaded image's (scaled to [-1, 1]), or shows the ELBO
    # as the importance bound
    from PIL import Image

    model, folder, _ = exports["vae"]
    pixels = np.round((model.sample(1, seed=2)[0, ..., 0] + 1) * 127.5).clip(0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "digit.png")
    wait = _open_page(browser, served(os.path.dirname(folder), name="vae").url)
    browser.find_element("id", "upload").send_keys(str(tmp_path / "digit.png"))
    wait.until(lambda d: d.find_elements("id", "log-prob"))
    import tensorflow as tf

    x = (pixels.astype(np.float32) / 127.5 - 1)[None, ..., None]
    want = tf.saved_model.load(folder).signatures["log_likelihood"](x=tf.constant(x))["iwae_bound"].numpy()[0]
    assert float(browser.find_element("id", "log-prob").text) == pytest.approx(want, abs=0.006)
    assert _console_errors(browser) == []


@pytest.mark.slow
def test_a_run_folder_is_served_from_a_verified_temporary_export(tmp_path):
    # rejects: serving a run folder's model without the export's checks, or leaving the temporary export behind
    from kerasgen.cli import main

    run = str(tmp_path / "gan")
    assert main(["train", "gan", "--data", "toy2d:moons", "--epochs", "1", "--n-samples", "256", "--out", run,
                 "--quiet"]) == 0
    backend = open_backend(run, workdir=str(tmp_path / "served"))
    assert backend.version == 1 and backend.card["preset"] == "gan" and backend.card["parity"]
    answer = backend.predict({"signature_name": "sample", "inputs": {"num_samples": 3, "seed": 1}})
    assert np.asarray(answer["outputs"]).shape == (3, 2)
    assert os.path.isdir(tmp_path / "served")
    backend.cleanup()
    assert not os.path.exists(tmp_path / "served")
