import { createHash, randomBytes } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';

/** RFC 6455: what a server appends to the client's key before hashing it into Sec-WebSocket-Accept. */
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface WebsocketOptions {
  /** Where to connect: 127.0.0.1 unless given (an instance's container address, say). */
  address?: string;
  /** The edge's port, or an instance's own port. */
  port: number;
  /** The name asked for (Host header and, over TLS, SNI). */
  hostname: string;
  path: string;
  /** Over TLS, trusting `ca` (any certificate without it: tests that do not check the chain); plain HTTP if unset. */
  tls?: { ca?: string };
  timeoutMs?: number;
  /** How long to read frames after the handshake when the server keeps the websocket open. */
  readMs?: number;
}

export interface WebsocketAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** Sec-WebSocket-Accept is this server's proof it read our key (RFC 6455 §4.2.2). */
  acceptMatches: boolean;
  /** The text frames the server sent before it closed (only after a 101). */
  messages: string[];
}

/** Text frames in what a server sent (unmasked frames; a close frame ends the list). */
function textFrames(data: Buffer): string[] {
  const messages: string[] = [];
  let at = 0;
  while (at + 2 <= data.length) {
    const opcode = (data[at] ?? 0) & 0x0f;
    let size = (data[at + 1] ?? 0) & 0x7f;
    let start = at + 2;
    if (size === 126) {
      size = data.readUInt16BE(start);
      start += 2;
    } else if (size === 127) {
      size = Number(data.readBigUInt64BE(start));
      start += 8;
    }
    if (start + size > data.length) break;
    if (opcode === 0x8) break;
    if (opcode === 0x1) messages.push(data.subarray(start, start + size).toString('utf8'));
    at = start + size;
  }
  return messages;
}

/**
 * A websocket opened by hand (HTTP/1.1 Upgrade), then read until the server closes: the status
 * (101 when a websocket opened), whether the accept header answers our key, and the text frames.
 */
export function openWebsocket(options: WebsocketOptions): Promise<WebsocketAnswer> {
  const key = randomBytes(16).toString('base64');
  const expected = createHash('sha1').update(`${key}${WEBSOCKET_GUID}`).digest('base64');
  const scheme = options.tls ? 'https' : 'http';
  const requestOptions: http.RequestOptions = {
    host: options.address ?? '127.0.0.1',
    port: options.port,
    path: options.path,
    agent: false,
    headers: {
      host: `${options.hostname}:${options.port}`,
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': key,
      origin: `${scheme}://${options.hostname}:${options.port}`,
    },
  };
  return new Promise((resolve, reject) => {
    const request = options.tls
      ? https.request({
          ...requestOptions,
          servername: options.hostname,
          ...(options.tls.ca ? { ca: options.tls.ca } : { rejectUnauthorized: false }),
        })
      : http.request(requestOptions);
    const timer = setTimeout(
      () => request.destroy(new Error(`no answer to the upgrade of ${options.path}`)),
      options.timeoutMs ?? 20_000,
    );
    const answer = (status: number | undefined, headers: IncomingHttpHeaders, messages: string[]) => {
      clearTimeout(timer);
      resolve({ status: status ?? 0, headers, acceptMatches: headers['sec-websocket-accept'] === expected, messages });
    };
    request.on('upgrade', (response, socket: Duplex, head: Buffer) => {
      const chunks: Buffer[] = [head];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      clearTimeout(timer);
      let answered = false;
      const done = () => {
        if (answered) return;
        answered = true;
        socket.destroy();
        answer(response.statusCode, response.headers, textFrames(Buffer.concat(chunks)));
      };
      setTimeout(done, options.readMs ?? 3_000);
      socket.once('end', done);
      socket.once('close', done);
      socket.once('error', done);
    });
    request.on('response', (response) => {
      response.resume();
      response.on('end', () => answer(response.statusCode, response.headers, []));
    });
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end();
  });
}
