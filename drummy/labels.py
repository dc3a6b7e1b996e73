"""Labels: turning folder names, file names, kit instrument names and GM notes into
one drum type plus free tags.

`kick/808/Boom 1.wav` -> type "kick", tags ["808", "boom"].
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import PurePath

# The drum types Drummy knows; "unknown" is used when nothing matches.
TYPES = ("kick", "snare", "clap", "hihat", "open hat", "tom", "cymbal", "perc")
UNKNOWN = "unknown"

# When one name mentions several types ("Snare Rimshot", "Hi Hat Open"), the first
# type in this order wins.
_PRIORITY = ("open hat", "hihat", "clap", "snare", "kick", "tom", "cymbal", "perc")

# Normalised phrase -> drum type. Phrases are matched on whole words, longest first.
SYNONYMS: dict[str, str] = {
    # kick
    "kick": "kick", "kik": "kick", "kck": "kick", "bd": "kick", "bassdrum": "kick",
    "bass drum": "kick", "kick drum": "kick", "kickdrum": "kick",
    # snare
    "snare": "snare", "sd": "snare", "sn": "snare", "snr": "snare", "snare drum": "snare",
    "snaredrum": "snare",
    # clap
    "clap": "clap", "cp": "clap", "clp": "clap", "handclap": "clap", "hand clap": "clap", "claps": "clap",
    "clapping": "clap", "handclapping": "clap", "hand clapping": "clap", "handclp": "clap",
    # closed hats (pedal hats sound closed)
    "hihat": "hihat", "hi hat": "hihat", "hh": "hihat", "hhat": "hihat", "hat": "hihat", "hats": "hihat",
    "closed hat": "hihat", "closed hh": "hihat", "chh": "hihat", "ch": "hihat",
    "closed hihat": "hihat", "pedal hh": "hihat", "pedal hat": "hihat", "hi hats": "hihat", "hhcd": "hihat",
    # open hats
    "oh": "open hat", "ohh": "open hat", "open hat": "open hat", "open hh": "open hat",
    "open hihat": "open hat", "openhat": "open hat", "hhod": "open hat",
    # the hats closed by the foot and left to ring
    "foot splash": "open hat", "hat splash": "open hat", "hh splash": "open hat", "hihat splash": "open hat",
    # toms
    "tom": "tom", "toms": "tom", "floor tom": "tom", "lt": "tom", "mt": "tom", "ht": "tom",
    "tomtom": "tom", "ltad": "tom", "mtad": "tom", "htad": "tom",
    # cymbals
    "cymbal": "cymbal", "cym": "cymbal", "crash": "cymbal", "ride": "cymbal", "china": "cymbal",
    "splash": "cymbal", "cymbals": "cymbal", "cshd": "cymbal", "rided": "cymbal",
    # everything else you hit
    "perc": "perc", "percussion": "perc", "cowbell": "perc", "conga": "perc", "bongo": "perc",
    "shaker": "perc", "tambourine": "perc", "tamb": "perc", "clave": "perc", "claves": "perc",
    "woodblock": "perc", "wood block": "perc", "rim": "perc", "rimshot": "perc",
    "side stick": "perc", "sidestick": "perc", "stick": "perc", "djembe": "perc",
    "cajon": "perc", "maraca": "perc", "maracas": "perc", "triangle": "perc", "agogo": "perc",
    "guiro": "perc", "cabasa": "perc", "timbale": "perc", "timbales": "perc", "snap": "perc",
    "finger snaps": "perc", "snaps": "perc", "block": "perc", "prc": "perc", "shkr": "perc", "cowb": "perc",
    "cow bell": "perc", "tamborine": "perc", "tabla": "perc", "darbuka": "perc", "doumbek": "perc", "taiko": "perc",
    "gong": "perc", "timpani": "perc", "cuica": "perc", "surdo": "perc", "pandeiro": "perc", "castanets": "perc",
    "vibraslap": "perc", "udu": "perc", "cross stick": "perc", "crossstick": "perc", "hand drum": "perc",
    # the drum machines' own two-letter names (TR-808/909 sample sets: RS, CB, CY ...)
    "rs": "perc", "cb": "perc", "cl": "perc", "ma": "perc", "lc": "perc", "mc": "perc", "hc": "perc",
    "cy": "cymbal", "cr": "cymbal", "rd": "cymbal", "ft": "tom",
    # other languages' names for the kit
    "cassa": "kick", "bombo": "kick", "grosse caisse": "kick", "grosse trommel": "kick", "rullante": "snare",
    "caja": "snare", "caisse claire": "snare", "kleine trommel": "snare", "palmas": "clap", "becken": "cymbal",
    "große trommel": "kick", "percusion": "perc", "cencerro": "perc",
    "charleston": "hihat", "platillo": "cymbal", "platillos": "cymbal", "tarola": "snare", "standtom": "tom",
    "kuhglocke": "perc", "xstick": "perc", "rimclick": "perc", "hhp": "hihat",
    "htom": "tom", "mtom": "tom", "ltom": "tom", "ftom": "tom",
}
# Plurals of the one-word names ("Kicks/", "Snares/", "Crashes/") name the type too, and
# so are not left behind as tags.
_PLURALS = {w + ("es" if w.endswith(("sh", "ch", "x")) else "s"): t for w, t in SYNONYMS.items()
            if len(w.split()[-1]) >= 3 and not w.endswith("s")}         # "Bass Drums", "Floor Toms" too
SYNONYMS = {**_PLURALS, **SYNONYMS}

# Abbreviations that give way to a drum word in the same name: "Snare OH mic" is a snare
# from the overheads, "Ch1 Kick In" a kick on channel 1, "Vox Ohh" no hat.
_WEAK = {w for w in SYNONYMS if len(w) <= 2} | {"ohh", "chh"}
# ... and words that describe a hit of another type as often as they name one ("Snares/Tight Snap.wav",
# "Kicks/Block Rocker.wav", "Snares/Rim Heavy.wav"): perc alone, they do not overrule a folder's drum word
_WEAK |= {"snap", "stick", "block", "rim", "charleston"}      # (a "Charleston Kick" is a kick)

# Words that start with a drum word and describe a sound, not name one: a "snappy" hit is a
# snare's or a clap's, a "crashy" one may be anything.
_NOT_GLUED = {"snappy", "snapped", "snapping", "snapper", "crashy", "crashed", "crashing", "rimmed", "tomato",
              "tomatoes", "clapton", "blocky", "blocked", "sticky", "ridden", "rider", "cowboy", "cowboys", "cassava"}

# Words that turn a hat into an open hat when they appear with one. A "free" or
# "loose" hat is left to ring: BJA_Pacific's "Hi Hat Free" rings 2.8-4.2 s, longer
# than that kit's own "Hi Hat Opened". A hat "swish" is played open and closed by the
# foot: The Black Pearl's "Sabian Hat Swish" rings 500-630 ms, between that kit's Semi-Open
# (330-510 ms) and Open (720-850 ms) hats; its closed hat stops by 220 ms.
_OPEN_WORDS = {"open", "opened", "op", "semiopen", "semi open", "half open", "free", "loose", "swish", "offen",
               "otwarty", "abierto", "aperto", "ouvert"}

# General MIDI percussion key map (channel 10) -> drum type.
GM_NOTES: dict[int, str] = {
    35: "kick", 36: "kick", 37: "perc", 38: "snare", 39: "clap", 40: "snare",
    41: "tom", 42: "hihat", 43: "tom", 44: "hihat", 45: "tom", 46: "open hat", 47: "tom",
    48: "tom", 49: "cymbal", 50: "tom", 51: "cymbal", 52: "cymbal", 53: "cymbal",
    54: "perc", 55: "cymbal", 56: "perc", 57: "cymbal", 58: "perc", 59: "cymbal",
    **{n: "perc" for n in range(60, 82)},
}
# The note we write for each type when exporting kits or MIDI.
GM_NOTE_OF_TYPE = {"kick": 36, "snare": 38, "clap": 39, "hihat": 42, "open hat": 46,
                   "tom": 45, "cymbal": 49, "perc": 56, UNKNOWN: 60}

# The GM drum map's second crash, second ride, second kick and second snare stand in for the first, and back
GM_SIBLING = {49: 57, 57: 49, 51: 59, 59: 51, 36: 35, 35: 36, 38: 40, 40: 38}

# Words in a sound's name that say which drum of its type it is, as its General MIDI note: a kit's
# ride is no crash, its floor tom no high tom, its pedal hat no closed hat. Longest phrase first.
GM_NOTE_OF_WORDS: dict[str, dict[str, int]] = {
    "hihat": {"pedal": 44, "foot": 44, "ped": 44, "phh": 44, "hhp": 44},
    # a snare struck on its rim, GM's second snare (as GMRockKit keys it), or a side stick: no plain snare
    "snare": {"rimshot": 40, "rim shot": 40, "rim": 40, "side stick": 37, "sidestick": 37, "cross stick": 37,
              "crossstick": 37},
    "cymbal": {"ride bell": 53, "ride cup": 53, "bell": 53, "cup": 53, "ride": 51, "rd": 51, "china": 52, "splash": 55, "crash": 49, "cr": 49},
    "tom": {"floor": 41, "ft": 41, "low": 45, "lo": 45, "lt": 45, "mid": 47, "middle": 47, "medium": 47, "mt": 47,
            "high": 50, "hi": 50, "ht": 50, "htom": 50, "mtom": 47, "ltom": 45, "ftom": 41},
    "perc": {"side stick": 37, "sidestick": 37, "cross stick": 37, "stick": 37, "rimshot": 37, "rim": 37, "rs": 37,
             "cowbell": 56, "cow bell": 56, "cb": 56, "tambourine": 54, "tamb": 54, "tamborine": 54,
             "vibraslap": 58, "bongo": 60, "conga": 63, "timbale": 65, "timbales": 65, "agogo": 67, "cabasa": 69,
             "shaker": 70, "maraca": 70, "maracas": 70, "whistle": 71, "guiro": 73, "clave": 75, "claves": 75,
             "woodblock": 76, "wood block": 76, "block": 76, "cuica": 79, "triangle": 81,
             # the low, muted or short one of a pair has its own note: a kit's "Bongo Lo" is GM's Low Bongo
             **{f"{a} {b}": note for drum, pairs in {
                 "bongo": {"low": 61, "lo": 61, "high": 60, "hi": 60},
                 "conga": {"low": 64, "lo": 64, "mute": 62, "muted": 62, "open": 63, "high": 63, "hi": 63},
                 "timbale": {"low": 66, "lo": 66, "high": 65, "hi": 65},
                 "agogo": {"low": 68, "lo": 68, "high": 67, "hi": 67},
                 "woodblock": {"low": 77, "lo": 77, "high": 76, "hi": 76},
                 "wood block": {"low": 77, "lo": 77, "high": 76, "hi": 76},
                 "cuica": {"mute": 78, "muted": 78, "open": 79},
                 "triangle": {"mute": 80, "muted": 80, "open": 81},
                 "whistle": {"short": 71, "long": 72}, "guiro": {"short": 73, "long": 74}}.items()
                 for word, note in pairs.items() for a, b in ((drum, word), (word, drum))}},
}


def gm_note_of(text: str, drum_type: str) -> int | None:
    """The GM note a sound's name (`text`: an instrument's, a file's, tags) gives it within its
    type ("Ride Jazz" -> 51, "Tom Hi" -> 50, "HH Pedal" -> 44), or None: a plain one of its type."""
    words = GM_NOTE_OF_WORDS.get(drum_type)
    if not words:
        return None
    norm = f" {normalise(text)} "
    for phrase in sorted(words, key=len, reverse=True):
        if any(f" {phrase}{s} " in norm for s in ("", "s", "es")):     # "Congas/", "Rides/", "Crashes/"
            return words[phrase]
    return None

_NOTE_NAMES = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}


# File-format words that say how a sample was recorded, not how it sounds ("Kick Stereo 24bit",
# "hh 2ms", "kick_float32", "44k1", "k_192k", "808 48000"): never tags, nor the numbers they qualify.
_FORMAT_WORDS = {"bit", "bits", "khz", "hz", "k", "ms", "float", "int", "pcm", "stereo", "mono", "wav", "wave",
                 "aif", "aiff", "flac", "mp", "ogg", "caf", "sample", "samples"}
_RATES = {"11025", "16000", "22050", "24000", "32000", "44100", "48000", "88200", "96000", "176400", "192000"}


# Words that say how a pack is organised or sold, not how a hit sounds ("Sample Library/One
# Shots/Drums", "Pack (Free)", "Kick Loop 120bpm", "rr2", "Hat_two"), the key it is tuned to ("Kick_Am",
# "808 F# minor") and how a hat is played once its type says so: never tags.
_STOP_WORDS = {"loop", "loops", "one", "shot", "shots", "oneshot", "oneshots", "drum", "drums", "library",
               "pack", "packs", "kit", "kits", "free", "vol", "vel", "rr", "bpm", "major", "minor", "maj", "min", "copy",
               "and", "unsorted", "misc", "miscellaneous", "various", "assorted", "untitled", "splice", "sounds",
               "expansion", "expansions", "user", "consolidate", "consolidated", "round", "robin",
               "roundrobin", "key", "of", "to", "no", "prod", "by", "the", "final", "edit", "bip", "programs", "w",
               "with", "my", "take", "takes", "audio",     # a recording's number ("Snare Take 0042"): 6,042 of 6,042 tagged "take"
               # round robins counted in words (Naked Drums' "HatMic_A2_10_one", "_two" ... "_ten")
               "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}
# Folders that say where a file sits on a computer, not what it is ("~/Desktop/my-snare.wav"): no
# tags when a folder is named just that ("Download Festival/", "Home Studio/" keep their words)
_PLACES = {"desktop", "downloads", "documents", "my documents", "music", "my music"}
_KEY = re.compile(r"[a-g](b|s|sharp|flat)?(m|min|minor|maj|major)?")


def _is_noise_word(word: str, prev: str = "") -> bool:
    """A word that is no tag: a stop word, a key ("am", "ebm"), a tempo ("120" before "bpm"),
    a duration ("2s"; decades such as "90s" stay)."""
    return (word in _STOP_WORDS or (len(word) > 1 and _KEY.fullmatch(word) is not None)
            or re.fullmatch(r"\d+s", word) is not None and re.fullmatch(r"[1-9]0s|00s", word) is None)


def fold_accents(text: str) -> str:
    """Accents folded off Latin letters (Snäre -> Snare, ＫＩＣＫ -> KICK); kana and hangul keep
    theirs (ブーム is not フーム), and every other letter stays as it is."""
    out: list[str] = []
    for c in unicodedata.normalize("NFKD", text):
        if not (unicodedata.combining(c) and out and ord(out[-1]) < 0x250):
            out.append(c)
    return unicodedata.normalize("NFC", "".join(out))


@lru_cache(maxsize=1 << 16)   # a library's names repeat: each folder's for every file in it
def normalise(text: str) -> str:
    """Lower-case, fold accents, split camelCase and letter/digit runs, turn
    separators into single spaces, and drop numbering: "Snare_01" and "snare-1" ->
    "snare", "BassDrum" -> "bass drum", "Snäre" -> "snare", "808" stays "808"."""
    # controls (tabs, a Latin-1 \x81) separate words; format marks (a soft hyphen, a joiner) go
    text = "".join(" " if unicodedata.category(c) == "Cc" else "" if unicodedata.category(c) == "Cf" else c
                   for c in _undo_surrogates(text))
    text = fold_accents(text)
    text = re.sub(r"(?i)(?<![a-z])([dr])(?:n|&|'n'?|n')b(?![a-z])", lambda m: f" {m[1].lower()}nb ", text)  # DnB, R&B
    text = "".join(" " if ord(c) > 127 and unicodedata.category(c)[0] in "PS" else c for c in text)   # – ・ « »
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)       # camelCase
    text = text.lower()
    text = re.sub(r"(?<![a-z\d])[a-f\d]{8}(?:-[a-f\d]{4}){3}-[a-f\d]{12}(?![a-z\d])", " ", text)   # a UUID
    text = re.sub(r"(?<![a-z\d])[a-f\d]{6,}(?![a-z\d])", _unless_hex, text)   # a hash: 3f2a9bd1 is no bd
    text = re.sub(r"(?<![a-z])v\d+(?![a-z\d])", " ", text)  # version markers: v2
    text = re.sub(r"(?<![a-z\d])\d{1,2} ?(in|inch|inches|cm|\")(?![a-z])", " ", text)  # sizes: crash 16in, 14"
    text = re.sub(r"(?<=\d{3})s(?![a-z])", "", text)        # plurals of machines: 808s -> 808 (90s stays)
    text = re.sub(r"(?<![a-z\d])tr[\s_\-]?(?=\d{3}(?!\d))", "", text)   # TR-808 is the 808
    text = re.sub(r"(?<![a-z\d])cr[\s_\-]?(?=(?:78|8000)(?!\d))", "", text)  # the CR-78 no crash
    text = re.sub(r"(?<![a-z\d])\d ?ch(?![a-z])", " ", text)  # channel counts: 2ch, 4CH (ch alone is a closed hat)
    text = re.sub(r"[_\-.,+()\[\]{}#&'\"!/\\:;]+", " ", text)
    text = "".join(" " if unicodedata.category(c)[0] in "PS" else c for c in text)   # ~ @ and the like
    text = re.sub(r"(?<![a-z\d])\d*(?:1st|2nd|3rd|[04-9]th|1[1-3]th)(?![a-z])", " ", text)  # ordinals (not 909rd)
    text = re.sub(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?!s(?![a-z]))(?=[^\W\d_])", " ", text)  # snare1 -> snare 1 (any script)
    words = [w for w in text.split() if w and not _is_numbering(w)]
    return " ".join(words)


def _unless_hex(m: re.Match) -> str:
    """A run of hex digits that reads as a hash or a UUID (digits and letters alternate three
    times or more: 3f2a9bd1, 9c1e0cb7) is no words: its letters read "bd" (kick) and "cb"
    (cowbell). Words and machine codes keep theirs: face808, decade, bd7510."""
    run = m.group()
    changes = sum(a.isdigit() != b.isdigit() for a, b in zip(run, run[1:]))
    return " " if changes >= 3 else run


def _undo_surrogates(text: str) -> str:
    """A file name that is not UTF-8 on disk reaches Python with each odd byte as a lone
    surrogate ("caf\\udce9"); such names come from old Windows zips, so each such byte is
    read as Windows-1252 ("café"), or Latin-1 where that has no character."""
    def byte(m: re.Match) -> str:
        b = bytes([ord(m.group()) - 0xDC00])
        try:
            return b.decode("cp1252")
        except UnicodeDecodeError:
            return b.decode("latin-1")
    return re.sub("[\udc80-\udcff]", byte, text)


# The numbers that name drum machines and samplers (TR-808, SP-1200, MPC 3000): tags. Any other number
# is a sample's number, a velocity ("Vel 127"), a tempo, a date or an 808 tone code ("BD7510").
_MACHINE_NUMBERS = {"101", "110", "202", "220", "303", "404", "505", "550", "606", "612", "626", "660", "670", "707",
                    "727", "770", "808", "880", "900", "909", "950", "1000", "1200", "2000", "2500", "3000", "4000",
                    "5000", "8000", "9000"}


def machines_in(phrase: str) -> list[str]:
    """The drum machines a phrase of several words names by a number of three digits, as
    Roland's are ("808 emulation kit" -> ["808"]; "sp 1200" and "mpc 1000" stay whole): tags
    of their own beside the phrase, so a recipe `kick+808` finds a kit named for one."""
    words = phrase.split()
    return [w for w in dict.fromkeys(words) if w in _MACHINE_NUMBERS and len(w) == 3] if len(words) > 1 else []


def _is_numbering(word: str) -> bool:
    # Bare numbers and version markers are numbering, but for machines' numbers
    if re.fullmatch(r"v?\d{1,2}|0\d+s?|\d+(st|nd|rd|th)?|x\d+", word):
        return word not in _MACHINE_NUMBERS
    return False


# A snare's wires on or off, said in the name of another drum recorded so ("Rack Tom - Snares Off"): no snare.
# Alone ("SnareOff", ForzeeStereo's wires-off snare) it names a snare.
_WIRES = re.compile(r"\b(?:snares|snare wires) (?:on|off)\b")


def type_of(text: str) -> str | None:
    """The drum type a single name mentions, or None. `text` may be raw."""
    return _typed(text)[0]


@lru_cache(maxsize=1 << 16)
def _typed(text: str) -> tuple[str | None, bool]:
    """(`type_of`, whether a drum word says it rather than only an abbreviation such as CL or OH)."""
    norm = normalise(text)
    if (bare := _WIRES.sub(" ", norm)) != norm:     # "kick - snares on": how the snare's wires were set while
        t, says = _typed(bare)                      # the kick was recorded (Jazz Funk Kit's every file)
        if t is not None:
            return t, says
    words = norm.split()
    strong: set[str] = set()
    weak: set[str] = set()
    for n in (3, 2, 1):
        for i in range(len(words) - n + 1):
            phrase = " ".join(words[i:i + n])
            if phrase in SYNONYMS:
                (weak if phrase in _WEAK else strong).add(SYNONYMS[phrase])
    if not strong:  # glued words ("tomhi", "closedhat", "HHO"), as weak as an abbreviation: a snare
        for w in words:          # folder's "Snappy.wav" is no snap
            if (g := _glued(w)) is not None:
                weak.add(g[0])
    found = strong or weak
    if "hihat" in found and says_open(norm):
        found.add("open hat")
    # "Kicks & Snares", "Toms and Percussion", "Snares-Claps", "Kick w Clap": a name of two types names neither
    if len(found - {"open hat"}) > 1 and (re.search(r"&|\+|,|\band\b|\bw\b|\bwith\b", str(text).lower())
                                        or len({_PLURALS[w] for w in words if w in _PLURALS} - {"open hat"}) > 1):
        return None, False
    for t in _PRIORITY:
        if t in found:
            return t, bool(strong)
    return None, False


# What a drum word is glued to in a name such as "closedhat", "hitom", "HHO", "snarebottom", "crashcymbal".
_GLUE = {"open", "op", "o", "closed", "cl", "c", "hi", "lo", "low", "mid", "high", "rack", "floor", "top", "bottom",
         "btm", "in", "out", "sub", "hard", "soft", "short", "long", "tight", "ped", "pedal", "foot", "room"}


@lru_cache(maxsize=1 << 16)
def _glued(word: str) -> tuple[str, str] | None:
    """(type, the rest) of a word glued from a drum word and a word of `_GLUE` or another drum word, either
    way round ("hitom" -> tom, "hi"; "hihatopen", "ophat", "hho" -> open hat), or of a drum word of 3+
    letters running on for up to 3 ("kicker", "tomhi2" -> tom); None for a word of the language
    ("snappy", "tomato") or no such word."""
    if word in SYNONYMS or word in _NOT_GLUED or not word.isalpha() or word in _NOT_DRUMS | _STOP_WORDS | _GLUE:
        return None
    for i in range(1, len(word)):
        a, b = word[:i], word[i:]
        for syn, rest in ((a, b), (b, a)):
            if syn not in SYNONYMS or " " in syn or len(syn) < 2:
                continue
            # an abbreviation glues only in front of a drum word ("clhat") or, a hat's, to open or closed
            # ("hho", "hhop", "chopen"): "main", "lord", "hilt" and "crop" are words
            if len(syn) == 2 and not (syn == a and rest in SYNONYMS and len(rest) > 2
                                      or syn in ("hh", "ch") and rest in ("op", "cl", "open", "closed", *("oc" * (syn == "hh")))):
                continue
            if len(rest) == 1 and syn != "hh" or rest in SYNONYMS and len(rest) == 2 and rest == b:   # "chat", "hatch"
                continue
            if rest in SYNONYMS:        # two drum words: the one not an abbreviation, else the first by _PRIORITY
                both = sorted((a, b), key=lambda w: (w in _WEAK, _PRIORITY.index(SYNONYMS[w])))
                return SYNONYMS[both[0]], ""
            if rest in _GLUE:
                t = "open hat" if SYNONYMS[syn] == "hihat" and rest in ("open", "op", "o") else SYNONYMS[syn]
                return t, rest if rest not in _OPEN_WORDS | {"closed", "cl", "c", "o"} else ""
    for syn, t in SYNONYMS.items():
        if len(syn) >= 3 and " " not in syn and word.startswith(syn) and len(word) <= len(syn) + 3:
            return t, word
    return None


def says_open(norm: str) -> bool:
    """Whether a normalised name says a hat is open: a whole open word ("Hat Op Dirty",
    "semi open"), one glued to "open" ("HHOpen", "openhat") or an O after a hat ("Hat_O_01"); "Hip Hop
    Hat" does not."""
    words = norm.split()
    return bool(set(words) & _OPEN_WORDS) or any(f" {p} " in f" {norm} " for p in _OPEN_WORDS if " " in p) \
        or any("open" in w for w in words) or re.search(r"\b(hh|hat|hihat) o\b", norm) is not None  # "HH_O"


