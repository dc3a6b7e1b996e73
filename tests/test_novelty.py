"""The memorisation guard's parts: what counts as another kit, cross-kit distances, the line."""
import numpy as np
import torch

from conftest import hat, kick, snare
from drummy import classifier as clf
from drummy import codec, novelty


def test_another_kit_is_a_kit_else_a_folder_else_nothing():
    assert novelty.units_of(["a", "b", "a"], ["x", "x", "y"]) == ["a", "b", "a"]
    assert novelty.units_of(["a", "a", "a"], ["x", "y", "y"]) == ["x", "y", "y"]    # one kit: its folders
    assert novelty.units_of(["a", "a"], ["x", "x"]) is None                          # nothing to compare with


def test_cross_kit_distance_skips_the_hits_own_kit():
    emb = np.array([[0.0, 0], [0.1, 0], [3.0, 4], [3.0, 5]])       # two velocity layers per kit
    d = novelty.cross_kit_distances(emb, ["a", "a", "b", "b"])
    assert np.allclose(d, [5.0, np.hypot(2.9, 4), np.hypot(2.9, 4), np.hypot(2.9, 5)])
    assert novelty.nearest(np.zeros((2, 2)), np.zeros((0, 2))).tolist() == [np.inf, np.inf]


def _hits() -> tuple[np.ndarray, list[str]]:
    ys = [kick(i) for i in range(4)] + [hat(i) for i in range(4)] + [snare(i) for i in range(4)]
    units = ["kit a", "kit b"] * 6
    return np.stack([codec.normalise(y).astype(np.float32) for y in ys]), units


def test_a_training_hit_itself_is_too_near_and_the_line_is_the_kits_own_spread():
    torch.manual_seed(0)
    model = clf.DrumClassifier(clf.ClassifierConfig(classes=["hihat", "kick", "snare"])).eval()
    audio, units = _hits()
    guard = novelty.build(model, audio, units, "c0ffee")
    cross = novelty.cross_kit_distances(guard.train, units)
    assert guard.threshold == np.percentile(cross, novelty.GUARD_PERCENTILE) and guard.threshold > 0
    assert guard.distance(audio[:3]).max() < 1e-3 < guard.threshold     # a copy of a training hit: drawn again
    assert guard.stamp() == {"classifier_hash": "c0ffee", "threshold": guard.threshold}
    # the same projection rebuilt from its stored parts (`for_workspace`'s cache) measures the same
    again = novelty.Guard(novelty.Judge(model, mean=guard.judge.mean, axes=guard.judge.axes), guard.train,
                          guard.threshold, "c0ffee")
    other = np.stack([codec.normalise(snare(40)).astype(np.float32)])
    assert np.allclose(again.distance(other), guard.distance(other), atol=1e-4)
