-- The read model: a Postgres projection of the customer events, for list,
-- search and segments. Derived data: `python -m readmodel.rebuild` recreates it
-- from the state store. Every row keeps the customer version it shows.

CREATE EXTENSION IF NOT EXISTS unaccent;

-- unaccent() is STABLE (its dictionary could change); indexes need IMMUTABLE.
CREATE OR REPLACE FUNCTION immutable_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$;

CREATE TABLE customers (
    id                  uuid PRIMARY KEY,
    version             integer NOT NULL,
    email               varchar(255) NOT NULL,
    email_normalized    varchar(255) NOT NULL,
    first_name          varchar(100),
    last_name           varchar(100),
    phone               varchar(32),
    date_of_birth       date,
    gender              varchar(20),
    customer_type       varchar(20) NOT NULL,
    status              varchar(30) NOT NULL,
    email_verified      boolean NOT NULL DEFAULT false,
    registration_source varchar(50),
    metadata            jsonb NOT NULL DEFAULT '{}',
    customer_group_id   varchar(50),
    legacy_id           varchar(100),
    two_factor_enabled  boolean NOT NULL DEFAULT false,
    total_orders        integer NOT NULL DEFAULT 0,
    total_spent         numeric(14, 2) NOT NULL DEFAULT 0,
    last_order_at       timestamptz,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    deleted_at          timestamptz,
    last_login_at       timestamptz,
    projected_at        timestamptz NOT NULL DEFAULT now(),
    name_sort text GENERATED ALWAYS AS (
        lower(immutable_unaccent(coalesce(last_name, '') || ' ' || coalesce(first_name, '')))
    ) STORED,
    name_search tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', immutable_unaccent(coalesce(first_name, '') || ' ' || coalesce(last_name, '')))
    ) STORED
);

-- Keyset pagination: (sort key, id) on live rows, and on all rows for include_deleted.
CREATE INDEX idx_customers_created ON customers (created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX idx_customers_created_all ON customers (created_at DESC, id DESC);
CREATE INDEX idx_customers_name ON customers (name_sort, id) WHERE deleted_at IS NULL;
CREATE INDEX idx_customers_email ON customers (email_normalized) WHERE deleted_at IS NULL;
CREATE INDEX idx_customers_status ON customers (status, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX idx_customers_type ON customers (customer_type, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX idx_customers_customer_group ON customers (customer_group_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX idx_customers_full_name ON customers USING gin (name_search) WHERE deleted_at IS NULL;

CREATE TABLE customer_addresses (
    id                  uuid PRIMARY KEY,
    customer_id         uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    type                varchar(10) NOT NULL,
    first_name          varchar(100),
    last_name           varchar(100),
    company             varchar(255),
    address_line_1      varchar(255) NOT NULL,
    address_line_2      varchar(255),
    city                varchar(100) NOT NULL,
    state_province      varchar(100),
    postal_code         varchar(20),
    country_code        char(2) NOT NULL,
    phone               varchar(32),
    label               varchar(50),
    is_verified         boolean NOT NULL DEFAULT false,
    is_default_shipping boolean NOT NULL DEFAULT false,
    is_default_billing  boolean NOT NULL DEFAULT false,
    metadata            jsonb NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);

CREATE INDEX idx_addresses_customer_id ON customer_addresses (customer_id);
CREATE INDEX idx_addresses_customer_default ON customer_addresses (customer_id)
    WHERE is_default_shipping OR is_default_billing;

CREATE TABLE customer_preferences (
    customer_id         uuid PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    email_marketing     boolean NOT NULL,
    sms_marketing       boolean NOT NULL,
    push_notifications  boolean NOT NULL,
    newsletter          boolean NOT NULL,
    data_sharing        boolean NOT NULL,
    analytics_tracking  boolean NOT NULL,
    cookie_consent      boolean NOT NULL,
    order_updates       boolean NOT NULL,
    promotional_emails  boolean NOT NULL,
    custom_preferences  jsonb NOT NULL DEFAULT '{}',
    updated_at          timestamptz NOT NULL
);

-- The configured groups (CUSTOMER_GROUPS), written by the service at start-up.
CREATE TABLE customer_groups (
    id          varchar(50) PRIMARY KEY,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE segments (
    id           uuid PRIMARY KEY,
    name         varchar(100) NOT NULL UNIQUE,
    description  varchar(500),
    rules        jsonb NOT NULL,
    min_score    integer,
    is_default   boolean NOT NULL DEFAULT false,
    active       boolean NOT NULL DEFAULT true,
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    evaluated_at timestamptz
);

CREATE TABLE segment_members (
    segment_id   uuid NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    customer_id  uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    score        integer NOT NULL,
    assigned_at  timestamptz NOT NULL,
    PRIMARY KEY (segment_id, customer_id)
);

CREATE INDEX idx_segment_members_customer ON segment_members (customer_id);
