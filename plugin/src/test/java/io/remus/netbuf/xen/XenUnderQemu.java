package io.remus.netbuf.xen;

import io.remus.netbuf.guest.GuestJava;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;

/**
 * Boots Debian's Xen 4.17 under QEMU (TCG: this machine's KVM cannot run guests) with a Linux 6.1 dom0 whose root
 * is this machine's root over 9p under a tmpfs overlay, so dom0 runs the Xen tools installed here and this JVM.
 * Dom0 starts xenstored, xen-init-dom0 and xenconsoled, creates the bridge xenbr0 and one PVH domU with a vif on
 * it, waits for that vif, then runs one Java main with this test class path. A second, writable 9p share of the
 * work directory, mounted at the same path in dom0, brings the results, the main's output and the domU's console
 * back. Facts behind each choice: /work/shared/XEN-UNDER-QEMU.md; the files: make deps-xen (target/xen).
 *
 * <p>The console is watched while QEMU runs: each stage has its own deadline, and a stage that fails, a panic or
 * QEMU exiting ends the run at once. QEMU is always killed at the end, and the initramfs images deleted.
 */
public final class XenUnderQemu {

    /**
     * dom0's modules, in load order (insmod does not resolve dependencies): 9p root, Xen backends, bridge, veth (the
     * tests' wire), netbuf.
     */
    static final List<String> DOM0_MODULES = List.of(
            "virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci",
            "9pnet", "9pnet_virtio", "netfs", "fscache", "9p", "overlay",
            "xen-evtchn", "xen-privcmd", "xenfs", "xen-gntdev", "xen-gntalloc", "xen-netback", "xen-blkback",
            "llc", "stp", "bridge", "tun", "veth",
            "ifb", "sch_ingress", "cls_u32", "act_mirred", "sch_plug");
    static final List<String> DOMU_MODULES = List.of("xen-netfront");
    /** The domU's name; dom0 tests may destroy it and create it again from {@link #domuConfig}. */
    public static final String DOMU_NAME = "netbuf-domu";
    /** The domU's frame sender (plugin/src/test/c/xen_frames.c), in its /bin. */
    static final String FRAME_SENDER = "xen-frames";

    /** The stages of a run, in order, each announced on the serial console by the line {@code NETBUF_XEN_<stage>}. */
    public enum Stage {
        /** Xen started (its banner). */
        XEN,
        /** dom0's kernel ran the initramfs's /init. */
        INITRAMFS,
        /** The modules are loaded and dom0 runs in the host's root (chroot). */
        ROOT,
        /** xenstored, xen-init-dom0 and xenconsoled run; {@code xl info} answers. */
        DOM0_READY,
        /** {@code xl create} of the PVH domU returned. */
        DOMU_CREATED,
        /** The domU's vif is in dom0. */
        VIF_UP,
        /** netback's end of the vif is connected to the domU's netfront (xenstore backend state 4). */
        CONNECTED,
        /** The Java main returned. */
        DONE
    }

    /** Bounds of one run. */
    public record Timeouts(Duration toDom0Ready, Duration toVifConnected, Duration total) {
    }

    /**
     * What a run left behind: the last stage reached and when (since QEMU started), why it stopped early (empty when
     * it reached DONE), the dom0 main's exit code (or -1), the domU's vif, and the logs.
     */
    public record Run(Stage reached, Map<Stage, Duration> reachedAfter, Optional<String> failure, int mainExit,
                      String vif, String console, String mainOutput, Path workDir) {

        /** The last lines of the serial console, of the domU's console and of the main's output. */
        public String tail() {
            return "--- serial console: Xen and dom0 (tail) ---\n" + lastLines(console, 60)
                    + "\n--- domU console (tail) ---\n" + lastLines(read(domuConsole(workDir)), 20)
                    + "\n--- dom0 java output (tail) ---\n" + lastLines(mainOutput, 60)
                    + "\n(full logs in " + workDir + ")";
        }

        /** One line: the time each stage was reached. */
        public String timings() {
            return reachedAfter.entrySet().stream()
                    .map(e -> e.getKey() + " %.1f s".formatted(e.getValue().toMillis() / 1000.0))
                    .collect(Collectors.joining(", "));
        }

        private static String lastLines(String s, int n) {
            List<String> lines = s.lines().toList();
            return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
        }
    }

