"""How long generated hits ring, against the real hits they were trained on.

    PYTHONPATH=. python benchmarks/hit_lengths.py [--work build/bench-vae] [-n 100]

Needs the workspace and model `benchmarks/vae_blend.py` leaves in WORK/train. For each
recipe, prints the 10th / 50th / 90th percentile and the maximum of each hit's length
to -60 dB under its peak (`generate.finish`'s rule), and the share longer than the
model's 1 s window, for the real training hits carrying the recipe's labels and for
n generated hits. Then the tail length of dark hits: hits asked for --brightness -1
should ring no longer than hits at 0. Writes benchmarks/results/hit_lengths.json.
"""
from __future__ import annotations

import argparse
import platform
import subprocess
from datetime import date
from pathlib import Path

import numpy as np
import drummy  # noqa: F401  first: it sets OMP_WAIT_POLICY, read once as torch loads (a busy machine)
import torch

from drummy import features
from drummy.generate import Controls, Generator, finish
from drummy.library import Workspace, atomic_write_json, vae_path

RECIPES = ("kick", "kick+808", "tom", "cymbal", "open hat", "snare", "hihat")


def lengths(ys) -> list[float]:
    return [len(finish(y)) / 44100 for y in ys]


def summary(v: list[float]) -> dict:
    p10, p50, p90 = np.percentile(v, [10, 50, 90])
    return {"n": len(v), "p10": round(float(p10), 2), "median": round(float(p50), 2), "p90": round(float(p90), 2),
            "max": round(float(max(v)), 2), "over_1s": round(float(np.mean(np.array(v) > 1.0)), 2)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("build/bench-vae"))
    ap.add_argument("-n", type=int, default=100)
    args = ap.parse_args()
    torch.set_num_threads(2)
    ws = Workspace(args.work / "train")
    gen = Generator.load(vae_path(ws))
    train = set(gen.extra["train_hashes"])
    out = {"date": str(date.today()), "machine": f"{platform.machine()} {torch.get_num_threads()} threads",
           "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
           "lengths": {}, "dark": {}}
    print(f"{'recipe':10s} {'':9s} {'n':>4s} {'p10':>5s} {'median':>6s} {'p90':>5s} {'max':>5s} {'> 1 s':>5s}")
    for rec in RECIPES:
        labs = rec.split("+")
        real = [ws.load_audio(h) for h, s in ws.samples.items()
                if h in train and all(lab == s.drum_type or lab in s.tags for lab in labs)]
        row = {"real": summary(lengths(real)), "generated": summary(lengths(gen.generate(gen.recipe(rec), n=args.n, seed=11)))}
        out["lengths"][rec] = row
        for k, s in row.items():
            print(f"{rec:10s} {k:9s} {s['n']:4d} {s['p10']:5.2f} {s['median']:6.2f} {s['p90']:5.2f} {s['max']:5.2f} {s['over_1s']:5.0%}")
    decay = list(features.DESCRIPTOR_NAMES).index("decay_ms")
    print("\ndecay to -40 dB (ms) by --brightness: median / p90 / hits over 600 ms")
    for rec in ("hihat", "snare"):
        for b in (-1.0, 0.0, 1.0):
            d = np.array([features.descriptors(y)[decay] for y in gen.generate(gen.recipe(rec), Controls(brightness=b),
                                                                               n=args.n, seed=3)])
            s = {"median": round(float(np.median(d))), "p90": round(float(np.percentile(d, 90))), "over_600ms": int((d > 600).sum())}
            out["dark"][f"{rec} {b:+g}"] = s
            print(f"{rec:6s} {b:+g}: {s['median']} / {s['p90']} / {s['over_600ms']} of {args.n}")
    res = Path(__file__).parent / "results" / "hit_lengths.json"
    atomic_write_json(res, out)
    print(f"wrote {res}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
