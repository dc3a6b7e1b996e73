import re
import pytest
import numpy as np

from drummy import kits
from drummy.kits import KitError, read_hydrogen, read_sfz

HYDROGEN = """<?xml version="1.0" encoding="UTF-8"?>
<drumkit_info xmlns="http://www.hydrogen-music.org/drumkit">
 <name>Test Kit</name>
 <instrumentList>
  <instrument><id>0</id><name>Kick Hard</name><midiOutNote>36</midiOutNote>
   <layer><filename>tom-0105.wav</filename><min>0</min><max>0.5</max></layer>
   <layer><filename>tom-0106.wav</filename><min>0.5</min><max>1</max></layer>
   <layer><filename>kick-upside-down.wav</filename><min>0.9</min><max>0.1</max></layer>
  </instrument>
  <instrument><id>1</id><name>Hi Hat Closed</name>
   <instrumentComponent><layer><filename>sub/hh.flac</filename></layer></instrumentComponent>
  </instrument>
  <instrument><id>2</id><name>Open HH</name><filename>oh.wav</filename></instrument>
  <instrument><id>3</id><name>17</name></instrument>
  <instrument><id>4</id><name>Pedal HH</name>
   <layer><filename>hihat-closed-2.flac</filename></layer><layer><filename>hihat-open-1.flac</filename></layer>
  </instrument>
 </instrumentList>
</drumkit_info>
"""


def test_hydrogen_kit_labels_from_instrument_names(tmp_path):
    (tmp_path / "drumkit.xml").write_text(HYDROGEN)
    got = read_hydrogen(tmp_path / "drumkit.xml")
    assert [(s.path.name, s.drum_type) for s in got] == [
        ("tom-0105.wav", "kick"), ("tom-0106.wav", "kick"), ("kick-upside-down.wav", "kick"),  # the instrument name beats the file name
        ("hh.flac", "hihat"), ("oh.wav", "open hat"),
        # ...but within the hat family an open layer is an open hat
        ("hihat-closed-2.flac", "hihat"), ("hihat-open-1.flac", "open hat")]
    assert got[0].path == tmp_path / "tom-0105.wav"
    assert got[0].kit == "Test Kit" and "test kit" in got[0].tags and "hard" in got[0].tags
    machine = HYDROGEN.replace("<name>Test Kit</name>", "<name>TR808EmulationKit</name>", 1)
    assert machine != HYDROGEN
    (tmp_path / "drumkit.xml").write_text(machine)            # Debian's TR-808 kit: `kick+808` found no 808
    assert read_hydrogen(tmp_path / "drumkit.xml")[0].tags[:2] == ["808 emulation kit", "808"]
    # one instrument's note is no GM layout (most kits leave every note at Hydrogen's default, 60): no note
    assert got[0].note is None
    # velocity layers: the kick's two halves; a layer spanning every velocity (or none given) is no layer;
    # min > max holds no velocity (Hydrogen never plays it), so it stays a layer, not one for every velocity
    assert [s.velocity for s in got] == [(0.0, 0.5), (0.5, 1.0), (0.9, 0.1), None, None, None, None]
    from drummy.kits import layer_gap
    assert all(layer_gap((0.9, 0.1), v) > 0 for v in (0.0, 0.1, 0.5, 0.9, 1.0))


def _gm_kit(notes: dict[str, int]) -> str:
    insts = "".join(f"<instrument><id>{i}</id><name>{name}</name><midiOutNote>{n}</midiOutNote>"
                    f"<layer><filename>{i}.wav</filename></layer></instrument>" for i, (name, n) in enumerate(notes.items()))
    return f'<drumkit_info><name>GM</name><instrumentList>{insts}</instrumentList></drumkit_info>'


def test_hydrogen_kit_laid_out_as_gm_types_unnamed_instruments_by_note(tmp_path):
    named = {"Kick": 36, "Snare": 38, "Closed HH": 42, "Open HH": 46, "Crash": 49}
    (tmp_path / "drumkit.xml").write_text(_gm_kit({**named, "Bell": 53, "Thing": 56}))
    types = {s.instrument: s.drum_type for s in read_hydrogen(tmp_path / "drumkit.xml")}
    assert types == {"Kick": "kick", "Snare": "snare", "Closed HH": "hihat", "Open HH": "open hat",
                     "Crash": "cymbal", "Bell": "cymbal", "Thing": "perc"}
    # every note left at Hydrogen's default (60) is no map; nor are notes that disagree with the names
    (tmp_path / "drumkit.xml").write_text(_gm_kit({**{k: 60 for k in named}, "Bell": 60}))
    assert {s.instrument: s.drum_type for s in read_hydrogen(tmp_path / "drumkit.xml")}["Bell"] == "unknown"
    (tmp_path / "drumkit.xml").write_text(_gm_kit({**dict(zip(named, (40, 41, 43, 45, 47))), "Bell": 53}))
    assert {s.instrument: s.drum_type for s in read_hydrogen(tmp_path / "drumkit.xml")}["Bell"] == "unknown"


