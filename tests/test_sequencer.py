import os
import shutil
from dataclasses import replace

from pathlib import Path

import numpy as np
import scipy.signal
import pytest
import soundfile as sf

from drummy import audio
from drummy import patterns as P
from drummy.kits import KitSample
from drummy import sequencer as S
from drummy.cli import main
from drummy.library import Sample, Workspace
from drummy.patterns import Pattern, Track
from drummy.sequencer import Kit, SequencerError
from conftest import hat, kick, write

SR = 44100
CEILING = 10 ** (-0.3 / 20)


def one_track(hits, steps=16, swing=50.0, bpm=120.0, name="kick", dtype="kick", **kw) -> Pattern:
    return Pattern("test", (Track(name, dtype, tuple(hits), note=36, **kw),), steps=steps, swing=swing, bpm=bpm)


def click_kit() -> Kit:
    return Kit({"kick": [("click", np.array([1.0], dtype=np.float32))]})


@pytest.mark.parametrize("steps", [12, 16, 32])
@pytest.mark.parametrize("bpm,swing", [(87.0, 50.0), (124.0, 58.0), (140.5, 66.0), (173.0, 75.0)])
def test_every_click_lands_within_one_sample_of_its_grid_position(steps, bpm, swing):
    bars = 3
    p = one_track([127] * steps, steps=steps, swing=swing)
    mix, _ = S.render(p, click_kit(), bpm=bpm, bars=bars, master="none")
    step = SR * 60 / bpm * 4 / steps                         # samples per step, worked out here independently
    k = np.arange(bars * steps)
    expected = (k + (k % 2) * (swing - 50) / 50) * step
    found = np.flatnonzero(mix[:, 0] > 0.5 * mix[:, 0].max())
    assert len(found) == len(expected)
    assert np.max(np.abs(found - expected)) <= 1.0
    assert len(mix) == round(bars * 4 * 60 * SR / bpm)


@pytest.mark.parametrize("master", ["clean", "punchy"])
def test_the_master_chain_does_not_move_onsets(master):
    bpm, steps = 124.0, 16
    p = one_track([127, 0, 0, 0] * 4, steps=steps, swing=60.0)
    mix, _ = S.render(p, click_kit(), bpm=bpm, bars=2, master=master)
    step = SR * 60 / bpm * 4 / steps
    for k in range(0, 32, 4):
        at = k * step
        lo = int(at - step / 2)
        window = np.abs(mix[max(lo, 0):lo + int(step), 0])
        assert abs(max(lo, 0) + int(np.argmax(window)) - at) <= 1.0


def test_no_repeat_uses_every_sample_once_or_says_what_is_missing():
    p = one_track([100, 0, 0, 0] * 4)                      # 4 kicks a bar
    kit = Kit({"kick": [(f"k{i}", kick(i)) for i in range(8)]})
    picks = S.choose_samples(p, kit, [8], np.random.default_rng(0), no_repeat=True)
    assert sorted(picks[0].tolist()) == list(range(8))
    mix, _ = S.render(p, kit, bars=2, no_repeat=True)      # 8 hits, 8 samples
    assert np.all(np.isfinite(mix))
    with pytest.raises(SequencerError, match=r"kick 12 > 8"):
        S.render(p, kit, bars=3, no_repeat=True)
    S.render(p, kit, bars=3)                               # repeats allowed: fine


def test_tracks_of_one_type_share_the_no_repeat_pool():
    p = Pattern("two", (Track("a", "kick", (100, 0, 0, 0) * 4), Track("b", "kick", (0, 0, 100, 0) * 4)))
    kit = Kit({"kick": [(f"k{i}", kick(i)) for i in range(8)]})
    a, b = S.choose_samples(p, kit, [4, 4], np.random.default_rng(1), no_repeat=True)
    assert len(set(a.tolist()) | set(b.tolist())) == 8


def test_a_locked_track_plays_one_sound_and_a_named_one_only_those_so_named():
    # a drum machine's pad plays one sample: a house kick drawn anew on every hit was a different drum each beat
    kit = Kit({"kick": [(f"kick_s0_{i:02d}.wav", kick(i)) for i in range(8)] + [("808 boom.wav", kick(9))],
               "hihat": [(f"h{i}", hat(i)) for i in range(4)]})
    p = Pattern("two", (Track("kick", "kick", (100, 0, 0, 0) * 4, lock=True), Track("hihat", "hihat", (0, 0, 90, 0) * 4)))
    chosen = set()
    for seed in range(6):
        kicks, hats = S.choose_samples(p, kit, [16, 16], np.random.default_rng(seed))
        assert len(set(kicks.tolist())) == 1 and len(kicks) == 16 and len(set(hats.tolist())) > 1   # the hats still vary
        chosen.add(int(kicks[0]))
    assert len(chosen) > 1                                                  # which one: the seed's
    mix, stems = S.render(p, kit, bars=2, master="none", stems=True, seed=1)
    y = stems["kick"][:, 0]
    beat = S.beat_length(120, 2) // 8                                       # a quarter note: one kick each
    hits = np.stack([y[i * beat: i * beat + 2000] for i in range(8)])
    assert np.allclose(hits, hits[0], atol=1e-6) and np.abs(hits[0]).max() > 0.1   # the same kick, 8 times
    # sample = "808": the sounds whose name holds it (any case); with lock, one of them
    named = replace(p, tracks=(replace(p.tracks[0], sample="808", lock=False), p.tracks[1]))
    assert set(S.choose_samples(named, kit, [16, 16], np.random.default_rng(0))[0].tolist()) == {8}
    s0 = replace(p, tracks=(replace(p.tracks[0], sample="KICK S0"), p.tracks[1]))
    assert all(len(set(S.choose_samples(s0, kit, [16, 16], np.random.default_rng(k))[0].tolist())) == 1
               and S.choose_samples(s0, kit, [16, 16], np.random.default_rng(k))[0][0] < 8 for k in range(4))
    assert set(S.choose_samples(replace(named, tracks=(replace(p.tracks[0], sample="Boom"),) + p.tracks[1:]), kit,
                                [16, 16], np.random.default_rng(0))[0].tolist()) == {8}
    # a name, not a part of one: kick_s0_01 is not kick_s0_010 (a set of 100 hits); words in a row, any separator
    big = Kit({"kick": [(f"kick_s0_{i:03d}.wav", kick(0)) for i in range(12)] + [("kick_s0_01.wav", kick(1))]})
    for asked, want in (("kick_s0_01", {12}), ("KICK S0 010", {10}), ("s0-011", {11}), ("kick", set(range(13)))):
        picks = S.choose_samples(one_track([100] * 16, sample=asked), big, [16], np.random.default_rng(0))[0]
        assert set(picks.tolist()) <= want and (len(want) > 3 or set(picks.tolist()) == want), asked
    with pytest.raises(SequencerError, match=r"track 'kick': no kick sound in the kit is named like 'clap' "
                                             r"\(its 9 kick sounds: 808 boom, kick_s0\)"):
        S.choose_samples(replace(p, tracks=(replace(p.tracks[0], sample="clap"), p.tracks[1])), kit, [16, 16],
                         np.random.default_rng(0))
    # --no-repeat: a lock of more than one hit is the opposite; a named pool is not eked out with others
    with pytest.raises(SequencerError, match=r"--no-repeat plays a different sample on every hit, and track 'kick' locks one"):
        S.choose_samples(p, kit, [16, 16], np.random.default_rng(0), no_repeat=True)
    assert S.choose_samples(p, kit, [1, 4], np.random.default_rng(0), no_repeat=True)[0].shape == (1,)
    with pytest.raises(SequencerError, match="--no-repeat needs a different sample"):
        S.choose_samples(named, kit, [2, 4], np.random.default_rng(0), no_repeat=True)
    # which one is the seed's alone: not the beat's length, nor the other tracks' hits
    for seed in range(5):
        first = S.choose_samples(p, kit, [4, 4], np.random.default_rng(seed))[0][0]
        assert all(S.choose_samples(p, kit, [k, h], np.random.default_rng(seed))[0][0] == first
                   for k, h in ((16, 4), (32, 64), (9, 0)))
    # --no-repeat with a locked track of one hit: still never the same sample twice
    two = Pattern("2", (Track("kick", "kick", (100,) + (0,) * 15, lock=True), Track("kick2", "kick", (0, 0, 100, 0) * 4)))
    for seed in range(40):
        a, b = S.choose_samples(two, kit, [1, 8], np.random.default_rng(seed), no_repeat=True)
        assert len(set(a.tolist()) | set(b.tolist())) == 9
    # a layered drum, locked: that drum, its layers by each hit's velocity (a pad with velocity layers)
    soft, loud = np.full(2000, 0.1, np.float32), np.full(2000, 0.9, np.float32)
    layered = Kit({"kick": [("Kick A", soft), ("Kick A", loud), ("Kick B", soft), ("Kick B", loud)]},
                  layers={"kick": [(0.0, 0.5), (0.5, 1.0), (0.0, 0.5), (0.5, 1.0)]})
    one = one_track([127, 40] * 8, lock=True)
    drums = set()
    for seed in range(8):
        picks = S.choose_samples(one, layered, [16], np.random.default_rng(seed), velocities=[np.array([127, 40] * 8)])[0]
        assert len(set(picks[::2].tolist())) == len(set(picks[1::2].tolist())) == 1      # one drum ...
        assert picks[0] in (1, 3) and picks[1] == picks[0] - 1                          # ... loud and soft
        drums.add(int(picks[0]))
    assert drums == {1, 3}


