import { describe, expect, it } from "vitest";
import engineCases from "../../../tests/data/jsonlogic/tests.json";
import demo from "../../../scripts/demo/rules.json";
import {
  errorsByNode,
  fromLogic,
  nodeAt,
  nodePointers,
  replaceAt,
  toLogic,
  type Json,
  type RuleNode,
} from "./ruletree";

// Every rule of the engine's JsonLogic test data (the first element of each case; the strings
// are section comments) and of the demo.
const engineRules = (engineCases as unknown[]).filter(Array.isArray).map((c) => c[0] as Json);
const demoRules = demo.rules.map((r) => r.conditions as unknown as Json);

function kinds(n: RuleNode, out: string[] = []): string[] {
  out.push(n.kind);
  if (n.kind === "group") n.children.forEach((c) => kinds(c, out));
  if (n.kind === "not") kinds(n.child, out);
  return out;
}

describe("the rule builder's JsonLogic round trip", () => {
  it("gives back every rule of the engine's test data exactly", () => {
    expect(engineRules.length).toBe(277);
    for (const rule of engineRules) {
      const back = toLogic(fromLogic(structuredClone(rule)));
      expect(JSON.stringify(back)).toBe(JSON.stringify(rule));
    }
  });

  it("gives back the demo rules exactly and draws them without raw JSON", () => {
    expect(demoRules.length).toBe(4);
    for (const rule of demoRules) {
      const tree = fromLogic(rule);
      expect(JSON.stringify(toLogic(tree))).toBe(JSON.stringify(rule));
      expect(kinds(tree)).not.toContain("raw");
    }
    // The fifth visit: a loyalty measure compared with a number.
    expect(fromLogic(demoRules[2])).toEqual({
      kind: "condition",
      op: "==",
      args: [
        { kind: "measure", op: "event_count", args: ["visit", 30] },
        { kind: "value", value: 4 },
      ],
    });
    // The referral: an event field compared with a string.
    expect(fromLogic(demoRules[3])).toEqual({
      kind: "condition",
      op: "==",
      args: [
        { kind: "field", path: "event.role" },
        { kind: "value", value: "referrer" },
      ],
    });
  });

  it("draws most of the engine's test rules, and keeps the rest as raw JSON", () => {
    const drawn = engineRules.filter((r) => fromLogic(r).kind !== "raw").length;
    // Conditions, groups, negations and constants; map/reduce/if/cat... stay raw.
    expect(drawn).toBe(83);
    expect(fromLogic({ "if": [true, 1, 2] }).kind).toBe("raw");
    expect(fromLogic({ and: true }).kind).toBe("raw"); // bare argument: kept as written
    expect(fromLogic({ "!": true }).kind).toBe("raw");
    expect(fromLogic({ var: ["a", 1] }).kind).toBe("raw");
  });

  it("round-trips groups, blocks and raw parts mixed", () => {
    const rule: Json = {
      and: [
        { ">=": [{ var: "event.amount" }, 50] },
        { or: [{ weekday_in: ["sat", "sun"] }, { has_tag: ["vip"] }] },
        { "!": [{ in: [{ var: "event.store" }, ["harare", "bulawayo"]] }] },
        { "<=": [18, { var: "customer.age" }, 65] },
        { ">": [{ purchase_total: [7, "USD"] }, 100] },
        { map: [[1, 2], { "*": [{ var: "" }, 2] }] },
        { local_time_between: ["22:00", "02:00"] },
        true,
      ],
    };
    const tree = fromLogic(rule);
    expect(toLogic(tree)).toEqual(rule);
    expect(kinds(tree)).toEqual([
      "group", "condition", "group", "block", "block", "not", "condition", "condition",
      "condition", "raw", "block", "constant",
    ]);
  });
});

describe("problems at their nodes", () => {
  const tree = fromLogic({
    and: [{ ">=": [{ var: "event.amount" }, 50] }, { or: [{ "=>": [1, 2] }, { "/": [1] }] }],
  });

  it("knows each node's JSON pointer", () => {
    expect(Object.fromEntries(nodePointers(tree))).toEqual({
      "": "",
      "0": "/and/0",
      "1": "/and/1",
      "1.0": "/and/1/or/0",
      "1.1": "/and/1/or/1",
    });
  });

  it("puts each of the engine's problems at the deepest node its pointer names", () => {
    const at = errorsByNode(tree, [
      { pointer: "/and/1/or/0/=>", message: 'unknown operator "=>"' },
      { pointer: "/and/1/or/1/~1", message: '"/" takes 2 arguments' },
      { pointer: "/and/0/>=/1", message: "bad" },
      { pointer: "/and/7", message: "gone" },
    ]);
    expect(at.get("1.0")).toEqual(['unknown operator "=>"']);
    expect(at.get("1.1")).toEqual(['"/" takes 2 arguments']);
    expect(at.get("0")).toEqual(["bad"]);
    expect(at.get("1")).toBeUndefined();
    expect(at.get("")).toEqual(["gone"]);
  });

  it("edits the tree by position", () => {
    const fixed = replaceAt(tree, "1.0", fromLogic({ "==": [1, 1] }));
    expect(toLogic(nodeAt(fixed, "1")!)).toEqual({ or: [{ "==": [1, 1] }, { "/": [1] }] });
    const removed = replaceAt(fixed, "1.1", undefined);
    expect(toLogic(removed)).toEqual({
      and: [{ ">=": [{ var: "event.amount" }, 50] }, { or: [{ "==": [1, 1] }] }],
    });
  });
});
