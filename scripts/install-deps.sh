#!/usr/bin/env bash
# Installs exactly the Debian 12 packages crm_core needs to build, test and run.
# Skips apt entirely when everything is already installed. Needs root (or sudo).
set -euo pipefail

PACKAGES=(
    postgresql-15                           # the server
    postgresql-server-dev-15                # PGXS and server headers
    postgresql-15-pgtap                     # pgTAP
    libtap-parser-sourcehandler-pgtap-perl  # pg_prove
    libpqxx-dev                             # C++ client library for crm-core-service
    libboost-dev                            # Boost.Beast / Asio headers for the service
    libboost-test-dev                       # Boost.Test
    libphonenumber-dev                      # E.164 phone numbers (crm_collections only)
    libicu-dev                              # currency decimals (crm_collections only)
    cmake g++ make pkg-config
    git                                     # tests/upgrade builds released versions from history
    libzstd-dev liblz4-dev libkrb5-dev      # building the vendored Citus (tests/citus, bench/citus)
    ca-certificates
)
PACKAGES+=("$@")  # extra packages, e.g. the benchmarks' postgresql-15-partman

missing=()
for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$package")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all packages present"
    exit 0
fi

SUDO=
if [ "$(id -u)" != 0 ]; then
    SUDO=sudo
fi
# We run throwaway clusters of our own: do not let the package create and start a "main" one.
$SUDO mkdir -p /etc/postgresql-common/createcluster.d
echo 'create_main_cluster = false' | $SUDO tee /etc/postgresql-common/createcluster.d/crm_core.conf >/dev/null

echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
