#!/bin/sh
# Lets out whatever the netbuf plugin's plug qdiscs hold, for after the server's JVM died without doing it (SIGKILL,
# OOM kill, a crash): release_indefinite on every plug qdisc with the plugin's handle (4e42:) at the root of an ifb,
# in one netlink batch. No Spring, no database. run-server.sh runs it whenever the server's JVM exits; a systemd
# unit can run the same as ExecStopPost=.
#
#   src/uml/release-held-output.sh [--netbuf.namespace=/run/netns/NAME]
#
# Exits 0 when every plug found was released (none found is success), 1 naming what failed.
#
# Environment:
#   JAVA_HOME          the JDK 25 to run (default: java on PATH)
#   NETBUF_PLUGIN_JAR  the plugin's jar (default: plugin/target/netbuf-plugin-*.jar of this repository)
#   NETBUF_JAVA        the java command itself (wins over JAVA_HOME; the Debian package's unit sets
#                      /usr/libexec/remus-netbuf/java, which finds a Java 25)
#   NETBUF_CDS_ARCHIVE where the class-data sharing archive goes (default: next to the jar; the Debian package's
#                      unit sets /var/cache/remus-netbuf/netbuf-plugin.jsa, the jar's directory being read-only)
#
# A JVM start is most of the time this takes: C1 only, the serial collector, no perf data file, and a class-data
# sharing archive of this command's own classes (made by its first run, next to the jar, and remade whenever the JDK
# or the jar changes) take it from ~240 ms to ~135 ms on the 2-core development machine.
jar=${NETBUF_PLUGIN_JAR:-}
if [ -z "$jar" ]; then
  repo=$(cd "$(dirname "$0")/../.." && pwd)
  # not the tests' jar, which the glob finds first
  for jar in "$repo"/plugin/target/netbuf-plugin-*.jar; do
    case $jar in *-tests.jar | *-sources.jar) jar="" ;; *) break ;; esac
  done
fi
stamp() { date -u +%H:%M:%S.%3N; }
if [ ! -f "$jar" ]; then
  echo "release-held-output: $(stamp) FAILED: no plugin jar at $jar:" \
    "build it (./mvnw install -DskipTests) or set NETBUF_PLUGIN_JAR" >&2
  exit 1
fi
# A JVM that cannot write its archive fails at exit (status 1, after the release): without a writable directory for
# it, no archive.
archive=${NETBUF_CDS_ARCHIVE:-${jar%.jar}.jsa}
cds="-XX:SharedArchiveFile=$archive -XX:+AutoCreateSharedArchive -Xlog:cds=off -Xlog:cds+dynamic=off"
case $archive in */*) archive_dir=${archive%/*} ;; *) archive_dir=. ;; esac
[ -d "${archive_dir:-/}" ] && [ -w "${archive_dir:-/}" ] || cds=""
echo "release-held-output: $(stamp) starting" >&2
# $cds unquoted: its words are options (the archive's path must not contain spaces)
"${NETBUF_JAVA:-${JAVA_HOME:+$JAVA_HOME/bin/}java}" --enable-native-access=ALL-UNNAMED -XX:TieredStopAtLevel=1 \
  -XX:+UseSerialGC -XX:-UsePerfData $cds -cp "$jar" io.remus.netbuf.release.ReleaseHeldOutput "$@"
status=$?
echo "release-held-output: $(stamp) done (status $status)" >&2
exit $status
