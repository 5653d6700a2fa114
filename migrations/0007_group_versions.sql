-- depends: 0006_locale_and_business
-- The group list follows the customer_group.* events by version: an older event
-- (a late customer_group.updated) never undoes a newer one, and a deleted group's
-- tombstone keeps it from coming back (a deleted id is never used again).
-- The configured groups recorded at start-up have version 0.
ALTER TABLE customer_groups ADD COLUMN IF NOT EXISTS version integer NOT NULL DEFAULT 0;
CREATE TABLE customer_group_tombstones (
    id          varchar(50) PRIMARY KEY,
    version     integer NOT NULL,
    deleted_at  timestamptz NOT NULL DEFAULT now()
);
