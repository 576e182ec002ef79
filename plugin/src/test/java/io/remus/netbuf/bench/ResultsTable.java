package io.remus.netbuf.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rewrites the results table in README.md, between {@value #BEGIN} and {@value #END}, from the lines a run
 * printed: one row per verdict, under the bench it belongs to, with the run's header (date, machine, load) and
 * command. {@code make bench} does it after every run, so the table is always what the last run printed.
 */
final class ResultsTable {

    static final String BEGIN = "<!-- bench-results: written by make bench, do not edit -->";
    static final String END = "<!-- /bench-results -->";
    private static final Pattern VERDICT = Pattern.compile("^\\s+(.*?) \\(target ([^)]*)\\) (met|MISSED)$");

    private ResultsTable() {
    }

    static void update(Path readme, List<String> lines, String command) throws IOException {
        String text = Files.readString(readme);
        int begin = text.indexOf(BEGIN);
        int end = text.indexOf(END);
        if (begin < 0 || end < begin) {
            throw new IllegalStateException(readme + " has no " + BEGIN + " ... " + END + " block to rewrite");
        }
        String table = table(lines, command);
        Files.writeString(readme, text.substring(0, begin + BEGIN.length()) + "\n" + table + text.substring(end));
    }

    static String table(List<String> lines, String command) {
        List<String> out = new ArrayList<>();
        String header = lines.isEmpty() ? "" : lines.getFirst().replaceFirst("^# netbuf bench, ", "");
        out.add("`" + command + "`, " + header + ":");
        out.add("");
        out.add("| bench | figures | result | target | verdict |");
        out.add("| --- | --- | --- | --- | --- |");
        String bench = "";
        String figures = "";
        for (String line : lines) {
            if (line.startsWith("#")) {
                continue;
            }
            if (!line.startsWith(" ")) {
                int colon = line.indexOf(": ");
                bench = colon < 0 ? line : line.substring(0, colon);
                figures = colon < 0 ? "" : line.substring(colon + 2).replaceFirst(":$", "");
                continue;
            }
            Matcher m = VERDICT.matcher(line);
            if (m.matches()) {
                out.add("| " + cell(bench) + " | " + cell(figures) + " | " + cell(m.group(1)) + " | " + cell(m.group(2))
                        + " | " + m.group(3) + " |");
                bench = "";
                figures = "";
            }
        }
        String last = lines.isEmpty() ? "" : lines.getLast();
        if (last.startsWith("# ")) {
            out.add("");
            out.add(last.substring(2) + ".");
        }
        return String.join("\n", out) + "\n";
    }

    private static String cell(String s) {
        return s.replace("|", "\\|");
    }
}
