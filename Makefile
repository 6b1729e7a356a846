# Builds and installs every extension under extensions/ (PGXS, C++17), in dependency order.
#   make && make install       into the PostgreSQL that pg_config names (PG_CONFIG=... for another)
#   make installcheck          the pgTAP suites of every extension (scripts/run-pgtap.sh)
EXTENSIONS = crm_core crm_collections crm_erp

.PHONY: all install clean installcheck
all install clean:
	@set -e; for extension in $(EXTENSIONS); do $(MAKE) -C extensions/$$extension $@; done

installcheck:
	scripts/run-pgtap.sh