_CLOSED_WORDS = {"closed", "geschlossen", "ferme", "zamkniety", "cerrado", "chiuso"}
# Percussion words that, on a snare, say how it was struck: no tag there. Session 27's 18 benchmark
# snares tagged "rimshot" cost the generator its snares (a `snare` recipe asks for one with no tag):
# at seed 0, 94 % heard as snares against 98.5 % without the tag.
_SNARE_STROKES = {"rim", "rimshot", "stick", "sidestick", "crossstick"}
# Words that name a kind of percussion, and stay as tags: "perc" alone is a grab-bag
_PERC_KINDS = {p: kind for p, t in SYNONYMS.items() if t == "perc"         # "Congas" -> conga, "cow bell" -> cowbell
               for kind in [re.sub(r"(?<=sh|ch)es$|(?<=x)es$|s$", "", p).replace(" ", "") if p in _PLURALS else p.replace(" ", "")]
               if len(kind) > 3 and not kind.startswith("perc") and kind not in ("shkr", "cowb", "tamb")}


@lru_cache(maxsize=1 << 16)
def _phrases_of_type(norm: str) -> frozenset[str]:
    return frozenset(p for p in SYNONYMS if re.search(rf"(?<!\S){re.escape(p)}(?!\S)", norm))


def tags_of(text: str, known: set[str] = frozenset(), phrase: bool = True) -> list[str]:
    """`_tags_of`, a list (6,000 files' labels took 48 s, each folder's name read again for every file; 4 s so).
    known: the tags the folders above gave."""
    return list(_tags_of(text, frozenset(known), phrase))


