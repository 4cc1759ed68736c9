export function Pager({ previous, next }: { previous?: () => void; next?: () => void }) {
  const button = "rounded border border-slate-300 px-3 py-1 text-sm disabled:opacity-40";
  return (
    <div className="mt-4 flex gap-2">
      <button type="button" className={button} disabled={!previous} onClick={previous}>
        Previous
      </button>
      <button type="button" className={button} disabled={!next} onClick={next}>
        Next
      </button>
    </div>
  );
}