    /** The files make deps-xen unpacks: the hypervisor, the kernel, its modules, busybox. */
    record Unpacked(Path xen, Path kernel, Path modules, Path busybox) {
    }

    private static final Pattern FAILED = Pattern.compile("NETBUF_XEN_FAILED (.*)");
    /** What the domU's init prints when its network front end did not come up, or its frame sender could not start. */
    private static final Pattern DOMU_FAILED = Pattern.compile("NETBUF_(DOMU_MODULE_FAILED .*|DOMU_NO_ETH0|FRAMES_FAILED .*)");
    /** Console lines after which nothing good follows. */
    private static final List<String> CRASHES = List.of(
            "Panic on CPU", "Kernel panic", "Oops:", "general protection fault", "segfault at", "Aborted",
            "Assertion", "triple fault", "Reboot in five seconds");

    private XenUnderQemu() {
    }

    /** Fails, naming make deps-xen, when a file it provides is missing. */
    static Unpacked requireInstalled() throws IOException {
        Path dir = repository().resolve("target/xen");
        Path root = dir.resolve("root");
        Path xen = dir.resolve("xen");
        Path busybox = root.resolve("bin/busybox");
        Optional<Path> kernel = Optional.empty();
        if (Files.isDirectory(root.resolve("boot"))) {
            try (Stream<Path> boot = Files.list(root.resolve("boot"))) {
                kernel = boot.filter(p -> p.getFileName().toString().matches("vmlinuz-6\\.1\\.0-\\d+-amd64"))
                        .findFirst();
            }
        }
        for (Path p : List.of(xen, busybox, kernel.orElse(root.resolve("boot/vmlinuz-6.1.0-NN-amd64")),
                Path.of("/usr/bin/qemu-system-x86_64"), Path.of("/usr/sbin/xl"),
                Path.of("/usr/lib/xen-4.17/bin/xenstored"))) {
            if (!Files.exists(p)) {
                throw new AssertionError(p + " is missing: run make deps-xen (make test-xen does)");
            }
        }
        String version = kernel.orElseThrow().getFileName().toString().substring("vmlinuz-".length());
        Path modules = root.resolve("lib/modules").resolve(version);
        if (!Files.exists(modules.resolve("modules.dep"))) {
            throw new AssertionError(modules.resolve("modules.dep") + " is missing: run make deps-xen");
        }
        return new Unpacked(xen, kernel.orElseThrow(), modules, busybox);
    }

