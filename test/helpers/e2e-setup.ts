// Before the e2e files: the production build, once for all of them (each file built it
// again before: ~15 s apiece on two cores). The files see E2E_BUILT and serve dist/ as is.
import { buildPage } from './browser';

export default function setup(): void {
  buildPage();
  process.env.E2E_BUILT = '1';
}
