-- Seed 002's seed data (three businesses, a chart of 30 accounts, transaction types) written
-- the way its seed_data.sql loads them: plain INSERTs into its own table names, which crm_erp
-- keeps as views in schema erp_legacy. The plan names the counts (3 businesses, 30 accounts)
-- and account 1170 (cash); the rows themselves are ours. Load in one transaction with:
--   psql -1 -v ON_ERROR_STOP=1 -f extensions/crm_erp/seed002/seed_data.sql
-- then give each business its module with erp.setup_business() (it reuses these accounts).
SET search_path = erp_legacy, pg_catalog;

INSERT INTO business (id, name, business_type) VALUES
    (101, 'Tomtin Water', 'water'),
    (102, 'Tomtin Laundry', 'laundry'),
    (103, 'Tomtin Retail & Gas', 'retail');

-- account_type_id: 1 Asset, 2 Liability, 3 Equity, 4 Revenue, 5 Expense (erp_legacy.account_type).
INSERT INTO account (business_id, account_number, name, account_type_id)
SELECT b.id, a.account_number, a.name, a.account_type_id
  FROM (VALUES (101), (102), (103)) AS b (id),
       (VALUES ('1170', 'Cash on hand', 1), ('1180', 'M-Pesa till', 1), ('1200', 'Accounts receivable', 1),
               ('1300', 'Inventory', 1), ('2100', 'Accounts payable', 2), ('2200', 'Customer deposits', 2),
               ('3000', 'Owner''s equity', 3), ('4000', 'Sales revenue', 4), ('5000', 'Cost of sales', 5),
               ('6000', 'Operating expenses', 5)) AS a (account_number, name, account_type_id);

INSERT INTO transaction_type (business_id, code, name, description)
SELECT b.id, t.code, t.name, t.description
  FROM (VALUES (101), (102), (103)) AS b (id),
       (VALUES ('SALE', 'Sale', 'Goods or services sold'),
               ('PAYMENT', 'Payment received', 'A customer pays what they owe'),
               ('PURCHASE', 'Purchase', 'Stock or supplies bought'),
               ('EXPENSE', 'Expense', 'Rent, wages, fuel, utilities'),
               ('ADJUSTMENT', 'Adjustment', 'A correction entered by hand')) AS t (code, name, description);
RESET search_path;
