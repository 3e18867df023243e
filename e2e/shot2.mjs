import { chromium } from "playwright-core";
const base = "http://127.0.0.1:18090";
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
async function signIn(email, password) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on("console", (m) => console.log("console:", m.text()));
  await page.goto(base + "/sign-in");
  await page.fill("#email", email);
  await page.fill("#password", password);
  await page.click("button[type=submit]");
  await page.waitForURL(/inbox/);
  return page;
}
const ken = await signIn("ken@contoso.example", process.env.KEN);
await ken.screenshot({ path: "/tmp/k-inbox.png", fullPage: true });
await ken.click("text=Storage latency spikes");
await ken.click("summary:has-text('Ask for information')");
await ken.fill("details[open] textarea", "Please send the kubelet logs from node k8s-worker-07.northwind.example and the output of iostat. Call me at +1 555 0199.");
await ken.click("details[open] button[value=preview]");
await ken.waitForLoadState();
await ken.screenshot({ path: "/tmp/k-preview.png", fullPage: true });
const ana = await signIn("ana@northwind.example", process.env.ANA);
for (const p of ["users", "departments", "form", "partnerships", "agreement", "api-clients", "audit"]) {
  await ana.goto(base + "/admin/" + p);
  await ana.screenshot({ path: `/tmp/a-${p}.png`, fullPage: true });
}
await browser.close();
