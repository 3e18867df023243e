// Starts `casebridge demo` on a fresh SQLite database and a free loopback port, and reads
// the sign-ins and the customer link it prints. Drives Debian's Chromium (never a
// downloaded browser) through playwright-core, and checks pages with axe-core.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
export const binary = process.env.CASEBRIDGE_BIN ?? join(root, "target", "debug", "casebridge");
export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const screenshotDir = resolve(root, process.env.SCREENSHOT_DIR ?? "e2e/output");
const axeSource = readFileSync(join(here, "..", "node_modules", "axe-core", "axe.min.js"), "utf8");

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.unref();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/// The demo server: its base URL, sign-ins by email, the customer link, and stop().
export async function startDemo() {
  const dir = mkdtempSync(join(tmpdir(), "casebridge-e2e-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(
    binary,
    ["demo", "--database-url", `sqlite://${dir}/casebridge.db`, "--listen", `127.0.0.1:${port}`],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: "warn" } },
  );
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const deadline = Date.now() + 60_000;
  while (!output.includes("Stop with Ctrl-C")) {
    if (child.exitCode !== null) throw new Error(`casebridge demo exited:\n${output}`);
    if (Date.now() > deadline) throw new Error(`casebridge demo did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // Wait until it answers.
  for (;;) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error("casebridge did not answer /healthz");
    await new Promise((r) => setTimeout(r, 100));
  }
  const logins = {};
  for (const line of output.split("\n")) {
    const match = line.match(/^(.+?)\s{2,}(admin|manager|engineer|auditor)\s+(\S+@\S+)\s+(\S+)$/);
    if (match) logins[match[3]] = match[4];
  }
  const customerLink = output.match(/(http:\/\/\S+\/authorize\/cb_al_\S+)/)?.[1];
  assert.ok(Object.keys(logins).length >= 12, `sign-ins printed:\n${output}`);
  assert.ok(customerLink, "the customer link is printed");
  return {
    base,
    logins,
    customerLink,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launch() {
  return chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
}

/// A browser context signed in as `email`; its page is on the inbox.
export async function signIn(browser, server, email, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  page.on("pageerror", (error) => {
    throw error;
  });
  await page.goto(`${server.base}/sign-in`);
  await page.getByLabel("Work email").fill(email);
  await page.getByLabel("Password").fill(server.logins[email]);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/inbox$/);
  return page;
}

/// Runs axe-core on the page as it is now; fails on any serious or critical violation.
/// (Evaluated through the DevTools protocol, which the page's CSP does not govern.)
export async function checkAccessibility(page, label) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } }),
  );
  const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    serious.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`),
    [],
    `accessibility of ${label}`,
  );
  audited.add(label);
  return result;
}

export const audited = new Set();

export async function screenshot(page, name, options = {}) {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true, ...options });
}
