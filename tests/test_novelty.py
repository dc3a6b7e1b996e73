"""The memorisation guard's parts: what counts as another kit, cross-kit distances, the line."""
import numpy as np
import torch

from conftest import hat, kick, snare
from drummy import classifier as clf
from drummy import codec, novelty


def test_another_kit_is_a_kit_else_a_folder_else_nothing():
    types = ["kick", "kick", "snare"]
    assert novelty.units_of(["a", "b", "a"], ["x", "x", "y"], types) == ["a", "b", "a"]
    assert novelty.units_of(["a", "a", "a"], ["x", "y", "y"], types) == ["x", "y", "y"]     # one kit: its folders
    assert novelty.units_of(["a", "a"], ["x", "x"], ["kick", "kick"]) is None                # nothing to compare with
    # a pack filed by type (Pack/Kicks, Pack/Snares): no drum has one of its kind elsewhere
    assert novelty.units_of(["Pack"] * 4, ["Pack/Kicks", "Pack/Kicks", "Pack/Snares", "Pack/Snares"],
                            ["kick", "kick", "snare", "snare"]) is None


def test_cross_kit_distance_is_to_the_same_type_of_another_kit():
    emb = np.array([[0.0, 0], [0.1, 0], [3.0, 4], [3.0, 5], [0.0, 0.2]])   # two layers of a kick per kit, and a snare
    d = novelty.cross_kit_distances(emb, ["a", "a", "b", "b", "b"], ["kick"] * 4 + ["snare"])
    assert np.allclose(d[:4], [5.0, np.hypot(2.9, 4), np.hypot(2.9, 4), np.hypot(2.9, 5)])
    assert np.isnan(d[4])                  # the only snare: its nearest of another kit would be a kick, 0.2 away
    assert novelty.nearest(np.zeros((2, 2)), np.zeros((0, 2))).tolist() == [np.inf, np.inf]
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((150, 4)), rng.standard_normal((70, 4))       # in chunks, as all at once
    assert np.array_equal(novelty.nearest(a, b, chunk=64), np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1)).min(1))


def _hits() -> tuple[np.ndarray, list[str]]:
    ys = [kick(i) for i in range(4)] + [hat(i) for i in range(4)] + [snare(i) for i in range(4)]
    units = ["kit a", "kit b"] * 6
    return np.stack([codec.normalise(y).astype(np.float32) for y in ys]), units, ["kick"] * 4 + ["hihat"] * 4 + ["snare"] * 4


def test_a_training_hit_itself_is_too_near_and_the_line_is_the_kits_own_spread():
    torch.manual_seed(0)
    model = clf.DrumClassifier(clf.ClassifierConfig(classes=["hihat", "kick", "snare"])).eval()
    audio, units, types = _hits()
    guard = novelty.build(model, audio, units, types, "c0ffee")
    assert guard.threshold > 0 and np.allclose(guard.train, guard.judge(audio)[1], atol=1e-4)
    assert guard.distance(audio[:3]).max() < 1e-3 < guard.threshold     # a copy of a training hit: drawn again
    # a silent draw is far from every hit, and no hit: it never wins as "the farthest"
    assert guard.distance(np.zeros((1, audio.shape[1]), np.float32))[0] == -np.inf
    assert guard.stamp() == {"classifier_hash": "c0ffee", "threshold": guard.threshold}
    # the same projection rebuilt from its stored parts (`for_workspace`'s cache) measures the same
    again = novelty.Guard(novelty.Judge(model, mean=guard.judge.mean, axes=guard.judge.axes), guard.train,
                          guard.threshold, "c0ffee")
    other = np.stack([codec.normalise(snare(40)).astype(np.float32)])
    assert np.allclose(again.distance(other), guard.distance(other), atol=1e-4)


