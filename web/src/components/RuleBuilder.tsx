// The visual rule builder: a rule's JsonLogic as a tree of and/or groups, conditions and the
// loyalty operators as blocks, with raw JSON for what it cannot draw. Each node shows the
// engine's problems at its JSON pointer (see errorsByNode in lib/ruletree.ts).
import * as Menu from "@radix-ui/react-dropdown-menu";
import { useEffect, useState } from "react";
import {
  COMPARISONS,
  FIELD_SUGGESTIONS,
  LOYALTY_OPERATORS,
  fromLogic,
  loyaltyOperator,
  newBlock,
  newCondition,
  newMeasure,
  operandToLogic,
  replaceAt,
  type Json,
  type Operand,
  type Primitive,
  type RuleNode,
} from "../lib/ruletree";
import { buttonClass, inputClass } from "./ui";

interface Props {
  tree: RuleNode;
  onChange: (tree: RuleNode) => void;
  /** The problems of each node, by position ("" the root, "0.1" ...). */
  errors: Map<string, string[]>;
  readOnly?: boolean;
}

export function RuleBuilder({ tree, onChange, errors, readOnly }: Props) {
  const edit = (at: string, next: RuleNode | undefined) => onChange(replaceAt(tree, at, next));
  return (
    <div data-testid="rule-builder">
      <datalist id="rule-fields">
        {FIELD_SUGGESTIONS.map((f) => (
          <option key={f} value={f} />
        ))}
      </datalist>
      <NodeView node={tree} at="" edit={edit} errors={errors} readOnly={readOnly} />
      {!readOnly && tree.kind !== "group" && (
        <button
          type="button"
          className={`${buttonClass} mt-2`}
          onClick={() => onChange({ kind: "group", op: "and", children: [tree] })}
        >
          Combine with more conditions
        </button>
      )}
    </div>
  );
}

interface NodeProps {
  node: RuleNode;
  at: string;
  edit: (at: string, next: RuleNode | undefined) => void;
  errors: Map<string, string[]>;
  readOnly?: boolean;
  onRemove?: () => void;
}

function NodeView(props: NodeProps) {
  const { node, at, errors, onRemove, readOnly } = props;
  const mine = errors.get(at) ?? [];
  const errorId = `node-errors-${at || "root"}`;
  return (
    <div
      data-testid="node"
      data-kind={node.kind}
      data-at={at}
      aria-describedby={mine.length ? errorId : undefined}
      className={`my-1 rounded border p-2 ${mine.length ? "border-red-500 bg-red-50" : "border-slate-200 bg-white"}`}
    >
      <div className="flex flex-wrap items-center gap-2">
        <NodeBody {...props} />
        {onRemove && !readOnly && (
          <button type="button" className={`${buttonClass} ml-auto`} onClick={onRemove} aria-label="Remove this part">
            Remove
          </button>
        )}
      </div>
      {mine.length > 0 && (
        <ul id={errorId} className="mt-1 list-disc pl-5 text-sm text-red-800" data-testid="node-error">
          {mine.map((m, i) => (
            <li key={i}>{m}</li>
          ))}
        </ul>
      )}
      {node.kind === "group" && (
        <div className="ml-4 border-l-2 border-slate-200 pl-2">
          {node.children.map((child, i) => {
            const childAt = at === "" ? String(i) : `${at}.${i}`;
            return (
              <NodeView
                key={i}
                {...props}
                node={child}
                at={childAt}
                onRemove={() => props.edit(childAt, undefined)}
              />
            );
          })}
          {!readOnly && (
            <AddMenu
              onAdd={(n) =>
                props.edit(at, { ...node, children: [...node.children, n] })
              }
            />
          )}
        </div>
      )}
      {node.kind === "not" && (
        <div className="ml-4 border-l-2 border-slate-200 pl-2">
          <NodeView {...props} node={node.child} at={at === "" ? "0" : `${at}.0`} onRemove={undefined} />
        </div>
      )}
    </div>
  );
}

