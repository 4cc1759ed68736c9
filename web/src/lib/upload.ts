// Voucher codes into a reward's pool: the file as the API takes it, and its report.
import { api } from "./api";

export interface UploadReport {
  lines: number;
  inserted: number;
  duplicates_in_file: number;
  already_present: number;
  invalid: { line: number; reason: string }[];
  invalid_count: number;
  pool: { available: number; assigned: number; redeemed: number };
}

/** Uploads codes (one per line, or a CSV's first column) in one transaction. */
export function uploadCodes(rewardId: string, text: string, type: "text/csv" | "text/plain") {
  return api<UploadReport>("POST", `reward-catalog/${rewardId}/upload-codes`, text, type);
}
