import { useMemo, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useLocation, useNavigate, useParams } from "react-router";
import { api, type Page } from "../lib/api";
import { describe, errorsUnder, fieldErrors, within } from "../lib/problems";
import { errorsByNode, fromLogic, toLogic, type Json, type RuleNode } from "../lib/ruletree";
import { canEdit, useUser } from "../lib/useSession";
import { RawJson, RuleBuilder } from "../components/RuleBuilder";
import { Alert, Field, Notice, buttonClass, inputClass, primaryClass } from "../components/ui";
import type { Campaign, Rule } from "./Rules";

interface Named {
  id: string;
  name: string;
}

interface Form {
  name: string;
  description: string;
  event_type: string;
  reward: string;
  budget: string;
  campaign: string;
  priority: string;
  active: boolean;
  stop_processing: boolean;
  valid_from: string;
  valid_until: string;
  per_customer_max: string;
  per_customer_period: string;
  global_max: string;
  global_period: string;
  cooldown: string;
}

interface Simulation {
  customer_known: boolean;
  matches: boolean;
  would_issue: boolean;
  reward_id?: string;
  reason?: string;
}

const PERIODS = ["day", "week", "month", "lifetime"];

function formOf(rule?: Rule): Form {
  return {
    name: rule?.name ?? "",
    description: rule?.description ?? "",
    event_type: rule?.event_type ?? "purchase",
    reward: rule?.reward ?? "",
    budget: rule?.budget ?? "",
    campaign: rule?.campaign ?? "",
    priority: String(rule?.priority ?? 0),
    active: rule?.active ?? true,
    stop_processing: rule?.stop_processing ?? false,
    valid_from: rule?.valid_from ?? "",
    valid_until: rule?.valid_until ?? "",
    per_customer_max: rule?.caps.per_customer ? String(rule.caps.per_customer.max) : "",
    per_customer_period: rule?.caps.per_customer?.period ?? "day",
    global_max: rule?.caps.global ? String(rule.caps.global.max) : "",
    global_period: rule?.caps.global?.period ?? "lifetime",
    cooldown: rule?.caps.cooldown !== undefined ? String(rule.caps.cooldown) : "",
  };
}

/** A number as typed, or the text itself (so that the API says what is wrong beside the field). */
function num(s: string): number | string {
  return s.trim() !== "" && !Number.isNaN(Number(s)) ? Number(s) : s;
}

/** The rule definition of the form, as POST /rules and the builder's checks take it. */
function definitionOf(form: Form, conditions: Json, forPatch = false): Record<string, unknown> {
  const none = forPatch ? null : undefined;
  const caps: Record<string, unknown> = {};
  caps.per_customer = form.per_customer_max.trim()
    ? { max: num(form.per_customer_max), period: form.per_customer_period }
    : none;
  caps.global = form.global_max.trim() ? { max: num(form.global_max), period: form.global_period } : none;
  caps.cooldown = form.cooldown.trim() ? num(form.cooldown) : none;
  const out: Record<string, unknown> = {
    name: form.name,
    description: form.description,
    event_type: form.event_type,
    conditions,
    reward: form.reward,
    budget: form.budget || none,
    campaign: form.campaign || none,
    caps,
    priority: num(form.priority || "0"),
    active: form.active,
    stop_processing: form.stop_processing,
    valid_from: form.valid_from.trim() || none,
    valid_until: form.valid_until.trim() || none,
  };
  return JSON.parse(JSON.stringify(out)); // drops the undefined ones
}

const NEW_RULE: Json = { and: [{ ">=": [{ var: "event.amount" }, 50] }] };

export function RuleEditorPage() {
  const { id } = useParams();
  const isNew = id === undefined || id === "new";
  const rule = useQuery({
    queryKey: ["rule", id],
    queryFn: () => api<Rule>("GET", `rules/${id}`),
    enabled: !isNew,
  });
  if (!isNew && rule.isPending) return <p>Loading…</p>;
  if (!isNew && rule.error) return <Alert>{describe(rule.error)}</Alert>;
  return <RuleEditor key={id ?? "new"} rule={isNew ? undefined : rule.data} />;
}

function useNames(path: string) {
  return useQuery({
    queryKey: ["names", path],
    queryFn: () => api<Page<Named>>("GET", `${path}?limit=100`),
  });
}

