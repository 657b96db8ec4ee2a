#!/usr/bin/env bash
# cutover beside Locust, Artillery and vegeta (README: "Beside Locust, Artillery
# and vegeta"). One `cutover stacks` process serves the candidate; each tool
# drives a patient OIDC journey against it, one tool at a time: locust-full and
# artillery-full cutover's own journey request for request (14 requests),
# locust and artillery the peers' shorter one (5), vegeta as many requests of
# one endpoint (the floor):
#
#   1. wire:   each tool for WIRE_S at RATE, tcpdump counting its requests
#   2. steady: ROUNDS rounds of every tool in turn, each for
#              DURATION_S at RATE: CPU, peak RSS, journeys, token latency
#   3. ramp:   each tool for RAMP_S at each rate of RAMP: the highest it keeps
#   4. tally:  OUT/results.md and OUT/results.json
#
#   bench/peers/run.sh [OUT]     (default out/peers; `make bench-peers` installs first)
#
# Every knob is an environment variable: PEERS_RATE (20 journeys/s),
# PEERS_DURATION (25 s), PEERS_ROUNDS (3), PEERS_RAMP ("20 40 80 160 320 640"),
# PEERS_RAMP_DURATION (10 s), PEERS_WIRE_DURATION (10 s), PEERS_TOOLS (all six),
# PEERS_PATIENTS (1000).
set -euo pipefail

OUT=${1:-out/peers}
RATE=${PEERS_RATE:-20}
DURATION_S=${PEERS_DURATION:-25}
ROUNDS=${PEERS_ROUNDS:-3}
RAMP=${PEERS_RAMP:-20 40 80 160 320 640}
RAMP_S=${PEERS_RAMP_DURATION:-10}
WIRE_S=${PEERS_WIRE_DURATION:-10}
TOOLS=${PEERS_TOOLS:-cutover locust-full artillery-full locust artillery vegeta}
PATIENTS=${PEERS_PATIENTS:-1000}
VEGETA_PER_JOURNEY=5 # vegeta sends as many requests as the peers' journey has

HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cd "$HERE/../.." # the module's root, for go build
PEERS=$OUT/bin/peers
log() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*"; }

for need in /usr/bin/locust tcpdump "$OUT/node_modules/artillery/bin/run"; do
  command -v "$need" >/dev/null 2>&1 || [ -e "$need" ] ||
    { echo "bench-peers: $need is missing: run bench/peers/install.sh $OUT first (make bench-peers does)" >&2; exit 2; }
done

log "building cutover, the peers helper and vegeta into $OUT"
go build -ldflags "-X main.version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)" -o "$OUT/cutover" ./cmd/cutover
go build -o "$PEERS" ./bench/peers
VEGETA_VERSION=$(go list -m -f '{{.Version}}' github.com/tsenart/vegeta/v12)
GOFLAGS= GOBIN=$OUT/bin go install "github.com/tsenart/vegeta/v12@$VEGETA_VERSION"

# The target: one `cutover stacks` process for the whole benchmark.
rm -rf "$OUT/stacks" "$OUT/runs"
"$OUT/cutover" stacks --out "$OUT/stacks" >"$OUT/stacks.log" 2>&1 &
STACKS_PID=$!
trap 'kill "$STACKS_PID" 2>/dev/null; wait "$STACKS_PID" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q '^rehearsal' "$OUT/stacks.log" 2>/dev/null && break
  kill -0 "$STACKS_PID" 2>/dev/null || { cat "$OUT/stacks.log" >&2; exit 1; }
  sleep 0.1
