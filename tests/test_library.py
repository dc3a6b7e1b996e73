import shutil
import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from drummy import features, library
from drummy.library import LIBRARY_VERSION, LibraryError, Workspace
from conftest import SR, ctrl_c_default, hat, interrupt_at, kick, write


def test_ingest_labels_dedups_and_caches(tmp_path, tiny_library):
    # an identical copy under another name is stored once
    (tiny_library / "kick" / "copies").mkdir()
    (tiny_library / "kick" / "copies" / "same.wav").write_bytes((tiny_library / "kick" / "808" / "Boom 1.wav").read_bytes())
    ws = Workspace(tmp_path / "ws")
    r = ws.ingest([tiny_library], progress=False)
    assert (r.added, r.duplicates, len(r.skipped)) == (16, 1, 0)
    s = ws.summary()
    assert s["types"] == {"kick": 8, "hihat": 8}
    assert s["tags"]["808"] == 8 and s["tags"]["boom"] == 8 and s["tags"]["tick"] == 8
    boom = next(x for x in ws.samples.values() if x.path.endswith("808/Boom 1.wav"))
    assert boom.drum_type == "kick" and boom.also_at
    assert boom.tags == ["808", "boom", "copies", "same"]          # its copy's folder and name add their tags
    assert boom.group.endswith("kick/808") and boom.source_rate == SR
    mels, desc = ws.features()
    assert mels.shape == (16, features.MEL.n_mels, features.MEL.frames) and desc.shape == (16, len(features.DESCRIPTORS))
    # a second run decodes nothing; a reopened workspace sees the same library
    again = Workspace(tmp_path / "ws").ingest([tiny_library], progress=False)
    assert (again.added, again.unchanged) == (0, 17)
    assert len(Workspace(tmp_path / "ws").samples) == 16


def test_damaged_caches_are_computed_again(tmp_path, tiny_library, capsys):
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    mels, desc = ws.features()
    codes, raw = ws.codes(sorted(ws.samples), progress=False)
    for path in (ws.features_path, ws.codes_path):
        path.write_bytes(path.read_bytes()[:100])                        # cut short: a full disk, a bad copy
    again = Workspace(tmp_path / "ws")
    m2, c2 = again.features()[0], again.codes(sorted(ws.samples), progress=False)[0]
    # computed again from the stored 24-bit audio: equal but for the quietest bins
    assert np.mean(np.abs(m2 - mels)) < 0.05 and np.allclose(c2, codes, atol=0.1)
    err = capsys.readouterr().err
    assert f"{ws.features_path} is damaged" in err and f"{ws.codes_path} is damaged" in err


def test_changed_file_is_reprocessed(tmp_path, tiny_library):
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    p = tiny_library / "hihat" / "808" / "tick_01.wav"
    write(p, hat(99))
    os.utime(p, ns=(1, 1))  # a different mtime even on coarse clocks
    r = ws.ingest([tiny_library], progress=False)
    assert (r.added, r.unchanged) == (1, 15)
    assert len(ws.samples) == 16  # the old version of that file is gone


def test_unchanged_files_get_todays_labelling_rules(tmp_path, tiny_library):
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    boom = next(x for x in ws.samples.values() if x.path.endswith("808/Boom 1.wav"))
    boom.drum_type, boom.tags = "snare", ["old rule"]  # as an older labeller left it
    ws.save()
    ws = Workspace(tmp_path / "ws")
    r = ws.ingest([tiny_library], progress=False)
    assert r.added == 0 and ws.samples[boom.hash].drum_type == "kick" and ws.samples[boom.hash].tags == ["808", "boom"]
    # ingesting a sub-folder, whose names no longer say "kick", keeps the type the parent gave
    ws.ingest([tiny_library / "kick"], progress=False)
    assert Workspace(tmp_path / "ws").summary()["types"] == {"kick": 8, "hihat": 8}


def test_a_moved_file_takes_its_new_name_and_labels(tmp_path, tiny_library):
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    src = tiny_library / "kick" / "808" / "Boom 1.wav"
    h = next(x.hash for x in ws.samples.values() if x.path == str(src.resolve()))
    (tiny_library / "clap" / "big").mkdir(parents=True)
    dest = tiny_library / "clap" / "big" / "Big 1.wav"
    src.rename(dest)
    r = Workspace(tmp_path / "ws").ingest([tiny_library], progress=False)
    assert (r.added, r.moved, r.duplicates) == (0, 1, 0)
    s = Workspace(tmp_path / "ws").samples[h]
    assert (s.path, s.drum_type, s.tags) == (str(dest.resolve()), "clap", ["big"])
    (tiny_library / "favourites").mkdir()                                   # a folder that names no type:
    dest = dest.rename(tiny_library / "favourites" / "best.wav")            # the type stays, the tags follow
    Workspace(tmp_path / "ws").ingest([tiny_library], progress=False)
    s = Workspace(tmp_path / "ws").samples[h]
    assert (s.path, s.drum_type, s.tags, s.group) == (str(dest.resolve()), "clap", ["favourites", "best"], "lib/favourites")
    # a link to a file that is gone is reported, not passed over
    os.symlink(tmp_path / "nowhere.wav", tiny_library / "kick" / "gone.wav")
    r = Workspace(tmp_path / "ws").ingest([tiny_library], progress=False)
    assert dict(r.skipped)[str(tiny_library / "kick" / "gone.wav")] == "a link to a file that is not there"
    # a copy beside a file that is still there is a duplicate, as before
    shutil.copy(dest, tiny_library / "clap" / "copy.wav")
    r = Workspace(tmp_path / "ws").ingest([tiny_library], progress=False)
    assert (r.moved, r.duplicates) == (0, 1) and Workspace(tmp_path / "ws").samples[h].path == str(dest.resolve())


def test_the_folder_ingested_gives_a_type_the_names_below_do_not(tmp_path, tiny_library, monkeypatch):
    kicks = tmp_path / "Samples" / "Kicks"
    shutil.copytree(tiny_library / "kick" / "808", kicks)                  # Kicks/Boom 1.wav ...
    shutil.copytree(tiny_library / "hihat" / "909", tmp_path / "Drums" / "Hats" / "Open" / "909")
    shutil.copytree(tiny_library / "kick" / "909", tmp_path / "Samples" / "Kicks2" / "909")
    ws = Workspace(tmp_path / "ws")
    ws.ingest([kicks, tmp_path / "Drums" / "Hats", tmp_path / "Samples" / "Kicks2" / "909"], progress=False)
    ws.ingest([tiny_library / "hihat" / "808" / "tick_01.wav"], progress=False)         # one file: its folders
    assert ws.summary()["types"] == {"kick": 8, "open hat": 4, "hihat": 1}
    assert all(s.tags == ["boom"] for s in ws.samples.values() if s.drum_type == "kick" and "Kicks/" in s.path)
    # the home folder is no label: ~ of a user called Tom is no tom
    home = tmp_path / "home" / "tom"
    shutil.copytree(tiny_library / "kick" / "909", home / "FreePack")
    (home / "FreePack" / "Boom 1.wav").rename(home / "Vox Shot.wav")
    monkeypatch.setenv("HOME", str(home))
    ws = Workspace(tmp_path / "ws2")
    ws.ingest([home], progress=False)
    ws.ingest([home / "Vox Shot.wav"], progress=False)
    assert ws.summary()["types"] == {"unknown": 4}
    from pathlib import Path
    from drummy.library import _folder_names
    assert _folder_names(tmp_path / "media" / "tom" / "Pack") == ["Pack"]      # a drive mounted for Tom: no tom either
    def no_home():
        raise RuntimeError("Could not determine home directory.")
    monkeypatch.setattr(Path, "home", staticmethod(no_home))                  # a container with no home: no traceback
    assert _folder_names(home / "FreePack") == ["tom", "FreePack"]


def test_a_workspace_inside_the_folder_is_not_ingested_into_itself(tmp_path, tiny_library):
    ws = Workspace(tiny_library / "drummy-work")                        # `cd lib; drummy ingest .`
    ws.ingest([tiny_library], progress=False)
    (ws.root / "generated" / "kick").mkdir(parents=True)
    shutil.copy(ws.audio_path(sorted(ws.samples)[0]), ws.root / "generated" / "kick" / "kick_s0_01.wav")
    r = Workspace(ws.root).ingest([tiny_library], progress=False)
    assert (r.added, r.duplicates, r.unchanged) == (0, 0, 16)
    assert not any("drummy work" in s.tags for s in Workspace(ws.root).samples.values())
    ws = Workspace(ws.root)                                              # a library that took them in before:
    gen = str((ws.root / "generated" / "kick" / "kick_s0_01.wav").resolve())
    h = sorted(ws.samples)[0]
    copy = str(ws.audio_path(h).resolve())
    ws.files[copy] = {"hash": h}
    ws.samples[h].also_at.append(copy)
    ws.save()
    r = Workspace(ws.root).ingest([tiny_library], progress=False)      # its stored copies leave it
    assert r.removed == 1 and copy not in Workspace(ws.root).files and not Workspace(ws.root).samples[h].also_at
    r = Workspace(ws.root).ingest([tiny_library, ws.root / "generated"], progress=False)   # asked for by name:
    assert r.added + r.duplicates == 1 and gen in Workspace(ws.root).files                 # taken in, and only that
    assert not any("/audio/" in k for k in Workspace(ws.root).files)
    r = Workspace(ws.root).ingest([tiny_library], progress=False)        # and kept by the next ingest of the folder
    assert r.removed == 0 and gen in Workspace(ws.root).files


