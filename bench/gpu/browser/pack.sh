#!/usr/bin/env bash
# Packs headless Chromium (Debian's chromium-headless-shell), the libraries it needs,
# the Vulkan loader and GL dispatch packages, and the playground's production build, for
# a GPU machine that has none of them (no browser, no display, no Node; python3 with
# aiohttp is enough there). Run from the project's root after `npm ci && npm run build`,
# on Debian with Debian's chromium installed (`npm test` installs it: its libraries are
# the ones the shell links).
# Writes bench/gpu/browser/carry/part1 (~56 MB: the browser alone) and carry/part2
# (~42 MB: its libraries, the build, go.sh, drive.py); each travels on its own when a
# transfer is limited to 64 MiB. PART1=0 keeps an existing part1 (the browser changes
# only with Debian's chromium; the build changes with every commit).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ -f dist/index.html ] || { echo "no dist/: run npm run build first"; exit 1; }
w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists='"$w/lists"
mkdir -p "$w/lists/partial" "$w/debs" "$w/gl" "$w/x"
apt-get $o update -qq
ver=$(apt-cache $o policy chromium-headless-shell | awk '/Candidate:/ {print $2}')
(cd "$w/debs" && apt-get $o download -qq "chromium-headless-shell=$ver" "chromium-common=$ver" 2>/dev/null)
(cd "$w/gl" && apt-get $o download -qq libvulkan1 libglvnd0 libglx0 libgl1 libegl1 libopengl0 libgles2 fonts-dejavu-core 2>/dev/null)
for f in "$w"/debs/*.deb; do dpkg -x "$f" "$w/x"; done
cr="$w/x/usr/lib/chromium"
if LD_LIBRARY_PATH="$cr" ldd "$cr/chromium-headless-shell" | grep -q 'not found'; then
  echo "libraries missing here (install Debian's chromium first: apt-get install -y chromium):"
  LD_LIBRARY_PATH="$cr" ldd "$cr/chromium-headless-shell" | grep 'not found'; exit 1
fi
out="$here/carry"
mkdir -p "$out/part1"; rm -rf "$out/part2"; mkdir -p "$out/part2"
if [ "${PART1:-1}" != 0 ] || [ ! -f "$out/part1/hs.xz" ]; then
  echo "compressing the browser (about 6 min on 2 cores)"
  nice -n 19 xz -6 -T0 -c "$cr/chromium-headless-shell" > "$out/part1/hs.xz"
fi
echo "$ver" > "$out/part1/version"
# the PyTorch reference for the same cases travels with part1 (it needs no browser):
# one config per PRESET:BATCH of $CASES, printed by the bench itself so both sides run one config
rm -rf "$out/part1/torch"; mkdir -p "$out/part1/torch"
cp "$here/../../torch_reference.py" "$here/torch.sh" "$out/part1/torch/"
for c in $(echo "${CASES:-tiny:32:webgpu-composite,tiny:32:webgpu}" | tr ',' ' ' | cut -d: -f1,2 | sort -u); do
  npx tsx src/cli/bench.ts --preset "${c%%:*}" --dataset synthetic --steps "${STEPS:-60}" \
    --set "optim.batchSize=${c##*:}" --print-config > "$out/part1/torch/${c%%:*}-b${c##*:}.config.json"
done
b="$w/b"; mkdir -p "$b/c/lib" "$b/c/locales" "$b/debs"
(cd "$cr" && cp chrome_100_percent.pak chrome_200_percent.pak chrome_crashpad_handler headless_command_resources.pak \
  headless_lib_data.pak headless_lib_strings.pak icudtl.dat libEGL.so libGLESv2.so libvulkan.so.1 resources.pak \
  snapshot_blob.bin v8_context_snapshot.bin "$b/c/" && cp locales/en-US.pak "$b/c/locales/")
# every library the shell links but glibc's own and libstdc++/libgcc (the GPU machine's are newer)
LD_LIBRARY_PATH="$cr" ldd "$cr/chromium-headless-shell" | awk '$3 ~ /^\// {print $1, $3}' | while read -r n p; do
  case "$n" in libc.so.6|libm.so.6|libdl.so.2|libpthread.so.0|librt.so.1|libgcc_s.so.1|libstdc++.so.6|ld-linux*) ;; *) cp -L "$p" "$b/c/lib/" ;; esac
done
cp -L /usr/lib/x86_64-linux-gnu/libsoftokn3.so /usr/lib/x86_64-linux-gnu/libfreebl3.so /usr/lib/x86_64-linux-gnu/libnssckbi.so "$b/c/lib/" 2>/dev/null || true
cp "$w"/gl/*.deb "$b/debs/"
cp -r dist "$b/dist"
nice -n 19 tar -cJf "$out/part2/chrB.tar.xz" -C "$b" c debs dist
cp "$here/drive.py" "$here/go.sh" "$out/part2/"
git rev-parse --short HEAD > "$out/part2/commit" 2>/dev/null || true
du -sh "$out/part1" "$out/part2"
