#!/usr/bin/env bash
# Idle RSS of `qa serve` after its warm-up answer, with the torch-free reader and with
# QA_READER_BACKEND=torch (the path before), and whether torch got loaded at all.
# Usage: bash bench/serve_rss.sh INDEX SOURCE [PORT]
set -uo pipefail
index=$1 source=$2 port=${3:-7901}
qa="$(dirname "$0")/../.venv/bin/qa"
log=$(mktemp)
for backend in torch auto; do
    HF_HUB_OFFLINE=1 QA_READER_BACKEND=$backend "$qa" serve --index "$index" --source "$source" --port "$port" >"$log" 2>&1 &
    pid=$!
    for _ in $(seq 1 120); do grep -q "serving on" "$log" && break; sleep 1; done
    sleep 5
    rss=$(ps -o rss= -p "$pid" | awk '{printf "%.0f MB", $1/1024}')
    torch=$(grep -c "libtorch" "/proc/$pid/maps")
    echo "$backend: idle RSS $rss; torch loaded: $([ "$torch" -gt 0 ] && echo yes || echo no)"
    kill "$pid"; wait "$pid" 2>/dev/null
done
rm -f "$log"
