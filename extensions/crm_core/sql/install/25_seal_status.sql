-- crm_core.seal_status: how far sealing has come, per business. Only CREATE OR REPLACE and
-- idempotent statements (the upgrade script includes this part as it is).
-- Each side is grouped by business_id and joined to the business, rather than a LATERAL
-- subquery per business: Citus runs the grouped subqueries on the shards when the ledger is
-- distributed (a lateral join from a reference table is refused), and PostgreSQL pushes a
-- filter on business_id down into them.
CREATE OR REPLACE VIEW crm_core.seal_status AS
SELECT b.id AS business_id,
       coalesce(blocks.sealed_blocks, 0)::bigint AS sealed_blocks,
       coalesce(pending.unsealed_rows, 0)::bigint AS unsealed_rows,
       pending.oldest_unsealed_at,
       blocks.last_sealed_at
  FROM crm_core.business AS b
  LEFT JOIN (
        SELECT k.business_id, count(*) AS sealed_blocks, max(k.sealed_at) AS last_sealed_at
          FROM crm_core.ledger_block AS k
         GROUP BY k.business_id) AS blocks ON blocks.business_id = b.id
  LEFT JOIN (
        SELECT e.business_id,
               sum(1 + (SELECT count(*) FROM crm_core.journal_line AS l
                         WHERE l.business_id = e.business_id AND l.entry_id = e.id))
                   AS unsealed_rows,
               min(e.posted_at) AS oldest_unsealed_at
          FROM crm_core.journal_entry AS e
         WHERE e.status = 'posted'
           AND NOT EXISTS (SELECT FROM crm_core.ledger_sealed_entry AS s
                            WHERE s.business_id = e.business_id AND s.entry_id = e.id)
         GROUP BY e.business_id) AS pending ON pending.business_id = b.id;
COMMENT ON VIEW crm_core.seal_status IS
    'Per business: sealed blocks, posted rows (entries + lines) not sealed yet, the oldest of them, the last seal.';
GRANT SELECT ON crm_core.seal_status TO crm_core_app, crm_core_readonly;
