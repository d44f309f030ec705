#!/usr/bin/env bash
# The built one-folder program (make installer) as a .deb, the format Debian, UOS and Kylin install:
#   /opt/dispatch-console/                  the folder (both programs, Qt, Python, resources)
#   /usr/bin/dispatch-console               the command line on the PATH (a link into /opt)
#   /usr/share/applications/…desktop        the menu entry (the windowed console)
#   /usr/share/icons/hicolor/256x256/apps/  its icon
#   /etc/xdg/dispatch-console/              where IT puts the machine-wide defaults file (README)
# Depends: lists the Debian packages that own the system libraries the folder links to (found with
# ldd and dpkg -S on the building machine), so `apt install ./dispatch-console_….deb` pulls them in.
# Usage: tools/make_deb.sh APP_DIR VERSION OUT_DIR
set -euo pipefail
app=${1:?APP_DIR}; version=${2:?VERSION}; out=${3:?OUT_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg=$stage/dispatch-console_${version}_${arch}

mkdir -p "$pkg/DEBIAN" "$pkg/opt" "$pkg/usr/bin" "$pkg/usr/share/applications" \
  "$pkg/usr/share/icons/hicolor/256x256/apps" "$pkg/usr/share/doc/dispatch-console" "$pkg/etc/xdg/dispatch-console"
cp -a "$app" "$pkg/opt/dispatch-console"
ln -s /opt/dispatch-console/dispatch-console "$pkg/usr/bin/dispatch-console"
install -m 644 "$root/resources/icons/dispatch-console.png" "$pkg/usr/share/icons/hicolor/256x256/apps/"
install -m 644 "$root/resources/fonts/LICENSE-OFL.txt" "$pkg/usr/share/doc/dispatch-console/font-LICENSE-OFL.txt"
cat > "$pkg/usr/share/applications/dispatch-console.desktop" <<EOF
[Desktop Entry]
Type=Application
Name=Dispatch console
Name[zh_CN]=总值班室调度台
Comment=Duty-room incident queue, grid map, checklists and shift handover
Comment[zh_CN]=总值班室事件受理、网格地图、处置清单与交接班
Exec=/opt/dispatch-console/dispatch-console-gui run
Icon=dispatch-console
Terminal=false
Categories=Office;
StartupWMClass=dispatch-console
EOF

# the system libraries the folder links to that it does not carry itself -> their packages
libs=$(find "$pkg/opt/dispatch-console" -type f \( -name '*.so*' -o -perm -u+x \) -print0 \
  | xargs -0 -r ldd 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// && $3 !~ /dispatch-console/ {print $3}' | sort -u)
depends=$(for lib in $libs; do dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null || true; done \
  | cut -d: -f1 | sort -u | grep -v '^libc6$' | paste -sd, | sed 's/,/, /g')
size=$(du -sk "$pkg" | cut -f1)
cat > "$pkg/DEBIAN/control" <<EOF
Package: dispatch-console
Version: ${version}
Architecture: ${arch}
Maintainer: dispatch-console <it@example.invalid>
Installed-Size: ${size}
Depends: libc6${depends:+, $depends}
Section: misc
Priority: optional
Description: Duty-room (总值班室) dispatch console
 One live incident queue, grid map, checklists, timers and shift handover on a
 shared PostgreSQL database. The program is self-contained under /opt/dispatch-console
 (Python, Qt and the Chinese font included); "dispatch-console self-test" checks it.
EOF
mkdir -p "$out"
dpkg-deb --root-owner-group -Zxz -z6 --build "$pkg" "$out/" >/dev/null
echo "$out/dispatch-console_${version}_${arch}.deb: $(du -h "$out/dispatch-console_${version}_${arch}.deb" | cut -f1)"
