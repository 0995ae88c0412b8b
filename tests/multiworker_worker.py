"""One worker of the multi-worker test: `kerasgen train --strategy multiworker` for one preset of
each family, with the cluster and this worker's task in TF_CONFIG. Usage: multiworker_worker.py OUT."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kerasgen.cli import main  # noqa: E402

# (a flow's multi-worker run is tested by test_multiworker's kill-and-restart test)
RUNS = [("dcgan", "digits", []), ("vae", "digits", []), ("pix2pix", "digits", ["--task", "superres"]),
        ("cyclegan", "digits", ["--transform-b", "invert"])]

if __name__ == "__main__":
    out = sys.argv[1]
    for preset, data, extra in RUNS:
        code = main(["train", preset, "--data", data, "--epochs", "1", "--batch-size", "64", "--seed", "3",
                     "--out", os.path.join(out, preset), "--strategy", "multiworker", "--sample-every", "5",
                     "--quiet", *extra])
        if code:
            sys.exit(code)
