#!/usr/bin/env bash
# Runs ../shared/tools/dav-bench.sh against davfs-bridge and against Apache mod_dav (the reference)
# on this machine, in one run, and prints the comparison table.
# Needs: Debian apache2 (apt-get install apache2), curl, ../shared beside the project, ~8 GiB of disk.
# usage: bench/dav-vs-apache.sh [WORKDIR]   (default /tmp/davbench)
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-/tmp/davbench}
TOOLS=$(cd ../shared/tools && pwd)
APORT=${APACHE_PORT:-8091}; DPORT=${DAVFS_PORT:-8092}
mkdir -p "$W/apache/root" "$W/apache/run" "$W/apache/lock" "$W/src"
bash "$TOOLS/dav-bench-prepare.sh" sources "$W/src"
bash "$TOOLS/dav-bench-prepare.sh" local "$W/apache/root"
chown -R www-data:www-data "$W/apache"

# Apache: its own config file, mod_dav_fs + mod_dav_lock, nothing from /etc/apache2/sites-*.
cat > "$W/apache/httpd.conf" <<CONF
ServerRoot /etc/apache2
Listen 127.0.0.1:$APORT
PidFile $W/apache/run/httpd.pid
User www-data
Group www-data
ErrorLog $W/apache/error.log
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule dav_module /usr/lib/apache2/modules/mod_dav.so
LoadModule dav_fs_module /usr/lib/apache2/modules/mod_dav_fs.so
LoadModule dav_lock_module /usr/lib/apache2/modules/mod_dav_lock.so
LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so
DAVLockDB $W/apache/lock/davlock
DocumentRoot $W/apache/root
LimitRequestBody 0
<Directory $W/apache/root>
  DAV On
  Require all granted
</Directory>
CONF
/usr/sbin/apache2 -f "$W/apache/httpd.conf" -k start
trap '/usr/sbin/apache2 -f "$W/apache/httpd.conf" -k stop || true; [ -n "${DPID:-}" ] && kill $DPID 2>/dev/null || true' EXIT
sleep 1
APID=$(cat "$W/apache/run/httpd.pid")

npm run build >/dev/null
rm -rf "$W/davfs"
node bin/davfs-bridge.js serve --data "$W/davfs" --listen "127.0.0.1:$DPORT" > "$W/davfs.log" 2>&1 &
DPID=$!
for _ in $(seq 50); do curl -sf -X OPTIONS "http://127.0.0.1:$DPORT/" >/dev/null && break; sleep 0.2; done
# davfs-bridge is measured as users run it: with authentication (Basic, the admin the first start
# made); Apache runs without any, so the row includes our authentication's cost.
DPASS=$(sed -n 's/^created user admin .*: //p' "$W/davfs.log")
DAUTH="-u admin:$DPASS"
CURL_AUTH="$DAUTH" bash "$TOOLS/dav-bench-prepare.sh" upload "http://127.0.0.1:$DPORT/"

export SRC1G="$W/src/src1g.bin" SRC4K="$W/src/src4k.bin"
LABEL=apache SERVER_PID=$APID OUT="$W/out-apache" bash "$TOOLS/dav-bench.sh" "http://127.0.0.1:$APORT/" > "$W/apache-bench.log" 2>&1
CURL_AUTH="$DAUTH" LABEL=davfs-bridge SERVER_PID=$DPID OUT="$W/out-davfs" bash "$TOOLS/dav-bench.sh" "http://127.0.0.1:$DPORT/" > "$W/davfs-bench.log" 2>&1
bash "$TOOLS/dav-bench-summarize.sh" "$W/out-apache" "$W/out-davfs"
