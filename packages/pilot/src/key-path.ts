/** A key path as a message shows it: `attributes.My_Attr`, with a component that is not a plain name quoted (`environment.":"`). */
export function keyPath(path: readonly PropertyKey[]): string {
  return path
    .map((part) =>
      typeof part === 'number' || /^[A-Za-z0-9_][A-Za-z0-9_-]*$/.test(String(part))
        ? String(part)
        : JSON.stringify(String(part)),
    )
    .join('.');
}
