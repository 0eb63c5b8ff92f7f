/**
 * Provisioning time: from the API request to the moment the new Odoo answers /web/login with 200,
 * and how it splits into the job's steps. On the stand-in always; on real Odoo 17 with ODOO_SOURCE.
 */
import { benchMarina, hasTestImages } from './marina.js';
import { ms, percentile, report } from './report.js';

async function measure(label: string, env: Record<string, string>, runs: number): Promise<void> {
  const marina = await benchMarina(env);
  try {
    const totals: number[] = [];
    const steps = new Map<string, number[]>();
    // The first instance also creates the managed PostgreSQL server: measured apart.
    for (let run = 0; run <= runs; run++) {
      const started = performance.now();
      const { job, instanceId } = await marina.provision(`i${run}`);
      const url = await marina.services.instances.internalUrl(await marina.services.instances.row(instanceId));
      while ((await fetch(`${url}/web/login`).catch(() => undefined))?.status !== 200)
        await new Promise((r) => setTimeout(r, 20));
      const total = performance.now() - started;
      if (run === 0) {
        report(`${label}: first instance (creates the PostgreSQL server)`, ms(total));
        continue;
      }
      totals.push(total);
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
    for (const [name, values] of steps) report(`  step ${name}, median`, ms(percentile(values, 50)));
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
  await measure('stand-in', { MARINA_ODOO_17_IMAGE: 'marina-test/odoo-standin' }, 5);
  const source = process.env.ODOO_SOURCE;
  if (!source) {
    report('real Odoo 17', 'skipped: set ODOO_SOURCE to an Odoo source tree');
    return;
  }
  await measure('real Odoo 17', { MARINA_ODOO_17_IMAGE: 'marina-test/odoo-runtime', MARINA_ODOO_17_SOURCE: source }, 3);
}
