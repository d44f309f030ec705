#!/usr/bin/env bash
# The console shows Chinese and the handover PDF embeds a Chinese font (its test checks that it
# does). A fresh Debian/Ubuntu machine may have none: install Noto CJK when we may (root with
# apt), otherwise say what to install (README, "System packages"). Quiet when a font is there.
set -euo pipefail
command -v fc-list >/dev/null || exit 0
fc-list :lang=zh family | grep -qi . && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing fonts-noto-cjk (no Chinese font on this machine)" >&2
  apt-get install -y -q fonts-noto-cjk >/dev/null \
    || { apt-get update -q >/dev/null && apt-get install -y -q fonts-noto-cjk >/dev/null; }
else
  echo "no Chinese font installed: run 'sudo apt-get install fonts-noto-cjk' (README, System packages)" >&2
fi