def test_a_kick_cuts_the_kick_before_it():
    # an 808's boom was still at -19 dB under the next kick, and the two smeared
    boom = (np.sin(2 * np.pi * 50 * np.arange(SR) / SR) * np.exp(-np.arange(SR) / SR * 2)).astype(np.float32)
    p = Pattern("k", (Track("kick", "kick", (100, 0, 0, 0) * 4, choke="kick", note=36),), steps=16, bpm=120.0)
    _, stems = S.render(p, Kit({"kick": [("boom", boom)]}), bars=1, master="none", stems=True)
    y = stems["kick"][:, 0]
    beat = S.beat_length(120, 1) // 4                                       # the next kick starts here
    before = y[beat - 200: beat - 1]                                         # the first one's last moments
    assert np.abs(before[-20:]).max() < 0.05 * np.abs(y[:beat]).max()       # faded out as the next one comes
    assert np.abs(y[beat: beat + 400]).max() > 0.5 * np.abs(y[:beat]).max()  # ... which plays whole


def test_closed_hat_chokes_open_hat():
    steps = [0] * 16
    open_, closed = list(steps), list(steps)
    open_[0], closed[4] = 100, 100
    long_open = (0.5 * np.random.default_rng(0).standard_normal(SR)).astype(np.float32)  # 1 s of noise
    kit = Kit({"open hat": [("oh", long_open)], "hihat": [("ch", hat(1))]})
    p = Pattern("choke", (Track("open hat", "open hat", tuple(open_), choke="hat"),
                          Track("hihat", "hihat", tuple(closed), choke="hat")))
    _, stems = S.render(p, kit, bpm=120, bars=1, master="none", stems=True)
    cut = round(4 * SR * 60 / 120 / 4)                     # the closed hat's onset: beat 2
    oh = stems["open hat"]
    assert np.all(oh[cut:] == 0) and np.abs(oh[cut - 200:cut - 100]).max() > 0.01
    unchoked = replace(p, tracks=(replace(p.tracks[0], choke=""), p.tracks[1]))
    _, stems = S.render(unchoked, kit, bpm=120, bars=1, master="none", stems=True)
    assert np.abs(stems["open hat"][cut:cut + 1000]).max() > 0.01


def test_velocity_gain_is_monotonic_and_heard():
    v = np.arange(1, 128)
    g = S.velocity_gain(v)
    assert np.all(np.diff(g) > 0) and g[-1] == 1.0
    hits = [0] * 16
    for i, vel in zip((0, 4, 8, 12), (20, 60, 100, 127)):
        hits[i] = vel
    mix, _ = S.render(one_track(hits), click_kit(), bars=1, master="none")
    step = SR * 60 / 120 / 4
    peaks = [mix[round(i * step), 0] for i in (0, 4, 8, 12)]
    assert np.all(np.diff(peaks) > 0)
    assert np.allclose(np.array(peaks) / peaks[-1], S.velocity_gain([20, 60, 100, 127]), rtol=1e-3, atol=1e-4)


def test_pan_is_constant_power_and_stereo():
    for pan in np.linspace(-1, 1, 9):
        left, right = S.pan_gains(pan)
        assert np.isclose(left ** 2 + right ** 2, 1.0)
    assert S.pan_gains(-1) == pytest.approx((1.0, 0.0), abs=1e-12)
    kit = Kit({"kick": [("k", kick(0))]})
    mix, _ = S.render(one_track([100, 0, 0, 0] * 4, pan=-1.0), kit, bars=1, master="none")
    assert mix.shape[1] == 2 and np.abs(mix[:, 1]).max() == 0 and np.abs(mix[:, 0]).max() > 0.5
    mix, _ = S.render(one_track([100, 0, 0, 0] * 4, pan=0.5), kit, bars=1, master="none")
    assert np.sum(mix[:, 1] ** 2) > 2 * np.sum(mix[:, 0] ** 2)


