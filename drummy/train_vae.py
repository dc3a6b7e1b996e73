"""Training the blend generator (`vae.py`): a validation split by kit or folder
(`train.group_split`), early stopping, a type critic and a brightness loss on hits
decoded from the prior, the weights' moving average, and atomic checkpoints that an
interrupted run resumes from.

Apart from the classifier's training (`train.py`), so that the benchmark's judge, which is
retrained whenever the classifier's code changes, is not retrained for a change here.
"""
from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from . import codec
from .library import PREVIOUS_VAE, LibraryError, Workspace, vae_path
from .labels import TYPES, UNKNOWN
from .train import group_split


@dataclass
class VAETrainConfig:
    steps: int = 4000              # optimiser steps at most
    minutes: float | None = None   # wall-clock budget, counted across resumes
    batch: int = 32
    lr: float = 1e-3
    beta: float = 4.0              # weight of the KL term against the summed squared code error (0.5 left the
                                   # training latents up to 5x wider than the N(0, I) generation draws from, and
                                   # which types a seed drew well moved with that: BENCHMARKS.md, session 24)
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
    from .audio import interrupts_held, writable_folder
    from .library import atomic_write_bytes
    if cfg.steps < 1 or (cfg.minutes is not None and not cfg.minutes > 0):
        # a zero budget would save the untrained starting weights over a trained model
        raise ValueError(f"nothing to train: steps={cfg.steps}, minutes={cfg.minutes}")
    models = ws.root / "models"
    writable_folder(models)                # a read-only models/ said now, not after the training
    for stale in models.glob(f".{_checkpoint_path(ws).stem}.*{_checkpoint_path(ws).suffix}"):
        stale.unlink(missing_ok=True)      # a checkpoint's temp file left by a kill -9 (the workspace is ours: `writing`)
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

    def X(idx) -> torch.Tensor:   # the scaled codes of hits idx: (len(idx), C, T) float32; all of them are kept
        return V.scale_code(torch.from_numpy(codes[np.asarray(idx)]).float(), floor)   # float16 (6,000 hits: 2.9 GB)
    cond = torch.from_numpy(np.concatenate([V.multi_hot(label_sets, vocab), V.control_columns(raw, mcfg)], 1))  # (N, D)

    types = [lab for lab in vocab if lab != UNKNOWN and lab in TYPES]
    # The code's brightness, calibrated on the training hits to the measured one (log Hz).
    with torch.no_grad():
        proxy = np.concatenate([V.log_centroid(torch.from_numpy(codes[ti[j:j + 512]]).float(), mcfg.codec_cfg).numpy()
                                for j in range(0, len(ti), 512)])
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
    # ... and its hits: each one's labels and folder too (a hit relabelled while the run was stopped is another condition)
    def hits(idx):
        return sorted([samples[i].hash, samples[i].group, label_sets[i]] for i in idx)
    fingerprint = json.dumps({"config": course, "model": mcfg.to_dict(), "train": hits(ti), "val": hits(vi)})
    fingerprint = hashlib.sha1(fingerprint.encode()).hexdigest()
    state = {"step": 0, "elapsed": 0.0, "best": float("inf"), "since_best": 0, "history": {
        "step": [], "train_loss": [], "train_recon": [], "train_kl": [], "val_loss": [], "val_recon": [], "val_kl": []}}
    best_state = None
    run: list[tuple[float, float, float]] = []     # (loss, recon, kl) of each step since the last validation
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
            run = [tuple(r) for r in state.pop("run", [])]
            if "rng.draw" in t:                            # the random draws go on where they stopped:
                torch.set_rng_state(t["rng.torch"])        # the resumed run is the one that was not interrupted
                gen.set_state(t["rng.draw"])
            else:                                          # a checkpoint from before they were kept
                gen.manual_seed(cfg.seed + state["step"])
            print(f"drummy: resuming the interrupted run at step {state['step']}" + (
                f"; that reaches the {cfg.steps}-step limit, so it ends there, as it was" if state["step"] >= cfg.steps
                else ""), file=sys.stderr)

    saved_step = state["step"]                   # the step the checkpoint on disk holds (a resumed run's: its own)

    def save_checkpoint():
        nonlocal saved_step
        saved_step = state["step"]
        with interrupts_held():                  # a second Ctrl-C waits for the checkpoint to be in place
            sd = opt.state_dict()
            tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
            tensors.update({f"critic.{k}": v for k, v in critic.state_dict().items()})
            tensors.update({f"best.{k}": v for k, v in (best_state or {}).items()})
            tensors.update({f"ema.{k}": v for k, v in ema.items()})
            tensors.update({"rng.torch": rng[0], "rng.draw": rng[1]})
            for pid, st in sd["state"].items():
                for name, v in st.items():
                    tensors[f"opt.{pid}.{name}"] = v if isinstance(v, torch.Tensor) else torch.tensor(v)
            meta = {"fingerprint": fingerprint, "state": json.dumps({**state, "run": run}),
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
            out = [losses(X(vi[j:j + 256]), cond[vi[j:j + 256]], cfg.beta) for j in range(0, len(vi), 256)]
            torch.set_rng_state(g)
        model.train()
        w = np.array([min(256, len(vi) - j) for j in range(0, len(vi), 256)], float)
        return [float(np.average([float(o[i]) for o in out], weights=w)) for i in range(3)]

    budget = None if cfg.minutes is None else cfg.minutes * 60
    bar = tqdm(total=cfg.steps, initial=state["step"], desc="train vae", unit="step", disable=not progress,
               mininterval=1.0)
    model.train()
    t_start = time.time() - state["elapsed"]
    stopped = "steps"
    # The random state as the next step starts: what a checkpoint keeps (taken after each update;
    # validation puts back the state it found, so a Ctrl-C mid-step resumes that step afresh)
    rng = (torch.get_rng_state(), gen.get_state())
    try:
        while state["step"] < cfg.steps:
            if state["since_best"] >= cfg.patience:       # stopped early as a Ctrl-C came: resumed, it stays stopped
                stopped = "early stop"
                break
            if budget is not None and time.time() - t_start >= budget:
                stopped = "minutes"
                break
            idx = ti[torch.multinomial(draw, cfg.batch, replacement=True, generator=gen).numpy()]
            beta = cfg.beta * min(1.0, (state["step"] + 1) / max(cfg.warmup, 1))
            loss, rec, k = losses(X(idx), cond[idx], beta)
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
                loss = loss + F.cross_entropy(critic(X(idx)), yb, ignore_index=-100)
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
            # Held from the update to the checkpoint: a Ctrl-C in between kept half a step (weights
            # moved, step not counted) or a validation without its history, and the run resumed off course
            with interrupts_held():
                opt.step()
                average_weights(ema, model.state_dict(), state["step"], cfg.ema)
                state["step"] += 1
                run.append((loss.item(), rec.item(), k.item()))
                rng = (torch.get_rng_state(), gen.get_state())
                bar.update(1)
                best = f"{state['best']:.1f}" if math.isfinite(state["best"]) else "–"     # none kept before the warm-up
                bar.set_postfix(recon=f"{run[-1][1]:.1f}", kl=f"{run[-1][2]:.1f}", best_loss=best, refresh=False)
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
    # The finished run, kept as a checkpoint until the model is saved: a save that fails (a full
    # disk) or a kill meanwhile loses no training; the same command again resumes at its end and saves.
    # Not where it is already (resumed at its end, or saved at this very step), and never in the model's
    # way: a disk with room for the model but not for the checkpoint (several times its size) still gets it.
    if saved_step != state["step"] or not ckpt.exists():
        try:
            save_checkpoint()
        except OSError as e:
            print(f"drummy: the finished run could not be kept as a checkpoint before its model is saved "
                  f"({e.strerror or e}); saving the model", file=sys.stderr)
    model.load_state_dict(best_state if best_state is not None else ema)
    model.eval()
    metrics = {"train_samples": len(ti), "val_samples": len(vi), "val_groups": sorted({s.group for s in val}),
               "steps": state["step"], "seconds": round(state["elapsed"], 1), "stopped": stopped,
               "best_val_loss": state["best"] if math.isfinite(state["best"]) else None, "history": state["history"], "train_config": asdict(cfg),
               "train_hashes": [samples[i].hash for i in ti], "val_hashes": [samples[i].hash for i in vi]}
    data = {"data.labels": torch.from_numpy(V.multi_hot([label_sets[i] for i in ti], vocab)).to(torch.uint8),
            "data.controls": cond[ti, len(vocab):].clone(),
            "data.balance": codec.tone_balance(torch.from_numpy(codes[ti]).float(), mcfg.codec_cfg),   # (`Generator._balance`)
            "data.fall": tail_falls(ws, [samples[i].hash for i in ti], progress),                      # (`Generator._falls`)
            "data.sweep": codec.pitch_sweep(torch.from_numpy(codes[ti]).float(), mcfg.codec_cfg)}     # (`Generator._sweeps`)
    try:
        with interrupts_held():             # the model, its predecessor kept and the checkpoint gone: one step
            keep_previous(ws, cfg.warmup, metrics)
            V.save(model, vae_path(ws), metrics, data)
            ckpt.unlink(missing_ok=True)
    except KeyboardInterrupt as e:          # came during the save, which finished: the run is done, not to resume
        e.saved = vae_path(ws)
        raise
    return metrics


def tail_falls(ws, hashes: list[str], progress: bool = False) -> torch.Tensor:
    """(N,) float32: how fast each sample rings out past its first second (`codec.tail_fall` over
    its first RING_SECONDS, dB/s, at least LEAST_FALL), read from the workspace's copies; 0 for one over
    by then (not NaN: a model's tensors compare equal to themselves, and strict readers take them), and
    for one whose copy cannot be read (training reads the cached codes only: a copy deleted since failed
    a whole training at its save)."""
    from tqdm import tqdm
    from .audio import AudioError
    from .generate import RING_SECONDS

    def fall(h: str) -> float:
        try:
            return codec.tail_fall(ws.load_audio(h), until=RING_SECONDS)
        except (AudioError, OSError):
            return 0.0
    falls = [fall(h) for h in tqdm(hashes, desc="tails", unit="hit", disable=not progress or len(hashes) < 500,
                                   mininterval=1.0)]
    return torch.nan_to_num(torch.tensor(falls, dtype=torch.float32), nan=0.0)


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


def _steps(model: Path, warmup: int) -> int:
    """A saved model's training steps; one with no readable record counts as trained (warmup): it is kept."""
    try:
        return int(json.loads(model.with_suffix(".json").read_text()).get("steps", 0))
    except (OSError, ValueError, AttributeError, TypeError, OverflowError):     # "steps": Infinity
        return warmup


def pushed_out(ws: Workspace, warmup: int) -> tuple[Path, int] | None:
    """The model a training's save will leave no copy of (`keep_previous` keeps one model before the
    new one): the one kept before the current one, or the current one where it is a short run that is
    dropped; and how many hits under generated/ it made, which `--from` cannot remake after. None where
    no model goes, or the one that goes made none of them."""
    from .library import drummy_sidecar, readable_model
    from .vae import model_hash
    path = vae_path(ws)
    previous = path.with_name(PREVIOUS_VAE)
    if not (readable_model(path) and previous.is_file()):
        return None
    if _steps(path, warmup) < warmup and _steps(previous, warmup) >= warmup:      # the current one is dropped
        previous = path
    h = model_hash(previous)
    made = sum((drummy_sidecar(hit) or {}).get("model_hash") == h for hit in (ws.root / "generated").rglob("*.wav"))
    return (previous, made) if made else None


def keep_previous(ws: Workspace, warmup: int, metrics: dict) -> None:
    """Copy the blend model a new one is about to replace beside it (`PREVIOUS_VAE`): a short
    run by mistake (`--steps 1`) replaced a trained model for good. Copied, not moved,
    so a save that fails (a full disk) leaves the model as it was. A model of fewer than
    `warmup` steps does not push out a trained one kept there (two short runs in a row): it
    is dropped, and metrics["dropped"] holds its steps. Records the kept copy's path in
    metrics["replaced"] when there was a model to replace and it was kept."""
    from .library import copy_model, readable_model
    path = vae_path(ws)
    previous = path.with_name(PREVIOUS_VAE)
    if not path.exists():
        return
    if (n := _steps(path, warmup)) < warmup and previous.exists() and _steps(previous, warmup) >= warmup:
        metrics["dropped"] = n
        return
    if not readable_model(path):      # a damaged model is not kept in place of the one kept there
        return
    metrics["replaced"] = str(previous)
    copy_model(path, previous)
