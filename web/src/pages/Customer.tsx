import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError, type Page } from "../lib/api";
import { formatCount, formatDateTime, formatMoney } from "../lib/format";
import { describe, errorsUnder, fieldErrors } from "../lib/problems";
import { canEdit, useUser } from "../lib/useSession";
import { usePaged } from "../lib/usePaged";
import { Alert, Field, Notice, buttonClass, inputClass, primaryClass } from "../components/ui";
import type { Customer } from "./Customers";
import type { Issuance } from "./Issuances";
import type { Reward } from "./Rewards";
import { Pager } from "./Pager";

interface StoredEvent {
  id: string;
  type: string;
  occurred_at: string;
  data: Record<string, unknown>;
  status: string;
  issuances?: Issuance[];
}

interface Movement {
  id: number;
  kind: string;
  points: number;
  reason: string;
  actor: string;
  reference: string | null;
  lot: { id: number; expires_at: string | null };
  created_at: string;
}

interface PointsHistory extends Page<Movement> {
  balance: number;
  spendable: number;
}

/** The event's data in one line: "store: harare, amount: 12.00". */
function summary(data: Record<string, unknown>): string {
  const parts = Object.entries(data ?? {}).map(
    ([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`,
  );
  return parts.length ? parts.join(", ") : "—";
}

const th = "p-2";

/** One entry of a customer's consent history (GET .../customers/:id/consents). */
interface ConsentChange {
  id: number;
  consent: "given" | "withdrawn";
  channel: string;
  actor_type: string;
  at: string;
}

/**
 * One customer: their profile, points (pending too), tier, segments and referral code, their
 * consent history, events, rewards and points history (each paged
 * with the API's cursors); admins and managers change their status and claim rewards with the
 * customer's points, admins adjust their points.
 */
export function CustomerPage() {
  const { id = "" } = useParams();
  const user = useUser();
  const queries = useQueryClient();
  const customer = useQuery({ queryKey: ["customer", id], queryFn: () => api<Customer>("GET", `customers/${id}`) });
  const events = usePaged<StoredEvent>(["customer-events", id], (cursor) => {
    const q = new URLSearchParams({ customer_id: id, limit: "10" });
    if (cursor) q.set("cursor", cursor);
    return `events?${q}`;
  });
  const rewards = usePaged<Issuance>(
    ["customer-issuances", id],
    (cursor) => {
      const q = new URLSearchParams({ customer_id: id, limit: "10" });
      if (cursor) q.set("cursor", cursor);
      return `issuances?${q}`;
    },
    // A reward the worker has still to issue: look again shortly.
    (page) => (page?.items.some((i) => i.state === "reserved") ? 1000 : false),
  );
  const consents = usePaged<ConsentChange>(["customer-consents", id], (cursor) => {
    const q = new URLSearchParams({ limit: "10" });
    if (cursor) q.set("cursor", cursor);
    return `customers/${id}/consents?${q}`;
  });
  const [pointsCursors, setPointsCursors] = useState<string[]>([""]);
  const pointsCursor = pointsCursors[pointsCursors.length - 1];
  const points = useQuery({
    queryKey: ["customer-points", id, pointsCursor],
    queryFn: () => {
      const q = new URLSearchParams({ limit: "10" });
      if (pointsCursor) q.set("cursor", pointsCursor);
      return api<PointsHistory>("GET", `customers/${id}/points?${q}`);
    },
  });
  const [done, setDone] = useState<string | null>(null);
  const status = useMutation({
    mutationFn: (to: string) => api<Customer>("PATCH", `customers/${id}/status`, { status: to }),
    onSuccess: (c) => {
      queries.setQueryData(["customer", id], c);
      void queries.invalidateQueries({ queryKey: ["customers"] });
      setDone(c.status === "suspended" ? "The customer is suspended." : "The customer is active again.");
    },
  });

  if (customer.error) {
    return (
      <section>
        <h1 className="mb-4 text-2xl font-semibold">Customer</h1>
        <Alert>
          {customer.error instanceof ApiError && customer.error.status === 404
            ? "There is no such customer."
            : describe(customer.error)}
        </Alert>
        <Link to="/customers" className="text-indigo-800 underline">
          Back to the customers
        </Link>
      </section>
    );
  }
  const c = customer.data;
  // After a claim or an adjustment: its message, and the figures it changed read again.
  const pointsChanged = (message: string) => {
    setDone(message);
    setPointsCursors([""]);
    for (const key of [["customer-points", id], ["customer", id], ["customer-issuances", id], ["customers"]]) {
      void queries.invalidateQueries({ queryKey: key });
    }
  };
  const name = c ? (c.phone ?? c.external_ref ?? "Customer") : "Customer";
  const isAdmin = user?.role === "admin";

  return (
    <section>
      <p className="mb-2 text-sm">
        <Link to="/customers" className="text-indigo-800 underline">
          Customers
        </Link>
      </p>
      <h1 className="mb-4 text-2xl font-semibold">Customer {c ? name : ""}</h1>
      {done && <Notice>{done}</Notice>}
      {status.error && <Alert>{describe(status.error)}</Alert>}
      {!c ? (
        <p>Loading…</p>
      ) : (
        <div className="mb-6 flex flex-wrap items-start gap-6">
          <dl className="grid grid-cols-[auto_1fr] gap-x-6 gap-y-1 rounded bg-white p-4 text-sm" data-testid="profile">
            <dt className="text-slate-600">Phone</dt>
            <dd>{c.phone ?? "—"}</dd>
            <dt className="text-slate-600">Reference</dt>
            <dd>{c.external_ref ?? "—"}</dd>
            <dt className="text-slate-600">Status</dt>
            <dd data-testid="customer-status">{c.status}</dd>
            <dt className="text-slate-600">Consent</dt>
            <dd>
              {c.consent.given
                ? `given ${formatDateTime(c.consent.at)}${c.consent.channel ? ` (${c.consent.channel})` : ""}`
                : "not given"}
            </dd>
            <dt className="text-slate-600">Enrolled</dt>
            <dd>{formatDateTime(c.enrolled_at)}</dd>
            <dt className="text-slate-600">Tier</dt>
            <dd data-testid="customer-tier">{c.tier ?? "—"}</dd>
            <dt className="text-slate-600">Points balance</dt>
            <dd data-testid="points-balance">{formatCount(points.data?.balance ?? c.points_balance)}</dd>
            <dt className="text-slate-600">Spendable now</dt>
            <dd data-testid="points-spendable">{formatCount(points.data?.spendable)}</dd>
            <dt className="text-slate-600">Pending</dt>
            <dd data-testid="points-pending">
              {formatCount(c.points_pending ?? 0)}
              {c.points_pending && c.points_pending_until
                ? ` (the first due ${formatDateTime(c.points_pending_until)})`
                : ""}
            </dd>
            <dt className="text-slate-600">Segments</dt>
            <dd data-testid="customer-segments">{c.segments?.length ? c.segments.join(", ") : "—"}</dd>
            <dt className="text-slate-600">Tags</dt>
            <dd>{c.tags?.length ? c.tags.join(", ") : "—"}</dd>
            <dt className="text-slate-600">Language</dt>
            <dd>{c.language ?? "the tenant's"}</dd>
            <dt className="text-slate-600">Referral code</dt>
            <dd className="font-mono" data-testid="referral-code">
              {c.referral_code ?? "—"}
            </dd>
          </dl>
          {canEdit(user) && (c.status === "active" || c.status === "suspended") && (
            <button
              type="button"
              className={buttonClass}
              disabled={status.isPending}
              onClick={() => status.mutate(c.status === "active" ? "suspended" : "active")}
            >
              {c.status === "active" ? "Suspend" : "Reactivate"}
            </button>
          )}
          {canEdit(user) && c.status === "active" && (
            <ClaimWithPoints
              id={id}
              spendable={points.data?.spendable}
              onStart={() => setDone(null)}
              onDone={pointsChanged}
            />
          )}
          {isAdmin && <AdjustPoints id={id} onStart={() => setDone(null)} onDone={pointsChanged} />}
        </div>
      )}

      <h2 className="mb-2 mt-6 text-lg font-semibold">Consent history</h2>
      {consents.error && <Alert>{describe(consents.error)}</Alert>}
      <table className="w-full border-collapse bg-white text-sm">
        <thead>
          <tr className="border-b border-slate-200 text-left text-slate-600">
            <th className={th}>When</th>
            <th className={th}>Consent</th>
            <th className={th}>Channel</th>
            <th className={th}>By</th>
          </tr>
        </thead>
        <tbody>
          {consents.data?.items.map((h) => (
            <tr key={h.id} className="border-b border-slate-100" data-testid="consent-row">
              <td className="p-2">{formatDateTime(h.at)}</td>
              <td className="p-2">{h.consent}</td>
              <td className="p-2">{h.channel}</td>
              <td className="p-2">{h.actor_type}</td>
            </tr>
          ))}
          {consents.data?.items.length === 0 && (
            <tr>
              <td colSpan={4} className="p-4 text-slate-600">
                No consent recorded.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <Pager previous={consents.previous} next={consents.next} />

      <h2 className="mb-2 mt-6 text-lg font-semibold">Events</h2>
      {events.error && <Alert>{describe(events.error)}</Alert>}
      <table className="w-full border-collapse bg-white text-sm">
        <thead>
          <tr className="border-b border-slate-200 text-left text-slate-600">
            <th className={th}>When</th>
            <th className={th}>Type</th>
            <th className={th}>Data</th>
            <th className={th}>Status</th>
            <th className={th}>Rewards</th>
          </tr>
        </thead>
        <tbody>
          {events.data?.items.map((e) => (
            <tr key={e.id} className="border-b border-slate-100" data-testid="event-row">
              <td className="p-2">{formatDateTime(e.occurred_at)}</td>
              <td className="p-2">{e.type}</td>
              <td className="p-2">{summary(e.data)}</td>
              <td className="p-2">{e.status}</td>
              <td className="p-2">{e.issuances?.map((i) => i.reward.name).join(", ") || "—"}</td>
            </tr>
          ))}
          {events.data?.items.length === 0 && (
            <tr>
              <td colSpan={5} className="p-4 text-slate-600">
                No events yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <Pager previous={events.previous} next={events.next} />

      <h2 className="mb-2 mt-6 text-lg font-semibold">Rewards</h2>
      {rewards.error && <Alert>{describe(rewards.error)}</Alert>}
      <table className="w-full border-collapse bg-white text-sm">
        <thead>
          <tr className="border-b border-slate-200 text-left text-slate-600">
            <th className={th}>Reward</th>
            <th className={th}>State</th>
            <th className={th}>Code</th>
            <th className={th}>Cost</th>
            <th className={th}>Issued</th>
            <th className={th}>Expires</th>
          </tr>
        </thead>
        <tbody>
          {rewards.data?.items.map((i) => (
            <tr key={i.id} className="border-b border-slate-100" data-testid="reward-issuance-row">
              <td className="p-2">
                {i.reward.name}
                {i.points !== null ? ` (${formatCount(i.points)} points)` : ""}
              </td>
              <td className="p-2" data-testid="issuance-state">
                {i.state}
              </td>
              <td className="p-2 font-mono">{i.code ?? "—"}</td>
              <td className="p-2">{formatMoney(i.cost)}</td>
              <td className="p-2">{formatDateTime(i.issued_at)}</td>
              <td className="p-2">{formatDateTime(i.expires_at)}</td>
            </tr>
          ))}
          {rewards.data?.items.length === 0 && (
            <tr>
              <td colSpan={6} className="p-4 text-slate-600">
                No rewards yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <Pager previous={rewards.previous} next={rewards.next} />

      <h2 className="mb-2 mt-6 text-lg font-semibold">Points history</h2>
      {points.error && <Alert>{describe(points.error)}</Alert>}
      <table className="w-full border-collapse bg-white text-sm">
        <thead>
          <tr className="border-b border-slate-200 text-left text-slate-600">
            <th className={th}>When</th>
            <th className={th}>Movement</th>
            <th className={`${th} text-right`}>Points</th>
            <th className={th}>Reason</th>
            <th className={th}>By</th>
            <th className={th}>Lot expires</th>
          </tr>
        </thead>
        <tbody>
          {points.data?.items.map((m) => (
            <tr key={m.id} className="border-b border-slate-100" data-testid="movement-row">
              <td className="p-2">{formatDateTime(m.created_at)}</td>
              <td className="p-2" data-testid="movement-kind">
                {m.kind}
              </td>
              <td className="p-2 text-right" data-testid="movement-points">
                {m.points > 0 ? "+" : ""}
                {formatCount(m.points)}
              </td>
              <td className="p-2">{m.reason}</td>
              <td className="p-2">{m.actor}</td>
              <td className="p-2">{m.lot.expires_at ? formatDateTime(m.lot.expires_at) : "never"}</td>
            </tr>
          ))}
          {points.data?.items.length === 0 && (
            <tr>
              <td colSpan={6} className="p-4 text-slate-600">
                No points movements yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <Pager
        previous={pointsCursors.length > 1 ? () => setPointsCursors(pointsCursors.slice(0, -1)) : undefined}
        next={
          points.data?.next_cursor ? () => setPointsCursors([...pointsCursors, points.data!.next_cursor!]) : undefined
        }
      />
    </section>
  );
}

/** Admins: add points (a lot that never expires) or take them back, with a reason. */
function AdjustPoints({
  id,
  onStart,
  onDone,
}: {
  id: string;
  onStart: () => void;
  onDone: (message: string) => void;
}) {
  const [amount, setAmount] = useState("");
  const [reason, setReason] = useState("");
  const adjust = useMutation({
    mutationFn: () => {
      const trimmed = amount.trim().replace(/^\+/, "");
      // A whole number goes as one; anything else as typed, for the API to say what is wrong.
      const points = /^-?\d+$/.test(trimmed) ? Number(trimmed) : amount;
      return api<{ points: number; balance: number }>("POST", `customers/${id}/points/adjustments`, {
        points,
        reason,
      });
    },
    onSuccess: (r) => {
      setAmount("");
      setReason("");
      onDone(
        `Adjusted ${r.points > 0 ? "+" : ""}${formatCount(r.points)} points; the balance is now ${formatCount(r.balance)}.`,
      );
    },
  });
  const errors = fieldErrors(adjust.error);
  const short = adjust.error instanceof ApiError && adjust.error.type === "insufficient-points";
  function submit(e: FormEvent) {
    e.preventDefault();
    onStart(); // the notice of an earlier change is not this one's
    adjust.mutate();
  }
  return (
    <form aria-label="Adjust points" onSubmit={submit} className="flex w-80 flex-col gap-3 rounded bg-white p-4">
      <h2 className="text-lg font-semibold">Adjust points</h2>
      <Field
        label="Points"
        errors={[...errorsUnder(errors, "/points"), ...(short ? [`Not enough points: ${adjust.error!.message}`] : [])]}
        hint="positive to add, negative to take back"
      >
        {(p) => (
          <input {...p} className={inputClass} inputMode="numeric" value={amount} onChange={(e) => setAmount(e.target.value)} />
        )}
      </Field>
      <Field label="Reason" errors={errorsUnder(errors, "/reason")}>
        {(p) => <input {...p} className={inputClass} value={reason} onChange={(e) => setReason(e.target.value)} />}
      </Field>
      {adjust.error && !errors.size && !short ? <Alert>{describe(adjust.error)}</Alert> : null}
      <button type="submit" className={primaryClass} disabled={adjust.isPending}>
        Adjust points
      </button>
    </form>
  );
}

/** A fresh idempotency key: a retry of one claim (a lost answer) is answered, not made twice. */
function newClaimKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

interface ClaimAnswer {
  issuance: Issuance & { code?: string | null; pin_required?: boolean };
  points_spent: number;
  balance: number;
}

/** Admins and managers: spend the customer's points on a reward that has a points price. */
function ClaimWithPoints({
  id,
  spendable,
  onStart,
  onDone,
}: {
  id: string;
  spendable: number | undefined;
  onStart: () => void;
  onDone: (message: string) => void;
}) {
  const rewards = useQuery({
    queryKey: ["rewards", "claimable"],
    queryFn: () => api<Page<Reward>>("GET", "reward-catalog?active=true&limit=100"),
  });
  const claimable = (rewards.data?.items ?? []).filter((r) => r.points_price);
  const [reward, setReward] = useState("");
  // One key per claim the user means to make: kept across a retry, new after a success.
  const [key, setKey] = useState(newClaimKey);
  const claim = useMutation({
    mutationFn: () => api<ClaimAnswer>("POST", `customers/${id}/claims`, { reward, idempotency_key: key }),
    onSuccess: (r) => {
      setKey(newClaimKey());
      const name = r.issuance.reward.name;
      const given = r.issuance.code
        ? ` Code: ${r.issuance.code}.`
        : r.issuance.pin_required
          ? " A one-time PIN was sent to the customer."
          : "";
      onDone(
        `Claimed ${name} for ${formatCount(r.points_spent)} points; the balance is now ${formatCount(r.balance)}.${given}`,
      );
    },
  });
  const errors = fieldErrors(claim.error);
  const short = claim.error instanceof ApiError && claim.error.type === "insufficient-points";
  function submit(e: FormEvent) {
    e.preventDefault();
    onStart(); // the notice of an earlier claim is not this one's
    claim.mutate();
  }
  if (rewards.isSuccess && claimable.length === 0) return null;
  return (
    <form aria-label="Claim with points" onSubmit={submit} className="flex w-80 flex-col gap-3 rounded bg-white p-4">
      <h2 className="text-lg font-semibold">Claim with points</h2>
      <Field
        label="Reward"
        errors={[...errorsUnder(errors, "/reward"), ...(short ? [`Not enough points: ${claim.error!.message}`] : [])]}
        hint={spendable !== undefined ? `${formatCount(spendable)} points spendable` : undefined}
      >
        {(p) => (
          <select
            {...p}
            className={inputClass}
            value={reward}
            onChange={(e) => {
              setReward(e.target.value);
              setKey(newClaimKey());
              claim.reset();
            }}
          >
            <option value="">choose a reward</option>
            {claimable.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name} ({formatCount(r.points_price!)} points)
              </option>
            ))}
          </select>
        )}
      </Field>
      {claim.error && !errors.size && !short ? <Alert>{describe(claim.error)}</Alert> : null}
      <button type="submit" className={primaryClass} disabled={claim.isPending || !reward}>
        Claim
      </button>
    </form>
  );
}
