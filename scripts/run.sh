#!/usr/bin/env bash
# Install, index the seed articles, and open the web app at http://127.0.0.1:7860
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/qa serve --source seeds --index index "$@"
