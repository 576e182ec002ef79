package io.remus.netbuf.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Debian package that the package phase builds (src/deb/build-deb.sh, the deb profile; make deb), checked as an
 * admin would get it: its control fields, its files with their modes, lintian without errors, and systemd-analyze
 * verify on its unit in a throwaway root. Runs at integration-test (src/pom.xml), after the .deb exists. A missing
 * tool (dpkg-deb, lintian, systemd-analyze) fails the test, naming the Debian package to install.
 */
@Tag("deb-package")
class DebianPackageTest {

    static final String UNIT = "lib/systemd/system/remus-netbuf.service";
    static Path deb;

    @TempDir
    Path tmp;

    @BeforeAll
    static void findTheDeb() throws IOException {
        Path dir = Path.of(System.getProperty("netbuf.deb.dir", "target"));
        String version = System.getProperty("netbuf.deb.maven-version", "").replace('-', '~');
        List<Path> debs;
        try (Stream<Path> s = Files.list(dir)) {
            debs = s.filter(p -> p.getFileName().toString().matches("remus-netbuf_.*_all\\.deb")).toList();
        }
        assertThat(debs).as("one remus-netbuf_*_all.deb in %s (built by the package phase: make deb)",
                dir.toAbsolutePath()).hasSize(1);
        deb = debs.getFirst();
        if (!version.isEmpty()) {
            assertThat(deb.getFileName().toString()).isEqualTo("remus-netbuf_" + version + "_all.deb");
        }
    }

    record Result(int status, String out) {
    }

