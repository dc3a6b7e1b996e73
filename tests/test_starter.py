"""Tests for the procedural starter kit: properties of the sounds, not snapshots."""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from drummy.starter import CLASSES, STYLES, _style_counts, starter_kit, synth_hit, write_starter_kit

SR = 44100
PER_STYLE = 3  # hits per (type, style) in the measured batch: 12 per type, 84 in all

# Allowed durations per type (seconds), from the spec.
DURATIONS = {"kick": (0.3, 1.5), "snare": (0.2, 0.6), "clap": (0.2, 0.6), "hihat": (0.05, 0.2),
             "open hat": (0.3, 1.0), "tom": (0.3, 0.8), "cymbal": (1.0, 2.5)}


@pytest.fixture(scope="module")
def batch() -> dict[str, list[tuple[str, np.ndarray]]]:
    """{type: [(style, audio), ...]} from independent generators."""
    return {t: [(s, synth_hit(t, s, np.random.default_rng([1234, ci, si, i])))
                for si, s in enumerate(STYLES) for i in range(PER_STYLE)]
            for ci, t in enumerate(CLASSES)}


# --------------------------------------------------------------------------- measures

def _power(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64)
    return np.fft.rfftfreq(len(y), 1 / SR), np.abs(np.fft.rfft(y)) ** 2


def centroid(y: np.ndarray) -> float:
    f, p = _power(y)
    return float((f * p).sum() / p.sum())


def energy_below(y: np.ndarray, hz: float) -> float:
    f, p = _power(y)
    return float(p[f < hz].sum() / p.sum())


def energy_above(y: np.ndarray, hz: float) -> float:
    return 1.0 - energy_below(y, hz)


def decay_time(y: np.ndarray, db: float = -40.0, frame: float = 0.005) -> float:
    """Seconds from the loudest 5 ms frame to the last frame within `db` of it."""
    h = int(frame * SR)
    n = len(y) // h
    rms = np.sqrt((y[: n * h].astype(np.float64).reshape(n, h) ** 2).mean(axis=1)) + 1e-12
    level = 20 * np.log10(rms / rms.max())
    return float((np.flatnonzero(level > db)[-1] - np.argmax(level)) * frame)


def dominant_freq(seg: np.ndarray, lo: float = 20.0, hi: float = 1000.0) -> float:
    seg = seg.astype(np.float64) - seg.mean()
    spec = np.abs(np.fft.rfft(seg, 1 << 16))
    f = np.fft.rfftfreq(1 << 16, 1 / SR)
    band = (f > lo) & (f < hi)
    return float(f[band][np.argmax(spec[band])])


def bursts(y: np.ndarray, upto: float = 0.040) -> int:
    """Separate loudness peaks (>= 10 dB prominence, >= 5 ms apart) in the first `upto` s."""
    win, hop = int(0.0015 * SR), int(0.0005 * SR)
    n = int(upto * SR) // hop
    frames = np.lib.stride_tricks.sliding_window_view(y[: n * hop + win].astype(np.float64), win)[::hop][:n]
    level = 10 * np.log10((frames ** 2).mean(axis=1) + 1e-12)
    level = np.r_[-120.0, level - level.max(), -120.0]  # the window edges count as silence
    peaks, _ = signal.find_peaks(level, prominence=10, distance=int(0.005 / 0.0005))
    return len(peaks)


def hits_of(batch, drum_type):
    return [y for _, y in batch[drum_type]]


# --------------------------------------------------------------------------- contract

def test_every_hit_is_clean_mono_float32(batch):
    for drum_type, hits in batch.items():
        for style, y in hits:
            assert y.dtype == np.float32 and y.ndim == 1, (drum_type, style)
            assert np.all(np.isfinite(y)), (drum_type, style)
            peak = float(np.max(np.abs(y)))
            assert 0.5 < peak <= 1.0, (drum_type, style, peak)
            assert abs(float(y[-1])) < 1e-3, (drum_type, style)  # faded out, no click at the end


