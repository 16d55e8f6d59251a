# Two commands do all set-up on a fresh machine:  `make demo`  and  `make test`.
# Both create (or reuse) the virtualenv $(VENV) and install the package into it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_OUT ?= demo_out
MINUTES ?= 3
# The test suite reads the originals' reference outputs from ../shared/golden when it is there (CI has
# ../shared beside the checkout and sets VIDPRED_GOLDEN_DIR, which makes a missing directory a failure).
ifneq ($(wildcard ../shared/golden),)
VIDPRED_GOLDEN_DIR ?= $(abspath ../shared/golden)
export VIDPRED_GOLDEN_DIR
endif

.PHONY: install demo test clean

$(VENV)/.installed: setup.py
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "vidpred_tf needs Python >= 3.11, got " + sys.version'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(PY) -m vidpred_tf.demo --out $(DEMO_OUT) --minutes $(MINUTES)

test: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m pytest -q -p no:cacheprovider --timeout=900 -n 2 --dist loadfile tests

clean:
	rm -rf $(VENV) $(DEMO_OUT) *.egg-info
