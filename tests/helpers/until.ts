/** Waits until `check` gives a value (not undefined or false); fails naming `what` after a generous limit. */
export async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, limitMs = 15_000): Promise<T> {
  const end = Date.now() + limitMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
