import dataclasses
import io

import mido
import numpy as np
import pytest

from drummy import patterns as P
from drummy.patterns import Pattern, PatternError, Track


def test_builtins_cover_the_styles_and_survive_dump():
    assert {"house", "techno", "boom bap", "trap", "breakbeat", "rock"} <= set(P.BUILTINS)
    for name in P.BUILTINS:
        p = P.builtin(name)
        assert p.name == name and p.tracks and p.steps in (12, 16, 32)
        assert P.parse(P.dump(p)) == p
    assert P.builtin("Boom Bap") == P.builtin("boombap") == P.builtin("boom-bap") == P.builtin("boom bap")
    with pytest.raises(P.PatternError, match="built-ins are house"):
        P.builtin("boom")


def test_grid_characters_velocities_and_bars():
    p = P.parse('''
steps = 16
swing = 62
humanise = { timing_ms = 3, velocity = 5 }
[tracks]
kick = "x...X...o...g... | 1.5.9..........."
ride = { grid = [0, 100, 0, 37, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 127], gain_db = -6, pan = 0.5 }
perc = { grid = "x-x_x-x_x-x_x-x_", type = "perc", choke = "shaker" }
''')
    kick, ride, perc = p.tracks
    assert kick.hits[:16] == (100, 0, 0, 0, 127, 0, 0, 0, 70, 0, 0, 0, 40, 0, 0, 0)
    assert kick.hits[16:21] == (14, 0, 71, 0, 127)
    assert p.bars == 2 and len(ride.hits) == 16      # a one-bar track loops in a two-bar pattern
    assert ride.drum_type == "cymbal" and ride.note == 51 and ride.gain_db == -6 and ride.pan == 0.5
    assert kick.note == 36 and kick.choke == "kick"
    assert perc.choke == "shaker" and sum(v > 0 for v in perc.hits) == 8
    assert p.swing == 62 and p.humanise_ms == 3 and p.humanise_velocity == 5
    assert P.parse(P.dump(p)) == p                  # 37 has no character: dumped as a list
    assert isinstance(P.format_grid(ride.hits, 16), list)


def test_hats_share_a_choke_group_by_default_and_a_kick_cuts_the_one_before():
    p = P.builtin("house")
    chokes = {t.drum_type: t.choke for t in p.tracks}
    assert chokes["hihat"] == chokes["open hat"] == "hat" and chokes["kick"] == "kick" and chokes["clap"] == ""
    assert P.parse('[tracks]\nkick = { grid = "x...............", choke = "" }').tracks[0].choke == ""   # off, as asked


@pytest.mark.parametrize("text,needle", [
    ('[tracks]\nkick = "x..y"', "unknown step character"),
    ('[tracks]\nkick = "x..."', "not a whole number"),
    ('steps = 24\n[tracks]\nkick = "x..............."', "16, 12 or 32"),
    ('swing = 90\n[tracks]\nkick = "x..............."', "swing"),
    ('steps = 12\nswing = 62\n[tracks]\nkick = "x.....x....."', "12-step grid is already in triplets"),
    ('[tracks]\nwobble = "x..............."', "cannot tell its drum type"),
    ('[tracks]\nkick = { grid = "x...............", pan = 3 }', "pan"),
    ('tempo = 120\n[tracks]\nkick = "x..............."', "unknown setting 'tempo'"),
    ('[tracks]\nkick = "x............... | ................" \nsnare = "x............... | ................ | ................"', "loop evenly"),
    ('kick = ', "not valid TOML"),
    ('name = "empty"', "needs a .tracks. table"),
    ('steps = 16.0\n[tracks]\nkick = "x..............."', "16, 12 or 32"),
    ('[tracks]\nkick = { grid = "x...............", gain_db = 1000 }', "gain_db must be between"),
    ('[tracks]\nkick = { grid = "x...............", note = true }', "note must be a MIDI note"),
    ('humanise = { velocity = 3 }\nhumanize = { velocity = 9 }\n[tracks]\nkick = "x..............."', "give it once"),
    ('name = { a = 1 }\n[tracks]\nkick = "x..............."', "name must be text"),
    ('humanise = { timing_ms = 10000 }\n[tracks]\nkick = "x..............."', "timing_ms from 0 to 100"),
    # slips a producer makes: a setting below [tracks] (was "track 'swing': cannot tell its drum type"), no [tracks]
    ('[tracks]\nkick = "x..............."\nswing = 58', "swing is a setting of the pattern, not a track"),
    ('kick = "x..............."', "tracks go under a .tracks. line"),
    ('[tracks]\nkick = { grid = "x...............", lock = "yes" }', "lock is true .one sound for every hit. or false"),
    ('[tracks]\nkick = { grid = "x...............", sample = 3 }', "sample is .part of. a sound's name"),
])
def test_bad_patterns_are_clear_errors(text, needle):
    with pytest.raises(PatternError, match=needle):
        P.parse(text)


