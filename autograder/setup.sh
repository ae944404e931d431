#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu; /autograder/source
# holds this zip unpacked). It installs xlhand from the wheel zipped beside it into its own virtual
# environment, /autograder/venv, with a Python 3.11 or newer.
#   AUTOGRADER_ROOT  the autograder folder (default /autograder; the tests point it elsewhere)
#   XLHAND_SETUP_DRY_RUN=1  print the commands instead of running them
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
run() { if [ "${XLHAND_SETUP_DRY_RUN:-}" = 1 ]; then echo "+ $*"; else "$@"; fi; }

shopt -s nullglob
wheels=("$SOURCE"/xlhand-*.whl)
if [ ${#wheels[@]} -ne 1 ]; then
    echo "setup.sh: expected one xlhand-*.whl in $SOURCE, found ${#wheels[@]} (build it with 'pip wheel --no-deps . -w autograder/')" >&2
    exit 1
fi

python=""
for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        python="$candidate"; break
    fi
done
if [ -z "$python" ]; then  # Ubuntu 22.04 ships 3.10: take 3.11 from its own archive
    run apt-get update
    run apt-get install -y python3.11 python3.11-venv
    python=python3.11
fi
if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    run apt-get install -y "$(basename "$python")-venv" || run apt-get install -y python3-venv
fi
run "$python" -m venv "$ROOT/venv"
run "$ROOT/venv/bin/pip" install --no-cache-dir "${wheels[0]}"
run "$ROOT/venv/bin/python" -c "import xlhand, ironcalc; print('xlhand', xlhand.__version__, 'installed')"
