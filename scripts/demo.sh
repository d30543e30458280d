#!/usr/bin/env bash
# The demo: two simulated XY-MD02 sensors on a pseudo-terminal, a simulated M307 Temperature
# Guard on TCP, Node-RED (5, or 4.1 on Node < 22.9) with the fieldlink nodes from this checkout running the example
# flows examples/modbus-room-climate.json and examples/m307-cold-room.json (merged into one
# flow file, as Node-RED runs one), and their Dashboard 2.0 pages. Everything runs on
# 127.0.0.1 and stops on Ctrl-C.
#   FIELDLINK_DEMO_PORT        Node-RED port (default 1880)
#   FIELDLINK_DEMO_M307_PORT   M307 simulator port (default 10001, the library default the example flow uses)
#   FIELDLINK_DEMO_SKIP_SETUP  1: do not run scripts/setup.sh first
set -euo pipefail
cd "$(dirname "$0")/.."

port="${FIELDLINK_DEMO_PORT:-1880}"
m307_port="${FIELDLINK_DEMO_M307_PORT:-10001}"
link=/tmp/fieldlink-demo-modbus
demo_dir="$PWD/.demo"
user_dir="$demo_dir/node-red"
flows=(examples/modbus-room-climate.json examples/m307-cold-room.json examples/mate-solar.json)
mate_link=/tmp/fieldlink-demo-mate
flow="$demo_dir/flows.json" # the merged flow

if [ "${FIELDLINK_DEMO_SKIP_SETUP:-0}" != 1 ]; then
  bash scripts/setup.sh
fi
# Node-RED 5 (the dev dependency) needs Node >= 22.9; on an older Node the demo runs Node-RED 4.1.
if ! node -e 'require("./scripts/lib/nodered").nodeRedDir()' 2>/dev/null; then
  bash scripts/runtimes.sh node-red-4
fi
if [ ! -f build/Release/fieldlink.node ]; then
  echo "demo: the addon is not built (build/Release/fieldlink.node); run: npm run build" >&2
  exit 1
fi

# Refuse to start on a port someone else already uses, rather than fail half-way.
port_in_use() {
  node -e '
    const s = require("net").connect(+process.argv[1], "127.0.0.1");
    s.on("connect", () => process.exit(0)); s.on("error", () => process.exit(1));
  ' "$1"
}
if port_in_use "$port"; then
  echo "demo: 127.0.0.1:$port is already in use; pick another port with FIELDLINK_DEMO_PORT=..." >&2
  exit 1
fi
if port_in_use "$m307_port"; then
  echo "demo: 127.0.0.1:$m307_port is already in use; pick another port with FIELDLINK_DEMO_M307_PORT=..." >&2
  exit 1
fi

mkdir -p "$demo_dir"
sim_pid=""
m307_pid=""
mate_pid=""
nr_pid=""
stopping=0
cleanup() {
  [ "$stopping" = 1 ] && return
  stopping=1
  trap - INT TERM
  echo
  echo "demo: stopping"
  # Only the three processes started here, by their ids.
  [ -n "$nr_pid" ] && kill -TERM "$nr_pid" 2>/dev/null || true
  [ -n "$nr_pid" ] && wait "$nr_pid" 2>/dev/null || true
  [ -n "$mate_pid" ] && kill -TERM "$mate_pid" 2>/dev/null || true
  [ -n "$mate_pid" ] && wait "$mate_pid" 2>/dev/null || true
  [ -n "$m307_pid" ] && kill -TERM "$m307_pid" 2>/dev/null || true
  [ -n "$m307_pid" ] && wait "$m307_pid" 2>/dev/null || true
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

# 2. The simulated M307 on TCP, with a full log (4,000 records) to download.
node bin/fieldlink.js simulate m307 --port "$m307_port" --records 4000 > "$demo_dir/m307-simulator.log" 2>&1 &
m307_pid=$!
for _ in $(seq 1 50); do
  grep -q 'press Ctrl-C' "$demo_dir/m307-simulator.log" 2>/dev/null && break
  if ! kill -0 "$m307_pid" 2>/dev/null; then
    cat "$demo_dir/m307-simulator.log" >&2
    echo "demo: the M307 simulator did not start" >&2
    exit 1
  fi
  sleep 0.1
done
if ! grep -q 'press Ctrl-C' "$demo_dir/m307-simulator.log"; then
  echo "demo: the M307 simulator did not start listening on 127.0.0.1:$m307_port" >&2
  exit 1
fi
sed -n '1,/press Ctrl-C/p' "$demo_dir/m307-simulator.log" | grep -v 'press Ctrl-C' | sed 's/^/m307 simulator: /'

# 2b. The simulated MATE bus: a hub with an MX, an FX and a FLEXnet DC behind $mate_link.
node bin/fieldlink.js simulate mate --pty "$mate_link" -q > "$demo_dir/mate-simulator.log" 2>&1 &
mate_pid=$!
for _ in $(seq 1 50); do
  [ -e "$mate_link" ] && break
  if ! kill -0 "$mate_pid" 2>/dev/null; then
    cat "$demo_dir/mate-simulator.log" >&2
    echo "demo: the MATE simulator did not start" >&2
    exit 1
  fi
  sleep 0.1
done
if [ ! -e "$mate_link" ]; then
  echo "demo: the MATE simulator did not create $mate_link" >&2
  exit 1
fi

# 3. Node-RED with the example flows merged into one flow file (written at every start;
#    shared config nodes such as the dashboard's ui-base are kept once), the M307 device node
#    pointed at the simulator's port.
node -e '
  const fs = require("fs");
  const { mergeFlows } = require("./scripts/lib/nodered");
  const [out, m307Port, ...files] = process.argv.slice(1);
  const flows = mergeFlows(files.map((f) => JSON.parse(fs.readFileSync(f, "utf8"))));
  for (const n of flows) if (n.type === "fieldlink-m307-device" && n.host === "127.0.0.1") n.port = m307Port;
  fs.writeFileSync(out, JSON.stringify(flows, null, 2) + "\n");
' "$flow" "$m307_port" "${flows[@]}"
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
    Node-RED editor        http://127.0.0.1:$port
    Dashboard (Modbus)     http://127.0.0.1:$port/dashboard/modbus
    Dashboard (M307)       http://127.0.0.1:$port/dashboard/coldroom
    Dashboard (MATE)       http://127.0.0.1:$port/dashboard/solar
    Modbus simulator log   $demo_dir/simulator.log   (serial link $link)
    M307 simulator log     $demo_dir/m307-simulator.log   (tcp://127.0.0.1:$m307_port)
    MATE simulator log     $demo_dir/mate-simulator.log   (serial link $mate_link)

  Press Ctrl-C to stop.

EOF

wait "$nr_pid" || true
nr_pid=""
