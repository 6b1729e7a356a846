-- Imports: starting, locking and cancelling a batch, and validating its rows.

-- ---------------------------------------------------------------------------------------
-- Starting a batch

-- Starts importing a file: returns the new batch (status loading). The same file (by its
-- SHA-256) imported twice into a business is refused, naming the first batch. currency and
-- country default to the business's collections settings (an erp_ledger import into a
-- business not set up for collections gives its currency). entity may be omitted for a source
-- with one entity (voice_csv: loans; debt_accounts_json: debt_accounts).
CREATE FUNCTION collections.begin_import(business_id bigint, source text, filename text, file_sha256 text,
                                         entity text DEFAULT NULL, currency text DEFAULT NULL,
                                         country text DEFAULT NULL)
    RETURNS collections.import_batch
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    settings collections.business_settings;
    first collections.import_batch;
    batch collections.import_batch;
    entities text[] := CASE source
        WHEN 'voice_csv' THEN ARRAY['loans']
        WHEN 'debt_accounts_json' THEN ARRAY['debt_accounts']
        WHEN 'recouvrement' THEN ARRAY['clients', 'invoices', 'payments', 'relance_templates', 'relance_rules']
        WHEN 'erp_ledger' THEN ARRAY['accounts', 'journal_lines'] END;
    digest text := lower(file_sha256);
