"""The classifier's training, auto-labelling, and the data splits both models use.

Splits are by kit or folder, never by file: a random split by file puts
near-identical velocity layers of one drum on both sides and flatters the model.
"""
from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from . import classifier as clf
from .kits import file_of_key
from .library import LibraryError, Sample, Workspace, classifier_path, vae_path  # noqa: F401  (the paths are re-exported)
from .labels import UNKNOWN, not_drums


STEPS = 600   # a net's steps at most by default: the benchmark's 626 training hits take 300 in 30 epochs; on 3,143
              # hits 600 steps read the unseen kits as 1,500 did (BENCHMARKS.md, session 41)


@dataclass
class TrainConfig:
    epochs: int = 30           # passes over the training set
    batch: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-3
    val_fraction: float = 0.2  # share of groups (kits/folders) held out per drum type
    min_per_class: int = 3     # types with fewer labelled samples are left out
    seed: int = 0
    max_steps: int | None = STEPS  # each net's optimiser steps at most (`--steps`; None: every epoch). A big library's
                                   # epochs are long: 6,000 samples took 30-95 min, and 5x the steps bought nothing
    members: int = 3           # nets in the saved classifier (each with its own seed), and validation runs


def _stable_hash(text: str, seed: int) -> int:
    return int(hashlib.sha1(f"{seed}:{text}".encode("utf-8", "surrogateescape")).hexdigest()[:8], 16)  # a Latin-1 folder


def group_split(samples: list[Sample], val_fraction: float, seed: int = 0,
                max_share: float = 1.0, type_share: float = 0.5) -> tuple[list[Sample], list[Sample]]:
    """Hold out whole groups (kits or folders). For each drum type, about
    val_fraction of its groups go to validation, so every type is seen on both
    sides when it has at least two groups. Past a type's first held-out group, a
    group that would take the held-out hits over max_share of all samples is
    passed over: a kit is one group for every type in it, so a few big kits
    drawn for different types could otherwise hold out 40 % of a small library.
    Nor is a group held out that would take more than type_share of any type's
    hits: in a library filed by type ("Snares & Claps/", "Cymbals/"), one folder
    is most of a type, and holding it out left 3 of 14 snares to learn from. Where
    that cap leaves nothing to validate on (two kits, each most of some type), it
    is dropped."""
    groups_of_type: dict[str, set[str]] = {}
    size: dict[str, int] = {}
    count: dict[str, dict[str, int]] = {}            # group -> type -> hits
    n_type: dict[str, int] = {}
    for s in samples:
        groups_of_type.setdefault(s.drum_type, set()).add(s.group)
        size[s.group] = size.get(s.group, 0) + 1
        c = count.setdefault(s.group, {})
        c[s.drum_type] = c.get(s.drum_type, 0) + 1
        n_type[s.drum_type] = n_type.get(s.drum_type, 0) + 1
    val_groups: set[str] = set()
    room, held = max_share * len(samples), 0
    held_type: dict[str, int] = {}

    def leaves_enough(g: str) -> bool:
        return all(held_type.get(t, 0) + k <= type_share * n_type[t] for t, k in count[g].items())

    for t, groups in sorted(groups_of_type.items()):
        if len(groups) < 2 or val_fraction <= 0:
            continue
        ranked = sorted(groups, key=lambda g: _stable_hash(f"{t}/{g}", seed))
        want = max(1, round(len(groups) * val_fraction))
        have = [g for g in ranked if g in val_groups]
        for g in ranked:
            if len(have) >= want:
                break
            if g not in val_groups and (not have or held + size[g] <= room) and leaves_enough(g):
                val_groups.add(g)
                held += size[g]
                for u, k in count[g].items():
                    held_type[u] = held_type.get(u, 0) + k
                have.append(g)
    # Never leave a type with nothing to learn from.
    for t, groups in groups_of_type.items():
        if groups and groups <= val_groups:
            val_groups.discard(sorted(groups)[0])
    if not val_groups and type_share < 1.0:       # two kits, each most of some type: validate as before
        return group_split(samples, val_fraction, seed, max_share, 1.0)
    train = [s for s in samples if s.group not in val_groups]
    val = [s for s in samples if s.group in val_groups]
    return train, val


