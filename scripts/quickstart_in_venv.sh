#!/usr/bin/env bash
# The README's quickstart in a fresh virtual environment: its install command, `python train.py` and
# its test command, run from a copy of the repository so that nothing of this checkout is shared.
# Usage: scripts/quickstart_in_venv.sh [SCRATCH]   (SCRATCH: an empty folder; default: a new temporary one)
set -euo pipefail
source_root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="${1:-$(mktemp -d)}"
git clone --quiet "$source_root" "$scratch/toolkit"
if [ -d "$source_root/../shared" ]; then cp -r "$source_root/../shared" "$scratch/shared"; fi
python -m venv "$scratch/venv"
cd "$scratch/toolkit"
# shellcheck disable=SC1091
source "$scratch/venv/bin/activate"
pip install --quiet torch==2.14.1 torchvision==0.29.1 -e ".[all]"
python train.py
python -m pytest
echo "quickstart in a fresh virtual environment ($scratch/venv): passed"
