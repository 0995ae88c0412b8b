"""Test set-up: two logical CPU devices (for tf.distribute tests) before TF starts."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# nothing in the tests reaches the network: fetching is refused unless a test allows it (with the
# download functions of tensorflow-datasets and Keras patched out)
os.environ["KERASGEN_OFFLINE"] = "1"
# "--precision auto" takes the hardware rule without timing probes (tests of the measurement turn it on), and
# nothing is read from or written to the user's cache of measured decisions
os.environ["KERASGEN_MEASURE_PRECISION"] = "0"
os.environ["KERASGEN_CACHE_DIR"] = __import__("tempfile").mkdtemp(prefix="kerasgen-test-cache-")

import keras  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

if os.environ.get("PYTEST_XDIST_WORKER"):
    # one thread per op in each of the xdist workers (one per core): two workers each spreading their ops
    # over both cores slow each other down more than they gain
    tf.config.threading.set_intra_op_parallelism_threads(1)

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)


@pytest.fixture(autouse=True)
def _float32_policy():
    """Every test starts seeded and under the float32 policy, and ends under float32."""
    keras.mixed_precision.set_global_policy("float32")
    keras.utils.set_random_seed(1234)
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture(scope="session")
def strategy():
    """One MirroredStrategy over the two logical CPUs, shared by every test (several in one
    process make their collective ops collide)."""
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])


@pytest.fixture(scope="session")
def exports(tmp_path_factory):
    """preset name -> (model, SavedModel folder, ONNX files) of a small untrained instance
    (`helpers.small_export_model`), exported on first use and shared by every test."""
    import kerasgen as kg
    from tests.helpers import small_export_model

    root = tmp_path_factory.mktemp("exports")

    class Exports(dict):
        def __missing__(self, name):
            model = small_export_model(name)
            folder = kg.export.saved_model(model, str(root / "saved_models" / name))
            files = kg.export.onnx(model, str(root / "export" / f"{name}.onnx"))
            self[name] = (model, folder, files)
            return self[name]

    return Exports()
