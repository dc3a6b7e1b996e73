import shutil
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from drummy.cli import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "drummy", *args], capture_output=True, text=True)


def test_module_entry_point_prints_help():
    r = run("--help")
    assert r.returncode == 0 and "ingest" in r.stdout and "starter-kit" in r.stdout
    r = run("--version")
    from importlib.metadata import version
    assert r.returncode == 0 and r.stdout.strip() == f"drummy {version('drummy')}"


@pytest.mark.parametrize("args,needle", [
    (["ingest", "/no/such/folder"], "no such file or folder"),
    (["library"], "no library"),
    (["train", "classifier"], "empty"),
    (["classify", "x.wav"], "no trained classifier"),
    (["train", "vae", "--epochs", "3"], "--epochs is not for `train vae`"),
    (["train", "classifier", "--minutes", "2"], "--minutes is not for `train classifier`"),
    (["ingest", "x", "--min-confidence", "0.9"], "--min-confidence is for --auto-label"),
    (["generate", "--like", "/no/such/hit.wav"], "/no/such/hit.wav: no such file"),   # said before a model is looked for
])
def test_user_mistakes_are_one_clear_line(tmp_path, args, needle):
    r = run(*args, "-w", str(tmp_path / "ws"))
    assert r.returncode != 0
    assert needle in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "ws").exists()                  # a mistake leaves no folder behind


def test_a_workspace_that_is_a_file(tmp_path, tiny_library, capsys):
    (tmp_path / "ws").write_text("")
    for cmd in (["ingest", str(tiny_library)], ["library"], ["train", "classifier"], ["export-kit", "-o", "k"]):
        assert main([*cmd, "-w", str(tmp_path / "ws")]) == 2
        assert "is a file; -w names a folder" in capsys.readouterr().err, cmd


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_workspace(tmp_path, tiny_library):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    assert main(["ingest", str(tiny_library), "-w", str(ro / "ws")]) == 2


def test_unwritable_workspace_is_a_clear_error(tmp_path, tiny_library):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    r = run("ingest", str(tiny_library), "-w", str(blocker / "ws"))
    assert r.returncode == 2 and "not writable" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="a /proc to write into")
def test_a_folder_nothing_can_be_made_in_is_said_so(tmp_path, tiny_library, capsys):
    # "/proc: No such file or directory" of /proc, which is there
    ws = str(tmp_path / "ws")
    assert main(["ingest", str(tiny_library), "-w", ws]) == 0
    for args in (["beat", "-w", ws, "--pattern", "house", "--bars", "1", "-o", "/proc/b.wav"],
                 ["export-kit", "-w", ws, "-o", "/proc/kit"], ["starter-kit", "/proc/kit", "--per-class", "1"]):
        capsys.readouterr()
        assert main(args) == 2
        assert capsys.readouterr().err.strip().splitlines()[-1] == "drummy: error: /proc: a folder no file can be made in"


def test_a_library_with_one_folder_per_type_says_it_cannot_be_validated(tmp_path, capsys):
    # "validated by 1 run holding out kits/folders (0 in all)" claimed a validation that never happened
    from conftest import hat, kick, write
    for i in range(4):
        write(tmp_path / "flat" / "Kicks" / f"k{i}.wav", kick(i))
        write(tmp_path / "flat" / "Hats" / f"h{i}.wav", hat(i))
    ws = str(tmp_path / "ws")
    assert main(["ingest", str(tmp_path / "flat"), "-w", ws]) == 0
    assert main(["train", "classifier", "-w", ws, "--steps", "2", "--epochs", "1", "--members", "1"]) == 0
    out = capsys.readouterr().out
    assert "not validated: each drum type sits in one kit or folder" in out and "validated by" not in out
    assert main(["train", "vae", "-w", ws, "--steps", "2"]) == 0
    assert "nothing held out, so nothing to stop early on" in capsys.readouterr().out


