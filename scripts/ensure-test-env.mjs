#!/usr/bin/env node
// Before the tests: make sure Debian's Chromium is there. The browser tests drive it,
// and its SwiftShader Vulkan driver gives Dawn (WebGPU in Node) an adapter. As root we
// install it; otherwise we stop and print the exact command.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = '/usr/bin/chromium';
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
const INSTALL = 'apt-get update && apt-get install -y chromium';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`Node ${process.versions.node} is too old: Vite 8 needs Node 20.19 or newer.`);
  process.exit(1);
}

if (!existsSync(CHROMIUM) || !existsSync(SWIFTSHADER)) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root) {
    console.error(`Debian's Chromium is missing (needed by the browser and WebGPU tests). Install it with:\n  sudo ${INSTALL}`);
    process.exit(1);
  }
  console.log(`Installing Debian's Chromium: ${INSTALL}`);
  execSync(INSTALL, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}
