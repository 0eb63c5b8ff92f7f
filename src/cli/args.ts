import { CliUsageError } from './errors.js';

/** A whole number from `min` to `max` given to `option`, or a usage error saying so. */
export function wholeNumber(value: string, option: string, min: number, max: number): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max)
    throw new CliUsageError(`${option}: "${value}" is not a whole number from ${min} to ${max}.`);
  return Number(value);
}
