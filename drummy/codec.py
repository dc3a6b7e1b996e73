"""The sound representation the blend generator works in: one sinusoid plus
shaped noise ("sines + noise", as in spectral modelling synthesis).

A drum hit is, to the ear, a pitched body (the swept sine of a kick or tom, the
ring of a snare) plus noise shaped in time and frequency (wires, sticks, hats,
cymbals). `analyse` measures both on a 5.8 ms grid:

- row 0..bands-1: the noise envelope, dB of power per FFT bin in mel-spaced bands;
- row bands:      the body sine's amplitude, dB (floor when there is no clear tone);
- row bands+1:    the body sine's frequency, log2(f / 100 Hz).

`synthesise` turns that back into 44.1 kHz audio without any phase estimation:
the sine is integrated from its frequency track (its phase is coherent, so a
kick's sub stays a clean sweep) and the noise is white noise filtered by the
envelope in the STFT domain (noise has no phase to get wrong). Attacks land on
the first frame, whose window is centred on sample 0. Griffin-Lim and random
phase over the full spectrum were measured against this (BENCHMARKS.md).

Everything is pure: arrays or tensors in, arrays or tensors out.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from functools import lru_cache

# librosa's conversions need none of its numba code: no `features.warm_up` (and its lock) here
from librosa.core.convert import mel_frequencies
import numpy as np
import torch

from .audio import SR


@dataclass(frozen=True)
class CodecConfig:
    sr: int = SR                 # Hz
    seconds: float = 1.0         # length of every generated hit
    n_fft: int = 1024            # noise STFT: 23 ms window
    hop: int = 256               # 5.8 ms frames
    bands: int = 96              # mel-spaced noise bands
    fmin: float = 30.0           # lowest band centre, Hz
    fmax: float = 20000.0        # highest band centre, Hz
    sine_fft: int = 2048         # finer frequency grid for the body sine
    sine_fmin: float = 30.0      # body sine search range, Hz
    sine_fmax: float = 1000.0
    prominence_db: float = 12.0  # a peak this far above the band median counts as a tone ...
    tone_share_db: float = -25.0  # ... if it also holds this much of its frame's energy
    floor_db: float = -100.0     # quietest level represented, dB
    peak_db: float = -1.0        # hits are peak-normalised to this before analysis
    version: int = 3             # bump when analysis changes: cached codes are rebuilt

    @property
    def samples(self) -> int:
        return int(round(self.seconds * self.sr))

    @property
    def frames(self) -> int:
        return 1 + self.samples // self.hop

    @property
    def channels(self) -> int:
        return self.bands + 2

    def to_dict(self) -> dict:
        return asdict(self)


CODEC = CodecConfig()
AMP, FREQ = -2, -1  # rows of the sine's amplitude and frequency in a code
_CONFIGS = 16       # configs cached: the base one and one per ring-out length (`render`)


@lru_cache(maxsize=_CONFIGS)
def band_centres(cfg: CodecConfig) -> np.ndarray:
    """(bands,) Hz, read-only."""
    out = mel_frequencies(cfg.bands, fmin=cfg.fmin, fmax=cfg.fmax)
    out.setflags(write=False)
    return out


def _edges(cfg: CodecConfig) -> np.ndarray:
    """(bands + 2,) Hz: 0, the band centres, Nyquist; band i spans edges[i]..edges[i + 2]."""
    return np.concatenate([[0.0], band_centres(cfg), [cfg.sr / 2]])


@lru_cache(maxsize=_CONFIGS)
def band_bins(cfg: CodecConfig = CODEC) -> np.ndarray:
    """(bands,): how many FFT bins each triangular band covers (its half-height width), read-only."""
    e = _edges(cfg)
    out = (e[2:] - e[:-2]) / 2 * cfg.n_fft / cfg.sr
    out.setflags(write=False)
    return out


@lru_cache(maxsize=_CONFIGS)
def _band_matrix(cfg: CodecConfig) -> np.ndarray:
    """(bands, bins): triangular bands around the centres, each averaging power per bin."""
    freqs = np.fft.rfftfreq(cfg.n_fft, 1 / cfg.sr)
    edges = _edges(cfg)
    lo, c, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    fb = np.maximum(0, np.minimum((freqs - lo) / (c - lo), (hi - freqs) / (hi - c)))
    # Bands narrower than a bin still take the nearest bin.
    empty = fb.sum(1) == 0
    fb[empty, np.abs(freqs[None] - c[empty]).argmin(1)] = 1.0
    return fb / fb.sum(1, keepdims=True)


@lru_cache(maxsize=_CONFIGS)
def _interp_weights(cfg: CodecConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Linear interpolation of band levels onto FFT bins: for each bin (bins,) the band
    below and above it and their weights (bins, 1) (np.interp's: the ends hold)."""
    freqs = np.fft.rfftfreq(cfg.n_fft, 1 / cfg.sr)
    centres = band_centres(cfg)
    hi = np.clip(np.searchsorted(centres, freqs, side="right"), 1, cfg.bands - 1)
    lo = hi - 1
    w_hi = np.clip((freqs - centres[lo]) / (centres[hi] - centres[lo]), 0.0, 1.0)
    t = lambda a: torch.tensor(a, dtype=torch.float32)[:, None]   # noqa: E731
    return torch.tensor(lo), torch.tensor(hi), t(1 - w_hi), t(w_hi)


def interp_bands(bands: torch.Tensor, cfg: CodecConfig = CODEC) -> torch.Tensor:
    """Band levels (B, bands, frames) -> levels at every FFT bin (B, bins, frames), linear
    between band centres (two gathers: a quarter of a dense matmul's time)."""
    lo, hi, w_lo, w_hi = _interp_weights(cfg)
    return torch.index_select(bands, 1, lo) * w_lo + torch.index_select(bands, 1, hi) * w_hi


