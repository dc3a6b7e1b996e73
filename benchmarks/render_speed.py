"""Sequencer benchmark: render speed, onset timing and round trips.

    PYTHONPATH=. python benchmarks/render_speed.py [--runs 7] [--minutes 4]

Prints three tables:
1. render time of a 6-track beat (124 bpm, humanised, random sample per hit)
   with each master preset: median and min of --runs renders, and x real time;
2. onset timing: clicks rendered at several tempos, grids and swings, located
   in the output and compared with their grid positions (max error, samples);
3. round trips: pattern -> TOML / MIDI -> pattern for every built-in, and
   kit -> folder / Hydrogen / SFZ -> kit (same types, same audio).
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from drummy import audio, kits
from drummy import patterns as P
from drummy import sequencer as S
from drummy.starter import starter_kit

SIX_TRACKS = """
name = "six"
bpm = 124
steps = 16
humanise = { timing_ms = 3, velocity = 6 }
[tracks]
kick       = "X...x...x...x..."
snare      = "....X.......X..."
clap       = { grid = "....x.......x..x", pan = 0.2 }
hihat      = { grid = "xgoxxgoxxgoxxgox", pan = -0.3 }
"open hat" = { grid = "..x...x...x...x.", pan = 0.3 }
tom        = { grid = "..........x..x.x", pan = -0.4 }
"""


def memory_kit(per_class: int) -> S.Kit:
    kit = S.Kit()
    for dtype, style, stem, y in starter_kit(seed=0, per_class=per_class):
        kit.setdefault(dtype, []).append((f"{style}/{stem}", y))
    return kit


def bench_render(kit: S.Kit, runs: int, minutes: float) -> None:
    p = P.parse(SIX_TRACKS)
    bars = round(minutes * 60 * p.bpm / 240)
    seconds = S.beat_length(p.bpm, bars) / audio.SR
    hits = sum(len(h.onsets) for h in P.schedule(p, p.bpm, bars))
    print(f"\n## Render: {len(p.tracks)} tracks, {bars} bars at {p.bpm:g} bpm = {seconds:.1f} s of audio, "
          f"{hits} hits, median of {runs}")
    print("| master | median s | min s | x real time (median) |\n|---|---|---|---|")
    for master in S.MASTERS:
        S.render(p, kit, bars=1, master=master)  # warm-up: imports, plugin construction
        times = []
        for i in range(runs):
            t = time.perf_counter()
            S.render(p, kit, bars=bars, master=master, seed=i)
            times.append(time.perf_counter() - t)
        med = statistics.median(times)
        print(f"| {master} | {med:.3f} | {min(times):.3f} | {seconds / med:.0f}x |")


def bench_timing() -> None:
    click = S.Kit({"kick": [("click", np.array([1.0], dtype=np.float32))]})
    swings = (50.0, 58.0, 66.0, 75.0)
    print("\n## Onset timing: a click on every step, 4 bars, master none; max |found - grid| in samples")
    print("| bpm | steps | " + " | ".join(f"swing {s:g}" for s in swings) + " |\n|---|---|" + "---|" * len(swings))
    worst = 0.0
    for bpm in (87.0, 124.0, 140.5, 173.0):
        for steps in (12, 16, 32):
            errs = []
            for swing in swings:
                p = P.Pattern("click", (P.Track("kick", "kick", (127,) * steps, note=36),), steps, swing)
                mix, _ = S.render(p, click, bpm=bpm, bars=4, master="none")
                k = np.arange(4 * steps)
                expected = (k + (k % 2) * (swing - 50) / 50) * audio.SR * 60 / bpm * 4 / steps
                found = np.flatnonzero(mix[:, 0] > 0.5 * mix[:, 0].max())
                errs.append(np.max(np.abs(found - expected)) if len(found) == len(expected) else float("inf"))
            worst = max(worst, *errs)
            print(f"| {bpm:g} | {steps} | " + " | ".join(f"{e:.2f}" for e in errs) + " |")
    print(f"worst over {4 * 3 * len(swings)} tempo/grid/swing combinations: {worst:.2f} samples")


def bench_true_peak(kit: S.Kit, seeds: int = 5) -> None:
    """The master's peak between samples, read the way a DAW looping the beat plays it:
    the whole 2-bar loop upsampled 16x through the FFT (an ideal reconstruction)."""
    from scipy.signal import resample
    p = P.parse(SIX_TRACKS)
    print(f"\n## True peak of a 2-bar loop, ideal reconstruction (16x FFT), worst of {seeds} seeds; ceiling "
          f"{S.CEILING_DB} dBTP")
    print("| master | sample peak dBFS | true peak dBTP |\n|---|---|---|")
    for master in S.MASTERS:
        worst, sample = -np.inf, -np.inf
        for seed in range(seeds):
            mix, _ = S.render(p, kit, bars=2, seed=seed, master=master)
            up = resample(mix.astype(np.float64), 16 * len(mix), axis=0)
            worst = max(worst, 20 * np.log10(np.abs(up).max()))
            sample = max(sample, 20 * np.log10(np.abs(mix).max()))
        print(f"| {master} | {sample:.2f} | {worst:.2f} |")


def bench_round_trips(kit: S.Kit) -> None:
    import io
    import mido
    print("\n## Round trips")
    print("| what | identical |\n|---|---|")
    for name in P.BUILTINS:
        p = P.builtin(name)
        via_toml = P.parse(P.dump(p)) == p
        via_midi = P.from_midi(mido.MidiFile(file=io.BytesIO(P.midi_bytes(p)))) == p
        via_beat_midi = P.from_midi(mido.MidiFile(file=io.BytesIO(P.midi_bytes(p, bars=8)))) == p
        print(f"| pattern {name} -> TOML / MIDI / 8-bar beat MIDI -> pattern | {via_toml} / {via_midi} / {via_beat_midi} |")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        for dtype, sounds in kit.items():
            for name, y in sounds:
                audio.write(src / dtype / f"{name}.wav", y, peak_db=None, fade_ms=0)
        samples = S.folder_samples(src)

        def sig(ss):
            return {t: sorted(audio.load(s.path).tobytes() for s in ss if s.drum_type == t)
                    for t in sorted({s.drum_type for s in ss})}
        before = sig(samples)
        for fmt, reader in (("folder", S.folder_samples), ("hydrogen", kits.read_hydrogen), ("sfz", kits.read_sfz)):
            out, _ = kits.export_kit(samples, Path(tmp) / fmt, fmt)
            same = sig(reader(out)) == before and sig(S.folder_samples(Path(tmp) / fmt)) == before
            print(f"| kit ({len(samples)} hits, {len(before)} types) -> {fmt} -> kit | {same} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--minutes", type=float, default=4.0)
    ap.add_argument("--per-class", type=int, default=12, help="starter-kit hits per drum type")
    args = ap.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# Sequencer benchmark ({os.cpu_count()} cores, load average {load:.2f} at start)")
    kit = memory_kit(args.per_class)
    bench_render(kit, args.runs, args.minutes)
    bench_timing()
    bench_true_peak(kit)
    bench_round_trips(kit)


if __name__ == "__main__":
    main()
