import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { DatabaseTemplateRecipe } from '../../../db/schema.js';
import { moduleClosure } from '../../../odoo/module-closure.js';
import type { CatalogEntry } from '../../../odoo/versions.js';

/** What a new database is asked to be made of: the template's modules, language, demo flag. */
export interface TemplateRequest {
  catalog: CatalogEntry;
  /** The image's content id on the host (`Runtime.imageId`). */
  imageId: string;
  modules: readonly string[];
  language: string;
  demo: boolean;
}

export interface TemplateKey {
  recipe: DatabaseTemplateRecipe;
  /** Everything a copy is made of: any change (image, a module's content) means another template. */
  keyHash: string;
  /** The request alone: a newer build of it replaces the older one. */
  recipeHash: string;
  /** Modules no addons folder has: Odoo would refuse them, so the cold path says why. */
  missing: string[];
}

const sha256 = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');

/**
 * Keys a template like click-odoo-initdb: Odoo version and image, every module the run would
 * install (with dependencies and auto-installed modules) and their content checksums, language,
 * demo flag. With Odoo's source inside the image, the image id stands for the modules' contents.
 */
export async function templateKey(request: TemplateRequest): Promise<TemplateKey> {
  const wanted = [...new Set(request.modules.filter((m) => m !== 'base'))].sort();
  const source = request.catalog.sourceMount;
  const closure = source ? await moduleClosure([join(source, 'odoo', 'addons'), join(source, 'addons')], wanted) : null;
  const recipe: DatabaseTemplateRecipe = {
    odooVersion: request.catalog.version,
    image: request.catalog.image,
    imageId: request.imageId,
    modules: closure?.modules ?? ['base', ...wanted],
    checksum: closure?.checksum ?? null,
    language: request.language,
    demo: request.demo,
  };
  return {
    recipe,
    keyHash: sha256({ ...recipe, source: source ?? null }),
    recipeHash: sha256({ version: recipe.odooVersion, wanted, language: recipe.language, demo: recipe.demo }),
    missing: closure?.missing ?? [],
  };
}
