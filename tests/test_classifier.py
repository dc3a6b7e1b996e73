from dataclasses import replace

from pathlib import Path
import numpy as np
import pytest
import torch

from drummy import classifier as clf, features
from drummy import train
from drummy.library import LibraryError, Workspace


def test_forward_and_embedding_shapes():
    model = clf.DrumClassifier(clf.ClassifierConfig(classes=["kick", "snare", "hihat"]))
    x = torch.full((5, model.cfg.n_mels, model.cfg.frames), -80.0)
    assert model(x).shape == (5, 3)
    assert model.embed(x).shape == (5, model.cfg.embed_dim)


def test_augment_keeps_shape_range_and_changes_input():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(8, 64, 87) * 80 - 80
    y = train.augment(x, g)
    assert y.shape == x.shape and y.min() >= -80 and not torch.allclose(x, y)


def test_mixups_and_the_confusion_png(tmp_path):
    m = np.array([[9, 0, 1], [3, 5, 2], [0, 0, 7]])
    assert train.mixups(["kick", "snare", "tom"], m) == [("snare", "kick", 3), ("snare", "tom", 2), ("kick", "tom", 1)]
    assert train.mixups(["kick", "snare"], np.eye(2, dtype=int)) == []
    train.plot_confusion(["kick", "snare", "tom"], m, tmp_path / "c.png")
    png = (tmp_path / "c.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 2000


def test_a_classifier_with_nothing_held_out_leaves_no_old_confusion_png(tmp_path, tiny_library):
    import shutil
    for style in ("909",):                                     # one folder per type: nothing to hold out
        shutil.rmtree(tiny_library / "kick" / style)
        shutil.rmtree(tiny_library / "hihat" / style)
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    train.plot_confusion(["hihat", "kick"], np.eye(2, dtype=int), train.confusion_png_path(ws))   # an earlier one
    m = train.train_classifier(ws, train.TrainConfig(epochs=1, batch=8, max_steps=2, members=1), progress=False)
    assert "confusion" not in m and not train.confusion_png_path(ws).exists()


def test_smoke_train_save_load_and_predict(tmp_path, tiny_library):
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    m = train.train_classifier(ws, train.TrainConfig(epochs=8, batch=4, max_steps=32, members=2), progress=False)
    assert m["classes"] == ["hihat", "kick"] and m["members"] == 2 and m["train_samples"] == 16
    # each net holds out whole folders, never single files of a folder
    assert m["val_groups"] and all(g.endswith(("808", "909")) for g in m["val_groups"])
    assert m["val_samples"] % 4 == 0 and 0 < m["val_samples"] < 2 * 16
    assert [len(h["epoch"]) for h in m["history"]] == [8, 8]         # validation runs go the distance: no early stop
    # the files heard as another type: each distinct file once per type it was heard as, in the cell it fell in
    cells = {}
    for x in m["misheard"]:
        assert x["type"] != x["heard"] and x["path"].startswith(str(tiny_library))
        cells[(x["type"], x["heard"])] = cells.get((x["type"], x["heard"]), 0) + 1
    off = {(m["classes"][i], m["classes"][j]): n for i, row in enumerate(m["confusion"]) for j, n in enumerate(row)
           if i != j and n}
    assert set(cells) == set(off) and all(cells[k] <= off[k] for k in cells)
    assert train.confusion_png_path(ws).read_bytes().startswith(b"\x89PNG")
    model = clf.load(train.classifier_path(ws))
    mels, _ = ws.features()
    probs = clf.predict(model, mels)
    assert probs.shape == (16, 2) and np.allclose(probs.sum(1), 1, atol=1e-5)
    # the saved classifier averages its nets' probabilities and concatenates their embeddings
    x = torch.from_numpy(mels)
    with torch.no_grad():
        each = torch.stack([torch.softmax(net(x), dim=1) for net in model.members])
    assert len(model.members) == 2 and not torch.allclose(each[0], each[1])
    assert np.allclose(probs, each.mean(0).numpy(), atol=1e-5)
    assert clf.embed(model, mels).shape == (16, 2 * model.cfg.member_dim)
    # kicks and hats are trivially separable: a 32-step model gets them (16 steps of batch 8 left 3 seeds in 8 calling every hit one type)
    truth = np.array([model.cfg.classes.index(ws.samples[h].drum_type) for h in sorted(ws.samples)])
    assert (probs.argmax(1) == truth).mean() >= 0.9
    assert (train.classifier_path(ws).with_suffix(".json")).exists()
    # a quiet hit is heard as it would be at a level the nets learnt from, not as another type
    y = ws.load_audio(sorted(ws.samples)[0])
    y = y / np.abs(y).max()
    quiet = clf.classify_audio(model, [y * 10 ** (-13 / 20), y * 10 ** (-30 / 20), y * 10 ** (-60 / 20)])
    assert np.allclose(quiet[0], quiet[1], atol=1e-4) and np.allclose(quiet[0], quiet[2], atol=1e-4)
    loud = clf.classify_audio(model, [y * 10 ** (-6 / 20)])
    assert np.allclose(loud, clf.predict(model, features.log_mel(y * 10 ** (-6 / 20))[None]))  # louder: as it is


def test_an_interrupted_training_goes_on_from_the_nets_it_finished(tmp_path, tiny_library, monkeypatch, capsys):
    from conftest import interrupt_at
    cfg = train.TrainConfig(epochs=4, batch=8, max_steps=8, members=2)
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    whole = train.train_classifier(ws, cfg, progress=False)
    whole_state = {k: v.clone() for k, v in clf.load(train.classifier_path(ws)).state_dict().items()}
    train.classifier_path(ws).unlink()
    assert not train.classifier_partial_path(ws).exists()              # a finished run leaves nothing behind

    real, calls = train.fit, []
    counted = lambda *a, **k: calls.append(1) or real(*a, **k)          # noqa: E731
    monkeypatch.setattr(train, "fit", interrupt_at(4, counted))        # Ctrl-C during the 4th of 4 nets
    with pytest.raises(KeyboardInterrupt):
        train.train_classifier(ws, cfg, progress=False)
    assert len(calls) == 3 and train.classifier_partial_path(ws).exists()
    assert not train.classifier_path(ws).exists()                      # no classifier until every net is done
    calls.clear()
    monkeypatch.setattr(train, "fit", counted)
    capsys.readouterr()
    again = train.train_classifier(ws, cfg, progress=False)
    assert len(calls) == 1                                             # only the net that was cut off
    # with --members 2, "3 nets finished" read as more than were asked for: the validation runs count apart
    assert "resuming the interrupted training: 2 of 2 validation runs and 1 of 2 nets finished before it stopped" \
        in capsys.readouterr().err
    state = clf.load(train.classifier_path(ws)).state_dict()
    assert all(torch.equal(state[k], whole_state[k]) for k in whole_state)   # the same classifier, bit for bit
    untimed = lambda m: [{k: v for k, v in h.items() if k != "seconds"} for h in m["history"]]   # noqa: E731
    assert again["val_accuracy"] == whole["val_accuracy"] and untimed(again) == untimed(whole)
    assert not train.classifier_partial_path(ws).exists()

    # nets kept from a run on another library, or other settings, or asked --fresh, are not taken up
    monkeypatch.setattr(train, "fit", interrupt_at(2, counted))
    with pytest.raises(KeyboardInterrupt):
        train.train_classifier(ws, cfg, progress=False)
    calls.clear()
    monkeypatch.setattr(train, "fit", counted)
    train.train_classifier(ws, replace(cfg, seed=1), progress=False)
    assert len(calls) == 4 and "starting over" in capsys.readouterr().err
    monkeypatch.setattr(train, "fit", interrupt_at(2, counted))
    with pytest.raises(KeyboardInterrupt):
        train.train_classifier(ws, cfg, progress=False)
    calls.clear()
    monkeypatch.setattr(train, "fit", counted)
    train.train_classifier(ws, cfg, progress=False, resume=False)
    assert len(calls) == 4
    train.classifier_partial_path(ws).write_bytes(b"garbage")          # a damaged file: trained from scratch
    calls.clear()
    train.train_classifier(ws, cfg, progress=False)
    assert len(calls) == 4 and "damaged" in capsys.readouterr().err


def test_group_split_holds_out_groups_per_type():
    from drummy.library import Sample
    samples = [Sample(f"{t}{g}{i}", "p", t, [], "k", f"{t}/{g}", 1.0, 44100)
               for t in ("kick", "snare") for g in range(5) for i in range(3)]
    tr, va = train.group_split(samples, 0.2)
    assert {s.group for s in tr}.isdisjoint({s.group for s in va})
    assert {s.drum_type for s in va} == {"kick", "snare"} == {s.drum_type for s in tr}


def test_group_split_validates_two_kits_that_each_hold_most_of_a_type():
    from drummy.library import Sample
    layout = {"caf\udce9 kit": {"kick": 5, "snare": 3}, "b": {"kick": 3, "snare": 5}}   # and a Latin-1 name
    samples = [Sample(f"{g}{t}{i}", "p", t, [], "k", g, 1.0, 44100)
               for g, types in layout.items() for t, n in types.items() for i in range(n)]
    for seed in range(5):
        tr, va = train.group_split(samples, 0.2, seed)
        assert len({s.group for s in va}) == 1 and {s.group for s in tr} | {s.group for s in va} == set(layout)


def test_group_split_caps_the_held_out_share():
    """Every type keeps one held-out group; past that, max_share keeps big kits
    from holding out most of a small library."""
    from drummy.library import Sample
    kits = {"big": 20, **{f"k{i}": 2 for i in range(9)}}          # 10 kick groups: 2 held out
    samples = [Sample(f"{k}{i}", "p", "kick", [], "k", k, 1.0, 44100) for k, n in kits.items() for i in range(n)]
    free = [train.group_split(samples, 0.2, seed, type_share=1.0)[1] for seed in range(40)]
    capped = [train.group_split(samples, 0.2, seed, max_share=0.25, type_share=1.0)[1] for seed in range(40)]
    assert max(map(len, free)) == 22                                # uncapped: the big kit and one more
    for va in capped:
        groups = {s.group for s in va}
        assert len(groups) >= 1
        assert len(va) <= 0.25 * len(samples) or groups == {"big"}  # over the cap only as a type's first group


def test_group_split_never_holds_out_most_of_a_type():
    """A library filed by type: one folder holds most snares (and some claps). Holding
    it out would leave a few snares to learn from, whatever the seed."""
    from drummy.library import Sample
    layout = {"Snares & Claps": {"snare": 11, "clap": 4}, "Kits/808": {"snare": 2, "kick": 3, "clap": 2},
              "Kits/acoustic": {"snare": 1, "kick": 3, "clap": 1}, "Kicks": {"kick": 8}}
    samples = [Sample(f"{g}{t}{i}", "p", t, [], "k", g, 1.0, 44100)
               for g, types in layout.items() for t, n in types.items() for i in range(n)]
    for seed in range(30):
        tr, va = train.group_split(samples, 0.3, seed, max_share=0.5)
        for t in ("snare", "kick", "clap"):
            assert sum(s.drum_type == t for s in tr) >= 0.5 * sum(s.drum_type == t for s in samples), (seed, t)
        assert "Snares & Claps" not in {s.group for s in va} and "Kicks" not in {s.group for s in va}
    assert any(train.group_split(samples, 0.3, seed, max_share=0.5)[1] for seed in range(30))   # the kits still validate


def test_auto_label_marks_predictions(tmp_path, tiny_library):
    import shutil
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    train.train_classifier(ws, train.TrainConfig(epochs=8, batch=4, max_steps=32), progress=False)
    untagged = tmp_path / "untagged"
    untagged.mkdir()
    shutil.copy(tiny_library / "kick" / "808" / "Boom 1.wav", untagged / "a.wav")
    from conftest import kick, write
    write(untagged / "b.wav", kick(123))
    ws.ingest([untagged], progress=False)
    changed = train.auto_label(ws, min_confidence=0.0)
    assert len(changed) == 1
    s, t, c = changed[0]
    assert s.predicted and t == "kick" and 0 < c <= 1
    assert train.auto_label(ws, min_confidence=0.0) == []          # again: nothing new to say
    # a copy filed under a type overrides the prediction; when that copy goes, the prediction is back
    b = next(x for x in ws.samples.values() if x.path.endswith("b.wav"))
    write(tmp_path / "filed" / "snare" / "b.wav", kick(123))
    ws.ingest([tmp_path / "filed"], progress=False)
    assert Workspace(ws.root).samples[b.hash].drum_type == "snare" and not Workspace(ws.root).samples[b.hash].predicted
    shutil.rmtree(tmp_path / "filed" / "snare")
    ws.ingest([tmp_path / "filed"], progress=False)
    back = Workspace(ws.root).samples[b.hash]
    assert (back.drum_type, back.predicted, back.confidence) == (t, True, c)
    # predicted labels are never used as training truth
    assert all(not x.predicted for x in train.labelled(ws)[0])
    # ... and stay predictions: ingested again, or moved to a folder that says nothing
    ws.ingest([untagged], progress=False)
    assert s.predicted and s.drum_type == "kick"
    (untagged / "b.wav").rename(untagged / "c.wav")
    ws.ingest([untagged], progress=False)
    moved = next(x for x in ws.samples.values() if x.path.endswith("c.wav"))
    assert moved.predicted and moved.drum_type == "kick"
    import os
    os.utime(untagged / "c.wav", ns=(1, 1))                    # touched: the same sound, a new date
    ws.ingest([untagged], progress=False)
    touched = next(x for x in ws.samples.values() if x.path.endswith("c.wav"))
    assert touched.predicted and touched.drum_type == "kick"


def test_too_few_samples_per_type_says_how_many_are_needed(tmp_path):
    from drummy.library import Sample
    ws = Workspace(tmp_path / "ws")
    for i, t in enumerate(["clap", "clap", "hihat", "hihat", "snare", "snare"]):
        ws.samples[f"{i:016x}"] = Sample(f"{i:016x}", f"/lib/{t}/{i}.wav", t, [], "lib", "lib", 0.5, 44100)
    with pytest.raises(LibraryError, match=r"at least 3 labelled samples of each .* \(found: clap 2, hihat 2, snare 2\)"):
        train.labelled(ws)


def test_no_model_and_no_library_are_clear_errors(tmp_path):
    with pytest.raises(clf.ModelError, match="drummy train classifier"):
        clf.load(tmp_path / "nope.safetensors")
    (tmp_path / "cut.safetensors").write_text("x")                       # a damaged file
    with pytest.raises(clf.ModelError, match="damaged.*drummy train classifier"):
        clf.load(tmp_path / "cut.safetensors")
    with pytest.raises(LibraryError, match="empty"):
        train.train_classifier(Workspace(tmp_path / "empty"))


def test_a_single_net_file_from_before_ensembles_still_loads(tmp_path):
    from safetensors.torch import save_file
    import json
    from dataclasses import asdict
    model = clf.DrumClassifier(clf.ClassifierConfig(classes=["kick", "hihat"]))
    cfg = asdict(model.cfg)
    del cfg["members"]  # the old config had no such field
    old = {k.removeprefix("members.0."): v for k, v in model.state_dict().items()}
    save_file(old, str(tmp_path / "old.safetensors"), metadata={"config": json.dumps(cfg)})
    back = clf.load(tmp_path / "old.safetensors")
    x = torch.randn(3, model.cfg.n_mels, model.cfg.frames) * 20 - 40
    assert torch.allclose(back(x), model.eval()(x), atol=1e-6)


def test_predict_embed_is_predict_and_embed_in_one_pass():
    torch.manual_seed(0)
    model = clf.combine([clf.DrumClassifier(clf.ClassifierConfig(classes=["kick", "snare", "hihat"])) for _ in range(2)])
    mels = (np.random.default_rng(0).random((5, model.cfg.n_mels, model.cfg.frames)) * 80 - 80).astype(np.float32)
    probs, emb = clf.predict_embed(model, mels)
    with torch.no_grad():  # the model's own forward and embed, batch by batch
        x = torch.from_numpy(mels)
        assert np.allclose(probs, torch.exp(model.eval()(x)).numpy(), atol=1e-6)
        assert np.allclose(emb, model.embed(x).numpy(), atol=1e-6)


def test_auto_label_leaves_sounds_in_folders_of_no_drums_unknown(tmp_path, tiny_library, capsys):
    # `Vocals/Vox Chop Hey`, `FX/Sweeps/Uplifter` came out as predicted snares, and the generator learnt them
    from conftest import hat, kick, write
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    train.train_classifier(ws, train.TrainConfig(epochs=4, batch=4, max_steps=8), progress=False)
    write(tmp_path / "pack" / "Vocals" / "Vox Chop Hey.wav", kick(77))
    write(tmp_path / "pack" / "FX" / "Sweeps" / "Uplifter.wav", hat(78))
    write(tmp_path / "pack" / "Misc" / "Thing 2.wav", kick(80))
    ws.ingest([tmp_path / "pack"], progress=False)
    changed = {Path(s.path).name for s, _, _ in train.auto_label(ws, min_confidence=0.0)}
    assert changed == {"Thing 2.wav"}
    from drummy.cli import main                  # ... and says how many it left unknown, and where they are listed
    capsys.readouterr()
    assert main(["ingest", str(tmp_path / "pack"), "-w", str(ws.root), "--auto-label", "--min-confidence", "0"]) == 0
    assert f"auto-labelled 0 samples; 2 stay unknown (heard with under 0% confidence, or filed under a folder " \
           f"that names no drum; `drummy library -w {ws.root} --json` lists them)" in capsys.readouterr().out


def test_log_mels_are_features_log_mel_for_a_batch():
    rng = np.random.default_rng(1)
    t = np.arange(70_000) / features.MEL.sr
    ys = [np.zeros(500, np.float32),                                                  # silence, shorter than a frame
          (0.5 * np.sin(2 * np.pi * 60 * t[:30_000]) * np.exp(-t[:30_000] * 8)).astype(np.float32),
          (rng.standard_normal(70_000) * np.exp(-t * 30)).astype(np.float32)]         # longer than a second
    got = clf.log_mels(ys)
    want = np.stack([features.log_mel(y) for y in ys])
    assert got.shape == want.shape == (3, features.MEL.n_mels, features.MEL.frames)
    assert np.abs(got - want).max() < 1e-3
    assert got[0].max() == features.MEL.floor_db and got[2].max() > -30           # not all floor
    assert clf.log_mels([]).shape == (0, features.MEL.n_mels, features.MEL.frames)


def test_inference_folds_batch_norm_into_the_convolutions_and_reads_the_same():
    torch.manual_seed(0)
    model = clf.DrumClassifier(clf.ClassifierConfig(classes=["kick", "snare", "hihat"], members=2))
    for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):   # trained-looking statistics
        bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.2, 3), bn.weight.data.uniform_(0.5, 2)
        bn.bias.data.uniform_(-0.5, 0.5)
    model.eval()
    x = torch.rand(4, model.cfg.n_mels, model.cfg.frames) * 80 - 80
    with torch.no_grad():
        fast = model.embed(x)                      # the folded path
    plain = model.embed(x).detach()                # with grad: the modules' own (training) graph
    assert (fast - plain).abs().max() < 1e-4 * plain.abs().max()
    assert not torch.equal(fast, torch.zeros_like(fast))


