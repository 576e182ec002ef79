#!/bin/bash
# Runs the netbuf server for `make run` (and for the admin page's browser test).
#
#   src/uml/run-server.sh JAVA_ARGS...     e.g.  src/uml/run-server.sh -jar src/target/netbuf-server.jar
#
# JAVA_ARGS are what follows `java` (the launcher adds --enable-native-access and the server's address and port).
# The server runs from the repository root, so ./config/application.yml and ./data/ are the top-level ones.
#
# Whenever the server's JVM exits, for any reason (SIGKILL, OOM kill and JVM crashes included), the release command
# (src/uml/release-held-output.sh) lets out whatever its plug qdiscs still hold, so no guest stays black-holed.
#
# On a kernel with sch_plug the server runs here, directly, as a child: SIGINT and SIGTERM are passed on to it, and
# when it has exited the release command runs and this script exits with the JVM's status. On one without (the plug
# qdisc is what Remus needs), it runs inside user-mode-linux (Debian's linux.uml 6.1 has sch_plug), which sees this
# machine's root over hostfs:
#   - the guest's only network is eth0, a tap device (UML's tuntap transport) inside a network namespace this
#     script creates, with link-local addresses: 169.254.77.1/30 here, 169.254.77.2/30 in the guest;
#   - 127.0.0.1:PORT here is forwarded into it by socat: each connection runs
#     `ip netns exec NS socat - TCP:169.254.77.2:8080`; nothing else reaches the guest or leaves it;
#   - Ctrl-C (SIGINT) or SIGTERM: UML runs in a session of its own (setsid), so the signal never reaches it (its
#     host process dies hard on SIGINT). Instead this script writes the line "stop" to the guest's console (UML's
#     stdin is a FIFO only this script writes to); the guest's init reads it and sends the server SIGTERM, the
#     server stops its domains and exits, and the guest halts. If the FIFO's writer goes away (this script killed),
#     the guest reads end-of-file and stops the same way. Then the forwarder is killed and the namespace, with the
#     tap in it, deleted. A guest that has not halted a minute after "stop", or a second Ctrl-C, gets it killed;
#   - the guest's init runs the release command after the server has exited, before it halts;
#   - a run killed with SIGKILL leaves its forwarder, namespace and maybe its guest: the run directory's state file
#     (run.state) names them, and the next start removes them, saying so.
#
# Environment:
#   NETBUF_PORT              port on 127.0.0.1 (default 8080)
#   NETBUF_RUN_IN            auto (default: uml unless the kernel has sch_plug), host, or uml
#   NETBUF_RUN_DIR           where the guest's init, console log and UML's files go (default target/run-uml)
#   NETBUF_RUN_NETNS         name of the network namespace to create (default nbrun-PID)
#   NETBUF_UML_BOOT_TIMEOUT  seconds to wait for the server to answer (default 300)
#   NETBUF_UML_MEM           guest memory (default 1500M)
#   NETBUF_ADMIN_PASSWORD    passed on to the server (in UML: through a file readable only by root)
#   JAVA_HOME                the JDK 25 to run (the Makefile finds one)
#
# Everything this script writes, and the server too (here and in the guest), is its owner's only (umask 077): the
# console log holds the server's output, server.env the admin password, ./data/ the database and a generated password.
set -u
umask 077

repo=$(cd "$(dirname "$0")/../.." && pwd)
port=${NETBUF_PORT:-8080}
release=$repo/src/uml/release-held-output.sh
java=${JAVA_HOME:+$JAVA_HOME/bin/}java
mode=${NETBUF_RUN_IN:-auto}
guest_port=8080
host_ip=169.254.77.1
guest_ip=169.254.77.2
modules_root=/usr/lib/uml/modules
# In load order: insmod resolves no dependencies (the same list as plugin/src/test/.../uml/UserModeLinux.java).
modules="lib/crc-ccitt net/llc/llc net/802/stp net/ipv6/ipv6 net/bridge/bridge drivers/net/ifb drivers/net/veth"
modules+=" net/sched/sch_plug net/sched/sch_ingress net/sched/cls_u32 net/sched/act_mirred"

