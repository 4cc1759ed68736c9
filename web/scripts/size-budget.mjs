// The size budget of the dashboard's first load, checked by `npm run build`: the JavaScript that
// index.html loads (its module scripts and their modulepreloads), gzipped, must stay under
// BUDGET_KIB. Prints the figures; exits 1 when over.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const BUDGET_KIB = 300;
const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const html = readFileSync(join(dist, "index.html"), "utf8");
const files = new Set();
for (const m of html.matchAll(/<script[^>]*\ssrc="([^"]+\.js)"/g)) files.add(m[1]);
for (const m of html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+\.js)"/g)) files.add(m[1]);
if (files.size === 0) {
  console.error("size budget: index.html loads no script");
  process.exit(1);
}
let total = 0;
for (const file of files) {
  const size = gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
  total += size;
  console.log(`size budget: ${file} ${(size / 1024).toFixed(1)} KiB gzipped`);
}
const kib = total / 1024;
if (kib > BUDGET_KIB) {
  console.error(`size budget: the first load is ${kib.toFixed(1)} KiB gzipped, over ${BUDGET_KIB} KiB`);
  process.exit(1);
}
console.log(`size budget: first load ${kib.toFixed(1)} KiB gzipped of ${BUDGET_KIB} KiB`);
