// A budget's utilisation over time (recharts, loaded with the Budgets page's chart only): what
// each bucket reserved, committed and released as bars, and what the budget had used and its
// total at each bucket's end as lines. The table beside it has every number.
import { Bar, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatDay, formatMoney } from "../lib/format";
import { amountOf, cents, type BudgetSeries } from "./types";

export default function BudgetChart({ series }: { series: BudgetSeries }) {
  const money = (minor: number) => formatMoney({ amount: amountOf(minor), currency: series.budget.currency });
  const data = series.buckets.map((b) => ({
    start: b.start,
    reserved: cents(b.reserved),
    committed: cents(b.committed),
    released: cents(b.released),
    used: cents(b.used),
    total: cents(b.total),
  }));
  return (
    <div className="h-80 w-full" role="img" aria-label={`${series.budget.name}: utilisation per ${series.interval}, chart`}>
      <ResponsiveContainer width="100%" height="100%">
        <ComposedChart data={data} margin={{ top: 8, right: 16, bottom: 8, left: 16 }}>
          <CartesianGrid stroke="#e2e8f0" />
          <XAxis dataKey="start" tickFormatter={(d: string) => formatDay(d, series.interval)} minTickGap={24} />
          <YAxis tickFormatter={(n: number) => money(n)} width={80} />
          <Tooltip labelFormatter={(d) => formatDay(String(d), series.interval)} formatter={(v) => money(Number(v))} />
          <Legend />
          <Bar dataKey="reserved" name="Reserved" fill="#1e3a8a" isAnimationActive={false} />
          <Bar dataKey="committed" name="Committed" fill="#047857" isAnimationActive={false} />
          <Bar dataKey="released" name="Released" fill="#a16207" isAnimationActive={false} />
          <Line type="stepAfter" dataKey="used" name="Used at the end" stroke="#b91c1c" strokeWidth={2} dot={false} isAnimationActive={false} />
          <Line
            type="stepAfter"
            dataKey="total"
            name="Total"
            stroke="#334155"
            strokeDasharray="6 3"
            strokeWidth={2}
            dot={false}
            isAnimationActive={false}
          />
        </ComposedChart>
      </ResponsiveContainer>
    </div>
  );
}
