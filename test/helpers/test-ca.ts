import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Throwaway certificate authorities and certificates for tests, made by Debian's openssl
 * (node:crypto reads certificates but cannot sign them). Validity counts from now, so no test
 * depends on a calendar date.
 */

const run = promisify(execFile);

export interface TestCertificate {
  certificatePath: string;
  keyPath: string;
  certificatePem: string;
  keyPem: string;
}

export interface TestCa extends TestCertificate {
  /** Issues a leaf for the names (DNS names, or IP addresses) signed by this CA. */
  issue(file: string, options: { names: string[]; commonName?: string; days?: number }): Promise<TestCertificate>;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A new CA in `dir` (files `<file>.pem` and `<file>.key`). */
export async function makeTestCa(
  dir: string,
  file: string,
  options: { commonName: string; organization?: string; days?: number },
): Promise<TestCa> {
  const certificatePath = join(dir, `${file}.pem`);
  const keyPath = join(dir, `${file}.key`);
  const subject = `${options.organization ? `/O=${options.organization}` : ''}/CN=${options.commonName}`;
  await run('openssl', [
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    keyPath,
    '-out',
    certificatePath,
    '-days',
    String(options.days ?? 7),
    '-subj',
    subject,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const ca = await readPair(certificatePath, keyPath);
  return {
    ...ca,
    issue: (leafFile, leaf) => makeLeaf(dir, leafFile, leaf, ['-CA', certificatePath, '-CAkey', keyPath]),
  };
}

/**
 * A certificate for the names signed by its own key, no CA behind it (what an operator's wildcard
 * or an organization's upload looks like to code that does not check the chain): `<file>.pem`
 * and `<file>.key` in `dir`.
 */
export function makeSelfSignedCertificate(
  dir: string,
  file: string,
  options: { names: string[]; commonName?: string; days?: number },
): Promise<TestCertificate> {
  return makeLeaf(dir, file, options, []);
}

async function makeLeaf(
  dir: string,
  file: string,
  leaf: { names: string[]; commonName?: string; days?: number },
  signer: string[],
): Promise<TestCertificate> {
  const certificatePath = join(dir, `${file}.pem`);
  const keyPath = join(dir, `${file}.key`);
  const alternativeNames = leaf.names.map((name) => (/^[\d.]+$|:/.test(name) ? `IP:${name}` : `DNS:${name}`)).join(',');
  await run('openssl', [
    'req',
    '-x509',
    ...EC_KEY,
    ...signer,
    '-keyout',
    keyPath,
    '-out',
    certificatePath,
    '-days',
    String(leaf.days ?? 7),
    '-subj',
    `/CN=${leaf.commonName ?? leaf.names[0]}`,
    '-addext',
    `subjectAltName=${alternativeNames}`,
    '-addext',
    'basicConstraints=critical,CA:FALSE',
    '-addext',
    'extendedKeyUsage=serverAuth',
  ]);
  return readPair(certificatePath, keyPath);
}

async function readPair(certificatePath: string, keyPath: string): Promise<TestCertificate> {
  return {
    certificatePath,
    keyPath,
    certificatePem: await readFile(certificatePath, 'utf8'),
    keyPem: await readFile(keyPath, 'utf8'),
  };
}
