# PGXS build of the crm_core extension (C++17).
#   make && make install            build and install into the PostgreSQL that pg_config names
#   make installcheck               run the pgTAP suite (tests/pgtap) with pg_prove
# PG_CONFIG=/path/to/pg_config selects another PostgreSQL installation.

EXTENSION   = crm_core
EXTVERSION  = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" crm_core.control)
MODULE_big  = crm_core

CORE_SOURCES = $(sort $(wildcard extension/src/core/*.cpp))
PG_SOURCES   = $(sort $(wildcard extension/src/pg/*.cpp))
OBJS         = $(CORE_SOURCES:.cpp=.o) $(PG_SOURCES:.cpp=.o)

INSTALL_PARTS = $(sort $(wildcard sql/install/*.sql))
DATA_built    = $(EXTENSION)--$(EXTVERSION).sql
DATA          = $(wildcard sql/$(EXTENSION)--*--*.sql)
EXTRA_CLEAN   = $(DATA_built) $(OBJS:.o=.d)

PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Werror -Wno-register \
              -Iextension/include -Iextension/src/pg
SHLIB_LINK  = -lstdc++

# No LLVM bitcode for JIT: it would need clang at build time and gains nothing here.
override with_llvm = no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Server headers are third-party code: include them as system headers so -Werror
# applies to our code only.
override CPPFLAGS := $(patsubst -I%,-isystem %,$(filter -I$(includedir)%,$(CPPFLAGS))) \
                     $(filter-out -I$(includedir)%,$(CPPFLAGS))

$(EXTENSION)--$(EXTVERSION).sql: $(INSTALL_PARTS) crm_core.control
	{ printf '%s\n' '-- Generated from sql/install/*.sql by make; edit those files instead.' \
	    '\echo Use "CREATE EXTENSION $(EXTENSION)" to load this file. \quit'; \
	  for part in $(INSTALL_PARTS); do printf '\n-- ==== %s\n' "$$part"; cat "$$part"; done; } > $@

.PHONY: installcheck
installcheck:
	scripts/run-pgtap.sh

# Rebuild objects when a header they include changes (PGXS tracks only with --enable-depend).
%.o: %.cpp
	$(CXX) $(CXXFLAGS) $(CPPFLAGS) -MMD -MP -c -o $@ $<
-include $(OBJS:.o=.d)
