/**
 * Every way a Paynow exchange can fail, so a caller decides per kind (retry a timeout, show a
 * rejection to the customer, alert the platform admin on a hash mismatch) instead of reading
 * messages:
 * - invalid:   refused before anything was sent (a caller's input, or a poll URL off Paynow's origin)
 * - network:   no answer at all (refused connection, reset, DNS)
 * - timeout:   no complete answer within `timeoutMs`
 * - http:      an answer that is not 2xx (Paynow's API answers errors as 200 `status=Error`)
 * - rejected:  Paynow answered `status=Error`; `paynowMessage` holds its reason
 * - hash:      a message whose hash is missing or wrong: never act on it
 * - malformed: an answer that is not the documented form (no status, bad amount, missing field)
 */
export type PaynowErrorKind = 'invalid' | 'network' | 'timeout' | 'http' | 'rejected' | 'hash' | 'malformed';

export class PaynowError extends Error {
  override readonly name = 'PaynowError';
  readonly kind: PaynowErrorKind;
  /** The HTTP status of a `http` failure. */
  readonly httpStatus: number | undefined;
  /** Paynow's own words for a `rejected` request ("Insufficient balance", "Invalid hash"). */
  readonly paynowMessage: string | undefined;

  constructor(
    kind: PaynowErrorKind,
    message: string,
    details: { cause?: unknown; httpStatus?: number; paynowMessage?: string } = {},
  ) {
    super(`Paynow ${kind}: ${message}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    this.httpStatus = details.httpStatus;
    this.paynowMessage = details.paynowMessage;
  }
}
