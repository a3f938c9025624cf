#!/usr/bin/env bash
# Creates (once) the harness virtualenv in the user cache dir and prints its python's path.
# The venv is keyed by the requirements' hash, so a pin change makes a fresh one and an
# unchanged one is reused across runs. Progress goes to stderr; stdout is only the path.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
key="$(cat "$here/requirements.txt" "$here/requirements-test.txt" | sha256sum | cut -c1-12)"
base="${LLEM_VENV_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/llem/venvs}"
venv="$base/pytorch-$key"
python="${LLEM_BOOTSTRAP_PYTHON:-python3}"
if [ ! -f "$venv/.llem-complete" ]; then
  echo "creating the harness venv in $venv (torch + transformers, a few minutes the first time)" >&2
  rm -rf "$venv"
  mkdir -p "$base"
  "$python" -m venv "$venv" >&2
  "$venv/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip >&2
  # Not quiet: pip's "Collecting ... / Downloading ... (size)" lines are the progress llem shows.
  "$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off -r "$here/requirements.txt" -r "$here/requirements-test.txt" >&2
  touch "$venv/.llem-complete"
fi
echo "$venv/bin/python"
