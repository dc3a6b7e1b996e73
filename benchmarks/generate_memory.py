"""Peak memory of one `drummy generate` command: the most resident memory its process held.

    python benchmarks/generate_memory.py -w WORKSPACE -- --blend cymbal -n 1000 --decay 1

Runs `python -m drummy generate -w WORKSPACE <args> -o <a temporary folder>` in a child process (the
folder is removed after) and prints its peak resident set size (getrusage of the children) and wall time.
A workspace with a trained generator is needed: `make demo` leaves one in demo-out/workspace.
"""
from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-w", "--workspace", required=True)
    ap.add_argument("args", nargs=argparse.REMAINDER, help="after --: generate's own arguments")
    a = ap.parse_args()
    args = a.args[1:] if a.args[:1] == ["--"] else a.args
    out = tempfile.mkdtemp(prefix="drummy-mem-")
    try:
        t0 = time.time()
        rc = subprocess.call([sys.executable, "-m", "drummy", "generate", "-w", a.workspace, *args, "-o", out])
        wall = time.time() - t0
    finally:
        shutil.rmtree(out, ignore_errors=True)
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6      # kilobytes on Linux
    print(f"generate {' '.join(args)}: rc {rc}, peak {peak_gb:.2f} GB, {wall:.1f} s")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
