// The rule builder's model of JsonLogic: a tree of and/or groups, conditions (an operand, a
// comparison, an operand), the loyalty operators as blocks, and raw JSON for whatever the
// builder cannot draw. fromLogic and toLogic are exact inverses for any JSON: what the builder
// does not recognise stays raw and comes back byte for byte (tested over the engine's JsonLogic
// test data and the demo rules in ruletree.test.ts).

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Primitive = null | boolean | number | string;

/** A value inside a condition. */
export type Operand =
  | { kind: "field"; path: string } // {"var": "event.amount"}
  | { kind: "value"; value: Primitive } // 50, "harare", true
  | { kind: "list"; values: Primitive[] } // ["harare", "bulawayo"] (for "in")
  | { kind: "measure"; op: string; args: Primitive[] } // {"event_count": ["visit", 30]}
  | { kind: "raw"; json: Json };

export type RuleNode =
  | { kind: "group"; op: "and" | "or"; children: RuleNode[] }
  | { kind: "not"; child: RuleNode } // {"!": [X]}
  | { kind: "condition"; op: string; args: Operand[] } // {">=": [A, B]}, {"<": [A, B, C]}
  | { kind: "block"; op: string; args: Primitive[] } // {"weekday_in": ["sat", "sun"]}
  | { kind: "constant"; value: boolean } // true: always
  | { kind: "raw"; json: Json };

/** The comparisons a condition may use, with how staff read them. */
export const COMPARISONS: { op: string; label: string }[] = [
  { op: "==", label: "equals" },
  { op: "!=", label: "is not" },
  { op: "===", label: "is exactly" },
  { op: "!==", label: "is not exactly" },
  { op: ">", label: ">" },
  { op: ">=", label: "≥" },
  { op: "<", label: "<" },
  { op: "<=", label: "≤" },
  { op: "in", label: "is one of / contained in" },
];

export interface LoyaltyOperator {
  op: string;
  /** A measure gives a number (compared in a condition); a block is itself true or false. */
  role: "measure" | "block";
  label: string;
  /** The arguments, in order: a label and whether it is a number. */
  params: { label: string; type: "text" | "number" }[];
  /** Arguments that may be left off at the end (purchase_total's currency, weekday_in's days). */
  optionalTail?: number;
  /** Repeats its last parameter (weekday_in: DAY, ...). */
  variadic?: boolean;
}

/** The engine's loyalty operators (lib/src/rules/compile.cpp, `loyalty-rules(7)`). */
export const LOYALTY_OPERATORS: LoyaltyOperator[] = [
  { op: "event_count", role: "measure", label: "earlier events of a type in the last N days", params: [{ label: "event type", type: "text" }, { label: "days", type: "number" }] },
  { op: "purchase_total", role: "measure", label: "purchases' total in the last N days", params: [{ label: "days", type: "number" }, { label: "currency", type: "text" }], optionalTail: 1 },
  { op: "days_since_last", role: "measure", label: "days since the last event of a type", params: [{ label: "event type", type: "text" }] },
  { op: "visit_number", role: "measure", label: "number of this event among the customer's", params: [{ label: "event type", type: "text" }] },
  { op: "days_since_enrolment", role: "measure", label: "days since the customer enrolled", params: [] },
  { op: "birthday_within", role: "block", label: "birthday within N days", params: [{ label: "days", type: "number" }] },
  { op: "weekday_in", role: "block", label: "on one of these weekdays", params: [{ label: "day", type: "text" }], variadic: true },
  { op: "local_time_between", role: "block", label: "local time between", params: [{ label: "from HH:MM", type: "text" }, { label: "to HH:MM", type: "text" }] },
  { op: "has_tag", role: "block", label: "customer has tag", params: [{ label: "tag", type: "text" }] },
  { op: "in_segment", role: "block", label: "customer is in segment", params: [{ label: "segment", type: "text" }] },
];

