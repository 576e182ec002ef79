package io.remus.netbuf.guest;

import io.remus.netbuf.uml.UserModeLinux;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The JVM a guest kernel (user-mode-linux, Xen's dom0) runs: this JVM's java and test class path, over the host's
 * files.
 */
public final class GuestJava {

    private GuestJava() {
    }

    /**
     * {@code java <jvmOptions> -cp <test class path> mainClass args}, with the guest's temporary files on its own
     * tmpfs ({@code /run/tmp}: the host's /tmp stays visible in the guest, and the work directory may be under it).
     */
    public static List<String> command(String mainClass, List<String> args, List<String> jvmOptions) {
        List<String> java = new ArrayList<>();
        java.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        java.addAll(jvmOptions);
        java.add("-Djava.io.tmpdir=/run/tmp");
        java.add("-XX:-UsePerfData");
        java.add("--enable-native-access=ALL-UNNAMED");
        java.add("-cp");
        java.add(UserModeLinux.testClassPath());
        java.add(mainClass);
        java.addAll(args);
        return java;
    }

    /** {@code -Dname=value} for each {@code netbuf.*} system property of this JVM but the harness's own. */
    public static List<String> passedOnProperties(String harnessPrefix) {
        return System.getProperties().stringPropertyNames().stream().sorted()
                .filter(p -> p.startsWith("netbuf.") && !p.startsWith(harnessPrefix))
                .map(p -> "-D" + p + "=" + System.getProperty(p)).toList();
    }

    /** The command as one line of sh, each word quoted. */
    public static String shellLine(List<String> command) {
        return command.stream().map(GuestJava::quote).collect(Collectors.joining(" "));
    }

    public static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }
}
