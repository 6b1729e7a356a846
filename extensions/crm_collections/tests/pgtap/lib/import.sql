-- Included (\ir) by the import pgTAP files, after lib/fixture.sql: batches made from rows
-- written as SQL, and the steps run to the end inside the test's transaction.
\set QUIET on
-- A batch of business `business` (loading) holding rows (raw records, lines 2, 3 ...).
CREATE FUNCTION pg_temp.batch(business bigint, source text, records jsonb[], entity text DEFAULT NULL,
                              currency text DEFAULT NULL)
    RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    batch_id bigint;
BEGIN
    SELECT id INTO batch_id
      FROM collections.begin_import(business, source, source || '-' || coalesce(entity, 'file') || '.csv',
                                    encode(sha256(convert_to(records::text || random()::text, 'UTF8')), 'hex'),
                                    entity, currency);
    INSERT INTO collections.import_row (business_id, batch_id, line_no, raw)
    SELECT business, batch_id, n + 1, records[n] FROM generate_subscripts(records, 1) AS n;
    RETURN batch_id;
END $$;

-- Validates a batch to the end (steps of `size` rows); returns its status.
CREATE FUNCTION pg_temp.validated(batch_id bigint, size int DEFAULT 3) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    batch collections.import_batch;
BEGIN
    LOOP
        batch := collections.validate_import_step(batch_id, size);
        EXIT WHEN batch.status NOT IN ('loading', 'validating');
    END LOOP;
    RETURN batch.status;
END $$;

-- Validates and applies a batch to the end; returns "applied duplicate skipped invalid".
CREATE FUNCTION pg_temp.imported(batch_id bigint, size int DEFAULT 3) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    batch collections.import_batch;
BEGIN
    PERFORM pg_temp.validated(batch_id, size);
    LOOP
        batch := collections.apply_import_step(batch_id, size);
        EXIT WHEN batch.status = 'applied';
    END LOOP;
    RETURN format('%s %s %s %s', batch.applied, batch.duplicate, batch.skipped, batch.invalid);
END $$;

-- A voice_csv record.
CREATE FUNCTION pg_temp.loan(loan_id text, amount text, phone text DEFAULT '06 12 34 56 78',
                             national_id text DEFAULT '2850578006084', name text DEFAULT 'Jeanne Martin',
                             due_date text DEFAULT '2024-03-31', employee text DEFAULT 'Claire')
    RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object('customer_name', name, 'phone', phone, 'national_id', national_id,
                                                'loan_id', loan_id, 'amount', amount, 'due_date', due_date,
                                                'branch', 'Paris 11', 'cluster', 'A', 'employee', employee))
$$;

-- The error (and hint) a statement raises, as "SQLSTATE: message | hint".
CREATE FUNCTION pg_temp.raised(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text;
    message text;
    hint text;
BEGIN
    EXECUTE sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
    RETURN state || ': ' || message || ' | ' || hint;
END $$;
\set QUIET off