def test_the_guard_is_the_same_at_any_blas_thread_count():
    # its axes and projection by BLAS moved in their last bits with OMP_NUM_THREADS: a guard worked out
    # again read another line, and the same command's hits, the same audio, were written again beside
    from threadpoolctl import threadpool_limits
    torch.manual_seed(0)
    model = clf.DrumClassifier(clf.ClassifierConfig(classes=["hihat", "kick", "snare"], members=3)).eval()
    rng = np.random.default_rng(0)
    t = np.arange(44100 // 2) / 44100
    audio = np.stack([(rng.standard_normal(len(t)) * np.exp(-t * rng.uniform(5, 60))
                       + np.sin(2 * np.pi * rng.uniform(40, 400) * t) * np.exp(-t * rng.uniform(3, 30)))
                      .astype(np.float32) for _ in range(300)])
    units, types = [f"kit {i % 5}" for i in range(300)], [("kick", "snare", "hihat")[i % 3] for i in range(300)]
    guards = []
    for threads in (1, 2):
        with threadpool_limits(threads):
            guards.append(novelty.build(model, audio, units, types, "c0ffee"))
            guards[-1] = (guards[-1], guards[-1].distance(audio[:40]))
    (a, da), (b, db) = guards
    assert a.threshold == b.threshold and np.array_equal(a.train, b.train) and np.array_equal(da, db)


def test_the_guard_hears_the_type_asked_and_keeps_the_best_draw():
    torch.manual_seed(0)
    model = clf.DrumClassifier(clf.ClassifierConfig(classes=["hihat", "kick", "snare"])).eval()
    audio, units, types = _hits()
    guard = novelty.build(model, audio, units, types, "c0ffee")
    probs, _ = guard.judge(audio)
    d, heard = guard.measure(audio, "snare")
    assert np.array_equal(d, guard.distance(audio)) and np.array_equal(heard, probs.argmax(1) == 2)
    for want in (None, "clap"):             # no type asked, or one the classifier does not know: every hit passes it
        assert guard.measure(audio, want)[1].all()
    line = guard.threshold
    d1, h1 = np.full(5, line / 2), np.array([False, False, True, True, False])     # five hits near the line
    d2, h2 = np.array([line, line / 4, line / 4, line, line / 3]), np.array([False, True, True, False, False])
    # past the line beats heard as asked; heard as asked beats farther; else the farther
    assert guard.better(d2, h2, d1, h1).tolist() == [True, True, False, True, False]
    assert guard.better(d1, h1, d2, h2).tolist() == [False, False, True, False, True]
    assert guard.passes(np.array([line, line, line / 2]), np.array([True, False, True])).tolist() == [True, False, False]
    silent = np.zeros((1, audio.shape[1]), np.float32)               # no drum: never heard as the one asked
    assert guard.measure(silent, "snare")[1].tolist() == guard.measure(silent, None)[1].tolist() == [False]
    assert guard.better(np.array([line / 2]), np.array([False]), np.array([-np.inf]), np.array([False])).tolist() == [True]


def test_a_guard_with_no_line_hears_the_type_alone():
    # a library filed by type shows no memorisation line (`units_of` None): the classifier still hears each hit
    torch.manual_seed(0)
    model = clf.DrumClassifier(clf.ClassifierConfig(classes=["hihat", "kick", "snare"])).eval()
    audio, units, types = _hits()
    lined, alone = novelty.build(model, audio, units, types, "c0ffee"), novelty.hearing(model, "c0ffee")
    assert alone.threshold is None and alone.stamp() == {"classifier_hash": "c0ffee", "threshold": None}
    d, heard = alone.measure(audio, "snare")
    assert np.isposinf(d).all() and np.array_equal(heard, lined.measure(audio, "snare")[1])   # the same ear
    assert alone.passes(d, heard).tolist() == heard.tolist()           # a training hit itself is no nearer than any
    silent = np.zeros((1, audio.shape[1]), np.float32)
    ds, hs = alone.measure(silent, None)
    assert ds.tolist() == [-np.inf] and not alone.passes(ds, hs).any()  # a silent draw is drawn again
    # heard as asked beats not; a sounding draw beats a silent one; else the first is kept
    assert alone.better(np.array([np.inf, np.inf, np.inf, np.inf]), np.array([True, False, False, True]),
                        np.array([np.inf, np.inf, -np.inf, np.inf]), np.array([False, True, False, True])).tolist() \
        == [True, False, True, False]


def test_a_guard_built_from_chunks_of_hits_is_the_guard_built_from_all_at_once():
    # a big library's training hits were stacked whole (5,000 hits: 1.75 GB): they are now heard a chunk at a time
    torch.manual_seed(0)
    model = clf.DrumClassifier(clf.ClassifierConfig(classes=["hihat", "kick", "snare"])).eval()
    audio, units, types = _hits()
    whole = novelty.build(model, audio, units, types, "c0ffee")
    parts = novelty.build(model, (audio[i:i + 5] for i in range(0, len(audio), 5)), units, types, "c0ffee")
    assert np.allclose(whole.train, parts.train, atol=1e-4) and abs(whole.threshold - parts.threshold) < 1e-4
