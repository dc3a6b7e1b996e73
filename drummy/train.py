"""Training loops and data splits.

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
from .library import PREVIOUS_VAE, LibraryError, Sample, Workspace, classifier_path, vae_path  # noqa: F401  (the paths are re-exported)
from .labels import TYPES, UNKNOWN


@dataclass
class TrainConfig:
    epochs: int = 30           # passes over the training set
    batch: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-3
    val_fraction: float = 0.2  # share of groups (kits/folders) held out per drum type
    min_per_class: int = 3     # types with fewer labelled samples are left out
    seed: int = 0
    max_steps: int | None = None  # stop after this many optimiser steps (smoke tests)
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
        weights: np.ndarray | None = None) -> tuple[clf.DrumClassifier, dict]:
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
    bar = tqdm(total=total, desc="train classifier", unit="step", mininterval=1.0, disable=not progress)
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
    bar.close()
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


def labelled(ws: Workspace, min_per_class: int = 3) -> tuple[list[Sample], list[str]]:
    """Human-labelled samples (not unknown, not predicted) of types with enough examples.
    A sample whose log-mel is not finite (taken in before ingest skipped absurd levels)
    is left out, with a word: one such sample made every weight of a classifier NaN."""
    def enough(samples: list[Sample]) -> list[str]:
        counts = Counter(s.drum_type for s in samples)
        classes = sorted(t for t, n in counts.items() if n >= min_per_class)
        if len(classes) < 2:
            raise LibraryError(f"need at least {min_per_class} labelled samples of each of two drum types or more to "
                               f"train a classifier (found: {', '.join(f'{t} {n}' for t, n in sorted(counts.items())) or 'none'})")
        return classes
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
    ws.require_samples()                   # before the lock makes a folder for a workspace that is not there
    with ws.writing():                     # an ingest meanwhile would train on half a library
        samples, classes = labelled(ws, cfg.min_per_class)
        partial = classifier_partial_path(ws)
        if not resume:
            partial.unlink(missing_ok=True)
        model, metrics = fit_ensemble(ws, samples, classes, cfg, progress, partial=partial)
        clf.save(model, classifier_path(ws), metrics)
        if "confusion" in metrics:
            plot_confusion(metrics["classes"], np.array(metrics["confusion"]), confusion_png_path(ws))
        else:                                     # no held-out kit this time: no earlier classifier's matrix either
            confusion_png_path(ws).unlink(missing_ok=True)
        partial.unlink(missing_ok=True)
    return metrics


def confusion_png_path(ws: Workspace) -> Path:
    return classifier_path(ws).with_name("classifier-confusion.png")


def mixups(classes: list[str], m, top: int = 3) -> list[tuple[str, str, int]]:
    """The most frequent (true type, heard as, count) of a confusion matrix, off its diagonal."""
    m = np.asarray(m)
    off = [(classes[i], classes[j], int(m[i, j])) for i in range(len(classes)) for j in range(len(classes))
           if i != j and m[i, j]]
    return sorted(off, key=lambda t: -t[2])[:top]


def plot_confusion(classes: list[str], m: np.ndarray, path: Path) -> None:
    """The validation verdicts as a PNG: rows the labelled type, columns the type heard,
    each row as shares of its files (the counts written in)."""
    import io
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from .library import atomic_write_bytes
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
    atomic_write_bytes(path, buf.getvalue())


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
    if done.runs or done.members:
        k = len(done.runs) + len(done.members)
        print(f"drummy: resuming the interrupted training: {k} net{'s' * (k > 1)} finished before it stopped",
              file=sys.stderr)
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
            model, history = fit(mels[ti], y[ti], classes, replace(cfg, seed=seed), val=(mels[vi], y[vi]),
                                 progress=progress, weights=source_weights(train))
            done.runs[k] = {"history": history, "pred": clf.predict(model, mels[vi]).argmax(1).tolist()}
            done.save()
        histories.append(done.runs[k]["history"])
        yv.append(y[vi])
        pv.append(np.array(done.runs[k]["pred"], dtype=np.int64))
        val_groups |= {s.group for s in val}
        for s, p in zip(val, pv[-1]):                         # a file of one type heard as another
            if classes[p] != s.drum_type:
                misheard.setdefault(s.hash, {"path": s.path, "type": s.drum_type, "heard": classes[p]})
    members = []
    for k in range(max(1, cfg.members)):
        if k not in done.members:
            net = fit(mels, y, classes, replace(cfg, seed=cfg.seed + k), progress=progress,
                      weights=source_weights(samples))[0]
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
    todo = [s for s in ws.samples.values() if s.drum_type == UNKNOWN or s.predicted]
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


# --- blend generator ------------------------------------------------------------------

@dataclass
class VAETrainConfig:
    steps: int = 4000              # optimiser steps at most
    minutes: float | None = None   # wall-clock budget, counted across resumes
    batch: int = 32
    lr: float = 1e-3
    beta: float = 0.5              # weight of the KL term against the summed squared code error
    warmup: int = 500              # steps over which beta ramps up from 0
    type_weight: float = 30.0      # weight of the critic's type loss on hits decoded from the prior (0 = off)
    brightness_weight: float = 30.0  # weight of the brightness-follows-its-condition loss on those hits (0 = off)
    val_fraction: float = 0.15     # share of groups (kits/folders) held out per drum type
    val_max_share: float = 0.2     # ... but never more than this share of the hits
    eval_every: int = 250          # steps between validation passes
    patience: int = 8              # validation passes without improvement before stopping
    checkpoint_every: int = 500    # steps between resumable checkpoints
    ema: float = 0.998             # the weights validated, kept and saved: their moving average over steps (0 = the last)
    min_tag_count: int = 3         # tags on fewer samples are not conditions
    latent: int = 16
    seed: int = 0


def _checkpoint_path(ws: Workspace) -> Path:
    return ws.root / "models" / "vae.checkpoint.safetensors"


def vae_dataset(ws: Workspace, min_tag_count: int = 3, progress: bool = True):
    """Every sample with a type or a tag: (samples, label sets, codes (N, C, T), raw controls (N, 4))."""
    from .vae import sample_labels
    samples = [s for s in ws.require_samples() if not s.predicted or s.confidence]
    label_sets = [sample_labels(s.drum_type, s.tags) for s in samples]
    keep = [i for i, ls in enumerate(label_sets) if ls]
    samples, label_sets = [samples[i] for i in keep], [label_sets[i] for i in keep]
    if len(samples) < 8:
        raise LibraryError(f"need at least 8 labelled samples to train the blend generator (found {len(samples)})")
    codes, raw = ws.codes([s.hash for s in samples], progress=progress)
    return samples, label_sets, codes, raw


def train_vae(ws: Workspace, cfg: VAETrainConfig = VAETrainConfig(), progress: bool = True,
              resume: bool = True, on_step=None) -> dict:
    """`_train_vae`, holding the workspace (`writing`): two trainings at once would
    write one checkpoint, and an ingest meanwhile would change the data under it."""
    ws.require_samples()
    with ws.writing():
        return _train_vae(ws, cfg, progress, resume, on_step)


def _train_vae(ws: Workspace, cfg: VAETrainConfig, progress: bool, resume: bool, on_step) -> dict:
    """Train the workspace's blend generator with a validation split by kit/folder
    and early stopping. A checkpoint is written atomically every
    cfg.checkpoint_every steps and on Ctrl-C; a run started again with the same library
    and config (its step or minute budget aside) continues from it. `on_step(step)` is called after every step. Saves models/vae.safetensors (best validation
    weights, config, label statistics, history) and returns its metrics."""
    from safetensors.torch import load_file as load_tensors, save as save_tensors
    from . import vae as V
    from .audio import interrupts_held
    from .library import atomic_write_bytes
    if cfg.steps < 1 or (cfg.minutes is not None and not cfg.minutes > 0):
        # a zero budget would save the untrained starting weights over a trained model
        raise ValueError(f"nothing to train: steps={cfg.steps}, minutes={cfg.minutes}")
    samples, label_sets, codes, raw = vae_dataset(ws, cfg.min_tag_count, progress)
    vocab = V.vocabulary(label_sets, cfg.min_tag_count)
    train, val = group_split(samples, cfg.val_fraction, cfg.seed, cfg.val_max_share)
    val_ids = {s.hash for s in val}
    ti = np.array([i for i, s in enumerate(samples) if s.hash not in val_ids])
    vi = np.array([i for i, s in enumerate(samples) if s.hash in val_ids], dtype=np.int64)
    finite = raw[ti]
    mcfg = V.VAEConfig(labels=vocab, latent=cfg.latent,
                       control_mean=[float(v) for v in np.nanmean(finite, 0)],
                       control_std=[float(v) for v in np.maximum(np.nanstd(finite, 0), 1e-3)], tone=True)
    floor = mcfg.codec_cfg.floor_db
    X = V.scale_code(torch.from_numpy(codes), floor)                           # (N, C, T)
    cond = torch.from_numpy(np.concatenate([V.multi_hot(label_sets, vocab), V.control_columns(raw, mcfg)], 1))  # (N, D)

    types = [lab for lab in vocab if lab != UNKNOWN and lab in TYPES]
    # The code's brightness, calibrated on the training hits to the measured one (log Hz).
    with torch.no_grad():
        proxy = V.log_centroid(torch.from_numpy(codes[ti]), mcfg.codec_cfg).numpy()
    ok = np.isfinite(raw[ti, 0]) & np.isfinite(proxy)
    bright_a, bright_b = (float(v) for v in np.polyfit(proxy[ok], raw[ti, 0][ok], 1)) if ok.sum() > 2 else (1.0, 0.0)
    mcfg.brightness_fit = [bright_a, bright_b]
    y_type = torch.tensor([types.index(s.drum_type) if s.drum_type in types else -100 for s in samples])

    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = V.BlendVAE(mcfg)
    critic = V.CodeCritic(mcfg.codec_cfg.channels, max(len(types), 1))
    opt = torch.optim.AdamW(list(model.parameters()) + list(critic.parameters()), lr=cfg.lr, weight_decay=1e-4)
    # Kits with many velocity layers of one drum should not drown the rest.
    counts: dict = {}
    for i in ti:
        k = (samples[i].group, samples[i].drum_type)
        counts[k] = counts.get(k, 0) + 1
    draw = torch.tensor([1 / math.sqrt(counts[(samples[i].group, samples[i].drum_type)]) for i in ti])

    # what the run's course depends on: not its budget, so a resumed run may be given more steps or minutes
    course = {k: v for k, v in asdict(cfg).items() if k not in ("steps", "minutes")}
    fingerprint = json.dumps({"config": course, "model": mcfg.to_dict(), "train": sorted(samples[i].hash for i in ti)})
    fingerprint = hashlib.sha1(fingerprint.encode()).hexdigest()
    state = {"step": 0, "elapsed": 0.0, "best": float("inf"), "since_best": 0, "history": {
        "step": [], "train_loss": [], "train_recon": [], "train_kl": [], "val_loss": [], "val_recon": [], "val_kl": []}}
    best_state = None
    # The weights' moving average over steps: a snapshot of the last step's weights lands
    # wherever that batch left them, and which types a seed's model drew well swung with it.
    ema = {k: v.detach().clone() for k, v in model.state_dict().items()}
    ckpt = _checkpoint_path(ws)
    if resume and ckpt.exists():
        from safetensors import SafetensorError, safe_open
        try:
            with safe_open(str(ckpt), "pt") as f:
                meta = f.metadata() or {}
        except (SafetensorError, OSError):
            meta = None                                                 # damaged (a full disk, a crash mid-copy)
        if meta is None:
            print(f"drummy: the interrupted run's checkpoint {ckpt} is damaged; starting over", file=sys.stderr)
        elif meta.get("fingerprint") != fingerprint:
            print("drummy: the interrupted run's checkpoint was for another library, other settings or an older "
                  "Drummy; starting over", file=sys.stderr)
        else:
            t = load_tensors(str(ckpt))
            model.load_state_dict({k[6:]: v for k, v in t.items() if k.startswith("model.")})
            critic.load_state_dict({k[7:]: v for k, v in t.items() if k.startswith("critic.")})
            best_state = {k[5:]: v for k, v in t.items() if k.startswith("best.")} or None
            ema = {k[4:]: v for k, v in t.items() if k.startswith("ema.")}
            opt_state = json.loads(meta["opt"])
            for k, v in t.items():
                if k.startswith("opt."):
                    _, pid, name = k.split(".", 2)
                    opt_state["state"].setdefault(pid, {})[name] = v
            opt_state["state"] = {int(k): v for k, v in opt_state["state"].items()}
            opt.load_state_dict(opt_state)
            state = json.loads(meta["state"])
            gen.manual_seed(cfg.seed + state["step"])
            print(f"drummy: resuming the interrupted run at step {state['step']}", file=sys.stderr)

    def save_checkpoint():
        with interrupts_held():                  # a second Ctrl-C waits for the checkpoint to be in place
            sd = opt.state_dict()
            tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
            tensors.update({f"critic.{k}": v for k, v in critic.state_dict().items()})
            tensors.update({f"best.{k}": v for k, v in (best_state or {}).items()})
            tensors.update({f"ema.{k}": v for k, v in ema.items()})
            for pid, st in sd["state"].items():
                for name, v in st.items():
                    tensors[f"opt.{pid}.{name}"] = v if isinstance(v, torch.Tensor) else torch.tensor(v)
            meta = {"fingerprint": fingerprint, "state": json.dumps(state),
                    "opt": json.dumps({"state": {}, "param_groups": sd["param_groups"]})}
            atomic_write_bytes(ckpt, save_tensors({k: v.contiguous() for k, v in tensors.items()}, metadata=meta))

    def losses(xb, cb, beta):
        pred, mu, logvar = model(xb, cb)
        rec = V.recon_error(pred, xb).mean()
        k = V.kl(mu, logvar).sum(1).mean()
        return rec + beta * k, rec, k

    def validate():
        """The held-out losses of the averaged weights (`ema`)."""
        if not len(vi):
            return None
        live = {k: v.clone() for k, v in model.state_dict().items()}
        model.load_state_dict(ema)
        try:
            return _validate()
        finally:
            model.load_state_dict(live)

    def _validate():
        model.eval()
        with torch.no_grad():
            g = torch.get_rng_state()
            torch.manual_seed(1234)
            out = [losses(X[vi[j:j + 256]], cond[vi[j:j + 256]], cfg.beta) for j in range(0, len(vi), 256)]
            torch.set_rng_state(g)
        model.train()
        w = np.array([min(256, len(vi) - j) for j in range(0, len(vi), 256)], float)
        return [float(np.average([float(o[i]) for o in out], weights=w)) for i in range(3)]

    budget = None if cfg.minutes is None else cfg.minutes * 60
    bar = tqdm(total=cfg.steps, initial=state["step"], desc="train vae", unit="step", disable=not progress,
               mininterval=1.0)
    model.train()
    t_start = time.time() - state["elapsed"]
    run = []
    stopped = "steps"
    try:
        while state["step"] < cfg.steps:
            if budget is not None and time.time() - t_start >= budget:
                stopped = "minutes"
                break
            idx = ti[torch.multinomial(draw, cfg.batch, replacement=True, generator=gen).numpy()]
            beta = cfg.beta * min(1.0, (state["step"] + 1) / max(cfg.warmup, 1))
            loss, rec, k = losses(X[idx], cond[idx], beta)
            yb = y_type[idx]
            # Hits decoded from the prior, with the brightness condition moved off the data
            # (about +-1 std): they must keep their type and follow the requested brightness.
            cf = cond[idx].clone()
            cf[:, -4] += torch.randn(len(idx), generator=gen)
            fake = None
            if cfg.type_weight > 0 or cfg.brightness_weight > 0:
                fake = model.decode(torch.randn(len(idx), mcfg.latent, generator=gen), cf)
            if cfg.type_weight > 0 and bool((yb >= 0).any()):
                # the critic learns types from real codes ...
                loss = loss + F.cross_entropy(critic(X[idx]), yb, ignore_index=-100)
                # ... and, frozen, asks the decoder for hits of the conditioned type
                frozen = {n: p.detach() for n, p in critic.named_parameters()}
                aux = F.cross_entropy(torch.func.functional_call(critic, frozen, (fake,)), yb, ignore_index=-100)
                loss = loss + cfg.type_weight * aux
            if cfg.brightness_weight > 0:
                got = (bright_a * V.log_centroid(V.unscale_code(fake, floor), mcfg.codec_cfg) + bright_b - mcfg.control_mean[0]) / mcfg.control_std[0]
                loss = loss + cfg.brightness_weight * F.mse_loss(got, cf[:, -4])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            torch.nn.utils.clip_grad_norm_(critic.parameters(), 5.0)
            opt.step()
            average_weights(ema, model.state_dict(), state["step"], cfg.ema)
            state["step"] += 1
            run.append((loss.item(), rec.item(), k.item()))
            bar.update(1)
            bar.set_postfix(recon=f"{run[-1][1]:.1f}", kl=f"{run[-1][2]:.1f}", best=f"{state['best']:.1f}", refresh=False)
            if state["step"] % cfg.eval_every == 0 or state["step"] == cfg.steps:
                h = state["history"]
                m = np.mean(run, 0)
                run = []
                h["step"].append(state["step"])
                for key, v in zip(("train_loss", "train_recon", "train_kl"), m):
                    h[key].append(float(v))
                v = validate()
                if v is not None:
                    for key, x in zip(("val_loss", "val_recon", "val_kl"), v):
                        h[key].append(x)
                    if state["step"] >= cfg.warmup and v[0] < state["best"]:
                        state["best"], state["since_best"] = v[0], 0
                        best_state = {k2: t.clone() for k2, t in ema.items()}
                    elif state["step"] >= cfg.warmup:
                        state["since_best"] += 1
                if state["since_best"] >= cfg.patience:
                    stopped = "early stop"
                    break
            if state["step"] % cfg.checkpoint_every == 0:
                state["elapsed"] = time.time() - t_start
                save_checkpoint()
            if on_step is not None:
                on_step(state["step"])
    except KeyboardInterrupt:              # Ctrl-C: keep every step done so far, then stop
        bar.close()
        state["elapsed"] = time.time() - t_start
        save_checkpoint()
        raise
    bar.close()
    state["elapsed"] = time.time() - t_start
    model.load_state_dict(best_state if best_state is not None else ema)
    model.eval()
    metrics = {"train_samples": len(ti), "val_samples": len(vi), "val_groups": sorted({s.group for s in val}),
               "steps": state["step"], "seconds": round(state["elapsed"], 1), "stopped": stopped,
               "best_val_loss": state["best"] if math.isfinite(state["best"]) else None, "history": state["history"], "train_config": asdict(cfg),
               "train_hashes": [samples[i].hash for i in ti], "val_hashes": [samples[i].hash for i in vi]}
    data = {"data.labels": torch.from_numpy(V.multi_hot([label_sets[i] for i in ti], vocab)).to(torch.uint8),
            "data.controls": cond[ti, len(vocab):].clone()}
    with interrupts_held():
        keep_previous(ws, cfg.warmup, metrics)
        V.save(model, vae_path(ws), metrics, data)
    ckpt.unlink(missing_ok=True)
    return metrics


@torch.no_grad()
def average_weights(ema: dict, weights: dict, step: int, decay: float) -> None:
    """Fold one step's `weights` into their moving average `ema`, in place. The decay ramps
    up as (1 + step) / (10 + step) to `decay` (0.998 from step 4490), so the random start
    is forgotten at once: a flat 0.998 still held a third of it after the demo's 500 steps
    and that model collapsed. Integer buffers and `decay` 0 take the last weights."""
    d = min(decay, (1 + step) / (10 + step))
    for k, v in weights.items():
        if v.dtype.is_floating_point and decay > 0:
            ema[k].mul_(d).add_(v, alpha=1 - d)
        else:
            ema[k].copy_(v)


def keep_previous(ws: Workspace, warmup: int, metrics: dict) -> None:
    """Copy the blend model a new one is about to replace beside it (`PREVIOUS_VAE`): a short
    run by mistake (`--steps 1`) replaced a trained model for good. Copied, not moved,
    so a save that fails (a full disk) leaves the model as it was. A model of fewer than
    `warmup` steps does not push out a trained one kept there (two short runs in a row).
    Records the kept copy's path in metrics["replaced"] when there was a model to replace."""
    import shutil
    from .audio import atomic_write
    path = vae_path(ws)
    previous = path.with_name(PREVIOUS_VAE)
    if not path.exists():
        return
    metrics["replaced"] = str(previous)
    try:
        rough = json.loads(path.with_suffix(".json").read_text()).get("steps", 0) < warmup
    except (OSError, ValueError, AttributeError, TypeError):     # no readable record: kept as it is
        rough = False
    if rough and previous.exists():
        return
    for suffix in (".json", ".safetensors"):
        src = path.with_suffix(suffix)
        if src.exists():
            atomic_write(previous.with_suffix(suffix), lambda tmp, src=src: shutil.copyfile(src, tmp))
