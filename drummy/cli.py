"""The `drummy` command line: parse, call a library function, print.

Errors a user can cause are printed as one line (`drummy: error: ...`) with a
non-zero exit status, never as a traceback.
"""
from __future__ import annotations

import argparse
import errno
import json
import os
import re
import signal
import sys
import threading
from pathlib import Path

from .library import DEFAULT_WORKSPACE, file_hash, shell


def _ws_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("-w", "--workspace", type=_path, default=DEFAULT_WORKSPACE,
                   help=f"workspace folder (default: ./{DEFAULT_WORKSPACE})")


class _Parser(argparse.ArgumentParser):
    """argparse, with a mistake on the command line as one line like every other error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


MAX_HITS = 1000        # hits one generate command makes (-n, --steps, a sidecar's n)
MAX_BARS = 256         # a beat's length: 8.5 minutes at 120 bpm
MAX_MINUTES = 15       # ... and in time: a render holds every track's audio in memory
MAX_SEED = 10 ** 9 - 1


def _count(text: str, most: int | None = None, least: int = 1) -> int:
    """argparse type: a whole number of at least `least` (and at most `most`)."""
    v = int(text)
    if v < least:
        raise argparse.ArgumentTypeError(f"must be at least {least} (got {v})")
    if most is not None and v > most:
        raise argparse.ArgumentTypeError(f"must be at most {most} (got {v})")
    return v


def _hits(text: str) -> int:
    return _count(text, MAX_HITS)


def _per_class(text: str) -> int:     # (100,000,000 filled memory at 35 MB/s, writing nothing)
    return _count(text, 1000)


def _epochs(text: str) -> int:
    return _count(text, 1000)


def _members(text: str) -> int:
    return _count(text, 16)


def _steps(text: str) -> int:
    return _count(text, 1_000_000)


def _bars(text: str) -> int:
    return _count(text, MAX_BARS)


def _pairs(text: str) -> int:
    """At least 2, at most MAX_HITS: a morph's ends; hits per type to compare."""
    return _count(text, MAX_HITS, 2)


def _path(text: str) -> Path:
    """argparse type: a path, not an empty one (Path("") is the current folder: `-o ""` wrote there)."""
    if not text:
        raise argparse.ArgumentTypeError("an empty path; name a file or folder")
    return Path(text)


def _seed(text: str) -> int:
    """argparse type: a seed, 0 to MAX_SEED."""
    v = int(text)
    if not 0 <= v <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be 0 to {MAX_SEED} (got {v})")
    return v


def _minutes(text: str) -> float:
    """argparse type: a time budget above zero."""
    v = float(text)
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 (got {text})")
    return v


def _share(text: str) -> float:
    """argparse type: a share from 0 to 1."""
    v = float(text)
    if not 0 <= v <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (got {text})")
    return v


def _bpm(text: str) -> float:
    """argparse type: a tempo a beat can play."""
    v = float(text)
    if not 20 <= v <= 999:
        raise argparse.ArgumentTypeError(f"must be 20 to 999 (got {text})")
    return v


_bpm.__name__ = "bpm"
_count.__name__, _seed.__name__, _minutes.__name__, _share.__name__ = "count", "seed", "minutes", "share"
_hits.__name__, _bars.__name__, _pairs.__name__ = "count", "count", "count"  # named in argparse's messages


EXAMPLES = {   # each subcommand's --help shows these (the tests check that each parses)
    "starter-kit": ["drummy starter-kit my-kit --seed 0"],
    "ingest": ["drummy ingest ~/Samples my-kit -w work", "drummy ingest ~/Unsorted -w work --auto-label"],
    "library": ["drummy library -w work", "drummy library -w work --json"],
    "train": ["drummy train classifier -w work", "drummy train vae -w work --minutes 10"],
    "generate": ['drummy generate -w work --blend "snare=80,hihat=20" -n 10 --seed 1',
                 "drummy generate -w work --blend kick+808 --decay 1 --pitch -3",
                 "drummy generate -w work --like my-snare.wav -n 8 --variation 0.3",
                 "drummy generate -w work --between kick.wav tom.wav --steps 6",
                 "drummy generate -w work --from work/generated/snare/snare80-hihat20_s1_03.json"],
    "evaluate": ["drummy evaluate -w work", "drummy evaluate -w work -o report --heldout other-work"],
    "classify": ["drummy classify new-hits/ -w work", "drummy classify kit.sfz -w work --json"],
    "beat": ["drummy beat -w work --pattern house --bars 8 -o beat.wav --stems stems",
             "drummy beat --kit MyKit --pattern groove.mid --bpm 92 -o groove.wav --master punchy"],
    "export-kit": ["drummy export-kit -w work --format hydrogen -o MyKit",
                   "drummy export-kit -w work --format sfz -o MyKitSfz"],
}


