import { useState } from "react";
import { formatDateTime } from "../lib/format";
import { usePaged } from "../lib/usePaged";
import { Pager } from "./Pager";

interface Notification {
  id: string;
  customer_id: string | null;
  kind: string;
  status: string;
  attempts: number;
  sent_as: string | null;
  error_code: number | null;
  last_error: string | null;
  created_at: string;
}

const STATUSES = ["", "queued", "sent", "delivered", "read", "failed", "cancelled"];

/** What became of the customers' WhatsApp notices and replies, the failures with their reason. */
export function NotificationsPage() {
  const [status, setStatus] = useState("");
  const list = usePaged<Notification>(["notifications", status], (cursor) => {
    const q = new URLSearchParams({ limit: "20" });
    if (status) q.set("status", status);
    if (cursor) q.set("cursor", cursor);
    return `notifications?${q}`;
  });
  return (
    <section>
      <h1 className="mb-4 text-2xl font-semibold">Notifications</h1>
      <label className="mb-4 flex items-center gap-2 text-sm">
        Status
        <select
          value={status}
          onChange={(e) => {
            setStatus(e.target.value);
            list.reset();
          }}
          className="rounded border border-slate-300 px-2 py-1"
        >
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s || "any"}
            </option>
          ))}
        </select>
      </label>
      {list.error && (
        <p role="alert" className="text-red-700">
          {(list.error as Error).message}
        </p>
      )}
      <table className="w-full border-collapse bg-white text-sm">
        <thead>
          <tr className="border-b border-slate-200 text-left text-slate-600">
            <th className="p-2">Created</th>
            <th className="p-2">Kind</th>
            <th className="p-2">Status</th>
            <th className="p-2">Attempts</th>
            <th className="p-2">Sent as</th>
            <th className="p-2">Error</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.items.map((n) => (
            <tr key={n.id} className="border-b border-slate-100" data-testid="notification-row">
              <td className="p-2">{formatDateTime(n.created_at)}</td>
              <td className="p-2">{n.kind}</td>
              <td className="p-2">{n.status}</td>
              <td className="p-2">{n.attempts}</td>
              <td className="p-2">{n.sent_as ?? "—"}</td>
              <td className="p-2">
                {n.error_code ? `${n.error_code}: ` : ""}
                {n.last_error ?? ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager previous={list.previous} next={list.next} />
    </section>
  );
}
