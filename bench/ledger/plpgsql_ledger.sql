-- What a user would write without crm_core: the same ledger rules in plain PL/pgSQL on the
-- same tables (crm_core's own triggers disabled). Row triggers, one balance row per account,
-- and a deferred row-level check that re-sums the entry for every line.
CREATE SCHEMA plain;

CREATE TABLE plain.balance (
    business_id bigint NOT NULL,
    account_id  bigint NOT NULL,
    debits      numeric NOT NULL DEFAULT 0,
    credits     numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (business_id, account_id)
);

-- Entries: no posting into a closed period.
CREATE FUNCTION plain.entry_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'posted' AND EXISTS (
        SELECT 1 FROM crm_core.fiscal_period p
        WHERE p.business_id = NEW.business_id AND p.closed_at IS NOT NULL
          AND NEW.effective_date BETWEEN p.starts_on AND p.ends_on) THEN
        RAISE EXCEPTION 'entry % is dated inside a closed period', NEW.id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER entry_before_insert BEFORE INSERT ON crm_core.journal_entry
    FOR EACH ROW EXECUTE FUNCTION plain.entry_before_insert();

-- Lines: account open and in the same currency; balance updated for posted entries.
CREATE FUNCTION plain.line_before_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    acct crm_core.account;
    entry_status text;
BEGIN
    SELECT * INTO acct FROM crm_core.account a
    WHERE a.business_id = NEW.business_id AND a.id = NEW.account_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown account %', NEW.account_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF acct.closed_at IS NOT NULL THEN
        RAISE EXCEPTION 'account % is closed', acct.code USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF NEW.currency IS NOT NULL AND NEW.currency <> acct.currency THEN
        RAISE EXCEPTION 'currency mismatch' USING ERRCODE = 'check_violation';
    END IF;
    SELECT e.status INTO entry_status FROM crm_core.journal_entry e
    WHERE e.business_id = NEW.business_id AND e.id = NEW.entry_id;
    IF entry_status = 'posted' THEN
        INSERT INTO plain.balance AS b (business_id, account_id, debits, credits)
        VALUES (NEW.business_id, NEW.account_id, COALESCE(NEW.debit, 0), COALESCE(NEW.credit, 0))
        ON CONFLICT (business_id, account_id) DO UPDATE
        SET debits = b.debits + excluded.debits, credits = b.credits + excluded.credits;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER line_before_insert BEFORE INSERT ON crm_core.journal_line
    FOR EACH ROW EXECUTE FUNCTION plain.line_before_insert();

-- At commit: the line's entry balances per currency and has at least two lines.
CREATE FUNCTION plain.line_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    line_count bigint;
BEGIN
    SELECT count(*) INTO line_count FROM crm_core.journal_line l
    WHERE l.business_id = NEW.business_id AND l.entry_id = NEW.entry_id;
    IF line_count < 2 THEN
        RAISE EXCEPTION 'entry % has fewer than two lines', NEW.entry_id USING ERRCODE = 'check_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM crm_core.journal_line l
               JOIN crm_core.account a ON a.business_id = l.business_id AND a.id = l.account_id
               WHERE l.business_id = NEW.business_id AND l.entry_id = NEW.entry_id
               GROUP BY a.currency
               HAVING COALESCE(sum(l.debit), 0) <> COALESCE(sum(l.credit), 0)) THEN
        RAISE EXCEPTION 'entry % does not balance', NEW.entry_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER line_check AFTER INSERT ON crm_core.journal_line
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION plain.line_check();
