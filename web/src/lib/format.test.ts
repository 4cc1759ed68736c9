import { describe, expect, it } from "vitest";
import { formatCount, formatDateTime, formatMoney } from "./format";

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
