// Numbers, money and dates as the merchant's staff read them, in the tenant's currency and time
// zone. Money arrives from the API as {amount: "12.50", currency: "USD"} (decimal strings, never
// floating point) and is shown as it came, with the currency's symbol where Intl knows one.

export interface Money {
  amount: string;
  currency: string;
}

/** "USD 1,234.50" style: the decimal string grouped, never parsed into a float. */
export function formatMoney(money: Money | null | undefined, locale = "en-ZW"): string {
  if (!money) return "—";
  const negative = money.amount.startsWith("-");
  const digits = negative ? money.amount.slice(1) : money.amount;
  const [whole, fraction] = digits.split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const symbol = currencySymbol(money.currency, locale);
  return `${negative ? "-" : ""}${symbol}${grouped}${fraction !== undefined ? "." + fraction : ""}`;
}

function currencySymbol(currency: string, locale: string): string {
  try {
    const parts = new Intl.NumberFormat(locale, { style: "currency", currency }).formatToParts(0);
    const symbol = parts.find((p) => p.type === "currency")?.value ?? currency;
    return symbol.length === 1 || symbol === "US$" ? symbol.replace("US$", "$") : `${symbol} `;
  } catch {
    return `${currency} `;
  }
}

/** An RFC 3339 instant as a date and time in the tenant's time zone, e.g. "1 Dec 2026, 20:15". */
export function formatDateTime(iso: string | null | undefined, timeZone = "Africa/Harare"): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "—";
  return new Intl.DateTimeFormat("en-GB", {
    timeZone,
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  }).format(d);
}

/** A count with thousands separators. */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  return new Intl.NumberFormat("en-GB").format(n);
}

/** A fraction (0.6125) as a percentage with one decimal ("61.3 %"); a dash when undefined. */
export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined) return "—";
  return `${new Intl.NumberFormat("en-GB", { maximumFractionDigits: 1, minimumFractionDigits: 1 }).format(rate * 100)} %`;
}

/** How `current` compares with `previous`: "+12.5 %", "-3.0 %", "new" from zero, "±0 %". */
export function formatChange(current: number, previous: number): string {
  if (current === previous) return "±0 %";
  if (previous === 0) return "new";
  const change = ((current - previous) / Math.abs(previous)) * 100;
  const text = new Intl.NumberFormat("en-GB", { maximumFractionDigits: 1, minimumFractionDigits: 1 }).format(
    Math.abs(change),
  );
  return `${change > 0 ? "+" : "-"}${text} %`;
}

/**
 * A local day of the tenant ("2026-11-02", as the API gives buckets and periods) for people:
 * "2 Nov 2026"; a month bucket as "Nov 2026". Read as a calendar day, never through a time zone.
 */
export function formatDay(day: string | null | undefined, interval: "day" | "week" | "month" = "day"): string {
  if (!day || !/^\d{4}-\d{2}-\d{2}$/.test(day)) return "—";
  const d = new Date(`${day}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return "—";
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: "UTC",
    ...(interval === "month" ? {} : { day: "numeric" }),
    month: "short",
    year: "numeric",
  }).format(d);
}

/** Today's date on the calendar of a time zone, as YYYY-MM-DD. */
export function localToday(timeZone: string, now: Date = new Date()): string {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(now);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")}`;
}

/** A calendar day `days` after (or before) `day`, both YYYY-MM-DD. */
export function addDays(day: string, days: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}
