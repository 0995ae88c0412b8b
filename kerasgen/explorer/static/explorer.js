// kerasgen explorer: draws samples of an exported generator through TF Serving's REST predict API only.
// config.json (from `kerasgen serve`) gives the REST address, the model name and the model card.
"use strict";

const SLIDERS = 6;      // noise coordinates with a slider
const SCATTER = 512;    // samples in a 2-D scatter
let config, card, api, noiseSpec, dataShape, isImage, noise = null;

const $ = (id) => document.getElementById(id);
const prod = (shape) => shape.reduce((a, b) => a * b, 1);

function showError(message) { $("error").textContent = message || ""; }

// ---- seeded noise (mulberry32 + Box-Muller) ----------------------------------------------------
function generator(seed) {
  let state = (Number(seed) >>> 0) ^ 0x9e3779b9;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (truncation) => {
    for (;;) {
      const u = 1 - uniform(), v = uniform();
      const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
      if (!truncation || Math.abs(z) <= truncation) return z;
    }
  };
  return { uniform, normal };
}

// One noise vector (flat) of the card's noise spec: normal, infogan (normals, one-hot codes,
// uniform codes) or codes (one code per position from its frequencies).
function drawNoise(seed, truncation) {
  const g = generator(seed), spec = noiseSpec, out = [];
  if (spec.kind === "infogan") {
    for (let i = 0; i < spec.latent_dim; i++) out.push(g.normal(truncation));
    for (const k of spec.categorical_codes) {
      const hot = Math.floor(g.uniform() * k);
      for (let i = 0; i < k; i++) out.push(i === hot ? 1 : 0);
    }
    for (let i = 0; i < spec.continuous_codes; i++) out.push(2 * g.uniform() - 1);
  } else if (spec.kind === "codes") {
    const k = spec.num_codes, freq = spec.code_frequencies.flat(Infinity);
    for (let p = 0; p < prod(spec.shape); p++) {
      const row = freq.slice(p * k, (p + 1) * k), total = row.reduce((a, b) => a + b, 0);
      let u = g.uniform() * total, code = 0;
      while (code < k - 1 && u >= row[code]) { u -= row[code]; code++; }
      out.push(code);
    }
  } else {
    for (let i = 0; i < prod(spec.shape); i++) out.push(g.normal(truncation));
  }
  return out;
}

function slidable() {  // how many leading noise coordinates are continuous normals
  if (noiseSpec.kind === "codes" || !isImage) return 0;
  const n = noiseSpec.kind === "infogan" ? noiseSpec.latent_dim : prod(noiseSpec.shape);
  return Math.min(SLIDERS, n);
}

// ---- REST ---------------------------------------------------------------------------------------
function nest(flat, shape) {  // flat list -> nested lists of `shape`
  if (shape.length <= 1) return flat;
  const step = prod(shape.slice(1)), out = [];
  for (let i = 0; i < shape[0]; i++) out.push(nest(flat.slice(i * step, (i + 1) * step), shape.slice(1)));
  return out;
}

async function predict(signature, inputs) {
  const response = await fetch(`${api}/v1/models/${encodeURIComponent(config.model)}:predict`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ signature_name: signature, inputs }),
  });
  let body;
  try { body = await response.json(); } catch (err) { body = { error: `HTTP ${response.status}` }; }
  if (!response.ok || body.error) throw new Error(body.error || `HTTP ${response.status}`);
  return body.outputs;
}

function batchInputs(noises) {
  const inputs = { [noiseSpec.name]: noises.map((z) => nest(z, noiseSpec.shape)) };
  if (card.condition) inputs.labels = noises.map(() => Number($("class").value));
  return inputs;
}

// ---- drawing ------------------------------------------------------------------------------------
function toPixel(v) {
  const [lo, hi] = card.output_dtype === "uint8" ? [0, 255] : [-1, 1];
  return Math.max(0, Math.min(255, Math.round(((v - lo) / (hi - lo)) * 255)));
}

function paintImages(canvas, images, scale) {  // images: list of (H, W, C) nested lists, in a row
  const [h, w, c] = dataShape;
  canvas.width = (images.length * (w + 1) - 1) * scale;
  canvas.height = h * scale;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  images.forEach((image, k) => {
    const pixels = ctx.createImageData(w, h), flat = image.flat(2);
    for (let i = 0; i < h * w; i++) {
      const rgb = c === 1 ? [flat[i], flat[i], flat[i]] : flat.slice(i * c, i * c + 3);
      for (let j = 0; j < 3; j++) pixels.data[4 * i + j] = toPixel(rgb[j]);
      pixels.data[4 * i + 3] = 255;
    }
    const tile = document.createElement("canvas");
    tile.width = w; tile.height = h;
    tile.getContext("2d").putImageData(pixels, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(tile, k * (w + 1) * scale, 0, w * scale, h * scale);
  });
}

function paintScatter(canvas, points) {
  const ctx = canvas.getContext("2d"), size = canvas.width;
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const lo = Math.min(...xs, ...ys), hi = Math.max(...xs, ...ys), span = hi - lo || 1;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, size, canvas.height);
  ctx.fillStyle = "rgba(30, 80, 160, 0.6)";
  for (const [x, y] of points) {
    ctx.fillRect(8 + ((x - lo) / span) * (size - 16), canvas.height - 8 - ((y - lo) / span) * (canvas.height - 16), 2, 2);
  }
}

