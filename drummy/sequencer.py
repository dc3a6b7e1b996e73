"""The drum machine: a kit of labelled hits and a pattern in, a mastered stereo beat out.

:func:`render` is pure (arrays in, arrays out). The kit loaders and
:func:`write_stems` are the thin I/O around it.

Signal flow per track: each hit is a sample of the track's drum type drawn at
random (seeded), placed at its onset to the sample, scaled by the velocity
curve and the track gain, cut short by the next hit of its choke group, then
panned with a constant-power law. The sum is set to a fixed pre-master level,
run through a master chain (saturation, pedalboard EQ, bus compressor and
bitcrusher, then a lookahead brickwall limiter) and finally scaled so its
true peak sits at -0.3 dBFS. The beat is exactly `bars` bars long and loops
seamlessly: tails that ring past the end wrap to the start.
"""
from __future__ import annotations

import hashlib
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from tqdm import tqdm

from . import audio, features
from .audio import midpoints, sample_peak, true_peak
from .kits import KitSample, is_kit_file, layer_gap, note_of
from .labels import GM_NOTE_OF_TYPE, GM_SIBLING, TYPES, UNKNOWN, gm_note_of, type_of_note
from .library import AUDIO_EXTENSIONS, REMADE, LibraryError, Workspace, collect, earlier_run, inside, plan_run, record_run, shell
from .patterns import BEATS_PER_BAR, Pattern, Track, schedule

SR = audio.SR
VELOCITY_EXPONENT = 2.0     # gain = (velocity / 127) ** 2: the square law most samplers (and SFZ) use
CHOKE_FADE_MS = 2.0         # a choked hit fades out over this long, ending where the choking hit starts
PRE_MASTER_PEAK_DB = -6.0   # the mix is set to this peak before the master chain, whatever the kit's level
CEILING_DB = -0.3           # true-peak ceiling of the finished beat


class SequencerError(Exception):
    """A beat that cannot be rendered with this kit; the message is one line for the user."""


class Kit(dict):
    """Drum type -> [(name, float32 audio @ 44.1 kHz: mono (samples,) or stereo (samples, 2))]:
    the sounds a beat draws its hits from. `skipped` holds (path, reason) for files left out;
    `layers` the velocity layer (low, high) of 0..1 of each sound, by type, None for
    one that plays at any velocity (a type with no entry: all of them); `notes` which
    drum of its type each sound is, as a GM note (`kits.note_of`: a ride, a floor tom), None
    for a plain one (a type with no entry: all plain); `pans` where its kit places each sound,
    -1 left .. 1 right (a type with no entry: all centred)."""

    def __init__(self, sounds: dict | Iterable = (), skipped: Iterable[tuple[str, str]] = (),
                 layers: dict[str, list] | None = None, notes: dict[str, list] | None = None,
                 pans: dict[str, list] | None = None):
        super().__init__(sounds)
        self.skipped: list[tuple[str, str]] = list(skipped)
        self.layers: dict[str, list[tuple[float, float] | None]] = dict(layers or {})
        self.notes: dict[str, list[int | None]] = dict(notes or {})
        self.pans: dict[str, list[float]] = dict(pans or {})


# A classifier hook: mono hits -> a drum type for each, or None where it is unsure.
Classify = Callable[[list[np.ndarray]], list[str | None]]


# --- where a kit's samples come from ----------------------------------------------------

def folder_samples(folder: str | Path, skipped: list[tuple[str, str]] | None = None) -> list[KitSample]:
    """Every audio file under `folder` with the labels its path gives (or, for
    Hydrogen drumkit.xml and .sfz kits inside it, the labels the kit gives), the
    same way `drummy ingest` labels them. Unlabelled files get type "unknown"; the
    files of a kit file that cannot be read are labelled by their paths. A kit file
    given itself (`--kit drumkit.xml`) that cannot be read is an error that says why;
    inside a folder, it and its reason go to `skipped` (path, reason)."""
    folder = Path(folder)
    itself = folder.is_file() and is_kit_file(folder)
    return [KitSample(j.path, j.drum_type, j.tags, j.kit, j.instrument, j.note, loose=not j.group.startswith("kit:"),
                      velocity=j.velocity, gain=j.gain, pan=j.pan, start=j.start, end=j.end)
            for j in collect([folder], skipped=None if itself else (skipped if skipped is not None else []), regions=True)]


def generated_folder(ws: Workspace) -> Path | None:
    """The workspace's `generated/` folder if it holds any hits (beats then play them), else None."""
    gen = ws.root / "generated"
    return gen if gen.is_dir() and any(f.suffix.lower() in AUDIO_EXTENSIONS for f in gen.rglob("*")) else None


def workspace_samples(ws: Workspace, fill: bool = False) -> list[KitSample]:
    """The workspace's generated hits (`generated/<type>/...`) when it has any,
    else its library samples with their (possibly predicted) types; with fill, the
    library's samples of every drum type no generated hit has join them. A generated
    hit's type is its folder's, which Drummy chose (the recipe's or the heard type),
    whatever its file name says (`like_kick ref_01.wav` heard as a snare is a
    snare); hits outside a type folder (morphs) are "unknown", for the classifier.
    A hit remade next to itself (`<name>.again.wav`) is the same hit, and left out."""
    gen = generated_folder(ws)
    if gen is not None:
        out = []
        for s in folder_samples(gen):
            if Path(s.path).name.lower().endswith(REMADE + ".wav"):   # `generate --from`'s copy of a hit
                continue
            top = Path(s.path).relative_to(gen.resolve()).parts[0]
            out.append(KitSample(s.path, top if top in TYPES else UNKNOWN, s.tags, s.kit, s.instrument, s.note,
                                 start=s.start, end=s.end))
        if fill and ws.manifest_path.exists():
            have = {s.drum_type for s in out}
            out += [s for s in _library_samples(ws) if s.drum_type in TYPES and s.drum_type not in have]
        return out
    if not ws.manifest_path.exists():
        raise LibraryError(f"no library or generated hits in {ws.root}; give a sample folder, "
                           f"or run `drummy ingest FOLDER -w {shell(ws.root)}` first")
    return _library_samples(ws)


