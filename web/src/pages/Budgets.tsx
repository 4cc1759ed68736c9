import { lazy, Suspense, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, download, type Page } from "../lib/api";
import { formatDateTime, formatDay, formatMoney, formatRate } from "../lib/format";
import { describe, errorsUnder, fieldErrors } from "../lib/problems";
import { useUser } from "../lib/useSession";
import { usePaged } from "../lib/usePaged";
import { Alert, Field, Modal, Notice, buttonClass, inputClass, primaryClass } from "../components/ui";
import { Pager } from "./Pager";
import { PRESETS, presetPeriod } from "../analytics/PeriodPicker";
import { useTenantCalendar } from "../analytics/useTenantCalendar";
import type { BudgetSeries } from "../budgets/types";

const BudgetChart = lazy(() => import("../budgets/BudgetChart"));

interface Budget {
  id: string;
  name: string;
  currency: string;
  total: string;
  reserved: string;
  utilized: string;
  spent: string;
  available: string;
  hard_cap: boolean;
  soft_cap_threshold: string | null;
  period: "none" | "daily" | "weekly" | "monthly";
  period_start: string | null;
}

interface Movement {
  id: number;
  budget_id: string;
  budget_name: string;
  kind: string;
  debit_account: string;
  credit_account: string;
  amount: string;
  currency: string;
  issuance_id: string | null;
  reference: string | null;
  actor: string | null;
  created_at: string;
}

const KINDS = ["", "topup", "reserve", "release", "charge", "spend", "rollover", "adjustment"];

/** The share of a budget's total that is reserved, utilized or spent (minor units, exact). */
function utilisation(b: Budget): number | null {
  const cents = (a: string) => BigInt(a.replace(".", ""));
  const total = cents(b.total);
  if (total === 0n) return null;
  const used = cents(b.reserved) + cents(b.utilized) + cents(b.spent);
  return Number((used * 10000n) / total) / 10000;
}

