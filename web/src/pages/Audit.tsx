import { formatDateTime } from "../lib/format";
import { describe } from "../lib/problems";
import { usePaged } from "../lib/usePaged";
import { Alert } from "../components/ui";
import { Pager } from "./Pager";

interface AuditEntry {
  id: number;
  actor_type: string;
  actor_id: string | null;
  action: string;
  entity_type: string;
  entity_id: string | null;
  before: unknown;
  after: unknown;
  created_at: string;
}

function changes(value: unknown): string {
  if (value === null || value === undefined) return "—";
  return JSON.stringify(value);
}

/** Who changed what in the tenant, newest first (admins). */
export function AuditPage() {
  const list = usePaged<AuditEntry>(["audit"], (c) => `audit?limit=25${c ? `&cursor=${c}` : ""}`);
  return (
    <section>
      <h1 className="mb-4 text-2xl font-semibold">Audit log</h1>
      {list.error && <Alert>{describe(list.error)}</Alert>}
      <table className="w-full table-fixed border-collapse bg-white text-sm">
        <thead>
          <tr className="border-b border-slate-200 text-left text-slate-700">
            <th className="w-40 p-2">When</th>
            <th className="w-48 p-2">Who</th>
            <th className="w-40 p-2">Action</th>
            <th className="p-2">Before</th>
            <th className="p-2">After</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.items.map((a) => (
            <tr key={a.id} className="border-b border-slate-100 align-top" data-testid="audit-row">
              <td className="p-2">{formatDateTime(a.created_at)}</td>
              <td className="p-2 break-all">
                {a.actor_type}
                {a.actor_id ? ` ${a.actor_id}` : ""}
              </td>
              <td className="p-2">
                <span data-testid="audit-action">{a.action}</span>
                <span className="block text-xs text-slate-600">
                  {a.entity_type} {a.entity_id ?? ""}
                </span>
              </td>
              <td className="p-2 font-mono text-xs break-all">{changes(a.before)}</td>
              <td className="p-2 font-mono text-xs break-all">{changes(a.after)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager previous={list.previous} next={list.next} />
    </section>
  );
}