def test_ingest_library_json_and_classify(tmp_path, tiny_library, capsys):
    ws = str(tmp_path / "ws")
    assert main(["ingest", str(tiny_library), "-w", ws]) == 0
    capsys.readouterr()
    assert main(["library", "-w", ws, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["types"] == {"kick": 8, "hihat": 8}
    assert {"path", "type", "tags", "duration", "also_at"} <= set(data["items"][0]) and data["copies"] == 0
    (tiny_library / "again").mkdir()
    shutil.copy(next(tiny_library.glob("kick/808/*.wav")), tiny_library / "again" / "kick copy.wav")
    assert main(["ingest", str(tiny_library), "-w", ws]) == 0
    capsys.readouterr()
    assert main(["library", "-w", ws]) == 0
    out = capsys.readouterr().out
    assert "16 samples in" in out and "; 1 more files are copies of them, stored once)" in out
    assert main(["train", "classifier", "-w", ws, "--steps", "12", "--epochs", "6", "--members", "1"]) == 0
    out = capsys.readouterr().out
    assert "classifier: 1 net on all 16 labelled samples; validated by 1 run " in out
    misheard = json.loads((tmp_path / "ws" / "models" / "classifier.json").read_text())["metrics"]["misheard"]
    assert ("most mixed up: " in out) == bool(misheard)           # and then where to find them
    assert main(["classify", str(tiny_library / "kick"), "-w", ws, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out) == 8 and all(set(o["probabilities"]) == {"kick", "hihat"} for o in out)
    # an answer under 50 % says so, as the text's "kick?" does (the JSON read as sure as any other)
    assert all(o["sure"] == (o["probabilities"][o["type"]] >= 0.5) for o in out)
    (tmp_path / "empty").mkdir()
    assert main(["classify", str(tmp_path / "empty"), "-w", ws]) == 2
    assert "no audio files in" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.wav").write_text("not audio")
    assert main(["classify", str(bad), "-w", ws]) == 2                    # nothing could be read: not a success
    assert "none of the 1 files is a one-shot Drummy could read" in capsys.readouterr().err
    kicks = sorted(tiny_library.glob("kick/808/*.wav"))
    assert main(["classify", str(kicks[1]), str(bad / "a.wav"), str(kicks[0]), "-w", ws, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [o["path"] for o in out] == [str(kicks[1]), str(bad / "a.wav"), str(kicks[0])]   # in the order given
    assert "error" in out[1] and out[0]["type"] in ("kick", "hihat")
    # a loop is no one-shot, and a link to a file that is gone is named, not passed over
    from conftest import SR, kick, write
    loop = np.zeros(SR * 4, np.float32)
    for k in range(8):
        loop[k * SR // 2: k * SR // 2 + len(kick(k))] += kick(k)
    write(tmp_path / "mixed" / "groove.wav", loop)
    shutil.copy(kicks[0], tmp_path / "mixed" / "kick.wav")
    (tmp_path / "mixed" / "gone.wav").symlink_to(tmp_path / "nowhere.wav")
    assert main(["classify", str(tmp_path / "mixed"), "-w", ws]) == 0
    lines = sorted(capsys.readouterr().out.splitlines())
    assert len(lines) == 3 and "a link to a file that is not there" in lines[0]
    assert "groove.wav: skipped (several hits (8 over 3.5 s): a loop or a phrase" in lines[1]
    assert lines[2].startswith(str(tmp_path / "mixed" / "kick.wav") + ": ")
    # an answer under 50 % says it is unsure (where --auto-label leaves a sample unknown)
    from drummy.cli import _heard
    assert _heard("a.wav", [("snare", 0.41), ("tom", 0.4)]) == "a.wav: snare?  (unsure: snare 41%, tom 40%)"
    assert _heard("a.wav", [("snare", 0.5), ("tom", 0.3)]) == "a.wav: snare  (snare 50%, tom 30%)"
    assert _heard("a.wav", [("snare", 0.4996), ("tom", 0.3)]) == "a.wav: snare?  (unsure: snare 49%, tom 30%)"
    # named beside a good file, the link is listed as it is in a folder (it stopped the run)
    assert main(["classify", str(tmp_path / "mixed" / "kick.wav"), str(tmp_path / "mixed" / "gone.wav"), "-w", ws]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "gone.wav: skipped (a link to a file that is not there)" in lines[1]


def test_starter_kit_command(tmp_path):
    assert main(["starter-kit", str(tmp_path / "kit"), "--per-class", "4", "--seed", "3"]) == 0
    assert len(list((tmp_path / "kit").rglob("*.wav"))) == 4 * 7


def test_output_into_a_closed_pipe_is_not_an_error(tmp_path, tiny_library):
    # `drummy library --json | head -1`: the reader goes away before drummy writes
    ws = str(tmp_path / "ws")
    assert main(["ingest", str(tiny_library), "-w", ws]) == 0
    p = subprocess.Popen([sys.executable, "-m", "drummy", "library", "-w", ws, "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()                      # closed long before the interpreter has started
    err = p.stderr.read().decode()
    assert p.wait() == 0 and "Traceback" not in err and "BrokenPipe" not in err, err


def test_library_commands_do_not_load_torch(tmp_path, tiny_library):
    # Every CLI call pays for what it imports; torch alone is 2 s. The commands that
    # need no model (starter kit, ingest, library, errors) must not load it.
    ws = str(tmp_path / "ws")
    code = ("import sys; from drummy.cli import main; "
            f"rcs = [main(['starter-kit', {str(tmp_path / 'kit')!r}, '--per-class', '1']), "
            f"main(['ingest', {str(tiny_library)!r}, '-w', {ws!r}]), main(['library', '-w', {ws!r}]), "
            f"main(['library', '-w', {str(tmp_path / 'none')!r}])]; "
            "print(rcs, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[0, 0, 0, 2] False"), out


def test_an_output_folder_that_cannot_be_made_is_one_clear_line(tmp_path, capsys):
    blocker = tmp_path / "a file"                     # a file where a folder should go fails even as root
    blocker.write_text("")
    assert main(["starter-kit", str(blocker / "kit"), "--per-class", "1"]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]       # after the progress bar
    assert last.startswith(f"drummy: error: {blocker}") and last.endswith("Not a directory")


@pytest.mark.parametrize("args,needle", [
    (["starter-kit", "out", "--per-class", "-2"], "--per-class: must be at least 1"),
    # no upper bound filled memory at 35 MB/s, writing nothing, until the machine killed it
    (["starter-kit", "out", "--per-class", "100000000"], "--per-class: must be at most 1000"),
    (["train", "classifier", "--epochs", "1000000000"], "--epochs: must be at most 1000"),
    (["train", "classifier", "--members", "100"], "--members: must be at most 16"),
    (["train", "vae", "--steps", "99999999999999999999"], "--steps: must be at most 1000000"),
    (["beat", "--pattern", "house", "-o", "x.wav", "--seed", "-1"], "--seed: must be 0 to 999999999"),
    (["train", "vae", "--minutes", "0"], "--minutes: must be more than 0"),   # 0 minutes saved an untrained model
    (["train", "classifier", "--epochs", "0"], "--epochs: must be at least 1"),
    (["generate", "--blend", "kick", "--seed", "x"], "invalid seed value"),
    (["library", "--nope"], "unrecognized arguments: --nope (see `drummy library --help`)"),   # its own flags
    (["ingest", "lib", "--auto-label", "--min-confidence", "5"], "--min-confidence: must be between 0 and 1"),
    (["beat", "--pattern", "house", "-o", "x.wav", "--bpm", "0"], "--bpm: must be 20 to 999"),   # before the kit loads
    (["generate", "--blend", "kick", "-o", ""], "-o/--out: an empty path"),    # it wrote into the current folder
    (["ingest", ""], "paths: an empty path"),
])
def test_command_line_mistakes_are_one_line(tmp_path, capsys, args, needle):
    with pytest.raises(SystemExit) as e:
        main(args + ["-w", str(tmp_path / "ws")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and needle in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "ws").exists()                                     # nothing was started


def test_an_interrupt_says_whether_the_work_was_kept(tmp_path, capsys, monkeypatch):
    """Ingest and training resume; the others leave no file half-written."""
    from drummy import cli

    def stop(args):
        raise KeyboardInterrupt
    for cmd in ("ingest", "train", "beat"):
        monkeypatch.setitem(cli.COMMANDS, cmd, stop)
    assert main(["ingest", str(tmp_path), "-w", str(tmp_path / "ws")]) == 130
    assert "run the same command to resume" in capsys.readouterr().err
    assert main(["train", "vae", "-w", str(tmp_path / "ws")]) == 130
    assert "run the same command to resume" in capsys.readouterr().err
    assert main(["train", "classifier", "-w", str(tmp_path / "ws")]) == 130
    err = capsys.readouterr().err      # a net cut off mid-way is not kept: no "work done so far is saved"
    assert "each net finished so far is kept; run the same command to resume" in err
    assert main(["train", "vae", "-w", str(tmp_path / "ws"), "--fresh"]) == 130    # the same command starts over
    assert "run it again without --fresh to resume" in capsys.readouterr().err
    assert main(["beat", "--pattern", "house", "-o", str(tmp_path / "b.wav")]) == 130
    assert "no file is left half-written" in capsys.readouterr().err


def test_a_generator_stopped_before_it_settles_says_so(tmp_path, tiny_library, capsys):
    ws = str(tmp_path / "ws")
    assert main(["ingest", str(tiny_library), "-w", ws]) == 0
    assert main(["train", "vae", "-w", ws, "--steps", "4"]) == 0
    out, err = capsys.readouterr()
    assert "warning: only 4 steps, short of the 500" in err and "more --minutes or --steps" in err
    import re                                   # which sounds it held out, per type, and from where
    held = re.search(r"held out to validate: hihat 4 of 8, kick 4 of 8 \(lib/hihat/(\d+), lib/kick/(\d+)\)", out)
    assert held, out
    lost = "labels only on held-out samples, so no recipe can ask for them"   # a style held out whole: its tag
    assert (f"{lost}: {held[1]}\n" in out) if held[1] == held[2] else (lost not in out), out
    model = tmp_path / "ws" / "models" / "vae.safetensors"
    first = model.read_bytes()
    assert main(["train", "vae", "-w", ws, "--steps", "2", "--seed", "1"]) == 0    # a short run by mistake
    out, err = capsys.readouterr()
    kept = model.with_name("vae.previous.safetensors")
    assert f"the model before it is kept as {kept} (rename it back to use it)" in err
    assert f"(the model before it: {kept})" in out
    assert kept.read_bytes() == first and model.read_bytes() != first
    assert json.loads(kept.with_suffix(".json").read_text())["steps"] == 4
    # a short model replaced by another short one is kept in its place: hits made with it are remade
    second = model.read_bytes()
    assert main(["train", "vae", "-w", ws, "--steps", "2", "--seed", "2"]) == 0
    assert kept.read_bytes() == second and f"kept as {kept}" in capsys.readouterr().err
    # ... but not in place of a trained one: it is dropped, and said to be (it said "kept")
    record = json.loads(kept.with_suffix(".json").read_text())
    kept.with_suffix(".json").write_text(json.dumps({**record, "steps": 600}))      # a trained model, as far as it goes
    assert main(["train", "vae", "-w", ws, "--steps", "2", "--seed", "3"]) == 0
    out, err = capsys.readouterr()
    assert kept.read_bytes() == second and "kept as" not in err and "(the model before it" not in out
    assert f"the model this one replaces had only 2 steps and is not kept: {kept} keeps the trained one" in err
    assert "held out" in out and "(best)" not in out        # a run this short keeps its last weights, not its best


def test_the_reconstruction_error_printed_is_the_kept_models():
    from drummy.cli import _kept_recon
    h = {"step": [250, 500, 750, 1000], "val_loss": [5.0, 7.0, 6.0, 6.5], "val_recon": [1897, 2032, 1990, 2001]}
    assert _kept_recon(h, {"best_val_loss": 6.0}, warmup=500) == "1990 (best, the weights of step 750)"  # not step 250's 1897
    assert _kept_recon(h, {"best_val_loss": None, "steps": 1000}, warmup=5000) == "2001 (at step 1000)"  # none kept: the last
    # --minutes ran out at step 1412, between validations: the figures are step 1000's, and it says so
    assert _kept_recon(h, {"best_val_loss": None, "steps": 1412}, warmup=5000) == \
        "2001 (at step 1000; the model kept is step 1412's, not validated)"


def test_auto_label_without_a_classifier_imports_nothing(tmp_path, tiny_library, capsys):
    ws = tmp_path / "ws"
    assert main(["ingest", str(tiny_library), "-w", str(ws), "--auto-label"]) == 2
    err = capsys.readouterr().err
    assert "no trained classifier" in err and len(err.strip().splitlines()) == 1
    assert not (ws / "library.json").exists()


def test_a_file_name_with_a_newline_is_listed_on_one_line(tmp_path, tiny_library, capsys):
    (tiny_library / "bad\nname.wav").write_text("not audio")
    assert main(["ingest", str(tiny_library), "-w", str(tmp_path / "ws")]) == 0
    assert main(["library", "-w", str(tmp_path / "ws")]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "name.wav" in ln]
    assert len(lines) == 2 and all("bad\\nname.wav: not a readable audio file" in ln for ln in lines)


def test_torch_threads_sleep_while_they_wait_unless_the_user_says_otherwise():
    """OpenMP's waiting threads spin, and on a busy machine (a DAW, two trainings) a training
    ran 2-5x as long for it (benchmarks/busy_machine.py); Drummy asks them to sleep, before torch
    reads the setting, and leaves a setting of the user's alone."""
    code = "import os, drummy, torch; print(os.environ['OMP_WAIT_POLICY'])"
    clean = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    got = subprocess.run([sys.executable, "-c", code], env=clean, capture_output=True, text=True, check=True)
    assert got.stdout.strip() == "PASSIVE"
    mine = subprocess.run([sys.executable, "-c", code], env={**clean, "OMP_WAIT_POLICY": "ACTIVE"},
                          capture_output=True, text=True, check=True)
    assert mine.stdout.strip() == "ACTIVE"


def test_classify_hears_the_sounds_a_kit_file_plays(tmp_path, tiny_library, capsys):
    # `classify kit.sfz` said "not a readable audio file" though ingest reads kits
    from conftest import drum_loop
    ws = str(tmp_path / "ws")
    assert main(["ingest", str(tiny_library), "-w", ws]) == 0
    assert main(["train", "classifier", "-w", ws, "--steps", "4", "--epochs", "1", "--members", "1"]) == 0
    capsys.readouterr()
    y, (a, b, c, n) = drum_loop(tmp_path / "loop.wav")
    (tmp_path / "kit.sfz").write_text(f"<region> sample=loop.wav key=36 end={b - 1}\n"
                                      f"<region> sample=loop.wav key=38 offset={b} end={c - 1}\n"
                                      "<region> sample=gone.wav key=42\n")
    assert main(["classify", str(tmp_path / "kit.sfz"), "-w", ws, "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    loop = str((tmp_path / "loop.wav").resolve())
    assert [r["path"] for r in got] == [f"{loop}#frames=0-{b}", f"{loop}#frames={b}-{c}",
                                        str((tmp_path / "gone.wav").resolve())]
    assert "type" in got[0] and "type" in got[1] and "error" in got[2]


def test_ctrl_c_in_training_leaves_its_message_on_a_line_of_its_own(tmp_path, tiny_library, capsys, monkeypatch):
    # the message landed on the progress bar's line, and the bar was drawn again after it
    from drummy import train
    ws = str(tmp_path / "ws")
    assert main(["ingest", str(tiny_library), "-w", ws]) == 0
    calls, real = [], train.augment
    monkeypatch.setattr(train, "augment", lambda x, g: calls.append(1) or (real(x, g) if len(calls) < 3
                                                                              else (_ for _ in ()).throw(KeyboardInterrupt)))
    capsys.readouterr()
    assert main(["train", "classifier", "-w", ws, "--steps", "20", "--epochs", "4", "--members", "1"]) == 128 + 2
    err = capsys.readouterr().err
    before, _, after = err.partition("drummy: interrupted")
    assert after and (before == "" or before.endswith("\n")) and "train classifier" not in after


def test_every_command_says_what_it_does_and_shows_examples_that_parse(capsys):
    # no subcommand's --help had a description or an example (a producer's walkthrough of the README)
    import shlex
    from drummy.cli import EXAMPLES, build_parser
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert set(EXAMPLES) == set(commands)
    for name, examples in EXAMPLES.items():
        with pytest.raises(SystemExit):
            main([name, "--help"])
        out = capsys.readouterr().out
        assert "examples:\n" in out and out.split("\n\n")[1][0].isupper(), name     # a description line first
        for e in examples:
            words = shlex.split(e)
            assert words[:2] == ["drummy", name] and e in out
            parser.parse_args(words[1:])                      # each one a valid command line


def test_a_remade_hit_that_differs_says_by_how_much(tmp_path):
    import numpy as np
    import soundfile as sf
    from drummy.cli import _difference
    t = np.arange(1000) / 44100
    a = (0.5 * np.sin(2 * np.pi * 440 * t) * np.exp(-t * 30)).astype(np.float32)
    sf.write(tmp_path / "first.wav", a, 44100, subtype="FLOAT")
    sf.write(tmp_path / "again.wav", a[:-10] * np.float32(1 + 1e-4), 44100, subtype="FLOAT")
    said = _difference(tmp_path / "first.wav", tmp_path / "again.wav")
    tail = 20 * np.log10(np.abs(a[-10:]).max())        # the 10 samples it lacks are the most it differs by
    assert said == f"; the largest difference is {tail:.0f} dBFS, and it is 10 samples shorter"


def test_ingest_and_library_say_many_skips_of_one_folder_in_one_line(tmp_path, capsys):
    # a library of 200 loops printed 200 "skipped" lines on every ingest, and `library` the same again
    from conftest import SR, kick, write
    lib = tmp_path / "lib"
    write(lib / "kick" / "k.wav", kick(0))
    for i in range(40):
        (lib / "Loops" / f"junk {i}.wav").parent.mkdir(parents=True, exist_ok=True)
        (lib / "Loops" / f"junk {i}.wav").write_bytes(b"not audio at all" * 4)
    write(lib / "odd" / "silence.wav", np.zeros(SR // 2, np.float32))
    ws = str(tmp_path / "ws")
    for cmd in (["ingest", str(lib), "-w", ws], ["library", "-w", ws]):
        assert main(cmd) == 0
        out = capsys.readouterr().out
        skipped = [x for x in out.splitlines() if x.startswith("  skipped")]
        assert len(skipped) == 2, out                      # the 40 in one line, the silent file in its own
        assert any(f"skipped 40 files in {lib / 'Loops'}: " in x for x in skipped), out
        assert any("silence.wav" in x for x in skipped), out
    # a re-run says the same, in as few lines
    assert main(["ingest", str(lib), "-w", ws]) == 0
    assert len([x for x in capsys.readouterr().out.splitlines() if x.startswith("  skipped")]) == 2


def test_a_hit_that_is_not_a_number_is_left_out_not_written(capsys):
    # NaN counts as "any sound": such a hit was kept, and its sidecar written before its audio failed
    from drummy.cli import _sounding
    ys = np.stack([np.full(100, np.nan, np.float32), np.ones(100, np.float32), np.zeros(100, np.float32)])
    assert _sounding(ys) == [1]
    err = capsys.readouterr().err.splitlines()
    assert err == ["drummy: left out hit 3 of 3: it came out silent: the generator decoded nothing above its noise "
                   "gate (a model trained longer, or controls nearer 0, make sound)",
                   "drummy: left out hit 1 of 3: it came out not a number (a damaged model? `drummy train vae` again)"]
    from drummy.library import ModelError
    with pytest.raises(ModelError, match=r"^every hit came out not a number"):
        _sounding(np.full((40, 10), np.nan, np.float32))
    with pytest.raises(ModelError, match=r"^no hit made a sound: hit 2 came out silent.*; hits 1, 3, 4, 5, 6, 7, 8, 9 … "
                                         r"\(39 in all\) came out not a number"):
        _sounding(np.concatenate([np.full((1, 10), np.nan), np.zeros((1, 10)), np.full((38, 10), np.nan)]))


def test_a_packs_loops_two_in_each_folder_are_said_in_one_line(tmp_path, capsys):
    # a loop pack holds one or two loops in each BPM folder: grouped by folder, 60 loops were still 60 lines
    from conftest import kick, write
    lib = tmp_path / "lib"
    write(lib / "kick" / "k.wav", kick(0))
    for bpm in range(90, 102):
        for i in range(2):
            (lib / "Loops" / f"{bpm} BPM").mkdir(parents=True, exist_ok=True)
            (lib / "Loops" / f"{bpm} BPM" / f"junk {i}.wav").write_bytes(b"not audio at all" * 4)
    assert main(["ingest", str(lib), "-w", str(tmp_path / "ws")]) == 0
    skipped = [x for x in capsys.readouterr().out.splitlines() if x.startswith("  skipped")]
    assert len(skipped) == 1 and f"skipped 24 files in {lib / 'Loops'} and its folders: " in skipped[0], skipped