/** The budgets with their utilisation, the ledger with filters and its CSV, top-ups for admins. */
export function BudgetsPage() {
  const user = useUser();
  const admin = user?.role === "admin";
  const budgets = useQuery({
    queryKey: ["budgets"],
    queryFn: () => api<Page<Budget>>("GET", "budgets?limit=200"),
  });
  const [topup, setTopup] = useState<Budget | null>(null);
  const [done, setDone] = useState("");
  const [filter, setFilter] = useState({ budget: "", type: "", from: "", to: "" });
  const query = () => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(filter)) if (v) q.set(k, v);
    return q;
  };
  const ledger = usePaged<Movement>(["ledger", filter], (cursor) => {
    const q = query();
    q.set("limit", "20");
    if (cursor) q.set("cursor", cursor);
    return `ledger?${q}`;
  });
  const exporting = useMutation({
    mutationFn: async () => {
      const q = query();
      q.set("format", "csv");
      const { blob, filename } = await download(`ledger/export?${q}`);
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = filename;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    },
  });
  const setF = (k: keyof typeof filter) => (v: string) => {
    setFilter({ ...filter, [k]: v });
    ledger.reset();
  };
  const errors = fieldErrors(ledger.error);
  return (
    <section>
      <h1 className="mb-4 text-2xl font-semibold">Budgets</h1>
      {done && <Notice>{done}</Notice>}
      {budgets.error && <Alert>{describe(budgets.error)}</Alert>}
      <table className="mb-8 w-full border-collapse bg-white text-sm">
        <thead>
          <tr className="border-b border-slate-200 text-left text-slate-700">
            <th className="p-2">Budget</th>
            <th className="p-2">Period</th>
            <th className="p-2 text-right">Total</th>
            <th className="p-2 text-right">Reserved</th>
            <th className="p-2 text-right">Utilized</th>
            <th className="p-2 text-right">Spent</th>
            <th className="p-2 text-right">Available</th>
            <th className="p-2">Utilisation</th>
            {admin && <th className="p-2">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {budgets.data?.items.map((b) => {
            const share = utilisation(b);
            const m = (amount: string) => formatMoney({ amount, currency: b.currency });
            return (
              <tr key={b.id} className="border-b border-slate-100" data-testid="budget-row">
                <td className="p-2 font-medium">{b.name}</td>
                <td className="p-2">
                  {b.period === "none" ? "whole" : b.period}
                  {b.hard_cap ? ", hard cap" : ""}
                </td>
                <td className="p-2 text-right" data-testid="budget-total">{m(b.total)}</td>
                <td className="p-2 text-right">{m(b.reserved)}</td>
                <td className="p-2 text-right">{m(b.utilized)}</td>
                <td className="p-2 text-right">{m(b.spent)}</td>
                <td className="p-2 text-right">{m(b.available)}</td>
                <td className="p-2">
                  <div className="flex items-center gap-2">
                    <div className="h-2 w-24 rounded bg-slate-200" aria-hidden="true">
                      <div
                        className={`h-2 rounded ${share !== null && share >= 0.9 ? "bg-red-700" : "bg-slate-700"}`}
                        style={{ width: `${Math.min(100, (share ?? 0) * 100)}%` }}
                      />
                    </div>
                    <span data-testid="budget-utilisation">{formatRate(share)}</span>
                  </div>
                </td>
                {admin && (
                  <td className="p-2">
                    <button type="button" className={buttonClass} onClick={() => setTopup(b)}>
                      Top up
                    </button>
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>

      {budgets.data && budgets.data.items.length > 0 && <UtilisationOverTime budgets={budgets.data.items} />}

      <h2 className="mb-2 text-xl font-semibold">Ledger</h2>
      <form className="mb-3 flex flex-wrap items-end gap-3" aria-label="Ledger filters" onSubmit={(e) => e.preventDefault()}>
        <Field label="Budget" errors={errorsUnder(errors, "/budget")}>
          {(p) => (
            <select {...p} className={inputClass} value={filter.budget} onChange={(e) => setF("budget")(e.target.value)}>
              <option value="">any</option>
              {budgets.data?.items.map((b) => (
                <option key={b.id} value={b.id}>
                  {b.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Movement" errors={errorsUnder(errors, "/type")}>
          {(p) => (
            <select {...p} className={inputClass} value={filter.type} onChange={(e) => setF("type")(e.target.value)}>
              {KINDS.map((k) => (
                <option key={k} value={k}>
                  {k || "any"}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="From" errors={errorsUnder(errors, "/from")}>
          {(p) => <input {...p} type="date" className={inputClass} value={filter.from} onChange={(e) => setF("from")(e.target.value)} />}
        </Field>
        <Field label="To" errors={errorsUnder(errors, "/to")}>
          {(p) => <input {...p} type="date" className={inputClass} value={filter.to} onChange={(e) => setF("to")(e.target.value)} />}
        </Field>
        <button type="button" className={buttonClass} onClick={() => exporting.mutate()} disabled={exporting.isPending}>
          Download CSV
        </button>
      </form>
      {exporting.error && <Alert>{describe(exporting.error)}</Alert>}
      {ledger.error && !errors.size && <Alert>{describe(ledger.error)}</Alert>}
      <table className="w-full border-collapse bg-white text-sm">
        <thead>
          <tr className="border-b border-slate-200 text-left text-slate-700">
            <th className="p-2">When</th>
            <th className="p-2">Budget</th>
            <th className="p-2">Movement</th>
            <th className="p-2">From → to</th>
            <th className="p-2 text-right">Amount</th>
            <th className="p-2">Reference</th>
            <th className="p-2">By</th>
          </tr>
        </thead>
        <tbody>
          {ledger.data?.items.map((m) => (
            <tr key={m.id} className="border-b border-slate-100" data-testid="movement-row">
              <td className="p-2 whitespace-nowrap">{formatDateTime(m.created_at)}</td>
              <td className="p-2">{m.budget_name}</td>
              <td className="p-2" data-testid="movement-kind">{m.kind}</td>
              <td className="p-2">
                {m.debit_account} → {m.credit_account}
              </td>
              <td className="p-2 text-right">{formatMoney({ amount: m.amount, currency: m.currency })}</td>
              <td className="p-2">{m.reference ?? (m.issuance_id ? `issuance ${m.issuance_id.slice(0, 8)}` : "—")}</td>
              <td className="p-2">{m.actor ?? "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager previous={ledger.previous} next={ledger.next} />
      {topup && (
        <TopupDialog
          budget={topup}
          onClose={() => setTopup(null)}
          onDone={(message) => {
            setTopup(null);
            setDone(message);
          }}
        />
      )}
    </section>
  );
}

function TopupDialog({ budget, onClose, onDone }: { budget: Budget; onClose: () => void; onDone: (m: string) => void }) {
  const [amount, setAmount] = useState("");
  const [reference, setReference] = useState("");
  const queries = useQueryClient();
  const topup = useMutation({
    mutationFn: () =>
      api<{ budget: Budget; amount: string; replayed: boolean }>("POST", `budgets/${budget.id}/topup`, { amount, reference }),
    onSuccess: (r) => {
      void queries.invalidateQueries({ queryKey: ["budgets"] });
      void queries.invalidateQueries({ queryKey: ["ledger"] });
      void queries.invalidateQueries({ queryKey: ["budget-series"] });
      const added = formatMoney({ amount: r.amount, currency: budget.currency });
      onDone(
        r.replayed
          ? `That reference was used before for ${added}: nothing changed.`
          : `Topped up ${budget.name} by ${added}; the total is now ${formatMoney({ amount: r.budget.total, currency: budget.currency })}.`,
      );
    },
  });
  const errors = fieldErrors(topup.error);
  return (
    <Modal
      open
      onOpenChange={(o) => !o && onClose()}
      title={`Top up ${budget.name}`}
      description="The amount is added to the budget's total. The reference (an invoice or transfer number) makes a retry safe."
    >
      <form
        aria-label="Top up"
        className="flex flex-col gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          topup.mutate();
        }}
      >
        <Field label={`Amount (${budget.currency})`} errors={errorsUnder(errors, "/amount")} hint="e.g. 250.00">
          {(p) => <input {...p} className={inputClass} inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} />}
        </Field>
        <Field label="Reference" errors={errorsUnder(errors, "/reference")}>
          {(p) => <input {...p} className={inputClass} value={reference} onChange={(e) => setReference(e.target.value)} />}
        </Field>
        {topup.error && !errors.size ? <Alert>{describe(topup.error)}</Alert> : null}
        <div className="flex justify-end gap-2">
          <button type="button" className={buttonClass} onClick={onClose}>
            Close
          </button>
          <button type="submit" className={primaryClass} disabled={topup.isPending}>
            Top up
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** A budget's movements per local day, week or month, and its utilisation at each end. */
function UtilisationOverTime({ budgets }: { budgets: Budget[] }) {
  const calendar = useTenantCalendar();
  const [budgetId, setBudgetId] = useState(budgets[0].id);
  const [preset, setPreset] = useState("30");
  const [interval, setBucket] = useState<"day" | "week" | "month">("day");
  const period = calendar.today ? presetPeriod(preset === "custom" ? "30" : preset, calendar.today) : null;
  const series = useQuery({
    queryKey: ["budget-series", budgetId, interval, period?.from, period?.to],
    queryFn: () =>
      api<BudgetSeries>("GET", `budgets/${budgetId}/series?interval=${interval}&from=${period!.from}&to=${period!.to}`),
    enabled: period !== null,
  });
  const errors = fieldErrors(series.error);
  const s = series.data;
  const m = (amount: string) => formatMoney({ amount, currency: s?.budget.currency ?? "USD" });
  return (
    <section aria-labelledby="utilisation-heading" className="mb-8">
      <h2 id="utilisation-heading" className="mb-2 text-xl font-semibold">
        Utilisation over time
      </h2>
      <form className="mb-3 flex flex-wrap items-end gap-3" aria-label="Utilisation over time" onSubmit={(e) => e.preventDefault()}>
        <Field label="Chart">
          {(p) => (
            <select {...p} className={inputClass} value={budgetId} onChange={(e) => setBudgetId(e.target.value)}>
              {budgets.map((b) => (
                <option key={b.id} value={b.id}>
                  {b.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Over">
          {(p) => (
            <select {...p} className={inputClass} value={preset} onChange={(e) => setPreset(e.target.value)}>
              {PRESETS.filter((x) => x.value !== "custom").map((x) => (
                <option key={x.value} value={x.value}>
                  {x.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Per" errors={errorsUnder(errors, "/interval")}>
          {(p) => (
            <select
              {...p}
              className={inputClass}
              value={interval}
              onChange={(e) => setBucket(e.target.value as "day" | "week" | "month")}
            >
              <option value="day">day</option>
              <option value="week">week</option>
              <option value="month">month</option>
            </select>
          )}
        </Field>
      </form>
      {calendar.error && <Alert>{describe(calendar.error)}</Alert>}
      {series.error && !errorsUnder(errors, "/interval").length && <Alert>{describe(series.error)}</Alert>}
      {s && (
        <>
          <Suspense fallback={<p className="text-sm text-slate-600">Loading the chart…</p>}>
            <BudgetChart series={s} />
          </Suspense>
          <details className="mt-2">
            <summary className="cursor-pointer text-sm text-slate-700">Every number ({s.timezone} days)</summary>
            <table className="mt-2 w-full border-collapse bg-white text-sm" data-testid="budget-series-table">
              <thead>
                <tr className="border-b border-slate-200 text-left text-slate-700">
                  <th className="p-2">{s.interval === "day" ? "Day" : s.interval === "week" ? "Week of" : "Month"}</th>
                  <th className="p-2 text-right">Topped up</th>
                  <th className="p-2 text-right">Reserved</th>
                  <th className="p-2 text-right">Committed</th>
                  <th className="p-2 text-right">Spent</th>
                  <th className="p-2 text-right">Released</th>
                  <th className="p-2 text-right">Used at the end</th>
                  <th className="p-2 text-right">Total</th>
                  <th className="p-2 text-right">Utilisation</th>
                </tr>
              </thead>
              <tbody>
                {s.buckets.map((b) => (
                  <tr key={b.start} className="border-b border-slate-100" data-testid="budget-series-row">
                    <td className="p-2 whitespace-nowrap">{formatDay(b.start, s.interval)}</td>
                    <td className="p-2 text-right">{m(b.topped_up)}</td>
                    <td className="p-2 text-right">{m(b.reserved)}</td>
                    <td className="p-2 text-right">{m(b.committed)}</td>
                    <td className="p-2 text-right">{m(b.spent)}</td>
                    <td className="p-2 text-right">{m(b.released)}</td>
                    <td className="p-2 text-right">{m(b.used)}</td>
                    <td className="p-2 text-right">{m(b.total)}</td>
                    <td className="p-2 text-right">{formatRate(b.utilisation)}</td>
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr className="font-medium" data-testid="budget-series-totals">
                  <td className="p-2">In all</td>
                  <td className="p-2 text-right">{m(s.totals.topped_up)}</td>
                  <td className="p-2 text-right">{m(s.totals.reserved)}</td>
                  <td className="p-2 text-right">{m(s.totals.committed)}</td>
                  <td className="p-2 text-right">{m(s.totals.spent)}</td>
                  <td className="p-2 text-right">{m(s.totals.released)}</td>
                  <td className="p-2" colSpan={3} />
                </tr>
              </tfoot>
            </table>
          </details>
        </>
      )}
    </section>
  );
}