def test_a_kits_name_is_its_first_tag_and_its_audio_folder_adds_no_other(tmp_path):
    (tmp_path / "my-kit").mkdir()
    (tmp_path / "My Kit.sfz").write_text("<region> sample=my-kit/snare-808-01.wav key=38\n")
    (s,) = read_sfz(tmp_path / "My Kit.sfz")
    assert (s.drum_type, s.tags) == ("snare", ["my kit", "808"])


def test_hydrogen_broken_xml_is_a_clear_error(tmp_path):
    (tmp_path / "drumkit.xml").write_text("<drumkit_info><name>oops")
    with pytest.raises(KitError, match="drumkit.xml"):
        read_hydrogen(tmp_path / "drumkit.xml")


SFZ = """// a GM-mapped kit
<control> default_path=samples/
<global> volume=0
<group> group_label=kicks
<region> sample=Deep One.wav key=36 lovel=0 hivel=127
<region> sample=other.wav key=c1
<group>
<region> key=42 sample=closed hat.wav
<region>sample=mystery snare.wav lokey=60 hikey=60
<region> sample=noname.wav
"""


def test_sfz_defines_includes_block_comments_and_generators(tmp_path):
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "hats.sfz").write_text('<region> sample=$DIR/hh.wav key=42\n#include "parts/oh.sfz"\n')
    (tmp_path / "parts" / "oh.sfz").write_text("<region> sample=$DIR/oh.wav key=46\n")   # found from the top file
    (tmp_path / "kit.sfz").write_text("""#define $DIR samples
#define $DIRX elsewhere
<region> sample=$DIR/a.wav key=38
/* <region> sample=not_here.wav key=36
   <region> sample=nor_here.wav key=36 */
<region> sample=$DIRX/b.wav key=36 <region> sample=*sine key=60
#define $PARTS parts
#include "$PARTS/hats.sfz"
""")
    got = read_sfz(tmp_path / "kit.sfz")
    assert [(str(s.path.relative_to(tmp_path)), s.drum_type) for s in got] == [
        ("samples/a.wav", "snare"), ("elsewhere/b.wav", "kick"), ("samples/hh.wav", "hihat"), ("samples/oh.wav", "open hat")]   # paths: from the main file


def test_sfz_directives_anywhere_on_a_line(tmp_path):
    # as real kits write them (DrumGizmo DRSKit, Naked Drums): two defines on a line, a define naming
    # another, an include after a header and two on a line; a player reads them all
    (tmp_path / "Data").mkdir()
    (tmp_path / "Data" / "macro.txt").write_text("#define $LO 1        #define $HI 63\n#define $SOFT $DIR/kick_soft\n")
    (tmp_path / "Data" / "kick.txt").write_text("<region> sample=$SOFT.wav lovel=$LO hivel=$HI\n"
                                                "<region> sample=$DIR/kick_hard.wav lovel=64\n")
    (tmp_path / "Data" / "snare.txt").write_text("<region> sample=$DIR/snare.wav\n")
    (tmp_path / "kit.sfz").write_text('#define $DIR samples\n#include "Data/macro.txt" #include "Data/keys.txt"\n'
                                      '<group> key=36 #include "Data/kick.txt"\n<group> key=38\n#include "Data/snare.txt"\n')
    (tmp_path / "Data" / "keys.txt").write_text("// nothing but a comment\n")
    got = [(str(s.path.relative_to(tmp_path)), s.drum_type, s.velocity) for s in read_sfz(tmp_path / "kit.sfz")]
    assert got == [("samples/kick_soft.wav", "kick", (0.0, 63 / 127)), ("samples/kick_hard.wav", "kick", (64 / 127, 1.0)),
                   ("samples/snare.wav", "snare", None)]
    # a part that is not there: the rest of the kit, and the part named (sfizz plays the rest too)
    (tmp_path / "Data" / "snare.txt").unlink()
    skipped = []
    assert [s.path.name for s in read_sfz(tmp_path / "kit.sfz", skipped)] == ["kick_soft.wav", "kick_hard.wav"]
    assert [(p.endswith("snare.txt"), "not there" in why) for p, why in skipped] == [(True, True)]
    with pytest.raises(KitError, match="snare.txt is not there"):
        read_sfz(tmp_path / "kit.sfz")


