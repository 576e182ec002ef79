-- netbuf-server.hypervisor=xen: the Xen domains the admin marked for Remus, by name. A marked domain is buffered
-- whenever Xen runs a domain of that name, so a name no domain has yet may be marked. Portable between H2 and
-- PostgreSQL.

CREATE TABLE server_remus_mark (
    name       VARCHAR(64) PRIMARY KEY,
    marked_at  TIMESTAMP WITH TIME ZONE NOT NULL
);
