// The chart of a series (recharts), loaded only with the Analytics page so the first load stays
// small. Lines differ by dash pattern as well as colour; the table beside it has every number.
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatCount, formatDay } from "../lib/format";
import type { Series } from "./types";

const COLOURS = ["#1e3a8a", "#b91c1c", "#047857", "#7c2d12", "#6d28d9", "#0f766e", "#a16207", "#be185d", "#334155", "#4d7c0f"];
const DASHES = ["", "6 3", "2 2", "8 3 2 3", "", "6 3", "2 2", "8 3 2 3", "", "6 3"];

export default function SeriesChart({ series }: { series: Series }) {
  const data = series.buckets.map((bucket, i) => {
    const row: Record<string, number | string> = { bucket };
    series.lines.forEach((line, j) => {
      row[`l${j}`] = line.values[i];
    });
    return row;
  });
  return (
    <div className="h-80 w-full" role="img" aria-label={`${series.metric} per ${series.interval}, chart`}>
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={data} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
          <CartesianGrid stroke="#e2e8f0" />
          <XAxis dataKey="bucket" tickFormatter={(b: string) => formatDay(b, series.interval)} minTickGap={24} />
          <YAxis allowDecimals={false} tickFormatter={(n: number) => formatCount(n)} />
          <Tooltip
            labelFormatter={(b) => formatDay(String(b), series.interval)}
            formatter={(v) => formatCount(Number(v))}
          />
          <Legend />
          {series.lines.map((line, j) => (
            <Line
              key={j}
              type="linear"
              dataKey={`l${j}`}
              name={line.label}
              stroke={COLOURS[j % COLOURS.length]}
              strokeDasharray={DASHES[j % DASHES.length]}
              strokeWidth={2}
              dot={false}
              isAnimationActive={false}
            />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}
