-- depends: 0004_erased_customers
-- transactional: false
-- GET /api/v1/customers?phone=: callers find a customer by its phone (E.164, exact).
-- CONCURRENTLY: a large customers table stays writable (the projector keeps writing)
-- while the index is built; it cannot run in a transaction, hence the directive above.
-- If a build fails it leaves an INVALID index: drop it (0005's rollback) and apply again.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_customers_phone ON customers (phone) WHERE phone IS NOT NULL;
