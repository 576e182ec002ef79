package io.remus.netbuf.uml;

import io.remus.netbuf.guest.GuestJava;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Boots Debian's user-mode-linux kernel (6.1, which has sch_plug) over this machine's root via hostfs, loads the
 * modules a buffer needs, runs one Java main inside it with this JVM and this test class path, and halts.
 * The guest writes its results under a host directory (hostfs), which is how they come back. /run is a tmpfs
 * inside the guest, so its {@code ip netns} files and temporary files never touch the host.
 */
public final class UserModeLinux {

    public static final Path KERNEL = Path.of("/usr/bin/linux.uml");
    public static final Path MODULES_ROOT = Path.of("/usr/lib/uml/modules");
    /** In load order (insmod does not resolve dependencies). */
    static final List<String> MODULES = List.of(
            "lib/crc-ccitt", "net/llc/llc", "net/802/stp", "net/ipv6/ipv6", "net/bridge/bridge",
            "drivers/net/ifb", "drivers/net/veth",
            "net/sched/sch_plug", "net/sched/sch_ingress", "net/sched/cls_u32", "net/sched/act_mirred");

    /** What a run left behind: the guest main's exit code (or -1), the console, and the guest's stdout+stderr. */
    public record Run(int guestExit, boolean timedOut, String console, String guestOutput, Path workDir) {

        /** The last lines of the console and of the guest's output, for failure messages. */
        public String tail() {
            return "--- UML console (tail) ---\n" + lastLines(console, 40)
                    + "\n--- guest java output (tail) ---\n" + lastLines(guestOutput, 60)
                    + "\n(full logs in " + workDir + ")";
        }

        private static String lastLines(String s, int n) {
            List<String> lines = s.lines().toList();
            return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
        }
    }

    private UserModeLinux() {
    }

    /** Fails, naming the package, when the UML kernel or its modules are missing. */
    public static Path requireInstalled() {
        if (!Files.isExecutable(KERNEL)) {
            throw new AssertionError(KERNEL + " is missing: apt-get install user-mode-linux (make test installs it)");
        }
        try (Stream<Path> versions = Files.list(MODULES_ROOT)) {
            Path modules = versions.filter(Files::isDirectory).findFirst()
                    .orElseThrow(() -> new AssertionError("no UML modules under " + MODULES_ROOT))
                    .resolve("kernel");
            for (String m : MODULES) {
                if (!Files.exists(modules.resolve(m + ".ko"))) {
                    throw new AssertionError("UML module " + m + ".ko is missing under " + modules
                            + ": reinstall user-mode-linux");
                }
            }
            return modules;
        } catch (IOException e) {
            throw new AssertionError(MODULES_ROOT + " is unreadable: apt-get install user-mode-linux", e);
        }
    }

    /** The class path of the running tests, which the guest JVM reuses (the guest sees the host's files). */
    public static String testClassPath() {
        String cp = System.getProperty("surefire.test.class.path");
        if (cp == null || cp.isBlank()) {
            cp = System.getProperty("java.class.path");
        }
        // the guest starts in another directory: make every entry absolute
        return Stream.of(cp.split(File.pathSeparator)).filter(e -> !e.isBlank())
                .map(e -> Path.of(e).toAbsolutePath().toString()).collect(Collectors.joining(File.pathSeparator));
    }

    /**
     * Boots UML, runs {@code java <jvmOptions> -cp <test class path> mainClass args} as the guest's only job, and
     * returns when the guest halts or {@code timeout} passes (the UML processes are then killed).
     */
    public static Run runJava(Path workDir, String mainClass, List<String> args, List<String> jvmOptions,
                              Duration timeout) throws IOException, InterruptedException {
        return runJava(workDir, mainClass, args, jvmOptions, timeout, Cpus.ONE_IDLE);
    }

    /** Where the UML processes may run. */
    public enum Cpus {
        /**
         * Pinned to the idlest CPU this process may use. UML runs its kernel and each guest process as separate
         * host processes that hand the CPU to each other on every system call; on one CPU the hand-off is a plain
         * switch, instead of a cross-CPU wake-up that makes a netlink round trip swing between ~30 and ~230 us
         * from one moment to the next. The default.
         */
        ONE_IDLE,
        /** On every online CPU, even if this process is pinned: the hand-offs are cross-CPU wake-ups. */
        ALL
    }

    /** As {@link #runJava(Path, String, List, List, Duration)}, with the UML processes on {@code cpus}. */
    public static Run runJava(Path workDir, String mainClass, List<String> args, List<String> jvmOptions,
                              Duration timeout, Cpus cpus) throws IOException, InterruptedException {
        return runJava(workDir, mainClass, args, jvmOptions, timeout, cpus, true);
    }

