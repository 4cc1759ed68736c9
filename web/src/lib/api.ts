// The dashboard's client of loyaltyd: the JWT access token on every request, refreshed (rotating
// refresh token) shortly before it expires and once more when a request comes back 401; a
// problem+json answer becomes an ApiError with its field errors, for the forms to show beside
// their fields.

export interface FieldError {
  pointer: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    detail: string,
    readonly fields: FieldError[] = [],
  ) {
    super(detail);
  }
}

export interface User {
  id: string;
  tenant_id: string;
  role: "admin" | "manager" | "viewer";
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  user: User;
}

/** What the tab keeps (sessionStorage: gone when the tab closes). */
interface Stored {
  access: string;
  refresh: string;
  expiresAt: number; // ms since epoch
  user: User;
}

const KEY = "loyalty.session";
const listeners = new Set<() => void>();
let current: Stored | null = load();
let refreshing: Promise<void> | null = null;

function load(): Stored | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Stored) : null;
  } catch {
    return null;
  }
}

function store(s: Stored | null, reason?: string) {
  current = s;
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
  endedReason = s ? null : (reason ?? null);
  listeners.forEach((l) => l());
}

let endedReason: string | null = null;

export const session = {
  user: () => current?.user ?? null,
  /** Why the last session ended without a logout (shown on the login page). */
  endedReason: () => endedReason,
  subscribe(listener: () => void) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

function accept(t: Tokens) {
  store({
    access: t.access_token,
    refresh: t.refresh_token,
    expiresAt: Date.now() + t.expires_in * 1000,
    user: t.user,
  });
}

async function problem(res: Response): Promise<ApiError> {
  try {
    const body = await res.json();
    return new ApiError(
      res.status,
      String(body.type ?? "").replace(/^.*\/problems\//, ""),
      body.detail ?? res.statusText,
      body.errors ?? [],
    );
  } catch {
    return new ApiError(res.status, "", res.statusText);
  }
}

export async function login(email: string, password: string): Promise<User> {
  const res = await fetch("/public/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (!res.ok) throw await problem(res);
  const tokens = (await res.json()) as Tokens;
  accept(tokens);
  return tokens.user;
}

export async function logout(): Promise<void> {
  const s = current;
  store(null);
  if (s) {
    await fetch("/public/auth/logout", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: s.refresh }),
    }).catch(() => undefined);
  }
}

async function refresh(): Promise<void> {
  const s = current;
  if (!s) return;
  refreshing ??= (async () => {
    try {
      const res = await fetch("/public/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: s.refresh }),
      });
      if (!res.ok) {
        store(null, "Your session has ended. Please sign in again.");
        return;
      }
      accept((await res.json()) as Tokens);
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/**
 * A request to the tenant's API, e.g. api("GET", "customers?phone=..."). The body is sent as
 * JSON, or as it is when a content type is given (a CSV of codes).
 */
export async function api<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
  const res = await authorized(method, path, body, contentType);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

/** A file from the tenant's API (a ledger export), as a Blob with the name the API gave it. */
export async function download(path: string): Promise<{ blob: Blob; filename: string }> {
  const res = await authorized("GET", path);
  const disposition = res.headers.get("Content-Disposition") ?? "";
  const filename = /filename="([^"]+)"/.exec(disposition)?.[1] ?? "download";
  return { blob: await res.blob(), filename };
}

/** The request with the access token (refreshed when due, and once more on a 401); problems thrown. */
async function authorized(method: string, path: string, body?: unknown, contentType?: string): Promise<Response> {
  const send = async () => {
    if (current && current.expiresAt - Date.now() < 60_000) await refresh();
    if (!current) throw new ApiError(401, "unauthorized", "Please sign in.");
    const url = path.startsWith("/") ? path : `/v1/tenants/${current.user.tenant_id}/${path}`;
    return fetch(url, {
      method,
      headers: {
        Authorization: `Bearer ${current.access}`,
        ...(body !== undefined ? { "Content-Type": contentType ?? "application/json" } : {}),
      },
      body: body === undefined ? undefined : contentType ? String(body) : JSON.stringify(body),
    });
  };
  let res = await send();
  if (res.status === 401 && current) {
    await refresh();
    res = await send();
  }
  if (!res.ok) throw await problem(res);
  return res;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}