def _command(sub, name: str, help: str) -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does and shows how it is used."""
    return sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".",
                          epilog="examples:\n" + "\n".join(f"  {e}" for e in EXAMPLES[name]),
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="drummy", description="Grow new drum sounds from the samples you own.")
    from importlib.metadata import PackageNotFoundError, version
    try:
        ap.add_argument("--version", action="version", version=f"drummy {version('drummy')}")
    except PackageNotFoundError:         # run from a source tree that was never installed
        ap.add_argument("--version", action="version", version="drummy (not installed)")
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    ap.commands = sub.choices            # each command's own parser: its mistakes point at its own --help

    p = _command(sub, "starter-kit", "synthesise the built-in labelled starter kit into a folder")
    p.add_argument("outdir", type=_path)
    p.add_argument("--seed", type=_seed, default=0, help="which kit (default 0; the same seed, the same kit)")
    p.add_argument("--per-class", type=_per_class, default=40, help="hits per drum type (default 40, at most 1000)")

    p = _command(sub, "ingest", "add sample folders, files, Hydrogen kits or .sfz kits to the library")
    p.add_argument("paths", nargs="+", type=_path)
    _ws_arg(p)
    p.add_argument("--auto-label", action="store_true", help="label unknown samples with the trained classifier")
    p.add_argument("--min-confidence", type=_share, default=None,
                   help="--auto-label: the classifier's least probability to label a sample (0..1, default 0.5)")
    p.add_argument("--jobs", type=_count, default=None, help="worker processes (default: all cores)")

    p = _command(sub, "library", "show drum types, tags, counts and skipped files")
    _ws_arg(p)
    p.add_argument("--json", action="store_true", help="machine-readable output: the summary, and every sample under `items`")

    p = _command(sub, "train", "train a model on the workspace's library: classifier (drum types) or vae "
                               "(the blend generator)")
    p.add_argument("model", choices=["classifier", "vae"])
    _ws_arg(p)
    p.add_argument("--epochs", type=_epochs, default=None, help="classifier: passes over the data (default 30, at most 1000)")
    p.add_argument("--steps", type=_steps, default=None, help="stop after N optimiser steps (vae: default 4000, or earlier when validation stops improving; "
                   "classifier: each net, default 600, or its --epochs)")
    p.add_argument("--members", type=_members, default=None, help="classifier: nets to average (default 3, at most 16)")
    p.add_argument("--minutes", type=_minutes, default=None, help="vae: stop after M minutes (counted across resumes)")
    p.add_argument("--fresh", action="store_true", help="ignore what an interrupted run kept (vae: its checkpoint; classifier: its finished nets)")
    p.add_argument("--seed", type=_seed, default=0, help="initial weights, split and draws (default 0)")

    p = _command(sub, "generate", "new hits from a recipe of labels, a reference hit or a morph")
    _ws_arg(p)
    p.add_argument("--blend", metavar="RECIPE",
                   help='labels with weights: "snare=80,hihat=20", "kick+808", "kick" (with a classifier '
                        'trained, a hit too near a training hit is drawn again)')
    p.add_argument("--like", type=_path, metavar="FILE", help="variations of this reference hit")
    p.add_argument("--between", type=_path, nargs=2, metavar=("A", "B"), help="morph hit A into hit B")
    p.add_argument("--steps", type=_pairs, default=None, help="--between: hits in the morph, ends included (default 5)")
    p.add_argument("--from", dest="from_", type=_path, metavar="SIDECAR.json",
                   help="make a generated hit again from its sidecar")
    p.add_argument("-n", type=_hits, default=None, help=f"how many hits (default 10, at most {MAX_HITS})")
    p.add_argument("--seed", type=_seed, default=None, help="the draws: the same seed and model, the same hits (default 0)")
    for name, hint in (("brightness", "-1..1, darker .. brighter than the recipe's typical"),
                       ("decay", "-1..1, shorter .. longer tail"), ("attack", "-1..1, snappier .. softer attack"),
                       ("pitch", "-24..24 semitones up (+) or down (-): the whole hit, as a sampler transposes it")):
        p.add_argument(f"--{name}", type=float, default=0.0, help=hint)
    p.add_argument("--variation", type=float, default=1.0,
                   help="0..1: how far from the recipe's typical sound (default 1)")
    p.add_argument("-o", "--out", type=_path, default=None,
                   help="output folder (default: <workspace>/generated/<type>/); with --from, a folder or a .wav")

    p = _command(sub, "evaluate", "measure the blend generator and write report.md with plots")
    _ws_arg(p)
    p.add_argument("-o", "--out", type=_path, default=None, help="report folder (default: <workspace>/report)")
    p.add_argument("--heldout", type=_path, metavar="WORKSPACE",
                   help="compare with every sample of this workspace (default: the held-out kits/folders)")
    p.add_argument("-n", type=_pairs, default=60, help=f"generated hits per drum type (default 60, 2 to {MAX_HITS})")
    p.add_argument("--seed", type=_seed, default=0, help="the generated hits' draws (default 0)")

    p = _command(sub, "classify", "print the drum type of audio files")
    p.add_argument("paths", nargs="+", type=_path)
    _ws_arg(p)
    p.add_argument("--json", action="store_true", help="machine-readable output: type and probabilities per file")

    from .patterns import BUILTINS
    p = _command(sub, "beat", "render a beat from a pattern with the workspace's hits or a kit folder")
    _ws_arg(p)
    p.add_argument("--kit", type=_path, metavar="DIR",
                   help="samples to play: a folder, Hydrogen kit or SFZ (default: the workspace's generated "
                        "hits, else its library)")
    p.add_argument("--pattern", required=True,
                   help=f"a built-in ({', '.join(BUILTINS)}), a pattern FILE.toml or a General MIDI FILE.mid (.midi, .rmi)")
    p.add_argument("--bpm", type=_bpm, default=None, help="tempo, 20 to 999 (default: the pattern's)")
    p.add_argument("--bars", type=_bars, default=None,
                   help=f"length in bars (default: whole loops of the pattern, at least 8; at most {MAX_BARS})")
    p.add_argument("-o", "--out", type=_path, required=True, help="the beat: a stereo 24-bit .wav (or .flac, .aiff; .ogg is Vorbis)")
    p.add_argument("--no-repeat", action="store_true", help="never play the same sample twice")
    p.add_argument("--lock", metavar="TRACKS", default=None,
                   help="one sample for every hit of these tracks, as a drum machine's pad: track names or drum "
                        "types, comma-separated, or all (which sample: --seed; by name: sample = in a pattern file)")
    p.add_argument("--stems", type=_path, metavar="DIR", help="also write one WAV per track (before mastering)")
    p.add_argument("--midi-out", type=_path, metavar="FILE.mid", help="also write the pattern as General MIDI (on its grid: without the pattern's humanise)")
    p.add_argument("--master", choices=["clean", "punchy", "lofi", "none"], default="clean",
                   help="master chain preset (default clean)")
    p.add_argument("--seed", type=_seed, default=0, help="sample choice and humanise (default 0)")

    p = _command(sub, "export-kit", "export hits as a type folder, a Hydrogen drumkit or an SFZ instrument")
    p.add_argument("source", nargs="?", type=_path, metavar="DIR",
                   help="a folder of samples, a drumkit.xml or an .sfz (default: the workspace's generated hits, else its library)")
    _ws_arg(p)
    p.add_argument("--format", choices=["folder", "hydrogen", "sfz"], default="folder",
                   help="folder: a type/file.wav tree (default); hydrogen: a drumkit.xml kit; sfz: an .sfz instrument")
    p.add_argument("-o", "--out", type=_path, required=True, help="the kit folder to write")
    p.add_argument("--name", default=None, help="kit name (default: the output folder's name; Hydrogen "
                   "names a kit by its folder, so there --name must be the folder's)")
    return ap


class Terminated(KeyboardInterrupt):
    """SIGTERM (a `kill`, a service or container stopping), handled as Ctrl-C is: the
    work so far is saved. Its default ended Drummy on the spot, and an ingest lost what
    it had read since its last save."""


def _terminate(signum, frame) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    if threading.current_thread() is not threading.main_thread():   # signals are set from the main thread only
        return _main(argv)
    before = signal.signal(signal.SIGTERM, _terminate)
    try:
        rc = _main(argv)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if before is None else before)
    if argv is None and rc == 128 + signal.SIGINT:    # the program, stopped and saved: one more Ctrl-C as it
        signal.signal(signal.SIGINT, signal.SIG_IGN)    # exits killed it by the signal, not with this code
    return rc


def _main(argv: list[str] | None) -> int:
    for stream in (sys.stdout, sys.stderr):   # a file name that is not UTF-8 prints escaped, not as a traceback
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    ap = build_parser()
    args, unknown = ap.parse_known_args(argv)
    if unknown:                          # `drummy generate --bogus`: see `drummy generate --help`, not `drummy --help`
        ap.commands[args.cmd].error(f"unrecognized arguments: {' '.join(unknown)}")
    import shlex
    from . import library
    library.COMMAND = shlex.join(["drummy", *(sys.argv[1:] if argv is None else argv)])   # named to one it turns away
    from .audio import AudioError
    from .kits import KitError
    from .library import LibraryError, ModelError
    from .patterns import PatternError
    from .sequencer import SequencerError
    try:
        rc = COMMANDS[args.cmd](args) or 0
        sys.stdout.flush()  # a closed pipe shows up here, inside the try
        return rc
    except (LibraryError, AudioError, KitError, ModelError, PatternError, SequencerError) as e:
        print(f"drummy: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        code = 128 + (signal.SIGTERM if isinstance(e, Terminated) else signal.SIGINT)
        if getattr(e, "saved", None):     # it came as the model was saved, which finished first
            print(f"drummy: interrupted as the training ended: {e.saved} is this run's model, saved whole "
                  f"(nothing to resume)", file=sys.stderr)
        elif args.cmd in ("ingest", "train"):
            again = "run it again without --fresh" if getattr(args, "fresh", False) else "run the same command"
            kept = "each net finished so far is kept" if getattr(args, "model", None) == "classifier" \
                else "work done so far is saved"
            print(f"drummy: interrupted ({kept}; {again} to resume)", file=sys.stderr)
        else:   # outputs are written whole or not at all
            print("drummy: interrupted (no file is left half-written; run the same command again to finish: "
                  "it replaces what this run wrote)",
                  file=sys.stderr)
        return code
    except BrokenPipeError:
        # `drummy classify DIR | head`: the reader has gone, which is not an error.
        # Point stdout at devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:
        # A folder that cannot be made or written (a file in the way, no permission,
        # a full disk), a file gone mid-run: the user's to fix, so one line, not a traceback.
        where = f"{e.filename}: " if e.filename else ""
        again = "run it again without --fresh" if getattr(args, "fresh", False) else "run the same command again"
        full = f"; make room and {again} (what was saved is kept)" if e.errno == errno.ENOSPC else ""
        print(f"drummy: error: {where}{e.strerror or e}{full}", file=sys.stderr)
        return 2


def cmd_starter_kit(args) -> None:
    from .starter import write_starter_kit
    paths = write_starter_kit(args.outdir, seed=args.seed, per_class=args.per_class, progress=True)
    print(f"wrote {len(paths)} hits to {args.outdir}")


def cmd_ingest(args) -> None:
    from .library import ModelError, Workspace, classifier_path
    ws = Workspace(args.workspace)
    if args.min_confidence is not None and not args.auto_label:
        raise ModelError("--min-confidence is for --auto-label; add --auto-label to label samples with the classifier")
    if args.auto_label and not classifier_path(ws).exists():     # before importing anything
        raise ModelError(f"no trained classifier at {classifier_path(ws)} to --auto-label with; run "
                         f"`drummy train classifier -w {shell(ws.root)}` first (or ingest without --auto-label)")
    from contextlib import nullcontext
    with ws.writing() if args.auto_label else nullcontext():    # one hold for both steps: a training started
        _ingest(ws, args)                                         # between them made the second say "busy"


def _ingest(ws, args) -> None:
    r = ws.ingest(args.paths, jobs=args.jobs)
    moved = f", moved {r.moved}" if r.moved else ""
    moved += f", removed {r.removed} (gone from the folder)" if r.removed else ""
    moved += f", repaired {r.repaired} (the workspace's copy was missing or cut)" if r.repaired else ""
    print(f"added {r.added}, duplicates {r.duplicates}{moved}, unchanged {r.unchanged}, skipped {len(r.skipped)}"
          f" -> {len(ws.samples)} samples in {ws.root}")
    _left_out(r.skipped, f"more skipped (`drummy library -w {shell(ws.root)} --json` lists each)", "skipped", "files")
    if args.auto_label:
        from .train import auto_label
        least = 0.5 if args.min_confidence is None else args.min_confidence
        changed = auto_label(ws, least)
        left = sum(s.drum_type == "unknown" for s in ws.samples.values())
        print(f"auto-labelled {len(changed)} samples" + (
            f"; {left} stay unknown (heard with under {least:.0%} confidence, or filed under a folder that names "
            f"no drum; `drummy library -w {shell(ws.root)} --json` lists them)" if left else ""))
        for s, t, c in changed[:10]:
            print(f"  {_shown(s.path)}: {t} ({c:.0%}, predicted)")
        if len(changed) > 10:
            from collections import Counter
            counts = Counter(t for _, t, _ in changed[10:])
            print(f"  ... and {len(changed) - 10} more ({', '.join(f'{t} {n}' for t, n in counts.most_common())}; "
                  f"`drummy library -w {shell(ws.root)} --json` lists each)")


def cmd_library(args) -> None:
    from .library import Workspace
    ws = Workspace(args.workspace)
    if not ws.manifest_path.exists():
        from .library import LibraryError
        raise LibraryError(f"no library in {ws.root}; run `drummy ingest FOLDER -w {shell(ws.root)}` first")
    s = ws.summary()
    if args.json:
        print(json.dumps(s, indent=1, ensure_ascii=False))
        return
    copies = f"; {s['copies']} more files are copies of them, stored once" if s["copies"] else ""
    print(f"{s['samples']} samples in {s['workspace']} ({s['predicted']} with predicted types{copies})")
    print("types: " + ", ".join(f"{t} {n}" for t, n in s["types"].items()))
    top = list(s["tags"].items())[:30]
    print("tags:  " + (", ".join(f"{t} {n}" for t, n in top) + (" …" if len(s["tags"]) > 30 else "") if top else "none"))
    if s["skipped"]:
        print(f"skipped {len(s['skipped'])} files:")
        _left_out([(item["path"], item["reason"]) for item in s["skipped"]],
                  f"more (`drummy library -w {shell(ws.root)} --json` lists each)", "skipped", "files", 30)


# Why a library gives no validation split (`train.group_split`), and what to do about it.
NO_SPLIT = ("each drum type sits in one kit or folder, and holding it out would leave none of that type to "
            "learn from. Keep each kit or pack in a folder of its own (Kicks/808/, Kicks/Acoustic/) to get one")


def cmd_train(args) -> None:
    from .library import LibraryError, Workspace
    other = {"vae": (("--epochs", args.epochs), ("--members", args.members)),
             "classifier": (("--minutes", args.minutes),)}[args.model]
    wrong = [flag for flag, v in other if v is not None]
    if wrong:
        raise LibraryError(f"{', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} not for `train {args.model}` "
                           "(see `drummy train -h`)")
    if args.model == "vae":
        return _train_vae(args)
    from .train import TrainConfig, train_classifier
    ws = Workspace(args.workspace)
    # --epochs as asked: every one of them unless --steps stops it sooner (the default cap is for the default epochs)
    from . import train
    cfg = TrainConfig(seed=args.seed, max_steps=args.steps if args.steps else None if args.epochs else train.STEPS)
    if args.epochs:
        cfg.epochs = args.epochs
    if args.members:
        cfg.members = args.members
    m = train_classifier(ws, cfg, resume=not args.fresh)
    nets = "1 net" if m["members"] == 1 else f"{m['members']} nets"
    if m.get("val_groups"):
        print(f"classifier: {nets} on all {m['train_samples']} labelled samples; validated by {m['members']} "
              f"run{'s' * (m['members'] != 1)} holding out kits/folders ({len(m['val_groups'])} in all"
              + (", the same in each" if len(m['val_groups']) == 1 and m['members'] > 1 else "") + ")")
    else:
        print(f"classifier: {nets} on all {m['train_samples']} labelled samples; not validated: {NO_SPLIT}")
    if "val_accuracy" in m:
        print(f"validation accuracy on held-out kits/folders {m['val_accuracy']:.1%} "
              f"(balanced {m['val_balanced_accuracy']:.1%}, {m['val_samples']} verdicts)")
        print("  " + ", ".join(f"{c} {a:.0%}" for c, a in m["per_class"].items()))
    from .library import classifier_path
    from .train import confusion_png_path, mixups
    if top := mixups(m["classes"], m["confusion"]) if "confusion" in m else []:
        # (runs may hold out the same kit: a file heard wrong in each is one file, not three)
        files = lambda t, h: sum(x["type"] == t and x["heard"] == h for x in m.get("misheard", []))
        print("  most mixed up: " + ", ".join(f"{t} heard as {h} {n}x" + (f" ({_plural(nf, 'file')})" if (
            nf := files(t, h)) and nf != n else "") for t, h, n in top)
              + f"; the files are listed under metrics.misheard in {classifier_path(ws).with_suffix('.json')}")
        print(f"  confusion matrix: {confusion_png_path(ws)}")
    print(f"saved {classifier_path(ws)}")
    if rep := m.get("replaced"):
        was, now = rep.get("val_balanced_accuracy"), m.get("val_balanced_accuracy")
        worse = isinstance(was, float) and isinstance(now, float) and now < was - 0.05
        alike = rep.get("val_groups") == m.get("val_groups")      # validated on the same held-out kits/folders
        print(f"  the classifier it replaced is kept as {rep['path']}" + (
            f" (balanced validation accuracy {was:.1%}, this one {now:.1%}"
            + (": worse" if alike else ", each on other held-out kits/folders: lower, though not measured alike")
            + "; to go back, move classifier.previous.safetensors and .json back to classifier.safetensors and "
              ".json)" if worse else ""))


def _train_vae(args) -> None:
    from .library import Workspace, vae_path
    from .train_vae import VAETrainConfig, train_vae
    cfg = VAETrainConfig(seed=args.seed, minutes=args.minutes)
    if args.steps:
        cfg.steps = args.steps
    ws = Workspace(args.workspace)
    from .train_vae import pushed_out
    if lost := pushed_out(ws, cfg.warmup):      # one model before the current one is kept: said before minutes of training
        print(f"drummy: warning: {_plural(lost[1], 'hit')} under {ws.root / 'generated'} {'were' if lost[1] > 1 else 'was'} "
              f"made by {lost[0]}, which this training keeps no copy of when it saves: "
              f"`generate --from` cannot remake {'them' if lost[1] > 1 else 'it'} after. To keep it, copy that file "
              f"elsewhere now (Ctrl-C stops the training; the same command resumes it)", file=sys.stderr)
    m = train_vae(ws, cfg, resume=not args.fresh)
    h = m["history"]
    print(f"blend generator: {m['train_samples']} training hits, {m['val_samples']} held out "
          f"({_plural(len(m['val_groups']), 'kit')}/folder{'s' * (len(m['val_groups']) != 1)}); "
          f"{_plural(m['steps'], 'step')} in {m['seconds'] / 60:.1f} min ({m['stopped']})")
    from collections import Counter
    type_of = {h: s.drum_type for h, s in ws.samples.items()}
    held = Counter(type_of.get(x) for x in m["val_hashes"])
    total = held + Counter(type_of.get(x) for x in m["train_hashes"])
    if held:       # which sounds it did not learn from: the split holds out kits/folders, never most of a type
        print("  held out to validate: " + ", ".join(f"{t} {held[t]} of {total[t]}" for t in sorted(held, key=str) if t)
              + f" ({', '.join(m['val_groups'][:4])}{' …' if len(m['val_groups']) > 4 else ''})")
    else:
        print(f"  nothing held out, so nothing to stop early on (it trained for its whole budget): {NO_SPLIT}")
    from .generate import Generator
    gen = Generator.load(vae_path(ws))
    if lost := [x for x in gen.labels if x not in gen.known]:    # a recipe would learn of them only by an error
        print(f"  labels only on held-out samples, so no recipe can ask for them: {', '.join(lost)}")
    if h.get("val_recon"):
        print(f"reconstruction error: train {h['train_recon'][-1]:.0f}, held out {_kept_recon(h, m, cfg.warmup)}")
        best = [st for st, v in zip(h["step"], h["val_loss"]) if st >= cfg.warmup and v == m.get("best_val_loss")]
        if best and m["stopped"] in ("minutes", "steps") and best[0] <= m["steps"] / 2:   # (an early stop says so itself)
            print(f"  the held-out loss did not improve after step {best[0]}: the model kept is that step's, and the "
                  f"{m['steps'] - best[0]} steps after it fitted the training hits alone (fewer --minutes or --steps "
                  f"give the same model sooner)")
    if m["steps"] < cfg.warmup and m["stopped"] in ("minutes", "steps"):   # a busy machine's minute: 50 steps
        print(f"drummy: warning: only {_plural(m['steps'], 'step')}, short of the {cfg.warmup} the generator needs to settle; "
              f"its hits will sound rough. Train it with more --minutes or --steps"
              + (f"; the model before it is kept as {m['replaced']} (rename it back to use it)" if "replaced" in m else ""),
              file=sys.stderr)
    if "dropped" in m:
        from .library import PREVIOUS_VAE
        print(f"drummy: warning: the model this one replaces had only {m['dropped']} steps and is not kept: "
              f"{vae_path(ws).with_name(PREVIOUS_VAE)} keeps the trained one before it, so hits made with the "
              f"short one can no longer be remade with --from", file=sys.stderr)
    print(f"saved {vae_path(ws)}" + (f" (the model before it: {m['replaced']})" if "replaced" in m else ""))


def _kept_recon(h: dict, m: dict, warmup: int) -> str:
    """The held-out reconstruction error of the model a training kept: at its best validation after
    the warm-up ("(best)"), else at its last. It printed the lowest of all, from before the warm-up too.
    With the step it was read at, and a word where the model kept is later than that (a run that
    ended between validations keeps its last weights, which nothing validated)."""
    kept = [j for j, (st, v) in enumerate(zip(h["step"], h["val_loss"])) if st >= warmup and v == m.get("best_val_loss")]
    if kept:
        return f"{h['val_recon'][kept[0]]:.0f} (best, the weights of step {h['step'][kept[0]]})"
    later = f"; the model kept is step {m['steps']}'s, not validated" if m.get("steps", h["step"][-1]) > h["step"][-1] else ""
    return f"{h['val_recon'][-1]:.0f} (at step {h['step'][-1]}{later})"


def cmd_generate(args) -> None:
    from .generate import Controls, RecipeError
    from .library import AUDIO_EXTENSIONS, Workspace
    ws = Workspace(args.workspace)
    if args.from_ is not None:
        given = [f for f, v in (("--blend", args.blend), ("--like", args.like), ("--between", args.between),
                                ("-n", args.n), ("--steps", args.steps), ("--seed", args.seed)) if v is not None]
        if given or Controls(args.brightness, args.decay, args.attack, args.pitch, args.variation) != Controls():
            raise RecipeError(f"--from remakes a hit exactly as its sidecar says; "
                              f"{', '.join(given) or 'the timbre controls'} cannot go with it")
        return _regenerate(args.from_, ws, args.out)
    args.seed = 0 if args.seed is None else args.seed
    if args.out is not None and ws.in_store(args.out):
        raise RecipeError(f"-o {args.out} is the workspace's sample store; write the hits elsewhere")
    if args.out is not None and args.out.resolve() == (ws.root / "generated").resolve():
        args.out = None            # the generated folder itself: into its type folders, where beats find them
    own = {ws.root.resolve(), *((ws.root / d).resolve() for d in ("models", "report"))}
    if args.out is not None and (args.out.resolve() in own or (ws.root / "models").resolve() in args.out.resolve().parents):
        raise RecipeError(f"-o {args.out} is the workspace's own folder; write the hits to a folder of their own "
                          f"(by default {ws.root / 'generated'}/<type>/, where beats and kit exports find them)")
    if args.out is not None and args.out.suffix.lower() in AUDIO_EXTENSIONS:
        raise RecipeError(f"-o is a folder: hits are written into it as <recipe>_s<seed>_01.wav …; got {args.out}")
    modes = [m for m in ("blend", "like", "between") if getattr(args, m) is not None]
    if not modes:
        raise RecipeError("say what to make: --blend RECIPE, --like FILE or --between A B")
    if len(modes) > 1 and modes != ["blend", "like"]:
        raise RecipeError("use one of --blend, --like, --between (--blend may go with --like)")
    ctl = Controls(args.brightness, args.decay, args.attack, args.pitch, args.variation).check()
    if args.between is not None:
        if args.n is not None or ctl != Controls():
            raise RecipeError("--between morphs A into B as they are: -n and the timbre controls do not apply "
                              "(use --steps for the number of hits)")
    elif args.steps is not None:
        raise RecipeError("--steps only applies to --between")
    n = 10 if args.n is None else args.n
    from .audio import folders_undone, writable_folder
    with folders_undone(args.out):
        if args.out is not None:      # before the hits are made: a read-only -o was found only after all of them
            writable_folder(args.out)
        _generate_hits(args, ws, ctl, n)


def _generate_hits(args, ws, ctl, n: int) -> None:
    """`cmd_generate`'s hits, made and written once its arguments are checked."""
    from .generate import Generator, RecipeError, dominant_type, finish, names_a_type, sidecar, write_hits
    from .library import claim, vae_path
    from .novelty import MAX_DRAWS
    # the references first: a missing or broken one is said before the model loads (seconds, for nothing)
    refs = [_load_ref(p) for p in (args.between or ([args.like] if args.like is not None else []))]
    gen = Generator.load(vae_path(ws))
    try:
        recipe = gen.recipe(args.blend) if args.blend is not None else None
    except RecipeError as e:
        raise RecipeError(_why_unknown(ws, gen, e)) from None
    if recipe is not None and recipe.typed_total is not None and abs(recipe.typed_total - 100) > 0.5:
        print(f"drummy: the weights of {args.blend!r} add up to {recipe.typed_total:g} %, so they are read as "
              + ", ".join(f"{'+'.join(labs)} {w:.0%}" for w, labs in recipe.parts), file=sys.stderr)
    draws = None               # the draw the memorisation guard kept of each hit (recipes only)
    if args.between is not None:
        steps = 5 if args.steps is None else args.steps
        (a, a_offset), (b, b_offset) = refs
        import numpy as np
        if len(a) == len(b) and np.array_equal(a, b):
            raise RecipeError(f"--between {args.between[0]} and {args.between[1]} are the same sound: a morph "
                              "needs two different hits (for variations of one, use --like)")
        ys = gen.between(a, b, steps, seed=args.seed)
        stem = f"morph_{args.between[0].stem.strip()}_to_{args.between[1].stem.strip()}_s{args.seed}"
        meta = sidecar(gen, "between", a=str(args.between[0].resolve()), b=str(args.between[1].resolve()),
                       a_hash=file_hash(args.between[0]), b_hash=file_hash(args.between[1]), steps=steps,
                       seed=args.seed, **_offsets(a=a_offset, b=b_offset))
        folder = "morph"
    elif args.like is not None:
        (ref, offset), = refs
        ys = gen.like(ref, ctl, n=n, seed=args.seed, recipe=recipe)
        stem = f"like_{args.like.stem}" + (f"_{recipe.name}" if recipe else "") + _controls_suffix(ctl) + f"_s{args.seed}"
        meta = sidecar(gen, "like", like=str(args.like.resolve()), like_hash=file_hash(args.like), recipe=args.blend,
                       recipe_parts=recipe.parts if recipe else None, controls=ctl, n=n, seed=args.seed,
                       **_offsets(like=offset))
        folder = dominant_type(gen, recipe) if recipe else _heard_type(ws, ref, args.like) if args.out is None else ""
    else:
        gen.guard = _guard(ws, gen, recipe)
        ys = gen.generate(recipe, ctl, n=n, seed=args.seed)
        draws = gen.draws
        if gen.redrawn[0]:
            asked = gen.guard.checks(gen.asked_type(recipe))
            why = (["sat nearer a training hit than real drums of a type from different kits do"]
                   if gen.guard.threshold is not None else []) + ([f"sounded like another drum than the {asked} asked"]
                                                                  if asked else [])
            print(f"{gen.redrawn[0]} of the {n} hits " + (", or ".join(why) or "made no sound")
                  + f", and {'were' if gen.redrawn[0] > 1 else 'was'} drawn again"
                  + (f"; {gen.redrawn[1]} still sat that near after {MAX_DRAWS} draws" if gen.redrawn[1] else "")
                  + (f"; {gen.redrawn[2]} still sounded like another drum after {MAX_DRAWS} draws" if gen.redrawn[2]
                     else "") + ("; the best draw of each is kept" if gen.redrawn[1] or gen.redrawn[2] else ""),
                  file=sys.stderr)
        stem = recipe.name + _controls_suffix(ctl) + f"_s{args.seed}"
        # the recipe as typed: parsed again, it gives the very same weights (the rounded text need not)
        meta = sidecar(gen, "blend", recipe=args.blend, recipe_parts=recipe.parts, controls=ctl, n=n, seed=args.seed,
                       **({"guard": gen.guard.stamp()} if gen.guard else {}))
        folder = dominant_type(gen, recipe)
    keep = _sounding(ys)
    if args.out is None and recipe is not None and not names_a_type(recipe):
        # `--blend 808` makes 808 kicks, hats and claps: each goes where its type is heard
        classify = _classifier_hook(ws.root, min_confidence=0.0)
        if classify is None:   # the recipe's lean is no hit's type: an 808 blend holds kicks, hats and claps
            from .train import classifier_advice
            print(f"drummy: no classifier to hear which drum type each hit is, so they go to generated/blend/ "
                  f"({classifier_advice(ws)}; with one, generate again files them by type)", file=sys.stderr)
        heard = classify([finish(ys[i]) for i in keep]) if classify else ["blend"] * len(keep)
        with claim(*(ws.root / "generated" / t for t in dict.fromkeys(heard)), wait=CLAIM_WAIT):
            for t in dict.fromkeys(heard):
                idx = [i for i, h in zip(keep, heard) if h == t]
                paths = write_hits([ys[i] for i in idx], ws.root / "generated" / t, stem, meta, indices=idx,
                                   draws=draws and [draws[i] for i in idx])
                print(f"wrote {_written(paths, stem)} to {ws.root / 'generated' / t}/")
        return
    out = args.out or ws.root / "generated" / folder
    # held while its names are chosen and written: two generates of two models into one folder each took
    # the same free names, and wrote over each other's hits (the second now waits for the first)
    with claim(out, wait=CLAIM_WAIT):
        paths = write_hits([ys[i] for i in keep], out, stem, meta, indices=keep,     # no copy of a 1000-hit batch
                           draws=draws and [draws[i] for i in keep])
    print(f"wrote {_written(paths, stem)} to {out}/")


