// A job, attempt or agent state in its colour (style.css: .state-<STATE>).

/** A coloured state label. */
export function StateBadge({ state }: { state: string }) {
  return <span class={`state state-${state}`}>{state}</span>;
}
