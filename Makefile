# The two commands a user needs: `make demo` and `make test`. Everything builds through Maven,
# whose java-bridge module runs cargo (release) and packs the native library into the jar.

MVN ?= mvn -B -q
CARGO ?= cargo
# The end-to-end scripts build jobs with $(MVN) too: `make test MVN="mvn -B -q -Dmaven.repo.local=DIR"`
# keeps every build, the example jobs included, on one (private) local repository.
export MVN
# SKIP_AARCH64=1 (environment or make's command line) skips the linux-aarch64 cross build of the jar
# and the aarch64 tests: for a developer's quick loop; the default and CI build both platforms.
export SKIP_AARCH64

.PHONY: all build test check-notice check-docs check-vendor lint notice preview mariadb test-rust test-fuzz sanitize sanitize-valgrind test-rust-aarch64 test-aarch64 test-java test-conformance test-e2e test-upgrade fuzz chaos demo demo-datagen bench bench-cdc clean

# Demo and benchmarks run in a JVM of their own (exec:exec): Flink's MiniCluster cannot find its
# classes inside Maven's isolated exec:java classloader.
JAVA_OPENS = --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED
run_main = $(MVN) -pl $(1) exec:exec -Dexec.executable=java \
	-Dexec.args="-Xmx2g $(JAVA_OPENS) -cp %classpath $(2)"

all: build

## build: the bridge jar (with the native library) installed in the local Maven repository
build:
	$(MVN) -DskipTests install

## test: every test: Rust unit and vector tests (also built for aarch64 and run under qemu), a short
## fuzz pass, valgrind over rust-core's tests, Java MiniCluster tests, integration tests, the Flink
## CDC conformance suite, and end-to-end runs of the one jar on real standalone clusters of Flink
## 1.20 and 2.x. The jar carries linux-x86_64 and linux-aarch64 libraries (scripts/build-native.sh);
## SKIP_AARCH64=1 leaves the cross build and the aarch64 tests out (a quicker local loop only).
test: check-notice check-docs check-vendor lint mariadb test-rust test-rust-aarch64 test-fuzz sanitize-valgrind test-java test-conformance test-e2e

## check-notice: NOTICE lists what the jar bundles (scripts/notice.sh --check: cargo metadata and
## the poms, no build, about a second); notice: rewrite it after a dependency change
check-notice:
	CARGO="$(CARGO)" scripts/notice.sh --check

notice:
	CARGO="$(CARGO)" scripts/notice.sh

## check-vendor: vendor/mysql_async is the crates.io release plus vendor/mysql_async-patches
## (scripts/vendor-mysql-async.sh: the pinned .crate, cached after the first download; seconds)
check-vendor:
	scripts/vendor-mysql-async.sh check

## lint: rustfmt (rustfmt.toml) and clippy with every warning an error, over the workspace and
## the fuzz crate's formatting (a fresh toolchain without the components gets them from rustup)
lint:
	scripts/lint.sh

## check-docs: the docs still match the repository (scripts/check-docs.py: links, paths, troubleshooting
## case numbers, option names, the conformance result, the README's performance figures; a second)
check-docs:
	python3 scripts/check-docs.py

## preview: run a connector without Flink and print its first rows (docs/preview.md), e.g.
##   make preview ARGS="-c rust-datagen -s 'id BIGINT, name STRING' -n 5"
preview:
	$(CARGO) run -q --release -p flink-rust-preview -- $(ARGS)

## mariadb: the local MariaDB the CDC tests and the demo use (idempotent; installs mariadb-server
## with apt when missing). Started once up front so no two test processes race on the install.
mariadb:
	scripts/mariadb.sh start >/dev/null

test-rust: mariadb
	$(CARGO) test --release --workspace