@lru_cache(maxsize=1 << 16)
def _tags_of(text: str, known: frozenset[str], phrase: bool) -> tuple[str, ...]:
    """Free tags from a name, less the words of the `known` tags (those the folders above already
    gave: "808/808 Boom 1.wav" adds "boom", not "808 boom"). A name without a drum word
    is one tag when `phrase` (a folder "boom bap" is a style); otherwise, and for a name
    with a drum word, each leftover word is a tag (a file "Boom Long" gives "boom" and
    "long")."""
    phrases = known
    known = frozenset(w for t in phrases for w in t.split())
    norm = re.sub(r"(?<!\S)(\d+)(?: \d+)? (?:k|khz|hz|bit|bits|ms)(?!\S)",           # 192k, 44.1 kHz (not "808 K")
                  lambda m: m[0] if m[1] in _MACHINE_NUMBERS else " ", normalise(text))
    norm = " ".join(w for w in norm.split() if w not in _FORMAT_WORDS and w not in _RATES)
    own = type_of(text)
    norm = _WIRES.sub(" ", norm) if own not in (None, "snare") else norm   # "Kick - Snares On": no "on" tag
    typed = own is not None or bool(_phrases_of_type(norm))
    degree = {"semi", "half", "quarter"} if says_open(norm) else set()       # "Hat Semi-Open", "HH Half Open"
    # the drum words go, but for the kind of percussion ("Perc/Tabla 2.wav", "Side Stick", "Snares/Snap.wav")
    for p in sorted(_phrases_of_type(norm) if typed else (), key=len, reverse=True):
        kind = _PERC_KINDS.get(p)
        norm = re.sub(rf"(?<!\S){re.escape(p)}(?!\S)", f" {kind} " if kind else " ", norm)
    hat = own in ("hihat", "open hat")                    # a conga's "open" is how it is played
    words = norm.split()
    words = [w for i, w in enumerate(words) if not _is_noise_word(w) and not (w.isdigit() and words[i + 1:i + 2] == ["bpm"])]
    if not typed and phrase:
        rest = " ".join(w for w in words if w not in known and _wordy(w))
        return (rest, *machines_in(rest)) if rest else ()
    if not typed:
        return tuple(dict.fromkeys(w for w in words if w not in known and _wordy(w)))
    words = [(g[1] if (g := _glued(w)) is not None else w) for w in words]
    # less a folder's tag the name repeats whole: "Boom Bap/Kick Boom Bap 1.wav" is "boom bap", not also "boom"
    # and "bap" (a recipe's "bap" asked for every boom bap hit); "Lo-Fi Dusty/Kicks/Dusty Kick.wav" keeps "dusty"
    whole = {w for t in phrases if set(t.split()) <= set(words) for w in t.split()}
    return tuple(w for w in words if not (hat and w in _OPEN_WORDS | degree | _CLOSED_WORDS) and _wordy(w)
                 and w not in whole)