def test_true_peak_reads_between_samples_near_nyquist_and_across_a_loops_seam():
    rng = np.random.default_rng(0)
    n = 4096
    spec = np.zeros(n // 2 + 1, complex)                      # a click of 18-21.5 kHz partials, as a lo-fi master has
    band = np.arange(int(18000 / SR * n), int(21500 / SR * n))
    spec[band] = np.exp(2j * np.pi * rng.random(len(band)))
    for shift in (n // 2, 3):                                # in the middle, then at the seam of the loop
        y = np.roll(np.fft.irfft(spec, n), shift - n // 2)
        y = (y / np.abs(y).max()).astype(np.float32)
        ideal = np.abs(np.fft.irfft(np.fft.rfft(y.astype(np.float64)), 64 * n)).max() * 64
        got = S.true_peak(y[None], loop=True)
        assert abs(20 * np.log10(got / ideal)) < 0.05, (shift, got, ideal)
        assert ideal > 1.05                                   # the samples miss the peak by more than 0.4 dB
    for n in (4410, 735, 147):                                # 6 and 1 periods of 60 Hz, 1 of 300 Hz: seamless loops
        hum = np.cos(2 * np.pi * (60 if n > 147 else 300) * np.arange(n) / SR).astype(np.float32)[None]
        assert abs(20 * np.log10(S.true_peak(hum, loop=True))) < 0.01, n   # at full level across the seam


@pytest.mark.parametrize("master", list(S.MASTERS))
def test_master_peak_stays_under_ceiling_with_a_hot_kit(tmp_path, master):
    rng = np.random.default_rng(3)
    hot = {t: [(f"{t}{i}", (8.0 * y).astype(np.float32)) for i, y in enumerate(ys)]  # +18 dBFS hits
           for t, ys in {"kick": [kick(i) for i in range(3)], "hihat": [hat(i) for i in range(3)],
                         "snare": [rng.uniform(-1, 1, 8000).astype(np.float32)]}.items()}
    p = P.parse('[tracks]\nkick = "X.x.X.x.X.x.X.xX"\nsnare = "....X.......X..X"\nhihat = "XXXXXXXXXXXXXXXX"\n')
    mix, _ = S.render(p, Kit(hot), bpm=150, bars=2, master=master)
    peak = np.abs(mix).max()
    assert peak <= CEILING and peak > 0.5
    assert S.true_peak(mix.T) <= CEILING * 1.0001
    # read by an ideal (FFT) reconstruction of the loop, as a DAW looping it plays it
    ideal = np.abs(scipy.signal.resample(mix.astype(np.float64), 16 * len(mix), axis=0)).max()
    assert 20 * np.log10(ideal / CEILING) < 0.1
    flat = np.abs(mix) >= peak * 0.9999                      # clipping shows as runs of equal extremes
    assert not np.any(flat[:-2] & flat[1:-1] & flat[2:])
    path = audio.write(tmp_path / "beat.wav", mix, peak_db=None, fade_ms=0)
    back, sr = sf.read(str(path), dtype="float32")
    assert sr == SR and back.shape == mix.shape and np.abs(back).max() <= CEILING


def test_renders_are_seeded():
    kit = Kit({"kick": [(f"k{i}", kick(i)) for i in range(5)], "hihat": [(f"h{i}", hat(i)) for i in range(5)],
               "snare": [(f"s{i}", hat(10 + i, seconds=0.3)) for i in range(5)]})
    p = P.builtin("boom bap")
    a, _ = S.render(p, kit, bars=2, seed=1)
    b, _ = S.render(p, kit, bars=2, seed=1)
    c, _ = S.render(p, kit, bars=2, seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_stems_are_the_dry_tracks_and_tails_wrap():
    kit = Kit({"kick": [("long", kick(0, seconds=1.5))], "hihat": [("h", hat(0))]})
    hits = [0] * 16
    hits[15] = 100                                         # last 16th of the bar: its tail rings into bar 1
    p = Pattern("t", (Track("kick", "kick", tuple(hits), pan=-0.5), Track("hihat", "hihat", (0, 0, 90, 0) * 4)))
    mix, stems = S.render(p, kit, bpm=120, bars=1, master="none", stems=True)
    assert np.abs(stems["kick"][:SR // 2]).max() > 0.05
    total = sum(stems.values())
    assert np.isclose(np.abs(total).max(), 10 ** (S.PRE_MASTER_PEAK_DB / 20))
    total = total - total.mean(axis=0)
    assert np.allclose(mix / np.abs(mix).max(), total / np.abs(total).max(), atol=1e-5)
    _, mastered_stems = S.render(p, kit, bpm=120, bars=1, master="punchy", stems=True)
    assert all(np.array_equal(stems[k], mastered_stems[k]) for k in stems)  # no master EQ on stems


def test_humanised_hits_past_the_end_wrap_to_the_start():
    p = replace(one_track([0] * 31 + [100], steps=32), humanise_ms=80.0)  # the last 32nd, +-200 ms of jitter
    where = []
    for seed in range(12):
        mix, _ = S.render(p, click_kit(), bars=1, seed=seed, master="none")
        (at,) = np.flatnonzero(np.abs(mix[:, 0]) > 0.5)
        where.append(at)
    assert min(where) < len(mix) // 2 < max(where)            # some landed late, some wrapped to the start


def test_a_humanised_first_hit_may_come_early_at_the_end_of_the_loop():
    # the very first hit was held at sample 0: never early, where every other hit could be
    p = replace(one_track([100] + [0] * 15), humanise_ms=20.0)
    where = []
    for seed in range(12):
        mix, _ = S.render(p, click_kit(), bars=1, seed=seed, master="none")
        (at,) = np.flatnonzero(np.abs(mix[:, 0]) > 0.5)
        where.append(at if at < len(mix) // 2 else at - len(mix))     # before the bar line: the loop's end
    assert min(where) < 0 < max(where) and max(np.abs(where)) <= 2.5 * 0.020 * SR + 1


def test_a_sample_that_stops_off_zero_does_not_click_at_its_end():
    # a library copy whose DC offset was taken from the sound and left on its silence ended at -41 dB, every hit
    y = (hat(0, seconds=0.1) + 0.01).astype(np.float32)                   # ends 40 dB under its peak, not at 0
    y[-1] = 0.0                                                           # ... but for its very last sample
    mix, _ = S.render(one_track([100, 0, 0, 0] * 4), Kit({"kick": [("dc", y)]}), bars=1, master="none")
    step = np.abs(np.diff(mix[:, 0]))
    ends = (np.arange(4) * S.beat_length(120, 1) // 4 + len(y) - 1).astype(int)     # each hit's last sample
    jumps = [step[e - 2:e + 3].max() for e in ends]
    assert max(jumps) < 0.1 * 0.01 * np.abs(mix).max() / np.abs(y).max()           # a tenth of the step it was


def test_split_bus_processing_matches_one_pass():
    rng = np.random.default_rng(0)
    y = (0.3 * rng.standard_normal((2, 5 * SR)) * np.repeat(rng.uniform(0, 1, 50), SR // 10)).astype(np.float32)
    for name in ("clean", "lofi"):
        one = S.bus_board(S.MASTERS[name])(y, SR)
        split = S.run_bus(S.MASTERS[name], y, SR, split_s=2.0, warmup_s=1.0)
        assert split.shape == one.shape and np.max(np.abs(split - one)) < 1e-5


def test_eq_on_the_hits_equals_eq_on_the_beat():
    kit = Kit({"kick": [("k", kick(0))], "hihat": [("h", hat(0))]})
    hits = [(0, "kick", 0.8), (9000, "hihat", 0.5), (20000, "kick", 0.3), (26000, "hihat", 1.0)]
    dry = np.zeros(60000, dtype=np.float32)
    for at, t, g in hits:
        y = kit[t][0][1]
        dry[at:at + len(y)] += g * y
    m = S.MASTERS["punchy"]
    whole = S.eq_board(m)(dry[None, :], SR)[0]
    eq = S.eq_kit(m, kit, ["kick", "hihat"])
    summed = np.zeros(60000 + SR, dtype=np.float32)
    for at, t, g in hits:
        y = eq[t][0][1]
        summed[at:at + len(y)] += g * y
    assert np.max(np.abs(whole - summed[:60000])) < 1e-3 * np.abs(whole).max()


def test_limiter_is_a_smooth_brickwall():
    rng = np.random.default_rng(1)
    env = np.repeat(rng.uniform(0.05, 1.0, 40), SR // 20)
    y = (rng.standard_normal((2, len(env) + 7)) * np.append(env, env[-7:])).astype(np.float32)
    out = S.limit(y.copy(), 0.4)
    assert np.abs(out).max() <= 0.4 * (1 + 1e-6)
    gain = out[0] / np.where(y[0] == 0, 1, y[0])
    assert np.all(gain <= 1 + 1e-6) and np.allclose(gain, out[1] / np.where(y[1] == 0, 1, y[1]), atol=1e-5)
    assert np.abs(np.diff(gain)).max() < 0.05                # ramps, not steps: no clicks
    quiet = 0.1 * y
    assert np.array_equal(S.limit(quiet.copy(), 0.4), quiet)  # below the threshold: untouched


def test_mastered_presets_are_louder_than_none_at_the_same_ceiling():
    kit = Kit({"kick": [(f"k{i}", kick(i)) for i in range(4)], "hihat": [(f"h{i}", hat(i)) for i in range(4)],
               "snare": [(f"s{i}", hat(10 + i, seconds=0.3)) for i in range(4)]})
    rms = {m: float(np.sqrt(np.mean(S.render(P.builtin("rock"), kit, bars=2, master=m)[0] ** 2)))
           for m in S.MASTERS}
    assert all(rms[m] > rms["none"] for m in ("clean", "punchy", "lofi"))


def test_missing_types_are_silent_tracks_or_a_clear_error():
    p = P.builtin("house")
    kit = Kit({"kick": [("k", kick(0))]})
    assert [t.name for t in S.missing_tracks(p, kit)] == ["clap", "open hat", "hihat"]
    mix, stems = S.render(p, kit, bars=1, stems=True)
    assert list(stems) == ["kick"]
    with pytest.raises(SequencerError, match="no kick"):
        S.render(p, Kit({"tom": [("t", kick(1))]}), bars=1)


def test_kit_from_folder_labels_and_classifier_hook(tmp_path, tiny_library):
    write(tiny_library / "misc" / "thing.wav", kick(5))
    write(tiny_library / "kick" / "broken.wav", np.zeros(100, dtype=np.float32))
    kit = S.kit_from_folder(tiny_library)
    assert {t: len(v) for t, v in kit.items()} == {"kick": 8, "hihat": 8}
    assert {r for _, r in kit.skipped} == {"drum type unknown", "silent (peak below -80 dBFS once any DC offset is taken out)"}
    kit = S.kit_from_folder(tiny_library, classify=lambda ys: ["kick"] * len(ys))
    assert len(kit["kick"]) == 9
    one = sorted((tiny_library / "kick").rglob("*.wav"))[0]
    shutil.copy(one, tiny_library / "kick" / "again.wav")          # a pack's one hit in two places is one sample
    kit = S.kit_from_folder(tiny_library)
    assert len(kit["kick"]) == 8 and any(r.startswith("the same audio as ") for _, r in kit.skipped)


def test_kit_from_workspace_prefers_generated_hits(tmp_path):
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(Exception, match="no library or generated hits"):
        S.kit_from_workspace(ws)
    for i, (t, y) in enumerate([("kick", kick(0)), ("kick", kick(1)), ("hihat", hat(0)), ("unknown", hat(5))]):
        h = f"{i:016x}"
        audio.write(ws.audio_path(h), y, peak_db=None, fade_ms=0, subtype="FLOAT")
        ws.samples[h] = Sample(h, f"/lib/{t}/{i}.wav", t, [], "lib", "lib", 0.5, SR)
    ws.save()
    kit = S.kit_from_workspace(Workspace(ws.root))
    assert {t: len(v) for t, v in kit.items()} == {"kick": 2, "hihat": 1}
    assert [name for name, _ in kit["kick"]] == ["0", "1"]
    assert kit.skipped == [("/lib/unknown/3.wav", "drum type unknown")]      # the user's file, not the stored copy
    write(ws.root / "generated" / "snare" / "gen 1.wav", hat(3, seconds=0.3))
    kit = S.kit_from_workspace(Workspace(ws.root))      # generated snares; the library's kicks and hats fill in
    assert {t: len(v) for t, v in kit.items()} == {"snare": 1, "kick": 2, "hihat": 1}
    assert {s.drum_type for s in S.workspace_samples(Workspace(ws.root))} == {"snare"}   # a kit export: generated only
    # the folder Drummy chose wins over a file name that says otherwise; a morph has no type
    write(ws.root / "generated" / "snare" / "like_kick ref_s4_01.wav", hat(4, seconds=0.3))
    write(ws.root / "generated" / "morph" / "morph_kick_to_hat_s0_01.wav", hat(6, seconds=0.3))
    write(ws.root / "generated" / "kick" / "gen 2.wav", kick(7))
    kit = S.kit_from_workspace(Workspace(ws.root))
    assert {t: len(v) for t, v in kit.items()} == {"snare": 2, "kick": 1, "hihat": 1}
    types = {Path(s.path).name: s.drum_type for s in S.workspace_samples(Workspace(ws.root))}
    assert types["morph_kick_to_hat_s0_01.wav"] == "unknown"


def test_beat_fills_types_without_generated_hits_from_the_library(tmp_path, capsys):
    ws = Workspace(tmp_path / "ws")
    for i, (t, y) in enumerate([("kick", kick(0)), ("hihat", hat(0)), ("tom", kick(1))]):
        h = f"{i:016x}"
        audio.write(ws.audio_path(h), y, peak_db=None, fade_ms=0, subtype="FLOAT")
        ws.samples[h] = Sample(h, f"/lib/{t}/{i}.wav", t, [], "lib", "lib", 0.5, SR)
    ws.save()
    write(ws.root / "generated" / "snare" / "gen 1.wav", hat(3, seconds=0.3))
    assert main(["beat", "-w", str(ws.root), "--pattern", "boom bap", "--bars", "1", "-o", str(tmp_path / "b.wav")]) == 0
    out = capsys.readouterr().out
    assert "  hihat, kick: library samples (no generated hits of those types)" in out     # boom bap plays no tom
    assert ", 3 samples to draw from)" in out                               # the library tom is not counted
    write(ws.root / "generated" / "kick" / "gen 2.wav", kick(7))
    write(ws.root / "generated" / "hihat" / "gen 3.wav", hat(7))
    capsys.readouterr()
    assert main(["beat", "-w", str(ws.root), "--pattern", "boom bap", "--bars", "1", "-o", str(tmp_path / "b.wav")]) == 0
    assert "library samples" not in capsys.readouterr().out     # the library's other types are not played
    # a type nobody generated says how to make some, where the library has any to learn it from
    assert main(["beat", "-w", str(ws.root), "--pattern", "rock", "--bars", "1", "-o", str(tmp_path / "b.wav")]) == 0
    out = capsys.readouterr().out
    assert "no cymbal samples in the kit: track 'crash' stays silent (the library has no cymbal samples" in out


def test_beat_command_writes_beat_stems_and_midi(tmp_path, tiny_library, capsys):
    out = tmp_path / "out"
    assert main(["beat", "--kit", str(tiny_library), "--pattern", "techno", "--bars", "2", "-o", str(out / "b.wav"),
                 "--stems", str(out / "stems"), "--midi-out", str(out / "b.mid"), "--master", "punchy",
                 "-w", str(tmp_path / "ws")]) == 0
    text = capsys.readouterr().out
    assert "no clap samples" in text and "no open hat samples" in text and "wrote" in text
    y, sr = sf.read(str(out / "b.wav"))
    assert sr == SR and y.shape == (S.beat_length(132, 2), 2) and np.abs(y).max() <= CEILING
    assert sorted(f.name for f in (out / "stems").glob("*.wav")) == ["hihat.wav", "kick.wav"]
    assert P.load(out / "b.mid") == P.builtin("techno")


def test_stems_named_as_the_beat_or_under_a_file_are_refused_before_the_render(tmp_path, tiny_library, capsys):
    """`-o beat.wav --stems beat.wav` rendered the beat, made a folder named beat.wav, then failed:
    every later `-o beat.wav` was "a folder"."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.wav").write_bytes(b"RIFF")
    for stems, said in ((out / "b.wav", "is the name of the beat's own file"), (out / "b.mid", "is the name of the "
                        "beat's own file"), (out / "mine.wav", "mine.wav is a file"),
                        (out / "mine.wav" / "sub", "mine.wav is a file")):
        assert main(["beat", "--kit", str(tiny_library), "--pattern", "techno", "--bars", "1", "-o", str(out / "b.wav"),
                     "--midi-out", str(out / "b.mid"), "--stems", str(stems), "-w", str(tmp_path / "ws")]) == 2
        assert said in capsys.readouterr().err
        assert sorted(p.name for p in out.iterdir()) == ["mine.wav"] and (out / "mine.wav").read_bytes() == b"RIFF"


def test_a_beat_file_has_no_dc_and_its_stems_sum_to_it(tmp_path, tiny_library):
    out = tmp_path / "out"
    assert main(["beat", "--kit", str(tiny_library), "--pattern", "boom bap", "--bars", "2", "-o", str(out / "b.wav"),
                 "--stems", str(out / "stems"), "--master", "none", "-w", str(tmp_path / "ws")]) == 0
    mix, _ = sf.read(str(out / "b.wav"))
    assert np.all(np.abs(mix.mean(0)) < 10 ** (-90 / 20))                     # the writer put no offset back
    dry = sum(sf.read(str(f))[0] for f in (out / "stems").glob("*.wav"))
    dry -= dry.mean(0)                                                         # the master takes the mean out
    scale = float((dry * mix).sum() / (dry * dry).sum())
    assert np.max(np.abs(mix - scale * dry)) < 10 ** (-80 / 20)              # to 24-bit rounding


def test_a_beat_its_midi_and_its_stems_share_one_folder_run_after_run(tmp_path, tiny_library, capsys):
    out = tmp_path / "out"
    cmd = ["beat", "--kit", str(tiny_library), "--pattern", "techno", "--bars", "1", "-o", str(out / "beat.wav"),
           "--stems", str(out), "--midi-out", str(out / "beat.mid")]
    for _ in range(2):                                       # the second run replaces the first's files
        assert main(cmd) == 0, capsys.readouterr().err
    assert sorted(f.name for f in out.iterdir() if not f.name.startswith(".")) == [
        "beat.mid", "beat.wav", "hihat.wav", "kick.wav"]
    capsys.readouterr()
    clash = ["beat", "--kit", str(tiny_library), "--pattern", "techno", "--bars", "1", "-o", str(out / "kick.wav"),
             "--stems", str(out)]                            # the kick stem would land on the beat
    assert main(clash) == 2
    assert "'kick' stem would be written over" in capsys.readouterr().err


def test_a_beat_never_writes_over_a_file_it_did_not_write(tmp_path, tiny_library, capsys):
    mine = tmp_path / "my snare.flac"
    sf.write(str(mine), sf.read(str(tiny_library / "kick" / "808" / "Boom 1.wav"))[0], SR)
    take = tmp_path / "take.mid"
    take.write_bytes(P.midi_bytes(P.builtin("house")).replace(b"drummy-pattern", b"someone-elses"))
    before = mine.read_bytes(), take.read_bytes()
    base = ["beat", "--kit", str(tiny_library), "--pattern", "house", "--bars", "1"]
    assert main([*base, "-o", str(mine)]) == 2
    assert "exists and is not a beat Drummy wrote" in capsys.readouterr().err
    assert main([*base, "-o", str(tmp_path / "b.wav"), "--midi-out", str(take)]) == 2
    assert "is not a MIDI file Drummy wrote" in capsys.readouterr().err
    assert (mine.read_bytes(), take.read_bytes()) == before and not (tmp_path / "b.wav").exists()
    os.mkfifo(tmp_path / "pipe.wav")                        # refused without being opened (a read would block)
    (tmp_path / "gone.wav").symlink_to(tmp_path / "nowhere.wav")
    for other in ("pipe.wav", "gone.wav"):
        assert main([*base, "-o", str(tmp_path / other)]) == 2
        assert "exists and is not a beat Drummy wrote" in capsys.readouterr().err
    for _ in range(2):                                      # its own beat and MIDI it replaces, run after run
        assert main([*base, "-o", str(tmp_path / "b.flac"), "--midi-out", str(tmp_path / "b.mid")]) == 0
    assert sf.info(str(tmp_path / "b.flac")).frames > 0 and P.is_ours(tmp_path / "b.mid")
    import mido                                             # a DAW's edit keeps Drummy's text events: it was written over
    mid = mido.MidiFile(str(tmp_path / "b.mid"))
    first = next(m for tr in mid.tracks for m in tr if m.type == "note_on" and m.velocity > 0)
    first.velocity = 1 + first.velocity % 126
    mid.save(str(tmp_path / "b.mid"))
    edited = (tmp_path / "b.mid").read_bytes()
    assert main([*base, "-o", str(tmp_path / "b.flac"), "--midi-out", str(tmp_path / "b.mid")]) == 2
    assert "or its notes were edited since" in capsys.readouterr().err and (tmp_path / "b.mid").read_bytes() == edited
    # ... and a beat edited by a tool that keeps its tag (it was written over, the edit lost)
    for name in ("b.wav", "b.flac"):
        assert main([*base, "-o", str(tmp_path / name)]) == 0
        assert main([*base, "-o", str(tmp_path / name)]) == 0                   # its own, as written: replaced
        with sf.SoundFile(str(tmp_path / name)) as f:
            tags, sub, fmt, y = (f.software, f.comment), f.subtype, f.format, f.read(dtype="float32")
        with sf.SoundFile(str(tmp_path / name), "w", SR, y.shape[1], subtype=sub, format=fmt) as f:
            f.software, f.comment = tags
            f.write(y * 0.5)                                                     # the producer's edit, tags kept
        kept = (tmp_path / name).read_bytes()
        assert main([*base, "-o", str(tmp_path / name)]) == 2
        assert "is a beat Drummy wrote, edited since" in capsys.readouterr().err
        assert (tmp_path / name).read_bytes() == kept


def test_a_beat_is_never_written_into_the_kit_it_plays(tmp_path, tiny_library, capsys):
    sample = tiny_library / "kick" / "808" / "Boom 1.wav"
    before = sample.read_bytes()
    for extra in (["-o", str(sample)], ["-o", str(tiny_library / "beats" / "b.wav")],
                  ["-o", str(tmp_path / "b.wav"), "--stems", str(tiny_library / "stems")],
                  ["-o", str(tmp_path / "b.wav"), "--midi-out", str(tiny_library / "b.mid")]):
        assert main(["beat", "--kit", str(tiny_library), "--pattern", "house", "--bars", "1", *extra]) == 2
        err = capsys.readouterr().err
        assert "is in the kit the beat plays" in err and len(err.strip().splitlines()) == 1
    assert sample.read_bytes() == before and not (tiny_library / "beats").exists() and not (tiny_library / "stems").exists()
    sfz = tiny_library / "kit.sfz"                            # a kit file plays only what it names
    sfz.write_text('<region> sample=kick/808/Boom 1.wav key=36\n<region> sample=hihat/808/tick_01.wav key=42\n')
    assert main(["beat", "--kit", str(sfz), "--pattern", "house", "--bars", "1", "-o", str(sample)]) == 2
    assert "is in the kit the beat plays" in capsys.readouterr().err and sample.read_bytes() == before
    assert main(["beat", "--kit", str(sfz), "--pattern", "house", "--bars", "1",
                 "-o", str(tiny_library / "beats" / "b.wav")]) == 0


def test_beat_command_errors_are_one_line(tmp_path, tiny_library, capsys):
    assert main(["beat", "--kit", str(tiny_library), "--pattern", "polka", "-o", str(tmp_path / "b.wav")]) == 2
    err = capsys.readouterr().err
    assert "unknown pattern 'polka'" in err and "house" in err and len(err.strip().splitlines()) == 1
    assert main(["beat", "--kit", str(tiny_library), "--pattern", "house", "--bars", "4", "--no-repeat",
                 "-o", str(tmp_path / "b.wav")]) == 2
    err = capsys.readouterr().err
    assert "--no-repeat" in err and "kick 16 > 8" in err and len(err.strip().splitlines()) == 1
    for lock, needle in (("cowbell", "--lock 'cowbell': pattern 'house' has no such track"),
                         ("kick", "--no-repeat plays a different sample on every hit, and track 'kick' locks one")):
        assert main(["beat", "--kit", str(tiny_library), "--pattern", "house", "--bars", "1", "--lock", lock,
                     "--no-repeat", "-o", str(tmp_path / "b.wav")]) == 2
        err = capsys.readouterr().err
        assert needle in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "b.wav").exists()
    assert main(["beat", "--kit", str(tiny_library), "--pattern", "house", "--bars", "2", "--lock", "kick,hihat",
                 "-o", str(tmp_path / "locked.wav")]) == 0
    assert sf.info(str(tmp_path / "locked.wav")).frames == S.beat_length(P.builtin("house").bpm, 2)
    assert main(["beat", "--kit", str(tiny_library), "--pattern", "house", "-o", str(tmp_path / "b.mp3")]) == 2
    err = capsys.readouterr().err
    assert "cannot write .mp3" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "b.mp3").exists()
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    for extra in (["--stems", str(blocker)], ["--midi-out", str(blocker / "x.mid")], ["--midi-out", str(tmp_path / "b.wav")],
                  ["--midi-out", str(tmp_path / "b2.wav")], ["--midi-out", str(tmp_path / ("m" * 260 + ".mid"))],
                  ["--stems", str(tmp_path / "stems"), "--midi-out", str(tmp_path / ("m" * 260 + ".mid"))]):
        assert main(["beat", "--kit", str(tiny_library), "--pattern", "house", "-o", str(tmp_path / "b.wav"), *extra]) == 2
        err = capsys.readouterr().err
        assert err.startswith("drummy: error: ") and len(err.strip().splitlines()) == 1
        assert not (tmp_path / "b.wav").exists() and not (tmp_path / "stems").exists()   # refused before the render
    broken = tmp_path / "kit" / "drumkit.xml"                # a kit file that cannot be read says why
    broken.parent.mkdir()
    broken.write_text("<drumkit_info><name>x</name><instrumentList><instrument>")
    assert main(["beat", "--kit", str(broken), "--pattern", "house", "-o", str(tmp_path / "b.wav")]) == 2
    err = capsys.readouterr().err
    assert "not a readable drumkit.xml" in err and len(err.strip().splitlines()) == 1
    bongo = tmp_path / "bongo.toml"                          # nothing in the kit to play: one line, not two that disagree
    bongo.write_text('[tracks]\nbongo = { grid = "x...x...x...x...", type = "perc" }\n')
    assert main(["beat", "--kit", str(tiny_library), "--pattern", str(bongo), "-o", str(tmp_path / "b.wav")]) == 2
    out, err = capsys.readouterr()
    assert "stays silent" not in out and "the kit has no perc samples" in err and len(err.strip().splitlines()) == 1
    (tmp_path / "empty").mkdir()                             # a kit folder with no audio says so
    assert main(["beat", "--kit", str(tmp_path / "empty"), "--pattern", "house", "-o", str(tmp_path / "b.wav")]) == 2
    assert "no audio files in it" in capsys.readouterr().err
    import mido                                              # a MIDI file that is none, or is cut short
    mid = mido.MidiFile()
    mid.tracks.append(mido.MidiTrack([mido.Message("note_on", channel=9, note=36, velocity=100, time=120)] * 20))
    mid.save(tmp_path / "full.mid")
    (tmp_path / "cut.mid").write_bytes((tmp_path / "full.mid").read_bytes()[:60])
    (tmp_path / "text.mid").write_text("not midi")
    for f, says in (("cut.mid", "cut short: it ends inside a track"), ("text.mid", "not a MIDI file")):
        assert main(["beat", "--kit", str(tiny_library), "--pattern", str(tmp_path / f), "-o", str(tmp_path / "b.wav")]) == 2
        err = capsys.readouterr().err
        assert says in err and len(err.strip().splitlines()) == 1
    taken = tmp_path / "taken.wav"
    taken.mkdir()                                            # the beat's name is a folder
    assert main(["beat", "--kit", str(tiny_library), "--pattern", "house", "--bars", "1", "-o", str(taken)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"drummy: error: -o {taken} is a folder")   # the name asked for, not a temp file's


def test_a_beat_with_no_hit_to_play_is_an_error_not_a_silent_file(tmp_path, tiny_library, capsys):
    rests = tmp_path / "rests.toml"
    rests.write_text('[tracks]\nkick = "................"\n')
    late = tmp_path / "late.toml"
    late.write_text('[tracks]\nkick = "................................x..............."\n')
    for pattern, why in ((rests, "plays no hit in 1 bar"), (late, "its hits come later: it is 3 bars long")):
        assert main(["beat", "--kit", str(tiny_library), "--pattern", str(pattern), "--bars", "1",
                     "-o", str(tmp_path / "b.wav")]) == 2
        assert why in capsys.readouterr().err and not (tmp_path / "b.wav").exists()


def test_beat_length_is_capped(tmp_path, tiny_library, capsys):
    with pytest.raises(SystemExit):
        main(["beat", "--kit", str(tiny_library), "--pattern", "house", "--bars", "100000", "-o", str(tmp_path / "b.wav")])
    assert "must be at most 256" in capsys.readouterr().err


def test_stems_of_tracks_whose_names_read_alike_do_not_overwrite(tmp_path):
    stems = {"kick/1": np.full(100, 0.1, np.float32), "kick:1": np.full(100, 0.2, np.float32),
             "..": np.full(100, 0.3, np.float32)}
    paths = S.write_stems(stems, tmp_path)
    assert len({p.name for p in paths}) == 3 and not any(p.name.startswith(".") for p in paths)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != S.STEMS_MANIFEST) == sorted(p.name for p in paths)


def test_files_of_one_folder_left_out_for_one_reason_are_one_line(tmp_path, tiny_library, capsys):
    # every beat of a workspace named each of its morphs (no one drum type) on a line of its own
    for i in range(5):
        write(tiny_library / "morph" / f"morph_a_to_b_s0_{i + 1:02d}.wav", kick(100 + i))
    write(tiny_library / "x" / "thing.wav", kick(9))
    assert main(["beat", "--kit", str(tiny_library), "--pattern", "techno", "--bars", "1",
                 "-o", str(tmp_path / "b.wav"), "-w", str(tmp_path / "ws")]) == 0
    out = capsys.readouterr().out
    assert f"left out 5 samples in {tiny_library / 'morph'}: drum type unknown" in out
    assert f"left out {tiny_library / 'x' / 'thing.wav'}: drum type unknown" in out and out.count("left out") == 2


def test_a_beat_stopped_before_its_files_leaves_no_empty_folders(tmp_path, tiny_library, monkeypatch):
    # a Ctrl-C during the render left the stems folder (and -o's new folders) behind, empty
    from conftest import interrupt_at
    (tmp_path / "mine").mkdir()
    monkeypatch.setattr(S, "render", interrupt_at(1, S.render))
    assert main(["beat", "--kit", str(tiny_library), "--pattern", "techno", "--bars", "1",
                 "-o", str(tmp_path / "new" / "deep" / "b.wav"), "--stems", str(tmp_path / "mine" / "stems" / "x"),
                 "--midi-out", str(tmp_path / "midi" / "b.mid"), "-w", str(tmp_path / "ws")]) == 130
    assert not (tmp_path / "new").exists() and not (tmp_path / "midi").exists()
    assert (tmp_path / "mine").is_dir() and not any((tmp_path / "mine").iterdir())     # the producer's own stays


def test_stems_stopped_half_way_are_replaced_whole_by_the_same_beat(tmp_path, monkeypatch):
    one = np.full(100, 0.1, np.float32)
    S.write_stems({"crash": one, "hihat": one, "snare": one, "tom": one}, tmp_path)      # an earlier beat
    from conftest import interrupt_at
    real = audio.write
    monkeypatch.setattr(audio, "write", interrupt_at(3, real))           # Ctrl-C at the third stem
    new = {"clap": one, "kick": one, "open hat": one, "hihat": one}
    with pytest.raises(KeyboardInterrupt):
        S.write_stems(new, tmp_path)
    monkeypatch.setattr(audio, "write", real)
    S.write_stems(new, tmp_path)                                      # the same beat again: no stranger's files
    assert sorted(p.name for p in tmp_path.glob("*.wav")) == ["clap.wav", "hihat.wav", "kick.wav", "open hat.wav"]


def test_stems_replace_an_earlier_beats_stems_and_nothing_else(tmp_path):
    one = np.full(100, 0.1, np.float32)
    S.write_stems({"kick": one, "clap": one, "open hat": one}, tmp_path)
    S.write_stems({"kick": one, "snare": one}, tmp_path)            # another pattern: no stale clap stem
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".wav") == ["kick.wav", "snare.wav"]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "kick.wav").write_bytes(b"a producer's own file")
    with pytest.raises(S.SequencerError, match="holds kick.wav, which no earlier beat wrote"):
        S.write_stems({"kick": one}, mine)
    assert (mine / "kick.wav").read_bytes() == b"a producer's own file"
    beat = tmp_path / "beat"
    S.write_stems({"kick": one, "snare": one}, beat)
    audio.write(beat / "snare.wav", np.linspace(-0.3, 0.3, 100, dtype=np.float32), peak_db=None, fade_ms=0)   # edited in a DAW
    edited = (beat / "snare.wav").read_bytes()
    with pytest.raises(S.SequencerError, match="holds snare.wav, which no earlier beat wrote there .or which was edited"):
        S.write_stems({"kick": one, "snare": one}, beat)
    assert (beat / "snare.wav").read_bytes() == edited


def test_two_beats_into_the_same_files_at_once_the_second_waits(tmp_path, tiny_library, capsys):
    from drummy.library import claim
    out = tmp_path / "out"
    cmd = ["beat", "--kit", str(tiny_library), "--pattern", "techno", "--bars", "1", "-o", str(out / "beat.wav"),
           "--stems", str(out / "stems")]
    with claim(out / "stems"):                  # another beat is writing these stems
        assert main(cmd) == 2
    err = capsys.readouterr().err
    assert "is being written by another drummy command" in err and len(err.strip().splitlines()) == 1
    assert not (out / "beat.wav").exists()
    assert main(cmd) == 0                      # and once it has finished, this one runs
    with claim(tmp_path / "elsewhere.wav"):    # other files are no business of this beat's
        assert main(cmd) == 0


def test_a_loose_loop_in_a_kit_folder_is_left_out(tmp_path, tiny_library):
    loop = np.zeros(SR * 4, np.float32)
    for k in range(8):
        loop[k * SR // 2: k * SR // 2 + len(kick(k))] += kick(k)
    write(tiny_library / "kick" / "808" / "Boom Groove.wav", loop)
    kit = S.kit_from_folder(tiny_library)
    assert len(kit["kick"]) == 8
    assert any(p.endswith("Boom Groove.wav") and why.startswith("several hits") for p, why in kit.skipped)


def test_a_beat_plays_its_pattern_whole_and_never_writes_over_it(tmp_path, tiny_library, capsys):
    from drummy import patterns
    grid = tmp_path / "three.toml"
    grid.write_text('[tracks]\nkick = "X...X...X...X... | X...X...X...X... | X.X.X.X.X.X.X.X."\n'
                    'hihat = "................ | ................ | ..x...x...x...x."\n')
    out = tmp_path / "b.wav"
    assert main(["beat", "--kit", str(tiny_library), "--pattern", str(grid), "-o", str(out)]) == 0
    assert sf.info(str(out)).frames == round(9 * 4 * 60 / 120 * SR)        # 3 whole loops, not 8 bars
    assert main(["beat", "--kit", str(tiny_library), "--pattern", str(grid), "--bars", "2", "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert "the pattern is 3 bars long: 2 bars end partway through its 1st loop" in said
    assert "track 'hihat' plays no hit in 2 bars" in said
    assert main(["beat", "--kit", str(tiny_library), "--pattern", str(grid), "--bars", "1", "-o", str(out)]) == 0
    assert "the pattern is 3 bars long: 1 bar ends partway through its 1st loop" in capsys.readouterr().out
    # a MIDI take written back over itself would be lost
    take = tmp_path / "take.mid"
    patterns.write_midi(take, patterns.load(str(grid)), bpm=120, bars=3)
    before = take.read_bytes()
    assert main(["beat", "--kit", str(tiny_library), "--pattern", str(take), "-o", str(tmp_path / "t.wav"),
                 "--midi-out", str(take)]) == 2
    assert "is the --pattern file" in capsys.readouterr().err and take.read_bytes() == before


def test_a_layered_kit_plays_the_layer_of_each_hits_velocity(tmp_path):
    soft, loud = np.full(2000, 0.1, np.float32), np.full(2000, 0.9, np.float32)
    kit = Kit({"kick": [("soft", soft), ("soft 2", soft), ("loud", loud)]},
              layers={"kick": [(0.0, 0.5), (0.0, 0.5), (0.5, 1.0)]})
    p = one_track([127, 40] * 8)
    rng = np.random.default_rng(0)
    vel = [np.array([127, 40] * 8)]
    picks = S.choose_samples(p, kit, [16], rng, velocities=vel)[0]
    assert set(picks[::2]) == {2} and set(picks[1::2]) == {0, 1}           # accents loud, ghosts from both soft ones
    with pytest.raises(S.SequencerError, match="--no-repeat"):
        S.choose_samples(p, kit, [16], rng, no_repeat=True, velocities=vel)
    three = one_track([127, 40, 127])
    picks = S.choose_samples(three, kit, [3], rng, no_repeat=True, velocities=[np.array([127, 40, 127])])[0]
    assert picks[0] == 2 and picks[1] in (0, 1) and picks[2] in (0, 1) and len(set(picks)) == 3   # loud used up: nearest free
    # read from a Hydrogen kit and rendered: every accent at the same level
    for name, y in (("soft.wav", 0.05 * kick(0)), ("loud.wav", 0.9 * kick(0))):
        write(tmp_path / "kit" / name, y, subtype="FLOAT")
    (tmp_path / "kit" / "drumkit.xml").write_text(
        "<drumkit_info><name>L</name><instrumentList><instrument><name>Kick</name>"
        "<layer><filename>soft.wav</filename><min>0</min><max>0.6</max></layer>"
        "<layer><filename>loud.wav</filename><min>0.6</min><max>1</max></layer>"
        "</instrument></instrumentList></drumkit_info>")
    kit = S.load_kit(S.folder_samples(tmp_path / "kit"))
    assert kit.layers == {"kick": [(0.0, 0.6), (0.6, 1.0)]}
    same = [KitSample(p, "kick", velocity=(0.2, 1.0)) for p in sorted((tmp_path / "kit").glob("*.wav"))]
    assert S.load_kit(same).layers == {}                                   # one range for all: no layers, the old draws
    mix, _ = S.render(one_track([127, 0, 0, 0] * 4), kit, bpm=120, bars=2, master="none", seed=3)
    step = SR // 2                                                           # a quarter note at 120 bpm
    peaks = [np.abs(mix[i * step:(i + 1) * step]).max() for i in range(8)]
    assert max(peaks) / min(peaks) < 1.01                                   # the loud layer every time


def test_outputs_that_cannot_be_written_are_refused_before_the_render(tmp_path, tiny_library, capsys):
    import os
    (tmp_path / "mid.mid").mkdir()
    out = tmp_path / "b.wav"
    base = ["beat", "--kit", str(tiny_library), "--pattern", "house", "--bars", "1", "-o", str(out)]
    assert main(["beat", "--kit", str(tiny_library), "--pattern", "house", "--bars", "256", "--bpm", "20",
                 "-o", str(out)]) == 2
    assert "is 51 minutes; a beat is at most 15" in capsys.readouterr().err and not out.exists()
    assert main([*base, "--midi-out", str(tmp_path / "mid.mid")]) == 2
    assert "is a folder: name the MIDI file" in capsys.readouterr().err and not out.exists()
    long = tmp_path / "long.toml"
    long.write_text(f'[tracks]\n"kick {"x" * 300}" = "X..............."\n')
    assert main(["beat", "--kit", str(tiny_library), "--pattern", str(long), "-o", str(out),
                 "--stems", str(tmp_path / "st")]) == 2
    assert "too long" in capsys.readouterr().err and not out.exists()
    if os.geteuid() != 0:                                  # root writes anywhere: only an unprivileged run can check this
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        assert main([*base, "--midi-out", str(ro / "b.mid")]) == 2
        assert str(ro) in capsys.readouterr().err and not out.exists()


def _tone(hz: float, seconds: float = 0.3) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (0.5 * np.sin(2 * np.pi * hz * t) * np.exp(-t * 8)).astype(np.float32)


def test_a_track_naming_one_drum_plays_that_drum_of_the_kit(tmp_path):
    # a ride track plays the kit's ride, not its crash; a hihat track no pedal hat; a floor tom the lowest
    kit = Kit({"cymbal": [("crash", _tone(3000)), ("ride", _tone(5000)), ("crash 2", _tone(3100))],
               "hihat": [("closed", _tone(8000)), ("pedal", _tone(7000))],
               "tom": [("hi", _tone(200)), ("low", _tone(100))]},
              notes={"cymbal": [49, 51, None], "hihat": [None, 44], "tom": [50, 45]})
    tracks = [Track("ride", "cymbal", (100,) * 16, note=51), Track("crash", "cymbal", (100,) * 16, note=49),
              Track("cymbal", "cymbal", (100,) * 16, note=49), Track("hihat", "hihat", (100,) * 16, note=42),
              Track("pedal hat", "hihat", (100,) * 16, note=44), Track("floor tom", "tom", (100,) * 16, note=41),
              Track("tom", "tom", (100,) * 16, note=45)]
    p = Pattern("t", tuple(tracks))
    picks = S.choose_samples(p, kit, [16] * len(tracks), np.random.default_rng(0))
    assert [set(x.tolist()) for x in picks] == [{1}, {0}, {0, 2}, {0}, {1}, {1}, {0, 1}]
    with pytest.raises(S.SequencerError, match="ride 2 > 1"):             # the kit has 3 cymbals, but 1 ride
        S.choose_samples(Pattern("r", (tracks[0], tracks[1])), kit, [2, 1], np.random.default_rng(0), no_repeat=True)
    # a kit with nothing to tell its drums apart draws as it always did
    plain = Kit({k: v for k, v in kit.items()})
    assert S.track_pools(p, plain) == [None] * len(tracks)
    # from a Hydrogen kit: its instruments' names say which cymbal is which
    for name, hz in (("a.wav", 3000), ("b.wav", 5000)):
        write(tmp_path / "kit" / name, _tone(hz), subtype="FLOAT")
    (tmp_path / "kit" / "drumkit.xml").write_text(
        "<drumkit_info><name>C</name><instrumentList>"
        "<instrument><name>Crash</name><layer><filename>a.wav</filename></layer></instrument>"
        "<instrument><name>Ride Jazz</name><layer><filename>b.wav</filename></layer></instrument>"
        "</instrumentList></drumkit_info>")
    kit = S.load_kit(S.folder_samples(tmp_path / "kit"))
    names = [n for n, _ in kit["cymbal"]]
    pick = S.choose_samples(Pattern("r", (tracks[0],)), kit, [16], np.random.default_rng(1))[0]
    assert {names[i] for i in pick} == {"Ride Jazz"}


def test_toms_that_do_not_say_their_height_are_shared_out_by_pitch():
    kit = Kit({"tom": [("a", _tone(110)), ("b", _tone(220)), ("c", _tone(150)), ("d", _tone(330))]})
    fill = Pattern("f", (Track("high tom", "tom", (100,) * 4, note=50), Track("mid tom", "tom", (100,) * 4, note=47),
                         Track("floor tom", "tom", (100,) * 4, note=41)))
    pools = S.track_pools(fill, kit)
    assert [sorted(x.tolist()) for x in pools] == [[1, 3], [2], [0]]      # 330 + 220 Hz, 150, 110
    assert S.track_pools(Pattern("t", (Track("tom", "tom", (100,) * 4, note=45),)), kit) == [None]


def test_a_layered_kit_plays_velocity_on_a_gentler_law():
    # its soft layers are soft already: velocity 40 is 10 dB under 127 (Hydrogen's law), not 20
    kit = Kit({"snare": [("soft", _tone(200)), ("loud", _tone(200))]}, layers={"snare": [(0.0, 0.5), (0.5, 1.0)]})
    plain = Kit({"snare": [("one", _tone(200))]})
    p = Pattern("g", (Track("snare", "snare", (127, 0, 40, 0), note=38),), steps=4)
    for k, want in ((kit, 20 * np.log10(40 / 127)), (plain, 40 * np.log10(40 / 127))):
        _, stems = S.render(p, k, bpm=120, bars=1, master="none", stems=True)
        y = stems["snare"][:, 0]
        half = len(y) // 2
        assert 20 * np.log10(np.abs(y[half:]).max() / np.abs(y[:half]).max()) == pytest.approx(want, abs=0.3)


@pytest.mark.parametrize("master", ["none", "clean"])
def test_a_stereo_kit_plays_in_stereo(tmp_path, master):
    # a stereo sample keeps its channels (a wide clap, a kit's stereo overheads); mono ones stay mono
    left, right = kick(0), hat(1, seconds=len(kick(0)) / SR)[:len(kick(0))]
    write(tmp_path / "kit" / "clap" / "wide.wav", np.stack([left, 0.5 * right], 1), sr=48000)
    write(tmp_path / "kit" / "kick" / "mono.wav", kick(2))
    y = audio.load(tmp_path / "kit" / "clap" / "wide.wav", stereo=True)
    assert y.ndim == 2 and y.shape[1] == 2 and len(y) == len(audio.load(tmp_path / "kit" / "clap" / "wide.wav"))
    kit = S.kit_from_folder(tmp_path / "kit")
    assert kit["clap"][0][1].shape[1] == 2 and kit["kick"][0][1].ndim == 1
    clap = Pattern("c", (Track("clap", "clap", (100, 0, 0, 0), note=39),), steps=4)
    mix, _ = S.render(clap, kit, bpm=120, bars=1, master=master)
    side = np.std(mix[:, 0] - mix[:, 1]) / np.std(mix[:, 0] + mix[:, 1])
    assert side > 0.3                                                   # the channels differ, as in the file
    assert np.corrcoef(mix[:4000, 0], y[:4000, 0])[0, 1] > 0.9 and np.corrcoef(mix[:4000, 1], y[:4000, 1])[0, 1] > 0.9
    kick_only = Pattern("k", (Track("kick", "kick", (100, 0, 0, 0), note=36),), steps=4)
    mix, _ = S.render(kick_only, kit, bpm=120, bars=1, master=master)
    assert np.array_equal(mix[:, 0], mix[:, 1])


def test_drums_told_apart_change_no_other_types_draws_and_no_repeat_fits_the_narrowest_first():
    kit = Kit({"kick": [(f"k{i}", _tone(60 + i)) for i in range(4)],
               "tom": [(f"t{i}", _tone(100 + 50 * i)) for i in range(6)],
               "cymbal": [(f"c{i}", _tone(3000 + i)) for i in range(5)]})
    tr = lambda name, t, n: Track(name, t, (100, 0) * 8, note=n)           # noqa: E731
    plain = Pattern("p", (tr("kick", "kick", 36), tr("tom", "tom", 45), tr("tom 2", "tom", 45), tr("crash", "cymbal", 49)))
    fill = Pattern("p", (tr("kick", "kick", 36), tr("high tom", "tom", 50), tr("floor tom", "tom", 41), tr("crash", "cymbal", 49)))
    a = S.choose_samples(plain, kit, [8] * 4, np.random.default_rng(5))
    b = S.choose_samples(fill, kit, [8] * 4, np.random.default_rng(5))
    assert S.track_pools(plain, kit) == [None] * 4 and S.track_pools(fill, kit)[1] is not None
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[3], b[3])     # toms told apart: kicks and crashes as before
    # a plain tom track beside height-named ones: the named draw first, so --no-repeat fits whenever the kit does
    mixed = Pattern("m", (Track("tom", "tom", (100,) * 2 + (0,) * 14, note=45), Track("high tom", "tom", (100,) * 2 + (0,) * 14, note=50),
                          Track("floor tom", "tom", (100,) * 2 + (0,) * 14, note=41)))
    for seed in range(20):
        picks = S.choose_samples(mixed, kit, [2, 2, 2], np.random.default_rng(seed), no_repeat=True)
        assert len({int(i) for p in picks for i in p}) == 6


def test_a_named_drum_the_kit_lacks_falls_back_to_its_sibling_then_the_plain_ones():
    kit = Kit({"cymbal": [("crash 2", _tone(3000)), ("ride", _tone(5000)), ("china", _tone(4000))]},
              notes={"cymbal": [57, 51, 52]})
    crash = Pattern("c", (Track("crash", "cymbal", (100,) * 8, note=49),))
    assert S.track_pools(crash, kit)[0].tolist() == [0]                 # crash 2 stands in for the crash
    kit.notes["cymbal"] = [None, 51, 52]
    assert S.track_pools(crash, kit)[0].tolist() == [0]                 # the plain cymbal, not the ride or china
    assert S.stand_ins(crash, kit) == []


def test_a_track_playing_another_drum_of_its_type_says_so(tmp_path, capsys):
    # a beat's crash played a generated ride (the only cymbal) and said nothing
    kit = Kit({"cymbal": [("ride", _tone(5000)), ("china", _tone(4000))]}, notes={"cymbal": [51, 52]})
    crash = Pattern("c", (Track("crash", "cymbal", (100,) * 8, note=49), Track("ride", "cymbal", (100,) * 8, note=51)))
    assert [(t.name, ns) for t, ns in S.stand_ins(crash, kit)] == [("crash", [51, 52])]
    write(tmp_path / "kit" / "cymbal" / "Ride Jazz.wav", _tone(5000))
    write(tmp_path / "kit" / "kick" / "k.wav", kick(0))
    assert main(["beat", "--kit", str(tmp_path / "kit"), "--pattern", "rock", "--bars", "1", "-o",
                 str(tmp_path / "b.wav"), "-w", str(tmp_path / "ws")]) == 0
    assert "track 'crash': the kit has no crash; it plays its ride instead" in capsys.readouterr().out


def test_a_stereo_file_with_one_side_flipped_plays_as_its_mono_fold_down(tmp_path):
    write(tmp_path / "flip.wav", np.stack([kick(0), -kick(0)], 1))
    y = audio.load(tmp_path / "flip.wav", stereo=True)
    assert y.ndim == 1 and np.abs(y).max() > 0.5                        # L+R would cancel to nothing


def test_a_midi_files_snare_and_second_snare_play_the_kits_own_sounds_of_each(tmp_path):
    # GMRockKit's rimshot (note 40) played 4 of 8 hits of a MIDI file's snare on 38, and its snare 3 of 8
    # on 40; a crash 2 and a ride 2 on 57 and 59 played the ride bell (merged into one cymbal track)
    import io
    import mido
    sounds = {"snare.wav": ("Snare", 38, 200), "rim.wav": ("Snare Rimshot", 40, 900),
              "crash.wav": ("Crash", 49, 3000), "crash2.wav": ("Crash 2", 57, 3300),
              "ride2.wav": ("Ride 2", 59, 5000), "bell.wav": ("Bell", 53, 6000)}
    insts = ""
    for f, (name, note, hz) in sounds.items():
        write(tmp_path / "kit" / f, _tone(hz), subtype="FLOAT")
        insts += (f"<instrument><name>{name}</name><midiOutNote>{note}</midiOutNote>"
                  f"<layer><filename>{f}</filename></layer></instrument>")
    (tmp_path / "kit" / "drumkit.xml").write_text(f"<drumkit_info><name>R</name><instrumentList>{insts}"
                                                  "</instrumentList></drumkit_info>")
    kit = S.load_kit(S.folder_samples(tmp_path / "kit"))
    mid = mido.MidiFile(type=0, ticks_per_beat=96)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    for k in range(16):
        note = (38, 40, 57, 59)[k % 4]
        tr += [mido.Message("note_on", channel=9, note=note, velocity=100, time=0 if k == 0 else 14),
               mido.Message("note_off", channel=9, note=note, time=10)]
    buf = io.BytesIO()
    mid.save(file=buf)
    p = P.from_midi(mido.MidiFile(file=io.BytesIO(buf.getvalue())))
    picks = S.choose_samples(p, kit, [sum(1 for h in t.hits if h) for t in p.tracks], np.random.default_rng(0))
    heard = {t.name: {kit[t.drum_type][i][0] for i in pick} for t, pick in zip(p.tracks, picks)}
    assert heard == {"snare": {"Snare"}, "snare 2": {"Snare Rimshot"}, "crash 2": {"Crash 2"}, "ride 2": {"Ride 2"}}
    # a kit whose notes say nothing (The Black Pearl's on 60 and up): the names tell the rimshot apart
    plain = Kit({"snare": [("Pearl Snare", _tone(200)), ("Pearl Snare Rimshot", _tone(900))]},
                notes={"snare": [None, 40]})
    ks = [KitSample(Path(f"{n}.wav"), "snare", instrument=n) for n in ("Pearl Snare", "Pearl Snare Rimshot")]
    from drummy.kits import note_of
    assert [note_of(k) for k in ks] == plain.notes["snare"]
    pick = S.choose_samples(Pattern("s", (Track("snare", "snare", (100,) * 16, note=38),)), plain, [16],
                            np.random.default_rng(0))[0]
    assert set(pick.tolist()) == {0}


def test_the_punchy_master_keeps_the_kick_against_the_hats():
    # 4:1 from -20 dB and 6 dB of limiting held each kick 9 dB under the hats between them (4 dB by clean):
    # a producer picking "punchy" got a quieter kick
    kit = Kit({"kick": [("k", kick(3))], "hihat": [("h", hat(2))]})
    p = Pattern("pump", (Track("kick", "kick", (100, 0, 0, 0) * 4, note=36), Track("hihat", "hihat", (80,) * 16, note=42)),
                bpm=124)
    pos = P.grid_positions(64, 16, 124)
    dry, _ = S.render(p, kit, bpm=124, bars=4, master="none")

    def kick_over_hats(master):
        y, _ = S.render(p, kit, bpm=124, bars=4, master=master)
        w = int(0.03 * SR)
        gain = [10 * np.log10(np.mean(y[int(s):int(s) + w] ** 2) / np.mean(dry[int(s):int(s) + w] ** 2)) for s in pos]
        return np.mean(gain[::4]) - np.mean([g for i, g in enumerate(gain) if i % 4])
    clean, punchy = kick_over_hats("clean"), kick_over_hats("punchy")
    assert punchy > clean - 1.5, (clean, punchy)


def test_a_kits_pans_place_its_drums_in_beats_and_exports(tmp_path):
    # GMRockKit pans its closed hat -0.52 and floor tom +0.56: beats played every sample centred, and
    # the Hydrogen export wrote every instrument centred
    from drummy import kits
    write(tmp_path / "kit" / "hh.wav", hat(1, seconds=0.2), subtype="FLOAT")
    write(tmp_path / "kit" / "ft.wav", _tone(90), subtype="FLOAT")
    write(tmp_path / "kit" / "bd.wav", kick(2), subtype="FLOAT")
    (tmp_path / "kit" / "drumkit.xml").write_text(
        "<drumkit_info><name>P</name><instrumentList>"
        "<instrument><name>Hat Closed</name><midiOutNote>42</midiOutNote><pan>-0.52</pan>"
        "<layer><filename>hh.wav</filename></layer></instrument>"
        "<instrument><name>Floor Tom</name><midiOutNote>41</midiOutNote><pan_L>0.44</pan_L><pan_R>1</pan_R>"
        "<layer><filename>ft.wav</filename></layer></instrument>"
        "<instrument><name>Kick</name><midiOutNote>36</midiOutNote><layer><filename>bd.wav</filename></layer>"
        "</instrument></instrumentList></drumkit_info>")
    p = Pattern("p", (Track("kick", "kick", (100, 0, 0, 0) * 4, note=36), Track("hihat", "hihat", (90, 0) * 8, note=42),
                      Track("floor tom", "tom", (0, 0, 80, 0) * 4, note=41, pan=0.5)))

    def sides(kit_dir):
        kit = S.load_kit(S.folder_samples(kit_dir))
        _, stems = S.render(p, kit, bpm=120, bars=1, master="none", stems=True)
        return {n: 20 * np.log10(np.sqrt(np.mean(st[:, 0] ** 2)) / np.sqrt(np.mean(st[:, 1] ** 2))) for n, st in stems.items()}
    want = {"kick": 0.0, "hihat": -0.52, "floor tom": S.placed_pan(0.5, 0.56)}            # -1 left .. 1 right
    law = {n: 20 * np.log10(np.divide(*S.pan_gains(v))) for n, v in want.items()}         # L over R, dB
    got = sides(tmp_path / "kit")
    assert all(abs(got[n] - law[n]) < 0.01 for n in want), (got, law)
    assert want["floor tom"] == pytest.approx(0.78) and law["hihat"] > 7                   # the hat well left
    for side in ("l", "r"):                            # one sound in two files placed apart: two sounds
        write(tmp_path / "two" / f"{side}.wav", _tone(120), subtype="FLOAT")
    two = [KitSample(tmp_path / "two" / f"{side}.wav", "tom", pan=p) for side, p in (("l", -0.5), ("r", 0.5))]
    assert sorted(S.load_kit(two).pans["tom"]) == [-0.5, 0.5]
    for fmt in ("hydrogen", "sfz"):                                                       # and the exports keep them
        kits.export_kit(S.folder_samples(tmp_path / "kit"), tmp_path / fmt, fmt)
        again = sides(tmp_path / fmt)
        assert all(abs(again[n] - law[n]) < 0.01 for n in want), (fmt, again, law)



def test_a_longer_render_of_a_beat_is_as_loud_as_a_shorter_one():
    # mastered from the whole beat's peak, 64 bars of rock played 1.5 dB quieter than 8 (the longer the beat, the
    # louder its rarest humanised stack, and the rest was set under it), and a lo-fi beat 2.8 dB quieter (one
    # crushed hit's peak between samples turned the whole beat down)
    sounds = {"kick": kick(0), "snare": hat(11, seconds=0.3), "hihat": hat(2), "tom": kick(3), "cymbal": hat(24, seconds=1.0)}
    kit = Kit({t: [(t, y.astype(np.float32))] for t, y in sounds.items()})
    for master in ("clean", "punchy", "lofi"):
        for seed in range(3):
            short, long_ = (S.render(P.builtin("rock"), kit, bars=bars, seed=seed, master=master)[0] for bars in (8, 64))
            level = [10 * np.log10(np.mean(y ** 2)) for y in (short, long_)]
            assert abs(level[1] - level[0]) < 1.0, (master, seed, level)


def test_a_beat_decodes_only_the_drums_its_pattern_plays(tmp_path, monkeypatch):
    # a beat of a 6,000-sample library decoded every one of them, for 8 bars of a pattern of four drums
    lib = tmp_path / "kit"
    for i in range(3):
        write(lib / "kick" / f"k{i}.wav", kick(i))
        write(lib / "hihat" / f"h{i}.wav", hat(i))
    for i in range(12):
        write(lib / "tom" / f"t{i}.wav", kick(20 + i))
        write(lib / "cymbal" / f"c{i}.wav", hat(20 + i, seconds=1.0))
    loaded = []
    load = KitSample.load
    monkeypatch.setattr(KitSample, "load", lambda self, *a, **kw: loaded.append(Path(self.path).parent.name) or load(self, *a, **kw))
    assert main(["beat", "--kit", str(lib), "--pattern", "house", "--bars", "1", "-o", str(tmp_path / "beat.wav")]) == 0
    assert sorted(set(loaded)) == ["hihat", "kick"] and len(loaded) == 6


def test_a_loud_sample_among_soft_ones_stays_louder_in_the_master():
    # mastered from the median cycle alone, the limiter levelled a kick 12 dB over the kit's other kick to it
    loud = kick(3)
    kit = Kit({"kick": [("loud", loud), ("soft", (loud * 10 ** (-12 / 20)).astype(np.float32))]})
    p = Pattern("one", (Track("kick", "kick", (100,) + (0,) * 15, note=36),), bpm=120)
    for master in ("clean", "punchy"):
        y, _ = S.render(p, kit, bars=16, seed=0, master=master)
        bar = len(y) // 16
        peaks = [20 * np.log10(np.abs(y[i * bar:(i + 1) * bar]).max()) for i in range(16)]
        assert max(peaks) - min(peaks) > 4.0, (master, peaks)


def test_the_limiter_reads_peaks_half_way_between_samples():
    # a crushed hit's peak between its samples stood 4 dB over them: the limiter let it through, and the true-peak
    # ceiling after it turned the whole beat down by that much
    t = np.arange(SR // 2)
    tone = np.sin(2 * np.pi * (SR / 4) * t / SR + np.pi / 4).astype(np.float32)   # its peaks fall half way between
    y = np.stack([tone, tone]) * np.float32(0.5)                                    # samples: 0.35, peaks 0.5
    assert S.audio.midpoints(y[0], True).max() > 1.35 * np.abs(y[0]).max()
    plain = S.limit(y.copy(), 0.4, loop=True)
    read = S.limit(y.copy(), 0.4, between=True, loop=True)
    assert np.array_equal(plain, y)                                                 # its samples are under 0.4
    assert S.audio.midpoints(read[0], True).max() <= 0.4 * 1.01 and np.abs(read).max() <= 0.4
    assert 20 * np.log10(S.audio.true_peak(read, loop=True) / 0.4) < 0.1
