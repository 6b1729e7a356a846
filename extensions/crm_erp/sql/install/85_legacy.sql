-- Seed 002's tables as views (schema erp_legacy), so that its own validation queries run
-- unchanged with SET search_path = erp_legacy, and its seed data (businesses, chart of
-- accounts, transaction types) loads with plain INSERTs. Money only: accounts in an ISO
-- currency (stock accounts, in units, stay out of the seed's single-currency totals).
-- See docs/erp.md, "Migrating seed 002".

CREATE VIEW erp_legacy.business WITH (security_invoker = true) AS
SELECT b.id, b.name, s.kind AS business_type, s.currency, s.time_zone, b.created_at,
       s.business_id IS NOT NULL AS is_active
  FROM crm_core.business b
  LEFT JOIN erp.business_settings s ON s.business_id = b.id;

CREATE VIEW erp_legacy.account_type WITH (security_invoker = true) AS
SELECT * FROM (VALUES (1, 'Asset', 'asset', 'debit'), (2, 'Liability', 'liability', 'credit'),
                      (3, 'Equity', 'equity', 'credit'), (4, 'Revenue', 'income', 'credit'),
                      (5, 'Expense', 'expense', 'debit'))
           AS t (id, name, kind, normal_balance);

CREATE VIEW erp_legacy.account WITH (security_invoker = true) AS
SELECT a.id, a.business_id, a.code AS account_number, a.name, t.id AS account_type_id, a.parent_id,
       a.currency, crm_core.account_balance(a.id) AS current_balance, a.closed_at IS NULL AS is_active,
       a.created_at
  FROM crm_core.account a
  JOIN erp_legacy.account_type t ON t.kind = a.kind
 WHERE a.currency ~ '^[A-Z]{3}$';

CREATE VIEW erp_legacy.transaction_type WITH (security_invoker = true) AS
SELECT t.business_id, t.code, t.name, t.description, t.active AS is_active, t.rule_version
  FROM erp.transaction_type t;

-- Entries with seed 002's numbering (JE-YYYYMMDD-<id>) and money totals.
CREATE VIEW erp_legacy.journal_entry WITH (security_invoker = true) AS
SELECT e.id, e.business_id,
       'JE-' || to_char(e.effective_date, 'YYYYMMDD') || '-' || lpad(e.id::text, 4, '0') AS entry_number,
       e.effective_date AS transaction_date, e.memo AS description, e.status,
       e.metadata ->> 'transaction_type' AS transaction_type, e.source_ref AS reference,
       totals.total_debit, totals.total_credit, e.created_at, e.posted_at
  FROM crm_core.journal_entry e
  CROSS JOIN LATERAL (
        SELECT coalesce(sum(l.debit), 0) AS total_debit, coalesce(sum(l.credit), 0) AS total_credit
          FROM crm_core.journal_line l
          JOIN crm_core.account a ON a.business_id = l.business_id AND a.id = l.account_id
         WHERE l.business_id = e.business_id AND l.entry_id = e.id AND a.currency ~ '^[A-Z]{3}$') AS totals;

CREATE VIEW erp_legacy.journal_entry_line WITH (security_invoker = true) AS
SELECT l.id, l.business_id, l.entry_id AS journal_entry_id, l.account_id, l.memo AS description,
       coalesce(l.debit, 0) > 0 AS is_debit, coalesce(nullif(l.debit, 0), l.credit) AS amount,
       l.subledger, l.created_at
  FROM crm_core.journal_line l
  JOIN crm_core.account a ON a.business_id = l.business_id AND a.id = l.account_id
 WHERE a.currency ~ '^[A-Z]{3}$';

-- Seed 002's Ledger: one row per posted money line with the account's running balance (in
-- its normal side) in transaction date order, so the latest row carries the balance.
CREATE VIEW erp_legacy.ledger WITH (security_invoker = true) AS
SELECT l.id, l.business_id, l.account_id, l.entry_id AS journal_entry_id,
       e.effective_date AS transaction_date, coalesce(l.debit, 0) AS debit_amount,
       coalesce(l.credit, 0) AS credit_amount,
       sum(CASE a.normal_side WHEN 'debit' THEN coalesce(l.debit, 0) - coalesce(l.credit, 0)
                              ELSE coalesce(l.credit, 0) - coalesce(l.debit, 0) END)
           OVER (PARTITION BY l.account_id, l.business_id ORDER BY e.effective_date, l.id) AS balance_after,
       l.memo AS description, l.created_at
  FROM crm_core.journal_line l
  JOIN crm_core.journal_entry e ON e.business_id = l.business_id AND e.id = l.entry_id
  JOIN crm_core.account a ON a.business_id = l.business_id AND a.id = l.account_id
 WHERE e.status = 'posted' AND a.currency ~ '^[A-Z]{3}$';

CREATE VIEW erp_legacy.account_balance WITH (security_invoker = true) AS
SELECT a.id AS account_id, a.business_id, a.current_balance AS balance, now() AS as_of
  FROM erp_legacy.account a;

CREATE VIEW erp_legacy.reconciliation WITH (security_invoker = true) AS
SELECT r.id, r.business_id, r.account_id, r.period_start, r.period_end, r.statement_balance,
       r.ledger_balance AS book_balance, r.difference, 'reconciled' AS status, r.closed_at AS reconciled_at,
       r.closed_by AS reconciled_by
  FROM erp.reconciliation r;

-- Loading seed 002's data: INSERT INTO business / account / transaction_type as the seed does.
CREATE FUNCTION erp_legacy.load_row() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    new_id bigint;
BEGIN
    IF TG_TABLE_NAME = 'business' THEN
        INSERT INTO crm_core.business (id, name, created_at)
        VALUES (coalesce(NEW.id, nextval(pg_get_serial_sequence('crm_core.business', 'id'))),
                NEW.name, coalesce(NEW.created_at, now()))
        RETURNING id INTO new_id;
        NEW.id := new_id;
        -- The module itself (accounts it lacks, rules) comes with erp.setup_business().
        IF NEW.business_type IS NOT NULL THEN
            INSERT INTO erp.business_settings (business_id, kind, currency, time_zone)
            VALUES (new_id, NEW.business_type, coalesce(NEW.currency, 'KES'),
                    coalesce(NEW.time_zone, 'Africa/Nairobi'));
        END IF;
    ELSIF TG_TABLE_NAME = 'account' THEN
        INSERT INTO crm_core.account (business_id, code, name, kind, currency, parent_id)
        SELECT NEW.business_id, NEW.account_number, NEW.name, t.kind,
               coalesce(NEW.currency, (SELECT s.currency FROM erp.business_settings s
                                        WHERE s.business_id = NEW.business_id), 'KES'),
               NEW.parent_id
          FROM erp_legacy.account_type t WHERE t.id = NEW.account_type_id
        ON CONFLICT (business_id, code) DO UPDATE SET name = excluded.name
        RETURNING id INTO new_id;
        IF new_id IS NULL THEN
            RAISE EXCEPTION 'account type % does not exist', NEW.account_type_id
                USING ERRCODE = 'foreign_key_violation', HINT = 'Account types are 1 to 5: see erp_legacy.account_type.';
        END IF;
        NEW.id := new_id;
    ELSE
        INSERT INTO erp.transaction_type (business_id, code, name, description, active)
        VALUES (NEW.business_id, NEW.code, NEW.name, NEW.description, coalesce(NEW.is_active, true))
        ON CONFLICT ON CONSTRAINT transaction_type_pkey
        DO UPDATE SET name = excluded.name, description = excluded.description;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER load_row INSTEAD OF INSERT ON erp_legacy.business FOR EACH ROW EXECUTE FUNCTION erp_legacy.load_row();
CREATE TRIGGER load_row INSTEAD OF INSERT ON erp_legacy.account FOR EACH ROW EXECUTE FUNCTION erp_legacy.load_row();
CREATE TRIGGER load_row INSTEAD OF INSERT ON erp_legacy.transaction_type FOR EACH ROW EXECUTE FUNCTION erp_legacy.load_row();