function NodeBody({ node, at, edit, readOnly }: NodeProps) {
  switch (node.kind) {
    case "group":
      return (
        <label className="flex items-center gap-2 text-sm font-medium">
          Match
          <select
            aria-label="Group"
            className={inputClass}
            disabled={readOnly}
            value={node.op}
            onChange={(e) => edit(at, { ...node, op: e.target.value as "and" | "or" })}
          >
            <option value="and">all of (and)</option>
            <option value="or">any of (or)</option>
          </select>
        </label>
      );
    case "not":
      return <span className="text-sm font-medium">Not:</span>;
    case "constant":
      return (
        <select
          aria-label="Always or never"
          className={inputClass}
          disabled={readOnly}
          value={String(node.value)}
          onChange={(e) => edit(at, { kind: "constant", value: e.target.value === "true" })}
        >
          <option value="true">always</option>
          <option value="false">never</option>
        </select>
      );
    case "condition":
      return (
        <>
          <OperandEditor
            label="Left"
            operand={node.args[0]}
            readOnly={readOnly}
            onChange={(o) => edit(at, { ...node, args: [o, ...node.args.slice(1)] })}
          />
          <select
            aria-label="Comparison"
            className={inputClass}
            disabled={readOnly}
            value={node.op}
            onChange={(e) => {
              const op = e.target.value;
              const args = op === "<" || op === "<=" ? node.args : node.args.slice(0, 2);
              edit(at, { ...node, op, args });
            }}
          >
            {COMPARISONS.map((c) => (
              <option key={c.op} value={c.op}>
                {c.label}
              </option>
            ))}
          </select>
          {node.args.slice(1).map((arg, i) => (
            <OperandEditor
              key={i}
              label={i === 0 ? "Right" : "Upper bound"}
              operand={arg}
              readOnly={readOnly}
              onChange={(o) => {
                const args = [...node.args];
                args[i + 1] = o;
                edit(at, { ...node, args });
              }}
            />
          ))}
        </>
      );
    case "block":
      return (
        <>
          <span className="rounded bg-indigo-100 px-2 py-1 text-sm text-indigo-900">
            {loyaltyOperator(node.op)?.label ?? node.op}
          </span>
          <LoyaltyArgs op={node.op} args={node.args} readOnly={readOnly} onChange={(args) => edit(at, { ...node, args })} />
        </>
      );
    case "raw":
      return (
        <RawJson
          label="JSON the builder cannot draw"
          value={node.json}
          readOnly={readOnly}
          onChange={(json) => edit(at, fromLogic(json))}
        />
      );
  }
}

/** The arguments of a loyalty operator, one input each (weekday_in's days comma-separated). */
function LoyaltyArgs({
  op,
  args,
  onChange,
  readOnly,
}: {
  op: string;
  args: Primitive[];
  onChange: (args: Primitive[]) => void;
  readOnly?: boolean;
}) {
  const info = loyaltyOperator(op);
  if (!info) return null;
  if (info.variadic) {
    return (
      <input
        aria-label="Days (comma-separated)"
        className={inputClass}
        disabled={readOnly}
        value={args.join(", ")}
        onChange={(e) =>
          onChange(
            e.target.value
              .split(",")
              .map((s) => s.trim())
              .filter(Boolean),
          )
        }
      />
    );
  }
  return (
    <>
      {info.params.map((p, i) => {
        const optional = i >= info.params.length - (info.optionalTail ?? 0);
        const value = args[i];
        return (
          <input
            key={i}
            aria-label={p.label[0].toUpperCase() + p.label.slice(1)}
            placeholder={optional ? `${p.label} (optional)` : p.label}
            className={`${inputClass} w-28`}
            disabled={readOnly}
            type={p.type === "number" ? "number" : "text"}
            value={value === undefined || value === null ? "" : String(value)}
            onChange={(e) => {
              const next = [...args];
              const raw = e.target.value;
              if (optional && raw === "") {
                next.length = i;
              } else {
                next[i] = p.type === "number" && raw !== "" && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
              }
              onChange(next);
            }}
          />
        );
      })}
    </>
  );
}