say() { echo "run-server: $*" >&2; }
die() { say "$*"; exit 1; }
stamp() { date -u +%H:%M:%S.%3N; }

[ $# -gt 0 ] || die "usage: $0 JAVA_ARGS... (e.g. -jar src/target/netbuf-server.jar)"
# Both reach socat's EXEC address, run as root.
[[ "$port" =~ ^[0-9]{1,5}$ ]] && ((10#$port >= 1 && 10#$port <= 65535)) ||
  die "NETBUF_PORT must be a port number, 1 to 65535, not '$port'"
port=$((10#$port))
if [ -n "${NETBUF_RUN_NETNS+set}" ]; then
  [[ "$NETBUF_RUN_NETNS" =~ ^[A-Za-z0-9_.-]{1,64}$ && "$NETBUF_RUN_NETNS" != . && "$NETBUF_RUN_NETNS" != .. ]] ||
    die "NETBUF_RUN_NETNS must be 1 to 64 of [A-Za-z0-9_.-], not '$NETBUF_RUN_NETNS'"
fi

# The release command works where the server does: in the namespace of its --netbuf.namespace, if it has one.
release_args=()
for a in "$@"; do
  case $a in
    --netbuf.namespace=?* | -Dnetbuf.namespace=?*) release_args=("--netbuf.namespace=${a#*=}") ;;
  esac
done

host_has_sch_plug() {
  local release
  release=$(uname -r)
  [ -d /sys/module/sch_plug ] && return 0
  grep -qs '/sch_plug\.ko' "/lib/modules/$release/modules.builtin" && return 0
  modprobe -q sch_plug 2>/dev/null
}

why="NETBUF_RUN_IN=$mode"
if [ "$mode" = auto ]; then
  if host_has_sch_plug; then mode=host why="the kernel has sch_plug"; else mode=uml why="this kernel ($(uname -r)) has no sch_plug"; fi
fi

cd "$repo" || exit 1

java_version=$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
[ "${java_version%%.*}" -ge 25 ] 2>/dev/null ||
  die "the server needs Java 25 or newer; '$java' is ${java_version:-no java}: set JAVA_HOME (make run finds one)"

if [ "$mode" = host ]; then
  say "$why: running the server directly on http://127.0.0.1:$port/"
  # A background job of a script starts with SIGINT ignored, and a JVM keeps it so: env restores it.
  env --default-signal=INT "$java" --enable-native-access=ALL-UNNAMED "$@" --server.address=127.0.0.1 \
    --server.port="$port" &
  server=$!
  trap 'kill -INT "$server" 2>/dev/null' INT
  trap 'kill -TERM "$server" 2>/dev/null' TERM
  # wait returns early when a trapped signal arrives; the JVM has exited once it is gone
  while wait "$server"; status=$?; kill -0 "$server" 2>/dev/null; do :; done
  say "$(stamp) the server's JVM exited (status $status): releasing what its plug qdiscs hold"
  trap '' INT # an impatient second Ctrl-C reaches the whole process group: it must not stop the release
  "$release" "${release_args[@]}"
  exit "$status"
fi
[ "$mode" = uml ] || die "NETBUF_RUN_IN must be auto, host or uml, not '$mode'"

# --- user-mode-linux ---------------------------------------------------------------------------------------------

[ "$(id -u)" = 0 ] || die "running the server in user-mode-linux needs root (network namespace, tap device)"
[ -x /usr/bin/linux.uml ] || die "/usr/bin/linux.uml is missing: apt-get install user-mode-linux"
for tool in socat ip setsid taskset flock; do
  command -v "$tool" >/dev/null || die "$tool is missing: apt-get install socat iproute2 util-linux"
done
kernel_modules=$(ls -d "$modules_root"/*/kernel 2>/dev/null | head -n 1)
[ -n "$kernel_modules" ] || die "no UML modules under $modules_root: reinstall user-mode-linux"
for m in $modules; do
  [ -f "$kernel_modules/$m.ko" ] || die "UML module $m.ko is missing under $kernel_modules: reinstall user-mode-linux"
done
[ -x "$(command -v "$java")" ] || die "no java at '$java': set JAVA_HOME to a JDK 25"
# linux.uml 6.1 panics at boot on a host with an XSAVE area larger than AVX's (AVX-512, AMX): see uml-xstate.c
xstate=$("$repo/src/uml/uml-xstate.sh" "$repo/target/uml-xstate") || die "cannot build src/uml/uml-xstate.c"
xstate_shim=$(sed -n 1p <<<"$xstate")
guest_env=$(sed -n 2p <<<"$xstate")
java=$(command -v "$java")

run_dir=${NETBUF_RUN_DIR:-$repo/target/run-uml}
netns=${NETBUF_RUN_NETNS:-nbrun-$$}
tap=nbtap0
boot_timeout=${NETBUF_UML_BOOT_TIMEOUT:-300}
mkdir -p "$run_dir" || exit 1
run_dir=$(cd "$run_dir" && pwd)
state=$run_dir/run.state

# A process as "PID START": START (field 22 of /proc/PID/stat) tells it from a later process given the same PID.
started_at() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  set -- $stat
  echo "${20}"
}
still_runs() { [ -n "$2" ] && [ "$(started_at "$1")" = "$2" ]; }
# Adds a line to the state file: "launcher PID START", "forwarder PID START", "uml PID START" or "netns NAME".
record() { echo "$*" >> "$state"; }

# The state file of a run that did not clean up (killed with SIGKILL): kills its forwarder and its guest (each a
# process group of its own) and deletes its namespace, with the tap in it. Refuses if its launcher still runs.
clean_dead_run() {
  local what pid start
  while read -r what pid start; do
    [ "$what" = launcher ] && still_runs "$pid" "$start" &&
      die "another run-server.sh (PID $pid) is running in $run_dir: stop it, or set NETBUF_RUN_DIR"
  done < "$state"
  say "the last run in $run_dir did not clean up (its launcher was killed): removing what it left"
  while read -r what pid start; do
    case $what in
      forwarder | uml)
        if still_runs "$pid" "$start"; then
          kill -KILL -- "-$pid" 2>/dev/null && say "killed its $what (process group $pid)"
        fi ;;
    esac
  done < "$state"
  while read -r what pid start; do
    if [ "$what" = netns ] && ip netns list | grep -qx "$pid\( .*\)\?"; then
      ip netns del "$pid" && say "deleted its network namespace $pid (with its tap)"
    fi
  done < "$state"
  rm -f "$state"
}

# The processes other than this script (and the subshell running this) that have the run directory's lock open.
lock_holders() {
  local fd pid holders=""
  for fd in /proc/[0-9]*/fd/*; do
    [ "$(readlink "$fd" 2>/dev/null)" = "$run_dir/lock" ] || continue
    pid=${fd#/proc/}
    pid=${pid%%/*}
    [ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ] || holders+=" $pid"
  done
  echo "${holders# }"
}

# One run per directory: its FIFO, init and console are this run's. Only this script holds the lock (its children
# close fd 9), so a lock held by no live launcher is an earlier version's forwarder left behind.
exec 9>"$run_dir/lock"
if ! flock -n 9; then
  [ -f "$state" ] || die "another run-server.sh is running in $run_dir: stop it, or set NETBUF_RUN_DIR"
  clean_dead_run
  flock -w 10 9 || die "$run_dir/lock is still held (by PIDs $(lock_holders)): stop them, or set NETBUF_RUN_DIR"
elif [ -f "$state" ]; then
  clean_dead_run
fi
record launcher $$ "$(started_at $$)"
console=$run_dir/console.log
console_in=$run_dir/console-in
uml_pid=""
forward_pid=""
follow_pid=""
stopping=0
made_netns=0

quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# Kills what this script started and deletes the namespace; safe to run twice.
cleanup() {
  trap '' INT TERM
  if [ -n "$uml_pid" ] && kill -0 "$uml_pid" 2>/dev/null; then
    say "the guest did not halt: killing user-mode-linux"
    kill -KILL -- "-$uml_pid" 2>/dev/null
    wait "$uml_pid" 2>/dev/null
  fi
  [ -n "$forward_pid" ] && { kill -TERM -- "-$forward_pid" 2>/dev/null; wait "$forward_pid" 2>/dev/null; }
  [ -n "$follow_pid" ] && { kill -TERM "$follow_pid" 2>/dev/null; wait "$follow_pid" 2>/dev/null; }
  if [ "$made_netns" = 1 ]; then
    ip -n "$netns" link del "$tap" 2>/dev/null
    ip netns del "$netns" || say "could not delete network namespace $netns: ip netns del $netns"
  fi
  rm -f "$console_in" "$run_dir/server.env" "$state"
  rm -rf "$run_dir/uml"
  uml_pid="" forward_pid="" follow_pid="" made_netns=0
}

# Ctrl-C / SIGTERM: ask the guest to stop, give it a minute, then clean up. A second Ctrl-C cleans up at once.
stop() {
  [ "$stopping" = 1 ] && return
  stopping=1
  say "stopping: asking the guest to stop the server (it stops its domains), then to halt"
  echo stop >&3 2>/dev/null
  local i
  for ((i = 0; i < 600; i++)); do
    kill -0 "$uml_pid" 2>/dev/null || break
    sleep 0.1
  done
}

trap cleanup EXIT
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM

ip netns list | grep -qx "$netns\( .*\)\?" && die "network namespace $netns exists already: ip netns del $netns"
ip netns add "$netns" || die "could not create network namespace $netns"
made_netns=1
record netns "$netns"
ip -n "$netns" link set lo up &&
  ip -n "$netns" tuntap add dev "$tap" mode tap &&
  ip -n "$netns" addr add "$host_ip/30" dev "$tap" &&
  ip -n "$netns" link set "$tap" up || die "could not set up tap $tap in namespace $netns"

# The server's admin password, if given, reaches the guest in a file only root can read (not on a command line).
# An earlier run's files are removed, not truncated: a truncated file would keep the mode an older launcher gave it.
rm -f "$run_dir/server.env"
: > "$run_dir/server.env"
[ -n "${NETBUF_ADMIN_PASSWORD:-}" ] && echo "export NETBUF_ADMIN_PASSWORD=$(quote "$NETBUF_ADMIN_PASSWORD")" > "$run_dir/server.env"

# The guest has one CPU, and every system call in it is slow: C1 only and the serial collector start Spring Boot
# there in ~40 s instead of ~70 s (measured on this 2-core machine under load); the checkpoint loop does not need C2.
server_cmd=$(quote "$java")
for a in --enable-native-access=ALL-UNNAMED -Djava.io.tmpdir=/run/tmp -XX:-UsePerfData \
    -XX:TieredStopAtLevel=1 -XX:+UseSerialGC "$@" \
    --server.address="$guest_ip" --server.port="$guest_port"; do
  server_cmd+=" $(quote "$a")"
done

release_line="JAVA_HOME=$(quote "${JAVA_HOME:-}") $(quote "$release")"
for a in "${release_args[@]}"; do release_line+=" $(quote "$a")"; done

rm -f "$run_dir/init.sh"
cat > "$run_dir/init.sh" <<EOF
#!/bin/sh
# The guest's init (PID 1), written by src/uml/run-server.sh.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TMPDIR=/run/tmp
umask 077
$guest_env
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /run
mkdir -p /run/tmp /run/netns
for m in $modules; do
  insmod $kernel_modules/\$m.ko || echo "NETBUF_UML_MODULE_FAILED \$m"
done
ip link set lo up
ip addr add $guest_ip/30 dev eth0 && ip link set eth0 up || echo "NETBUF_UML_NO_ETH0"
cd $(quote "$repo")
. $(quote "$run_dir/server.env")
echo "NETBUF_UML_STARTING_SERVER"
$server_cmd &
server=\$!
# The console's input comes from the launcher: "stop" (or end of file) stops the server. (A background
# job's stdin would be /dev/null, hence the explicit /dev/console.)
( while read -r line; do [ "\$line" = stop ] && break; done; echo "NETBUF_UML_STOP"; kill -TERM \$server ) </dev/console &
wait \$server
status=\$?
echo "NETBUF_UML_SERVER_EXITED \$status at \$(date -u +%H:%M:%S.%3N): releasing what its plug qdiscs hold"
$release_line
halt -f
EOF
chmod 700 "$run_dir/init.sh"

rm -f "$console_in"
mkfifo -m 600 "$console_in" || exit 1
exec 3<>"$console_in"   # read-write: opening never blocks; this script is the only writer
rm -f "$console"
: > "$console"

cpus=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
cpu=${cpus##*[,-]}
say "$why: running the server inside user-mode-linux"
say "guest network: tap $tap in namespace $netns ($host_ip/30 here, $guest_ip in the guest); console: $console"

# 127.0.0.1:PORT -> the guest, one `ip netns exec` per connection; started first, so a port in use is found before
# the guest boots. nodelay on both legs: socat passes a response on in the pieces it reads, and with Nagle each
# piece after the first waited for the client's delayed ACK, 40 ms a request.
rm -f "$run_dir/forward.log"
: > "$run_dir/forward.log"
setsid socat TCP-LISTEN:"$port",bind=127.0.0.1,reuseaddr,fork,nodelay \
  EXEC:"ip netns exec $netns socat - TCP\:$guest_ip\:$guest_port\,nodelay" 3>&- 9>&- 2>>"$run_dir/forward.log" &
forward_pid=$!
record forwarder "$forward_pid" "$(started_at "$forward_pid")"
sleep 0.3
kill -0 "$forward_pid" 2>/dev/null ||
  die "cannot listen on 127.0.0.1:$port ($(tail -n 1 "$run_dir/forward.log")): stop what uses it or set NETBUF_PORT"

# UML in a session of its own (no Ctrl-C), in the namespace (its tap is there), pinned to one CPU (a netlink round
# trip in UML is steadier so). Its stdin is the FIFO, its console the log file.
mkdir -p "$run_dir/uml"
setsid ip netns exec "$netns" env ${xstate_shim:+LD_PRELOAD="$xstate_shim"} taskset -c "$cpu" /usr/bin/linux.uml \
  mem="${NETBUF_UML_MEM:-1500M}" \
  root=/dev/root rootfstype=hostfs rootflags=/ rw init="$run_dir/init.sh" quiet \
  umid=netbuf-run uml_dir="$run_dir/uml" eth0=tuntap,"$tap" con=null con0=fd:0,fd:1 \
  <"$console_in" >"$console" 2>&1 3>&- 9>&- &
uml_pid=$!
record uml "$uml_pid" "$(started_at "$uml_pid")"

# Show the console here; in a session of its own too, so that after Ctrl-C it still shows the shutdown.
setsid tail -n +1 -f --pid="$uml_pid" "$console" 3>&- 9>&- &
follow_pid=$!


answers() {
  local status
  { exec 4<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
  printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&4
  read -r -t 5 status <&4
  exec 4>&-
  [[ "$status" == HTTP/1.?\ 200* ]]
}

started=$SECONDS
until answers; do
  if ! kill -0 "$uml_pid" 2>/dev/null; then
    uml_pid=""
    say "user-mode-linux exited before the server answered; console tail:"
    tail -n 40 "$console" >&2
    exit 1
  fi
  if ! kill -0 "$forward_pid" 2>/dev/null; then
    die "the forwarder (socat on 127.0.0.1:$port) exited: is the port in use? $(tail -n 3 "$run_dir/forward.log")"
  fi
  if (( SECONDS - started >= boot_timeout )); then
    say "the server did not answer within ${boot_timeout}s; console tail:"
    tail -n 40 "$console" >&2
    stop
    exit 1
  fi
  [ "$stopping" = 1 ] && exit 130
  sleep 1
done
say "NETBUF_RUN_READY: the server (inside user-mode-linux) answers on http://127.0.0.1:$port/ after $((SECONDS - started))s; Ctrl-C stops it"

wait "$uml_pid"
status=$?
uml_pid=""
if [ "$stopping" = 0 ]; then
  say "user-mode-linux exited by itself (status $status); console tail:"
  tail -n 20 "$console" >&2
fi
exit "$status"