def test_durations_in_range(batch):
    for drum_type, hits in batch.items():
        lo, hi = DURATIONS[drum_type]
        for style, y in hits:
            assert lo - 1e-3 <= len(y) / SR <= hi + 1e-3, (drum_type, style, len(y) / SR)


def test_808_kicks_boom_longest(batch):
    dur = {s: [len(y) / SR for st, y in batch["kick"] if st == s] for s in STYLES}
    assert min(dur["808"]) > max(dur["909"])
    assert np.median(dur["808"]) > np.median(dur["acoustic"])


def test_unknown_type_or_style_is_rejected():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="drum type"):
        synth_hit("cowbell", "808", rng)
    with pytest.raises(ValueError, match="style"):
        synth_hit("kick", "606", rng)
    with pytest.raises(ValueError):
        list(starter_kit(per_class=-1))


@pytest.mark.parametrize("sr", [22050, 48000])
def test_other_sample_rates(sr):
    for ci, drum_type in enumerate(CLASSES):
        for si, style in enumerate(STYLES):
            y = synth_hit(drum_type, style, np.random.default_rng([7, ci, si]), sr=sr)
            lo, hi = DURATIONS[drum_type]
            assert np.all(np.isfinite(y)) and np.max(np.abs(y)) <= 1.0
            assert lo - 1e-3 <= len(y) / sr <= hi + 1e-3, (drum_type, style, sr)


# --------------------------------------------------------------------------- does it sound like its instrument

def test_kicks_are_low_and_hats_are_high(batch):
    for y in hits_of(batch, "kick"):
        assert centroid(y) < 500
        assert energy_below(y, 200) > 0.5
    for drum_type in ("hihat", "open hat"):
        for y in hits_of(batch, drum_type):
            assert centroid(y) > 5000, drum_type
            assert energy_below(y, 1000) < 0.05, drum_type


def test_kick_pitch_falls(batch):
    for style, y in batch["kick"]:
        start = dominant_freq(y[: int(0.010 * SR)])
        later = dominant_freq(y[int(0.100 * SR): int(0.200 * SR)])
        assert start > 1.5 * later, (style, start, later)


def test_tom_pitch_falls_a_little(batch):
    # toms sweep less and lower, so the first window is longer (10 ms is < 1 cycle at 80 Hz)
    for style, y in batch["tom"]:
        start = dominant_freq(y[: int(0.025 * SR)])
        later = dominant_freq(y[int(0.100 * SR): int(0.200 * SR)])
        assert later < start < 2.0 * later, (style, start, later)


def test_kick_and_tom_pitch_ranges(batch):
    for style, y in batch["kick"]:
        assert 35 <= dominant_freq(y[int(0.1 * SR): int(0.2 * SR)]) <= 90, style
    for style, y in batch["tom"]:
        assert 70 <= dominant_freq(y[int(0.1 * SR): int(0.2 * SR)]) <= 270, style


def test_closed_hats_are_shorter_than_open_hats(batch):
    closed = [decay_time(y) for y in hits_of(batch, "hihat")]
    opened = [decay_time(y) for y in hits_of(batch, "open hat")]
    assert max(closed) < min(opened), (closed, opened)
    assert max(closed) < 0.15


def test_cymbals_are_bright_and_long(batch):
    for y in hits_of(batch, "cymbal"):
        assert energy_above(y, 5000) > 0.5
        assert decay_time(y) > 0.4


def test_claps_have_several_bursts_and_snares_do_not(batch):
    for style, y in batch["clap"]:
        assert bursts(y) >= 3, style
    for drum_type in ("snare", "hihat"):
        for style, y in batch[drum_type]:
            assert bursts(y) < 3, (drum_type, style)


def test_snares_mix_body_and_wires(batch):
    for style, y in batch["snare"]:
        assert energy_below(y, 500) > 0.05, style   # the drum head
        assert energy_above(y, 1000) > 0.1, style   # the wires
    for y in hits_of(batch, "clap"):
        assert 800 < centroid(y) < 6000


