// The merchant dashboard in a real headless Chromium (Debian's, through playwright-core), against
// the real daemon that tests/http/dashboard_test.cpp started with a seeded tenant. Prints one
// line per check; exits 1 at the first failed one, saying what was seen.
//
//   node web/e2e/dashboard.mjs BASE_URL ADMIN_EMAIL ADMIN_PASSWORD VIEWER_EMAIL VIEWER_PASSWORD
import { chromium } from "playwright-core";

const [base, adminEmail, adminPassword, viewerEmail, viewerPassword] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

function check(ok, what, seen) {
  if (!ok) {
    console.log(`FAIL ${what}${seen !== undefined ? `: saw ${JSON.stringify(seen)}` : ""}`);
    process.exitCode = 1;
    throw new Error(what);
  }
  console.log(`ok   ${what}`);
}

async function signIn(page, email, password) {
  await page.goto(`${base}/customers`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

try {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  page.on("pageerror", (e) => problems.push(String(e)));

  // A wrong password: the API's refusal, on the page.
  await signIn(page, adminEmail, "not the password");
  const refused = await page.getByRole("alert").textContent();
  check(/invalid|incorrect|wrong/i.test(refused ?? ""), "a wrong password is refused with the API's message", refused);

  // The admin: the customers, a search by phone, a suspension.
  await page.getByLabel("Password").fill(adminPassword);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Customers" }).waitFor();
  check((await page.getByTestId("role").textContent()) === "admin", "the admin is signed in");
  await page.getByTestId("customer-row").first().waitFor();
  const rows = await page.getByTestId("customer-row").count();
  check(rows === 2, "both customers are listed", rows);
  await page.getByLabel("Phone or reference").fill("+263771111111");
  await page.getByRole("button", { name: "Search" }).click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="customer-row"]').length === 1);
  const row = page.getByTestId("customer-row");
  check((await row.textContent()).includes("+263771111111"), "the search finds the customer by phone");
  await row.getByRole("button", { name: "Suspend" }).click();
  await row.getByTestId("status").getByText("suspended").waitFor();
  check(true, "the admin suspends the customer and the list shows it");

  // The notifications: the notice that could not go (the tenant has no WhatsApp number).
  await page.getByRole("link", { name: "Notifications" }).click();
  await page.getByRole("heading", { name: "Notifications" }).waitFor();
  await page.getByLabel("Status").selectOption("cancelled");
  await page.getByTestId("notification-row").first().waitFor();
  const notice = await page.getByTestId("notification-row").first().textContent();
  check(notice.includes("reward_issued") && notice.includes("no WhatsApp number"),
        "the cancelled notice shows with its reason", notice);

  // A deep link reloads into the app; the session survives the reload.
  await page.reload();
  await page.getByRole("heading", { name: "Notifications" }).waitFor();
  check(true, "a reload of a deep link keeps the page and the session");

  // The session ends (the refresh token no longer works): a clear message on the login page.
  await page.evaluate(() => {
    const s = JSON.parse(sessionStorage.getItem("loyalty.session"));
    s.expiresAt = Date.now();
    s.refresh = "rt_revoked";
    sessionStorage.setItem("loyalty.session", JSON.stringify(s));
  });
  await page.reload();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  const ended = await page.getByRole("alert").textContent();
  check(/session has ended/i.test(ended ?? ""), "an ended session says so on the login page", ended);

  // A viewer sees the customers without the buttons that change them.
  const viewer = await (await browser.newContext()).newPage();
  await signIn(viewer, viewerEmail, viewerPassword);
  await viewer.getByTestId("customer-row").first().waitFor();
  check((await viewer.getByRole("button", { name: /Suspend|Reactivate/ }).count()) === 0,
        "a viewer sees no edit buttons");
  await viewer.getByRole("button", { name: "Sign out" }).click();
  await viewer.getByRole("heading", { name: "Sign in" }).waitFor();
  check(true, "sign out returns to the login page");

  check(problems.filter((p) => !/401|Failed to load resource/.test(p)).length === 0,
        "no script errors and no Content-Security-Policy violations", problems);
} catch (e) {
  if (!process.exitCode) {
    console.log(`FAIL ${e.message}`);
    process.exitCode = 1;
  }
} finally {
  await browser.close();
}