function RuleEditor({ rule }: { rule?: Rule }) {
  const user = useUser();
  const editable = canEdit(user);
  const navigate = useNavigate();
  const queries = useQueryClient();
  const [form, setForm] = useState<Form>(() => formOf(rule));
  const [tree, setTree] = useState<RuleNode>(() => fromLogic((rule?.conditions as Json) ?? NEW_RULE));
  const [view, setView] = useState<"builder" | "json">("builder");
  const [problem, setProblem] = useState<unknown>(null);
  const [problemPrefix, setProblemPrefix] = useState("");
  const location = useLocation();
  const [notice, setNotice] = useState<string | null>(() =>
    rule && (location.state as { saved?: boolean } | null)?.saved ? `Saved “${rule.name}”.` : null,
  );
  const [simulation, setSimulation] = useState<Simulation | null>(null);
  const [sample, setSample] = useState({ phone: "", type: "", amount: "", currency: "USD", data: "{}" });

  const rewards = useNames("reward-catalog");
  const budgets = useNames("budgets");
  const campaigns = useQuery({
    queryKey: ["names", "campaigns"],
    queryFn: () => api<Page<Campaign>>("GET", "campaigns?limit=100"),
  });

  const errors = useMemo(() => fieldErrors(problem, problemPrefix), [problem, problemPrefix]);
  const ruleErrors = useMemo(() => {
    // Problems of the rule: the builder's checks put them under /rule, the save at the root.
    const out = new Map<string, string[]>();
    errors.forEach((v, k) => {
      if (problemPrefix === "" && (k === "/rule" || k.startsWith("/rule/"))) out.set(k.slice(5), v);
      else if (!k.startsWith("/event")) out.set(k, v);
    });
    return out;
  }, [errors, problemPrefix]);
  const nodeErrors = useMemo(() => errorsByNode(tree, within(ruleErrors, "/conditions")), [tree, ruleErrors]);
  const at = (pointer: string) => errorsUnder(ruleErrors, pointer);
  const eventErrors = (pointer: string) => errorsUnder(errors, `/event${pointer}`);

  const set = <K extends keyof Form>(key: K, value: Form[K]) => setForm((f) => ({ ...f, [key]: value }));
  const conditions = toLogic(tree);

  function fail(e: unknown, prefix: string) {
    setNotice(null);
    setProblem(e);
    setProblemPrefix(prefix);
  }
  function succeed(message: string) {
    setProblem(null);
    setNotice(message);
  }

  const validate = useMutation({
    mutationFn: () => api<{ ok: boolean }>("POST", "rules/validate", { rule: definitionOf(form, conditions) }),
    onSuccess: () => succeed("The rule is valid."),
    onError: (e) => fail(e, "/rule"),
  });

  const simulate = useMutation({
    mutationFn: () => {
      let data: Record<string, unknown> = {};
      try {
        data = JSON.parse(sample.data || "{}");
      } catch {
        /* sent as it is: the API says where */
      }
      if (sample.amount.trim()) {
        data.amount = sample.amount.trim();
        data.currency = sample.currency;
      }
      const event = {
        customer: { phone: sample.phone.trim() },
        type: sample.type.trim() || form.event_type,
        data,
      };
      return api<Simulation>("POST", "rules/simulate", {
        rule: definitionOf(form, conditions),
        event,
        ...(rule ? { rule_id: rule.id } : {}),
      });
    },
    onSuccess: (s) => {
      setSimulation(s);
      setProblem(null);
      setNotice(null);
    },
    onError: (e) => {
      setSimulation(null);
      fail(e, "");
    },
  });

  const save = useMutation({
    mutationFn: () =>
      rule
        ? api<Rule>("PATCH", `rules/${rule.id}`, definitionOf(form, conditions, true))
        : api<Rule>("POST", "rules", definitionOf(form, conditions)),
    onSuccess: (saved) => {
      void queries.invalidateQueries({ queryKey: ["rules"] });
      queries.setQueryData(["rule", saved.id], saved);
      succeed(`Saved “${saved.name}”.`);
      if (!rule) navigate(`/rules/${saved.id}`, { replace: true, state: { saved: true } });
    },
    onError: (e) => fail(e, ""),
  });

  const rewardName = (rid?: string) => rewards.data?.items.find((r) => r.id === rid)?.name ?? rid;
  const busy = validate.isPending || simulate.isPending || save.isPending;

  return (
    <section>
      <h1 className="mb-4 text-2xl font-semibold">{rule ? `Rule: ${rule.name}` : "New rule"}</h1>
      {problem !== null && <Alert>{describe(problem)}</Alert>}
      {notice && <Notice>{notice}</Notice>}

      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (editable) save.mutate();
        }}
        className="flex flex-col gap-6"
        aria-label="Rule"
      >
        <fieldset disabled={!editable} className="grid grid-cols-2 gap-4 rounded border border-slate-200 bg-white p-4">
          <legend className="px-1 font-semibold">The rule</legend>
          <Field label="Name" errors={at("/name")}>
            {(p) => <input {...p} className={inputClass} value={form.name} onChange={(e) => set("name", e.target.value)} />}
          </Field>
          <Field label="Event type" errors={at("/event_type")} hint="purchase, visit, ...">
            {(p) => (
              <input {...p} className={inputClass} value={form.event_type} onChange={(e) => set("event_type", e.target.value)} />
            )}
          </Field>
          <Field label="Description" errors={at("/description")}>
            {(p) => (
              <input {...p} className={inputClass} value={form.description} onChange={(e) => set("description", e.target.value)} />
            )}
          </Field>
          <Field label="Reward" errors={at("/reward")}>
            {(p) => (
              <select {...p} className={inputClass} value={form.reward} onChange={(e) => set("reward", e.target.value)}>
                <option value="">— choose a reward —</option>
                {rewards.data?.items.map((r) => (
                  <option key={r.id} value={r.name}>
                    {r.name}
                  </option>
                ))}
                {form.reward && !rewards.data?.items.some((r) => r.name === form.reward) && (
                  <option value={form.reward}>{form.reward}</option>
                )}
              </select>
            )}
          </Field>
          <Field label="Budget" errors={at("/budget")} hint="else the campaign's or the reward's">
            {(p) => (
              <select {...p} className={inputClass} value={form.budget} onChange={(e) => set("budget", e.target.value)}>
                <option value="">none of its own</option>
                {budgets.data?.items.map((b) => (
                  <option key={b.id} value={b.name}>
                    {b.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Campaign" errors={at("/campaign")}>
            {(p) => (
              <select {...p} className={inputClass} value={form.campaign} onChange={(e) => set("campaign", e.target.value)}>
                <option value="">none</option>
                {campaigns.data?.items.map((c) => (
                  <option key={c.id} value={c.name}>
                    {c.name} ({c.status})
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Priority" errors={at("/priority")} hint="higher first">
            {(p) => (
              <input {...p} type="number" className={inputClass} value={form.priority} onChange={(e) => set("priority", e.target.value)} />
            )}
          </Field>
          <div className="flex flex-col gap-2 pt-6 text-sm">
            <label className="flex items-center gap-2">
              <input type="checkbox" checked={form.active} onChange={(e) => set("active", e.target.checked)} /> Active
            </label>
            <label className="flex items-center gap-2">
              <input
                type="checkbox"
                checked={form.stop_processing}
                onChange={(e) => set("stop_processing", e.target.checked)}
              />{" "}
              Stop evaluating later rules when this one matches
            </label>
          </div>
          <Field label="Valid from" errors={at("/valid_from")} hint="RFC 3339, e.g. 2026-12-01T00:00:00+02:00">
            {(p) => <input {...p} className={inputClass} value={form.valid_from} onChange={(e) => set("valid_from", e.target.value)} />}
          </Field>
          <Field label="Valid until" errors={at("/valid_until")} hint="exclusive">
            {(p) => <input {...p} className={inputClass} value={form.valid_until} onChange={(e) => set("valid_until", e.target.value)} />}
          </Field>
        </fieldset>

        <fieldset disabled={!editable} className="grid grid-cols-3 gap-4 rounded border border-slate-200 bg-white p-4">
          <legend className="px-1 font-semibold">Caps and cooldown</legend>
          <Field label="Per customer: at most" errors={at("/caps/per_customer")} hint="empty: no cap">
            {(p) => (
              <div className="flex gap-1">
                <input {...p} type="number" className={`${inputClass} w-20`} value={form.per_customer_max} onChange={(e) => set("per_customer_max", e.target.value)} />
                <select aria-label="Per customer period" className={inputClass} value={form.per_customer_period} onChange={(e) => set("per_customer_period", e.target.value)}>
                  {PERIODS.map((x) => (
                    <option key={x}>{x}</option>
                  ))}
                </select>
              </div>
            )}
          </Field>
          <Field label="All customers: at most" errors={at("/caps/global")} hint="empty: no cap">
            {(p) => (
              <div className="flex gap-1">
                <input {...p} type="number" className={`${inputClass} w-20`} value={form.global_max} onChange={(e) => set("global_max", e.target.value)} />
                <select aria-label="All customers period" className={inputClass} value={form.global_period} onChange={(e) => set("global_period", e.target.value)}>
                  {PERIODS.map((x) => (
                    <option key={x}>{x}</option>
                  ))}
                </select>
              </div>
            )}
          </Field>
          <Field label="Cooldown (seconds)" errors={at("/caps/cooldown")} hint="between two rewards to one customer">
            {(p) => <input {...p} type="number" className={inputClass} value={form.cooldown} onChange={(e) => set("cooldown", e.target.value)} />}
          </Field>
        </fieldset>

        <fieldset className="rounded border border-slate-200 bg-white p-4">
          <legend className="px-1 font-semibold">Conditions</legend>
          <div className="mb-2 flex gap-2" role="group" aria-label="View">
            <button type="button" className={buttonClass} aria-pressed={view === "builder"} onClick={() => setView("builder")}>
              Builder
            </button>
            <button type="button" className={buttonClass} aria-pressed={view === "json"} onClick={() => setView("json")}>
              JSON
            </button>
          </div>
          {view === "builder" ? (
            <RuleBuilder tree={tree} onChange={setTree} errors={nodeErrors} readOnly={!editable} />
          ) : (
            <>
              <RawJson label="Conditions (JsonLogic)" value={conditions} readOnly={!editable} onChange={(j) => setTree(fromLogic(j))} />
              {at("/conditions").length > 0 && (
                <p className="text-sm text-red-700" data-testid="field-error">
                  {at("/conditions").join("; ")}
                </p>
              )}
            </>
          )}
        </fieldset>

        <fieldset className="grid grid-cols-4 gap-4 rounded border border-slate-200 bg-white p-4">
          <legend className="px-1 font-semibold">Try it on a sample event</legend>
          <Field label="Customer phone" errors={eventErrors("/customer")}>
            {(p) => (
              <input {...p} className={inputClass} placeholder="+263771234567" value={sample.phone} onChange={(e) => setSample({ ...sample, phone: e.target.value })} />
            )}
          </Field>
          <Field label="Sample event type" errors={eventErrors("/type")} hint="the rule's if empty">
            {(p) => (
              <input {...p} className={inputClass} placeholder={form.event_type} value={sample.type} onChange={(e) => setSample({ ...sample, type: e.target.value })} />
            )}
          </Field>
          <Field label="Amount" errors={eventErrors("/data/amount")}>
            {(p) => (
              <div className="flex gap-1">
                <input {...p} className={`${inputClass} w-24`} placeholder="72.50" value={sample.amount} onChange={(e) => setSample({ ...sample, amount: e.target.value })} />
                <select aria-label="Currency" className={inputClass} value={sample.currency} onChange={(e) => setSample({ ...sample, currency: e.target.value })}>
                  <option>USD</option>
                  <option>ZWG</option>
                </select>
              </div>
            )}
          </Field>
          <Field label="Other event data (JSON)" errors={eventErrors("/data").filter((m) => !eventErrors("/data/amount").includes(m))}>
            {(p) => (
              <input {...p} className={`${inputClass} font-mono`} value={sample.data} onChange={(e) => setSample({ ...sample, data: e.target.value })} />
            )}
          </Field>
          <div className="col-span-4 flex items-center gap-2">
            <button type="button" className={buttonClass} disabled={busy} onClick={() => simulate.mutate()}>
              Simulate
            </button>
            {simulation && (
              <p role="status" data-testid="simulation" className="text-sm">
                {simulation.would_issue
                  ? `Matches: it would issue ${rewardName(simulation.reward_id)}.`
                  : simulation.matches
                    ? `Matches, but it would issue nothing: ${simulation.reason?.replace(/_/g, " ")}.`
                    : `Does not match: ${simulation.reason?.replace(/_/g, " ")}.`}
                {!simulation.customer_known && " (A new customer: they would be enrolled.)"}
              </p>
            )}
          </div>
        </fieldset>

        <div className="flex gap-2">
          <button type="button" className={buttonClass} disabled={busy} onClick={() => validate.mutate()}>
            Check
          </button>
          {editable && (
            <button type="submit" className={primaryClass} disabled={busy}>
              Save rule
            </button>
          )}
        </div>
      </form>
    </section>
  );
}
