// The merchant dashboard in a real headless Chromium (Debian's, through playwright-core), against
// the real daemon that tests/http/dashboard_test.cpp started with a seeded tenant. Prints one
// line per check; exits 1 at the first failed one, saying what was seen. Each page is checked
// with axe-core (no serious or critical violation) and its screenshot written to
// $DASHBOARD_SCREENSHOTS (default build/dashboard/).
//
//   node web/e2e/dashboard.mjs BASE_URL ADMIN_EMAIL ADMIN_PASSWORD VIEWER_EMAIL VIEWER_PASSWORD \
//        TENANT_ID POS_KEY
import { mkdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createServer } from "node:http";
import { chromium } from "playwright-core";

const [base, adminEmail, adminPassword, viewerEmail, viewerPassword, tenantId, posKey] =
  process.argv.slice(2);
const shots =
  process.env.DASHBOARD_SCREENSHOTS ?? fileURLToPath(new URL("../../build/dashboard/", import.meta.url));
mkdirSync(shots, { recursive: true });
const axeSource = readFileSync(
  fileURLToPath(new URL("../node_modules/axe-core/axe.min.js", import.meta.url)),
  "utf8",
);
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

// The merchant's system: answers every webhook with 200 and keeps the ids it got.
const received = [];
const receiver = createServer((req, res) => {
  received.push(req.headers["webhook-id"]);
  req.resume();
  req.on("end", () => res.end("thanks"));
});
await new Promise((ok) => receiver.listen(0, "127.0.0.1", ok));
const hookUrl = `http://127.0.0.1:${receiver.address().port}/hooks`;

function check(ok, what, seen) {
  if (!ok) {
    console.log(`FAIL ${what}${seen !== undefined ? `: saw ${JSON.stringify(seen)}` : ""}`);
    process.exitCode = 1;
    throw new Error(what);
  }
  console.log(`ok   ${what}`);
}

/**
 * The page as it is now: axe-core finds no serious or critical violation (the script is
 * evaluated through the DevTools protocol, which the page's CSP does not govern), and its
 * screenshot is written.
 */
