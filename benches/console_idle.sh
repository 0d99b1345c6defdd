#!/usr/bin/env bash
# Idle cost of the real console: bytes written to the terminal and CPU used
# over SECONDS (default 60) after the first draw, while nothing changes, and
# its resident memory holding INCIDENTS incidents (default 0).
#
#   cargo build --release && benches/console_idle.sh 60
#   cargo build --release && INCIDENTS=10000 benches/console_idle.sh 10
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/mandate}
SECONDS_IDLE=${1:-60}
dir=$(mktemp -d)
trap 'kill $server $console 2>/dev/null || true; rm -rf "$dir"' EXIT
INCIDENTS=${INCIDENTS:-0}
token=$("$BIN" token create --name idle --role viewer --tokens-file "$dir/tokens.toml" 2>/dev/null)
agent=$("$BIN" token create --name fleet --role agent --tokens-file "$dir/tokens.toml" 2>/dev/null)
port=$((20000 + RANDOM % 20000))
"$BIN" serve --listen "127.0.0.1:$port" --database-url "sqlite://$dir/db.sqlite" --tokens-file "$dir/tokens.toml" 2>"$dir/serve.log" &
server=$!
sleep 1
# Each failing resource is an incident of its own; batches of 100 events.
at=$(date -u -d '-2 minutes' +%Y-%m-%dT%H:%M:%SZ)
for ((b = 0; b < INCIDENTS; b += 100)); do
    events=""
    for ((n = b; n < b + 100 && n < INCIDENTS; n++)); do
        events+="${events:+,}{\"event_id\":\"e$n\",\"agent_id\":\"agent-$n\",\"actor_type\":\"SYSTEM\","
        events+="\"origin_system_id\":\"bench\",\"action_type\":\"tool_call\",\"resource\":\"service-$n\","
        events+="\"outcome\":\"error\",\"error_code\":\"TIMEOUT\",\"occurred_at\":\"$at\"}"
    done
    curl -sf -o /dev/null -H "authorization: Bearer $agent" -H 'content-type: application/json' \
        --data "[$events]" "http://127.0.0.1:$port/api/v1/events"
done
stored=$(curl -sf -H "authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/incidents?limit=1" |
    grep -o '"open":[0-9]*' | cut -d: -f2)
# A real pseudo-terminal (script) records every byte the console writes.
MANDATE_API_URL="http://127.0.0.1:$port" MANDATE_TOKEN="$token" \
    script -q -f -c "stty cols 120 rows 40; $BIN" "$dir/typescript" >/dev/null 2>&1 < <(sleep $((SECONDS_IDLE + 30))) &
console_wrapper=$!
sleep $((3 + INCIDENTS / 2000))
console=$(pgrep -n -f "^$BIN\$" || pgrep -n -x mandate)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
bytes_before=$(stat -c %s "$dir/typescript")
cpu_before=$(ticks "$console")
sleep "$SECONDS_IDLE"
bytes_after=$(stat -c %s "$dir/typescript")
cpu_after=$(ticks "$console")
rss=$(awk '/VmRSS/{print $2}' "/proc/$console/status")
hz=$(getconf CLK_TCK)
echo "idle ${SECONDS_IDLE}s: $((bytes_after - bytes_before)) bytes written to the terminal;" \
     "CPU $(awk -v t=$((cpu_after - cpu_before)) -v hz="$hz" -v s="$SECONDS_IDLE" 'BEGIN{printf "%.2f", t/hz/s*100}') % of one core;" \
     "resident $((rss / 1024)) MiB holding $stored incidents"
kill "$console_wrapper" 2>/dev/null || true