def test_a_track_can_lock_one_sound_or_name_it():
    p = P.parse('[tracks]\nkick = { grid = "x...x...x...x...", sample = " kick_s0_03 ", lock = true }\nhh = "x.x.x.x.x.x.x.x."')
    assert (p.tracks[0].sample, p.tracks[0].lock, p.tracks[1].sample, p.tracks[1].lock) == ("kick_s0_03", True, "", False)
    assert P.parse(P.dump(p)) == p and "lock" not in P.dump(p).splitlines()[-1]
    house = P.builtin("house")                                   # --lock: by track name, drum type or all
    assert [t.lock for t in P.locked(house, "Kick, hats").tracks] == [t.drum_type in ("kick", "hihat") for t in house.tracks]
    assert all(t.lock for t in P.locked(house, "all").tracks)
    two = P.parse('[tracks]\nkick = "x..............."\nkick2 = { grid = "..x.............", type = "kick" }\n'
                  'ride = "x.x.x.x.x.x.x.x."\ncrash = "x..............."')
    assert [t.lock for t in P.locked(two, "kick2").tracks] == [False, True, False, False]     # that track alone
    assert [t.lock for t in P.locked(two, "kicks, Ride").tracks] == [True, True, True, False]  # a type: all of it
    with pytest.raises(PatternError, match="--lock 'china': pattern 'pattern' has no such track"):
        P.locked(two, "china")                                 # a drum of its own is not its type: not the ride
    for bad, needle in (("cowbell", "--lock 'cowbell': pattern 'house' has no such track .its tracks: kick, clap"),
                        (" , ", "--lock needs track names")):
        with pytest.raises(PatternError, match=needle):
            P.locked(house, bad)


@pytest.mark.parametrize("grid,needle", [
    # a 4-bar line is 64 characters: the error says where, as a producer counts (bars and steps from 1)
    ('"x...x...x...x... x...x...x...x... x...x.q.x...x..."', "unknown step character 'q' at bar 3, step 7 "),
    ('[100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 90, 0, 130]', "velocity 130 at bar 2, step 3: velocities"),
    ('"x...x...x...x... x...x...x...x.."', "31 steps is not a whole number of 16-step bars: 1 short of 2 bars, or 15 over 1 bar$"),
    ('"x...x...x...x.. | x...x...x...x..."', r"the parts between its \| marks have 15, 16 steps; each should be a bar \(16 steps\) or a beat: part 1 is not$"),   # which bar is short
    ('"x...|x..|x...|x..."', r"have 4, 3, 4, 4 steps; each should be a bar \(16 steps\) or a beat: part 2 is not$"),
    ('""', r"the grid is empty \(a bar of rests is \.{16}\)"),
    ('"x...x..."', "8 steps is not a whole number of 16-step bars: 8 short of 1 bar$"),
])
def test_a_grid_error_says_where_it_is(grid, needle):
    with pytest.raises(PatternError, match=needle):
        P.parse(f"[tracks]\nkick = {grid}")


def test_unknown_builtin_lists_the_builtins(tmp_path):
    with pytest.raises(PatternError) as e:
        P.load("hosue")
    assert "house" in str(e.value) and "boom bap" in str(e.value)
    with pytest.raises(PatternError, match="no such pattern file"):
        P.load(tmp_path / "nope.toml")
    (tmp_path / "mine.toml").write_text('[tracks]\nkick = "x...x...x...x..."\n')
    assert P.load(tmp_path / "mine.toml").name == "mine"


def test_grid_positions_with_swing():
    step = 44100 * 60 / 120 * 4 / 16                   # 5512.5 samples per 16th at 120 bpm
    pos = P.grid_positions(8, 16, 120.0, swing=50)
    assert np.allclose(pos, np.arange(8) * step)
    pos = P.grid_positions(4, 16, 120.0, swing=200 / 3)  # triplet swing: off-16ths a third of a step late
    assert np.allclose(pos, [0, step * 4 / 3, 2 * step, step * 10 / 3])
    assert np.isclose(P.step_samples(90, 12), 44100 * 60 / 90 / 3)


def test_humanise_is_seeded_and_bounded():
    p = P.builtin("boom bap")                         # 6 ms and 8 velocity units of jitter
    a = P.schedule(p, 90, 4, np.random.default_rng(7))
    b = P.schedule(p, 90, 4, np.random.default_rng(7))
    c = P.schedule(p, 90, 4, np.random.default_rng(8))
    exact = P.schedule(p, 90, 4, None)
    for ha, hb, hc, he in zip(a, b, c, exact):
        assert np.array_equal(ha.onsets, hb.onsets) and np.array_equal(ha.velocities, hb.velocities)
        assert np.all(np.abs(ha.onsets - he.onsets) <= 2.5 * 6e-3 * 44100 + 1)
        assert np.all((ha.velocities >= 1) & (ha.velocities <= 127))
    assert any(not np.array_equal(ha.onsets, hc.onsets) for ha, hc in zip(a, c))
    assert any(not np.array_equal(ha.velocities, he.velocities) for ha, he in zip(a, exact))


def _midi_round_trip(p: Pattern, **kw) -> Pattern:
    return P.from_midi(mido.MidiFile(file=io.BytesIO(P.midi_bytes(p, **kw))))


