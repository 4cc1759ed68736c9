import { useState } from "react";
import { Link } from "react-router";
import { formatDateTime } from "../lib/format";
import { canEdit, useUser } from "../lib/useSession";
import { usePaged } from "../lib/usePaged";
import { Alert, inputClass, primaryClass } from "../components/ui";
import { describe } from "../lib/problems";
import { Pager } from "./Pager";

export interface Rule {
  id: string;
  name: string;
  description: string;
  event_type: string;
  conditions: unknown;
  reward: string;
  budget?: string;
  campaign?: string;
  caps: {
    per_customer?: { max: number; period: string };
    global?: { max: number; period: string };
    cooldown?: number;
  };
  priority: number;
  active: boolean;
  valid_from?: string;
  valid_until?: string;
  stop_processing: boolean;
  reward_id: string;
  budget_id: string | null;
  campaign_id: string | null;
  updated_at: string;
}

export interface Campaign {
  id: string;
  name: string;
  status: string;
  starts_at: string | null;
  ends_at: string | null;
}

/** Campaigns and rules: the tenant's campaigns and its rules, each rule opening the builder. */
export function RulesPage() {
  const user = useUser();
  const [eventType, setEventType] = useState("");
  const [active, setActive] = useState("");
  const rules = usePaged<Rule>(["rules", eventType, active], (cursor) => {
    const q = new URLSearchParams({ limit: "20" });
    if (eventType) q.set("event_type", eventType);
    if (active) q.set("active", active);
    if (cursor) q.set("cursor", cursor);
    return `rules?${q}`;
  });
  const campaigns = usePaged<Campaign>(["campaigns"], (cursor) => {
    const q = new URLSearchParams({ limit: "10" });
    if (cursor) q.set("cursor", cursor);
    return `campaigns?${q}`;
  });

  return (
    <section>
      <div className="mb-4 flex items-center">
        <h1 className="text-2xl font-semibold">Campaigns and rules</h1>
        {canEdit(user) && (
          <Link to="/rules/new" className={`${primaryClass} ml-auto`}>
            New rule
          </Link>
        )}
      </div>

      <h2 className="mb-2 text-lg font-semibold">Rules</h2>
      <div className="mb-3 flex gap-4 text-sm">
        <label className="flex items-center gap-2">
          Event type
          <input
            className={inputClass}
            value={eventType}
            placeholder="any"
            onChange={(e) => {
              setEventType(e.target.value.trim());
              rules.reset();
            }}
          />
        </label>
        <label className="flex items-center gap-2">
          Active
          <select
            className={inputClass}
            value={active}
            onChange={(e) => {
              setActive(e.target.value);
              rules.reset();
            }}
          >
            <option value="">any</option>
            <option value="true">active</option>
            <option value="false">inactive</option>
          </select>
        </label>
      </div>
      {rules.error && <Alert>{describe(rules.error)}</Alert>}
      <table className="w-full border-collapse bg-white text-sm">
        <thead>
          <tr className="border-b border-slate-200 text-left text-slate-600">
            <th className="p-2">Name</th>
            <th className="p-2">Event</th>
            <th className="p-2">Reward</th>
            <th className="p-2">Campaign</th>
            <th className="p-2 text-right">Priority</th>
            <th className="p-2">Active</th>
            <th className="p-2">Changed</th>
          </tr>
        </thead>
        <tbody>
          {rules.data?.items.map((r) => (
            <tr key={r.id} className="border-b border-slate-100" data-testid="rule-row">
              <td className="p-2">
                <Link to={`/rules/${r.id}`} className="text-indigo-800 underline">
                  {r.name}
                </Link>
              </td>
              <td className="p-2">{r.event_type}</td>
              <td className="p-2">{r.reward}</td>
              <td className="p-2">{r.campaign ?? "—"}</td>
              <td className="p-2 text-right">{r.priority}</td>
              <td className="p-2">{r.active ? "yes" : "no"}</td>
              <td className="p-2">{formatDateTime(r.updated_at)}</td>
            </tr>
          ))}
          {rules.data?.items.length === 0 && (
            <tr>
              <td colSpan={7} className="p-4 text-slate-600">
                No rules yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <Pager previous={rules.previous} next={rules.next} />

      <h2 className="mb-2 mt-8 text-lg font-semibold">Campaigns</h2>
      {campaigns.error && <Alert>{describe(campaigns.error)}</Alert>}
      <table className="w-full border-collapse bg-white text-sm">
        <thead>
          <tr className="border-b border-slate-200 text-left text-slate-600">
            <th className="p-2">Name</th>
            <th className="p-2">Status</th>
            <th className="p-2">Starts</th>
            <th className="p-2">Ends</th>
          </tr>
        </thead>
        <tbody>
          {campaigns.data?.items.map((c) => (
            <tr key={c.id} className="border-b border-slate-100" data-testid="campaign-row">
              <td className="p-2">{c.name}</td>
              <td className="p-2">{c.status}</td>
              <td className="p-2">{formatDateTime(c.starts_at)}</td>
              <td className="p-2">{formatDateTime(c.ends_at)}</td>
            </tr>
          ))}
          {campaigns.data?.items.length === 0 && (
            <tr>
              <td colSpan={4} className="p-4 text-slate-600">
                No campaigns.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <Pager previous={campaigns.previous} next={campaigns.next} />
    </section>
  );
}
