DROP TABLE IF EXISTS throttles;
DROP TABLE IF EXISTS refresh_tokens;
DROP TABLE IF EXISTS customer_sessions;