def test_an_included_sfz_file_is_part_of_its_kit_not_a_kit(tmp_path):
    kit = tmp_path / "Kit"
    write(kit / "samples" / "k.wav", kick(1))
    write(kit / "samples" / "h.wav", hat(1))
    (kit / "parts").mkdir()
    (kit / "parts" / "hats.sfz").write_text("<region> sample=$DIR/h.wav key=42\n")
    (kit / "kit.sfz").write_text('#define $DIR samples\n<region> sample=$DIR/k.wav key=36\n#include "parts/hats.sfz"\n')
    r = Workspace(tmp_path / "ws").ingest([kit], progress=False)
    assert (r.added, r.skipped) == (2, [])
    assert Workspace(tmp_path / "ws").summary()["types"] == {"kick": 1, "hihat": 1}


def test_a_folder_whose_name_ends_in_sfz_is_a_folder(tmp_path, tiny_library):
    pack = tmp_path / "Pack.sfz"
    shutil.copytree(tiny_library, pack)
    ws = Workspace(tmp_path / "ws")
    r = ws.ingest([pack], progress=False)
    assert (r.added, r.skipped) == (16, [])


def test_ctrl_c_during_the_analysis_keeps_the_hits_analysed(tmp_path, tiny_library, monkeypatch):
    from safetensors import safe_open
    from drummy import codec
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    monkeypatch.setattr(codec, "analyse", interrupt_at(4, codec.analyse))    # Ctrl-C during hit 4
    with pytest.raises(KeyboardInterrupt):
        ws.codes(sorted(ws.samples), progress=False)
    with safe_open(str(ws.codes_path), "np") as f:
        assert len(json.loads(f.metadata()["hashes"])) == 3


def test_a_deleted_file_leaves_the_library_when_its_folder_is_ingested_again(tmp_path, tiny_library):
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    gone = tiny_library / "kick" / "909" / "Boom 2.wav"
    gone.unlink()
    r = Workspace(tmp_path / "ws").ingest([tiny_library / "hihat"], progress=False)   # another folder: kept
    assert r.removed == 0 and len(Workspace(tmp_path / "ws").samples) == 16
    r = Workspace(tmp_path / "ws").ingest([tiny_library], progress=False)
    ws = Workspace(tmp_path / "ws")
    assert (r.removed, r.added, r.unchanged) == (1, 0, 15)
    assert len(ws.samples) == 15 and str(gone.resolve()) not in ws.files
    assert str(gone.resolve()) not in {s.path for s in ws.samples.values()}
    assert ws.summary()["types"] == {"kick": 7, "hihat": 8}


def test_a_file_name_that_is_not_utf8_is_ingested_and_listed(tmp_path, tiny_library, capsys):
    from drummy.cli import main
    odd = os.path.join(os.fsencode(tiny_library / "kick"), b"k\xff\xfe 1.wav")     # as old zips unpack
    shutil.copy(tiny_library / "kick" / "808" / "Boom 1.wav", odd)
    shutil.copy(tiny_library / "hihat" / "808" / "tick_01.wav", odd.replace(b"k\xff", b"h\xff"))
    os.remove(tiny_library / "hihat" / "808" / "tick_01.wav")                      # not a duplicate now
    assert main(["ingest", str(tiny_library), "-w", str(tmp_path / "ws")]) == 0
    assert "added 16" in capsys.readouterr().out
    ws = Workspace(tmp_path / "ws")
    paths = {s.path for s in ws.samples.values()}
    assert os.fsdecode(odd.replace(b"k\xff", b"h\xff")) in paths
    assert main(["library", "-w", str(tmp_path / "ws"), "--json"]) == 0
    assert "\\udcff" in capsys.readouterr().out                          # escaped, not a traceback
    from drummy import audio
    assert len(audio.load(os.fsdecode(odd))) > 1000                             # what beat and export-kit read with


def test_bad_files_are_skipped_with_reasons_and_import_goes_on(tmp_path, tiny_library):
    bad = tiny_library / "junk"
    write(bad / "silent.wav", np.zeros(SR, np.float32))
    write(bad / "empty.wav", np.zeros(0, np.float32))
    write(bad / "nan.wav", np.full(1000, np.nan, np.float32), subtype="FLOAT")
    write(bad / "long.wav", np.zeros(SR * 31, np.int16))
    (bad / "text.wav").write_text("not audio")
    (bad / "README.txt").write_text("ignored: not an audio extension")
    write(bad / "flac_named_wav.wav", kick(7), fmt="FLAC")  # wrong extension but real audio: kept
    write(bad / "apple.caf", kick(9), fmt="CAF")            # Apple's and Sound Forge's containers: kept
    write(bad / "long_take.w64", hat(9), fmt="W64")
    sf.write(bad / "voice note.opus", hat(11)[:4800], 48000, format="OGG", subtype="OPUS")   # Ogg Opus: kept
    write(bad / "loud.wav", kick(3) * 1e20, subtype="FLOAT")   # made every weight of a classifier NaN
    rate = write(bad / "bad rate.wav", kick(4))                 # a header's sample rate broken: resampled to nothing
    b = bytearray(rate.read_bytes())
    b[b.find(b"fmt ") + 12:b.find(b"fmt ") + 16] = (0x7FFFFFFF).to_bytes(4, "little")
    rate.write_bytes(bytes(b))
    ws = Workspace(tmp_path / "ws")
    r = ws.ingest([tiny_library], progress=False)
    reasons = {os.path.basename(p): why for p, why in r.skipped}
    assert set(reasons) == {"silent.wav", "empty.wav", "nan.wav", "long.wav", "text.wav", "loud.wav", "bad rate.wav"}
    assert "silent" in reasons["silent.wav"] and "empty" in reasons["empty.wav"]
    assert "nan" in reasons["nan.wav"].lower() and "too long" in reasons["long.wav"]
    assert "absurd level" in reasons["loud.wav"] and "sample rate of 2147483647 Hz" in reasons["bad rate.wav"]
    assert r.added == 20
    assert {x["path"].split("/")[-1] for x in ws.summary()["skipped"]} == set(reasons)


def test_a_pack_left_zipped_is_named_not_lost_unsaid(tmp_path, tiny_library):
    import zipfile
    with zipfile.ZipFile(tiny_library / "Snare Pack.zip", "w") as z:
        z.write(write(tmp_path / "s.wav", hat(1)), "Snares/s.wav")
    (tiny_library / "Hydrogen Kit.h2drumkit").write_bytes(b"\x1f\x8b not unpacked")
    ws = Workspace(tmp_path / "ws")
    r = ws.ingest([tiny_library], progress=False)
    reasons = {os.path.basename(p): why for p, why in r.skipped}
    assert set(reasons) == {"Snare Pack.zip", "Hydrogen Kit.h2drumkit"} and all("unpack it" in w for w in reasons.values())
    assert r.added == len(list(tiny_library.rglob("*.wav")))              # the folder's samples, as without them
    r = ws.ingest([tiny_library / "Snare Pack.zip"], progress=False)     # given by name: the same word
    assert [why for _, why in r.skipped] == [library.ARCHIVE]


def test_a_broken_kit_file_is_skipped_and_the_import_goes_on(tmp_path, tiny_library):
    bad = tiny_library / "old_kits" / "broken"
    bad.mkdir(parents=True)
    (bad / "drumkit.xml").write_text("<drumkit_info><name>Half")          # truncated XML
    write(bad / "snare_1.wav", kick(7))                                   # its layer: labelled by path
    extra = tmp_path / "more"
    write(extra / "kick" / "solo.wav", kick(8))
    ws = Workspace(tmp_path / "ws")
    report = ws.ingest([tiny_library, extra, bad / "drumkit.xml"], progress=False)
    reasons = dict(report.skipped)
    assert "not a readable drumkit.xml" in reasons[str(bad.resolve() / "drumkit.xml")]
    assert report.added == 16 + 1 + 1
    assert {s.drum_type for s in ws.samples.values()} == {"kick", "hihat", "snare"}
    # `library` lists it with the files, and an empty .sfz is skipped too, not passed over
    (extra / "empty.sfz").write_text("")
    report = Workspace(tmp_path / "ws").ingest([extra], progress=False)
    assert "no <region>" in dict(report.skipped)[str((extra / "empty.sfz").resolve())]
    listed = {x["path"]: x["reason"] for x in Workspace(tmp_path / "ws").summary()["skipped"]}
    assert str(bad.resolve() / "drumkit.xml") in listed and str((extra / "empty.sfz").resolve()) in listed
    # ... until it can be read
    (extra / "empty.sfz").write_text("<region> sample=kick/solo.wav key=36\n")
    Workspace(tmp_path / "ws").ingest([extra], progress=False)
    assert str((extra / "empty.sfz").resolve()) not in {x["path"] for x in Workspace(tmp_path / "ws").summary()["skipped"]}


def test_interrupted_ingest_resumes(tmp_path, tiny_library):
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library / "kick"], progress=False, save_every=1)
    # a crash here loses nothing written so far; the next run picks up the rest
    r = Workspace(tmp_path / "ws").ingest([tiny_library], progress=False)
    assert (r.added, r.unchanged) == (8, 8)


