# Remus Netbuf: `make test` runs every test, `make run` starts the server, `make bench` runs the benchmarks.
# Each target installs what it needs first (Debian packages when root) and finds a JDK 25 by itself.
SHELL := /bin/bash

# Debian packages: libnl3 for the plugin; user-mode-linux for make run on a kernel without sch_plug (socat forwards
# 127.0.0.1:8080 into the guest) and for the kernel tests that need sch_plug, with kmod; iproute2, iputils-ping and
# python3 are the tests' observers and frame tools; postgresql is the second database the persistence tests run
# against; chromium and chromium-driver run the admin page's browser test; gcc and the libnl headers build the C
# baseline of the benchmark.
RUN_PACKAGES  := libnl-3-200 libnl-route-3-200 iproute2 user-mode-linux socat
TEST_PACKAGES := $(RUN_PACKAGES) kmod iputils-ping python3 postgresql chromium chromium-driver
BENCH_PACKAGES := $(TEST_PACKAGES) gcc libc6-dev libnl-3-dev libnl-route-3-dev

# A JDK of version 25 or newer: JAVA_HOME if it is one, else the first under /usr/lib/jvm.
NETBUF_JDK := $(shell for j in "$$JAVA_HOME" /usr/lib/jvm/*; do \
    [ -n "$$j" ] && [ -x "$$j/bin/javac" ] || continue; \
    v=$$("$$j/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'); \
    [ "$${v%%.*}" -ge 25 ] 2>/dev/null && { echo "$$j"; break; }; done)
export JAVA_HOME := $(NETBUF_JDK)
MVN := ./mvnw -B -ntp
BENCH_CPU := $(shell echo $$(( $$(nproc) - 1 )))

.PHONY: test run bench jdk deps-run deps-test deps-bench

test: deps-test jdk
	$(MVN) verify

# The server on 127.0.0.1:8080 with the demo domain: directly on a kernel with sch_plug, else inside user-mode-linux
# (src/uml/run-server.sh says which, and how Ctrl-C stops it).
run: deps-run jdk
	$(MVN) -q install -DskipTests
	src/uml/run-server.sh -jar src/target/netbuf-server.jar

# The bench JVM (and the C baseline it starts) run pinned to one CPU, so neither gains from the other core.
# Sizes: make bench BENCH_ARGS="-Dbench.rounds=15 -Dbench.scale=2"
bench: deps-bench jdk
	$(MVN) -q install -DskipTests
	$(MVN) -q -pl plugin dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/test.classpath
	cd plugin && taskset -c $(BENCH_CPU) "$$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED $(BENCH_ARGS) \
	  -cp "target/test-classes:target/classes:$$(cat target/test.classpath)" io.remus.netbuf.bench.NetbufBench target/bench

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
