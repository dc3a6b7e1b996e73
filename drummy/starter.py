"""A procedurally synthesised starter drum library: no downloads, deterministic by seed.

`drummy starter-kit OUTDIR` writes ``OUTDIR/<type>/<style>/<stem>.wav`` for the
seven drum types in :data:`CLASSES` and the four styles in :data:`STYLES`.

Every hit is built from the classic drum-machine recipes, with every parameter
(pitch, sweep speed, decays, tone/noise mix, filter corners, drive, bit depth)
drawn from the caller's random generator so no two hits are alike:

* kick   - sine body with an exponential pitch sweep + click / beater transient;
           808 = long sub boom, 909 = short punchy + driven + noisy click,
           acoustic = shorter body + beater noise + shell resonance.
* snare  - two or three detuned, slightly falling drum-head modes + band-passed
           noise (the wires) with its own decay.
* clap   - 3-4 band-passed noise bursts ~10 ms apart, then a longer noise tail.
* hihat  - six inharmonic square/sine partials (808 metallic ratios or random
           ones) + noise, high-passed around 7 kHz, very short decay.
* open hat - the same metal with a long decay.
* tom    - sine body 80-250 Hz with a small downward sweep, medium decay, noise.
* cymbal - dense inharmonic partials (two square banks, ring modulation or a
           sine bank) + high-passed noise, long decay, bright.
* lofi   - any of the above through sample-and-hold decimation, bit crushing,
           saturation and a low-pass.

All synthesis is vectorised numpy/scipy; a full 280-hit kit takes a few seconds.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
from scipy import signal

from drummy import audio

CLASSES = ("kick", "snare", "clap", "hihat", "open hat", "tom", "cymbal")  # folder names = drum types
STYLES = ("808", "909", "acoustic", "lofi")

PEAK = 10 ** (-1 / 20)  # synth_hit output peak (-1 dBFS)

# The six square-wave oscillator frequencies of the TR-808 cymbal / hi-hat circuit.
_808_METAL = np.array([205.3, 304.4, 369.6, 522.7, 540.0, 800.0])

# Descriptive file stems per (type, style); a two-digit number is appended.
# No word here may name another drum type (file-name tokens are parsed as labels).
_STEMS = {
    "kick": {"808": "808 boom", "909": "909 punch", "acoustic": "acoustic thump", "lofi": "lofi thud"},
    "snare": {s: f"snare {s}" for s in STYLES},
    "clap": {s: f"clap {s}" for s in STYLES},
    "hihat": {s: f"hihat {s}" for s in STYLES},
    "open hat": {s: f"open hat {s}" for s in STYLES},
    "tom": {s: f"tom {s}" for s in STYLES},
    "cymbal": {s: f"cymbal {s}" for s in STYLES},
}


# --------------------------------------------------------------------------- helpers

def _time(dur: float, sr: int) -> np.ndarray:
    return np.arange(max(int(round(dur * sr)), 1)) / sr


def _decay(t: np.ndarray, t60: float) -> np.ndarray:
    """Exponential envelope that is -60 dB after t60 seconds."""
    return np.exp(-6.907755 * t / max(t60, 1e-4))


def _attack(t: np.ndarray, seconds: float) -> np.ndarray:
    """Short linear fade-in (avoids a hard step where a click is not wanted)."""
    return np.clip(t / max(seconds, 1e-6), 0.0, 1.0)


def _sweep_phase(t: np.ndarray, f_start: float, f_end: float, tau: float) -> np.ndarray:
    """Phase of a tone gliding exponentially from f_start to f_end with time constant tau."""
    return 2 * np.pi * (f_end * t + (f_start - f_end) * tau * (1.0 - np.exp(-t / tau)))


def _filt(y: np.ndarray, sr: int, kind: str, freq, order: int = 2) -> np.ndarray:
    """Butterworth filter (sos); corner frequencies are clamped to the usable band."""
    hi_lim = 0.45 * sr
    if kind == "bandpass":
        lo, hi = float(freq[0]), float(freq[1])
        hi = min(hi, hi_lim)
        lo = min(max(lo, 10.0), 0.8 * hi)
        wn = (lo, hi)
    else:
        wn = min(max(float(freq), 10.0), hi_lim)
    sos = signal.butter(order, wn, btype=kind, fs=sr, output="sos")
    return signal.sosfilt(sos, y)


def _drive(y: np.ndarray, amount: float) -> np.ndarray:
    """tanh saturation normalised so the peak level is kept; amount ~1 = clean."""
    peak = float(np.max(np.abs(y))) or 1.0
    return np.tanh(amount * y / peak) / np.tanh(amount) * peak


def _sin_bank(t: np.ndarray, freqs: np.ndarray, rng: np.random.Generator, block: int = 1024) -> np.ndarray:
    """(partials, >= samples) float32 sines with random phases, for t = arange(n) / sr.

    Computed in float32 (several times faster than float64): the phase at each
    block start is reduced mod 2 pi in float64, so the float32 arguments stay
    small and the error stays below 1e-3. The result is C-contiguous and padded
    to a whole number of blocks; callers cut it to len(t) after reducing.
    """
    n = len(t)
    sr = 1.0 / (t[1] - t[0]) if n > 1 else 1.0
    freqs = np.asarray(freqs, dtype=np.float64)
    ph = rng.uniform(0, 2 * np.pi, len(freqs))
    w = 2 * np.pi * freqs
    nb = -(-n // block)
    starts = np.arange(nb) * (block / sr)
    base = np.mod(w[:, None] * starts[None, :] + ph[:, None], 2 * np.pi).astype(np.float32)
    local = (w[:, None] * (np.arange(block) / sr)[None, :]).astype(np.float32)
    x = base[:, :, None] + local[:, None, :]
    np.sin(x, out=x)
    return x.reshape(len(freqs), nb * block)


def _squares(t: np.ndarray, freqs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sum of square waves (naive; the aliasing only adds metallic grit)."""
    return np.sign(_sin_bank(t, freqs, rng)).sum(axis=0, dtype=np.float64)[: len(t)] / len(freqs)


