/** A Server-Sent Events client over a real socket, for tests: collects events until told to stop. */
export interface SseEvent {
  event: string;
  id?: string;
  data: unknown;
  at: number;
}

export function openSse(url: string, headers: Record<string, string>) {
  const controller = new AbortController();
  const events: SseEvent[] = [];
  const listeners = new Set<() => void>();
  let failure: Error | undefined;
  const done = (async () => {
    const response = await fetch(url, { headers, signal: controller.signal });
    if (!response.ok || !response.body)
      throw new Error(`SSE ${url} answered ${response.status}: ${await response.text()}`);
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let split = buffer.indexOf('\n\n');
        while (split >= 0) {
          const block = buffer.slice(0, split);
          buffer = buffer.slice(split + 2);
          split = buffer.indexOf('\n\n');
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (!event || data === undefined) continue;
          events.push({ event, id: /^id: (.+)$/m.exec(block)?.[1], data: JSON.parse(data), at: Date.now() });
          for (const listener of listeners) listener();
        }
      }
    } catch (error) {
      if (!controller.signal.aborted) throw error;
    }
  })().catch((error: Error) => {
    // A refused or broken stream fails the waiting test at once, with the server's answer.
    failure = error;
    for (const listener of listeners) listener();
  });
  return {
    events,
    close: () => controller.abort(),
    done,
    /** Waits until an event passes the check; returns it. */
    waitFor(check: (e: SseEvent) => boolean, timeoutMs = 10_000): Promise<SseEvent> {
      return new Promise((resolve, reject) => {
        const test = () => {
          if (failure) {
            clearTimeout(timer);
            listeners.delete(test);
            reject(failure);
            return;
          }
          const found = events.find(check);
          if (found) {
            clearTimeout(timer);
            listeners.delete(test);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(test);
          reject(
            new Error(
              `no matching event within ${timeoutMs} ms; got ${events.length}: ${JSON.stringify(events.slice(-5))}`,
            ),
          );
        }, timeoutMs);
        listeners.add(test);
        test();
      });
    },
  };
}