def test_ingest_auto_label_holds_the_workspace_through_both_steps(tmp_path, tiny_library, monkeypatch):
    # the ingest let go of the workspace before labelling: a training started in between made the labelling say "busy"
    import fcntl
    from drummy.cli import main
    ws = Workspace(tmp_path / "ws")
    ws.ingest([tiny_library], progress=False)
    train.train_classifier(ws, train.TrainConfig(epochs=1, batch=4, max_steps=2, members=1), progress=False)
    held = []
    auto_label = train.auto_label

    def labelling(w, least):                        # another command tries the workspace now
        with open(w.root / ".lock", "a") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held.append(False)
            except BlockingIOError:
                held.append(True)
        return auto_label(w, least)
    monkeypatch.setattr(train, "auto_label", labelling)
    assert main(["ingest", str(tiny_library), "-w", str(ws.root), "--auto-label"]) == 0
    assert held == [True]


def test_a_net_stops_at_its_steps_unless_its_epochs_are_asked(tmp_path, tiny_library, monkeypatch):
    # a 6,000-sample library's 30 epochs were 30-95 minutes of training; 5x the benchmark's steps bought nothing
    # on unseen kits. Each net now stops at train.STEPS by default, but `--epochs` asked runs every epoch
    rng = np.random.default_rng(0)
    mels = rng.normal(-40, 10, (2 * train.STEPS // 15 + 2, features.MEL.n_mels, features.MEL.frames)).astype(np.float32)
    labels = np.arange(len(mels)) % 2                                   # 30 epochs of batches of 2: over STEPS
    _, h = train.fit(mels, labels, ["a", "b"], train.TrainConfig(batch=2), progress=False)
    assert h["steps"] == train.STEPS < 30 * len(mels) // 2
    from drummy.cli import main
    import json
    ws = tmp_path / "ws"
    Workspace(ws).ingest([tiny_library], progress=False)                # 16 samples: one step an epoch
    hist = lambda: json.loads(train.classifier_path(Workspace(ws)).with_suffix(".json").read_text())["metrics"]["history"]  # noqa: E731
    monkeypatch.setattr(train, "STEPS", 7)                              # (a cap under the 30 epochs' 30 steps)
    assert main(["train", "classifier", "-w", str(ws), "--members", "1"]) == 0
    assert [h["steps"] for h in hist()] == [7]                           # the command line's default: capped
    assert main(["train", "classifier", "-w", str(ws), "--members", "1", "--epochs", "12"]) == 0
    assert [h["steps"] for h in hist()] == [12]                          # --epochs asked: every one
