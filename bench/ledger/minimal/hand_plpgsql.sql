-- The simple PL/pgSQL a user writes by hand (issue 15): a per-line UPDATE of the account's
-- balance, a deferred per-line trigger that sums the entry's lines at commit, and an
-- append-only guard.
CREATE FUNCTION bench.line_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE bench.account SET balance = balance + COALESCE(NEW.debit, 0) - COALESCE(NEW.credit, 0)
    WHERE id = NEW.account_id;
    RETURN NULL;
END $$;
CREATE TRIGGER line_inserted AFTER INSERT ON bench.line
    FOR EACH ROW EXECUTE FUNCTION bench.line_inserted();

CREATE FUNCTION bench.entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT COALESCE(sum(debit), 0) <> COALESCE(sum(credit), 0) OR count(*) < 2
        FROM bench.line WHERE entry_id = NEW.entry_id) THEN
        RAISE EXCEPTION 'entry % does not balance', NEW.entry_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER entry_balanced AFTER INSERT ON bench.line
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION bench.entry_balanced();

CREATE FUNCTION bench.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % is refused', TG_OP, TG_TABLE_NAME USING ERRCODE = 'object_not_in_prerequisite_state';
END $$;
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON bench.entry
    FOR EACH ROW EXECUTE FUNCTION bench.append_only();
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON bench.line
    FOR EACH ROW EXECUTE FUNCTION bench.append_only();
