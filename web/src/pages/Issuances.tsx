import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../lib/api";
import { formatDateTime, formatMoney, type Money } from "../lib/format";
import { describe, errorsUnder, fieldErrors } from "../lib/problems";
import { canEdit, useUser } from "../lib/useSession";
import { usePaged } from "../lib/usePaged";
import { Alert, Field, Modal, Notice, buttonClass, inputClass, primaryClass } from "../components/ui";
import { Pager } from "./Pager";

export interface Issuance {
  id: string;
  customer_id: string;
  event_id: string | null;
  rule_id: string | null;
  reward: { id: string; name: string; type: string };
  state: "reserved" | "issued" | "redeemed" | "cancelled" | "expired";
  cost: Money;
  code: string | null;
  points: number | null;
  expires_at: string | null;
  issued_at: string | null;
  redeemed_at: string | null;
  created_at: string;
}

const STATES = ["", "reserved", "issued", "redeemed", "cancelled", "expired"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The rewards rules gave: filter them, redeem one (with its code or PIN), cancel one. */
export function IssuancesPage() {
  const user = useUser();
  const editable = canEdit(user);
  const [state, setState] = useState("");
  const [customer, setCustomer] = useState("");
  const list = usePaged<Issuance>(["issuances", state, customer], (cursor) => {
    const q = new URLSearchParams({ limit: "20" });
    if (state) q.set("state", state);
    if (UUID.test(customer.trim())) q.set("customer_id", customer.trim());
    if (cursor) q.set("cursor", cursor);
    return `issuances?${q}`;
  });
  const [redeeming, setRedeeming] = useState<Issuance | null>(null);
  const [cancelling, setCancelling] = useState<Issuance | null>(null);
  const [done, setDone] = useState<string | null>(null);

  return (
    <section>
      <h1 className="mb-4 text-2xl font-semibold">Issuances</h1>
      {editable && <RedeemByCode onDone={setDone} />}
      {done && <Notice>{done}</Notice>}
      <div className="mb-3 flex gap-4 text-sm">
        <label className="flex items-center gap-2">
          State
          <select
            className={inputClass}
            value={state}
            onChange={(e) => {
              setState(e.target.value);
              list.reset();
            }}
          >
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s || "any"}
              </option>
            ))}
          </select>
        </label>
        <label className="flex items-center gap-2">
          Customer id
          <input
            className={`${inputClass} w-80`}
            value={customer}
            placeholder="any"
            onChange={(e) => {
              setCustomer(e.target.value);
              list.reset();
            }}
          />
        </label>
      </div>
      {list.error && <Alert>{describe(list.error)}</Alert>}
      <table className="w-full border-collapse bg-white text-sm">
        <thead>
          <tr className="border-b border-slate-200 text-left text-slate-600">
            <th className="p-2">Created</th>
            <th className="p-2">Reward</th>
            <th className="p-2">State</th>
            <th className="p-2">Code</th>
            <th className="p-2 text-right">Cost</th>
            <th className="p-2">Expires</th>
            {editable && <th className="p-2">Change</th>}
          </tr>
        </thead>
        <tbody>
          {list.data?.items.map((i) => (
            <tr key={i.id} className="border-b border-slate-100" data-testid="issuance-row">
              <td className="p-2">{formatDateTime(i.created_at)}</td>
              <td className="p-2">{i.reward.name}</td>
              <td className="p-2" data-testid="state">
                {i.state}
              </td>
              <td className="p-2 font-mono">{i.code ?? (i.points !== null ? `${i.points} points` : "—")}</td>
              <td className="p-2 text-right">{formatMoney(i.cost)}</td>
              <td className="p-2">{formatDateTime(i.expires_at)}</td>
              {editable && (
                <td className="flex gap-2 p-2">
                  {i.state === "issued" && (
                    <button type="button" className={buttonClass} onClick={() => setRedeeming(i)}>
                      Redeem
                    </button>
                  )}
                  {(i.state === "issued" || i.state === "reserved") && (
                    <button type="button" className={buttonClass} onClick={() => setCancelling(i)}>
                      Cancel
                    </button>
                  )}
                </td>
              )}
            </tr>
          ))}
          {list.data?.items.length === 0 && (
            <tr>
              <td colSpan={7} className="p-4 text-slate-600">
                No issuances.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <Pager previous={list.previous} next={list.next} />
      {redeeming && <RedeemDialog issuance={redeeming} onClose={() => setRedeeming(null)} onDone={setDone} />}
      {cancelling && <CancelDialog issuance={cancelling} onClose={() => setCancelling(null)} onDone={setDone} />}
    </section>
  );
}