    /**
     * Boots Xen, dom0 and the domU; runs {@code java <jvmOptions> -cp <test class path> mainClass args} in dom0
     * once the domU's vif is there and connected; returns when the main returned, a stage failed or timed out.
     * {@code cpus} is the host CPU list QEMU is pinned to ({@code taskset -c}).
     */
    public static Run runJava(Path workDir, String mainClass, List<String> args, List<String> jvmOptions,
                              Timeouts timeouts, String cpus) throws IOException, InterruptedException {
        Unpacked files = requireInstalled();
        Files.createDirectories(workDir.resolve("domu-console"));
        Path dom0Initramfs = workDir.resolve("dom0.cpio.gz");
        Path domuInitramfs = workDir.resolve("domu.cpio.gz");
        Path console = workDir.resolve("console.txt");
        Path mainOut = workDir.resolve("dom0-java-output.txt");
        Path exitFile = workDir.resolve("dom0-java-exit");
        Path vifFile = workDir.resolve("vif");
        Files.deleteIfExists(exitFile);
        Files.deleteIfExists(vifFile);

        Map<String, Path> modulePaths = modulePaths(files.modules());
        writeInitramfs(dom0Initramfs, files.busybox(), dom0Init(workDir), modules(modulePaths, DOM0_MODULES),
                Map.of());
        writeInitramfs(domuInitramfs, files.busybox(), domuInit(), modules(modulePaths, DOMU_MODULES),
                Map.of(FRAME_SENDER, compileFrameSender(workDir)));
        Files.writeString(domuConfig(workDir), """
                name = "%s"
                type = "pvh"
                kernel = "%s"
                ramdisk = "%s"
                extra = "console=hvc0 rdinit=/init ipv6.disable=1"
                memory = 256
                vcpus = 1
                cpus = "1"
                tsc_mode = "native"
                vif = [ 'bridge=xenbr0' ]
                on_crash = "preserve"
                """.formatted(DOMU_NAME, files.kernel(), domuInitramfs));
        Files.writeString(workDir.resolve("dom0.sh"), dom0Script(workDir, mainClass, args, jvmOptions,
                mainOut, exitFile, vifFile));

        List<String> command = List.of("taskset", "-c", cpus,
                "qemu-system-x86_64", "-accel", "tcg,thread=multi", "-cpu", "max", "-smp", "2", "-m", "2048",
                "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot", "-net", "none",
                "-kernel", files.xen().toString(),
                // with 2 dom0 vCPUs and a running domU on QEMU's 2 CPUs the nested system crashed under traffic;
                // without smap=0 smep=0 dom0 dies at once under TCG
                "-append", "console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M dom0_max_vcpus=1 dom0_vcpus_pin"
                        + " loglvl=all guest_loglvl=all smap=0 smep=0",
                "-initrd", files.kernel() + " console=hvc0 earlyprintk=xen rdinit=/init," + dom0Initramfs,
                "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
                "-virtfs", "local,path=" + workDir + ",mount_tag=results,security_model=none,multidevs=remap");
        Files.writeString(workDir.resolve("qemu-command.txt"), String.join(" ", command) + "\n");
        Process qemu = new ProcessBuilder(command)
                .redirectInput(new File("/dev/null"))
                .redirectOutput(console.toFile())
                .redirectErrorStream(true)
                .start();
        long start = System.nanoTime();
        Runnable cleanUp = () -> {
            qemu.destroyForcibly();
            dom0Initramfs.toFile().delete();
            domuInitramfs.toFile().delete();
        };
        // a test JVM stopped by SIGTERM or Ctrl-C (surefire's timeout, the user) cleans up too
        Thread cleanUpAtExit = new Thread(cleanUp, "xen-under-qemu-clean-up");
        Runtime.getRuntime().addShutdownHook(cleanUpAtExit);
        Map<Stage, Duration> reached = new LinkedHashMap<>();
        Optional<String> failure = Optional.empty();
        try {
            failure = watch(qemu, console, domuConsole(workDir), start, reached, timeouts);
        } finally {
            cleanUp.run();
            qemu.waitFor(30, TimeUnit.SECONDS);
            Runtime.getRuntime().removeShutdownHook(cleanUpAtExit);
        }
        Stage last = reached.keySet().stream().reduce((a, b) -> b).orElse(null);
        int exit = Files.exists(exitFile) ? Integer.parseInt(Files.readString(exitFile).strip()) : -1;
        return new Run(last, reached, failure, exit, read(vifFile).strip(), read(console), read(mainOut), workDir);
    }

    /** The domU's xl config file (on the results share, so dom0 sees it at the same path). */
    public static Path domuConfig(Path workDir) {
        return workDir.resolve("domu.cfg");
    }

    /** Where xenconsoled logs the domU's console (on the results share). */
    private static Path domuConsole(Path workDir) {
        return workDir.resolve("domu-console").resolve("guest-" + DOMU_NAME + ".log");
    }