def test_sfz_regions_labelled_from_gm_keys(tmp_path):
    (tmp_path / "kit.sfz").write_text(SFZ)
    got = read_sfz(tmp_path / "kit.sfz")
    assert [(s.path.name, s.drum_type, s.note) for s in got] == [
        ("Deep One.wav", "kick", 36), ("other.wav", "kick", 24),  # c1 = 24 (c4 = 60)
        ("closed hat.wav", "hihat", 42),
        ("mystery snare.wav", "snare", 60),  # a drum its name calls a snare on GM's hi bongo: the name wins
        ("noname.wav", "unknown", None)]
    assert got[0].path == tmp_path / "samples" / "Deep One.wav"
    assert got[0].kit == "kit" and "kit" in got[0].tags


def test_sfz_a_named_kit_drum_on_a_latin_percussion_key_keeps_its_name(tmp_path):
    # DrumGizmo DRSKit's keymap: a GM kit but for its hats on 56 (cowbell) and 58; a tom on 48 stays a tom,
    # a conga named only by its key stays perc, and a cowbell named so on a tom's key is a tom (the key decides)
    got = _sfz(tmp_path, "<region> key=36 sample=kick.wav\n<region> key=38 sample=snare.wav\n"
                         "<region> key=48 sample=tom1.wav\n<region> key=45 sample=tom2.wav\n<region> key=49 sample=crash.wav\n"
                         "<region> key=51 sample=ride.wav\n"
                         "<region> key=56 sample=Hihat_closed_1.wav\n<region> key=58 sample=Hihat_open_1.wav\n"
                         "<region> key=63 sample=hit.wav\n<region> key=47 sample=Cowbell.wav\n"
                         "<region> key=37 sample=Snare Side Stick.wav\n<region> key=54 sample=Hihat_Tambourine.wav\n")
    assert [r[:2] for r in got[-6:]] == [("Hihat_closed_1.wav", "hihat"), ("Hihat_open_1.wav", "open hat"),
                                         ("hit.wav", "perc"), ("Cowbell.wav", "tom"),
                                         ("Snare Side Stick.wav", "perc"), ("Hihat_Tambourine.wav", "perc")]   # strokes: the key's
    # GS's and GM2's own keys in a GM bank (the Discord GM bank): percussion, as a GS module plays them
    gs = _sfz(tmp_path, "<region> key=36 sample=kick.wav\n<region> key=38 sample=snare.wav\n<region> key=42 sample=hh.wav\n"
                        "<region> key=84 sample=BellTree_Stroke.wav\n<region> key=31 sample=Snare2_stick.wav\n"
                        "<region> key=87 sample=Room_Open_Vel1.wav\n", name="gs.sfz")
    assert [r[:2] for r in gs[3:]] == [("BellTree_Stroke.wav", "perc"), ("Snare2_stick.wav", "perc"), ("Room_Open_Vel1.wav", "perc")]


def test_sfz_velocity_layers_come_from_lovel_hivel_and_are_inherited(tmp_path):
    (tmp_path / "v.sfz").write_text("<group> key=38 lovel=0 hivel=63\n<region> sample=soft.wav\n"
                                    "<group> key=38\n<region> sample=loud.wav lovel=64\n<region> sample=any.wav\n"
                                    "<region> sample=one.wav lovel=1\n")
    assert [(s.path.name, s.velocity) for s in read_sfz(tmp_path / "v.sfz")] == [
        ("soft.wav", (0.0, 63 / 127)), ("loud.wav", (64 / 127, 1.0)), ("any.wav", None),
        ("one.wav", None)]                                           # lovel=1: velocity 0 is a note-off, so every one


def _sfz(tmp_path, text: str, name: str = "kit.sfz", bom: bool = False):
    (tmp_path / name).write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.replace("\n", "\r\n").encode())
    return [(s.path.name, s.drum_type, s.note, s.velocity, round(s.gain, 3)) for s in read_sfz(tmp_path / name)]


