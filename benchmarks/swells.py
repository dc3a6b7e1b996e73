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


import numpy as np
import drummy  # noqa: F401  (sets the thread policy before torch loads)

from kitset import then_and_now_main

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


if __name__ == "__main__":
    then_and_now_main(TYPES, swell_db, summary, "swells")
