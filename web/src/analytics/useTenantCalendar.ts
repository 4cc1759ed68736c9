import { useQuery } from "@tanstack/react-query";
import { api } from "../lib/api";
import { localToday } from "../lib/format";
import type { Summary } from "./types";

/**
 * The tenant's time zone and currency (from the summary the API computes with its defaults),
 * and today's date on its calendar, for the period presets.
 */
export function useTenantCalendar() {
  const q = useQuery({
    queryKey: ["analytics", "calendar"],
    queryFn: () => api<Summary>("GET", "analytics/summary?from=" + localToday("UTC") + "&to=" + localToday("UTC")),
    staleTime: Infinity,
  });
  const timezone = q.data?.timezone;
  return {
    error: q.error,
    timezone,
    currency: q.data?.currency,
    today: timezone ? localToday(timezone) : undefined,
  };
}
