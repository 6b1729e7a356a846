-- Everything an extension's install or upgrade scripts create, as sorted lines of text: two
-- databases whose extension has the same catalog print the same lines. Used by schema_test.sh
-- to prove that an upgraded database equals a fresh install. psql variable: extension.
-- Columns are listed by name, not position (ALTER TABLE ... ADD COLUMN appends); what the
-- server numbers by itself (oids, constraint index names of system origin) is left out. ACL
-- items are sorted: a GRANT after a REVOKE lists the same rights in another order.
\set QUIET on
\pset tuples_only on
\pset format unaligned
WITH ext AS (
    SELECT oid FROM pg_extension WHERE extname = :'extension'
), member AS (
    SELECT d.classid, d.objid FROM pg_depend d, ext
    WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
), rel AS (
    SELECT c.oid, c.relname, c.relkind, format('%I.%I', n.nspname, c.relname) AS name
    FROM member m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    UNION  -- partitions made by the scripts belong with their parent
    SELECT c.oid, c.relname, c.relkind, format('%I.%I', n.nspname, c.relname)
    FROM member m JOIN pg_inherits i ON m.classid = 'pg_class'::regclass AND i.inhparent = m.objid
    JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
), line AS (
    SELECT 'member ' || pg_describe_object(classid, objid, 0) AS text FROM member
    UNION ALL
    SELECT format('relation %s kind=%s persistence=%s rls=%s/%s options=%s acl=%s partkey=%s bound=%s comment=%s',
                  r.name, r.relkind, c.relpersistence, c.relrowsecurity, c.relforcerowsecurity,
                  c.reloptions, (SELECT array_agg(item ORDER BY item::text) FROM unnest(c.relacl) AS item), pg_get_partkeydef(c.oid),
                  pg_get_expr(c.relpartbound, c.oid), obj_description(c.oid, 'pg_class'))
    FROM rel r JOIN pg_class c ON c.oid = r.oid
    UNION ALL
    SELECT format('column %s.%I type=%s notnull=%s default=%s identity=%s generated=%s collation=%s acl=%s comment=%s',
                  r.name, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                  pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated,
                  a.attcollation::regcollation, (SELECT array_agg(item ORDER BY item::text) FROM unnest(a.attacl) AS item), col_description(r.oid, a.attnum))
    FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef ad ON ad.adrelid = r.oid AND ad.adnum = a.attnum
    UNION ALL
    SELECT format('constraint %s %I %s deferrable=%s/%s', r.name, co.conname,
                  pg_get_constraintdef(co.oid), co.condeferrable, co.condeferred)
    FROM rel r JOIN pg_constraint co ON co.conrelid = r.oid
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(i.indexrelid)
    FROM rel r JOIN pg_index i ON i.indrelid = r.oid
    UNION ALL
    SELECT format('trigger %s %s enabled=%s', r.name, pg_get_triggerdef(t.oid), t.tgenabled)
    FROM rel r JOIN pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal
    UNION ALL
    SELECT format('policy %s %I cmd=%s permissive=%s roles=%s using=%s check=%s', r.name,
                  p.polname, p.polcmd, p.polpermissive,
                  (SELECT string_agg(CASE WHEN x = 0 THEN 'public' ELSE x::regrole::text END, ',' ORDER BY 1)
                   FROM unnest(p.polroles) x),
                  pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
    FROM rel r JOIN pg_policy p ON p.polrelid = r.oid
    UNION ALL
    SELECT format('rule %s %s', r.name, pg_get_ruledef(ru.oid))
    FROM rel r JOIN pg_rewrite ru ON ru.ev_class = r.oid AND ru.rulename <> '_RETURN'
    UNION ALL
    SELECT format('view %s %s', r.name, pg_get_viewdef(r.oid))
    FROM rel r WHERE r.relkind IN ('v', 'm')
    UNION ALL
    SELECT format('function %s acl=%s comment=%s %s', p.oid::regprocedure, (SELECT array_agg(item ORDER BY item::text) FROM unnest(p.proacl) AS item),
                  obj_description(p.oid, 'pg_proc'),
                  CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) END)
    FROM member m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
    UNION ALL
    SELECT format('type %s enum=%s domain=%s', t.oid::regtype,
                  (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                   FROM pg_enum e WHERE e.enumtypid = t.oid),
                  (SELECT string_agg(pg_get_constraintdef(co.oid), ',' ORDER BY co.conname)
                   FROM pg_constraint co WHERE co.contypid = t.oid))
    FROM member m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
    UNION ALL
    SELECT format('event trigger %I on %s calls %s enabled=%s tags=%s', e.evtname, e.evtevent,
                  e.evtfoid::regprocedure, e.evtenabled, e.evttags)
    FROM member m JOIN pg_event_trigger e ON m.classid = 'pg_event_trigger'::regclass AND e.oid = m.objid
    UNION ALL
    SELECT format('schema %I acl=%s comment=%s', n.nspname, (SELECT array_agg(item ORDER BY item::text) FROM unnest(n.nspacl) AS item), obj_description(n.oid, 'pg_namespace'))
    FROM member m JOIN pg_namespace n ON m.classid = 'pg_namespace'::regclass AND n.oid = m.objid
    UNION ALL
    SELECT format('dumped %s where %s', c.oid::regclass, x.cond)
    FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(rel, cond), pg_class c
    WHERE e.extname = :'extension' AND c.oid = x.rel
)
-- One line per object, so that a diff names the object that differs.
SELECT description FROM (SELECT replace(text, E'\n', ' \\n ') AS description FROM line) AS lines
ORDER BY description COLLATE "C";
