/**
 * The chime for new critical incidents: two short tones made with WebAudio (no audio file to
 * fetch or cache). Browsers start audio only after a user gesture, so {@link Chime.unlock} is
 * called on the first key press or click; until then a chime is skipped rather than queued.
 */

/** One chime per this many ms at most: a storm of criticals rings once, not fifty times. */
export const CHIME_MIN_INTERVAL_MS = 5000;

export class Chime {
  #context: AudioContext | null = null;
  #lastAt = -Infinity;

  /** Creates or resumes the audio context; call from a user gesture. */
  unlock(): void {
    const AudioContextClass = globalThis.AudioContext;
    if (!AudioContextClass) return;
    this.#context ??= new AudioContextClass();
    if (this.#context.state === 'suspended') void this.#context.resume().catch(() => {});
  }

  /**
   * Plays the chime unless one played less than {@link CHIME_MIN_INTERVAL_MS} ago (`force`: play
   * anyway, to let people hear what they turned on). Returns whether it played.
   */
  play(force = false): boolean {
    const now = performance.now();
    if (!force && now - this.#lastAt < CHIME_MIN_INTERVAL_MS) return false;
    const context = this.#context;
    if (!context || context.state !== 'running') return false;
    this.#lastAt = now;
    const start = context.currentTime + 0.01;
    // A falling fourth, like a ship's bell: urgent but not a siren.
    this.#tone(context, 987.77, start, 0.22);
    this.#tone(context, 739.99, start + 0.2, 0.35);
    return true;
  }

  #tone(context: AudioContext, frequency: number, at: number, duration: number): void {
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    oscillator.type = 'sine';
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.25, at + 0.015);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + duration);
    oscillator.connect(gain).connect(context.destination);
    oscillator.start(at);
    oscillator.stop(at + duration + 0.02);
  }

  close(): void {
    void this.#context?.close().catch(() => {});
    this.#context = null;
  }
}
