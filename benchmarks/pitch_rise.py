"""Does the body of a generated hit whoop? Pitch that rises after the strike, real vs generated.

A struck drum's pitch holds or falls after the strike. For each tonal drum type this
analyses real training hits, real held-out hits and `-n` generated hits of the bare type
recipe with the codec (`codec.analyse`, the same on all three), and measures on the
body sine, over the frames after the third where it is louder than -40 dB: how far the
pitch climbs above its lowest point so far (semitones). It prints the share of hits
whose pitch climbs more than a semitone and the median climb. The body track is the strongest
peak of each frame, so a real hit whose higher partial outlasts its body (a snare's
mode, an acoustic kick's shell) reads as a climb too, a jump where a generated hit
glides: read the generated figures against the real ones.

    python benchmarks/pitch_rise.py [--work build/bench-vae] [--model PATH ...] [-n 100]

Run benchmarks/vae_blend.py first (workspaces and models). Several --model paths are
measured side by side (e.g. models trained before and after a codec change).
Results: benchmarks/results/pitch_rise.json.
"""
from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import numpy as np
import drummy  # noqa: F401  first: it sets OMP_WAIT_POLICY, read once as torch loads (a busy machine)
import torch

from drummy import codec
from drummy.generate import Controls, Generator
from drummy.library import Workspace, atomic_write_json
from drummy.train import vae_path

TYPES = ("kick", "snare", "tom", "perc")


def climb(y: np.ndarray, loud_db: float = -40.0) -> float | None:
    """Semitones the body's pitch climbs above its lowest point so far, after the third
    frame where it is louder than loud_db; None when it sounds in fewer than 5 frames."""
    code = codec.analyse(y)
    on = np.flatnonzero(code[codec.AMP] > loud_db)
    on = on[on >= 3]
    if len(on) < 5:
        return None
    st = 12 * code[codec.FREQ][on].astype(np.float64)
    return float(np.max(st - np.minimum.accumulate(st)))


def summary(values: list[float | None]) -> dict:
    v = np.array([x for x in values if x is not None])
    return {"tonal": int(len(v)), "of": len(values), "rising": float((v > 1).mean()) if len(v) else float("nan"),
            "median_climb": float(np.median(v)) if len(v) else float("nan")}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("build/bench-vae"))
    ap.add_argument("--model", type=Path, nargs="*", help="blend models (default: the train workspace's)")
    ap.add_argument("-n", type=int, default=100, help="generated hits per type")
    args = ap.parse_args()
    torch.set_num_threads(2)
    tr_ws, ho_ws = Workspace(args.work / "train"), Workspace(args.work / "heldout")
    models = [Generator.load(p) for p in (args.model or [vae_path(tr_ws)])]
    out: dict = {}
    for t in TYPES:
        row = {"real train": summary([climb(tr_ws.load_audio(h)) for h, s in sorted(tr_ws.samples.items())
                                      if s.drum_type == t]),
               "real held-out": summary([climb(ho_ws.load_audio(h)) for h, s in sorted(ho_ws.samples.items())
                                         if s.drum_type == t])}
        for g in models:
            if t in g.known:
                row[Path(g.path).name] = summary([climb(y) for y in g.generate(g.recipe(t), Controls(), n=args.n, seed=5)])
        out[t] = row
    names = list(next(iter(out.values())))
    print(f"{date.today()}, codec version {codec.CODEC.version}, {args.n} generated hits per type\n")
    print("| type | " + " | ".join(names) + " |\n" + "|---" * (len(names) + 1) + "|")
    for t, row in out.items():
        print(f"| {t} | " + " | ".join(f"{r['rising']:.0%} rise > 1 st, median {r['median_climb']:.1f} st "
                                       f"({r['tonal']} tonal)" for r in (row.get(k) for k in names) if r) + " |")
    atomic_write_json(Path(__file__).parent / "results" / "pitch_rise.json",
                      {"date": str(date.today()), "codec_version": codec.CODEC.version, "n": args.n,
                       "models": [g.path for g in models], "types": out})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
