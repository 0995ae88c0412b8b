"""What the benchmark scripts share: the machine's description and Markdown tables."""

from __future__ import annotations

import os
import platform
import time


def machine() -> str:
    """e.g. "x86_64 CPU x2"."""
    return f"{platform.machine()} CPU x{os.cpu_count()}"


def print_table(headers, rows) -> None:
    """Prints a Markdown table; rows are sequences of already formatted cells."""
    print("| " + " | ".join(headers) + " |")
    print("|" + "---|" * len(headers))
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")


def train_for(model, density, budget_s, batch_size, seed, max_steps=None, chunk_steps=200):
    """Trains on fresh samples until the time budget or `max_steps` is spent; returns steps, seconds."""
    rng_seed = seed
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < budget_s and (max_steps is None or steps < max_steps):
        x = density.sample(batch_size * chunk_steps, seed=rng_seed)
        rng_seed += 1
        model.fit(x, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
        steps += chunk_steps
    return steps, time.perf_counter() - start
