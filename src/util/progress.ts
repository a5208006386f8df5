/**
 * A progress bar with ETA on a TTY; plain lines (at most one per `every`
 * seconds) when output is a file or pipe, so logs stay readable.
 */
export class Progress {
  private readonly start = Date.now();
  private lastPlain = 0;
  private readonly tty: boolean;

  constructor(
    private readonly total: number,
    private readonly label: string,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly every = 10,
    private startCount = 0,
  ) {
    this.tty = Boolean(out.isTTY);
  }

  update(done: number, info = ''): void {
    const elapsed = (Date.now() - this.start) / 1000;
    const rate = (done - this.startCount) / Math.max(elapsed, 1e-9);
    const eta = rate > 0 ? (this.total - done) / rate : Infinity;
    const pct = this.total > 0 ? done / this.total : 1;
    const text = `${this.label} ${done}/${this.total} ${info} ETA ${fmt(eta)}`;
    if (this.tty) {
      const width = 24;
      const fill = Math.round(pct * width);
      this.out.write(`\r[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${text}\x1b[K`);
    } else if (elapsed - this.lastPlain >= this.every || done >= this.total) {
      this.lastPlain = elapsed;
      this.out.write(`${text}\n`);
    }
  }

  /** Ends the bar line on a TTY before other output. */
  done(): void {
    if (this.tty) this.out.write('\n');
  }
}

export function fmt(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}` : `${m}:${String(r).padStart(2, '0')}`;
}
