-- Imports, applying rows of the erp_ledger source (collections._import_outcome, 93_import.sql).

-- ---------------------------------------------------------------------------------------
-- erp_ledger (seed 002): the chart of accounts with opening balances, then journal lines,
-- one balanced crm_core entry per entry number.
CREATE FUNCTION collections._import_erp_ledger(batch collections.import_batch, r collections.import_row)
    RETURNS collections._import_outcome
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d jsonb := r.data;
    account crm_core.account;
    parent bigint;
    entry bigint;
    lines jsonb;
    missing text;
BEGIN
    IF batch.entity = 'accounts' THEN
        SELECT * INTO account FROM crm_core.account a WHERE a.business_id = batch.business_id AND a.code = d ->> 'code';
        IF account.id IS NOT NULL THEN
            IF account.kind <> d ->> 'kind' OR account.currency <> d ->> 'currency' THEN
                RETURN ROW('skipped', format('account_number: account %s exists as %s in %s, not %s in %s',
                                          account.code, account.kind, account.currency, d ->> 'kind', d ->> 'currency'),
                        NULL, NULL, 'external_ref', account.id)::collections._import_outcome;
            END IF;
            PERFORM collections._import_remember(batch, r, account.id);
            RETURN ROW('duplicate', NULL, NULL, NULL, 'external_ref', account.id)::collections._import_outcome;
        END IF;
        IF d ->> 'parent_code' IS NOT NULL THEN
            SELECT a.id INTO parent FROM crm_core.account a
             WHERE a.business_id = batch.business_id AND a.code = d ->> 'parent_code';
            IF parent IS NULL THEN
                RETURN ROW('skipped', format('parent_account_number: account %s does not exist (list parents before their children)',
                                          d ->> 'parent_code'), NULL, NULL, NULL, NULL)::collections._import_outcome;
            END IF;
        END IF;
        INSERT INTO crm_core.account AS a (business_id, code, name, kind, currency, parent_id, metadata)
        VALUES (batch.business_id, d ->> 'code', d ->> 'name', d ->> 'kind', d ->> 'currency', parent,
                jsonb_build_object('import_batch', batch.id, 'line_no', r.line_no, 'legacy_active', (d ->> 'active')::boolean))
        RETURNING * INTO account;
        PERFORM collections._import_remember(batch, r, account.id);
        RETURN ROW('applied', NULL, NULL, NULL, 'new', account.id)::collections._import_outcome;
    END IF;

    -- journal_lines: the first line of an entry posts the whole entry (every valid line of it
    -- in this batch, which validation found balanced); its other lines follow it.
    SELECT e.id INTO entry FROM crm_core.journal_entry e
     WHERE e.business_id = batch.business_id AND e.idempotency_key = 'erp_ledger:' || r.key;
    IF entry IS NOT NULL THEN
        UPDATE collections.import_row x SET status = 'duplicate', target_id = entry, match_method = 'external_ref'
         WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.key = r.key
           AND x.status = 'valid' AND x.line_no <> r.line_no;
        RETURN ROW('duplicate', NULL, NULL, NULL, 'external_ref', entry)::collections._import_outcome;
    END IF;
    SELECT string_agg(DISTINCT x.data ->> 'account_code', ', ') FILTER (WHERE a.id IS NULL),
           jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
               'account_id', a.id, x.data ->> 'side', (x.data ->> 'amount')::numeric,
               'memo', x.data ->> 'line_memo')) ORDER BY x.line_no)
      INTO missing, lines
      FROM collections.import_row x
      LEFT JOIN crm_core.account a ON a.business_id = x.business_id AND a.code = x.data ->> 'account_code'
     WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.key = r.key AND x.status = 'valid';
    IF missing IS NOT NULL THEN
        UPDATE collections.import_row x
           SET status = 'skipped', error = format('account_number: entry %s uses account %s, which does not exist (import accounts.csv first)', r.key, missing)
         WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.key = r.key
           AND x.status = 'valid' AND x.line_no <> r.line_no;
        RETURN ROW('skipped', format('account_number: entry %s uses account %s, which does not exist (import accounts.csv first)', r.key, missing),
                NULL, NULL, NULL, NULL)::collections._import_outcome;
    END IF;
    entry := crm_core.post_entry(batch.business_id, lines, d ->> 'memo', (d ->> 'effective_date')::date,
                                 'erp_ledger:' || r.key, r.key,
                                 jsonb_strip_nulls(jsonb_build_object('transaction_type', d -> 'transaction_type',
                                                                      'reference', d -> 'reference',
                                                                      'import_batch', batch.id)));
    UPDATE collections.import_row x SET status = 'applied', target_id = entry, match_method = 'new'
     WHERE x.business_id = batch.business_id AND x.batch_id = batch.id AND x.key = r.key
       AND x.status = 'valid' AND x.line_no <> r.line_no;
    RETURN ROW('applied', NULL, NULL, NULL, 'new', entry)::collections._import_outcome;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._import_erp_ledger(collections.import_batch, collections.import_row) FROM PUBLIC;