def _sines(t: np.ndarray, freqs: np.ndarray, rng: np.random.Generator,
           amps: np.ndarray | None = None, t60s: np.ndarray | None = None) -> np.ndarray:
    """Sum of sines with optional per-partial amplitudes and T60 decays."""
    tone = _sin_bank(t, freqs, rng)
    amps = np.ones(len(freqs)) if amps is None else np.asarray(amps, dtype=np.float64)
    if t60s is None:
        return (amps.astype(np.float32) @ tone)[: len(t)].astype(np.float64) / amps.sum()
    # partials sharing (roughly) a decay share one envelope: a few exps, not one per partial
    log_t60 = np.log(np.asarray(t60s, dtype=np.float64))
    key = np.round(log_t60 * 4)  # quarter-e steps (~28 %) in decay time
    groups, idx = np.unique(key, return_inverse=True)
    weights = np.zeros((len(groups), len(freqs)), dtype=np.float32)
    weights[idx, np.arange(len(freqs))] = amps
    group_t60 = np.exp(np.bincount(idx, log_t60) / np.bincount(idx))
    envs = np.exp(-6.907755 * t[None, :] / group_t60[:, None]).astype(np.float32)
    return ((weights @ tone)[:, : len(t)] * envs).sum(axis=0, dtype=np.float64) / amps.sum()