@lru_cache(maxsize=8)
def _hann(n: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """torch.hann_window(n), made once (two a hit cost 0.15 ms). Not to be written to."""
    return torch.hann_window(n, dtype=dtype)


def _stft(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    return torch.stft(x, n_fft, hop, window=_hann(n_fft, x.dtype), center=True,
                      return_complex=True)


@lru_cache(maxsize=_CONFIGS)
def _ola_norm(cfg: CodecConfig) -> torch.Tensor:
    """(samples,): 1 / the summed squared windows under each output sample of `_istft`."""
    n, hop, frames = cfg.n_fft, cfg.hop, cfg.frames
    win2 = torch.hann_window(n, dtype=torch.float64) ** 2
    env = torch.zeros(n + hop * (frames - 1), dtype=torch.float64)
    for t in range(frames):
        env[t * hop: t * hop + n] += win2
    return (1 / env[n // 2: n // 2 + cfg.samples]).float()


def _istft(S: torch.Tensor, cfg: CodecConfig) -> torch.Tensor:
    """torch.istft(S, center=True, hann window) for spectra (B, bins, T) -> (B,
    cfg.samples), faster: n_fft is a whole number of hops, so the overlap-add
    is that many shifted adds of hop-long chunks, and the window envelope is cached.
    T may be fewer than cfg.frames: the missing frames are silent (and cost nothing)."""
    n, hop = cfg.n_fft, cfg.hop
    B, _, T = S.shape
    if n % hop or T > cfg.frames:
        if T < cfg.frames:
            S = torch.nn.functional.pad(S, (0, cfg.frames - T))
        return torch.istft(S, n, hop, window=_hann(n), center=True, length=cfg.samples)
    k = n // hop
    fr = torch.fft.irfft(S.transpose(1, 2), n, dim=2) * _hann(n)               # (B, T, n)
    fr = fr.view(B, T, k, hop)                                                 # chunk i of frame t -> hop t + i
    out = fr.new_zeros(B, max(T + k - 1, (n // 2 + cfg.samples + hop - 1) // hop), hop)
    for i in range(k):
        out[:, i:i + T] += fr[:, :, i]
    return out.flatten(1)[:, n // 2: n // 2 + cfg.samples] * _ola_norm(cfg)


def normalise(y: np.ndarray, cfg: CodecConfig = CODEC) -> np.ndarray:
    """First cfg.seconds of a hit, zero-padded, peak at cfg.peak_db: (samples,) float64."""
    y = np.asarray(y, np.float64)[: cfg.samples]
    y = np.pad(y, (0, cfg.samples - len(y)))
    return y / (np.abs(y).max() + 1e-12) * 10 ** (cfg.peak_db / 20)


def sine_track(y: np.ndarray, cfg: CodecConfig = CODEC) -> tuple[np.ndarray, np.ndarray]:
    """The body sine of a hit: frequency (Hz) and amplitude per frame, (frames,) each.
    Amplitude is 0 in frames without a peak cfg.prominence_db above its band's median."""
    X = _stft(torch.as_tensor(y, dtype=torch.float64), cfg.sine_fft, cfg.hop).abs().numpy()
    lo = max(1, int(np.ceil(cfg.sine_fmin * cfg.sine_fft / cfg.sr)))
    hi = int(cfg.sine_fmax * cfg.sine_fft / cfg.sr) + 1
    band = X[lo:hi] + 1e-12                                    # (bins, frames)
    k = band.argmax(0)
    t = np.arange(band.shape[1])
    a, b, c = (np.log(X[lo + k + d, t] + 1e-12) for d in (-1, 0, 1))  # neighbours from the full spectrum
    p = np.clip(0.5 * (a - c) / np.minimum(a - 2 * b + c, -1e-9), -0.5, 0.5)  # parabolic peak offset
    freq = (lo + k + p) * cfg.sr / cfg.sine_fft
    peak = np.exp(b - 0.25 * (a - c) * p)
    amp = 2 * peak / np.hanning(cfg.sine_fft + 1)[:-1].sum()
    # A tone must stand out of its band and carry a fair share of the frame's energy:
    # the mains hum under a hi-hat is prominent but inaudible, and would come back as a whistle.
    share_db = 10 * np.log10(2 * peak ** 2 / (np.sum(X ** 2, 0) + 1e-20))
    tonal = (20 * np.log10(peak / np.median(band, 0)) > cfg.prominence_db) & (share_db > cfg.tone_share_db)
    # A median over 3 frames stops the track hopping between two close partials.
    freq = np.concatenate([freq[:1], np.median(np.stack([freq[:-2], freq[1:-1], freq[2:]]), 0), freq[-1:]])
    return freq, np.where(tonal, amp, 0.0)


def analyse(y: np.ndarray, cfg: CodecConfig = CODEC) -> np.ndarray:
    """Code of a mono hit at cfg.sr: (channels, frames) float32 (see the module docstring)."""
    x = normalise(y, cfg)
    freq, amp = sine_track(x, cfg)
    amp_db = 20 * np.log10(np.maximum(amp, 10 ** (cfg.floor_db / 20)))
    sine = _sine(torch.tensor(freq[None]), torch.tensor(amp[None]), cfg)[0]
    P = _stft(torch.as_tensor(x), cfg.n_fft, cfg.hop).abs().numpy() ** 2   # (bins, frames)
    S = _stft(sine, cfg.n_fft, cfg.hop).abs().numpy() ** 2
    wpow = float((torch.hann_window(cfg.n_fft, dtype=torch.float64) ** 2).sum())
    noise_db = 10 * np.log10(_band_matrix(cfg) @ np.maximum(P - S, 0) / wpow + 1e-30)
    code = np.concatenate([np.maximum(noise_db, cfg.floor_db), amp_db[None], np.log2(freq / 100)[None]])
    return code.astype(np.float32)


def tilt(code: torch.Tensor, db_per_octave: torch.Tensor, cfg: CodecConfig = CODEC,
         pivot: float | torch.Tensor = 1000.0) -> torch.Tensor:
    """A tilt EQ on the noise of codes (B, channels, frames): each band moves by
    db_per_octave (B,) per octave away from pivot Hz (a number, or (B,) per hit).
    The body sine is untouched, so a kick's sub and a tom's pitch stay where they were."""
    pivot = torch.as_tensor(pivot, dtype=code.dtype).expand(code.shape[0])              # (B,)
    octaves = torch.log2(torch.tensor(band_centres(cfg), dtype=code.dtype)[None] / pivot[:, None])  # (B, bands)
    out = code.clone()
    out[:, : cfg.bands] = code[:, : cfg.bands] + (db_per_octave[:, None] * octaves)[:, :, None]
    return out


def transpose(code: torch.Tensor, semitones: torch.Tensor, cfg: CodecConfig = CODEC) -> torch.Tensor:
    """Codes (B, channels, frames) moved up by semitones (B,), as a sampler transposes a
    hit, but keeping its length: the body sine by exactly that much (no lower than
    sine_fmin) and the noise's spectrum with it. Each band takes the level found that
    many semitones below it (linear in power between band centres; silent where that
    lies outside the bands), its power per bin scaled so the noise keeps its energy."""
    out = code.clone()
    st = semitones.to(code.dtype)
    logf = torch.log2(torch.tensor(band_centres(cfg), dtype=code.dtype))                   # (bands,)
    src = logf[None] - st[:, None] / 12                                                    # (B, bands): where each band's level comes from
    i = torch.searchsorted(logf.contiguous(), src.contiguous()).clamp(1, cfg.bands - 1)    # (B, bands)
    w = ((src - logf[i - 1]) / (logf[i] - logf[i - 1]))[..., None]                         # (B, bands, 1)
    lo = code[:, : cfg.bands].gather(1, (i - 1)[..., None].expand(-1, -1, code.shape[-1]))
    hi = code[:, : cfg.bands].gather(1, i[..., None].expand(-1, -1, code.shape[-1]))
    w = w.clamp(0, 1)                                     # power, not dB, between centres: a lone peak keeps its level
    power = (1 - w) * torch.pow(10.0, lo / 10) + w * torch.pow(10.0, hi / 10)
    level = 10 * torch.log10(power.clamp(min=1e-30)) - 10 * np.log10(2.0) * st[:, None, None] / 12   # dB per bin
    outside = ((src < logf[0]) | (src > logf[-1]))[..., None]
    moved = torch.where(outside, torch.full_like(level, cfg.floor_db), level.clamp(min=cfg.floor_db))
    keep = (st == 0)[:, None, None]
    out[:, : cfg.bands] = torch.where(keep, code[:, : cfg.bands], moved)
    out[:, FREQ] = torch.where(keep[:, 0], code[:, FREQ], (code[:, FREQ] + st[:, None] / 12).clamp(
        min=float(np.log2(cfg.sine_fmin / 100))))
    return out


def fade_in(code: torch.Tensor, ms: torch.Tensor, cfg: CodecConfig = CODEC) -> torch.Tensor:
    """Codes (B, channels, frames) with a sampler's attack: their level (noise bands and body
    sine) ramped up linearly in amplitude from silence at frame 0 to full at `ms` (B,)
    milliseconds; a hit with ms 0 is left as it is."""
    t = torch.arange(code.shape[-1], dtype=code.dtype) * (1000 * cfg.hop / cfg.sr)       # (T,) ms
    ramp = (t[None] / ms.to(code.dtype).clamp(min=1e-6)[:, None]).clamp(max=1.0)          # (B, T)
    ramp = torch.where((ms > 0)[:, None], ramp, torch.ones_like(ramp))
    gain_db = 20 * torch.log10(ramp.clamp(min=1e-5))[:, None]                              # (B, 1, T)
    out = code.clone()
    out[:, : cfg.bands] = (code[:, : cfg.bands] + gain_db).clamp(min=cfg.floor_db)
    out[:, AMP] = (code[:, AMP] + gain_db[:, 0]).clamp(min=cfg.floor_db)
    return out


def stretch_tail(code: torch.Tensor, factor: torch.Tensor, cfg: CodecConfig = CODEC, search: int = 12) -> torch.Tensor:
    """Codes (B, channels, frames) whose course after their peak (the loudest of the first `search`
    frames) is stretched in time by factor (B,), as a sampler's decay knob: frame t plays the
    original's p + (t - p) / factor, between frames linearly in dB; past the original's end (a shorter
    decay), its last frames' fall goes on, at least 20 dB/s of the original's time (a crash asked for
    --decay -1 stopped at -32 dB, cut). A variation's --decay: asked of the decoder, the move was
    undone by `likeness`, which puts the reference's own course back on every variation."""
    B, C, T = code.shape
    peak = envelope_db(code[..., :search], cfg).argmax(1).to(code.dtype)               # (B,)
    t = torch.arange(T, dtype=code.dtype)[None]                                        # (1, T)
    src = torch.where(t > peak[:, None], peak[:, None] + (t - peak[:, None]) / factor.to(code.dtype)[:, None], t)
    lo = src.floor().long().clamp(max=T - 1)                                           # (B, T)
    w = (src - lo.to(code.dtype)).clamp(0, 1)[:, None]
    at = lambda i: code.gather(2, i[:, None].expand(-1, C, -1))                        # noqa: E731
    out = at(lo) * (1 - w) + at((lo + 1).clamp(max=T - 1)) * w
    edge = cfg.sine_fft // (2 * cfg.hop)                # (the last frames' windows reach past the end: they dip)
    last = T - 1 - edge
    slope = _end_slope(code[..., : last + 1], 20).clamp(max=-20.0 * cfg.hop / cfg.sr)   # (B, C) dB a frame
    ext = (code[..., last: last + 1] + (src - last).clamp(min=0)[:, None] * slope[..., None]).clamp(min=cfg.floor_db)
    past = (src > last)[:, None].expand(-1, C, -1).clone()
    past[:, FREQ] = False                                                              # (the pitch holds)
    return torch.where(past, ext, out)


def body_note(code: torch.Tensor, seconds: float = 0.4, quiet_db: float = -40.0,
              cfg: CodecConfig = CODEC, heard: bool = True) -> torch.Tensor:
    """Codes (B, channels, frames) -> the note the body sine is heard at, log2(Hz / 100) (B,):
    as `features.pitch` hears a hit, the strongest peak of the spectrum of its sine (the frames
    louder than quiet_db) over the first `seconds` after 5 ms, under a Hann window; the note is
    then the level-weighted mean frequency of the frames at that peak (within the window's
    resolution, 1 / seconds Hz). NaN for a hit whose sine never sounds.

    heard=False: the rule of audio versions up to 12 (`Generator.heard_note`), which summed the
    sine's amplitude per 2 Hz bin of frequency. A click's two frames at one frequency then
    outweighed a body that wobbled over a few hertz: Millo_MultiLayered3's bd_04 read 173 Hz, its
    body rings at 62-74 Hz, and its variations were tuned up to a 207 Hz knock."""
    if not heard:
        return _body_note_binned(code, seconds, quiet_db, cfg)
    stop = 1 + int(round(seconds * cfg.sr / cfg.hop))
    amp, freq = code[:, AMP, :stop + 1].float(), code[:, FREQ, :stop + 1].float()          # (B, T)
    w = torch.where(amp > quiet_db, torch.pow(10.0, amp / 20), torch.zeros_like(amp))
    down = 8                                                   # the sine alone, at 5.5 kHz: bodies reach 1 kHz
    low = replace(cfg, sr=cfg.sr / down, hop=cfg.hop // down, seconds=(stop + 1) * cfg.hop / cfg.sr)
    hz = (100 * torch.pow(2.0, freq.clamp(-4.0, 8.0))).clamp(max=0.45 * low.sr)
    y = _sine(hz, w, low)                                                                 # (B, samples)
    skip, n = int(round(0.005 * low.sr)), int(round(seconds * low.sr))
    seg = y[:, skip:skip + n].double().numpy()
    seg = seg * np.hanning(seg.shape[1])                                                  # (a code under 0.4 s: shorter)
    bins = np.fft.rfftfreq(1 << 15, 1 / low.sr)                                           # 0.17 Hz bins
    band = (bins >= cfg.sine_fmin) & (bins <= cfg.sine_fmax)
    # numpy's FFT, on one thread: torch's took 26 ms a hit beside a busy training, its threads waiting on each
    # other; 64 hits at a time: 1000 at once held 350 MB of spectra
    top = np.concatenate([np.abs(np.fft.rfft(seg[i:i + 64], n=1 << 15))[:, band].argmax(1) for i in range(0, len(seg), 64)])
    peak = torch.from_numpy(bins[band][top]).to(hz.dtype)[:, None]                        # (B, 1) Hz
    w, hz = w[:, 1:stop], hz[:, 1:stop]                                                   # after the first frame
    off = torch.where(w > 0, (hz - peak).abs(), torch.full_like(hz, float("inf")))
    near = off <= torch.clamp(off.min(1, keepdim=True).values, min=1 / seconds)          # the frames at the peak
    f = (w * near * hz).sum(1) / (w * near).sum(1).clamp(min=1e-30)
    return torch.where(w.sum(1) > 0, torch.log2(f / 100), torch.full_like(f, float("nan")))


SWEEP_FRAMES = 32    # a hit's first 186 ms: where a kick's body falls from its knock to its note (`pitch_sweep`)
SWEEP_BLEND = 8      # the last frames of them, over which a hit goes back to its own course (`follow_sweep`)
MAX_SWEEP = 2.0      # octaves over its note a body's sweep starts at most


def pitch_sweep(code: torch.Tensor, cfg: CodecConfig = CODEC, frames: int = SWEEP_FRAMES,
                quiet_db: float = -40.0) -> torch.Tensor:
    """Codes (B, C, T) -> how far each hit's body sine sits over its note (`body_note`), octaves, in its
    first `frames` frames: (B, frames). A real kick's falls from about an octave over its note at 10 ms
    to it by 100 ms: the lowest it has been so far (a quiet frame holds it), between 0 and MAX_SWEEP; 0
    before the sine is first heard over quiet_db, and for a hit with no note."""
    note = body_note(code, cfg=cfg)                                                         # (B,)
    amp, freq = code[:, AMP, :frames].float(), code[:, FREQ, :frames].float()
    on = (amp > quiet_db) & torch.isfinite(note)[:, None]
    over = torch.where(on, freq - torch.nan_to_num(note)[:, None], torch.full_like(freq, float("inf")))
    # only ever falling, and never under the note: the sine tracker of a real kick's code jumps between its
    # body and an overtone (60 -> 125 -> 57 Hz) or under it, and a hit that took those jumps warbled
    fall = torch.cummin(over, 1)[0]
    return torch.where(torch.isfinite(fall), fall, torch.zeros_like(fall)).clamp(0.0, MAX_SWEEP)


def follow_sweep(code: torch.Tensor, sweep: torch.Tensor, cfg: CodecConfig = CODEC) -> torch.Tensor:
    """Codes (B, C, T) whose body sine follows sweep (B, frames) over its note (`pitch_sweep`) in their
    first frames, going back to their own course over the last SWEEP_BLEND of them. A decoder trained on
    real kits made kicks' bodies flat, or rising, from under their note (47-66 Hz at 10 ms against the
    training kicks' 116-127 Hz): 3-13 % of their energy lay at 20-40 Hz against 0.4 % of real kicks',
    and their knock sat 7 dB down. A hit with no note, or a zero sweep, is left as it is."""
    k = min(sweep.shape[1], code.shape[-1])
    swept = (sweep[:, :k] != 0).any(1)                        # only their notes are read (an FFT a hit)
    note = torch.full((len(code),), float("nan"), dtype=torch.float32)
    if bool(swept.any()):
        note[swept] = body_note(code[swept], cfg=cfg).float()                               # (B,)
    move = torch.isfinite(note) & swept
    if not bool(move.any()):
        return code
    w = torch.ones(k)
    w[k - min(SWEEP_BLEND, k):] = torch.linspace(1, 0, min(SWEEP_BLEND, k) + 1)[1:]         # (k,) 1 .. 1/B .. 0
    out = code.clone()
    own = code[move, FREQ, :k]
    lowest = float(np.log2(cfg.sine_fmin / 100))                  # no lower than the lowest body the codec knows
    out[move, FREQ, :k] = (w * (note[move, None] + sweep[move, :k]) + (1 - w) * own).clamp(min=lowest).to(code.dtype)
    return out


def _body_note_binned(code: torch.Tensor, seconds: float, quiet_db: float, cfg: CodecConfig,
                      bin_hz: float = 2.0) -> torch.Tensor:
    """`body_note` as audio versions up to 12 read it: where the sine's amplitude, summed over the
    frames it spends at a frequency (bins of bin_hz), is largest."""
    stop = 1 + int(round(seconds * cfg.sr / cfg.hop))
    amp, freq = code[:, AMP, 1:stop], code[:, FREQ, 1:stop]                                 # (B, T)
    w = torch.where(amp > quiet_db, torch.pow(10.0, amp / 20), torch.zeros_like(amp))
    hz = 100 * torch.pow(2.0, freq.clamp(-4.0, 8.0))
    bins = int(cfg.sine_fmax / bin_hz) + 2
    idx = (hz / bin_hz).round().long().clamp(0, bins - 1)
    hist = torch.zeros(code.shape[0], bins, dtype=w.dtype).scatter_add_(1, idx, w)           # (B, bins)
    hist = hist + 0.5 * (torch.roll(hist, 1, 1) + torch.roll(hist, -1, 1))                   # a peak between two bins
    peak = hist.argmax(1, keepdim=True)                                                      # (B, 1)
    near = (idx - peak).abs() <= 1                                                           # the frames at the peak
    f = (w * near * hz).sum(1) / (w * near).sum(1).clamp(min=1e-30)
    return torch.where(w.sum(1) > 0, torch.log2(f / 100), torch.full_like(f, float("nan")))


BALANCE_SECONDS = 0.5   # the start of a hit whose body-tone-to-noise balance is read (`tone_balance`)
NO_TONE_DB = -60.0      # the balance of a hit with no audible body tone


def tone_balance(code: torch.Tensor, cfg: CodecConfig = CODEC) -> torch.Tensor:
    """Codes (B, channels, frames) in dB -> (B,) dB: the body sine's energy against the noise's
    over the first BALANCE_SECONDS (`band_power`), NO_TONE_DB..60 (a sine at or under
    SINE_FLOOR_DB is no tone). Real snares sit near -8 dB (a skin's noise over a faint tone),
    real toms near +2.5 dB, hats at NO_TONE_DB."""
    stop = max(1, int(BALANCE_SECONDS * cfg.sr / cfg.hop))
    noise, sine = band_power(code[..., :stop], cfg)
    sine = torch.where(code[:, AMP, :stop] <= SINE_FLOOR_DB, torch.zeros_like(sine), sine)
    ratio = sine.sum(1) / noise.sum((1, 2)).clamp(min=1e-30)
    return (10 * torch.log10(ratio.clamp(min=1e-30))).clamp(NO_TONE_DB, 60.0)


def no_more_tonal(code: torch.Tensor, balance_db: torch.Tensor, cfg: CodecConfig = CODEC) -> torch.Tensor:
    """Codes (B, channels, frames) whose body sine is turned down, the whole hit through, as far as
    makes its `tone_balance` no higher than balance_db (B,); the noise is untouched."""
    excess = (tone_balance(code, cfg) - balance_db).clamp(min=0.0)                        # (B,) dB
    if not bool((excess > 0).any()):
        return code
    out = code.clone()
    out[:, AMP] = (code[:, AMP] - excess[:, None]).clamp(min=cfg.floor_db)
    return out


GATE_STEEPER = 4.0   # how much faster a rung-out band falls once under the gate (`gate`'s `steeper`)


def gate(code: torch.Tensor, threshold_db: float, cfg: CodecConfig = CODEC, steeper: float | None = None
         ) -> torch.Tensor:
    """A noise gate on codes (B, channels, frames): noise bands quieter than threshold_db
    (dB, as in the code) drop to the floor; the body sine is untouched. A decoder
    cannot quite predict silence, so it leaves a faint hiss where real hits have none
    (under a hat's sizzle, after a hit has ended); the gate takes it out. steeper: a band
    that falls steadily (a tail `ring_out` made) goes under the gate that many times faster
    instead, to the floor: dropped there, a crash's bands under 600 Hz stopped in one frame at 1.5 s
    while the rest rang on (a wall a soloed or compressed hit lets you hear)."""
    out = code.clone()
    noise = code[:, : cfg.bands]
    under = torch.full_like(noise, cfg.floor_db) if steeper is None else \
        (threshold_db - steeper * (threshold_db - noise)).clamp(min=cfg.floor_db)
    out[:, : cfg.bands] = torch.where(noise < threshold_db, under, noise)
    return out


@lru_cache(maxsize=_CONFIGS)
def _band_width(cfg: CodecConfig, dtype: torch.dtype) -> torch.Tensor:
    """`band_bins` as a tensor, made once. Not to be written to."""
    return torch.tensor(band_bins(cfg), dtype=dtype)


def band_power(code: torch.Tensor, cfg: CodecConfig = CODEC) -> tuple[torch.Tensor, torch.Tensor]:
    """Codes (B, channels, frames) in dB -> the noise bands' power (power per bin x band
    width) (B, bands, frames) and the body sine's power (B, frames), on one scale: 100 is
    the sine's power per bin-equivalent."""
    width = _band_width(cfg, code.dtype)                                       # (bands,)
    to_power = np.log(10) / 10                                                  # dB -> power: exp beats pow 4x
    return torch.exp(code[:, : cfg.bands] * to_power) * width[None, :, None], 100 * torch.exp(code[:, AMP] * to_power)


def envelope_db(code: torch.Tensor, cfg: CodecConfig = CODEC) -> torch.Tensor:
    """Codes (B, channels, frames) -> level per frame (B, frames), dB: the noise bands'
    and the body sine's power (`band_power`)."""
    noise, sine = band_power(code, cfg)
    return 10 * torch.log10(noise.sum(1) + sine + 1e-20)


LIKENESS_DB = 30.0   # the most `likeness` moves a frame or a band of a decoded code, dB
LIKENESS_BANDS = 5   # bands its spectral balance is smoothed over (a quarter octave in the mids): the EQ, not the detail


def likeness(ref: torch.Tensor, rec: torch.Tensor, cfg: CodecConfig = CODEC, most_db: float = LIKENESS_DB
             ) -> torch.Tensor:
    """dB (B, channels, frames) to add to codes a decoder makes of a reference hit's latent (`follow`),
    from the reference's code ref and the decoder's own reconstruction of it, rec (B, channels, frames):
    the level of their noise, frame by frame, and of their body tone, only ever down (a tone the
    reference lacks goes down most_db; raised to the reference's, a variation's own louder tone went
    over it, and one in four snares' variations was heard as a kick), then the noise's spectral
    balance (each band's energy over the hit, smoothed over LIKENESS_BANDS), each at most most_db. The
    decoder hears a hit's first second in 98 numbers a frame and remakes it loosely: variations of
    held-out crashes came out at 0.41 of their length (median), claps' an octave brighter, and at 0.4
    of theirs. What it gets wrong of the reference it gets wrong of every variation near it, so the
    same correction puts each back, and their differences (the latent's spread) are kept."""
    (n_ref, _), (n_rec, _) = band_power(ref, cfg), band_power(rec, cfg)                    # (B, bands, T)
    out = torch.zeros_like(rec)
    out[:, : cfg.bands] = (10 * torch.log10(n_ref.sum(1) + 1e-20) - 10 * torch.log10(n_rec.sum(1) + 1e-20)
                           ).clamp(-most_db, most_db)[:, None]                                # the noise, frame by frame
    tone_ref, tone_rec = ref[:, AMP] > SINE_FLOOR_DB, rec[:, AMP] > SINE_FLOOR_DB               # (B, T) the tone's
    out[:, AMP] = torch.where(tone_ref, ref[:, AMP] - rec[:, AMP], torch.full_like(rec[:, AMP], -most_db)
                              ).clamp(-most_db, 0.0) * tone_rec                            # (B, T) <= 0
    n_rec = band_power(follow(rec, out, cfg), cfg)[0]
    db = 10 * torch.log10(n_ref.sum(-1) + 1e-20) - 10 * torch.log10(n_rec.sum(-1) + 1e-20)  # (B, bands)
    k = LIKENESS_BANDS
    db = torch.nn.functional.avg_pool1d(torch.nn.functional.pad(db[:, None], (k // 2, k // 2), mode="replicate"),
                                        k, stride=1)[:, 0]
    out[:, : cfg.bands] += db.clamp(-most_db, most_db)[..., None]
    return out


def follow(code: torch.Tensor, shift: torch.Tensor, cfg: CodecConfig = CODEC) -> torch.Tensor:
    """Codes (B, channels, frames) moved by shift (dB, the same shape: `likeness`) where they sound: a
    noise band at the floor and a sine at or under SINE_FLOOR_DB stay silent (a correction makes no
    sound out of none), and nothing goes under the floor."""
    out = code.clone()
    noise = code[:, : cfg.bands]
    out[:, : cfg.bands] = torch.where(noise > cfg.floor_db + 0.01, (noise + shift[:, : cfg.bands]).clamp(min=cfg.floor_db),
                                      noise)
    amp = code[:, AMP]
    out[:, AMP] = torch.where(amp > SINE_FLOOR_DB, (amp + shift[:, AMP]).clamp(min=cfg.floor_db), amp)
    return out


HOLE_DB = 20.0       # the deepest a variation may dip under its reference's level (`fill_holes`), dB
HOLE_RISE_DB = 6.0   # ... where it comes back up by more than this later: a dip, not its own faster decay
HOLE_SPAN_DB = 30.0  # ... in the frames where the reference is within this of its peak


def fill_holes(code: torch.Tensor, ref_env: torch.Tensor, cfg: CodecConfig = CODEC) -> torch.Tensor:
    """Codes (B, channels, frames) of variations, each frame that dips more than HOLE_DB under its
    reference's level ref_env (B, frames) dB (`envelope_db`), and comes back up later by more than
    HOLE_RISE_DB, raised (every band and the tone that sound) to the higher of those two bounds' lower.
    A decoder trained briefly on a few crashes remade an open hat with a 60 dB hole at 0.5 s, deeper
    than `likeness` fills: its variations went quiet for a tenth of a second and swelled back, a
    choked crash hit twice. A variation that decays faster than its reference does not come back
    up, and a reference's own dips (a clap's bursts) are the variation's to keep."""
    env = envelope_db(code, cfg)                                                       # (B, T)
    later = env.flip(-1).cummax(-1).values.flip(-1)                                    # (B, T) the loudest from here on
    live = ref_env > ref_env.amax(-1, keepdim=True) - HOLE_SPAN_DB
    lift = (torch.minimum(ref_env - HOLE_DB, later - HOLE_RISE_DB) - env).clamp(min=0) * live   # (B, T) dB
    if not bool((lift > 0).any()):
        return code
    return follow(code, lift[:, None].expand(-1, code.shape[1], -1), cfg)


SWELL_DB = 4.0       # the most a recipe's hit may swell back (`no_swell`): no real kick, snare, tom, clap or hat does 3.9
SWELL_SMOOTH_S = 0.1   # ... in its level smoothed over this (a beating body's notches are no swell)
SWELL_AFTER_S = 0.05   # ... from this long after its peak (a clap's bursts come before)
SWELL_PEAK_S = 0.2     # ... its peak: the loudest frame of its start (a swell can outdo it: a kick loudest at 0.8 s)


def no_swell(code: torch.Tensor, cfg: CodecConfig = CODEC, most_db: float = SWELL_DB) -> torch.Tensor:
    """Codes (B, channels, frames) of recipes' hits whose level, smoothed over SWELL_SMOOTH_S, comes back up
    more than most_db over the quietest it has been since SWELL_AFTER_S past its peak (the loudest frame of its
    first SWELL_PEAK_S), turned down to that
    (every band and the tone alike). A decoder asked for a longer kick than it has heard made some that fell
    to -40 dB by 0.5 s and swelled back to -27 by 0.9 s: the loudest point of a "kick" late in its tail,
    then held there as it rang out. Smoothed so, the level of a real training hit (the benchmark's 560)
    came back up at most 3.9 dB for kicks, snares, toms, claps and hats, and 6-8 dB for 2 of 200 cymbals and
    open hats; a beating kick's notches, a few frames deep, are not counted."""
    env = envelope_db(code, cfg)                                                        # (B, T) dB
    k = max(1, round(SWELL_SMOOTH_S * cfg.sr / cfg.hop))
    power = torch.nn.functional.pad((10 ** (env / 10))[:, None], ((k - 1) // 2, k // 2), mode="replicate")
    smooth = 10 * torch.log10(torch.nn.functional.avg_pool1d(power, k, 1)[:, 0] + 1e-20)   # (B, T) dB
    t = torch.arange(env.shape[1])
    peak = env[:, : round(SWELL_PEAK_S * cfg.sr / cfg.hop)].argmax(1, keepdim=True)         # (B, 1)
    after = t[None] >= peak + round(SWELL_AFTER_S * cfg.sr / cfg.hop)                      # (B, T)
    low = torch.where(after, smooth, torch.full_like(smooth, float("inf"))).cummin(1).values
    cut = (smooth - low - most_db).clamp(min=0) * after                                  # (B, T) dB
    if not bool((cut > 0).any()):
        return code
    return follow(code, -cut[:, None].expand(-1, code.shape[1], -1), cfg)


MAX_LIFT_DB = 40.0   # a code further under LEVEL_DB than this is a decoder's near-silence (a silent hit, left out), not a hit
LEVEL_DB = 11.0   # the loudest frame (`envelope_db`) a hit is raised to where it is quieter: the gate, `end_tone`
                  # and `synthesise`'s floor (-60 dB) then sit at least 60 dB under it. Real hits at the codec's
                  # peak: 10-25 dB (the 646 benchmark training hits; median 17.2), their cuts 70-85 dB under


def level_up(code: torch.Tensor, cfg: CodecConfig = CODEC, level_db: float = LEVEL_DB) -> torch.Tensor:
    """Codes (B, channels, frames) whose loudest frame is under level_db, raised to it whole (noise
    bands and body sine; silence stays silence); the others as they are. A decoder now and then
    makes a hit far quieter than any real one (the demo's toms: 16-40 dB under real toms), which
    its written file, brought to -1 dBFS, does not show; but the gate, `end_tone` and `synthesise`
    cut at levels set against real hits', so such a hit lost its tail 25-35 dB under its peak."""
    lift = (level_db - envelope_db(code, cfg).amax(1)).nan_to_num(0.0).clamp(min=0)  # (B,) dB
    lift = torch.where(lift > MAX_LIFT_DB, torch.zeros_like(lift), lift)   # near-silence is no quiet hit: left to the gate
    if not bool((lift > 0).any()):
        return code
    out = code.clone()
    level = code[:, :FREQ]                                                            # (B, bands + 1, T) dB
    out[:, :FREQ] = torch.where(level > cfg.floor_db + 0.01, level + lift[:, None, None], level)   # (`synthesise`'s silence)
    return out


def end_tone(code: torch.Tensor, cfg: CodecConfig = CODEC, threshold_db: float = -60.0) -> torch.Tensor:
    """Codes (B, channels, frames) whose body sine, once it has fallen to threshold_db
    (dB, as in the code) after its loudest frame, stays silent. A decoder's dying tone
    hovers about the level where `synthesise` drops it, and came back as a blip after
    the hit had ended (6-16 % of generated hits, per type)."""
    amp = code[:, AMP]                                                              # (B, T)
    after = torch.arange(amp.shape[1])[None] > amp.argmax(1, keepdim=True)
    died = torch.cummax((after & (amp <= threshold_db)).long(), 1)[0].bool()        # (B, T)
    out = code.clone()
    out[:, AMP] = torch.where(died, torch.full_like(amp, cfg.floor_db), amp)
    return out


def end_hit(code: torch.Tensor, cfg: CodecConfig = CODEC, below_db: float = 70.0, ms: float = 50.0,
            env: torch.Tensor | None = None) -> torch.Tensor:
    """Codes (B, channels, frames) that, once they have stayed below_db under their
    peak for ms after it, stay silent (noise and sine). A struck drum does not come
    back after 50 ms of silence; a decoder now and then does, a late burst of noise
    in about one generated clap in 25. (The frame logic runs in numpy: as a dozen
    small torch ops it cost 0.3 ms a hit.) env: the codes' `envelope_db`, if already
    worked out."""
    env = (envelope_db(code, cfg) if env is None else env).numpy()                  # (B, T)
    T, k = env.shape[1], max(1, int(np.ceil(ms / 1000 * cfg.sr / cfg.hop)))
    quiet = (env < env.max(1, keepdims=True) - below_db) & (np.arange(T)[None] > env.argmax(1)[:, None])
    runs = np.cumsum(np.pad(quiet, ((0, 0), (k, 0))), 1)                            # (B, k + T)
    ended = np.maximum.accumulate(runs[:, k:] - runs[:, :-k] >= k, 1)              # from the k-th quiet frame on
    if not ended.any():
        return code
    out = code.clone()
    cut = torch.from_numpy(ended)[:, None]                                          # (B, 1, T)
    out[:, : cfg.bands] = code[:, : cfg.bands].masked_fill(cut, cfg.floor_db)
    out[:, AMP] = code[:, AMP].masked_fill(cut[:, 0], cfg.floor_db)
    return out


def rings(code: torch.Tensor, cfg: CodecConfig = CODEC, below_db: float = 60.0, frames: int = 4,
          env: torch.Tensor | None = None) -> torch.Tensor:
    """Codes (B, channels, frames) -> (B,) bool: the hit still sounds at its end, its
    last frames less than below_db under its peak (an 808's boom, a cymbal's wash).
    env: the codes' `envelope_db`, if already worked out."""
    env = envelope_db(code, cfg) if env is None else env                           # (B, T)
    return env[:, -frames:].mean(1) > env.amax(1) - below_db


def _end_slope(level: torch.Tensor, frames: int) -> torch.Tensor:
    """The least-squares slope of level (..., T) over its last `frames` frames: (...,) per frame."""
    x = torch.arange(frames, dtype=level.dtype) - (frames - 1) / 2
    return (level[..., -frames:] * x).sum(-1) / (x * x).sum()


def ring_out(code: torch.Tensor, cfg: CodecConfig = CODEC, seconds: float = 3.0, fit_frames: int = 20,
             min_db_per_s: float = 20.0, fall: torch.Tensor | None = None) -> tuple[torch.Tensor, CodecConfig]:
    """Codes (B, channels, cfg.frames) of hits that still sound at their end (`rings`),
    continued to `seconds` from just before their last frames (whose analysis windows
    reach past the end), and the config that synthesises them. Every noise band and
    the body sine keep falling in dB (an exponential decay) at the steeper of their own
    slope over the last fit_frames, the hit's mean fall since its peak and min_db_per_s;
    the sine holds its last pitch. The model sees one second, so an 808 or a cymbal
    would otherwise be cut off still ringing. fall (B,) dB per second, where not NaN: a hit
    whose tail is known (a variation's, from its reference: `tail_fall`) falls at that rate
    instead, every band: a held-out crash that rang at 6 dB/s after its first second had its
    variations fall at 20 or more, at 0.4 of its length."""
    long = replace(cfg, seconds=seconds)
    edge = cfg.sine_fft // (2 * cfg.hop)          # the last frames' windows reach past the end: they fall, and the pitch with them
    body = code[..., : code.shape[-1] - edge]                                      # (B, C, T)
    T, extra = body.shape[-1], long.frames - body.shape[-1]
    level = body[:, : cfg.bands + 1]                                               # (B, bands + 1, T) dB: noise, sine
    slope = _end_slope(level, fit_frames)                                          # (B, bands + 1) dB per frame
    env = envelope_db(body, cfg)                                                   # (B, T)
    mean_fall = (env[:, -1] - env.amax(1)) / (T - 1 - env.argmax(1)).clamp(min=1)  # (B,) dB per frame
    rate = torch.minimum(slope, mean_fall[:, None]).clamp(max=-min_db_per_s * cfg.hop / cfg.sr)
    if fall is not None:
        known = -fall.to(code.dtype)[:, None] * cfg.hop / cfg.sr                    # (B, 1) dB per frame
        rate = torch.where(torch.isnan(known), rate, known.expand_as(rate))
    start = level[..., -3:].mean(-1)                                               # (B, bands + 1)
    steps = torch.arange(1, extra + 1, dtype=code.dtype)                           # (extra,)
    tail = (start[..., None] + rate[..., None] * steps).clamp(min=cfg.floor_db)    # (B, bands + 1, extra)
    pitch = body[:, FREQ:, -3:].mean(-1, keepdim=True).expand(-1, -1, extra)       # (B, 1, extra)
    return torch.cat([body, torch.cat([tail, pitch], 1)], 2), long


TAIL_FROM = 0.9     # seconds: where `tail_fall` starts reading a reference's tail (its code ends at 1 s)
LEAST_FALL = 3.0    # dB/s: the slowest a tail is let fall (a reference that holds its level is no decay to copy)


def tail_fall(y: np.ndarray, sr: int = SR, until: float = 3.0, window_s: float = 0.05, below_db: float = 60.0) -> float:
    """How fast a hit's tail falls after its first second, dB per second (positive): a straight
    line through its level (RMS in window_s windows, dB) from TAIL_FROM to `until` seconds (as far
    as a ring-out goes: a crash's tail slows as it goes, 11 dB/s to 3 s and 5 to its end at 8 s) or
    to where it is below_db under its peak; NaN for a hit that is over by then (nothing to ring
    out), at least LEAST_FALL."""
    w = int(window_s * sr)
    n = len(y) // w
    if n * w < (TAIL_FROM + 4 * window_s) * sr:
        return float("nan")
    level = 10 * np.log10(np.mean(np.asarray(y[: n * w], np.float64).reshape(n, w) ** 2, 1) + 1e-20)   # (n,) dB
    if not np.any(y):                                                                # silence: no tail to read
        return float("nan")
    t = (np.arange(n) + 0.5) * window_s
    alive = np.nonzero(level > level.max() - below_db)[0]
    use = (t >= TAIL_FROM) & (t <= until) & (np.arange(n) <= (alive[-1] if len(alive) else -1))
    if use.sum() < 4:
        return float("nan")
    slope = np.polyfit(t[use], level[use], 1)[0]                                   # dB per second
    return float(max(-slope, LEAST_FALL))


def sharpen_onset(code: torch.Tensor, peak_frame: torch.Tensor, cfg: CodecConfig = CODEC,
                  search: int = 12) -> torch.Tensor:
    """Codes (B, channels, frames) whose level peaks later than peak_frame (B,) frames
    (within the first `search` frames) start later in their own course instead: the
    frames before the peak that make the excess swell are dropped and the code is
    padded at the end with its last frame. A decoder cannot quite put a hit's peak on
    frame 0, where real hits with a short attack have it; the requested attack says
    where the peak belongs (a cymbal or clap that does swell keeps its swell)."""
    env = envelope_db(code[..., :search], cfg)                                  # (B, search)
    drop = (env.argmax(1) - peak_frame.long().clamp(min=0)).clamp(min=0)        # (B,) frames
    T = code.shape[-1]
    idx = (torch.arange(T)[None] + drop[:, None]).clamp(max=T - 1)              # (B, T)
    return code.gather(2, idx[:, None].expand(-1, code.shape[1], -1))


def _sine(freq: torch.Tensor, amp: torch.Tensor, cfg: CodecConfig) -> torch.Tensor:
    """(B, T) Hz and linear amplitude -> (B, min(samples, 1 + T hops)) in freq's dtype, phase
    integrated from 0. Between frame centres both tracks move linearly, so each hop's
    phase has a closed form: sample j of hop k (j = 1..hop) is at
    cycles_k + (f_k j + (f_k+1 - f_k) j (j + 1) / 2hop) / sr, the running sum of the
    interpolated frequency. The hop starts cycles_k are summed in float64 and wrapped
    to one cycle, so a float32 sine keeps float32 accuracy (~1e-6) to the end of the
    hit. After the last centre the tracks hold their last value."""
    n, hop, dt = cfg.samples, cfg.hop, freq.dtype
    pad = lambda v: torch.cat([v, v[:, -1:]], 1).to(dt)                  # noqa: E731  (B, frames + 1)
    f, a = pad(freq), pad(amp)
    j = torch.arange(1, hop + 1, dtype=torch.float64)                    # (hop,)
    ramp = (j / hop).to(dt)
    rad_j, rad_tri = (2 * torch.pi / cfg.sr * j).to(dt), (torch.pi / cfg.sr / hop * j * (j + 1)).to(dt)
    f0, df = f[:, :-1, None], (f[:, 1:] - f[:, :-1])[..., None]          # (B, frames, 1)
    f64 = f.double()                                                     # each hop's whole advance, in float64
    step = (f64[:, :-1] * hop + (f64[:, 1:] - f64[:, :-1]) * (hop + 1) / 2) / cfg.sr     # (B, frames) cycles
    start = 2 * torch.pi * torch.remainder(torch.cumsum(step, 1) - step, 1.0)           # (B, frames) radians
    phase = torch.addcmul(torch.addcmul(start.to(dt)[..., None], f0, rad_j), df, rad_tri)  # (B, frames, hop)
    y = torch.addcmul(a[:, :-1, None], (a[:, 1:] - a[:, :-1])[..., None], ramp).mul_(phase.sin_())
    y = torch.cat([a[:, :1] * 0, y.flatten(1)], 1)                      # sample 0: phase 0, sin 0
    return y[:, :n]


SYNTH_CHUNK = 8   # hits synthesised at once: a hit's spectra fill 0.7 MB, and 8 at a time run 3x faster than 100
SINE_FLOOR_DB = -60.0   # a body sine this quiet (dB, as in the code) is no tone: a decoder's "almost none"
SINE_KNEE_DB = 10.0     # ... and one this little louder in a ring-out fades into it (`synthesise`'s `knee_from`)


def sounding_frames(code: torch.Tensor, cfg: CodecConfig = CODEC) -> int:
    """How many frames from the start of codes (B, channels, T) make any sound: past
    the last frame with a noise band above the floor or an audible body sine, the
    batch is silent (a hat ends after a tenth of its second) and synthesis skips it."""
    on = (code[:, : cfg.bands] > cfg.floor_db).any(1) | (code[:, AMP] > SINE_FLOOR_DB)   # (B, T)
    on = on.any(0)
    return int(on.shape[0] - on.flip(0).long().argmax()) if bool(on.any()) else 0


def synthesise(code: torch.Tensor, cfg: CodecConfig = CODEC, seed: int | torch.Tensor = 0,
               knee_from: int | None = None) -> torch.Tensor:
    """Codes (B, channels, frames) -> audio (B, samples) float32. `seed` fixes the noise:
    one int for the batch, or a (B,) tensor of per-hit seeds. Each hit depends only on
    its own code and seed, whatever the batch. Noise bands at the floor are silent,
    and frames past the batch's last sound are not synthesised at all. A body sine at or under
    SINE_FLOOR_DB is silent; from frame `knee_from` on (a ring-out: `render`), one within SINE_KNEE_DB over it
    fades into that silence (a tom's ring-out stopped at once where it fell to the floor, 40-50 dB under its peak;
    audio version 15 had no knee). The decoder's own frames keep theirs: a knee there moved a benchmark model's
    Fréchet ratio from 1.468 to 1.495 (real hits have those faint tones)."""
    code = code.float()
    B = code.shape[0]
    seeds = seed.tolist() if isinstance(seed, torch.Tensor) else [seed + i for i in range(B)]
    if B > SYNTH_CHUNK:
        return torch.cat([synthesise(code[i:i + SYNTH_CHUNK], cfg, torch.tensor(seeds[i:i + SYNTH_CHUNK]), knee_from)
                          for i in range(0, B, SYNTH_CHUNK)])
    T = min(sounding_frames(code, cfg), code.shape[-1])
    if T == 0:
        return code.new_zeros(B, cfg.samples)
    # The first T frames of the noise's STFT need its first (T - 1) hops and half a window
    # (one hop more, so the end's reflection padding touches none of them).
    m = min(cfg.samples, (T - 1) * cfg.hop + cfg.n_fft // 2 + cfg.hop)
    noise = torch.stack([torch.randn(cfg.samples, generator=torch.Generator().manual_seed(int(s)))[:m]
                         for s in seeds])                                   # (B, m)
    W = _stft(noise, cfg.n_fft, cfg.hop)[..., :T]                            # (B, bins, T)
    level = interp_bands(code[:, : cfg.bands, :T], cfg)                     # (B, bins, T) dB
    gain = torch.exp(level.clamp(max=20.0) * (np.log(10) / 20))            # dB -> linear (exp beats pow here)
    gain = gain.masked_fill_(level <= cfg.floor_db + 0.01, 0.0)            # the floor is silence, not -100 dB hiss
    y = _istft(W * gain, cfg)                                              # (B, samples)
    amp = code[:, AMP, :T]
    amp = torch.where(amp <= SINE_FLOOR_DB, torch.zeros_like(amp), 10 ** (amp / 20))
    if knee_from is not None and knee_from < T:
        amp[:, knee_from:] *= ((code[:, AMP, knee_from:T] - SINE_FLOOR_DB) / SINE_KNEE_DB).clamp(0.0, 1.0)
    if not bool(amp.any()):                                              # hats, claps: noise only
        return y
    # the sine's tracks to one frame past its last sound (its fade to zero), as `_sine` takes them
    freq = (100 * 2 ** code[:, FREQ, : T + 1]).clamp(cfg.sine_fmin / 2, cfg.sr / 2)
    if T < code.shape[-1]:
        amp = torch.cat([amp, amp.new_zeros(B, 1)], 1)
    sine = _sine(freq, amp, cfg)                                         # (B, <= samples)
    y[:, : sine.shape[1]] += sine
    return y


def render(code: torch.Tensor, cfg: CodecConfig = CODEC, seed: int | torch.Tensor = 0,
           ring_seconds: float | torch.Tensor = 3.0,
           gate_db: float | None = None, below_db: float = 70.0, step_s: float = 0.25,
           ring: torch.Tensor | None = None, keep: list[int] | None = None,
           fall: torch.Tensor | None = None, lengths: bool = False, steeper: float | None = GATE_STEEPER,
           knee: bool = True) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Codes (B, channels, cfg.frames) -> audio (B, samples) float32, like `synthesise`,
    but hits that still sound at their end (`rings`) ring out (`ring_out`, the extension
    gated at gate_db) until they are below_db under their peak, in steps of step_s and
    at most ring_seconds (one for all, or (B,) one each); the batch is as long as its longest hit, the others padded
    with silence. A hit's length and audio depend on its own code and seed only (to the
    last bit, on the hits synthesised with it: `SYNTH_CHUNK`).
    ring (B,): `rings(code)`, if already worked out. keep: the hits to return, in that
    order ((len(keep), samples)), each synthesised as in the whole batch, bit for bit: with
    the hits of its chunk, and no others. fall (B,): how fast each hit's ring-out falls (`ring_out`).
    lengths: also each hit's own length, seconds ((B,) or (len(keep),)): the batch's is its longest's.
    steeper: how the extension's bands go under the gate (`gate`; None: at once, as audio version 15 did);
    knee: a rung-out body sine fades into its floor (`synthesise`; False: it stops there, as version 15's did)."""
    B = code.shape[0]
    seeds = seed if isinstance(seed, torch.Tensor) else torch.arange(B) + seed
    ring, long, need = _ring_plan(code, cfg, ring_seconds, gate_db, below_db, step_s, ring, fall, steeper)
    wanted = torch.ones(B, dtype=torch.bool) if keep is None else torch.zeros(B, dtype=torch.bool).index_fill_(
        0, torch.tensor(list(keep), dtype=torch.long), True)
    y = torch.zeros(B, replace(cfg, seconds=max([cfg.seconds, *need.tolist()])).samples)
    rows = torch.nonzero(ring)[:, 0]
    groups = [(rows[idx], idx, s) for s in sorted(set(need.tolist())) for idx in [torch.nonzero(need == s)[:, 0]]]
    groups.append((torch.nonzero(~ring)[:, 0], None, cfg.seconds))
    ext = cfg.frames - cfg.sine_fft // (2 * cfg.hop) if knee else None         # where `ring_out` takes over
    for members, in_long, s in groups:           # hits of one length together, in chunks as `synthesise` cuts them
        sc = replace(cfg, seconds=s)
        for i in range(0, len(members), SYNTH_CHUNK):
            chunk = slice(i, i + SYNTH_CHUNK)
            if not bool(wanted[members[chunk]].any()):
                continue
            part = code[members[chunk]] if in_long is None else long[in_long[chunk], :, : sc.frames]
            y[members[chunk], : sc.samples] = synthesise(part, sc, seeds[members[chunk]], None if in_long is None else ext)
    y = y if keep is None else y[list(keep)]
    if not lengths:
        return y
    own = torch.full((B,), float(cfg.seconds))
    own[ring] = need.to(own.dtype)
    return y, own if keep is None else own[list(keep)]


def _ring_plan(code, cfg, ring_seconds, gate_db, below_db, step_s, ring, fall=None, steeper=GATE_STEEPER):
    """`render`'s plan: which hits ring (B,), their rung-out codes (R, C, frames) and the
    seconds each is rendered for (R,)."""
    ring = rings(code, cfg) if ring is None else ring                               # (B,)
    if not bool(ring.any()):
        return ring, code[:0], torch.zeros(0)
    each = isinstance(ring_seconds, torch.Tensor)                                   # (B,) a cap each
    top = float(ring_seconds[ring].max()) if each else ring_seconds
    long, lc = ring_out(code[ring], cfg, top, fall=None if fall is None else fall[ring])   # (R, C, frames)
    if gate_db is not None:      # the extension only: the hit's own second is the caller's to gate (or fade after)
        edge = cfg.sine_fft // (2 * cfg.hop)                                        # where `ring_out` takes over
        long = torch.cat([long[..., : cfg.frames - edge], gate(long[..., cfg.frames - edge:], gate_db, lc, steeper)],
                         -1)
    env = envelope_db(long, lc)                                                     # (R, T)
    alive = env > env.amax(1, keepdim=True) - below_db
    last = env.shape[1] - alive.flip(1).long().argmax(1)                            # (R,) frames sounding
    need = torch.ceil(last * cfg.hop / cfg.sr / step_s) * step_s                    # (R,) seconds
    cap = ring_seconds[ring].to(need.dtype) if each else torch.full_like(need, ring_seconds)
    return ring, long, torch.minimum(need.clamp(min=cfg.seconds + step_s), cap)