def test_pattern_midi_pattern_is_identity():
    odd = Pattern("odd", (
        Track("kick", "kick", (127, 0, 0, 3, 0, 0, 64, 0, 0, 0, 0, 1) * 3, 0.0, 0.0, "", 35),
        Track("snare", "snare", (0, 0, 0, 99, 0, 0, 0, 0, 0, 88, 0, 0), -4.5, -0.25, "", 40),
        Track("shaker", "perc", (50,) * 12, 0.0, 1.0, "", 70),
        Track("crash", "cymbal", (0,) * 12, -3.0, 0.0, "", 49),                # silent: kept, in place
    ), steps=12, swing=57.5, bpm=96.5, humanise_ms=2.5, humanise_velocity=3.0)
    for p in [odd, *(P.builtin(n) for n in P.BUILTINS)]:
        assert _midi_round_trip(p) == p
        # a beat's MIDI: the pattern looped, at the tempo the beat was played at
        assert _midi_round_trip(p, bars=3 * p.bars, bpm=101) == dataclasses.replace(p, bpm=101.0)


def test_our_midi_saved_as_type_0_keeps_its_tracks():
    """A DAW or tool that saves drummy's file as type 0 merges every track into one:
    each note still goes to the track that played it."""
    for p in [P.builtin(n) for n in P.BUILTINS]:
        mid = mido.MidiFile(file=io.BytesIO(P.midi_bytes(p)))
        merged = mido.MidiFile(type=0, ticks_per_beat=mid.ticks_per_beat, tracks=[mido.merge_tracks(mid.tracks)])
        assert P.from_midi(merged) == p, p.name


def test_a_file_at_a_coarse_ppq_is_as_long_as_its_track():
    """At 1-3 ticks a beat a 16th-note step is under a tick: a one-bar loop stays one bar."""
    for ppq in (1, 2, 3, 4, 96):
        for bars in (1, 2):
            mid = mido.MidiFile(type=0, ticks_per_beat=ppq)
            tr = mido.MidiTrack()
            mid.tracks.append(tr)
            for beat in range(4):                             # quarter-note kicks, each held a beat
                tr.append(mido.Message("note_on", channel=9, note=36, velocity=100, time=0))
                tr.append(mido.Message("note_off", channel=9, note=36, time=ppq))
            tr.append(mido.MetaMessage("end_of_track", time=(bars - 1) * 4 * ppq))
            p = P.from_midi(mid)
            assert (ppq, p.bars) == (ppq, bars) and p.tracks[0].hits[:16] == (100, 0, 0, 0) * 4


def test_a_gm_file_that_ends_in_empty_bars_keeps_them():
    def kicks(end_tick: int, off: int = 10) -> mido.MidiFile:
        mid = mido.MidiFile(type=0, ticks_per_beat=96)
        tr = mido.MidiTrack()
        mid.tracks.append(tr)
        for beat in range(4):                              # four on the floor in bar 1 only
            tr.append(mido.Message("note_on", channel=9, note=36, velocity=100, time=0 if beat == 0 else 96 - off))
            tr.append(mido.Message("note_off", channel=9, note=36, time=off))
        tr.append(mido.MetaMessage("end_of_track", time=end_tick - 4 * 96))
        return mid
    assert P.from_midi(kicks(2 * 384)).bars == 2           # a one-bar break after the groove
    assert P.from_midi(kicks(384 + 5, off=15)).bars == 1   # a note-off just past the bar line adds none
    assert P.from_midi(kicks(3 * 384)).tracks[0].hits[:16] == (100, 0, 0, 0) * 4
    song = kicks(384)                                      # a one-bar drum loop beside a four-bar bass line
    song.type = 1
    bass = mido.MidiTrack([mido.Message("note_on", channel=0, note=40, velocity=90, time=0),
                           mido.Message("note_off", channel=0, note=40, time=4 * 384),
                           mido.MetaMessage("end_of_track", time=0)])
    song.tracks.append(bass)
    assert P.from_midi(song).bars == 1                      # the drums loop; the bass line is not theirs
    clip = kicks(384)                                       # a conductor track (tempo, no notes) sets a 2-bar clip
    clip.type = 1
    clip.tracks.insert(0, mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000, time=0),
                                          mido.MetaMessage("end_of_track", time=2 * 384)]))
    assert P.from_midi(clip).bars == 2
    held = kicks(384)                                       # a crash on the one, held to the end of a 2-bar clip
    tr = held.tracks[0]
    tr.insert(0, mido.Message("note_on", channel=9, note=49, velocity=90, time=0))
    tr[-1] = mido.Message("note_off", channel=9, note=49, time=2 * 384 - (3 * 96 + 10))   # off on the bar line
    tr.append(mido.MetaMessage("end_of_track", time=0))
    assert P.from_midi(held).bars == 2


def test_a_midi_file_plays_at_its_own_tempo():
    """A file whose tempo a DAW changed after Drummy wrote it plays at the new tempo,
    not at the one in Drummy's own settings text."""
    mid = mido.MidiFile(file=io.BytesIO(P.midi_bytes(P.builtin("house"), bpm=140)))
    assert P.from_midi(mid).bpm == 140.0
    for tr in mid.tracks:
        for i, m in enumerate(tr):
            if m.type == "set_tempo":
                tr[i] = m.copy(tempo=mido.bpm2tempo(100))
    assert P.from_midi(mid).bpm == 100.0


