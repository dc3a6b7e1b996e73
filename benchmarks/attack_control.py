"""Does --attack move a generated hit's attack? The median `attack_ms` (features.descriptors:
from the first envelope frame above 10 % of the peak to the peak) of `-n` hits of each bare
type recipe, one seed, at --attack -1, 0, +0.5 and +1.

    python benchmarks/attack_control.py [--work build/bench-vae] [--model PATH] [-n 12] [--label L]

Run benchmarks/vae_blend.py first (workspaces and models). Results:
benchmarks/results/attack_control.json (one entry per --label).
"""
from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import numpy as np
import drummy  # noqa: F401  first: it sets OMP_WAIT_POLICY, read once as torch loads (a busy machine)

from drummy.features import DESCRIPTOR_NAMES, descriptors
from drummy.generate import Controls, Generator
from drummy.library import Workspace
from drummy.train import vae_path
from kitset import save_entry

LEVELS = (-1.0, 0.0, 0.5, 1.0)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("build/bench-vae"))
    ap.add_argument("--model", type=Path, help="blend model (default: the train workspace's)")
    ap.add_argument("-n", type=int, default=12, help="hits per type and level")
    ap.add_argument("--label", default="current", help="the entry's name in the results file")
    args = ap.parse_args()
    model = args.model or vae_path(Workspace(args.work / "train"))
    g = Generator.load(model)
    row = {"model": str(model), "date": str(date.today()), "n": args.n, "median_attack_ms": {}}
    for t in ("kick", "snare", "hihat", "tom"):
        if t not in g.known:
            continue
        ms = [float(np.median([dict(zip(DESCRIPTOR_NAMES, descriptors(y)))["attack_ms"]
                               for y in g.generate(g.recipe(t), Controls(attack=a), n=args.n, seed=7)]))
              for a in LEVELS]
        row["median_attack_ms"][t] = dict(zip(map(str, LEVELS), ms))
        print(t, " | ".join(f"{a:+.1f}: {m:5.1f} ms" for a, m in zip(LEVELS, ms)), flush=True)
    save_entry("attack_control", args.label, row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
