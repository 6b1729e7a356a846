-- The seeds' legacy names over crm_collections' tables (schema collections_compat), for the old
-- applications while they move: `SET search_path = collections_compat` and their queries run.
-- Each view shows the current business's rows (security_invoker: tenant isolation applies);
-- a view over one table with plain column references is updatable through PostgreSQL's own
-- rules (writes go through the same triggers as any INSERT or UPDATE), computed columns are
-- read-only. business_id defaults to crm_core.current_business(). Seed 002's ledger, journal
-- and accounts are crm_erp's erp_legacy schema (not copied here). See docs/migration.md.

CREATE SCHEMA collections_compat;
REVOKE ALL ON SCHEMA collections_compat FROM PUBLIC;
GRANT USAGE ON SCHEMA collections_compat TO crm_core_app, crm_core_readonly;
COMMENT ON SCHEMA collections_compat IS
    'The legacy names of seeds 000, 001 and 003 over crm_collections (docs/migration.md).';

-- ---------------------------------------------------------------------------------------
-- Seed 003 (voice-collection database): customers, loans, file_uploads, upload_rows.

-- customers: the old columns (name, phone_number) and the new ones (full_name, primary_phone,
-- fingerprint ...). name, phone_number, full_name, primary_phone, email, state are writable.
CREATE VIEW collections_compat.customers WITH (security_invoker = true) AS
SELECT c.id, c.business_id, c.full_name AS name, c.phone AS phone_number, c.state,
       c.full_name, c.phone AS primary_phone, c.email, c.national_id,
       encode(c.fingerprint, 'hex') AS fingerprint, c.created_at AS first_uploaded_at,
       c.last_contact_at AS last_contact_date
  FROM collections.customer c;
ALTER VIEW collections_compat.customers ALTER COLUMN business_id SET DEFAULT crm_core.current_business();
COMMENT ON VIEW collections_compat.customers IS 'Seed 003''s customers (name, phone_number; full_name, primary_phone, fingerprint).';

-- loans: what each loan owes comes from the ledger (read-only), its assignment is writable.
CREATE VIEW collections_compat.loans WITH (security_invoker = true) AS
SELECT d.id, d.business_id, d.customer_id, d.external_ref AS loan_id, d.principal AS principal_amount,
       (SELECT p.outstanding FROM collections.debt_position p
         WHERE p.business_id = d.business_id AND p.debt_account_id = d.id) AS outstanding_amount,
       (SELECT p.next_due_on FROM collections.debt_position p
         WHERE p.business_id = d.business_id AND p.debt_account_id = d.id) AS next_due_date,
       (SELECT p.last_paid_at::date FROM collections.debt_position p
         WHERE p.business_id = d.business_id AND p.debt_account_id = d.id) AS last_paid_date,
       (SELECT p.last_paid_amount FROM collections.debt_position p
         WHERE p.business_id = d.business_id AND p.debt_account_id = d.id) AS last_paid_amount,
       d.cluster, d.branch, d.employee AS employee_name, d.status, d.created_at
  FROM collections.debt_account d;
COMMENT ON VIEW collections_compat.loans IS 'Seed 003''s loans: outstanding and last payment from the ledger.';

-- file_uploads: import batches with the old status words and counts (read-only).
CREATE VIEW collections_compat.file_uploads WITH (security_invoker = true) AS
SELECT b.id, b.business_id, b.filename, b.created_by AS uploaded_by, b.created_at AS upload_time,
       b.created_at AS uploaded_at, b.total AS total_records,
       b.applied + b.duplicate + b.skipped + b.invalid AS processed_records,
       b.applied + b.duplicate AS success_records, b.invalid + b.skipped AS failed_records,
       CASE b.status WHEN 'applied' THEN 'completed' WHEN 'refused' THEN 'failed'
                     WHEN 'cancelled' THEN 'cancelled' ELSE 'processing' END AS upload_status,
       CASE b.status WHEN 'applied' THEN 'completed' WHEN 'refused' THEN 'failed'
                     WHEN 'cancelled' THEN 'cancelled' ELSE 'processing' END AS status,
       b.refusal AS processing_errors, b.source, b.entity
  FROM collections.import_batch b;
COMMENT ON VIEW collections_compat.file_uploads IS 'Seed 003''s file_uploads: import batches (upload_status, upload_time).';