def test_a_midi_file_timed_in_smpte_frames_is_refused():
    mid = mido.MidiFile(type=0, ticks_per_beat=-6360)          # 0xE728: 25 fps, 40 ticks a frame
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr.append(mido.Message("note_on", channel=9, note=36, velocity=100, time=0))
    tr.append(mido.Message("note_on", channel=9, note=38, velocity=100, time=400))
    buf = io.BytesIO()
    mid.save(file=buf)
    with pytest.raises(PatternError, match="SMPTE"):
        P.from_midi(mido.MidiFile(file=io.BytesIO(buf.getvalue())))
    zero = bytearray(buf.getvalue())
    zero[12:14] = b"\x00\x00"                                      # a division of 0: no timing at all, not SMPTE
    with pytest.raises(PatternError, match="gives 0 ticks a beat, which times nothing"):
        P.from_midi(mido.MidiFile(file=io.BytesIO(bytes(zero))))


def test_midi_out_is_general_midi_on_channel_10():
    p = P.builtin("house")
    mid = mido.MidiFile(file=io.BytesIO(P.midi_bytes(p, bars=2)))
    ons = [m for tr in mid.tracks for m in tr if m.type == "note_on" and m.velocity]
    assert {m.channel for m in ons} == {9}
    assert {m.note for m in ons} == {36, 39, 42, 46}
    assert len(ons) == 2 * sum(v > 0 for t in p.tracks for v in t.hits)
    tempo = next(m.tempo for m in mid.tracks[0] if m.type == "set_tempo")
    assert round(mido.tempo2bpm(tempo), 3) == 124


def test_general_midi_drum_file_maps_notes_to_tracks():
    mid = mido.MidiFile(type=0, ticks_per_beat=96)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(100)))
    # (16th index, note, velocity); 16th = 24 ticks at 96 ppq
    hits = [(0, 36, 120), (8, 35, 90), (4, 38, 110), (12, 40, 80), (12, 39, 70), (0, 42, 60), (2, 44, 61),
            (6, 46, 62), (14, 41, 50), (15, 45, 51), (0, 49, 100), (10, 51, 40), (3, 56, 30)]
    events = []
    for step, note, vel in hits:
        events += [(step * 24, mido.Message("note_on", channel=9, note=note, velocity=vel)),
                   (step * 24 + 10, mido.Message("note_off", channel=9, note=note))]
    events.append((5 * 24, mido.Message("note_on", channel=0, note=60, velocity=100)))  # a melody note: ignored
    now = 0
    for tick, msg in sorted(events, key=lambda e: e[0]):
        tr.append(msg.copy(time=tick - now))
        now = tick
    p = P.from_midi(mid, "groove")
    tracks = {t.name: t for t in p.tracks}
    # one track per type, but for the notes a drummer keeps apart (pedal hat, each tom, crash, ride, cowbell,
    # the second snare: GMRockKit's rimshot on 40 played half the hits of a MIDI file's snare on 38)
    assert [t.name for t in p.tracks] == ["kick", "snare", "snare 2", "clap", "hihat", "pedal hat", "open hat",
                                          "floor tom", "low tom", "crash", "ride", "cowbell"]
    assert p.steps == 16 and p.bars == 1 and p.bpm == 100 and p.name == "groove"
    nz = {name: {i: v for i, v in enumerate(t.hits) if v} for name, t in tracks.items()}
    assert nz["kick"] == {0: 120, 8: 90}
    assert nz["snare"] == {4: 110} and nz["snare 2"] == {12: 80}
    assert nz["clap"] == {12: 70}
    assert nz["hihat"] == {0: 60} and nz["pedal hat"] == {2: 61} and nz["open hat"] == {6: 62}
    assert nz["floor tom"] == {14: 50} and nz["low tom"] == {15: 51}
    assert nz["crash"] == {0: 100} and nz["ride"] == {10: 40} and nz["cowbell"] == {3: 30}
    types = {name: t.drum_type for name, t in tracks.items()}
    assert types["pedal hat"] == "hihat" and types["floor tom"] == types["low tom"] == "tom"
    assert types["crash"] == types["ride"] == "cymbal" and types["cowbell"] == "perc"
    assert tracks["kick"].drum_type == "kick" and tracks["hihat"].choke == tracks["pedal hat"].choke == "hat"
    # and each of those comes back out on its own note
    out = P.from_midi(P.to_midi(p))
    notes = {t.name: t.note for t in out.tracks}
    assert notes["crash"] == 49 and notes["ride"] == 51 and notes["pedal hat"] == 44 and notes["floor tom"] == 41
    assert notes["kick"] == 36 and notes["snare"] == 38 and notes["snare 2"] == 40 and out == p


def test_midi_triplets_are_read_on_a_12_step_grid():
    mid = mido.MidiFile(type=0, ticks_per_beat=480)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    now = 0
    for k in range(12):                               # every 8th-note triplet of one bar: 160 ticks apart
        tr.append(mido.Message("note_on", channel=9, note=42, velocity=100, time=k * 160 - now))
        tr.append(mido.Message("note_off", channel=9, note=42, time=40))
        now = k * 160 + 40
    p = P.from_midi(mid)
    assert p.steps == 12 and p.tracks[0].hits == (100,) * 12


def _midi(events, ppq=96, meta=()):
    """A type-0 file of (tick, message) events."""
    mid = mido.MidiFile(type=0, ticks_per_beat=ppq)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    now = 0
    for tick, msg in sorted([*((0, m) for m in meta), *events], key=lambda e: e[0]):
        tr.append(msg.copy(time=tick - now))
        now = tick
    tr.append(mido.MetaMessage("end_of_track", time=0))       # where a DAW ends it: at the last event
    return mid