## test-rust-aarch64: rust-core's and rust-datagen's tests cross-built for aarch64 and run under
## qemu-user (scripts/aarch64.sh installs the cross gcc and qemu when missing; ~2 min of CPU to
## build, seconds to run). test-aarch64 adds an arm64 JVM under qemu that loads the library from the
## jar and reads rust-datagen rows through a MiniCluster (opt-in: about 2.5 min of CPU, 3.5 min on
## a loaded 2-core machine; downloads Debian's arm64 JRE once into ~/.cache/flink-rust).
test-rust-aarch64:
	@if [ "$(SKIP_AARCH64)" = 1 ]; then echo "test-rust-aarch64: skipped (SKIP_AARCH64=1)"; \
	else CARGO="$(CARGO)" scripts/aarch64.sh test-rust; fi

test-aarch64: test-rust-aarch64
	scripts/aarch64.sh test-jvm

## fuzz: every fuzz target in fuzz/ for FUZZ_SECONDS each, exploring (cargo-fuzz on nightly Rust;
## scripts/fuzz.sh installs both when missing); test-fuzz: FUZZ_RUNS inputs per target from a
## fixed seed and the committed seeds, the same inputs on every machine (about 10 s per target)
FUZZ_SECONDS ?= 30
FUZZ_RUNS ?= auto
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

test-fuzz:
	FUZZ_RUNS=$(FUZZ_RUNS) scripts/fuzz.sh

## chaos: the long chaos run of rust-mysql-cdc (connectors/mysql-cdc/tests/chaos.rs), opt-in:
## CHAOS_SEEDS seeds of wide plans (parallelism 1-4, both handovers, spill, shared binlog
## connection, newly added tables, server restarts) from CHAOS_FIRST_SEED, by default derived
## from the date (printed, so a run can be repeated). About 5 s a seed on 2 cores (500: 41 min); a stalled seed
## takes 2 minutes. `make test` runs a fixed slice of it.
CHAOS_SEEDS ?= 500
CHAOS_FIRST_SEED ?= $(shell date -u +%Y%m%d)000
chaos: mariadb
	@echo "chaos: $(CHAOS_SEEDS) seeds from $(CHAOS_FIRST_SEED) (repeat with make chaos CHAOS_FIRST_SEED=$(CHAOS_FIRST_SEED))"
	CHAOS_SEEDS=$(CHAOS_SEEDS) CHAOS_FIRST_SEED=$(CHAOS_FIRST_SEED) \
	  $(CARGO) test --release -p connector-mysql-cdc --test chaos chaos_long -- --ignored --nocapture

## sanitize: rust-core's tests under valgrind memcheck and under Miri (nightly toolchain with the
## miri component; skipped with a message without it): about 3.5 minutes, 3 of them Miri's.
## See scripts/sanitize.sh for what they reach.
sanitize:
	scripts/sanitize.sh valgrind miri

## sanitize-valgrind: the memcheck half, part of `make test` (10 s quiet, about a minute under load)
sanitize-valgrind:
	scripts/sanitize.sh valgrind

# Not quiet (MVN without -q): the MiniCluster tests' progress lines are worth seeing.
test-java: mariadb
	$(filter-out -q,$(MVN)) verify

## test-conformance: the differential suite against Flink CDC 3.5.0's mysql-cdc
## (docs/flink-cdc-conformance.md): each case's table read by mysql-cdc and by
## rust-mysql-cdc on one MiniCluster, rows compared; one line per case and a summary
## `conformance: N of M cases identical`. Builds the bridge in the reactor (no install) and runs
## integration-tests with the flink-cdc profile, which test-java's default run leaves out.
test-conformance: mariadb
	$(filter-out -q,$(MVN)) -pl java-bridge,integration-tests -Pflink-cdc verify \
	  -Dtest=FlinkCdcConformanceITCase -Dsurefire.failIfNoSpecifiedTests=false

