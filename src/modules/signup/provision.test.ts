import { describe, expect, it } from 'vitest';
import { workerSettings } from '../../odoo/sizing.js';
import type { PlanRow } from '../plans/limits.js';
import type { OdooTemplate } from './checks.js';
import { firstInstanceSize, odooLanguage } from './provision.js';

const plan = (limits: Partial<Pick<PlanRow, 'max_cpus' | 'max_memory_mb' | 'max_workers'>>): PlanRow =>
  ({ max_cpus: null, max_memory_mb: null, max_workers: null, ...limits }) as PlanRow;

describe('the first instance of a sign-up', () => {
  it('takes the usual size when the plan allows it, and the largest that fits otherwise', () => {
    expect(firstInstanceSize(plan({}))).toEqual({ cpus: 1, memoryMb: 2048 });
    expect(firstInstanceSize(plan({ max_memory_mb: 1536 }))).toEqual({ cpus: 1, memoryMb: 1024 });
    expect(firstInstanceSize(plan({ max_cpus: '0.5' }))).toEqual({ cpus: 0.5, memoryMb: 1024 });
    // No workers allowed: threaded Odoo, below 1 GiB.
    const threaded = firstInstanceSize(plan({ max_workers: 0 }));
    expect(threaded).toEqual({ cpus: 0.5, memoryMb: 768 });
    expect(workerSettings(threaded).workers).toBe(0);
    const fewWorkers = firstInstanceSize(plan({ max_workers: 2 }));
    expect(workerSettings(fewWorkers).workers).toBeLessThanOrEqual(2);
  });

  it("speaks the template's language, else the sign-up locale's, else English", () => {
    expect(odooLanguage({ language: 'nl_BE' } as OdooTemplate, 'fr')).toBe('nl_BE');
    expect(odooLanguage(undefined, 'fr')).toBe('fr_FR');
    expect(odooLanguage(undefined, 'fr-BE')).toBe('fr_FR');
    expect(odooLanguage(undefined, 'pt_BR')).toBe('pt_BR');
    expect(odooLanguage(undefined, 'xx')).toBe('en_US');
  });
});