def hit(tick, note, length=10, channel=9, vel=100):
    return [(tick, mido.Message("note_on", channel=channel, note=note, velocity=vel)),
            (tick + length, mido.Message("note_off", channel=channel, note=note))]


def test_what_reading_a_daw_midi_file_leaves_out_or_assumes_is_said():
    # 16th = 24 ticks at 96 ppq; bar = 384
    groove = [e for k in range(8) for e in hit(k * 48, 36 if k % 4 == 0 else 42)]
    p = P.from_midi(_midi(groove))
    assert p.remarks == () and p.bars == 1
    odd = groove + hit(24, 22) + hit(72, 26) + hit(96, 60, channel=0)            # EZdrummer hat keys, a piano note
    odd += [(200, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(140)))]
    p = P.from_midi(_midi(odd, meta=[mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(90)),
                                     mido.MetaMessage("time_signature", numerator=7, denominator=8)]))
    said = " | ".join(p.remarks)
    assert "2 notes on keys outside the General MIDI drum map (22, 26) left out" in said
    assert "1 note on channel 1 left out" in said and "changes tempo (2 tempos)" in said
    assert "read in 4/4; the file says 7/8" in said and p.bpm == 90
    cut = P.from_midi(_midi(groove, meta=[mido.MetaMessage("time_signature", numerator=2, denominator=2)]))
    assert cut.remarks == ()                                                     # 2/2: a 4/4 bar's length
    elsewhere = [(t, m.copy(channel=0)) for t, m in groove] + hit(0, 40, channel=1)   # drums on channel 1, bass on 2
    assert "no notes on channel 10 (General MIDI drums): read channels 1, 2 as drums" in P.from_midi(_midi(elsewhere)).remarks[0]


@pytest.mark.parametrize("late", [19, 30, 40, 45, 50, 60])       # 60: swing 75, where off-beats sit on straight 32nds
def test_a_swung_take_is_read_with_its_swing(late):
    # a DAW's swung 16ths (480 PPQ: a step is 120 ticks) were snapped straight without a word
    hats = [e for k in range(16) for e in hit(k * 120 + late * (k % 2), 42)]
    kicks = [e for k in range(0, 16, 4) for e in hit(k * 120, 36)]
    p = P.from_midi(_midi(hats + kicks, ppq=480))
    assert p.steps == 16 and p.swing == pytest.approx(50 + 50 * late / 120, abs=0.25)
    assert {t.name: sum(map(bool, t.hits)) for t in p.tracks} == {"kick": 4, "hihat": 16} and p.bars == 1
    assert "played with swing" in " ".join(p.remarks) and "moved onto" not in " ".join(p.remarks)
    back = P.from_midi(P.to_midi(p))                          # written back on the swung grid it was played on
    played = sorted(t for t, m in hats if m.type == "note_on")
    hh = next(tr for tr in P.to_midi(p).tracks if any(m.type == "track_name" and m.name == "hihat" for m in tr))
    ticks = np.cumsum([m.time for m in hh])[[m.type == "note_on" for m in hh]]
    assert back == p and np.abs(ticks - played).max() <= 1


@pytest.mark.parametrize("take", ["humanised", "recorded late", "sparse"])
def test_swing_is_read_from_loose_late_and_sparse_takes(take):
    rng = np.random.default_rng(1)
    steps = range(16) if take != "sparse" else [0, 2, 4, 6, 7, 8, 10, 12, 14, 15]     # two off-beats in the bar
    jitter = (lambda: int(rng.normal(0, 8))) if take == "humanised" else (lambda: 0)
    shift = 7 if take == "recorded late" else 0                                     # latency: all 7 ticks late
    bars = 8 if take == "humanised" else 1
    hats = [e for b in range(bars) for k in steps for e in hit(max(b * 1920 + k * 120 + 40 * (k % 2) + shift + jitter(), 0), 42)]
    p = P.from_midi(_midi(hats + hit(shift, 36), ppq=480))
    assert p.steps == 16 and abs(p.swing - 66.7) <= 1.0, p.remarks


def test_what_a_drum_track_is_read_as_and_where_a_take_ends_are_said_right():
    # FL Studio exports each channel of its rack on C5, General MIDI's high bongo: the track names say the drums
    fl = mido.MidiFile(type=1, ticks_per_beat=96)
    for name, steps in (("Kick", [0, 8]), ("Snare", [4, 12]), ("Hat", range(0, 16, 2))):
        fl.tracks.append(mido.MidiTrack([mido.MetaMessage("track_name", name=name)]))
        now = 0
        for k in steps:
            fl.tracks[-1] += [mido.Message("note_on", channel=0, note=60, velocity=100, time=k * 24 - now),
                              mido.Message("note_off", channel=0, note=60, time=10)]
            now = k * 24 + 10
    p = P.from_midi(fl)
    assert {t.name: (t.drum_type, t.note) for t in p.tracks} == {"kick": ("kick", 36), "snare": ("snare", 38),
                                                                "hihat": ("hihat", 42)}
    assert any("read by their names" in r for r in p.remarks)
    # a crash played just before the bar line of bar 3 is in bar 3: no "empty bar" after the last hit
    groove = [e for k in range(32) for e in hit(k * 120, 42)] + hit(3840 - 10, 49) + hit(3840 + 480, 42)
    p = P.from_midi(_midi(groove, ppq=480))
    assert p.bars == 3 and not any("empty bar" in r for r in p.remarks)
    # 8th-note swing cannot be played: said; a 12-step take has no swing
    eighths = [e for k in range(16) for e in hit(k * 240 + 40 * (k % 2), 42)]
    assert any("8th-note swing" in r for r in P.from_midi(_midi(eighths, ppq=480)).remarks)
    shuffle = [e for k in range(24) for e in hit(k * 160 + 20 * (k % 2), 42)]            # 12 a bar, every other late
    assert P.from_midi(_midi(shuffle, ppq=480)).swing == 50