def test_hydrogen_and_sfz_kits_inside_a_tree(tmp_path):
    root = tmp_path / "kits"
    h = root / "MyHydrogen"
    write(h / "a.wav", kick(1))
    write(h / "b.wav", hat(1))
    (h / "drumkit.xml").write_text(
        '<drumkit_info xmlns="http://www.hydrogen-music.org/drumkit"><name>MyHydrogen</name><instrumentList>'
        '<instrument><name>Bass Drum</name><layer><filename>a.wav</filename></layer></instrument>'
        '<instrument><name>Closed HH</name><layer><filename>b.wav</filename></layer></instrument>'
        '<instrument><name>Crash</name><layer><filename>missing.wav</filename></layer></instrument>'
        '</instrumentList></drumkit_info>')
    s = root / "sfzkit"
    write(s / "s" / "x.flac", kick(2), fmt="FLAC")
    write(s / "s" / "y.flac", hat(2), fmt="FLAC")
    (s / "drums.sfz").write_text("<control> default_path=s/\n<region> sample=x.flac key=36\n<region> sample=y.flac key=46\n")
    ws = Workspace(tmp_path / "ws")
    r = ws.ingest([root], progress=False)
    got = {os.path.basename(x.path): (x.drum_type, x.kit, x.group) for x in ws.samples.values()}
    assert got == {"a.wav": ("kick", "MyHydrogen", "kit:MyHydrogen"), "b.wav": ("hihat", "MyHydrogen", "kit:MyHydrogen"),
                   "x.flac": ("kick", "drums", "kit:drums"), "y.flac": ("open hat", "drums", "kit:drums")}
    assert [os.path.basename(p) for p, _ in r.skipped] == ["missing.wav"]
    write(h / "c.wav", hat(7, seconds=0.3))                               # an instrument with no type in its name
    xml = (h / "drumkit.xml").read_text().replace(
        "</instrumentList>", "<instrument><name>Thing</name><layer><filename>c.wav</filename></layer></instrument></instrumentList>")
    (h / "drumkit.xml").write_text(xml)
    Workspace(tmp_path / "ws").ingest([root], progress=False)
    (h / "drumkit.xml").write_text(xml.replace("<name>MyHydrogen</name>", "<name>Renamed</name>"))
    Workspace(tmp_path / "ws").ingest([root], progress=False)            # the kit renamed: every sample follows
    got = {os.path.basename(x.path): (x.drum_type, x.kit, x.group) for x in Workspace(tmp_path / "ws").samples.values()}
    assert got["c.wav"] == ("unknown", "Renamed", "kit:Renamed") and got["a.wav"] == ("kick", "Renamed", "kit:Renamed")


def test_library_json_is_valid_and_atomic(tmp_path, tiny_library):
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    data = json.loads((tmp_path / "ws" / "library.json").read_text())
    assert len(data["samples"]) == 16
    assert not [p for p in (tmp_path / "ws").iterdir() if p.name.startswith(".") and p.name != ".lock"]   # no temp file left
    for damage in ('{"samples": [1, 2]}', '{"samples": {"a": 1}, "files": {}}', "[]", "{", "",
                   '{"samples": {}, "files": []}'):                                  # edited or cut short
        (tmp_path / "ws" / "library.json").write_text(damage)
        with pytest.raises(LibraryError, match="is damaged .*; delete that file and ingest your folders again"):
            Workspace(tmp_path / "ws")


def test_a_library_from_a_newer_drummy_is_refused_not_rewritten(tmp_path, tiny_library):
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    path = tmp_path / "ws" / "library.json"
    data = json.loads(path.read_text())
    assert data["version"] == LIBRARY_VERSION
    data["version"] = LIBRARY_VERSION + 1
    for s in data["samples"].values():
        s["something_new"] = 1
    path.write_text(json.dumps(data))
    before = path.read_bytes()
    with pytest.raises(LibraryError, match="newer Drummy"):
        Workspace(tmp_path / "ws")
    with pytest.raises(LibraryError, match="newer Drummy"):
        Workspace(tmp_path / "ws").ingest([tiny_library], progress=False)
    assert path.read_bytes() == before
    data["version"] = 1                                       # an older library (before `own` / `copies`) still loads
    for s in data["samples"].values():
        del s["something_new"], s["own"], s["copies"]
    path.write_text(json.dumps(data))
    assert len(Workspace(tmp_path / "ws").samples) == 16


def test_codes_on_a_read_only_workspace_is_a_clear_error(tmp_path, tiny_library):
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    hashes = sorted(ws.samples)[:2]
    # Read-only even for root: the immutable attribute where the filesystem has it, else permissions.
    locked = subprocess.run(["chattr", "+i", str(ws.root)], capture_output=True).returncode == 0
    if not locked:
        if os.geteuid() == 0:
            pytest.skip("no chattr here, and root can write anywhere")
        ws.root.chmod(0o500)
    try:
        with pytest.raises(LibraryError, match="not writable"):
            ws.codes(hashes, progress=False)         # nothing cached yet: it would have to write
    finally:
        subprocess.run(["chattr", "-i", str(ws.root)], capture_output=True) if locked else ws.root.chmod(0o700)
    code, ctl = ws.codes(hashes, progress=False)     # writable again: analysed and cached
    assert code.shape[0] == 2 and ws.codes_path.exists()


def test_a_second_command_changing_the_library_at_once_is_told_to_wait(tmp_path, tiny_library):
    """Two ingests at once each saved the library as they had read it: one lost the
    other's samples. Now the workspace is held while one changes it, and read afresh."""
    stale = Workspace(tmp_path / "ws")                      # read before the other command saved
    with Workspace(tmp_path / "ws").writing():
        with pytest.raises(LibraryError, match="is busy"):
            Workspace(tmp_path / "ws").ingest([tiny_library], progress=False)
    Workspace(tmp_path / "ws").ingest([tiny_library], progress=False)
    from drummy.train import TrainConfig, train_classifier
    with Workspace(tmp_path / "ws").writing():             # a training waits for the ingest too
        with pytest.raises(LibraryError, match="is busy"):
            train_classifier(Workspace(tmp_path / "ws"), TrainConfig(max_steps=1, members=1), progress=False)
    r = stale.ingest([tiny_library], progress=False)
    assert (r.added, r.unchanged) == (0, 16)
    assert Workspace(tmp_path / "ws").summary()["types"] == {"kick": 8, "hihat": 8}


def test_a_busy_workspace_names_the_command_holding_it(tmp_path, tiny_library, monkeypatch):
    """A producer with two terminals was told only "another drummy command" is working: not
    whether it was a training with minutes to go, or a command left hanging in a window."""
    monkeypatch.setattr(library, "COMMAND", "drummy train vae -w ws")
    with Workspace(tmp_path / "ws").writing():
        with pytest.raises(LibraryError, match=rf"busy: `drummy train vae -w ws` \(pid {os.getpid()}, since "
                                               rf"\d\d:\d\d\) is working on it"):
            Workspace(tmp_path / "ws").ingest([tiny_library], progress=False)
        lock = tmp_path / "ws" / ".lock"                        # one left hanging since yesterday says so
        rec = json.loads(lock.read_text())
        lock.write_text(json.dumps({**rec, "since": rec["since"] - 86400}))
        day = time.strftime("%a %d %b", time.localtime(rec["since"] - 86400))
        with pytest.raises(LibraryError, match=rf"\(pid {os.getpid()}, since {day} \d\d:\d\d\) is working on it"):
            Workspace(tmp_path / "ws").ingest([tiny_library], progress=False)
    (tmp_path / "ws" / ".lock").write_text("not a record")      # a lock written before the record
    with open(tmp_path / "ws" / ".lock") as f:
        import fcntl
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(LibraryError, match=r"busy: another drummy command \(an ingest or a training\)"):
            Workspace(tmp_path / "ws").ingest([tiny_library], progress=False)
    Workspace(tmp_path / "ws").ingest([tiny_library], progress=False)      # free again: it goes ahead


def test_the_command_line_names_itself_for_the_lock(tmp_path, monkeypatch):
    from drummy.cli import main
    monkeypatch.setattr(library, "COMMAND", None)
    assert main(["library", "-w", str(tmp_path / "my ws")]) != 0        # (no workspace there: refused, but named)
    assert library.COMMAND == f"drummy library -w '{tmp_path / 'my ws'}'"


def test_a_copy_gives_its_type_and_tags_to_an_unlabelled_first_file(tmp_path):
    clap = write(tmp_path / "lib" / "A Unsorted" / "x1.wav", hat(5, seconds=0.3))
    (tmp_path / "lib" / "Claps" / "Boom Bap").mkdir(parents=True)
    (tmp_path / "lib" / "Claps" / "Boom Bap" / "Clap Big.wav").write_bytes(clap.read_bytes())
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tmp_path / "lib"], progress=False)
    (s,) = ws.samples.values()
    assert s.path.endswith("x1.wav") and s.drum_type == "clap" and {"boom bap", "big"} <= set(s.tags)
    Workspace(tmp_path / "ws").ingest([tmp_path / "lib"], progress=False)          # and keeps them next time
    (s,) = Workspace(tmp_path / "ws").samples.values()
    assert s.drum_type == "clap" and {"boom bap", "big"} <= set(s.tags)


