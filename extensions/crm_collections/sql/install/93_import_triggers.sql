-- Imports: the batch's counters and status transitions, kept by triggers (tables: 93_import.sql).

-- ---------------------------------------------------------------------------------------
-- Counters and transitions, kept by the database once per statement (COPY of 50,000 rows:
-- one update of the batch).

CREATE FUNCTION collections._import_rows_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bad record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT n.business_id, n.batch_id, n.line_no, n.status, b.status AS batch_status INTO bad
          FROM new_rows n
          LEFT JOIN collections.import_batch b ON b.business_id = n.business_id AND b.id = n.batch_id
         WHERE n.status <> 'pending' OR b.status IS DISTINCT FROM 'loading'
         LIMIT 1;
        IF FOUND THEN
            IF bad.status <> 'pending' THEN
                RAISE EXCEPTION 'import row % of batch % arrives as %: rows arrive pending', bad.line_no, bad.batch_id, bad.status
                    USING ERRCODE = 'check_violation', TABLE = 'import_row', SCHEMA = 'collections', COLUMN = 'status';
            END IF;
            RAISE EXCEPTION 'import batch % of business % is %: it takes no more rows', bad.batch_id, bad.business_id,
                            coalesce(bad.batch_status, 'missing')
                USING ERRCODE = 'object_not_in_prerequisite_state', TABLE = 'import_row', SCHEMA = 'collections',
                      HINT = 'Rows are loaded while the batch is loading; start a new batch with collections.begin_import().';
        END IF;
        UPDATE collections.import_batch b SET total = b.total + n.rows, pending = b.pending + n.rows
          FROM (SELECT business_id, batch_id, count(*) AS rows FROM new_rows GROUP BY 1, 2) n
         WHERE b.business_id = n.business_id AND b.id = n.batch_id;
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        -- The record and its place never change; statuses only move forward.
        SELECT o.batch_id, o.line_no, o.status AS old_status, n.status AS new_status,
               (o.raw IS DISTINCT FROM n.raw) AS raw_changed INTO bad
          FROM old_rows o
          JOIN new_rows n ON n.business_id = o.business_id AND n.batch_id = o.batch_id AND n.line_no = o.line_no
         WHERE o.raw IS DISTINCT FROM n.raw
            OR (o.status <> n.status AND (o.status, n.status) NOT IN (
                   ('pending', 'valid'), ('pending', 'invalid'), ('valid', 'invalid'), ('valid', 'applied'),
                   ('valid', 'duplicate'), ('valid', 'skipped')))
         LIMIT 1;
        IF FOUND THEN
            IF bad.raw_changed THEN
                RAISE EXCEPTION 'line % of import batch % was loaded as it is: its raw record never changes', bad.line_no, bad.batch_id
                    USING ERRCODE = 'object_not_in_prerequisite_state', TABLE = 'import_row', SCHEMA = 'collections', COLUMN = 'raw';
            END IF;
            RAISE EXCEPTION 'line % of import batch % cannot go from % to %', bad.line_no, bad.batch_id, bad.old_status, bad.new_status
                USING ERRCODE = 'object_not_in_prerequisite_state', TABLE = 'import_row', SCHEMA = 'collections', COLUMN = 'status',
                      HINT = 'Rows go pending -> valid | invalid -> applied | duplicate | skipped.';
        END IF;
        IF (SELECT count(*) FROM old_rows o LEFT JOIN new_rows n
                ON n.business_id = o.business_id AND n.batch_id = o.batch_id AND n.line_no = o.line_no
             WHERE n.line_no IS NULL) > 0 THEN
            RAISE EXCEPTION 'an import row''s business, batch and line never change'
                USING ERRCODE = 'object_not_in_prerequisite_state', TABLE = 'import_row', SCHEMA = 'collections';
        END IF;
    END IF;
    WITH delta AS (
        SELECT business_id, batch_id, status, -1 AS change FROM old_rows
        UNION ALL
        SELECT business_id, batch_id, status, 1 FROM new_rows
    ), per_batch AS (
        SELECT business_id, batch_id,
               sum(change) FILTER (WHERE status = 'pending') AS pending,
               sum(change) FILTER (WHERE status = 'valid') AS valid,
               sum(change) FILTER (WHERE status = 'invalid') AS invalid,
               sum(change) FILTER (WHERE status = 'applied') AS applied,
               sum(change) FILTER (WHERE status = 'duplicate') AS duplicate,
               sum(change) FILTER (WHERE status = 'skipped') AS skipped,
               sum(change) AS total
          FROM delta GROUP BY 1, 2
    )
    UPDATE collections.import_batch b
       SET pending = b.pending + coalesce(d.pending, 0), valid = b.valid + coalesce(d.valid, 0),
           invalid = b.invalid + coalesce(d.invalid, 0), applied = b.applied + coalesce(d.applied, 0),
           duplicate = b.duplicate + coalesce(d.duplicate, 0), skipped = b.skipped + coalesce(d.skipped, 0),
           total = b.total + d.total
      FROM per_batch d
     WHERE b.business_id = d.business_id AND b.id = d.batch_id;
    RETURN NULL;