/** What a till does: the code the customer shows (and the PIN if the reward needs one). */
function RedeemByCode({ onDone }: { onDone: (m: string) => void }) {
  const [code, setCode] = useState("");
  const [pin, setPin] = useState("");
  const queries = useQueryClient();
  const redeem = useMutation({
    mutationFn: () => api<Issuance>("POST", "redemptions", { code: code.trim(), ...(pin.trim() ? { pin: pin.trim() } : {}) }),
    onSuccess: (i) => {
      onDone(`Redeemed ${i.reward.name} (${i.code}).`);
      setCode("");
      setPin("");
      void queries.invalidateQueries({ queryKey: ["issuances"] });
    },
  });
  const errors = fieldErrors(redeem.error);
  return (
    <form
      aria-label="Redeem a code"
      className="mb-6 flex items-end gap-3 rounded border border-slate-200 bg-white p-4"
      onSubmit={(e) => {
        e.preventDefault();
        redeem.mutate();
      }}
    >
      <Field label="Voucher code" errors={errorsUnder(errors, "/code")}>
        {(p) => <input {...p} className={`${inputClass} font-mono`} value={code} onChange={(e) => setCode(e.target.value)} />}
      </Field>
      <Field label="PIN (if the reward needs one)" errors={errorsUnder(errors, "/pin")}>
        {(p) => <input {...p} className={`${inputClass} w-28`} inputMode="numeric" autoComplete="off" value={pin} onChange={(e) => setPin(e.target.value)} />}
      </Field>
      <button type="submit" className={primaryClass} disabled={redeem.isPending || !code.trim()}>
        Redeem code
      </button>
      {redeem.error && !errors.size ? <Alert>{describe(redeem.error)}</Alert> : null}
    </form>
  );
}

function RedeemDialog({ issuance, onClose, onDone }: { issuance: Issuance; onClose: () => void; onDone: (m: string) => void }) {
  const [code, setCode] = useState("");
  const [pin, setPin] = useState("");
  const queries = useQueryClient();
  const redeem = useMutation({
    mutationFn: () =>
      api<Issuance>("POST", `issuances/${issuance.id}/redeem`, {
        ...(code.trim() ? { code: code.trim() } : {}),
        ...(pin.trim() ? { pin: pin.trim() } : {}),
      }),
    onSuccess: (i) => {
      void queries.invalidateQueries({ queryKey: ["issuances"] });
      onDone(`Redeemed ${i.reward.name}.`);
      onClose();
    },
  });
  const errors = fieldErrors(redeem.error);
  return (
    <Modal
      open
      onOpenChange={(o) => !o && onClose()}
      title={`Redeem ${issuance.reward.name}`}
      description="The code the customer shows, or the one-time PIN they were sent when the reward needs one."
    >
      <form
        aria-label="Redeem"
        className="flex flex-col gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          redeem.mutate();
        }}
      >
        <Field label="Code" errors={errorsUnder(errors, "/code")}>
          {(p) => <input {...p} className={`${inputClass} font-mono`} value={code} onChange={(e) => setCode(e.target.value)} />}
        </Field>
        <Field label="PIN" errors={errorsUnder(errors, "/pin")}>
          {(p) => <input {...p} className={inputClass} inputMode="numeric" autoComplete="off" value={pin} onChange={(e) => setPin(e.target.value)} />}
        </Field>
        {redeem.error && !errors.size ? <Alert>{describe(redeem.error)}</Alert> : null}
        <div className="flex justify-end gap-2">
          <button type="button" className={buttonClass} onClick={onClose}>
            Close
          </button>
          <button type="submit" className={primaryClass} disabled={redeem.isPending}>
            Redeem
          </button>
        </div>
      </form>
    </Modal>
  );
}

function CancelDialog({ issuance, onClose, onDone }: { issuance: Issuance; onClose: () => void; onDone: (m: string) => void }) {
  const [reason, setReason] = useState("");
  const queries = useQueryClient();
  const cancel = useMutation({
    mutationFn: () => api<Issuance>("POST", `issuances/${issuance.id}/cancel`, { reason }),
    onSuccess: (i) => {
      void queries.invalidateQueries({ queryKey: ["issuances"] });
      onDone(`Cancelled ${i.reward.name}; its budget is released.`);
      onClose();
    },
  });
  const errors = fieldErrors(cancel.error);
  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={`Cancel ${issuance.reward.name}`} description="Its budget is released and its code or stock returned.">
      <form
        aria-label="Cancel issuance"
        className="flex flex-col gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          cancel.mutate();
        }}
      >
        <Field label="Reason" errors={errorsUnder(errors, "/reason")}>
          {(p) => <input {...p} className={inputClass} value={reason} onChange={(e) => setReason(e.target.value)} />}
        </Field>
        {cancel.error && !errors.size ? <Alert>{describe(cancel.error)}</Alert> : null}
        <div className="flex justify-end gap-2">
          <button type="button" className={buttonClass} onClick={onClose}>
            Keep it
          </button>
          <button type="submit" className={primaryClass} disabled={cancel.isPending}>
            Cancel the reward
          </button>
        </div>
      </form>
    </Modal>
  );
}