const OPERAND_KINDS: { kind: Operand["kind"]; label: string }[] = [
  { kind: "field", label: "field" },
  { kind: "value", label: "value" },
  { kind: "list", label: "list" },
  { kind: "measure", label: "loyalty measure" },
  { kind: "raw", label: "JSON" },
];

function OperandEditor({
  label,
  operand,
  onChange,
  readOnly,
}: {
  label: string;
  operand: Operand;
  onChange: (o: Operand) => void;
  readOnly?: boolean;
}) {
  const switchKind = (kind: Operand["kind"]) => {
    switch (kind) {
      case "field":
        return onChange({ kind, path: "event.amount" });
      case "value":
        return onChange({ kind, value: 0 });
      case "list":
        return onChange({ kind, values: [] });
      case "measure":
        return onChange(newMeasure("event_count"));
      case "raw":
        return onChange({ kind, json: operandToLogic(operand) });
    }
  };
  return (
    <span className="flex items-center gap-1" data-testid={`operand-${label.toLowerCase()}`}>
      <select
        aria-label={`${label} is a`}
        className={inputClass}
        disabled={readOnly}
        value={operand.kind}
        onChange={(e) => switchKind(e.target.value as Operand["kind"])}
      >
        {OPERAND_KINDS.map((k) => (
          <option key={k.kind} value={k.kind}>
            {k.label}
          </option>
        ))}
      </select>
      {operand.kind === "field" && (
        <>
          <input
            aria-label={`${label} field`}
            list="rule-fields"
            className={`${inputClass} w-40`}
            disabled={readOnly}
            value={operand.path}
            onChange={(e) => onChange({ kind: "field", path: e.target.value })}
          />
        </>
      )}
      {operand.kind === "value" && <ValueInput label={`${label} value`} value={operand.value} readOnly={readOnly} onChange={(value) => onChange({ kind: "value", value })} />}
      {operand.kind === "list" && (
        <input
          aria-label={`${label} values (comma-separated)`}
          className={`${inputClass} w-48`}
          disabled={readOnly}
          value={operand.values.map(String).join(", ")}
          onChange={(e) => {
            const parts = e.target.value.split(",").map((s) => s.trim()).filter((s) => s !== "");
            const numbers = parts.every((s) => s !== "" && !Number.isNaN(Number(s)));
            onChange({ kind: "list", values: numbers ? parts.map(Number) : parts });
          }}
        />
      )}
      {operand.kind === "measure" && (
        <>
          <select
            aria-label={`${label} measure`}
            className={inputClass}
            disabled={readOnly}
            value={operand.op}
            onChange={(e) => onChange(newMeasure(e.target.value))}
          >
            {LOYALTY_OPERATORS.filter((o) => o.role === "measure").map((o) => (
              <option key={o.op} value={o.op}>
                {o.label}
              </option>
            ))}
          </select>
          <LoyaltyArgs op={operand.op} args={operand.args} readOnly={readOnly} onChange={(args) => onChange({ ...operand, args })} />
        </>
      )}
      {operand.kind === "raw" && (
        <RawJson label={`${label} JSON`} value={operand.json} readOnly={readOnly} compact onChange={(json) => onChange({ kind: "raw", json })} />
      )}
    </span>
  );
}

/** A literal: a number, a text, true/false or null, as its type says. */
function ValueInput({
  label,
  value,
  onChange,
  readOnly,
}: {
  label: string;
  value: Primitive;
  onChange: (v: Primitive) => void;
  readOnly?: boolean;
}) {
  const type = value === null ? "null" : typeof value === "boolean" ? "boolean" : typeof value === "number" ? "number" : "text";
  const [text, setText] = useState(value === null ? "" : String(value));
  useEffect(() => setText(value === null ? "" : String(value)), [value]);
  return (
    <>
      <select
        aria-label={`${label} type`}
        className={inputClass}
        disabled={readOnly}
        value={type}
        onChange={(e) => {
          const t = e.target.value;
          onChange(t === "number" ? Number(text) || 0 : t === "boolean" ? true : t === "null" ? null : text);
        }}
      >
        <option value="number">number</option>
        <option value="text">text</option>
        <option value="boolean">yes/no</option>
        <option value="null">nothing (null)</option>
      </select>
      {type === "boolean" ? (
        <select
          aria-label={label}
          className={inputClass}
          disabled={readOnly}
          value={String(value)}
          onChange={(e) => onChange(e.target.value === "true")}
        >
          <option value="true">true</option>
          <option value="false">false</option>
        </select>
      ) : type === "null" ? null : (
        <input
          aria-label={label}
          className={`${inputClass} w-28`}
          disabled={readOnly}
          type={type === "number" ? "number" : "text"}
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            if (type === "number") {
              if (e.target.value !== "" && !Number.isNaN(Number(e.target.value))) onChange(Number(e.target.value));
            } else {
              onChange(e.target.value);
            }
          }}
        />
      )}
    </>
  );
}

