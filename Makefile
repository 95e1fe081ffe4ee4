# One-command set-up, tests and demo for mmdet_losses.
#   make setup   create .venv with torch, mmcv (compiled ops), mmengine, mmdet, this package
#   make test    setup if needed, then the test suite
#   make demo    setup if needed, then the main job on the built-in shapes dataset
#   make setup-next / test-next  the same in .venv-next on the maintained successor
#                stack (OneDL's onedl-mmengine, onedl-mmcv, onedl-mmdetection: the
#                same import names), see mmdet_losses/engine/stack.py
#   make demo-bccd  the same on real images: BCCD blood cells, downloaded from GitHub
#                or read from BCCD_SRC (a clone, its BCCD folder or an archive)
#   make test-slurm  the tests marked slurm on a one-machine SLURM cluster that it
#                starts and stops (tools/slurm_cluster.sh; installs slurm-wlm and
#                munge with apt-get if missing, which needs root)
# GPU users bring their own torch build: make setup TORCH="torch==2.x.y+cu121 --index-url ..."

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
MMCV ?= mmcv==2.1.0
MMENGINE ?= mmengine==0.10.7
MMDET ?= mmdet==3.3.0
MAX_JOBS ?= 2
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.mmdet_losses-setup

BCCD_SRC ?=

# The successor stack, built by the same recipe in its own environment. Its torch is
# .venv's CPU build (2.13.0, the newest CPU wheel on the package index CI uses; the
# newer releases there are CUDA builds of several GB); onedl-mmcv takes torch >= 2.4.
NEXT_VENV ?= .venv-next
NEXT_TORCH ?= $(TORCH)
NEXT_MMCV ?= onedl-mmcv==2.3.6
NEXT_MMENGINE ?= onedl-mmengine==0.10.12
NEXT_MMDET ?= onedl-mmdetection==3.5.1
NEXT := VENV=$(NEXT_VENV) TORCH="$(NEXT_TORCH)" MMCV=$(NEXT_MMCV) \
	MMENGINE=$(NEXT_MMENGINE) MMDET=$(NEXT_MMDET)

.PHONY: setup test test-fast test-slurm demo demo-bccd bench clean setup-next test-next

setup: $(STAMP)

$(STAMP): setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install $(TORCH) "setuptools>=77.0.3,<81" wheel "numpy<3" ninja
	@# mmcv ships only its source on PyPI: build it with its compiled ops (about 18 min on
	@# 2 cores the first time; pip caches the wheel, so later set-ups take seconds).
	@$(PY) -c "import mmcv.ops" 2>/dev/null || \
	  MMCV_WITH_OPS=1 MAX_JOBS=$(MAX_JOBS) $(PIP) install --no-build-isolation $(MMCV)
	$(PIP) install $(MMENGINE) $(MMDET)
	$(PIP) install --no-build-isolation -e ".[tests]"
	$(PY) -c "import mmcv.ops, mmdet, mmdet_losses; print('mmdet_losses set up with mmcv', mmcv.__version__, 'mmdet', mmdet.__version__)"
	@touch $@

test: setup
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow"

# The cluster is stopped whatever the tests do; a skipped test is a failure here.
test-slurm: setup
	tools/slurm_cluster.sh start
	@eval "$$(tools/slurm_cluster.sh env)"; status=0; \
	  MMDET_LOSSES_SLURM_REQUIRED=1 $(PY) -m pytest -m slurm tests/test_slurm.py \
	  || status=$$?; \
	  tools/slurm_cluster.sh stop; exit $$status

setup-next:
	$(MAKE) setup $(NEXT)

test-next:
	$(MAKE) test $(NEXT)

demo: setup
	$(PY) tools/demo.py

demo-bccd: setup
	$(PY) tools/demo.py --dataset bccd $(if $(BCCD_SRC),--src $(BCCD_SRC))

bench: setup
	$(PY) benchmarks/bench_classification.py
	$(PY) benchmarks/bench_regression.py

clean:
	rm -rf $(VENV) $(NEXT_VENV) build *.egg-info mmdet_losses/.mim