def _wordy(word: str) -> bool:
    """A word that can be a tag: not a lone Latin letter or digit ("x", "a1" -> "a"); one
    character of another script can be a word ("붐")."""
    return len(word) > 1 or not word.isascii()


# Words that mark a folder of sounds that are not drum hits ("Vocal Chops", "FX/Risers",
# "808 Bass"): a drum word below such a folder ("Vox_Chop_Kick_It.wav") names no type.
_NOT_DRUMS = {"vocal", "vocals", "vox", "voice", "voices", "chop", "chops", "fx", "sfx", "riser", "risers",
              "sweep", "sweeps", "impact", "impacts", "chord", "chords", "melody", "melodies", "atmos"}
# Words of a pack's or a kit's name ("Tom Misch Drum Kit", "Kick Ass Drums"): a drum word there
# is as weak as an abbreviation, and the names below decide.
_PACK_WORDS = {"kit", "kits", "pack", "packs", "collection", "vol", "drum", "drums", "library", "essentials"}


def not_drums(names: list[str]) -> bool:
    """Whether names (folders, general first, then a file's stem) put a sound in a folder of things
    that are not drum hits (`_NOT_DRUMS`: "Vocals/", "FX/Sweeps/") with no drum folder below it, as
    `labels_from_names` reads them: the classifier is not asked to give it a drum type."""
    out = False
    for i, name in enumerate(names):
        words = set(normalise(name).split())
        t, says = _typed(name)
        if words & _NOT_DRUMS and (t is None or not says) and not words & {"drum", "drums"}:
            out = True
        elif t is not None and i < len(names) - 1:
            out = False
    return out


