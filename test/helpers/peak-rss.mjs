// Preloaded (`node --import`) into a CLI under test: prints the process's peak
// resident memory on its last line of stderr, so a test can bound what an input cost.
process.on('exit', () => process.stderr.write(`\npeak-rss-mb ${(process.resourceUsage().maxRSS / 1024).toFixed(0)}\n`));