const LOYALTY = new Map(LOYALTY_OPERATORS.map((o) => [o.op, o]));
const COMPARISON_OPS = new Set(COMPARISONS.map((c) => c.op));

/** Fields of the data a rule sees, offered as suggestions (any dotted path may be typed). */
export const FIELD_SUGGESTIONS = [
  "event.amount",
  "event.currency",
  "event.store",
  "event.items_count",
  "event.type",
  "customer.tier",
  "customer.status",
  "customer.attributes",
];

function isPrimitive(j: Json): j is Primitive {
  return j === null || typeof j !== "object";
}

function isObject(j: Json): j is { [key: string]: Json } {
  return j !== null && typeof j === "object" && !Array.isArray(j);
}

/** The single operator of a JsonLogic operation, or null for data. */
function operation(j: Json): [string, Json] | null {
  if (!isObject(j)) return null;
  const keys = Object.keys(j);
  return keys.length === 1 ? [keys[0], j[keys[0]]] : null;
}

function loyaltyArgsFit(info: LoyaltyOperator, args: Json[]): args is Primitive[] {
  if (!args.every(isPrimitive)) return false;
  const min = info.params.length - (info.optionalTail ?? 0);
  if (info.variadic) return args.length >= 1 && args.length <= 7;
  return args.length >= min && args.length <= info.params.length;
}

export function operandFromLogic(j: Json): Operand {
  if (isPrimitive(j)) return { kind: "value", value: j };
  if (Array.isArray(j)) {
    return j.every(isPrimitive) ? { kind: "list", values: j as Primitive[] } : { kind: "raw", json: j };
  }
  const op = operation(j);
  if (op) {
    const [name, args] = op;
    if (name === "var" && typeof args === "string") return { kind: "field", path: args };
    const info = LOYALTY.get(name);
    if (info?.role === "measure" && Array.isArray(args) && loyaltyArgsFit(info, args)) {
      return { kind: "measure", op: name, args };
    }
  }
  return { kind: "raw", json: j };
}

export function operandToLogic(o: Operand): Json {
  switch (o.kind) {
    case "field":
      return { var: o.path };
    case "value":
      return o.value;
    case "list":
      return [...o.values];
    case "measure":
      return { [o.op]: [...o.args] };
    case "raw":
      return o.json;
  }
}

export function fromLogic(j: Json): RuleNode {
  if (typeof j === "boolean") return { kind: "constant", value: j };
  const op = operation(j);
  if (!op) return { kind: "raw", json: j };
  const [name, args] = op;
  if ((name === "and" || name === "or") && Array.isArray(args)) {
    return { kind: "group", op: name, children: args.map(fromLogic) };
  }
  if (name === "!" && Array.isArray(args) && args.length === 1) {
    return { kind: "not", child: fromLogic(args[0]) };
  }
  if (COMPARISON_OPS.has(name) && Array.isArray(args)) {
    const arity = name === "<" || name === "<=" ? [2, 3] : [2, 2];
    if (args.length >= arity[0] && args.length <= arity[1]) {
      return { kind: "condition", op: name, args: args.map(operandFromLogic) };
    }
  }
  const info = LOYALTY.get(name);
  if (info?.role === "block" && Array.isArray(args) && loyaltyArgsFit(info, args)) {
    return { kind: "block", op: name, args };
  }
  return { kind: "raw", json: j };
}

export function toLogic(n: RuleNode): Json {
  switch (n.kind) {
    case "group":
      return { [n.op]: n.children.map(toLogic) };
    case "not":
      return { "!": [toLogic(n.child)] };
    case "condition":
      return { [n.op]: n.args.map(operandToLogic) };
    case "block":
      return { [n.op]: [...n.args] };
    case "constant":
      return n.value;
    case "raw":
      return n.json;
  }
}

/** Whether the builder draws any of the tree (false: the raw view is all it can offer). */
export function drawable(n: RuleNode): boolean {
  return n.kind !== "raw";
}