def _library_samples(ws: Workspace) -> list[KitSample]:
    return [KitSample(ws.audio_path(s.hash), s.drum_type, list(s.tags), s.kit, Path(s.path).stem, origin=s.path)
            for s in sorted(ws.require_samples(), key=lambda s: s.path)]


def classify_unknown(samples: list[KitSample], ys: list[np.ndarray], classify: Classify | None) -> list[KitSample]:
    """Give "unknown" samples the classifier's type where it has one (same order)."""
    todo = [i for i, s in enumerate(samples) if s.drum_type == UNKNOWN]
    if not todo or classify is None:
        return samples
    out = list(samples)
    for i, t in zip(todo, classify([ys[i] for i in todo])):
        if t in TYPES:
            out[i] = replace(samples[i], drum_type=t)
    return out


def label_unknown(samples: list[KitSample], classify: Classify | None) -> list[KitSample]:
    """:func:`classify_unknown`, decoding just the unknown samples (unreadable ones stay unknown)."""
    todo = [i for i, s in enumerate(samples) if s.drum_type == UNKNOWN]
    if not todo or classify is None:
        return samples
    ys, ok = [], []
    for i in todo:
        try:
            ys.append(samples[i].load())
            ok.append(i)
        except audio.AudioError:
            pass
    out = list(samples)
    for i, s in zip(ok, classify_unknown([samples[i] for i in ok], ys, classify)):
        out[i] = s
    return out


def load_kit(samples: list[KitSample], classify: Classify | None = None) -> Kit:
    """Decode samples into a Kit; unreadable files and hits of unknown type (after
    the optional classifier) are listed in `kit.skipped`."""
    ys, ok, skipped = [], [], []
    first: dict[tuple, str] = {}                # (audio hash, velocity range, level, pan) -> the file it came in
    sounding = {(str(s.path), s.start, s.end) for s in samples if s.gain > 0}   # a muted layer of a file that plays
    for s in tqdm(samples, desc="load kit", unit="sample", mininterval=1.0, disable=len(samples) < 500):
        shown = s.shown                                       # the user's file, not the workspace's copy
        try:
            y = s.load(stereo=True)                           # a stereo kit plays in stereo
        except audio.AudioError as e:
            skipped.append((shown, str(e)))
            continue
        if s.loose and (why := features.loop_reason(_mono(y))):   # a loose loop, not a kit's sound
            skipped.append((shown, why))
            continue
        # a pack's one hit in two folders is one sample: --no-repeat would play it twice
        if s.gain <= 0:
            if (str(s.path), s.start, s.end) not in sounding:    # (in another layer, it is not left out)
                skipped.append((shown, "its kit plays it at no level (gain 0)"))
            continue
        key = (hashlib.sha1(y.tobytes()).hexdigest(), s.velocity, s.gain, s.pan)   # (two places: two sounds)
        if key in first:
            skipped.append((shown, f"the same audio as {first[key]}"))
            continue
        first[key] = shown
        ys.append(y)
        ok.append(s)
    ok = classify_unknown(ok, [_mono(y) for y in ys], classify)
    kit = Kit(skipped=skipped)
    for s, y in zip(ok, ys):
        if s.drum_type not in TYPES:
            kit.skipped.append((s.shown, "drum type unknown"))
            continue
        if s.gain != 1.0:                      # the level its kit plays it at
            y = (y * np.float32(s.gain)).astype(np.float32)
        kit.setdefault(s.drum_type, []).append((s.instrument or s.path.name, y))
        kit.layers.setdefault(s.drum_type, []).append(s.velocity)
        kit.notes.setdefault(s.drum_type, []).append(note_of(s))
        kit.pans.setdefault(s.drum_type, []).append(s.pan)
    kit.pans = {t: ps for t, ps in kit.pans.items() if any(ps)}
    # a type is layered when its sounds differ in range: one range for all (lovel=1 on every
    # region) is none, and keeps the draws (and so a seed's beat) of an unlayered kit
    kit.layers = {t: vs for t, vs in kit.layers.items() if len(set(vs)) > 1}
    kit.notes = {t: ns for t, ns in kit.notes.items() if any(n is not None for n in ns)}
    return kit


def _mono(y: np.ndarray) -> np.ndarray:
    """A kit sound as mono (samples,): what the classifier, the loop rule and pitch hear."""
    return y if y.ndim == 1 else audio.to_mono(y)


def kit_from_folder(folder: str | Path, classify: Classify | None = None) -> Kit:
    """A Kit from a folder of labelled samples (or Hydrogen / SFZ kits in it)."""
    return load_kit(folder_samples(folder), classify)


def kit_from_workspace(ws: Workspace, classify: Classify | None = None) -> Kit:
    """A Kit from the workspace's generated hits, with its library's samples for the
    drum types none was generated for (or all of them, before any was)."""
    return load_kit(workspace_samples(ws, fill=True), classify)


# --- mastering ------------------------------------------------------------------------

@dataclass(frozen=True)
class Master:
    """A master-chain preset; levels are relative to the pre-master peak of
    PRE_MASTER_PEAK_DB. The chain, each stage left out when None/0:
    EQ (pedalboard HighpassFilter, LowShelfFilter, HighShelfFilter) -> makeup gain
    and tanh saturation (drive) -> bus Compressor and Bitcrush (pedalboard) ->
    lookahead brickwall :func:`limit` -> true-peak ceiling.

    The limiter is ours, not pedalboard's: pedalboard.Limiter (JUCE) turns its
    output up to 0 dBFS and hard-clips there, which measured +3.7 dB of
    inter-sample overs on a house beat - the true-peak ceiling then had to pull
    the whole master down by that much, and the clipped samples are distortion."""
    highpass_hz: float | None = 30.0              # rumble and DC
    low_shelf: tuple[float, float] | None = None  # (Hz, dB)
    high_shelf: tuple[float, float] | None = None  # (Hz, dB)
    makeup_db: float = 0.0                        # gain as if after the compressor (see master_input)
    drive_db: float = 0.0                         # tanh saturation, 0 = off
    comp_threshold_db: float | None = -14.0       # bus compressor
    comp_ratio: float = 2.0
    comp_attack_ms: float = 10.0                  # slow enough to let transients through
    comp_release_ms: float = 120.0
    bits: float | None = None                     # Bitcrush bit depth
    limit_db: float = 0.0                         # limiter: pull the loudest peaks down this far, 0 = off
    limit_hold_ms: float = 5.0                    # limiter: hold before the gain recovers


