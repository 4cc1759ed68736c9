import { describe, expect, it } from "vitest";
import {
  addDays,
  formatChange,
  formatCount,
  formatDateTime,
  formatDay,
  formatMoney,
  formatRate,
  localToday,
} from "./format";

describe("formatMoney", () => {
  it("groups the decimal string without turning it into a float", () => {
    expect(formatMoney({ amount: "1234567.05", currency: "USD" })).toBe("$1,234,567.05");
    expect(formatMoney({ amount: "90071992547409.93", currency: "USD" })).toBe(
      "$90,071,992,547,409.93",
    );
  });
  it("keeps the sign and shows currencies without a symbol by their code", () => {
    expect(formatMoney({ amount: "-5.00", currency: "USD" })).toBe("-$5.00");
    expect(formatMoney({ amount: "250.00", currency: "ZWG" })).toBe("ZWG 250.00");
  });
  it("shows a dash for nothing", () => {
    expect(formatMoney(null)).toBe("—");
  });
});

describe("formatDateTime", () => {
  it("shows the instant in the tenant's time zone", () => {
    expect(formatDateTime("2026-12-01T22:48:20Z", "Africa/Harare")).toBe("2 Dec 2026, 00:48");
    expect(formatDateTime("2026-12-01T22:48:20Z", "UTC")).toBe("1 Dec 2026, 22:48");
  });
  it("shows a dash for nothing or nonsense", () => {
    expect(formatDateTime(null)).toBe("—");
    expect(formatDateTime("yesterday")).toBe("—");
  });
});

describe("formatCount", () => {
  it("groups thousands", () => {
    expect(formatCount(1234567)).toBe("1,234,567");
    expect(formatCount(0)).toBe("0");
  });
});

describe("formatRate and formatChange", () => {
  it("shows a fraction as a percentage, a dash when undefined", () => {
    expect(formatRate(0.6125)).toBe("61.3 %");
    expect(formatRate(0)).toBe("0.0 %");
    expect(formatRate(null)).toBe("—");
  });
  it("compares a period with the one before", () => {
    expect(formatChange(150, 120)).toBe("+25.0 %");
    expect(formatChange(90, 120)).toBe("-25.0 %");
    expect(formatChange(5, 0)).toBe("new");
    expect(formatChange(7, 7)).toBe("±0 %");
  });
});

describe("local days", () => {
  it("shows the API's days and buckets as calendar days, whatever the browser's zone", () => {
    expect(formatDay("2026-11-02")).toBe("2 Nov 2026");
    expect(formatDay("2026-11-01", "month")).toBe("Nov 2026");
    expect(formatDay("soon")).toBe("—");
  });
  it("knows the tenant's today and counts days across months and years", () => {
    // 22:30 UTC on 1 December is already 2 December in Harare (UTC+2).
    const at = new Date("2026-12-01T22:30:00Z");
    expect(localToday("Africa/Harare", at)).toBe("2026-12-02");
    expect(localToday("UTC", at)).toBe("2026-12-01");
    expect(addDays("2026-12-02", -29)).toBe("2026-11-03");
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
  });
});