def test_ingesting_a_sub_folder_again_keeps_the_labels_from_above(tmp_path):
    write(tmp_path / "lib" / "Acoustic Collection" / "Kicks" / "Deep.wav", kick(1))
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tmp_path / "lib"], progress=False)
    before = [(s.drum_type, s.tags, s.kit, s.group) for s in ws.samples.values()]
    assert before[0][1] == ["acoustic collection", "deep"]
    ws.ingest([tmp_path / "lib" / "Acoustic Collection" / "Kicks"], progress=False)
    assert [(s.drum_type, s.tags, s.kit, s.group) for s in ws.samples.values()] == before


def test_loops_and_system_folders_stay_out_and_linked_folders_come_in(tmp_path):
    lib = tmp_path / "lib"
    write(lib / "Kicks" / "Deep.wav", kick(1))
    loop = np.zeros(SR * 4, np.float32)
    for k in range(8):                                                   # eight kicks, half a second apart
        loop[k * SR // 2: k * SR // 2 + len(kick(k))] += kick(k)
    write(lib / "Kicks" / "Deep Groove 120.wav", loop)                  # a loop by its sound
    write(lib / "Loops" / "Kick 1.wav", kick(2))                        # a loop by its folder's name
    for junk in ("__MACOSX", ".Trashes", "@eaDir"):
        write(lib / junk / "Kick 9.wav", kick(9))
    elsewhere = write(tmp_path / "elsewhere" / "Claps" / "Clap 1.wav", hat(3, seconds=0.3)).parent
    (lib / "Linked Claps").symlink_to(elsewhere)
    (lib / "Kicks" / "back up").symlink_to(lib)                         # a link back up is followed once
    (lib / "Kicks" / "all of it").symlink_to(tmp_path)                  # one above the library: not at all
    (elsewhere / "up").symlink_to(tmp_path)                              # ... nor from inside a linked folder
    write(tmp_path / "other library" / "Snare.wav", kick(5))
    ws = Workspace(tmp_path / "ws")
    r = ws.ingest([lib], progress=False)
    names = sorted(Path(s.path).name for s in ws.samples.values())
    assert names == ["Clap 1.wav", "Deep.wav"]
    reasons = {Path(p).name: why for p, why in r.skipped}
    assert reasons["all of it"] == reasons["up"] == "a link to a folder that holds the one ingested: not followed"
    assert reasons["Deep Groove 120.wav"].startswith("several hits (8 over 3.5 s)")
    assert reasons["Kick 1.wav"] == "a loop by its name: Drummy learns one-shots"
    assert "Kick 9.wav" not in reasons
    clap = next(s for s in ws.samples.values() if s.path.endswith("Clap 1.wav"))
    assert clap.drum_type == "clap" and "linked" in clap.tags
    # a kit's own sample is what the kit plays, even several hits long
    (lib / "Kit").mkdir()
    write(lib / "Kit" / "roll.wav", loop)
    (lib / "Kit" / "k.sfz").write_text("<region> sample=roll.wav key=38\n")
    ws.ingest([lib], progress=False)
    assert any(s.path.endswith("roll.wav") and s.drum_type == "snare" for s in ws.samples.values())


def test_links_are_labelled_by_the_real_path_and_ingest_again_cleanly(tmp_path):
    lib = tmp_path / "lib"
    write(lib / "Snares" / "Crack.wav", kick(3))
    (lib / "Best Of").symlink_to(lib / "Snares")                      # sorts first; the real folder still labels
    elsewhere = write(tmp_path / "far" / "c.wav", hat(4, seconds=0.3)).parent
    (lib / "Packs" / "Vendor").mkdir(parents=True)
    (lib / "Packs" / "Vendor" / "Claps").symlink_to(elsewhere)
    ws = Workspace(tmp_path / "ws")
    ws.ingest([lib], progress=False)
    crack = next(s for s in ws.samples.values() if s.path.endswith("Crack.wav"))
    assert crack.drum_type == "snare" and crack.group.endswith("lib/Snares")
    again = ws.ingest([lib], progress=False)                          # a linked file's path is its target's
    assert (again.added, again.unchanged) == (0, 2)
    (elsewhere / "c.wav").unlink()                                     # a file reached through a link can go
    assert ws.ingest([lib], progress=False).removed == 1 and len(ws.samples) == 1



def test_a_removed_link_takes_its_files_along_unless_they_were_ingested_themselves(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    far = write(tmp_path / "far" / "Claps" / "c.wav", hat(4, seconds=0.3)).parent
    (lib / "Claps").symlink_to(far)
    ws = Workspace(tmp_path / "ws")
    ws.ingest([lib], progress=False)
    assert len(ws.samples) == 1
    (lib / "Claps").unlink()                                           # the link goes, its target stays
    assert ws.ingest([lib], progress=False).removed == 1 and len(Workspace(ws.root).samples) == 0
    # the same folder ingested on its own as well: removing the link under lib keeps it
    (lib / "Claps").symlink_to(far)
    ws.ingest([lib], progress=False)
    ws.ingest([far], progress=False)
    (lib / "Claps").unlink()
    assert ws.ingest([lib], progress=False).removed == 0 and len(Workspace(ws.root).samples) == 1


def test_a_pack_named_loops_keeps_its_one_shots(tmp_path):
    lib = tmp_path / "Drum Loops & One Shots"
    write(lib / "One Shots" / "Kicks" / "Kick 1.wav", kick(1))
    write(lib / "Loops" / "Kick 2.wav", kick(2))
    ws = Workspace(tmp_path / "ws")
    r = ws.ingest([lib], progress=False)
    assert [Path(s.path).name for s in ws.samples.values()] == ["Kick 1.wav"] and len(r.skipped) == 1
    # a pack's name says nothing of what is in it: these one-shots were left out as loops
    for i, folder in enumerate(["Loops Pack/Kicks", "Loop Masters Free Pack/Drum Hits/Kicks", "Loops Vol 2/Kicks"]):
        write(tmp_path / "packs" / folder / "Kick 3.wav", kick(10 + i))
    write(tmp_path / "packs" / "Loops Pack" / "Loops" / "Kick 4.wav", kick(20))    # ... but its Loops folder does
    write(tmp_path / "packs" / "Drum Loops" / "Kick 5.wav", kick(21))
    for folder in ("Free Drum Loops", "Loops Collection", "Loops Vol 2"):      # a pack's name over files: loops
        write(tmp_path / "packs" / folder / "groove 01.wav", kick(30 + len(folder)))
    r = ws.ingest([tmp_path / "packs"], progress=False)
    assert len(ws.samples) == 4 and sorted(Path(p).name for p, _ in r.skipped) == [
        "Kick 4.wav", "Kick 5.wav", "groove 01.wav", "groove 01.wav", "groove 01.wav"]


def test_what_a_copy_gave_goes_with_it(tmp_path):
    x = write(tmp_path / "lib" / "A Unsorted" / "x1.wav", kick(6))
    copy = tmp_path / "lib" / "Snares" / "Crack Trash.wav"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(x.read_bytes())
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tmp_path / "lib"], progress=False)
    assert next(iter(ws.samples.values())).drum_type == "snare"
    copy.unlink()                                                      # filed there by mistake
    ws.ingest([tmp_path / "lib"], progress=False)
    (s,) = ws.samples.values()
    assert s.drum_type == "unknown" and "crack trash" not in s.tags


def test_labels_from_copies_follow_the_copies_through_partial_ingests(tmp_path):
    a = write(tmp_path / "A" / "x1.wav", kick(7))
    b = tmp_path / "B" / "Snares" / "Crack.wav"
    b.parent.mkdir(parents=True)
    b.write_bytes(a.read_bytes())
    ws = Workspace(tmp_path / "ws")
    for folder in ("A", "B", "A"):                        # the copy lives elsewhere: ingesting A again keeps it
        ws.ingest([tmp_path / folder], progress=False)
    (s,) = ws.samples.values()
    assert s.drum_type == "snare" and "crack" in s.tags
    b.unlink()                                              # and when it goes, what it gave goes
    ws.ingest([tmp_path / "B"], progress=False)
    (s,) = ws.samples.values()
    assert s.drum_type == "unknown" and "crack" not in s.tags


def test_deleting_the_labelled_first_file_relabels_from_its_copy_at_once(tmp_path):
    crack = write(tmp_path / "lib" / "Snares" / "Crack.wav", kick(8))
    (tmp_path / "lib" / "Unsorted").mkdir()
    (tmp_path / "lib" / "Unsorted" / "x1.wav").write_bytes(crack.read_bytes())
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tmp_path / "lib"], progress=False)
    crack.unlink()
    ws.ingest([tmp_path / "lib"], progress=False)
    (s,) = ws.samples.values()
    assert s.path.endswith("x1.wav") and s.drum_type == "unknown" and "crack" not in s.tags


def test_a_kit_file_that_fails_once_does_not_wipe_its_samples_types(tmp_path):
    kit = tmp_path / "kit"
    write(kit / "s" / "a1.wav", kick(1))
    write(kit / "s" / "a2.wav", hat(2))
    (kit / "k.sfz").write_text("<region> sample=s/a1.wav key=36\n<region> sample=s/a2.wav key=42\n")
    ws = Workspace(tmp_path / "ws")
    ws.ingest([kit], progress=False)
    (kit / "k.sfz").write_text("")
    ws.ingest([kit], progress=False)
    assert sorted(s.drum_type for s in ws.samples.values()) == ["hihat", "kick"]


