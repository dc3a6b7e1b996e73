"""The one audio reader and the one audio writer.

Every decode in Drummy goes through :func:`load` and every file it writes goes
through :func:`write`, so bit depths, resampling, headroom and atomicity are
handled in exactly one place.
"""
from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf
import soxr

SR = 44100  # the model rate: every sample in a workspace is mono float32 @ 44.1 kHz
MAX_SECONDS = 30.0  # a one-shot longer than this is a loop, a song or a mistake
MIN_SECONDS = 0.005  # ... and one shorter than this (after leading silence) is a click or a mistake
RATES = (1000, 768000)  # sample rates a sound can have: outside them a header is broken (or it is no sound)
MP3_PREROLL = 4608  # frames an MP3 slice is decoded from before its start (4 MPEG frames; 2 were not always enough)
_DAMAGED = ("lost sync", "psf_fseek", "Internal ")   # libsndfile's words for a file its decoder lost its way in
MAX_PEAK = 1000.0   # +60 dBFS: a float file may go over full scale, not by this much
UNREADABLE = "cannot read"   # how a file that could not be opened (permissions) is reported: it may be readable later
DANGLING = "a link to a file that is not there"


class AudioError(Exception):
    """A file that cannot be used as a drum hit; the message is one line for the user."""


def decode(path: str | os.PathLike, max_seconds: float = MAX_SECONDS, start: int = 0,
           end: int | None = None) -> tuple[np.ndarray, int]:
    """`_decode`, libmpg123's notes on an MP3 kept off the terminal: "Illegal Audio-MPEG-Header
    ...", "Trying to resync..." went to the process's stderr, among an ingest's lines, where a
    broken MP3's skip reason says it once."""
    if Path(path).suffix.lower() != ".mp3":
        return _decode(path, max_seconds, start, end)
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        return _decode(path, max_seconds, start, end)
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _decode(path: str | os.PathLike, max_seconds: float = MAX_SECONDS, start: int = 0,
            end: int | None = None) -> tuple[np.ndarray, int]:
    """Decode any file libsndfile reads into float32 (frames, channels) at its own rate;
    with start/end, only its frames start..end-1 (frames @ its own rate; end None: to its
    end, and an end past it stops there): a slice of it, as a kit's region plays.

    Raises AudioError for unreadable, empty, non-finite or absurdly long files (or
    slices), and a slice that starts past the file's end; its message does not name
    the file, so that callers can name the user's one.
    """
    path = Path(path)
    if not path.exists():
        raise AudioError("no such file")     # libsndfile would only say "System error."
    if path.is_dir():
        raise AudioError("a folder, not an audio file")
    if not path.is_file():                   # /dev/zero, a FIFO, a socket: reading would never end, or block
        raise AudioError("not a regular file")
    if path.stat().st_size == 0:
        raise AudioError("an empty file (0 bytes)")

    try:
        if path.suffix.lower() == ".mp3" and not _looks_like_mp3(path):
            # libmpg123 hunts through any bytes for frames: a text file came back as "silent",
            # with a screenful of decoder warnings. (A WAV or FLAC named .mp3 is read as what it is.)
            raise AudioError("not a readable audio file (no MP3 data in it)")
        info = sf.info(_os_path(path))
    except AudioError:
        raise
    except Exception as e:  # libsndfile raises RuntimeError/LibsndfileError/TypeError
        try:                                     # where libsndfile would only say "System error."
            open(_os_path(path), "rb").close()
        except OSError as oe:
            raise AudioError(f"{UNREADABLE} the file ({oe.strerror or oe})") from None
        why = first_line(e)
        if "possibly a pipe" in why:            # what libsndfile says of bytes no decoder of its takes, as .mp3
            why = "no audio data libsndfile can decode"
        raise AudioError(f"not a readable audio file ({why})") from None
    if info.format == "OGG" and _ogg_cut(path):
        # libsndfile reads a cut Ogg as the pages it holds, down to none ("empty audio"), without a word
        raise AudioError("truncated: its Ogg stream stops before its last page (a broken download or copy?)")
    unfinished = _unfinished_wav(path) if info.frames <= 0 else None
    if info.frames <= 0 and unfinished is None:
        raise AudioError("empty audio (0 samples)")
    if unfinished is not None:               # its samples are there: the writer never filled in their size
        info = unfinished
    if not RATES[0] <= info.samplerate <= RATES[1]:
        raise AudioError(f"its header gives a sample rate of {info.samplerate} Hz, which no audio has "
                         f"(Drummy reads {RATES[0] / 1000:g} to {RATES[1] / 1000:g} kHz): a broken file?")
    declared = _declared_frames(path, info.frames)
    if declared is not None and declared - info.frames > info.samplerate // 100:   # over 10 ms missing
        raise AudioError(f"truncated: the file holds {info.frames / info.samplerate:.2f} s of the "
                         f"{declared / info.samplerate:.2f} s its header says (a broken download or copy?)")
    if start >= info.frames:
        raise AudioError(f"its slice starts at frame {start}, past the file's end ({info.frames} frames)")
    stop = info.frames if end is None else min(end, info.frames)
    seconds = (stop - start) / info.samplerate
    if seconds > max_seconds:
        raise AudioError(f"too long for a one-shot ({seconds:.0f} s > {max_seconds:.0f} s)")
    try:
        if unfinished is not None:
            with open(_os_path(path), "rb") as f:
                f.seek(unfinished.offset + start * unfinished.block)
                raw = f.read((stop - start) * unfinished.block)
            data, rate = sf.read(io.BytesIO(raw), dtype="float32", always_2d=True, format="RAW", endian="LITTLE",
                                 samplerate=unfinished.samplerate, channels=unfinished.channels,
                                 subtype=unfinished.subtype)
        else:
            # an MP3 decoder needs the frames before a seek point to get its first ones right (a slice's
            # attack came out near silent): read from MP3_PREROLL earlier and drop them
            lead = min(start, MP3_PREROLL) if info.format in ("MP3", "MPEG") else 0
            data, rate = sf.read(_os_path(path), dtype="float32", always_2d=True, start=start - lead, stop=stop)
            data = data[lead:]
    except Exception as e:
        said = first_line(e)
        if any(k in said for k in _DAMAGED):     # a decoder's own words for a file cut short or damaged
            raise AudioError(f"damaged or cut short (the decoder says: {said})") from None
        raise AudioError(f"cannot decode audio ({said})") from None
    if data.size == 0:
        raise AudioError("empty audio (0 samples)")
    short = stop - start - len(data) > max(rate // 100, 2 * 1152)
    if short and info.format in ("MP3", "MPEG") and _mp3_states_length(path):
        # an MP3 cut short keeps its Xing header's length and decodes as the shorter sound it
        # holds (up to two MPEG frames short is the decoder's padding, not a cut). Without such
        # a header the length is libmpg123's guess from the file's size, tags and all
        raise AudioError(f"truncated: the file holds {len(data) / rate:.2f} s of the "
                         f"{info.frames / rate:.2f} s its header says (a broken download or copy?)")
    if not np.all(np.isfinite(data)):
        raise AudioError("audio contains NaN or infinite values")
    if (peak := sample_peak(data)) > MAX_PEAK:
        raise AudioError(f"an absurd level (peaks at {20 * np.log10(peak):+.0f} dBFS; sound peaks near 0 dBFS)")
    return data, rate


def _looks_like_mp3(path: Path) -> bool:
    """Whether a file named .mp3 may hold audio: another container libsndfile knows by its
    header (RIFF, FORM, fLaC, OggS), an ID3 tag, or an MPEG audio frame header (sync, a
    layer, a bitrate) in its first 64 kB, as players search for one."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    if head[:4] in (b"RIFF", b"RIFX", b"RF64", b"FORM", b"fLaC", b"OggS", b"caff") or head[:3] == b"ID3":
        return True
    return _mpeg_frame(head) is not None


def _mpeg_frame(data: bytes) -> int | None:
    """Where the first MPEG audio frame header (sync, a layer, a bitrate, a rate) starts in data."""
    for i in (m.start() for m in re.finditer(b"\xff", data[:-2])):
        b1, b2 = data[i + 1], data[i + 2]
        if b1 & 0xE0 == 0xE0 and (b1 >> 1) & 3 and (b2 >> 4) not in (0, 15) and (b2 >> 2) & 3 != 3:
            return i
    return None


def _mp3_states_length(path: Path) -> bool:
    """Whether an MP3's first frame (after any ID3v2 tag) is a Xing, Info or VBRI header,
    which states the stream's length in frames."""
    try:
        with open(_os_path(path), "rb") as f:
            head = f.read(10)
            if head[:3] == b"ID3" and len(head) == 10:             # its size: four 7-bit bytes, after the header
                size = sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(head[6:10]))
                f.seek(10 + size + (10 if head[5] & 0x10 else 0))     # (and a footer, where flagged)
            else:
                f.seek(0)
            first = f.read(4096)
    except OSError:
        return False
    sync = _mpeg_frame(first)
    return sync is not None and any(tag in first[sync:sync + 64] for tag in (b"Xing", b"Info", b"VBRI"))


