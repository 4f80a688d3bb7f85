/** Waits until the current minute has at least `seconds` left, so runs started now share one minute. */
export async function roomInMinute(seconds: number): Promise<void> {
  const left = 60 - (Date.now() / 1000) % 60;
  if (left < seconds) await new Promise((r) => setTimeout(r, left * 1000 + 200)); // wall time: the minute itself
}