def test_loop_folders_by_their_nearest_name(tmp_path):
    lib = tmp_path / "House Pack"
    write(lib / "Loops" / "Kicks" / "Kick 01.wav", kick(1))                       # Loops/<type>/: loops
    write(lib / "Producer Loops - Trap Essentials" / "Snares" / "Snare 1.wav", kick(2))   # a vendor's name: not
    write(lib / "Drum Loops" / "One Shots" / "Hat.wav", hat(3))                    # one-shots inside loops: not
    ws = Workspace(tmp_path / "ws")
    r = ws.ingest([lib], progress=False)
    assert sorted(Path(s.path).name for s in ws.samples.values()) == ["Hat.wav", "Snare 1.wav"]
    assert [Path(p).name for p, _ in r.skipped] == ["Kick 01.wav"]


def test_a_dangling_link_lets_the_file_it_pointed_at_go(tmp_path):
    far = write(tmp_path / "far" / "k.wav", kick(4))
    (tmp_path / "lib" / "Kicks").mkdir(parents=True)
    (tmp_path / "lib" / "Kicks" / "k.wav").symlink_to(far)
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tmp_path / "lib"], progress=False)
    assert len(ws.samples) == 1
    write(far.parent / "other.wav", hat(5))                            # its neighbour, ingested on its own
    ws.ingest([far.parent / "other.wav"], progress=False)
    far.parent.rename(tmp_path / "unplugged")                          # the drive is gone: the link dangles
    r = ws.ingest([tmp_path / "lib"], progress=False)
    assert r.removed == 1 and [Path(s.path).name for s in ws.samples.values()] == ["other.wav"]   # only its file


def test_ingest_workers_leave_ctrl_c_to_the_main_process():
    # a terminal's Ctrl-C reaches every process of its group; a worker stopped half-way
    # left the pool's queues locked and the ingest hung (1 in 8 tries)
    import sys
    code = ("import os, signal; from drummy.library import _worker; _worker(os.getppid(), None); "
            "print(all(signal.getsignal(s) is signal.SIG_IGN for s in (signal.SIGINT, signal.SIGTERM)))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.strip() == "True", r.stderr


def _ingesting(tmp_path: Path) -> tuple[subprocess.Popen, list[int]]:
    """`drummy ingest` of 240 files, in its own process group (as a terminal runs it),
    once its worker processes are decoding: (the process, its workers' pids)."""
    import sys
    import time
    for i in range(240):
        write(tmp_path / "lib" / ("Kicks" if i % 2 else "Hats") / f"h{i:03d}.wav", kick(i) if i % 2 else hat(i))
    with open(tmp_path / "err.txt", "w") as err:
        p = subprocess.Popen([sys.executable, "-m", "drummy", "ingest", str(tmp_path / "lib"), "-w", str(tmp_path / "ws"),
                              "--jobs", "2"], start_new_session=True, stdout=subprocess.DEVNULL, stderr=err,
                             preexec_fn=ctrl_c_default)
    t0, workers = time.time(), []
    while len(workers) < 2 and p.poll() is None and time.time() - t0 < 60:
        time.sleep(0.02)
        try:
            workers = [int(c) for t in Path(f"/proc/{p.pid}/task").glob("*") for c in (t / "children").read_text().split()]
        except FileNotFoundError:              # a thread gone between the two looks
            continue
    time.sleep(0.3)
    assert p.poll() is None, "the ingest ended before it could be interrupted"
    return p, workers


def _gone(pids: list[int], seconds: float = 10.0) -> bool:
    import time
    t0 = time.time()
    while time.time() - t0 < seconds:
        try:
            states = [Path(f"/proc/{pid}/stat").read_text().split()[2] for pid in pids if Path(f"/proc/{pid}").exists()]
        except OSError:                                 # gone between the two looks
            continue
        if all(s == "Z" for s in states):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not list(Path("/proc/self/task").glob("*/children")), reason="reads the process tree from /proc")
@pytest.mark.parametrize("gap", [0.005, 0.1])
def test_a_second_ctrl_c_during_ingest_waits_for_the_save(tmp_path, gap):
    # it broke into the pool's shutdown: nothing was saved though the message said so, and the ingest hung for good
    import signal
    import time
    p, workers = _ingesting(tmp_path)
    try:
        os.killpg(p.pid, signal.SIGINT)
        time.sleep(gap)
        os.killpg(p.pid, signal.SIGINT)
        assert p.wait(timeout=60) == 130
    finally:
        os.killpg(p.pid, signal.SIGKILL) if p.poll() is None else None
    assert "work done so far is saved" in (tmp_path / "err.txt").read_text()
    assert (tmp_path / "ws" / "library.json").exists() and len(Workspace(tmp_path / "ws").samples) < 240
    assert _gone(workers)


@pytest.mark.skipif(not list(Path("/proc/self/task").glob("*/children")), reason="reads the process tree from /proc")
def test_a_stopped_ingest_saves_and_a_killed_one_leaves_no_workers_holding_the_workspace(tmp_path):
    import signal
    p, workers = _ingesting(tmp_path)
    os.kill(p.pid, signal.SIGTERM)                           # a service stopping: saved as for Ctrl-C
    assert p.wait(timeout=60) == 128 + signal.SIGTERM and _gone(workers)
    assert (tmp_path / "ws" / "library.json").exists() and len(Workspace(tmp_path / "ws").samples) < 240
    shutil.rmtree(tmp_path / "ws")
    p, workers = _ingesting(tmp_path)
    os.kill(p.pid, signal.SIGKILL)                           # they waited for work for good, and held the lock
    p.wait()
    assert _gone(workers)
    assert Workspace(tmp_path / "ws").ingest([tmp_path / "lib" / "Kicks" / "h001.wav"], progress=False).added == 1


def test_a_file_the_decoders_choke_on_is_skipped_and_the_import_goes_on(tmp_path, tiny_library, monkeypatch):
    from drummy import features
    real = features.log_mel
    def choke(y, *a, **k):
        if len(y) == int(0.15 * SR):       # the hats: a library's bug met on these files only
            raise ValueError("zero-size array to reduction operation maximum")
        return real(y, *a, **k)
    monkeypatch.setattr(features, "log_mel", choke)
    r = Workspace(tmp_path / "ws").ingest([tiny_library], progress=False, jobs=1)
    assert r.added == 8 and len(r.skipped) == 8
    assert all(why == "cannot decode audio (ValueError: zero-size array to reduction operation maximum)"
               for _, why in r.skipped)


def test_a_skip_for_a_passing_reason_or_under_older_rules_is_tried_again(tmp_path, tiny_library):
    """A chmod changes neither a file's size nor its date, nor does an upgrade that reads it."""
    from drummy import library
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    files = sorted(k for k in ws.files if ws.files[k].get("hash"))[:3]
    for key, reason, rules in zip(files, ["cannot read the file (Permission denied)", "silent (peak below -80 dBFS)",
                                          "silent (peak below -80 dBFS)"], [library.SKIP_RULES, None, library.SKIP_RULES]):
        ws._forget_path(key, ws.files[key]["hash"])
        entry = {k: v for k, v in ws.files[key].items() if k != "hash"}
        ws.files[key] = {**entry, "reason": reason, **({"rules": rules} if rules else {})}
    locked = tiny_library / "locked"
    locked.mkdir()
    ws.files[str(locked.resolve())] = {"reason": "cannot read this folder (Permission denied)"}
    ws.save()
    ws = Workspace(tmp_path / "ws")
    r = ws.ingest([tiny_library], progress=False)
    assert r.added == 2 and [k for k, _ in r.skipped] == [files[2]]     # today's rules, a lasting reason: still skipped
    assert str(locked.resolve()) not in ws.files and len(ws.summary()["skipped"]) == 1   # readable now: no skip


def test_a_sample_with_features_that_are_not_finite_is_left_out_of_training(tmp_path, tiny_library, capsys):
    from drummy.train import labelled
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    feats = ws._load_features()
    h = sorted(feats)[0]
    mel, desc = feats[h]
    feats[h] = (np.full_like(mel, np.nan), desc)        # taken in before ingest skipped absurd levels
    ws._features_changed = True
    ws._save_features()
    samples, _ = labelled(Workspace(tmp_path / "ws"))
    assert h not in {s.hash for s in samples} and len(samples) == 15
    assert "left out 1 sample whose features are not finite" in capsys.readouterr().err


def test_an_sfz_line_naming_a_file_with_a_nul_byte_does_not_stop_the_import(tmp_path):
    lib = tmp_path / "lib"
    write(lib / "kick.wav", kick(1))
    (lib / "kit.sfz").write_bytes(b"<region> sample=a\x00b.wav key=38\n<region> sample=kick.wav key=36\n")
    r = Workspace(tmp_path / "ws").ingest([lib], progress=False)
    assert r.added == 1 and r.skipped == [(str(lib.resolve() / "a<NUL>b.wav"), "not there, though kit.sfz names it")]  # listed, not lost
    (lib / "kit.sfz").write_bytes(b"<control> default_path=d\x00/\n<region> sample=kick.wav key=36\n")   # in the folder
    r = Workspace(tmp_path / "ws").ingest([lib], progress=False)
    assert (str(lib.resolve() / "d<NUL>" / "kick.wav"), "not there, though kit.sfz names it") in r.skipped


