-- What the cutover's shadow mode compared (ixgw shadow report): counts per minute, operation and
-- outcome; the differing samples, the newest kept per operation (no keys: the request is stored
-- without its credential headers).
CREATE TABLE shadow_counts (
    minute     BIGINT NOT NULL,
    operation  TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    count      BIGINT NOT NULL,
    PRIMARY KEY (minute, operation, outcome)
);

CREATE TABLE shadow_samples (
    seq            BIGSERIAL PRIMARY KEY,
    at             BIGINT NOT NULL,
    operation      TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    tenant         TEXT NOT NULL,
    request        TEXT NOT NULL,
    vendor_status  INTEGER NOT NULL,
    vendor_body    BYTEA NOT NULL,
    local_status   INTEGER NOT NULL,
    local_body     BYTEA NOT NULL
);
CREATE INDEX shadow_samples_by_operation ON shadow_samples (operation, seq);
