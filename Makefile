# The two commands for a fresh machine: `make book` (set up, build the site) and `make test` (set up, run every
# check). `make notebooks` re-executes the chapters in full mode; `make student` runs nbgrader's generate_assignment.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MATHJAX := .build/static/mathjax
# A CPU build of torch lying on this machine's disk, if there is one; otherwise a CPU machine gets the CPU
# wheel from PyTorch's index (a plain `pip install torch` on Linux brings several GB of CUDA libraries).
TORCH_CPU_WHEEL := $(firstword $(wildcard /opt/wheels/torch-*+cpu-cp311-*.whl))
JOBS ?= 2

# TensorFlow must not write start-up logs to a notebook's stderr: set before any kernel starts.
export TF_CPP_MIN_LOG_LEVEL := 2
export TF_ENABLE_ONEDNN_OPTS := 0
export PYTHONHASHSEED := 0

.PHONY: setup system-packages book book-only test notebooks student clean

setup: system-packages $(STAMP)

# Debian's Chinese font (plots), Fashion-MNIST (offline data) and Chromium (the browser test of the site), where
# we run as root on Debian.
system-packages:
	@need=""; \
	[ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || need="$$need fonts-noto-cjk"; \
	[ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need="$$need dataset-fashion-mnist"; \
	[ -x /usr/bin/chromium ] || need="$$need chromium"; \
	if [ -z "$$need" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing$$need"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null; \
	else \
	  echo "note: please install$$need (Debian/Ubuntu: sudo apt-get install$$need); plots need the font, chapters the data, the site test chromium"; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@if $(PY) -c "import torch" 2>/dev/null; then echo "torch already installed"; \
	elif [ -n "$(TORCH_CPU_WHEEL)" ]; then $(PY) -m pip install --quiet "$(TORCH_CPU_WHEEL)"; \
	elif ! command -v nvidia-smi >/dev/null && [ "$$(uname -s)" = Linux ]; then \
	  $(PY) -m pip install --quiet torch --index-url https://download.pytorch.org/whl/cpu; fi
	$(PY) -m pip install --quiet -e ".[torch,tensorflow,book,test,instructor,hf,eval,responsible]"
	$(PY) -m companion.data.tabular --if-missing
	touch $(STAMP)

# MathJax 3 served by the site itself (no CDN), from the npm registry.
$(MATHJAX):
	@command -v npm >/dev/null || { echo "npm is needed to vendor MathJax for the book (Debian: apt-get install npm)"; exit 1; }
	npm install --prefix .build/npm --no-audit --no-fund --silent mathjax@3
	mkdir -p $(dir $(MATHJAX)) && rm -rf $(MATHJAX) && cp -r .build/npm/node_modules/mathjax/es5 $(MATHJAX)

book: setup book-only

# The site from the committed notebooks, warnings (and stderr in any cell output) as errors: two editions,
# _build/html/en/ and _build/html/zh/, and the landing page _build/html/index.html (site/build.py).
book-only: $(MATHJAX)
	$(PY) site/build.py -W --keep-going

test: setup $(MATHJAX)
	# unit, gradient and cross-framework checks; zh/en parity; source/notebook sync; exercises
	$(PY) -m pytest -n $(JOBS) tests --ignore=tests/site
	# every notebook re-executed in quick mode and compared with its committed outputs
	COMPANION_MODE=quick $(PY) -m pytest -n $(JOBS) --dist loadfile --nbval --nbval-current-env book
	$(MAKE) --no-print-directory book-only
	# every page of both editions in Chromium (console errors, requests, raw TeX, links, phone width, search)
	$(PY) -m pytest -q tests/site --site _build/html

notebooks: setup
	$(PY) tools/build_notebooks.py --mode full

# nbgrader's course directory in _build/student: one assignment per chapter and language, student versions in
# _build/student/release/ (tools/student.py; grading: README, "For instructors")
student: setup
	$(PY) tools/student.py --course _build/student

clean:
	rm -rf _build .build
