DROP TABLE IF EXISTS segment_members;
DROP TABLE IF EXISTS segments;
DROP TABLE IF EXISTS customer_groups;
DROP TABLE IF EXISTS customer_preferences;
DROP TABLE IF EXISTS customer_addresses;
DROP TABLE IF EXISTS customers;
DROP FUNCTION IF EXISTS immutable_unaccent(text);