# Distributions come from PyPI, cached in ~/.cache/flink-rust. The install (quick after test-java)
# puts the bridge into the local Maven repository (~/.m2 unless MVN names another), where the e2e
# jobs (examples/datastream-job, integration-tests/e2e/cdc-job), built as a user would, find it.
# E2E_LONG_VERSIONS (default: the last version) run cdc-failover and the 50 session cycles.
FLINK_VERSIONS ?= 1.20.3 2.3.0
test-e2e:
	$(MVN) -DskipTests install
	integration-tests/e2e/api-compat.sh $(FLINK_VERSIONS)
	integration-tests/e2e/e2e.sh $(FLINK_VERSIONS)

## test-upgrade: a savepoint of the previous jar restores with the current one on a real Flink 1.20
## cluster, nothing lost or repeated (integration-tests/e2e/upgrade.sh; opt-in: ~2.5 min with the
## previous jar cached, plus its release build the first time). The previous jar is built from
## UPGRADE_FROM (a git ref; default in the script) with `mvn package` in a temporary git worktree;
## the current one by the normal build (package, no install).
UPGRADE_FROM ?=
UPGRADE_FLINK_VERSION ?= 1.20.3
test-upgrade: mariadb
	$(MVN) -DskipTests -pl java-bridge package
	UPGRADE_FROM="$(UPGRADE_FROM)" UPGRADE_FLINK_VERSION="$(UPGRADE_FLINK_VERSION)" integration-tests/e2e/upgrade.sh

## demo: change data capture on an embedded Flink MiniCluster: starts the local MariaDB, prints the
## snapshot of a demo table, then the changelog of scripted changes made while the job runs
demo: build mariadb
	$(call run_main,integration-tests,io.flinkrust.demo.Demo)

## demo-datagen: rows flowing from rust-datagen, then a 10 M-row run into blackhole
demo-datagen: build
	$(call run_main,integration-tests,io.flinkrust.demo.DatagenDemo)

## bench: the benchmark harness, side by side in one run:
##   1. rust-datagen vs Flink's datagen into blackhole, same schema/rows/Flink (rows/s, ratio);
##      then the rate limiter's and the metrics' overhead (DatagenBenchmark --sections)
##   2. the bridge's own cost per row: generation and encoding in Rust, then through JNI in Java
##      (with metrics on and off)
##   3. bench-cdc (below)
bench: build
	$(call run_main,integration-tests,io.flinkrust.bench.DatagenBenchmark $(BENCH_ARGS))
	$(CARGO) run -q --release -p flink-rust-bridge --example bridge_cost
	$(MVN) -pl java-bridge -Dnative.skip=true test-compile
	$(call run_main,java-bridge -Dnative.skip=true -Dexec.classpathScope=test,io.flinkrust.bridge.source.BridgeCostBenchmark)
	$(run_bench_cdc)

## bench-cdc: rust-mysql-cdc vs Flink CDC's mysql-cdc vs the server's own limit (a minimal Rust client),
## same MariaDB table and Flink: snapshot rows/s at parallelism 1 and 2, binlog changes/s for a burst
## of 1 M changes (medians of 3, ratios). Runs its own MariaDB instance (port 3308, data in
## $TMPDIR/flink-rust-mariadb-bench) so the 1 M-change binlog stays out of the test server.
## BENCH_CDC_ARGS: --rows N --changes N --parallelism 1,2 --reps 3 --flink-cdc auto|off
BENCH_CDC_MARIADB_DIR ?= $(or $(TMPDIR),/tmp)/flink-rust-mariadb-bench
BENCH_CDC_MARIADB_PORT ?= 3308
define run_bench_cdc
	$(CARGO) build -q --release -p connector-mysql-cdc --example select_rate
	MARIADB_DIR=$(BENCH_CDC_MARIADB_DIR) MARIADB_PORT=$(BENCH_CDC_MARIADB_PORT) \
	  $(call run_main,integration-tests -Pflink-cdc,io.flinkrust.bench.MySqlCdcBenchmark \
	  --select-rate $${CARGO_TARGET_DIR:-$(CURDIR)/target}/release/examples/select_rate $(BENCH_CDC_ARGS))
endef
bench-cdc: build
	$(run_bench_cdc)

clean:
	$(MVN) clean
	$(CARGO) clean
