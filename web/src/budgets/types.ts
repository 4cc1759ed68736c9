/** GET .../budgets/:id/series: a budget's movements and utilisation per local bucket. */
export interface BudgetBucket {
  start: string;
  topped_up: string;
  reserved: string;
  committed: string;
  spent: string;
  released: string;
  used: string;
  total: string;
  utilisation: number | null;
}

export interface BudgetSeries {
  budget: { id: string; name: string; currency: string; period: string };
  interval: "day" | "week" | "month";
  timezone: string;
  from: string;
  to: string;
  buckets: BudgetBucket[];
  totals: Record<"topped_up" | "reserved" | "committed" | "spent" | "released", string>;
}

/** A decimal amount ("12.50") in minor units, exactly. */
export function cents(amount: string): number {
  const negative = amount.startsWith("-");
  const [whole, fraction = "00"] = amount.replace("-", "").split(".");
  const n = Number(whole) * 100 + Number(fraction.padEnd(2, "0").slice(0, 2));
  return negative ? -n : n;
}

/** Minor units as a decimal amount ("12.50"), exactly. */
export function amountOf(minor: number): string {
  const abs = Math.abs(minor);
  return `${minor < 0 ? "-" : ""}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}
