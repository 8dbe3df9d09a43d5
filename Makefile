# lifeboat - wrapper around meson/ninja for the common tasks.
#   make demo     install what is missing, build, back up and restore a sample tree
#   make test     install what is missing, build, run every test (SANITIZE=1: under ASan+UBSan)
#   make bench    benchmark beside restic and Borg (docs/benchmarks.md)
#   make bench-scale  millions of small files and a million-object bucket, beside restic and Borg (hours; docs/benchmarks.md)
#   make soak     crash soak: SIGKILL at SOAK_POINTS kill points, local and S3 (docs/testing.md)
#   make build | format | lint | coverage | clean

SHELL := /bin/bash
BUILD ?= build
SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD := build-san
MESON_OPTS := -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
endif
ifeq ($(COVERAGE),1)
BUILD := build-cov
MESON_OPTS := -Db_coverage=true -Dbuildtype=debug
endif

# Debian packages the build, the tests and the demo need.
DEBS := build-essential meson ninja-build pkg-config libzstd-dev libssl-dev libjansson-dev \
        libcmocka-dev libyaml-dev libsqlite3-dev attr python3 acl libcurl4-openssl-dev libexpat1-dev \
        ceph-mon ceph-osd radosgw ceph-common uuid-runtime curl openssl libpq-dev postgresql postgresql-client python3-boto3 \
        libmicrohttpd-dev prometheus chromium python3-aiosmtpd
BENCH_DEBS := restic borgbackup time pgbackrest
LINT_DEBS := cppcheck clang-format gcovr

.PHONY: all build deps test demo bench bench-scale format lint coverage clean

all: build

deps:
	@missing=""; for p in $(DEBS) $(EXTRA_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS) >/dev/null

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) >/dev/null
	@if [ "$(BUILD)" = build ]; then :; else mkdir -p build && ln -sf ../$(BUILD)/lifeboat build/lifeboat-$(BUILD); fi

test: build
	LIFEBOAT_BUILD=$(BUILD) tests/run

demo: build
	scripts/demo.sh $(BUILD)/lifeboat

bench:
	$(MAKE) deps EXTRA_DEBS="$(BENCH_DEBS)"
	$(MAKE) build
	bench/run.sh

bench-scale:
	$(MAKE) deps EXTRA_DEBS="$(BENCH_DEBS)"
	$(MAKE) build
	bench/scale.sh

format:
	$(MAKE) deps EXTRA_DEBS="$(LINT_DEBS)"
	clang-format -i $$(git ls-files '*.c' '*.h')

lint:
	$(MAKE) deps EXTRA_DEBS="$(LINT_DEBS)"
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --inline-suppr \
	  --suppress=missingIncludeSystem -I src --std=c11 -D__GNUC__ src

coverage:
	$(MAKE) deps EXTRA_DEBS="$(LINT_DEBS)"
	$(MAKE) test COVERAGE=1
	gcovr -r . --filter src/ $(BUILD_COV_FLAGS) build-cov --print-summary --txt build-cov/coverage.txt >/dev/null; \
	  tail -n 5 build-cov/coverage.txt

# make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="pack tree"]: build the libFuzzer
# targets with clang (build-fuzz/, ASan+UBSan) and run each on its corpus
# (tests/fuzz/run.sh; docs/testing.md, "Fuzzing").
FUZZ_SECONDS ?= 60
FUZZ_DEBS := clang libclang-rt-14-dev
.PHONY: fuzz
fuzz:
	$(MAKE) deps EXTRA_DEBS="$(FUZZ_DEBS)"
	[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined \
	  -Db_lundef=false >/dev/null
	ninja -C build-fuzz >/dev/null
	tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf build build-san build-cov

# make soak [SOAK_POINTS=1000] [SOAK_S3_POINTS=] [SOAK_SECONDS=0] [SOAK_S3=1] [SOAK_SEED=1]:
# the crash soak (tests/soak/soak.py; docs/testing.md, "Soak"): SIGKILL of backup,
# forget --prune, prune, copy, wal-push, repair index and repair snapshots at
# SOAK_POINTS kill points over a local and (SOAK_S3=1) an S3 repository behind
# the fault proxy, SOAK_S3_POINTS of them against S3 (empty: half);
# SOAK_SECONDS > 0 stops early and reports what ran. Figures as JSON in
# SOAK_JSON. Not part of make test.
SOAK_POINTS ?= 1000
SOAK_S3_POINTS ?=
SOAK_SECONDS ?= 0
SOAK_S3 ?= 1
SOAK_SEED ?= 1
SOAK_JSON ?= $(BUILD)/soak.json
.PHONY: soak
soak: build
	python3 tests/soak/soak.py --lb $(BUILD)/lifeboat --points $(SOAK_POINTS) --seconds $(SOAK_SECONDS) \
	  --s3 $(SOAK_S3) $(if $(SOAK_S3_POINTS),--s3-points $(SOAK_S3_POINTS)) --seed $(SOAK_SEED) --json $(SOAK_JSON)