def test_loosely_played_straight_16ths_are_not_read_as_swung_32nds():
    # a reviewer's take (2 bars of hats, about 16 ms loose) was read as 32nds swung 75 %: 9 hats 31 ms early
    ticks = [8, 95, 252, 355, 474, 601, 715, 861, 948, 1060, 1187, 1322, 1405, 1542, 1660, 1764, 1915, 2033, 2164,
             2278, 2383, 2506, 2654, 2745, 2891, 3003, 3111, 3241, 3347, 3497, 3574, 3718]
    p = P.from_midi(_midi([e for t in ticks for e in hit(t, 42)] + hit(0, 36), ppq=480))
    assert (p.steps, p.swing) == (16, 50.0)
    rng = np.random.default_rng(3)
    for _ in range(50):
        hats = [e for k in range(32) for e in hit(max(k * 120 + int(rng.normal(0, 16)), 0), 42)]
        p = P.from_midi(_midi(hats + hit(0, 36), ppq=480))
        assert not (p.steps == 32 and p.swing > 50), p.remarks


def test_a_track_is_read_by_its_name_only_off_the_kits_own_keys():
    def track(name, note, steps=(0, 4, 8, 12)):
        tr = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
        now = 0
        for k in steps:
            tr += [mido.Message("note_on", channel=9, note=note, velocity=100, time=k * 24 - now),
                   mido.Message("note_off", channel=9, note=note, time=10)]
            now = k * 24 + 10
        return tr
    gm = mido.MidiFile(type=1, ticks_per_beat=96)
    gm.tracks += [track("Hat", 46), track("Snare", 37), track("Perc", 60)]       # a GM track's keys are its own
    assert {(t.drum_type, t.note) for t in P.from_midi(gm).tracks} == {("open hat", 46), ("perc", 37), ("perc", 60)}
    fl = mido.MidiFile(type=1, ticks_per_beat=96)                                # FL Studio: every channel on C5
    fl.tracks += [track(n, 60, (i,)) for i, n in enumerate(["Ride", "Tom Hi", "Tom Low", "Pedal Hat", "Shaker"])]
    got = {t.name: t.note for t in P.from_midi(fl).tracks}
    assert got == {"ride": 51, "high tom": 50, "low tom": 45, "pedal hat": 44, "shaker": 70}


def test_a_triplet_fill_in_a_straight_groove_is_no_swing():
    hats = [e for k in range(0, 16, 2) for e in hit(k * 120, 42)]                      # straight 8ths
    fill = [e for k in range(12) for e in hit(960 + k * 80, 38)]                       # 16th triplets, beats 3-4
    p = P.from_midi(_midi(hats + fill + hit(0, 36), ppq=480))
    assert p.swing == 50 and not any("swing" in r for r in p.remarks)


def test_a_played_take_is_quantised_and_said_so_but_not_read_as_swing():
    rng = np.random.default_rng(0)
    hats = [e for k in range(16) for e in hit(max(k * 120 + int(rng.integers(-25, 26)), 0), 42)]
    p = P.from_midi(_midi(hats + hit(0, 36), ppq=480))
    assert p.swing == 50 and sum(map(bool, next(t for t in p.tracks if t.name == "hihat").hits)) == 16
    assert any(r.endswith("moved onto it") and "off the 16-step grid" in r for r in p.remarks)
    # a note on a key it leaves out is said to be left out, not moved
    said = P.from_midi(_midi(hit(0, 36) + hit(480, 38) + hit(250, 22), ppq=480)).remarks
    assert not any("moved onto it" in r for r in said) and any("left out" in r for r in said)


def test_a_32nd_note_roll_keeps_its_notes_and_a_long_last_note_adds_no_bar():
    hats = [e for k in range(16) for e in hit(k * 24, 42)]
    roll = [e for k in range(4) for e in hit(312 + k * 12, 38)]                   # 32nds in beat 4
    p = P.from_midi(_midi(hats + roll))
    assert p.steps == 32 and sum(v > 0 for t in p.tracks if t.name == "snare" for v in t.hits) == 4
    assert p.remarks == ()
    quarter = [e for k in range(8) for e in hit(k * 96, 36, length=96)]          # 2 bars of quarter-note kicks
    p = P.from_midi(_midi(quarter))
    assert p.bars == 2                                                            # the last note-off ends on the bar line
    late = [e for k in range(8) for e in hit(k * 96 + 24, 36, length=96)]        # ... or 3 steps past it
    assert P.from_midi(_midi(late)).bars == 2