def _guard(ws, gen, recipe):
    """The memorisation guard for a recipe's hits (`novelty.for_workspace`; only its type check, with a
    word why, where the library shows no line), or None with a word why where it cannot be worked out:
    a recipe is still made, of first draws."""
    from .train import classifier_advice
    from .audio import AudioError
    from .library import ModelError
    from .novelty import for_workspace
    try:
        guard = for_workspace(ws, gen)
    except (ModelError, AudioError, OSError) as e:
        print(f"drummy: no memorisation guard this time ({e}); the hits are the generator's first draws, "
              f"unchecked against its training hits", file=sys.stderr)
        return None
    if guard is not None and guard.threshold is None:
        asked = guard.checks(gen.asked_type(recipe))
        print("drummy: no memorisation guard: no drum type of the generator's training hits comes from two kits "
              "or folders, so there is no line to keep new hits from; " + (
                  f"a hit heard as another drum than the {asked} asked is still drawn again" if asked else
                  "the hits are its first draws (a blend is not checked for its type)"), file=sys.stderr)
    elif guard is None:
        print(f"drummy: no memorisation guard: it hears hits with the classifier, and {ws.root} has none yet "
              f"({classifier_advice(ws)}); the hits are the generator's first draws, unchecked "
              f"against its training hits", file=sys.stderr)
    return guard


