package io.remus.netbuf.server.api;

import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import io.remus.netbuf.persistence.NetbufDatabaseException;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.setup.MockMvcBuilders;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * A database refusal from the checkpoint API (which a kernel test in user-mode-linux provokes for real, see
 * UmlFaultMatrixTest) reaches an API client as a problem detail that keeps its whole message.
 */
class ApiExceptionHandlerTest {

    static final String REFUSAL = "domain dom7: begin epoch 3 refused, the kernel was not changed (epoch 2 stays"
            + " open): the netbuf database refused to record the epochs of domain dom7: read-only; fix: make the"
            + " database writable";

    @RestController
    static class Refusing {
        @PostMapping("/api/netbuf/domains/dom7/epochs")
        void begin() {
            throw new NetbufDatabaseException(REFUSAL, new SQLException("read-only"));
        }
    }

    @Test
    void aDatabaseRefusalIs503WithWhatItMeansForTheKernel() throws Exception {
        MockMvc mvc = MockMvcBuilders.standaloneSetup(new Refusing()).setControllerAdvice(new ApiExceptionHandler())
                .build();
        mvc.perform(post("/api/netbuf/domains/dom7/epochs"))
                .andExpect(status().isServiceUnavailable())
                .andExpect(content().contentTypeCompatibleWith(MediaType.APPLICATION_PROBLEM_JSON))
                .andExpect(jsonPath("$.title").value("Database refused the record"))
                .andExpect(jsonPath("$.detail").value(REFUSAL));
    }
}
