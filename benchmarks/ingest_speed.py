"""Ingest + feature extraction speed on all of Debian's hydrogen-drumkits.

    python benchmarks/ingest_speed.py [--kits DIR] [--jobs N]

Times a cold ingest into an empty workspace (decode, resample to 44.1 kHz, mono,
trim, hash, store, log-mel and descriptors), then a warm re-run, which should
decode nothing. Prints a table.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from drummy.library import Workspace
from kitset import hydrogen_kits


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kits", type=Path, default=Path("/usr/share/hydrogen/data/drumkits"))
    ap.add_argument("--jobs", type=int, default=None)
    args = ap.parse_args()
    if not args.kits.is_dir():
        print(f"no Hydrogen kits at {args.kits}; apt-get install hydrogen-drumkits", file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="drummy-bench-"))
    try:
        ws = Workspace(tmp / "ws")
        t0 = time.perf_counter()
        r = ws.ingest(hydrogen_kits(args.kits), progress=False, jobs=args.jobs)
        cold = time.perf_counter() - t0
        files = r.added + r.duplicates + len(r.skipped)
        t0 = time.perf_counter()
        r2 = Workspace(tmp / "ws").ingest(hydrogen_kits(args.kits), progress=False, jobs=args.jobs)
        warm = time.perf_counter() - t0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("| run | files | seconds | files/s |\n|---|---|---|---|")
    print(f"| cold (decode + features), {args.jobs or os.cpu_count()} processes | {files} | {cold:.1f} | {files / cold:.0f} |")
    print(f"| warm re-run (nothing changed) | {r2.unchanged + len(r2.skipped)} | {warm:.2f} | {files / warm:.0f} |")
    print(f"\nadded {r.added}, duplicates {r.duplicates}, skipped {len(r.skipped)}:")
    for p, why in r.skipped:
        print(f"  {p}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
