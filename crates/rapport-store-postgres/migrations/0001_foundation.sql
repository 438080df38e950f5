-- Foundation: tenants, users, API keys, customers, timeline, audit chain, idempotency.
-- Times are TIMESTAMPTZ (microseconds); ids are UUID. Every key begins with tenant_id.

CREATE TABLE tenants (
    tenant_id     UUID PRIMARY KEY,
    name          TEXT NOT NULL,
    slug          TEXT NOT NULL,
    base_currency TEXT NOT NULL,
    phone_region  TEXT NOT NULL,
    timezone      TEXT NOT NULL,
    settings      JSONB NOT NULL DEFAULT '{}',
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX tenants_slug_key ON tenants (slug);

-- Directory of login emails: an email signs in to exactly one tenant.
CREATE TABLE user_logins (
    email_normalized TEXT PRIMARY KEY,
    tenant_id        UUID NOT NULL REFERENCES tenants (tenant_id),
    user_id          UUID NOT NULL
);

CREATE TABLE users (
    tenant_id        UUID NOT NULL REFERENCES tenants (tenant_id),
    id               UUID NOT NULL,
    email            TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    name             TEXT NOT NULL,
    role             TEXT NOT NULL,
    password_hash    TEXT NOT NULL,
    active           BOOLEAN NOT NULL,
    last_login_at    TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    version          BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX users_email_key ON users (tenant_id, email_normalized);

CREATE TABLE api_keys (
    tenant_id    UUID NOT NULL REFERENCES tenants (tenant_id),
    id           UUID NOT NULL,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    created_by   UUID,
    created_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX api_keys_prefix_key ON api_keys (tenant_id, prefix);

CREATE TABLE refresh_tokens (
    tenant_id  UUID NOT NULL,
    id         UUID NOT NULL,
    user_id    UUID NOT NULL,
    token_hash TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE UNIQUE INDEX refresh_tokens_hash_key ON refresh_tokens (tenant_id, token_hash);

CREATE TABLE customers (
    tenant_id               UUID NOT NULL REFERENCES tenants (tenant_id),
    id                      UUID NOT NULL,
    name                    TEXT NOT NULL,
    company_name            TEXT,
    job_title               TEXT,
    industry                TEXT,
    customer_type           TEXT NOT NULL,
    email                   TEXT,
    email_normalized        TEXT,
    phone                   TEXT,
    phone_e164              TEXT,
    phone_verified          BOOLEAN NOT NULL DEFAULT false,
    website                 TEXT,
    street                  TEXT,
    city                    TEXT,
    state                   TEXT,
    postal_code             TEXT,
    country                 TEXT,
    status                  TEXT NOT NULL,
    lifecycle_stage         TEXT NOT NULL,
    lifecycle_updated_at    TIMESTAMPTZ NOT NULL,
    tags                    JSONB NOT NULL DEFAULT '[]',
    source                  TEXT NOT NULL,
    source_detail           TEXT,
    assigned_to             UUID,
    portal_user_id          UUID,
    currency                TEXT,
    language                TEXT,
    timezone                TEXT,
    bant                    JSONB NOT NULL,
    preferences             JSONB NOT NULL,
    notes                   TEXT,
    custom_fields           JSONB NOT NULL DEFAULT '{}',
    last_contact_at         TIMESTAMPTZ,
    next_follow_up_at       TIMESTAMPTZ,
    total_revenue           BIGINT NOT NULL DEFAULT 0,
    total_invoices          BIGINT NOT NULL DEFAULT 0,
    lifetime_value          BIGINT NOT NULL DEFAULT 0,
    lead_score              INTEGER,
    churn_risk              TEXT,
    deleted_at              TIMESTAMPTZ,
    deleted_by              UUID,
    merged_into_customer_id UUID,
    created_at              TIMESTAMPTZ NOT NULL,
    created_by              UUID,
    updated_at              TIMESTAMPTZ NOT NULL,
    updated_by              UUID,
    version                 BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, assigned_to) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, portal_user_id) REFERENCES users (tenant_id, id)
);
CREATE UNIQUE INDEX customers_portal_user_key ON customers (tenant_id, portal_user_id) WHERE portal_user_id IS NOT NULL;
CREATE INDEX customers_updated_idx ON customers (tenant_id, updated_at, id);
CREATE INDEX customers_lifecycle_updated_idx ON customers (tenant_id, lifecycle_stage, updated_at, id);
CREATE INDEX customers_created_idx ON customers (tenant_id, created_at, id);
CREATE INDEX customers_name_idx ON customers (tenant_id, name, id);
CREATE INDEX customers_email_idx ON customers (tenant_id, email_normalized) WHERE email_normalized IS NOT NULL;
CREATE INDEX customers_phone_idx ON customers (tenant_id, phone_e164) WHERE phone_e164 IS NOT NULL;
CREATE INDEX customers_assigned_idx ON customers (tenant_id, assigned_to, updated_at);

CREATE TABLE customer_tags (
    tenant_id   UUID NOT NULL,
    customer_id UUID NOT NULL,
    tag_folded  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, customer_id, tag_folded),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX customer_tags_tag_idx ON customer_tags (tenant_id, tag_folded, customer_id);

CREATE TABLE customer_events (
    tenant_id   UUID NOT NULL,
    id          UUID NOT NULL,
    customer_id UUID NOT NULL,
    event_type  TEXT NOT NULL,
    data        JSONB NOT NULL,
    actor_type  TEXT NOT NULL,
    actor_id    UUID,
    at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX customer_events_customer_idx ON customer_events (tenant_id, customer_id, id);

CREATE TABLE audit_heads (
    tenant_id UUID PRIMARY KEY REFERENCES tenants (tenant_id),
    seq       BIGINT NOT NULL,
    hash      TEXT NOT NULL
);

CREATE TABLE audit_log (
    tenant_id       UUID NOT NULL REFERENCES tenants (tenant_id),
    seq             BIGINT NOT NULL,
    table_name      TEXT NOT NULL,
    record_id       UUID NOT NULL,
    action          TEXT NOT NULL,
    old_values      JSONB NOT NULL,
    new_values      JSONB NOT NULL,
    values_digest   TEXT NOT NULL,
    actor_type      TEXT NOT NULL,
    actor_id        UUID,
    conversation_id TEXT,
    ip              TEXT,
    user_agent      TEXT,
    request_id      TEXT,
    at              TIMESTAMPTZ NOT NULL,
    prev_hash       TEXT NOT NULL,
    hash            TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_log_record_idx ON audit_log (tenant_id, record_id, seq);

CREATE TABLE idempotency_keys (
    tenant_id    UUID NOT NULL REFERENCES tenants (tenant_id),
    principal_id UUID NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    headers      JSONB NOT NULL,
    body         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, principal_id, key)
);

-- The audit log is append-only, whatever the application does.
CREATE FUNCTION rapport_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION rapport_audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION rapport_audit_append_only();

-- The application runs every query as rapport_app, a role that owns nothing and cannot
-- bypass row-level security; it switches to it at the start of each transaction.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rapport_app') THEN
        CREATE ROLE rapport_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO rapport_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO rapport_app;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM rapport_app;

-- The tenant of the current transaction, set with set_config('rapport.tenant_id', id, true).
CREATE FUNCTION rapport_current_tenant() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT NULLIF(current_setting('rapport.tenant_id', true), '')::uuid
$$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tenants', 'user_logins', 'users', 'api_keys', 'refresh_tokens',
        'customers', 'customer_tags', 'customer_events', 'audit_heads', 'audit_log',
        'idempotency_keys']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = rapport_current_tenant()) '
                       'WITH CHECK (tenant_id = rapport_current_tenant())', t);
    END LOOP;
END
$$;

-- Two look-ups happen before a tenant is known: which tenant a login email belongs to,
-- and the list of tenants (first start, verifying every chain). They run as the owner,
-- which bypasses row-level security only inside these functions.
ALTER TABLE tenants NO FORCE ROW LEVEL SECURITY;
ALTER TABLE user_logins NO FORCE ROW LEVEL SECURITY;

CREATE FUNCTION rapport_locate_login(email text) RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT tenant_id FROM user_logins WHERE email_normalized = email
$$;
CREATE FUNCTION rapport_tenant_ids() RETURNS SETOF uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT tenant_id FROM tenants ORDER BY created_at, tenant_id
$$;
REVOKE ALL ON FUNCTION rapport_locate_login(text), rapport_tenant_ids() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rapport_locate_login(text), rapport_tenant_ids(), rapport_current_tenant() TO rapport_app;
