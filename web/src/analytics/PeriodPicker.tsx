import { useId } from "react";
import { inputClass } from "../components/ui";
import { addDays } from "../lib/format";

export interface Period {
  preset: string; // "7", "30", "90", "365" days to today, or "custom"
  from: string;
  to: string;
}

export const PRESETS = [
  { value: "7", label: "Last 7 days" },
  { value: "30", label: "Last 30 days" },
  { value: "90", label: "Last 90 days" },
  { value: "365", label: "Last 365 days" },
  { value: "custom", label: "Custom" },
];

/** The period of a preset, ending on the tenant's today. */
export function presetPeriod(preset: string, today: string): Period {
  const days = Number(preset);
  return { preset, from: addDays(today, -(days - 1)), to: today };
}

/** A period of the tenant's local days: a preset, or from and to dates. */
export function PeriodPicker({
  period,
  today,
  onChange,
}: {
  period: Period;
  today: string;
  onChange: (p: Period) => void;
}) {
  const id = useId();
  return (
    <div className="flex flex-wrap items-end gap-3">
      <div className="flex flex-col gap-1">
        <label htmlFor={`${id}-preset`} className="text-sm font-medium text-slate-700">
          Period
        </label>
        <select
          id={`${id}-preset`}
          value={period.preset}
          onChange={(e) =>
            onChange(e.target.value === "custom" ? { ...period, preset: "custom" } : presetPeriod(e.target.value, today))
          }
          className={inputClass}
        >
          {PRESETS.map((p) => (
            <option key={p.value} value={p.value}>
              {p.label}
            </option>
          ))}
        </select>
      </div>
      <div className="flex flex-col gap-1">
        <label htmlFor={`${id}-from`} className="text-sm font-medium text-slate-700">
          From
        </label>
        <input
          id={`${id}-from`}
          type="date"
          value={period.from}
          max={period.to}
          onChange={(e) => e.target.value && onChange({ ...period, preset: "custom", from: e.target.value })}
          className={inputClass}
        />
      </div>
      <div className="flex flex-col gap-1">
        <label htmlFor={`${id}-to`} className="text-sm font-medium text-slate-700">
          To
        </label>
        <input
          id={`${id}-to`}
          type="date"
          value={period.to}
          min={period.from}
          onChange={(e) => e.target.value && onChange({ ...period, preset: "custom", to: e.target.value })}
          className={inputClass}
        />
      </div>
    </div>
  );
}
