"""Training on a busy machine: how long a short generator training takes when other work
shares the cores, by how torch's OpenMP threads wait for each other.

A producer trains with a DAW open, or runs two trainings at once. torch's OpenMP threads
spin while they wait at each parallel step; a spinning thread burns the core that the
thread it waits for needs. Drummy sets OMP_WAIT_POLICY=PASSIVE (`drummy/__init__.py`):
waiting threads sleep. This times `drummy train vae --steps N` (imports and loading
included) on the starter kit, three ways:

- `spin`: OpenMP's default, as before (the variable set empty, which libgomp calls
  invalid and ignores: it spins a while, then sleeps);
- `passive`: Drummy's setting;
- `1 thread`: OMP_NUM_THREADS=1, no waiting at all;

under three loads: none, two busy single-threaded loops (a DAW's load, roughly), and two
other generator trainings with OpenMP's default (the worst neighbours: they spin too).

    python benchmarks/busy_machine.py [--work build/bench-busy] [--steps 40]

Results: benchmarks/results/busy_machine.json.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from kitset import starter_kit

from drummy.library import atomic_write_json

DRUMMY = [sys.executable, "-m", "drummy"]
POLICIES = {"spin": {"OMP_WAIT_POLICY": ""}, "passive": {"OMP_WAIT_POLICY": "PASSIVE"},
            "1 thread": {"OMP_WAIT_POLICY": "", "OMP_NUM_THREADS": "1"}}


def env(extra: dict) -> dict:
    return {**os.environ, **extra}


def load(kind: str, work: Path) -> list[subprocess.Popen]:
    """Start the background load: nothing, two busy loops, or two generator trainings."""
    if kind == "none":
        return []
    if kind == "2 busy loops":
        return [subprocess.Popen([sys.executable, "-c", "while 1: pass"]) for _ in range(2)]
    procs = []
    for i in range(2):
        ws = work / f"bg{i}"
        shutil.rmtree(ws, ignore_errors=True)
        shutil.copytree(work / "ws", ws)
        procs.append(subprocess.Popen(DRUMMY + ["train", "vae", "-w", str(ws), "--steps", "100000", "--fresh"],
                                      env=env(POLICIES["spin"]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("build/bench-busy"))
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/busy_machine.json"))
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    kit = starter_kit(args.work / "starter-kit")
    shutil.rmtree(args.work / "ws", ignore_errors=True)
    run = lambda *a, **k: subprocess.run(DRUMMY + list(a), check=True, stdout=subprocess.DEVNULL, **k)  # noqa: E731
    run("ingest", str(kit), "-w", str(args.work / "ws"))
    run("train", "vae", "-w", str(args.work / "ws"), "--steps", "5", "--fresh")     # codes cached: not timed
    rows = []
    for kind in ("none", "2 busy loops", "2 other trainings"):
        procs = load(kind, args.work)
        try:
            time.sleep(5 if procs else 0)                 # the neighbours past their start-up
            for name, extra in POLICIES.items():
                t0 = time.perf_counter()
                run("train", "vae", "-w", str(args.work / "ws"), "--steps", str(args.steps), "--fresh",
                    env=env(extra), stderr=subprocess.DEVNULL)
                rows.append({"load": kind, "policy": name, "seconds": round(time.perf_counter() - t0, 1)})
                print(f"{kind:18s} {name:9s} {rows[-1]['seconds']:6.1f} s", flush=True)
        finally:
            for p in procs:
                p.kill()
                p.wait()
    atomic_write_json(args.out, {"date": str(date.today()), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                                 "command": f"drummy train vae --steps {args.steps} (starter kit, seed 0)",
                                 "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
