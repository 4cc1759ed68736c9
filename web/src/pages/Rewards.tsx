import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type Page } from "../lib/api";
import { formatCount, formatMoney } from "../lib/format";
import { describe, errorsUnder, fieldErrors } from "../lib/problems";
import { canEdit, useUser } from "../lib/useSession";
import { usePaged } from "../lib/usePaged";
import { uploadCodes, type UploadReport } from "../lib/upload";
import { Alert, Field, Modal, Notice, buttonClass, inputClass, primaryClass } from "../components/ui";
import { Pager } from "./Pager";

export interface Reward {
  id: string;
  name: string;
  description: string;
  type: "discount" | "voucher" | "points" | "physical";
  config: Record<string, unknown>;
  cost: string;
  currency: string;
  requires_pin: boolean;
  validity_days: number | null;
  budget_id: string | null;
  active: boolean;
  /** What customers pay in points to claim it; absent: not claimable with points. */
  points_price?: number | null;
  pool?: { available: number; assigned: number; redeemed: number };
}

const TYPES = ["discount", "voucher", "points", "physical"] as const;

/** The reward catalogue: create and edit rewards, load voucher codes, see the pools' levels. */
export function RewardsPage() {
  const user = useUser();
  const editable = canEdit(user);
  const [type, setType] = useState("");
  const list = usePaged<Reward>(["rewards", type], (cursor) => {
    const q = new URLSearchParams({ limit: "20" });
    if (type) q.set("type", type);
    if (cursor) q.set("cursor", cursor);
    return `reward-catalog?${q}`;
  });
  const [editing, setEditing] = useState<Reward | "new" | null>(null);
  const [uploading, setUploading] = useState<Reward | null>(null);

  return (
    <section>
      <div className="mb-4 flex items-center">
        <h1 className="text-2xl font-semibold">Rewards</h1>
        {editable && (
          <button type="button" className={`${primaryClass} ml-auto`} onClick={() => setEditing("new")}>
            New reward
          </button>
        )}
      </div>
      <label className="mb-3 flex items-center gap-2 text-sm">
        Type
        <select
          className={inputClass}
          value={type}
          onChange={(e) => {
            setType(e.target.value);
            list.reset();
          }}
        >
          <option value="">any</option>
          {TYPES.map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
      </label>
      {list.error && <Alert>{describe(list.error)}</Alert>}
      <table className="w-full border-collapse bg-white text-sm">
        <thead>
          <tr className="border-b border-slate-200 text-left text-slate-600">
            <th className="p-2">Name</th>
            <th className="p-2">Type</th>
            <th className="p-2 text-right">Cost</th>
            <th className="p-2 text-right">Points price</th>
            <th className="p-2">Active</th>
            <th className="p-2">Codes (available / assigned / redeemed)</th>
            {editable && <th className="p-2">Change</th>}
          </tr>
        </thead>
        <tbody>
          {list.data?.items.map((r) => (
            <tr key={r.id} className="border-b border-slate-100" data-testid="reward-row">
              <td className="p-2">{r.name}</td>
              <td className="p-2">{r.type}</td>
              <td className="p-2 text-right">{formatMoney({ amount: r.cost, currency: r.currency })}</td>
              <td className="p-2 text-right" data-testid="points-price">
                {r.points_price ? formatCount(r.points_price) : "—"}
              </td>
              <td className="p-2">{r.active ? "yes" : "no"}</td>
              <td className="p-2" data-testid="pool">
                {r.pool
                  ? `${formatCount(r.pool.available)} / ${formatCount(r.pool.assigned)} / ${formatCount(r.pool.redeemed)}`
                  : "—"}
              </td>
              {editable && (
                <td className="flex gap-2 p-2">
                  <button type="button" className={buttonClass} onClick={() => setEditing(r)}>
                    Edit
                  </button>
                  {r.type === "voucher" && r.config.source === "pool" && (
                    <button type="button" className={buttonClass} onClick={() => setUploading(r)}>
                      Upload codes
                    </button>
                  )}
                </td>
              )}
            </tr>
          ))}
          {list.data?.items.length === 0 && (
            <tr>
              <td colSpan={7} className="p-4 text-slate-600">
                No rewards yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <Pager previous={list.previous} next={list.next} />
      {editing && <RewardDialog reward={editing === "new" ? undefined : editing} onClose={() => setEditing(null)} />}
      {uploading && <UploadDialog reward={uploading} onClose={() => setUploading(null)} />}
    </section>
  );
}

interface RewardForm {
  name: string;
  description: string;
  type: Reward["type"];
  cost: string;
  currency: string;
  requires_pin: boolean;
  active: boolean;
  validity_days: string;
  budget: string;
  points_price: string;
  // config, by type
  discount_kind: "percent" | "fixed";
  percent: string;
  amount: string;
  source: "pool" | "generated";
  prefix: string;
  points: string;
  stock: string;
  sku: string;
}

function formOf(r?: Reward): RewardForm {
  const c = (r?.config ?? {}) as Record<string, string | number | undefined>;
  return {
    name: r?.name ?? "",
    description: r?.description ?? "",
    type: r?.type ?? "voucher",
    cost: r?.cost ?? "0.00",
    currency: r?.currency ?? "USD",
    requires_pin: r?.requires_pin ?? false,
    active: r?.active ?? true,
    validity_days: r?.validity_days ? String(r.validity_days) : "",
    budget: "",
    points_price: r?.points_price ? String(r.points_price) : "",
    discount_kind: (c.kind as "percent" | "fixed") ?? "percent",
    percent: c.percent !== undefined ? String(c.percent) : "10",
    amount: c.amount !== undefined ? String(c.amount) : "",
    source: (c.source as "pool" | "generated") ?? "pool",
    prefix: c.prefix !== undefined ? String(c.prefix) : "",
    points: c.points !== undefined ? String(c.points) : "10",
    stock: c.stock !== undefined ? String(c.stock) : "0",
    sku: c.sku !== undefined ? String(c.sku) : "",
  };
}

function num(s: string): number | string {
  return s.trim() !== "" && !Number.isNaN(Number(s)) ? Number(s) : s;
}

function configOf(f: RewardForm): Record<string, unknown> {
  switch (f.type) {
    case "discount":
      return f.discount_kind === "percent" ? { kind: "percent", percent: num(f.percent) } : { kind: "fixed", amount: f.amount };
    case "voucher":
      return f.source === "pool" ? { source: "pool" } : { source: "generated", ...(f.prefix ? { prefix: f.prefix } : {}) };
    case "points":
      return { points: num(f.points) };
    case "physical":
      return { stock: num(f.stock), ...(f.sku ? { sku: f.sku } : {}) };
  }
}

function RewardDialog({ reward, onClose }: { reward?: Reward; onClose: () => void }) {
  const [f, setF] = useState<RewardForm>(() => formOf(reward));
  const set = <K extends keyof RewardForm>(k: K, v: RewardForm[K]) => setF((x) => ({ ...x, [k]: v }));
  const queries = useQueryClient();
  const budgets = useQuery({
    queryKey: ["names", "budgets"],
    queryFn: () => api<Page<{ id: string; name: string }>>("GET", "budgets?limit=100"),
  });
  const save = useMutation({
    mutationFn: () => {
      const body: Record<string, unknown> = {
        name: f.name,
        description: f.description,
        cost: f.cost,
        requires_pin: f.requires_pin,
        active: f.active,
        config: configOf(f),
      };
      if (f.validity_days.trim()) body.validity_days = num(f.validity_days);
      else if (reward) body.validity_days = null;
      if (f.budget) body.budget = f.budget;
      if (f.type !== "points") {
        if (f.points_price.trim()) body.points_price = num(f.points_price);
        else if (reward?.points_price) body.points_price = null;
      }
      if (!reward) {
        body.type = f.type;
        body.currency = f.currency;
        return api<Reward>("POST", "reward-catalog", body);
      }
      return api<Reward>("PATCH", `reward-catalog/${reward.id}`, body);
    },
    onSuccess: () => {
      void queries.invalidateQueries({ queryKey: ["rewards"] });
      void queries.invalidateQueries({ queryKey: ["names"] });
      onClose();
    },
  });
  const errors = fieldErrors(save.error);
  const at = (p: string) => errorsUnder(errors, p);

  return (
    <Modal open onOpenChange={(o) => !o && onClose()} title={reward ? `Edit ${reward.name}` : "New reward"}>
      <form
        aria-label={reward ? "Edit reward" : "New reward"}
        className="grid grid-cols-2 gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        {save.error && !errors.size ? <div className="col-span-2"><Alert>{describe(save.error)}</Alert></div> : null}
        <Field label="Name" errors={at("/name")}>
          {(p) => <input {...p} className={inputClass} value={f.name} onChange={(e) => set("name", e.target.value)} />}
        </Field>
        <Field label="Type" errors={at("/type")}>
          {(p) => (
            <select {...p} className={inputClass} value={f.type} disabled={!!reward} onChange={(e) => set("type", e.target.value as Reward["type"])}>
              {TYPES.map((t) => (
                <option key={t}>{t}</option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Description" errors={at("/description")}>
          {(p) => <input {...p} className={inputClass} value={f.description} onChange={(e) => set("description", e.target.value)} />}
        </Field>
        <Field label="Cost to the budget" errors={at("/cost")} hint="e.g. 2.50">
          {(p) => (
            <div className="flex gap-1">
              <input {...p} className={`${inputClass} w-24`} value={f.cost} onChange={(e) => set("cost", e.target.value)} />
              <select aria-label="Currency" className={inputClass} value={f.currency} disabled={!!reward} onChange={(e) => set("currency", e.target.value)}>
                <option>USD</option>
                <option>ZWG</option>
              </select>
            </div>
          )}
        </Field>
        {f.type === "discount" && (
          <>
            <Field label="Discount kind" errors={at("/config/kind")}>
              {(p) => (
                <select {...p} className={inputClass} value={f.discount_kind} onChange={(e) => set("discount_kind", e.target.value as "percent" | "fixed")}>
                  <option value="percent">percent</option>
                  <option value="fixed">fixed amount</option>
                </select>
              )}
            </Field>
            {f.discount_kind === "percent" ? (
              <Field label="Percent" errors={at("/config/percent")}>
                {(p) => <input {...p} className={inputClass} value={f.percent} onChange={(e) => set("percent", e.target.value)} />}
              </Field>
            ) : (
              <Field label="Amount off" errors={at("/config/amount")}>
                {(p) => <input {...p} className={inputClass} value={f.amount} onChange={(e) => set("amount", e.target.value)} />}
              </Field>
            )}
          </>
        )}
        {f.type === "voucher" && (
          <>
            <Field label="Codes" errors={at("/config/source")}>
              {(p) => (
                <select {...p} className={inputClass} value={f.source} onChange={(e) => set("source", e.target.value as "pool" | "generated")}>
                  <option value="pool">from an uploaded pool</option>
                  <option value="generated">generated</option>
                </select>
              )}
            </Field>
            {f.source === "generated" && (
              <Field label="Code prefix" errors={at("/config/prefix")} hint="A-Z, 0-9, - and _">
                {(p) => <input {...p} className={inputClass} value={f.prefix} onChange={(e) => set("prefix", e.target.value)} />}
              </Field>
            )}
          </>
        )}
        {f.type === "points" && (
          <Field label="Points" errors={at("/config/points")}>
            {(p) => <input {...p} className={inputClass} value={f.points} onChange={(e) => set("points", e.target.value)} />}
          </Field>
        )}
        {f.type === "physical" && (
          <>
            <Field label="Stock" errors={at("/config/stock")}>
              {(p) => <input {...p} className={inputClass} value={f.stock} onChange={(e) => set("stock", e.target.value)} />}
            </Field>
            <Field label="SKU" errors={at("/config/sku")}>
              {(p) => <input {...p} className={inputClass} value={f.sku} onChange={(e) => set("sku", e.target.value)} />}
            </Field>
          </>
        )}
        <Field label="Valid for (days after issue)" errors={at("/validity_days")} hint="empty: no expiry">
          {(p) => <input {...p} className={inputClass} value={f.validity_days} onChange={(e) => set("validity_days", e.target.value)} />}
        </Field>
        {f.type !== "points" && (
          <Field label="Points price" errors={at("/points_price")} hint="empty: not claimable with points">
            {(p) => (
              <input {...p} className={inputClass} inputMode="numeric" value={f.points_price} onChange={(e) => set("points_price", e.target.value)} />
            )}
          </Field>
        )}
        <Field label="Budget" errors={at("/budget")}>
          {(p) => (
            <select {...p} className={inputClass} value={f.budget} onChange={(e) => set("budget", e.target.value)}>
              <option value="">{reward ? "unchanged" : "none"}</option>
              {budgets.data?.items.map((b) => (
                <option key={b.id} value={b.name}>
                  {b.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={f.requires_pin} onChange={(e) => set("requires_pin", e.target.checked)} /> Redeemed with
          a one-time PIN
        </label>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={f.active} onChange={(e) => set("active", e.target.checked)} /> Active
        </label>
        {/* Problems at pointers no field shows (e.g. /config as a whole). */}
        {[...errors.entries()]
          .filter(([p]) => p === "" || p === "/config")
          .map(([p, m]) => (
            <p key={p} className="col-span-2 text-sm text-red-700" data-testid="field-error">
              {m.join("; ")}
            </p>
          ))}
        <div className="col-span-2 flex justify-end gap-2">
          <button type="button" className={buttonClass} onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className={primaryClass} disabled={save.isPending}>
            {reward ? "Save" : "Create reward"}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function UploadDialog({ reward, onClose }: { reward: Reward; onClose: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [text, setText] = useState("");
  const queries = useQueryClient();
  const upload = useMutation({
    mutationFn: async () => uploadCodes(reward.id, file ? await file.text() : text, file?.name.endsWith(".csv") ? "text/csv" : "text/plain"),
    onSuccess: () => void queries.invalidateQueries({ queryKey: ["rewards"] }),
  });
  const report: UploadReport | undefined = upload.data;
  return (
    <Modal
      open
      onOpenChange={(o) => !o && onClose()}
      title={`Upload codes: ${reward.name}`}
      description="One code per line, or a CSV file's first column; 4-64 characters of A-Z, a-z, 0-9, '-' and '_'."
    >
      <form
        aria-label="Upload codes"
        className="flex flex-col gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          upload.mutate();
        }}
      >
        <Field label="A file of codes">
          {(p) => <input {...p} type="file" accept=".csv,.txt,text/csv,text/plain" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />}
        </Field>
        <Field label="Or paste the codes">
          {(p) => <textarea {...p} className={`${inputClass} h-28 font-mono`} value={text} onChange={(e) => setText(e.target.value)} />}
        </Field>
        {upload.error && <Alert>{describe(upload.error)}</Alert>}
        {report && (
          <div role="status" data-testid="upload-report" className="rounded border border-slate-200 p-3 text-sm">
            <p>
              {formatCount(report.lines)} lines: <strong>{formatCount(report.inserted)} inserted</strong>,{" "}
              {formatCount(report.duplicates_in_file)} duplicates in the file, {formatCount(report.already_present)} already in
              the pool, {formatCount(report.invalid_count)} invalid.
            </p>
            {report.invalid.length > 0 && (
              <ul className="mt-2 list-disc pl-5">
                {report.invalid.map((i) => (
                  <li key={i.line}>
                    line {i.line}: {i.reason}
                  </li>
                ))}
              </ul>
            )}
            <p className="mt-2">
              Pool now: {formatCount(report.pool.available)} available, {formatCount(report.pool.assigned)} assigned,{" "}
              {formatCount(report.pool.redeemed)} redeemed.
            </p>
          </div>
        )}
        {report && <Notice>Upload finished.</Notice>}
        <div className="flex justify-end gap-2">
          <button type="button" className={buttonClass} onClick={onClose}>
            Close
          </button>
          <button type="submit" className={primaryClass} disabled={upload.isPending || (!file && !text.trim())}>
            Upload
          </button>
        </div>
      </form>
    </Modal>
  );
}
