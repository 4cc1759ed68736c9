import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../lib/api";
import { formatDateTime } from "../lib/format";
import { describe, errorsUnder, fieldErrors } from "../lib/problems";
import { usePaged } from "../lib/usePaged";
import { Alert, Field, Modal, Notice, buttonClass, inputClass, primaryClass } from "../components/ui";
import { Pager } from "./Pager";

interface Subscription {
  id: string;
  url: string;
  description: string;
  event_types: string[];
  active: boolean;
  status: string;
  disabled_reason: string | null;
  consecutive_failures: number;
  paused_until: string | null;
  created_at: string;
}

interface Attempt {
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  response_body: string;
  attempted_at: string;
}

interface Delivery {
  id: string;
  subscription_id: string;
  webhook_id: string;
  event_type: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
  created_at: string;
  attempt_log: Attempt[];
}

const EVENT_TYPES = [
  "customer.enrolled", "reward.issued", "reward.redeemed", "reward.expired", "reward.cancelled", "budget.threshold",
  "points.earned", "points.spent", "points.reversed", "points.expired", "points.adjusted",
  "tier.changed",
  "referral.completed",
];

function outcome(d: { last_status_code: number | null; last_error: string | null }) {
  return d.last_status_code ? `HTTP ${d.last_status_code}` : (d.last_error ?? "—");
}

