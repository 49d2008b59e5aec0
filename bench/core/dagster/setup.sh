#!/usr/bin/env bash
# Installs a pinned Dagster into bench/.venv-dagster (git-ignored). Idempotent: does nothing when the
# pinned versions are already installed. Usage: bench/core/dagster/setup.sh [python3]
set -euo pipefail

# dagster and dagster-webserver release in lockstep; 1.13.28 is the newest version both have on PyPI
# (checked with `pip index versions` on 2026-11-25: dagster 1.13.29 exists, dagster-webserver 1.13.29 does not).
DAGSTER_VERSION="1.13.28"

here="$(cd "$(dirname "$0")" && pwd)"
venv="$(cd "$here/../.." && pwd)/.venv-dagster"
python="${1:-python3}"

if [ -x "$venv/bin/python" ] && "$venv/bin/python" - "$DAGSTER_VERSION" <<'PY' 2>/dev/null; then
import sys
from importlib.metadata import version
sys.exit(0 if version("dagster") == sys.argv[1] and version("dagster-webserver") == sys.argv[1] else 1)
PY
  echo "dagster $DAGSTER_VERSION already installed in $venv"
  exit 0
fi

"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "dagster==$DAGSTER_VERSION" "dagster-webserver==$DAGSTER_VERSION"
"$venv/bin/python" -c "import dagster; print('installed dagster', dagster.__version__)"