def test_sfz_read_as_players_read_it(tmp_path):
    # <master> opcodes reach the regions of its groups; a group's key= gives way to a region's lokey/hikey
    assert _sfz(tmp_path, "<master> key=38 volume=-6\n<group> lovel=1 hivel=63\n<region> sample=a.wav\n"
                          "<group> key=36\n<region> sample=b.wav\n<region> sample=c.wav lokey=42 hikey=42\n") == [
        ("a.wav", "snare", 38, (0.0, 63 / 127), 0.501), ("b.wav", "kick", 36, None, 0.501), ("c.wav", "hihat", 42, None, 0.501)]
    # pitch_keycenter sets pitch, not the key; <control>'s octave_offset and note_offset shift every key
    assert [r[1:3] for r in _sfz(tmp_path, "<control> octave_offset=-1 note_offset=0\n<global> pitch_keycenter=60\n"
                                           "<region> sample=k.wav lokey=48 hikey=48\n<region> sample=s.wav lokey=50 hikey=50\n")] \
        == [("kick", 36), ("snare", 38)]
    # a volume past SFZ 1's +6 dB, as sfizz plays it (Discord GM bank's tambourine layers at +26 and +16.5 dB)
    assert [r[4] for r in _sfz(tmp_path, "<region> sample=t1.wav key=54 volume=25.985359 lovel=64\n"
                                          "<region> sample=t2.wav key=54 volume=16.489954 hivel=63\n")] == [19.919, 6.676]
    # a BOM before a #define on the first line; sfizz's global_/group_volume add to volume
    assert _sfz(tmp_path, "#define $K 36\n<global> global_volume=-12\n<group> group_volume=-6\n<region> sample=x.wav key=$K\n",
                bom=True) == [("x.wav", "kick", 36, None, 0.126)]
    # what a player does not sound as a hit: a release noise, another articulation than the default, lovel > hivel
    assert [r[0] for r in _sfz(tmp_path, "<global> sw_default=24\n<region> sample=hat.wav key=42\n"
                                         "<region> sample=release.wav key=42 trigger=release\n"
                                         "<region> sample=center.wav key=38 sw_last=24\n<region> sample=rim.wav key=38 sw_last=25\n"
                                         "<region> sample=never.wav key=36 lovel=127 hivel=0\n")] == ["hat.wav", "center.wav"]
    # an open hat on the closed hat's key (a pedal controller picks it) is an open hat
    assert _sfz(tmp_path, "<region> sample=HatOpen-Med.wav key=42 locc4=64\n<region> sample=HatClosed.wav key=42 hicc4=63\n"
                          "<region> sample=kick.wav key=36\n")[0][1] == "open hat"


def test_sfz_keys_name_drums_only_in_a_kit_laid_out_as_gm(tmp_path):
    # one drum per white key from C3, and a snare on middle C: the names say what each is
    got = _sfz(tmp_path, "<region> sample=Kick.wav key=48\n<region> sample=SNARE.wav key=50\n"
                         "<region> sample=HatClosed.wav key=52\n<region> sample=HatOpen.wav key=53\n")
    assert [(n, t, note) for n, t, note, *_ in got] == [("Kick.wav", "kick", None), ("SNARE.wav", "snare", None),
                                                        ("HatClosed.wav", "hihat", None), ("HatOpen.wav", "open hat", None)]
    assert {r[1] for r in _sfz(tmp_path, "<region> sample=snare center v1.wav key=c4 hivel=90\n"
                                         "<region> sample=snare center v2.wav key=c4 lovel=91\n")} == {"snare"}


def test_one_file_a_kit_plays_in_two_layers_plays_in_both(tmp_path):
    from drummy import sequencer as S
    from conftest import kick, write
    write(tmp_path / "s.wav", kick(0))
    (tmp_path / "kit.sfz").write_text("<region> sample=s.wav key=38 hivel=63 volume=-12\n<region> sample=s.wav key=38 lovel=64\n")
    kit = S.load_kit(S.folder_samples(tmp_path / "kit.sfz"))
    assert len(kit["snare"]) == 2 and sorted(kit.layers["snare"]) == [(0.0, 63 / 127), (64 / 127, 1.0)]