    /**
     * Follows the serial console (Xen and dom0) and the domU's console until DONE, a failure, a crash, QEMU's exit
     * or a deadline: empty on DONE, else why it stopped, naming the stage it waited for.
     */
    private static Optional<String> watch(Process qemu, Path console, Path domuConsole, long start,
                                          Map<Stage, Duration> reached, Timeouts timeouts)
            throws IOException, InterruptedException {
        while (true) {
            String text = read(console);
            String domu = read(domuConsole);
            Duration now = Duration.ofNanos(System.nanoTime() - start);
            for (Stage s : Stage.values()) {
                String marker = s == Stage.XEN ? "Xen version" : "NETBUF_XEN_" + s + "\n";
                if (!reached.containsKey(s) && text.replace("\r", "").contains(marker)) {
                    reached.put(s, now);
                }
            }
            Stage waitingFor = Stream.of(Stage.values()).filter(s -> !reached.containsKey(s)).findFirst().orElse(null);
            if (waitingFor == null) {
                return Optional.empty();
            }
            Matcher failed = FAILED.matcher(text);
            if (failed.find()) {
                return Optional.of("dom0 reported a failure while waiting for " + waitingFor + ": "
                        + failed.group(1).strip());
            }
            Matcher domuFailed = DOMU_FAILED.matcher(domu);
            if (domuFailed.find()) {
                return Optional.of("the domU reported a failure while waiting for " + waitingFor + ": "
                        + domuFailed.group(1).strip());
            }
            Optional<String> crash = crashLine(text).map(l -> "Xen or dom0: " + l)
                    .or(() -> crashLine(domu).map(l -> "domU: " + l));
            if (crash.isPresent()) {
                return Optional.of("crash while waiting for " + waitingFor + ": " + crash.get());
            }
            if (!qemu.isAlive()) {
                return Optional.of("QEMU exited (" + qemu.exitValue() + ") while waiting for " + waitingFor);
            }
            Duration deadline = waitingFor.compareTo(Stage.DOM0_READY) <= 0 ? timeouts.toDom0Ready()
                    : waitingFor.compareTo(Stage.CONNECTED) <= 0 ? timeouts.toVifConnected() : timeouts.total();
            if (now.compareTo(deadline) > 0) {
                return Optional.of("timed out after " + deadline.toSeconds() + " s waiting for " + waitingFor);
            }
            Thread.sleep(250);
        }
    }

    /** The first console line that shows a crash. */
    private static Optional<String> crashLine(String console) {
        for (String crash : CRASHES) {
            int at = console.indexOf(crash);
            if (at >= 0) {
                int lineEnd = console.indexOf('\n', at);
                return Optional.of(console.substring(console.lastIndexOf('\n', at) + 1,
                        lineEnd < 0 ? console.length() : lineEnd).strip());
            }
        }
        return Optional.empty();
    }

    /** How a busybox initramfs's /init starts: the applets, proc, sys, dev. */
    private static final String BUSYBOX_INIT = """
            #!/bin/busybox sh
            /bin/busybox --install -s /bin
            export PATH=/bin
            mount -t proc proc /proc
            mount -t sysfs sysfs /sys
            mount -t devtmpfs devtmpfs /dev
            """;

    /**
     * The last thing dom0 does (the harness kills QEMU once it sees DONE or FAILED anyway): power off, then wait in
     * a shell builtin; a command run now may find the 9p share already gone ("sleep: Input/output error") and end
     * init in a panic.
     */
    private static final String POWER_OFF = """
            power_off() { echo o > /proc/sysrq-trigger; while :; do :; done; }
            """;

    /** The initramfs /init: modules, the host's root read-only under a tmpfs overlay, the results share, chroot. */
    private static String dom0Init(Path workDir) {
        return BUSYBOX_INIT + POWER_OFF + """
                echo NETBUF_XEN_INITRAMFS
                fail() { echo "NETBUF_XEN_FAILED $*"; power_off; }
                for m in $(cat /modules/order); do
                  insmod /modules/$m.ko || fail "module $m did not load"
                done
                mkdir -p /lower /rw /newroot
                mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /lower \\
                  || fail "9p mount of the host's root"
                mount -t tmpfs tmpfs /rw && mkdir /rw/upper /rw/work
                mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot \\
                  || fail "overlay over the host's root"
                mkdir -p /newroot%1$s
                mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 results /newroot%1$s \\
                  || fail "9p mount of the results share"
                echo NETBUF_XEN_ROOT
                exec chroot /newroot /bin/sh %1$s/dom0.sh
                """.formatted(workDir);
    }

