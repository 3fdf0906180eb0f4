// Which saved runs a tab of this page is training now: the worker that holds a run
// (training or paused) holds a Web Lock named for its saved run, and the browser lets it
// go when the worker or its tab goes. Another tab reads the locks held: such a run is
// not "interrupted", and it is not resumed twice into the same saved entry.

/** The lock a tab holds while its worker holds the saved run `id` live. */
export const savedRunLock = (id: string) => `prelora-playground:run:${id}`;

/** The browser's lock manager, where there is one (not in Node; a page served over plain http from afar has none). */
const locks = (): LockManager | undefined => (globalThis.navigator as Navigator | undefined)?.locks;

/** Hold lock `name` until the function returned is called (or the worker goes); nothing where there are no locks. */
export function holdLock(name: string): () => void {
  const manager = locks();
  if (!manager) return () => {};
  let release!: () => void;
  const held = new Promise<void>((resolve) => { release = resolve; });
  void manager.request(name, () => held);
  return release;
}

/** The names of the locks held now, in any tab of this page (none known where there are no locks). */
export async function heldLocks(): Promise<Set<string>> {
  const manager = locks();
  if (!manager) return new Set();
  const { held = [] } = await manager.query();
  return new Set(held.flatMap((l) => (l.name ? [l.name] : [])));
}
