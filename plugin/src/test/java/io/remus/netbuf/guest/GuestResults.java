package io.remus.netbuf.guest;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DynamicTest;

/** The results file {@link GuestTestMain} wrote, as one dynamic test per guest test. */
public final class GuestResults {

    private GuestResults() {
    }

    /**
     * One test per record, named {@code [label] Class.method}, failing with the guest's message and trace; fails
     * at once with {@code tail} (the guest's console) when the guest found no tests tagged {@code tag}.
     */
    public static List<DynamicTest> tests(Path results, String label, String tag, String tail) throws IOException {
        JsonNode records = new ObjectMapper().readTree(results.toFile());
        if (records.isEmpty()) {
            fail("the guest found no tests tagged " + tag + "\n" + tail);
        }
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode r : records) {
            String status = r.get("status").asText();
            tests.add(DynamicTest.dynamicTest("[" + label + "] " + r.get("name").asText(), () -> {
                if (!status.equals("SUCCESSFUL")) {
                    fail("inside " + label + ": " + r.get("name").asText() + " " + status + ": "
                            + r.path("message").asText().strip()
                            + "\n" + r.path("trace").asText());
                }
            }));
        }
        return tests;
    }
}