def _sounding(ys) -> list[int]:
    """The hits of a batch that make a sound, said aloud when one does not: a generator trained
    briefly, asked far from its training hits, can decode a hit all under its noise gate, and a
    file of silence is no hit. A hit that is not a number (NaN: "any" sound to numpy) is none
    either. Every hit left out is an error."""
    import numpy as np
    from .library import ModelError
    broken = [i for i, y in enumerate(ys) if not np.all(np.isfinite(y))]
    silent = [i for i, y in enumerate(ys) if not np.any(y)]                # (NaN is "any": none of these)
    keep = sorted(set(range(len(ys))) - set(broken) - set(silent))
    whys = [(silent, "came out silent: the generator decoded nothing above its noise gate (a model trained longer, "
                     "or controls nearer 0, make sound)"),
            (broken, "came out not a number (a damaged model? `drummy train vae` again)")]
    if not keep:
        said = [(idx, why) for idx, why in whys if idx]
        raise ModelError(f"every hit {said[0][1]}" if len(said) == 1 else
                         "no hit made a sound: " + "; ".join(f"{_hit_list(idx)} {why}" for idx, why in said))
    for idx, why in whys:
        if idx:
            print(f"drummy: left out {_hit_list(idx)} of {len(ys)}: {'they' if len(idx) > 1 else 'it'} {why}",
                  file=sys.stderr)
    return keep


def _hit_list(idx: list[int]) -> str:
    """'hit 3', 'hits 1, 3', or 'hits 1, 3, 4 … (12 in all)' for hits (0-based) idx of a batch."""
    shown = ", ".join(str(i + 1) for i in idx[:8]) + (f" … ({len(idx)} in all)" if len(idx) > 8 else "")
    return f"hit{'s' * (len(idx) > 1)} {shown}"


def _written(paths: list, stem: str) -> str:
    """What write_hits wrote: '4 hits (kick_s0_01.wav … with a .json sidecar each)', or '1 hit (… and its sidecar)';
    and the hits that went beside others of their names (`generate._placed`: a hit edited since, or made otherwise),
    which a producer would look for under the first name."""
    from .generate import short_stem
    mine = [p for p in paths if Path(p).name.startswith(short_stem(stem) + "_")]
    beside = [p for p in paths if p not in mine]
    first = Path((mine or paths)[0]).name
    said = f"1 hit ({first} and its .json sidecar)" if len(paths) == 1 else \
        f"{len(paths)} hits ({first} … with a .json sidecar each)"
    if beside:
        said += (f"; {len(beside)} of them beside earlier hits of their names that are not these (edited since, or "
                 f"made otherwise: another model, another recipe or an older Drummy): {Path(beside[0]).name}"
                 + (" …" if len(beside) > 1 else ""))
    return said


