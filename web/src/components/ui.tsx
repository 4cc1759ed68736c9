// Small building blocks of the pages: labelled fields with their API errors, buttons, alerts,
// and a dialog on Radix's accessible primitive.
import * as Dialog from "@radix-ui/react-dialog";
import { useId, type ReactNode } from "react";

export const buttonClass =
  "rounded border border-slate-300 bg-white px-3 py-1 text-sm hover:bg-slate-100 disabled:opacity-50";
export const primaryClass =
  "rounded bg-slate-900 px-4 py-2 text-sm text-white hover:bg-slate-700 disabled:opacity-50";
export const inputClass = "rounded border border-slate-400 bg-white px-2 py-1 text-sm";

/** A label, its control and the API's messages for it (tied to the control for screen readers). */
export function Field({
  label,
  errors = [],
  children,
  hint,
}: {
  label: string;
  errors?: string[];
  hint?: string;
  children: (props: { id: string; "aria-invalid"?: boolean; "aria-describedby"?: string }) => ReactNode;
}) {
  const id = useId();
  const describedBy = errors.length ? `${id}-errors` : hint ? `${id}-hint` : undefined;
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className="text-sm font-medium text-slate-700">
        {label}
      </label>
      {children({ id, "aria-invalid": errors.length ? true : undefined, "aria-describedby": describedBy })}
      {hint && !errors.length && (
        <span id={`${id}-hint`} className="text-xs text-slate-600">
          {hint}
        </span>
      )}
      {errors.length > 0 && (
        <span id={`${id}-errors`} className="text-sm text-red-700" data-testid="field-error">
          {errors.join("; ")}
        </span>
      )}
    </div>
  );
}

export function Alert({ children }: { children: ReactNode }) {
  return (
    <p role="alert" className="my-2 rounded border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800">
      {children}
    </p>
  );
}

export function Notice({ children }: { children: ReactNode }) {
  return (
    <p role="status" className="my-2 rounded border border-emerald-300 bg-emerald-50 px-3 py-2 text-sm text-emerald-900">
      {children}
    </p>
  );
}

/**
 * A dialog over the page: focus moves into it and back, Escape closes it, the title names it.
 * Radix's non-modal mode: the modal one injects <style> elements (react-remove-scroll), which
 * the Content-Security-Policy (style-src 'self') refuses.
 */
export function Modal({
  open,
  onOpenChange,
  title,
  description,
  children,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: string;
  description?: string;
  children: ReactNode;
}) {
  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange} modal={false}>
      <Dialog.Portal>
        <div className="fixed inset-0 bg-slate-900/40" aria-hidden="true" />
        <Dialog.Content
          className="fixed left-1/2 top-1/2 max-h-[90vh] w-[36rem] max-w-[95vw] -translate-x-1/2 -translate-y-1/2 overflow-y-auto rounded bg-white p-6 shadow-xl"
          {...(description ? {} : { "aria-describedby": undefined })}
        >
          <Dialog.Title className="mb-2 text-lg font-semibold">{title}</Dialog.Title>
          {description && (
            <Dialog.Description className="mb-4 text-sm text-slate-600">{description}</Dialog.Description>
          )}
          {children}
          <Dialog.Close asChild>
            <button type="button" className={`${buttonClass} absolute right-4 top-4`} aria-label="Close">
              ×
            </button>
          </Dialog.Close>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
