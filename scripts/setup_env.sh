#!/usr/bin/env bash
# Creates .venv with Python 3.10 (TFX 1.16 supports no other) if it is missing, installs the
# committed lock with --no-deps (no resolver: every install is identical and takes minutes,
# not the half hour pip's backtracking takes on this stack) and then this package.
# Idempotent: the lock is reinstalled only when it changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
LOCK=requirements/lock.txt

find_python310() {
  local candidate
  for candidate in python3.10 "$HOME"/.pyenv/versions/3.10*/bin/python3.10 \
                   /usr/local/bin/python3.10 /usr/bin/python3.10; do
    if command -v "$candidate" >/dev/null 2>&1 \
       && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "setup_env: no Python 3.10 interpreter found (TFX 1.16 needs exactly 3.10)." >&2
  return 1
}

# pip's own chatter about unreachable extra indexes on this machine is noise, not news.
quiet_pip() {
  "$VENV/bin/python" -m pip "$@" 2>&1 | { grep -v 'is neither a file nor a directory' || true; }
  return "${PIPESTATUS[0]}"
}

if [ ! -x "$VENV/bin/python" ]; then
  python310=$(find_python310)
  echo "setup_env: creating $VENV with $python310"
  "$python310" -m venv "$VENV"
fi

stamp="$VENV/.installed-lock.sha256"
lock_hash=$(sha256sum "$LOCK" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_hash" ]; then
  echo "setup_env: installing $LOCK"
  # Build tooling first, so that the few sdists in the lock build as wheels with pinned tools.
  quiet_pip install -q --no-deps $(grep -E '^(pip|setuptools|wheel)==' "$LOCK")
  quiet_pip install -q --no-deps -r "$LOCK"
  echo "$lock_hash" > "$stamp"
fi

# The package itself (not editable: an editable install would not ship the start-up .pth).
quiet_pip install -q --no-deps --no-build-isolation --force-reinstall .
rm -rf build ./*.egg-info
"$VENV/bin/python" -c 'import os, sys; sys.exit(os.environ.get("TF_USE_LEGACY_KERAS") != "1")' \
  || { echo "setup_env: TF_USE_LEGACY_KERAS is not set by the installed package" >&2; exit 1; }
echo "setup_env: ready ($("$VENV/bin/python" --version))"
