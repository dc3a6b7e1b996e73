import pytest

from drummy.labels import labels_from_names, labels_from_path, normalise, parse_note, tags_of, type_of, type_of_note


@pytest.mark.parametrize("path,drum_type,tags", [
    ("kick/808/Boom 1.wav", "kick", ["808", "boom"]),
    ("snare/boom bap/Crack_03.wav", "snare", ["boom bap", "crack"]),
    ("Drums/BD/deep.wav", "kick", ["deep"]),
    ("808/HH_closed_03.wav", "hihat", ["808"]),
    ("one shots/OH 2.wav", "open hat", []),
    ("perc/claps/cp-09.flac", "clap", []),
    # a file name's words are tags each (`--blend kick+boom` finds "Boom Long"); a folder's name
    # without a drum word is one tag (a style), and folders that only sort a pack are none
    ("misc/weird noise.wav", "unknown", ["weird", "noise"]),
    ("Unsorted/Boom Long.FLAC", "unknown", ["boom", "long"]),
    ("kick/Boom Long.wav", "kick", ["boom", "long"]),
    ("dusty vinyl/kick/Boom Boom 2.wav", "kick", ["dusty vinyl", "boom"]),
    # how a file was recorded is no tag; accented letters fold and split like plain ones
    ("kick/Kick Stereo 24bit.wav", "kick", []),
    ("hh tiny 2ms.wav", "hihat", ["tiny"]),
    ("samples/kick_float32 44k1.wav", "kick", []),
    ("Snäre ünïcode 96k.wav", "snare", ["unicode"]),
    ("perc/タム2.wav", "perc", ["タム"]), ("ドラム/キック/ブーム 1.wav", "unknown", ["ドラム", "キック", "ブーム"]),
    ("드럼/붐.wav", "unknown", ["드럼", "붐"]),
    # a plural folder names the type and is no tag
    ("Kicks/punchy.wav", "kick", ["punchy"]), ("Snares/Crack.wav", "snare", ["crack"]),
    ("Crashes/x.wav", "cymbal", []), ("Rides/jazz.wav", "cymbal", ["jazz"]), ("Claps/a1.wav", "clap", []),
    # a folder below the hats that says "open" opens them; one above them does not
    ("Hats/Open/01.wav", "open hat", []), ("Hats/Semi Open/tight.wav", "open hat", ["tight"]),
    ("Hats/Closed/01.wav", "hihat", []), ("Open Source Kit/Hats/01.wav", "hihat", ["open source"]),
    # machines in the plural, decades, sizes
    ("808s/Boom.wav", "unknown", ["808", "boom"]), ("90s/kick.wav", "kick", ["90s"]),
    ("Crash 16in.wav", "cymbal", []), ('Ride 20".wav', "cymbal", []), ("kick_01s.wav", "kick", []),
    ("Kick 909 In.wav", "kick", ["909", "in"]), ("Kick 808 In Room.wav", "kick", ["808", "in", "room"]),
    # hats: "op" inside a word opens nothing; an open folder above the file's own "hat" does
    ("Hats/Hip Hop Hat 1.wav", "hihat", ["hip", "hop"]), ("Hats/Pop Hat.wav", "hihat", ["pop"]),
    ("Hats (Closed)/PK_Chopped_Hat_02.wav", "hihat", ["pk", "chopped"]), ("Hats/Closed Hat Top.wav", "hihat", ["top"]),
    ("Hats (Open)/PK_Hat_Sizzle_02.wav", "open hat", ["pk", "sizzle"]), ("Open Hats/Hat_2.wav", "open hat", []),
    ("03 Hi-Hats/Open/HH 1.wav", "open hat", []), ("Open Hats/Closed Hat.wav", "hihat", []),
    ("Hats/HHOpen 3.wav", "open hat", []),
    # channels, overheads and vocals are no hats when a drum word is there
    ("Tom 4ch.wav", "tom", []), ("Kick_Stereo_2CH.wav", "kick", []), ("Snare Ch 3.wav", "snare", []),
    ("Multitrack/Ch1 Kick In.wav", "kick", ["multitrack", "in"]), ("Snare OH mic.wav", "snare", ["mic"]),
    ("Hats/CH 01.wav", "hihat", []),
    # a folder of two types names neither
    ("Kicks & Snares/Trap_04.wav", "unknown", ["trap"]), ("Toms and Percussion/x.wav", "unknown", []),
    # a pack's words, keys, tempos and durations are no tags; the TR-808 is the 808
    ("Dusty Tape Drums (Free)/One Shots/Kicks/PK_Kick_Dusty_C#.wav", "kick", ["dusty tape", "pk", "dusty"]),
    ("Bass/808 Bass/808_Boom_Am.wav", "unknown", ["bass", "808", "boom"]),
    ("Sample Library/Kick 120bpm Loop.wav", "kick", []), ("Long crash 29s.wav", "cymbal", ["long"]),
    ("TR-808 Samples/RS.wav", "perc", ["808"]), ("TR-808/CY 1.wav", "cymbal", ["808"]),
    ("TR 909/RD.wav", "cymbal", ["909"]), ("90s/kick.wav", "kick", ["90s"]),
    # a pack named for a machine gives the machine's tag too (a recipe `kick+808` finds it)
    ("Roland TR808 Kit/Kick.wav", "kick", ["roland 808", "808"]), ("909 Mafia/Snare 3.wav", "snare", ["909 mafia", "909"]),
    # a folder of sounds that are no drums names no drum type below it
    ("Vocal Chops/Vox_Ohh_G.wav", "unknown", ["vocal chops", "vox"]),
    ("Vocal Chops/Vox_Chop_Kick_It.wav", "unknown", ["vocal chops", "vox", "chop", "it"]),
    ("FX/Sweeps/Kick Sweep.wav", "unknown", ["fx", "sweeps", "sweep"]),
    ("Snare FX/Crunch 2.wav", "snare", ["fx", "crunch"]), ("Bass Drums/Deep.wav", "kick", ["deep"]),
    ("FX/Kicks/Boom.wav", "kick", ["fx", "boom"]),                 # a drum folder below one of FX is drums again
    # ... and genre, pack and microphone names are no such folders
    ("Drum & Bass Essentials/Kicks/Kick 1.wav", "kick", ["bass essentials"]),
    ("Drums & FX/Hats/Hat 3.wav", "hihat", ["fx"]), ("Acoustic Kit/Ambience/Snare 1.wav", "snare", ["acoustic", "ambience"]),
    ("Future Bass Pack/Kicks/Sub.wav", "kick", ["future bass", "sub"]), ("Synth Drums/Kicks/K.wav", "kick", ["synth"]),
    # an abbreviation alone in a file name does not overrule its folder's drum word, but refines a hat
    ("Hats/CL 01.wav", "hihat", []), ("Snare/CL.wav", "snare", []), ("Hats/OH 2.wav", "open hat", []),
    ("Hits/3rd Hit.wav", "unknown", ["hits", "hit"]), ("Snares/Snare Fm.wav", "snare", []),
    ("TR-909/909RD.wav", "cymbal", ["909"]), ("Hat 16th.wav", "hihat", []),
    # below a folder of no drums the file's own drum word names nothing; a drum folder does
    ("FX/Reverse Crash.wav", "unknown", ["fx", "reverse"]), ("Risers/Snare Build.wav", "unknown", ["risers", "build"]),
    ("808 Bass/808 Kick Long.wav", "kick", ["808 bass", "808", "long"]), ("Future Bass Kit/Kick 01.wav", "kick", ["future bass"]),
    ("Hats/Acoustic/CL 01.wav", "hihat", ["acoustic"]), ("Snares/Vintage/RS 01.wav", "snare", ["vintage"]),
    ("Bass House/Snares/Tight.wav", "snare", ["bass house", "tight"]),
    # a drum word in a pack's name is as weak as an abbreviation; "perc" does not overrule one
    ("Tom Misch Drum Kit/BD 01.wav", "kick", ["misch"]), ("Kick Ass Drums/HH/HH 01.wav", "hihat", ["ass"]),
    ("Crash Test Drums/SD/SD 01.wav", "snare", ["test"]), ("TR-808/Perc/CP.wav", "clap", ["808"]),
    ("Floor Toms/16.wav", "tom", []),
    # a word that starts with a drum word is as weak as an abbreviation, and some only describe
    ("Snares/Snappy 2.wav", "snare", ["snappy"]), ("Snappy/a.wav", "unknown", ["snappy"]),
    ("Tomato Kit/Kicks/x.wav", "kick", ["tomato"]), ("Toms/Tomhi.wav", "tom", ["hi"]),
    # a sample rate or bit depth is no tag, nor the number in it; a machine's number is
    ("kick/k_192k.wav", "kick", []), ("808/Kick 48000.wav", "kick", ["808"]),
    ("Snares 96kHz 24bit/606 Snare 44.1 kHz.wav", "snare", ["606"]),
    # a perc word that describes as often as it names ("snap", "rim", "block") does not overrule a drum folder,
    # and the kind of percussion is a tag
    ("Snares/Tight Snap.wav", "snare", ["tight", "snap"]), ("Kicks/Block Rocker.wav", "kick", ["block", "rocker"]),
    ("Percussion/Tabla Na.wav", "perc", ["tabla", "na"]), ("Cowbells/Cow Bell 2.wav", "perc", ["cowbell"]),
    ("Congas/Conga Open.wav", "perc", ["conga", "open"]), ("Side Stick.wav", "perc", ["sidestick"]),
    # ... but on a snare such a word says how it was struck, as open or closed does a hat's: no tag
    ("Snares/Snare Rimshot 2.wav", "snare", []), ("Perc/Rimshot.wav", "perc", ["rimshot"]),
    # words for drums the table lacked; other languages' names
    ("CLP_LAYER.wav", "clap", ["layer"]), ("PRC_WOOD.wav", "perc", ["wood"]), ("Hand Clapping.wav", "clap", []),
    ("TR-909/HHCD4.WAV", "hihat", ["909"]), ("TR-909/HHOD4.WAV", "open hat", ["909"]), ("TR-909/LTAD0.WAV", "tom", ["909"]),
    ("Batteria/Cassa 3.wav", "kick", ["batteria"]), ("Schlagzeug/Becken.wav", "cymbal", ["schlagzeug"]),
    ("Hi-Hat offen.wav", "open hat", []), ("Hi-Hat geschlossen.wav", "hihat", []),
    # glued words: a drum word and what it is glued to
    ("closedhat.wav", "hihat", []), ("HIHATOPEN.wav", "open hat", []), ("HHO_01.wav", "open hat", []),
    ("HHC_01.wav", "hihat", []), ("CLHAT2.wav", "hihat", []), ("racktom_hi_03.wav", "tom", ["rack", "hi"]),
    ("CRASHCYMBAL.wav", "cymbal", []), ("snarebottom.wav", "snare", ["bottom"]), ("Hat_O_01.wav", "open hat", []),
    ("Main/x.wav", "unknown", ["main"]), ("Lord/chat.wav", "unknown", ["lord", "chat"]),
    # a hat's foot splash is a hat left open; the overhead mics are no hat
    ("HiHat/HH_Foot_Splash.wav", "open hat", []), ("Acoustic Kit/Overheads/OH L.wav", "unknown", ["acoustic", "overheads"]),
    # a name of two types names neither, however joined
    ("Snares-Claps/Crack.wav", "unknown", ["crack"]), ("Snares Claps/Tight.wav", "unknown", ["tight"]),
    ("Kicks/Kick 2 (Layered w Clap).wav", "kick", ["layered"]),
    # abbreviations in a pack's name or beside a word of no drums name nothing
    ("Vox Ohh.wav", "unknown", ["vox"]), ("MC Drum Kit/Boom 1.wav", "unknown", ["boom"]),
("Roland CR-78/Accent.wav", "unknown", ["roland", "accent"]),
    # numbers that are no machine's, pack folders, open-degree words, genres, any punctuation
    ("Kicks/Kick 137 Vel 127.wav", "kick", []), ("808/BD7510.WAV", "kick", ["808"]), ("SP-1200/Snare.wav", "snare", ["sp 1200"]),
    ("Splice/sounds/packs/Kicks/Round Robin 4.wav", "kick", []), ("Hats/Semi-Open Hat 1.wav", "open hat", []),
    ("Open Hats/Half Open 2.wav", "open hat", []), ("DnB/Kick.wav", "kick", ["dnb"]), ("R&B Drums/Snare.wav", "snare", ["rnb"]),
    ("Cymatics – Titan Kick – Bright.wav", "kick", ["cymatics", "titan", "bright"]), ("kick~deep.wav", "kick", ["deep"]),
    # ... but an instrument's name above a drum word is no folder of other sounds, nor a machine's number a rate
    ("Drums/Synth/Kick.wav", "kick", ["synth"]), ("Perc/Guitar Body Hit.wav", "perc", ["guitar", "body", "hit"]),
    ("Pads/Kick.wav", "kick", ["pads"]), ("Foley/Foley Kick 1.wav", "kick", ["foley"]),
    ("MPC1000/Kick 1.wav", "kick", ["mpc 1000"]), ("Kicks/Kick 808 K.wav", "kick", ["808"]), ("Cowbells/01.wav", "perc", ["cowbell"]),
    # a folder naming one percussion instrument is not overruled by an abbreviation, as a grab-bag "Perc/" is
    ("Guiro/Hit/GURO_HTFL_HT_015_01.wav", "perc", ["guiro", "hit", "guro", "htfl"]), ("Conga/CP 2.wav", "perc", ["conga"]),
    ("Congas/HT 01.wav", "perc", ["conga"]), ("Perc/Shakers/OH 01.wav", "perc", ["shaker"]),
    ("Cowbells/HH.wav", "perc", ["cowbell"]),
    ("Percussion/HT 1.wav", "tom", []),
    # round robins counted in words are numbering, not tags (Naked Drums)
    ("Snares/Snare Two.wav", "snare", []), ("Hats/HatMic_A2_10_eight.flac", "hihat", ["mic"]),
    ("Kicks/Dry/Kick Take 0042.wav", "kick", ["dry"]), ("Snare Takes/Tight 3.wav", "snare", ["tight"]),
    # the snare's wires, said of a kick: no "on" tag left behind (a snare's own "off" stays, as ForzeeStereo's)
    ("Center/kick - snares on - 1.wav", "kick", ["center"]), ("Snares/Snares Off 2.wav", "snare", ["off"]),
])
def test_labels_from_path(path, drum_type, tags):
    assert labels_from_path(path) == (drum_type, tags)


