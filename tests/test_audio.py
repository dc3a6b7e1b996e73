import numpy as np
import pytest
import soundfile as sf

from drummy import audio
from conftest import SR, kick, write


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
def test_wav_bit_depths(tmp_path, subtype):
    y = kick(0)
    path = write(tmp_path / f"k_{subtype}.wav", y, subtype=subtype)
    out = audio.load(path, trim=False)
    assert out.dtype == np.float32 and out.shape == y.shape
    tol = 0.02 if subtype == "PCM_U8" else 1e-3
    assert np.max(np.abs(out - y)) < tol


@pytest.mark.parametrize("ext,fmt,subtype", [
    ("flac", "FLAC", "PCM_16"), ("flac", "FLAC", "PCM_24"), ("aiff", "AIFF", "PCM_16"),
    ("aif", "AIFF", "PCM_24"), ("ogg", "OGG", "VORBIS"), ("mp3", "MP3", "MPEG_LAYER_III"),
    ("caf", "CAF", "PCM_24"), ("w64", "W64", "FLOAT"), ("rf64", "RF64", "PCM_24"),
])
def test_other_formats(tmp_path, ext, fmt, subtype):
    y = kick(1)
    path = write(tmp_path / f"k.{ext}", y, subtype=subtype, fmt=fmt)
    out = audio.load(path, trim=False)
    # Lossy codecs add delay and change samples; compare length and level.
    assert abs(len(out) - len(y)) < 0.1 * SR
    assert 0.5 < np.max(np.abs(out)) / np.max(np.abs(y)) < 1.5