    /**
     * As {@link #runJava(Path, String, List, List, Duration, Cpus)}; without {@code withPlug} the guest kernel has
     * no sch_plug: the module is not loaded, and UML cannot load it on demand (its modules are not under the
     * guest's /lib/modules), as on a kernel built without it.
     */
    public static Run runJava(Path workDir, String mainClass, List<String> args, List<String> jvmOptions,
                              Duration timeout, Cpus cpus, boolean withPlug) throws IOException, InterruptedException {
        Path modules = requireInstalled();
        List<String> load = withPlug ? MODULES : MODULES.stream().filter(m -> !m.endsWith("/sch_plug")).toList();
        java.util.Optional<XstateShim> shim = xstateShim();
        Files.createDirectories(workDir);
        Path init = workDir.resolve("init.sh");
        Path exitFile = workDir.resolve("guest-exit");
        Path guestOut = workDir.resolve("guest-output.txt");
        Path console = workDir.resolve("console.txt");
        Files.deleteIfExists(exitFile);

        List<String> java = GuestJava.command(mainClass, args, jvmOptions);

        String script = """
                #!/bin/sh
                export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
                export HOME=/root LANG=C.UTF-8
                mount -t proc proc /proc
                mount -t sysfs sysfs /sys
                mount -t tmpfs tmpfs /run
                mkdir -p /run/tmp
                export TMPDIR=/run/tmp
                %s
                ip link set lo up
                for m in %s; do
                  insmod %s/$m.ko || echo "NETBUF_UML_MODULE_FAILED $m"
                done
                echo NETBUF_UML_READY
                cd %s
                %s > %s 2>&1
                echo $? > %s
                echo NETBUF_UML_DONE
                halt -f
                """.formatted(shim.map(XstateShim::guestEnv).orElse(""), String.join(" ", load), modules,
                quote(workDir.toString()),
                GuestJava.shellLine(java),
                quote(guestOut.toString()), quote(exitFile.toString()));
        Files.writeString(init, script);
        init.toFile().setExecutable(true);

        List<String> command = new ArrayList<>(List.of("taskset", "-c", cpus == Cpus.ONE_IDLE
                ? String.valueOf(hostCpu()) : Files.readString(Path.of("/sys/devices/system/cpu/online")).strip()));
        command.addAll(List.of(KERNEL.toString(), "mem=1500M", "root=/dev/root", "rootfstype=hostfs", "rootflags=/",
                "rw", "init=" + init, "con=null", "con0=fd:0,fd:1"));
        ProcessBuilder umlProcess = new ProcessBuilder(command);
        shim.ifPresent(x -> umlProcess.environment().put("LD_PRELOAD", x.library()));
        Process uml = umlProcess
                .redirectInput(new File("/dev/null"))
                .redirectOutput(console.toFile())
                .redirectErrorStream(true)
                .start();
        boolean finished = uml.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (!finished) {
            uml.descendants().forEach(ProcessHandle::destroyForcibly);
            uml.destroyForcibly();
            uml.waitFor(30, TimeUnit.SECONDS);
        }
        int exit = Files.exists(exitFile) ? Integer.parseInt(Files.readString(exitFile).strip()) : -1;
        return new Run(exit, !finished, read(console), read(guestOut), workDir);
    }

    /**
     * Where the host's XSAVE area is larger than linux.uml 6.1 handles (AVX-512, AMX): the LD_PRELOAD shim UML needs
     * and the line the guest's init runs first, both from src/uml/uml-xstate.sh (see src/uml/uml-xstate.c).
     */
    record XstateShim(String library, String guestEnv) {
    }

    /** The shim this host needs, built if need be; empty where linux.uml runs as it is. */
    public static java.util.Optional<XstateShim> xstateShim() throws IOException, InterruptedException {
        Path repo = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        while (repo != null && !Files.exists(repo.resolve("src/uml/uml-xstate.sh"))) {
            repo = repo.getParent();
        }
        if (repo == null) {
            throw new IllegalStateException("src/uml/uml-xstate.sh not found above " + System.getProperty("user.dir"));
        }
        Process p = new ProcessBuilder("sh", repo.resolve("src/uml/uml-xstate.sh").toString(),
                repo.resolve("target/uml-xstate").toString()).redirectErrorStream(true).start();
        List<String> out = new String(p.getInputStream().readAllBytes()).lines().toList();
        if (p.waitFor() != 0 || (!out.isEmpty() && out.size() != 2)) {
            throw new IllegalStateException("src/uml/uml-xstate.sh failed: " + String.join("\n", out));
        }
        return out.isEmpty() ? java.util.Optional.empty() : java.util.Optional.of(new XstateShim(out.get(0), out.get(1)));
    }

    /**
     * The CPU this process may run on that was idlest over the last half second, the last one on a tie (CPU 0
     * takes most interrupts). A run that starts while another run's UML keeps one CPU busy takes the other one
     * instead of sharing it: a guest that shares its CPU with another UML runs at half speed or worse.
     */
    private static int hostCpu() throws IOException, InterruptedException {
        String allowed = Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(l -> l.startsWith("Cpus_allowed_list:")).findFirst().orElse("Cpus_allowed_list: 0");
        List<Integer> cpus = new ArrayList<>();
        for (String part : allowed.substring(allowed.indexOf(':') + 1).strip().split(",")) {
            String[] range = part.split("-");
            for (int c = Integer.parseInt(range[0]); c <= Integer.parseInt(range[range.length - 1]); c++) {
                cpus.add(c);
            }
        }
        if (cpus.size() == 1) {
            return cpus.getFirst();
        }
        long[] before = idleTicks(cpus);
        Thread.sleep(500);
        long[] after = idleTicks(cpus);
        int best = cpus.size() - 1;
        for (int i = cpus.size() - 1; i >= 0; i--) {
            if (after[i] - before[i] > after[best] - before[best]) {
                best = i;
            }
        }
        return cpus.get(best);
    }

    /** Idle + iowait ticks of each CPU, from /proc/stat. */
    private static long[] idleTicks(List<Integer> cpus) throws IOException {
        long[] ticks = new long[cpus.size()];
        for (String line : Files.readAllLines(Path.of("/proc/stat"))) {
            String[] f = line.split("\\s+");
            if (f[0].startsWith("cpu") && f[0].length() > 3) {
                int i = cpus.indexOf(Integer.parseInt(f[0].substring(3)));
                if (i >= 0) {
                    ticks[i] = Long.parseLong(f[4]) + Long.parseLong(f[5]);
                }
            }
        }
        return ticks;
    }

    private static String read(Path p) throws IOException {
        return Files.exists(p) ? Files.readString(p) : "";
    }

    private static String quote(String s) {
        return GuestJava.quote(s);
    }
}
