"""Which sound representation should the blend generator decode to?

Resynthesises real kicks, snares and hi-hats from held-out Hydrogen kits with
each candidate and measures what a producer hears:

- sines+noise (drummy.codec): body sine integrated from its frequency track +
  white noise shaped by a 96-band envelope in the STFT domain;
- noise only: the same envelope over all energy, no sine (random phase everywhere);
- Griffin-Lim: full-resolution STFT magnitude (1024/256), 32 iterations
  (librosa) - the usual magnitude-only baseline, and its speed;
- random phase: full-resolution STFT magnitude with random phase.

Metrics: log-spectral distance (dB, mean over STFT sizes 2048/512/128, 60 dB
range), sub (< 60 Hz) and air (> 8 kHz) energy error in dB, attack-time error
(ms), the benchmark classifier's agreement with its own call on the original,
and time per 1 s hit.

    python benchmarks/codec_alternatives.py [--work build/bench-vae]

Run benchmarks/vae_blend.py first (it builds the workspaces and the classifier).
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import date
from pathlib import Path

import librosa
import numpy as np
import drummy  # noqa: F401  first: it sets OMP_WAIT_POLICY, read once as torch loads (a busy machine)
import torch

from drummy import classifier as clf
from drummy import codec, features
from drummy.library import Workspace
from drummy.train import classifier_path

SR = codec.SR


def lsd(x, y):
    out = []
    for n in (2048, 512, 128):
        X = 20 * np.log10(np.abs(librosa.stft(x, n_fft=n, hop_length=n // 4)) + 1e-5)
        Y = 20 * np.log10(np.abs(librosa.stft(y, n_fft=n, hop_length=n // 4)) + 1e-5)
        top = max(X.max(), Y.max())
        out.append(np.mean(np.abs(np.maximum(X, top - 60) - np.maximum(Y, top - 60))))
    return float(np.mean(out))


def band_db(y, lo, hi):
    P = np.abs(np.fft.rfft(y)) ** 2
    f = np.fft.rfftfreq(len(y), 1 / SR)
    return 10 * np.log10(P[(f >= lo) & (f < hi)].sum() / P.sum() + 1e-12)


def attack_ms(y):
    return float(features.descriptors(y)[list(features.DESCRIPTOR_NAMES).index("attack_ms")])


def sines_noise(x, rng):
    return codec.synthesise(torch.from_numpy(codec.analyse(x))[None], seed=int(rng.integers(1 << 30)))[0].numpy()


def noise_only(x, rng):
    cfg = codec.CODEC
    P = np.abs(librosa.stft(x, n_fft=cfg.n_fft, hop_length=cfg.hop)) ** 2
    wpow = float((np.hanning(cfg.n_fft + 1)[:-1] ** 2).sum())
    bands = np.maximum(10 * np.log10(codec._band_matrix(cfg) @ P / wpow + 1e-30), cfg.floor_db)
    code = np.concatenate([bands, np.full((1, bands.shape[1]), cfg.floor_db), np.zeros((1, bands.shape[1]))])
    return codec.synthesise(torch.from_numpy(code.astype(np.float32))[None], seed=int(rng.integers(1 << 30)))[0].numpy()


def griffin_lim(x, rng):
    S = np.abs(librosa.stft(x, n_fft=1024, hop_length=256))
    return librosa.griffinlim(S, n_iter=32, hop_length=256, n_fft=1024, length=len(x),
                              random_state=int(rng.integers(1 << 30)))


def random_phase(x, rng):
    S = np.abs(librosa.stft(x, n_fft=1024, hop_length=256))
    return librosa.istft(S * np.exp(2j * np.pi * rng.random(S.shape)), hop_length=256, n_fft=1024, length=len(x))


METHODS = {"sines+noise": sines_noise, "noise only": noise_only, "Griffin-Lim 32": griffin_lim,
           "random phase": random_phase}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, default=Path("build/bench-vae"))
    ap.add_argument("--per-type", type=int, default=40)
    args = ap.parse_args()
    torch.set_num_threads(2)
    ho = Workspace(args.work / "heldout")
    judge = clf.load(classifier_path(Workspace(args.work / "train")))
    rng = np.random.default_rng(0)
    hits = []
    for t in ("kick", "snare", "hihat"):
        hs = sorted(h for h, s in ho.samples.items() if s.drum_type == t)
        for h in rng.permutation(hs)[: args.per_type]:
            hits.append((t, codec.normalise(ho.load_audio(h))))
    xs = [x for _, x in hits]
    ref = clf.classify_audio(judge, xs).argmax(1)
    rows = {}
    for name, fn in METHODS.items():
        ys, secs = [], []
        for x in xs:
            t0 = time.perf_counter()
            ys.append(fn(x, rng).astype(np.float64))
            secs.append(time.perf_counter() - t0)
        pred = clf.classify_audio(judge, [y.astype(np.float32) for y in ys]).argmax(1)
        rows[name] = {
            "lsd_db": float(np.mean([lsd(x, y) for x, y in zip(xs, ys)])),
            "sub_err_db": float(np.mean([abs(band_db(x, 20, 60) - band_db(y, 20, 60)) for x, y in zip(xs, ys)
                                         if band_db(x, 20, 60) > -40])),
            "air_err_db": float(np.mean([abs(band_db(x, 8000, 20000) - band_db(y, 8000, 20000)) for x, y in zip(xs, ys)
                                         if band_db(x, 8000, 20000) > -40])),
            "attack_err_ms": float(np.mean([abs(attack_ms(x) - attack_ms(y)) for x, y in zip(xs, ys)])),
            "classifier_agreement": float((pred == ref).mean()),
            "ms_per_hit": float(np.median(secs) * 1000),
        }
    print(f"{len(xs)} held-out hits (kick/snare/hihat), {platform.processor() or platform.machine()}, {date.today()}")
    print(f"{'method':16s} {'LSD dB':>7s} {'sub err':>8s} {'air err':>8s} {'attack err':>10s} {'clf agree':>9s} {'ms/hit':>7s}")
    for name, r in rows.items():
        print(f"{name:16s} {r['lsd_db']:7.2f} {r['sub_err_db']:8.2f} {r['air_err_db']:8.2f} {r['attack_err_ms']:10.2f} "
              f"{r['classifier_agreement']:9.0%} {r['ms_per_hit']:7.1f}")
    out = Path(__file__).parent / "results" / "codec_alternatives.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"date": str(date.today()), "hits": len(xs), "methods": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
