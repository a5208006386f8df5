/**
 * Ctrl-C for long jobs: the first SIGINT prints `message` and aborts the returned
 * signal (the job stops at its next safe point); a second one quits at once (exit 130).
 */
export function interruptSignal(message: string): AbortSignal {
  const ctl = new AbortController();
  process.on('SIGINT', () => {
    if (ctl.signal.aborted) process.exit(130);
    process.stderr.write(`\n${message} (Ctrl-C again to quit now)\n`);
    ctl.abort();
  });
  return ctl.signal;
}