def _lofi(y: np.ndarray, rng: np.random.Generator, sr: int, lp=(6000.0, 8000.0),
          hold=(2, 4), bits=(8, 12), drive=(1.5, 4.0)) -> np.ndarray:
    """Old-sampler treatment: saturation, sample-and-hold decimation, bit crush, low-pass."""
    peak = float(np.max(np.abs(y))) or 1.0
    y = _drive(y / peak, rng.uniform(*drive))
    k = int(rng.integers(hold[0], hold[1] + 1))
    if k > 1:
        y = np.repeat(y[::k], k)[: len(y)]
    levels = 2.0 ** (int(rng.integers(bits[0], bits[1] + 1)) - 1)
    y = np.round(y * levels) / levels
    # the crushed tail drops to digital silence; fade into that point so it does not click
    nz = np.flatnonzero(y)
    if nz.size:
        end = int(nz[-1]) + 1
        n_fade = max(end // 4, 1)
        y[end - n_fade:end] *= np.cos(np.linspace(0, np.pi / 2, n_fade)) ** 2
    return _filt(y, sr, "lowpass", rng.uniform(*lp), order=4)


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_normal(n)


# --------------------------------------------------------------------------- kick

def _kick(style: str, rng: np.random.Generator, sr: int) -> np.ndarray:
    if style == "lofi":
        base = ("808", "909", "acoustic")[int(rng.integers(3))]
        y = _kick(base, rng, sr)
        y = _lofi(y, rng, sr, lp=(4000, 7500), hold=(2, 4), bits=(8, 12), drive=(1.5, 4.0))
        n_max = int(rng.uniform(0.5, 1.0) * sr)  # choked like a chopped sample
        if len(y) > n_max:
            n_fade = int(0.08 * sr)
            y = y[:n_max].copy()
            y[-n_fade:] *= np.cos(np.linspace(0, np.pi / 2, n_fade)) ** 2
        return y

    if style == "808":
        dur = rng.uniform(0.8, 1.5)
        f0, f1, tau = rng.uniform(150, 240), rng.uniform(40, 58), rng.uniform(0.02, 0.06)
        t = _time(dur, sr)
        # long sub sustain: a slow decay with a gentle initial knee
        env = _decay(t, dur * rng.uniform(0.8, 1.0)) * (0.75 + 0.25 * _decay(t, rng.uniform(0.05, 0.2)))
        body = np.sin(_sweep_phase(t, f0, f1, tau)) * env
        body = _drive(body, rng.uniform(1.0, 2.5))
        click = _filt(_noise(rng, len(t)), sr, "highpass", rng.uniform(1000, 3000)) * _decay(t, rng.uniform(0.003, 0.008))
        return body + rng.uniform(0.03, 0.12) * click

    if style == "909":
        dur = rng.uniform(0.3, 0.6)
        f0, f1, tau = rng.uniform(200, 320), rng.uniform(45, 65), rng.uniform(0.008, 0.025)
        t = _time(dur, sr)
        env = _decay(t, dur * rng.uniform(0.6, 0.9))
        body = _drive(np.sin(_sweep_phase(t, f0, f1, tau)) * env, rng.uniform(1.5, 4.0))
        noise = _filt(_noise(rng, len(t)), sr, "bandpass", (rng.uniform(800, 2000), rng.uniform(5000, 9000)))
        click = noise * _decay(t, rng.uniform(0.008, 0.025))
        pulse = np.sin(2 * np.pi * rng.uniform(900, 1600) * t) * _decay(t, 0.004)  # 909 attack pulse
        return body + rng.uniform(0.06, 0.2) * click + rng.uniform(0.05, 0.2) * pulse

    # acoustic
    dur = rng.uniform(0.3, 0.7)
    f0, f1, tau = rng.uniform(150, 220), rng.uniform(50, 75), rng.uniform(0.01, 0.03)
    t = _time(dur, sr)
    body = np.sin(_sweep_phase(t, f0, f1, tau)) * _decay(t, dur * rng.uniform(0.5, 0.8))
    shell_f = f1 * rng.uniform(1.45, 1.7)
    shell = np.sin(_sweep_phase(t, shell_f * 1.15, shell_f, 0.02)) * _decay(t, rng.uniform(0.1, 0.25))
    beater = _filt(_noise(rng, len(t)), sr, "bandpass", (rng.uniform(1200, 2000), rng.uniform(4000, 7000)))
    beater *= _decay(t, rng.uniform(0.01, 0.04))
    thud = _filt(_noise(rng, len(t)), sr, "lowpass", rng.uniform(200, 400)) * _decay(t, rng.uniform(0.05, 0.12))
    y = (body + rng.uniform(0.15, 0.35) * shell + rng.uniform(0.05, 0.15) * beater
         + rng.uniform(0.1, 0.3) * thud)
    return _filt(y, sr, "lowpass", rng.uniform(3000, 9000))


# --------------------------------------------------------------------------- snare

def _snare(style: str, rng: np.random.Generator, sr: int) -> np.ndarray:
    if style == "lofi":
        y = _snare(("808", "909", "acoustic")[int(rng.integers(3))], rng, sr)
        return _lofi(y, rng, sr, lp=(6000, 8000))

    f = rng.uniform(150, 250)
    if style == "808":
        dur = rng.uniform(0.2, 0.4)
        ratios = np.array([1.0, rng.uniform(1.55, 1.8)])
        wires_band = (rng.uniform(1500, 3000), rng.uniform(9000, 14000))
        noise_gain, drive = rng.uniform(0.4, 1.0), rng.uniform(1.0, 1.5)
    elif style == "909":
        dur = rng.uniform(0.2, 0.45)
        ratios = np.array([1.0, rng.uniform(1.45, 1.6), rng.uniform(2.0, 2.3)])
        wires_band = (rng.uniform(1000, 2500), rng.uniform(8000, 12000))
        noise_gain, drive = rng.uniform(0.5, 1.2), rng.uniform(1.3, 3.0)
    else:  # acoustic
        dur = rng.uniform(0.25, 0.6)
        ratios = np.array([1.0, rng.uniform(1.5, 1.65), rng.uniform(2.1, 2.35)])
        wires_band = (rng.uniform(600, 1500), rng.uniform(7000, 11000))
        noise_gain, drive = rng.uniform(0.4, 1.0), rng.uniform(1.0, 1.6)
    t = _time(dur, sr)
    freqs = f * ratios * rng.uniform(0.98, 1.02, len(ratios))  # detuned heads
    amps = np.array([1.0, 0.6, 0.35][: len(ratios)]) * rng.uniform(0.6, 1.2, len(ratios))
    t60s = rng.uniform(0.06, 0.2) * np.array([1.0, 0.8, 0.6][: len(ratios)])
    fall = rng.uniform(1.03, 1.15)  # the head pitch drops a little after the hit
    ph = 2 * np.pi * (freqs[:, None] * t[None, :] + freqs[:, None] * (fall - 1) * 0.01 * (1 - np.exp(-t / 0.01)))
    tone = (amps[:, None] * np.sin(ph) * np.exp(-6.907755 * t[None, :] / t60s[:, None])).sum(axis=0) / amps.sum()
    wires = _filt(_noise(rng, len(t)), sr, "bandpass", wires_band)
    wires *= _decay(t, dur * rng.uniform(0.6, 0.95)) * (0.5 + 0.5 * _decay(t, rng.uniform(0.03, 0.08)))
    wires /= np.std(wires[: int(0.02 * sr)]) + 1e-9
    y = tone + 0.5 * noise_gain * wires
    if style == "acoustic":
        crack = _filt(_noise(rng, len(t)), sr, "highpass", rng.uniform(2000, 4000)) * _decay(t, rng.uniform(0.004, 0.012))
        y = y + rng.uniform(0.2, 0.6) * crack
        y = _filt(y, sr, "lowpass", rng.uniform(9000, 15000))
    return _drive(y, drive)


# --------------------------------------------------------------------------- clap

def _clap(style: str, rng: np.random.Generator, sr: int) -> np.ndarray:
    if style == "lofi":
        y = _clap(("808", "909", "acoustic")[int(rng.integers(3))], rng, sr)
        return _lofi(y, rng, sr, lp=(6000, 8000), hold=(2, 3), drive=(1.0, 1.8))  # keep the bursts apart

    dur = rng.uniform(0.2, 0.6)
    t = _time(dur, sr)
    n_bursts = int(rng.integers(3, 5))
    if style == "808":
        fc, spacing, jitter = rng.uniform(900, 1500), rng.uniform(0.009, 0.013), 0.0015
    elif style == "909":
        fc, spacing, jitter = rng.uniform(1200, 2200), rng.uniform(0.008, 0.011), 0.001
    else:  # acoustic: real hands, looser timing, wider band
        fc, spacing, jitter = rng.uniform(900, 2000), rng.uniform(0.009, 0.013), 0.002
    onsets = np.cumsum(np.r_[0.0, spacing + rng.uniform(-jitter, jitter, n_bursts - 1)])
    onsets = np.maximum(onsets, np.r_[0.0, onsets[:-1] + 0.007])  # keep bursts apart
    band = (fc / rng.uniform(1.5, 2.2), fc * rng.uniform(1.6, 2.6))
    noise = _filt(_noise(rng, len(t)), sr, "bandpass", band)
    noise /= np.std(noise) + 1e-9
    tau = rng.uniform(0.0015, 0.003)
    env = np.zeros_like(t)
    for k, on in enumerate(onsets):  # n_bursts <= 4 vector ops, not a per-sample loop
        dt = t - on
        env += np.where(dt >= 0, rng.uniform(0.6, 1.0) * np.exp(-np.maximum(dt, 0) / tau), 0.0) * _attack(dt, 0.0004)
    tail_start = onsets[-1]
    dt = t - tail_start
    tail_t60 = rng.uniform(0.12, max(0.15, dur - tail_start) * 0.95)
    tail_env = np.where(dt >= 0, _decay(np.maximum(dt, 0), tail_t60), 0.0) * _attack(dt, 0.0005)
    tail = noise
    if style == "acoustic":  # the room: a darker, second noise band under the tail
        room = _filt(_noise(rng, len(t)), sr, "bandpass", (rng.uniform(400, 800), rng.uniform(3000, 5000)))
        tail = noise + rng.uniform(0.3, 0.7) * room / (np.std(room) + 1e-9)
    y = noise * env + rng.uniform(0.5, 0.9) * tail * tail_env
    return _drive(y, rng.uniform(1.0, 2.0))


# --------------------------------------------------------------------------- hats / cymbals

def _metal(style: str, t: np.ndarray, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Inharmonic metallic partials (before filtering), unit-ish level."""
    if style == "808":
        freqs = _808_METAL * rng.uniform(0.85, 1.5) * rng.uniform(0.985, 1.015, 6)
        return _squares(t, freqs, rng)
    if style == "909":
        freqs = rng.uniform(300, 500) * np.sort(rng.uniform(1.0, 6.0, 6))
        return _squares(t, freqs, rng) * 0.5 + _sines(t, freqs * rng.uniform(5, 9), rng) * 0.5
    # acoustic: ring modulation of two square banks -> dense sidebands
    a = _squares(t, _808_METAL * rng.uniform(0.9, 1.6) * rng.uniform(0.97, 1.03, 6), rng)
    b = _squares(t, np.sort(rng.uniform(1500, 4500, 3)), rng)
    return a * b


def _hat(style: str, rng: np.random.Generator, sr: int, open_: bool) -> np.ndarray:
    if style == "lofi":
        y = _hat(("808", "909", "acoustic")[int(rng.integers(3))], rng, sr, open_)
        y = _lofi(y, rng, sr, lp=(10000, 14000), hold=(1, 2), bits=(6, 10), drive=(1.5, 3.0))
        return _filt(y, sr, "highpass", rng.uniform(5000, 7000), order=2)

    if open_:
        dur = rng.uniform(0.3, 1.0)
        t60 = dur * rng.uniform(0.7, 0.95)
    else:
        dur = rng.uniform(0.05, 0.2)
        t60 = dur * rng.uniform(0.45, 0.75)
    t = _time(dur, sr)
    metal = _metal(style, t, rng, sr)
    noise_gain = {"808": (0.1, 0.5), "909": (0.5, 1.2), "acoustic": (0.3, 0.9)}[style]
    y = metal + rng.uniform(*noise_gain) * _noise(rng, len(t)) * 0.5
    y = _filt(y, sr, "highpass", rng.uniform(6500, 8500), order=4)
    if rng.uniform() < 0.5:  # some hats get a resonant, darker top
        y = _filt(y, sr, "lowpass", rng.uniform(12000, 17000))
    env = _decay(t, t60) * _attack(t, 0.0005)
    if style == "acoustic":  # the 'chick' of the two plates: an extra fast initial drop
        env *= 0.4 + 0.6 * _decay(t, rng.uniform(0.01, 0.03))
    return y * env


def _cymbal(style: str, rng: np.random.Generator, sr: int) -> np.ndarray:
    if style == "lofi":
        y = _cymbal(("808", "909", "acoustic")[int(rng.integers(3))], rng, sr)
        y = _lofi(y, rng, sr, lp=(10000, 14000), hold=(1, 2), bits=(6, 10), drive=(1.5, 3.0))
        return _filt(y, sr, "highpass", rng.uniform(4000, 6000), order=2)

    dur = rng.uniform(1.0, 2.5)
    t = _time(dur, sr)
    t60 = dur * rng.uniform(0.75, 0.95)
    if style == "808":
        # two square banks through two band-passes; the lower band dies sooner
        metal = _squares(t, _808_METAL * rng.uniform(0.9, 1.4) * rng.uniform(0.98, 1.02, 6), rng)
        low = _filt(metal, sr, "bandpass", (rng.uniform(3000, 3800), rng.uniform(5000, 6500))) * _decay(t, t60 * 0.35)
        high = _filt(metal, sr, "highpass", rng.uniform(7000, 8500), order=4) * _decay(t, t60)
        tonal = rng.uniform(0.2, 0.5) * low + high
        noise_gain = rng.uniform(0.05, 0.2)
    elif style == "909":
        a = _squares(t, _808_METAL * rng.uniform(1.0, 1.8) * rng.uniform(0.97, 1.03, 6), rng)
        b = _squares(t, np.sort(rng.uniform(2000, 6000, 4)), rng)
        tonal = _filt(a * b, sr, "highpass", rng.uniform(5500, 7500), order=4) * _decay(t, t60)
        noise_gain = rng.uniform(0.2, 0.5)
    else:  # acoustic: a bank of sine partials with individual decays + a faint bell
        n = int(rng.integers(40, 70))
        freqs = np.exp(rng.uniform(np.log(3000), np.log(min(16000, 0.45 * sr)), n))
        amps = rng.uniform(0.3, 1.0, n)
        t60s = t60 * rng.uniform(0.4, 1.0, n)
        shimmer = _sines(t, freqs, rng, amps, t60s)
        bell_f = rng.uniform(350, 900) * np.array([1.0, rng.uniform(2.6, 2.8), rng.uniform(4.1, 4.6)])
        bell = _sines(t, bell_f, rng, np.array([1.0, 0.6, 0.4]), t60 * rng.uniform(0.2, 0.5, 3))
        tonal = _filt(shimmer, sr, "highpass", 2500) + rng.uniform(0.05, 0.2) * bell
        noise_gain = rng.uniform(0.4, 0.8)
    wash = _filt(_noise(rng, len(t)), sr, "highpass", rng.uniform(5000, 7000), order=4)
    wash *= _decay(t, t60 * rng.uniform(0.6, 1.0))
    y = tonal / (np.std(tonal[: int(0.1 * sr)]) + 1e-9) + noise_gain * wash / (np.std(wash[: int(0.1 * sr)]) + 1e-9)
    swell = rng.uniform(0.002, 0.02)  # crashes bloom for a few ms
    return y * _attack(t, swell)


# --------------------------------------------------------------------------- tom

def _tom(style: str, rng: np.random.Generator, sr: int) -> np.ndarray:
    if style == "lofi":
        y = _tom(("808", "909", "acoustic")[int(rng.integers(3))], rng, sr)
        return _lofi(y, rng, sr, lp=(5000, 8000))

    dur = rng.uniform(0.3, 0.8)
    t = _time(dur, sr)
    f1 = np.exp(rng.uniform(np.log(80), np.log(250)))
    f0 = f1 * rng.uniform(1.1, 1.5)
    tau = rng.uniform(0.03, 0.1)
    t60 = dur * rng.uniform(0.6, 0.9)
    body = np.sin(_sweep_phase(t, f0, f1, tau)) * _decay(t, t60)
    if style == "808":
        hiss = _filt(_noise(rng, len(t)), sr, "lowpass", rng.uniform(1500, 4000)) * _decay(t, t60 * 0.3)
        return _drive(body + rng.uniform(0.03, 0.1) * hiss, rng.uniform(1.0, 1.8))
    if style == "909":
        noise = _filt(_noise(rng, len(t)), sr, "bandpass", (f1 * 3, f1 * 20)) * _decay(t, rng.uniform(0.03, 0.1))
        click = _filt(_noise(rng, len(t)), sr, "highpass", 3000) * _decay(t, 0.004)
        y = body + rng.uniform(0.1, 0.3) * noise + rng.uniform(0.05, 0.15) * click
        return _drive(y, rng.uniform(1.5, 3.5))
    # acoustic: circular membrane modes + stick attack + a little shell ring
    ratios = np.array([1.59, 2.14, 2.30]) * rng.uniform(0.98, 1.02, 3)
    modes = _sines(t, f1 * ratios, rng, np.array([0.5, 0.3, 0.2]), t60 * np.array([0.4, 0.3, 0.25]))
    attack = _filt(_noise(rng, len(t)), sr, "bandpass", (rng.uniform(1500, 2500), rng.uniform(5000, 8000)))
    attack *= _decay(t, rng.uniform(0.01, 0.03))
    y = body + rng.uniform(0.2, 0.5) * modes + rng.uniform(0.05, 0.15) * attack
    return _filt(y, sr, "lowpass", rng.uniform(4000, 10000))


# --------------------------------------------------------------------------- public API

_SYNTHS = {
    "kick": _kick,
    "snare": _snare,
    "clap": _clap,
    "hihat": lambda style, rng, sr: _hat(style, rng, sr, open_=False),
    "open hat": lambda style, rng, sr: _hat(style, rng, sr, open_=True),
    "tom": _tom,
    "cymbal": _cymbal,
}


# Shortest hit per type (seconds): the lower ends of the duration ranges.
_MIN_DUR = {"kick": 0.3, "snare": 0.2, "clap": 0.2, "hihat": 0.05, "open hat": 0.3, "tom": 0.3, "cymbal": 1.0}


def _finish(y: np.ndarray, sr: int, min_dur: float) -> np.ndarray:
    """DC/subsonic removal, dead-air trim, 5 ms fade-out, peak at -1 dBFS, float32.

    The tail is cut 10 ms after the last sample above -70 dB (bit-crushed tails
    fall to digital silence early), but never shorter than min_dur seconds.
    """
    y = _filt(np.asarray(y, dtype=np.float64), sr, "highpass", 20.0)
    loud = np.flatnonzero(np.abs(y) > 10 ** (-70 / 20) * np.max(np.abs(y)))
    if loud.size:
        y = y[: min(len(y), max(int(loud[-1] + 0.01 * sr), int(min_dur * sr)))]
    n_fade = min(int(0.005 * sr), len(y))
    if n_fade:
        y[-n_fade:] *= np.cos(np.linspace(0, np.pi / 2, n_fade)) ** 2
    peak = float(np.max(np.abs(y)))
    if not np.isfinite(peak) or peak == 0.0:
        raise RuntimeError("synthesis produced silent or non-finite audio")  # a bug, never user input
    return (y * (PEAK / peak)).astype(np.float32)


def synth_hit(drum_type: str, style: str, rng: np.random.Generator, sr: int = 44100) -> np.ndarray:
    """One synthesised drum hit: mono float32 (samples,), peak -1 dBFS.

    A pure function of its arguments: all randomness comes from `rng` (which it
    advances). Raises ValueError for an unknown drum type or style.
    """
    if drum_type not in _SYNTHS:
        raise ValueError(f"unknown drum type {drum_type!r}; choose from {', '.join(CLASSES)}")
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; choose from {', '.join(STYLES)}")
    return _finish(_SYNTHS[drum_type](style, rng, int(sr)), int(sr), _MIN_DUR[drum_type])


def _style_counts(per_class: int) -> list[int]:
    """How many hits of each style make up per_class hits (as even as possible)."""
    q, r = divmod(int(per_class), len(STYLES))
    return [q + (1 if k < r else 0) for k in range(len(STYLES))]


def _n_hits(per_class: int) -> int:
    return int(per_class) * len(CLASSES)


def starter_kit(seed: int = 0, per_class: int = 40, sr: int = 44100
                ) -> Iterator[tuple[str, str, str, np.ndarray]]:
    """Yield (drum_type, style, file_stem, audio) for per_class hits of every type.

    Hits are spread evenly over STYLES (10 each for per_class=40). Each hit has its
    own generator seeded from (seed, type, style, index), so the kit is
    deterministic by seed and a hit does not change when per_class changes.
    """
    if per_class < 0:
        raise ValueError("per_class must be >= 0")
    seed = int(seed) % (2 ** 63)
    for ci, si, i, drum_type, style, stem in _names(per_class):
        yield drum_type, style, stem, synth_hit(drum_type, style, np.random.default_rng([seed, ci, si, i]), sr)


def _names(per_class: int) -> Iterator[tuple[int, int, int, str, str, str]]:
    """(type index, style index, hit index, drum type, style, file stem) of every hit."""
    for ci, drum_type in enumerate(CLASSES):
        for si, (style, count) in enumerate(zip(STYLES, _style_counts(per_class))):
            for i in range(count):
                yield ci, si, i, drum_type, style, f"{_STEMS[drum_type][style]} {i + 1:02d}"


STARTER_MANIFEST = ".drummy-starter.json"   # the hits a starter-kit run wrote, so the next run replaces them


def write_starter_kit(outdir, seed: int = 0, per_class: int = 40, progress: bool = False) -> list[Path]:
    """Write OUTDIR/<type>/<style>/<stem>.wav (44.1 kHz, 24-bit) and return the paths.
    OUTDIR must be new, empty or an earlier starter kit, whose hits this one replaces as
    a set (no hit of another seed is left behind); anything else there is a
    LibraryError, and nothing is written."""
    from .library import LibraryError, earlier_run, plan_run, record_run
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise LibraryError(f"{outdir} is a file; give a folder for the starter kit")
    before, foreign = earlier_run(outdir, STARTER_MANIFEST)
    if foreign:
        raise LibraryError(f"{outdir} holds {foreign[0]}, which no starter kit wrote there (or which was edited "
                           "since); give a new or empty "
                           "folder (nothing there was changed)")
    plan_run(outdir, STARTER_MANIFEST, [outdir / t / st / f"{stem}.wav" for *_, t, st, stem in _names(per_class)],
             before)                                        # a Ctrl-C half-way: the rerun replaces all
    hits = starter_kit(seed=seed, per_class=per_class, sr=audio.SR)
    if progress:
        from tqdm import tqdm
        hits = tqdm(hits, total=_n_hits(per_class), desc="starter kit", unit="hit", mininterval=1.0)
    paths = []
    for drum_type, style, stem, y in hits:
        paths.append(audio.write(outdir / drum_type / style / f"{stem}.wav", y, sr=audio.SR))
    record_run(outdir, STARTER_MANIFEST, paths, before)    # and an earlier kit's hits this one has none of go
    return paths
