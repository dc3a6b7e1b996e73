"""How generated hits end: do they ring down, or stop short?

    PYTHONPATH=. python benchmarks/hit_ends.py [--work build/bench-vae] [--model PATH ...] [-n 100]

For each drum type, n generated hits (unguarded first draws, seed 11) and every real
training hit of that type, each made as `drummy generate` writes a hit (`generate.finish`,
then the writer's 10 ms fade): the level of its last 10 ms before that fade, in dB under
its loudest 10 ms. A hit that rings down ends 45-70 dB under its peak; one whose tone or
noise the generator cut at a fixed level ends 20-40 dB under it, an audible stop. Prints the
median and the share ending over -40 dB, per type and model. Needs the workspace that
`benchmarks/vae_blend.py` leaves in WORK/train (its models: models/vae-seed<S>.safetensors).
Writes benchmarks/results/hit_ends.json.
"""
from __future__ import annotations

import argparse
import platform
from datetime import date
from pathlib import Path

import numpy as np
import drummy  # noqa: F401  first: it sets OMP_WAIT_POLICY, read once as torch loads (a busy machine)
import torch

from drummy import audio
from drummy.generate import Controls, Generator, finish
from drummy.library import Workspace, atomic_write_json, vae_path

TYPES = ("kick", "snare", "hihat", "open hat", "tom", "cymbal", "clap", "perc")
STOPS_DB = -40.0     # a hit ending louder than this under its peak stops short


def end_db(y: np.ndarray, sr: int = 44100) -> float:
    """The written hit's last 10 ms before its fade, in dB under its loudest 10 ms."""
    y = audio.prepare(finish(y, sr), sr=sr, fade_ms=10)
    hop = sr // 100
    rms = np.sqrt(np.mean(y[: len(y) // hop * hop].reshape(-1, hop).astype(np.float64) ** 2, axis=1))
    return float(20 * np.log10(rms[-2] / rms.max() + 1e-12)) if len(rms) > 2 else 0.0


def summary(v: list[float]) -> dict:
    return {"n": len(v), "median_db": round(float(np.median(v)), 1),
            "stop_short": round(float(np.mean(np.array(v) > STOPS_DB)), 3)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("build/bench-vae"))
    ap.add_argument("--model", type=Path, nargs="*", help="generator files (default: the workspace's models/vae-seed*)")
    ap.add_argument("-n", type=int, default=100)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "hit_ends.json")
    args = ap.parse_args()
    torch.set_num_threads(2)
    ws = Workspace(args.work / "train")
    models = args.model or sorted(vae_path(ws).parent.glob("vae-seed*.safetensors")) or [vae_path(ws)]
    out = {"date": str(date.today()), "machine": f"{platform.machine()} {torch.get_num_threads()} threads",
           "stop_short_db": STOPS_DB, "real": {}, "generated": {}}
    train = set(Generator.load(models[0]).extra["train_hashes"])
    for t in TYPES:
        real = [end_db(ws.load_audio(h)) for h, s in ws.samples.items() if h in train and s.drum_type == t]
        if real:
            out["real"][t] = summary(real)
    print(f"{'':14s}" + "".join(f"{t:>14s}" for t in out["real"]))
    print(f"{'real':14s}" + "".join(f"{s['median_db']:7.1f} {s['stop_short']:5.0%} " for s in out["real"].values()))
    for m in models:
        gen = Generator.load(m)
        row = {t: summary([end_db(y) for y in gen.generate(gen.recipe(t), Controls(), n=args.n, seed=11)])
               for t in out["real"] if t in gen.known}
        out["generated"][m.stem] = row
        print(f"{m.stem:14s}" + "".join(f"{s['median_db']:7.1f} {s['stop_short']:5.0%} " for s in row.values()))
    atomic_write_json(args.out, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
