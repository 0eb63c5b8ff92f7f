import { lazyImport } from '../../platform/lazy.js';

/** mailparser (with its charset tables, HTML-to-text and nodemailer) is loaded for the first caught mail. */
export const loadMailparser = lazyImport(() => import('mailparser'));
