#!/usr/bin/env bash
# Fetches the real face photos the tests and the demo use: astronaut.png (Eileen
# Collins, NASA, public domain, 512x512) and camera.png (the "cameraman", 512x512
# greyscale, a second person for the demo) from Debian's python3-skimage package,
# into test/.cache/ (git-ignored). Needs apt (Debian/Ubuntu); nothing is installed.
# Idempotent. Tests that need the photo say so and fail with this command's
# name when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=test/.cache/astronaut.png
cam=test/.cache/camera.png
if [ -s "$dest" ] && [ -s "$cam" ]; then echo "fetch-test-images: $dest and $cam already present"; exit 0; fi
mkdir -p test/.cache
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
( cd "$work" && (apt-get download python3-skimage >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get download python3-skimage >/dev/null; }) )
dpkg-deb -x "$work"/python3-skimage_*.deb "$work/x"
cp "$work/x/usr/lib/python3/dist-packages/skimage/data/astronaut.png" "$dest"
cp "$work/x/usr/lib/python3/dist-packages/skimage/data/camera.png" "$cam"
echo "fetch-test-images: wrote $dest ($(stat -c %s "$dest") bytes) and $cam ($(stat -c %s "$cam") bytes)"