def test_the_samples_come_in_the_same_order_however_they_were_ingested(tmp_path, tiny_library):
    a, b = Workspace(tmp_path / "a"), Workspace(tmp_path / "b")
    a.ingest([tiny_library], progress=False)
    b.ingest([tiny_library / "kick"], progress=False)
    b.ingest([tiny_library / "hihat"], progress=False)
    assert list(a.samples) != list(b.samples)                     # stored in the order they came
    assert [s.hash for s in a.require_samples()] == [s.hash for s in b.require_samples()]


def test_a_lost_or_cut_copy_in_the_store_is_named_and_the_next_ingest_repairs_it(tmp_path, tiny_library):
    # the error blamed the producer's own file, and ingest called it unchanged for good
    from drummy.audio import AudioError
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    (lost, s1), (cut, s2) = sorted(ws.samples.items())[:2]
    want = ws.load_audio(cut)
    ws.audio_path(lost).unlink()
    data = ws.audio_path(cut).read_bytes()
    ws.audio_path(cut).write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match=r"the workspace's copy of .* \(`drummy ingest` that file again to repair it\) "
                                         r"is damaged"):
        ws.load_audio(lost)
    with pytest.raises(AudioError, match=r"is damaged: .*: truncated"):
        ws.load_audio(cut)
    assert s1.path in str(pytest.raises(AudioError, ws.load_audio, lost).value)
    r = Workspace(tmp_path / "ws").ingest([tiny_library], progress=False)
    assert (r.repaired, r.unchanged, r.added) == (2, 14, 0)
    again = Workspace(tmp_path / "ws")
    assert np.array_equal(again.load_audio(cut), want) and len(again.load_audio(lost)) > 0
    assert Workspace(tmp_path / "ws").ingest([tiny_library], progress=False).unchanged == 16


def test_a_known_copy_read_again_is_not_a_new_duplicate(tmp_path, tiny_library):
    # repairing a sample's store copy read its second file again, and the report called it a duplicate
    shutil.copy(tiny_library / "kick" / "808" / "Boom 1.wav", tiny_library / "kick" / "808" / "Boom 1 copy.wav")
    ws = Workspace(tmp_path / "ws")
    assert ws.ingest([tiny_library], progress=False).duplicates == 1
    (h,) = [h for h, s in ws.samples.items() if s.also_at]
    ws.audio_path(h).unlink()
    r = Workspace(tmp_path / "ws").ingest([tiny_library], progress=False)
    assert (r.repaired, r.duplicates, r.added, r.unchanged) == (1, 0, 0, 16)    # every one of the 17 files counted once
    os.utime(tiny_library / "kick" / "808" / "Boom 1 copy.wav", ns=(1, 1))     # touched, the same sound
    os.utime(tiny_library / "kick" / "808" / "Boom 1.wav", ns=(1, 1))          # and the sample's own file
    r = Workspace(tmp_path / "ws").ingest([tiny_library], progress=False)
    assert (r.duplicates, r.added, r.unchanged) == (0, 0, 17)
    assert len(Workspace(tmp_path / "ws").samples[h].also_at) == 1
    # the copy (not the sample's own file) moved to another folder: a move, not a new duplicate
    # and a removal; it keeps its new folder's labels
    (copy,) = Workspace(tmp_path / "ws").samples[h].also_at
    moved = tiny_library / "kick" / "909" / Path(copy).name
    Path(copy).rename(moved)
    r = Workspace(tmp_path / "ws").ingest([tiny_library], progress=False)
    assert (r.moved, r.duplicates, r.removed, r.added) == (1, 0, 0, 0)
    s = Workspace(tmp_path / "ws").samples[h]
    assert s.also_at == [str(moved.resolve())] and "909" in s.tags


def test_a_full_disk_during_ingest_is_one_line_and_keeps_the_samples_read(small_disk, capsys):
    # safetensors' writer raised its own error type: a traceback, and the library was never saved
    from drummy.cli import main
    lib = small_disk.parent / "lib"
    for i in range(12):
        write(lib / "kick" / f"k{i}.wav", kick(i))            # 88 kB each in the store (float)
        write(lib / "hihat" / f"h{i}.wav", hat(i))
    assert subprocess.run(["mount", "-o", "remount,size=1200k", str(small_disk)]).returncode == 0
    assert main(["ingest", str(lib), "-w", str(small_disk / "ws"), "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert "No space left on device; make room and run the same command again" in err and "Traceback" not in err
    kept = len(Workspace(small_disk / "ws").samples)
    assert 0 < kept < 24
    assert subprocess.run(["mount", "-o", "remount,size=4m", str(small_disk)]).returncode == 0
    assert main(["ingest", str(lib), "-w", str(small_disk / "ws")]) == 0
    assert f"added {24 - kept}, duplicates 0, unchanged {kept}" in capsys.readouterr().out
    ws = Workspace(small_disk / "ws")
    assert ws.features()[0].shape[0] == 24


def _sliced_kit(folder: Path, seed: int = 0):
    """kit.sfz chopping loop.wav into a kick, a snare and a hat on GM keys 36/38/42 (the snare's
    slice from its <group>), and playing hat.wav whole on 46: the loop's audio and the hits' bounds."""
    from conftest import drum_loop
    y, (a, b, c, n) = drum_loop(folder / "loop.wav", seed)
    write(folder / "hat.wav", hat(3))
    (folder / "kit.sfz").write_text(f"<region> sample=loop.wav key=36 end={b - 1}\n"
                                    f"<group> offset={b} end={c - 1}\n<region> sample=loop.wav key=38\n"
                                    f"<group>\n<region> sample=loop.wav key=42 offset={c}\n"
                                    "<region> sample=hat.wav key=46\n")
    return y, (a, b, c, n)


def test_an_sfz_slicing_one_file_ingests_each_slice_as_a_sample(tmp_path, capsys, monkeypatch):
    from drummy import audio, library
    from drummy.cli import main
    kit = tmp_path / "kit"
    y, (a, b, c, n) = _sliced_kit(kit)
    ws = Workspace(tmp_path / "ws")
    r = ws.ingest([kit], progress=False)
    assert (r.added, r.skipped) == (4, [])
    loop = str((kit / "loop.wav").resolve())
    by_type = {s.drum_type: s for s in ws.samples.values()}
    assert {t: s.path for t, s in by_type.items()} == {
        "kick": f"{loop}#frames=0-{b}", "snare": f"{loop}#frames={b}-{c}", "hihat": f"{loop}#frames={c}-",
        "open hat": str((kit / "hat.wav").resolve())}                         # a whole file: its path, as ever
    centroid = features.DESCRIPTOR_NAMES.index("centroid_hz")
    bright = {}
    for t, (lo, hi) in {"kick": (a, b), "snare": (b, c), "hihat": (c, n)}.items():
        h = by_type[t].hash
        stored = audio.prepare(audio.trim_leading_silence(y[lo:hi]), peak_db=None, fade_ms=0)   # the slice, trimmed
        assert np.allclose(ws.load_audio(h), stored, atol=1e-7)
        bright[t] = ws.features([h])[1][0, centroid]
    assert bright["kick"] < 1000 < bright["snare"] < bright["hihat"]
    assert main(["library", "-w", str(tmp_path / "ws"), "--json"]) == 0
    listed = {x["path"] for x in json.loads(capsys.readouterr().out)["items"]}
    assert f"{loop}#frames={b}-{c}" in listed
    # ingested again, nothing is decoded
    monkeypatch.setattr(library, "_decode_job", lambda job: pytest.fail(f"decoded {job[0]} again"))
    r = Workspace(tmp_path / "ws").ingest([kit], progress=False, jobs=1)
    assert (r.added, r.unchanged, r.removed, r.skipped) == (0, 4, 0, [])


def test_slices_follow_their_file_and_their_regions(tmp_path):
    kit = tmp_path / "kit"
    _sliced_kit(kit)
    (kit / "kit.sfz").write_text("<region> sample=loop.wav key=36\n<region> sample=hat.wav key=46\n")   # the loop whole
    ws = Workspace(tmp_path / "ws")
    ws.ingest([kit], progress=False)
    _sliced_kit(kit)                                                        # ... now chopped: its whole sound goes
    r = Workspace(tmp_path / "ws").ingest([kit], progress=False)
    ws = Workspace(tmp_path / "ws")
    assert (r.added, r.removed, len(ws.samples)) == (3, 1, 4) and str((kit / "loop.wav").resolve()) not in ws.files
    y, (a, b, c, n) = _sliced_kit(kit, seed=5)                              # the file edited: its slices read again
    os.utime(kit / "loop.wav", ns=(1, 1))
    r = Workspace(tmp_path / "ws").ingest([kit], progress=False)
    ws = Workspace(tmp_path / "ws")
    assert (r.added, r.unchanged, len(ws.samples)) == (3, 1, 4)
    kick_ = next(s for s in ws.samples.values() if s.drum_type == "kick")
    from drummy import audio
    new_kick = audio.prepare(audio.trim_leading_silence(y[a:b]), peak_db=None, fade_ms=0)     # as the store holds it
    assert np.allclose(ws.load_audio(kick_.hash), new_kick, atol=1e-7)
    sfz = kit / "kit.sfz"
    sfz.write_text(sfz.read_text().replace("<region> sample=loop.wav key=38\n", ""))   # the snare's region removed
    r = Workspace(tmp_path / "ws").ingest([kit], progress=False)
    ws = Workspace(tmp_path / "ws")
    assert r.removed == 1 and sorted(s.drum_type for s in ws.samples.values()) == ["hihat", "kick", "open hat"]
    assert not any(f"#frames={b}-{c}" in k for k in ws.files)
    sfz.write_text(sfz.read_text().replace(f"<region> sample=loop.wav key=42 offset={c}\n", ""))
    r = Workspace(tmp_path / "ws").ingest([sfz], progress=False)             # so with the kit file ingested itself
    assert r.removed == 1 and sorted(s.drum_type for s in Workspace(tmp_path / "ws").samples.values()) == \
        ["kick", "open hat"]
    sfz.write_text("")                                                   # a kit file that fails once keeps its slices
    Workspace(tmp_path / "ws").ingest([kit], progress=False)
    assert kick_.path in {s.path for s in Workspace(tmp_path / "ws").samples.values()}


def test_bad_slices_are_skipped_with_reasons_and_the_import_goes_on(tmp_path):
    from conftest import drum_loop
    kit = tmp_path / "kit"
    y, (a, b, c, n) = drum_loop(kit / "loop.wav")
    (kit / "kit.sfz").write_text(
        f"<region> sample=loop.wav key=36 end={b - 1}\n"
        f"<region> sample=loop.wav key=38 offset={b} end={n + 5000}\n"          # past the file's end: to its end
        "<region> sample=loop.wav key=40 offset=abc\n<region> sample=loop.wav key=41 offset=-5\n"
        f"<region> sample=loop.wav key=42 offset={n + 10}\n<region> sample=loop.wav key=43 offset={c} end={b}\n"
        f"<region> sample=loop.wav key=44 offset={c} end={c + 99}\n")          # 100 frames: 2.3 ms
    ws = Workspace(tmp_path / "ws")
    r = ws.ingest([kit], progress=False)
    assert r.added == 2
    snare = next(s for s in ws.samples.values() if s.drum_type == "snare")
    assert snare.path.endswith(f"#frames={b}-") and snare.duration == pytest.approx((n - b) / SR, abs=0.002)
    reasons = {p.rsplit("#", 1)[1]: why for p, why in r.skipped}
    assert len(reasons) == 5 and all("\n" not in why for why in reasons.values())
    assert "whole numbers" in reasons["offset=abc"] and "below 0" in reasons["offset=-5"]
    assert f"starts at frame {n + 10}, past the file's end ({n} frames)" in reasons[f"frames={n + 10}-"]
    assert "plays nothing" in reasons[f"offset={c} end={b}"] and "too short" in reasons[f"frames={c}-{c + 100}"]
    assert {x["path"] for x in ws.summary()["skipped"]} == {p for p, _ in r.skipped}


def test_a_region_of_all_of_a_file_is_the_file_and_a_slice_leaves_other_folders_records_alone(tmp_path):
    # `offset=0 end=<its last frame>` (as converters write it) re-keyed an old workspace's file as a
    # slice; and ingesting a kit that slices a file took away the whole-file record another folder's
    # kit (or the file's own folder) kept, which came back on that folder's next ingest, labels lost
    from conftest import drum_loop
    shared = tmp_path / "shared"
    y, (a, b, c, n) = drum_loop(shared / "loop.wav")
    (tmp_path / "A").mkdir()
    (tmp_path / "A" / "a.sfz").write_text(f"<region> sample=../shared/loop.wav key=36 offset=0 end={n - 1}\n")
    (tmp_path / "B").mkdir()
    (tmp_path / "B" / "b.sfz").write_text(f"<region> sample=../shared/loop.wav key=36 end={b - 1}\n"
                                          f"<region> sample=../shared/loop.wav key=38 offset={b} end={c - 1}\n")
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tmp_path / "A"], progress=False)
    loop = str((shared / "loop.wav").resolve())
    assert list(ws.files) == [loop]                                     # all of it: the file itself
    ws.ingest([shared], progress=False)                                 # its own folder, loose: the same sample
    for _ in range(2):
        r = Workspace(tmp_path / "ws").ingest([tmp_path / "B"], progress=False)
        assert r.removed == 0
        r = Workspace(tmp_path / "ws").ingest([tmp_path / "A"], progress=False)
        assert (r.added, r.removed) == (0, 0)
    assert loop in Workspace(tmp_path / "ws").files