def _chunks(f, endian: str):
    """(id, size) of each chunk of a RIFF or FORM file from f's position on, f left at its
    body; what the caller does not read of a body is skipped (bodies pad to even sizes)."""
    import struct
    while len(head := f.read(8)) == 8:
        body, size = f.tell(), struct.unpack(endian + "I", head[4:])[0]
        yield head[:4], size
        f.seek(body + size + size % 2)


def _wav_format(body: bytes) -> tuple[int, int, int, int] | None:
    """(format tag, channels, sample rate, bits) of a WAV fmt chunk's body; an extensible
    format gives its sub-format's tag. None for a body too short to say."""
    import struct
    if len(body) < 16:
        return None
    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == 0xFFFE and len(body) >= 26:
        tag = struct.unpack("<H", body[24:26])[0]
    return tag, channels, rate, bits


def _declared_frames(path: Path, frames: int) -> int | None:
    """The frames a WAV or an AIFF holds by its header, where libsndfile read `frames`
    from it: None where the header does not say (another format, RF64, a streaming
    writer's 0 or 0xFFFFFFFF) or where its sound chunk's bytes are all there. libsndfile
    reads a truncated file as the shorter sound it holds without a word; this is how to
    tell. Bytes, not frames, so that it holds for every codec (an IMA4 AIFF-C's header counts
    packets). The format is read from the file's first bytes, not its name (an AIFF named .wav)."""
    try:
        with open(_os_path(path), "rb") as f:
            head = f.read(12)
            if head[:4] == b"RIFF" and head[8:] == b"WAVE":
                endian, sound = "<", b"data"
            elif head[:4] == b"FORM" and head[8:] in (b"AIFF", b"AIFC"):
                endian, sound = ">", b"SSND"                  # big-endian chunks; 8 bytes (offset, block) lead the sound
            else:
                return None
            for cid, size in _chunks(f, endian):
                if cid == sound:
                    # 0 or >= 0x7ff00000: a streaming writer's "unknown" (SoX, arecord and ffmpeg to a pipe)
                    there = os.fstat(f.fileno()).st_size - f.tell()
                    if not 0 < size < 0x7FF00000 or size <= there or there <= 0:
                        return None
                    # an SSND chunk opens with its sound's offset (alignment padding) and block size
                    lead = 8 + int.from_bytes(f.read(4), "big") if sound == b"SSND" else 0
                    if lead >= there:                             # an offset past the end: no sound to measure
                        return None
                    return round(frames * (size - lead) / max(there - lead, 1))
    except OSError:
        pass
    return None