def _why_unknown(ws, gen, e) -> str:
    """A recipe's unknown label, explained from the library where it can be: a tag on too
    few samples to learn, or one added since the generator was trained."""
    from .labels import normalise
    label = getattr(e, "label", None)
    if label is None or normalise(label) == "unknown" or not ws.manifest_path.exists():   # never a label to learn
        return str(e)
    n, least = normalise(label), int(gen.extra.get("train_config", {}).get("min_tag_count", 3))
    count = sum(n == s.drum_type or n in s.tags for s in ws.samples.values())
    wider = f"; `{e.broader}` asks for any {e.broader}" if getattr(e, "broader", None) else ""
    if 0 < count < least:
        return (f"label {label!r} is on {count} sample{'s' * (count != 1)} of the library; the generator learns "
                f"a label from {least} or more (`drummy library` counts them){wider}")
    if count:
        return (f"label {label!r} came into the library after the generator was trained: run `drummy train vae` "
                f"again{wider}")
    return str(e)


def _load_ref(path, one_shot: bool = True, offset: float | None = None):
    """A reference hit for --like / --between, mono float32, and the DC offset taken out of it:
    `offset` as a sidecar records it (0.0 for a sidecar that records none: its hit was made with
    any kept, or there was none), else the one `audio.dc_offset` finds; an error names the file. A
    loop is refused unless it is a sidecar's reference (one_shot=False): what made a hit remakes it."""
    from . import audio
    from .features import loop_reason
    try:
        y, offset = audio.load_centred(path, offset)
    except audio.AudioError as e:
        raise audio.AudioError(f"{path}: {e}") from None
    if one_shot and (why := loop_reason(y)) is not None:           # its variations would be one hit of it, or a smear of several
        raise audio.AudioError(f"{path}: {why}; give one hit")
    return y, offset


def _offsets(**offsets: float) -> dict:
    """The sidecar's word on references that had a DC offset taken out ({"like_offset": 0.02});
    none for the others, whose sidecars read as before it was taken out (a command run again
    replaces their hits in place: the same hits)."""
    return {f"{k}_offset": v for k, v in offsets.items() if v}        # (unrounded: a remake takes out the same)


def _heard_type(ws, y, path: Path | None = None) -> str:
    """The drum type of a reference hit, so variations land in generated/<type>/ where
    the sequencer and kit export find them: the type its name gives it in the library
    when it is a library sample, else the one its Hydrogen kit (a drumkit.xml beside it)
    or its folder and file name give it, as ingest would label it, else the one the
    workspace's classifier hears, said where it is unsure; "variations" when there is no
    classifier yet. A kit's "Hi Hat Opened" went to generated/cymbal/, heard at 29 %."""
    from .labels import TYPES
    h = ws.files.get(str(path.resolve()), {}).get("hash") if path is not None else None   # the library's own files
    if h in ws.samples and not ws.samples[h].predicted and ws.samples[h].drum_type in TYPES:
        return ws.samples[h].drum_type
    if path is not None and (named := _named_type(path)) in TYPES:
        return named
    sure = _classifier_hook(ws.root)
    if sure is None:
        return "variations"
    if (heard := sure([y])[0]) is not None:
        return heard
    heard = _classifier_hook(ws.root, min_confidence=0.0)([y])[0]
    if path is not None:
        print(f"drummy: the classifier is unsure which drum {path.name} is (it leans to {heard}), and its name does "
              f"not say: its variations go to generated/{heard}/ (-o FOLDER puts them elsewhere)", file=sys.stderr)
    return heard


def _named_type(path: Path) -> str:
    """The drum type a file's Hydrogen kit (a drumkit.xml beside it) gives it, else its folder's and its own name."""
    from .kits import KitError, read_hydrogen
    from .library import file_labels
    kit = path.parent / "drumkit.xml"
    if kit.is_file():
        try:                                       # (a file beside a kit that does not play it: by its names)
            for k in read_hydrogen(kit):
                if k.path.resolve() == path.resolve():
                    return k.drum_type
        except (KitError, OSError):
            pass
    return file_labels([path.parent.name, path.stem], path)[0]


def _controls_suffix(ctl) -> str:
    parts = [f"{k}{v:+g}" for k, v in (("bright", ctl.brightness), ("decay", ctl.decay), ("attack", ctl.attack),
                                         ("pitch", ctl.pitch)) if v]
    if ctl.variation != 1.0:
        parts.append(f"var{ctl.variation:g}")
    return ("_" + "_".join(parts)) if parts else ""


MALFORMED = (ValueError, KeyError, TypeError, IndexError, AttributeError, OverflowError)   # a damaged or edited sidecar's


def _not_a_sidecar(path: Path, e: Exception):
    from .generate import RecipeError
    named = isinstance(e, KeyError) and e.args and isinstance(e.args[0], str) and e.args[0].isidentifier()
    why = f"it has no {e.args[0]!r}" if named else f"{type(e).__name__}: {e}"   # (not a KeyError of a sentence)
    return RecipeError(f"{path} is not a Drummy sidecar ({why})")


def _regenerate(path: Path, ws, out: Path | None = None) -> None:
    """Make one hit again from its sidecar: to `out` (a .wav file or a folder), else back
    to its own file if that is gone, else next to it as <name>.again.wav (which beats and
    kit exports skip: it is a copy). The model is the sidecar's, or the workspace's if the
    sidecar's path is gone (a moved workspace, another working folder); either way its
    hash must match."""
    from . import audio
    from .generate import finish
    meta, model, made_by = _read_sidecar(path, ws)
    y = _remake(path, meta, model, made_by)
    out = _remade_path(path, ws, out, y)
    want = meta.get("audio_hash")          # the hash of the 24-bit WAV first written: a FLAC or an AIFF never has it

    def recorded() -> bool:                # the file at out is the hit the sidecar records (where it can tell)
        return out.suffix.lower() != ".wav" or not isinstance(want, str) or file_hash(out) == want
    if out.exists():                       # (an earlier remake on this machine, where it rounds differently)
        print(f"{out} is this hit already, to the bit: nothing written" if recorded() else
              f"{out} is this machine's remake of the hit already, to the bit: nothing written (it is not, to the "
              f"bit, the hit {Path(path).name} records)")
        return
    audio.write(out, finish(y), peak_db=-1.0, fade_ms=10)
    print(f"wrote {out}")
    own = Path(path).with_suffix(".wav")
    if not recorded():
        # said, not claimed the same: another machine, numeric library or Drummy rounds differently
        print(f"drummy: {out.name} is not, to the bit, the hit {Path(path).name} records (made by Drummy "
              f"{meta.get('drummy', '?')}, audio version {made_by}; another machine or library can round "
              f"differently){_difference(own, out) if own.is_file() and file_hash(own) == want else ''}",
              file=sys.stderr)


def _read_sidecar(path: Path, ws) -> tuple[dict, Path, int]:
    """A hit's sidecar, checked: (its fields, the model that made the hit, its audio version).
    Each reason it cannot be remade exactly is a RecipeError."""
    from .generate import RecipeError, same_audio
    from .library import AUDIO_EXTENSIONS, PREVIOUS_VAE, sidecar_of, vae_path
    from .novelty import MAX_DRAWS
    from .vae import model_hash
    if Path(path).suffix.lower() in AUDIO_EXTENSIONS:      # the hit itself, not its sidecar
        raise RecipeError(f"{path} is a hit; --from takes the .json sidecar beside it ({sidecar_of(path)})")
    try:
        meta = json.loads(Path(path).read_text())
        mode, i, want = meta["mode"], int(meta["index"]), meta["model_hash"]
        candidates = [Path(meta["model"]), Path(path).parent / meta["model"], vae_path(ws)]
        candidates += [p.with_name(PREVIOUS_VAE) for p in candidates]   # replaced by a later training
        if mode not in ("blend", "like", "between"):
            raise ValueError(f"unknown mode {mode!r}")
        made = int(meta["steps"] if mode == "between" else meta["n"])
        if not 1 <= made <= MAX_HITS:
            raise ValueError(f"{made} hits made; Drummy makes 1 to {MAX_HITS} at a time")
        if not 0 <= i < made:
            raise ValueError(f"index {i} is outside the {made} hits made")
        for key in ("index", "seed", "n", "steps", "draw"):  # whole numbers in range, as the CLI takes them
            v = meta.get(key, 0)
            if type(v) is not int or not 0 <= v <= MAX_SEED:
                raise ValueError(f"{key} {v!r} is not a whole number from 0 to {MAX_SEED}")
        made_by = meta.get("audio_version", 1)
        if meta.get("draw", 0) and not (mode == "blend" and meta.get("guard") and meta["draw"] < MAX_DRAWS):
            raise ValueError(f"draw {meta['draw']} is not one the memorisation guard keeps")
        same = same_audio(made_by, mode, meta.get("controls"), unlifted=True)   # each version changed some hits only: an
    except OSError as e:                                          # older hit outside them is remade the same
        raise RecipeError(f"cannot read {path} ({e.strerror or e})") from None
    except MALFORMED as e:
        raise _not_a_sidecar(path, e) from None
    if not same:
        raise _older(path, meta)
    found = [p for p in dict.fromkeys(candidates) if p.is_file()]
    model = next((p for p in found if model_hash(p) == want), None)
    if model is None:
        where = ", ".join(dict.fromkeys(str(p.resolve()) for p in candidates))      # one place, named once
        raise RecipeError(f"{path} was made with a model (hash {want}) that is not at {where}"
                          + ("; the model there has changed since, so the hit cannot be remade exactly" if found
                             else "; if its workspace has moved, name it with -w"))
    for key in {"like": ["like"], "between": ["a", "b"]}.get(mode, []):
        if not isinstance(meta.get(key), str):  # sidecars written before references were hashed are taken on trust
            raise _not_a_sidecar(path, KeyError(f"a {mode} hit names its reference under {key!r}"))
        ref, digest = Path(meta[key]), meta.get(f"{key}_hash")
        if digest is not None and ref.is_file() and file_hash(ref) != digest:
            raise RecipeError(f"{ref} has changed since {path} was made from it, so the hit cannot be remade exactly")
        if not ref.exists() and not ref.is_symlink():        # (a dangling link: `audio.load` says so)
            raise RecipeError(f"{path} was made from {ref}, which is not there: put the file back there "
                              f"(moved, or renamed?) to remake the hit")
    return meta, model, made_by


