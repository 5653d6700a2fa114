-- depends: 0005_phone_lookup
-- The profile's language (BCP 47) and a BUSINESS customer's company and VAT id:
-- the projection writes every profile field (readmodel/projection.py).
ALTER TABLE customers ADD COLUMN IF NOT EXISTS locale varchar(35);
ALTER TABLE customers ADD COLUMN IF NOT EXISTS company_name varchar(255);
ALTER TABLE customers ADD COLUMN IF NOT EXISTS vat_id varchar(32);