/** The merchant's webhook subscriptions (admins): create, test, pause; deliveries, attempts, replay. */
export function WebhooksPage() {
  const subs = usePaged<Subscription>(["webhooks"], (cursor) => `webhooks?limit=50${cursor ? `&cursor=${cursor}` : ""}`);
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState("");
  const [selected, setSelected] = useState<string | null>(null);
  const [done, setDone] = useState("");
  const queries = useQueryClient();
  const test = useMutation({
    mutationFn: (id: string) => api<Delivery>("POST", `webhooks/${id}/test`),
    onSuccess: (d) => {
      setDone(`Test sent: ${d.status}, ${outcome(d)}${d.attempt_log[0] ? ` in ${d.attempt_log[0].duration_ms} ms` : ""}.`);
      setSelected(d.subscription_id);
      void queries.invalidateQueries({ queryKey: ["deliveries"] });
    },
  });
  const toggle = useMutation({
    mutationFn: (s: Subscription) => api<Subscription>("PATCH", `webhooks/${s.id}`, { active: !s.active }),
    onSuccess: () => queries.invalidateQueries({ queryKey: ["webhooks"] }),
  });
  return (
    <section>
      <div className="mb-4 flex items-center justify-between">
        <h1 className="text-2xl font-semibold">Webhooks</h1>
        <button type="button" className={primaryClass} onClick={() => setCreating(true)}>
          New subscription
        </button>
      </div>
      {secret && (
        <Notice>
          The subscription's signing secret, shown only now: <code data-testid="webhook-secret">{secret}</code>
        </Notice>
      )}
      {done && <Notice>{done}</Notice>}
      {(subs.error || test.error || toggle.error) && <Alert>{describe(subs.error ?? test.error ?? toggle.error)}</Alert>}
      <table className="w-full border-collapse bg-white text-sm">
        <thead>
          <tr className="border-b border-slate-200 text-left text-slate-700">
            <th className="p-2">URL</th>
            <th className="p-2">Events</th>
            <th className="p-2">Status</th>
            <th className="p-2">Failures</th>
            <th className="p-2">Actions</th>
          </tr>
        </thead>
        <tbody>
          {subs.data?.items.map((s) => (
            <tr key={s.id} className="border-b border-slate-100" data-testid="webhook-row">
              <td className="p-2 font-mono break-all">{s.url}</td>
              <td className="p-2">{s.event_types.join(", ")}</td>
              <td className="p-2" data-testid="webhook-status">
                {s.status}
                {s.disabled_reason ? ` (${s.disabled_reason})` : ""}
              </td>
              <td className="p-2">{s.consecutive_failures}</td>
              <td className="flex flex-wrap gap-2 p-2">
                <button type="button" className={buttonClass} onClick={() => test.mutate(s.id)} disabled={test.isPending}>
                  Send test
                </button>
                <button type="button" className={buttonClass} onClick={() => setSelected(s.id)} aria-pressed={selected === s.id}>
                  Deliveries
                </button>
                <button type="button" className={buttonClass} onClick={() => toggle.mutate(s)}>
                  {s.active ? "Disable" : "Enable"}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager previous={subs.previous} next={subs.next} />
      {selected && <Deliveries subscription={selected} />}
      {creating && (
        <CreateDialog
          onClose={() => setCreating(false)}
          onCreated={(s) => {
            setCreating(false);
            setSecret(s);
          }}
        />
      )}
    </section>
  );
}

function Deliveries({ subscription }: { subscription: string }) {
  const [status, setStatus] = useState("");
  const [open, setOpen] = useState<string | null>(null);
  const list = usePaged<Delivery>(["deliveries", subscription, status], (cursor) => {
    const q = new URLSearchParams({ limit: "20" });
    if (status) q.set("status", status);
    if (cursor) q.set("cursor", cursor);
    return `webhooks/${subscription}/deliveries?${q}`;
  }, (page) => (page?.items.some((d) => d.status === "pending") ? 1000 : false));
  const queries = useQueryClient();
  const replay = useMutation({
    mutationFn: (id: string) => api<Delivery>("POST", `webhook-deliveries/${id}/replay`),
    onSuccess: (d) => {
      setOpen(d.id);
      void queries.invalidateQueries({ queryKey: ["deliveries"] });
      void queries.invalidateQueries({ queryKey: ["delivery", d.id] });
    },
  });
  return (
    <div className="mt-6">
      <h2 className="mb-2 text-xl font-semibold">Deliveries</h2>
      <label className="mb-2 flex items-center gap-2 text-sm">
        Delivery status
        <select
          className={inputClass}
          value={status}
          onChange={(e) => {
            setStatus(e.target.value);
            list.reset();
          }}
        >
          {["", "pending", "delivered", "failed", "dead"].map((s) => (
            <option key={s} value={s}>
              {s || "any"}
            </option>
          ))}
        </select>
      </label>
      {(list.error || replay.error) && <Alert>{describe(list.error ?? replay.error)}</Alert>}
      <table className="w-full border-collapse bg-white text-sm">
        <thead>
          <tr className="border-b border-slate-200 text-left text-slate-700">
            <th className="p-2">Created</th>
            <th className="p-2">Event</th>
            <th className="p-2">Status</th>
            <th className="p-2">Attempts</th>
            <th className="p-2">Last answer</th>
            <th className="p-2">Actions</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.items.map((d) => (
            <tr key={d.id} className="border-b border-slate-100 align-top" data-testid="delivery-row">
              <td className="p-2 whitespace-nowrap">{formatDateTime(d.created_at)}</td>
              <td className="p-2">{d.event_type}</td>
              <td className="p-2" data-testid="delivery-status">{d.status}</td>
              <td className="p-2" data-testid="delivery-attempts">{d.attempts}</td>
              <td className="p-2">{outcome(d)}</td>
              <td className="p-2">
                <div className="flex gap-2">
                  <button type="button" className={buttonClass} aria-expanded={open === d.id} onClick={() => setOpen(open === d.id ? null : d.id)}>
                    Attempts
                  </button>
                  <button type="button" className={buttonClass} onClick={() => replay.mutate(d.id)} disabled={replay.isPending}>
                    Replay
                  </button>
                </div>
                {open === d.id && <AttemptLog id={d.id} attempts={d.attempts} status={d.status} />}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager previous={list.previous} next={list.next} />
    </div>
  );
}

// Fetched again whenever the list shows the delivery changed: its attempts are counted before
// the attempt is recorded, so the count alone can change before the log has the new attempt.
function AttemptLog({ id, attempts, status }: { id: string; attempts: number; status: string }) {
  const delivery = useQuery({
    queryKey: ["delivery", id, attempts, status],
    queryFn: () => api<Delivery>("GET", `webhook-deliveries/${id}`),
  });
  if (delivery.error) return <Alert>{describe(delivery.error)}</Alert>;
  return (
    <ol className="mt-2 list-decimal pl-6 text-xs" data-testid="attempt-log" aria-label="Attempts">
      {delivery.data?.attempt_log.map((a) => (
        <li key={a.attempt} data-testid="attempt">
          {formatDateTime(a.attempted_at)}: {a.status_code ? `HTTP ${a.status_code}` : (a.error ?? "no answer")} in {a.duration_ms} ms
          {a.response_body ? ` — ${a.response_body.slice(0, 80)}` : ""}
        </li>
      ))}
    </ol>
  );
}

function CreateDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (secret: string) => void }) {
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [types, setTypes] = useState<string[]>(["*"]);
  const queries = useQueryClient();
  const create = useMutation({
    mutationFn: () => api<Subscription & { secret: string }>("POST", "webhooks", { url, description, event_types: types }),
    onSuccess: (s) => {
      void queries.invalidateQueries({ queryKey: ["webhooks"] });
      onCreated(s.secret);
    },
  });
  const errors = fieldErrors(create.error);
  const all = types.includes("*");
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title="New subscription" description="The merchant's system receives the chosen events, signed (Standard Webhooks).">
      <form
        aria-label="New subscription"
        className="flex flex-col gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Field label="URL" errors={errorsUnder(errors, "/url")}>
          {(p) => <input {...p} className={inputClass} value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://…" />}
        </Field>
        <Field label="Description" errors={errorsUnder(errors, "/description")}>
          {(p) => <input {...p} className={inputClass} value={description} onChange={(e) => setDescription(e.target.value)} />}
        </Field>
        <fieldset className="flex flex-col gap-1 text-sm">
          <legend className="font-medium text-slate-700">Events</legend>
          <label className="flex items-center gap-2">
            <input type="checkbox" checked={all} onChange={(e) => setTypes(e.target.checked ? ["*"] : [])} />
            All events
          </label>
          {EVENT_TYPES.map((t) => (
            <label key={t} className="flex items-center gap-2">
              <input
                type="checkbox"
                disabled={all}
                checked={all || types.includes(t)}
                onChange={(e) => setTypes(e.target.checked ? [...types, t] : types.filter((x) => x !== t))}
              />
              {t}
            </label>
          ))}
          {errorsUnder(errors, "/event_types").length > 0 && (
            <span className="text-sm text-red-700" data-testid="field-error">
              {errorsUnder(errors, "/event_types").join("; ")}
            </span>
          )}
        </fieldset>
        {create.error && !errors.size ? <Alert>{describe(create.error)}</Alert> : null}
        <div className="flex justify-end gap-2">
          <button type="button" className={buttonClass} onClick={onClose}>
            Close
          </button>
          <button type="submit" className={primaryClass} disabled={create.isPending}>
            Create subscription
          </button>
        </div>
      </form>
    </Modal>
  );
}