def test_a_hydrogen_file_in_several_layers_plays_in_each_at_its_gain(tmp_path):
    # Hydrogen's own kit-0.9.3: Kick-Hard.wav in 4 layers at 4 gains. Read as one sample with the last
    # layer's range and the first's gain, its exported kick was silent under velocity 0.9
    from drummy import sequencer as S
    from conftest import kick, write
    write(tmp_path / "Kick-Hard.wav", kick(0))
    write(tmp_path / "Snare.wav", kick(1))
    layers = "".join(f"<layer><min>{lo}</min><max>{hi}</max><gain>{g}</gain><filename>Kick-Hard.wav</filename></layer>"
                     for lo, hi, g in [(0.9, 1, 3), (0.6, 0.9, 2.7), (0.3, 0.6, 2.4), (0, 0.3, 1.95)])
    (tmp_path / "drumkit.xml").write_text(f"<drumkit_info><name>kit-0.9.3</name><instrumentList><instrument><name>Kick</name>"
                                          f"{layers}</instrument><instrument><name>Snare</name><filename>Snare.wav</filename>"
                                          "</instrument></instrumentList></drumkit_info>")
    got = [(s.path.name, s.velocity, s.gain) for s in read_hydrogen(tmp_path / "drumkit.xml")]
    assert got == [("Kick-Hard.wav", (0.9, 1.0), 3.0), ("Kick-Hard.wav", (0.6, 0.9), 2.7), ("Kick-Hard.wav", (0.3, 0.6), 2.4),
                   ("Kick-Hard.wav", (0.0, 0.3), 1.95), ("Snare.wav", None, 1.0)]
    kits.export_kit(S.folder_samples(tmp_path / "drumkit.xml"), tmp_path / "out", "hydrogen")
    back = [s for s in read_hydrogen(tmp_path / "out" / "drumkit.xml") if s.drum_type == "kick"]
    for v in (0.05, 0.45, 0.75, 0.95):                               # every velocity plays the kick, at its layer's gain
        playing = [s for s in back if s.velocity is None or s.velocity[0] <= v <= s.velocity[1]]
        assert playing, v
    assert sorted({round(s.gain, 2) for s in back}) == [1.95, 2.4, 2.7, 3.0]
    muted = S.folder_samples(tmp_path / "drumkit.xml")
    muted[1].gain = 0.0                                 # one layer muted (Hydrogen 2): the file plays in the others
    kit = S.load_kit(muted)
    assert len(kit["kick"]) == 3 and not any("no level" in why for _, why in kit.skipped)
    kits.export_kit(S.folder_samples(tmp_path / "drumkit.xml"), tmp_path / "folder", "folder")   # no layers in a folder:
    (kick,) = [s for s in S.folder_samples(tmp_path / "folder") if s.drum_type == "kick"]         # once, at the top one's
    assert np.abs(kits.audio.decode(kick.path)[0]).max() == pytest.approx(3.0 * np.abs(kits.audio.decode(tmp_path / "Kick-Hard.wav")[0]).max(), rel=1e-3)


def test_hydrogen_2_instrument_types(tmp_path):
    # Hydrogen 2's TR808EmulationKit and format-integrity kits: <type> says what a name may not
    (tmp_path / "drumkit.xml").write_text(
        "<drumkit_info><name>T</name><instrumentList>"
        "<instrument><name>Boom</name><type>Kick</type><filename>a.wav</filename></instrument>"
        "<instrument><name>Hi-Hat</name><type>Hi-hat Open</type><filename>b.wav</filename></instrument>"
        "<instrument><name>Snare</name><type></type><filename>c.wav</filename></instrument>"
        "</instrumentList></drumkit_info>")
    assert [(s.path.name, s.drum_type) for s in read_hydrogen(tmp_path / "drumkit.xml")] == [
        ("a.wav", "kick"), ("b.wav", "open hat"), ("c.wav", "snare")]


