#!/usr/bin/env bash
# Build the Linux one-folder bundle into dist/genre-tagger and smoke-test it:
# --version and a dry-run scan of generated fixtures, with no Python on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q . "pyinstaller>=6"
python3 packaging/make_icon.py
python3 -m PyInstaller --noconfirm --distpath dist --workpath build/pyinstaller packaging/genre-tagger.spec
du -sh dist/genre-tagger
tmp=$(mktemp -d)
python3 -c "from devtools.synth import write_library; write_library('$tmp/lib', 6, seconds=5.0)"
env -i HOME="$tmp" PATH=/usr/bin:/bin QT_QPA_PLATFORM=offscreen dist/genre-tagger/genre-tagger --version
env -i HOME="$tmp" PATH=/usr/bin:/bin GENRE_TAGGER_DATA_DIR="$tmp/data" \
  dist/genre-tagger/genre-tagger --scan "$tmp/lib" --dry-run --workers 2 --json "$tmp/report.json"
# the GUI starts (offscreen) and keeps running until stopped
set +e
env -i HOME="$tmp" PATH=/usr/bin:/bin QT_QPA_PLATFORM=offscreen GENRE_TAGGER_DATA_DIR="$tmp/data" \
  timeout 8 dist/genre-tagger/genre-tagger
rc=$?
set -e
[ "$rc" = 124 ] || { echo "GUI exited early with $rc"; exit 1; }
python3 -c "import json; r=json.load(open('$tmp/report.json')); assert len(r) == 6 and all(x['status'] == 'would-tag' for x in r), r; print('bundle smoke test passed')"
