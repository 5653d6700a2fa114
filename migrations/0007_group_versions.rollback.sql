DROP TABLE IF EXISTS customer_group_tombstones;
ALTER TABLE customer_groups DROP COLUMN IF EXISTS version;