END;
$$;
REVOKE EXECUTE ON FUNCTION collections._import_rows_changed() FROM PUBLIC;
CREATE TRIGGER import_rows_inserted AFTER INSERT ON collections.import_row
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION collections._import_rows_changed();
CREATE TRIGGER import_rows_updated AFTER UPDATE ON collections.import_row
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION collections._import_rows_changed();
CREATE TRIGGER import_rows_deleted AFTER DELETE ON collections.import_row
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION collections._import_rows_changed();

-- The batch's kept columns (counters, progress marks) are the database's; its status moves
-- forward only, through the import functions.
CREATE FUNCTION collections._import_batch_changed() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'loading' OR NEW.total <> 0 OR NEW.pending <> 0 OR NEW.valid <> 0 OR NEW.invalid <> 0
           OR NEW.applied <> 0 OR NEW.duplicate <> 0 OR NEW.skipped <> 0
           OR NEW.validated_through <> 0 OR NEW.applied_through <> 0 THEN
            RAISE EXCEPTION 'a new import batch starts loading, with no rows'
                USING ERRCODE = 'check_violation', TABLE = 'import_batch', SCHEMA = 'collections',
                      HINT = 'Start batches with collections.begin_import().';
        END IF;
        RETURN NEW;
    END IF;
    IF (NEW.business_id, NEW.id, NEW.source, NEW.entity, NEW.filename, NEW.file_sha256, NEW.country,
        NEW.currency, NEW.created_by, NEW.created_at)
       IS DISTINCT FROM (OLD.business_id, OLD.id, OLD.source, OLD.entity, OLD.filename, OLD.file_sha256,
                         OLD.country, OLD.currency, OLD.created_by, OLD.created_at) THEN
        RAISE EXCEPTION 'import batch % keeps the file, source and settings it was started with', OLD.id
            USING ERRCODE = 'object_not_in_prerequisite_state', TABLE = 'import_batch', SCHEMA = 'collections';
    END IF;
    IF NEW.status <> OLD.status AND (OLD.status, NEW.status) NOT IN (
           ('loading', 'validating'), ('validating', 'validated'), ('validating', 'refused'),
           ('validated', 'applying'), ('applying', 'applied'),
           ('loading', 'cancelled'), ('validating', 'cancelled'), ('validated', 'cancelled'),
           ('applying', 'cancelled'), ('refused', 'cancelled')) THEN
        RAISE EXCEPTION 'import batch % cannot go from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'object_not_in_prerequisite_state', TABLE = 'import_batch', SCHEMA = 'collections',
                  HINT = 'A batch goes loading -> validating -> validated -> applying -> applied (or refused, or cancelled).';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER import_batch_changed BEFORE INSERT OR UPDATE ON collections.import_batch
    FOR EACH ROW EXECUTE FUNCTION collections._import_batch_changed();
