-- Foundation: tenants, users, API keys, customers, timeline, audit chain, idempotency.
-- Times are INTEGER microseconds since the Unix epoch (UTC); ids are 16-byte UUID blobs.

CREATE TABLE tenants (
    tenant_id     BLOB PRIMARY KEY,
    name          TEXT NOT NULL,
    slug          TEXT NOT NULL,
    base_currency TEXT NOT NULL,
    phone_region  TEXT NOT NULL,
    timezone      TEXT NOT NULL,
    settings      TEXT NOT NULL DEFAULT '{}',
    created_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX tenants_slug_key ON tenants (slug);

-- Directory of login emails: an email signs in to exactly one tenant.
CREATE TABLE user_logins (
    email_normalized TEXT PRIMARY KEY,
    tenant_id        BLOB NOT NULL REFERENCES tenants (tenant_id),
    user_id          BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE users (
    tenant_id        BLOB NOT NULL REFERENCES tenants (tenant_id),
    id               BLOB NOT NULL,
    email            TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    name             TEXT NOT NULL,
    role             TEXT NOT NULL,
    password_hash    TEXT NOT NULL,
    active           INTEGER NOT NULL,
    last_login_at    INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    version          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX users_email_key ON users (tenant_id, email_normalized);

CREATE TABLE api_keys (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    id           BLOB NOT NULL,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    created_by   BLOB,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    last_used_at INTEGER,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX api_keys_prefix_key ON api_keys (tenant_id, prefix);

CREATE TABLE refresh_tokens (
    tenant_id  BLOB NOT NULL,
    id         BLOB NOT NULL,
    user_id    BLOB NOT NULL,
    token_hash TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX refresh_tokens_hash_key ON refresh_tokens (tenant_id, token_hash);

CREATE TABLE customers (
    tenant_id               BLOB NOT NULL REFERENCES tenants (tenant_id),
    id                      BLOB NOT NULL,
    name                    TEXT NOT NULL,
    company_name            TEXT,
    job_title               TEXT,
    industry                TEXT,
    customer_type           TEXT NOT NULL,
    email                   TEXT,
    email_normalized        TEXT,
    phone                   TEXT,
    phone_e164              TEXT,
    phone_verified          INTEGER NOT NULL DEFAULT 0,
    website                 TEXT,
    street                  TEXT,
    city                    TEXT,
    state                   TEXT,
    postal_code             TEXT,
    country                 TEXT,
    status                  TEXT NOT NULL,
    lifecycle_stage         TEXT NOT NULL,
    lifecycle_updated_at    INTEGER NOT NULL,
    tags                    TEXT NOT NULL DEFAULT '[]',
    source                  TEXT NOT NULL,
    source_detail           TEXT,
    assigned_to             BLOB,
    portal_user_id          BLOB,
    currency                TEXT,
    language                TEXT,
    timezone                TEXT,
    bant                    TEXT NOT NULL,
    preferences             TEXT NOT NULL,
    notes                   TEXT,
    custom_fields           TEXT NOT NULL DEFAULT '{}',
    last_contact_at         INTEGER,
    next_follow_up_at       INTEGER,
    total_revenue           INTEGER NOT NULL DEFAULT 0,
    total_invoices          INTEGER NOT NULL DEFAULT 0,
    lifetime_value          INTEGER NOT NULL DEFAULT 0,
    lead_score              INTEGER,
    churn_risk              TEXT,
    deleted_at              INTEGER,
    deleted_by              BLOB,
    merged_into_customer_id BLOB,
    created_at              INTEGER NOT NULL,
    created_by              BLOB,
    updated_at              INTEGER NOT NULL,
    updated_by              BLOB,
    version                 INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, assigned_to) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, portal_user_id) REFERENCES users (tenant_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX customers_portal_user_key ON customers (tenant_id, portal_user_id) WHERE portal_user_id IS NOT NULL;
CREATE INDEX customers_updated_idx ON customers (tenant_id, updated_at, id);
CREATE INDEX customers_lifecycle_updated_idx ON customers (tenant_id, lifecycle_stage, updated_at, id);
CREATE INDEX customers_created_idx ON customers (tenant_id, created_at, id);
CREATE INDEX customers_name_idx ON customers (tenant_id, name, id);
CREATE INDEX customers_email_idx ON customers (tenant_id, email_normalized) WHERE email_normalized IS NOT NULL;
CREATE INDEX customers_phone_idx ON customers (tenant_id, phone_e164) WHERE phone_e164 IS NOT NULL;
CREATE INDEX customers_assigned_idx ON customers (tenant_id, assigned_to, updated_at);

CREATE TABLE customer_tags (
    tenant_id   BLOB NOT NULL,
    customer_id BLOB NOT NULL,
    tag_folded  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, customer_id, tag_folded),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX customer_tags_tag_idx ON customer_tags (tenant_id, tag_folded, customer_id);

CREATE TABLE customer_events (
    tenant_id   BLOB NOT NULL,
    id          BLOB NOT NULL,
    customer_id BLOB NOT NULL,
    event_type  TEXT NOT NULL,
    data        TEXT NOT NULL,
    actor_type  TEXT NOT NULL,
    actor_id    BLOB,
    at          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX customer_events_customer_idx ON customer_events (tenant_id, customer_id, id);

CREATE TABLE audit_heads (
    tenant_id BLOB PRIMARY KEY REFERENCES tenants (tenant_id),
    seq       INTEGER NOT NULL,
    hash      TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE audit_log (
    tenant_id       BLOB NOT NULL REFERENCES tenants (tenant_id),
    seq             INTEGER NOT NULL,
    table_name      TEXT NOT NULL,
    record_id       BLOB NOT NULL,
    action          TEXT NOT NULL,
    old_values      TEXT NOT NULL,
    new_values      TEXT NOT NULL,
    values_digest   TEXT NOT NULL,
    actor_type      TEXT NOT NULL,
    actor_id        BLOB,
    conversation_id TEXT,
    ip              TEXT,
    user_agent      TEXT,
    request_id      TEXT,
    at              INTEGER NOT NULL,
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) WITHOUT ROWID;
CREATE INDEX audit_log_record_idx ON audit_log (tenant_id, record_id, seq);

-- The audit log is append-only, whatever the application does.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TABLE idempotency_keys (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    principal_id BLOB NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    headers      TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, principal_id, key)
) WITHOUT ROWID;