async function review(page, name) {
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    // Proof that axe ran its rules on the page, not on nothing.
    if (result.passes.length < 10) return [`axe passed only ${result.passes.length} rules`];
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
  check(violations.length === 0, `the ${name} page has no serious or critical accessibility violation`, violations);
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
  await review(page, "login");

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
  await review(page, "customers");

  // The notifications: the notice that could not go (the tenant has no WhatsApp number).
  await page.getByRole("link", { name: "Notifications" }).click();
  await page.getByRole("heading", { name: "Notifications" }).waitFor();
  await page.getByLabel("Status").selectOption("cancelled");
  await page.getByTestId("notification-row").first().waitFor();
  const notice = await page.getByTestId("notification-row").first().textContent();
  check(notice.includes("reward_issued") && notice.includes("no WhatsApp number"),
        "the cancelled notice shows with its reason", notice);
  await review(page, "notifications");

  // A deep link reloads into the app; the session survives the reload.
  await page.reload();
  await page.getByRole("heading", { name: "Notifications" }).waitFor();
  check(true, "a reload of a deep link keeps the page and the session");

  // Rewards: a voucher from a pool of codes, a problem shown beside its field, codes uploaded
  // with the report of what went in.
  await page.getByRole("link", { name: "Rewards" }).click();
  await page.getByRole("heading", { name: "Rewards" }).waitFor();
  await page.getByTestId("reward-row").first().waitFor();
  await review(page, "rewards");
  await page.getByRole("button", { name: "New reward" }).click();
  const dialog = page.getByRole("dialog", { name: "New reward" });
  await dialog.getByLabel("Name").fill("Weekend voucher");
  await dialog.getByLabel("Cost to the budget").fill("one fifty");
  await dialog.getByRole("button", { name: "Create reward" }).click();
  const costError = await dialog.getByTestId("field-error").first().textContent();
  check(/decimal|amount|cost/i.test(costError ?? ""), "a bad cost is refused beside the Cost field", costError);
  check((await dialog.getByLabel("Cost to the budget").getAttribute("aria-invalid")) === "true",
        "the refused field is marked invalid");
  await review(page, "reward-dialog");
  await dialog.getByLabel("Cost to the budget").fill("1.50");
  await dialog.getByRole("button", { name: "Create reward" }).click();
  await dialog.waitFor({ state: "detached" });
  const voucherRow = page.getByTestId("reward-row").filter({ hasText: "Weekend voucher" });
  await voucherRow.waitFor();
  check((await voucherRow.textContent()).includes("$1.50"), "the new reward is in the catalogue");
  await voucherRow.getByRole("button", { name: "Upload codes" }).click();
  const upload = page.getByRole("dialog", { name: /Upload codes/ });
  await upload.getByLabel("Or paste the codes").fill("WKND-0001\nWKND-0002\nWKND-0002\nnot a code!\n");
  await upload.getByRole("button", { name: "Upload" }).click();
  const report = await upload.getByTestId("upload-report").textContent();
  check(/4 lines: 2 inserted, 1 duplicates in the file, 0 already in the pool, 1 invalid/.test(report) &&
          /line 4:/.test(report),
        "the upload reports inserted, duplicate and invalid codes", report);
  await review(page, "upload-codes");
  await upload.getByRole("button", { name: "Close" }).first().click();
  await page.waitForFunction(() =>
    [...document.querySelectorAll('[data-testid="reward-row"]')].some((r) => r.textContent.includes("2 / 0 / 0")));
  check(true, "the pool level shows the two codes available");
  // A voucher customers claim with their points: a bad price is refused beside its field.
  await page.getByRole("button", { name: "New reward" }).click();
  const priced = page.getByRole("dialog", { name: "New reward" });
  await priced.getByLabel("Name").fill("$1 for 20 points");
  await priced.getByLabel("Type").selectOption("voucher");
  await priced.getByLabel("Codes").selectOption("generated");
  await priced.getByLabel("Code prefix").fill("PTS-");
  await priced.getByLabel("Cost to the budget").fill("1.00");
  await priced.getByLabel("Points price").fill("twenty");
  await priced.getByRole("button", { name: "Create reward" }).click();
  const priceError = await priced.getByTestId("field-error").first().textContent();
  check(/whole number|integer|number/i.test(priceError ?? "") &&
          (await priced.getByLabel("Points price").getAttribute("aria-invalid")) === "true",
        "a points price that is not a number is refused beside its field", priceError);
  await priced.getByLabel("Points price").fill("20");
  await priced.getByRole("button", { name: "Create reward" }).click();
  await priced.waitFor({ state: "detached" });
  const pricedRow = page.getByTestId("reward-row").filter({ hasText: "$1 for 20 points" });
  await pricedRow.waitFor();
  check((await pricedRow.getByTestId("points-price").textContent()) === "20",
        "the catalogue shows the reward's points price", await pricedRow.textContent());

  // The rule builder: a condition and a part the engine refuses, the problem shown at its node,
  // fixed, simulated against a sample event, saved.
  await page.getByRole("link", { name: "Campaigns and rules" }).click();
  await page.getByRole("heading", { name: "Campaigns and rules" }).waitFor();
  await page.getByTestId("rule-row").first().waitFor();
  await review(page, "rules");
  await page.getByRole("link", { name: "New rule" }).click();
  await page.getByRole("heading", { name: "New rule" }).waitFor();
  await page.getByLabel("Name", { exact: true }).fill("Harare visits");
  await page.getByLabel("Event type", { exact: true }).fill("visit");
  await page.getByLabel("Reward", { exact: true }).selectOption("Weekend voucher");
  await page.getByLabel("Per customer: at most").fill("1");
  const first = page.locator('[data-testid="node"][data-at="0"]');
  await first.getByLabel("Left field").fill("event.store");
  await first.getByLabel("Comparison").selectOption("==");
  await first.getByLabel("Right value type").selectOption("text");
  await first.getByLabel("Right value", { exact: true }).fill("harare");
  await page.getByRole("button", { name: "Add…" }).click();
  await page.getByRole("menuitem", { name: "Raw JSON" }).click();
  const raw = page.locator('[data-testid="node"][data-at="1"]');
  await raw.getByLabel("JSON the builder cannot draw").fill('{"=>": [{"var": "event.amount"}, 10]}');
  await page.getByRole("button", { name: "Check" }).click();
  const nodeError = await raw.getByTestId("node-error").textContent();
  check(/unknown operator/.test(nodeError ?? ""), "the engine's problem is shown at the node it is about", nodeError);
  check((await first.getByTestId("node-error").count()) === 0, "the sound condition shows no problem");
  await review(page, "rule-builder-error");
  await raw.getByRole("button", { name: "Remove this part" }).click();
  await page.getByRole("button", { name: "Check" }).click();
  await page.getByRole("status").filter({ hasText: "The rule is valid." }).waitFor();
  check(true, "fixed, the rule checks out");
  await page.getByLabel("Customer phone").fill("+263772222222");
  await page.getByLabel("Other event data (JSON)").fill('{"store": "bulawayo"}');
  await page.getByRole("button", { name: "Simulate" }).click();
  let simulated = await page.getByTestId("simulation").textContent();
  check(/Does not match: conditions not met/.test(simulated), "a visit elsewhere does not match", simulated);
  await page.getByLabel("Other event data (JSON)").fill('{"store": "harare"}');
  await page.getByRole("button", { name: "Simulate" }).click();
  await page.getByTestId("simulation").filter({ hasText: "Weekend voucher" }).waitFor();
  simulated = await page.getByTestId("simulation").textContent();
  check(/Matches: it would issue Weekend voucher/.test(simulated), "a visit in Harare would issue the voucher", simulated);
  await page.getByRole("button", { name: "Save rule" }).click();
  await page.getByRole("heading", { name: "Rule: Harare visits" }).waitFor();
  await page.getByRole("status").filter({ hasText: "Saved “Harare visits”." }).waitFor();
  await review(page, "rule-builder");
  // Edited: a cap the engine refuses is shown beside its field, and the saved rule is unchanged.
  await page.getByLabel("Per customer: at most").fill("0");
  await page.getByRole("button", { name: "Save rule" }).click();
  const capError = await page.getByTestId("field-error").first().textContent();
  check(/at least 1|positive|>= ?1|must be/i.test(capError ?? "") &&
          (await page.getByLabel("Per customer: at most").getAttribute("aria-invalid")) === "true",
        "a refused change of the saved rule is shown beside the cap", capError);
  await page.getByLabel("Per customer: at most").fill("1");
  await page.getByLabel("Priority").fill("5");
  await page.getByRole("button", { name: "Save rule" }).click();
  await page.getByRole("status").filter({ hasText: "Saved" }).waitFor();
  check(true, "the corrected change is saved");
  await page.getByRole("link", { name: "Campaigns and rules" }).click();
  await page.getByTestId("rule-row").filter({ hasText: "Harare visits" }).waitFor();
  check(true, "the saved rule is listed");

  // A till posts a visit in Harare: the voucher is issued, and redeemed from the Issuances page.
  const posted = await fetch(`${base}/v1/tenants/${tenantId}/events`, {
    method: "POST",
    headers: { Authorization: `Bearer ${posKey}`, "Content-Type": "application/json", "Idempotency-Key": "harare-1" },
    body: JSON.stringify({ customer: { phone: "+263772222222" }, type: "visit", data: { store: "harare" } }),
  });
  const answer = await posted.json();
  check(posted.status === 201 && answer.issuances?.some((i) => i.reward?.name === "Weekend voucher"),
        "the event gives the voucher through the saved rule", answer);
  await page.getByRole("link", { name: "Issuances" }).click();
  await page.getByRole("heading", { name: "Issuances" }).waitFor();
  const voucher = page.getByTestId("issuance-row").filter({ hasText: "Weekend voucher" });
  // The worker issues the reserved voucher in the background: reload until it has.
  await voucher.first().waitFor();
  for (let i = 0; i < 50 && (await voucher.getByTestId("state").textContent()) !== "issued"; ++i) {
    await page.waitForTimeout(200);
    await page.reload();
    await voucher.first().waitFor();
  }
  check((await voucher.getByTestId("state").textContent()) === "issued", "the voucher is issued");
  const code = (await voucher.locator("td.font-mono").textContent()).trim();
  check(/^WKND-000[12]$/.test(code), "the issuance shows its pool code to the admin", code);
  await review(page, "issuances");
  await voucher.getByRole("button", { name: "Redeem" }).click();
  const redeem = page.getByRole("dialog", { name: /Redeem/ });
  await redeem.getByLabel("Code").fill("WKND-9999");
  await redeem.getByRole("button", { name: "Redeem", exact: true }).click();
  const mismatch = await redeem.getByRole("alert").or(redeem.getByTestId("field-error")).first().textContent();
  check(/code/i.test(mismatch ?? ""), "a wrong code is refused with the API's reason", mismatch);
  await redeem.getByLabel("Code").fill(code);
  await redeem.getByRole("button", { name: "Redeem", exact: true }).click();
  await redeem.waitFor({ state: "detached" });
  await page.getByLabel("State").selectOption("redeemed");
  await page.getByTestId("issuance-row").filter({ hasText: code }).getByTestId("state").filter({ hasText: "redeemed" }).waitFor();
  check(true, "the voucher is redeemed with its code and listed as redeemed");

  // A till's purchase elsewhere, posted through the API, shows in the overview and in analytics.
  const purchase = await fetch(`${base}/v1/tenants/${tenantId}/events`, {
    method: "POST",
    headers: { Authorization: `Bearer ${posKey}`, "Content-Type": "application/json", "Idempotency-Key": "bulawayo-1" },
    body: JSON.stringify({ customer: { phone: "+263772222222" }, type: "purchase", data: { store: "bulawayo", channel: "pos" } }),
  });
  check(purchase.status === 201, "a purchase in Bulawayo is posted through the API", purchase.status);
  await page.getByRole("link", { name: "Overview" }).click();
  await page.getByRole("heading", { name: "Overview" }).waitFor();
  const figure = async (key, part = "figure-value") =>
    (await page.getByTestId(`figure-${key}`).getByTestId(part).textContent()).trim();
  await page.getByTestId("figure-events").waitFor();
  check((await figure("events")) === "3" && (await figure("events", "figure-previous")) === "0",
        "the overview counts the three events of the last 30 days against none before", await figure("events"));
  check((await figure("redemptions")) === "1" && (await figure("enrolments")) === "2" &&
          (await figure("active_members")) === "2",
        "the overview shows the redemption, both enrolments and both active members",
        [await figure("redemptions"), await figure("enrolments"), await figure("active_members")]);
  check(/^\$\d+\.\d\d$/.test(await figure("budget_committed")),
        "money on the overview is in the tenant's currency", await figure("budget_committed"));
  await review(page, "overview");
  const thirty = await page.getByTestId("overview-periods").textContent();
  await page.getByLabel("Period").selectOption("7");
  await page.waitForFunction(
    (before) => document.querySelector('[data-testid="overview-periods"]')?.textContent !== before, thirty);
  const periods = await page.getByTestId("overview-periods").textContent();
  check(/\(Africa\/Harare\)/.test(periods) && (await figure("events")) === "3",
        "a shorter period is chosen, dated in the tenant's time zone", periods);

  await page.getByRole("link", { name: "Analytics" }).click();
  await page.getByRole("heading", { name: "Analytics" }).waitFor();
  await page.getByTestId("series-caption").filter({ hasText: "3 in all" }).waitFor();
  await page.locator(".recharts-surface").first().waitFor();
  check(true, "analytics charts the three events per day");
  await page.getByLabel("Breakdown").selectOption("store");
  const bulawayo = page.getByTestId("series-row").filter({ hasText: "bulawayo" });
  await bulawayo.waitFor();
  const stores = await page.getByTestId("series-row").allTextContents();
  check(stores.length === 3 && (await bulawayo.getByTestId("series-total").textContent()) === "1",
        "broken down by store: harare, bulawayo and the visit with no store", stores);
  await review(page, "analytics");
  await page.getByLabel("Metric").selectOption("redemptions");
  await page.getByLabel("Breakdown").selectOption("reward");
  await page.getByTestId("series-row").filter({ hasText: "Weekend voucher" }).waitFor();
  check(true, "the redemption shows under its reward");

  // The customer who bought in Bulawayo: their page shows the purchase, the voucher and the
  // points it earned; an admin's debit beyond the balance is refused, a credit is made.
  await page.getByRole("link", { name: "Customers" }).click();
  await page.getByRole("heading", { name: "Customers" }).waitFor();
  await page.getByLabel("Phone or reference").fill("+263772222222");
  await page.getByRole("button", { name: "Search" }).click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="customer-row"]').length === 1 &&
    document.querySelector('[data-testid="customer-row"]').textContent.includes("+263772222222"));
  await page.getByTestId("customer-row").getByRole("link", { name: "+263772222222" }).click();
  await page.getByRole("heading", { name: "Customer +263772222222" }).waitFor();
  const customerPath = new URL(page.url()).pathname;
  check(/^\/customers\/[0-9a-f-]{36}$/.test(customerPath), "a customer in the list opens their page", customerPath);
  const bought = page.getByTestId("event-row").filter({ hasText: "purchase" });
  await bought.waitFor();
  check((await bought.textContent()).includes("store: bulawayo") &&
          (await page.getByTestId("event-row").count()) === 2,
        "the customer's page lists their purchase in Bulawayo and their visit", await page.getByTestId("event-row").allTextContents());
  const earned = page.getByTestId("movement-row").filter({ hasText: "earn" });
  // The worker issues the points reward in the background: reload until it has.
  for (let i = 0; i < 50 && (await earned.count()) === 0; ++i) {
    await page.waitForTimeout(200);
    await page.reload();
    await page.getByRole("heading", { name: "Customer +263772222222" }).waitFor();
    await page.getByTestId("movement-row").or(page.getByText("No points movements yet.")).first().waitFor();
  }
  check((await earned.count()) === 1 && (await earned.getByTestId("movement-points").textContent()) === "+10" &&
          (await page.getByTestId("points-balance").textContent()) === "10" &&
          (await page.getByTestId("points-spendable").textContent()) === "10",
        "the points the purchase earned are in the history and the balance", await page.getByTestId("profile").textContent());
  const consentRows = await page.getByTestId("consent-row").allTextContents();
  const referral = await page.getByTestId("referral-code").textContent();
  check(consentRows.length === 1 && consentRows[0].includes("given") &&
          /^[2-9A-HJ-NP-Z]{8}$/.test(referral ?? "") &&
          (await page.getByTestId("points-pending").textContent()) === "0",
        "the customer's page shows their consent history, referral code and pending points",
        { consentRows, referral });
  const boughtVoucher = page.getByTestId("reward-issuance-row").filter({ hasText: "Weekend voucher" });
  await boughtVoucher.waitFor();
  check((await boughtVoucher.getByTestId("issuance-state").textContent()) === "redeemed" &&
          (await page.getByTestId("reward-issuance-row").filter({ hasText: "10 points" }).count()) === 1,
        "the customer's rewards show the redeemed voucher and the points reward",
        await page.getByTestId("reward-issuance-row").allTextContents());
  const adjustForm = page.getByRole("form", { name: "Adjust points" });
  await adjustForm.getByLabel("Points").fill("-100");
  await adjustForm.getByLabel("Reason").fill("correction");
  await adjustForm.getByRole("button", { name: "Adjust points" }).click();
  const shortError = await adjustForm.getByTestId("field-error").first().textContent();
  check(/not enough points/i.test(shortError) && /balance is 10/.test(shortError) &&
          (await adjustForm.getByLabel("Points").getAttribute("aria-invalid")) === "true" &&
          (await page.getByTestId("points-balance").textContent()) === "10",
        "a debit beyond the balance is refused beside the Points field, the balance unchanged", shortError);
  await adjustForm.getByLabel("Points").fill("25");
  await adjustForm.getByLabel("Reason").fill("");
  await adjustForm.getByRole("button", { name: "Adjust points" }).click();
  await adjustForm.getByTestId("field-error").filter({ hasNotText: /not enough/i }).first().waitFor();
  check((await adjustForm.getByLabel("Reason").getAttribute("aria-invalid")) === "true",
        "an adjustment without a reason is refused beside the Reason field",
        await adjustForm.getByTestId("field-error").allTextContents());
  await adjustForm.getByLabel("Reason").fill("goodwill: late delivery");
  await adjustForm.getByRole("button", { name: "Adjust points" }).click();
  await page.getByRole("status").filter({ hasText: "balance is now 35" }).waitFor();
  await page.getByTestId("points-balance").filter({ hasText: "35" }).waitFor();
  const latest = page.getByTestId("movement-row").first();
  await latest.filter({ hasText: "goodwill: late delivery" }).waitFor();
  check((await latest.getByTestId("movement-kind").textContent()) === "adjustment" &&
          (await latest.getByTestId("movement-points").textContent()) === "+25" &&
          (await latest.textContent()).includes("never"),
        "the credit is made: the new balance, and the movement first in the history", await latest.textContent());
  // A manager's or admin's claim with the customer's points: the code at once, the balance less
  // the price; a second claim the balance cannot pay is refused beside the Reward field.
  const claimForm = page.getByRole("form", { name: "Claim with points" });
  await claimForm.getByLabel("Reward").selectOption({ label: "$1 for 20 points (20 points)" });
  await claimForm.getByRole("button", { name: "Claim" }).click();
  const claimed = await page.getByRole("status").filter({ hasText: "Claimed" }).textContent();
  await page.getByTestId("points-balance").filter({ hasText: /^15$/ }).waitFor();
  const spent = page.getByTestId("movement-row").first();
  await spent.filter({ hasText: "claimed: $1 for 20 points" }).waitFor();
  // The 20 points come from the lot that expires first (the purchase's 10) and then the
  // adjustment's lot that never expires: a spend movement from each.
  const spends = page.getByTestId("movement-row").filter({ hasText: "claimed: $1 for 20 points" });
  const spentPoints = await spends.getByTestId("movement-points").allTextContents();
  check(/Claimed \$1 for 20 points for 20 points; the balance is now 15\. Code: PTS-[A-Z0-9]+\./.test(claimed ?? "") &&
          (await spent.getByTestId("movement-kind").textContent()) === "spend" &&
          JSON.stringify(spentPoints) === JSON.stringify(["-10", "-10"]),
        "a claim with points gives the voucher's code, and spends from the lots that expire first",
        { claimed, spentPoints });
  await claimForm.getByLabel("Reward").selectOption({ label: "$1 for 20 points (20 points)" });
  await claimForm.getByRole("button", { name: "Claim" }).click();
  const claimShort = await claimForm.getByTestId("field-error").first().textContent();
  check(/not enough points/i.test(claimShort ?? "") && /15 spendable points/.test(claimShort ?? "") &&
          (await claimForm.getByLabel("Reward").getAttribute("aria-invalid")) === "true" &&
          (await page.getByTestId("points-balance").textContent()) === "15" &&
          (await page.getByRole("status").filter({ hasText: "Claimed" }).count()) === 0,
        "a claim the balance cannot pay is refused beside the Reward field, the balance unchanged and the earlier notice gone",
        claimShort);
  await review(page, "customer");
  await page.getByRole("button", { name: "Suspend" }).click();
  await page.getByTestId("customer-status").filter({ hasText: "suspended" }).waitFor();
  await page.getByRole("button", { name: "Reactivate" }).click();
  await page.getByTestId("customer-status").filter({ hasText: "active" }).waitFor();
  check(true, "the customer is suspended and reactivated from their page");

  // Budgets: the utilisation, a top-up refused beside its field then made, the ledger filtered
  // and downloaded as CSV.
  await page.getByRole("link", { name: "Budgets" }).click();
  await page.getByRole("heading", { name: "Budgets" }).waitFor();
  const launch = page.getByTestId("budget-row").filter({ hasText: "Launch" });
  await launch.waitFor();
  check((await launch.getByTestId("budget-total").textContent()) === "$100.00" &&
          (await launch.getByTestId("budget-utilisation").textContent()) === "0.0 %",
        "the budget is listed with its total and utilisation", await launch.textContent());
  await launch.getByRole("button", { name: "Top up" }).click();
  const topup = page.getByRole("dialog", { name: "Top up Launch" });
  await topup.getByLabel("Amount (USD)").fill("ten");
  await topup.getByLabel("Reference").fill("INV-7");
  await topup.getByRole("button", { name: "Top up" }).click();
  const amountError = await topup.getByTestId("field-error").first().textContent();
  check(/amount|decimal/i.test(amountError ?? "") &&
          (await topup.getByLabel("Amount (USD)").getAttribute("aria-invalid")) === "true",
        "a bad top-up amount is refused beside its field", amountError);
  await topup.getByLabel("Amount (USD)").fill("25.00");
  await topup.getByRole("button", { name: "Top up" }).click();
  await topup.waitFor({ state: "detached" });
  const toppedUp = await page.getByRole("status").first().textContent();
  check(/total is now \$125\.00/.test(toppedUp), "the top-up is made and the new total shown", toppedUp);
  await launch.getByTestId("budget-total").filter({ hasText: "$125.00" }).waitFor();
  await page.getByLabel("Movement").selectOption("topup");
  await page.getByTestId("movement-row").filter({ hasText: "INV-7" }).waitFor();
  const kinds = await page.getByTestId("movement-kind").allTextContents();
  check(kinds.length === 2 && kinds.every((k) => k === "topup"), "the ledger filtered to top-ups shows both", kinds);
  await review(page, "budgets");
  const [csv] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Download CSV" }).click(),
  ]);
  const csvText = readFileSync(await csv.path(), "utf8");
  const csvLines = csvText.trim().split("\r\n");
  check(csv.suggestedFilename() === "ledger.csv" && csvLines[0].startsWith("id,created_at,budget_id,budget_name,kind") &&
          csvLines.length === 3 && csvLines[2].includes("INV-7") && csvLines[2].includes(",25.00,USD,"),
        "the filtered ledger downloads as CSV", csvLines);

  // The budget's utilisation over time: today's top-ups (the initial 100.00 and the 25.00) and
  // where it stands, as a chart and a table with every number.
  await page.getByRole("img", { name: "Launch: utilisation per day, chart" }).waitFor();
  await page.getByText("Every number").click();
  const today = page.getByTestId("budget-series-row").last();
  await today.filter({ hasText: "$125.00" }).waitFor();
  const todayCells = await today.locator("td").allTextContents();
  check(JSON.stringify(todayCells.slice(1)) ===
          JSON.stringify(["$125.00", "$0.00", "$0.00", "$0.00", "$0.00", "$0.00", "$125.00", "0.0 %"]) &&
          (await page.getByTestId("budget-series-row").count()) === 30,
        "the utilisation over time shows 30 days, today's top-ups and the total", todayCells);
  await review(page, "budgets-over-time");

  // Channels (admins add and remove): a bad code refused beside its field, a code and a WhatsApp
  // number with a template added, a code another tenant could not take again, a number removed.
  await page.getByRole("link", { name: "Channels" }).click();
  await page.getByRole("heading", { name: "Channels" }).waitFor();
  await page.getByText("No WhatsApp number or USSD code yet.").waitFor();
  const addChannel = page.getByRole("form", { name: "Add a channel" });
  await addChannel.getByLabel("Channel").selectOption("ussd");
  await addChannel.getByLabel("Service code").fill("123");
  await addChannel.getByRole("button", { name: "Add channel" }).click();
  const codeError = await addChannel.getByTestId("field-error").first().textContent();
  check(/dialled form/.test(codeError ?? "") &&
          (await addChannel.getByLabel("Service code").getAttribute("aria-invalid")) === "true",
        "a bad USSD code is refused beside its field", codeError);
  await addChannel.getByLabel("Service code").fill("*123*4#");
  await addChannel.getByRole("button", { name: "Add channel" }).click();
  await page.getByRole("status").filter({ hasText: "Added USSD code *123*4#." }).waitFor();
  await page.getByTestId("channel-row").filter({ hasText: "*123*4#" }).waitFor();
  await addChannel.getByLabel("Channel").selectOption("whatsapp");
  await addChannel.getByLabel("Phone number id").fill("106540352242922");
  await addChannel.getByLabel("Reward issued: template").fill("reward_ready");
  await addChannel.getByRole("button", { name: "Add channel" }).click();
  await page.getByRole("status").filter({ hasText: "Added WhatsApp number 106540352242922." }).waitFor();
  // The list refetches after the answer: wait for the new row.
  await page.getByTestId("channel-row").filter({ hasText: "106540352242922" }).waitFor();
  const channelRows = await page.getByTestId("channel-row").allTextContents();
  check(channelRows.length === 2 && /USSD code\*123\*4#/.test(channelRows[0]) &&
          /WhatsApp number106540352242922reward_issued: reward_ready \(en\)the daemon's token/.test(channelRows[1]),
        "the code and the number are listed, the number with its template", channelRows);
  await addChannel.getByLabel("Channel").selectOption("ussd");
  await addChannel.getByLabel("Service code").fill("*123*4#");
  await addChannel.getByRole("button", { name: "Add channel" }).click();
  const taken = await addChannel.getByRole("alert").textContent();
  check(/already belongs to a tenant/.test(taken ?? ""), "a code already routed is refused with the API's reason", taken);
  await review(page, "channels");
  await page.getByTestId("channel-row").filter({ hasText: "106540352242922" }).getByRole("button", { name: "Remove" }).click();
  const removeDialog = page.getByRole("dialog", { name: "Remove 106540352242922?" });
  await removeDialog.getByRole("button", { name: "Remove 106540352242922" }).click();
  await removeDialog.waitFor({ state: "detached" });
  await page.getByRole("status").filter({ hasText: "Removed WhatsApp number 106540352242922." }).waitFor();
  await page.getByTestId("channel-row").filter({ hasText: "106540352242922" }).waitFor({ state: "detached" });
  const left = await page.getByTestId("channel-address").allTextContents();
  check(left.length === 1 && left[0] === "*123*4#", "the removed number is gone, the code stays", left);

  // Webhooks (admins): a subscription, a bad URL refused beside its field; a test send, its
  // attempt, and a replay with the same webhook-id.
  await page.getByRole("link", { name: "Webhooks" }).click();
  await page.getByRole("heading", { name: "Webhooks" }).waitFor();
  await page.getByRole("button", { name: "New subscription" }).click();
  const hookDialog = page.getByRole("dialog", { name: "New subscription" });
  await hookDialog.getByLabel("URL").fill("not a url");
  await hookDialog.getByRole("button", { name: "Create subscription" }).click();
  const urlError = await hookDialog.getByTestId("field-error").first().textContent();
  check(/url|http/i.test(urlError ?? ""), "a bad webhook URL is refused beside its field", urlError);
  await hookDialog.getByLabel("URL").fill(hookUrl);
  await hookDialog.getByRole("button", { name: "Create subscription" }).click();
  await hookDialog.waitFor({ state: "detached" });
  const hookSecret = await page.getByTestId("webhook-secret").textContent();
  check(/^whsec_/.test(hookSecret), "the new subscription's secret is shown once", hookSecret);
  const hookRow = page.getByTestId("webhook-row").filter({ hasText: hookUrl });
  await hookRow.getByRole("button", { name: "Send test" }).click();
  await page.getByRole("status").filter({ hasText: "Test sent" }).waitFor();
  const tested = await page.getByRole("status").filter({ hasText: "Test sent" }).textContent();
  check(/delivered, HTTP 200/.test(tested) && received.length >= 1, "a test send reaches the merchant's system", tested);
  const testRow = page.getByTestId("delivery-row").filter({ hasText: "webhook.test" });
  await testRow.waitFor();
  await testRow.getByRole("button", { name: "Attempts" }).click();
  await testRow.getByTestId("attempt").first().waitFor();
  check(/HTTP 200/.test(await testRow.getByTestId("attempt-log").textContent()), "the delivery shows its attempt");
  const before = received.length;
  await testRow.getByRole("button", { name: "Replay" }).click();
  // The worker sends it; the list refreshes itself while the delivery is pending.
  const settled = async () =>
    (await testRow.getByTestId("delivery-attempts").textContent()) === "2" &&
    (await testRow.getByTestId("delivery-status").textContent()) === "delivered";
  for (let i = 0; i < 150 && !(await settled()); ++i) {
    await page.waitForTimeout(200);
  }
  await testRow.getByTestId("attempt").nth(1).waitFor({ timeout: 5000 }).catch(() => undefined);
  const replayed = [await testRow.getByTestId("delivery-status").textContent(),
    await testRow.getByTestId("delivery-attempts").textContent(), await testRow.getByTestId("attempt").count(),
    ...received];
  check(received.length === before + 1 && received[before] === received[before - 1] && replayed[0] === "delivered" &&
          replayed[2] === 2,
        "a replay is delivered again with the same webhook-id and listed as a second attempt", replayed);
  await review(page, "webhooks");

  // Users and API keys (admins): a bad email refused beside its field, a manager added (their
  // password shown once) and disabled; a POS key created (shown once), revoked, and refused.
  await page.getByRole("link", { name: "Users and keys" }).click();
  await page.getByRole("heading", { name: "Users and API keys" }).waitFor();
  await page.getByTestId("user-row").first().waitFor();
  await page.getByLabel("Email").fill("not an email");
  await page.getByRole("button", { name: "Add user" }).click();
  const emailError = await page.getByTestId("field-error").first().textContent();
  check(/email/i.test(emailError ?? ""), "a bad email is refused beside its field", emailError);
  await page.getByLabel("Email").fill("cashier.lead@shop.example");
  await page.getByLabel("Role").selectOption("manager");
  await page.getByRole("button", { name: "Add user" }).click();
  await page.getByTestId("shown-once").filter({ hasText: "cashier.lead@shop.example" }).waitFor();
  const newUser = page.getByTestId("user-row").filter({ hasText: "cashier.lead@shop.example" });
  await newUser.getByRole("button", { name: "Disable" }).click();
  await newUser.getByTestId("user-status").filter({ hasText: "disabled" }).waitFor();
  check(true, "a new manager is added with a one-time password, then disabled");
  await page.getByLabel("Key name").fill("Till 9");
  await page.getByRole("button", { name: "Create key" }).click();
  await page.getByTestId("shown-once").filter({ hasText: "lk_live_" }).waitFor();
  const newKey = /lk_live_\S+/.exec(await page.getByTestId("shown-once").textContent())[0];
  const keyRow = page.getByTestId("key-row").filter({ hasText: "Till 9" });
  await keyRow.getByRole("button", { name: "Revoke" }).click();
  await keyRow.getByRole("button", { name: "Revoke" }).waitFor({ state: "detached" });
  const refusedKey = await fetch(`${base}/v1/tenants/${tenantId}/customers?limit=1`, {
    headers: { Authorization: `Bearer ${newKey}` },
  });
  check(refusedKey.status === 401, "a revoked POS key is refused at once", refusedKey.status);
  await review(page, "access");
  await page.getByRole("link", { name: "Audit log" }).click();
  await page.getByRole("heading", { name: "Audit log" }).waitFor();
  await page.getByTestId("audit-row").first().waitFor();
  const actions = await page.getByTestId("audit-action").allTextContents();
  check(actions.some((a) => /topup/.test(a)) && actions.some((a) => /api_key|key/.test(a)),
        "the audit log shows the top-up and the key's changes, newest first", actions);
  await review(page, "audit");

  // The access token expires (and is no longer valid): the app refreshes it with the refresh
  // token, which rotates, and the page loads as before.
  const stale = await page.evaluate(() => JSON.parse(sessionStorage.getItem("loyalty.session")));
  await page.evaluate(() => {
    const s = JSON.parse(sessionStorage.getItem("loyalty.session"));
    s.expiresAt = Date.now() - 1000;
    s.access = "expired.access.token";
    sessionStorage.setItem("loyalty.session", JSON.stringify(s));
  });
  await page.reload();
  await page.getByRole("heading", { name: "Audit log" }).waitFor();
  await page.getByTestId("audit-row").first().waitFor();
  const fresh = await page.evaluate(() => JSON.parse(sessionStorage.getItem("loyalty.session")));
  check(fresh.refresh !== stale.refresh && fresh.access !== "expired.access.token" &&
          fresh.expiresAt > Date.now() + 60_000,
        "the session survives an expired access token: refreshed, the refresh token rotated",
        { refreshed: fresh.access !== "expired.access.token", rotated: fresh.refresh !== stale.refresh });

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
  viewer.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  viewer.on("pageerror", (e) => problems.push(String(e)));
  await signIn(viewer, viewerEmail, viewerPassword);
  await viewer.getByTestId("customer-row").first().waitFor();
  check((await viewer.getByRole("button", { name: /Suspend|Reactivate/ }).count()) === 0,
        "a viewer sees no edit buttons");
  check((await viewer.getByRole("link", { name: /Webhooks|Users and keys|Audit log/ }).count()) === 0,
        "a viewer has no Webhooks, Users and keys or Audit log page");
  await viewer.goto(`${base}${customerPath}`);
  await viewer.getByRole("heading", { name: "Customer +263772222222" }).waitFor();
  await viewer.getByTestId("movement-row").first().waitFor();
  check((await viewer.getByTestId("points-balance").textContent()) === "15" &&
          (await viewer.getByRole("form", { name: "Adjust points" }).count()) === 0 &&
          (await viewer.getByRole("form", { name: "Claim with points" }).count()) === 0 &&
          (await viewer.getByRole("button", { name: /Adjust points|Suspend|Reactivate/ }).count()) === 0,
        "a viewer reads the customer's page without the adjust or claim forms or a status change");
  await review(viewer, "customer-viewer");
  const editControls = /New rule|New reward|Edit|Upload codes|Redeem|Cancel|Save rule/;
  for (const [link, heading, row] of [
    ["Campaigns and rules", "Campaigns and rules", "rule-row"],
    ["Rewards", "Rewards", "reward-row"],
    ["Issuances", "Issuances", "issuance-row"],
  ]) {
    await viewer.getByRole("link", { name: link }).click();
    await viewer.getByRole("heading", { name: heading }).waitFor();
    await viewer.getByTestId(row).first().waitFor();
    const controls = await viewer.getByRole("button", { name: editControls }).count() +
      await viewer.getByRole("link", { name: editControls }).count();
    check(controls === 0, `a viewer sees no edit controls on ${heading}`, controls);
  }
  for (const [link, testid] of [["Overview", "figure-events"], ["Analytics", "series-table"], ["Budgets", "movement-row"]]) {
    await viewer.getByRole("link", { name: link }).click();
    await viewer.getByRole("heading", { name: link }).waitFor();
    await viewer.getByTestId(testid).first().waitFor();
    const controls = await viewer.getByRole("button", { name: editControls }).count() +
      await viewer.getByRole("link", { name: editControls }).count();
    const topups = await viewer.getByRole("button", { name: "Top up" }).count();
    check(controls + topups === 0, `a viewer reads ${link} without edit controls`, controls + topups);
  }
  await viewer.getByRole("link", { name: "Channels" }).click();
  await viewer.getByRole("heading", { name: "Channels" }).waitFor();
  await viewer.getByTestId("channel-row").first().waitFor();
  check((await viewer.getByTestId("channel-address").allTextContents()).join() === "*123*4#" &&
          (await viewer.getByRole("form", { name: "Add a channel" }).count()) === 0 &&
          (await viewer.getByRole("button", { name: /Remove|Add channel/ }).count()) === 0,
        "a viewer reads the channels without the add form or a remove button");
  await review(viewer, "channels-viewer");
  await viewer.getByRole("link", { name: "Campaigns and rules" }).click();
  await viewer.getByRole("link", { name: "Harare visits" }).click();
  await viewer.getByRole("heading", { name: "Rule: Harare visits" }).waitFor();
  check((await viewer.getByRole("button", { name: /Save rule|Add…|Remove/ }).count()) === 0 &&
          (await viewer.getByLabel("Name", { exact: true }).isDisabled()),
        "a viewer reads a rule in the builder without edit controls");
  await review(viewer, "rule-viewer");
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
  receiver.close();
}