@pytest.mark.parametrize("name,expected", [
    ("BassDrum", "kick"), ("bd", "kick"), ("Kick Drum", "kick"), ("sd", "snare"), ("SnareRoll", "snare"),
    ("hh", "hihat"), ("hhat", "hihat"), ("Hat", "hihat"), ("hihat", "hihat"), ("Closed Hat", "hihat"), ("Pedal HH", "hihat"),
    ("oh", "open hat"), ("Open Hat", "open hat"), ("Hi Hat Opened", "open hat"), ("Hat Op Dirty", "open hat"),
    ("Hi Hat Free", "open hat"), ("hihat-semi-open-1", "open hat"), ("Snare Floating Free", "snare"),
    ("Sabian Hat Swish", "open hat"), ("Brush Snare Swish", "snare"),
    ("cp", "clap"), ("Hand Clap", "clap"), ("crash", "cymbal"), ("Ride Bell", "cymbal"), ("cym", "cymbal"),
    ("Floor Tom", "tom"), ("tomhi2", "tom"), ("Cowbell", "perc"), ("Snare Rimshot", "snare"),
    ("Zap", None), ("", None),
    # the snare's wires, said of another drum recorded with them on or off (Jazz Funk Kit), or of the snare itself
    ("Charleston Offen", "open hat"), ("Platillo", "cymbal"), ("Tarola", "snare"), ("Standtom", "tom"), ("Kuhglocke", "perc"),
    ("Hi-hat otwarty", "open hat"), ("HHP 1", "hihat"), ("Xstick", "perc"), ("FTom 2", "tom"),
    ("Charleston Kick", "kick"), ("Snare On Rim", "snare"), ("kick - snares on - 1", "kick"), ("Rack Tom - Snares Off - 2", "tom"), ("SnareOff", "snare"), ("Snare Wires Off", "snare"),
])
def test_type_synonyms(name, expected):
    assert type_of(name) == expected