def _older(path: Path, meta: dict):
    from .generate import AUDIO_VERSION, RecipeError
    return RecipeError(f"{path} was made by Drummy {meta.get('drummy', '?')} with draws and synthesis of version "
                       f"{meta.get('audio_version', 1)}; this Drummy's are version {AUDIO_VERSION}, so the hit cannot "
                       f"be remade exactly")


def _remake(path: Path, meta: dict, model: Path, made_by: int):
    """The hit a checked sidecar (`_read_sidecar`) records, made again: (samples,) float32."""
    from .generate import Controls, Generator, RecipeError
    gen = Generator.load(model)
    if gen.hash != meta["model_hash"]:           # replaced since `_read_sidecar` found it: a training saving it
        raise RecipeError(f"the model {model} changed while it was being read (a training saving it?); run the "
                          f"command again when it has finished")
    gen.lift = made_by >= 11                     # an older hit: made as it was, not brought to real hits' level
    gen.hush = made_by >= 12                     # ... nor cut over 20 kHz
    gen.heard_note = gen.alike = made_by >= 13   # ... and a variation tuned and shaped as it then was
    gen.bounded = made_by >= 14                  # ... and conditioned on its reference's controls as they were
    if made_by < 14:                             # ... and rung out as then (an older Drummy ignored a model's tails)
        gen.fall_of = None
    if made_by < 15:                             # ... and its body swept as then (nor its pitch sweeps)
        gen.sweep_of = None
    gen.steady = made_by >= 16                   # ... and swelling back, and its tail gated, as it did
    if made_by == 7 and gen.balance_of is not None:
        raise _older(path, meta)
    mode, i = meta["mode"], int(meta["index"])
    try:
        if mode == "blend":
            recipe = gen.recipe(meta["recipe"])
            if "recipe_parts" in meta and [[w, labs] for w, labs in recipe.parts] != \
                    [[w, list(labs)] for w, labs in meta["recipe_parts"]]:       # one of them was edited
                raise ValueError(f"its recipe {meta['recipe']!r} is not the recipe it was made from")
            # the draw the memorisation guard kept: made again as it was, with no classifier asked
            ys = gen.generate(recipe, Controls(**meta["controls"]), n=int(meta["n"]), seed=int(meta["seed"]), keep=[i],
                              draw=meta.get("draw", 0))
        elif mode == "like":
            r = gen.recipe(meta["recipe"]) if meta.get("recipe") else None
            ref = _load_ref(meta["like"], False, float(meta.get("like_offset", 0.0)))[0]   # as recorded, not found again
            ys = gen.like(ref, Controls(**meta["controls"]), n=int(meta["n"]), seed=int(meta["seed"]), recipe=r, keep=[i])
        else:
            a, b = (_load_ref(meta[k], False, float(meta.get(f"{k}_offset", 0.0)))[0] for k in ("a", "b"))
            ys = gen.between(a, b, int(meta["steps"]), seed=int(meta["seed"]), keep=[i])
    except MALFORMED as e:
        raise _not_a_sidecar(path, e) from None
    return ys[0]


def _remade_path(path: Path, ws, out: Path | None, y) -> Path:
    """Where a remade hit y goes: `out` (a file, which must not exist, or a folder), else its own
    name, else beside it as <name>.again.wav. The hit's own file where that is y to the bit
    (nothing is then written)."""
    from .generate import RecipeError
    from .library import AUDIO_EXTENSIONS, REMADE
    own = Path(path).with_suffix(".wav")
    if out is not None and out.suffix.lower() in AUDIO_EXTENSIONS:
        if out.exists():       # a file named by the user: theirs, not ours to replace
            raise RecipeError(f"-o {out} exists; remove it or name another file (or give a folder: the hit goes beside)")
    else:                      # the hit's own name, or beside a file of that name (the hit, or another one)
        base = own if out is None else out / own.name
        if base.exists() and _same_file(base, y):          # the hit there already: no copy of it beside
            out = base
        else:
            out = base.with_suffix(REMADE + ".wav") if base.exists() else base
            if out.exists() and not _same_file(out, y):    # a producer's file (an edit of the hit?): not ours to replace
                raise RecipeError(f"{base} and {out} both exist, and {out.name} is other audio; move it away, "
                                  f"or give -o a folder or a new file name")
    if ws.in_store(out):
        raise RecipeError(f"-o {out} is in the workspace's sample store ({ws.root / 'audio'}); write the hit elsewhere")
    return out


def _difference(first: Path, again: Path) -> str:
    """How a remade hit differs from the hit first written: its largest difference in dBFS, and
    its length where that differs."""
    import numpy as np
    from . import audio
    a, b = audio.decode(first)[0][:, 0], audio.decode(again)[0][:, 0]
    n = max(len(a), len(b))
    worst = float(np.abs(np.pad(a, (0, n - len(a))) - np.pad(b, (0, n - len(b)))).max())
    d = len(b) - len(a)
    longer = f", and it is {abs(d)} samples {'longer' if d > 0 else 'shorter'}" if d else ""
    return f"; the largest difference is {20 * np.log10(max(worst, 1e-12)):.0f} dBFS{longer}"


def _same_file(path: Path, y) -> bool:
    """Whether the hit file at path is what `generate` writes of the hit y, to the bit."""
    import tempfile
    from . import audio
    from .generate import finish
    with tempfile.TemporaryDirectory() as tmp:
        mine = Path(tmp) / "hit.wav"
        audio.write(mine, finish(y), peak_db=-1.0, fade_ms=10)
        return path.is_file() and path.read_bytes() == mine.read_bytes()


def cmd_evaluate(args) -> None:
    from .evaluate import BLEND_RISE, evaluate_workspace, flat
    from .library import LibraryError, Workspace, claim
    if args.n < 2:
        raise LibraryError("-n must be at least 2 (hits per drum type to compare)")
    heldout = None
    if args.heldout is not None:
        heldout = Workspace(args.heldout)
        if not heldout.samples:
            raise LibraryError(f"no samples in {args.heldout}")
    ws = Workspace(args.workspace)
    with claim(args.out or ws.root / "report"):      # two evaluations into one report folder: the second is refused
        path, rep = evaluate_workspace(ws, args.out, heldout, n=args.n, seed=args.seed)
    m = rep.metrics
    share = ", ".join(f"{t} {v:.0%}" for t, v in rep.tables["type_share"].items())
    first = rep.tables.get("type_share_unguarded")
    print(f"classified as requested: {share} (of {args.n} hits each)" + (
        "; before the guard drew those it heard as another drum again: "
        + ", ".join(f"{t} {v:.0%}" for t, v in first.items()) if first else ""))
    from .evaluate import doubts
    for line in doubts(rep.metrics, rep.tables)[:-1]:
        print(" " + line[1:])
    print(f"Fréchet ratio {m.get('frechet_ratio', float('nan')):.2f}, diversity {m.get('diversity_ratio', float('nan')):.2f}, "
          f"memorised {m['memorised_share']:.1%}" + (
              (f" (by this report's line; the guard has none in this library, and drew {m['guard_redrawn']:.0%} of "
               "the hits again for their type)" if m.get("guard_threshold") is None else
               f" ({m['memorised_share_unguarded']:.1%} before the guard drew {m['guard_redrawn']:.0%} of "
               f"the hits again)" if m["guard_redrawn"] else " (the guard drew no hit again)")
              if "guard_redrawn" in m else "")
          + f", {m['ms_per_hit']:.1f} ms per hit" + (f" ({m['ms_per_hit_guarded']:.1f} ms guarded)"
                                                     if "ms_per_hit_guarded" in m else ""))
    for name, s in rep.tables["blend"].items():
        print(f"blend {name}: P = " + " ".join(f"{p:.2f}" for p in s["p_b"]) + f"  (Spearman {s['spearman']:.2f}"
              + (f"; flat: P({name.split('->')[1]}) rises {s['rise']:.2f}, less than {BLEND_RISE})" if flat(s) else ")"))
    print("controls: " + ", ".join(f"{k[13:]} {v:.2f}" for k, v in m.items() if k.startswith("control_corr_")))
    print(f"wrote {path}")


def _read_hit(f: Path):
    """A file for `classify` (`audio.load`), a link to a file that is gone said to be one."""
    from . import audio
    if f.is_symlink() and not f.exists():
        raise audio.AudioError(audio.DANGLING)
    return audio.load(f)


def cmd_classify(args) -> None:
    from . import audio, features
    from . import classifier as clf
    from .kits import KitError, is_kit_file
    from .library import AUDIO_EXTENSIONS, LibraryError, Workspace, classifier_path, collect, walk
    model = clf.load(classifier_path(Workspace(args.workspace)))
    items: list[tuple[str, object]] = []                 # (what to name, how to read it)
    for p in args.paths:
        if not p.exists() and not p.is_symlink():        # a link to a file that is gone is listed as one
            raise LibraryError(f"no such file or folder: {p}")
        if p.is_file() and is_kit_file(p):               # a kit: the sounds it plays (an SFZ's slices too)
            try:
                items += [(j.key, lambda j=j: audio.load(j.path, start=j.start, end=j.end)) for j in collect([p])]
            except (KitError, LibraryError) as e:
                raise LibraryError(str(e)) from None
            continue
        # a folder's audio files as ingest finds them: no ._ resource forks, no __MACOSX (and
        # links to files that are gone, to say so)
        files = [f for f in walk(p) if f.suffix.lower() in AUDIO_EXTENSIONS and (f.is_file() or f.is_symlink())
                 and not f.name.startswith(".")] if p.is_dir() else [p]
        items += [(str(f), lambda f=f: _read_hit(f)) for f in files]
    if not items:
        raise LibraryError("no audio files in " + ", ".join(str(p) for p in args.paths))
    results, ys, ok = {}, [], []
    n = int(features.MEL.seconds * features.MEL.sr)
    from tqdm import tqdm
    for f, read in tqdm(items, desc="classify", unit="file", mininterval=1.0, disable=len(items) < 200):
        try:
            y = read()
        except audio.AudioError as e:
            results[f] = {"path": f, "error": str(e)}
            continue
        if reason := features.loop_reason(y):       # ingest's rule: a drum type is a one-shot's
            results[f] = {"path": f, "error": reason}
            continue
        ys.append(features.fit_length(clf.raise_quiet(y), n).copy())   # what the classifier hears of it: not the
        ok.append(f)                                               # whole file (1,000 files held 0.7 GB)
    if not ok:
        first = next(iter(results.values()))
        raise LibraryError(f"none of the {len(items)} files is a one-shot Drummy could read "
                           f"({first['path']}: {first['error']})")
    probs = clf.predict(model, clf.log_mels(ys))                   # (`classify_audio`, its hits raised above)
    for f, p in zip(ok, probs):
        order = p.argsort()[::-1]
        results[f] = {"path": f, "type": model.cfg.classes[order[0]], "sure": bool(p[order[0]] >= 0.5),   # ("snare?")
                      "probabilities": {model.cfg.classes[i]: round(float(p[i]), 4) for i in order}}
    results = [results[f] for f, _ in items]               # in the order the files were given
    if args.json:
        print(json.dumps(results, indent=1))
        return
    for r in results:
        if "error" in r:
            print(f"{_shown(r['path'])}: skipped ({r['error']})")
        else:
            print(_heard(r["path"], list(r["probabilities"].items())[:3]))


