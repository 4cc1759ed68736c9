import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, ApiError } from "../lib/api";
import { formatCount, formatDateTime } from "../lib/format";
import { canEdit, useUser } from "../lib/useSession";
import { usePaged } from "../lib/usePaged";
import { Pager } from "./Pager";

export interface Customer {
  id: string;
  phone: string | null;
  external_ref: string | null;
  status: "active" | "suspended" | "opted_out" | "erased";
  consent: { given: boolean; at: string | null; channel: string | null };
  points_balance: number;
  points_pending?: number;
  points_pending_until?: string | null;
  tier: string | null;
  tags?: string[];
  segments?: string[];
  language?: string | null;
  referral_code?: string;
  enrolled_at: string;
}

export function CustomersPage() {
  const user = useUser();
  const [typed, setTyped] = useState("");
  const [search, setSearch] = useState("");
  const filter = search.startsWith("+") || /^[0-9 ]+$/.test(search) ? "phone" : "external_ref";
  const list = usePaged<Customer>(["customers", search], (cursor) => {
    const q = new URLSearchParams({ limit: "20" });
    if (search) q.set(filter, search);
    if (cursor) q.set("cursor", cursor);
    return `customers?${q}`;
  });
  const queries = useQueryClient();
  const status = useMutation({
    mutationFn: ({ id, to }: { id: string; to: string }) =>
      api<Customer>("PATCH", `customers/${id}/status`, { status: to }),
    onSuccess: () => queries.invalidateQueries({ queryKey: ["customers"] }),
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    setSearch(typed.trim());
    list.reset();
  }

  return (
    <section>
      <h1 className="mb-4 text-2xl font-semibold">Customers</h1>
      <form onSubmit={submit} role="search" className="mb-4 flex gap-2">
        <input
          aria-label="Phone or reference"
          placeholder="Phone (+263…) or reference"
          value={typed}
          onChange={(e) => setTyped(e.target.value)}
          className="w-80 rounded border border-slate-300 px-3 py-2"
        />
        <button type="submit" className="rounded bg-slate-900 px-4 py-2 text-white">
          Search
        </button>
      </form>
      {list.error && (
        <p role="alert" className="text-red-700">
          {(list.error as Error).message}
        </p>
      )}
      {status.error && (
        <p role="alert" className="text-red-700">
          {status.error instanceof ApiError ? status.error.message : "The change failed."}
        </p>
      )}
      {list.isPending ? (
        <p>Loading…</p>
      ) : (
        <table className="w-full border-collapse bg-white text-sm">
          <thead>
            <tr className="border-b border-slate-200 text-left text-slate-600">
              <th className="p-2">Phone</th>
              <th className="p-2">Reference</th>
              <th className="p-2">Status</th>
              <th className="p-2">Consent</th>
              <th className="p-2 text-right">Points</th>
              <th className="p-2">Enrolled</th>
              {canEdit(user) && <th className="p-2">Change</th>}
            </tr>
          </thead>
          <tbody>
            {list.data?.items.map((c) => (
              <tr key={c.id} className="border-b border-slate-100" data-testid="customer-row">
                <td className="p-2">
                  <Link to={`/customers/${c.id}`} className="text-indigo-800 underline">
                    {c.phone ?? "(no phone)"}
                  </Link>
                </td>
                <td className="p-2">{c.external_ref ?? "—"}</td>
                <td className="p-2" data-testid="status">
                  {c.status}
                </td>
                <td className="p-2">{c.consent.given ? `yes (${c.consent.channel ?? "—"})` : "no"}</td>
                <td className="p-2 text-right">{formatCount(c.points_balance)}</td>
                <td className="p-2">{formatDateTime(c.enrolled_at)}</td>
                {canEdit(user) && (
                  <td className="p-2">
                    {(c.status === "active" || c.status === "suspended") && (
                      <button
                        type="button"
                        className="rounded border border-slate-300 px-2 py-1"
                        disabled={status.isPending}
                        onClick={() =>
                          status.mutate({
                            id: c.id,
                            to: c.status === "active" ? "suspended" : "active",
                          })
                        }
                      >
                        {c.status === "active" ? "Suspend" : "Reactivate"}
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
            {list.data?.items.length === 0 && (
              <tr>
                <td colSpan={7} className="p-4 text-slate-500">
                  No customers found.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
      <Pager previous={list.previous} next={list.next} />
    </section>
  );
}