MASTERS: dict[str, Master] = {
    "clean": Master(limit_db=3.0),
    # punch from the EQ and a compressor slow to catch the attack, quick to let go; not from the limiter
    # (4:1 from -20 dB and 6 dB of limiting held each kick 9 dB under the hats between them, against 4 dB
    # by `clean`, the hats rising 1.4 dB through each beat: BENCHMARKS.md, session 39)
    "punchy": Master(highpass_hz=35.0, low_shelf=(90.0, 2.5), high_shelf=(9000.0, 2.0), comp_threshold_db=-18.0,
                     comp_ratio=3.0, comp_attack_ms=30.0, comp_release_ms=50.0, makeup_db=4.0, limit_db=2.0),
    "lofi": Master(highpass_hz=60.0, high_shelf=(5000.0, -6.0), drive_db=8.0, comp_threshold_db=-18.0,
                   comp_ratio=3.0, bits=10.0, limit_db=3.0),
    "none": Master(highpass_hz=None, comp_threshold_db=None),
}
EQ_TAIL_MS = 100.0  # room for the EQ's ring-out after a hit ends (a 30 Hz high-pass settles in ~50 ms)


def eq_board(m: Master):
    """The preset's EQ as a pedalboard.Pedalboard (empty when it has none)."""
    import pedalboard as pb
    fx = []
    if m.highpass_hz:
        fx.append(pb.HighpassFilter(cutoff_frequency_hz=m.highpass_hz))
    if m.low_shelf:
        fx.append(pb.LowShelfFilter(cutoff_frequency_hz=m.low_shelf[0], gain_db=m.low_shelf[1]))
    if m.high_shelf:
        fx.append(pb.HighShelfFilter(cutoff_frequency_hz=m.high_shelf[0], gain_db=m.high_shelf[1]))
    return pb.Pedalboard(fx)


def eq_kit(m: Master, kit: Kit, types: Iterable[str], sr: int = SR) -> Kit:
    """The kit with the preset's EQ applied to every sample of `types`.

    The EQ is linear and time-invariant and comes before anything non-linear in
    the chain, so filtering each hit once equals filtering the summed beat - and
    a kit is a few seconds of audio where a beat is minutes of stereo. Each
    sample gains EQ_TAIL_MS of ring-out."""
    board = eq_board(m)
    if not len(board):
        return kit
    tail = np.zeros(int(sr * EQ_TAIL_MS / 1000), dtype=np.float32)
    out = Kit(kit, kit.skipped)
    for t in set(types) & set(kit):
        out[t] = [(name, board(np.concatenate([y, tail])[None, :], sr)[0] if y.ndim == 1
                   else np.ascontiguousarray(board(np.concatenate([y, np.stack([tail, tail], 1)]).T, sr).T))
                  for name, y in kit[t]]
    return out


def master_input(m: Master, y: np.ndarray, gain: float = 1.0) -> np.ndarray:
    """Gain, makeup and saturation, in place on y (channels, samples) float32:
    y * gain * makeup, or tanh(y * gain * makeup * drive) with drive. Returns y.

    The makeup is applied here and :func:`bus_board` raises the compressor's
    threshold by as much: the compressor only sees level relative to its
    threshold, so that is the same as makeup after it, one pass cheaper. numpy's
    tanh is ~7x faster than pedalboard's Distortion."""
    g = gain * 10 ** (m.makeup_db / 20)
    if m.drive_db:
        y *= np.float32(g * 10 ** (m.drive_db / 20))
        np.tanh(y, out=y)
    elif g != 1:
        y *= np.float32(g)
    return y


def bus_board(m: Master):
    """The preset's bus stage (Compressor, Bitcrush) as a pedalboard.Pedalboard."""
    import pedalboard as pb
    fx = []
    if m.comp_threshold_db is not None:
        threshold = m.comp_threshold_db + (0.0 if m.drive_db else m.makeup_db)
        fx.append(pb.Compressor(threshold_db=threshold, ratio=m.comp_ratio,
                                attack_ms=m.comp_attack_ms, release_ms=m.comp_release_ms))
    if m.bits:
        fx.append(pb.Bitcrush(bit_depth=m.bits))
    return pb.Pedalboard(fx)


LIMIT_BLOCK = 32  # samples per gain-computer block (0.73 ms @ 44.1 kHz)
BETWEEN_DB = 6.0  # a block whose samples sit this far under the limiter's threshold has no midpoint over it


