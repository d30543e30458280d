#!/usr/bin/env bash
# The demo: two simulated XY-MD02 sensors on a pseudo-terminal, Node-RED 4 with the fieldlink
# nodes from this checkout and the example flow examples/modbus-room-climate.json, and its
# Dashboard 2.0 page. Everything runs on 127.0.0.1 and stops on Ctrl-C.
#   FIELDLINK_DEMO_PORT        Node-RED port (default 1880)
#   FIELDLINK_DEMO_SKIP_SETUP  1: do not run scripts/setup.sh first
set -euo pipefail
cd "$(dirname "$0")/.."

port="${FIELDLINK_DEMO_PORT:-1880}"
link=/tmp/fieldlink-demo-modbus
demo_dir="$PWD/.demo"
user_dir="$demo_dir/node-red"
flow=examples/modbus-room-climate.json

if [ "${FIELDLINK_DEMO_SKIP_SETUP:-0}" != 1 ]; then
  bash scripts/setup.sh
fi
if [ ! -f build/Release/fieldlink.node ]; then
  echo "demo: the addon is not built (build/Release/fieldlink.node); run: npm run build" >&2
  exit 1
fi

# Refuse to start on a port someone else already uses, rather than fail half-way.
if node -e '
  const s = require("net").connect(+process.argv[1], "127.0.0.1");
  s.on("connect", () => process.exit(0)); s.on("error", () => process.exit(1));
' "$port"; then
  echo "demo: 127.0.0.1:$port is already in use; pick another port with FIELDLINK_DEMO_PORT=..." >&2
  exit 1
fi

mkdir -p "$demo_dir"
sim_pid=""
nr_pid=""
stopping=0
cleanup() {
  [ "$stopping" = 1 ] && return
  stopping=1
  trap - INT TERM
  echo
  echo "demo: stopping"
  # Only the two processes started here, by their ids.
  [ -n "$nr_pid" ] && kill -TERM "$nr_pid" 2>/dev/null || true
  [ -n "$nr_pid" ] && wait "$nr_pid" 2>/dev/null || true
  [ -n "$sim_pid" ] && kill -TERM "$sim_pid" 2>/dev/null || true
  [ -n "$sim_pid" ] && wait "$sim_pid" 2>/dev/null || true
  echo "demo: stopped"
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap cleanup EXIT

# 1. The simulated bus: units 1 and 2 behind $link (its request log goes to a file).
node bin/fieldlink.js simulate modbus --pty "$link" --units 1,2 > "$demo_dir/simulator.log" 2>&1 &
sim_pid=$!
for _ in $(seq 1 50); do
  [ -e "$link" ] && break
  if ! kill -0 "$sim_pid" 2>/dev/null; then
    cat "$demo_dir/simulator.log" >&2
    echo "demo: the simulator did not start" >&2
    exit 1
  fi
  sleep 0.1
done
if [ ! -e "$link" ]; then
  echo "demo: the simulator did not create $link" >&2
  exit 1
fi
sed -n '1,/press Ctrl-C/p' "$demo_dir/simulator.log" | grep -v 'press Ctrl-C' | sed 's/^/simulator: /'

# 2. Node-RED with the example flow (copied into the userDir at every start).
node scripts/lib/nodered.js --user-dir "$user_dir" --flow "$flow" --port "$port" &
nr_pid=$!
for _ in $(seq 1 300); do
  if ! kill -0 "$nr_pid" 2>/dev/null; then
    echo "demo: Node-RED exited during start-up" >&2
    exit 1
  fi
  if node -e '
    require("http").get("http://127.0.0.1:" + process.argv[1] + "/dashboard/modbus", (r) => process.exit(r.statusCode === 200 ? 0 : 1))
      .on("error", () => process.exit(1));
  ' "$port"; then
    break
  fi
  sleep 0.2
done

cat <<EOF

  fieldlink demo is running
    Node-RED editor  http://127.0.0.1:$port
    Dashboard        http://127.0.0.1:$port/dashboard/modbus
    simulator log    $demo_dir/simulator.log   (serial link $link)

  Press Ctrl-C to stop.

EOF

wait "$nr_pid" || true
nr_pid=""
