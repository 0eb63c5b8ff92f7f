/**
 * A client that keeps asking a live Odoo something while a job runs, as its users would: each
 * answer (or failure) with its time. The restore bench measures downtime with it; the real-Odoo
 * tests check which data was served when.
 */
export interface Answer {
  at: number;
  /** What Odoo answered; undefined when it did not answer (refused, an error status, a timeout). */
  value: string | undefined;
}

export interface LivePoll {
  /** Stops asking; resolves with every answer in order. */
  stop(): Promise<Answer[]>;
  /**
   * Resolves once a question asked after `since` got an answer: Odoo answering its health check
   * does not mean the next question here was answered yet. Rejects after `timeoutMs`.
   */
  answeredAfter(since: number, timeoutMs: number): Promise<void>;
}

/** Asks `ask` every `everyMs` (never two at once) until stopped. */
export function pollLive(ask: () => Promise<string | undefined>, everyMs = 100): LivePoll {
  const answers: (Answer & { asked: number })[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const asked = Date.now();
      const value = await ask().catch(() => undefined);
      answers.push({ at: Date.now(), value, asked });
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return answers.map(({ at, value }) => ({ at, value }));
    },
    answeredAfter: async (since, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      while (!answers.some((a) => a.asked > since && a.value !== undefined)) {
        if (Date.now() > deadline) throw new Error(`nothing asked after the job was answered within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
    },
  };
}

/** `GET <url>/web/login` answered 200: what a user opening Odoo sees working. */
export const loginPage = (url: string) => async () => {
  const response = await fetch(`${url}/web/login`, { signal: AbortSignal.timeout(2000), redirect: 'manual' });
  await response.arrayBuffer();
  return response.status === 200 ? 'ok' : undefined;
};

/**
 * Downtime: the longest time from the last answer before a run of failures to the first answer
 * after it (0 when every request was answered).
 */
export function downtimeMs(answers: Answer[]): number {
  let longest = 0;
  let lastServed: number | undefined;
  let failing = false;
  for (const answer of answers) {
    if (answer.value === undefined) {
      failing = true;
      continue;
    }
    if (failing && lastServed !== undefined) longest = Math.max(longest, answer.at - lastServed);
    failing = false;
    lastServed = answer.at;
  }
  return longest;
}
