#!/usr/bin/env bash
# Quick start: from a fresh machine with Node 20 and Python 3 to a measured study.
# Installs pnpm (if missing) and the node modules, builds llem, provisions the PyTorch harness venv
# (torch + transformers, a few minutes the first time), then runs examples/quickstart.yaml: a small
# study of a seeded random tiny GPT-2 on the CPU (no download, no GPU). Prints the result table and
# writes an HTML report. Results go to $LLEM_RESULTS_DIR (default: results/quickstart).
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
# Use the system's Node headers for native modules when they are installed (no header download).
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=/usr; fi

step() { printf '\n==> %s\n' "$*" >&2; }

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a < 20 || (a === 20 && b < 11)) { console.error(`Node ${process.versions.node} is too old: llem needs Node 20.11 or newer.`); process.exit(1); }'
command -v python3 >/dev/null || { echo "python3 not found: install Python 3.10+ with venv (apt install python3 python3-venv)." >&2; exit 1; }

step "pnpm 10.34.9"
if [ "$(pnpm -v 2>/dev/null || true)" != 10.34.9 ]; then
  npm install -g pnpm@10.34.9 >&2 || { echo "Cannot install pnpm globally; try: corepack enable && corepack prepare pnpm@10.34.9 --activate" >&2; exit 1; }
fi

step "node modules"
pnpm install --frozen-lockfile >&2

step "build llem"
pnpm exec turbo run build --filter=@llem/cli... --output-logs=errors-only >&2

step "PyTorch harness venv"
LLEM_PYTHON="$(bash packages/backend-pytorch/harness/provision.sh)"
export LLEM_PYTHON
echo "using $LLEM_PYTHON" >&2

llem() { node packages/cli/dist/bin.js "$@"; }
results="${LLEM_RESULTS_DIR:-results/quickstart}"

step "llem run examples/quickstart.yaml --results-dir $results"
llem run examples/quickstart.yaml --results-dir "$results"

step "report"
study_dir="$(llem run examples/quickstart.yaml --results-dir "$results" --dry-run --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s.trim().split("\n").pop()).resultsDir))')"
llem results report "$study_dir"
echo >&2
echo "Next: llem results show $study_dir   |   llem status   |   llem doctor   |   llem --help" >&2