def augment(mel: torch.Tensor, gen: torch.Generator, floor_db: float = -80.0) -> torch.Tensor:
    """Random gain, spectral tilt (EQ), pitch shift (mel bins), time stretch and
    shift (frames) and an added noise floor, all in the log-mel domain:
    (B, M, T) -> (B, M, T). They stand for what differs between kits of the same
    drum: level, mic and EQ, tuning, decay, trigger latency and room noise."""
    B, M, T = mel.shape
    out = mel + (torch.rand(B, 1, 1, generator=gen) * 24 - 12)                    # gain ±12 dB
    tilt = (torch.rand(B, 1, 1, generator=gen) * 0.3 - 0.15)                       # ±0.15 dB per bin
    out = out + tilt * (torch.arange(M).view(1, M, 1) - M / 2)                     # ≈ ±5 dB at the edges
    rate = torch.exp(torch.rand(B, 1, generator=gen) * 0.5 - 0.25)                 # stretch 0.78..1.28
    delay = torch.randint(0, 4, (B, 1), generator=gen)                              # 0..3 frames late
    src = (torch.arange(T).view(1, T) - delay) / rate                               # (B, T) source frame
    valid = (src >= 0) & (src <= T - 1)
    src = src.clamp(0, T - 1).round().long()
    out = torch.gather(out, 2, src.unsqueeze(1).expand(B, M, T))
    out = torch.where(valid.unsqueeze(1), out, torch.full_like(out, floor_db))
    shifts = torch.randint(-2, 3, (B,), generator=gen)                              # ±2 mel bins
    rows = torch.arange(M).view(1, M) - shifts.view(B, 1)                           # (B, M) source bin
    ok = (rows >= 0) & (rows < M)
    out = torch.gather(out, 1, rows.clamp(0, M - 1).unsqueeze(2).expand(B, M, T))
    out = torch.where(ok.unsqueeze(2), out, torch.full_like(out, floor_db))
    noise_db = torch.rand(B, 1, 1, generator=gen) * 40 - 100                       # -100..-60 dB floor
    noise = noise_db + torch.randn(B, M, T, generator=gen) * 3
    out = 10 * torch.log10(10 ** (out / 10) + 10 ** (noise / 10))
    return out.clamp(min=floor_db)


def source_weights(samples: list[Sample]) -> np.ndarray:
    """Sampling weight per sample so that each (kit or folder, drum type) counts the
    same however many velocity layers it has: a 40-layer snare must not teach the
    model that snares sound like that one snare."""
    keys = [(s.group, s.drum_type) for s in samples]
    counts: dict = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    return np.array([1.0 / counts[k] for k in keys])


def fit(mels: np.ndarray, labels: np.ndarray, classes: list[str], cfg: TrainConfig,
        val: tuple[np.ndarray, np.ndarray] | None = None, progress: bool = True,
        model_cfg: clf.ClassifierConfig | None = None,
        weights: np.ndarray | None = None, desc: str = "train classifier") -> tuple[clf.DrumClassifier, dict]:
    """Train a classifier on log-mels (N, M, T) with integer labels (N,).
    `weights` (N,) sets how often each sample is drawn (see source_weights); the
    loss is balanced over classes. Runs every epoch and keeps the last weights (with
    7 training kits, early stopping on held-out kits cost more than it saved: see
    BENCHMARKS, session 11); `val` is only scored. Returns (model, history)."""
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = clf.DrumClassifier(model_cfg or clf.ClassifierConfig(classes=list(classes)))
    X = torch.from_numpy(mels)
    Y = torch.from_numpy(labels.astype(np.int64))
    draw = torch.tensor(np.ones(len(X)) if weights is None else weights, dtype=torch.float64)
    counts = np.bincount(labels, weights=draw.numpy(), minlength=len(classes))
    class_w = torch.tensor(np.where(counts > 0, counts.sum() / (len(classes) * np.maximum(counts, 1e-9)), 0),
                           dtype=torch.float32)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(X) / cfg.batch))
    total = cfg.epochs * steps_per_epoch if cfg.max_steps is None else min(cfg.max_steps, cfg.epochs * steps_per_epoch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(total, 1), pct_start=0.15)
    history = {"epoch": [], "train_loss": [], "val_acc": [], "val_balanced_acc": []}
    step = 0
    # a with block: Ctrl-C closes the bar before the message, which landed on its line
    with tqdm(total=total, desc=desc, unit="step", mininterval=1.0, disable=not progress) as bar:
        t0 = time.time()
        for epoch in range(cfg.epochs):
            model.train()
            order = torch.multinomial(draw, len(X), replacement=True, generator=gen)
            losses = []
            for i in range(0, len(X), cfg.batch):
                idx = order[i:i + cfg.batch]
                if len(idx) < 2:
                    continue
                logits = model(augment(X[idx], gen))
                loss = F.cross_entropy(logits, Y[idx], weight=class_w, label_smoothing=0.05)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                losses.append(loss.item())
                step += 1
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
                if step >= total:
                    break
            history["epoch"].append(epoch + 1)
            history["train_loss"].append(float(np.mean(losses)) if losses else float("nan"))
            if val is not None and len(val[0]):
                pred = clf.predict(model, val[0]).argmax(1)
                acc = float((pred == val[1]).mean())
                bal = balanced_accuracy(val[1], pred, len(classes))
                history["val_acc"].append(acc)
                history["val_balanced_acc"].append(bal)
            if step >= total:
                break
    history["seconds"] = time.time() - t0
    history["steps"] = step
    return model.eval(), history