def _ogg_cut(path: Path) -> bool:
    """Whether an Ogg file stops short: its last page cut off, with a stream begun (BOS) and not
    ended (EOS), as every Ogg writer ends one. (A file of whole pages whose writer never marked
    its end is read as it is.) Page headers only: 27 bytes, the segment table, skip the body."""
    try:
        with open(_os_path(path), "rb") as f:
            size, pos, open_streams, cut = os.fstat(f.fileno()).st_size, 0, set(), False
            while pos < size:
                f.seek(pos)
                head = f.read(27)
                if len(head) < 27 or head[:4] != b"OggS":     # a cut page, or a tag after the streams ended
                    cut = True
                    break
                flags, serial = head[5], head[14:18]
                table = f.read(head[26])
                pos += 27 + head[26] + sum(table)
                if len(table) < head[26] or pos > size:
                    cut = True
                    break
                if flags & 2:
                    open_streams.add(serial)
                if flags & 4:
                    open_streams.discard(serial)
            return cut and bool(open_streams)
    except OSError:
        return False


@dataclass(frozen=True)
class _Unfinished:
    samplerate: int
    channels: int
    subtype: str      # libsndfile's name for the sample format
    block: int        # bytes per frame
    offset: int       # where the samples start
    frames: int


_RAW_SUBTYPES = {(1, 8): "PCM_U8", (1, 16): "PCM_16", (1, 24): "PCM_24", (1, 32): "PCM_32",
                 (3, 32): "FLOAT", (3, 64): "DOUBLE"}


