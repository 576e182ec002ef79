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

    /** Rewrites the table from a results.txt: {@code ResultsTable README.md results.txt "make bench"}. */
    public static void main(String[] args) throws IOException {
        update(Path.of(args[0]), Files.readAllLines(Path.of(args[1])), args.length > 2 ? args[2] : "make bench");
    }

    static String table(List<String> lines, String command) {
        List<String> out = new ArrayList<>();
        String header = lines.isEmpty() ? "" : lines.getFirst().replaceFirst("^# netbuf bench, ", "");
        out.add("`" + command.strip() + "`, " + header + ":");
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
                String title = line.replaceFirst(":$", "");
                int colon = title.indexOf(": ");
                bench = colon < 0 ? title : title.substring(0, colon);
                figures = colon < 0 ? "" : title.substring(colon + 2);
                continue;
            }
            if (line.strip().startsWith("rounds (ms")) {
                continue;
            }
            Matcher m = VERDICT.matcher(line);
            String result = m.matches() ? m.group(1) : line.strip();
            String target = m.matches() ? m.group(2) : "";
            String verdict = m.matches() ? m.group(3) : "(no target)";
            out.add("| " + cell(bench) + " | " + cell(figures) + " | " + cell(result) + " | " + cell(target) + " | "
                    + verdict + " |");
            bench = "";
            figures = "";
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
