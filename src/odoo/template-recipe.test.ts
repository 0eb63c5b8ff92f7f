import { describe, expect, it } from 'vitest';
import { initModules, recipeHash, templateModules } from './template-recipe.js';
import { versionFacts } from './versions.js';

describe('template recipes', () => {
  it('keeps module names in order, drops base, refuses duplicates, bad names and more than 50', () => {
    expect(templateModules(['base', 'sale', 'crm'])).toEqual({ modules: ['sale', 'crm'] });
    expect(templateModules(['sale', 'sale'])).toEqual({ problem: '"sale" is listed twice.' });
    for (const bad of [
      'Sale',
      'sale-x',
      'a,b',
      '-i',
      '--init=all',
      'a b',
      '../x',
      'x;id',
      '',
      'é',
      'a'.repeat(65),
      7,
    ]) {
      const checked = templateModules([bad]);
      expect('problem' in checked && checked.problem, String(bad)).toMatch(/is not an Odoo module name/);
    }
    expect(templateModules(Array.from({ length: 50 }, (_, i) => `m${i}`))).toHaveProperty('modules');
    expect(templateModules(Array.from({ length: 51 }, (_, i) => `m${i}`))).toEqual({
      problem: 'A template installs at most 50 modules besides base.',
    });
  });

  it('makes one -i value with base first, and refuses a name that is not one right before use', () => {
    expect(initModules([])).toBe('base');
    expect(initModules(['sale', 'base', 'crm'])).toBe('base,sale,crm');
    expect(() => initModules(['sale', '--load=evil'])).toThrow('"--load=evil" is not an Odoo module name');
    expect(() => initModules(['a,b'])).toThrow(/not an Odoo module name/);
  });

  it('hashes only the recipe, with the modules in any order', () => {
    const recipe = { odooVersion: '17.0', modules: ['b', 'a'], language: 'fr_BE', country: 'BE', demo: false };
    expect(recipeHash(recipe)).toMatch(/^[0-9a-f]{64}$/);
    expect(recipeHash({ ...recipe, modules: ['a', 'b'] })).toBe(recipeHash(recipe));
    expect(recipeHash({ ...recipe, demo: true })).not.toBe(recipeHash(recipe));
    expect(recipeHash({ ...recipe, country: null })).not.toBe(recipeHash(recipe));
  });

  it('loads demo data for one run the way each version reads its command line', () => {
    // 16–18: any command-line value replaces odoo.conf's; an empty one means "no module without demo".
    for (const v of ['16.0', '17.0', '18.0'] as const) expect(versionFacts(v).demoOverride).toBe('--without-demo=');
    // 19: without_demo became the boolean with_demo, set by --with-demo.
    expect(versionFacts('19.0').demoOverride).toBe('--with-demo');
  });
});
