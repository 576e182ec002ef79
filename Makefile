# Remus Netbuf: `make test` runs every test, `make run` starts the server, `make bench` runs the benchmarks.
# Each target installs what it needs first (Debian packages when root) and finds a JDK 25 by itself.
SHELL := /bin/bash

# Debian packages: libnl3 for the plugin; user-mode-linux for make run on a kernel without sch_plug (socat forwards
# 127.0.0.1:8080 into the guest) and for the kernel tests that need sch_plug, with kmod; gcc and libc6-dev build
# src/uml/uml-xstate.c, which linux.uml 6.1 needs on a host with AVX-512; iproute2, iputils-ping and
# python3 are the tests' observers and frame tools; postgresql is the second database the persistence tests run
# against; chromium and chromium-driver run the admin page's browser test; gcc and the libnl headers build the C
# baseline of the benchmark, whose short form make test runs too.
RUN_PACKAGES  := libnl-3-200 libnl-route-3-200 iproute2 user-mode-linux socat gcc libc6-dev
TEST_PACKAGES := $(RUN_PACKAGES) kmod iputils-ping python3 postgresql chromium chromium-driver gcc libc6-dev \
                 libnl-3-dev libnl-route-3-dev
BENCH_PACKAGES := $(TEST_PACKAGES)

# A JDK of version 25 or newer: JAVA_HOME if it is one, else the first under /usr/lib/jvm.
NETBUF_JDK := $(shell for j in "$$JAVA_HOME" /usr/lib/jvm/*; do \
    [ -n "$$j" ] && [ -x "$$j/bin/javac" ] || continue; \
    v=$$("$$j/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'); \
    [ "$${v%%.*}" -ge 25 ] 2>/dev/null && { echo "$$j"; break; }; done)
export JAVA_HOME := $(NETBUF_JDK)
MVN := ./mvnw -B -ntp
# The CPU that was idlest over the last second (colleagues' test runs pin their user-mode-linux to the last one).
IDLEST_CPU := a=$$(awk '/^cpu[0-9]/ {print substr($$1, 4), $$5 + $$6}' /proc/stat); sleep 1; \
  b=$$(awk '/^cpu[0-9]/ {print $$5 + $$6}' /proc/stat); \
  paste <(echo "$$a") <(echo "$$b") | awk 'NR == 1 || $$3 - $$2 > best {best = $$3 - $$2; cpu = $$1} END {print cpu}'

.PHONY: test run bench jdk deps-run deps-test deps-bench

test: deps-test jdk
	$(MVN) verify

# The server on 127.0.0.1:8080 with the demo domain: directly on a kernel with sch_plug, else inside user-mode-linux
# (src/uml/run-server.sh says which, and how Ctrl-C stops it).
run: deps-run jdk
	$(MVN) -q install -DskipTests
	src/uml/run-server.sh -jar src/target/netbuf-server.jar

# The bench JVM, the C baseline and user-mode-linux run pinned to one CPU (the idlest at the start), so no
# candidate gains from the other core; the epoch bench then runs again in a UML on every CPU, where its one-by-one
# target is taken (README, Benchmarks). Then the server itself, as make run starts it inside UML, holding 1,024
# PLUGGED buffers (ServerMemoryBench, in src's tests). Writes plugin/target/bench/results.txt, rewrites README's
# results table from it, then fails if a target was missed. Sizes: make bench BENCH_ARGS="-Dbench.scale=2"; some
# benches only: BENCH_ARGS=-Dbench.only=host,recovery,checkpoint,epoch,install,memory,server
bench: deps-bench jdk
	$(MVN) -q install -DskipTests
	$(MVN) -q -pl plugin,src dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/test.classpath
	cpu=$$($(IDLEST_CPU)); echo "bench pinned to CPU $$cpu"; \
	  (cd plugin && taskset -c $$cpu "$$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED $(BENCH_ARGS) \
	    -cp "target/test-classes:target/classes:$$(cat target/test.classpath)" \
	    io.remus.netbuf.bench.NetbufBench target/bench) || { [ $$? = 1 ] || exit 1; }; \
	  if [[ "$(BENCH_ARGS)" != *bench.only=* || "$(BENCH_ARGS)" == *server* ]]; then \
	    (cd src && taskset -c $$cpu "$$JAVA_HOME/bin/java" $(BENCH_ARGS) \
	      -cp "target/test-classes:target/classes:$$(cat target/test.classpath)" \
	      io.remus.netbuf.server.ServerMemoryBench ../plugin/target/bench/results.txt) || exit 1; fi; \
	  echo "# load average at the end $$(cut -d' ' -f1-3 /proc/loadavg)" >> plugin/target/bench/results.txt; \
	  "$$JAVA_HOME/bin/java" -cp plugin/target/test-classes io.remus.netbuf.bench.ResultsTable README.md \
	    plugin/target/bench/results.txt "make bench $(BENCH_ARGS)"; \
	  ! grep -q MISSED plugin/target/bench/results.txt

jdk:
	@if [ -z "$(NETBUF_JDK)" ]; then \
	  echo "No JDK 25 or newer found (looked at JAVA_HOME and /usr/lib/jvm/*)." >&2; \
	  echo "Install one, e.g. Debian's openjdk-25-jdk or Adoptium's temurin-25-jdk, or set JAVA_HOME to it." >&2; \
	  exit 1; fi
	@echo "Using JDK $(NETBUF_JDK)"

deps-run:
	@$(call install,$(RUN_PACKAGES))
deps-test:
	@$(call install,$(TEST_PACKAGES))
deps-bench:
	@$(call install,$(BENCH_PACKAGES))

# Installs the missing packages of $(1) with apt-get when root; otherwise names them and fails.
define install
missing=""; for p in $(1); do \
  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
if [ -n "$$missing" ]; then \
  if [ "$$(id -u)" != 0 ]; then \
    echo "Missing Debian packages:$$missing. Install them as root: apt-get install$$missing" >&2; exit 1; fi; \
  echo "Installing:$$missing"; \
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
fi
endef