/** One RFC 6901 token. */
function token(t: string): string {
  return t.replace(/~/g, "~0").replace(/\//g, "~1");
}

/**
 * The JSON pointer (relative to the conditions) of each node, keyed by its position in the tree
 * ("" the root, "0.2" the root's first child's third): where the engine points at a problem.
 */
export function nodePointers(n: RuleNode, at = "", pointer = ""): Map<string, string> {
  const out = new Map<string, string>([[at, pointer]]);
  const child = (i: number) => (at === "" ? String(i) : `${at}.${i}`);
  if (n.kind === "group") {
    n.children.forEach((c, i) =>
      nodePointers(c, child(i), `${pointer}/${n.op}/${i}`).forEach((v, k) => out.set(k, v)),
    );
  } else if (n.kind === "not") {
    nodePointers(n.child, child(0), `${pointer}/${token("!")}/0`).forEach((v, k) => out.set(k, v));
  }
  return out;
}

/**
 * Which node each problem belongs to: the deepest node whose pointer starts the problem's
 * pointer (so "/and/1/>=" and "/and/1/>=/0" go to the condition at "/and/1").
 */
export function errorsByNode(
  n: RuleNode,
  errors: { pointer: string; message: string }[],
): Map<string, string[]> {
  const pointers = [...nodePointers(n).entries()].sort((a, b) => b[1].length - a[1].length);
  const out = new Map<string, string[]>();
  for (const e of errors) {
    const hit = pointers.find(([, p]) => e.pointer === p || e.pointer.startsWith(p + "/"));
    const at = hit ? hit[0] : "";
    out.set(at, [...(out.get(at) ?? []), e.message]);
  }
  return out;
}

/** The node at a position ("0.2"). */
export function nodeAt(root: RuleNode, at: string): RuleNode | undefined {
  if (at === "") return root;
  let n: RuleNode | undefined = root;
  for (const part of at.split(".")) {
    const i = Number(part);
    if (n?.kind === "group") n = n.children[i];
    else if (n?.kind === "not" && i === 0) n = n.child;
    else return undefined;
  }
  return n;
}

/** The tree with the node at `at` replaced (or removed, given undefined, from its group). */
export function replaceAt(root: RuleNode, at: string, next: RuleNode | undefined): RuleNode {
  if (at === "") return next ?? { kind: "group", op: "and", children: [] };
  const [head, ...rest] = at.split(".");
  const i = Number(head);
  const tail = rest.join(".");
  if (root.kind === "group") {
    const children = [...root.children];
    if (tail === "") {
      if (next) children[i] = next;
      else children.splice(i, 1);
    } else {
      children[i] = replaceAt(children[i], tail, next);
    }
    return { ...root, children };
  }
  if (root.kind === "not" && i === 0) {
    const child = tail === "" ? next : replaceAt(root.child, tail, next);
    return child ? { ...root, child } : { kind: "constant", value: true };
  }
  return root;
}

/** A new condition for the builder: event.amount ≥ 0. */
export function newCondition(): RuleNode {
  return {
    kind: "condition",
    op: ">=",
    args: [
      { kind: "field", path: "event.amount" },
      { kind: "value", value: 0 },
    ],
  };
}

export function newBlock(op: string): RuleNode {
  const info = LOYALTY.get(op)!;
  const args = info.params.map((p) => (p.type === "number" ? 7 : ""));
  return { kind: "block", op, args: args.slice(0, info.params.length - (info.optionalTail ?? 0)) };
}

export function newMeasure(op: string): Operand {
  const info = LOYALTY.get(op)!;
  const args = info.params.map((p) => (p.type === "number" ? 30 : p.label === "event type" ? "visit" : ""));
  return { kind: "measure", op, args: args.slice(0, info.params.length - (info.optionalTail ?? 0)) };
}

export function loyaltyOperator(op: string): LoyaltyOperator | undefined {
  return LOYALTY.get(op);
}