def _unfinished_wav(path: Path) -> _Unfinished | None:
    """A WAV whose writer never came back to fill in its sizes (a recorder that crashed, a
    stream cut off): its data chunk says 0 bytes and the samples run on to the end of the
    file. libsndfile reads it as empty, and it was skipped as "empty audio". Plain PCM and
    float only; None for anything else."""
    fmt = None
    try:
        with open(_os_path(path), "rb") as f:
            if f.read(12)[8:] != b"WAVE":
                return None
            for cid, size in _chunks(f, "<"):
                if cid == b"fmt ":
                    tag, channels, rate, bits = _wav_format(f.read(size)) or (0, 0, 0, 0)
                    sub = _RAW_SUBTYPES.get((tag, bits))
                    fmt = (rate, channels, sub, channels * bits // 8) if sub and channels else None
                elif cid == b"data":
                    offset = f.tell()
                    rest = os.fstat(f.fileno()).st_size - offset
                    if size != 0 or fmt is None or rest < fmt[3]:
                        return None
                    nxt = f.read(4)                     # an empty data chunk, and another chunk (maybe cut) after it
                    if nxt.isascii() and nxt.decode().isprintable():
                        return None
                    return _Unfinished(*fmt, offset=offset, frames=rest // fmt[3])
    except OSError:
        pass
    return None


def to_mono(data: np.ndarray) -> np.ndarray:
    """(frames, channels) -> (frames,) by averaging channels; where that cancels a hit
    (more than 12 dB down on its loudest channel: one channel's polarity flipped), its
    loudest channel alone."""
    if data.ndim != 2:
        return data
    mono = data.mean(axis=1)
    loudest = np.abs(data).max(axis=0)                                        # (channels,)
    if data.shape[1] > 1 and np.abs(mono).max() < 0.25 * loudest.max():
        return data[:, int(np.argmax(loudest))].copy()
    return mono


def frames_of(path: str | os.PathLike) -> int | None:
    """How many frames a file holds, as its header says (None: not a file libsndfile reads)."""
    try:
        return int(sf.info(_os_path(Path(path))).frames)
    except Exception:
        return None


def resample(y: np.ndarray, sr_in: int, sr_out: int = SR) -> np.ndarray:
    """Band-limited resampling (soxr, high quality); a no-op when rates match."""
    if sr_in == sr_out:
        return y.astype(np.float32, copy=False)
    return soxr.resample(y, sr_in, sr_out, quality="HQ").astype(np.float32)


def trim_leading_silence(y: np.ndarray, threshold_db: float = -50.0, pre_samples: int = 32) -> np.ndarray:
    """Drop everything before the first sample within threshold_db of the peak.

    Keeps a few samples of pre-roll so the attack transient is never cut.
    """
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak == 0.0:
        return y
    above = np.flatnonzero(np.abs(y) >= peak * 10 ** (threshold_db / 20))
    start = max(int(above[0]) - pre_samples, 0)
    return y[start:]


def dc_offset(y: np.ndarray, sr: int = SR, least_db: float = -40.0) -> float:
    """The level a hit sits at where nothing sounds, its DC offset: the median of its quiet
    start or end (`_still_end`), where that is least_db of its peak or more; else 0.0. Not
    the median of the whole hit, which a short lopsided hit holds well off zero (an 808
    cymbal's: 12 % of its peak, its tail ending on zero); recorded kits' ends sit under -44 dB."""
    y = np.asarray(y)
    end = _still_end(y, sr, least_db)
    return float(np.median(y[end])) if end is not None else 0.0


def _still_end(y: np.ndarray, sr: int = SR, least_db: float = -40.0, quiet_db: float = -40.0) -> slice | None:
    """Where a hit of 100 ms or more sits still off zero: its first 10 ms, else its last 50 ms,
    spanning no more than quiet_db of its peak and off zero by least_db of it or more. The start
    first: its offset is what keeps the silence before the hit from being trimmed, whatever its
    end does (faded to digital zero by an editor). The end's 50 ms are a 20 Hz cycle: an 808
    cut mid-ring at 2 % is no offset, though 10 ms of it sat still at +1.8 %."""
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if len(y) < 0.1 * sr or peak == 0:
        return None
    for end in (slice(0, int(0.010 * sr)), slice(len(y) - int(0.050 * sr), len(y))):
        e = y[end]
        if np.ptp(e) <= peak * 10 ** (quiet_db / 20) and abs(float(np.median(e))) >= peak * 10 ** (least_db / 20):
            return end
    return None


def load(path: str | os.PathLike, sr: int = SR, trim: bool = True,
         max_seconds: float = MAX_SECONDS, stereo: bool = False, start: int = 0, end: int | None = None,
         offset: float | None = None) -> np.ndarray:
    """Read a file as a mono float32 one-shot at `sr`: (samples,); with `stereo`, a stereo
    file whose channels differ as (samples, 2), for a beat to play as it is. With
    start/end, its slice of frames start..end-1 (`decode`), cut before anything else.
    A DC offset is taken out before the leading silence is trimmed and before anything
    hears it: `offset`, else the one `dc_offset` finds (0.0: none, as a variation made
    before offsets were taken out heard its reference).

    Raises AudioError for files (or slices) that are broken, empty, silent, non-finite,
    too long or too short (judged on the mono fold-down).
    """
    return load_with_rate(path, sr, trim, max_seconds, stereo, start, end, offset)[0]


def load_with_rate(path: str | os.PathLike, sr: int = SR, trim: bool = True, max_seconds: float = MAX_SECONDS,
                   stereo: bool = False, start: int = 0, end: int | None = None, offset: float | None = None
                   ) -> tuple[np.ndarray, int]:
    """:func:`load`, also returning the file's own sample rate."""
    y, rate, _ = _load(path, sr, trim, max_seconds, stereo, start, end, offset)
    return y, rate


def load_centred(path: str | os.PathLike, offset: float | None = None) -> tuple[np.ndarray, float]:
    """:func:`load` (mono, trimmed), and the DC offset it took out (0.0: none), decoded once."""
    y, _, offset = _load(path, offset=offset)
    return y, offset


def _load(path: str | os.PathLike, sr: int = SR, trim: bool = True, max_seconds: float = MAX_SECONDS,
          stereo: bool = False, start: int = 0, end: int | None = None, offset: float | None = None
          ) -> tuple[np.ndarray, int, float]:
    """:func:`load_with_rate`, and the DC offset taken out."""
    data, rate = decode(path, max_seconds=max_seconds, start=start, end=end)
    y = resample(to_mono(data), rate, sr)
    still = _still_end(y, sr) if offset is None else None   # (its silence would be no silence, its body off centre)
    offset = float(np.median(y[still])) if still is not None else float(offset or 0.0)      # (`dc_offset`)
    if offset:
        y = y - np.float32(offset)
    if not y.size:
        raise AudioError("too short for a drum hit (no sample left at the model's rate)")
    if len(y) < MIN_SECONDS * sr and float(np.max(np.abs(y))) >= 10 ** (-80 / 20):   # one full-scale sample is
        raise AudioError(f"too short for a drum hit ({1000 * len(y) / sr:.2f} ms in all; at least "  # no DC offset
                         f"{1000 * MIN_SECONDS:g} ms)")
    if float(np.max(np.abs(y - y.mean()))) < 10 ** (-80 / 20):   # a constant (DC) is no sound: it is written as zeros
        raise AudioError("silent (peak below -80 dBFS once any DC offset is taken out)")
    whole = len(y)
    y = trim_leading_silence(y) if trim else y
    if len(y) < MIN_SECONDS * sr:
        raise AudioError(f"too short for a drum hit ({1000 * len(y) / sr:.2f} ms of sound; at least "
                         f"{1000 * MIN_SECONDS:g} ms)")
    if stereo and data.ndim == 2 and data.shape[1] == 2 and not np.array_equal(data[:, 0], data[:, 1]) \
            and np.abs(data.mean(axis=1)).max() >= 0.25 * np.abs(data).max():    # one side flipped: as to_mono hears it
        both = resample(np.ascontiguousarray(data), rate, sr)           # (samples, 2), trimmed as the mono one
        if still is not None:                                           # each side, where the mono sits still
            both = both - np.median(both[still], axis=0).astype(np.float32)
        return np.ascontiguousarray(both[whole - len(y):][:len(y)]), rate, offset
    return y, rate, offset


def prepare(y: np.ndarray, sr: int = SR, peak_db: float | None = -1.0,
            fade_ms: float = 5.0, remove_dc: bool = True, cap: bool = True) -> np.ndarray:
    """Make audio safe to ship: DC offset removed, short fade-out, true peak (the
    peak between samples, as a DAW's true-peak meter reads it) set to peak_db.

    Works on (samples,) or (samples, channels). peak_db=None keeps the level but
    still guarantees no sample reaches full scale (cap=False: not even that, for a
    float file whose level over full scale is meant: a kit's hot drum).

    The offset is the median sample, not the mean: a one-shot spends most of its
    samples in its quiet tail, which must end centred on zero. A kick's lopsided
    first cycle gives it a mean well off zero with no offset at all, and taking the
    mean out would lift the whole tail off zero, so the fade would end it on a thump.
    """
    y = np.array(y, dtype=np.float64)  # a copy: the fade works in place
    if not np.all(np.isfinite(y)):
        raise AudioError("refusing to write NaN or infinite audio")
    if remove_dc and y.size:
        y = y - np.median(y, axis=0, keepdims=True)
    y = fade_end(y, sr, fade_ms).astype(np.float32)
    if peak_db is not None:                # the peak a DAW's meter and a D/A converter see: between the samples
        peak = true_peak(y.T) if y.size else 0.0
        return y * np.float32(10 ** (peak_db / 20) / peak) if peak > 0 else y
    peak = sample_peak(y)
    return y * np.float32(10 ** (-0.1 / 20) / peak) if cap and peak > 10 ** (-0.1 / 20) else y


END_FLOOR_DB = -60.0        # a hit whose last samples sit over this (under its peak) stops on a step: a click


def ends_off_zero(y: np.ndarray, floor_db: float = END_FLOOR_DB) -> bool:
    """Whether audio (samples,) or (samples, channels) stops short of silence: its last 8
    samples' mean level over floor_db under its peak (a recording cut off mid-ring, or a
    hit whose DC offset was taken out of its sound and its digital silence alike)."""
    peak = sample_peak(y)
    return bool(peak > 0 and np.abs(y[-8:]).mean() > peak * 10 ** (floor_db / 20))


def fade_end(y: np.ndarray, sr: int = SR, fade_ms: float = 2.0) -> np.ndarray:
    """A copy of y (samples,) or (samples, channels) faded out over its last fade_ms (raised
    cosine): no step at its end. Float64 stays float64 (`prepare`), anything else is float32."""
    y = np.array(y, dtype=np.float64 if np.asarray(y).dtype == np.float64 else np.float32)
    n = min(int(sr * fade_ms / 1000), y.shape[0])
    ramp = (np.cos(np.linspace(0, np.pi / 2, n)) ** 2).astype(y.dtype)
    y[len(y) - n:] *= ramp if y.ndim == 1 else ramp[:, None]
    return y


TRUE_PEAK_SEARCH_DB = 4.5   # true_peak interpolates the gaps this close to the peak read 2x oversampled


def sample_peak(y: np.ndarray) -> float:
    """max |y| without a temporary the size of y."""
    return max(float(y.max()), -float(y.min())) if y.size else 0.0


def sample_peaks(y: np.ndarray) -> np.ndarray:
    """`sample_peak` of each row of (n, samples): (n,)."""
    return np.maximum(y.max(1), -y.min(1)) if y.shape[1] else np.zeros(len(y), y.dtype)


def _sinc_taps(half: int = 12, oversample: int = 4) -> np.ndarray:
    """(oversample - 1, 2 * half) Hann-windowed sinc weights for the points between samples."""
    m = np.arange(-half + 1, half + 1)                   # taps around sample i: i-half+1 .. i+half
    f = np.arange(1, oversample)[:, None] / oversample   # fractional positions i + 1/4, 1/2, 3/4
    x = f - m[None, :]
    return np.sinc(x) * (0.5 + 0.5 * np.cos(np.pi * x / (half + 1)))


_TAPS = _sinc_taps().astype(np.float32)                                # the 4x search
_FINE = _sinc_taps(half=256, oversample=32).astype(np.float32)          # 32x, read where the search peaks
_FINE_WITHIN_DB = 1.5   # 4x with a short kernel reads peaks near Nyquist up to ~1 dB low; gaps this close are read again


def true_peak(y: np.ndarray, chunk: int = 1 << 16, loop: bool = False) -> float:
    """Peak of (channels, samples) float32 audio between the samples too.

    The ITU-R BS.1770 meter reads it 4x oversampled, which misses a peak near 20 kHz by
    up to 0.6 dB: a master set to it went over 0 dBTP. Here the 4x reading finds
    the gaps where the peak can be, and those are read again 32x oversampled with a
    512-tap interpolator (a 64-tap one still read a lo-fi master 0.15 dB low). The gaps
    searched are those whose two samples or midpoint (every gap's midpoint is read once,
    a 2x reading) come within TRUE_PEAK_SEARCH_DB of the loudest of these: between
    samples and midpoints a band-limited signal rises at most 3 dB. The samples alone do
    not say where to look: near Nyquist a peak can stand 7 dB over its neighbours (a
    mastered beat read -0.3 dBTP by its samples' gaps and was at +0.5). Channels run on threads. With `loop`, the audio is read as the loop it is:
    its end runs into its start (and not into silence)."""
    y = np.atleast_2d(y)
    peak = sample_peak(y)
    if peak == 0.0:
        return 0.0
    if len(y) == 1:
        return max(peak, _channel_true_peak(y[0], peak, chunk, loop))
    with ThreadPoolExecutor(min(len(y), 2)) as ex:
        return max(peak, *ex.map(lambda ch: _channel_true_peak(ch, peak, chunk, loop), y))


def _padded(ch: np.ndarray, taps: np.ndarray, loop: bool) -> np.ndarray:
    """ch with what an interpolator of `taps` reads past its ends: silence, or for a loop the loop again."""
    half = taps.shape[1] // 2
    return np.pad(ch.astype(np.float32, copy=False), (half - 1, half), mode="wrap" if loop else "constant")


def _gap_peaks(padded: np.ndarray, starts: np.ndarray, taps: np.ndarray, chunk: int) -> np.ndarray:
    """Largest |interpolated value| in the gap after each sample in `starts`: (len(starts),).
    padded: the channel as `_padded(ch, taps, loop)` gives it."""
    win = np.lib.stride_tricks.sliding_window_view(padded, taps.shape[1])  # (samples, taps)
    out = np.zeros(len(starts), np.float32)
    for i in range(0, len(starts), chunk):
        out[i:i + chunk] = np.max(np.abs(win[starts[i:i + chunk]] @ taps.T), axis=1)
    return out


def midpoints(ch: np.ndarray, loop: bool = False, at: np.ndarray | None = None) -> np.ndarray:
    """|Each gap's midpoint| of a channel (samples,), band-limited (a 2x reading of its true peak;
    the gap after the last sample runs into the first with `loop`): (samples,) float32; with `at`,
    those gaps' only ((len(at),): a limiter reads the loud ones, not 10 million)."""
    padded = _padded(ch, _TAPS, loop)
    return _midpoints(padded) if at is None else _gap_peaks(padded, at, _TAPS[1:2], 1 << 16)


def _midpoints(padded: np.ndarray) -> np.ndarray:
    """`midpoints` of a channel padded as `_padded(ch, _TAPS, loop)` gives it: (samples,) float32."""
    from scipy.signal import oaconvolve
    return np.abs(oaconvolve(padded, _TAPS[1][::-1], "valid")).astype(np.float32)


def _channel_true_peak(ch: np.ndarray, peak: float, chunk: int, loop: bool = False) -> float:
    """The channel's largest value between samples."""
    padded = _padded(ch, _TAPS, loop)
    gap = _midpoints(padded)                                # (samples,) each gap's midpoint
    top = max(peak, float(gap.max()))
    a = np.abs(ch)
    np.maximum(gap, a, out=gap)
    np.maximum(gap[:-1], a[1:], out=gap[:-1])            # ... and the larger of its two samples
    gap[-1] = max(gap[-1], a[0]) if loop else gap[-1]    # a loop's last gap runs into its first sample
    starts = np.flatnonzero(gap >= 10 ** (-TRUE_PEAK_SEARCH_DB / 20) * top)
    coarse = _gap_peaks(padded, starts, _TAPS, chunk)
    if not len(coarse):
        return 0.0
    near = starts[coarse >= max(float(coarse.max()), peak) * 10 ** (-_FINE_WITHIN_DB / 20)]
    fine = _gap_peaks(_padded(ch, _FINE, loop), near, _FINE, chunk).max() if len(near) else 0.0
    return float(max(coarse.max(), fine))

WRITE_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".aiff": "AIFF", ".aif": "AIFF", ".ogg": "OGG"}


OGG_MARGIN = 10 ** (-0.1 / 20)     # how far under its own peak a lossy file is turned down each time it went over


def format_of(path: str | os.PathLike) -> str:
    """The libsndfile format :func:`write` uses for a file name, or an AudioError."""
    fmt = WRITE_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise AudioError(f"{path}: cannot write {Path(path).suffix or 'files without an extension'}; "
                         f"name it .wav, .flac, .aiff or .ogg")
    return fmt


def write(path: str | os.PathLike, y: np.ndarray, sr: int = SR, peak_db: float | None = -1.0,
          fade_ms: float = 5.0, subtype: str = "PCM_24", remove_dc: bool = True, software: str | None = None,
          cap: bool = True) -> Path:
    """Write audio atomically (temp file + rename) as 24-bit WAV by default.

    y is (samples,) or (samples, channels) float. See :func:`prepare` for the
    level and fade handling (and `cap`). software: the file's "software" tag (`written_by`
    reads it back). Returns the path written.
    """
    path = Path(path)
    fmt = format_of(path)
    y = prepare(y, sr=sr, peak_db=peak_db, fade_ms=fade_ms, remove_dc=remove_dc, cap=cap)
    if fmt == "OGG":
        subtype = "VORBIS"

    def encode(tmp: str, z: np.ndarray, comment: str | None = None) -> None:
        try:
            with sf.SoundFile(_os_path(Path(tmp)), "w", sr, 1 if z.ndim == 1 else z.shape[1],
                              subtype=subtype, format=fmt) as f:
                if software:
                    f.software = software
                if comment:
                    f.comment = comment
                f.write(z)
        except sf.LibsndfileError as e:      # libsndfile says "System error." for a full disk
            full = shutil.disk_usage(Path(tmp).parent).free < 2 * z.size * 4 + (1 << 20)
            raise OSError(errno.ENOSPC if full else errno.EIO,
                          os.strerror(errno.ENOSPC) if full else f"cannot be written ({first_line(e)})") from None

    def write_to(tmp: str) -> None:
        encode(tmp, y)
        if software and fmt != "OGG":          # its samples' fingerprint in its comment (the same samples again)
            encode(tmp, y, SIGNED + _samples_hash(tmp))
        if fmt != "OGG":
            return
        # a lossy codec's error adds peaks: a master at -0.36 dBTP decoded at +0.04. The file is
        # turned down by what it went over (and 0.1 dB) and written again, up to 4 times (once is the rule)
        want = true_peak(np.atleast_2d(y.T))
        z = y
        for _ in range(4):
            got = true_peak(np.atleast_2d(sf.read(_os_path(Path(tmp)), dtype="float32")[0].T))
            if got <= want:
                return
            z = (z * (want / got * OGG_MARGIN)).astype(np.float32)
            encode(tmp, z)
    return atomic_write(path, write_to)


SIGNED = "drummy samples "     # a file's comment: the fingerprint of the samples Drummy wrote into it


def _samples_hash(path: str | os.PathLike) -> str:
    """A fingerprint of a lossless file's samples, as stored (integers for a PCM file)."""
    with sf.SoundFile(_os_path(Path(path))) as f:
        data = f.read(dtype="float32" if f.subtype in ("FLOAT", "DOUBLE") else "int32")
    return hashlib.sha1(data.tobytes()).hexdigest()[:16]


def edited_since(path: str | os.PathLike) -> bool:
    """Whether a file Drummy wrote with a `software` tag (`write`) no longer holds the samples it
    wrote: an editor that kept the tag kept a beat Drummy would replace. False for a file with no
    fingerprint (an Ogg, or one written before they were), taken as written."""
    try:
        with sf.SoundFile(_os_path(Path(path))) as f:
            said = f.comment or ""
        return said.startswith(SIGNED) and said[len(SIGNED):] != _samples_hash(path)
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError):
        return True


