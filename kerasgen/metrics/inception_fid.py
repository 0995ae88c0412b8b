"""The Inception network and preprocessing of the original TensorFlow FID code (`features="inception-fid"`).

Heusel et al.'s reference FID implementation (`fid.py` of the TTUR code) runs the frozen Inception
graph that TensorFlow published on 2015-12-05 (`inception-2015-12-05.tgz`, file
`classify_image_graph_def.pb`), and so do the FIDs of most GAN papers, pytorch-fid and
StudioGAN's `InceptionV3_tf` backbone (the same weights, ported). This module runs that graph
itself, with that code's preprocessing:

1. images in `value_range` are mapped to [0, 255] and rounded to 8-bit levels (real data is 8-bit
   already; samples are treated as they would be saved as PNG); grey-scale is repeated to 3 channels;
2. the batch (N, H, W, 3) float32, any size, is fed to the graph's tensor `ExpandDims:0`;
3. inside the graph, `ResizeBilinear` resizes it to 299x299 with TensorFlow 1's bilinear kernel
   (align_corners=False, no half-pixel offset, no antialiasing), and `Sub`/`Mul` scale it to
   (x - 128) / 128;
4. the features are `pool_3:0`, (N, 1, 1, 2048) -> (N, 2048).

Class probabilities (for the Inception score) are softmax(pool_3 . W) over the graph's 1,008
outputs, W being the weight matrix of `softmax/logits/MatMul` and no bias, as in the original
Inception-score code.

Why Keras' Inception-v3 (`features="inception"`) gives other FIDs: its weights come from a later
training run (keras-applications, not the 2015-12-05 graph), and kerasgen resizes for it with
TensorFlow 2's half-pixel bilinear `tf.image.resize`. Both shift FIDs by amounts that matter when
comparing with tables.

The graph comes from the published archive, downloaded into Keras' cache
(`~/.keras/models/inception-2015-12-05/`) unless downloads are off, or from a path (`.pb` or the
`.tgz`). TensorFlow publishes no digest for the archive, so kerasgen records the SHA-256 of the
graph it downloaded beside it (`classify_image_graph_def.pb.sha256`) and checks the file against
that record at every use; pass `file_hash` to check a file against a digest you hold. A graph
without the tensors above is refused as not being this network.
"""

from __future__ import annotations

import os
import tarfile
import zlib

import numpy as np

from kerasgen.metrics.features import DEFAULT_VALUE_RANGE, ImageFeatureExtractor

GRAPH_URL = "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz"
ARCHIVE = "inception-2015-12-05.tgz"
GRAPH_FILE = "classify_image_graph_def.pb"
CACHE_FOLDER = "inception-2015-12-05"
INPUT_TENSOR = "ExpandDims:0"
POOL_TENSOR = "pool_3:0"
LOGITS_MATMUL = "softmax/logits/MatMul"
REQUIRED_NODES = ("ExpandDims", "ResizeBilinear", "pool_3")
FEATURES = 2048
PREPARE = "kerasgen download inception-fid"


def cached_graph_path() -> str:
    """Where the downloaded graph is kept: <Keras cache>/inception-2015-12-05/classify_image_graph_def.pb."""
    from kerasgen.downloads import keras_cache_dir

    return os.path.join(keras_cache_dir(), CACHE_FOLDER, GRAPH_FILE)


def _write_atomically(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:  # a full disk, an interrupt: no partial file is left behind
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _graph_from_archive(path: str) -> bytes:
    """The graph file's bytes out of a (gzipped) tar archive.

    Raises:
        ValueError: the archive is truncated, not an archive, or holds no graph file.
    """
    try:
        with tarfile.open(path, "r:*") as archive:
            members = [m for m in archive.getmembers() if os.path.basename(m.name) == GRAPH_FILE and m.isfile()]
            if not members:
                raise ValueError(f"{path} holds no {GRAPH_FILE}")
            return archive.extractfile(members[0]).read()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:  # truncated, or not a tar.gz at all
        from kerasgen.downloads import first_line

        raise ValueError(f"{path} is not a readable archive ({type(err).__name__}: {first_line(err)})") from None


def _recorded_digest(path: str) -> str | None:
    """The digest recorded beside the graph at download (`<path>.sha256`), or None when there is no record.

    Raises:
        kerasgen.downloads.ChecksumMismatch: the record is not a SHA-256 digest (damaged).
    """
    from kerasgen import downloads

    record = path + ".sha256"
    if not os.path.isfile(record):
        return None
    with open(record, errors="replace") as f:
        digest = f.read().strip()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest.lower()):
        raise downloads.ChecksumMismatch(f"the digest recorded for the Inception FID graph in {record} is damaged "
                                         f"({digest[:70]!r}); delete both files and run `{PREPARE}` again")
    return digest


