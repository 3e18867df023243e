// End-to-end: the demo server and headless Chromium. Two companies' engineers take a case
// from partner search to closure, a manager publishes a form, a customer authorizes by
// link, and the refusals hold. axe-core checks every page on the way.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { audited, checkAccessibility, launch, screenshot, signIn, startDemo } from "../lib/harness.mjs";

let server;
let browser;

before(async () => {
  server = await startDemo();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const PRIYA = "priya@northwind.example"; // Northwind engineer
const KEN = "ken@contoso.example"; // Contoso engineer
const MARCUS = "marcus@northwind.example"; // Northwind manager
const ANA = "ana@northwind.example"; // Northwind admin

test("the sign-in page is plain, labelled and says why a sign-in failed", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.base}/inbox`);
  assert.match(page.url(), /\/sign-in\?next=%2Finbox$/);
  await checkAccessibility(page, "sign-in");
  await screenshot(page, "sign-in");
  await page.getByLabel("Work email").fill(PRIYA);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("The email address or password is not correct.").waitFor();
  // What was typed stays; the password does not.
  assert.equal(await page.getByLabel("Work email").inputValue(), PRIYA);
  assert.equal(await page.getByLabel("Password").inputValue(), "");
  await checkAccessibility(page, "sign-in with an error");
  // The session cookie cannot be read by scripts.
  await page.getByLabel("Password").fill(server.logins[PRIYA]);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/inbox$/);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "cb_session");
  assert.ok(session.httpOnly);
  assert.equal(session.sameSite, "Strict");
  assert.equal(await page.evaluate(() => document.cookie.includes("cb_session")), false);
  await context.close();
});

test("two companies take a case from partner search to closure", async () => {
  const priya = await signIn(browser, server, PRIYA);
  await checkAccessibility(priya, "inbox");
  await screenshot(priya, "inbox");
  // Keyboard users reach the skip link first.
  await priya.keyboard.press("Tab");
  assert.equal(await priya.evaluate(() => document.activeElement.textContent), "Skip to content");

  // Find the partner by typing; the results come as you type.
  await priya.getByRole("link", { name: "New request" }).click();
  await priya.getByLabel("Which company do you need?").pressSequentially("conto", { delay: 30 });
  await priya.getByText("Contoso Cloud").first().waitFor();
  await checkAccessibility(priya, "new request: partner search");
  await screenshot(priya, "new-request-partner");
  await priya.getByRole("link", { name: /Choose/ }).first().click();
  await priya.getByRole("heading", { name: "New request to Contoso Cloud" }).waitFor();
  await checkAccessibility(priya, "new request: form");

  // Send with nothing filled in: the errors show beside their fields.
  await priya.getByRole("button", { name: "Send request" }).click();
  await priya.getByRole("heading", { name: "This could not be sent" }).waitFor();
  await checkAccessibility(priya, "new request: errors");

  await priya.getByLabel("Summary").fill("Snapshots fail on the customer's cluster after the 9.2 upgrade");
  await priya
    .getByLabel("Description")
    .fill("Snapshots of volumes on db7.tailspin-toys.com fail since Monday. Node 10.20.30.40 logs ETIMEDOUT; contact dana.whitfield@tailspin-toys.com.");
  await priya.getByLabel("High — first response within 4 h").check();
  await priya.getByLabel("Product version").fill("9.2.0");
  await priya.getByLabel("Environment").selectOption("Production");
  await priya.getByLabel("Customer company").fill("Tailspin Toys");
  await priya.getByLabel("Customer contact email").fill("it-ops@tailspin.example");
  await priya.getByLabel("Your case number").fill("NW-30001");
  await priya.getByLabel("The customer agreed in writing by email").check();
  await priya.getByLabel("Customer's name").fill("Dana Whitfield");
  await priya.getByLabel("Customer's email").fill("dana.whitfield@tailspin-toys.com");
  await priya.getByLabel("Hostnames").check();
  await priya.getByLabel("Logs").check();

  // Preview: what Contoso will see, every finding with its fate.
  await priya.getByRole("button", { name: /^Preview what/ }).click();
  const preview = priya.locator("section.preview");
  await preview.waitFor();
  assert.match(await preview.innerText(), /db7\.tailspin-toys\.com/);
  assert.doesNotMatch(await preview.locator(".part").first().innerText(), /10\.20\.30\.40/);
  assert.match(await preview.innerText(), /Pseudonymized/);
  await checkAccessibility(priya, "new request: preview");
  await screenshot(priya, "new-request-preview");
  await priya.getByRole("button", { name: "Send request" }).click();
  await priya.getByText("Request sent to Contoso Cloud.").waitFor();
  const caseUrl = priya.url();
  assert.match(caseUrl, /\/cases\/cr_/);
  await checkAccessibility(priya, "case page (submitter)");

  // Contoso's engineer finds it waiting, accepts it, and sees no hidden value.
  const ken = await signIn(browser, server, KEN);
  const waiting = ken.locator("section", { has: ken.getByRole("heading", { name: /Waiting on Contoso/ }) });
  await waiting.getByRole("link", { name: /Snapshots fail/ }).click();
  assert.equal(ken.url(), caseUrl);
  assert.doesNotMatch(await ken.locator("main").innerText(), /10\.20\.30\.40/);
  assert.equal(await ken.locator("summary").filter({ hasText: "Close the case" }).count(), 0, "the receiver cannot close");
  await checkAccessibility(ken, "case page (receiver)");
  await ken.locator("summary").filter({ hasText: /^Accept$/ }).click();
  await ken.getByLabel("Your case number").fill("CC-90001");
  await ken.getByLabel("Next steps (the partner reads this)").fill("We are collecting the array's support bundle.");
  await ken.locator("details[open]").getByRole("button", { name: "Accept" }).click();
  await ken.getByText("Done: Accept. Status is now Accepted.").waitFor();
  await screenshot(ken, "case-receiver");

  // Northwind writes an internal note (never shown to Contoso) and a shared one.
  await priya.reload();
  await priya.getByLabel("Only your company (internal)").check();
  await priya.getByLabel("Summary").fill("Customer escalated to their account manager");
  await priya.getByRole("button", { name: "Add note" }).click();
  await priya.getByText("Note added.").waitFor();
  await priya.getByLabel("Summary").fill("Bundle uploaded");
  await priya.getByRole("textbox", { name: "Details" }).fill("The bundle from db7.tailspin-toys.com is on the share.");
  await priya.getByRole("button", { name: "Preview what they will see" }).last().click();
  await priya.locator("section.preview").waitFor();
  await priya.getByRole("button", { name: "Add note" }).click();
  await priya.getByText("Note added.").waitFor();
  assert.match(await priya.locator("ol.timeline").innerText(), /Internal — only your company/);
  await screenshot(priya, "case-submitter");

  await ken.reload();
  const timeline = await ken.locator("ol.timeline").innerText();
  assert.match(timeline, /Bundle uploaded/);
  assert.doesNotMatch(timeline, /escalated to their account manager/);

  // Northwind closes the case.
  await priya.locator("summary").filter({ hasText: /^Close the case$/ }).click();
  await priya.getByLabel("Closing note (optional)").fill("Fixed by 9.2.1.");
  await priya.locator("details[open]").getByRole("button", { name: "Close the case" }).click();
  await priya.getByText("Status is now Closed.").waitFor();
  await ken.reload();
  assert.match(await ken.locator(".lede").innerText(), /Closed/);
  await priya.context().close();
  await ken.context().close();
});

test("a manager publishes a new version of the process form", async () => {
  const marcus = await signIn(browser, server, MARCUS);
  await marcus.getByRole("link", { name: "Administration" }).click();
  await checkAccessibility(marcus, "administration");
  await marcus.locator("nav[aria-label=Administration]").getByRole("link", { name: "Process form" }).click();
  await checkAccessibility(marcus, "process form editor");
  await screenshot(marcus, "admin-form");
  const rows = marcus.locator("ol.form-fields > li");
  const blank = rows.filter({ has: marcus.locator("input[name=label][value='']") }).first();
  await blank.getByLabel("Label").fill("Support bundle id");
  await blank.getByLabel("Type").selectOption("STRING");
  await blank.getByLabel("Order").fill("9");
  await blank.getByLabel("Required").selectOption("yes");
  await marcus.getByRole("button", { name: "Publish a new version" }).click();
  await marcus.getByText(/Version 2 published\./).waitFor();
  await marcus.getByText("Earlier versions").waitFor();
  assert.equal(await marcus.locator("input[name=label][value='Support bundle id']").count(), 1);

  // Everyone has an account page with their email preferences.
  await marcus.getByRole("link", { name: /Marcus/ }).click();
  await marcus.getByRole("heading", { name: "Your account" }).waitFor();
  await checkAccessibility(marcus, "account");
  await marcus.goto(`${server.base}/admin/form`);

  // Managers run partnerships but not people: Users is not theirs.
  await marcus.locator("nav[aria-label=Administration]").getByRole("link", { name: "Partnerships" }).click();
  await checkAccessibility(marcus, "partnerships");
  assert.equal(await marcus.getByRole("link", { name: "Users" }).count(), 0);
  await marcus.context().close();
});

test("an admin sees every administration page", async () => {
  const ana = await signIn(browser, server, ANA);
  for (const [path, heading] of [
    ["users", "Users"],
    ["departments", "Departments"],
    ["agreement", "Framework agreement"],
    ["api-clients", "API clients"],
    ["webhooks", "Webhooks and email"],
    ["sla", "SLA report"],
    ["audit", "Audit trail"],
  ]) {
    await ana.goto(`${server.base}/admin/${path}`);
    await ana.getByRole("heading", { level: 1, name: heading }).waitFor();
    await checkAccessibility(ana, `admin: ${heading}`);
    await screenshot(ana, `admin-${path}`);
  }
  // A person is invited with a first password shown once, and can sign in with it.
  await ana.goto(`${server.base}/admin/users`);
  await ana.getByLabel("First name").fill("Rosa");
  await ana.getByLabel("Last name").fill("Diaz");
  await ana.getByLabel("Work email").fill("rosa@northwind.example");
  await ana.getByRole("button", { name: "Invite" }).click();
  await ana.getByRole("heading", { name: "Person invited" }).waitFor();
  await checkAccessibility(ana, "person invited");
  const firstPassword = await ana.getByLabel("First password").inputValue();
  const rosa = await signIn(browser, { ...server, logins: { "rosa@northwind.example": firstPassword } }, "rosa@northwind.example");
  await rosa.getByRole("button", { name: "Sign out" }).click();
  await rosa.getByText("You are signed out.").waitFor();
  await rosa.goto(`${server.base}/inbox`);
  assert.match(rosa.url(), /\/sign-in/);
  await rosa.context().close();

  // An API client's secret is shown once.
  await ana.goto(`${server.base}/admin/api-clients`);
  await ana.getByLabel("Name").fill("Salesforce production");
  await ana.getByRole("button", { name: "Create" }).click();
  await ana.getByRole("heading", { name: "API client created" }).waitFor();
  assert.match(await ana.getByLabel("Client secret").inputValue(), /^cb_cs_/);
  await checkAccessibility(ana, "API client created");
  await ana.context().close();
});

test("a request can wait for its customer, who gets a link shown once", async () => {
  const priya = await signIn(browser, server, PRIYA);
  await priya.goto(`${server.base}/cases/new?q=contoso`);
  await priya.getByRole("link", { name: /Choose/ }).first().click();
  await priya.getByLabel("Summary").fill("Replication lag on the DR site");
  await priya.getByLabel("Description").fill("Lag grows to 20 minutes every night.");
  await priya.getByLabel("Product version").fill("9.2.0");
  await priya.getByLabel("Environment").selectOption("Production");
  await priya.getByLabel("Customer company").fill("Tailspin Toys");
  await priya.getByLabel("Customer contact email").fill("it-ops@tailspin.example");
  await priya.getByLabel("Your case number").fill("NW-30002");
  await priya.getByLabel(/Send the customer a link/).check();
  await priya.getByLabel("Customer's name").fill("Dana Whitfield");
  await priya.getByLabel("Customer's email").fill("dana.whitfield@tailspin-toys.com");
  await priya.getByLabel("Logs").check();
  await priya.getByRole("button", { name: "Send request" }).click();
  await priya.getByRole("heading", { name: /now ask your customer/ }).waitFor();
  await checkAccessibility(priya, "customer link shown once");
  const link = await priya.getByLabel("Customer's link").inputValue();
  assert.match(link, /\/authorize\/cb_al_/);
  await priya.getByRole("link", { name: "Go to the request" }).click();
  await priya.getByText("Waiting for the customer").waitFor();
  // Contoso does not see it until the customer decides.
  const ken = await signIn(browser, server, KEN);
  assert.equal(await ken.getByText("Replication lag on the DR site").count(), 0);
  await priya.context().close();
  await ken.context().close();
});

test("a customer authorizes by link on a phone-sized screen", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
  const page = await context.newPage();
  await page.goto(server.customerLink);
  await page.getByRole("heading", { name: /asks for your permission/ }).waitFor();
  await checkAccessibility(page, "customer page");
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), "no sideways scrolling");
  await screenshot(page, "customer-authorization");
  await page.getByRole("button", { name: "Authorize" }).click();
  await page.getByText("Thank you. You authorized this collaboration.").waitFor();
  await checkAccessibility(page, "customer page after authorizing");
  await context.close();
});

test("the inbox works on a phone-sized screen", async () => {
  const priya = await signIn(browser, server, PRIYA, { viewport: { width: 390, height: 844 }, isMobile: true });
  assert.ok(await priya.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), "no sideways scrolling");
  await checkAccessibility(priya, "inbox on a phone");
  await screenshot(priya, "inbox-phone");
  await priya.context().close();
});

test("an engineer cannot open administration, and a forged post is refused", async () => {
  const priya = await signIn(browser, server, PRIYA);
  assert.equal(await priya.getByRole("link", { name: "Administration" }).count(), 0);
  const response = await priya.goto(`${server.base}/admin/users`);
  assert.equal(response.status(), 403);
  await priya.getByRole("heading", { name: "Not allowed" }).waitFor();
  await checkAccessibility(priya, "not allowed");

  // A post carrying the session cookie but no anti-forgery token changes nothing.
  await priya.goto(`${server.base}/inbox`);
  await priya.locator("table.cases a").first().click();
  const caseUrl = priya.url();
  const before = await priya.locator("ol.timeline > li").count();
  const forged = await priya.request.post(`${caseUrl}/notes`, {
    form: { visibility: "SHARED", summary: "forged", intent: "send" },
    maxRedirects: 0,
  });
  assert.equal(forged.status(), 403);
  // And one from another site's page, even with the token, likewise.
  const token = await priya.locator("input[name=_csrf]").first().inputValue();
  const crossSite = await priya.request.post(`${caseUrl}/notes`, {
    form: { _csrf: token, visibility: "SHARED", summary: "forged", intent: "send" },
    headers: { Origin: "https://evil.example" },
    maxRedirects: 0,
  });
  assert.equal(crossSite.status(), 403);
  await priya.reload();
  assert.equal(await priya.locator("ol.timeline > li").count(), before);
  assert.equal(await priya.getByText("forged").count(), 0);
  await priya.context().close();
});

test("every kind of page was checked for accessibility", () => {
  for (const page of [
    "sign-in",
    "inbox",
    "new request: form",
    "new request: errors",
    "new request: preview",
    "case page (submitter)",
    "case page (receiver)",
    "process form editor",
    "person invited",
    "customer link shown once",
    "customer page",
    "not allowed",
  ]) {
    assert.ok(audited.has(page), `${page} was audited`);
  }
});
