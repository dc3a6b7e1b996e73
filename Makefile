# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
WORK    ?= demo-out
STAMP   := $(VENV)/.installed

.PHONY: demo test install bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The main job end to end on the built-in starter kit.
demo: $(STAMP)
	$(BIN)/drummy starter-kit $(WORK)/starter-kit --seed 0
	$(BIN)/drummy ingest $(WORK)/starter-kit -w $(WORK)/workspace
	$(BIN)/drummy library -w $(WORK)/workspace
	$(BIN)/drummy train classifier -w $(WORK)/workspace
	$(BIN)/drummy classify $(WORK)/starter-kit/kick/808 -w $(WORK)/workspace | head -5
	$(BIN)/drummy beat --kit $(WORK)/starter-kit --pattern house --bars 8 -o $(WORK)/beat.wav --no-repeat --midi-out $(WORK)/beat.mid --stems $(WORK)/stems
	$(BIN)/drummy export-kit $(WORK)/starter-kit --format hydrogen -o $(WORK)/kit-hydrogen
	@echo "demo done: everything is in $(WORK)/"

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/classifier_unseen_kits.py
	$(BIN)/python benchmarks/ingest_speed.py
	$(BIN)/python benchmarks/render_speed.py

clean:
	rm -rf $(WORK) drummy-work
