package io.remus.netbuf.autoconfigure;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What this kernel and process offer a buffer, read from /proc and /sys without touching the network: each
 * module loaded, built in, or loadable on first use; CAP_NET_ADMIN in the effective set.
 */
public final class KernelCapabilities {

    /** A capability and, when it is missing, the fix. */
    public record Capability(boolean present, String detail, String fix) {
    }

    static final List<String[]> MODULES = List.of(
            new String[] {"sch_plug", "CONFIG_NET_SCH_PLUG"},
            new String[] {"ifb", "CONFIG_IFB"},
            new String[] {"sch_ingress", "CONFIG_NET_SCH_INGRESS"},
            new String[] {"cls_u32", "CONFIG_NET_CLS_U32"},
            new String[] {"act_mirred", "CONFIG_NET_ACT_MIRRED"});

    private static final int CAP_NET_ADMIN = 12;

    private KernelCapabilities() {
    }

    public static Map<String, Capability> probe() {
        Map<String, Capability> out = new LinkedHashMap<>();
        out.put("cap_net_admin", capNetAdmin());
        String release = read(Path.of("/proc/sys/kernel/osrelease")).strip();
        Path modules = Path.of("/lib/modules", release);
        String builtin = read(modules.resolve("modules.builtin"));
        String loadable = read(modules.resolve("modules.dep"));
        String config = kernelConfig(release);
        for (String[] m : MODULES) {
            String name = m[0];
            boolean loaded = Files.isDirectory(Path.of("/sys/module", name));
            // the kernel's own config, where it publishes one, is the authority on built-in options
            boolean isBuiltin = config.contains("\n" + m[1] + "=y") || builtin.contains("/" + name + ".ko");
            boolean isLoadable = loadable.contains("/" + name + ".ko");
            String detail = loaded ? "loaded" : isBuiltin ? "built in" : isLoadable ? "module, loads on first use"
                    : "missing from kernel " + release;
            out.put(name, new Capability(loaded || isBuiltin || isLoadable, detail,
                    "modprobe " + name + " (" + m[1] + ")"));
        }
        return out;
    }

    private static Capability capNetAdmin() {
        String status = read(Path.of("/proc/self/status"));
        for (String line : status.lines().toList()) {
            if (line.startsWith("CapEff:")) {
                long caps = Long.parseUnsignedLong(line.substring(7).strip(), 16);
                boolean has = (caps & (1L << CAP_NET_ADMIN)) != 0;
                return new Capability(has, has ? "effective" : "not in the effective set",
                        "run as root or grant the JVM cap_net_admin (setcap or systemd AmbientCapabilities)");
            }
        }
        return new Capability(false, "unknown (no CapEff in /proc/self/status)", "run on Linux as root");
    }

    /** /proc/config.gz (CONFIG_IKCONFIG_PROC) or /boot/config-RELEASE, or empty. */
    private static String kernelConfig(String release) {
        Path proc = Path.of("/proc/config.gz");
        if (Files.isReadable(proc)) {
            try (var in = new java.util.zip.GZIPInputStream(Files.newInputStream(proc))) {
                return "\n" + new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "";
            }
        }
        return "\n" + read(Path.of("/boot", "config-" + release));
    }

    private static String read(Path p) {
        try {
            return Files.exists(p) ? Files.readString(p) : "";
        } catch (IOException e) {
            return "";
        }
    }
}
