# Sourced by run.sh and quality.sh on the GPU machine, inside carry/: unpacks Node and
# Dawn, and points Dawn at a Vulkan loader and NVIDIA's ICD.
# Node and Dawn travel compressed
[ -x node ] || { xz -dk node.xz && chmod +x node; }
dawn=node_modules/webgpu/dist/linux-x64/dawn.node
[ -f "$dawn" ] || xz -dk "$dawn.xz"

# Dawn needs the Vulkan loader, and NVIDIA's ICD needs libglvnd's GL dispatch; GPU
# containers often ship the driver without them: unpack Debian's into ./gl and use those
if ! ldconfig -p | grep -q 'libvulkan.so.1 ' || ! ldconfig -p | grep -q 'libGLdispatch.so.0 '; then
  mkdir -p gl
  for deb in debs/*.deb; do dpkg -x "$deb" gl; done
  export LD_LIBRARY_PATH="$PWD/gl/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  # the container toolkit's path first (where it exists it is the one that works), then the distribution's
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$icd" ]; then export VK_ICD_FILENAMES=$icd; break; fi
  done
fi
echo "VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-unset}"
