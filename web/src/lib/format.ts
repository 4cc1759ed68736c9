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
