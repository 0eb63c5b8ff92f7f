/**
 * The modules field of the template form: names separated by commas, spaces or new lines,
 * checked as the server checks them (src/odoo/template-recipe.ts) while the admin types.
 */
export const MODULE_NAME = /^[a-z0-9_]{1,64}$/;
export const MAX_MODULES = 50;

export type ParsedModules = { modules: string[]; problem: null } | { modules: string[]; problem: string };

export function parseModules(text: string): ParsedModules {
  const names = text.split(/[\s,]+/).filter((n) => n !== '');
  const modules: string[] = [];
  for (const name of names) {
    if (!MODULE_NAME.test(name))
      return {
        modules,
        problem: `“${name.slice(0, 70)}” is not an Odoo module name: lowercase letters, digits and underscores, at most 64.`,
      };
    if (name === 'base') continue;
    if (modules.includes(name)) return { modules, problem: `“${name}” is listed twice.` };
    modules.push(name);
  }
  if (modules.length > MAX_MODULES)
    return { modules, problem: `At most ${MAX_MODULES} modules besides base (${modules.length} listed).` };
  return { modules, problem: null };
}
