-- Releasing a buffer's claims deletes by buffer_id: index it.
CREATE INDEX netbuf_vif_claim_by_buffer ON netbuf_vif_claim (buffer_id);
CREATE INDEX netbuf_ifb_claim_by_buffer ON netbuf_ifb_claim (buffer_id);