    /** dom0's job in the host's root: the Xen daemons, the bridge, the domU, its vif, the Java main, power off. */
    private static String dom0Script(Path workDir, String mainClass, List<String> args, List<String> jvmOptions,
                                     Path mainOut, Path exitFile, Path vifFile) {
        String javaLine = GuestJava.shellLine(GuestJava.command(mainClass, args, jvmOptions));
        return """
                #!/bin/sh
                export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/xen-4.17/bin
                export HOME=/root LANG=C.UTF-8
                %7$s
                fail() { echo "NETBUF_XEN_FAILED $*"; power_off; }
                mount -t proc proc /proc
                mount -t sysfs sysfs /sys
                mount -t devtmpfs devtmpfs /dev
                mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
                mount -t tmpfs tmpfs /run
                mount -t tmpfs tmpfs /tmp
                mount -t xenfs xenfs /proc/xen || fail "xenfs on /proc/xen"
                mkdir -p /run/tmp /run/xen /run/xenstored /run/work /var/lib/xen /var/log/xen /var/lib/xenstored
                export TMPDIR=/run/tmp
                ip link set lo up
                xenstored --pid-file /run/xenstored.pid || fail "xenstored"
                xen-init-dom0 || fail "xen-init-dom0"
                xenconsoled --pid-file=/run/xenconsoled.pid --log=guest --log-dir=%1$s/domu-console \\
                  || fail "xenconsoled"
                xl info > %1$s/xl-info.txt 2>&1 || fail "xl info: $(tail -3 %1$s/xl-info.txt)"
                echo NETBUF_XEN_DOM0_READY
                ip link add xenbr0 type bridge && ip link set xenbr0 up || fail "bridge xenbr0"
                xl create %1$s/domu.cfg > %1$s/xl-create.txt 2>&1 || fail "xl create: $(tail -3 %1$s/xl-create.txt)"
                echo NETBUF_XEN_DOMU_CREATED
                domid=$(xl domid %2$s) || fail "no domid for %2$s"
                vif=vif$domid.0
                i=0
                until [ -e /sys/class/net/$vif ]; do
                  i=$((i + 1)); [ $i -le 600 ] || fail "$vif did not appear in dom0 within 300 s"; sleep 0.5
                done
                echo $vif > %3$s
                echo NETBUF_XEN_VIF_UP
                i=0
                until [ "$(xenstore-read /local/domain/0/backend/vif/$domid/0/state)" = 4 ]; do
                  i=$((i + 1)); [ $i -le 600 ] || fail "$vif not connected to the domU's netfront within 300 s"
                  sleep 0.5
                done
                echo NETBUF_XEN_CONNECTED
                cd /run/work
                %4$s > %5$s 2>&1
                echo $? > %6$s
                xl list >> %1$s/xl-create.txt 2>&1
                echo NETBUF_XEN_DONE
                sync
                power_off
                """.formatted(workDir, DOMU_NAME, vifFile, javaLine, mainOut, exitFile, POWER_OFF.strip());
    }

    /**
     * The domU's /init: its network front end (IPv6 is off on its command line: its router solicitations would put
     * frames of its own into the buffer), and the frame sender, which sends only when dom0 asks; then idle.
     */
    private static String domuInit() {
        return BUSYBOX_INIT + """
                for m in $(cat /modules/order); do insmod /modules/$m.ko || echo "NETBUF_DOMU_MODULE_FAILED $m"; done
                ip link set lo up
                ip link set eth0 up || echo NETBUF_DOMU_NO_ETH0
                /bin/%s eth0 &
                echo NETBUF_DOMU_READY
                while true; do sleep 3600; done
                """.formatted(FRAME_SENDER);
    }

    /**
     * Builds the domU's frame sender (plugin/src/test/c/xen_frames.c) static into {@code workDir}: the domU has no
     * libc. Fails naming gcc and libc6-dev if they are missing.
     */
    static Path compileFrameSender(Path workDir) throws IOException, InterruptedException {
        Path source = repository().resolve("plugin/src/test/c/xen_frames.c");
        Path binary = workDir.resolve(FRAME_SENDER);
        Process gcc;
        try {
            gcc = new ProcessBuilder("gcc", "-static", "-O2", "-Wall", "-o", binary.toString(), source.toString())
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new AssertionError("gcc is missing, needed to build the domU's frame sender " + source
                    + ": apt-get install gcc libc6-dev", e);
        }
        String out = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (gcc.waitFor() != 0) {
            throw new AssertionError("gcc -static could not build " + source + " (a static libc needs libc6-dev:"
                    + " apt-get install gcc libc6-dev):\n" + out);
        }
        return binary;
    }

