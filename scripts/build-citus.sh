#!/usr/bin/env bash
# Builds Citus from the vendored source (../shared/vendor/citus-VERSION.tar.gz beside the
# checkout, or CRM_CORE_CITUS_TARBALL) and installs it into the
# private PostgreSQL tree (build/pgroot). The build is cached in build/citus-VERSION: only the
# first run in a checkout compiles (about 2 minutes of CPU); later runs only reinstall it when
# the private tree was remade, or do nothing. Needs libzstd-dev, liblz4-dev, libkrb5-dev
# (scripts/install-deps.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

version=13.2.2
sha256=427dff2af278ed6704606b69032115e919c15357a79ac3e63a8e36b8dc3bd6f5
# The tarball is not part of this repository: it comes with the shared folder that sits beside
# the checkout (../shared/vendor; ../../shared for a worktree one level further down).
tarball=${CRM_CORE_CITUS_TARBALL:-}
if [ -z "$tarball" ]; then
    for candidate in "$CRM_ROOT/../shared/vendor" "$CRM_ROOT/../../shared/vendor"; do
        if [ -f "$candidate/citus-$version.tar.gz" ]; then
            tarball=$(cd "$candidate" && pwd)/citus-$version.tar.gz
            break
        fi
    done
fi
if [ -z "$tarball" ]; then
    echo "build-citus: citus-$version.tar.gz not found in ../shared/vendor beside the checkout;" \
         "set CRM_CORE_CITUS_TARBALL to its path" >&2
    exit 1
fi
source_dir=$CRM_ROOT/build/citus-$version
installed_stamp=$PGROOT/.citus-version

"$CRM_ROOT/scripts/pgroot.sh"
if [ "$(cat "$installed_stamp" 2>/dev/null)" = "$version" ]; then
    exit 0
fi

# LLVM bitcode for JIT is not built (nor installed): it needs clang and the tests do not use it.
citus_make() { make -C "$source_dir" -s with_llvm=no "$@"; }

if [ ! -f "$source_dir/.crm-core-built" ]; then
    echo "$sha256  $tarball" | sha256sum -c --quiet -
    rm -rf "$source_dir"
    mkdir -p "$CRM_ROOT/build"
    tar xzf "$tarball" -C "$CRM_ROOT/build"
    echo "build-citus: building Citus $version (cached in $source_dir)"
    (cd "$source_dir" && ./configure --without-libcurl PG_CONFIG="$PG_CONFIG" >configure.log) ||
        { tail -20 "$source_dir/configure.log"; exit 1; }
    # citus.so loads citus_columnar.so at start: both are needed (the default target).
    citus_make -j"$(nproc)" >"$source_dir/build.log" 2>&1 ||
        { tail -40 "$source_dir/build.log"; exit 1; }
    touch "$source_dir/.crm-core-built"
fi
# install-extension, not install: the headers would go to /usr/include through pgroot's link.
citus_make install-extension >/dev/null 2>&1 || { citus_make install-extension; exit 1; }
echo "$version" > "$installed_stamp"
echo "build-citus: Citus $version installed into $PGROOT"
