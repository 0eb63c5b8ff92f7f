import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Paynow's message hash (developers.paynow.co.zw, "Generating Hash" / "Validating Hash"): the
 * SHA-512 of every value of the message in message order except `hash`, followed by the
 * integration key, UTF-8 encoded, as uppercase hexadecimal. There is no separator and the field
 * names take no part, so the order is the whole of the structure: fields stay an ordered list of
 * pairs here, never an object whose key order someone could "tidy".
 */
export type PaynowFields = ReadonlyArray<readonly [string, string]>;

/** The hash field, matched without regard to case as Paynow's own PHP sample does. */
const isHashField = (name: string) => name.toLowerCase() === 'hash';

export function paynowHash(fields: PaynowFields, integrationKey: string): string {
  const digest = createHash('sha512');
  for (const [name, value] of fields) {
    // Values are hashed raw (already URL-decoded): the documented examples hash "TEST REF", not "TEST+REF".
    if (!isHashField(name)) digest.update(value, 'utf8');
  }
  digest.update(integrationKey, 'utf8');
  return digest.digest('hex').toUpperCase();
}

/**
 * Whether `fields` carry exactly one `hash` and it is the one the key gives. Two hash fields are
 * refused rather than picking one: whichever a reader took, the other is unchecked. The compare
 * takes the same time however many leading characters match, so a forger learns nothing from it.
 */
export function verifyPaynowHash(fields: PaynowFields, integrationKey: string): boolean {
  const given = fields.filter(([name]) => isHashField(name));
  if (given.length !== 1) return false;
  const expected = Buffer.from(paynowHash(fields, integrationKey), 'utf8');
  const actual = Buffer.from((given[0] as readonly [string, string])[1], 'utf8');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** The message with its hash appended: how every outbound Paynow message is finished. */
export function signPaynowFields(fields: PaynowFields, integrationKey: string): Array<[string, string]> {
  const unsigned = fields.filter(([name]) => !isHashField(name)).map(([n, v]): [string, string] => [n, v]);
  unsigned.push(['hash', paynowHash(unsigned, integrationKey)]);
  return unsigned;
}

/** `a=1&b=2`, form-encoded in the given order (the order the hash was computed in). */
export function encodePaynowForm(fields: PaynowFields): string {
  return new URLSearchParams(fields.map(([n, v]): [string, string] => [n, v])).toString();
}

/**
 * The ordered, URL-decoded pairs of a form-encoded Paynow message. Paynow answers with
 * lowercase percent escapes (`https%3a%2f%2f`) and `+` for spaces; URLSearchParams reads both.
 */
export function parsePaynowForm(body: string): Array<[string, string]> {
  return [...new URLSearchParams(body.trim())];
}
