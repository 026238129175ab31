import pg from 'pg';

/** The channel `0005_execution_reports.sql` notifies on every committed outbox insert. */
export const OUTBOX_CHANNEL = 'meridian_outbox';

/**
 * LISTEN for new outbox rows on a server Postgres and call `onNotify` (e.g. `relay.wake()`), so an
 * approved order is dispatched within milliseconds instead of at the next poll. Holds one dedicated
 * connection and reconnects after it drops; polling still covers any notification lost meanwhile.
 * Returns a function that stops listening.
 */
export async function listenForOutbox(url: string, onNotify: () => void, onError?: (e: Error) => void): Promise<() => Promise<void>> {
  let client: pg.Client | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  const scheduleRetry = (): void => {
    if (stopped) return;
    retry = setTimeout(() => {
      connect().catch((x: unknown) => {
        onError?.(x as Error);
        scheduleRetry();
      });
    }, 1000);
  };
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url, application_name: 'meridian-outbox-listener' });
    c.on('notification', () => onNotify());
    c.on('error', (e: Error) => {
      onError?.(e);
      void c.end().catch(() => undefined);
      scheduleRetry();
    });
    await c.connect();
    await c.query(`LISTEN ${OUTBOX_CHANNEL}`);
    client = c;
    // rows may have arrived while we were (re)connecting
    onNotify();
  };
  await connect();
  return async () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    await client?.end().catch(() => undefined);
  };
}
