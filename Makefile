# Two commands on a fresh machine: `make run` and `make test`. Each builds the venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUN_DIR ?= runs/series_dnn
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONUNBUFFERED := 1

.PHONY: venv run test tensorboard clean

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

run: venv
	$(PY) -m trainers.train --model=series_dnn --model_dir=$(RUN_DIR)
	$(PY) -m trainers.forecast --model_dir=$(RUN_DIR)

test: venv
	$(PY) -m pytest

tensorboard: venv
	$(VENV)/bin/tensorboard --logdir runs --host 127.0.0.1

clean:
	rm -rf runs .pytest_cache
