#!/usr/bin/env bash
# On the GPU machine: unpack the carried headless Chromium and run the page's benchmark
# for each case with drive.py (environment: see drive.py). Needs part1's hs.xz in
# $PART1 (default /tmp/c) and this folder (part2). Results go to $OUT (default /tmp/out).
set -u
P=$(cd "$(dirname "$0")" && pwd); B=${UNPACK:-/tmp/b}; mkdir -p "$B"
[ -x "$B/c/chromium-headless-shell" ] || {
  tar -xJf "$P/chrB.tar.xz" -C "$B"
  xz -dc "${PART1:-/tmp/c}/hs.xz" > "$B/c/chromium-headless-shell" && chmod +x "$B/c/chromium-headless-shell"
  mkdir -p "$B/gl" && for f in "$B"/debs/*.deb; do dpkg -x "$f" "$B/gl"; done
}
export LD_LIBRARY_PATH=$B/c/lib:$B/c:$B/gl/usr/lib/x86_64-linux-gnu
# the container toolkit's ICD first (where it exists it is the one that works), then the distribution's
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  [ -f "$icd" ] && { export VK_ICD_FILENAMES=$icd; break; }
done
echo "VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-unset}"
mkdir -p /tmp/fc && printf '<?xml version="1.0"?><fontconfig><dir>%s/gl/usr/share/fonts</dir><cachedir>/tmp/fc</cachedir></fontconfig>\n' "$B" > "$B/fonts.conf"
export FONTCONFIG_FILE=$B/fonts.conf
ldd "$B/c/chromium-headless-shell" | grep 'not found' || echo "ldd: all libraries found"
"$B/c/chromium-headless-shell" --version 2>&1 | tail -1
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>/dev/null || true
python3 "$P/drive.py" "$B/c/chromium-headless-shell" "$B/dist" "${OUT:-/tmp/out}"