def test_hydrogen_mutes_and_mic_levels(tmp_path):
    (tmp_path / "drumkit.xml").write_text(
        "<drumkit_info><name>M</name><componentList><drumkitComponent><id>0</id><volume>1</volume></drumkitComponent>"
        "<drumkitComponent><id>1</id><volume>0.25</volume></drumkitComponent></componentList><instrumentList>"
        "<instrument><name>Kick</name><instrumentComponent><component_id>0</component_id><layer><filename>close.wav</filename>"
        "</layer></instrumentComponent><instrumentComponent><component_id>1</component_id><layer><filename>room.wav</filename>"
        "</layer></instrumentComponent></instrument>"
        "<instrument><name>Snare Rim</name><isMuted>true</isMuted><filename>rim.wav</filename></instrument>"
        "<instrument><name>Ride Cup</name><filename>crash20__ride-cup1.wav</filename></instrument>"
        "<instrument><name>Tom</name><instrumentComponent><component_id>0</component_id><layer><filename>tom.wav</filename>"
        "<isMuted>true</isMuted></layer></instrumentComponent><instrumentComponent><component_id>1</component_id>"
        "<isMuted>true</isMuted><layer><filename>tom room.wav</filename></layer></instrumentComponent></instrument>"
        "</instrumentList></drumkit_info>")
    from drummy.kits import note_of
    got = {s.path.name: s for s in read_hydrogen(tmp_path / "drumkit.xml")}
    assert {n: s.gain for n, s in got.items()} == {"close.wav": 1.0, "room.wav": 0.25, "rim.wav": 0.0, "crash20__ride-cup1.wav": 1.0,
                                                   "tom.wav": 0.0, "tom room.wav": 0.0}     # Hydrogen 2 mutes a layer, a mic
    assert note_of(got["crash20__ride-cup1.wav"]) == 53             # the instrument's name before the file's "crash"


def _sliced_kit(tmp_path):
    """kit.sfz chopping loop.wav (a kick, a snare, a hat) over GM keys 36/38/42: its audio, the
    hits' bounds and the kit file."""
    from conftest import drum_loop
    y, (a, b, c, n) = drum_loop(tmp_path / "loop.wav")
    (tmp_path / "kit.sfz").write_text(
        f"<region> sample=loop.wav key=36 end={b - 1}\n"                       # end: the last frame played
        f"<group> offset={b} end={c - 1}\n<region> sample=loop.wav key=38\n"   # inherited from its group
        "<region> sample=loop.wav key=40\n"                                     # the same slice again: one sample
        f"<group>\n<region> sample=loop.wav key=42 offset={c}\n"               # to the file's end
        "<region> sample=loop.wav key=49 end=-1\n")                            # a silent region: plays nothing
    return y, (a, b, c, n), tmp_path / "kit.sfz"


def test_sfz_regions_slicing_one_file_are_a_sample_each(tmp_path):
    _, (a, b, c, n), sfz = _sliced_kit(tmp_path)
    got = read_sfz(sfz)
    assert [(s.path.name, s.note, s.drum_type, s.start, s.end) for s in got] == [
        ("loop.wav", 36, "kick", 0, b), ("loop.wav", 38, "snare", b, c), ("loop.wav", 42, "hihat", c, None)]


def test_sfz_slices_that_cannot_be_read_are_left_out_with_a_reason(tmp_path):
    (tmp_path / "kit.sfz").write_text(
        "<region> sample=a.wav key=36 end=99\n<region> sample=a.wav key=38 offset=abc\n"
        "<region> sample=a.wav key=40 offset=1.5\n<group> offset=-5\n<region> sample=a.wav key=42\n"
        "<group>\n<region> sample=a.wav key=46 offset=500 end=100\n")
    skipped = []
    got = read_sfz(tmp_path / "kit.sfz", skipped)
    assert [(s.note, s.start, s.end) for s in got] == [(36, 0, 100)]
    reasons = [why for _, why in skipped]
    assert len(reasons) == 4 and all(why.startswith("its region in kit.sfz (") for why in reasons)
    assert "offset=abc" in reasons[0] and "whole numbers" in reasons[0] and "whole numbers" in reasons[1]
    assert "below 0" in reasons[2] and "plays nothing" in reasons[3]
    assert [p.rsplit("/", 1)[1] for p, _ in skipped] == ["a.wav#offset=abc", "a.wav#offset=1.5", "a.wav#offset=-5",
                                                         "a.wav#offset=500 end=100"]


def test_a_beat_plays_each_slice_of_a_sliced_file(tmp_path):
    from drummy import audio, sequencer as S
    y, (a, b, c, n), sfz = _sliced_kit(tmp_path)
    kit = S.load_kit(S.folder_samples(sfz))
    assert sorted(kit) == ["hihat", "kick", "snare"] and kit.skipped == []
    for t, (lo, hi) in {"kick": (a, b), "snare": (b, c), "hihat": (c, n)}.items():
        (_, got), = kit[t]
        assert np.array_equal(got, audio.trim_leading_silence(y[lo:hi]))


