#!/bin/sh
# Checks the shipped deployment files with the real tools (make deploy-check installs them):
#   systemd-analyze verify  every unit and timer under deploy/systemd/
#   nginx -t                deploy/nginx/ais.conf inside a minimal nginx.conf
#   sh -n                   the shell scripts
# The files name /srv/ais, /etc/ais/env and Let's Encrypt certificates that exist only on a
# server; the check works on copies that point at stand-ins in a temporary folder.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== systemd-analyze verify"
root="$work/srv-ais"
release="$root/current"
mkdir -p "$release/.venv/bin" "$release/deploy" "$work/units"
for tool in gunicorn flask; do printf '#!/bin/sh\n' > "$release/.venv/bin/$tool"; done
cp "$here/backup.sh" "$release/deploy/backup.sh"
chmod +x "$release/.venv/bin/"* "$release/deploy/backup.sh"
for unit in "$here"/systemd/*.service "$here"/systemd/*.timer; do
  sed "s|/srv/ais|$root|g" "$unit" > "$work/units/$(basename "$unit")"
done
# Services with their timers beside them (a timer needs its unit).  systemd only warns about an
# unknown key or a bad value and goes on: any line it prints fails the check.
status=0
out="$(systemd-analyze verify --man=no "$work"/units/*.service "$work"/units/*.timer 2>&1)" || status=$?
if [ "$status" -ne 0 ] || [ -n "$out" ]; then
  printf '%s\n' "$out" | sed "s|$work/units/||g" >&2
  exit 1
fi
echo "systemd: $(ls "$here"/systemd | wc -l) units are valid"

echo "== nginx -t"
mkdir -p "$work/nginx/certs"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=billing.example.com" \
  -keyout "$work/nginx/certs/privkey.pem" -out "$work/nginx/certs/fullchain.pem" 2>/dev/null
sed -e "s|/etc/letsencrypt/live/billing.example.com|$work/nginx/certs|g" "$here/nginx/ais.conf" > "$work/nginx/ais.conf"
cat > "$work/nginx/nginx.conf" <<CONF
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events {}
http {
    include /etc/nginx/mime.types;
    access_log off;
    include $work/nginx/ais.conf;
}
CONF
nginx -t -q -c "$work/nginx/nginx.conf" -p "$work/nginx"
echo "nginx: deploy/nginx/ais.conf is valid"

echo "== sh -n"
for script in "$here"/*.sh; do sh -n "$script"; done
echo "deploy files: OK"
