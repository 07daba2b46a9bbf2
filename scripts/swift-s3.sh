#!/usr/bin/env bash
# Runs a single-machine OpenStack Swift with its S3 API on 127.0.0.1:8090, a real object store for tests.
#
# Derived from ../shared/tools/swift-s3-reference.sh. Everything lives under $SWIFT_DIR (default
# /tmp/davfs-swift-s3); /etc/swift is only read (Debian's swift.conf supplies the hash prefix/suffix
# and storage policy 0).
#
# install: apt-get install -y --no-install-recommends swift swift-proxy swift-object swift-container swift-account memcached
# usage:   scripts/swift-s3.sh start | stop | status
#   start   idempotent: does nothing when the S3 API already answers; otherwise clears our own stale
#           daemons, writes the config, starts memcached and the four Swift servers, and waits for them
#   stop    stops only the daemons whose pid files are under $SWIFT_DIR (checked against their command line)
#   status  exit status 0 when the S3 API answers
# S3:      endpoint http://127.0.0.1:8090, access key "test:tester", secret "testing", region us-east-1, path style
set -u
S=${SWIFT_DIR:-/tmp/davfs-swift-s3}
ETC=$S/etc
PROXY_PORT=8090
MEMCACHED_PORT=11222
cmd=${1:-start}

healthy () {
  curl -sf --max-time 2 "http://127.0.0.1:$PROXY_PORT/healthcheck" > /dev/null || return 1
  # The proxy answers before the backends listen; a PUT in that window fails with 503.
  for p in 6200 6201 6202; do ss -ltn | grep -q "127.0.0.1:$p " || return 1; done
}

# A pid file may outlive its process and the pid be reused: kill only processes that are ours.
ours () { # pid
  [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' < "/proc/$1/cmdline" | grep -qE -- "$ETC/|-p $MEMCACHED_PORT"
}

stop_all () {
  local pids=() f pid
  for f in "$S"/run/*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    if ours "$pid"; then kill "$pid" 2>/dev/null && pids+=("$pid") && echo "stopped $(basename "$f" .pid) pid $pid"; fi
    rm -f "$f"
  done
  # Wait for the ports to be released so an immediate start does not find them busy.
  for _ in $(seq 1 50); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
  return 0
}

case "$cmd" in
  stop) stop_all; exit 0 ;;
  status) healthy; exit $? ;;
  start) ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac

if healthy; then echo "swift-s3: already running on 127.0.0.1:$PROXY_PORT"; exit 0; fi
for b in swift-proxy-server swift-object-server swift-container-server swift-account-server swift-ring-builder memcached; do
  if ! command -v "$b" > /dev/null; then
    echo "swift-s3: $b is missing: apt-get install -y --no-install-recommends swift swift-proxy swift-object swift-container swift-account memcached" >&2
    exit 1
  fi
done
stop_all > /dev/null # half-started daemons of an earlier run
for p in $PROXY_PORT 6200 6201 6202 $MEMCACHED_PORT; do
  if ss -ltn | grep -q "127.0.0.1:$p "; then echo "swift-s3: port $p is busy (another process)" >&2; exit 1; fi
done

mkdir -p "$ETC" "$S/srv/d1" "$S/run" "$S/log" "$S/cache"
# Swift drops privileges to `user`; run as whoever calls us (the reference hard-codes root).
RUN_AS=$(id -un)
cat > "$ETC/common.inc" <<EOF
[DEFAULT]
swift_dir = $ETC
devices = $S/srv
mount_check = false
user = $RUN_AS
workers = 0
bind_ip = 127.0.0.1
log_facility = LOG_LOCAL0
recon_cache_path = $S/cache
EOF

mk_server () { # name port
  { cat "$ETC/common.inc"; echo "bind_port = $2"; cat <<EOF
[pipeline:main]
pipeline = $1-server
[app:$1-server]
use = egg:swift#$1
[$1-replicator]
[$1-updater]
[$1-auditor]
EOF
  } > "$ETC/$1-server.conf"
}
mk_server object 6200
mk_server container 6201
mk_server account 6202

cat > "$ETC/proxy-server.conf" <<EOF
[DEFAULT]
swift_dir = $ETC
bind_ip = 127.0.0.1
bind_port = $PROXY_PORT
workers = 0
user = $RUN_AS
log_facility = LOG_LOCAL0

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth copy slo dlo versioned_writes proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
allow_account_management = true
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
dns_compliant_bucket_names = False

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MEMCACHED_PORT
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
[filter:versioned_writes]
use = egg:swift#versioned_writes
EOF

cd "$ETC" || exit 1
for r in object:6200 container:6201 account:6202; do
  n=${r%%:*}; p=${r##*:}
  if [ ! -f "$n.ring.gz" ]; then
    swift-ring-builder "$n.builder" create 10 1 1 > /dev/null
    swift-ring-builder "$n.builder" add "r1z1-127.0.0.1:$p/d1" 100 > /dev/null
    swift-ring-builder "$n.builder" rebalance > /dev/null
  fi
done

# setsid and closed stdio: the daemons must not hold the caller's pipes open (a test runner that
# started this script would otherwise wait for them forever) nor die with the caller's process group.
setsid memcached -l 127.0.0.1 -p $MEMCACHED_PORT -u "$RUN_AS" < /dev/null > "$S/log/memcached.log" 2>&1 &
echo $! > "$S/run/memcached.pid"
for n in object container account; do
  setsid "$(command -v swift-$n-server)" "$ETC/$n-server.conf" < /dev/null > "$S/log/$n.log" 2>&1 &
  echo $! > "$S/run/$n.pid"
done
setsid "$(command -v swift-proxy-server)" "$ETC/proxy-server.conf" < /dev/null > "$S/log/proxy.log" 2>&1 &
echo $! > "$S/run/proxy.pid"

for _ in $(seq 1 150); do
  if healthy; then echo "swift-s3: running on 127.0.0.1:$PROXY_PORT (logs in $S/log)"; exit 0; fi
  sleep 0.2
done
echo "swift-s3: did not become healthy within 30 s; last proxy log lines:" >&2
tail -n 20 "$S/log/proxy.log" >&2
exit 1