def limit(y: np.ndarray, threshold: float, lookahead_ms: float = 1.5, hold_ms: float = 5.0,
          sr: int = SR, between: bool = False, loop: bool = False) -> np.ndarray:
    """Lookahead brickwall limiter, stereo-linked, in place on y (channels, samples)
    float32; returns y. No sample ends up above `threshold` (linear; to float32 rounding); with
    `between`, no gap's midpoint either (`loop`: y's end runs into its start), so that a true-peak
    ceiling after it turns the whole beat down by little (a lo-fi master's one crushed hit read
    4 dB over its samples, and the whole beat was set 4 dB down for it).

    Offline, so the lookahead costs no latency: the gain is the running minimum of
    the needed gain over [t - hold, t + lookahead], smoothed by a moving average
    that only ever sees gains at or below what each sample needs, so it dips
    smoothly ~lookahead before a peak and recovers after the hold. Computed per
    32-sample block and interpolated, it is a handful of numpy passes."""
    n = y.shape[1]
    B = LIMIT_BLOCK
    full = n // B * B
    peak = np.abs(y[0])                                                # (samples,) stereo-linked level
    for ch in y[1:]:
        np.maximum(peak, np.abs(ch), out=peak)
    level = peak[:full].reshape(-1, B).max(axis=1)                     # (blocks,)
    if full < n:
        level = np.append(level, peak[full:].max())
    del peak
    if between:      # and half way between samples (`audio.true_peak`), in the blocks near the threshold
        near = np.flatnonzero(level > threshold * 10 ** (-BETWEEN_DB / 20))                  # (blocks,)
        at = (near[:, None] * B + np.arange(B)).ravel()
        at = at[at < n]
        mid = np.zeros(len(at), np.float32)
        for ch in y:
            np.maximum(mid, midpoints(ch, loop, at), out=mid)
        np.maximum.at(level, at // B, mid)
    need = np.minimum(1.0, threshold / np.maximum(level, 1e-12))
    if need.min() >= 1.0:
        return y
    look = max(round(lookahead_ms * sr / 1000 / B), 1)                # blocks
    hold = max(round(hold_ms * sr / 1000 / B), 0)
    # gm[j] = min(need) over blocks [j - hold - 1, j + look]: the spare block on each
    # side keeps the interpolation between neighbouring blocks below what both need
    size = hold + look + 2
    from scipy.ndimage import minimum_filter1d, uniform_filter1d  # here: importing it costs every CLI command 0.3 s
    gm = minimum_filter1d(need, size, origin=(size - 1) // 2 - look, mode="nearest")
    g = uniform_filter1d(gm, look, origin=(look - 1) // 2, mode="nearest")  # mean over [b - look + 1, b]
    g = np.append(g, g[-1]).astype(np.float32)
    w = (np.arange(B, dtype=np.float32) + 0.5) / B                      # position inside a block
    gs = (g[:-1, None] * (1 - w) + g[1:, None] * w).ravel()[:n]          # (samples,) linear ramps
    y *= gs
    return y


def run_bus(m: Master, y: np.ndarray, sr: int = SR, split_s: float = 30.0, warmup_s: float = 1.0) -> np.ndarray:
    """Run the bus stage of preset `m` (:func:`bus_board`) over y (channels, samples) float32.

    Beats longer than `split_s` are processed as two halves on two threads
    (pedalboard releases the GIL); the second half starts `warmup_s` early so the
    compressor's state has settled by the seam, and that warm-up is dropped. The
    split depends only on the length, so a render is the same on any number of cores."""
    if not len(bus_board(m)):
        return y
    n = y.shape[1]
    if n <= split_s * sr:
        return bus_board(m)(y, sr)
    half, warm = n // 2, int(warmup_s * sr)
    with ThreadPoolExecutor(2) as ex:
        first = ex.submit(bus_board(m), y[:, :half], sr)
        second = ex.submit(bus_board(m), y[:, half - warm:], sr)
        return np.concatenate([first.result(), second.result()[:, warm:]], axis=1)


# --- rendering ------------------------------------------------------------------------

def velocity_gain(velocity: np.ndarray | float, exponent: float = VELOCITY_EXPONENT) -> np.ndarray:
    """MIDI velocity (0..127) -> linear gain: (v / 127) ** exponent. A type with velocity layers
    plays with exponent 1, as Hydrogen does: its soft layers are soft already, and on the
    square law a ghost note of Millo_MultiLayered3's kick sat 45 dB under an accent."""
    return (np.asarray(velocity, dtype=np.float64) / 127.0) ** exponent


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power pan law: -1 hard left .. +1 hard right, -3 dB each side at 0."""
    theta = (float(pan) + 1.0) * np.pi / 4
    return float(np.cos(theta)), float(np.sin(theta))


def placed_pan(track: float, kit: float) -> float:
    """Where a hit sounds: its kit's place for the sound, moved by its track's pan within what is
    left on that side (Hydrogen's rule for an instrument's and a note's pan): a kit's closed hat at
    -0.52 on a centred track is at -0.52, and a track panned 0.5 takes it to -0.28."""
    return track * (1 - abs(kit)) + kit


def beat_length(bpm: float, bars: int, sr: int = SR) -> int:
    """Samples in `bars` 4/4 bars at `bpm` (rounded to the nearest sample)."""
    return int(round(bars * BEATS_PER_BAR * 60.0 * sr / bpm))


def missing_tracks(p: Pattern, kit: Kit) -> list[Track]:
    """Tracks whose drum type the kit has no samples of (they stay silent)."""
    return [t for t in p.tracks if not kit.get(t.drum_type)]


def stand_ins(p: Pattern, kit: Kit) -> list[tuple[Track, list[int]]]:
    """Tracks asking for one drum (`track_note`: a crash, a ride, a cowbell) the kit has none of,
    nor a plain one of its type, so they play its other sounds of that type: (track, the GM notes
    of the sounds they play instead). A beat's crash played a generated ride and said nothing.
    Toms are not listed: a tom track takes the nearest tom, as written."""
    out = []
    for t in p.tracks:
        notes = kit.notes.get(t.drum_type) or [None] * len(kit.get(t.drum_type, []))
        want = track_note(t)
        if want is None or t.drum_type == "tom" or not notes or None in notes:
            continue
        if not {want, GM_SIBLING.get(want)} & set(notes) and not set(notes) & _PLAIN_NOTES.get(t.drum_type, set()):
            out.append((t, sorted(set(notes))))
    return out


# A track of a type's plain name plays these of its sounds: a hihat track no pedal hat, a cymbal
# track crashes, not the ride (other types: any of their sounds).
_PLAIN_NOTES = {"hihat": {42}, "cymbal": {49, 57}, "snare": {38}}      # (a snare track no rimshot on 40)


def track_note(t: Track) -> int | None:
    """The drum of its type a track asks for, as a GM note ("ride" 51, "high tom" 50, a MIDI
    file's note 35), or None for any plain one of its type ("hihat", "tom", "perc"): its own
    note where that is a drum of its type other than the plain one ("crash 2" on 57, a MIDI
    file's ride 2 on 59: the name alone read them as the first), else its name's."""
    if t.note and t.note != GM_NOTE_OF_TYPE.get(t.drum_type) and type_of_note(t.note) == t.drum_type:
        return t.note
    named = gm_note_of(t.name, t.drum_type)
    if named is not None:
        return named
    return t.note if t.note and t.note != GM_NOTE_OF_TYPE.get(t.drum_type) else None


def track_pools(p: Pattern, kit: Kit) -> list[np.ndarray | None]:
    """For each track, the indices into kit[track type] it draws from, None for all of them.
    A track asking for one drum (`track_note`) plays the kit's sounds of that drum (or its GM
    sibling's: a second crash), else its plain ones, else any; a plain track plays the plain ones
    (`_PLAIN_NOTES`). Toms that
    say nothing of their height are shared out by pitch among the tom tracks that ask
    for one (high tom the highest), so a fill runs down the kit as written."""
    out: list[np.ndarray | None] = []
    spread: dict[int, list[int]] = {}                 # tom note -> tracks that fell back to unnamed toms
    for ti, t in enumerate(p.tracks):
        if not kit.get(t.drum_type):
            out.append(None)
            continue
        notes = kit.notes.get(t.drum_type) or [None] * len(kit[t.drum_type])
        want = track_note(t)
        if want is None:
            plain = _PLAIN_NOTES.get(t.drum_type)
            pool = [i for i, n in enumerate(notes) if plain is None or n is None or n in plain]
        else:
            pool = [i for i, n in enumerate(notes) if n == want] or \
                [i for i, n in enumerate(notes) if n is not None and n == GM_SIBLING.get(want)]
            if not pool:                      # no such drum: the type's plain sounds ("crash" on a ride and a china: none)
                plain = _PLAIN_NOTES.get(t.drum_type, set())
                pool = [i for i, n in enumerate(notes) if n is None or n in plain]
                if t.drum_type == "tom" and pool:
                    spread.setdefault(want, []).append(ti)
                elif t.drum_type == "tom":        # the kit's nearest tom (a floor tom track, a kit of high to low)
                    near = min((n for n in notes if n is not None), key=lambda n: abs(n - want))
                    pool = [i for i, n in enumerate(notes) if n == near]
        out.append(np.array(pool) if 0 < len(pool) < len(notes) else None)
    if len(spread) > 1:                               # higher GM tom notes are higher toms
        unnamed = [i for i, n in enumerate(kit.notes.get("tom") or [None] * len(kit["tom"])) if n is None]
        hz = [features.pitch(_mono(kit["tom"][i][1]), fmax=600.0) for i in unnamed]
        by_pitch = [i for _, i in sorted(zip([-h if h == h else 0.0 for h in hz], unnamed))]   # high first
        for rank, note in enumerate(sorted(spread, reverse=True)):
            share = np.array_split(np.array(by_pitch), len(spread))[rank] if len(by_pitch) >= len(spread) \
                else np.array([by_pitch[round(rank * (len(by_pitch) - 1) / (len(spread) - 1))]])
            for ti in spread[note]:
                out[ti] = share
    return out


def _words(name: str) -> list[str]:
    """A sound's name as `sample =` reads it: its words, in any case, `_`, `-` and spaces alike, an audio
    file's extension left off ("909 punch 03.wav": 909, punch, 03)."""
    if Path(name).suffix.lower() in AUDIO_EXTENSIONS:
        name = Path(name).stem
    return [w for w in re.split(r"[\s_-]+", name.casefold()) if w]


def named_pool(t: Track, kit: Kit) -> np.ndarray | None:
    """The indices into kit[t's type] of the sounds t.sample names: those whose name it is, else those
    whose name holds its words in a row (`_words`: "punch" is every 909 punch; "clap_s1_02" is not
    clap_s1_023); None for all of them; SequencerError, with the names it could be, where none does."""
    names = [name for name, _ in kit.get(t.drum_type, [])]
    if not names:
        return None                          # the type is missing: the track is silent, and said so
    want = _words(t.sample)
    words = [_words(n) for n in names]
    pool = [i for i, w in enumerate(words) if w == want] or \
        [i for i, w in enumerate(words) if any(w[k:k + len(want)] == want for k in range(len(w) - len(want) + 1))]
    if not pool:                             # the names without their numbers: "808 boom 01" .. "08" is one
        families = list(dict.fromkeys(re.sub(r"[\s_-]*\d+$", "", Path(n).stem) or n for n in sorted(names)))
        shown = ", ".join(families[:8]) + (f" and {len(families) - 8} more" if len(families) > 8 else "")
        raise SequencerError(f"track {t.name!r}: no {t.drum_type} sound in the kit is named like {t.sample!r} "
                             f"(its {len(names)} {t.drum_type} sounds: {shown})")
    return np.array(pool) if len(pool) < len(names) else None


def choose_samples(p: Pattern, kit: Kit, counts: list[int], rng: np.random.Generator,
                   no_repeat: bool = False, context: str = "",
                   velocities: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """For each track, the index into kit[track type] of every hit, drawn at random
    from the track's pool (`track_pools`: a ride track plays the kit's ride).
    In a type whose sounds have velocity layers (`Kit.layers`, a multi-layered
    Hydrogen or SFZ kit) each hit draws from the layers its velocity (0..127, given
    in `velocities` per track) falls in, the nearest when none does.

    With no_repeat no sample is used twice in the whole beat (tracks of one type
    share their samples; the narrowest pools draw first); SequencerError says how many
    are missing. Types whose tracks all draw from all their sounds draw as they always
    did: the pooled ones draw from a generator of their own. A track's `sample` narrows
    its pool to the sounds so named; `lock` plays one of its pool on every hit."""
    pools = [named_pool(t, kit) if t.sample else pool for t, pool in zip(p.tracks, track_pools(p, kit))]
    if no_repeat and (locked := [t.name for t, n in zip(p.tracks, counts) if t.lock and n > 1 and kit.get(t.drum_type)]):
        raise SequencerError(f"--no-repeat plays a different sample on every hit, and track {locked[0]!r} locks one "
                             "(lock = true, or --lock): drop one of the two")
    pooled = {t.drum_type for t, pool in zip(p.tracks, pools) if pool is not None}
    need: dict[str, int] = {}
    for t, n in zip(p.tracks, counts):
        if kit.get(t.drum_type):
            need[t.drum_type] = need.get(t.drum_type, 0) + n
    if no_repeat and (short := ", ".join(f"{d} {m} > {len(kit[d])}" for d, m in need.items() if m > len(kit[d]))):
        raise _short_kit(context, f" (hits > samples: {short})")
    draws: dict[str, np.ndarray] = {}
    for dtype, n in need.items():          # every type, pooled or not: the draws of those after it stay the same
        have = len(kit[dtype])
        draws[dtype] = rng.permutation(have)[:n] if no_repeat else rng.integers(0, have, size=n)
    own = rng.spawn(1)[0] if pooled else rng       # spawning leaves rng's stream as it was
    # a locked track's sound: by the seed alone, not by the beat's length or the other tracks' hits
    pad = rng.spawn(1)[0] if any(t.lock for t in p.tracks) else None
    order = list(range(len(p.tracks)))
    if no_repeat and pooled:
        order.sort(key=lambda ti: len(pools[ti]) if pools[ti] is not None else np.inf)
    used = dict.fromkeys(need, 0)
    taken: dict[str, set[int]] = {}
    out: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(p.tracks)
    for ti in order:
        t, n = p.tracks[ti], counts[ti]
        if t.drum_type not in draws:
            continue
        cand = pools[ti] if pools[ti] is not None else np.arange(len(kit[t.drum_type]))
        layers = kit.layers.get(t.drum_type)
        took = taken.setdefault(t.drum_type, set())
        r = own if t.drum_type in pooled else rng
        where = f"{context} ({t.name} {n} hits)"
        layered = bool(layers) and velocities is not None and any(v is not None for v in layers)
        if t.lock and not no_repeat:        # (with it, a locked track has one hit at most: drawn as any other)
            # one sound, as a pad plays it; of a layered drum, that drum, its layers by each hit's velocity
            i = int(cand[pad.integers(len(cand))])
            if layered:
                names = [name for name, _ in kit[t.drum_type]]
                drum = np.array([j for j in cand if names[j] == names[i]])
                out[ti] = np.array([_by_velocity(layers, float(v) / 127, pad, set(), False, drum, where)
                                    for v in velocities[ti][:n]], dtype=np.int64)
            else:
                out[ti] = np.full(n, i, dtype=np.int64)
            if t.drum_type not in pooled:
                used[t.drum_type] += n      # its draws go unplayed: the type's other tracks draw as they would
        elif layered:
            out[ti] = np.array([_by_velocity(layers, float(v) / 127, r, took, no_repeat, cand, where)
                                for v in velocities[ti][:n]], dtype=np.int64)
        elif t.drum_type not in pooled:
            out[ti] = draws[t.drum_type][used[t.drum_type]:used[t.drum_type] + n]
            used[t.drum_type] += n
        elif no_repeat:
            free = r.permutation([i for i in cand if i not in took] or ([] if t.sample else   # named: those only
                                                                       [i for i in range(len(kit[t.drum_type]))
                                                                        if i not in took]))
            if len(free) < n:
                raise _short_kit(context, f" (hits > samples: {t.name} {n} > {len(free)})")
            out[ti] = free[:n].astype(np.int64)
            took.update(int(i) for i in free[:n])
        else:
            out[ti] = cand[r.integers(0, len(cand), size=n)].astype(np.int64)
    return out


def _short_kit(context: str, detail: str = "") -> SequencerError:
    """The one --no-repeat error: what was asked, and by how much the kit falls short."""
    return SequencerError(f"--no-repeat needs a different sample for every hit{context}, but the kit is "
                          f"short{detail}; use fewer bars, more samples, or allow repeats")


def _by_velocity(layers: list[tuple[float, float] | None], v: float, rng: np.random.Generator,
                 taken: set[int], no_repeat: bool, cand: np.ndarray | None = None, where: str = "") -> int:
    """A sound (of those in `cand`, default all) for a hit at velocity v (0..1): one of those
    whose layer holds v (or that play at any velocity), else of the nearest layer; with
    no_repeat, one not taken yet (from any layer when its own are used up)."""
    gap = np.array([layer_gap(r, v) for r in layers])
    allowed = np.zeros(len(layers), bool)
    allowed[np.arange(len(layers)) if cand is None else cand] = True
    free = allowed & (np.array([i not in taken for i in range(len(layers))]) if no_repeat else True)
    if not free.any() and no_repeat:                  # its own drum's are used up: any of its type not taken yet
        free = np.array([i not in taken for i in range(len(layers))])
    if not free.any():
        raise _short_kit(where)
    pool = np.flatnonzero(free & (gap == gap[free].min()))
    i = int(pool[rng.integers(len(pool))])
    taken.add(i)
    return i


def choke_ends(p: Pattern, onsets: list[np.ndarray], length: int, wrap: bool = True) -> list[np.ndarray]:
    """For each track, where each hit must stop (exclusive sample index; a huge
    number for no limit): at the next later onset of any track in its choke
    group. With wrap the last hit of a group is cut by the first one of the next loop."""
    big = np.iinfo(np.int64).max // 4
    ends = [np.full(len(o), big, dtype=np.int64) for o in onsets]
    groups: dict[str, list[int]] = {}
    for i, t in enumerate(p.tracks):
        if t.choke:
            groups.setdefault(t.choke, []).append(i)
    for members in groups.values():
        all_on = np.unique(np.concatenate([onsets[i] for i in members]))
        if not len(all_on):
            continue
        nxt = np.append(all_on, all_on[0] + length if wrap else big)  # successor of each distinct onset
        for i in members:
            ends[i] = nxt[np.searchsorted(all_on, onsets[i], side="right")]
    return ends


def render(p: Pattern, kit: Kit, bpm: float | None = None, bars: int | None = None, seed: int = 0,
           no_repeat: bool = False, master: str | Master = "clean", stems: bool = False,
           sr: int = SR) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Render `bars` bars of pattern `p` with sounds from `kit`.

    Returns (stereo mix (samples, 2) float32 with true peak at CEILING_DB, stems)
    where stems maps track name -> (samples, 2) float32, the dry tracks (no
    master chain) with one common gain so they sum to a mix peaking at
    PRE_MASTER_PEAK_DB; filled only when `stems` is true. Tracks whose type the
    kit lacks are silent (see :func:`missing_tracks`). All randomness (sample
    choice, humanise) comes from `seed`.
    """
    bpm = float(p.bpm if bpm is None else bpm)
    bars = int(p.bars if bars is None else bars)
    if not 20 <= bpm <= 999:
        raise SequencerError(f"bpm must be between 20 and 999, not {bpm:g}")
    if bars < 1:
        raise SequencerError("bars must be at least 1")
    preset = MASTERS.get(master) if isinstance(master, str) else master
    if preset is None:
        raise SequencerError(f"unknown master preset {master!r}; choose from {', '.join(MASTERS)}")
    if len(missing_tracks(p, kit)) == len(p.tracks):
        raise SequencerError(f"the kit has no {', '.join(dict.fromkeys(t.drum_type for t in p.tracks))} "
                             f"samples for pattern {p.name!r}")

    rng_time, rng_pick = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    hits = schedule(p, bpm, bars, rng_time, sr)
    if not any(len(h.onsets) for t, h in zip(p.tracks, hits) if kit.get(t.drum_type)):
        raise SequencerError(f"pattern {p.name!r} plays no hit in {bars} bar{'s' * (bars != 1)}"
                             + (f" (its hits come later: it is {p.bars} bars long)" if p.bars > bars else ""))
    picks = choose_samples(p, kit, [len(h.onsets) for h in hits], rng_pick, no_repeat,
                           f" ({bars} bar{'s' * (bars != 1)} of {p.name})", [h.velocities for h in hits])
    n = beat_length(bpm, bars, sr)                                     # samples @ sr
    for h in hits:
        h.onsets %= n  # a hit humanised past the last sample (or before the first) belongs to the next loop (the last)
    ends = choke_ends(p, [h.onsets for h in hits], n)
    played = [t for t in p.tracks if kit.get(t.drum_type)]
    eq = eq_kit(preset, kit, {t.drum_type for t in played}, sr)          # the master EQ, on the hits
    longest = max(len(y) for t in played for _, y in eq[t.drum_type])

    mix = np.zeros((2, n + longest), dtype=np.float32)                 # (channels, samples), tails past the end
    stem_out: dict[str, np.ndarray] = {}
    for t, h, pick, end in zip(p.tracks, hits, picks, ends):
        if not kit.get(t.drum_type):
            continue
        gains = velocity_gain(h.velocities, 1.0 if t.drum_type in kit.layers else VELOCITY_EXPONENT) * 10 ** (t.gain_db / 20)
        pans = [pan_gains(placed_pan(t.pan, k)) for k in kit.pans.get(t.drum_type) or [0.0] * len(kit[t.drum_type])]
        _place(mix, eq[t.drum_type], h.onsets, gains, pick, end, pans, sr)
        if stems:
            dry = np.zeros_like(mix)
            _place(dry, kit[t.drum_type], h.onsets, gains, pick, end, pans, sr)
            stem_out[t.name] = _fold(dry, n).T                          # (n, 2) view
    mix = _fold(mix, n)                                                # (2, n): the beat loops
    if stem_out:
        dry_peak = float(np.max(np.abs(sum(stem_out.values()))))
        for s in stem_out.values():
            s *= np.float32(10 ** (PRE_MASTER_PEAK_DB / 20) / dry_peak if dry_peak > 0 else 1.0)

    cycle = beat_length(bpm, p.bars, sr)                               # one pass of the pattern
    peak = cycle_peak(mix, cycle)
    pre = 10 ** (PRE_MASTER_PEAK_DB / 20) / peak if peak > 0 else 1.0
    out = run_bus(preset, master_input(preset, mix, pre), sr)
    if preset.limit_db > 0:
        limit(out, cycle_peak(out, cycle) * 10 ** (-preset.limit_db / 20), hold_ms=preset.limit_hold_ms, sr=sr,
              between=True, loop=True)
    out -= out.mean(axis=1, keepdims=True)                             # DC would eat headroom
    tp = true_peak(out, loop=True)                                     # the beat loops: its seam counts
    gain = np.float32(10 ** (CEILING_DB / 20) / tp * _MARGIN if tp > 0 else 1.0)
    result = np.empty((n, 2), dtype=np.float32)                        # (samples, channels)
    np.multiply(out.T, gain, out=result)
    return result, stem_out


def cycle_peak(y: np.ndarray, cycle: int) -> float:
    """The level a beat (channels, samples) is mastered from: the median of its whole pattern
    cycles' peaks, but no more than CYCLE_SPREAD_DB under its own peak (cycle samples each; its
    peak where it has fewer than two). Not the peak of the whole: the longer the beat, the rarer
    the humanised stack its loudest moment is, and a master set from it played 64 bars of rock
    1.5 dB quieter than 8 (BENCHMARKS.md, session 40). An accent of the pattern is in every cycle,
    so it counts; a cycle whose peak stands over the others' is limited up to CYCLE_SPREAD_DB more
    than the rest, so a kit's loud kick among soft ones stays louder (by the median alone, the
    limiter levelled a kick 12 dB over the other to it)."""
    whole, peak = y.shape[1] // cycle, sample_peak(y)
    if whole < 2:
        return peak
    peaks = np.array([sample_peak(y[:, i * cycle:(i + 1) * cycle]) for i in range(whole)])
    peaks = peaks[peaks > 0]
    return max(float(np.median(peaks)), peak * 10 ** (-CYCLE_SPREAD_DB / 20)) if len(peaks) else peak


CYCLE_SPREAD_DB = 2.0   # the most a beat's loudest cycle is limited beyond the others (`cycle_peak`)
_MARGIN = 10 ** (-0.002 / 20)  # keeps float32 rounding from landing a hair above the ceiling


def _place(dst: np.ndarray, sounds: list[tuple[str, np.ndarray]], onsets: np.ndarray, gains: np.ndarray,
           pick: np.ndarray, ends: np.ndarray, pans: list[tuple[float, float]], sr: int) -> None:
    """Add one track's hits into dst (2, samples) in place: sample pick[i] at
    onsets[i] times gains[i], faded out and stopped at ends[i] when choked. A sample that
    stops short of silence (a cut tail; a DC offset the library's copy took away from the
    sound and left on its silence) fades out over its last CHOKE_FADE_MS too, where it is
    long enough: its end clicked at -41 dB in every hit. Each sound k sounds at pans[k]
    (`pan_gains`): a stereo sample keeps its channels, the pan weighing each side as a balance control."""
    fade = max(int(sr * CHOKE_FADE_MS / 1000), 1)
    ramp = np.linspace(1.0, 0.0, fade + 1, dtype=np.float32)[1:]      # reaches 0 just before the choking hit
    tmp = np.empty(max(len(y) for _, y in sounds), dtype=np.float32)
    chans = [[(c, g) for c, g in enumerate(pan) if g > 1e-9] for pan in pans]   # hard-panned: skip the silent side
    for o, g, k, e in zip(onsets.tolist(), gains.tolist(), pick.tolist(), ends.tolist()):
        y = sounds[k][1]
        m = min(len(y), e - o)
        if m <= 0:
            continue
        for c, pg in chans[k]:
            seg = np.multiply(y[:m] if y.ndim == 1 else y[:m, c], np.float32(g * pg), out=tmp[:m])
            if m < len(y) or m > 4 * fade and seg[-8:].any():    # choked, or an end off zero: no click
                f = min(fade, m)
                seg[m - f:] *= ramp[fade - f:]
            dst[c, o:o + m] += seg


def _fold(y: np.ndarray, n: int) -> np.ndarray:
    """(channels, n + tail) -> (channels, n): tails that ring past the end are added
    to the start, so the beat loops seamlessly."""
    for start in range(n, y.shape[1], n):
        tail = y[:, start:start + n]
        y[:, :tail.shape[1]] += tail
    return y[:, :n]


STEMS_MANIFEST = ".drummy-stems.json"   # the stems a beat wrote into a folder, so the next beat replaces them


def check_stems_folder(folder: str | Path, keep: Iterable[str | Path] = (),
                       tracks: Iterable[str] | None = None) -> set[str]:
    """A stems folder must be new, empty or hold only an earlier beat's stems, which the
    next beat replaces as a set (SequencerError otherwise, before anything is rendered):
    a producer's own files there are never written over, and no stale stem of another
    pattern is left beside the new ones for a DAW to pick up. `keep` are this beat's
    own files (the mix, its MIDI), which may sit among its stems but must not share a
    name with one of `tracks`' stems. Returns the earlier beat's stems
    (`library.earlier_run`)."""
    folder = Path(folder)
    ours, foreign = earlier_run(folder, STEMS_MANIFEST)
    own = _inside(folder, keep)
    foreign = [f for f in foreign if f.lower() not in own]
    if foreign:
        raise SequencerError(f"--stems {folder} holds {foreign[0]}, which no earlier beat wrote there (or which "
                             "was edited since); "
                             "give a new or empty folder (nothing there was changed)")
    for name in stem_names(tracks or []):
        if len(os.fsencode(f"{name}.wav")) > 255:
            raise SequencerError(f"the stem of track {name[:40]!r}... would have a file name too long for the disk; "
                                 "give the track a shorter name")
        if f"{name}.wav".lower() in own:
            raise SequencerError(f"the {name!r} stem would be written over {folder / (name + '.wav')}, the beat's "
                                 "own file; name that otherwise or give --stems another folder")
    return ours


def _inside(folder: Path, paths: Iterable[str | Path]) -> set[str]:
    """`library.inside`, lower-cased (file systems that ignore case)."""
    return {p.lower() for p in inside(folder, paths)}


def stem_names(tracks: Iterable[str]) -> list[str]:
    """One file name (without .wav) per track, in order: no separators, not hidden, and
    unique however the file system treats case ("kick/1" and "kick:1" both read kick_1)."""
    names: list[str] = []
    taken: set[str] = set()
    for name in tracks:
        base = _safe_name(name)
        fname = next(f"{base}-{k}" if k else base for k in range(len(taken) + 2)
                     if (f"{base}-{k}" if k else base).lower() not in taken)
        names.append(fname)
        taken.add(fname.lower())
    return names


def write_stems(stems: dict[str, np.ndarray], folder: str | Path, sr: int = SR,
                keep: Iterable[str | Path] = ()) -> list[Path]:
    """Write each stem as <folder>/<track>.wav (24-bit) with one common gain, so the
    stems still sum to the pre-master mix and none clips. An earlier beat's stems in
    the folder that this beat has no track for are removed (`check_stems_folder`);
    `keep` (the beat's own files) are neither foreign nor removed."""
    folder = Path(folder)
    keep = list(keep)
    before = check_stems_folder(folder, keep, stems)
    peak = max((float(np.max(np.abs(s))) for s in stems.values()), default=0.0)
    g = min(1.0, 10 ** (CEILING_DB / 20) / peak) if peak > 0 else 1.0
    own = _inside(folder, keep)
    before = {b for b in before if b.lower() not in own}
    planned = [folder / f"{fname}.wav" for fname in stem_names(stems)]
    plan_run(folder, STEMS_MANIFEST, planned, before, beside=keep)      # a Ctrl-C half-way: the rerun replaces all
    # as rendered: a median taken out of one stem would leave it no longer summing to the mix
    paths = [audio.write(path, s * g, sr, peak_db=None, fade_ms=0, remove_dc=False)
             for path, s in zip(planned, stems.values())]
    record_run(folder, STEMS_MANIFEST, paths, before, beside=keep)
    return paths


def _safe_name(name: str) -> str:
    """A track name as a file name: no separators, not hidden."""
    return "".join(c if c.isalnum() or c in " -_." else "_" for c in name).strip().lstrip(".") or "track"
