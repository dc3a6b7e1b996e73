"""Kit export (drummy/kits.py writers) and the export-kit command."""
import os
import shlex
import shutil
import subprocess
from pathlib import Path
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import soundfile as sf

from drummy import audio, kits
from drummy.cli import main
from drummy.kits import KitError, KitSample, read_hydrogen, read_sfz
from drummy.library import LibraryError, Sample, Workspace
from drummy.sequencer import folder_samples, label_unknown
from conftest import hat, kick, write

NS = "{http://www.hydrogen-music.org/drumkit}"
HYDROGEN_XSD = "/usr/share/hydrogen/data/xsd/drumkit.xsd"     # Debian's hydrogen package
LSB24 = 2.0 ** -23


@pytest.fixture
def labelled_kit(tmp_path):
    """A folder with every kind of file a producer has: 16/24-bit, float, 48 kHz,
    stereo, FLAC, AIFF, and one file no name can label."""
    root = tmp_path / "mykit"
    write(root / "kick" / "808" / "Boom 1.wav", kick(0))
    write(root / "kick" / "909" / "punch.flac", kick(1), fmt="FLAC")
    write(root / "kick" / "Deep 3.wav", kick(2), subtype="FLOAT")
    write(root / "snare" / "crack.wav", np.stack([hat(4, seconds=0.3), hat(5, seconds=0.3)], 1), sr=48000,
          subtype="PCM_24")
    write(root / "hihat" / "tick.wav", hat(6))
    write(root / "open hat" / "sizzle.aiff", hat(7, seconds=0.6), fmt="AIFF")
    write(root / "tom" / "floor.wav", kick(8))
    write(root / "misc" / "mystery.wav", kick(9))
    return root


def signature(samples):
    """drum type -> the audio of its samples (as decoded by audio.load), in a fixed order."""
    out: dict[str, list[np.ndarray]] = {}
    for s in samples:
        if s.drum_type in kits.TYPES:
            out.setdefault(s.drum_type, []).append(audio.load(s.path))
    return {t: sorted(ys, key=lambda y: (len(y), y.tobytes())) for t, ys in out.items()}


def same_kit(a, b) -> bool:
    return a.keys() == b.keys() and all(
        len(a[t]) == len(b[t]) and all(len(x) == len(y) and np.max(np.abs(x - y)) <= LSB24
                                       for x, y in zip(a[t], b[t])) for t in a)


@pytest.mark.parametrize("fmt", kits.KIT_FORMATS)
def test_kit_round_trips_through_every_format(tmp_path, labelled_kit, fmt):
    src = folder_samples(labelled_kit)
    before = signature(src)
    assert set(before) == {"kick", "snare", "hihat", "open hat", "tom"}
    out, skipped = kits.export_kit(src, tmp_path / "out", fmt, name=None if fmt == "hydrogen" else "My Kit")
    assert skipped == []
    read_back = {"folder": folder_samples, "hydrogen": read_hydrogen, "sfz": read_sfz}[fmt](out)
    assert same_kit(signature(read_back), before)
    assert same_kit(signature(folder_samples(tmp_path / "out")), before)  # what `drummy ingest OUT` sees
    assert not list((tmp_path / "out").rglob("*mystery*"))             # unknown type: left out


def test_exported_names_keep_the_tags(tmp_path, labelled_kit):
    kits.write_hydrogen(folder_samples(labelled_kit), tmp_path / "h2")
    back = {s.path.name: s for s in read_hydrogen(tmp_path / "h2" / "drumkit.xml")}
    assert "kick-808-boom-01.wav" in back and "808" in back["kick-808-boom-01.wav"].tags
    assert back["kick-808-boom-01.wav"].kit == "h2"


def test_other_formats_are_transcoded_to_24_bit_wav_as_they_are(tmp_path):
    # a stereo 48 kHz file stays stereo at 48 kHz, offset and all: only the container changes
    y = np.stack([kick(3), 0.5 * kick(4)], 1) * 0.8 + 0.01
    write(tmp_path / "src" / "kick" / "odd.wave", y, sr=48000, subtype="FLOAT", fmt="WAV")
    out = kits.write_folder(folder_samples(tmp_path / "src"), tmp_path / "out")
    (f,) = list(out.rglob("*.wav"))
    import soundfile as sf
    info = sf.info(str(f))
    assert (info.subtype, info.channels, info.samplerate) == ("PCM_24", 2, 48000)
    a, b = audio.decode(tmp_path / "src" / "kick" / "odd.wave")[0], audio.decode(f)[0]
    assert a.shape == b.shape and np.max(np.abs(a - b)) <= 2 * LSB24


def test_hydrogen_drumkit_follows_the_schema_in_general_midi_order(tmp_path):
    src = [KitSample(write(tmp_path / "src" / f"k{i}.wav", (0.1 + 0.05 * i) * kick(i) / 0.9), "kick") for i in range(17)]
    src += [KitSample(write(tmp_path / "src" / "h.wav", hat(0)), "hihat"),
            KitSample(write(tmp_path / "src" / "oh.wav", hat(1, seconds=0.5)), "open hat"),
            KitSample(write(tmp_path / "src" / "ride.wav", hat(2, seconds=0.8)), "cymbal")]
    xml = kits.write_hydrogen(src, tmp_path / "Kit One")
    root = ET.parse(xml).getroot()
    assert root.tag == NS + "drumkit_info"
    assert [c.tag[len(NS):] for c in root] == ["name", "author", "info", "license", "image", "imageLicense",
                                               "componentList", "instrumentList"]
    assert root.find(NS + "name").text == "Kit One"
    insts = root.find(NS + "instrumentList").findall(NS + "instrument")
    order = ["id", "name", "volume", "isMuted", "isSoloed", "pan_L", "pan_R", "pitchOffset", "randomPitchFactor",
             "gain", "applyVelocity", "filterActive", "filterCutoff", "filterResonance", "Attack", "Decay",
             "Sustain", "Release", "muteGroup", "midiOutChannel", "midiOutNote", "isStopNote",
             "sampleSelectionAlgo", "isHihat", "lower_cc", "higher_cc", "FX1Level", "FX2Level", "FX3Level",
             "FX4Level", "instrumentComponent"]
    info = []
    for inst in insts:
        assert [c.tag[len(NS):] for c in inst] == order  # Hydrogen's drumkit.xsd sequence
        layers = inst.find(NS + "instrumentComponent").findall(NS + "layer")
        assert all([c.tag[len(NS):] for c in layer] == ["filename", "min", "max", "gain", "pitch"] for layer in layers)
        # every layer answers every velocity: the instrument plays its hits in turn
        assert all((layer.find(NS + "min").text, layer.find(NS + "max").text) == ("0", "1") for layer in layers)
        assert inst.find(NS + "sampleSelectionAlgo").text == "ROUND_ROBIN"
        info.append((inst.find(NS + "name").text, int(inst.find(NS + "midiOutNote").text),
                     int(inst.find(NS + "muteGroup").text), len(layers)))
    assert [int(i.find(NS + "id").text) for i in insts] == list(range(len(insts)))
    # Hydrogen's MIDI input plays instrument i for note 36 + i: the drum map 36-59, empty where the kit has no such drum
    assert [n for _, n, _, _ in info[:24]] == list(range(36, 60))
    assert info[:11] == [("Kick", 36, -1, 16), ("Side Stick", 37, -1, 0), ("Snare", 38, -1, 0), ("Clap", 39, -1, 0),
                         ("Snare 2", 40, -1, 0), ("Floor Tom", 41, -1, 0), ("Hi Hat", 42, 0, 1), ("Tom 2", 43, -1, 0),
                         ("Pedal Hat", 44, 0, 1), ("Tom", 45, -1, 0), ("Open Hat", 46, 0, 1)]
    assert info[11:24] == [("Tom 3", 47, -1, 0), ("Tom 4", 48, -1, 0), ("Cymbal", 49, -1, 1), ("Tom 5", 50, -1, 0),
                           ("Ride", 51, -1, 1), ("China", 52, -1, 1), ("Ride Bell", 53, -1, 1), ("Tambourine", 54, -1, 0),
                           ("Splash", 55, -1, 1), ("Perc", 56, -1, 0), ("Crash 2", 57, -1, 1), ("Vibraslap", 58, -1, 0),
                           ("Ride 2", 59, -1, 1)]
    # 17 kicks do not fit one instrument: the map runs on to 81 (empty here, no percussion), so "Kick 2"
    # answers no note of it
    assert [n for _, n, _, _ in info[:46]] == list(range(36, 82)) and all(k == 0 for *_, k in info[24:46])
    assert info[46:] == [("Kick B", 36, -1, 1)]          # not "Kick 2": no name twice ("Snare 2" is note 40)
    # a file several instruments play reads back as one sample
    back = read_hydrogen(xml)
    assert len(back) == len({s.path for s in back}) == 20
    assert sorted({s.drum_type for s in back}) == ["cymbal", "hihat", "kick", "open hat"]


