# Sourced by the scripts: make .venv from requirements.lock when it is missing or stale.
# Installing needs a package index (PyPI, or a mirror: PIP_INDEX_URL), or, with no internet, a wheelhouse:
#   on a machine with internet:  pip download -r requirements.lock -d wheelhouse   (same OS and Python)
#   here:                        PIP_NO_INDEX=1 PIP_FIND_LINKS=wheelhouse ./scripts/serve
# A folder named wheelhouse/ in the repository is used on its own, with no index.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -n "${PIP_FIND_LINKS:-}" ] && [ -d "$PIP_FIND_LINKS" ]; then
  PIP_FIND_LINKS="$(cd "$PIP_FIND_LINKS" && pwd)"  # relative to where the command was typed
  export PIP_FIND_LINKS
fi
cd "$ROOT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
stamp="$VENV/.lock-$(sha256sum requirements.lock | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  if [ -z "${PIP_FIND_LINKS:-}" ] && [ -d "$ROOT/wheelhouse" ]; then
    export PIP_FIND_LINKS="$ROOT/wheelhouse" PIP_NO_INDEX="${PIP_NO_INDEX:-1}"
  fi
  if [ -n "${PIP_FIND_LINKS:-}" ]; then
    source_of="the wheelhouse $PIP_FIND_LINKS${PIP_NO_INDEX:+ (no index)}"
  else
    source_of="${PIP_INDEX_URL:-the package index (PyPI)}"
  fi
  echo "setting up $VENV (first run, or requirements.lock changed): installing from $source_of ..." >&2
  if [ ! -x "$PY" ]; then
    "${PYTHON:-python3}" -m venv "$VENV"
  fi
  if ! "$PY" -m pip install --quiet --disable-pip-version-check -r requirements.lock; then
    cat >&2 <<'MSG'
error: 依赖安装失败 (could not install the dependencies of requirements.lock).
  They come from a package index: PyPI, or a mirror set with PIP_INDEX_URL. Without internet, use a wheelhouse:
    on a machine with internet (same OS and Python):  pip download -r requirements.lock -d wheelhouse
    copy wheelhouse/ here, then:                      PIP_NO_INDEX=1 PIP_FIND_LINKS=wheelhouse ./scripts/serve
  (see README, "Installing without internet")
MSG
    exit 1
  fi
  rm -f "$VENV"/.lock-*
  touch "$stamp"
  echo "dependencies installed." >&2
fi
