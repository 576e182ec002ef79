package io.remus.netbuf.guest;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TagFilter;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * Runs inside a guest kernel (user-mode-linux, Xen's dom0): every test tagged with the tag given as the first
 * argument, writing one JSON record per test to the results file given as the second; a third argument, if not
 * blank, selects classes ({@code FQCN}), methods ({@code FQCN#method}) or packages ({@code package:NAME}),
 * separated by commas. Classes run in the
 * order of their {@code @Order} (none: in the middle). The host side (UmlKernelTest, XenKernelTest) turns the
 * records back into test results with {@link GuestResults}.
 */
public final class GuestTestMain {

    public static void main(String[] args) throws Exception {
        String tag = args[0];
        Path results = Path.of(args[1]);
        String only = args.length > 2 ? args[2] : "";
        // a class that must run last (XenOutputCommitTest destroys the domU the others need) says so by @Order
        LauncherDiscoveryRequestBuilder request = LauncherDiscoveryRequestBuilder.request()
                .filters(TagFilter.includeTags(tag))
                .configurationParameter("junit.jupiter.testclass.order.default",
                        "org.junit.jupiter.api.ClassOrderer$OrderAnnotation");
        if (!only.isBlank()) {
            for (String one : only.split(",")) {
                String o = one.strip();
                request.selectors(o.startsWith("package:") ? DiscoverySelectors.selectPackage(o.substring(8))
                        : o.contains("#") ? DiscoverySelectors.selectMethod(o) : DiscoverySelectors.selectClass(o));
            }
        } else {
            request.selectors(DiscoverySelectors.selectPackage("io.remus.netbuf"));
        }
        LauncherDiscoveryRequest discovery = request.build();
        List<Map<String, Object>> records = new ArrayList<>();
        Launcher launcher = LauncherFactory.create();
        launcher.execute(discovery, new TestExecutionListener() {
            final Map<String, Long> started = new LinkedHashMap<>();

            @Override
            public void executionStarted(TestIdentifier id) {
                started.put(id.getUniqueId(), System.nanoTime());
                if (id.isTest()) {
                    System.out.println("START " + name(id));
                }
            }

            @Override
            public void executionSkipped(TestIdentifier id, String reason) {
                records.add(record(id, "SKIPPED", reason, null, 0));
            }

            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                long ms = (System.nanoTime() - started.getOrDefault(id.getUniqueId(), System.nanoTime())) / 1_000_000;
                Throwable t = result.getThrowable().orElse(null);
                if (id.isTest() || t != null) {
                    records.add(record(id, result.getStatus().name(), t == null ? null : String.valueOf(t.getMessage()),
                            t == null ? null : trace(t), ms));
                    System.out.println(result.getStatus() + " " + name(id) + " (" + ms + " ms)"
                            + (t == null ? "" : ": " + String.valueOf(t.getMessage()).strip().lines().limit(6)
                                    .collect(java.util.stream.Collectors.joining(" / "))));
                }
            }
        });
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(results.toFile(), records);
        System.exit(0);
    }

    private static Map<String, Object> record(TestIdentifier id, String status, String message, String trace, long ms) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("name", name(id));
        r.put("container", !id.isTest());
        r.put("status", status);
        r.put("message", message);
        r.put("trace", trace);
        r.put("millis", ms);
        return r;
    }

    private static String name(TestIdentifier id) {
        return id.getSource().filter(MethodSource.class::isInstance).map(MethodSource.class::cast)
                .map(m -> m.getJavaClass().getSimpleName() + "." + m.getMethodName())
                .orElse(id.getLegacyReportingName()) + (id.isTest() ? "" : " [container]")
                + (id.getDisplayName().contains("[") ? " " + id.getDisplayName() : "");
    }

    private static String trace(Throwable t) {
        StringWriter w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        return w.toString();
    }
}
