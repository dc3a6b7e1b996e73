"""Does --pitch move the whole hit, and does a variation keep its reference's note?

1. Transposition: for each drum type, `-n` hits of the bare type recipe at --pitch 0, +12 and
   -12 (one seed, so hit i is the same draw at every pitch). Per hit, how far the spectral
   centroid and the body pitch (`features.descriptors`) moved, in octaves; a sampler moves
   both by exactly +1 / -1. The median and the share of hits moved the wrong way are printed.
2. Variations: `--like REF --variation 0` for up to `--refs` tonal training hits per type
   (kick, tom, snare; `--heldout`: hits of the kits the model never saw): the semitones between
   the reference's body pitch and the variation's. `--binned-note` tunes them as audio versions
   up to 12 did (`codec.body_note(heard=False)`); `--only-variations` skips part 1.

    python benchmarks/pitch_control.py [--work build/bench-vae] [--model PATH] [-n 40] [--refs 20]
        [--heldout] [--binned-note] [--only-variations]

Run benchmarks/vae_blend.py first (workspaces and models). Results:
benchmarks/results/pitch_control.json (one entry per model and code, under --label).
"""
from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

import numpy as np
import drummy  # noqa: F401  first: it sets OMP_WAIT_POLICY, read once as torch loads (a busy machine)

from drummy import audio
from drummy.features import DESCRIPTOR_NAMES, descriptors
from drummy.generate import Controls, Generator
from drummy.library import Workspace
from drummy.train import vae_path
from kitset import save_entry


def _d(y: np.ndarray) -> dict:
    return dict(zip(DESCRIPTOR_NAMES, descriptors(y)))


def transposition(g: Generator, t: str, n: int) -> dict:
    r = g.recipe(t)
    base, up, down = ([_d(y) for y in g.generate(r, Controls(pitch=p), n=n, seed=11)] for p in (0, 12, -12))
    out = {}
    for name, moved in (("up", up), ("down", down)):
        for key in ("centroid_hz", "pitch_hz"):
            oct_ = np.array([np.log2(m[key] / b[key]) for m, b in zip(moved, base)])
            oct_ = oct_[np.isfinite(oct_)]
            want = 1 if name == "up" else -1
            out[f"{name}_{key}"] = {"median_octaves": float(np.median(oct_)) if len(oct_) else None,
                                    "wrong_way": float(np.mean(np.sign(oct_) != want)) if len(oct_) else None,
                                    "hits": int(len(oct_))}
    return out


def variations(g: Generator, ws: Workspace, t: str, refs: int, heldout: bool = False) -> dict:
    train = set(g.extra.get("train_hashes", []))
    samples = sorted((s for s in ws.samples.values() if s.drum_type == t and (heldout or s.hash in train)),
                     key=lambda s: s.hash)
    err = []
    for s in samples:
        y = audio.load(ws.audio_path(s.hash))                  # the library's stored copy
        want = _d(y)["pitch_hz"]
        if not np.isfinite(want):
            continue
        got = _d(g.like(y, Controls(variation=0), n=1, seed=0)[0])["pitch_hz"]
        if np.isfinite(got):
            err.append(12 * np.log2(got / want))
        if len(err) >= refs:
            break
    e = np.abs(np.array(err))
    return {"refs": len(err), "median_abs_semitones": float(np.median(e)) if len(e) else None,
            "within_1_semitone": float(np.mean(e <= 1)) if len(e) else None,
            "median_semitones": float(np.median(err)) if len(err) else None}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("build/bench-vae"))
    ap.add_argument("--model", type=Path, help="blend model (default: the train workspace's)")
    ap.add_argument("-n", type=int, default=40, help="generated hits per type and pitch")
    ap.add_argument("--refs", type=int, default=20, help="references per type for --like")
    ap.add_argument("--label", default="current", help="the entry's name in the results file")
    ap.add_argument("--heldout", action="store_true", help="variations of the held-out kits' hits, not training hits")
    ap.add_argument("--binned-note", action="store_true", help="tune variations as audio versions up to 12 did")
    ap.add_argument("--only-variations", action="store_true")
    args = ap.parse_args()
    ws = Workspace(args.work / "train")
    g = Generator.load(args.model or vae_path(ws))
    g.heard_note = not args.binned_note
    refs = Workspace(args.work / "heldout") if args.heldout else ws
    row = {"model": str(args.model or vae_path(ws)), "date": str(date.today()), "transposition": {}, "variation_0": {},
           "references": "heldout" if args.heldout else "train", "note": "binned" if args.binned_note else "heard"}
    for t in ("kick", "snare", "hihat", "tom"):
        if t in g.known and not args.only_variations:
            row["transposition"][t] = transposition(g, t, args.n)
            print(t, json.dumps({k: v["median_octaves"] for k, v in row["transposition"][t].items()}), flush=True)
    for t in ("kick", "tom", "snare"):
        if t in g.known:
            row["variation_0"][t] = variations(g, refs, t, args.refs, args.heldout)
            print(t, "like --variation 0:", json.dumps(row["variation_0"][t]), flush=True)
    save_entry("pitch_control", args.label, row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
