"""TF Serving helpers without TensorFlow: `models.config` and the REST predict JSON format.

REST predict (`POST /v1/models/<name>[/versions/<v>]:predict`) takes either the row form
`{"signature_name": ..., "instances": [...]}` (one entry per example: the value itself when the
signature has one input, else {input name: value}) and answers `{"predictions": [...]}` (per
example: the value when there is one output, else {output name: value}); or the columnar form
`{"signature_name": ..., "inputs": {name: batched value}}` (scalar inputs such as `sample`'s
`num_samples` and `seed` need it) answered by `{"outputs": ...}`.
"""

from __future__ import annotations

import os

import numpy as np


def serving_config(models: dict, path=None) -> str:
    """A TF Serving `models.config` (text protobuf) for {name: base path}; written to `path` if given.

    Base paths are what the server sees (e.g. "/models/dcgan" inside its container) and hold the
    integer version folders that `kerasgen.export.saved_model` writes.
    """
    if not models:
        raise ValueError("serving_config needs at least one {name: base_path}")
    entries = []
    for name, base in models.items():
        if not name or any(c in name for c in ' "/'):
            raise ValueError(f"invalid model name {name!r}")
        entries.append(f'  config {{\n    name: "{name}"\n    base_path: "{base}"\n    model_platform: "tensorflow"\n  }}')
    text = "model_config_list {\n" + "\n".join(entries) + "\n}\n"
    if path is not None:
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    return text


def _jsonable(value):
    return np.asarray(value).tolist()


def predict_request(inputs, signature_name="serving_default", columnar=False) -> dict:
    """The JSON body of a REST predict call.

    Args:
        inputs: {input name: batched array}, or one batched array for a single-input signature.
        signature_name: the signature to call.
        columnar: the "inputs" form (needed for scalar inputs) instead of "instances".
    """
    body = {"signature_name": signature_name}
    if columnar:
        body["inputs"] = {k: _jsonable(v) for k, v in inputs.items()} if isinstance(inputs, dict) else _jsonable(inputs)
        return body
    if not isinstance(inputs, dict):
        body["instances"] = _jsonable(inputs)
        return body
    lengths = {len(np.asarray(v)) for v in inputs.values()}
    if len(lengths) != 1:
        raise ValueError("row-form inputs must share their batch size; use columnar=True for scalars")
    n = lengths.pop()
    body["instances"] = [{k: _jsonable(np.asarray(v)[i]) for k, v in inputs.items()} for i in range(n)]
    return body


def parse_predict_response(response: dict) -> dict:
    """{output name: numpy array} from a REST predict response (row or columnar form); a single
    unnamed output comes back under "output"."""
    if "error" in response:
        raise ValueError(f"the server answered an error: {response['error']}")
    if "predictions" in response:
        rows = response["predictions"]
        if rows and isinstance(rows[0], dict):
            return {k: np.asarray([r[k] for r in rows]) for k in rows[0]}
        return {"output": np.asarray(rows)}
    if "outputs" in response:
        out = response["outputs"]
        return {k: np.asarray(v) for k, v in out.items()} if isinstance(out, dict) else {"output": np.asarray(out)}
    raise ValueError("a predict response has 'predictions' (row form) or 'outputs' (columnar form)")


def request_feeds(request, input_names) -> dict:
    """{input name: value (nested lists)} of a REST predict body, or raises ValueError with the
    message a server answers (TF Serving's rules: "instances" rows are the value itself for a
    one-input signature, else {input name: value}; "inputs" is one batched value or a dict)."""
    names = list(input_names)
    if not isinstance(request, dict):
        raise ValueError("the request body must be a JSON object")
    try:
        if "instances" in request:
            rows = request["instances"]
            if not isinstance(rows, list):
                raise ValueError("'instances' must be a list, one entry per example")
            if len(names) == 1 and not (rows and isinstance(rows[0], dict)):
                feeds = {names[0]: rows}
            else:
                feeds = {k: [r[k] for r in rows] for k in names}
        elif "inputs" in request:
            columns = request["inputs"]
            feeds = dict(columns) if isinstance(columns, dict) else {names[0]: columns}
        else:
            raise ValueError("the request has neither 'instances' nor 'inputs'")
    except (KeyError, TypeError, IndexError):
        raise ValueError(f"each instance must hold every input: {sorted(names)}") from None
    missing = set(names) - set(feeds)
    if missing:
        raise ValueError(f"missing inputs: {sorted(missing)}")
    unknown = set(feeds) - set(names)
    if unknown:
        raise ValueError(f"unknown inputs {sorted(unknown)}; the signature takes {sorted(names)}")
    return feeds


def predict_response(outputs: dict, columnar: bool) -> dict:
    """The REST predict answer for {output name: batched array}: {"outputs": ...} for a columnar
    request, else {"predictions": ...} (one value per example, or {name: value} with several outputs)."""
    outputs = {k: _jsonable(v) for k, v in outputs.items()}
    if columnar:
        return {"outputs": next(iter(outputs.values())) if len(outputs) == 1 else outputs}
    if len(outputs) == 1:
        return {"predictions": next(iter(outputs.values()))}
    keys = list(outputs)
    return {"predictions": [dict(zip(keys, row)) for row in zip(*(outputs[k] for k in keys))]}
