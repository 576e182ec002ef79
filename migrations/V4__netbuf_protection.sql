-- Who drives each protected domain's epochs, its deadline on held output, and whether it is protected now or was
-- failed over (and why). One row per domain that has been protected; epochs stay in netbuf_domain.
CREATE TABLE netbuf_protection (
    domain_name     VARCHAR(64)   PRIMARY KEY,
    -- LOOP (the built-in checkpoint loop) or API (an outside engine through the checkpoint API)
    driver          VARCHAR(16)   NOT NULL,
    -- the ack deadline for this domain in milliseconds; NULL: netbuf.checkpoint.ack-timeout
    ack_timeout_ms  BIGINT,
    -- PROTECTED (output held until acknowledged) or UNPROTECTED (failed over: output flows)
    state           VARCHAR(16)   NOT NULL,
    -- why the domain was last failed over; NULL if never
    reason          VARCHAR(2000),
    failed_over_at  TIMESTAMP WITH TIME ZONE,
    failovers       BIGINT        NOT NULL DEFAULT 0,
    updated_at      TIMESTAMP WITH TIME ZONE NOT NULL
);