@pytest.mark.parametrize("fmt", ["folder", "hydrogen", "sfz"])
def test_a_kit_of_slices_exports_each_slice_as_a_file_that_reads_back_the_same(tmp_path, fmt):
    import soundfile as sf
    from drummy import audio, kits
    from drummy.sequencer import folder_samples
    y, (a, b, c, n), sfz = _sliced_kit(tmp_path / "src")
    out, skipped = kits.export_kit(read_sfz(sfz), tmp_path / "out", fmt)
    assert skipped == []
    back = {"folder": folder_samples, "hydrogen": read_hydrogen, "sfz": read_sfz}[fmt](out)
    played = {s.drum_type: s for s in back if s.drum_type in ("kick", "snare", "hihat")}
    for t, (lo, hi) in {"kick": (a, b), "snare": (b, c), "hihat": (c, n)}.items():
        s = played[t]
        assert (s.start, s.end) == (0, None) and sf.info(str(s.path)).frames == hi - lo   # a file of the slice alone
        assert np.max(np.abs(s.load() - audio.trim_leading_silence(y[lo:hi]))) <= 2.0 ** -23


def test_sfz_paths_are_found_whatever_their_case_as_players_find_them(tmp_path):
    # a kit made on Windows names `Samples\KICK.WAV` for samples/Kick.wav: sfizz plays it, Drummy
    # reported both regions missing
    from conftest import kick, snare, write
    write(tmp_path / "samples" / "Kick.wav", kick(0))
    write(tmp_path / "samples" / "Snare Hard.wav", snare(0))
    (tmp_path / "case.sfz").write_text("<control> default_path=Samples\\\n<region> sample=KICK.WAV key=36\n"
                                       "<region> sample=snare hard.wav key=38\n<region> sample=gone.wav key=42\n")
    got = {s.note: s for s in read_sfz(tmp_path / "case.sfz")}
    assert got[36].path == tmp_path / "samples" / "Kick.wav" and got[38].path == tmp_path / "samples" / "Snare Hard.wav"
    assert got[42].path == tmp_path / "Samples" / "gone.wav"              # missing: reported as the kit names it


def test_a_loop_chopped_onto_keys_in_a_row_is_not_labelled_by_those_keys(tmp_path):
    # a slicer's layout (slice 1 on 36, 2 on 37, ...) read as GM drums named 5 of 7 slices wrongly
    from conftest import drum_loop
    y, (a, b, c, n) = drum_loop(tmp_path / "loop.wav")
    cuts = np.linspace(0, n, 8).astype(int)
    (tmp_path / "chop.sfz").write_text("".join(f"<region> sample=loop.wav key={36 + i} offset={lo} end={hi - 1}\n"
                                               for i, (lo, hi) in enumerate(zip(cuts[:-1], cuts[1:]))))
    assert {s.drum_type for s in read_sfz(tmp_path / "chop.sfz")} == {"unknown"}
    (tmp_path / "kit.sfz").write_text(f"<region> sample=loop.wav key=36 end={b - 1}\n"      # a kit's own slices
                                      f"<region> sample=loop.wav key=38 offset={b} end={c - 1}\n"
                                      f"<region> sample=loop.wav key=42 offset={c}\n")
    assert [s.drum_type for s in read_sfz(tmp_path / "kit.sfz")] == ["kick", "snare", "hihat"]


@pytest.mark.parametrize("text,why", [
    ("<html><body>hi</body></html>", "not a Hydrogen drumkit (its root element is <html>, not <drumkit_info>)"),
    ("<drumkit_info><name>Empty</name><instrumentList/></drumkit_info>", "no instrument with a sample file in it"),
])
def test_a_drumkit_xml_of_something_else_or_of_nothing_is_said(tmp_path, text, why):
    # ingest said "added 0, skipped 0" of a web page saved as drumkit.xml
    from drummy.library import Workspace
    (tmp_path / "kit").mkdir()
    (tmp_path / "kit" / "drumkit.xml").write_text(text)
    with pytest.raises(KitError, match=re.escape(why)):
        read_hydrogen(tmp_path / "kit" / "drumkit.xml")
    r = Workspace(tmp_path / "ws").ingest([tmp_path / "kit"], progress=False)
    assert [(p, w) for p, w in r.skipped] == [(str((tmp_path / "kit" / "drumkit.xml").resolve()), why)]
