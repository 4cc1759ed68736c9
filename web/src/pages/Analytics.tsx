import { lazy, Suspense, useId, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api } from "../lib/api";
import { formatCount, formatDay } from "../lib/format";
import { PeriodPicker, presetPeriod, type Period } from "../analytics/PeriodPicker";
import { useTenantCalendar } from "../analytics/useTenantCalendar";
import type { Breakdown, Interval, Metric, Series } from "../analytics/types";
import { Alert, inputClass } from "../components/ui";

const SeriesChart = lazy(() => import("../analytics/SeriesChart"));

const METRICS: { value: Metric; label: string }[] = [
  { value: "events", label: "Events" },
  { value: "issuances", label: "Rewards given" },
  { value: "redemptions", label: "Redemptions" },
  { value: "points", label: "Points earned" },
];
const INTERVALS: { value: Interval; label: string }[] = [
  { value: "day", label: "Day" },
  { value: "week", label: "Week" },
  { value: "month", label: "Month" },
];
const BREAKDOWNS: { value: Breakdown; label: string }[] = [
  { value: "", label: "None" },
  { value: "rule", label: "Rule" },
  { value: "reward", label: "Reward" },
  { value: "store", label: "Store" },
  { value: "channel", label: "Channel" },
];

function Select<T extends string>({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: T;
  options: { value: T; label: string; disabled?: boolean }[];
  onChange: (v: T) => void;
}) {
  const id = useId();
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className="text-sm font-medium text-slate-700">
        {label}
      </label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value as T)} className={inputClass}>
        {options.map((o) => (
          <option key={o.value} value={o.value} disabled={o.disabled}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}

/** Events, rewards, redemptions and points over time, in the tenant's local days, weeks, months. */
export function AnalyticsPage() {
  const calendar = useTenantCalendar();
  const [metric, setMetric] = useState<Metric>("events");
  const [interval, setInterval] = useState<Interval>("day");
  const [by, setBy] = useState<Breakdown>("");
  const [chosen, setChosen] = useState<Period | null>(null);
  const period = chosen ?? (calendar.today ? presetPeriod("30", calendar.today) : null);
  const series = useQuery({
    queryKey: ["analytics", "series", metric, interval, by, period?.from, period?.to],
    queryFn: () => {
      const q = new URLSearchParams({ metric, interval, from: period!.from, to: period!.to });
      if (by) q.set("by", by);
      return api<Series>("GET", `analytics/series?${q}`);
    },
    enabled: period !== null,
  });
  const s = series.data;
  const eventsOnly = metric === "events";
  return (
    <section>
      <h1 className="mb-4 text-2xl font-semibold">Analytics</h1>
      <div className="mb-4 flex flex-wrap items-end gap-3">
        <Select
          label="Metric"
          value={metric}
          options={METRICS}
          onChange={(m) => {
            setMetric(m);
            if (m === "events" && (by === "rule" || by === "reward")) setBy("");
          }}
        />
        <Select label="Interval" value={interval} options={INTERVALS} onChange={setInterval} />
        <Select
          label="Breakdown"
          value={by}
          options={BREAKDOWNS.map((b) => ({ ...b, disabled: eventsOnly && (b.value === "rule" || b.value === "reward") }))}
          onChange={setBy}
        />
        {period && calendar.today && <PeriodPicker period={period} today={calendar.today} onChange={setChosen} />}
      </div>
      {(calendar.error || series.error) && <Alert>{((calendar.error ?? series.error) as Error).message}</Alert>}
      {s && (
        <>
          <p className="mb-2 text-sm text-slate-700" data-testid="series-caption">
            {METRICS.find((m) => m.value === s.metric)?.label} per {s.interval}, {formatDay(s.from)} – {formatDay(s.to)} (
            {s.timezone}): {formatCount(s.totals.reduce((a, b) => a + b, 0))} in all
          </p>
          <Suspense fallback={<p className="h-80">Loading the chart…</p>}>
            <SeriesChart series={s} />
          </Suspense>
          <div className="mt-4 overflow-x-auto" tabIndex={0} role="region" aria-label="The series as a table">
            <table className="w-full border-collapse bg-white text-sm" data-testid="series-table">
              <caption className="sr-only">The series by {s.by ?? "total"}</caption>
              <thead>
                <tr className="border-b border-slate-200 text-left text-slate-700">
                  <th className="p-2">{s.by ? BREAKDOWNS.find((b) => b.value === s.by)?.label : "Series"}</th>
                  <th className="p-2 text-right">Total</th>
                  {s.buckets.map((b) => (
                    <th key={b} className="p-2 text-right whitespace-nowrap">
                      {formatDay(b, s.interval)}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {s.lines.map((line, i) => (
                  <tr key={i} className="border-b border-slate-100" data-testid="series-row">
                    <th scope="row" className="p-2 text-left font-normal">
                      {line.other ? "Other" : line.label === s.metric && !s.by ? "All" : line.label}
                    </th>
                    <td className="p-2 text-right font-medium" data-testid="series-total">
                      {formatCount(line.total)}
                    </td>
                    {line.values.map((v, j) => (
                      <td key={j} className="p-2 text-right">
                        {formatCount(v)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
