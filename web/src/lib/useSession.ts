import { useSyncExternalStore } from "react";
import { session, type User } from "./api";

/** The signed-in user, re-rendering when the session starts or ends. */
export function useUser(): User | null {
  return useSyncExternalStore(session.subscribe, session.user);
}

/** Whether the user's role may change things (the API refuses a viewer anyway). */
export function canEdit(user: User | null): boolean {
  return user?.role === "admin" || user?.role === "manager";
}
