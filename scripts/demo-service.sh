#!/usr/bin/env bash
# Starts crm-core-service in the background against the "demo" cluster (database
# crm_core_demo), on 127.0.0.1 and a free port, and shows its health. Called by setup.sh.
#   scripts/demo-service.sh          (re)start it
#   scripts/demo-service.sh stop     stop it (SIGTERM: finishes the job in hand, exits)
# Its pid, port and log are build/clusters/demo/service.{pid,port,log}.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

binary=$CRM_ROOT/build/cmake/service/crm-core-service
dir=$CRM_RUNTIME/clusters/demo
pidfile=$dir/service.pid
portfile=$dir/service.port
log=$dir/service.log

# Stops the running demo service, if any, and waits for it to exit.
stop() {
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        local pid
        pid=$(cat "$pidfile")
        kill -TERM "$pid"
        for _ in $(seq 1 350); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        echo "crm-core-service: stopped (pid $pid)"
    fi
    rm -f "$pidfile" "$portfile"
}

# GET on the service without needing curl; prints the body.
get() {
    exec {fd}<>"/dev/tcp/127.0.0.1/$1"
    printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$2" >&"$fd"
    timeout 5 cat <&"$fd" | sed '1,/^\r$/d'
    exec {fd}<&-
}
status() {
    { exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 0
    printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$2" >&"$fd"
    timeout 5 head -1 <&"$fd" | cut -d' ' -f2
    exec {fd}<&-
}

if [ "${1:-}" = stop ]; then
    stop
    exit 0
fi
if [ ! -x "$binary" ]; then
    echo "crm-core-service is not built: run scripts/build.sh" >&2
    exit 1
fi
stop
eval "$("$CRM_ROOT/scripts/cluster.sh" env demo)"
export PGDATABASE=crm_core_demo

port=
for candidate in $(seq 9187 9286); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
        port=$candidate
        break
    fi
done
if [ -z "$port" ]; then
    echo "crm-core-service: no free port in 9187-9286" >&2
    exit 1
fi

nohup "$binary" --listen 127.0.0.1 --port "$port" >"$log" 2>&1 &
echo $! >"$pidfile"
echo "$port" >"$portfile"
for _ in $(seq 1 200); do
    [ "$(status "$port" /readyz)" = 200 ] && break
    sleep 0.1
done
if [ "$(status "$port" /readyz)" != 200 ]; then
    echo "crm-core-service did not become ready; its log ($log):" >&2
    tail -n 20 "$log" >&2
    exit 1
fi
sleep 1  # let the first health probe finish
echo
echo "crm-core-service (pid $(cat "$pidfile")) on http://127.0.0.1:$port, log: $log"
echo "\$ curl -s http://127.0.0.1:$port/healthz"
if command -v python3 >/dev/null; then
    get "$port" /healthz | python3 -m json.tool
else
    get "$port" /healthz
fi
cat <<MSG
Endpoints: /livez /readyz /healthz /metrics  (docs/operations.md)
Stop:     scripts/demo-service.sh stop
MSG