def _heard(path: str, top: list[tuple[str, float]]) -> str:
    """`classify`'s line for a file: its type and its top probabilities; "snare?" for an answer under
    50 %, which `--auto-label` would leave unknown."""
    unsure = "?  (unsure: " if top[0][1] < 0.5 else "  ("
    # an unsure 49.6 % read "50 %", as a sure one does: one under 50 never reads 50
    shown = lambda p: f"{p:.0%}" if p >= 0.5 or p < 0.495 else "49%"
    return f"{path}: {top[0][0]}{unsure}" + ", ".join(f"{t} {shown(p)}" for t, p in top) + ")"


def _classifier_hook(workspace: Path, min_confidence: float = 0.5):
    """A classify callable for hits of unknown type, backed by the workspace's
    trained classifier (loaded on first use), or None when it has none. A hit it
    is less than min_confidence sure of gets None."""
    if not (Path(workspace) / "models").is_dir():  # no models: skip importing torch
        return None
    from .library import Workspace, classifier_path
    path = classifier_path(Workspace(workspace))
    if not path.exists():
        return None

    def classify(ys):
        from . import classifier as clf
        model = clf.load(path)
        probs = clf.classify_audio(model, ys)
        return [model.cfg.classes[int(p.argmax())] if p.max() >= min_confidence else None for p in probs]
    return classify


def _labelling(workspace: Path) -> str:
    """How a classifier comes to label a kit's files: the commands that make one in `workspace`, naming
    the ingest too where no library is there yet (a hint to train in ./drummy-work, which was not there)."""
    w = shell(workspace)
    first = "" if (Path(workspace) / "library.json").is_file() else f"`drummy ingest YOUR_SAMPLES -w {w}`, then "
    return f"{first}`drummy train classifier -w {w}`, then `-w {w}` here"


def _unknown_hint(workspace: Path, count: int) -> None:
    """After files left out for want of a drum type: how to have them labelled, when no classifier heard them."""
    if count and _classifier_hook(workspace) is None:
        print(f"  ({_plural(count, 'file')} of unknown type: a trained classifier labels them — {_labelling(workspace)})")


def _plural(n: int, what: str) -> str:
    """ "1 sample", "3 samples"."""
    return f"{n} {what}{'s' * (n != 1)}"


def _kit_samples(source: Path | None, workspace: Path, fill: bool = False):
    from .kits import is_kit_file
    from .library import Workspace, is_workspace
    from .sequencer import folder_samples, workspace_samples
    if source is None:
        return workspace_samples(Workspace(workspace), fill)
    if is_workspace(source):                                                    # its store's files have hashes for names
        from .sequencer import SequencerError
        raise SequencerError(f"{source} is a Drummy workspace, not a kit: give it with -w {shell(source)} (its "
                             f"generated hits, or its library's samples where it has none)")
    skipped: list[tuple[str, str]] = []
    samples = folder_samples(source, skipped)
    if not samples and not skipped and source.is_dir():
        from .sequencer import SequencerError
        raise SequencerError(f"{source}: no audio files in it (wav, flac, aiff, ogg, mp3), nor a drumkit.xml or .sfz")
    others = []
    for path, reason in skipped:     # a kit file in the folder that cannot be read: its files go by their names
        if is_kit_file(path):
            print(f"  could not read {_shown(path)} ({reason}): its samples are labelled by their file names")
        else:                        # a loop by its name, a dangling link, a folder that cannot be read
            others.append((path, reason))
    _left_out(others)
    return samples


CLAIM_WAIT = 120.0    # seconds a generate waits for another writing into its folder (writing 1000 hits: seconds)
BEAT_SOFTWARE = "Drummy beat"     # the tag a beat file carries, so the next beat may replace it


