"""How loud a beat comes out against its length and seed: integrated loudness (ITU-R BS.1770-4,
K-weighted and gated; written here, as no dependency of Drummy's measures it) of one pattern
cycle looped, 8 bars and 64 bars, at seeds 0-3, on real kits through each master.

    PYTHONPATH=. python benchmarks/beat_loudness.py [--kits DIR]

A producer who auditions a loop and then renders the song length expects one level."""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
from scipy.signal import lfilter

from drummy import patterns, sequencer

CASES = [("GMRockKit", "rock", "clean"), ("TR808EmulationKit", "house", "punchy"),
         ("The Black Pearl 1.0", "boom bap", "lofi"), ("GMRockKit", "trap", "clean")]


def _biquad_shelf(fs: float) -> tuple[np.ndarray, np.ndarray]:
    g, q, fc = 4.0, 1 / math.sqrt(2), 1500.0
    a_, w0 = 10 ** (g / 40), 2 * math.pi * fc / fs
    alpha, c = math.sin(w0) / (2 * q), math.cos(w0)
    b = [a_ * ((a_ + 1) + (a_ - 1) * c + 2 * math.sqrt(a_) * alpha), -2 * a_ * ((a_ - 1) + (a_ + 1) * c),
         a_ * ((a_ + 1) + (a_ - 1) * c - 2 * math.sqrt(a_) * alpha)]
    a = [(a_ + 1) - (a_ - 1) * c + 2 * math.sqrt(a_) * alpha, 2 * ((a_ - 1) - (a_ + 1) * c),
         (a_ + 1) - (a_ - 1) * c - 2 * math.sqrt(a_) * alpha]
    return np.array(b) / a[0], np.array(a) / a[0]


def _biquad_highpass(fs: float) -> tuple[np.ndarray, np.ndarray]:
    fc, q = 38.0, 0.5
    w0 = 2 * math.pi * fc / fs
    alpha, c = math.sin(w0) / (2 * q), math.cos(w0)
    b, a = np.array([(1 + c) / 2, -(1 + c), (1 + c) / 2]), np.array([1 + alpha, -2 * c, 1 - alpha])
    return b / a[0], a / a[0]


def lufs(x: np.ndarray, fs: float) -> float:
    """Integrated loudness of (samples, channels) audio, LUFS (pyloudnorm's K-weighting filters)."""
    y = lfilter(*_biquad_shelf(fs), x, axis=0)
    y = lfilter(*_biquad_highpass(fs), y, axis=0)
    block, hop = int(0.4 * fs), int(0.1 * fs)
    z = np.array([np.sum(np.mean(y[s:s + block] ** 2, axis=0)) for s in range(0, len(y) - block + 1, hop)])
    loud = -0.691 + 10 * np.log10(z + 1e-20)
    z = z[loud > -70]
    rel = -0.691 + 10 * np.log10(z.mean()) - 10
    return float(-0.691 + 10 * np.log10(z[-0.691 + 10 * np.log10(z + 1e-20) > rel].mean()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kits", default="/usr/share/hydrogen/data/drumkits")
    ap.add_argument("--out", default="benchmarks/results/beat_loudness.json")
    args = ap.parse_args()
    sr, rows = sequencer.SR, []
    for kit_name, pattern, master in CASES:
        kit = sequencer.kit_from_folder(Path(args.kits) / kit_name)
        p = patterns.builtin(pattern)
        for seed in range(4):
            one = sequencer.render(p, kit, bars=p.bars, seed=seed, master=master)[0]
            y8 = sequencer.render(p, kit, bars=8, seed=seed, master=master)[0]
            y64 = sequencer.render(p, kit, bars=64, seed=seed, master=master)[0]
            chunks = [lufs(y64[i:i + len(y8)], sr) for i in range(0, len(y64) - len(y8) + 1, len(y8))]
            rows.append({"kit": kit_name, "pattern": pattern, "master": master, "seed": seed,
                         "cycle_looped": lufs(np.tile(one, (64 // p.bars, 1)), sr), "bars8": lufs(y8, sr),
                         "bars64": lufs(y64, sr), "chunks8_of_64": [min(chunks), max(chunks)]})
            r = rows[-1]
            print(f"{kit_name} / {pattern} / {master} seed {seed}: cycle {r['cycle_looped']:.1f}, 8 bars {r['bars8']:.1f},"
                  f" 64 bars {r['bars64']:.1f} (8-bar chunks {min(chunks):.1f}..{max(chunks):.1f}) LUFS", flush=True)
    print("\n| kit / pattern / master | LUFS spread over seeds 0-3 and lengths | 64 bars less 8 bars, per seed |")
    print("|---|---|---|")
    for case in CASES:
        rs = [r for r in rows if (r["kit"], r["pattern"], r["master"]) == case]
        v = [r[k] for r in rs for k in ("cycle_looped", "bars8", "bars64")]
        d = " / ".join(f"{r['bars64'] - r['bars8']:+.1f}" for r in rs)
        print(f"| {' / '.join(case)} | {max(v) - min(v):.1f} dB | {d} dB |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
