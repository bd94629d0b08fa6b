#!/bin/sh
# Install what tools/datagen/generate_scenes.py needs (Debian 12).  Idempotent:
# packages already installed are skipped; run as root (or with sudo).
set -eu

PKGS="fonts-noto-color-emoji unicode-data tuxpaint-stamps-default sweethome3d-furniture
mate-backgrounds tuxpaint-data openclipart-svg gcompris-qt-data scratch pysiogame
librsvg2-bin python3-pil python3-numpy python3-opencv python3-pytest"

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

# Extra emoji styles from npm (optional: the generator skips a style that is
# missing, and meta.json lists the sources it used).  Unpacked into the
# git-ignored data/npm/ of the repository.
REPO="$(cd "$(dirname "$0")/.." && pwd)"
NPM_DIR="${EDGECAP_NPM_DIR:-$REPO/data/npm}"
mkdir -p "$NPM_DIR"
fetch_npm() {  # package@version  target-folder  paths-inside-package...
    spec="$1"; target="$2"; shift 2
    if [ -e "$NPM_DIR/$target/.complete" ]; then
        echo "npm $spec already unpacked"
        return 0
    fi
    if ! command -v npm >/dev/null; then
        echo "npm not found: skipping $spec (apt-get install npm to get it)" >&2
        return 0
    fi
    tgz="$(cd "$NPM_DIR" && npm pack --silent "$spec" | tail -1)" || { echo "npm pack $spec failed" >&2; return 0; }
    rm -rf "${NPM_DIR:?}/$target"
    mkdir -p "$NPM_DIR/$target"
    members=""
    for m in "$@"; do members="$members package/$m"; done
    # shellcheck disable=SC2086
    tar xzf "$NPM_DIR/$tgz" -C "$NPM_DIR/$target" --strip-components=1 $members
    rm -f "$NPM_DIR/$tgz"
    touch "$NPM_DIR/$target/.complete"
    echo "npm $spec unpacked into $NPM_DIR/$target"
}
fetch_npm emoji-datasource-twitter@16.0.0 twemoji emoji.json LICENSE README.md img/twitter/64
fetch_npm fluentui-emoji@1.3.0 fluentui-emoji icons/modern icons/flat LICENSE README.md
# the same emoji in Fluent's 3-D style (train-only source fluent-3d; MIT, stated in package.json)
fetch_npm @lobehub/fluent-emoji-3d@1.1.0 fluent-emoji-3d assets README.md package.json

# The 0 A.D. animal portraits and animal meshes (the train-only `0ad` and `0ad-3d` sources; optional:
# the generator skips a missing source).  0ad-data is a 1.4 GB package of which the generator reads 15
# small pictures and 85 meshes and skins (10 MB), so it is downloaded, not installed, and only those are
# kept, in the git-ignored data/0ad/portraits and data/0ad/meshes (the download and the 3.3 GB archive
# inside it go again).  EDGECAP_NO_0AD=1 skips this step.
fetch_0ad() {
    portraits="$REPO/data/0ad/portraits"
    meshes="$REPO/data/0ad/meshes"
    # the meshes' .complete holds the signature of the member list they were unpacked for, so an install
    # made before zeroad3d.MODELS grew is unpacked again
    meshes_sig="$(cd "$REPO/tools/datagen" && /usr/bin/python3 zeroad3d.py signature)"
    meshes_done() { [ "$(cat "$meshes/.complete" 2>/dev/null)" = "$meshes_sig" ]; }
    if [ -e "$portraits/.complete" ] && meshes_done; then
        echo "0ad portraits and meshes already unpacked"
        return 0
    fi
    if [ -n "${EDGECAP_NO_0AD:-}" ]; then
        echo "EDGECAP_NO_0AD set: skipping the 0 A.D. portraits and meshes"
        return 0
    fi
    tmp="$(mktemp -d "$REPO/data/0ad-download.XXXXXX")"
    if ! (cd "$tmp" && apt-get download 0ad-data >/dev/null); then
        echo "apt-get download 0ad-data failed: skipping the 0 A.D. portraits and meshes" >&2
        rm -rf "$tmp"
        return 0
    fi
    zip_member=./usr/share/games/0ad/mods/public/public.zip
    # a failure part-way leaves neither the download and the archive unpacked from it (4.7 GB in $tmp)
    # nor a half-filled target behind (set -e does not act inside an if condition, hence the && chains)
    if ! { dpkg-deb --fsys-tarfile "$tmp"/0ad-data_*.deb | tar -x -C "$tmp" "$zip_member" &&
           dpkg-deb --fsys-tarfile "$tmp"/0ad-data_*.deb | tar -xO ./usr/share/doc/0ad-data/copyright \
               > "$tmp/COPYRIGHT"; }; then
        echo "unpacking 0ad-data failed: skipping the 0 A.D. portraits and meshes" >&2
        rm -rf "$tmp"
        return 0
    fi
    if [ ! -e "$portraits/.complete" ]; then
        rm -rf "$portraits"
        if mkdir -p "$portraits" &&
           /usr/bin/python3 - "$tmp/$zip_member" "$portraits" <<'PY' &&
import os, sys, zipfile
src, dest = sys.argv[1], sys.argv[2]
prefix = "art/textures/ui/session/portraits/gaia/fauna_"
n = 0
with zipfile.ZipFile(src) as z:
    for name in z.namelist():
        if name.startswith(prefix) and name.endswith(".png.cached.dds"):
            base = name.rsplit("/", 1)[1][: -len(".png.cached.dds")]
            with open(os.path.join(dest, base + ".dds"), "wb") as f:
                f.write(z.read(name))
            n += 1
print(f"0ad: {n} animal portraits unpacked into {dest}")
if n == 0:
    sys.exit("0ad: no portraits found in " + src)
PY
           cp "$tmp/COPYRIGHT" "$portraits/COPYRIGHT"; then
            touch "$portraits/.complete"
        else
            echo "unpacking the 0 A.D. portraits failed: skipping them" >&2
            rm -rf "$portraits"
        fi
    fi
    if ! meshes_done; then
        rm -rf "$meshes"
        if mkdir -p "$meshes" &&
           (cd "$REPO/tools/datagen" && /usr/bin/python3 zeroad3d.py extract "$tmp/$zip_member" "$meshes") &&
           cp "$tmp/COPYRIGHT" "$meshes/COPYRIGHT"; then
            echo "$meshes_sig" > "$meshes/.complete"
        else
            echo "unpacking the 0 A.D. meshes failed: skipping them" >&2
            rm -rf "$meshes"
        fi
    fi
    rm -rf "$tmp"
}
fetch_0ad

# sanity check: the files the generator reads
for f in /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf \
         /usr/share/tuxpaint/stamps/animals/mammals/dogs/dog.png \
         /usr/share/sweethome3d/furniture/Scopia.sh3f; do
    [ -e "$f" ] || { echo "missing $f" >&2; exit 1; }
done
command -v rsvg-convert >/dev/null || { echo "rsvg-convert missing" >&2; exit 1; }
/usr/bin/python3 -c "import PIL, numpy" || exit 1
echo "ok"
