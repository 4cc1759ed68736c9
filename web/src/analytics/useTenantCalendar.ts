import { useQuery } from "@tanstack/react-query";
import { api } from "../lib/api";
import { localToday } from "../lib/format";
import type { Series } from "./types";

/**
 * The tenant's time zone (as the analytics API reports it, from the cheapest request it answers:
 * one day's events) and today's date on its calendar, for the period presets.
 */
export function useTenantCalendar() {
  const q = useQuery({
    queryKey: ["analytics", "calendar"],
    queryFn: () => {
      const day = localToday("UTC");
      return api<Series>("GET", `analytics/series?metric=events&from=${day}&to=${day}`);
    },
    staleTime: Infinity,
  });
  const timezone = q.data?.timezone;
  return {
    error: q.error,
    timezone,
    today: timezone ? localToday(timezone) : undefined,
  };
}
