-- depends: 0004_erased_customers
-- GET /api/v1/customers?phone=: callers find a customer by its phone (E.164, exact).
CREATE INDEX idx_customers_phone ON customers (phone) WHERE phone IS NOT NULL;