def test_lofi_is_band_limited(batch):
    for drum_type in ("kick", "snare", "clap", "tom"):
        for style, y in batch[drum_type]:
            if style == "lofi":
                assert energy_above(y, 9000) < 0.02, drum_type


# --------------------------------------------------------------------------- variation

def test_hits_within_a_class_vary(batch):
    for drum_type, hits in batch.items():
        spectra = np.array([np.abs(np.fft.rfft(y.astype(np.float64), 1 << 15)) for _, y in hits])
        corr = np.corrcoef(spectra)
        off_diag = corr[~np.eye(len(hits), dtype=bool)]
        assert off_diag.max() < 0.999, drum_type
        assert np.median(off_diag) < 0.95, drum_type
        durations = np.array([len(y) for _, y in hits], dtype=float)
        assert durations.std() / durations.mean() > 0.05, drum_type
        centroids = np.array([centroid(y) for _, y in hits])
        assert centroids.std() / centroids.mean() > 0.03, drum_type


# --------------------------------------------------------------------------- determinism and layout

def test_same_seed_same_kit_other_seed_other_kit():
    a = list(starter_kit(seed=5, per_class=4))
    b = list(starter_kit(seed=5, per_class=4))
    c = list(starter_kit(seed=6, per_class=4))
    assert len(a) == len(b) == len(c) == 4 * len(CLASSES)
    for x, y in zip(a, b):
        assert x[:3] == y[:3] and np.array_equal(x[3], y[3])
    for x, z in zip(a, c):
        assert x[:3] == z[:3]  # same names and layout...
        assert len(x[3]) != len(z[3]) or not np.array_equal(x[3], z[3])  # ...different sounds


def test_synth_hit_is_pure():
    for drum_type, style in zip(CLASSES, itertools.cycle(STYLES)):
        np.random.seed(1)
        a = synth_hit(drum_type, style, np.random.default_rng(3))
        np.random.seed(2)  # global numpy state must not matter
        b = synth_hit(drum_type, style, np.random.default_rng(3))
        assert np.array_equal(a, b), drum_type


def test_hits_do_not_depend_on_kit_size():
    small = {(t, s, n): y for t, s, n, y in starter_kit(seed=9, per_class=4)}
    large = {(t, s, n): y for t, s, n, y in starter_kit(seed=9, per_class=5)}
    assert set(small) < set(large)
    assert all(np.array_equal(y, large[k]) for k, y in small.items())


def test_styles_are_spread_evenly():
    assert _style_counts(40) == [10, 10, 10, 10]
    assert _style_counts(6) == [2, 2, 1, 1]
    counts: dict[tuple[str, str], int] = {}
    for t, s, _, _ in starter_kit(seed=0, per_class=6):
        counts[(t, s)] = counts.get((t, s), 0) + 1
    assert counts == {(t, s): c for t in CLASSES for s, c in zip(STYLES, [2, 2, 1, 1])}


def test_write_starter_kit_tree(tmp_path):
    paths = write_starter_kit(tmp_path, seed=0, per_class=8)
    assert len(paths) == 8 * len(CLASSES)
    assert sorted(paths) == sorted(tmp_path.rglob("*.wav"))
    seen = set()
    for p in paths:
        rel = p.relative_to(tmp_path)
        assert len(rel.parts) == 3, rel
        drum_type, style, name = rel.parts
        assert drum_type in CLASSES and style in STYLES and name.endswith(".wav")
        seen.add((drum_type, style))
        info = sf.info(str(p))
        assert info.samplerate == 44100 and info.channels == 1 and info.subtype == "PCM_24"
        lo, hi = DURATIONS[drum_type]
        assert lo - 1e-3 <= info.frames / info.samplerate <= hi + 1e-3
    assert seen == set(itertools.product(CLASSES, STYLES))  # 2 of every type in every style


