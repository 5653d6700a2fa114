-- depends: 0003_accounts
-- Tombstones of erased customers (README "Data protection"): the id and the
-- version of the erasure, nothing personal. The projector writes one and deletes
-- the customer's rows in one transaction, and projects nothing of a lower
-- version afterwards, so a late event cannot bring personal data back.
CREATE TABLE erased_customers (
    id            uuid PRIMARY KEY,
    version       integer NOT NULL,
    erased_at     timestamptz NOT NULL,
    projected_at  timestamptz NOT NULL
);
