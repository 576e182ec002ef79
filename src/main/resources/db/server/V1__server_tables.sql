-- The VM-management server's own tables (the plugin's are netbuf_*). Portable between H2 and PostgreSQL.

CREATE TABLE server_domain (
    name        VARCHAR(32) PRIMARY KEY,
    domid       INT         NOT NULL UNIQUE,
    remus       BOOLEAN     NOT NULL,
    checkpoint  BOOLEAN     NOT NULL,
    vif_count   INT         NOT NULL,
    state       VARCHAR(16) NOT NULL,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE TABLE server_user (
    username       VARCHAR(64)  PRIMARY KEY,
    password_hash  VARCHAR(100) NOT NULL,
    role           VARCHAR(32)  NOT NULL,
    created_at     TIMESTAMP WITH TIME ZONE NOT NULL
);
