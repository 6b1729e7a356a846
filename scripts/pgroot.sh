#!/usr/bin/env bash
# Makes a private, relocated copy of Debian's PostgreSQL 15 tree (PostgreSQL finds its
# share/ and lib/ relative to its binaries), so `make install` and the test-only extension
# never touch the system installation and several checkouts can be tested side by side.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

stamp="$PGROOT/.source-version"
current=$("$SYSTEM_PG_LIB/bin/postgres" --version)
if [ -x "$PGBIN/postgres" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$current" ] && [ "${1:-}" != --force ]; then
    exit 0
fi
rm -rf "$PGROOT"
mkdir -p "$PGROOT/lib/postgresql" "$PGROOT/share/postgresql"
cp -a "$SYSTEM_PG_LIB" "$PGROOT/lib/postgresql/"
cp -a "$SYSTEM_PG_SHARE" "$PGROOT/share/postgresql/"
ln -s /usr/include "$PGROOT/include"
echo "$current" > "$stamp"
echo "pgroot: private PostgreSQL tree at $PGROOT ($current)"
