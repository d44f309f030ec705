#!/usr/bin/env bash
# `make run` on Linux: the system libraries Qt's xcb platform plugin (and QtWebEngine, the map)
# load at start. PySide6 wheels bring Qt itself but not these; without them the console aborts
# with "xcb-cursor0 or libxcb-cursor0 is needed" or a bare "could not load the Qt platform plugin".
# Names every missing Debian/Ubuntu package, then stops (exit 1) so nothing half-starts.
# Quiet when everything is there, on other systems, and without a display to draw on
# (QT_QPA_PLATFORM=offscreen, a server, CI).
set -euo pipefail
[ "$(uname -s)" = Linux ] || exit 0
case "${QT_QPA_PLATFORM:-xcb}" in xcb*) ;; *) exit 0 ;; esac
command -v ldconfig >/dev/null || [ -x /sbin/ldconfig ] || exit 0
LDCONFIG=$(command -v ldconfig || echo /sbin/ldconfig)
# shared object  Debian package (README, "System packages"); the xcb ones are what
# PySide6's libQt6XcbQpa.so.6 links against (ldd), the rest QtWebEngine, fonts and sound
LIBS="
libxcb-cursor.so.0       libxcb-cursor0
libxcb-icccm.so.4        libxcb-icccm4
libxcb-keysyms.so.1      libxcb-keysyms1
libxcb-image.so.0        libxcb-image0
libxcb-render-util.so.0  libxcb-render-util0
libxcb-shape.so.0        libxcb-shape0
libxcb-randr.so.0        libxcb-randr0
libxcb-xfixes.so.0       libxcb-xfixes0
libxcb-util.so.1         libxcb-util1
libxcb-sync.so.1         libxcb-sync1
libxcb-shm.so.0          libxcb-shm0
libxcb-xkb.so.1          libxcb-xkb1
libxkbcommon-x11.so.0    libxkbcommon-x11-0
libxkbcommon.so.0        libxkbcommon0
libEGL.so.1              libegl1
libGL.so.1               libgl1
libfontconfig.so.1       libfontconfig1
libdbus-1.so.3           libdbus-1-3
libnss3.so               libnss3
libXcomposite.so.1       libxcomposite1
libXdamage.so.1          libxdamage1
libXrandr.so.2           libxrandr2
libXtst.so.6             libxtst6
"
known=$("$LDCONFIG" -p 2>/dev/null || true)
missing=()
while read -r lib package; do
  [ -n "$lib" ] || continue
  grep -qF "$lib " <<<"$known" || missing+=("$package")
done <<<"$LIBS"
[ ${#missing[@]} -eq 0 ] && exit 0
echo "dispatch-console needs these system packages for Qt on this machine: ${missing[*]}" >&2
echo "install them with: sudo apt-get install ${missing[*]}" >&2
echo "(or run without a display: QT_QPA_PLATFORM=offscreen; README, System packages)" >&2
exit 1
