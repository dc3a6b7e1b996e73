import math

import numpy as np
import pytest

from drummy import features
from drummy.features import DESCRIPTOR_NAMES, MEL
from conftest import SR, hat, kick


def d(y):
    return dict(zip(DESCRIPTOR_NAMES, features.descriptors(y)))


def test_every_descriptor_is_documented_in_one_line():
    assert len(DESCRIPTOR_NAMES) == len(features.DESCRIPTORS) >= 9
    assert all(doc and "\n" not in doc for doc in features.DESCRIPTORS.values())


def test_log_mel_shape_and_level():
    m = features.log_mel(kick(0))
    assert m.shape == (MEL.n_mels, MEL.frames) and m.dtype == np.float32
    quiet = features.log_mel(kick(0) * 0.01)
    assert abs((m.max() - quiet.max()) - 40) < 1.0  # absolute level: -40 dB is 40 dB lower
    assert features.log_mel(np.zeros(10, np.float32)).max() == MEL.floor_db


def test_kick_vs_hat_descriptors():
    k, h = d(kick(0)), d(hat(0))
    assert k["centroid_hz"] < 500 < 4000 < h["centroid_hz"]
    assert k["flatness"] < h["flatness"]
    assert k["low_high_db"] > 20 and h["low_high_db"] < -20
    assert 40 < k["pitch_hz"] < 200
    assert math.isnan(h["pitch_hz"])


def test_pitch_of_a_pure_tone():
    t = np.arange(SR) / SR
    for f in (55.0, 110.0, 440.0):
        y = 0.5 * np.sin(2 * np.pi * f * t) * np.exp(-t * 3)
        assert abs(features.pitch(y) - f) < 2


def test_level_attack_and_decay():
    t = np.arange(SR) / SR
    tone = np.sin(2 * np.pi * 200 * t)
    attack = np.minimum(t / 0.02, 1.0)        # 20 ms linear ramp
    decay = 10 ** (-40 * np.maximum(t - 0.02, 0) / 0.3 / 20)  # -40 dB after 300 ms
    x = d(0.5 * tone * attack * decay)
    assert abs(x["peak_db"] - 20 * np.log10(0.5)) < 0.2
    assert x["rms_db"] < x["peak_db"]
    assert 10 < x["attack_ms"] < 25
    assert 250 < x["decay_ms"] < 350
    assert abs(x["duration_s"] - 1.0) < 1e-3
    short = d(0.5 * tone * decay ** 4)       # four times faster decay
    assert short["decay_ms"] < x["decay_ms"] / 2


