#!/bin/sh
# Restore an AIS dump into a NEW, empty database and check it:
#
#   deploy/restore.sh /var/backups/ais/ais-20261204T014500Z.dump postgresql://ais@db-host:5432/ais_restored
#
# Runs pg_restore, then `flask --app ais db upgrade` (when the code is newer than the dump) and
# `flask --app ais check` against the restored database, from the release in AIS_HOME (default
# /srv/ais/current) with its venv.  Exit status: 0 when the restored books pass the check.
set -eu
dump="${1:?usage: restore.sh DUMP_FILE DATABASE_URL}"
target="${2:?usage: restore.sh DUMP_FILE DATABASE_URL}"
home="${AIS_HOME:-/srv/ais/current}"
venv="$home/.venv"
libpq="$(printf '%s' "$target" | sed -e 's|^postgresql+[a-z0-9]*://|postgresql://|' -e 's|^postgres://|postgresql://|')"

cd "$home"
pg_restore --no-owner --no-privileges --exit-on-error --dbname="$libpq" "$dump"
DATABASE_URL="$target" "$venv/bin/flask" --app ais db upgrade
DATABASE_URL="$target" "$venv/bin/flask" --app ais check
