-- Imports: applying a batch, chunk by chunk (the per-source functions: 94_import_sources.sql,
-- 95_import_erp_ledger.sql; the steps' hooks: 95_import_apply.sql).

-- ---------------------------------------------------------------------------------------
-- Applying: valid -> applied | duplicate | skipped

-- Applies the next max_rows valid rows of a batch (in line order) in the caller's
-- transaction, and returns the batch. A row identical to what the last import of the same
-- record said is a duplicate without further work. When a row fails (a trigger refuses it),
-- the chunk is redone row by row and the failing rows are skipped with the error. When no
-- valid row is left, the batch becomes applied.
CREATE FUNCTION collections.apply_import_step(batch_id bigint, max_rows integer DEFAULT 1000)
    RETURNS collections.import_batch
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    batch collections.import_batch := collections._import_batch_for_step(batch_id);
    chunk bigint[];
    lines bigint[];
    outcomes collections._import_outcome[];
    failed boolean := false;
BEGIN
    IF max_rows IS NULL OR max_rows < 1 THEN
        RAISE EXCEPTION 'max_rows must be at least 1, not %', coalesce(max_rows::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF batch.status IN ('loading', 'validating') THEN
        RAISE EXCEPTION 'import batch % is %: validate it before applying it', batch.id, batch.status
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('CALL collections.validate_import(%s);', batch.id);
    END IF;
    IF batch.status = 'applied' THEN
        RETURN batch;
    END IF;
    IF batch.status = 'validated' THEN
        PERFORM collections._import_prepare(batch);
        UPDATE collections.import_batch b SET status = 'applying'
         WHERE b.business_id = batch.business_id AND b.id = batch.id;
    END IF;

    -- The chunk: the next max_rows valid rows after the mark (every row up to it is done).
    SELECT array_agg(r.line_no ORDER BY r.line_no) INTO chunk
      FROM (SELECT r.line_no FROM collections.import_row r
             WHERE r.business_id = batch.business_id AND r.batch_id = batch.id
               AND r.line_no > batch.applied_through AND r.status = 'valid'
             ORDER BY r.line_no LIMIT max_rows) r;
    IF chunk IS NOT NULL THEN
        -- Re-imports: rows identical to the last import of their record, in one statement.
        UPDATE collections.import_row r
           SET status = 'duplicate', match_method = 'external_ref',
               match_debt_account_id = CASE WHEN k.entity IN ('loans', 'debt_accounts', 'invoices') THEN k.target_id END,
               match_customer_id = CASE WHEN k.entity = 'clients' THEN k.target_id END,
               target_id = CASE WHEN k.entity NOT IN ('loans', 'debt_accounts', 'invoices', 'clients') THEN k.target_id END
          FROM collections.import_key k
         WHERE r.business_id = batch.business_id AND r.batch_id = batch.id AND r.line_no = ANY (chunk)
           AND k.business_id = batch.business_id AND k.source = batch.source AND k.entity = batch.entity
           AND k.source_key = r.key AND k.digest = md5(r.data::text)::uuid
           AND batch.entity <> 'journal_lines';
        SELECT array_agg(r.line_no ORDER BY r.line_no) INTO lines FROM collections.import_row r
         WHERE r.business_id = batch.business_id AND r.batch_id = batch.id AND r.line_no = ANY (chunk)
           AND r.status = 'valid';
    END IF;
    IF lines IS NOT NULL THEN
        BEGIN
            outcomes := collections._import_apply_rows(batch, lines, false);
        EXCEPTION WHEN OTHERS THEN
            failed := true;
        END;
        IF failed THEN
            outcomes := collections._import_apply_rows(batch, lines, true);
        END IF;
        UPDATE collections.import_row r
           SET status = o.status, error = o.error, match_customer_id = o.customer_id,
               match_debt_account_id = o.debt_account_id, match_method = o.method, target_id = o.target_id
          FROM unnest(lines, outcomes) AS o(line_no, status, error, customer_id, debt_account_id, method, target_id)
         WHERE r.business_id = batch.business_id AND r.batch_id = batch.id AND r.line_no = o.line_no
           AND r.status = 'valid';
    END IF;
    IF chunk IS NOT NULL THEN
        batch.applied_through := chunk[cardinality(chunk)];
        UPDATE collections.import_batch b SET applied_through = batch.applied_through
         WHERE b.business_id = batch.business_id AND b.id = batch.id;
    END IF;
    IF NOT EXISTS (SELECT FROM collections.import_row r
                    WHERE r.business_id = batch.business_id AND r.batch_id = batch.id
                      AND r.line_no > batch.applied_through AND r.status = 'valid') THEN
        PERFORM collections._import_finish(batch);
        UPDATE collections.import_batch b SET status = 'applied', finished_at = now()
         WHERE b.business_id = batch.business_id AND b.id = batch.id;
    END IF;
    SELECT * INTO batch FROM collections.import_batch b WHERE b.business_id = batch.business_id AND b.id = batch.id;
    RETURN batch;
END;
$$;
COMMENT ON FUNCTION collections.apply_import_step(bigint, integer) IS
    'Applies the next max_rows valid rows of an import batch in the caller''s transaction; returns the batch with its counters.';

-- Applies a whole validated batch, committing every chunk_rows rows: a crash or a cancel
-- loses at most the chunk in hand, and running it again continues after the last committed
-- one (no row is applied twice: a row's change and its status commit together). CALL it
-- outside a transaction block (inside one, loop over collections.apply_import_step()).
CREATE PROCEDURE collections.apply_import(batch_id bigint, chunk_rows integer DEFAULT 1000)
    LANGUAGE plpgsql AS $$
DECLARE
    batch collections.import_batch;
BEGIN
    LOOP
        batch := collections.apply_import_step(batch_id, chunk_rows);
        COMMIT;
        EXIT WHEN batch.status OPERATOR(pg_catalog.=) 'applied';
    END LOOP;
END;
$$;
COMMENT ON PROCEDURE collections.apply_import(bigint, integer) IS
    'Applies every valid row of a validated import batch, committing each chunk; continues where a crash or cancel stopped it.';