def test_a_tracks_type_is_read_as_its_name_would_be():
    p = P.parse('[tracks]\na = { grid = "x...............", type = "Snare" }\nb = { grid = "x...............", type = "hh" }')
    assert [t.drum_type for t in p.tracks] == ["snare", "hihat"]
    with pytest.raises(PatternError, match="type '808' is not a drum type"):
        P.parse('[tracks]\na = { grid = "x...............", type = "808" }')


def test_a_bar_mark_in_the_wrong_place_is_an_error_not_a_shifted_bar():
    # "x...x...x...x.... | x...x...x...x.." (17 + 15 steps) played bar 2's kicks a 16th late, without a word
    with pytest.raises(PatternError, match=r"the parts between its \| marks have 17, 15 steps"):
        P.parse_grid("x...x...x...x.... | x...x...x...x..", 16)
    for fine in ("x...x...x...x... | x...x...x...x...", "x... | x... | x... | x...", "x...x...x...x...|",
                 "x...x...x...x... | x...x...x...x...x...x...x...x..."):          # bars, beats, a bar then two
        assert len(P.parse_grid(fine, 16)) % 16 == 0


def test_midi_out_writes_the_drum_a_beat_plays_for_a_tracks_name():
    # the render read "ht", "mt", "ft" as high, mid and floor toms; --midi-out put all three on the low tom
    from drummy.sequencer import track_note
    names = {"ht": "tom", "mt": "tom", "ft": "tom", "tom hi": "tom", "tamb": "perc", "ride bell": "cymbal",
             "rs": "perc", "cross stick": "perc", "foot hat": "hihat", "hi conga": "perc", "ride": "cymbal"}
    for name, dtype in names.items():
        p = P.parse(f'[tracks]\n"{name}" = {{ grid = "x...............", type = "{dtype}" }}')
        assert p.tracks[0].note == track_note(p.tracks[0]), name


def test_read_and_write_midi_files(tmp_path):
    p = P.builtin("trap")
    path = P.write_midi(tmp_path / "beat.mid", p, bars=4)
    assert P.load(path) == p
    uni = P.parse('name = "été ☃"\n[tracks]\n"☃ kick" = "x..............."')      # names in any script
    assert P.load(P.write_midi(tmp_path / "uni.mid", uni, bars=1)) == uni
    (tmp_path / "bom.toml").write_bytes(b"\xef\xbb\xbf[tracks]\nkick = \"x...x...x...x...\"\n")   # as Notepad saves
    assert P.load(tmp_path / "bom.toml").tracks[0].hits[:5] == (100, 0, 0, 0, 100)
    (tmp_path / "latin.toml").write_bytes('[tracks]\n"caj\xf3n" = { grid = "x...............", type = "perc" }'.encode("latin-1"))
    with pytest.raises(PatternError, match="not UTF-8"):
        P.load(tmp_path / "latin.toml")
    (tmp_path / "bad.mid").write_bytes(b"not midi")
    with pytest.raises(PatternError, match="bad.mid"):
        P.load(tmp_path / "bad.mid")


def _bytes(mid: mido.MidiFile) -> bytes:
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def test_a_key_signature_mido_cannot_decode_is_read_as_no_key(tmp_path):
    """DAWs write modes and key counts mido refuses (mido issues 105, 235); drums have no key."""
    groove = [e for k in range(8) for e in hit(k * 48, 36 if k % 4 == 0 else 42)]
    data = _bytes(_midi(groove, meta=[mido.MetaMessage("key_signature", key="C")]))
    i = data.index(b"\xff\x59\x02")
    (tmp_path / "daw.mid").write_bytes(data[:i + 3] + b"\x08\x02" + data[i + 5:])     # 8 sharps, mode 2
    p = P.load(tmp_path / "daw.mid")
    assert p.bars == 1 and {t.name for t in p.tracks} == {"kick", "hihat"}
    assert not P.is_ours(tmp_path / "daw.mid")                                         # no traceback there either


def test_chunks_of_other_kinds_are_skipped_and_a_riff_midi_file_is_read(tmp_path):
    # the MIDI spec has readers skip unknown chunks; a Yamaha XF "XFIH" chunk before the track was refused
    groove = [e for k in range(8) for e in hit(k * 48, 36 if k % 4 == 0 else 42)]
    data = _bytes(_midi(groove))
    want = P.from_midi(_midi(groove), "x")
    xf = b"XFIH" + (6).to_bytes(4, "big") + b"\x00" * 6
    (tmp_path / "xf.mid").write_bytes(data[:14] + xf + data[14:] + b"XFKM" + (3).to_bytes(4, "big") + b"abc")
    riff = b"RMID" + b"INFO" + (3).to_bytes(4, "little") + b"abc\x00" + b"data" + len(data).to_bytes(4, "little") + data
    (tmp_path / "win.rmi").write_bytes(b"RIFF" + len(riff).to_bytes(4, "little") + riff)
    for f in ("xf.mid", "win.rmi"):
        got = P.load(tmp_path / f)
        assert dataclasses.replace(got, name="x") == want


def test_a_conductor_track_ending_with_the_songs_last_release_adds_no_bar():
    """A 2-bar groove whose last note is held a quarter note past the bar line; DAWs end
    every track there, the conductor track included (it was read as 3 bars: a silent one)."""
    groove = [e for k in range(8) for e in hit(k * 96, 36 if k % 2 == 0 else 38, length=96 + 48)]
    song = _midi(groove)
    end = 7 * 96 + 96 + 48
    song.type = 1
    song.tracks.insert(0, mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(100), time=0),
                                          mido.MetaMessage("end_of_track", time=end)]))
    assert P.from_midi(song).bars == 2


