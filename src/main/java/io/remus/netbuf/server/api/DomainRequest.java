package io.remus.netbuf.server.api;

import jakarta.validation.constraints.AssertTrue;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;

/** POST /api/domains. */
public record DomainRequest(
        @NotNull @Pattern(regexp = DomainRequest.NAME, message = DomainRequest.NAME_RULE) String name,
        @NotNull(message = "must be true or false") Boolean remus,
        Boolean checkpoint,
        @NotNull @Min(value = 1, message = "must be 1 to 8") @Max(value = 8, message = "must be 1 to 8") Integer vifs) {

    /** It becomes part of a namespace name ({@code nbdom-NAME}) and of log lines: nothing a shell or path reads. */
    public static final String NAME = "[a-z][a-z0-9-]{0,31}";
    public static final String NAME_RULE = "must be 1 to 32 characters of a-z, 0-9 and '-', starting with a letter";

    public boolean checkpointOrFalse() {
        return checkpoint != null && checkpoint;
    }

    @AssertTrue(message = "the checkpoint loop drives a Remus domain's epochs: set remus to true or checkpoint to false")
    public boolean isCheckpoint() {
        return !checkpointOrFalse() || Boolean.TRUE.equals(remus);
    }
}