def labels_from_names(names: list[str]) -> tuple[str, list[str]]:
    """(type, tags) from names ordered general -> specific (folders, then the file
    stem). The most specific name that mentions a type decides the type, unless a
    folder above it holds no drums (`_NOT_DRUMS`, and no drum word of its own)."""
    names = [n for n in names[:-1] if normalise(n) not in _PLACES] + names[-1:]
    drum_type = UNKNOWN
    tags: list[str] = []
    decided, strong, blocked = 0, False, False
    last = len(names) - 1
    overheads = any({"overhead", "overheads"} & set(normalise(n).split()) for n in names)
    for i, name in enumerate(names):
        norm = normalise(name)
        words = set(norm.split())
        t, says = _typed(name)
        if t is not None and not says and words & _PACK_WORDS:     # "MC Drum Kit", "OH NO Drum Kit": no drum
            t = None
        says = says and not (words & _PACK_WORDS and not _phrases_of_type(norm) & {p for p in SYNONYMS if " " in p})
        if t == "open hat" and not says and overheads:     # "Overheads/OH L.wav": the overhead mics, not a hat
            t = None
        if words & _NOT_DRUMS and (t is None or not says) and not words & {"drum", "drums"}:  # "Vox Ohh", "Oh Yeah Vocal"
            blocked, drum_type, strong = True, UNKNOWN, False   # "Vocal Chops/", "FX/Risers/" (not "Drum & Bass/")
        elif t is not None and not (blocked and i == last):     # below such a folder, only a drum folder is drums
            # an abbreviation alone (Hats/CL 01.wav) does not overrule its folder's drum word, unless that says
            # only "perc" (Perc/CP.wav is a clap), and within the hats it refines it (Hats/OH 2.wav is an open hat)
            # ("Guiro/GURO_HT_01.wav" is a guiro: a folder naming one percussion instrument is no grab-bag)
            parent_strong = strong and (drum_type != "perc" or gm_note_of(names[decided], "perc") not in (None, 37))
            if says or not parent_strong or {t, drum_type} <= {"hihat", "open hat"}:
                drum_type, decided, strong, blocked = t, i, says, False
        for tag in tags_of(name, set(tags), phrase=i < last):
            if tag not in tags:
                tags.append(tag)
    # "Hats/Open/01.wav", "Open Hats/Hat_2.wav", "Hats (Open)/Sizzle Hat.wav": a name from the
    # first that says "hat" down, saying "open", opens it unless the deciding one says "closed"
    # ("Open Source Kit/Hats/01.wav" stays closed)
    first_hat = next((i for i, n in enumerate(names) if type_of(n) in ("hihat", "open hat")), decided)
    if drum_type == "hihat" and not _CLOSED_WORDS & set(normalise(names[decided]).split()) \
            and any(says_open(normalise(n)) for n in names[first_hat:]):
        drum_type = "open hat"
    if drum_type == "open hat":       # how open it is says its type ("Open Hats/Half Open 2.wav")
        tags = [t for t in tags if not set(t.split()) <= _OPEN_WORDS | {"semi", "half", "quarter"} and "open" not in t]
    if drum_type == "hihat":
        tags = [t for t in tags if t not in _CLOSED_WORDS]
    if drum_type == "snare":          # how a snare was struck ("Snare Rimshot"), as open or closed is a hat's
        tags = [t for t in tags if t not in _SNARE_STROKES]
    return drum_type, tags


def labels_from_path(relpath: str | PurePath) -> tuple[str, list[str]]:
    """(type, tags) for a file path relative to the library root."""
    p = PurePath(relpath)
    return labels_from_names([*p.parent.parts, p.stem])


def type_of_note(note: int) -> str:
    """Drum type of a General MIDI percussion note (unknown outside the map)."""
    return GM_NOTES.get(int(note), UNKNOWN)


def parse_note(text: str) -> int:
    """A MIDI note number from "36", "c1", "C#3" or "db2" (SFZ convention: c4 = 60)."""
    text = text.strip().lower()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    m = re.fullmatch(r"([a-g])([#b]?)(-?\d+)", text)
    if not m:
        raise ValueError(f"not a note: {text!r}")
    semis = _NOTE_NAMES[m.group(1)] + {"#": 1, "b": -1, "": 0}[m.group(2)]
    return (int(m.group(3)) + 1) * 12 + semis
