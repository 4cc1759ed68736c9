import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, type Page } from "./api";

/** One page of a list at a time through the API's cursors, with the way back kept. */
export function usePaged<T>(
  key: unknown[],
  path: (cursor: string) => string,
  refetchInterval?: (page: Page<T> | undefined) => number | false,
) {
  const [cursors, setCursors] = useState<string[]>([""]);
  const cursor = cursors[cursors.length - 1];
  const query = useQuery({
    queryKey: [...key, cursor],
    queryFn: () => api<Page<T>>("GET", path(cursor)),
    refetchInterval: refetchInterval ? (q) => refetchInterval(q.state.data) : undefined,
  });
  return {
    ...query,
    next: query.data?.next_cursor
      ? () => setCursors([...cursors, query.data!.next_cursor!])
      : undefined,
    previous: cursors.length > 1 ? () => setCursors(cursors.slice(0, -1)) : undefined,
    reset: () => setCursors([""]),
  };
}
