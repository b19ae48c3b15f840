#!/bin/sh
# The journal on a nearly full disk (issue 19.3): a 2 MB tmpfs holds the journal, filled to
# leave each of the given amounts free; then --set, a scan and --undo run against it.
# Every command must end with one line naming the journal's folder (exit 2), never a
# traceback or a signal. Needs root (it mounts a tmpfs); the music files are copies in /tmp.
#
#     sudo sh scripts/full_disk_check.sh [FREE_KB ...]     (default: 24 48 64 96 128 256 400 900)
set -u
cd "$(dirname "$0")/.."
mnt=$(mktemp -d /tmp/gt-full-XXXXXX)
lib=$(mktemp -d /tmp/gt-full-lib-XXXXXX)
python -c "
from devtools.synth import write_audio
write_audio('$lib/a.flac', 'flac', seconds=4.0)
write_audio('$lib/b.mp3', 'mp3', seconds=4.0, seed=1)"
export GENRE_TAGGER_DATA_DIR="$mnt/data"
bad=0
for free in ${@:-24 48 64 96 128 256 400 900}; do
    mount -t tmpfs -o size=2m tmpfs "$mnt" || exit 1
    mkdir -p "$GENRE_TAGGER_DATA_DIR"
    python -m genre_tagger --set Warm "$lib/a.flac" "$lib/b.mp3" >/dev/null 2>&1  # a journal with a run
    avail=$(df -k --output=avail "$mnt" | tail -1)
    dd if=/dev/zero of="$mnt/fill" bs=1k count=$((avail - free)) 2>/dev/null
    for cmd in "--set Rock;Blues $lib/a.flac $lib/b.mp3" \
               "--model tests/data/tiny.json --workers 1 --min-confidence 0 --overwrite $lib" "--undo"; do
        out=$(python -m genre_tagger $cmd 2>&1); rc=$?
        lines=$(printf '%s\n' "$out" | grep -c .)
        echo "$free KB free: genre-tagger ${cmd%% *}...: exit $rc, $lines line(s): $(printf '%s' "$out" | tail -1 | cut -c1-150)"
        case "$out" in *Traceback*) bad=1;; esac
        [ "$rc" -ge 128 ] && bad=1
    done
    umount "$mnt"
done
rmdir "$mnt"; rm -r "$lib"
[ $bad = 0 ] && echo "OK: no traceback, no signal" || echo "FAILED"
exit $bad