BEGIN
    IF entities IS NULL THEN
        RAISE EXCEPTION 'unknown import source "%"', source
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Sources: voice_csv, debt_accounts_json, recouvrement, erp_ledger.';
    END IF;
    IF entity IS NULL AND cardinality(entities) = 1 THEN
        entity := entities[1];
    END IF;
    IF entity IS NULL OR NOT entity = ANY (entities) THEN
        RAISE EXCEPTION 'source % has no entity %', source, coalesce('"' || entity || '"', 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('Entities of %s, in the order to import them: %s.', source, array_to_string(entities, ', '));
    END IF;
    IF digest IS NULL OR digest !~ '^[0-9a-f]{64}$' THEN
        RAISE EXCEPTION 'file_sha256 must be the file''s SHA-256 in hex (64 characters), not %', coalesce('"' || file_sha256 || '"', 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'sha256sum FILE prints it.';
    END IF;
    SELECT * INTO first FROM collections.import_batch b
     WHERE b.business_id = business_id AND b.file_sha256 = digest AND b.status <> 'cancelled';
    IF FOUND THEN
        RAISE EXCEPTION 'this file was already imported into business %', business_id
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'import_batch_file_once',
                  TABLE = 'import_batch', SCHEMA = 'collections',
                  DETAIL = format('Batch %s imported %s (%s) on %s; it is %s.', first.id, first.filename,
                                  first.source, first.created_at, first.status),
                  HINT = CASE WHEN first.status IN ('loading', 'validating', 'validated', 'applying')
                              THEN format('Continue batch %s instead: the loader does it when run again with the same file, or CALL collections.apply_import(%s).', first.id, first.id)
                              ELSE format('See batch %s: SELECT * FROM collections.import_batch WHERE id = %s;', first.id, first.id) END;
    END IF;
    IF NOT EXISTS (SELECT FROM crm_core.business b WHERE b.id = business_id) THEN
        RAISE EXCEPTION 'business % does not exist', coalesce(business_id::text, 'NULL')
            USING ERRCODE = 'foreign_key_violation',
                  HINT = format('Create it first: INSERT INTO crm_core.business (id, name) VALUES (%s, ''...'');',
                                coalesce(business_id::text, 'ID'));
    END IF;
    SELECT * INTO settings FROM collections.business_settings s WHERE s.business_id = business_id;
    IF NOT FOUND AND (source <> 'erp_ledger' OR currency IS NULL) THEN
        RAISE EXCEPTION 'business % is not set up for collections', business_id
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = CASE WHEN source = 'erp_ledger'
                              THEN 'Give its currency: collections.begin_import(..., currency => ''KES'').'
                              ELSE format('SELECT collections.setup_business(%s);', business_id) END;
    END IF;
    INSERT INTO collections.import_batch AS b (business_id, source, entity, filename, file_sha256, country, currency)
    VALUES (business_id, source, entity, filename, digest, coalesce(country, settings.country, 'FR'),
            coalesce(currency, settings.currency))
    RETURNING * INTO batch;
    RETURN batch;
END;
$$;
COMMENT ON FUNCTION collections.begin_import(bigint, text, text, text, text, text, text) IS
    'Starts an import batch for a file (refused when the same file was imported before); rows then arrive by COPY into collections.import_row.';

-- The batch with this id as the caller sees it, locked (FOR NO KEY UPDATE) for what follows.
CREATE FUNCTION collections._import_batch_locked(batch_id bigint) RETURNS collections.import_batch
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    batch collections.import_batch;
BEGIN
    SELECT * INTO batch FROM collections.import_batch b WHERE b.id = batch_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'import batch % does not exist', coalesce(batch_id::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'SELECT id, filename, status FROM collections.import_batch ORDER BY id;';
    END IF;
    RETURN batch;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._import_batch_locked(bigint) FROM PUBLIC;

-- The batch with this id, locked for the step that follows; a refused or cancelled batch
-- takes no more steps.
CREATE FUNCTION collections._import_batch_for_step(batch_id bigint) RETURNS collections.import_batch
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    batch collections.import_batch := collections._import_batch_locked(batch_id);
BEGIN
    IF batch.status IN ('refused', 'cancelled') THEN
        RAISE EXCEPTION 'import batch % is %: %', batch.id, batch.status, coalesce(batch.refusal, 'nothing more is done with it')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = CASE batch.status WHEN 'refused' THEN 'Correct the file and import it again (cancel this batch first: SELECT collections.cancel_import(' || batch.id || ');).' END;
    END IF;
    RETURN batch;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._import_batch_for_step(bigint) FROM PUBLIC;

-- Cancels a batch: it takes no more rows and applies no more; what it applied stays (money
-- is corrected by reversals, never by deleting). Frees its file for a new import.
CREATE FUNCTION collections.cancel_import(batch_id bigint, reason text DEFAULT 'cancelled')
    RETURNS collections.import_batch
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    batch collections.import_batch := collections._import_batch_locked(batch_id);
BEGIN
    IF batch.status IN ('applied', 'cancelled') THEN
        RAISE EXCEPTION 'import batch % is already %', batch.id, batch.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    UPDATE collections.import_batch b SET status = 'cancelled', refusal = coalesce(b.refusal || '; ', '') || reason,
           finished_at = now()
     WHERE b.business_id = batch.business_id AND b.id = batch.id
    RETURNING * INTO batch;
    RETURN batch;
END;
$$;
COMMENT ON FUNCTION collections.cancel_import(bigint, text) IS
    'Cancels an import batch (what it applied stays); its file may then be imported again.';

-- ---------------------------------------------------------------------------------------
-- Validation: pending -> valid | invalid

-- The mapped form of one raw record (C++: lib/pure collections/import_mapping.hpp).
CREATE FUNCTION collections._import_map(source text, entity text, raw jsonb,
                                        country text, currency text,
                                        OUT error text, OUT key text, OUT phone text, OUT national_id text,
                                        OUT fingerprint bytea, OUT data jsonb)
    AS 'MODULE_PATHNAME', 'crm_collections_import_map' LANGUAGE C STABLE;
REVOKE EXECUTE ON FUNCTION collections._import_map(text, text, jsonb, text, text) FROM PUBLIC;

-- Validates the next max_rows pending rows of a batch (in line order) and returns the batch.
-- When none is left, checks the batch as a whole (a record repeated with other content, a
-- ledger source that does not balance) and the batch becomes validated, or refused.
CREATE FUNCTION collections.validate_import_step(batch_id bigint, max_rows integer DEFAULT 10000)
    RETURNS collections.import_batch
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    batch collections.import_batch := collections._import_batch_for_step(batch_id);
    last_line bigint;
BEGIN
    IF max_rows IS NULL OR max_rows < 1 THEN
        RAISE EXCEPTION 'max_rows must be at least 1, not %', coalesce(max_rows::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF batch.status NOT IN ('loading', 'validating') THEN
        RETURN batch;
    END IF;
    IF batch.status = 'loading' THEN
        UPDATE collections.import_batch b SET status = 'validating', started_at = now()
         WHERE b.business_id = batch.business_id AND b.id = batch.id;
    END IF;
    -- The chunk is a range of lines: up to the max_rows-th pending line after the mark (an index
    -- range, whatever the table's statistics say), each row mapped once.
    SELECT r.line_no INTO last_line FROM collections.import_row r
     WHERE r.business_id = batch.business_id AND r.batch_id = batch.id
       AND r.line_no > batch.validated_through AND r.status = 'pending'
     ORDER BY r.line_no OFFSET max_rows - 1 LIMIT 1;
    WITH done AS (
        UPDATE collections.import_row r
           SET (status, error, key, phone_normalized, fingerprint, data) =
               (SELECT CASE WHEN m.error IS NULL THEN 'valid' ELSE 'invalid' END, m.error, m.key, m.phone,
                       m.fingerprint, m.data
                  FROM collections._import_map(batch.source, batch.entity, r.raw, batch.country, batch.currency) AS m)
         WHERE r.business_id = batch.business_id AND r.batch_id = batch.id
           AND r.line_no > batch.validated_through AND r.line_no <= coalesce(last_line, 9223372036854775807)
           AND r.status = 'pending'
        RETURNING r.line_no
    )
    SELECT max(done.line_no) INTO last_line FROM done;
    -- Every row up to the mark is validated: the next step (and the test below) start after it.
    batch.validated_through := greatest(batch.validated_through, coalesce(last_line, 0));
    UPDATE collections.import_batch b SET validated_through = batch.validated_through
     WHERE b.business_id = batch.business_id AND b.id = batch.id;
    IF NOT EXISTS (SELECT FROM collections.import_row r
                    WHERE r.business_id = batch.business_id AND r.batch_id = batch.id
                      AND r.line_no > batch.validated_through AND r.status = 'pending') THEN
        PERFORM collections._import_check_batch(batch);
    END IF;
    SELECT * INTO batch FROM collections.import_batch b WHERE b.business_id = batch.business_id AND b.id = batch.id;
    RETURN batch;
END;
$$;
COMMENT ON FUNCTION collections.validate_import_step(bigint, integer) IS
    'Validates the next max_rows pending rows of an import batch; returns the batch with its counters.';

-- Validates a whole batch, committing every chunk_rows rows. CALL it outside a transaction
-- block (inside one, loop over collections.validate_import_step()).
CREATE PROCEDURE collections.validate_import(batch_id bigint, chunk_rows integer DEFAULT 10000)
    LANGUAGE plpgsql AS $$
DECLARE
    batch collections.import_batch;
BEGIN
    LOOP
        batch := collections.validate_import_step(batch_id, chunk_rows);
        COMMIT;
        EXIT WHEN batch.status OPERATOR(pg_catalog.<>) 'validating';
    END LOOP;
END;
$$;
COMMENT ON PROCEDURE collections.validate_import(bigint, integer) IS
    'Validates every pending row of an import batch, committing each chunk; the batch ends validated or refused.';