def balanced_accuracy(y: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    """Mean per-class recall over the classes present in y."""
    recalls = [float((pred[y == c] == c).mean()) for c in range(n_classes) if np.any(y == c)]
    return float(np.mean(recalls)) if recalls else 0.0


def confusion(y: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(true, predicted) counts: (n_classes, n_classes)."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (y, pred), 1)
    return m


def too_few(samples: list[Sample], min_per_class: int = 3) -> str | None:
    """Why these samples cannot train a classifier (one line), or None where they can."""
    counts = Counter(s.drum_type for s in samples if s.drum_type != UNKNOWN and not s.predicted)
    if sum(n >= min_per_class for n in counts.values()) >= 2:
        return None
    return (f"need at least {min_per_class} labelled samples of each of two drum types or more to train a classifier "
            f"(found: {', '.join(f'{t} {n}' for t, n in sorted(counts.items())) or 'none'})")


def classifier_advice(ws: Workspace) -> str:
    """How a workspace gets a classifier: the command, or why its library cannot train one."""
    from .library import shell
    why = too_few(list(ws.samples.values()))
    return f"`drummy train classifier -w {shell(ws.root)}`" if why is None else f"the library cannot train one: {why}"


def labelled(ws: Workspace, min_per_class: int = 3) -> tuple[list[Sample], list[str]]:
    """Human-labelled samples (not unknown, not predicted) of types with enough examples.
    A sample whose log-mel is not finite (taken in before ingest skipped absurd levels)
    is left out, with a word: one such sample made every weight of a classifier NaN."""
    def enough(samples: list[Sample]) -> list[str]:
        if why := too_few(samples, min_per_class):
            raise LibraryError(why)
        counts = Counter(s.drum_type for s in samples)
        return sorted(t for t, n in counts.items() if n >= min_per_class)
    samples = [s for s in ws.require_samples() if s.drum_type != UNKNOWN and not s.predicted]
    classes = enough(samples)
    samples = [s for s in samples if s.drum_type in classes]
    mels, _ = ws.features([s.hash for s in samples])
    finite = np.isfinite(mels.reshape(len(samples), -1)).all(1)
    if not finite.all():
        bad = [s.path for s, ok in zip(samples, finite) if not ok]
        print(f"drummy: left out {len(bad)} sample{'s' * (len(bad) > 1)} whose features are not finite "
              f"numbers (an absurd level), e.g. {bad[0]}", file=sys.stderr)
        samples = [s for s, ok in zip(samples, finite) if ok]
        classes = enough(samples)
        samples = [s for s in samples if s.drum_type in classes]
    return samples, classes


def classifier_partial_path(ws: Workspace) -> Path:
    return ws.root / "models" / "classifier.partial.safetensors"


def train_classifier(ws: Workspace, cfg: TrainConfig = TrainConfig(), progress: bool = True,
                     resume: bool = True) -> dict:
    """Train the workspace's classifier on its labelled samples and save it
    (safetensors + JSON); returns its metrics. Each net is kept as it finishes
    (`classifier_partial_path`), so a run stopped by Ctrl-C goes on from the nets it
    finished when started again on the same library and settings (resume=False: from scratch)."""
    from .audio import interrupts_held, writable_folder
    from .library import atomic_write_bytes
    ws.require_samples()                   # before the lock makes a folder for a workspace that is not there
    with ws.writing():                     # an ingest meanwhile would train on half a library
        writable_folder(classifier_path(ws).parent)    # a read-only models/ said now, not after the first net
        samples, classes = labelled(ws, cfg.min_per_class)
        partial = classifier_partial_path(ws)
        if not resume:
            partial.unlink(missing_ok=True)
        model, metrics = fit_ensemble(ws, samples, classes, cfg, progress, partial=partial)
        png = confusion_png(metrics["classes"], np.array(metrics["confusion"])) if "confusion" in metrics else None
        # The classifier, its matrix and the end of the run, as one step: a Ctrl-C in between left a new
        # classifier beside the old one's matrix. The one it replaces is kept (`keep_previous`).
        try:
            with interrupts_held():
                keep_previous(ws, metrics)
                clf.save(model, classifier_path(ws), metrics)
                if png is not None:
                    atomic_write_bytes(confusion_png_path(ws), png)
                else:                             # no held-out kit this time: no earlier classifier's matrix either
                    confusion_png_path(ws).unlink(missing_ok=True)
                partial.unlink(missing_ok=True)
        except KeyboardInterrupt as e:            # came during the save, which finished: done, not to resume
            e.saved = classifier_path(ws)
            raise
    return metrics


PREVIOUS = "classifier.previous"      # beside the classifier: the one its last training replaced


def keep_previous(ws: Workspace, metrics: dict) -> None:
    """Copy the classifier a new one is about to replace (and its record) beside it, as
    classifier.previous.*: a short run by mistake (`--steps 5`) replaced a trained classifier
    for good, and the guard, `--auto-label` and `evaluate` all hear through it. Records the copy
    and the replaced one's validation accuracy and kits in metrics["replaced"]. Not copied: a damaged
    classifier, nor one that validated worse than the one kept there already (two short runs
    in a row pushed the trained one out)."""
    from .library import copy_model, readable_model
    path, previous = classifier_path(ws), classifier_path(ws).with_name(PREVIOUS + ".safetensors")

    def record(model: Path) -> dict:
        try:
            m = json.loads(model.with_suffix(".json").read_text())["metrics"]
            return m if isinstance(m, dict) else {}
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def accuracy(m: dict) -> float | None:
        v = m.get("val_balanced_accuracy")
        return float(v) if isinstance(v, (int, float)) else None
    if not readable_model(path):          # none, or damaged
        return
    replaced = record(path)
    old, kept = accuracy(replaced), accuracy(record(previous)) if previous.exists() else None
    if old is not None and kept is not None and old < kept:
        return
    copy_model(path, previous)
    # (the kits it was validated on: a library grown since holds others, and the figures do not compare alike)
    metrics["replaced"] = {"path": str(previous), "val_balanced_accuracy": old, "val_groups": replaced.get("val_groups")}


def confusion_png_path(ws: Workspace) -> Path:
    return classifier_path(ws).with_name("classifier-confusion.png")


def mixups(classes: list[str], m, top: int = 3) -> list[tuple[str, str, int]]:
    """The most frequent (true type, heard as, count) of a confusion matrix, off its diagonal."""
    m = np.asarray(m)
    off = [(classes[i], classes[j], int(m[i, j])) for i in range(len(classes)) for j in range(len(classes))
           if i != j and m[i, j]]
    return sorted(off, key=lambda t: -t[2])[:top]


def plot_confusion(classes: list[str], m: np.ndarray, path: Path) -> None:
    """`confusion_png`, written to path (atomically)."""
    from .library import atomic_write_bytes
    atomic_write_bytes(path, confusion_png(classes, m))


def confusion_png(classes: list[str], m: np.ndarray) -> bytes:
    """The validation verdicts as a PNG: rows the labelled type, columns the type heard,
    each row as shares of its files (the counts written in)."""
    import io
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    share = m / np.maximum(m.sum(1, keepdims=True), 1)                  # (C, C) rows sum to 1
    fig, ax = plt.subplots(figsize=(1 + 0.6 * len(classes), 0.8 + 0.55 * len(classes)))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            if m[i, j]:
                ax.text(j, i, int(m[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("heard as")
    ax.set_ylabel("labelled")
    ax.set_title("classifier on held-out kits/folders")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


class _Partial:
    """The nets of an ensemble training finished so far, in one safetensors file
    written atomically after each: the validation runs' verdicts (metadata) and the
    shipped members' weights. Only a run of the same samples, labels, groups,
    settings and training code takes them up."""

    def __init__(self, path: Path | None, samples: list[Sample], classes: list[str], cfg: TrainConfig):
        self.path, self.runs, self.members = path, {}, {}
        code = b"".join((Path(__file__).parent / f).read_bytes() for f in ("train.py", "classifier.py", "features.py"))
        self.key = hashlib.sha256(json.dumps({
            "samples": [(s.hash, s.drum_type, s.group) for s in samples], "classes": classes,
            "cfg": asdict(cfg), "code": hashlib.sha256(code).hexdigest()}).encode()).hexdigest()
        if path is None or not path.exists():
            return
        from safetensors import SafetensorError, safe_open
        try:
            with safe_open(str(path), "pt") as f:
                meta = f.metadata() or {}
                if meta.get("key") != self.key:
                    print("drummy: the interrupted classifier training was on another library or settings; "
                          "starting over", file=sys.stderr)
                    return
                self.runs = {int(k): v for k, v in json.loads(meta["runs"]).items()}
                for k in json.loads(meta["members"]):
                    prefix = f"member{k}."
                    self.members[int(k)] = {n[len(prefix):]: f.get_tensor(n) for n in f.keys() if n.startswith(prefix)}
        except (SafetensorError, OSError, ValueError, KeyError) as e:
            print(f"drummy: {path} is damaged ({str(e)[:80]}); training from scratch", file=sys.stderr)
            self.runs, self.members = {}, {}

    def save(self) -> None:
        if self.path is None:
            return
        from safetensors.torch import save as to_bytes
        from .library import atomic_write_bytes
        from .audio import interrupts_held
        tensors = {f"member{k}.{n}": t.contiguous() for k, state in self.members.items() for n, t in state.items()}
        meta = {"key": self.key, "runs": json.dumps(self.runs), "members": json.dumps(sorted(self.members))}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with interrupts_held():                  # a second Ctrl-C waits for the nets to be saved
            atomic_write_bytes(self.path, to_bytes(tensors, metadata=meta))


def fit_ensemble(ws: Workspace, samples: list[Sample], classes: list[str], cfg: TrainConfig,
                 progress: bool = True, partial: Path | None = None) -> tuple[clf.DrumClassifier, dict]:
    """A classifier averaging cfg.members nets, each trained on every sample (seed + i).

    Its validation figures come first, from cfg.members runs of the same training
    that each hold out their own share of kits/folders (seed + i) and pool their
    verdicts on the groups they did not see. The shipped nets are not those runs:
    with a handful of kits, holding a fifth of them out for early stopping cost
    more on kits never seen than it saved (BENCHMARKS.md, session 11). Returns
    (model, metrics). partial: where each finished net is kept, and taken up again
    by a run on the same data and settings (`_Partial`); None keeps nothing."""
    done = _Partial(partial, samples, classes, cfg)
    if done.runs or done.members:        # counted as trained: each of --members nets is a validation run and a kept net
        r, m = len(done.runs), len(done.members)
        print(f"drummy: resuming the interrupted training: {r} of {cfg.members} validation run{'s' * (cfg.members > 1)}"
              f" and {m} of {cfg.members} net{'s' * (cfg.members > 1)} finished before it stopped", file=sys.stderr)
    index = {c: i for i, c in enumerate(classes)}
    mels, _ = ws.features([s.hash for s in samples])
    row = {s.hash: i for i, s in enumerate(samples)}
    y = np.array([index[s.drum_type] for s in samples])
    histories, yv, pv, val_groups, misheard = [], [], [], set(), {}
    for k in range(max(1, cfg.members)):                      # validation runs
        seed = cfg.seed + k
        train, val = group_split(samples, cfg.val_fraction, seed)
        vi = np.array([row[s.hash] for s in val], dtype=np.int64)
        if not len(vi):
            continue
        if k not in done.runs:
            ti = np.array([row[s.hash] for s in train])
            # each run its own bar, named: six bars all called "train classifier" read as one sixth of the wait
            model, history = fit(mels[ti], y[ti], classes, replace(cfg, seed=seed), val=(mels[vi], y[vi]),
                                 progress=progress, weights=source_weights(train),
                                 desc=f"validation run {k + 1}/{max(1, cfg.members)}")
            done.runs[k] = {"history": history, "pred": clf.predict(model, mels[vi]).argmax(1).tolist()}
            done.save()
        histories.append(done.runs[k]["history"])
        yv.append(y[vi])
        pv.append(np.array(done.runs[k]["pred"], dtype=np.int64))
        val_groups |= {s.group for s in val}
        for s, p in zip(val, pv[-1]):                         # a file of one type heard as another
            if classes[p] != s.drum_type:
                misheard.setdefault((s.hash, classes[p]), {"path": s.path, "type": s.drum_type, "heard": classes[p]})
    members = []
    for k in range(max(1, cfg.members)):
        if k not in done.members:
            net = fit(mels, y, classes, replace(cfg, seed=cfg.seed + k), progress=progress,
                      weights=source_weights(samples), desc=f"net {k + 1}/{max(1, cfg.members)}")[0]
            done.members[k] = {n: t.detach().clone() for n, t in net.state_dict().items()}
            done.save()
        net = clf.DrumClassifier(clf.ClassifierConfig(classes=list(classes)))
        net.load_state_dict(done.members[k])
        members.append(net.eval())
    model = clf.combine(members)
    metrics: dict = {"classes": classes, "members": len(members), "train_samples": len(samples),
                     "val_samples": int(sum(len(v) for v in yv)), "val_groups": sorted(val_groups),
                     "history": histories, "train_config": asdict(cfg)}
    if yv:
        yv, pv = np.concatenate(yv), np.concatenate(pv)
        metrics["val_accuracy"] = float((pv == yv).mean())
        metrics["val_balanced_accuracy"] = balanced_accuracy(yv, pv, len(classes))
        metrics["per_class"] = {c: float((pv[yv == i] == i).mean()) for i, c in enumerate(classes) if np.any(yv == i)}
        metrics["confusion"] = confusion(yv, pv, len(classes)).tolist()
        metrics["misheard"] = sorted(misheard.values(), key=lambda m: (m["type"], m["heard"], m["path"]))
    return model, metrics


def auto_label(ws: Workspace, min_confidence: float = 0.5) -> list[tuple[Sample, str, float]]:
    """Give `unknown` samples the classifier's type (marked predicted, with its
    confidence) when it is at least min_confidence sure. Returns what changed."""
    model = clf.load(classifier_path(ws))
    with ws.writing():
        return _auto_label(ws, model, min_confidence)


def _auto_label(ws: Workspace, model: clf.DrumClassifier, min_confidence: float) -> list[tuple[Sample, str, float]]:
    # a sound whose folders say it is no drum ("Vocals/Vox Chop Hey", "FX/Sweeps/Uplifter") is not
    # given the drum type it sounds most like (they were: snares, and the generator learnt them)
    def names(s: Sample) -> list[str]:                     # its file's last three folders and its name
        f = Path(file_of_key(s.path))
        return [*f.parent.parts[-3:], f.stem]
    todo = [s for s in ws.samples.values() if (s.drum_type == UNKNOWN or s.predicted) and not not_drums(names(s))]
    if not todo:
        return []
    probs = np.concatenate([clf.classify_audio(model, [ws.load_audio(s.hash) for s in todo[i:i + 256]])  # any level
                            for i in range(0, len(todo), 256)])                          # 256 hits in memory at once
    changed = []
    for s, p in zip(todo, probs):
        i = int(p.argmax())
        if p[i] >= min_confidence:
            was = (s.drum_type, s.predicted)
            s.drum_type, s.predicted, s.confidence = model.cfg.classes[i], True, round(float(p[i]), 4)
            s.guess = [s.drum_type, s.confidence]
            if was != (s.drum_type, True):           # newly labelled, or heard otherwise than before
                changed.append((s, s.drum_type, s.confidence))
        elif s.predicted:
            s.drum_type, s.predicted, s.confidence, s.guess = UNKNOWN, False, None, None
    ws.save()
    return changed