@pytest.mark.skipif(not (shutil.which("xmllint") and Path(HYDROGEN_XSD).is_file()),
                    reason="needs xmllint and Hydrogen's drumkit.xsd (apt-get install libxml2-utils hydrogen)")
def test_hydrogen_export_validates_against_hydrogens_own_schema(tmp_path, labelled_kit):
    xml = kits.write_hydrogen(folder_samples(labelled_kit), tmp_path / "Kit")
    r = subprocess.run(["xmllint", "--noout", "--schema", HYDROGEN_XSD, str(xml)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_a_hydrogen_kit_is_named_by_its_folder(tmp_path, labelled_kit):
    with pytest.raises(KitError, match="Hydrogen finds a kit by its folder's name"):
        kits.export_kit(folder_samples(labelled_kit), tmp_path / "MK", "hydrogen", name="My Kit")
    out, _ = kits.export_kit(folder_samples(labelled_kit), tmp_path / "My Kit", "hydrogen", name="My Kit")
    (out.parent / "drumkit.xml.2026-12-04_23-57-35.bak").write_text(out.read_text())   # Hydrogen upgraded it once
    kits.export_kit(folder_samples(labelled_kit), tmp_path / "My Kit", "hydrogen")     # and it is still ours to replace


def test_sfz_maps_general_midi_keys_with_round_robin_and_choke(tmp_path, labelled_kit):
    sfz = kits.write_sfz(folder_samples(labelled_kit), tmp_path / "out", name="My Kit")
    assert sfz.name == "my-kit.sfz"
    parsed = kits._parse_sfz(sfz.read_text())
    assert parsed[0] == ("control", {"default_path": "my-kit/"})
    assert parsed[1] == ("global", {"loop_mode": "one_shot"})
    group = {}
    regions = []
    for header, ops in parsed[2:]:
        if header == "group":
            group = ops
        else:
            regions.append({**group, **ops})
    keys = {r["group_label"]: r["key"] for r in regions}
    assert keys == {"kick": "36", "snare": "38", "hihat": "42", "open_hat": "46", "tom": "45",
                    # and every other note of the General MIDI drum map for those types
                    "bass_drum": "35", "snare_2": "40", "floor_tom": "41", "tom_2": "43", "pedal_hat": "44",
                    "tom_3": "47", "tom_4": "48", "tom_5": "50"}
    assert {r["sample"] for r in regions if r["key"] == "41"} == {r["sample"] for r in regions if r["key"] == "45"}
    back = read_sfz(sfz)                                  # a file on several keys reads back as one sample
    assert len(back) == len({s.path for s in back}) and {s.drum_type for s in back} == {
        "kick", "snare", "hihat", "open hat", "tom"}
    kicks = [r for r in regions if r["key"] == "36"]
    assert [r["seq_position"] for r in kicks] == ["1", "2", "3"] and kicks[0]["seq_length"] == "3"
    hh = next(r for r in regions if r["key"] == "42")
    ph = next(r for r in regions if r["key"] == "44")
    oh = next(r for r in regions if r["key"] == "46")
    assert hh["group"] == ph["group"] == "1" and oh["group"] == "2" and oh["off_by"] == "1"
    assert all((sfz.parent / "my-kit" / r["sample"]).is_file() for r in regions)


def test_nothing_to_export_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(KitError, match="nothing to export"):
        kits.write_sfz([KitSample(tmp_path / "x.wav", "unknown")], tmp_path / "out")
    with pytest.raises(KitError, match="unknown kit format"):
        kits.export_kit([], tmp_path / "out", "reason")
    # files no name types, and no classifier to hear them: say how to have them labelled
    src = tmp_path / "my" / "things" / "src"                 # (pytest's own folder name says "cl": claves)
    write(src / "x1.wav", kick(0))
    assert main(["export-kit", str(src), "-o", str(tmp_path / "k"), "-w", str(tmp_path / "ws")]) == 2
    ws = shlex.quote(str(tmp_path / "ws"))    # no workspace there yet: the ingest that makes one comes first
    assert (f"a trained classifier labels them (`drummy ingest YOUR_SAMPLES -w {ws}`, then `drummy train "
            f"classifier -w {ws}`, then `-w {ws}` here)") in capsys.readouterr().err
    Workspace(tmp_path / "ws").ingest([src], progress=False)
    assert main(["export-kit", str(src), "-o", str(tmp_path / "k"), "-w", str(tmp_path / "ws")]) == 2
    assert f"labels them (`drummy train classifier -w {ws}`, then `-w {ws}` here)" in capsys.readouterr().err
    write(src / "snare.wav", kick(1))
    assert main(["export-kit", str(src), "-o", str(tmp_path / "k"), "-w", str(tmp_path / "ws")]) == 0
    assert "(1 file of unknown type: a trained classifier labels them" in capsys.readouterr().out


def test_a_broken_drumkit_xml_in_a_kit_folder_is_named_with_its_reason(tmp_path, capsys):
    kit = tmp_path / "kit"
    write(kit / "kick" / "k.wav", kick(0))
    (kit / "drumkit.xml").write_text("<drumkit_info><name>x</name><instrumentList>")     # cut short
    assert main(["export-kit", str(kit), "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert f"could not read {kit / 'drumkit.xml'} (not a readable drumkit.xml" in out and "1 samples" in out


def test_a_kit_is_not_exported_into_the_folder_it_comes_from(tmp_path, labelled_kit, capsys):
    before = sorted(p for p in labelled_kit.rglob("*") if p.is_file())
    assert main(["export-kit", str(labelled_kit), "-o", str(labelled_kit / "exported")]) == 2
    assert "inside the folder the kit comes from" in capsys.readouterr().err
    assert sorted(p for p in labelled_kit.rglob("*") if p.is_file()) == before
    ws = tmp_path / "ws"
    write(ws / "generated" / "kick" / "k.wav", kick(0))
    assert main(["export-kit", "-w", str(ws), "-o", str(ws / "generated" / "kit")]) == 2
    assert main(["export-kit", "-w", str(ws), "-o", str(ws / "kit")]) == 0


def test_exporting_again_replaces_the_earlier_export_and_nothing_else(tmp_path, labelled_kit):
    src = folder_samples(labelled_kit)
    out = tmp_path / "kit"
    kits.export_kit(src, out, "folder")
    kits.export_kit([s for s in src if s.drum_type == "kick"], out, "sfz", name="Kicks")
    assert {s.drum_type for s in folder_samples(out)} == {"kick"}            # no old snare lingers
    assert sorted(p.name for p in out.iterdir()) == [".drummy-export.json", "kicks", "kicks.sfz"]
    (out / "kicks" / "mine.wav").write_bytes(b"RIFF")                          # the producer's own file ...
    with pytest.raises(KitError, match="mine.wav was added since"):
        kits.export_kit(src, out, "folder")
    assert (out / "kicks" / "mine.wav").exists() and (out / "kicks.sfz").exists()   # ... and nothing was touched
    (out / "kicks" / "mine.wav").unlink()
    sfz = (out / "kicks.sfz").read_text()
    (out / "kicks.sfz").write_text(sfz + "// my edit\n")
    with pytest.raises(KitError, match="kicks.sfz was changed since"):
        kits.export_kit(src, out, "folder")
    assert (out / "kicks.sfz").read_text().endswith("// my edit\n")
    mine = tmp_path / "samples"                                                # a folder Drummy did not write
    mine.mkdir()
    (mine / "snare.wav").write_bytes(b"RIFF")
    with pytest.raises(KitError, match="not a Drummy kit export"):
        kits.export_kit(src, mine, "hydrogen")
    assert [p.name for p in mine.iterdir()] == ["snare.wav"]


def test_an_export_through_dot_dot_or_a_link_replaces_the_kit_itself(tmp_path, labelled_kit, monkeypatch):
    """Run from inside a kit, `-o ../MyKit` hid the earlier export under a temp name and left the
    new one in another (its paths ran through the folder being renamed); an export to a link
    replaced the link with a folder and left the kit it pointed to as it was."""
    src = folder_samples(labelled_kit)
    kits.export_kit(src, tmp_path / "dd" / "MyKit", "folder")
    kits.export_kit(src, tmp_path / "dd" / "Other", "folder")
    monkeypatch.chdir(tmp_path / "dd" / "MyKit")
    with pytest.raises(KitError, match="is the folder you are in, or holds it"):
        kits.export_kit(src, Path("../MyKit"), "folder")
    with pytest.raises(KitError, match="is the folder you are in, or holds it"):
        kits.export_kit(src, Path(".."), "folder")
    kits.export_kit([s for s in src if s.drum_type == "kick"], Path("../Other"), "folder")
    assert sorted(p.name for p in (tmp_path / "dd").iterdir()) == ["MyKit", "Other"]      # no temp folder left
    assert {s.drum_type for s in folder_samples(tmp_path / "dd" / "Other")} == {"kick"}
    assert len({s.drum_type for s in folder_samples(tmp_path / "dd" / "MyKit")}) > 1       # untouched
    monkeypatch.chdir(tmp_path)
    (tmp_path / "drumkits").mkdir()
    (tmp_path / "drumkits" / "Linked").symlink_to(tmp_path / "dd" / "MyKit")    # a kit linked where a player looks
    out, _ = kits.export_kit([s for s in src if s.drum_type == "kick"], tmp_path / "drumkits" / "Linked", "sfz",
                             name="Linked")
    assert (tmp_path / "drumkits" / "Linked").is_symlink() and out.name == "linked.sfz"
    assert (tmp_path / "dd" / "MyKit" / "linked.sfz").exists()                  # the kit it points to is the new one
    assert sorted(p.name for p in (tmp_path / "drumkits").iterdir()) == ["Linked"]


def test_a_failed_export_leaves_the_earlier_one_and_broken_files_are_left_out(tmp_path, labelled_kit):
    src = folder_samples(labelled_kit)
    out = tmp_path / "kit"
    kits.export_kit(src, out, "hydrogen")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    broken = tmp_path / "broken"
    (broken / "clap").mkdir(parents=True)
    (broken / "clap" / "text.wav").write_text("not audio")
    with pytest.raises(KitError, match="nothing to export"):             # all it was given is broken
        kits.export_kit(folder_samples(broken), out, "folder")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []   # no half-written kit beside it
    shutil.copy(broken / "clap" / "text.wav", labelled_kit / "snare" / "zz broken.wav")
    # what ingest would skip is no hit for a kit player either: silent, or a 2 ms click
    sf.write(labelled_kit / "snare" / "zz silent.wav", np.zeros(4410, np.float32), 44100)
    sf.write(labelled_kit / "snare" / "zz click.wav", 0.5 * np.sin(np.arange(88) * 0.4).astype(np.float32), 44100)
    path, skipped = kits.export_kit(folder_samples(labelled_kit), out, "folder")
    assert sorted((Path(f).name, why.split(" (")[0]) for f, why in skipped) == [
        ("zz broken.wav", "not a readable audio file"), ("zz click.wav", "too short for a drum hit"),
        ("zz silent.wav", "silent")]
    assert same_kit(signature(folder_samples(path)), signature(src))     # the rest, and the old kit replaced


def test_export_refuses_a_folder_inside_its_source_or_holding_hidden_files(tmp_path, labelled_kit):
    with pytest.raises(KitError, match="holds the kit's own samples"):
        kits.export_kit(folder_samples(labelled_kit), labelled_kit, "folder")
    with pytest.raises(KitError, match="holds the kit's own samples"):
        kits.export_kit(folder_samples(labelled_kit), labelled_kit.parent, "folder")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    with pytest.raises(KitError, match=".git, which is no part of a Drummy kit export"):
        kits.export_kit(folder_samples(labelled_kit), repo, "sfz")
    assert [p.name for p in repo.iterdir()] == [".git"]


def test_export_kit_command(tmp_path, labelled_kit, capsys):
    out = tmp_path / "h2"
    assert main(["export-kit", str(labelled_kit), "--format", "hydrogen", "-o", str(out),
                 "-w", str(tmp_path / "ws")]) == 0
    text = capsys.readouterr().out
    assert "a Hydrogen kit of 7 samples" in text and "mystery.wav: drum type unknown" in text and "the kit has no" not in text
    assert {s.drum_type for s in read_hydrogen(out / "drumkit.xml")} == {"kick", "snare", "hihat", "open hat", "tom"}
    assert main(["export-kit", str(labelled_kit / "kick"), "-o", str(tmp_path / "kicks"), "-w", str(tmp_path / "ws")]) == 0
    assert "the kit has no snare, no hihat" in capsys.readouterr().out              # a kit a beat would miss them in
    assert main(["export-kit", "-w", str(tmp_path / "nothing"), "-o", str(out)]) == 2
    assert "no library or generated hits" in capsys.readouterr().err
    # a kit naming a file that is not there, on an instrument whose name gives no type: why it is left out
    (tmp_path / "h1").mkdir()
    shutil.copy(next(labelled_kit.rglob("*.wav")), tmp_path / "h1" / "a.wav")
    (tmp_path / "h1" / "drumkit.xml").write_text(
        "<drumkit_info><name>H1</name><instrumentList>"
        "<instrument><name>Kick</name><filename>a.wav</filename></instrument>"
        "<instrument><name>Thing</name><filename>emptySample.flac</filename></instrument>"
        "</instrumentList></drumkit_info>")
    assert main(["export-kit", str(tmp_path / "h1"), "-o", str(tmp_path / "h1out"), "-w", str(tmp_path / "ws")]) == 0
    assert "emptySample.flac: no such file" in capsys.readouterr().out


def test_export_a_workspace_library_and_label_unknowns(tmp_path, capsys):
    ws = Workspace(tmp_path / "ws")
    for i, (t, y) in enumerate([("kick", kick(0)), ("snare", hat(1, seconds=0.3)), ("unknown", hat(2))]):
        h = f"{i:016x}"
        audio.write(ws.audio_path(h), y, peak_db=None, fade_ms=0, subtype="FLOAT")
        ws.samples[h] = Sample(h, f"/lib/{t}/{i}.wav", t, ["909"], "lib", "lib", 0.5, 44100)
    ws.save()
    assert main(["export-kit", "-w", str(ws.root), "--format", "sfz", "-o", str(tmp_path / "kit")]) == 0
    assert "an SFZ kit of 2 samples" in capsys.readouterr().out
    back = read_sfz(tmp_path / "kit" / "kit.sfz")
    assert sorted((s.drum_type, s.path.name) for s in back) == [("kick", "kick-909-01.wav"),
                                                                 ("snare", "snare-909-01.wav")]
    samples = folder_samples(tmp_path / "kit") + [KitSample(tmp_path / "missing.wav", "unknown"),
                                                   KitSample(ws.audio_path(f"{2:016x}"), "unknown")]
    labelled = label_unknown(samples, lambda ys: ["perc"] * len(ys))
    assert [s.drum_type for s in labelled[-2:]] == ["unknown", "perc"]  # unreadable: stays unknown


@pytest.mark.parametrize("fmt", ["sfz", "hydrogen", "folder"])
def test_a_library_hit_whose_offset_ends_off_zero_is_exported_without_a_click(tmp_path, fmt, capsys):
    # an 808 clap: a DC offset over its sound, then digital silence; the store takes the offset
    # out of both, so its copy stopped 20 dB under its peak, and the exported kit clicked there
    n, tail = int(0.3 * 44100), int(0.1 * 44100)
    rng = np.random.default_rng(3)
    sound = 0.3 * rng.standard_normal(n) * np.exp(-np.arange(n) / 44100 * 8) + 0.05
    write(tmp_path / "lib" / "clap" / "808 clap.wav", np.concatenate([sound, np.zeros(tail)]).astype(np.float32))
    write(tmp_path / "lib" / "kick" / "k.wav", kick(1))
    ws = tmp_path / "ws"
    assert main(["ingest", str(tmp_path / "lib"), "-w", str(ws)]) == 0
    stored = audio.decode(next(Workspace(ws).audio_path(s.hash) for s in Workspace(ws).samples.values()
                               if s.drum_type == "clap"))[0][:, 0]
    assert audio.ends_off_zero(stored)                                   # what the store holds (not changed here)
    assert main(["export-kit", "-w", str(ws), "--format", fmt, "-o", str(tmp_path / "kit")]) == 0
    back = {"sfz": lambda p: read_sfz(p / "kit.sfz"), "hydrogen": lambda p: read_hydrogen(p / "drumkit.xml"),
            "folder": folder_samples}[fmt](tmp_path / "kit")
    for s in back:
        y = audio.decode(s.path)[0][:, 0]
        assert np.abs(y[-4:]).max() < 1e-3 * np.abs(y).max(), s.path         # ends at silence
    clap = next(audio.decode(s.path)[0][:, 0] for s in back if s.drum_type == "clap")
    scale = np.abs(clap).max() / np.abs(stored).max()                        # (a folder's is its stored level)
    body = len(stored) - int(0.002 * 44100)
    assert len(clap) == len(stored) and np.abs(clap[:body] - scale * stored[:body]).max() < 1e-5   # the rest as stored


def test_two_exports_into_one_kit_at_once_the_second_waits(tmp_path, labelled_kit, capsys):
    from drummy.library import claim
    out = tmp_path / "Kit"
    with claim(out):
        assert main(["export-kit", str(labelled_kit), "--format", "sfz", "-o", str(out)]) == 2
    assert "is being written by another drummy command" in capsys.readouterr().err and not out.exists()
    assert main(["export-kit", str(labelled_kit), "--format", "sfz", "-o", str(out)]) == 0
    import hashlib
    import tempfile
    lock = Path(tempfile.gettempdir()) / f"drummy-locks-{os.getuid()}" / hashlib.sha1(str(out.resolve()).encode()).hexdigest()
    assert not lock.exists()                                            # a finished command leaves no lock file
    with claim(out):
        assert lock.exists()
        with pytest.raises(LibraryError, match="being written"):       # the lock holds while its file is there
            with claim(out):
                pass
    assert not lock.exists()


def test_export_leaves_a_loose_loop_out_and_keeps_a_kits_roll(tmp_path, labelled_kit):
    loop = np.zeros(audio.SR * 4, np.float32)
    for k in range(8):
        loop[k * audio.SR // 2: k * audio.SR // 2 + len(kick(k))] += kick(k)
    write(labelled_kit / "kick" / "Deep Groove.wav", loop)
    out, skipped = kits.export_kit(folder_samples(labelled_kit), tmp_path / "out", "sfz")
    assert [Path(p).name for p, why in skipped if why.startswith("several hits")] == ["Deep Groove.wav"]
    roll = tmp_path / "kit"                                           # a kit's own roll is what it plays
    write(roll / "roll.wav", loop)
    (roll / "k.sfz").write_text("<region> sample=roll.wav key=38\n")
    assert kits.export_kit(folder_samples(roll), tmp_path / "out2", "folder")[1] == []
    from drummy.sequencer import kit_from_folder
    assert len(kit_from_folder(roll)["snare"]) == 1 and len(kit_from_folder(roll / "k.sfz")["snare"]) == 1


def test_velocity_layers_survive_export_to_hydrogen_and_sfz(tmp_path):
    src = tmp_path / "src"
    for name, level in (("soft.wav", 0.1), ("mid.wav", 0.4), ("loud.wav", 0.9)):
        write(src / name, level * kick(0), subtype="FLOAT")
    (src / "drumkit.xml").write_text(
        "<drumkit_info><name>L</name><instrumentList><instrument><name>Kick</name>"
        "<layer><filename>soft.wav</filename><min>0</min><max>0.32</max></layer>"
        "<layer><filename>mid.wav</filename><min>0.32</min><max>0.6</max></layer>"
        "<layer><filename>loud.wav</filename><min>0.6</min><max>1</max></layer>"
        "</instrument></instrumentList></drumkit_info>")
    samples = folder_samples(src)
    h2 = kits.export_kit(samples, tmp_path / "H", "hydrogen")[0]
    back = sorted((s.velocity for s in read_hydrogen(h2)), key=lambda v: v[0])
    assert np.allclose(back, [(0, 0.32), (0.32, 0.6), (0.6, 1)])
    assert "<sampleSelectionAlgo>ROUND_ROBIN</sampleSelectionAlgo>" in h2.read_text()   # Hydrogen's keeps to the layer
    sfz = kits.export_kit(samples, tmp_path / "S", "sfz")[0]
    text = sfz.read_text()
    assert "lovel=0 hivel=40" in text and "lovel=41 hivel=76" in text and "lovel=77 hivel=127" in text
    assert sorted((round(s.velocity[0] * 127), round(s.velocity[1] * 127)) for s in read_sfz(sfz)) == [
        (0, 40), (41, 76), (77, 127)]                                   # no velocity plays two layers at once


def test_a_full_disk_during_export_names_the_kit_folder_and_leaves_nothing(small_disk, labelled_kit):
    with pytest.raises(OSError) as e:
        kits.export_kit(folder_samples(labelled_kit), small_disk / "kit", "sfz")
    assert e.value.filename == str(small_disk / "kit") and "No space left" in e.value.strerror
    assert list(small_disk.iterdir()) == []


def test_sfz_layers_cover_every_velocity_once_however_a_kit_nests_them():
    a, b, c = (0, 100 / 127), (10 / 127, 90 / 127), (50 / 127, 60 / 127)
    runs = kits._sfz_velocities([a, b, c])
    assert [r for _, r in runs] == [(0, 9), (10, 49), (50, 60), (61, 90), (91, 127)]
    # every layer holding a velocity, in one round robin, as Hydrogen's and Drummy's beats pick among them
    # (GMRockKit's open and semi-open hats, merged on 46, played only the narrower at some velocities)
    assert [v for v, _ in runs] == [(a,), (a, b), (a, b, c), (a, b), (a,)]   # above every layer: the nearest


def test_a_type_mixing_layered_and_unlayered_samples_has_them_in_each_layer(tmp_path):
    for name in ("soft.wav", "loud.wav", "plain.wav"):
        write(tmp_path / "src" / name, kick(0))
    samples = [KitSample(tmp_path / "src" / "soft.wav", "kick", velocity=(0.0, 0.5)),
               KitSample(tmp_path / "src" / "loud.wav", "kick", velocity=(0.5, 1.0)),
               KitSample(tmp_path / "src" / "plain.wav", "kick")]
    text = kits.write_sfz(samples, tmp_path / "S").read_text()
    kick_groups = [line for line in text.splitlines() if line.startswith("<group> group_label=kick ")]
    assert len(kick_groups) == 2 and all("lovel=" in g for g in kick_groups)    # no group sounds over the layers
    assert "seq_length=2" in kick_groups[0] and "seq_length=2" in kick_groups[1]   # its layer's hit and the plain one
    assert text.count("<region>") == 2 * 4                          # on the kick's key and on its GM alias (35)


def test_files_players_cannot_play_as_they_are_are_written_so_they_can(tmp_path):
    """sfizz plays a 6-channel file as silence, and a float file over full scale clips in a player."""
    root = tmp_path / "mine"
    write(root / "kick" / "surround.wav", np.stack([kick(1)] * 6, 1), subtype="PCM_24")
    write(root / "snare" / "hot.wav", hat(2, seconds=0.3) * 4.0, subtype="FLOAT")      # +12 dBFS
    write(root / "hihat" / "fine.wav", 0.4 * np.stack([kick(3), kick(4)], 1), subtype="FLOAT")   # stereo float under 0 dBFS: as is
    out, skipped = kits.export_kit(folder_samples(root), tmp_path / "out", "sfz", name="K")
    assert skipped == []
    infos = {f.name.split("-")[0]: sf.info(f) for f in (tmp_path / "out").rglob("*.wav")}
    assert infos["kick"].channels == 1 and infos["kick"].subtype == "PCM_24"
    hot, _ = sf.read(next((tmp_path / "out").rglob("snare*.wav")))
    assert infos["snare"].subtype == "PCM_24" and np.abs(hot).max() < 1.0
    assert infos["hihat"].channels == 2 and infos["hihat"].subtype == "FLOAT"
    assert {s.drum_type for s in read_sfz(out)} == {"kick", "snare", "hihat"}


@pytest.mark.parametrize("fmt", ["sfz", "hydrogen", "folder"])
def test_a_float_file_over_full_scale_keeps_its_level_in_the_exported_kit(tmp_path, fmt):
    # it is written under full scale (players clip it), and was 12 dB quieter with nothing to make up for it
    root = tmp_path / "mine"
    write(root / "kick" / "k.wav", 0.5 * kick(1), subtype="PCM_24")
    write(root / "snare" / "hot.wav", hat(2, seconds=0.3) * 4.0, subtype="FLOAT")      # +12 dBFS
    source = {s.drum_type: audio.sample_peak(audio.decode(s.path)[0]) for s in folder_samples(root)}
    out, _ = kits.export_kit(folder_samples(root), tmp_path / "out", fmt, name="out")
    back = {"sfz": read_sfz, "hydrogen": read_hydrogen, "folder": folder_samples}[fmt](out)
    played = {s.drum_type: s.gain * audio.sample_peak(audio.decode(s.path)[0]) for s in back}
    ratio = lambda d: d["snare"] / d["kick"]
    assert ratio(played) == pytest.approx(ratio(source), rel=1e-3)      # the kit's balance, as it was
    if fmt == "folder":       # a float file only where it is over full scale: a sample at 0 dBFS stays 24-bit
        assert {f.parent.name: sf.info(f).subtype for f in out.rglob("*.wav")} == {"snare": "FLOAT", "kick": "PCM_24"}
        write(tmp_path / "full.wav", kick(1) / np.abs(kick(1)).max(), subtype="PCM_16")          # normalised: 0 dBFS
        sliced, _ = kits._place_audio(KitSample(tmp_path / "full.wav", "kick", start=10), tmp_path / "s", bake=True)
        assert sf.info(sliced).subtype == "PCM_24"                                              # (a slice is written)


def test_long_and_accented_kit_names(tmp_path, labelled_kit):
    long = "K" * 240                                   # fits a file name; its temporary sibling must too
    out, _ = kits.export_kit(folder_samples(labelled_kit), tmp_path / long, "hydrogen")
    assert out.parent.name == long and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    sfz, _ = kits.export_kit(folder_samples(labelled_kit), tmp_path / "u", "sfz", name="Ünïcødé Kït\nTwo " + "x" * 300)
    assert sfz.name.startswith("unicøde-kit-two-") and len(sfz.name) <= 104   # (ø is a letter, not an accent)
    head = sfz.read_text(encoding="utf-8").splitlines()[0]
    assert head.startswith("// Ünïcødé Kït Two x") and {s.drum_type for s in read_sfz(sfz)} >= {"kick", "snare"}


@pytest.mark.parametrize("fmt", kits.KIT_FORMATS)
def test_names_in_any_script_keep_their_tags(tmp_path, fmt):
    # a Japanese pack's words were dropped from exported names (キック -> "kick-01"), so its tags were lost on
    # the way back in; accents on Latin letters still fold
    write(tmp_path / "src" / "kick" / "キック" / "ドラム 01.wav", kick(0))
    write(tmp_path / "src" / "snare" / "Snäre Grüße 2.wav", hat(1, seconds=0.3))
    made = write(tmp_path / "src" / "hihat" / "like_ハット 01_s0_01.wav", hat(2))     # a variation `generate` made
    made.with_suffix(".json").write_text('{"drummy": "0.1.0", "mode": "like"}', encoding="utf-8")
    src = folder_samples(tmp_path / "src")
    assert {s.drum_type: set(s.tags) for s in src} == {"kick": {"キック", "ドラム"}, "snare": {"gruße"}, "hihat": set()}
    out, _ = kits.export_kit(src, tmp_path / "ドラムキット", fmt)
    back = {"folder": folder_samples, "sfz": read_sfz, "hydrogen": read_hydrogen}[fmt](out)
    assert {s.drum_type: Path(s.path).stem for s in back} == {"kick": "kick-キック-ドラム-01", "snare": "snare-gruße-01",
                                                            "hihat": "like_ハット-01_s0_01"}   # its own name, as made
    assert all({"キック", "ドラム"} <= set(s.tags) for s in back if s.drum_type == "kick")
    if fmt == "sfz":
        assert out.name == "ドラムキット.sfz" and (out.parent / "ドラムキット").is_dir()


def test_export_kit_names_a_loop_it_leaves_out_by_its_name(tmp_path, labelled_kit, capsys):
    write(labelled_kit / "Loops" / "Kick 1.wav", kick(3))
    assert main(["export-kit", str(labelled_kit), "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "Kick 1.wav: a loop by its name: Drummy learns one-shots" in out and "  left out " in out


def _regions(sfz: Path) -> list[dict]:
    group, out = {}, []
    for header, ops in kits._parse_sfz(sfz.read_text()):
        if header == "group":
            group = ops
        elif header == "region":
            out.append({**group, **ops})
    return out


def test_a_kits_drums_keep_their_own_notes_in_every_export(tmp_path):
    # a ride is no crash, a pedal hat no closed hat, a high tom no low one: each keeps its key
    src = tmp_path / "src"
    insts = {"Crash": "crash.wav", "Ride Jazz": "ride.wav", "Closed HH": "hh.wav", "Pedal HH": "pedal.wav",
             "Tom Hi": "t1.wav", "Tom Low": "ft.wav", "Kick": "kick.wav"}
    for i, f in enumerate(insts.values()):
        write(src / f, (hat if i < 4 else kick)(i))
    (src / "drumkit.xml").write_text("<drumkit_info><name>Mixed</name><instrumentList>" + "".join(
        f"<instrument><name>{n}</name><layer><filename>{f}</filename></layer></instrument>" for n, f in insts.items())
        + "</instrumentList></drumkit_info>")
    samples = read_hydrogen(src / "drumkit.xml")
    sfz = kits.write_sfz(samples, tmp_path / "sfz", name="Mixed")
    on = {}
    for r in _regions(sfz):
        on.setdefault(int(r["key"]), set()).add(Path(r["sample"]).stem.split("-")[1])   # cymbal-ride-mixed-01 -> ride
    assert on[51] == {"ride"} and on[49] == {"crash"} and on[44] == {"pedal"} and on[42] == {"01"}
    assert on[50] == {"high"} and on[45] == on[41] == {"low"}         # the low tom; the floor slot plays it too
    xml = kits.write_hydrogen(samples, tmp_path / "Mixed")
    back = {s.path.name: s for s in read_hydrogen(xml)}
    assert {kits.note_of(s) for n, s in back.items() if "ride" in n} == {51}
    ns = {"h": kits.HYDROGEN_NS}
    for inst in ET.parse(xml).getroot().iter(f"{{{kits.HYDROGEN_NS}}}instrument"):
        note = int(inst.find("h:midiOutNote", ns).text)
        files = {f.text for f in inst.iter(f"{{{kits.HYDROGEN_NS}}}filename")}
        if note == 51:
            assert files and all("ride" in f for f in files)
        if note == 42:
            assert files and not any("pedal" in f for f in files)
    # the folder export names each drum in its file, so that it reads back
    kits.write_folder(samples, tmp_path / "folder")
    assert {kits.note_of(s) for s in folder_samples(tmp_path / "folder")} >= {51, 49, 44, 50}


def test_every_sample_of_an_sfz_export_is_played_whatever_its_velocity_layers(tmp_path):
    # a layer spanning every velocity beside narrower ones of the same drum won no velocity of its own,
    # and its sample was copied and never played
    for i, f in enumerate(("wide.wav", "soft.wav", "loud.wav")):
        write(tmp_path / "src" / f, kick(i))
    samples = [KitSample(tmp_path / "src" / "wide.wav", "snare", velocity=(0.0, 0.99)),
               KitSample(tmp_path / "src" / "soft.wav", "snare", velocity=(0.0, 0.5)),
               KitSample(tmp_path / "src" / "loud.wav", "snare", velocity=(0.5, 1.0))]
    sfz = kits.write_sfz(samples, tmp_path / "out", name="k")
    played = {r["sample"] for r in _regions(sfz)}
    assert played == {f.name for f in (tmp_path / "out" / "k").iterdir()} and len(played) == 3


def test_a_kits_levels_are_read_played_and_exported(tmp_path):
    # Hydrogen: instrument volume x gain x component gain x layer gain; SFZ: volume= (dB) and amplitude= (%)
    write(tmp_path / "h2" / "k.wav", kick(0))
    write(tmp_path / "h2" / "s.wav", kick(1))
    (tmp_path / "h2" / "drumkit.xml").write_text(
        "<drumkit_info><name>G</name><instrumentList>"
        "<instrument><name>Kick</name><volume>0.5</volume><gain>2</gain><instrumentComponent><gain>0.5</gain>"
        "<layer><filename>k.wav</filename><gain>3</gain></layer></instrumentComponent></instrument>"
        "<instrument><name>Snare</name><filename>s.wav</filename></instrument>"
        "</instrumentList></drumkit_info>")
    assert {s.path.name: s.gain for s in read_hydrogen(tmp_path / "h2" / "drumkit.xml")} == {"k.wav": 1.5, "s.wav": 1.0}
    (tmp_path / "h2" / "kit.sfz").write_text("<group> key=36 volume=-20\n<region> sample=k.wav amplitude=50\n"
                                              "<region> sample=s.wav key=38 volume=oops\n")
    got = {s.path.name: s.gain for s in read_sfz(tmp_path / "h2" / "kit.sfz")}
    assert got["k.wav"] == pytest.approx(0.05) and got["s.wav"] == 1.0
    # played: the stems keep the kit's balance
    from drummy import sequencer as S
    from drummy.patterns import Pattern, Track
    kit = S.load_kit(folder_samples(tmp_path / "h2" / "kit.sfz"))
    p = Pattern("ks", (Track("kick", "kick", (100, 0, 0, 0), note=36), Track("snare", "snare", (0, 0, 100, 0), note=38)), steps=4)
    _, stems = S.render(p, kit, bpm=120, bars=1, master="none", stems=True)
    ratio = 20 * np.log10(np.abs(stems["kick"]).max() / np.abs(stems["snare"]).max())
    assert ratio == pytest.approx(20 * np.log10(0.05), abs=0.2)
    # exported: Hydrogen's layer gain, SFZ's volume, read back the same
    samples = read_hydrogen(tmp_path / "h2" / "drumkit.xml")
    xml = kits.write_hydrogen(samples, tmp_path / "G")
    assert {s.drum_type: s.gain for s in read_hydrogen(xml)} == {"kick": 1.5, "snare": 1.0}
    sfz = kits.write_sfz(samples, tmp_path / "sfz", name="g")
    assert {s.drum_type: round(s.gain, 4) for s in read_sfz(sfz)} == {"kick": 1.5, "snare": 1.0}
    # a folder has no place for a level: it goes into the audio (the kick over full scale in a float
    # WAV), and the folder plays as the kit does (a -12 dB snare came out 21 dB hot against the kick)
    folder = kits.write_folder(samples, tmp_path / "folder")
    levels = {s.drum_type: audio.sample_peak(s.load()) for s in folder_samples(folder)}
    kick_in, snare_in = (audio.sample_peak(audio.decode(tmp_path / "h2" / f)[0]) for f in ("k.wav", "s.wav"))
    assert levels["kick"] == pytest.approx(1.5 * kick_in, rel=1e-5) and levels["kick"] > 1
    assert levels["snare"] == pytest.approx(snare_in, rel=1e-5)
    assert sf.info(str(next((folder / "kick").iterdir()))).subtype == "FLOAT"
    assert sf.info(str(next((folder / "snare").iterdir()))).subtype == "PCM_16"     # as it was: copied


def test_levels_past_sfzs_range_keep_their_balance_and_a_silent_layer_is_left_out(tmp_path):
    for i, f in enumerate(("a.wav", "b.wav", "c.wav")):
        write(tmp_path / "src" / f, kick(i))
    samples = [KitSample(tmp_path / "src" / "a.wav", "kick", gain=4.0), KitSample(tmp_path / "src" / "b.wav", "snare", gain=2.0),
               KitSample(tmp_path / "src" / "c.wav", "hihat", gain=0.0)]
    back = {s.drum_type: s.gain for s in read_sfz(kits.write_sfz(samples, tmp_path / "sfz", name="k"))}
    assert back["kick"] == pytest.approx(10 ** (6 / 20), rel=1e-3) and back["kick"] / back["snare"] == pytest.approx(2, rel=1e-3)
    from drummy import sequencer as S
    kit = S.load_kit(samples)
    assert "hihat" not in kit and any("gain 0" in why for _, why in kit.skipped)
    (tmp_path / "h2").mkdir()
    (tmp_path / "h2" / "drumkit.xml").write_text(
        "<drumkit_info><name>x</name><instrumentList><instrument><name>Kick</name><volume>1e30</volume><gain>1e30</gain>"
        "<layer><filename>a.wav</filename></layer></instrument></instrumentList></drumkit_info>")
    shutil.copy(tmp_path / "src" / "a.wav", tmp_path / "h2" / "a.wav")
    (s,) = read_hydrogen(tmp_path / "h2" / "drumkit.xml")
    assert s.gain == pytest.approx(kits.MAX_GAIN)                       # a broken file's level, not a beat of NaN
    # a kick at +30 dB (an SFZ bank's) over a snare at 0: a Hydrogen export turns the kit down whole, as SFZ's does
    loud = [KitSample(tmp_path / "src" / "a.wav", "kick", gain=10 ** (30 / 20)), KitSample(tmp_path / "src" / "b.wav", "snare")]
    back = {s.drum_type: s.gain for s in read_hydrogen(kits.write_hydrogen(loud, tmp_path / "h2loud"))}
    assert back["kick"] <= kits.MAX_GAIN and back["kick"] / back["snare"] == pytest.approx(10 ** (30 / 20), rel=1e-3)


@pytest.mark.parametrize("fmt", ["hydrogen", "sfz"])
def test_an_exported_kit_reads_back_with_each_drum_on_its_own_note(tmp_path, fmt):
    src = tmp_path / "src"
    insts = {"Crash": ("crash.wav", 49), "Ride": ("ride.wav", 51), "Cowbell": ("cb.wav", 56), "Tom Hi": ("t1.wav", 50),
             "Tom Low": ("t3.wav", 45), "Kick": ("k.wav", 36), "Snare": ("s.wav", 38)}
    for i, (f, _) in enumerate(insts.values()):
        write(src / f, (hat if i < 3 else kick)(i))
    (src / "drumkit.xml").write_text("<drumkit_info><name>GM</name><instrumentList>" + "".join(
        f"<instrument><name>{n}</name><midiOutNote>{note}</midiOutNote><layer><filename>{f}</filename></layer></instrument>"
        for n, (f, note) in insts.items()) + "</instrumentList></drumkit_info>")
    before = {s.instrument: kits.note_of(s) for s in read_hydrogen(src / "drumkit.xml")}
    assert before == {n: note for n, (_, note) in insts.items()}
    out = kits.write_hydrogen(read_hydrogen(src / "drumkit.xml"), tmp_path / "GM") if fmt == "hydrogen" \
        else kits.write_sfz(read_hydrogen(src / "drumkit.xml"), tmp_path / "sfz", name="gm")
    back = (read_hydrogen if fmt == "hydrogen" else read_sfz)(out)
    assert sorted(kits.note_of(s) or kits.GM_NOTE_OF_TYPE[s.drum_type] for s in back) == sorted(n for _, n in insts.values())


def test_a_workspace_given_as_a_kit_is_refused(tmp_path, labelled_kit, capsys):
    """`drummy export-kit ws -o out` exported the sample store, typed by the hex of its file names."""
    ws = tmp_path / "ws"
    assert main(["ingest", str(labelled_kit), "-w", str(ws)]) == 0
    capsys.readouterr()
    assert main(["export-kit", str(ws), "-o", str(tmp_path / "out")]) == 2
    assert f"{ws} is a Drummy workspace, not a kit: give it with -w {ws}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_slot_plays_its_gm_siblings_sound_as_a_beat_does():
    # "Ride 2" (59) played the crash in Hydrogen and SFZ exports where the beat plays the ride
    by_note = {49: ["crash.wav"], 51: ["ride.wav"]}
    assert kits._slot_files(by_note, 59, "cymbal") == ["ride.wav"]
    assert kits._slot_files(by_note, 57, "cymbal") == ["crash.wav"]          # Crash 2: the crash
    assert kits._slot_files(by_note, 51, "cymbal") == ["ride.wav"]
    assert kits._slot_files({49: ["crash.wav"]}, 59, "cymbal") == ["crash.wav"]   # no ride at all: the plain one


def test_a_workspace_copy_gone_or_damaged_is_named_not_the_producers_file(tmp_path, tiny_library, capsys):
    # a beat and an export said "left out .../cymbal acoustic 03.wav: no such file" of a file that was there
    from drummy.sequencer import workspace_samples
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    samples = sorted(workspace_samples(ws), key=lambda s: s.origin)
    gone, cut = samples[0], samples[1]
    Path(gone.path).unlink()
    Path(cut.path).write_bytes(Path(cut.path).read_bytes()[:100])
    for s in (gone, cut):
        assert Path(s.origin).is_file()
        with pytest.raises(audio.AudioError, match=r"the workspace's copy of it, .*, is gone or damaged .*"
                                                    r"`drummy ingest` its file again to repair it"):
            s.load()
    assert main(["export-kit", "-w", str(ws.root), "-o", str(tmp_path / "kit")]) == 0
    out = capsys.readouterr().out
    for s in (gone, cut):
        assert f"{s.origin}: the workspace's copy of it, {s.path}, is gone or damaged" in out, out
    ws.ingest([tiny_library], progress=False)                           # ... and the ingest it names repairs it
    assert gone.load().size and cut.load().size


def test_an_sfz_export_of_overlapping_layers_reads_back_as_its_samples(tmp_path):
    # each run round-robins every layer holding it, so a file sits in several runs: read back as a sound
    # per run, a kit of 4 hats held 8 (`--no-repeat` repeated files)
    for name in ("oh-soft", "oh-hard", "semi-soft", "semi-hard"):
        write(tmp_path / "src" / f"{name}.wav", hat(len(name), seconds=0.3))
    layers = {"oh-soft": (0, 0.4), "oh-hard": (0.4, 1.0), "semi-soft": (0, 0.3), "semi-hard": (0.3, 1.0)}
    samples = [KitSample(tmp_path / "src" / f"{n}.wav", "open hat", [n.replace("-", " ")], note=46, velocity=v)
               for n, v in layers.items()]
    sfz = kits.export_kit(samples, tmp_path / "S", "sfz")[0]
    assert sfz.read_text().count("<region>") > 4                        # (split where another layer begins)
    back = read_sfz(sfz)
    assert len(back) == 4 and all(s.velocity is not None for s in back)
    for s in back:                                  # each over its own layer's velocities, whole (a run apart at most)
        lo, hi = next(v for n, v in layers.items() if n in Path(s.path).stem)
        assert abs(s.velocity[0] - lo) <= 1 / 127 + 1e-9 and abs(s.velocity[1] - hi) <= 1 / 127 + 1e-9, (s.path.name, s.velocity)


def test_exporting_a_workspace_with_no_generated_hits_says_it_exports_its_library(tmp_path, tiny_library, capsys):
    # a 6,000-sample library exported whole (1.1 GB), saying only "wrote a Hydrogen kit of 6041 samples"
    ws = tmp_path / "ws"
    assert main(["ingest", str(tiny_library), "-w", str(ws)]) == 0
    capsys.readouterr()
    assert main(["export-kit", "-w", str(ws), "-o", str(tmp_path / "kit")]) == 0
    out = capsys.readouterr().out
    assert "wrote a type-folder kit of 16 samples" in out and "the workspace's library, every sample of it" in out
    write(ws / "generated" / "kick" / "k.wav", kick(0))                      # once it has generated hits: those
    assert main(["export-kit", "-w", str(ws), "-o", str(tmp_path / "kit2")]) == 0
    out = capsys.readouterr().out
    assert "kit of 1 samples" in out and "library" not in out


def test_each_percussion_key_plays_its_own_drum(tmp_path):
    # a kit's "Bongo Lo" played on the high bongo's key with "Bongo Hi", and the vibraslap, cabasa and low
    # woodblock keys, which the kit lacks, played its cajons and cowbells
    root = tmp_path / "Hand Kit" / "perc"
    for i, name in enumerate(["Bongo Hi", "Bongo Lo", "Cajon Slap", "Cowbell", "Woodblock Lo"]):
        write(root / f"{name}.wav", hat(60 + i, seconds=0.2))
    sfz = kits.write_sfz(folder_samples(tmp_path / "Hand Kit"), tmp_path / "out")
    keys: dict[int, list[str]] = {}
    key = None
    for line in sfz.read_text().splitlines():
        if line.startswith("<group>"):
            key = int(line.split("key=")[1].split()[0])
        elif line.startswith("<region>"):
            keys.setdefault(key, []).append(line.split("sample=")[1].split()[0])
    assert [len(keys.get(n, [])) for n in (60, 61, 77)] == [1, 1, 1], keys
    assert "bongo" in keys[60][0] and "bongo" in keys[61][0] and keys[60] != keys[61]
    assert not {58, 69, 62, 75} & set(keys)                       # drums the kit lacks: no key plays another
    xml = kits.write_hydrogen(folder_samples(tmp_path / "Hand Kit"), tmp_path / "Hand")
    ns = "{" + kits.HYDROGEN_NS + "}"
    layers = {int(i.find(ns + "midiOutNote").text): len(i.find(ns + "instrumentComponent").findall(ns + "layer"))
              for i in ET.parse(xml).getroot().iter(ns + "instrument")}
    assert layers[60] == layers[61] == layers[77] == 1 and layers[58] == layers[69] == 0
