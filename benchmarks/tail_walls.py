"""Do rung-out tails stop a band at once (a "wall")? Recipes' hits that ring past their first second, as audio
version 15 made them (the extension's bands dropped to silence where they went under the gate) and now
(`codec.GATE_STEEPER`: they fall that much faster under it), against real hits.

    PYTHONPATH=.:benchmarks python benchmarks/tail_walls.py --work build/bench-vae [--seeds 0 1 2 3] [-n 40]

For each seed's model (<work>/train/models/vae-seed<S>.safetensors) and each ringing type (cymbal, open hat,
tom, kick), `n` guarded hits of `--blend TYPE` at `--decay` 0 and 1 (seed 5). A hit's audio in third-octave bands
(50 Hz-16 kHz, 10 ms frames, 2048-point windows); a wall is a band (its power smoothed over 50 ms) falling more than WALL_DB within 50 ms, and staying
that far down for the next 200 ms (a noise band's dip comes back), past
1.05 s (the tail `codec.ring_out` makes), from a level no more than 60 dB under the hit's loudest band. Real
decays fall 0.5-3 dB in 50 ms there. Reports the share of hits with a wall and the largest fall, with the
same for the model's real training hits of the type (their stored copies).
Results: benchmarks/results/tail_walls.json.
"""
from __future__ import annotations


import numpy as np
import drummy  # noqa: F401  (sets the thread policy before torch loads)

from kitset import then_and_now_main

TYPES = ("cymbal", "open hat", "tom", "kick")
WALL_DB = 10.0
SR = 44100


def _bands() -> np.ndarray:
    f = np.fft.rfftfreq(2048, 1 / SR)
    edges = 50 * 2 ** (np.arange(0, 28) / 3)                                      # 50 Hz .. 16 kHz
    return np.stack([(f >= a) & (f < b) for a, b in zip(edges[:-1], edges[1:])]).astype(np.float64)   # (27, 1025)


BANDS = _bands()


def worst_fall(y: np.ndarray) -> float:
    """The largest fall of a band past 1.05 s that lasts (dB, see the module), where it was within 60 dB of the loudest."""
    hop = SR // 100
    if len(y) < int(1.2 * SR):
        return 0.0
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(y.astype(np.float64), (1024, 1024)), 2048)[::hop]
    power = np.abs(np.fft.rfft(frames * np.hanning(2048), axis=1)) ** 2 @ BANDS.T   # (T, 27)
    power = np.stack([np.convolve(p, np.ones(5) / 5, mode="same") for p in power.T], 1)   # over 50 ms: a noise
    db = 10 * np.log10(power + 1e-20)                                             # band's own flicker is not a wall
    top = db.max()
    t0 = int(1.05 * SR / hop)
    if len(db) < t0 + 30:
        return 0.0
    later = np.lib.stride_tricks.sliding_window_view(db[t0 + 5:], 20, axis=0).max(-1)   # the loudest 50-250 ms on
    fall = db[t0: t0 + len(later)] - later                                     # (T', 27): down 50 ms on, and staying
    live = db[t0: t0 + len(later)] > top - 60                                  # down (a noise band's dip comes back)
    return float((fall * live).max()) if live.any() else 0.0


def summary(v: list[float]) -> dict:
    v = np.asarray(v)
    return {"n": len(v), "with_wall": round(float((v > WALL_DB).mean()), 3), "median": round(float(np.median(v)), 2),
            "max": round(float(v.max()), 2)}


if __name__ == "__main__":
    then_and_now_main(TYPES, worst_fall, summary, "tail_walls", wall_db=WALL_DB)
