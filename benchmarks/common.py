"""What the benchmark scripts share: the machine's description and Markdown tables."""

from __future__ import annotations

import os
import platform


def machine() -> str:
    """e.g. "x86_64 CPU x2"."""
    return f"{platform.machine()} CPU x{os.cpu_count()}"


def print_table(headers, rows) -> None:
    """Prints a Markdown table; rows are sequences of already formatted cells."""
    print("| " + " | ".join(headers) + " |")
    print("|" + "---|" * len(headers))
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
