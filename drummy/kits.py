"""Drum-kit formats: Hydrogen `drumkit.xml` and SFZ, read into labelled sample lists."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from .labels import UNKNOWN, labels_from_names, normalise, parse_note, type_of, type_of_note


class KitError(Exception):
    """A kit file that cannot be read; the message is one line for the user."""


@dataclass
class KitSample:
    """One sample a kit file points at, with the labels the kit gives it."""
    path: Path
    drum_type: str
    tags: list[str] = field(default_factory=list)
    kit: str = ""
    instrument: str = ""
    note: int | None = None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_hydrogen(xml_path: str | Path) -> list[KitSample]:
    """Samples of a Hydrogen kit: each instrument's layer files, labelled from the
    instrument name (the kit name becomes a tag). Handles the old flat format
    (`<filename>` directly in `<instrument>`) and newer layered ones."""
    xml_path = Path(xml_path)
    try:
        root = ET.parse(xml_path).getroot()
    except (ET.ParseError, OSError) as e:
        raise KitError(f"{xml_path}: not a readable drumkit.xml ({e})") from None
    kit_name = next((c.text or "" for c in root if _local(c.tag) == "name"), xml_path.parent.name)
    kit_tag = normalise(kit_name)
    out: list[KitSample] = []
    for inst in root.iter():
        if _local(inst.tag) != "instrument":
            continue
        name = next((c.text or "" for c in inst if _local(c.tag) == "name"), "")
        note_el = next((c.text for c in inst if _local(c.tag) == "midiOutNote"), None)
        files = [el.text.strip() for el in inst.iter() if _local(el.tag) == "filename" and el.text]
        for f in dict.fromkeys(files):
            drum_type, tags = labels_from_names([name, Path(f).stem])
            # The instrument name is the kit author's word on what it is; the file
            # name only decides when the instrument name says nothing.
            t = type_of(name)
            drum_type = t if t is not None else drum_type
            tags = [kit_tag, *[x for x in tags if x != kit_tag]] if kit_tag else tags
            out.append(KitSample(xml_path.parent / f, drum_type, tags, kit_name, name,
                                 int(note_el) if note_el and note_el.strip().lstrip("-").isdigit() else None))
    return out


_HEADER = re.compile(r"<(\w+)>")
_OPCODE = re.compile(r"(\w+)=(.*?)(?=\s+\w+=|\s*<\w+>|\s*$)")


def _parse_sfz(text: str) -> list[tuple[str, dict[str, str]]]:
    """Flatten an SFZ file into (header, opcodes) pairs in file order."""
    out: list[tuple[str, dict[str, str]]] = []
    for line in text.splitlines():
        line = line.split("//", 1)[0]
        pos = 0
        for m in _HEADER.finditer(line):
            if out:
                out[-1][1].update(dict(_OPCODE.findall(line[pos:m.start()])))
            out.append((m.group(1), {}))
            pos = m.end()
        rest = line[pos:]
        if rest.strip():
            if not out:
                out.append(("global", {}))
            out[-1][1].update({k: v.strip() for k, v in _OPCODE.findall(rest)})
    return out


def read_sfz(sfz_path: str | Path) -> list[KitSample]:
    """Samples of an SFZ instrument: each `<region>`'s `sample=`, labelled from its
    key as a General MIDI drum note when it has one, else from the sample's name.
    `<control> default_path=` and `<global>/<group>` inheritance are honoured."""
    sfz_path = Path(sfz_path)
    try:
        text = sfz_path.read_text(errors="replace")
    except OSError as e:
        raise KitError(f"{sfz_path}: cannot read ({e.strerror})") from None
    kit_name = sfz_path.stem
    default_path, glob, group = "", {}, {}
    out: list[KitSample] = []
    for header, ops in _parse_sfz(text):
        if header == "control":
            default_path = ops.get("default_path", default_path)
        elif header == "global":
            glob, group = ops, {}
        elif header in ("group", "master"):
            group = ops
        elif header == "region":
            region = {**glob, **group, **ops}
            sample = region.get("sample")
            if not sample:
                continue
            rel = (default_path + sample).replace("\\", "/")
            note = None
            for key in ("key", "pitch_keycenter", "lokey"):
                if key in region:
                    try:
                        note = parse_note(region[key])
                        break
                    except ValueError:
                        pass
            names = [region.get("group_label", ""), *Path(rel).parent.parts, Path(rel).stem]
            drum_type, tags = labels_from_names(names)
            if note is not None and type_of_note(note) != UNKNOWN:
                drum_type = type_of_note(note)
            kit_tag = normalise(kit_name)
            tags = [kit_tag, *[x for x in tags if x != kit_tag]] if kit_tag else tags
            out.append(KitSample(sfz_path.parent / rel, drum_type, tags, kit_name,
                                 region.get("group_label", ""), note))
    return out