def download_graph(download: bool | None = None) -> str:
    """The graph file in Keras' cache, downloaded from `GRAPH_URL` and extracted when missing.

    The digest of the extracted graph is recorded beside it (`.sha256`) on download. A cached graph
    that fails its record is downloaded again when downloads are allowed (offline it is refused when
    read). An archive that cannot be read (a truncated download) is removed. Returns its path.

    Raises:
        kerasgen.downloads.Unavailable: missing, and downloads are off or failed.
        kerasgen.downloads.ChecksumMismatch: the downloaded archive cannot be read or holds no graph.
    """
    import hashlib

    from kerasgen import downloads

    path = cached_graph_path()
    if os.path.isfile(path):
        if not downloads.allowed(download):
            return path  # checked against its record when read
        try:
            downloads.verify(path, _recorded_digest(path), "the Inception FID graph", PREPARE)
            return path
        except downloads.ChecksumMismatch:
            pass  # downloaded again below
    if not downloads.allowed(download):
        raise downloads.Unavailable("the Inception graph of the TensorFlow FID code", path, PREPARE,
                                    downloads.offline_reason(download))
    for attempt in range(2):  # an archive left in the cache by an interrupted run is used, or fetched again
        left_over = os.path.isfile(os.path.join(downloads.keras_cache_dir(), ARCHIVE))
        archive = downloads.fetch(ARCHIVE, GRAPH_URL, None, "the Inception FID archive", PREPARE, download)
        try:
            data = _graph_from_archive(archive)
            break
        except ValueError as err:
            os.remove(archive)
            if attempt or not left_over:
                raise downloads.ChecksumMismatch(f"the Inception FID archive downloaded from {GRAPH_URL} is unusable "
                                                 f"({err}); it was removed; run `{PREPARE}` again") from None
    # the record first: a graph is never left in the cache without its digest
    _write_atomically(path + ".sha256", (hashlib.sha256(data).hexdigest() + "\n").encode())
    _write_atomically(path, data)
    os.remove(archive)  # the graph is all that is used
    return path


def read_graph(path: str, file_hash: str | None = None) -> bytes:
    """The serialized GraphDef in `path` (`.pb`, or a `.tgz` holding it), checked against `file_hash`
    (the file's md5 or sha256) or, when None, against the digest recorded beside it at download.

    Raises:
        FileNotFoundError: no file at `path`.
        kerasgen.downloads.ChecksumMismatch: the file's digest differs.
    """
    from kerasgen import downloads

    if not os.path.isfile(path):
        raise FileNotFoundError(f"no Inception FID graph at {path}")
    if file_hash is None:
        file_hash = _recorded_digest(path)
    downloads.verify(path, file_hash, "the Inception FID graph", PREPARE)
    if tarfile.is_tarfile(path):
        return _graph_from_archive(path)
    with open(path, "rb") as f:
        return f.read()


class InceptionFIDFeatures(ImageFeatureExtractor):
    """Pool features (2048) and Inception-score probabilities (1008) of the original FID Inception graph.

    Input: (N, H, W, 1 or 3) images in `value_range` (default (-1, 1)), any size; see the module
    docstring for the exact preprocessing (8-bit levels in [0, 255], the graph's own bilinear resize
    to 299x299, (x - 128) / 128).

    Args:
        graph: path to `classify_image_graph_def.pb` or to `inception-2015-12-05.tgz`; None uses the
            copy in Keras' cache, downloading it there when missing unless downloads are off.
        file_hash: md5 or sha256 the graph file must have (None: the digest recorded at download).
        value_range: the range of the input values.
        download: False never downloads; None downloads unless `KERASGEN_OFFLINE=1` or
            `kerasgen.downloads.offline()`.

    Raises:
        kerasgen.downloads.Unavailable: no graph here and downloading is off or failed.
        kerasgen.downloads.ChecksumMismatch: the graph file fails its check.
        ValueError: the graph lacks the tensors of the FID Inception network.
    """

    name = "inception-fid"
    image_size = (299, 299)  # what the graph resizes to; images are fed at their own size
    channels = (1, 3)
    network_channels = 3

    def __init__(self, graph: str | None = None, file_hash: str | None = None, value_range=DEFAULT_VALUE_RANGE,
                 download: bool | None = None):
        super().__init__(value_range)
        import tensorflow as tf

        self.graph_path = download_graph(download) if graph is None else graph
        graph_def = tf.compat.v1.GraphDef()
        data = read_graph(self.graph_path, file_hash)
        try:
            graph_def.ParseFromString(data)
        except Exception as err:  # protobuf's DecodeError
            raise ValueError(f"{self.graph_path} is not a serialized TensorFlow graph ({err})") from None
        names = {node.name for node in graph_def.node}
        missing = [n for n in REQUIRED_NODES if n not in names]
        if missing:
            raise ValueError(f"{self.graph_path} is not the FID Inception graph: it has no {', '.join(missing)} node")
        has_logits = LOGITS_MATMUL in names

        def run(images):
            wanted = [POOL_TENSOR] + ([LOGITS_MATMUL] if has_logits else [])
            outputs = tf.graph_util.import_graph_def(graph_def, input_map={INPUT_TENSOR: images},
                                                     return_elements=wanted, name="fid_inception")
            pool = tf.reshape(outputs[0], [-1, FEATURES])
            if not has_logits:
                return pool, tf.zeros([tf.shape(pool)[0], 0])
            weights = outputs[1].inputs[1]  # the classifier's weights; the original IS code leaves out the bias
            return pool, tf.nn.softmax(tf.matmul(pool, weights))

        self._network = tf.compat.v1.wrap_function(run, [tf.TensorSpec([None, None, None, 3], tf.float32)])
        self._has_classifier = has_logits
        self.feature_model = lambda x, training=False: self._network(tf.constant(x))[0]
        self.classifier_model = (lambda x, training=False: self._network(tf.constant(x))[1]) if has_logits else None

    def prepare(self, images) -> np.ndarray:
        """Checked images as 8-bit levels: float32 (N, H, W, 3) in [0, 255], integer-valued, at their own size."""
        x = self.check(images)
        lo, hi = self.value_range
        x = np.round(np.clip((x - lo) / (hi - lo), 0.0, 1.0) * 255.0)
        if x.shape[-1] == 1:
            x = np.repeat(x, 3, axis=-1)
        return x.astype(np.float32)

    def _no_head_hint(self) -> str:
        return f"the graph has no {LOGITS_MATMUL} node"