# Words that name a drum type (or "perc") in file names; none may appear in another type's files.
_TYPE_WORDS = {
    "kick": {"kick", "kik", "bd", "bass", "bassdrum"},
    "snare": {"snare", "sd", "sn", "snr"},
    "clap": {"clap", "claps", "handclap", "cp"},
    "hihat": {"hihat", "hat", "hats", "hh", "ch", "closed"},
    "open hat": {"open", "oh", "ohh", "openhat", "hat", "hihat"},
    "tom": {"tom", "toms", "tomtom", "lt", "mt", "ht"},
    "cymbal": {"cymbal", "cym", "crash", "ride", "china", "splash"},
}
_PERC_WORDS = {"perc", "rim", "rimshot", "stick", "snap", "block", "cowbell", "clave", "shaker"}


def _stem_and_type():
    for drum_type, style, stem, _ in starter_kit(seed=0, per_class=4):
        yield drum_type, style, stem


def test_file_stems_are_descriptive_and_do_not_name_other_types():
    stems = set()
    for drum_type, style, stem in _stem_and_type():
        assert re.search(r"\d{2}$", stem), stem
        assert re.fullmatch(r"[a-z0-9 ]+", stem), stem
        assert (drum_type, style, stem) not in stems
        stems.add((drum_type, style, stem))
        words = set(stem.split())
        foreign = set().union(*(w for t, w in _TYPE_WORDS.items() if t != drum_type)) - _TYPE_WORDS[drum_type]
        assert not words & (foreign | _PERC_WORDS), (drum_type, stem)


def test_paths_label_back_to_their_folder_type():
    labels = pytest.importorskip("drummy.labels")
    for drum_type, style, stem in _stem_and_type():
        assert labels.labels_from_path(f"{drum_type}/{style}/{stem}.wav")[0] == drum_type, stem
        assert labels.labels_from_names([stem])[0] in (drum_type, "unknown"), stem


def test_progress_bar(tmp_path, capsys):
    paths = write_starter_kit(tmp_path / "kit", seed=1, per_class=1, progress=True)
    assert len(paths) == len(CLASSES) and all(Path(p).exists() for p in paths)
    assert f"{len(CLASSES)}/{len(CLASSES)}" in capsys.readouterr().err


def test_a_starter_kit_replaces_an_earlier_one_and_nothing_else(tmp_path):
    from drummy.library import LibraryError
    write_starter_kit(tmp_path / "kit", seed=7, per_class=3)
    again = write_starter_kit(tmp_path / "kit", seed=8, per_class=1)            # no hit of seed 7 left behind
    assert sorted(again) == sorted((tmp_path / "kit").rglob("*.wav")) and len(again) == len(CLASSES)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("a producer's own file")
    with pytest.raises(LibraryError, match="holds notes.txt, which no starter kit wrote"):
        write_starter_kit(tmp_path / "mine", per_class=1)
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


def test_a_starter_kit_stopped_half_way_is_replaced_whole_by_the_same_command(tmp_path, monkeypatch):
    from drummy import audio
    from conftest import interrupt_at
    real = audio.write
    write_starter_kit(tmp_path / "kit", seed=1, per_class=4)                  # an earlier kit, another seed
    monkeypatch.setattr(audio, "write", interrupt_at(5, real))                # Ctrl-C during hit 5
    with pytest.raises(KeyboardInterrupt):
        write_starter_kit(tmp_path / "kit", seed=0, per_class=4)
    monkeypatch.setattr(audio, "write", real)
    paths = write_starter_kit(tmp_path / "kit", seed=0, per_class=4)          # the same command again
    on_disk = sorted(p for p in (tmp_path / "kit").rglob("*.wav"))
    assert on_disk == sorted(paths) and len(paths) == 4 * len(CLASSES)
    fresh = write_starter_kit(tmp_path / "other", seed=0, per_class=4)
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(sorted(paths), sorted(fresh)))
