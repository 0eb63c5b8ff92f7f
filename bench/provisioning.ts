/**
 * Provisioning time: from the API request to the moment the new Odoo answers /web/login with 200,
 * and how it splits into the job's steps — the cold path (Odoo initializes each database) beside
 * copies of a template database (#18), in the same run. On the stand-in always; on real Odoo 17
 * with ODOO_SOURCE.
 */
import { benchMarina, hasTestImages } from './marina.js';
import { ms, percentile, report } from './report.js';

async function measure(label: string, env: Record<string, string>, runs: number): Promise<number> {
  const marina = await benchMarina(env);
  try {
    const totals: number[] = [];
    const steps = new Map<string, number[]>();
    // The first instance also creates the managed PostgreSQL server (and builds the template): measured apart.
    for (let run = 0; run <= runs; run++) {
      const started = performance.now();
      const startedAt = Date.now();
      const { job, instanceId } = await marina.provision(`i${run}`);
      const jobDone = performance.now();
      const url = await marina.services.instances.internalUrl(await marina.services.instances.row(instanceId));
      while ((await fetch(`${url}/web/login`).catch(() => undefined))?.status !== 200)
        await new Promise((r) => setTimeout(r, 20));
      const total = performance.now() - started;
      // Outside the steps: the request and queueing, the job's bookkeeping, Odoo's first login page.
      const outside = {
        'request → job started': Date.parse(job.startedAt ?? '') - startedAt,
        'job finished → /web/login 200': total - (jobDone - started),
      };
      if (run === 0) {
        report(`${label}: first instance (creates the PostgreSQL server, builds any template)`, ms(total));
        continue;
      }
      totals.push(total);
      for (const [name, took] of Object.entries(outside)) steps.set(name, [...(steps.get(name) ?? []), took]);
      for (const step of job.steps) {
        if (!step.startedAt || !step.finishedAt) continue;
        const took = new Date(step.finishedAt).getTime() - new Date(step.startedAt).getTime();
        steps.set(step.name, [...(steps.get(step.name) ?? []), took]);
      }
    }
    report(
      `${label}: request → /web/login 200, median of ${runs}`,
      `${ms(percentile(totals, 50))} (min ${ms(Math.min(...totals))}, max ${ms(Math.max(...totals))})`,
    );
    for (const [name, values] of steps)
      report(`  ${name.includes(' ') ? name : `step ${name}`}, median`, ms(percentile(values, 50)));
    return percentile(totals, 50);
  } finally {
    await marina.close();
  }
}

export async function provisioningBench(): Promise<void> {
  if (!(await hasTestImages())) {
    report(
      'provisioning',
      'skipped: no Docker engine or test images (bash scripts/ensure-docker.sh && bash scripts/build-test-images.sh)',
    );
    return;
  }
  await compare('stand-in', { MARINA_ODOO_17_IMAGE: 'marina-test/odoo-standin' }, 3, 5);
  const source = process.env.ODOO_SOURCE;
  if (!source) {
    report('real Odoo 17', 'skipped: set ODOO_SOURCE to an Odoo source tree');
    return;
  }
  const real = { MARINA_ODOO_17_IMAGE: 'marina-test/odoo-runtime', MARINA_ODOO_17_SOURCE: source };
  await compare('real Odoo 17', real, 3, 10);
}

/** The cold path and template copies side by side; the target is warm ≥ 4× faster (#18). */
async function compare(label: string, env: Record<string, string>, coldRuns: number, warmRuns: number): Promise<void> {
  const cold = await measure(`${label}, cold`, { ...env, MARINA_DB_TEMPLATES: 'off' }, coldRuns);
  const warm = await measure(`${label}, from a template`, { ...env, MARINA_DB_TEMPLATES: 'on' }, warmRuns);
  report(`${label}: cold ÷ template (target ≥ 4×)`, `${(cold / warm).toFixed(1)}× (${ms(cold)} / ${ms(warm)})`);
}
