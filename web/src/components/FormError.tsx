import { coveredByFields, errorMessage } from '../api/errors';
import { Alert } from './Alert';

/** The form-level message, left out when the fields already show every problem next to their inputs. */
export function FormError({ error, fields }: { error: unknown; fields: readonly string[] }) {
  if (!error || coveredByFields(error, fields)) return null;
  return <Alert kind="error">{errorMessage(error)}</Alert>;
}