def cmd_beat(args) -> None:
    from . import audio, patterns
    # what can be checked before the render is checked now, not after it
    if args.out.is_dir():
        raise patterns.PatternError(f"-o {args.out} is a folder: name the beat's file (e.g. {args.out / 'beat.wav'})")
    audio.format_of(args.out)
    from .library import Workspace
    ws = Workspace(args.workspace)
    for flag, where in (("-o", args.out), ("--midi-out", args.midi_out), ("--stems", args.stems)):
        if where is not None and ws.in_store(where):                         # as generate and evaluate refuse it
            raise patterns.PatternError(f"{flag} {where} is in the workspace's sample store "
                                        f"({Path(args.workspace) / 'audio'}); write the beat elsewhere")
    if args.midi_out is not None and args.midi_out.suffix.lower() not in (".mid", ".midi"):
        raise patterns.PatternError(f"--midi-out writes a MIDI file: name it .mid (got {args.midi_out})")
    if args.midi_out is not None and args.midi_out.resolve() == args.out.resolve():
        raise patterns.PatternError(f"--midi-out {args.midi_out} would replace the beat -o {args.out}")
    if args.stems is not None:           # (made as a folder before the render, it took the beat's own name)
        if args.stems.resolve() in {args.out.resolve(), args.midi_out and args.midi_out.resolve()}:
            raise patterns.PatternError(f"--stems {args.stems} is the name of the beat's own file; give the stems a "
                                        f"folder of their own (e.g. {args.out.with_suffix('')}-stems)")
        if there := next((p for p in [args.stems, *args.stems.parents] if p.exists() and not p.is_dir()), None):
            raise patterns.PatternError(f"--stems {args.stems}: {there} is a file; give the stems a folder")
    source = Path(args.pattern) if Path(args.pattern).is_file() else None
    for flag, target in (("-o", args.out), ("--midi-out", args.midi_out)):
        if source is not None and target is not None and target.exists() and os.path.samefile(target, source):
            raise patterns.PatternError(f"{flag} {target} is the --pattern file: it would be replaced; write it elsewhere")
    pattern = patterns.load(args.pattern)
    if args.lock is not None:
        pattern = patterns.locked(pattern, args.lock)
    for remark in pattern.remarks:       # what reading a MIDI file left out or assumed
        print(f"  {remark}")
    if args.bpm is None and not 20 <= pattern.bpm <= 999:
        raise patterns.PatternError(f"{args.pattern} is at {pattern.bpm:g} bpm, which a beat cannot play "
                                    "(20 to 999); give the tempo with --bpm")
    bpm = args.bpm or pattern.bpm
    if args.bars is None:                # whole loops: a 16-bar MIDI take plays to its end, a 3-bar grid 3 times
        most = min(MAX_BARS, int(MAX_MINUTES * bpm / 4))                            # bars in a beat's longest
        args.bars = min(most, pattern.bars * max(1, -(-8 // pattern.bars)))
        if pattern.bars > most:
            print(f"  the pattern is {pattern.bars} bars long: the beat stops after {most}, the most it can be")
    elif args.bars % pattern.bars:
        print(f"  the pattern is {pattern.bars} bars long: {_plural(args.bars, 'bar')} end{'s' * (args.bars == 1)} "
              f"partway through its {_ordinal(args.bars // pattern.bars + 1)} loop")
    minutes = args.bars * 4 / bpm
    if minutes > MAX_MINUTES:            # 256 bars at 20 bpm: 51 minutes, and 17 GB with stems
        raise patterns.PatternError(f"{args.bars} bars at {bpm:g} bpm is {minutes:.0f} minutes; a beat "
                                    f"is at most {MAX_MINUTES} (fewer --bars, or a faster --bpm)")
    # the beat's own files may sit among its stems
    own = [args.out] + ([args.midi_out] if args.midi_out is not None else [])
    from .library import claim
    from .audio import folders_undone
    with claim(args.out, args.midi_out, args.stems), \
            folders_undone(args.out.parent, args.stems, args.midi_out and args.midi_out.parent):
        _beat(args, pattern, own)           # (claim: two beats into the same files, the second is refused)


def _beat(args, pattern, own) -> None:
    from . import audio, patterns, sequencer
    if args.stems is not None:
        sequencer.check_stems_folder(args.stems, own, [t.name for t in pattern.tracks])
    samples = _kit_samples(args.kit, args.workspace, fill=True)
    from .library import Workspace
    # a folder kit plays whatever is in it; a drumkit.xml or .sfz only the files it names
    kit_root = (args.kit.resolve() if args.kit.is_dir() else None) if args.kit is not None \
        else (Workspace(args.workspace).root / "generated").resolve()
    sources = {Path(s.path).resolve() for s in samples}
    for flag, target in (("-o", args.out), ("--midi-out", args.midi_out), ("--stems", args.stems)):
        r = target.resolve() if target is not None else None
        if r is not None and (r in sources or kit_root is not None and (r == kit_root or kit_root in r.parents)):
            raise sequencer.SequencerError(f"{flag} {target} is in the kit the beat plays ({kit_root or args.kit}): it "
                                           "would overwrite its samples or be played as one next time; write it elsewhere")
    if args.midi_out is not None and args.midi_out.is_dir():
        raise patterns.PatternError(f"--midi-out {args.midi_out} is a folder: name the MIDI file (e.g. "
                                    f"{args.midi_out / 'beat.mid'})")
    # a beat replaces the beat it wrote before, never a file of the producer's
    there = lambda p: p.exists() or p.is_symlink()      # a dangling link or a FIFO is somebody's too (not opened)
    if there(args.out) and not (args.out.is_file() and audio.written_by(args.out).startswith(BEAT_SOFTWARE)):
        raise patterns.PatternError(f"-o {args.out} exists and is not a beat Drummy wrote (or one from before "
                                    "Drummy marked its beats); remove it or choose another name")
    if there(args.out) and audio.edited_since(args.out):     # (an editor kept the tag: the edit is the producer's)
        raise patterns.PatternError(f"-o {args.out} is a beat Drummy wrote, edited since; remove it or choose "
                                    "another name")
    if args.midi_out is not None and there(args.midi_out) and not (args.midi_out.is_file()
                                                                  and patterns.is_ours(args.midi_out)):
        raise patterns.PatternError(f"--midi-out {args.midi_out} exists and is not a MIDI file Drummy wrote, or its "
                                    "notes were edited since; remove it or choose another name")
    for folder in (args.out.parent, args.stems, args.midi_out and args.midi_out.parent):
        if folder is not None:                  # every output can be written, before the render, not after the mix
            audio.writable_folder(folder)
    for flag, target in (("-o", args.out), ("--midi-out", args.midi_out)):
        if target is not None and len(os.fsencode(target.name)) > 255:     # what file systems take
            raise patterns.PatternError(f"{flag}: the file name {target.name[:40]}... is too long for the disk "
                                        "(255 bytes at most)")
    played = {t.drum_type for t in pattern.tracks}
    hook = _classifier_hook(args.workspace)
    # only the drums the pattern plays are decoded (and those of no type, which the classifier may name, or which
    # are said to be left out): a beat of a 6,000-sample library decoded every sample, cymbals and all, for house
    kit = sequencer.load_kit([s for s in samples if s.drum_type in played or s.drum_type == sequencer.UNKNOWN], hook)
    from_library = sorted({s.drum_type for s in samples if s.origin} & set(kit) & played) if args.kit is None else []
    if from_library and len(from_library) < len(set(kit) & played):
        which = "that type" if len(from_library) == 1 else "those types"
        print(f"  {', '.join(from_library)}: library samples (no generated hits of {which})")
    _left_out(kit.skipped)
    _unknown_hint(args.workspace, sum(why == "drum type unknown" for _, why in kit.skipped))
    for t in pattern.tracks:
        if any(t.hits) and not any(t.hits[: args.bars * pattern.steps]):
            print(f"  track {t.name!r} plays no hit in {args.bars} bar{'s' * (args.bars != 1)}: its hits come later "
                  f"in the {pattern.bars}-bar pattern")
    missing = sequencer.missing_tracks(pattern, kit)
    generated = bool(missing) and args.kit is None and sequencer.generated_folder(Workspace(args.workspace)) is not None
    learnt = {s.drum_type for s in Workspace(args.workspace).samples.values()} if generated else set()
    for t in missing if len(missing) < len(pattern.tracks) else []:     # none to play: render says so, once
        hint = "" if not generated else \
            f" (the beat plays generated hits: make some with `drummy generate --blend {t.drum_type!r}`)" \
            if t.drum_type in learnt else f" (the library has no {t.drum_type} samples to generate one from)"
        print(f"  no {t.drum_type} samples in the kit: track {t.name!r} stays silent{hint}")
    for t, notes in sequencer.stand_ins(pattern, kit):       # a crash track on a kit of rides plays a ride
        print(f"  track {t.name!r}: the kit has no {patterns.note_name(sequencer.track_note(t))}; it plays its "
              f"{' and '.join(patterns.note_name(n) for n in notes)} instead")
    seconds = sequencer.beat_length(args.bpm or pattern.bpm, args.bars) / audio.SR
    if seconds > 60:                         # minutes of audio take a while: say what is happening
        print(f"  rendering {seconds / 60:.1f} minutes of {len(pattern.tracks)} tracks"
              + (" and their stems" if args.stems is not None else "") + " ...", flush=True)
    mix, stems = sequencer.render(pattern, kit, bpm=args.bpm, bars=args.bars, seed=args.seed,
                                  no_repeat=args.no_repeat, master=args.master, stems=args.stems is not None)
    audio.write(args.out, mix, peak_db=None, fade_ms=0, remove_dc=False,    # render took out its mean
                software=BEAT_SOFTWARE)
    bpm = args.bpm or pattern.bpm
    print(f"wrote {args.out}: {args.bars} bar{'s' * (args.bars != 1)} of {pattern.name} at {bpm:g} bpm "
          f"({len(mix) / audio.SR:.1f} s, master {args.master}, "
          f"{_plural(sum(len(v) for t, v in kit.items() if t in played), 'sample')} to draw from)")
    if args.stems is not None:
        paths = sequencer.write_stems(stems, args.stems, keep=own)
        print(f"wrote {len(paths)} stems to {args.stems}")
    if args.midi_out is not None:
        patterns.write_midi(args.midi_out, pattern, bpm=bpm, bars=args.bars)
        print(f"wrote {args.midi_out}")


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def cmd_export_kit(args) -> None:
    from .kits import KitError, export_kit
    from .library import Workspace
    ws = Workspace(args.workspace) if args.source is None else None
    # a kit written inside the folder it was made from is part of that folder's kit next time
    root = (args.source.resolve() if args.source.is_dir() else None) if ws is None \
        else (ws.root / "generated").resolve()
    if root is not None and args.out.resolve().is_relative_to(root):
        raise KitError(f"-o {args.out} is inside the folder the kit comes from ({root}): its hits would be "
                       "in that kit twice next time; export to a folder outside it")
    from .labels import TYPES
    from .sequencer import label_unknown
    samples = label_unknown(_kit_samples(args.source, args.workspace), _classifier_hook(args.workspace))
    # (a kit's file that is not there has no type either: that is the reason to give)
    unknown = [(s.shown, "drum type unknown" if Path(s.path).exists() else "no such file")
               for s in samples if s.drum_type not in TYPES]
    if samples and len([u for u in unknown if u[1] == "drum type unknown"]) == len(samples) \
            and _classifier_hook(args.workspace) is None:
        raise KitError(f"nothing to export: no name says a drum type for any of the {_plural(len(samples), 'file')}; "
                       f"a trained classifier labels them ({_labelling(args.workspace)})")
    from .library import claim
    with claim(args.out):
        out, broken = export_kit(samples, args.out, args.format, args.name)
    kind = {"folder": "a type-folder", "hydrogen": "a Hydrogen", "sfz": "an SFZ"}[args.format]
    print(f"wrote {kind} kit of {len(samples) - len(unknown) - len(broken)} samples: {out}")
    from .sequencer import generated_folder
    if ws is not None and generated_folder(ws) is None:                  # (6,041 files, 1.1 GB: no one
        print("  (the workspace's library, every sample of it: it has no generated hits yet; once `drummy "   # asked)
              "generate` has made some, the kit holds those)")
    _left_out(unknown, "more of unknown drum type or not there")
    _unknown_hint(args.workspace, sum(why == "drum type unknown" for _, why in unknown))
    _left_out(broken)
    bad = {str(p) for p, _ in broken}
    have = {s.drum_type for s in samples if s.shown not in bad}
    if lacking := [t for t in ("kick", "snare", "hihat") if t not in have]:
        hint = f" (make some with `drummy generate --blend {shell(lacking[0])}`)" if args.source is None else ""
        print(f"  the kit has no {', no '.join(lacking)}{hint}")


def _left_out(items: list[tuple], more: str = "more files left out", verb: str = "left out", noun: str = "samples",
              most: int = 10) -> None:
    """What was left out and why: a line a file, but one line for three or more files of one
    folder left out for one reason (every beat named each of a workspace's morphs, whose
    blend of two drums is no one type; every ingest of a library of 200 loops printed 200 lines);
    `most` lines at most."""
    gist = lambda why: re.sub(r" ?\([^()]*\d[^()]*\)", "", why)       # "several hits (8 over 3.5 s): a loop": a loop
    groups: dict[tuple[str, str, bool], list] = {}                      # (folder, reason, and its folders?) -> files
    for path, reason in items:
        groups.setdefault((str(Path(path).parent), reason, False), []).append(path)

    def lines_of(groups):                                               # [(line, files it stands for, why)]
        out = []
        for (folder, reason, below), paths in sorted(groups.items(), key=lambda g: -len(g[1])):   # the biggest first
            if len(paths) >= 3:
                where = _shown(os.path.abspath(folder)) + (" and its folders" if below else "")
                out.append((f"  {verb} {len(paths)} {noun} in {where}: {reason}", len(paths), gist(reason)))
            else:
                out += [(f"  {verb} {_shown(p)}: {reason}", 1, gist(reason)) for p in paths]
        return out
    lines = lines_of(groups)
    for _ in range(3):       # too many lines: a few files of a folder join those of its neighbours (a pack's
        if len(lines) <= most:   # loops, two in each BPM folder) under the folder above, by what is wrong
            break
        lifted: dict[tuple[str, str, bool], list] = {}
        for (folder, reason, below), paths in groups.items():
            key = (folder, reason, below) if len(paths) >= 3 else (str(Path(folder).parent), gist(reason), True)
            lifted.setdefault(key, []).extend(paths)
        groups, lines = lifted, lines_of(lifted)
    for line, _, _ in lines[:most]:
        print(line)
    if len(lines) > most:
        why: dict[str, int] = {}
        for _, n, g in lines[most:]:
            why[g] = why.get(g, 0) + n
        print(f"  ... and {sum(why.values())} {more}: " + "; ".join(f"{n} {g}" for g, n in
                                                                  sorted(why.items(), key=lambda w: -w[1])[:3])
              + ("; …" if len(why) > 3 else ""))


def _shown(path) -> str:
    """A path on one line: control characters in a name (a newline, a tab) written as escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(path))


COMMANDS = {"starter-kit": cmd_starter_kit, "ingest": cmd_ingest, "library": cmd_library,
            "train": cmd_train, "generate": cmd_generate, "evaluate": cmd_evaluate, "classify": cmd_classify,
            "beat": cmd_beat, "export-kit": cmd_export_kit}


if __name__ == "__main__":
    sys.exit(main())
