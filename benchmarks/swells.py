"""Do recipes' hits swell back after they have fallen (`codec.no_swell`, audio version 16)? Against real hits.

    PYTHONPATH=. python benchmarks/swells.py --work build/bench-vae [--seeds 0 1 2 3] [-n 40]

For each seed's model (<work>/train/models/vae-seed<S>.safetensors) and each drum type, `n` hits of
`--blend TYPE` at `--decay` 0 and 1 (seed 5, through the memorisation guard as `generate` writes them),
made as this Drummy makes them and as audio version 15 did (`Generator.steady` off). Each hit's "swell"
is read from its audio alone: its level in 10 ms frames, smoothed over 100 ms (power), from 50 ms past its
peak (the loudest frame of its first 200 ms) and where within 40 dB of that peak: how far it comes back
up over the quietest it has been. The same for the model's real training hits (their stored copies).
Results: benchmarks/results/swells.json (median, 90th percentile, largest, and the share over 6 dB).
"""
from __future__ import annotations

import argparse
import json
import platform
from datetime import date
from pathlib import Path

import numpy as np
import drummy  # noqa: F401  (sets the thread policy before torch loads)

from drummy import audio, novelty
from drummy.generate import Controls, Generator
from drummy.library import Workspace
from kitset import save_entry

TYPES = ("kick", "snare", "hihat", "open hat", "clap", "tom", "cymbal")


def swell_db(y: np.ndarray, sr: int = 44100) -> float:
    """How far a hit's smoothed level comes back up after it has fallen, dB (see the module's doc)."""
    f = sr // 100
    p = np.mean(y[: len(y) // f * f].astype(np.float64).reshape(-1, f) ** 2, 1)
    if len(p) < 12 or not p.any():
        return 0.0
    level = 10 * np.log10(np.convolve(np.pad(p, (4, 5), mode="edge"), np.ones(10) / 10, mode="valid") + 1e-20)
    peak = int(np.argmax(level[:20]))
    x = level[peak + 5:]
    live = x > level[peak] - 40
    if live.sum() < 2:
        return 0.0
    return float(((x - np.minimum.accumulate(x)) * live).max())


def summary(v: list[float]) -> dict:
    v = np.asarray(v)
    return {"n": len(v), "median": round(float(np.median(v)), 2), "p90": round(float(np.percentile(v, 90)), 2),
            "max": round(float(v.max()), 2), "over_6db": round(float((v > 6).mean()), 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="build/bench-vae")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("-n", type=int, default=40)
    args = ap.parse_args()
    ws = Workspace(Path(args.work) / "train")
    lib = json.loads(ws.manifest_path.read_text())["samples"]
    out = {"date": date.today().isoformat(), "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
           "n": args.n, "seeds": {}}
    for seed in args.seeds:
        g = Generator.load(ws.root / "models" / f"vae-seed{seed}.safetensors")
        g.guard = novelty.for_workspace(ws, g, progress=False)
        real = {}
        for h in g.extra["train_hashes"]:
            s = lib.get(h)
            if s and s["drum_type"] in TYPES:
                real.setdefault(s["drum_type"], []).append(swell_db(audio.load(next((ws.root / "audio").glob(h + "*")))))
        row = {}
        for t in TYPES:
            row[t] = {"real": summary(real.get(t, [0.0]))}
            for decay in (0.0, 1.0):
                for steady in (False, True):
                    g.steady = steady
                    ys = g.generate(g.recipe(t), Controls(decay=decay), n=args.n, seed=5)
                    key = f"decay {decay:+.0f}, " + ("now" if steady else "version 15")
                    row[t][key] = summary([swell_db(y) for y in ys])
                    print(f"seed {seed} {t:8s} {key:22s} {row[t][key]}  (real {row[t]['real']})", flush=True)
        out["seeds"][str(seed)] = row
    print("results:", save_entry("swells", "session44", out))


if __name__ == "__main__":
    main()