def test_the_tempo_is_the_one_the_file_starts_at():
    groove = [e for k in range(8) for e in hit(k * 48, 36 if k % 4 == 0 else 42)]
    two = P.from_midi(_midi(groove, meta=[mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120)),
                                          mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(95))]))
    assert two.bpm == 95 and "keeps the one it starts at (95 bpm)" in two.remarks[0]     # the last at tick 0 plays
    late = P.from_midi(_midi(groove + [(2 * 384, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(90)))]))
    assert late.bpm == 120 and "keeps the one it starts at (120 bpm)" in late.remarks[0]  # MIDI's 120 until then
    zero = P.from_midi(_midi(groove, meta=[mido.MetaMessage("set_tempo", tempo=0),
                                           mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(95))]))
    assert zero.bpm == 95 and "1 tempo event of 0 microseconds a beat (damaged) left out" in zero.remarks


def test_a_damaged_delta_time_is_a_clear_error_not_gigabytes():
    groove = [e for k in range(8) for e in hit(k * 48, 36)] + hit(2 ** 27, 36)          # hours later
    with pytest.raises(PatternError, match=r"bars long \(a damaged file\?\)"):
        P.from_midi(_midi(groove))
    # at 1 tick a beat, the grid guessed from the notes was an array of 2^28 steps: 8 GiB, a MemoryError
    coarse = [e for k in range(8) for e in hit(k, 36, length=1)] + hit(2 ** 28 - 1, 36, length=1)
    with pytest.raises(PatternError, match=r"bars long \(a damaged file\?\)"):
        P.from_midi(_midi(coarse, ppq=1))


def test_a_songs_other_tracks_on_channel_1_are_not_drums_and_empty_bars_are_said():
    drums = mido.MidiTrack([mido.MetaMessage("track_name", name="Drums")])
    bass = mido.MidiTrack([mido.MetaMessage("track_name", name="Bass")])
    kick = mido.MidiTrack([mido.MetaMessage("track_name", name="Bass Drum")])
    for tr, note, at in ((drums, 38, 96), (bass, 40, 0), (kick, 36, 0)):
        for k in range(2):
            tr.append(mido.Message("note_on", channel=0, note=note, velocity=100, time=at if k == 0 else 182))
            tr.append(mido.Message("note_off", channel=0, note=note, time=10))
    song = mido.MidiFile(type=1, ticks_per_beat=96, tracks=[drums, bass, kick])
    p = P.from_midi(song)
    assert {t.name for t in p.tracks} == {"kick", "snare"}                  # the bass's E1 is no floor tom
    assert p.remarks == ("no notes on channel 10 (General MIDI drums): left out track 'Bass', whose name says it "
                         "holds no drums",)
    at_bar_5 = _midi([(t + 4 * 384, m) for t, m in hit(0, 36) + hit(192, 38)])     # a clip exported where it sits
    assert "the first hit is in bar 5: the 4 empty bars before it are part of the loop" in P.from_midi(at_bar_5).remarks[0]
    # drums that stop two bars into an eight-bar song played six silent bars without a word
    early = _midi([(t + b * 384, m) for b in range(2) for t, m in hit(0, 36) + hit(192, 38)]
                  + [(8 * 384, mido.MetaMessage("marker", text="end of song"))])
    p = P.from_midi(early)
    assert p.bars == 8 and p.remarks == ("the last hit is in bar 2 of 8: the 6 empty bars after it are part of the "
                                         "loop (trim the clip to leave them out)",)


def test_a_track_of_rests_is_kept_and_said():
    p = P.parse('[tracks]\nkick = "x...x...x...x..."\nclap = "................"\n')
    assert [t.name for t in p.tracks] == ["kick", "clap"] and p.remarks == ("track 'clap' is rests only: it plays nothing",)


def test_a_drum_track_named_like_an_instrument_comes_back_from_our_own_midi():
    p = P.Pattern("x", (P.Track("synth hit", "perc", (100, 0) * 8, note=39), P.Track("kick", "kick", (100, 0, 0, 0) * 4)))
    assert _midi_round_trip(p) == p                               # on channel 10: never a song's other part
    tr = mido.MidiTrack([mido.MetaMessage("track_name", name="Synth Drums"),
                         mido.Message("note_on", channel=0, note=36, velocity=100, time=0),
                         mido.Message("note_off", channel=0, note=36, time=10)])
    bass = mido.MidiTrack([mido.MetaMessage("track_name", name="Bass"),
                           mido.Message("note_on", channel=0, note=40, velocity=100, time=0),
                           mido.Message("note_off", channel=0, note=40, time=10)])
    q = P.from_midi(mido.MidiFile(type=1, ticks_per_beat=96, tracks=[tr, bass]))
    assert [t.name for t in q.tracks] == ["kick"]
    with pytest.raises(PatternError, match="no drums in the MIDI file: .* track 'Bass' is named for another"):
        P.from_midi(mido.MidiFile(type=1, ticks_per_beat=96, tracks=[bass]))     # a bass line alone: no bongos
