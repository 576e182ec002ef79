-- Per-domain epoch bookkeeping of the checkpoint API: the open epoch, the closed one awaiting the backup's ack,
-- and counts. One row per domain that has had buffers.
CREATE TABLE netbuf_domain (
    domain_name       VARCHAR(64) PRIMARY KEY,
    -- the epoch whose output is being held now; 0 before the first checkpoint (output passes)
    open_epoch        BIGINT      NOT NULL DEFAULT 0,
    -- the closed epoch waiting for the backup's ack; 0 when none
    awaiting_epoch    BIGINT      NOT NULL DEFAULT 0,
    epochs_begun      BIGINT      NOT NULL DEFAULT 0,
    epochs_committed  BIGINT      NOT NULL DEFAULT 0,
    epochs_failed     BIGINT      NOT NULL DEFAULT 0,
    -- set when a vif's buffer or release failed: no new epoch until failover or stop
    failure           VARCHAR(2000),
    updated_at        TIMESTAMP WITH TIME ZONE NOT NULL
);
