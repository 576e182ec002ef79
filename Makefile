# Remus Netbuf: `make test` runs every test (the plugin's and the server's Xen tests under QEMU among them),
# `make run` starts the server, `make bench` runs the benchmarks, `make test-xen` the Xen tests alone with the page
# in dom0 and the xl remus failover proof.
# Each target installs what it needs first (Debian packages when root) and finds a JDK 25 by itself.
SHELL := /bin/bash

# Debian packages: libnl3 for the plugin; user-mode-linux for make run on a kernel without sch_plug (socat forwards
# 127.0.0.1:8080 into the guest) and for the kernel tests that need sch_plug, with kmod; gcc and libc6-dev build
# src/uml/uml-xstate.c, which linux.uml 6.1 needs on a host with AVX-512; iproute2, iputils-ping and
# python3 are the tests' observers and frame tools; postgresql is the second database the persistence tests run
# against; chromium and chromium-driver run the admin page's browser test; gcc and the libnl headers build the C
# baseline of the benchmark, whose short form make test runs too; lintian and systemd (systemd-analyze) check the
# Debian package that make test builds (DebianPackageTest).
RUN_PACKAGES  := libnl-3-200 libnl-route-3-200 iproute2 user-mode-linux socat gcc libc6-dev
TEST_PACKAGES := $(RUN_PACKAGES) kmod iputils-ping python3 postgresql chromium chromium-driver gcc libc6-dev \
                 libnl-3-dev libnl-route-3-dev lintian systemd
BENCH_PACKAGES := $(TEST_PACKAGES)
# make test-xen: QEMU (TCG) boots Debian's Xen 4.17 with a Linux 6.1 dom0 that runs this machine's root over 9p, so
# dom0 runs the Xen tools installed here; kmod's depmod indexes the unpacked kernel's modules.
XEN_PACKAGES := qemu-system-x86 xen-utils-4.17 xen-utils-common xenstore-utils kmod
# Unpacked (apt-get download + dpkg -x), not installed: the hypervisor, the dom0/domU kernel (the one
# linux-image-amd64 names) and busybox-static for the initramfs. Their install hooks are for this machine's boot.
XEN_UNPACKED := xen-hypervisor-4.17-amd64 busybox-static
XEN_DIR := target/xen

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

.PHONY: deb test test-xen xen-suite test-xen-runs test-xen-failover xen-failover test-xen-guest-view run bench jdk deps-run \
	deps-test deps-bench deps-xen

# XenKernelTest and XenServerTest boot Xen under QEMU: they held 10 runs out of 10 (README), so they are part of it.
test: deps-test deps-xen jdk
	$(MVN) verify $(XEN_ARGS)

# The Xen tests alone (README, Xen under QEMU), and the slow ones make test leaves out: the page in a browser in
# dom0 and the short form of the xl remus failover proof.
test-xen: deps-test deps-xen jdk
	$(MVN) -q install -DskipTests
	@# every part runs (each boots its own Xen); the target fails if any did
	$(MAKE) --no-print-directory xen-suite; suite=$$?; \
	$(MVN) -pl src test -Dtest=XenServerTest -Dsurefire.failIfNoSpecifiedTests=false \
	    -Dnetbuf.xen.class=io.remus.netbuf.server.XenAdminPageDom0Test $(XEN_ARGS); page=$$?; \
	$(MAKE) --no-print-directory xen-failover FAILOVERS=2 CONTROL=1; failover=$$?; \
	[ $$suite -eq 0 ] && [ $$page -eq 0 ] && [ $$failover -eq 0 ]

# The Xen part of make test, after an install: XenKernelTest, then XenServerTest, each with its own boot; both run.
xen-suite:
	$(MVN) -pl plugin test -Dtest=XenKernelTest -Dsurefire.failIfNoSpecifiedTests=false $(XEN_ARGS); plugin=$$?; \
	$(MVN) -pl src test -Dtest=XenServerTest -Dsurefire.failIfNoSpecifiedTests=false $(XEN_ARGS); server=$$?; \
	[ $$plugin -eq 0 ] && [ $$server -eq 0 ]

