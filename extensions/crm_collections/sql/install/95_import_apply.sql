-- Imports, applying rows: the steps' per-source hooks (apply, check, prepare, finish).

-- ---------------------------------------------------------------------------------------
-- The steps' per-source hooks.

-- Applies rows (line numbers, in order) of a batch; returns one outcome per line. isolate:
-- each row in its own subtransaction, a failing row skipped with its error (the slow path,
-- taken when a chunk failed as a whole).
CREATE FUNCTION collections._import_apply_rows(batch collections.import_batch, lines bigint[], isolate boolean)
    RETURNS collections._import_outcome[]
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r collections.import_row;
    outcome collections._import_outcome;
    outcomes collections._import_outcome[] := '{}';
    line bigint;
BEGIN
    FOREACH line IN ARRAY lines LOOP
        SELECT * INTO r FROM collections.import_row x
         WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.line_no = line;
        IF r.status <> 'valid' THEN
            -- Applied with an earlier line of the same entry.
            outcome := (r.status, r.error, r.match_customer_id, r.match_debt_account_id, r.match_method, r.target_id);
        ELSIF NOT isolate THEN
            outcome := collections._import_apply_row(batch, r);
        ELSE
            BEGIN
                outcome := collections._import_apply_row(batch, r);
            EXCEPTION WHEN OTHERS THEN
                outcome := ('skipped', SQLERRM, NULL, NULL, NULL, NULL);
            END;
        END IF;
        outcomes := outcomes || outcome;
    END LOOP;
    RETURN outcomes;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._import_apply_rows(collections.import_batch, bigint[], boolean) FROM PUBLIC;

CREATE FUNCTION collections._import_apply_row(batch collections.import_batch, r collections.import_row)
    RETURNS collections._import_outcome
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- A record repeated within the batch: identical to what its first line applied.
    IF batch.entity <> 'journal_lines' AND EXISTS (
           SELECT FROM collections.import_key k
            WHERE k.business_id = batch.business_id AND k.source = batch.source AND k.entity = batch.entity
              AND k.source_key = r.key AND k.digest = md5(r.data::text)::uuid) THEN
        RETURN ROW('duplicate', NULL,
                CASE WHEN batch.entity = 'clients' THEN collections._import_target(batch.business_id, batch.source, batch.entity, r.key) END,
                CASE WHEN batch.entity IN ('loans', 'debt_accounts', 'invoices') THEN collections._import_target(batch.business_id, batch.source, batch.entity, r.key) END,
                'external_ref',
                CASE WHEN batch.entity NOT IN ('loans', 'debt_accounts', 'invoices', 'clients') THEN collections._import_target(batch.business_id, batch.source, batch.entity, r.key) END)::collections._import_outcome;
    END IF;
    RETURN CASE batch.source
        WHEN 'voice_csv' THEN collections._import_voice_loan(batch, r)
        WHEN 'debt_accounts_json' THEN collections._import_debt_account(batch, r)
        WHEN 'recouvrement' THEN collections._import_recouvrement(batch, r)
        ELSE collections._import_erp_ledger(batch, r) END;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._import_apply_row(collections.import_batch, collections.import_row) FROM PUBLIC;

