import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api } from "../lib/api";
import { formatDateTime } from "../lib/format";
import { describe, errorsUnder, fieldErrors } from "../lib/problems";
import { useUser } from "../lib/useSession";
import { usePaged } from "../lib/usePaged";
import { Alert, Field, Notice, buttonClass, inputClass, primaryClass } from "../components/ui";
import { Pager } from "./Pager";

interface DashboardUser {
  id: string;
  email: string;
  role: "admin" | "manager" | "viewer";
  status: "active" | "disabled";
  created_at: string;
  last_login_at: string | null;
  password?: string;
}

interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  key?: string;
}

/** The tenant's dashboard users and POS API keys (admins): add, disable, revoke. */
export function AccessPage() {
  const me = useUser();
  const queries = useQueryClient();
  const users = usePaged<DashboardUser>(["users"], (c) => `users?limit=50${c ? `&cursor=${c}` : ""}`);
  const keys = usePaged<ApiKey>(["api-keys"], (c) => `api-keys?limit=50${c ? `&cursor=${c}` : ""}`);
  const [shown, setShown] = useState("");
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<DashboardUser["role"]>("viewer");
  const [keyName, setKeyName] = useState("");
  const addUser = useMutation({
    mutationFn: () => api<DashboardUser>("POST", "users", { email, role }),
    onSuccess: (u) => {
      setEmail("");
      setShown(`${u.email} can sign in with the password ${u.password}, shown only now.`);
      void queries.invalidateQueries({ queryKey: ["users"] });
    },
  });
  const disable = useMutation({
    mutationFn: (id: string) => api<DashboardUser>("POST", `users/${id}/disable`),
    onSuccess: () => queries.invalidateQueries({ queryKey: ["users"] }),
  });
  const addKey = useMutation({
    mutationFn: () => api<ApiKey>("POST", "api-keys", { name: keyName }),
    onSuccess: (k) => {
      setKeyName("");
      setShown(`The key for “${k.name}”, shown only now: ${k.key}`);
      void queries.invalidateQueries({ queryKey: ["api-keys"] });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api<ApiKey>("DELETE", `api-keys/${id}`),
    onSuccess: () => queries.invalidateQueries({ queryKey: ["api-keys"] }),
  });
  const userErrors = fieldErrors(addUser.error);
  const keyErrors = fieldErrors(addKey.error);
  const failure = users.error ?? keys.error ?? disable.error ?? revoke.error;
  return (
    <section>
      <h1 className="mb-4 text-2xl font-semibold">Users and API keys</h1>
      {shown && (
        <Notice>
          <span data-testid="shown-once">{shown}</span>
        </Notice>
      )}
      {failure && <Alert>{describe(failure)}</Alert>}
      <h2 className="mb-2 text-xl font-semibold">Dashboard users</h2>
      <form
        aria-label="New user"
        noValidate
        className="mb-3 flex flex-wrap items-end gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          addUser.mutate();
        }}
      >
        <Field label="Email" errors={errorsUnder(userErrors, "/email")}>
          {(p) => <input {...p} type="email" className={inputClass} value={email} onChange={(e) => setEmail(e.target.value)} />}
        </Field>
        <Field label="Role" errors={errorsUnder(userErrors, "/role")}>
          {(p) => (
            <select {...p} className={inputClass} value={role} onChange={(e) => setRole(e.target.value as DashboardUser["role"])}>
              <option value="viewer">viewer</option>
              <option value="manager">manager</option>
              <option value="admin">admin</option>
            </select>
          )}
        </Field>
        <button type="submit" className={primaryClass} disabled={addUser.isPending}>
          Add user
        </button>
      </form>
      {addUser.error && !userErrors.size ? <Alert>{describe(addUser.error)}</Alert> : null}
      <table className="mb-8 w-full border-collapse bg-white text-sm">
        <thead>
          <tr className="border-b border-slate-200 text-left text-slate-700">
            <th className="p-2">Email</th>
            <th className="p-2">Role</th>
            <th className="p-2">Status</th>
            <th className="p-2">Last sign-in</th>
            <th className="p-2">Actions</th>
          </tr>
        </thead>
        <tbody>
          {users.data?.items.map((u) => (
            <tr key={u.id} className="border-b border-slate-100" data-testid="user-row">
              <td className="p-2">{u.email}</td>
              <td className="p-2">{u.role}</td>
              <td className="p-2" data-testid="user-status">{u.status}</td>
              <td className="p-2">{formatDateTime(u.last_login_at)}</td>
              <td className="p-2">
                {u.status === "active" && u.id !== me?.id && (
                  <button type="button" className={buttonClass} onClick={() => disable.mutate(u.id)}>
                    Disable
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager previous={users.previous} next={users.next} />

      <h2 className="mb-2 text-xl font-semibold">POS API keys</h2>
      <form
        aria-label="New API key"
        className="mb-3 flex flex-wrap items-end gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          addKey.mutate();
        }}
      >
        <Field label="Key name" errors={errorsUnder(keyErrors, "/name")} hint="e.g. Till 3, Harare CBD">
          {(p) => <input {...p} className={inputClass} value={keyName} onChange={(e) => setKeyName(e.target.value)} />}
        </Field>
        <button type="submit" className={primaryClass} disabled={addKey.isPending}>
          Create key
        </button>
      </form>
      {addKey.error && !keyErrors.size ? <Alert>{describe(addKey.error)}</Alert> : null}
      <table className="w-full border-collapse bg-white text-sm">
        <thead>
          <tr className="border-b border-slate-200 text-left text-slate-700">
            <th className="p-2">Name</th>
            <th className="p-2">Prefix</th>
            <th className="p-2">Created</th>
            <th className="p-2">Last used</th>
            <th className="p-2">Revoked</th>
            <th className="p-2">Actions</th>
          </tr>
        </thead>
        <tbody>
          {keys.data?.items.map((k) => (
            <tr key={k.id} className="border-b border-slate-100" data-testid="key-row">
              <td className="p-2">{k.name}</td>
              <td className="p-2 font-mono">{k.prefix}</td>
              <td className="p-2">{formatDateTime(k.created_at)}</td>
              <td className="p-2">{formatDateTime(k.last_used_at)}</td>
              <td className="p-2" data-testid="key-revoked">{formatDateTime(k.revoked_at)}</td>
              <td className="p-2">
                {!k.revoked_at && (
                  <button type="button" className={buttonClass} onClick={() => revoke.mutate(k.id)}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager previous={keys.previous} next={keys.next} />
    </section>
  );
}
