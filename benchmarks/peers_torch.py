"""The PyTorch side of `benchmarks/peers.py`: trains one zuko flow and prints one JSON line.

Runs in benchmarks/.peers-venv (made by `benchmarks/peers_setup.sh`), never in kerasgen's environment.
Argument: a JSON object with "model" (realnvp, maf or nsf), "data" (an npz with float32 "train" (N, 2)
and "test" (M, 2)), "epochs", "batch_size", "transforms", "hidden", "bins", "lr", "seed".

Output: {"wall_s": seconds from before building the flow to the end of training, "steady_steps_per_s":
steps per second after the first `steady_from` epochs, "test_nll": -mean log p(test), "steps": N,
"torch": version, "threads": torch's intra-op threads}.
"""

import json
import sys
import time

import numpy as np
import torch
import zuko


def main():
    cfg = json.loads(sys.argv[1])
    data = np.load(cfg["data"])
    train, test = torch.from_numpy(data["train"]), torch.from_numpy(data["test"])
    torch.manual_seed(cfg["seed"])
    start = time.perf_counter()
    flows = {"realnvp": zuko.flows.RealNVP, "maf": zuko.flows.MAF, "nsf": zuko.flows.NSF}
    kwargs = {"features": 2, "transforms": cfg["transforms"], "hidden_features": tuple(cfg["hidden"])}
    if cfg["model"] == "nsf":
        kwargs["bins"] = cfg["bins"]
    flow = flows[cfg["model"]](**kwargs)
    optimizer = torch.optim.Adam(flow.parameters(), lr=cfg["lr"])
    batch, epoch_ends, steps = cfg["batch_size"], [], 0
    for _ in range(cfg["epochs"]):
        order = torch.randperm(len(train))
        for i in range(0, len(train), batch):
            loss = -flow().log_prob(train[order[i:i + batch]]).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            steps += 1
        epoch_ends.append((time.perf_counter(), steps))
    wall = time.perf_counter() - start
    skip = min(cfg.get("steady_from", 2), len(epoch_ends) - 1) - 1
    (t0, s0), (t1, s1) = epoch_ends[skip], epoch_ends[-1]
    with torch.no_grad():
        nll = float(torch.cat([-flow().log_prob(test[i:i + 5000]) for i in range(0, len(test), 5000)]).mean())
    print(json.dumps({"wall_s": wall, "steady_steps_per_s": (s1 - s0) / (t1 - t0), "test_nll": nll, "steps": steps,
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