@pytest.mark.parametrize("rate", [8000, 22050, 48000, 96000])
def test_resampled_to_model_rate_keeps_duration_and_pitch(tmp_path, rate):
    t = np.arange(rate // 2) / rate
    y = 0.5 * np.sin(2 * np.pi * 440 * t).astype(np.float32)
    out = audio.load(write(tmp_path / "sine.wav", y, sr=rate), trim=False)
    assert abs(len(out) - SR // 2) <= 2
    spec = np.abs(np.fft.rfft(out))
    assert abs(np.argmax(spec) * SR / len(out) - 440) < 5


def test_stereo_and_multichannel_are_mixed_to_mono(tmp_path):
    y = kick(2)
    st = np.stack([y, y, y, y, np.zeros_like(y), np.zeros_like(y)], axis=1)  # 6 channels
    out = audio.load(write(tmp_path / "six.wav", st), trim=False)
    assert out.ndim == 1 and np.allclose(out, y * 4 / 6, atol=1e-3)
    # one channel's polarity flipped: the average would cancel to silence; the loudest channel is kept
    flipped = audio.load(write(tmp_path / "flip.wav", np.stack([y, -0.9 * y], axis=1)), trim=False)
    assert np.allclose(flipped, y, atol=1e-3)


def test_a_streaming_writers_wav_is_not_called_truncated(tmp_path):
    import struct
    p = write(tmp_path / "piped.wav", kick(1, seconds=0.5))
    data = bytearray(p.read_bytes())
    i = data.index(b"data")
    for unknown in (0x7FFFF000, 0x7FFFFFFF, 0xFFFFFFFF):     # SoX, arecord, ffmpeg writing to a pipe
        data[i + 4:i + 8] = struct.pack("<I", unknown)
        p.write_bytes(bytes(data))
        assert len(audio.decode(p)[0]) == SR // 2


@pytest.mark.parametrize("fmt,subtype,channels", [     # (libsndfile writes MS ADPCM and GSM in mono only)
    ("WAV", "IMA_ADPCM", 1), ("WAV", "IMA_ADPCM", 2), ("WAV", "MS_ADPCM", 1), ("WAV", "GSM610", 1), ("WAV", "ULAW", 2),
    ("AIFF", "IMA_ADPCM", 1), ("AIFF", "IMA_ADPCM", 2), ("AIFF", "ALAW", 2), ("AIFF", "PCM_16", 2)])
def test_a_compressed_file_cut_short_is_called_truncated(tmp_path, fmt, subtype, channels):
    # libsndfile reads the half that is there as a shorter sound; an IMA4 AIFF-C's header counts
    # packets of 64 frames, not frames, so the header's count alone cannot tell
    y = np.stack([kick(1, seconds=0.5)] * channels, axis=1)
    p = write(tmp_path / f"hit.{fmt.lower()}", y, subtype=subtype, fmt=fmt)
    assert len(audio.decode(p)[0]) >= SR // 2                   # whole, it is no false alarm
    data = p.read_bytes()
    sound = data.index(b"data" if fmt == "WAV" else b"SSND") + 8
    p.write_bytes(data[:sound + (len(data) - sound) // 2])
    with pytest.raises(audio.AudioError, match=r"truncated: the file holds 0\.2\d s of the 0\.5\d s"):
        audio.decode(p)


@pytest.mark.parametrize("subtype", ["VORBIS", "OPUS"])
@pytest.mark.parametrize("kept", [0.5, 0.9, 0.999])
def test_an_ogg_cut_short_is_called_truncated(tmp_path, subtype, kept):
    # libsndfile reads the pages that are there, down to none ("empty audio (0 samples)"), or
    # a 90 % file as 43 % of the sound, without a word
    p = tmp_path / "hit.ogg"
    sf.write(p, np.r_[kick(1, seconds=0.5), np.zeros(SR // 2, np.float32)], 48000 if subtype == "OPUS" else SR,
             format="OGG", subtype=subtype)
    data = p.read_bytes()
    (tmp_path / "tagged.ogg").write_bytes(data + b"TAG" + bytes(125))    # bytes after the stream's end: no cut
    assert len(audio.decode(tmp_path / "tagged.ogg")[0]) > 0.9 * len(audio.decode(p)[0]) > 0
    p.write_bytes(data[:int(len(data) * kept)])
    with pytest.raises(audio.AudioError, match="truncated: its Ogg stream stops before its last page|not a readable"):
        audio.decode(p)


def test_an_mp3_is_called_truncated_only_where_its_header_states_its_length(tmp_path):
    # without a Xing/Info header libmpg123 guesses the length from the file's size, ID3 tag and
    # all: a whole MP3 with a 4 kB tag in front read "truncated: 1.04 s of the 1.10 s"
    import io
    buf = io.BytesIO()
    y = np.r_[kick(1, seconds=0.5), np.zeros(SR // 2, np.float32)]
    sf.write(buf, y, SR, format="MP3", subtype="MPEG_LAYER_III", bitrate_mode="CONSTANT", compression_level=0.5)
    data = buf.getvalue()
    sync = data.index(b"\xff\xfb")                                # the first frame: the Info header (MPEG-1 layer III)
    size = 144000 * [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320][data[sync + 2] >> 4] // SR \
        + (data[sync + 2] >> 1 & 1)
    assert data[sync:sync + size].find(b"Info") > 0 or data[sync:sync + size].find(b"Xing") > 0
    tag = lambda n: b"ID3\x03\x00\x00" + bytes([n >> 21 & 127, n >> 14 & 127, n >> 7 & 127, n & 127]) + bytes(n)  # noqa: E731
    (tmp_path / "no_info.mp3").write_bytes(tag(4096) + data[:sync] + data[sync + size:])
    assert len(audio.decode(tmp_path / "no_info.mp3")[0]) >= 0.95 * SR
    whole = tag(100_000) + data                                   # a cover picture in front of a stated length
    (tmp_path / "cut.mp3").write_bytes(whole[:100_010 + len(data) // 2])
    with pytest.raises(audio.AudioError, match=r"truncated: the file holds 0\.\d\d s of the 1\.0\d s"):
        audio.decode(tmp_path / "cut.mp3")


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
def test_a_wav_whose_writer_never_filled_in_its_sizes_is_read_whole(tmp_path, subtype):
    # a recorder that crashed leaves 0 in the RIFF and data sizes: libsndfile read 0 frames,
    # and ingest skipped half a second of sound as "empty audio (0 samples)"
    import struct
    y = np.stack([kick(1, seconds=0.5), -0.5 * kick(1, seconds=0.5)], axis=1)    # (frames, 2)
    p = write(tmp_path / "crashed.wav", y, subtype=subtype)
    data = bytearray(p.read_bytes())
    i = data.index(b"data")
    data[4:8] = data[i + 4:i + 8] = struct.pack("<I", 0)
    p.write_bytes(bytes(data))
    got, rate = audio.decode(p)
    assert rate == SR and got.shape == y.shape
    assert np.allclose(got, y, atol=0.01 if subtype == "PCM_U8" else 1e-4)
    # an empty data chunk with another chunk after it, whole or cut, is empty: not that chunk read as sound
    empty = write(tmp_path / "empty.wav", y[:0], subtype="PCM_16").read_bytes()
    for size in (4, 4000):
        (tmp_path / "empty.wav").write_bytes(empty + b"LIST" + struct.pack("<I", size) + b"INFOISFT" + b"Pro Tools" * 40)
        with pytest.raises(audio.AudioError, match="empty audio"):
            audio.decode(tmp_path / "empty.wav")


def test_leading_silence_is_trimmed(tmp_path):
    y = np.concatenate([np.zeros(SR // 2, np.float32), kick(3)])
    out = audio.load(write(tmp_path / "late.wav", y))
    assert len(y) - len(out) > SR // 2 - 100  # the half second of silence is gone
    assert np.max(np.abs(out[:200])) > 0.05    # and the attack is kept


def test_a_hit_on_a_dc_offset_is_still_a_hit(tmp_path):
    y = audio.load(write(tmp_path / "offset.wav", 0.5 + 0.4 * kick(0), subtype="FLOAT"), trim=False)
    assert np.max(np.abs(y - y.mean())) > 0.3


def test_a_dc_offset_is_taken_out_before_the_silence_is_trimmed(tmp_path):
    # a snare on a +0.02 offset loaded 0.3 s of "silence" and analysed as another drum (a producer's hunt)
    y = np.concatenate([np.zeros(SR * 3 // 10, np.float32), kick(3, seconds=1.5)])
    clean = audio.load(write(tmp_path / "clean.wav", y, subtype="FLOAT"))
    for offset in (0.05, -0.02):
        got = audio.load(write(tmp_path / "offset.wav", y + offset, subtype="FLOAT"))
        assert len(got) == len(clean) and np.max(np.abs(got - clean)) < 1e-5, offset
        tail = audio.load(write(tmp_path / "tail.wav", kick(3, seconds=1.5) + offset, subtype="FLOAT"))
        assert np.max(np.abs(tail - kick(3, seconds=1.5))) < 1e-4          # its quiet tail alone says the offset
        kept = audio.load(tmp_path / "offset.wav", offset=0.0)           # (as a variation made before heard it)
        assert abs(float(np.median(kept[-SR // 10:])) - offset) < 1e-6


def test_a_lopsided_hit_is_no_dc_offset(tmp_path):
    # an 808 cymbal's body sits mostly above zero (its median 12 % of its peak) and its tail ends on zero:
    # taking the median out, as a DC offset, would leave that tail off zero
    t = np.arange(SR * 8 // 100) / SR                   # 60 ms of body, 10 ms down to silence, 10 ms of it
    y = (np.clip((0.07 - t) / 0.01, 0, 1) * (0.6 + 0.4 * np.sin(2 * np.pi * 3000 * t))).astype(np.float32)
    assert np.median(y) > 0.3 and y[-40:].max() == 0 and audio.dc_offset(y) == 0.0
    assert np.array_equal(audio.load(write(tmp_path / "cym.wav", y, subtype="FLOAT"), trim=False), y)
    assert audio.dc_offset(np.full(SR, 0.5, np.float32)) == 0.5 and audio.dc_offset(np.zeros(9)) == 0.0
    assert audio.dc_offset(np.full(SR // 50, 0.5, np.float32)) == 0.0       # 20 ms: its ends are all there is


@pytest.mark.parametrize("case,reason", [
    ("empty", "empty"), ("silent", "silent"), ("dc", "silent"), ("nan", "nan"), ("long", "too long"), ("click", "too short"),
    ("text", "not a readable audio file"), ("truncated", ""), ("missing", "no such file"), ("folder", "a folder, not an audio file"),
    ("zero bytes", "an empty file (0 bytes)"), ("half", "truncated: the file holds 0.25 s of the 0.50 s"),
    ("text mp3", "no mp3 data"), ("fifo", "not a regular file"), ("half aiff", "truncated: the file holds 0.25 s of the 0.50 s"),
    ("half mp3", "s of the 0.50 s its header says"),
])
def test_bad_files_raise_clear_errors(tmp_path, case, reason):
    p = tmp_path / f"{case}.wav"
    if case == "empty":
        write(p, np.zeros(0, np.float32))
    elif case == "silent":
        write(p, np.zeros(SR, np.float32))
    elif case == "dc":                            # a constant: no sound (it would be stored as zeros)
        write(p, np.full(SR, 0.5, np.float32))
    elif case == "nan":
        y = kick(0)
        y[100] = np.nan
        write(p, y, subtype="FLOAT")
    elif case == "long":
        write(p, np.zeros(int(SR * 31), np.int16), subtype="PCM_16")
    elif case == "click":                         # one sample, after a second of silence
        write(p, np.r_[np.zeros(SR), 0.5].astype(np.float32), subtype="FLOAT")
    elif case == "text":
        p.write_text("this is not audio")
    elif case == "truncated":
        write(p, kick(0))
        p.write_bytes(p.read_bytes()[:30])
    elif case == "folder":
        p.mkdir()
    elif case == "zero bytes":
        p.write_bytes(b"")
    elif case == "half mp3":                      # its Xing header still says 0.5 s; libmpg123 decoded what was there
        p = write(tmp_path / "cut.mp3", kick(0, seconds=0.5), subtype="MPEG_LAYER_III", fmt="MP3")
        data = p.read_bytes()
        p.write_bytes(data[:len(data) // 2])
    elif case == "text mp3":                      # libmpg123 read any bytes as a "silent" MP3
        p = tmp_path / "notes.mp3"
        p.write_text("this is not audio either, but it is long enough to hunt through for frames " * 20)
    elif case == "fifo":                          # reading would block for ever
        import os
        p = tmp_path / "pipe.wav"
        os.mkfifo(p)
    elif case == "half":                          # a download cut short: the header says 0.5 s
        write(p, kick(0, seconds=0.5))
        data = p.read_bytes()
        p.write_bytes(data[:44 + (len(data) - 44) // 2])
    elif case == "half aiff":                     # so for AIFF (named .wav here): read as the shorter sound
        write(p, kick(0, seconds=0.5), subtype="PCM_24", fmt="AIFF")
        data = p.read_bytes()
        p.write_bytes(data[:len(data) - (len(data) - 54) // 2])
    with pytest.raises(audio.AudioError) as e:
        audio.load(p)
    assert reason in str(e.value).lower()
    assert "\n" not in str(e.value)


def test_write_is_24_bit_with_headroom_no_dc_and_fade(tmp_path):
    y = kick(4) * 3 + 0.2                     # too loud and with DC offset
    p = audio.write(tmp_path / "out" / "hit.wav", y)
    info = sf.info(str(p))
    assert info.subtype == "PCM_24" and info.samplerate == SR
    out, _ = sf.read(str(p))
    assert abs(20 * np.log10(np.max(np.abs(out))) - -1.0) < 0.05
    assert abs(np.median(out)) < 1e-3          # the offset is gone ...
    assert abs(out[len(out) // 2:].mean()) < 1e-3   # ... and the tail is centred on zero
    assert abs(out[-1]) < 1e-4                 # faded out
    assert not list((tmp_path / "out").glob(".*"))  # no temp files left behind
    t = np.arange(int(0.987 * SR)) / SR
    ringing = 0.8 * np.sin(2 * np.pi * 50 * t) + 0.2   # cut mid-cycle while still loud, with an offset
    out, _ = sf.read(str(audio.write(tmp_path / "ring.wav", ringing)))
    whole = out[: int(0.98 * SR)]                       # 49 whole cycles
    # the offset (0.22 of full scale after the gain) is gone, to within the ~1 % that the median
    # of a tone cut mid-cycle sits off its centre; the fade, applied after, ends on zero
    assert abs(whole.mean()) < 0.02 and abs(out[-1]) < 1e-4


def test_written_one_shots_peak_at_minus_1_dbtp_between_the_samples_too(tmp_path):
    # a quarter-rate tone sampled 45 degrees off its crests: every sample is 3 dB under its true peak
    n = np.arange(SR // 4)
    tone = np.sin(np.pi / 2 * n + np.pi / 4) * np.exp(-n / 4000)
    out, _ = sf.read(str(audio.write(tmp_path / "hat.wav", tone)))
    assert abs(20 * np.log10(audio.true_peak(out[None])) - -1.0) < 0.05       # what a true-peak meter reads
    assert 20 * np.log10(np.max(np.abs(out))) < -3.5                          # the samples sit 3 dB under it
    loud, _ = sf.read(str(audio.write(tmp_path / "mix.wav", tone * 0.5, peak_db=None, fade_ms=0, remove_dc=False)))
    assert np.allclose(loud, tone * 0.5, atol=1e-4)                           # no level asked: left as it is


def test_true_peak_finds_a_peak_far_above_its_neighbouring_samples():
    """Near Nyquist a peak can stand 8 dB over the samples around it, and under the loudest
    sample elsewhere: read against an ideal (FFT) reconstruction, 16x."""
    y = np.zeros(SR, np.float32)
    n = np.arange(-8, 8)
    y[10000 + n] = 0.25 * (-1.0) ** n * np.sign(n + 0.5)     # a sign flip in a Nyquist tone: the samples add up between
    y[30000:30200] += 0.5 * np.hanning(200)                   # the loudest sample, on a slow bump
    X = np.fft.rfft(y.astype(np.float64))
    up = np.zeros(len(y) * 8 + 1, complex)
    up[:len(X)] = X
    up[len(y) // 2] *= 0.5
    ideal = np.abs(np.fft.irfft(up, len(y) * 16) * 16).max()
    assert 20 * np.log10(ideal / 0.5) > 2                                   # over the sample peak
    assert abs(20 * np.log10(audio.true_peak(y[None]) / ideal)) < 0.05
    assert abs(20 * np.log10(audio.true_peak(np.roll(y, -10000)[None], loop=True) / ideal)) < 0.05   # across a loop's seam


def test_a_lopsided_hit_keeps_its_tail_on_zero(tmp_path):
    # A short kick whose first half-cycle outweighs the rest has a mean well off zero but no
    # offset: its tail must stay centred, or the fade ends it on a step (a thump).
    t = np.arange(int(0.3 * SR)) / SR
    rng = np.random.default_rng(0)
    y = np.sin(2 * np.pi * 50 * t) * np.exp(-t / 0.01) + 1e-4 * rng.standard_normal(len(t))
    assert y.mean() > 0.005
    out, _ = sf.read(str(audio.write(tmp_path / "lop.wav", y, fade_ms=10)))
    tail = out[int(0.15 * SR): -int(0.01 * SR)]
    assert abs(tail.mean()) < 1e-3 and np.abs(tail).max() < 2e-3
    assert out[:int(0.005 * SR)].max() > 0.8            # the hit itself is untouched (peak -1 dBFS)


def test_write_refuses_nan(tmp_path):
    with pytest.raises(audio.AudioError):
        audio.write(tmp_path / "x.wav", np.array([0.0, np.nan]))
    assert not (tmp_path / "x.wav").exists()


def test_written_files_are_ordinary_permissions(tmp_path):
    import os
    p = audio.write(tmp_path / "perm.wav", np.ones(100) * 0.1)
    mask = os.umask(0)
    os.umask(mask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_full_disk_is_one_clear_error_and_leaves_no_file(small_disk):
    with pytest.raises(OSError) as e:
        audio.write(small_disk / "hit.wav", np.tile(kick(0), 4))           # 2 s of 24-bit: 260 kB
    assert e.value.filename == str(small_disk / "hit.wav") and "No space left" in e.value.strerror
    assert list(small_disk.iterdir()) == []


def test_a_ctrl_c_while_a_file_is_written_waits_for_it_to_be_in_place(tmp_path, ctrl_c_raises):
    """A second Ctrl-C during "interrupted, saving" must not throw the save away."""
    import os
    import signal
    from pathlib import Path

    def write_to(tmp):
        Path(tmp).write_bytes(b"half")
        os.kill(os.getpid(), signal.SIGINT)            # Ctrl-C, half way through
        with open(tmp, "ab") as f:
            f.write(b" and the rest")
    with pytest.raises(KeyboardInterrupt):
        audio.atomic_write(tmp_path / "checkpoint.bin", write_to)
    assert (tmp_path / "checkpoint.bin").read_bytes() == b"half and the rest"
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.bin"]                 # no temp file left


def test_an_ogg_decodes_no_hotter_than_the_audio_it_was_written_from(tmp_path):
    # Vorbis's error adds peaks: a square-ish, bright master at -0.3 dBTP decoded over 0 dBTP
    rng = np.random.default_rng(0)
    t = np.arange(SR * 2) / SR
    y = np.clip(1.6 * np.sign(np.sin(2 * np.pi * 110 * t)) * (0.6 + 0.4 * rng.random(len(t))), -1, 1)
    y = np.stack([y, np.roll(y, 7)], 1).astype(np.float32)
    y *= np.float32(10 ** (-0.3 / 20) / audio.true_peak(y.T))
    p = audio.write(tmp_path / "beat.ogg", y, peak_db=None, fade_ms=0, remove_dc=False)
    back = sf.read(p, dtype="float32")[0]
    assert audio.true_peak(back.T) <= audio.true_peak(y.T) * 1.0001
    assert audio.true_peak(back.T) > 10 ** (-1.5 / 20)                   # turned down by what it went over, not more


@pytest.mark.parametrize("ext, fmt, subtype", [("mp3", "MP3", "MPEG_LAYER_III"), ("ogg", "OGG", "VORBIS"),
                                               ("flac", "FLAC", "PCM_24")])
def test_a_slice_decodes_as_the_same_frames_of_the_whole_file(tmp_path, ext, fmt, subtype):
    # an MP3 decoded from a seek point got its first ~600-2300 frames wrong: a slice's attack was
    # near silence where the whole file has it
    from conftest import kick, snare
    y = np.concatenate([kick(0), snare(1), kick(2)])
    p = tmp_path / f"loop.{ext}"
    sf.write(p, np.stack([y, 0.5 * y], 1) * 0.8, SR, format=fmt, subtype=subtype)
    whole, _ = audio.decode(p)
    for start, end in [(len(kick(0)), len(kick(0)) + len(snare(1))), (5000, 9000)]:
        part, rate = audio.decode(p, start=start, end=end)
        assert rate == SR and part.shape == (end - start, 2)
        assert np.abs(part - whole[start:end]).max() < 1e-4


def test_a_file_of_one_sample_is_too_short_not_silent(tmp_path):
    p = tmp_path / "one.wav"
    sf.write(p, np.array([0.9], np.float32), SR)
    with pytest.raises(audio.AudioError, match="too short for a drum hit"):
        audio.load(p)


def test_a_flac_cut_short_is_called_damaged_not_by_its_decoders_words(tmp_path):
    p = tmp_path / "cut.flac"
    sf.write(p, (np.random.default_rng(0).standard_normal(SR) * 0.3).astype(np.float32), SR, subtype="PCM_24")
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    with pytest.raises(audio.AudioError, match="^damaged or cut short"):
        audio.load(p)



def test_an_offset_start_counts_whatever_the_end_does_and_a_ringing_808_is_no_offset(tmp_path):
    # a review's cases: an editor faded the offset snare's tail to digital zero, and the stiller end (the
    # zero) said "no offset", its 150 ms of silence kept; a 30 Hz 808 cut mid-ring lost a false +1.8 %
    rng = np.random.default_rng(2)
    hit = np.concatenate([np.zeros(SR * 15 // 100), kick(5)]) + 0.02 + rng.uniform(-3e-4, 3e-4, SR * 15 // 100 + SR // 2)
    hit[-SR // 50:] = 0                                                 # faded to digital zero
    assert audio.dc_offset(hit.astype(np.float32)) == pytest.approx(0.02, abs=1e-3)
    assert len(audio.load(write(tmp_path / "faded.wav", hit, subtype="FLOAT"))) < SR // 2 + 200
    for hz in (30, 35, 40):
        for cut in np.arange(0.6, 1.6, 0.01):
            t = np.arange(int(cut * SR)) / SR
            assert audio.dc_offset((np.sin(2 * np.pi * hz * t) * np.exp(-t / 0.25)).astype(np.float32)) == 0.0


def test_a_stereo_hit_is_centred_channel_by_channel(tmp_path):
    # hard left, with the interface's offset on both sides: the faint right kept +0.02 (judged by its own peak)
    y = np.concatenate([np.zeros(SR // 10), kick(1, seconds=1.0)])
    both = np.stack([y, 0.05 * y], 1) + 0.02 + np.random.default_rng(1).uniform(-5e-4, 5e-4, (len(y), 2))   # and hiss
    got = audio.load(write(tmp_path / "st.wav", both, subtype="FLOAT"), stereo=True)
    assert got.shape[1] == 2 and np.abs(np.median(got[-SR // 20:], axis=0)).max() < 3e-4


def test_a_broken_mp3_says_nothing_on_the_terminal_but_its_reason(tmp_path, capfd):
    # libmpg123 wrote "Note: Illegal Audio-MPEG-Header ... Trying to resync..." among an ingest's lines
    p = tmp_path / "fake.mp3"
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    capfd.readouterr()
    with pytest.raises(audio.AudioError, match="not a readable audio file"):
        audio.decode(p)
    assert capfd.readouterr().err == ""
    import sys
    print("after", file=sys.stderr)                                  # the terminal's stderr is back
    assert capfd.readouterr().err == "after\n"


def test_sample_peaks_are_each_rows_peak():
    y = np.array([[0.1, -0.7, 0.3], [0.0, 0.0, 0.0], [0.5, 0.2, -0.5]], np.float32)
    assert np.array_equal(audio.sample_peaks(y), np.abs(y).max(1)) and audio.sample_peaks(y).dtype == np.float32
    assert audio.sample_peaks(np.zeros((2, 0), np.float32)).tolist() == [0.0, 0.0]          # hits of no samples