    static Result run(Map<String, String> env, String... command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new AssertionError(command[0] + " is missing: " + e.getMessage() + "; install Debian package "
                    + switch (command[0]) {
                        case "dpkg-deb" -> "dpkg";
                        case "lintian" -> "lintian";
                        case "systemd-analyze" -> "systemd";
                        default -> "that has " + command[0];
                    } + " (make deps-test does)", e);
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            fail(String.join(" ", command) + " did not end in 5 minutes");
        }
        return new Result(p.exitValue(), out);
    }

    static Result run(String... command) throws Exception {
        return run(Map.of(), command);
    }

    @Test
    void controlFieldsNameThePackageItsLibrariesAndAJava25() throws Exception {
        Result info = run("dpkg-deb", "-I", deb.toString());
        assertThat(info.status()).as(info.out()).isZero();
        Result control = run("dpkg-deb", "-f", deb.toString());
        assertThat(control.status()).as(control.out()).isZero();
        Map<String, String> fields = new TreeMap<>();
        for (String line : control.out().lines().toList()) {
            int colon = line.indexOf(':');
            if (!line.startsWith(" ") && colon > 0) {
                fields.put(line.substring(0, colon), line.substring(colon + 1).strip());
            }
        }
        assertThat(fields).containsEntry("Package", "remus-netbuf").containsEntry("Architecture", "all")
                .containsKeys("Version", "Maintainer", "Description", "Installed-Size");
        assertThat(deb.getFileName().toString()).isEqualTo("remus-netbuf_" + fields.get("Version") + "_all.deb");
        assertThat(List.of(fields.get("Depends").split(",\\s*"))).as(fields.get("Depends"))
                .contains("libnl-3-200", "libnl-route-3-200",
                        "openjdk-25-jre-headless | temurin-25-jre | temurin-25-jdk | java25-runtime-headless");
        assertThat(info.out()).contains("conffiles", "postinst", "prerm", "postrm", "md5sums");
    }

    @Test
    void filesWithTheirModesAndNoAdminPassword() throws Exception {
        Result list = run("dpkg-deb", "-c", deb.toString());
        assertThat(list.status()).as(list.out()).isZero();
        Map<String, String> modes = new TreeMap<>();
        for (String line : list.out().lines().toList()) {
            String[] f = line.strip().split("\\s+");
            assertThat(f[1]).as("owner of %s", line).isEqualTo("root/root");
            modes.put(f[f.length - 1], f[0]);
        }
        assertThat(modes)
                .containsEntry("./usr/share/remus-netbuf/netbuf-server.jar", "-rw-r--r--")
                .containsEntry("./usr/share/remus-netbuf/netbuf-plugin.jar", "-rw-r--r--")
                .containsEntry("./etc/remus-netbuf/application.yml", "-rw-r--r--")
                .containsEntry("./" + UNIT, "-rw-r--r--")
                .containsEntry("./usr/libexec/remus-netbuf/java", "-rwxr-xr-x")
                .containsEntry("./usr/libexec/remus-netbuf/release-held-output", "-rwxr-xr-x")
                .containsEntry("./usr/share/doc/remus-netbuf/copyright", "-rw-r--r--");
        assertThat(modes.keySet()).as("no admin password is shipped: postinst makes it")
                .noneMatch(p -> p.contains("admin-password"));

        Path ctrl = extractControl();
        assertThat(Files.readString(ctrl.resolve("conffiles")).lines().toList())
                .containsExactly("/etc/remus-netbuf/application.yml");
        String postinst = Files.readString(ctrl.resolve("postinst"));
        assertThat(postinst).contains("umask 077", "/etc/remus-netbuf/admin-password", "chmod 0600")
                .as("the password goes to the file only").doesNotContainPattern("echo[^\\n]*\\$password");
    }

    @Test
    void theConffileAndTheUnitSayWhatTheServiceMayDo() throws Exception {
        Path root = extract();
        String yml = Files.readString(root.resolve("etc/remus-netbuf/application.yml"));
        assertThat(yml).contains("address: 127.0.0.1", "jdbc:h2:file:/var/lib/remus-netbuf/",
                "admin-password-file: /etc/remus-netbuf/admin-password").containsPattern("demo:\\s+enabled: false");
        List<String> unit = Files.readAllLines(root.resolve(UNIT));
        assertThat(unit).contains("Restart=on-failure", "NoNewPrivileges=yes", "ProtectSystem=strict",
                "ReadWritePaths=/var/lib/remus-netbuf", "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_ADMIN CAP_SYS_NICE",
                "ExecStopPost=/usr/libexec/remus-netbuf/release-held-output", "WantedBy=multi-user.target");
        String execStart = unit.stream().filter(l -> l.startsWith("ExecStart=")).findFirst().orElseThrow();
        String java = execStart.substring("ExecStart=".length()).split(" ")[0];
        assertThat(java).isEqualTo("/usr/libexec/remus-netbuf/java");
        assertThat(execStart).contains("-jar /usr/share/remus-netbuf/netbuf-server.jar",
                "--spring.config.additional-location=file:/etc/remus-netbuf/application.yml");

        // the unit's java finds this test's Java 25 through JAVA_HOME, and skips a JAVA_HOME older than 25
        Result found = run(Map.of("JAVA_HOME", System.getProperty("java.home")),
                root.resolve(java.substring(1)).toString(), "-version");
        assertThat(found.status()).as(found.out()).isZero();
        assertThat(found.out()).contains("version \"" + System.getProperty("java.version") + "\"");
        Path old = Files.createDirectories(tmp.resolve("old-jdk/bin"));
        Files.writeString(old.resolveSibling("release"), "JAVA_VERSION=\"17.0.9\"\n");
        Files.writeString(old.resolve("java"), "#!/bin/sh\necho old java\n");
        old.resolve("java").toFile().setExecutable(true);
        Result skipped = run(Map.of("JAVA_HOME", old.getParent().toString()),
                root.resolve(java.substring(1)).toString(), "-version");
        assertThat(skipped.out()).doesNotContain("old java");
    }

    @Test
    void lintianReportsNoErrors() throws Exception {
        Result lintian = run("lintian", "--fail-on", "error", deb.toString());
        System.out.println("lintian " + deb.getFileName() + " (status " + lintian.status() + "):\n" + lintian.out());
        assertThat(lintian.out().lines().filter(l -> l.startsWith("E:")).toList()).as(lintian.out()).isEmpty();
        assertThat(lintian.status()).as(lintian.out()).isZero();
    }

    @Test
    void systemdAnalyzeVerifyAcceptsTheUnit() throws Exception {
        // a throwaway root: the package's files, and systemd's own units its dependencies name
        Path root = extract();
        Files.createDirectories(root.resolve("tmp"));
        Path units = root.resolve("lib/systemd/system");
        try (Stream<Path> s = Files.list(Path.of("/lib/systemd/system"))) {
            for (Path p : s.filter(p -> Files.isRegularFile(p)).toList()) {
                Path to = units.resolve(p.getFileName().toString());
                if (!Files.exists(to)) {
                    Files.copy(p, to, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
        Result verify = run("systemd-analyze", "verify", "--root=" + root, "/" + UNIT);
        System.out.println("systemd-analyze verify (status " + verify.status() + "): " + verify.out());
        assertThat(verify.out()).as("systemd-analyze verify says nothing of a good unit").isBlank();
        assertThat(verify.status()).isZero();
    }

    Path extract() throws Exception {
        Path root = tmp.resolve("root");
        Result x = run("dpkg-deb", "-x", deb.toString(), root.toString());
        assertThat(x.status()).as(x.out()).isZero();
        return root;
    }

    Path extractControl() throws Exception {
        Path ctrl = tmp.resolve("control");
        Result e = run("dpkg-deb", "-e", deb.toString(), ctrl.toString());
        assertThat(e.status()).as(e.out()).isZero();
        return ctrl;
    }
}
