#!/bin/sh
# Nightly logical backup of the AIS database: pg_dump (custom format) into AIS_BACKUP_DIR,
# private file modes, and the dumps older than AIS_BACKUP_KEEP_DAYS deleted.
#
#   DATABASE_URL=postgresql://ais@db-host:5432/ais deploy/backup.sh
#
# Settings (environment, e.g. from /etc/ais/env): DATABASE_URL (required), AIS_BACKUP_DIR
# (default /var/backups/ais), AIS_BACKUP_KEEP_DAYS (default 14).  Prints the dump's path.
# The dump is written under a temporary name and renamed once complete, so a failed run
# never leaves a file that looks like a good backup.
set -eu
umask 077

url="${DATABASE_URL:?DATABASE_URL is not set}"
dir="${AIS_BACKUP_DIR:-/var/backups/ais}"
keep="${AIS_BACKUP_KEEP_DAYS:-14}"
case "$keep" in ''|*[!0-9]*) echo "AIS_BACKUP_KEEP_DAYS must be a number of days" >&2; exit 2 ;; esac

# The app's URL names its driver (postgresql+psycopg://); pg_dump wants libpq's postgresql://.
url="$(printf '%s' "$url" | sed -e 's|^postgresql+[a-z0-9]*://|postgresql://|' -e 's|^postgres://|postgresql://|')"

mkdir -p "$dir"
chmod 700 "$dir"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
final="$dir/ais-$stamp.dump"
partial="$final.partial"
trap 'rm -f "$partial"' EXIT
pg_dump --format=custom --no-owner --no-privileges --file="$partial" --dbname="$url"
chmod 600 "$partial"
mv "$partial" "$final"
trap - EXIT

# Retention: whole days, dumps only (never anything else in the folder).
find "$dir" -maxdepth 1 -type f -name 'ais-*.dump' -mtime "+$keep" -delete
echo "$final"