def test_a_slice_two_kits_play_stays_while_either_does(tmp_path):
    # a slice's record named one kit: when that kit dropped the region, the slice went though the
    # other kit still played it
    from conftest import drum_loop
    y, (a, b, c, n) = drum_loop(tmp_path / "shared" / "loop.wav")
    for name in ("K1", "K2"):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.sfz").write_text(f"<region> sample=../shared/loop.wav key=36 end={b - 1}\n"
                                                     f"<region> sample=../shared/loop.wav key=38 offset={b} end={c - 1}\n")
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tmp_path / "K1", tmp_path / "K2"], progress=False)
    snare_key = f"{(tmp_path / 'shared' / 'loop.wav').resolve()}#frames={b}-{c}"
    assert snare_key in ws.files
    k1 = tmp_path / "K1" / "K1.sfz"
    k1.write_text(k1.read_text().split("\n")[0] + "\n")                # K1 no longer plays the snare
    r = Workspace(tmp_path / "ws").ingest([tmp_path / "K1"], progress=False)
    assert r.removed == 0 and snare_key in Workspace(tmp_path / "ws").files
    k2 = tmp_path / "K2" / "K2.sfz"
    k2.write_text(k2.read_text().split("\n")[0] + "\n")                # ... nor K2: it goes
    r = Workspace(tmp_path / "ws").ingest([tmp_path / "K2"], progress=False)
    assert r.removed == 1 and snare_key not in Workspace(tmp_path / "ws").files


def test_a_bad_regions_reason_goes_once_its_kit_is_mended(tmp_path):
    # the reason stayed in `library`'s skipped list for good when the file was outside the folder ingested
    from conftest import drum_loop
    y, (a, b, c, n) = drum_loop(tmp_path / "shared" / "take.wav")
    kit = tmp_path / "K" / "k.sfz"
    kit.parent.mkdir()
    kit.write_text(f"<region> sample=../shared/take.wav key=36 end={b - 1}\n<region> sample=../shared/take.wav key=38 offset=abc\n")
    ws = Workspace(tmp_path / "ws")
    r = ws.ingest([kit.parent], progress=False)
    assert len(r.skipped) == 1 and any("offset=abc" in p for p, _ in ws.skipped)
    r = Workspace(tmp_path / "ws").ingest([kit.parent], progress=False)     # still bad: still listed
    assert any("offset=abc" in p for p, _ in Workspace(tmp_path / "ws").skipped)
    kit.write_text(f"<region> sample=../shared/take.wav key=36 end={b - 1}\n<region> sample=../shared/take.wav key=38 offset={b}\n")
    Workspace(tmp_path / "ws").ingest([kit.parent], progress=False)
    assert not any("offset=abc" in p for p, _ in Workspace(tmp_path / "ws").skipped)


def test_a_worker_that_crashes_stops_ingest_with_a_clear_error_not_a_hang(tmp_path):
    """A decoding worker died (a segfault in a forked worker); Python 3.11's pool then waited for
    the other worker for ever, itself blocked sending results no one read. Run in a subprocess,
    so that a hang is a failed test, not a stuck suite."""
    import subprocess
    import sys
    import textwrap
    from conftest import kick, write
    for i in range(40):
        write(tmp_path / "lib" / "kick" / f"k{i:02d}.wav", kick(i))
    code = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from drummy import library
        real = library._decode_job
        def crash(job):
            if job[0].name == "k05.wav":
                os.kill(os.getpid(), signal.SIGSEGV)
            return real(job)
        library._decode_job = crash
        try:
            library.Workspace({str(tmp_path / 'ws')!r}).ingest([{str(tmp_path / 'lib')!r}], progress=False, jobs=2)
        except library.LibraryError as e:
            print("ERROR", e)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "ERROR a worker decoding the files died" in out.stdout, out.stderr[-2000:]
    r = Workspace(tmp_path / "ws").ingest([tmp_path / "lib"], progress=False, jobs=2)    # run again: it goes on
    assert len(Workspace(tmp_path / "ws").samples) == 40 and not r.skipped


def test_ingest_compiles_librosas_numba_code_before_it_starts_its_workers(tmp_path, monkeypatch):
    # both workers compiling it at once raced on numba's cache and crashed one (numba#10128)
    from concurrent.futures import ProcessPoolExecutor
    from conftest import kick, write
    from drummy import features, library
    calls = []
    monkeypatch.setattr(features, "warm_up", lambda: calls.append(library.ProcessPoolExecutor))
    started = []
    monkeypatch.setattr(library, "ProcessPoolExecutor",
                        lambda *a, **k: started.append(len(calls)) or ProcessPoolExecutor(*a, **k))
    for i in range(20):
        write(tmp_path / "lib" / "kick" / f"k{i:02d}.wav", kick(i))
    assert Workspace(tmp_path / "ws").ingest([tmp_path / "lib"], progress=False, jobs=2).added == 20
    assert started == [1] and len(calls) == 1                          # warmed once, before the pool
    write(tmp_path / "lib" / "kick" / "new.wav", kick(99))
    assert Workspace(tmp_path / "ws").ingest([tmp_path / "lib"], progress=False, jobs=2).added == 1
    assert started == [1]                   # one new file: no workers (its features load numba's code, under the lock)


