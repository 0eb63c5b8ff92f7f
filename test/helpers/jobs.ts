/** Follows a job's Server-Sent Events over a real socket until it ends; returns the final job and the events seen. */
export async function followJob(
  baseUrl: string,
  headers: Record<string, string>,
  jobId: string,
  timeoutMs = 120_000,
): Promise<{
  job: {
    status: string;
    progress: number;
    steps: { name: string; status: string; startedAt?: string | null; finishedAt?: string | null }[];
    error: { code: string; message: string; step: string | null } | null;
    result: Record<string, unknown> | null;
  };
  progress: number[];
  logs: string[];
}> {
  const response = await fetch(`${baseUrl}/api/v1/jobs/${jobId}/events`, {
    headers,
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok || !response.body) throw new Error(`job events answered ${response.status}`);
  const decoder = new TextDecoder();
  let buffer = '';
  const progress: number[] = [];
  const logs: string[] = [];
  let last: unknown;
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let split = buffer.indexOf('\n\n');
    while (split >= 0) {
      const block = buffer.slice(0, split);
      buffer = buffer.slice(split + 2);
      split = buffer.indexOf('\n\n');
      const event = /^event: (.+)$/m.exec(block)?.[1];
      const data = /^data: (.+)$/m.exec(block)?.[1];
      if (!event || !data) continue;
      const parsed = JSON.parse(data);
      if (event === 'job') {
        last = parsed;
        progress.push(parsed.progress);
      }
      if (event === 'log') logs.push(parsed.message);
      if (event === 'end') return { job: last as never, progress, logs };
    }
  }
  throw new Error(`the job stream ended without an end event; last: ${JSON.stringify(last)}`);
}