def test_normalise_case_separators_numbering():
    assert normalise("Snare_01") == "snare"
    assert normalise("snare-1") == "snare"
    assert normalise("BOOM--Bap") == "boom bap"
    assert normalise("808") == "808"           # machine names are not numbering
    assert normalise("Kick 007 v2") == "kick"
    assert normalise("crash16inch") == "crash inch"


def test_names_that_are_not_utf8_on_disk_read_as_windows_1252():
    # os.listdir hands Python a Latin-1 "Snäre" as "Sn\udce4re"; a tag must not carry that
    assert normalise("Sn\udce4re_01") == "snare"
    assert labels_from_names(["caf\udce9 kicks", "Boom\udc81"]) == ("kick", ["cafe", "boom"])
    assert normalise("a\x01b\tc") == "a b c"      # control characters separate words ...
    assert normalise("sna\u00adre") == "snare"     # ... format marks (a soft hyphen) go


def test_tags_keep_style_words_and_drop_type_words():
    assert tags_of("boom bap") == ["boom bap"]
    assert tags_of("Kick Hard 2") == ["hard"]
    assert tags_of("snare") == []


def test_a_name_repeating_its_folders_adds_only_its_new_words():
    # the starter kit's kicks: `kick/808/808 boom 01.wav` is tagged 808 and boom, so
    # `--blend "kick+808+boom"` finds them
    assert labels_from_path("kick/808/808 boom 01.wav") == ("kick", ["808", "boom"])
    assert labels_from_path("snare/boom bap/Boom Bap 3.wav") == ("snare", ["boom bap"])
    assert labels_from_path("Kicks/Lofi/Lofi Dusty Thud.wav") == ("kick", ["lofi", "dusty", "thud"])
    assert tags_of("808 boom", known={"808"}) == ["boom"]
    # ... a file named with its drum too: "Boom Bap/Kick Boom Bap 1.wav" was tagged boom bap, boom and bap
    assert labels_from_path("Drums/Boom Bap/Kick Boom Bap 1.wav") == ("kick", ["boom bap"])
    assert labels_from_path("Lo-Fi Dusty Pack/Kicks/Dusty Kick 1.wav") == ("kick", ["lo fi dusty", "dusty"])
    assert labels_from_path("Unsorted/Audio 01.wav") == ("unknown", [])      # a DAW's bounce: no tag "audio"


