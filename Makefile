# The two commands a user needs: `make demo` and `make test`. Everything builds through Maven,
# whose java-bridge module runs cargo (release) and packs the native library into the jar.

MVN ?= mvn -B -q
CARGO ?= cargo

.PHONY: all build test test-rust test-java demo bench clean

all: build

## build: the bridge jar (with the native library) installed in the local Maven repository
build:
	$(MVN) -DskipTests install

## test: every test: Rust unit and vector tests, Java MiniCluster tests, integration tests
test: test-rust test-java

test-rust:
	$(CARGO) test --release --workspace

test-java:
	mvn -B verify

## demo: a job on an embedded Flink MiniCluster that shows rows flowing from a Rust source
demo: build
	$(MVN) -pl integration-tests exec:java -Dexec.mainClass=io.flinkrust.demo.Demo

## bench: rust-datagen vs Flink's datagen into blackhole, side by side in one run
bench: build
	$(MVN) -pl integration-tests exec:java -Dexec.mainClass=io.flinkrust.bench.DatagenBenchmark \
		-Dexec.args="$(BENCH_ARGS)"

clean:
	$(MVN) clean
	$(CARGO) clean
