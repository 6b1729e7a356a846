# Shared PGXS rules for every extension under extensions/. An extension's Makefile sets
# EXTENSION (its control file is $(EXTENSION).control beside it) and includes this file.
# Each extension is one shared library built from its own src/*.cpp, the boundary layer
# (lib/pg) and the pure C++ library (lib/pure), and one install script assembled from its
# sql/install/*.sql parts. Released install scripts and upgrade scripts live in sql/ as
# $(EXTENSION)--A.sql and $(EXTENSION)--A--B.sql and are installed as they are.

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)

version_of = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(1))
EXTVERSION      := $(call version_of,$(EXTENSION).control)
CRM_CORE_VERSION := $(call version_of,$(TOP)/extensions/crm_core/crm_core.control)

MODULE_big    = $(EXTENSION)
OWN_SOURCES   = $(sort $(wildcard src/*.cpp))
# An extension may add folders of lib/pure/src (OWN_PURE_DIRS) and of lib/pg (OWN_PG_DIRS) that
# not every extension uses, and the libraries they need (OWN_LINK_LIBS), so that crm_core never
# links them (phone: libphonenumber, for crm_collections and crm_erp).
SHARED_OBJS   = $(patsubst %.cpp,%.o,$(sort $(wildcard $(TOP)/lib/pg/*.cpp) \
                                          $(wildcard $(TOP)/lib/pure/src/*.cpp) \
                                          $(foreach dir,$(OWN_PURE_DIRS),$(wildcard $(TOP)/lib/pure/src/$(dir)/*.cpp)) \
                                          $(foreach dir,$(OWN_PG_DIRS),$(wildcard $(TOP)/lib/pg/$(dir)/*.cpp))))
OBJS          = $(OWN_SOURCES:.cpp=.o) $(SHARED_OBJS)

INSTALL_PARTS   = $(sort $(wildcard sql/install/*.sql))
EXTENSION_SQL   = $(EXTENSION)--$(EXTVERSION).sql
UPGRADE_SOURCES = $(sort $(wildcard sql/upgrade/*--*.sql))
UPGRADE_SCRIPTS = $(patsubst sql/upgrade/%,$(EXTENSION)--%,$(UPGRADE_SOURCES))
DATA_built      = $(EXTENSION_SQL) $(UPGRADE_SCRIPTS)
# Released install scripts, frozen as they shipped.
DATA            = $(wildcard sql/$(EXTENSION)--*.sql)
EXTRA_CLEAN     = $(OBJS:.o=.d)

PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Werror -Wno-register \
              -I$(TOP)/lib/pure/include -I$(TOP)/lib/pg -Isrc \
              -DCRM_CORE_VERSION='"$(CRM_CORE_VERSION)"' -DEXTENSION_NAME='"$(EXTENSION)"' -DEXTENSION_VERSION='"$(EXTVERSION)"'
# Only the functions PostgreSQL looks up are exported: two extensions carry their own copy of
# the boundary layer, and PostgreSQL loads libraries with RTLD_GLOBAL.
SHLIB_LINK  = -lstdc++ -Wl,--version-script=$(TOP)/extensions/exports.map $(OWN_LINK_LIBS)

# No LLVM bitcode for JIT: it would need clang at build time and gains nothing here.
override with_llvm = no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Server headers are third-party code: include them as system headers so -Werror
# applies to our code only.
override CPPFLAGS := $(patsubst -I%,-isystem %,$(filter -I$(includedir)%,$(CPPFLAGS))) \
                     $(filter-out -I$(includedir)%,$(CPPFLAGS))

$(EXTENSION_SQL): $(INSTALL_PARTS) $(EXTENSION).control
	{ printf '%s\n' '-- Generated from sql/install/*.sql by make; edit those files instead.' \
	    '\echo Use "CREATE EXTENSION $(EXTENSION)" to load this file. \quit'; \
	  for part in $(INSTALL_PARTS); do printf '\n-- ==== %s\n' "$$part"; cat "$$part"; done; } > $@

# An upgrade script is its source with every "-- @include install/PART.sql" line replaced by
# the text of sql/install/PART.sql.
$(UPGRADE_SCRIPTS): $(EXTENSION)--%: sql/upgrade/% $(INSTALL_PARTS)
	{ printf '%s\n' '-- Generated from $< by make; edit that file instead.' \
	    '\echo Use "ALTER EXTENSION $(EXTENSION) UPDATE" to load this file. \quit'; \
	  awk '/^-- @include / { part = "sql/" $$3; \
	                         if ((getline line < part) <= 0) { print "missing " part > "/dev/stderr"; exit 1 } \
	                         print "-- ==== " part; print line; \
	                         while ((getline line < part) > 0) print line; close(part); next } \
	       { print }' $<; } > $@

$(SHLIB): $(TOP)/extensions/exports.map

# The versions are compiled in: a version bump rebuilds every object.
$(OBJS): $(EXTENSION).control $(TOP)/extensions/crm_core/crm_core.control

# Rebuild objects when a header they include changes (PGXS tracks only with --enable-depend).
%.o: %.cpp
	$(CXX) $(CXXFLAGS) $(CPPFLAGS) -MMD -MP -c -o $@ $<
-include $(OBJS:.o=.d)