def test_a_copy_half_written_when_ingest_was_killed_is_cleared_by_the_next(tmp_path, tiny_library):
    # a kill -9 mid-write left audio/.55fe16cfa4270ef4.6yf3d0cg.wav in the store for good
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    half = ws.root / "audio" / ".55fe16cfa4270ef4.6yf3d0cg.wav"
    half.write_bytes(b"RIFF")
    other = ws.root / "audio" / ".notes.wav"                          # not a name Drummy writes: left alone
    other.write_bytes(b"x")
    ws.ingest([tiny_library], progress=False)
    assert not half.exists() and other.exists()


def test_the_store_is_no_folder_to_ingest_or_to_write_a_beat_to(tmp_path, tiny_library, capsys):
    # `ingest work/audio` read "added 0, skipped 0"; `beat -o work/audio/b.wav` wrote a beat among the copies
    from drummy.cli import main
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    with pytest.raises(LibraryError, match="is this workspace's sample store"):
        ws.ingest([ws.root / "audio"], progress=False)
    # `ingest ws -w ws` (a slip for `library -w ws`) took the workspace's generated hits into its library, unsaid
    write(ws.root / "generated" / "kick" / "kick_s0_01.wav", kick(55))
    with pytest.raises(LibraryError, match=r"is the workspace itself, not a folder of samples: .* ingest .*generated"):
        ws.ingest([tiny_library, tmp_path / "ws" / "."], progress=False)
    assert not any("/generated/" in k for k in Workspace(ws.root).files)
    beat, store, mine = ["beat", "-w", str(ws.root), "--pattern", "house", "--bars", "1"], ws.root / "audio", tmp_path / "b.wav"
    for extra in (["-o", str(store / "b.wav")], ["-o", str(mine), "--midi-out", str(store / "b.mid")],
                  ["-o", str(mine), "--stems", str(store / "stems")]):
        assert main(beat + extra) == 2
        assert f"{extra[-2]} {extra[-1]} is in the workspace's sample store" in capsys.readouterr().err
    assert sorted(p.suffix for p in (ws.root / "audio").iterdir()) == [".wav"] * 16


def test_another_workspace_among_the_samples_gives_no_copies(tmp_path):
    # a workspace made inside the sample folders (`ingest lib/Snares -w lib/Newws`) gave its stored
    # copies to the next `ingest lib -w ws` as new "unknown" samples, near-duplicates of the snares
    lib = tmp_path / "lib"
    for i in range(3):
        write(lib / "Snares" / f"snr {i}.wav", hat(40 + i, seconds=0.3))
        write(lib / "Kicks" / f"kick {i}.wav", kick(40 + i))
    Workspace(lib / "Newws").ingest([lib / "Snares"], progress=False)
    write(lib / "Newws" / "generated" / "kick" / "kick_s0_01.wav", kick(77))      # its generated hit
    ws = Workspace(tmp_path / "ws")
    r = ws.ingest([lib], progress=False)
    assert (r.added, r.duplicates) == (6, 0), r
    assert r.skipped == [(str((lib / "Newws").resolve()), library.OTHER_WORKSPACE)]   # said, not passed over unsaid
    assert not any("Newws" in x.path for x in ws.samples.values()) and sorted(ws.summary()["types"].items()) == [("kick", 3), ("snare", 3)]
    assert ws.ingest([lib / "Newws" / "generated"], progress=False).added == 1   # asked for by name: taken
    with pytest.raises(LibraryError, match="is the sample store of the Drummy workspace"):   # its copies: said so
        ws.ingest([lib / "Newws" / "audio"], progress=False)


def test_files_decoded_by_older_rules_are_decoded_again(tmp_path, tiny_library):
    # a copy of an offset file ingested after offsets were taken out got another hash than the file
    # ingested before: the library held one sound twice. Entries say the rules that decoded them
    import json
    from drummy.library import DECODE_RULES
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    manifest = json.loads(ws.manifest_path.read_text())
    assert {e["decode"] for e in manifest["files"].values()} == {DECODE_RULES}
    for e in manifest["files"].values():                              # as an older Drummy wrote them
        del e["decode"]
    ws.manifest_path.write_text(json.dumps(manifest))
    again = Workspace(ws.root)
    r = again.ingest([tiny_library], progress=False)
    assert r.unchanged == 16 and r.added == 0                         # the same sounds, decoded once more
    assert {e["decode"] for e in json.loads(ws.manifest_path.read_text())["files"].values()} == {DECODE_RULES}


def test_a_folder_of_the_producers_own_is_no_workspace(tmp_path, tiny_library):
    # `ingest lib -w lib` put the store, the caches and the models among the producer's samples
    with pytest.raises(LibraryError, match=r"is a folder of other files \(hihat, kick\), not one Drummy made"):
        Workspace(tiny_library).ingest([tiny_library], progress=False)
    assert sorted(p.name for p in tiny_library.iterdir()) == ["hihat", "kick"]
    (tmp_path / "empty").mkdir()                                      # a new folder, or a workspace, is fine
    for ws in (tmp_path / "empty", tmp_path / "empty"):
        assert Workspace(ws).ingest([tiny_library], progress=False).unchanged in (0, 16)
    # ... and so is one whose library.json was deleted, as a damaged one is told to, beside a beat of the producer's
    (tmp_path / "empty" / "beat.wav").write_bytes(b"")
    (tmp_path / "empty" / "library.json").unlink()
    assert Workspace(tmp_path / "empty").ingest([tiny_library], progress=False).added == 16


def test_an_offset_file_decoded_again_by_todays_rules_keeps_its_labels(tmp_path):
    # after the upgrade an offset file read as a new sample: "added 3", its predicted label lost, its old copy left
    import hashlib
    import json
    from drummy import audio
    y = np.concatenate([np.zeros(4410, np.float32), kick(3)]) + 0.03
    f = write(tmp_path / "lib" / "misc" / "thing.wav", y, subtype="FLOAT")
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tmp_path / "lib"], progress=False)
    (new,) = ws.samples
    old = hashlib.sha1(audio.load(f, offset=0.0).tobytes()).hexdigest()[:16]     # as the older rules decoded it
    assert old != new
    m = json.loads(ws.manifest_path.read_text())                      # the workspace as an older Drummy left it
    s = m["samples"].pop(new)
    m["samples"][old] = {**s, "hash": old, "drum_type": "clap", "predicted": True, "confidence": 0.8}
    for e in m["files"].values():
        e["hash"] = old
        del e["decode"]
    ws.manifest_path.write_text(json.dumps(m))
    ws.audio_path(new).rename(ws.audio_path(old))
    ws.features_path.unlink()
    again = Workspace(ws.root)
    r = again.ingest([tmp_path / "lib"], progress=False)
    assert (r.added, r.unchanged) == (0, 1)
    (s,) = again.samples.values()
    assert s.hash == new and (s.drum_type, s.predicted, s.confidence) == ("clap", True, 0.8)
    assert sorted(p.name for p in (ws.root / "audio").iterdir()) == [f"{new}.wav"]
    assert again.ingest([tmp_path / "lib"], progress=False).unchanged == 1


def test_an_ingest_with_nothing_new_writes_no_features_cache(tmp_path, tiny_library):
    # every ingest wrote the whole features cache again (135 MB for 6,000 samples), and a cold one wrote it
    # every 200 samples: 3.4 GB written for a 1.35 GB workspace
    lib = tmp_path / "mine"
    shutil.copytree(tiny_library, lib)
    ws = Workspace(tmp_path / "ws")
    ws.ingest([lib], progress=False)
    before = ws.features_path.stat()
    r = Workspace(tmp_path / "ws").ingest([lib], progress=False)
    after = ws.features_path.stat()
    assert r.added == 0 and (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    # a new file's features are written
    write(lib / "kick" / "new one.wav", kick(1, seconds=0.37))
    assert Workspace(tmp_path / "ws").ingest([lib], progress=False).added == 1
    ws = Workspace(tmp_path / "ws")
    assert ws.features_path.stat().st_ino != before.st_ino and len(ws._load_features()) == len(ws.samples)


def test_an_ingest_killed_outright_keeps_the_samples_read_before_it(tmp_path, tiny_library):
    # saving only on a timer, an ingest killed (-9) before its first minute kept no library at all
    import sys
    script = f"""
import os, signal
from drummy.library import Workspace
store, calls = Workspace._store, []
def store_then_die(self, *a):
    calls.append(1)
    if len(calls) == 7:
        os.kill(os.getpid(), signal.SIGKILL)
    return store(self, *a)
Workspace._store = store_then_die
Workspace({str(tmp_path / "ws")!r}).ingest([{str(tiny_library)!r}], progress=False, save_every=3, jobs=1)
"""
    r = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parent)
    assert r.returncode == -9
    kept = Workspace(tmp_path / "ws")
    assert len(kept.samples) >= 6
    again = kept.ingest([tiny_library], progress=False)               # the next run goes on from there
    assert again.added + again.unchanged == 16 and len(kept.features()[0]) == len(kept.samples)


def test_a_damaged_features_cache_is_written_again_by_an_ingest_with_nothing_new(tmp_path, tiny_library, capsys):
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    ws.features_path.write_bytes(ws.features_path.read_bytes()[:1000])    # cut short
    Workspace(tmp_path / "ws").ingest([tiny_library], progress=False)
    assert "damaged" in capsys.readouterr().err
    Workspace(tmp_path / "ws").ingest([tiny_library], progress=False)      # said once: it was written again
    assert "damaged" not in capsys.readouterr().err
