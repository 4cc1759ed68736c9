import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api } from "../lib/api";
import { formatChange, formatCount, formatDay, formatMoney, formatRate, type Money } from "../lib/format";
import { PeriodPicker, presetPeriod, type Period } from "../analytics/PeriodPicker";
import { useTenantCalendar } from "../analytics/useTenantCalendar";
import type { PeriodFigures, Summary } from "../analytics/types";
import { Alert } from "../components/ui";

type Figure = {
  key: string;
  label: string;
  hint: string;
  value: (f: PeriodFigures) => number | null;
  show: (f: PeriodFigures) => string;
};

const count = (pick: (f: PeriodFigures) => number) => ({
  value: pick,
  show: (f: PeriodFigures) => formatCount(pick(f)),
});
const money = (pick: (f: PeriodFigures) => Money) => ({
  value: (f: PeriodFigures) => Number(pick(f).amount),
  show: (f: PeriodFigures) => formatMoney(pick(f)),
});
const rate = (pick: (f: PeriodFigures) => number | null) => ({
  value: pick,
  show: (f: PeriodFigures) => formatRate(pick(f)),
});

const FIGURES: Figure[] = [
  { key: "active_members", label: "Active members", hint: "with an event in the 90 days to the period's end", ...count((f) => f.active_members) },
  { key: "enrolments", label: "Enrolments", hint: "customers who joined", ...count((f) => f.enrolments) },
  { key: "events", label: "Events", hint: "purchases, visits and other events", ...count((f) => f.events) },
  { key: "issuances", label: "Rewards given", hint: "cancelled ones not counted", ...count((f) => f.issuances) },
  { key: "redemptions", label: "Redemptions", hint: "rewards redeemed", ...count((f) => f.redemptions) },
  { key: "redemption_rate", label: "Redemption rate", hint: "of the period's vouchers and gifts, redeemed since", ...rate((f) => f.redemption_rate) },
  { key: "points_earned", label: "Points earned", hint: "credited to customers", ...count((f) => f.points_earned) },
  { key: "points_outstanding", label: "Points outstanding", hint: "customers' balances at the period's end", ...count((f) => f.points_outstanding) },
  { key: "points_liability", label: "Points liability", hint: "outstanding points at their value", ...money((f) => f.points_liability) },
  { key: "budget_committed", label: "Budget committed", hint: "reserved for rewards, net of releases", ...money((f) => f.budget_committed) },
  { key: "budget_utilisation", label: "Budget utilisation", hint: "committed against the budgets' total", ...rate((f) => f.budget_utilisation) },
];

/** The programme at a glance: the period's figures against the previous period's. */
export function OverviewPage() {
  const calendar = useTenantCalendar();
  const [chosen, setChosen] = useState<Period | null>(null);
  const period = chosen ?? (calendar.today ? presetPeriod("30", calendar.today) : null);
  const summary = useQuery({
    queryKey: ["analytics", "summary", period?.from, period?.to],
    queryFn: () => api<Summary>("GET", `analytics/summary?from=${period!.from}&to=${period!.to}`),
    enabled: period !== null,
  });
  const s = summary.data;
  return (
    <section>
      <h1 className="mb-4 text-2xl font-semibold">Overview</h1>
      {period && calendar.today && (
        <div className="mb-4">
          <PeriodPicker period={period} today={calendar.today} onChange={setChosen} />
        </div>
      )}
      {(calendar.error || summary.error) && <Alert>{((calendar.error ?? summary.error) as Error).message}</Alert>}
      {s && (
        <>
          <p className="mb-4 text-sm text-slate-700" data-testid="overview-periods">
            {formatDay(s.period.from)} – {formatDay(s.period.to)} against {formatDay(s.previous.from)} –{" "}
            {formatDay(s.previous.to)} ({s.timezone})
          </p>
          <dl className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-4">
            {FIGURES.map((f) => {
              const now = f.value(s.period);
              const before = f.value(s.previous);
              return (
                <div key={f.key} className="rounded border border-slate-200 bg-white p-4" data-testid={`figure-${f.key}`}>
                  <dt className="text-sm font-medium text-slate-700">{f.label}</dt>
                  <dd className="mt-1 text-2xl font-semibold" data-testid="figure-value">
                    {f.show(s.period)}
                  </dd>
                  <dd className="mt-1 text-sm text-slate-700">
                    previous: <span data-testid="figure-previous">{f.show(s.previous)}</span>
                    {now !== null && before !== null && (
                      <span className="ml-2 font-medium">({formatChange(now, before)})</span>
                    )}
                  </dd>
                  <dd className="mt-1 text-xs text-slate-600">{f.hint}</dd>
                </div>
              );
            })}
          </dl>
          <p className="mt-4 text-sm text-slate-700" data-testid="overview-budgets">
            Budgets now: {formatMoney(s.budgets.used)} used of {formatMoney(s.budgets.total)} (
            {formatRate(s.budgets.utilisation)}) over {formatCount(s.budgets.budgets)} budget
            {s.budgets.budgets === 1 ? "" : "s"}; a point is worth {formatMoney(s.point_value)}.
          </p>
        </>
      )}
    </section>
  );
}
