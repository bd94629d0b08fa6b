#!/bin/sh
# Install what tools/datagen/generate_scenes.py needs (Debian 12).  Idempotent:
# packages already installed are skipped; run as root (or with sudo).
set -eu

PKGS="fonts-noto-color-emoji unicode-data tuxpaint-stamps-default sweethome3d-furniture
librsvg2-bin python3-pil python3-numpy python3-pytest"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -n "$missing" ]; then
    echo "installing:$missing"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    # apt may be locked by another install: wait for it instead of failing
    for i in $(seq 1 60); do
        if $SUDO apt-get install -y --no-install-recommends $missing; then
            break
        fi
        echo "apt busy or failed (try $i), retrying in 10 s" >&2
        sleep 10
    done
else
    echo "all data sources installed"
fi

# sanity check: the files the generator reads
for f in /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf \
         /usr/share/tuxpaint/stamps/animals/mammals/dogs/dog.png \
         /usr/share/sweethome3d/furniture/Scopia.sh3f; do
    [ -e "$f" ] || { echo "missing $f" >&2; exit 1; }
done
command -v rsvg-convert >/dev/null || { echo "rsvg-convert missing" >&2; exit 1; }
/usr/bin/python3 -c "import PIL, numpy" || exit 1
echo "ok"