-- Checks a batch as a whole once every row is validated; the batch becomes validated, or
-- refused (a ledger source that does not balance is refused, never "fixed").
CREATE FUNCTION collections._import_check_batch(batch collections.import_batch) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    refusal text;
BEGIN
    IF batch.source = 'erp_ledger' THEN
        -- A ledger source is imported whole or not at all: one invalid line refuses it.
        SELECT format('line %s is invalid (%s): a ledger source is imported whole or not at all', x.line_no, x.error)
          INTO refusal
          FROM collections.import_row x
         WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.status = 'invalid'
         ORDER BY x.line_no LIMIT 1;
    END IF;
    IF refusal IS NULL AND batch.entity = 'journal_lines' THEN
        -- Every entry has two lines or more, one date, and balances.
        WITH per_entry AS (
            SELECT x.key, count(*) AS lines, count(DISTINCT x.data ->> 'effective_date') AS dates,
                   coalesce(sum((x.data ->> 'amount')::numeric) FILTER (WHERE x.data ->> 'side' = 'debit'), 0) AS debits,
                   coalesce(sum((x.data ->> 'amount')::numeric) FILTER (WHERE x.data ->> 'side' = 'credit'), 0) AS credits
              FROM collections.import_row x
             WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.status = 'valid'
             GROUP BY x.key
        ), wrong AS (
            SELECT p.key, CASE WHEN p.lines < 2 THEN 'has one line'
                               WHEN p.dates > 1 THEN 'has lines on different dates'
                               ELSE format('does not balance: debits %s, credits %s', p.debits, p.credits) END AS why
              FROM per_entry p
             WHERE p.lines < 2 OR p.dates > 1 OR p.debits <> p.credits
        ), marked AS (
            UPDATE collections.import_row x SET status = 'invalid', error = format('entry_number: entry %s %s', w.key, w.why)
              FROM wrong w
             WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.key = w.key AND x.status = 'valid'
            RETURNING x.key
        )
        SELECT format('%s of its entries cannot be posted as they are (entry %s %s); nothing of it is imported',
                      count(*), min(w.key), (array_agg(w.why ORDER BY w.key))[1])
          INTO refusal FROM wrong w HAVING count(*) > 0;
    ELSIF refusal IS NULL AND batch.entity = 'accounts' THEN
        WITH sides AS (
            SELECT x.data ->> 'currency' AS currency,
                   sum(CASE WHEN x.data ->> 'kind' IN ('asset', 'expense') THEN 1 ELSE -1 END
                       * (x.data ->> 'opening_balance')::numeric) AS net,
                   sum(greatest(CASE WHEN x.data ->> 'kind' IN ('asset', 'expense') THEN 1 ELSE -1 END
                                * (x.data ->> 'opening_balance')::numeric, 0)) AS debits
              FROM collections.import_row x
             WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.status = 'valid'
             GROUP BY 1
        )
        SELECT format('its opening balances do not balance in %s: debits %s, credits %s', s.currency, s.debits, s.debits - s.net)
          INTO refusal FROM sides s WHERE s.net <> 0 ORDER BY s.currency LIMIT 1;
        IF refusal IS NULL AND EXISTS (
               SELECT FROM collections.import_row x
                WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.status = 'valid'
                  AND (x.data ->> 'opening_balance')::numeric <> 0)
           AND EXISTS (SELECT FROM crm_core.journal_entry e
                        WHERE e.business_id = batch.business_id AND e.idempotency_key = 'erp_ledger:opening') THEN
            refusal := 'the business already has its opening balances (entry erp_ledger:opening): import later movements as journal lines';
        END IF;
    ELSIF batch.source <> 'erp_ledger' THEN
        -- A record repeated with other content: the first line wins, the others are invalid.
        -- One pass over the batch's rows (a window per key), computed once (MATERIALIZED),
        -- then the repeats by primary key: never a join of the batch with itself, which a plan
        -- made before the new rows' statistics turns into a nested loop over every pair.
        WITH repeats AS MATERIALIZED (
            SELECT r.line_no, r.key, r.first_line
              FROM (SELECT x.line_no, x.key, first_value(x.line_no) OVER per_key AS first_line,
                           x.data IS DISTINCT FROM first_value(x.data) OVER per_key AS differs
                      FROM collections.import_row x
                     WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.status = 'valid'
                    WINDOW per_key AS (PARTITION BY x.key ORDER BY x.line_no)) AS r
             WHERE r.line_no > r.first_line AND r.differs
        )
        UPDATE collections.import_row x
           SET status = 'invalid',
               error = format('%s: %s is on line %s with other content', CASE batch.entity WHEN 'loans' THEN 'loan_id'
                              WHEN 'debt_accounts' THEN 'accountNumber' ELSE 'id' END, f.key, f.first_line)
          FROM repeats f
         WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.line_no = f.line_no;
    END IF;
    UPDATE collections.import_batch b
       SET status = CASE WHEN refusal IS NULL THEN 'validated' ELSE 'refused' END, refusal = refusal,
           finished_at = CASE WHEN refusal IS NOT NULL THEN now() END
     WHERE b.business_id = batch.business_id AND b.id = batch.id;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._import_check_batch(collections.import_batch) FROM PUBLIC;

-- Before the first row of a batch is applied: the months of past payments get their
-- partitions (rows of a month without one would wait in the default partition for good),
-- when the caller may make them.
CREATE FUNCTION collections._import_prepare(batch collections.import_batch) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    since date;
BEGIN
    IF batch.source = 'recouvrement' AND batch.entity = 'payments' THEN
        SELECT min((x.data ->> 'paid_on')::date) INTO since FROM collections.import_row x
         WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.status = 'valid';
        IF since < date_trunc('month', CURRENT_DATE) THEN
            IF has_function_privilege('collections.prepare_history(date)', 'EXECUTE') THEN
                PERFORM collections.prepare_history(since);
            ELSE
                RAISE NOTICE 'payments of batch % go back to %: their months have no partitions yet', batch.id, since
                    USING HINT = format('An administrator runs SELECT * FROM collections.prepare_history(%L); before applying.', since);
            END IF;
        END IF;
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._import_prepare(collections.import_batch) FROM PUBLIC;

-- After the last row of a batch: an erp_ledger chart posts its opening balances, one entry
-- (opening-balance lines of the accounts the batch names).
CREATE FUNCTION collections._import_finish(batch collections.import_batch) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    lines jsonb;
BEGIN
    IF batch.entity <> 'accounts' THEN
        RETURN;
    END IF;
    SELECT jsonb_agg(jsonb_build_object(
               'account_id', a.id,
               CASE WHEN (CASE WHEN a.kind IN ('asset', 'expense') THEN 1 ELSE -1 END) * (x.data ->> 'opening_balance')::numeric > 0
                    THEN 'debit' ELSE 'credit' END,
               abs((x.data ->> 'opening_balance')::numeric),
               'memo', 'opening balance') ORDER BY x.line_no)
      INTO lines
      FROM collections.import_row x
      JOIN crm_core.account a ON a.business_id = x.business_id AND a.code = x.data ->> 'code'
     WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.status IN ('applied', 'duplicate')
       AND (x.data ->> 'opening_balance')::numeric <> 0;
    IF lines IS NOT NULL THEN
        PERFORM crm_core.post_entry(batch.business_id, lines, 'Opening balances (import batch ' || batch.id || ')',
                                    CURRENT_DATE, 'erp_ledger:opening', 'erp_ledger:opening',
                                    jsonb_build_object('import_batch', batch.id));
    END IF;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._import_finish(collections.import_batch) FROM PUBLIC;
