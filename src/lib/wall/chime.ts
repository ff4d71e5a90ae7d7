/**
 * The wall's chime: two soft tones from the Web Audio API (no sound file to fetch). Browsers allow
 * sound only after a gesture or with an autoplay policy; a kiosk browser is started with
 * `--autoplay-policy=no-user-gesture-required`. Returns false when the browser kept it silent.
 */
let context: AudioContext | null = null;

export async function playChime(volume = 0.18): Promise<boolean> {
  try {
    context ??= new AudioContext();
    if (context.state === 'suspended') await context.resume().catch(() => undefined);
    if (context.state !== 'running') return false;
    const start = context.currentTime + 0.02;
    for (const [i, frequency] of [880, 660].entries()) {
      const osc = context.createOscillator();
      const gain = context.createGain();
      osc.type = 'sine';
      osc.frequency.value = frequency;
      const t = start + i * 0.28;
      gain.gain.setValueAtTime(0, t);
      gain.gain.linearRampToValueAtTime(volume, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.6);
      osc.connect(gain).connect(context.destination);
      osc.start(t);
      osc.stop(t + 0.65);
    }
    return true;
  } catch {
    return false;
  }
}

/** Whether the browser lets this page make sound without a gesture right now. */
export function audioAllowed(): boolean {
  const nav = navigator as Navigator & { getAutoplayPolicy?: (type: string) => string };
  if (typeof nav.getAutoplayPolicy === 'function') return nav.getAutoplayPolicy('audiocontext') === 'allowed';
  return context?.state === 'running';
}