def written_by(path: str | os.PathLike) -> str:
    """An audio file's "software" tag ("" when it has none or is not audio)."""
    try:
        with sf.SoundFile(_os_path(Path(path))) as f:
            return f.software or ""
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError):
        return ""


def atomic_write(path: str | os.PathLike, write_to: Callable[[str], object]) -> Path:
    """Write a file so that readers see the old or the new version, never half:
    write_to(temp path) fills a temp file beside `path`, which then replaces it.
    Errors name `path`, not the temp file. Returns the path written. A Ctrl-C while
    it writes waits for the file to be in place: a second Ctrl-C after "interrupted,
    saving" threw away the checkpoint being saved."""
    path = Path(path)
    make_folder(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem[:40]}.", suffix=path.suffix)
    except OSError as e:
        raise OSError(e.errno, e.strerror, str(path)) from None
    os.close(fd)
    try:
        with interrupts_held():
            write_to(tmp)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are ordinary files
            os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise OSError(e.errno, e.strerror, str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@contextmanager
def interrupts_held():
    """Ctrl-C (SIGINT) and SIGTERM held back for a block: what arrives meanwhile is raised
    again, as it would have been, when the block ends. Only the main thread gets signals
    (a write on another thread is left as it is)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []
    before = {sig: signal.signal(sig, lambda s, _frame: came.append(s)) for sig in (signal.SIGINT, signal.SIGTERM)
              if signal.getsignal(sig) is not None}                # None: a handler not set from Python, left alone
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(came):
            signal.raise_signal(sig)


def make_folder(folder: str | os.PathLike) -> None:
    """mkdir -p, where a file in the way reads "Not a directory" (mkdir says "File exists")."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder)) from None
    except FileNotFoundError as e:     # /proc's "No such file or directory", of a folder made in it
        at = Path(e.filename or folder)
        if at.parent.is_dir():
            raise OSError(e.errno, NO_MAKING, str(at.parent)) from None
        raise


NO_MAKING = "a folder no file can be made in"


def writable_folder(folder: str | os.PathLike) -> None:
    """mkdir -p, then make sure a file can be written there: an OSError naming the folder
    (read-only, no permission), raised before minutes of work rather than after."""
    make_folder(folder)
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as e:          # (/proc says "No such file or directory" of a file made in it)
        why = NO_MAKING if e.errno == errno.ENOENT and Path(folder).is_dir() else e.strerror
        raise OSError(e.errno, why, str(folder)) from None


@contextmanager
def folders_undone(*folders: str | os.PathLike | None):
    """The folders this block makes for `folders` (and the parents they lacked) go again if
    it fails while they are still empty: a Ctrl-C or an error before the first file is
    written leaves no empty folder where the producer asked for output."""
    new = set()
    for f in folders:
        p = Path(f).absolute() if f is not None else None
        while p is not None and not (p.exists() or p.is_symlink()) and p != p.parent:
            new.add(p)
            p = p.parent
    try:
        yield
    except BaseException:
        for p in sorted(new, key=lambda p: len(p.parts), reverse=True):     # deepest first
            try:
                p.rmdir()                   # only an empty folder: anything written in it stays
            except OSError:
                pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _os_path(path: Path) -> str | bytes:
    """The path as the OS spells it: bytes on POSIX, so a name that is not UTF-8 (sample
    packs unzipped from old archives) still opens; soundfile encodes str strictly."""
    return str(path) if os.name == "nt" else os.fsencode(path)


def first_line(e: Exception) -> str:
    """libsndfile's reason, without the file it names (the caller names the user's file)."""
    text = str(e).strip().splitlines()
    if not text:
        return type(e).__name__
    line = re.sub(r"^Error opening (b?'.*'|b?\".*\"): ", "", text[0])
    return line[:120]
