import { createHash } from 'node:crypto';

/**
 * What an Odoo template makes a new database with (src/modules/templates), as pure rules: the
 * module names it may install, the language and country codes, and the recipe's hash. The
 * provisioning job checks the names again right before they reach Odoo's `-i`.
 */

/** A template's module name: Odoo's technical names, short enough for any Odoo. */
export const TEMPLATE_MODULE_NAME = /^[a-z0-9_]{1,64}$/;
export const TEMPLATE_MAX_MODULES = 50;
/** The language codes the instance form accepts (en_US, fr_BE, sr@latin). */
export const LANGUAGE_CODE = /^[a-z]{2,3}(_[A-Z]{2})?(@[a-z]+)?$/;
/** ISO 3166-1 alpha-2, upper case. */
export const COUNTRY_CODE = /^[A-Z]{2}$/;

export interface TemplateRecipe {
  odooVersion: string;
  modules: readonly string[];
  language: string;
  country: string | null;
  demo: boolean;
}

/**
 * A template's module list as stored: each name checked, no duplicates, `base` dropped (it is
 * always installed), in the order given. Returns the problem in words, or the list.
 */
export function templateModules(names: readonly unknown[]): { modules: string[] } | { problem: string } {
  const modules: string[] = [];
  for (const [i, name] of names.entries()) {
    if (typeof name !== 'string' || !TEMPLATE_MODULE_NAME.test(name)) {
      const shown = typeof name === 'string' ? `"${name.slice(0, 70)}"` : `item ${i + 1}`;
      return {
        problem: `${shown} is not an Odoo module name: 1 to 64 lowercase letters, digits and underscores (sale_management).`,
      };
    }
    if (name === 'base') continue;
    if (modules.includes(name)) return { problem: `"${name}" is listed twice.` };
    modules.push(name);
  }
  if (modules.length > TEMPLATE_MAX_MODULES)
    return { problem: `A template installs at most ${TEMPLATE_MAX_MODULES} modules besides base.` };
  return { modules };
}

/**
 * The `-i` value of a new database made with these modules: `base` first, in one run. Throws
 * when a name is not a module name — a row changed behind Marina's back never reaches Odoo.
 */
export function initModules(modules: readonly string[]): string {
  for (const name of modules) {
    if (!TEMPLATE_MODULE_NAME.test(name)) throw new Error(`"${name.slice(0, 70)}" is not an Odoo module name`);
  }
  return ['base', ...modules.filter((m) => m !== 'base')].join(',');
}

/**
 * sha256 of the recipe as canonical JSON (fixed key order, modules sorted): two templates that
 * make the same database have the same hash, whatever their names — what prepared template
 * databases (#18) will be keyed by.
 */
export function recipeHash(recipe: TemplateRecipe): string {
  // Keys written in this order always: the JSON text is the same for the same recipe.
  const canonical = JSON.stringify({
    version: recipe.odooVersion,
    modules: [...recipe.modules].sort(),
    language: recipe.language,
    country: recipe.country,
    demo: recipe.demo,
  });
  return createHash('sha256').update(canonical).digest('hex');
}
