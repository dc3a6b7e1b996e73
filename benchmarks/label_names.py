"""How Drummy's label rules read the names of producers' sample libraries.

`benchmarks/data/label_names.txt` holds 535 relative paths in the naming conventions of commercial
and free packs, drum-machine sets and multisampled kits, each with the type a producer expects and
the tags that should, and should not, come out of it. This prints every disagreement and the counts
(wrong types, then junk or lost tags), borderline cases apart, and writes
`benchmarks/results/label_names.json`.

    PYTHONPATH=. python benchmarks/label_names.py
"""
from __future__ import annotations

import json
from pathlib import Path

from drummy.labels import labels_from_path

HERE = Path(__file__).parent


def cases(path: Path = HERE / "data" / "label_names.txt") -> list[dict]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        path_, types, want, junk, border, note = ([p.strip() for p in line.split("|")] + [""] * 6)[:6]
        out.append({"path": path_, "types": None if types == "*" else types.split("/"),
                    "want": [w for w in want.split(",") if w], "junk": [w for w in junk.split(",") if w],
                    "borderline": border == "B", "note": note})
    return out


def main() -> None:
    rows = []
    for c in cases():
        t, tags = labels_from_path(c["path"])
        words = " ".join(tags).split()
        missing = [w for w in c["want"] if w not in tags and w not in words]
        junk = [w for w in c["junk"] if w in tags or w in words]
        status = "type" if c["types"] is not None and t not in c["types"] else "tags" if missing or junk else "ok"
        rows.append({**c, "got": [t, tags], "status": status, "missing": missing, "junk_found": junk})
    for r in rows:
        if r["status"] != "ok":
            print(f"{r['status']:4} {'B' if r['borderline'] else ' '} {r['path']}: {r['got'][0]} {r['got'][1]}"
                  f" (expected {'/'.join(r['types'] or ['any'])}" + (f"; missing {r['missing']}" if r["missing"] else "")
                  + (f"; junk {r['junk_found']}" if r["junk_found"] else "") + ")")
    count = lambda status, border: sum(r["status"] == status and r["borderline"] == border for r in rows)  # noqa: E731
    summary = {"names": len(rows), "borderline": sum(r["borderline"] for r in rows),
               "wrong type": count("type", False), "wrong type (borderline)": count("type", True),
               "junk or lost tags": count("tags", False), "junk or lost tags (borderline)": count("tags", True)}
    print(json.dumps(summary))
    out = HERE / "results" / "label_names.json"
    out.write_text(json.dumps({"summary": summary, "disagreements": [r for r in rows if r["status"] != "ok"]}, indent=1))


if __name__ == "__main__":
    main()
