"""Kicks' and toms' bodies with and without their pitch sweeps (`codec.follow_sweep`), against the real hits.

    PYTHONPATH=. python benchmarks/body_sweep.py --work build/bench-vae [--models M.safetensors ...] [-n 200]

For each model (default: <work>/train/models/vae-seed<S>.safetensors), the first draws (no guard) of
`--blend kick` and `--blend tom`, seed 0, made with the model's sweeps and without them (`sweep_of`
None, as an older model makes them), and the model's own training hits of that type: the median share
of each hit's energy in five bands (dB of its total) and the median frequency of its body sine at
10 ms and 100 ms (from the codes: before synthesis). A model saved without sweeps gets them from
its training hits' cached codes, as `train vae` keeps them. Also the speed `evaluate` times (one hit of kick,
snare and hihat in turn, median of 60; 100 kicks), with sweeps and without. Results: benchmarks/results/body_sweep.json.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import date
from pathlib import Path

import numpy as np
import drummy  # noqa: F401  (sets the thread policy before torch loads)
import torch

from drummy import codec
from drummy import generate as G
from drummy.generate import Controls, Generator, unguarded
from drummy.library import Workspace

BANDS = [(0, 20), (20, 40), (40, 100), (100, 1000), (1000, 22050)]


def bands_db(y: np.ndarray, sr: int = codec.SR) -> list[float]:
    n = 1 << int(np.ceil(np.log2(len(y) * 2)))
    p, f = np.abs(np.fft.rfft(y, n=n)) ** 2, np.fft.rfftfreq(n, 1 / sr)
    return [10 * np.log10(p[(f >= a) & (f < b)].sum() / p.sum() + 1e-20) for a, b in BANDS]


def body_hz(codes: torch.Tensor, cfg: codec.CodecConfig) -> list[float]:
    """The median frequency of the body sine at 10 and 100 ms over hits whose sine sounds there."""
    out = []
    for t in (0.01, 0.1):
        i = int(round(t * cfg.sr / cfg.hop))
        on = codes[:, codec.AMP, i] > -40
        out.append(float((100 * 2 ** codes[on, codec.FREQ, i]).median()) if bool(on.any()) else float("nan"))
    return out


def summary(ys, codes, cfg) -> dict:
    b = np.median([bands_db(y) for y in ys], 0)
    return {"n": len(ys), "bands_db": {f"{lo}-{hi}": round(float(v), 1) for (lo, hi), v in zip(BANDS, b)},
            "body_hz_10ms_100ms": [round(x, 1) for x in body_hz(codes, cfg)]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("build/bench-vae"))
    ap.add_argument("--models", type=Path, nargs="*")
    ap.add_argument("-n", type=int, default=200)
    args = ap.parse_args()
    torch.set_num_threads(2)
    ws = Workspace(args.work / "train")
    models = args.models or sorted((args.work / "train" / "models").glob("vae-seed*.safetensors"))
    made: list[torch.Tensor] = []
    render = codec.render

    def kept(code, *a, **k):                     # the codes a batch is synthesised from, as made
        made.append(code.clone())
        return render(code, *a, **k)
    codec.render = kept
    runs = []
    for m in models:
        gen = Generator.load(m)
        cfg = gen.model.cfg.codec_cfg
        hashes = gen.extra["train_hashes"]
        if gen.sweep_of is None:
            gen.sweep_of = codec.pitch_sweep(torch.from_numpy(ws.codes(hashes, progress=False)[0]).float(), cfg)
        sweeps = gen.sweep_of
        run = {"model": str(m)}
        for t in ("kick", "tom"):
            rows = [i for i, h in enumerate(hashes) if ws.samples[h].drum_type == t]
            real_codes = torch.from_numpy(ws.codes([hashes[i] for i in rows], progress=False)[0]).float()
            run[t] = {"real": summary([ws.load_audio(hashes[i]) for i in rows], real_codes, cfg)}
            for name, sw in (("swept", sweeps), ("flat", None)):
                gen.sweep_of = sw
                made.clear()
                with unguarded(gen):
                    ys = gen.generate(gen.recipe(t), Controls(), n=args.n, seed=0)
                run[t][name] = summary(list(ys), made[0], cfg)
            print(f"{m.name} {t}: " + "; ".join(f"{k} {v['bands_db']} body {v['body_hz_10ms_100ms']} Hz"
                                               for k, v in run[t].items()), flush=True)
        for name, sw in (("swept", sweeps), ("flat", None)):       # speed, as `evaluate` times it (no guard)
            gen.sweep_of = sw
            recipes = [gen.recipe(t) for t in ("kick", "snare", "hihat")]
            with unguarded(gen):
                one = []
                for k in range(61):
                    t0 = time.perf_counter()
                    gen.generate(recipes[k % 3], Controls(), n=1, seed=k)
                    one.append(time.perf_counter() - t0)
                gen.generate(recipes[0], Controls(), n=100, seed=1)
                t0 = time.perf_counter()
                gen.generate(recipes[0], Controls(), n=100, seed=0)
                run[f"speed_{name}"] = {"ms_per_hit": round(float(np.median(one[1:]) * 1000), 2),
                                        "s_per_100_kicks": round(time.perf_counter() - t0, 3)}
        print(f"{m.name} speed: swept {run['speed_swept']}, flat {run['speed_flat']}", flush=True)
        gen.sweep_of = sweeps
        runs.append(run)
    codec.render = render
    res = Path(__file__).parent / "results" / "body_sweep.json"
    res.write_text(json.dumps({"date": str(date.today()), "machine": f"{platform.machine()} 2 threads",
                               "n": args.n, "audio_version": G.AUDIO_VERSION, "runs": runs}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
