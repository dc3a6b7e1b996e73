# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
WORK    ?= demo-out
STAMP   := $(VENV)/.installed

.PHONY: demo test install bench clean

# Byte-compiling all of torch at install time is two thirds of a fresh install (about
# 55 of 85 s); instead Python compiles only the modules we import, once, on first use.
# That needs bytecode writing on, even where the environment turns it off.
export PYTHONDONTWRITEBYTECODE :=

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# numba compiles librosa's code once, here, in one process: two processes compiling it at
# once can write a cache that crashes a later run (numba#10128; a fresh clone's ingest lost a
# worker to it).
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install -q --no-compile -c constraints.txt -e '.[dev]'
	$(BIN)/python -c "from drummy import features; features.warm_up()"
	touch $(STAMP)

install: $(STAMP)

# The main job end to end on the built-in starter kit: library -> classifier ->
# blend generator -> new hits + evaluation report -> a beat made of the new hits.
# The demo's classifier averages 2 nets, not 3: 40 s less, to stay under 5 minutes with the install.
DRUMMY := $(BIN)/drummy
WS     := $(WORK)/workspace
demo: $(STAMP)
	rm -rf $(WORK)/starter-kit $(WORK)/stems $(WORK)/beat.wav $(WORK)/beat.mid
	$(DRUMMY) starter-kit $(WORK)/starter-kit --seed 0
	$(DRUMMY) ingest $(WORK)/starter-kit -w $(WS)
	$(DRUMMY) library -w $(WS)
	$(DRUMMY) train classifier -w $(WS) --epochs 15 --members 2
	$(DRUMMY) classify $(WORK)/starter-kit/kick/808 -w $(WS) | head -5
	$(DRUMMY) train vae -w $(WS) --steps 500
	$(DRUMMY) generate -w $(WS) --blend "snare=80,hihat=20" -n 8 --seed 1
	$(DRUMMY) generate -w $(WS) --blend "kick+808" -n 32 --seed 2
	$(DRUMMY) generate -w $(WS) --blend "kick+808" --decay 1 --pitch -3 -n 4 --seed 3
	$(DRUMMY) generate -w $(WS) --blend "clap=60,snare=40" -n 16 --seed 4
	$(DRUMMY) generate -w $(WS) --blend "hihat" --brightness 0.5 -n 32 --seed 5
	$(DRUMMY) generate -w $(WS) --blend "open hat" -n 32 --seed 6
	$(DRUMMY) generate -w $(WS) --like $(WORK)/starter-kit/snare/909/snare\ 909\ 01.wav -n 4 --variation 0.5
	$(DRUMMY) evaluate -w $(WS) -n 18
	$(DRUMMY) beat -w $(WS) --pattern house --bars 8 --no-repeat -o $(WORK)/beat.wav --midi-out $(WORK)/beat.mid --stems $(WORK)/stems
	$(DRUMMY) export-kit -w $(WS) --format hydrogen -o $(WORK)/kit-hydrogen
	@echo "demo done: new hits in $(WS)/generated/, the report in $(WS)/report/report.md, the beat in $(WORK)/beat.wav"

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/starter_realism.py
	$(BIN)/python benchmarks/classifier_unseen_kits.py
	$(BIN)/python benchmarks/vae_blend.py
	$(BIN)/python benchmarks/memorisation.py
	$(BIN)/python benchmarks/pitch_rise.py
	$(BIN)/python benchmarks/pitch_control.py
	$(BIN)/python benchmarks/attack_control.py
	$(BIN)/python benchmarks/hit_lengths.py
	$(BIN)/python benchmarks/hit_ends.py
	$(BIN)/python benchmarks/codec_alternatives.py
	$(BIN)/python benchmarks/ingest_speed.py
	$(BIN)/python benchmarks/label_names.py
	$(BIN)/python benchmarks/render_speed.py
	$(BIN)/python benchmarks/busy_machine.py

clean:
	rm -rf $(WORK) drummy-work