done
URL=$(awk '$1 == "candidate" {print $2}' "$OUT/stacks.log")
PORT=${URL##*:}
[ -n "$URL" ] || { echo "no candidate URL in $OUT/stacks.log" >&2; exit 1; }
log "candidate at $URL (cutover stacks, pid $STACKS_PID)"

# The accounts: PATIENTS patients, generated and provisioned into the candidate
# through SCIM (the demo's 66 would cap cutover, which never runs one persona in
# two journeys at once); the peers get their passwords as CSV.
"$OUT/cutover" personas generate --count "$PATIENTS" --seed 7 --mix patient=1 \
  --secret-ref file:patients-secrets.json --out "$OUT/stacks/patients.jsonl" >/dev/null
SCIM_TOKEN=$("$PEERS" token -issuer "$URL" -client-id cutover-provisioner \
  -secret-file "$OUT/stacks/provisioner-secret" -scope scim)
CUTOVER_SCIM_TOKEN=$SCIM_TOKEN "$OUT/cutover" personas provision "$OUT/stacks/patients.jsonl" \
  --scim "$URL/scim/v2" --send-password
"$PEERS" creds -accounts "$OUT/stacks/patients.jsonl" -secrets "$OUT/stacks/patients-secrets.json" \
  -out "$OUT/stacks/patients.csv"
cp "$HERE/session.yaml" "$OUT/stacks/session.yaml"

cat >"$OUT/machine.json" <<EOF
{
  "date": "$(date -u +%F)",
  "cores": $(nproc),
  "cpu": "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)",
  "memory": "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)",
  "versions": "$(go version | cut -d' ' -f3), cutover $("$OUT/cutover" version | head -1 | cut -d' ' -f2), Locust $(dpkg-query -W -f '${Version}' python3-locust) (Python $(/usr/bin/python3 -c 'import platform; print(platform.python_version())')), Artillery $(node -p "require('$OUT/node_modules/artillery/package.json').version") (Node.js $(node --version)), vegeta $VEGETA_VERSION",
  "load1_start": $(cut -d' ' -f1 /proc/loadavg),
  "rate": $RATE, "duration_s": $DURATION_S, "rounds": $ROUNDS, "ramp": "$RAMP", "ramp_s": $RAMP_S
}
EOF

# run_tool PHASE TOOL ROUND RATE SECONDS: one run, measured (or counted on the
# wire), its outputs in OUT/runs/PHASE-rROUND-RATE-TOOL/.
run_tool() {
  local phase=$1 tool=$2 round=$3 rate=$4 secs=$5
  local dir=$OUT/runs/$phase-r$round-$(printf %03d "$rate")-$tool
  mkdir -p "$dir"
  printf '{"tool": "%s", "phase": "%s", "round": %d, "rate": %s, "duration_s": %s, "journey_requests": %d}\n' \
    "$tool" "$phase" "$round" "$rate" "$secs" "$([ "$tool" = vegeta ] && echo $VEGETA_PER_JOURNEY || echo 0)" >"$dir/run.json"
  local wrap=("$PEERS" measure -out "$dir/process.json" -port "$PORT" -load "${secs}s" --)
  [ "$phase" = wire ] && wrap=("$PEERS" wire -out "$dir/wire.json" -port "$PORT" --)
  local rc=0
  case $tool in
  cutover)
    CUTOVER_CANDIDATE_URL=$URL "${wrap[@]}" "$OUT/cutover" run "$OUT/stacks/session.yaml" \
      --only candidate --duration "${secs}s" --rate "$rate" --out "$dir/results" >"$dir/log" 2>&1 || rc=$?
    ;;
  locust | locust-full)
    # One journey a second per user: as many users as journeys a second.
    local users=$rate journey=short
    [ "$tool" = locust-full ] && journey=full
    PYTHONDONTWRITEBYTECODE=1 PEERS_JOURNEY=$journey PEERS_INTROSPECTION_SECRET_FILE=$OUT/stacks/introspection-secret PEERS_RATE=$rate PEERS_USERS=$users PEERS_CREDENTIALS=$OUT/stacks/patients.csv PEERS_OUT=$dir/locust.json \
      "${wrap[@]}" /usr/bin/locust -f "$HERE/locustfile.py" --headless -u "$users" -r "$users" -t "${secs}s" \
      --host "$URL" --csv "$dir/locust" --only-summary --loglevel WARNING >"$dir/log" 2>&1 || rc=$?
    ;;
  artillery | artillery-full)
    local overrides script=artillery.yml
    [ "$tool" = artillery-full ] && script=artillery-full.yml
    overrides=$(printf '{"config": {"target": "%s", "phases": [{"duration": %s, "arrivalRate": %s}], "payload": [{"path": "%s", "fields": ["username", "password"], "skipHeader": true, "order": "sequence"}]}}' \
      "$URL" "$secs" "$rate" "$OUT/stacks/patients.csv")
    ARTILLERY_DISABLE_TELEMETRY=true PEERS_DURATION_S=$secs PEERS_INTROSPECTION_SECRET_FILE=$OUT/stacks/introspection-secret \
      "${wrap[@]}" node "$OUT/node_modules/artillery/bin/run" run --quiet \
      --overrides "$overrides" --output "$dir/report.json" "$HERE/$script" >"$dir/log" 2>&1 || rc=$?
    ;;
  vegeta)
    echo "GET $URL/.well-known/openid-configuration" >"$dir/targets.txt"
    "${wrap[@]}" "$OUT/bin/vegeta" attack -rate "$((rate * VEGETA_PER_JOURNEY))/1s" -duration "${secs}s" \
      -targets "$dir/targets.txt" -output "$dir/results.bin" >"$dir/log" 2>&1 || rc=$?
    "$OUT/bin/vegeta" report -type json "$dir/results.bin" >"$dir/report.json" 2>>"$dir/log" || true
    ;;
  esac
  # cutover exits 1, 5 or 6 on findings, Locust 1 on any failed request: the
  # run still happened, and the tally counts its errors.
  if [ "$rc" -ne 0 ]; then
    log "  $tool exited $rc (see $dir/log)"
  fi
  sleep 2 # the candidate finishes what is in flight before the next tool
}

log "wire: each tool ${WIRE_S}s at $RATE journeys/s, requests counted by tcpdump"
for tool in $TOOLS; do
  log "  $tool"
  run_tool wire "$tool" 0 "$RATE" "$WIRE_S"
done

for round in $(seq "$ROUNDS"); do
  log "steady round $round of $ROUNDS: each tool ${DURATION_S}s at $RATE journeys/s (load $(cut -d' ' -f1 /proc/loadavg))"
  for tool in $TOOLS; do
    log "  $tool"
    run_tool steady "$tool" "$round" "$RATE" "$DURATION_S"
  done
done

for rate in $RAMP; do
  log "ramp: each tool ${RAMP_S}s at $rate journeys/s (load $(cut -d' ' -f1 /proc/loadavg))"
  for tool in $TOOLS; do
    log "  $tool"
    run_tool ramp "$tool" 0 "$rate" "$RAMP_S"
  done
done

log "tally"
"$PEERS" tally "$OUT"
log "results: $OUT/results.md, $OUT/results.json"
