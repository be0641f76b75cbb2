# Sourced by the scripts: make .venv from requirements.lock when it is missing or stale.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
stamp="$VENV/.lock-$(sha256sum requirements.lock | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setting up $VENV (first run, or requirements.lock changed) ..." >&2
  if [ ! -x "$PY" ]; then
    "${PYTHON:-python3}" -m venv "$VENV"
  fi
  "$PY" -m pip install --quiet --disable-pip-version-check -r requirements.lock
  rm -f "$VENV"/.lock-*
  touch "$stamp"
  echo "dependencies installed." >&2
fi