    /** Module name (as in its file name) to its file, from the kernel's modules.dep. */
    private static Map<String, Path> modulePaths(Path modules) throws IOException {
        Map<String, Path> paths = new HashMap<>();
        for (String line : Files.readAllLines(modules.resolve("modules.dep"))) {
            String file = line.substring(0, line.indexOf(':'));
            String name = Path.of(file).getFileName().toString().replaceFirst("\\.ko$", "");
            paths.put(name, modules.resolve(file));
        }
        return paths;
    }

    private static Map<String, Path> modules(Map<String, Path> paths, List<String> names) {
        Map<String, Path> chosen = new LinkedHashMap<>();
        for (String n : names) {
            Path p = paths.get(n);
            if (p == null) {
                throw new AssertionError("module " + n + " is not in the unpacked kernel's modules.dep: make deps-xen");
            }
            chosen.put(n, p);
        }
        return chosen;
    }

    /**
     * A gzipped newc cpio: busybox as /bin/busybox, {@code init} as /init, each module as /modules/NAME.ko and
     * their names in load order in /modules/order, each of {@code programs} as /bin/NAME.
     */
    static void writeInitramfs(Path image, Path busybox, String init, Map<String, Path> modules,
                               Map<String, Path> programs) throws IOException {
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(image))) {
            Cpio cpio = new Cpio(out);
            for (String dir : List.of("bin", "dev", "proc", "sys", "modules")) {
                cpio.directory(dir);
            }
            cpio.file("bin/busybox", Files.readAllBytes(busybox), 0755);
            for (Map.Entry<String, Path> p : programs.entrySet()) {
                cpio.file("bin/" + p.getKey(), Files.readAllBytes(p.getValue()), 0755);
            }
            cpio.file("init", init.getBytes(StandardCharsets.UTF_8), 0755);
            for (Map.Entry<String, Path> m : modules.entrySet()) {
                cpio.file("modules/" + m.getKey() + ".ko", Files.readAllBytes(m.getValue()), 0644);
            }
            cpio.file("modules/order", (String.join("\n", modules.keySet()) + "\n").getBytes(StandardCharsets.UTF_8),
                    0644);
            cpio.trailer();
        }
    }

    /** The "newc" cpio format the kernel unpacks an initramfs from: a 110-byte hex header per entry, 4-byte aligned. */
    private static final class Cpio {
        private final OutputStream out;
        private long written;
        private int inode = 1;

        Cpio(OutputStream out) {
            this.out = out;
        }

        void directory(String name) throws IOException {
            entry(name, new byte[0], 0040755, 2);
        }

        void file(String name, byte[] data, int mode) throws IOException {
            entry(name, data, 0100000 | mode, 1);
        }

        void trailer() throws IOException {
            entry("TRAILER!!!", new byte[0], 0, 1);
        }

        private void entry(String name, byte[] data, int mode, int links) throws IOException {
            byte[] nameBytes = (name + "\0").getBytes(StandardCharsets.UTF_8);
            ByteArrayOutputStream header = new ByteArrayOutputStream();
            long[] fields = {inode++, mode, 0, 0, links, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0};
            header.writeBytes("070701".getBytes(StandardCharsets.US_ASCII));
            for (long f : fields) {
                header.writeBytes("%08x".formatted(f).getBytes(StandardCharsets.US_ASCII));
            }
            write(header.toByteArray());
            write(nameBytes);
            pad();
            write(data);
            pad();
        }

        private void write(byte[] b) throws IOException {
            out.write(b);
            written += b.length;
        }

        private void pad() throws IOException {
            while (written % 4 != 0) {
                write(new byte[1]);
            }
        }
    }

    /** The repository's root: the first directory above the working directory with a Makefile and plugin/. */
    private static Path repository() {
        Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        while (dir != null && !(Files.exists(dir.resolve("Makefile")) && Files.isDirectory(dir.resolve("plugin")))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException("no repository (Makefile and plugin/) above "
                    + System.getProperty("user.dir"));
        }
        return dir;
    }

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }
}
