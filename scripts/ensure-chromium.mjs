// `npm test` runs the live viewer's tests in a real browser: Debian's chromium, driven by
// playwright-core (which downloads no browser of its own). On a fresh Debian machine where we
// are root, install it; anywhere else, say what to install. Set STEPMARK_SKIP_CHROMIUM_INSTALL=1
// to never run apt-get from here.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const path = process.env.STEPMARK_CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(path)) {
  const canApt =
    process.getuid?.() === 0 && existsSync('/usr/bin/apt-get') && !process.env.STEPMARK_SKIP_CHROMIUM_INSTALL;
  if (canApt) {
    console.log(`${path} is missing: installing Debian's chromium for the browser tests (apt-get)…`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    try {
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
      execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env });
    } catch {
      console.warn('warning: apt-get could not install chromium; the browser tests will fail.');
    }
  } else {
    console.warn(
      `warning: ${path} not found; the browser tests (test/live/browser.test.ts) need it: ` +
        "install your distribution's chromium (Debian: apt-get install chromium).",
    );
  }
}
