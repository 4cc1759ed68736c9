import { describe, expect, it } from "vitest";
import { amountOf, cents } from "./types";

describe("budget amounts in minor units", () => {
  it("reads decimal strings exactly", () => {
    expect(cents("0.00")).toBe(0);
    expect(cents("12.50")).toBe(1250);
    expect(cents("-2.05")).toBe(-205);
    expect(cents("100000000.01")).toBe(10000000001);
    expect(cents("7")).toBe(700);
  });
  it("writes them back exactly", () => {
    expect(amountOf(0)).toBe("0.00");
    expect(amountOf(1250)).toBe("12.50");
    expect(amountOf(-205)).toBe("-2.05");
    expect(amountOf(10000000001)).toBe("100000000.01");
    for (const a of ["0.01", "0.10", "1.00", "99.99", "-0.01"]) expect(amountOf(cents(a))).toBe(a);
  });
});