def test_gm_notes_and_note_names():
    assert type_of_note(36) == "kick" and type_of_note(38) == "snare" and type_of_note(42) == "hihat"
    assert type_of_note(46) == "open hat" and type_of_note(39) == "clap" and type_of_note(49) == "cymbal"
    assert type_of_note(5) == "unknown"
    assert parse_note("36") == 36
    assert parse_note("c4") == 60 and parse_note("C#2") == 37 and parse_note("eb2") == 39
    with pytest.raises(ValueError):
        parse_note("h2")


def test_not_drums_reads_folders_as_labels_from_names_does():
    from drummy.labels import not_drums
    assert not_drums(["Vocals", "Vox Chop Hey"]) and not_drums(["FX", "Sweeps", "Uplifter"])
    assert not not_drums(["FX", "Kicks", "Hit 1"])                       # a drum folder below: drums
    assert not not_drums(["Drum & Bass", "Thing"]) and not not_drums(["Misc", "Thing 2"])
    for names in (["Vocals", "Vox Chop Hey"], ["FX", "Kicks", "Hit 1"]):
        assert (labels_from_names(names)[0] == "unknown") == not_drums(names)


def test_where_a_file_sits_on_a_computer_is_no_tag():
    # a producer's `~/Desktop/my-snare.wav` and `Downloads/` gave the tags desktop, my, downloads,
    # which became recipe labels
    assert labels_from_path("Desktop/my-snare.wav") == ("snare", [])
    assert labels_from_path("Downloads/Documents/Music/Kicks/808 boom.wav") == ("kick", ["808", "boom"])
    # ... but a name with more in it keeps its words (a first version dropped them anywhere)
    assert labels_from_path("Home Studio/Download Festival/Kick 1.wav") == ("kick", ["home studio", "download festival"])


def test_hashes_and_uuids_in_file_names_name_no_drum():
    # a downloaded snare named by a UUID read "bd" (kick) and "cb" (cowbell) in its hex
    assert labels_from_path("Downloads/3f2a9bd1-7c4e-4b2a-9e1f-0a1b2c3d4e5f.wav") == ("unknown", [])
    assert labels_from_path("Downloads/9C1E0CB7-2D4F-4E11-8A2B-77AA11BB22CC.wav") == ("unknown", [])
    assert labels_from_path("snare/a9c0f3c42c97.wav") == ("snare", [])
    # words and codes made of hex letters keep theirs
    assert labels_from_path("kick/face808.wav") == ("kick", ["face", "808"])
    assert labels_from_path("BD7510.wav")[0] == "kick"
    assert labels_from_path("snare/decade808 01.wav") == ("snare", ["decade", "808"])


def test_which_drum_of_its_type_a_glued_name_says():
    from drummy.labels import gm_note_of
    assert [gm_note_of(n, "tom") for n in ("HTom", "MTom 2", "LTom", "FTom")] == [50, 47, 45, 41]
    assert gm_note_of("HHP 1", "hihat") == 44
