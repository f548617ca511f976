# tcpip6 — every target installs what it needs (a venv in .venv, Debian packages via apt-get).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEB_PACKAGES := tshark graphviz iproute2 iputils-ping radvd curl lftp vsftpd chromium tayga nftables ethtool traceroute iptables
APT_STAMP := .venv/.apt-installed
# dpkg's database: installing or removing any package changes it, and the packages are
# checked again.
DPKG_STATUS := $(wildcard /var/lib/dpkg/status)

.PHONY: all venv deb test check lint typecheck demo diagrams graph-coverage bench clean \
	model-deep fuzz-models fuzz bench-live stress lossy

all: test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Debian packages the tests use (tshark reads our pcaps, graphviz renders diagrams; the
# interop tests run ping, radvd, curl, lftp and vsftpd in network namespaces against the live host;
# chromium takes the tunnel broker page's screenshot; tayga is the independent translator the SIIT
# tests compare with).
$(APT_STAMP): $(STAMP) Makefile .ci/deb-missing $(DPKG_STATUS)
	@missing="$$(.ci/deb-missing $(DEB_PACKAGES) | tr '\n' ' ')"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to apt-get install $$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	mkdir -p $(dir $(APT_STAMP)) && touch $(APT_STAMP)

deb: $(APT_STAMP)

lint: venv
	$(VENV)/bin/ruff check tcpip6 tests bench
	$(VENV)/bin/ruff format --check tcpip6 tests bench

typecheck: venv
	$(VENV)/bin/mypy --strict tcpip6 bench

check: lint typecheck

# The tests that need no root on TEST_JOBS processes (pytest-xdist, a file to a process: they
# share no state), then the interop tests on one: they time the kernel's answers, and must
# not compete with each other for the CPU. Both parts always run; either failing fails.
TEST_JOBS ?= 2
test: venv deb check
	rc=0; \
	$(PY) -m pytest -p xdist -n $(TEST_JOBS) --dist loadfile -m "not interop" tests || rc=1; \
	$(PY) -m pytest -m interop tests || rc=1; \
	exit $$rc

demo: venv
	$(PY) -m tcpip6 demo

diagrams: venv deb
	$(PY) -m tcpip6 diagram --all --output-dir docs/diagrams
	$(PY) -m tcpip6 docs --output-dir docs

# Which declared transitions of every graph the model and scenario tests take (fails on a gap).
graph-coverage: venv deb
	$(PY) -m pytest -q -p tests.graph_coverage tests/model tests/stack --graph-coverage-json graph-coverage.json

bench: venv
	$(PY) -m bench

# tcpip6 on a veth beside the Linux kernel (root: network namespaces), every bench/live_*.py;
# BENCH_LIVE_ARGS="--reps 5 --only tcp" to choose.
bench-live: venv deb
	$(PY) -m bench.live $(BENCH_LIVE_ARGS)

# The live host under SYN, fragment and NS floods from a Linux peer (root: network namespaces):
# a legitimate TCP echo during and after each flood, ping RTT after, counters and RSS; JSON
# in bench/results/. STRESS_ARGS="--seconds 10 --only syn" to choose.
stress: venv deb
	$(PY) -m bench.stress $(STRESS_ARGS)

# Root: 50 MB each way between the Linux kernel and tcpip6 through 2 % loss and NFQUEUE
# reordering; fails unless the bytes come back identical (.ci/run runs it after the suite).
lossy: venv deb
	$(PY) -m bench.stress --no-floods $(LOSSY_ARGS)

# A longer random search of the model tests (minutes, not in CI): the "deep" Hypothesis profile
# of tests/profiles.py, each test's budget times 20, failures saved in $$TCPIP6_HYPOTHESIS_DB
# (default .hypothesis/examples) and replayed first next time.
model-deep: venv
	HYPOTHESIS_PROFILE=deep $(PY) -m pytest -q tests/model

# The receive path under FUZZ_FRAMES mutated frames of every protocol (tests/fuzz): exit 1 if
# one escapes as an exception or leaves no counter moved; prints frames/s and memory growth.
FUZZ_FRAMES ?= 1000000
fuzz: venv
	$(PY) -m tests.fuzz --frames $(FUZZ_FRAMES) --save fuzz-findings

# HypoFuzz campaigns over the same model tests on every core, for FUZZ_SECONDS (default 600);
# machines that point TCPIP6_HYPOTHESIS_DB at one shared directory pool what they find.
FUZZ_SECONDS ?= 600
fuzz-models: venv
	$(PY) -m pip install -q hypofuzz
	HYPOTHESIS_PROFILE=deep timeout $(FUZZ_SECONDS) $(VENV)/bin/hypothesis fuzz --no-dashboard \
	  -- tests/model tests/fuzz; rc=$$?; [ $$rc = 0 ] || [ $$rc = 124 ]

# The model tests' mutation score (bench/mutants.py, Cosmic Ray; hours for every area, not part
# of `make test`): MUTANTS_ARGS="--area machines" or "--file PATH" to choose; JSON in bench/results/.
.PHONY: mutants
MUTANTS_ARGS ?=
mutants: venv
	CI=true nice -n 10 $(PY) -m bench.mutants $(MUTANTS_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
