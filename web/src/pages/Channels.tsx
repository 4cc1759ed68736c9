import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../lib/api";
import { formatDateTime } from "../lib/format";
import { describe, errorsUnder, fieldErrors } from "../lib/problems";
import { useUser } from "../lib/useSession";
import { Alert, Field, Modal, Notice, buttonClass, inputClass, primaryClass } from "../components/ui";

interface Template {
  name: string;
  language: string;
}

interface Channel {
  id: string;
  channel: "whatsapp" | "ussd";
  address: string;
  templates: Record<string, Template>;
  own_access_token: boolean;
  own_app_secret: boolean;
  created_at: string;
}

/** The notices that go as an approved template outside WhatsApp's 24-hour window. */
const KINDS: { kind: string; label: string }[] = [
  { kind: "reward_issued", label: "Reward issued" },
  { kind: "reward_redeemed", label: "Reward redeemed" },
  { kind: "reward_expiring", label: "Reward expiring" },
  { kind: "points_expiring", label: "Points expiring" },
];

const KIND_NAMES: Record<Channel["channel"], string> = { whatsapp: "WhatsApp number", ussd: "USSD code" };

/** The tenant's WhatsApp numbers and USSD codes; admins add and remove them. */
export function ChannelsPage() {
  const user = useUser();
  const admin = user?.role === "admin";
  const channels = useQuery({
    queryKey: ["channels"],
    queryFn: () => api<{ items: Channel[] }>("GET", "channels"),
  });
  const [done, setDone] = useState("");
  const [removing, setRemoving] = useState<Channel | null>(null);
  return (
    <section>
      <h1 className="mb-4 text-2xl font-semibold">Channels</h1>
      <p className="mb-4 max-w-3xl text-sm text-slate-700">
        The WhatsApp Business numbers and USSD service codes your customers reach the programme through. A number or code
        belongs to one programme only. The number's Graph API token and app secret, when it has its own, are set by the
        operator.
      </p>
      {done && <Notice>{done}</Notice>}
      {channels.error && <Alert>{describe(channels.error)}</Alert>}
      <table className="mb-8 w-full border-collapse bg-white text-sm">
        <thead>
          <tr className="border-b border-slate-200 text-left text-slate-700">
            <th className="p-2">Channel</th>
            <th className="p-2">Number id or code</th>
            <th className="p-2">Templates</th>
            <th className="p-2">Credentials</th>
            <th className="p-2">Added</th>
            {admin && <th className="p-2">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {channels.data?.items.map((c) => (
            <tr key={c.id} className="border-b border-slate-100" data-testid="channel-row">
              <td className="p-2" data-testid="channel-kind">
                {KIND_NAMES[c.channel]}
              </td>
              <td className="p-2 font-mono" data-testid="channel-address">
                {c.address}
              </td>
              <td className="p-2">
                {Object.keys(c.templates).length === 0
                  ? "—"
                  : Object.entries(c.templates)
                      .map(([kind, t]) => `${kind}: ${t.name} (${t.language})`)
                      .join(", ")}
              </td>
              <td className="p-2">
                {c.channel === "ussd"
                  ? "—"
                  : [c.own_access_token ? "own token" : "the daemon's token", c.own_app_secret ? "own app secret" : null]
                      .filter(Boolean)
                      .join(", ")}
              </td>
              <td className="p-2 whitespace-nowrap">{formatDateTime(c.created_at)}</td>
              {admin && (
                <td className="p-2">
                  <button type="button" className={buttonClass} onClick={() => setRemoving(c)}>
                    Remove
                  </button>
                </td>
              )}
            </tr>
          ))}
          {channels.data && channels.data.items.length === 0 && (
            <tr>
              <td className="p-2 text-slate-600" colSpan={admin ? 6 : 5}>
                No WhatsApp number or USSD code yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {admin && <AddChannel onDone={setDone} />}
      {removing && (
        <RemoveDialog
          channel={removing}
          onClose={() => setRemoving(null)}
          onDone={(message) => {
            setRemoving(null);
            setDone(message);
          }}
        />
      )}
    </section>
  );
}

function AddChannel({ onDone }: { onDone: (message: string) => void }) {
  const [channel, setChannel] = useState<Channel["channel"]>("whatsapp");
  const [address, setAddress] = useState("");
  const [templates, setTemplates] = useState<Record<string, Template>>({});
  const queries = useQueryClient();
  const add = useMutation({
    mutationFn: () => {
      const chosen = Object.fromEntries(
        Object.entries(templates)
          .filter(([, t]) => t.name.trim() !== "")
          .map(([kind, t]) => [kind, { name: t.name.trim(), language: t.language.trim() || "en" }]),
      );
      const body: Record<string, unknown> = { channel, address: address.trim() };
      if (channel === "whatsapp" && Object.keys(chosen).length) body.config = { templates: chosen };
      return api<Channel>("POST", "channels", body);
    },
    onSuccess: (c) => {
      void queries.invalidateQueries({ queryKey: ["channels"] });
      setAddress("");
      setTemplates({});
      onDone(`Added ${KIND_NAMES[c.channel]} ${c.address}.`);
    },
  });
  const errors = fieldErrors(add.error);
  const template = (kind: string): Template => templates[kind] ?? { name: "", language: "" };
  const setTemplate = (kind: string, part: keyof Template, value: string) =>
    setTemplates({ ...templates, [kind]: { ...template(kind), [part]: value } });
  const shown = new Set(["/channel", "/address", "/config/templates"]);
  const unplaced = [...errors.keys()].some((p) => ![...shown].some((s) => p === s || p.startsWith(s + "/")));
  return (
    <form
      aria-label="Add a channel"
      className="flex max-w-3xl flex-col gap-3 rounded border border-slate-200 bg-white p-4"
      onSubmit={(e) => {
        e.preventDefault();
        add.mutate();
      }}
    >
      <h2 className="text-xl font-semibold">Add a channel</h2>
      <div className="flex flex-wrap items-start gap-3">
        <Field label="Channel" errors={errorsUnder(errors, "/channel")}>
          {(p) => (
            <select
              {...p}
              className={inputClass}
              value={channel}
              onChange={(e) => setChannel(e.target.value as Channel["channel"])}
            >
              <option value="whatsapp">WhatsApp number</option>
              <option value="ussd">USSD code</option>
            </select>
          )}
        </Field>
        <Field
          label={channel === "whatsapp" ? "Phone number id" : "Service code"}
          errors={errorsUnder(errors, "/address")}
          hint={channel === "whatsapp" ? "the digits Meta shows for the number, e.g. 106540352242922" : "as dialled, e.g. *123# or *123*4#"}
        >
          {(p) => <input {...p} className={`${inputClass} font-mono`} value={address} onChange={(e) => setAddress(e.target.value)} />}
        </Field>
      </div>
      {channel === "whatsapp" && (
        <fieldset className="flex flex-col gap-2">
          <legend className="mb-1 text-sm font-medium text-slate-700">
            Approved templates for notices outside the 24-hour window (optional)
          </legend>
          {errorsUnder(errors, "/config/templates").length > 0 && !KINDS.some((k) => errors.has(`/config/templates/${k.kind}`) || errorsUnder(errors, `/config/templates/${k.kind}`).length) && (
            <span className="text-sm text-red-700" data-testid="field-error">
              {errorsUnder(errors, "/config/templates").join("; ")}
            </span>
          )}
          {KINDS.map(({ kind, label }) => (
            <div key={kind} className="flex flex-wrap items-start gap-3">
              <Field
                label={`${label}: template`}
                errors={[...(errors.get(`/config/templates/${kind}`) ?? []), ...(errors.get(`/config/templates/${kind}/name`) ?? [])]}
              >
                {(p) => (
                  <input {...p} className={inputClass} value={template(kind).name} onChange={(e) => setTemplate(kind, "name", e.target.value)} />
                )}
              </Field>
              <Field label={`${label}: language`} errors={errors.get(`/config/templates/${kind}/language`) ?? []} hint="default en">
                {(p) => (
                  <input
                    {...p}
                    className={`${inputClass} w-24`}
                    value={template(kind).language}
                    onChange={(e) => setTemplate(kind, "language", e.target.value)}
                  />
                )}
              </Field>
            </div>
          ))}
        </fieldset>
      )}
      {add.error && (!errors.size || unplaced) ? <Alert>{describe(add.error)}</Alert> : null}
      <div>
        <button type="submit" className={primaryClass} disabled={add.isPending}>
          Add channel
        </button>
      </div>
    </form>
  );
}

function RemoveDialog({ channel, onClose, onDone }: { channel: Channel; onClose: () => void; onDone: (m: string) => void }) {
  const queries = useQueryClient();
  const remove = useMutation({
    mutationFn: () => api<void>("DELETE", `channels/${channel.id}`),
    onSuccess: () => {
      void queries.invalidateQueries({ queryKey: ["channels"] });
      onDone(`Removed ${KIND_NAMES[channel.channel]} ${channel.address}.`);
    },
  });
  return (
    <Modal
      open
      onOpenChange={(o) => !o && onClose()}
      title={`Remove ${channel.address}?`}
      description={`Messages to this ${KIND_NAMES[channel.channel]} stop reaching the programme at once.`}
    >
      {remove.error ? <Alert>{describe(remove.error)}</Alert> : null}
      <div className="flex justify-end gap-2">
        <button type="button" className={buttonClass} onClick={onClose}>
          Keep it
        </button>
        <button type="button" className={primaryClass} onClick={() => remove.mutate()} disabled={remove.isPending}>
          Remove {channel.address}
        </button>
      </div>
    </Modal>
  );
}