function truncation() {
  const t = Number($("truncation").value);
  return $("truncation").value && t > 0 ? t : null;
}

async function render() {
  showError("");
  try {
    if (isImage) {
      const out = await predict("generate", batchInputs([noise]));
      paintImages($("sample"), out, Math.max(1, Math.floor(256 / dataShape[1])));
    } else if (dataShape.length === 1 && dataShape[0] === 2) {
      const seed = Number($("seed").value), noises = [];
      for (let i = 0; i < SCATTER; i++) noises.push(drawNoise(seed * 100003 + i, truncation()));
      paintScatter($("sample"), await predict("generate", batchInputs(noises)));
    } else {
      const out = await predict("generate", batchInputs([noise]));
      $("sliders").textContent = JSON.stringify(out[0].map((v) => Number(v.toFixed(3))));
    }
  } catch (err) {
    showError(err.message);
  }
}

function buildSliders() {
  const box = $("sliders");
  box.textContent = "";
  for (let i = 0; i < slidable(); i++) {
    const row = document.createElement("div"), value = document.createElement("span");
    row.className = "slider";
    const input = document.createElement("input");
    Object.assign(input, { type: "range", min: -3, max: 3, step: 0.05, id: `slider-${i}` });
    input.value = noise[i];
    value.textContent = Number(noise[i]).toFixed(2);
    input.addEventListener("input", () => {
      noise[i] = Number(input.value);
      value.textContent = noise[i].toFixed(2);
      render();
    });
    row.append(Object.assign(document.createElement("span"), { textContent: `z[${i}]` }), input, value);
    box.append(row);
  }
}

function redraw() {
  noise = drawNoise(Number($("seed").value), truncation());
  buildSliders();
  return render();
}

function slerp(a, b, t) {
  const dot = a.reduce((s, v, i) => s + v * b[i], 0);
  const na = Math.hypot(...a), nb = Math.hypot(...b);
  const omega = Math.acos(Math.max(-1, Math.min(1, dot / (na * nb || 1))));
  if (omega < 1e-6) return a.map((v, i) => (1 - t) * v + t * b[i]);
  const s = Math.sin(omega);
  return a.map((v, i) => (Math.sin((1 - t) * omega) / s) * v + (Math.sin(t * omega) / s) * b[i]);
}

async function interpolate() {
  showError("");
  const steps = Math.max(2, Math.min(32, Number($("steps").value) || 8));
  const a = drawNoise(Number($("seed-a").value), truncation()), b = drawNoise(Number($("seed-b").value), truncation());
  const linear = noiseSpec.kind !== "normal";  // codes and one-hots: straight lines (codes rounded)
  const noises = [];
  for (let k = 0; k < steps; k++) {
    const t = k / (steps - 1);
    let z = linear ? a.map((v, i) => (1 - t) * v + t * b[i]) : slerp(a, b, t);
    if (noiseSpec.kind === "codes") z = (t < 0.5 ? a : b).slice();
    noises.push(z);
  }
  try {
    const out = await predict("generate", batchInputs(noises));
    if (isImage) paintImages($("strip"), out, Math.max(1, Math.floor(64 / dataShape[0])));
    else paintScatter($("strip"), out);
  } catch (err) {
    showError(err.message);
  }
}

// ---- likelihood readout -------------------------------------------------------------------------
function readImage(file) {  // -> data-space array (H, W, C) in [-1, 1], resized to the data shape
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onerror = () => reject(new Error("could not read the file"));
    reader.onload = () => {
      const img = new Image();
      img.onerror = () => reject(new Error("the file is not an image the browser can decode"));
      img.onload = () => {
        const [h, w, c] = dataShape, canvas = document.createElement("canvas");
        canvas.width = w; canvas.height = h;
        const ctx = canvas.getContext("2d");
        ctx.drawImage(img, 0, 0, w, h);
        const data = ctx.getImageData(0, 0, w, h).data, flat = [];
        for (let i = 0; i < h * w; i++) {
          const rgb = [data[4 * i], data[4 * i + 1], data[4 * i + 2]];
          const values = c === 1 ? [(rgb[0] + rgb[1] + rgb[2]) / 3] : rgb;
          for (const v of values) flat.push(v / 127.5 - 1);
        }
        resolve(nest(flat, dataShape));
      };
      img.src = reader.result;
    };
    reader.readAsDataURL(file);
  });
}