/** JSON in a text area, applied when it parses (its parse error shown until then). */
export function RawJson({
  label,
  value,
  onChange,
  readOnly,
  compact,
}: {
  label: string;
  value: Json;
  onChange: (j: Json) => void;
  readOnly?: boolean;
  compact?: boolean;
}) {
  const [text, setText] = useState(() => JSON.stringify(value, null, compact ? 0 : 2));
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    // Another edit changed the value: show it, unless it is what the text already says.
    try {
      if (JSON.stringify(JSON.parse(text)) === JSON.stringify(value)) return;
    } catch {
      /* the text is being edited */
    }
    setText(JSON.stringify(value, null, compact ? 0 : 2));
  }, [value]);
  return (
    <span className="flex flex-1 flex-col gap-1">
      <textarea
        aria-label={label}
        className={`${inputClass} font-mono ${compact ? "h-9 w-56" : "h-32 w-full"}`}
        disabled={readOnly}
        spellCheck={false}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          try {
            const parsed = JSON.parse(e.target.value) as Json;
            setProblem(null);
            onChange(parsed);
          } catch (err) {
            setProblem(err instanceof Error ? err.message : "not JSON");
          }
        }}
      />
      {problem && <span className="text-xs text-red-700">Not JSON yet: {problem}</span>}
    </span>
  );
}

/** Adds a part to a group: a condition, a group, a negation, a loyalty block or raw JSON. */
function AddMenu({ onAdd }: { onAdd: (n: RuleNode) => void }) {
  const item = "cursor-pointer rounded px-2 py-1 text-sm outline-none data-[highlighted]:bg-slate-100";
  return (
    <Menu.Root modal={false}>
      <Menu.Trigger className={`${buttonClass} mt-1`}>Add…</Menu.Trigger>
      <Menu.Portal>
        <Menu.Content className="z-10 min-w-56 rounded border border-slate-200 bg-white p-1 shadow" align="start">
          <Menu.Item className={item} onSelect={() => onAdd(newCondition())}>
            Condition
          </Menu.Item>
          <Menu.Item className={item} onSelect={() => onAdd({ kind: "group", op: "and", children: [newCondition()] })}>
            Group: all of
          </Menu.Item>
          <Menu.Item className={item} onSelect={() => onAdd({ kind: "group", op: "or", children: [newCondition()] })}>
            Group: any of
          </Menu.Item>
          <Menu.Item className={item} onSelect={() => onAdd({ kind: "not", child: newCondition() })}>
            Not
          </Menu.Item>
          <Menu.Separator className="my-1 h-px bg-slate-200" />
          <Menu.Label className="px-2 text-xs text-slate-600">Loyalty blocks</Menu.Label>
          {LOYALTY_OPERATORS.filter((o) => o.role === "block").map((o) => (
            <Menu.Item key={o.op} className={item} onSelect={() => onAdd(newBlock(o.op))}>
              {o.label[0].toUpperCase() + o.label.slice(1)}
            </Menu.Item>
          ))}
          <Menu.Separator className="my-1 h-px bg-slate-200" />
          <Menu.Item className={item} onSelect={() => onAdd({ kind: "raw", json: { "==": [1, 1] } })}>
            Raw JSON
          </Menu.Item>
        </Menu.Content>
      </Menu.Portal>
    </Menu.Root>
  );
}
