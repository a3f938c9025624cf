#!/usr/bin/env bash
# The whole test suite, from a fresh machine with only Node 20 and Python 3:
# installs pnpm and node modules, builds, provisions the harness venv, runs vitest and pytest,
# and ends with one line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 npm_config_nodedir=/usr CI="${CI:-}"

step() { printf '\n==> %s\n' "$*"; }

step "pnpm 10.34.9"
[ "$(pnpm -v 2>/dev/null)" = 10.34.9 ] || npm i -g pnpm@10.34.9
step "node modules"
pnpm install --frozen-lockfile
step "build"
pnpm exec turbo run build --output-logs=errors-only

step "harness Python environment"
LLEM_PYTHON="$(bash packages/backend-pytorch/harness/provision.sh)"
export LLEM_PYTHON
echo "using $LLEM_PYTHON"
step "transformers serve (the openai backend's real-server test)"
"$LLEM_PYTHON" -m pip install --quiet --disable-pip-version-check -r packages/backend-openai/test/requirements-serving.txt

step "chromium (the HTML report's browser tests)"
# Debian's chromium; playwright-core drives it and never downloads a browser of its own.
if ! command -v chromium >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null; } ||
    echo "chromium could not be installed: the report's browser tests will skip, saying why"
fi
command -v chromium || true

reports=.test-reports
rm -rf "$reports" && mkdir -p "$reports"
status=0

step "Docker engine for tests/docker"
# docker.io and debootstrap when missing (root + apt); without them the docker tests skip and say why.
bash tests/docker/install-engine.sh || true

step "typecheck and lint"
pnpm exec turbo run typecheck --output-logs=errors-only || status=1
pnpm exec biome check . --diagnostic-level=error >"$reports/biome.log" 2>&1 || { cat "$reports/biome.log"; status=1; }

step "vitest"
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$reports/vitest.json" || status=1

step "pytest (harness)"
(cd packages/backend-pytorch/harness && "$LLEM_PYTHON" -m pytest -q -p no:cacheprovider --junitxml="../../../$reports/pytest.xml" tests) || status=1

step "summary"
node scripts/summarize-tests.mjs "$reports"
exit "$status"