-- upload_rows: import rows (read-only; statuses are the import's).
CREATE VIEW collections_compat.upload_rows WITH (security_invoker = true) AS
SELECT r.business_id, r.batch_id AS file_upload_id, r.line_no AS line_number, r.raw AS raw_data,
       r.phone_normalized, r.match_customer_id, r.match_debt_account_id AS match_loan_id, r.match_method,
       r.status, r.error
  FROM collections.import_row r;
COMMENT ON VIEW collections_compat.upload_rows IS 'Seed 003''s upload_rows: import rows with their match and status.';

-- ---------------------------------------------------------------------------------------
-- Seed 001 (SQLite recouvrement CRM): clients, invoices, payments.

CREATE VIEW collections_compat.clients WITH (security_invoker = true) AS
SELECT c.id, c.business_id, c.full_name AS name, c.email, c.phone, c.national_id AS siren,
       c.metadata ->> 'address' AS address, c.metadata ->> 'city' AS city,
       c.metadata ->> 'postal_code' AS postal_code, c.created_at
  FROM collections.customer c;
ALTER VIEW collections_compat.clients ALTER COLUMN business_id SET DEFAULT crm_core.current_business();
COMMENT ON VIEW collections_compat.clients IS 'Seed 001''s clients (name, email, phone, siren writable).';

-- invoices: debts of kind invoice; what is paid and left from the ledger; the old status words.
CREATE VIEW collections_compat.invoices WITH (security_invoker = true) AS
SELECT d.id, d.business_id, d.customer_id AS client_id, d.external_ref AS invoice_number, d.principal AS amount,
       d.principal - o.outstanding AS amount_paid, o.outstanding AS balance,
       d.opened_on AS issue_date, d.due_on AS due_date,
       CASE WHEN d.status = 'paid_off' THEN 'paid' WHEN d.status IN ('closed', 'written_off') THEN 'cancelled'
            WHEN o.outstanding < d.principal THEN 'partial' WHEN d.due_on < CURRENT_DATE THEN 'overdue'
            ELSE 'pending' END AS status,
       d.metadata ->> 'description' AS description, d.created_at
  FROM collections.debt_account d
 CROSS JOIN LATERAL (SELECT p.outstanding FROM collections.debt_position p
                      WHERE p.business_id = d.business_id AND p.debt_account_id = d.id) o
 WHERE d.kind = 'invoice';
COMMENT ON VIEW collections_compat.invoices IS 'Seed 001''s invoices: amount paid and balance from the ledger (read-only).';

-- payments: INSERT INTO payments (invoice_id, amount, payment_date, method, reference) posts a
-- collections payment (allocated, on the ledger) like any other.
CREATE VIEW collections_compat.payments WITH (security_invoker = true) AS
SELECT p.id, p.business_id, p.debt_account_id AS invoice_id, p.amount, p.paid_at AS payment_date,
       p.channel AS method, p.reference, p.created_at
  FROM collections.payment p;
ALTER VIEW collections_compat.payments ALTER COLUMN business_id SET DEFAULT crm_core.current_business();
ALTER VIEW collections_compat.payments ALTER COLUMN payment_date SET DEFAULT now();
ALTER VIEW collections_compat.payments ALTER COLUMN method SET DEFAULT 'bank_transfer';
COMMENT ON VIEW collections_compat.payments IS 'Seed 001''s payments; an INSERT posts a collections payment.';

-- ---------------------------------------------------------------------------------------
-- Seed 000 (MongoDB CRM): debt_accounts with the documents' camelCase field names.
CREATE VIEW collections_compat.debt_accounts WITH (security_invoker = true) AS
SELECT d.id AS "_id", d.business_id AS "businessId", d.customer_id AS "customerId",
       d.external_ref AS "accountNumber", d.principal AS "originalPrincipal",
       (SELECT p.principal FROM collections.debt_position p
         WHERE p.business_id = d.business_id AND p.debt_account_id = d.id) AS "currentPrincipal",
       (SELECT p.outstanding FROM collections.debt_position p
         WHERE p.business_id = d.business_id AND p.debt_account_id = d.id) AS "currentBalance",
       d.currency, upper(d.status) AS status, d.opened_on AS "openedAt", d.due_on AS "dueDate",
       jsonb_strip_nulls(jsonb_build_object('name', d.metadata ->> 'lender', 'reference', d.metadata ->> 'lender_ref')) AS lender,
       (d.metadata ->> 'interest_rate')::numeric AS "interestRate", d.metadata -> 'draft_plan' AS "draftPlan",
       d.active_plan_id AS "activePlanId", d.created_at AS "createdAt"
  FROM collections.debt_account d;
COMMENT ON VIEW collections_compat.debt_accounts IS 'Seed 000''s DebtAccount documents (camelCase names, read-only).';

GRANT SELECT ON ALL TABLES IN SCHEMA collections_compat TO crm_core_app, crm_core_readonly;
GRANT INSERT (business_id, name, phone_number, state, full_name, primary_phone, email, national_id),
      UPDATE (name, phone_number, state, full_name, primary_phone, email, national_id)
    ON collections_compat.customers TO crm_core_app;
GRANT INSERT (business_id, name, email, phone, siren), UPDATE (name, email, phone, siren)
    ON collections_compat.clients TO crm_core_app;
GRANT INSERT (business_id, invoice_id, amount, payment_date, method, reference)
    ON collections_compat.payments TO crm_core_app;
GRANT UPDATE (cluster, branch, employee_name) ON collections_compat.loans TO crm_core_app;
