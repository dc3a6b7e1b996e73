"""Features of a one-shot: a fixed-size log-mel image for the models, and the
descriptors a producer reads (level, attack, decay, brightness, noisiness, pitch).

Everything here is pure: arrays in, arrays out. The workspace cache lives in
`library.py`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import librosa
# librosa's conversions and mel filters need none of its numba code: they run without
# `warm_up`'s 2-3 s (its onsets and RMS do not: `strong_onsets`)
from librosa.core.convert import fft_frequencies
from librosa.filters import mel as mel_filters
import numpy as np

from .audio import SR


@dataclass(frozen=True)
class MelConfig:
    sr: int = SR            # Hz
    seconds: float = 1.0    # the first second holds the identity of a drum hit
    n_fft: int = 2048       # 46 ms window @ 44.1 kHz
    hop: int = 512          # 11.6 ms hop
    n_mels: int = 64
    fmin: float = 20.0
    fmax: float = 20000.0
    floor_db: float = -80.0  # log-mels are clipped here (relative to full scale)

    @property
    def frames(self) -> int:
        return 1 + int(self.seconds * self.sr) // self.hop

    def to_dict(self) -> dict:
        return asdict(self)


MEL = MelConfig()

# name -> one line of documentation. The order is the column order of `descriptors()`.
DESCRIPTORS: dict[str, str] = {
    "peak_db": "loudest sample, dBFS",
    "rms_db": "RMS level over the sounding part (until -60 dB), dBFS",
    "attack_ms": "time from the onset to the envelope's peak, ms (small = snappy)",
    "decay_ms": "time from the envelope's peak until it falls 40 dB below it, ms (length of the tail)",
    "centroid_hz": "energy-weighted spectral centroid, Hz (brightness)",
    "flatness": "energy-weighted spectral flatness, 0 = pure tone .. 1 = white noise (noisiness)",
    "pitch_hz": "dominant pitch of the body between 30 Hz and 1 kHz, Hz; NaN when the hit has none",
    "low_high_db": "energy below 200 Hz over energy above 5 kHz, dB (positive = bassy, negative = airy)",
    "duration_s": "length after trimming leading silence, seconds",
}
DESCRIPTOR_NAMES = tuple(DESCRIPTORS)

_mel_basis_cache: dict[MelConfig, np.ndarray] = {}


def mel_basis(cfg: MelConfig) -> np.ndarray:
    if cfg not in _mel_basis_cache:
        _mel_basis_cache[cfg] = mel_filters(sr=cfg.sr, n_fft=cfg.n_fft, n_mels=cfg.n_mels,
                                                    fmin=cfg.fmin, fmax=cfg.fmax)
    return _mel_basis_cache[cfg]


def fit_length(y: np.ndarray, n: int) -> np.ndarray:
    """Crop or zero-pad (samples,) to exactly n samples."""
    return y[:n] if len(y) >= n else np.pad(y, (0, n - len(y)))


def stft_power(y: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """|STFT|^2 with a periodic Hann window and zero-padded centred frames, as
    `librosa.stft(center=True)` gives it, in plain numpy: (1 + n_fft/2, 1 + len/hop).
    librosa's own stft spends ~25 s compiling numba code on a fresh install, once
    in every worker process."""
    y = np.pad(np.asarray(y, np.float32), n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop]      # (frames, n_fft)
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    spec = np.fft.rfft(frames * window, axis=1).T                            # (bins, frames)
    return (spec.real ** 2 + spec.imag ** 2).astype(np.float32)


def log_mel(y: np.ndarray, cfg: MelConfig = MEL) -> np.ndarray:
    """Log-mel of the first cfg.seconds of a hit: (n_mels, frames) float32 in dB,
    absolute (a quiet hit looks quiet), clipped at cfg.floor_db."""
    y = fit_length(np.asarray(y, np.float32), int(cfg.seconds * cfg.sr))
    return mel_db(mel_basis(cfg) @ stft_power(y, cfg.n_fft, cfg.hop), cfg)   # (n_mels, frames)


def mel_db(mel: np.ndarray, cfg: MelConfig = MEL) -> np.ndarray:
    """Mel power (..., n_mels, frames) -> float32 dB, clipped at cfg.floor_db (`log_mel`)."""
    db = 10 * np.log10(np.maximum(mel, 1e-12)) - 10 * np.log10(cfg.n_fft / 4)  # ~0 dB for a full-scale sine
    return np.maximum(db, cfg.floor_db).astype(np.float32)


ATTACK_HOP = 64   # the envelope frames the attack and decay descriptors are read on (1.5 ms)


def envelope(y: np.ndarray, sr: int = SR, hop: int = 64) -> np.ndarray:
    """RMS envelope with a 1.5 ms hop: (frames,)."""
    n = len(y) // hop
    if n == 0:
        return np.sqrt(np.mean(y ** 2, keepdims=True))
    frames = y[: n * hop].reshape(n, hop)
    return np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))


def descriptors(y: np.ndarray, sr: int = SR) -> np.ndarray:
    """The DESCRIPTORS of a mono hit, in order: (len(DESCRIPTORS),) float32."""
    y = np.asarray(y, np.float64)
    if not np.any(y):   # silence (a generator can decode one) has no attack, tail or spectrum
        return np.array([-np.inf, -np.inf] + [np.nan] * 6 + [len(y) / sr], dtype=np.float32)
    peak = float(np.max(np.abs(y))) + 1e-12
    hop = ATTACK_HOP
    env = envelope(y, sr, hop)
    i_peak = int(np.argmax(env))
    env_peak = env[i_peak] + 1e-12
    # Attack: from the first frame above 10% of the peak to the peak itself.
    i_on = int(np.flatnonzero(env >= 0.1 * env_peak)[0])
    attack_ms = (i_peak - i_on) * hop / sr * 1000
    above40 = np.flatnonzero(env >= env_peak * 10 ** (-40 / 20))
    decay_ms = (above40[-1] - i_peak + 1) * hop / sr * 1000
    above60 = np.flatnonzero(env >= env_peak * 10 ** (-60 / 20))
    sounding = y[: max((above60[-1] + 1) * hop, hop)]
    rms = float(np.sqrt(np.mean(sounding ** 2))) + 1e-12

    # Spectral shape over the first 1.5 s, weighted by frame energy.
    seg = y[: int(1.5 * sr)].astype(np.float32)
    power = stft_power(fit_length(seg, max(len(seg), 2048)), 2048, 512) + 1e-20
    freqs = fft_frequencies(sr=sr, n_fft=2048)
    w = power.sum(axis=0)
    w = w / (w.sum() + 1e-20)
    centroid = float(np.sum(w * (freqs @ power) / power.sum(axis=0)))
    flat = np.exp(np.mean(np.log(power), axis=0)) / np.mean(power, axis=0)
    flatness = float(np.sum(w * flat))
    spectrum = power.sum(axis=1)
    low = spectrum[freqs < 200].sum() + 1e-20
    high = spectrum[freqs > 5000].sum() + 1e-20
    low_high_db = float(np.clip(10 * np.log10(low / high), -60, 60))

    return np.array([
        20 * np.log10(peak),
        20 * np.log10(rms),
        attack_ms,
        decay_ms,
        centroid,
        flatness,
        pitch(y, sr),
        low_high_db,
        len(y) / sr,
    ], dtype=np.float32)


def strong_onsets(y: np.ndarray, sr: int = SR, hop: int = 441) -> np.ndarray:
    """Times (s) of the separate hits in y: onsets that reach within 12 dB of its peak
    and rise 6 dB or more out of what came before (bursts under 80 ms apart, as in a
    clap or a flam, count once)."""
    warm_up()                                                               # numba's code, under its lock
    rms = librosa.feature.rms(y=y, frame_length=1024, hop_length=hop, center=True)[0]
    db = 20 * np.log10(rms + 1e-9)                                          # (frames,)
    found: list[int] = [0] if db[:6].max() >= db.max() - 12 else []    # a hit right at the start (trimmed)
    for f in librosa.onset.onset_detect(y=y, sr=sr, hop_length=hop, units="frames", backtrack=False):
        local = db[f:f + 6].max()
        if local >= db.max() - 12 and local - db[max(0, f - 4):f + 1].min() >= 6 and (not found or f - found[-1] > 8):
            found.append(int(f))
    return np.array(found, float) * hop / sr


def loop_reason(y: np.ndarray, sr: int = SR) -> str | None:
    """Why y is no one-shot, or None: several strong hits spread over seconds (a drum
    loop, a roll, a phrase). Of the 1,134 samples of every Hydrogen kit and the starter
    kit it calls one a loop: ForzeeStereo's RideBow-2, a ride struck six times in 2.3 s
    (which ingest keeps: a kit's own samples are not asked to be one-shots)."""
    if len(y) < 1.5 * sr:
        return None
    t = strong_onsets(y, sr)
    span = float(t[-1] - t[0]) if len(t) else 0.0
    if len(t) >= 6 and span >= 1.5 or len(t) >= 4 and span >= 2.5:
        return f"several hits ({len(t)} over {span:.1f} s): a loop or a phrase, not a one-shot"
    gaps = np.diff(t)
    if len(t) >= 4 and span >= 1.2 and gaps.std() < 0.1 * gaps.mean():   # a bar of four on the floor ...
        at = (t * sr).astype(int)
        peaks = 20 * np.log10(np.array([np.abs(y[a:a + int(0.05 * sr)]).max() for a in at]) + 1e-12)
        if not np.all(np.diff(peaks) <= -1.5):    # ... not one hit's tempo-synced echoes, each quieter than the last
            return f"{len(t)} hits on a steady beat ({60 / gaps.mean():.0f} bpm): a loop, not a one-shot"
    return None


_warm = False   # librosa's numba code is compiled (or read from numba's cache) in this process


def warm_up(sr: int = SR) -> None:
    """Run every feature once on a made-up loop, so that librosa's numba code is compiled in
    this process (or read from numba's cache), once per process and under `numba_cache.numba_lock`.
    Ingest does it before it forks its workers, which then inherit it compiled; any other
    process does it at its first feature that needs numba (`strong_onsets`). Two processes
    compiling it at once race on numba's cache (numba#10128): on a fresh install one ingest in
    six lost a worker to a call through a null pointer."""
    global _warm
    if _warm:
        return
    from .numba_cache import numba_lock
    with numba_lock():
        _warm = True                 # first: the features below ask for it again
        try:
            t = np.arange(3 * sr) / sr
            y = (np.sin(2 * np.pi * 110 * t) * np.exp(-(t % 0.4) * 20)).astype(np.float32)   # a hit every 0.4 s
            loop_reason(y, sr), log_mel(y), descriptors(y, sr)
        except BaseException:
            _warm = False
            raise


def pitch(y: np.ndarray, sr: int = SR, fmin: float = 30.0, fmax: float = 1000.0,
          prominence_db: float = 12.0) -> float:
    """Pitch of a hit's body: the strongest spectral peak in [fmin, fmax] over the
    first 400 ms after the attack, if it stands prominence_db above the band's
    median; else NaN (noise-like hits such as hats have no pitch)."""
    start = int(0.005 * sr)
    seg = np.asarray(y[start: start + int(0.4 * sr)], np.float64)
    if len(seg) < 1024:
        return float("nan")
    n_fft = 1 << 15  # 1.3 Hz bins: kick fundamentals need fine resolution
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg)), n=n_fft))
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    band = (freqs >= fmin) & (freqs <= fmax)
    mags = spec[band]
    if mags.max() <= 0:
        return float("nan")
    i = int(np.argmax(mags))
    if 20 * np.log10(mags[i] / (np.median(mags) + 1e-20)) < prominence_db:
        return float("nan")
    # Noise with a low-frequency tilt also has a "peak": demand that the band holds
    # a real share of the hit's energy.
    if np.sum(mags ** 2) < 0.2 * np.sum(spec ** 2):
        return float("nan")
    return float(freqs[band][i])
