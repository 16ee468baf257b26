-- The history store, PostgreSQL dialect. Instants are UTC epoch milliseconds (INTEGER).
CREATE TABLE tenants (
    account_id  TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
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
    digest      BYTEA NOT NULL UNIQUE,
    tenant      TEXT NOT NULL,
    environment TEXT NOT NULL,
    scope       TEXT NOT NULL CHECK (scope IN ('read', 'ingest', 'admin')),
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    FOREIGN KEY (tenant, environment) REFERENCES environments(tenant, name) ON DELETE CASCADE
);

CREATE TABLE interactions (
    pk                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant               TEXT NOT NULL,
    environment          TEXT NOT NULL,
    id                   TEXT NOT NULL,
    customer_id          TEXT,
    started_at           BIGINT NOT NULL,
    ended_at             BIGINT,
    -- completion, else newest page, else start: what the Interact windows measure
    last_activity        BIGINT NOT NULL,
    media_type           TEXT,
    status               BIGINT,
    context_json         TEXT,
    plain_text           TEXT,
    structured_text      TEXT,
    structured_text_mime TEXT,
    binary_content       BYTEA,
    binary_content_mime  TEXT,
    variable_sets_json   TEXT,
    UNIQUE (tenant, environment, id),
    FOREIGN KEY (tenant, environment) REFERENCES environments(tenant, name)
);
CREATE INDEX interactions_by_customer ON interactions (tenant, environment, customer_id, started_at DESC, id DESC);
CREATE INDEX interactions_by_last_activity ON interactions (last_activity);

CREATE TABLE interaction_services (
    interaction_pk BIGINT NOT NULL REFERENCES interactions(pk) ON DELETE CASCADE,
    service_id     BIGINT NOT NULL,
    tenant         TEXT NOT NULL,
    environment    TEXT NOT NULL,
    started_at     BIGINT NOT NULL,
    interaction_id TEXT NOT NULL,
    PRIMARY KEY (interaction_pk, service_id)
);
CREATE INDEX interaction_services_by_service
    ON interaction_services (tenant, environment, service_id, started_at DESC, interaction_id DESC);

-- Each page as its canonical JSON, rendered from the typed model when stored.
CREATE TABLE pages (
    interaction_pk BIGINT NOT NULL REFERENCES interactions(pk) ON DELETE CASCADE,
    seq            BIGINT NOT NULL,
    timestamp      BIGINT NOT NULL,
    body           TEXT NOT NULL,
    PRIMARY KEY (interaction_pk, seq)
);

-- Every allocation, as recorded.
CREATE TABLE caller_attributes (
    interaction_pk BIGINT NOT NULL REFERENCES interactions(pk) ON DELETE CASCADE,
    seq            BIGINT NOT NULL,
    kind           TEXT NOT NULL,
    value          TEXT NOT NULL,
    allocated_at   BIGINT NOT NULL,
    PRIMARY KEY (interaction_pk, seq)
);

-- The allocation that counts per interaction and kind (the latest): what lookups match.
CREATE TABLE current_attributes (
    interaction_pk BIGINT NOT NULL REFERENCES interactions(pk) ON DELETE CASCADE,
    kind           TEXT NOT NULL,
    tenant         TEXT NOT NULL,
    environment    TEXT NOT NULL,
    value          TEXT NOT NULL,
    allocated_at   BIGINT NOT NULL,
    PRIMARY KEY (interaction_pk, kind)
);
CREATE INDEX current_attributes_by_value ON current_attributes (tenant, environment, value, allocated_at DESC);

CREATE TABLE photos (
    interaction_pk BIGINT NOT NULL REFERENCES interactions(pk) ON DELETE CASCADE,
    path           TEXT NOT NULL,
    mime           TEXT NOT NULL,
    data           BYTEA NOT NULL,
    PRIMARY KEY (interaction_pk, path)
);