# What the guest sees under xl remus (README): ping and a TCP transfer from the domU, without xl remus and at -i 200
# and -i 100, unbuffered and followed; about 20 minutes under TCG.
test-xen-guest-view: deps-test deps-xen jdk
	$(MVN) -q install -DskipTests
	$(MVN) -pl src test -Dtest=XenServerTest -Dsurefire.failIfNoSpecifiedTests=false \
	    -Dnetbuf.xen.class=io.remus.netbuf.server.XlRemusGuestViewDom0Test -Dnetbuf.xen.timeout-minutes=45 $(XEN_ARGS)

# make test-xen-failover FAILOVERS=N CONTROL=M: the long form of the xl remus failover proof (README), N rounds with
# the follower (default 20), then M without buffering (default 5); about 4 minutes a round under TCG.
test-xen-failover: deps-test deps-xen jdk
	$(MVN) -q install -DskipTests
	$(MAKE) --no-print-directory xen-failover FAILOVERS=$(or $(FAILOVERS),20) CONTROL=$(or $(CONTROL),5)

xen-failover:
	$(MVN) -pl src test -Dtest=XenServerTest -Dsurefire.failIfNoSpecifiedTests=false \
	    -Dnetbuf.xen.class=io.remus.netbuf.server.XlRemusFailoverDom0Test -Dnetbuf.dom0.failovers=$(FAILOVERS) \
	    -Dnetbuf.dom0.control-failovers=$(CONTROL) -Dnetbuf.xen.timeout-minutes=$$((10 + 6 * ($(FAILOVERS) + $(CONTROL)))) \
	    $(XEN_ARGS)

# make test-xen-runs RUNS=N: the Xen part of make test N times (default 10), a line per run: how README's pass rate
# is measured.
test-xen-runs: deps-test deps-xen jdk
	$(MVN) -q install -DskipTests
	bash plugin/src/test/sh/xen-runs.sh $(or $(RUNS),10)

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
# benches only: BENCH_ARGS=-Dbench.only=host,recovery,checkpoint,epoch,install,memory,listing,teardown,server
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

# The Debian package src/target/remus-netbuf_VERSION_all.deb (README, Installing on a dom0): the modules, then
# src/deb/build-deb.sh with dpkg-deb. make test builds it too, and tests it (DebianPackageTest, UmlDebianPackageTest).
deb: jdk
	$(MVN) -q install -DskipTests -Pdeb
	@ls src/target/remus-netbuf_*_all.deb

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
# $(XEN_DIR)/root holds the unpacked packages, $(XEN_DIR)/xen the hypervisor (gunzipped: QEMU boots its multiboot
# header), $(XEN_DIR)/root/lib/modules/VERSION the kernel's modules with their depmod index.
deps-xen:
	@$(call install,$(XEN_PACKAGES),--no-install-recommends)
	@kernel=$$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\)$$/\1/p'); \
	  [ -n "$$kernel" ] || { echo "apt-cache names no linux-image-6.1.0-*-amd64 for linux-image-amd64" >&2; exit 1; }; \
	  mkdir -p $(XEN_DIR)/debs; \
	  for p in $(XEN_UNPACKED) $$kernel; do \
	    [ -e $(XEN_DIR)/$$p.unpacked ] && continue; \
	    echo "Unpacking $$p into $(XEN_DIR)/root"; \
	    (cd $(XEN_DIR)/debs && apt-get download -qq -o APT::Sandbox::User=root $$p) && dpkg -x $(XEN_DIR)/debs/$${p}_*.deb $(XEN_DIR)/root \
	      && touch $(XEN_DIR)/$$p.unpacked || exit 1; \
	  done; \
	  version=$${kernel#linux-image-}; \
	  [ -e $(XEN_DIR)/root/lib/modules/$$version/modules.dep ] || depmod -b $(XEN_DIR)/root $$version || exit 1; \
	  [ -e $(XEN_DIR)/xen ] || gunzip -c $(XEN_DIR)/root/boot/xen-4.17-amd64.gz > $(XEN_DIR)/xen

# Installs the missing packages of $(1) with apt-get (options $(2)) when root; otherwise names them and fails.
define install
missing=""; for p in $(1); do \
  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
if [ -n "$$missing" ]; then \
  if [ "$$(id -u)" != 0 ]; then \
    echo "Missing Debian packages:$$missing. Install them as root: apt-get install$$missing" >&2; exit 1; fi; \
  echo "Installing:$$missing"; \
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) $$missing >/dev/null || exit 1; \
fi
endef
