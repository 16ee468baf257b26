-- The history store, SQLite dialect. Instants are UTC epoch milliseconds (INTEGER).
CREATE TABLE tenants (
    account_id  TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE environments (
    tenant      TEXT NOT NULL REFERENCES tenants(account_id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    is_default  BOOLEAN NOT NULL,
    PRIMARY KEY (tenant, name)
);

-- Keys are kept as SHA-256 digests only; lookups go by digest.
CREATE TABLE api_keys (
    key_id      TEXT PRIMARY KEY,
    digest      BLOB NOT NULL UNIQUE,
    tenant      TEXT NOT NULL,
    environment TEXT NOT NULL,
    scope       TEXT NOT NULL CHECK (scope IN ('read', 'ingest', 'admin')),
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    FOREIGN KEY (tenant, environment) REFERENCES environments(tenant, name) ON DELETE CASCADE
);

CREATE TABLE interactions (
    pk                   INTEGER PRIMARY KEY,
    tenant               TEXT NOT NULL,
    environment          TEXT NOT NULL,
    id                   TEXT NOT NULL,
    customer_id          TEXT,
    started_at           INTEGER NOT NULL,
    ended_at             INTEGER,
    -- completion, else newest page, else start: what the Interact windows measure
    last_activity        INTEGER NOT NULL,
    media_type           TEXT,
    status               INTEGER,
    context_json         TEXT,
    plain_text           TEXT,
    structured_text      TEXT,
    structured_text_mime TEXT,
    binary_content       BLOB,
    binary_content_mime  TEXT,
    variable_sets_json   TEXT,
    UNIQUE (tenant, environment, id),
    FOREIGN KEY (tenant, environment) REFERENCES environments(tenant, name)
);
CREATE INDEX interactions_by_customer ON interactions (tenant, environment, customer_id, started_at DESC, id DESC);
CREATE INDEX interactions_by_last_activity ON interactions (last_activity);

CREATE TABLE interaction_services (
    interaction_pk INTEGER NOT NULL REFERENCES interactions(pk) ON DELETE CASCADE,
    service_id     INTEGER NOT NULL,
    tenant         TEXT NOT NULL,
    environment    TEXT NOT NULL,
    started_at     INTEGER NOT NULL,
    interaction_id TEXT NOT NULL,
    PRIMARY KEY (interaction_pk, service_id)
) WITHOUT ROWID;
CREATE INDEX interaction_services_by_service
    ON interaction_services (tenant, environment, service_id, started_at DESC, interaction_id DESC);

-- Each page as its canonical JSON, rendered from the typed model when stored.
CREATE TABLE pages (
    interaction_pk INTEGER NOT NULL REFERENCES interactions(pk) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,
    timestamp      INTEGER NOT NULL,
    body           TEXT NOT NULL,
    PRIMARY KEY (interaction_pk, seq)
) WITHOUT ROWID;

-- Every allocation, as recorded.
CREATE TABLE caller_attributes (
    interaction_pk INTEGER NOT NULL REFERENCES interactions(pk) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    value          TEXT NOT NULL,
    allocated_at   INTEGER NOT NULL,
    PRIMARY KEY (interaction_pk, seq)
) WITHOUT ROWID;

-- The allocation that counts per interaction and kind (the latest): what lookups match.
CREATE TABLE current_attributes (
    interaction_pk INTEGER NOT NULL REFERENCES interactions(pk) ON DELETE CASCADE,
    kind           TEXT NOT NULL,
    tenant         TEXT NOT NULL,
    environment    TEXT NOT NULL,
    value          TEXT NOT NULL,
    allocated_at   INTEGER NOT NULL,
    PRIMARY KEY (interaction_pk, kind)
) WITHOUT ROWID;
CREATE INDEX current_attributes_by_value ON current_attributes (tenant, environment, value, allocated_at DESC);

CREATE TABLE photos (
    interaction_pk INTEGER NOT NULL REFERENCES interactions(pk) ON DELETE CASCADE,
    path           TEXT NOT NULL,
    mime           TEXT NOT NULL,
    data           BLOB NOT NULL,
    PRIMARY KEY (interaction_pk, path)
) WITHOUT ROWID;