async function score(x) {
  showError("");
  const inputs = { x: [x] };
  if (card.condition) inputs.labels = [Number($("class").value)];
  const dims = prod(dataShape);
  try {
    if (hasSignature("log_prob")) {
      const logProb = (await predict("log_prob", inputs))[0];
      $("readout").innerHTML = `log p(x) = <b id="log-prob">${logProb.toFixed(2)}</b> nats<br>` +
        `${(-logProb / (dims * Math.LN2)).toFixed(3)} bits/dim (continuous density of the data-space values)`;
    } else {
      const bound = await predict("log_likelihood", inputs);
      const iwae = bound.iwae_bound[0], elbo = bound.elbo[0];
      let reconstruction = "";
      if (hasSignature("encode") && noiseSpec.kind === "normal") {  // the decoded posterior mean, when the noise is the latent
        const mean = (await predict("encode", inputs)).mean[0];
        if (prod(noiseSpec.shape) === mean.length) {
          const decodeInputs = { [noiseSpec.name]: [mean] };
          if (card.condition) decodeInputs.labels = inputs.labels;
          const recon = (await predict("generate", decodeInputs))[0];
          if (isImage) { $("reconstruction").classList.remove("hidden"); paintImages($("reconstruction"), [recon], 8); }
          reconstruction = "<br>(right: the decoded posterior mean)";
        }
      }
      $("readout").innerHTML = `log p(x) &ge; <b id="log-prob">${iwae.toFixed(2)}</b> nats ` +
        `(importance-weighted bound, 64 samples; ELBO ${elbo.toFixed(2)})<br>` +
        `${(-iwae / (dims * Math.LN2)).toFixed(3)} bits/dim${reconstruction}`;
    }
  } catch (err) {
    showError(err.message);
  }
}

let signatures = {};
const hasSignature = (name) => name in signatures;

async function start() {
  try {
    config = await (await fetch("config.json")).json();
  } catch (err) {
    showError("config.json is missing: open this page from `kerasgen serve`");
    return;
  }
  card = config.card;
  api = config.api || "";
  noiseSpec = card.noise;
  dataShape = card.data_shape;
  isImage = dataShape.length === 3;
  try {
    const meta = await (await fetch(`${api}/v1/models/${encodeURIComponent(config.model)}/metadata`)).json();
    signatures = meta.metadata.signature_def.signature_def;
  } catch (err) {
    showError(`the REST API at ${api || location.origin} does not answer: ${err.message}`);
    return;
  }
  $("title").textContent = `${config.model}: ${card.preset || card.algorithm}`;
  const classes = card.condition ? `, ${card.condition.num_classes} classes` : "";
  $("about").textContent = `${card.algorithm}, data ${JSON.stringify(dataShape)}${classes}, noise ` +
    `${noiseSpec.kind} ${JSON.stringify(noiseSpec.shape)}; REST API ${api || location.origin}; ` +
    `signatures: ${Object.keys(signatures).sort().join(", ")}`;
  if (card.condition) {
    $("class-label").classList.remove("hidden");
    $("class").max = card.condition.num_classes - 1;
  }
  if (noiseSpec.kind === "codes") $("truncation").disabled = true;
  if (hasSignature("log_prob") || hasSignature("log_likelihood")) {
    $("likelihood").classList.remove("hidden");
    if (!isImage) { $("upload-row").classList.add("hidden"); $("point-row").classList.remove("hidden"); }
  }
  for (const id of ["seed", "truncation", "class"]) $(id).addEventListener("change", redraw);
  $("redraw").addEventListener("click", redraw);
  $("interpolate").addEventListener("click", interpolate);
  $("upload").addEventListener("change", async () => {
    const file = $("upload").files[0];
    if (!file) return;
    try {
      const x = await readImage(file);
      paintImages($("input-view"), [x], 8);
      await score(x);
    } catch (err) {
      showError(err.message);
    }
  });
  $("score-point").addEventListener("click", () => {
    const values = $("point").value.split(",").map(Number);
    if (values.length !== prod(dataShape) || values.some((v) => !Number.isFinite(v))) {
      showError(`a point is ${prod(dataShape)} comma-separated numbers`);
      return;
    }
    score(values);
  });
  await redraw();
  await interpolate();
  document.body.dataset.ready = "true";
}

start();
