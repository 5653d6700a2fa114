DROP INDEX IF EXISTS idx_customers_phone;
