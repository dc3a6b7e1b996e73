"""Do `--like` variations sound like their reference? (BENCHMARKS.md, session 41)

For each drum type, the first `--refs` hits (by hash) of the held-out kits (`vae_blend.py`'s
build/bench-vae/heldout: kits the model never saw), `-n` variations each at `--variation`:
- decay and spectral centroid (`features.descriptors`) against the reference's, in octaves (median;
  0 is the reference's), and the length of the written hit against the reference's (median ratio);
- for references that still ring after their first second, how fast the variation's tail falls
  against the reference's (`codec.tail_fall`, dB/s: median of the variation's less the reference's);
- "heard as its reference": the share of variations the benchmark's classifier (the train
  workspace's) hears as the drum it hears the reference as.
`--old` makes them as audio version 12 did (no `codec.likeness`, no known tail, the binned note).
`--decay D` asks each variation for it (-1..1): the decay should then move away from the reference's.

    PYTHONPATH=.:benchmarks python benchmarks/variation_likeness.py [--work build/bench-vae]
        [--seeds 0 1 2 3] [--refs 15] [-n 6] [--variation 1] [--decay 0] [--old] [--label L]

Run benchmarks/vae_blend.py first (workspaces, models and classifier). Results:
benchmarks/results/variation_likeness.json (one entry per --label).
"""
from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import numpy as np
import drummy  # noqa: F401  first: it sets OMP_WAIT_POLICY, read once as torch loads (a busy machine)

from drummy import audio, codec
from drummy import classifier as clf
from drummy.features import DESCRIPTOR_NAMES, descriptors
from drummy.generate import Controls, Generator, finish
from drummy.library import Workspace, classifier_path
from kitset import save_entry

TYPES = ("kick", "snare", "hihat", "open hat", "clap", "tom", "cymbal")


def measure(g: Generator, judge, refs: list[np.ndarray], n: int, variation: float, asked: float = 0.0) -> dict:
    d = lambda y: dict(zip(DESCRIPTOR_NAMES, descriptors(y)))                     # noqa: E731
    decay, centroid, length, fall, same = [], [], [], [], []
    heard_ref = judge([y for y in refs])
    for y, h in zip(refs, heard_ref):
        a, ya = d(y), finish(y)
        ys = [finish(v) for v in g.like(y, Controls(variation=variation, decay=asked), n=n, seed=0)]
        same += [x == h for x in judge(ys)]
        fr = codec.tail_fall(y)
        for v in ys:
            b = d(v)
            decay.append(np.log2(b["decay_ms"] / a["decay_ms"]))
            centroid.append(np.log2(b["centroid_hz"] / a["centroid_hz"]))
            length.append(len(v) / len(ya))
            if np.isfinite(fr) and np.isfinite(fv := codec.tail_fall(v)):
                fall.append(fv - fr)
    med = lambda v: float(np.median(v)) if len(v) else None                     # noqa: E731
    return {"refs": len(refs), "decay_octaves": med(decay), "centroid_octaves": med(centroid),
            "length_ratio": med(length), "tail_fall_db_s": med(fall), "tails": len(fall) // max(n, 1),
            "heard_as_reference": float(np.mean(same))}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("build/bench-vae"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--refs", type=int, default=15)
    ap.add_argument("-n", type=int, default=6)
    ap.add_argument("--variation", type=float, default=1.0)
    ap.add_argument("--decay", type=float, default=0.0)
    ap.add_argument("--old", action="store_true", help="as audio version 12 made variations")
    ap.add_argument("--label", default=None)
    args = ap.parse_args()
    ws, held = Workspace(args.work / "train"), Workspace(args.work / "heldout")
    model = clf.load(classifier_path(ws))
    judge = lambda ys: [model.cfg.classes[i] for i in clf.classify_audio(model, ys).argmax(1)]   # noqa: E731
    refs = {t: [audio.load(held.audio_path(s.hash)) for s in
                sorted((s for s in held.samples.values() if s.drum_type == t), key=lambda s: s.hash)[: args.refs]]
            for t in TYPES}
    row = {"date": str(date.today()), "variation": args.variation, "decay": args.decay, "n": args.n, "old": args.old,
           "seeds": {}}
    print(f"variation {args.variation}, decay {args.decay:+g}, {'audio version 12' if args.old else 'this code'}: seeds "
          f"{' / '.join(map(str, args.seeds))}")
    for s in args.seeds:
        g = Generator.load(ws.root / "models" / f"vae-seed{s}.safetensors")
        g.alike = g.heard_note = not args.old
        row["seeds"][s] = {t: measure(g, judge, refs[t], args.n, args.variation, args.decay) for t in TYPES if refs[t]}
    for t in TYPES:
        cells = [row["seeds"][s].get(t) for s in args.seeds]
        if not all(cells):
            continue
        f = lambda k, fmt: " / ".join("-" if c[k] is None else format(c[k], fmt) for c in cells)   # noqa: E731
        print(f"{t:9s} decay {f('decay_octaves', '+.2f')} oct | centroid {f('centroid_octaves', '+.2f')} oct | "
              f"length x{f('length_ratio', '.2f')} | tail {f('tail_fall_db_s', '+.1f')} dB/s | "
              f"heard as its reference {f('heard_as_reference', '.0%')}", flush=True)
    label = args.label or (f"{'v12' if args.old else 'current'} variation {args.variation:g}"
                           + (f" decay {args.decay:+g}" if args.decay else ""))
    save_entry("variation_likeness", label, row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
