"""`kerasgen serve`: TF Serving's REST API for one model, plus the explorer page at `/`.

Routes (the same JSON bodies as TF Serving 2.x):
- `GET  /v1/models/<name>[/versions/<v>]`: the version status;
- `GET  /v1/models/<name>[/versions/<v>]/metadata`: the signature definitions;
- `POST /v1/models/<name>[/versions/<v>]:predict`: a predict call (row or columnar form);
  a bad request is answered HTTP 400 `{"error": message}`, an unknown model 404;
- `GET  /` the explorer page, `/explorer.js`, `/config.json` (the REST address the page calls,
  the model name and its model card), `/favicon.ico`.

This is a local tool for looking at a model; TF Serving stays the production server. The page
calls only the REST routes, so it works against a real TF Serving container too (`--api`).
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

_ROUTE = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?(?P<rest>/metadata|:predict)?$")
MAX_BODY = 64 * 1024 * 1024  # bytes of one request body
_STATIC = {"/": ("index.html", "text/html; charset=utf-8"), "/index.html": ("index.html", "text/html; charset=utf-8"),
           "/explorer.js": ("explorer.js", "text/javascript; charset=utf-8"),
           "/favicon.ico": ("favicon.svg", "image/svg+xml")}


def _static(name) -> bytes:
    return resources.files("kerasgen.explorer").joinpath("static", name).read_bytes()


class _Handler(BaseHTTPRequestHandler):
    server_version = "kerasgen-serve"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # one line per request only with --log-requests
        if self.server.log_requests:
            super().log_message(format, *args)

    def _send(self, status, body: bytes, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.server.cors:
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Headers", "Content-Type")
            self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status, payload):
        self._send(status, json.dumps(payload).encode())

    def _model(self, match):
        """None (an error was answered) or the route's model, checked against what is served."""
        if match.group("name") != self.server.name:
            self._json(404, {"error": f"Servable not found for request: Latest({match.group('name')})"})
            return None
        version = match.group("version")
        if version is not None and int(version) != self.server.backend.version:
            self._json(404, {"error": f"Servable not found for request: Specific({self.server.name}, {version})"})
            return None
        return self.server.backend

    def do_OPTIONS(self):  # CORS preflight
        self._send(204, b"")

    def do_GET(self):
        path = self.path.split("?")[0]
        if path in _STATIC:
            name, content_type = _STATIC[path]
            return self._send(200, _static(name), content_type)
        if path == "/config.json":
            return self._json(200, {"api": self.server.api, "model": self.server.name,
                                    "card": self.server.backend.card})
        match = _ROUTE.match(path)
        if match is None or match.group("rest") == ":predict":
            return self._json(404, {"error": f"no route {path}"})
        backend = self._model(match)
        if backend is None:
            return
        if match.group("rest") == "/metadata":
            return self._json(200, {"model_spec": {"name": self.server.name, "signature_name": "",
                                                   "version": str(backend.version)},
                                    "metadata": {"signature_def": {"signature_def": backend.signatures()}}})
        self._json(200, {"model_version_status": [{"version": str(backend.version), "state": "AVAILABLE",
                                                   "status": {"error_code": "OK", "error_message": ""}}]})

    def do_POST(self):
        match = _ROUTE.match(self.path)
        if match is None or match.group("rest") != ":predict":
            return self._json(404, {"error": f"no route {self.path}"})
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            return self._json(413, {"error": f"the request body is larger than {MAX_BODY} bytes"})
        body = self.rfile.read(length)
        backend = self._model(match)
        if backend is None:
            return
        try:
            request = json.loads(body or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            return self._json(400, {"error": f"the request body is not JSON: {err}"})
        with self.server.lock:  # one prediction at a time: the models are not re-entrant everywhere
            answer = backend.predict(request)
        self._json(400 if "error" in answer else 200, answer)


class ExplorerServer(ThreadingHTTPServer):
    """The HTTP server of `kerasgen serve` (`serve_forever()` runs it, `shutdown()` stops it).

    Args:
        backend: what answers (`kerasgen.explorer.backends.open_backend`).
        name: the model name of the REST routes.
        host, port: where to listen (port 0: a free port, see `server_address`).
        api: the REST address the page calls ("" for this server; e.g. "http://localhost:8501" for
            a TF Serving container started with --rest_api_enable_cors_support=true).
        cors: send CORS headers (for pages served from elsewhere).
        log_requests: print one line per request.
    """

    daemon_threads = True

    def __init__(self, backend, name, host="127.0.0.1", port=8501, api="", cors=False, log_requests=False):
        super().__init__((host, port), _Handler)
        self.backend, self.name, self.api, self.cors = backend, name, api, cors
        self.log_requests, self.lock = log_requests, threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"