def test_stft_power_frames_and_a_sine_in_its_bin():
    n_fft, hop, k = 1024, 256, 40
    t = np.arange(SR) / SR
    y = np.sin(2 * np.pi * k * SR / n_fft * t).astype(np.float32)
    P = features.stft_power(y, n_fft, hop)
    assert P.shape == (n_fft // 2 + 1, 1 + SR // hop)
    mid = P[:, P.shape[1] // 2]
    assert mid.argmax() == k
    # a Hann window sums to n_fft/2, so a unit sine's bin holds (n_fft/4)^2
    assert mid[k] == pytest.approx((n_fft / 4) ** 2, rel=1e-3)
    # centred frames: the first frame is half zero padding, so it holds about half the power
    assert 0.4 < P[:, 0].sum() / mid.sum() < 0.6


def test_a_bar_of_four_on_the_floor_is_a_loop_and_a_flam_or_a_ride_is_not():
    # one bar at 120 bpm spans 1.5 s of onsets: it passed "6 hits over 1.5 s or 4 over 2.5 s"
    from drummy.features import loop_reason
    bar = np.zeros(2 * SR, np.float32)
    for k in range(4):
        bar[k * SR // 2: k * SR // 2 + len(kick(k))] += kick(k)
    assert loop_reason(bar).startswith("4 hits on a steady beat (120 bpm)")
    uneven = np.zeros(2 * SR, np.float32)                     # four hits, not on a pulse: a phrase too short to tell
    for k, at in enumerate((0.0, 0.15, 0.9, 1.3)):
        uneven[int(at * SR): int(at * SR) + len(kick(k))] += kick(k)
    assert loop_reason(uneven) is None
    assert loop_reason(np.pad(kick(1), (0, SR))) is None      # a one-shot with a second of silence after it
    dub = np.zeros(2 * SR, np.float32)                        # a dub snare: one hit and its echoes, 3 dB apart
    for k in range(4):
        dub[k * SR // 2: k * SR // 2 + len(kick(1))] += kick(1) * 10 ** (-3 * k / 20)
    assert loop_reason(dub) is None


def test_features_load_numbas_code_under_the_lock_once_per_process(monkeypatch):
    import contextlib
    from drummy import numba_cache
    entered = []
    monkeypatch.setattr(numba_cache, "numba_lock", lambda: contextlib.nullcontext(entered.append(1)))
    monkeypatch.setattr(features, "_warm", False)
    y = hat(0)
    features.strong_onsets(np.tile(y, 3))
    features.strong_onsets(y)
    assert entered == [1] and features._warm


NO_NUMBA = """
import numpy as np
from drummy import codec, features
t = np.arange(44100) / 44100
y = (np.sin(2 * np.pi * 180 * t) * np.exp(-t * 20)).astype(np.float32)
codec.band_centres(codec.CODEC), features.log_mel(y), features.descriptors(y)
print("warm" if features._warm else "cold")
"""


def test_log_mels_descriptors_and_codec_bands_need_none_of_librosas_numba_code():
    # generate, classify and beat use only these: loading librosa's numba code (under its lock)
    # cost each of those commands about a second
    import os
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-c", NO_NUMBA], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NUMBA_DEBUG_CACHE": "1"})        # numba says what its cache does
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "cold" and "[cache]" not in done.stdout + done.stderr


def test_silence_has_no_attack_tail_or_spectrum_and_does_not_raise():
    # a generator can decode a silent hit; `drummy evaluate` measured one and stopped with an IndexError
    d = dict(zip(DESCRIPTOR_NAMES, features.descriptors(np.zeros(SR // 2, np.float32))))
    assert d["peak_db"] == -np.inf and d["rms_db"] == -np.inf and d["duration_s"] == 0.5
    assert all(np.isnan(d[k]) for k in ("attack_ms", "decay_ms", "centroid_hz", "flatness", "pitch_hz", "low_high_db"))


WORKER_AFTER_WARM_UP = """
import os, sys
import numpy as np
import numba.core.dispatcher
from drummy import features
{warm}
def refuse(self, sig):
    raise RuntimeError(f"numba compiled {{self.py_func.__name__}} in the worker")
numba.core.dispatcher.Dispatcher.compile = refuse     # what a forked worker must not do ...
pid = os.fork()
if pid == 0:
    rng = np.random.default_rng(0)
    t = np.arange(2 * 44100) / 44100
    y = (rng.standard_normal(len(t)) * np.exp(-(t % 0.3) * 30)).astype(np.float32)   # hat hits, not the warm-up's
    before = set(sys.modules)
    try:
        features.loop_reason(y), features.descriptors(y), features.log_mel(y)
    except Exception as e:
        print(e)
        os._exit(3)
    # ... nor build librosa's gufuncs (numba's cache of them races between processes), which its
    # lazily imported modules do as they are imported
    late = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in ("librosa", "numba"))
    print(*late)
    os._exit(4 if late else 0)
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


def test_forked_ingest_workers_find_librosas_numba_code_compiled():
    # two workers compiling it at once, on a fresh install, raced on numba's cache (numba#10128): 1 ingest in 6 crashed
    import subprocess
    import sys
    run = lambda warm: subprocess.run([sys.executable, "-c", WORKER_AFTER_WARM_UP.format(warm=warm)],
                                      capture_output=True, text=True, timeout=300)
    done = run("features.warm_up()")
    assert done.returncode == 0, done.stdout + done.stderr
    cold = run("")                                     # the check itself: without the warm-up the worker does both
    assert cold.returncode in (3, 4) and ("numba compiled" in cold.stdout or "librosa." in cold.stdout)
