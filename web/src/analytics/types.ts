// The analytics API's answers (GET .../analytics/summary and .../analytics/series, in
// /openapi.json as AnalyticsSummary and AnalyticsSeries).
import type { Money } from "../lib/format";

export interface PeriodFigures {
  from: string;
  to: string;
  active_members: number;
  enrolments: number;
  events: number;
  issuances: number;
  redemptions: number;
  redemption_rate: number | null;
  points_earned: number;
  points_redeemed: number;
  points_outstanding: number;
  points_liability: Money;
  budget_committed: Money;
  budget_utilisation: number | null;
}

export interface Summary {
  timezone: string;
  currency: string;
  point_value: Money;
  period: PeriodFigures;
  previous: PeriodFigures;
  budgets: { budgets: number; total: Money; used: Money; utilisation: number | null };
}

export type Metric = "events" | "issuances" | "redemptions" | "points";
export type Interval = "day" | "week" | "month";
export type Breakdown = "" | "rule" | "reward" | "store" | "channel";

export interface SeriesLine {
  key: string | null;
  label: string;
  other: boolean;
  values: number[];
  total: number;
}

export interface Series {
  metric: Metric;
  interval: Interval;
  by: Breakdown | null;
  timezone: string;
  from: string;
  to: string;
  buckets: string[];
  lines: SeriesLine[];
  totals: number[];
}
