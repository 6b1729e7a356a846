-- The "app" variant: crm_core with tenant isolation switched off (as a superuser may), so
-- that tenant/app measures isolation alone for the same application login.
SELECT format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY',
              p.polrelid::regclass)
  FROM pg_catalog.pg_policy AS p WHERE p.polname = 'crm_core_tenant' \gexec
SELECT format('ALTER TABLE %s DISABLE TRIGGER %I', t.tgrelid::regclass, t.tgname)
  FROM pg_catalog.pg_trigger AS t
 WHERE t.tgname IN ('_crm_core_tenant_row', '_crm_core_tenant_statement') AND t.tgparentid = 0 \gexec
