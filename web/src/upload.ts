import { csrfHeader, sessionEnded } from './api/client';
import { ApiError, toApiError } from './api/errors';

export interface UploadProgress {
  loaded: number;
  total: number;
}

export interface Upload<T> {
  done: Promise<T>;
  abort(): void;
}

/**
 * POSTs a file as the raw request body with XMLHttpRequest, which (unlike fetch) reports upload
 * progress. Same session cookie and CSRF header as the API client; Marina's errors come back as ApiError.
 */
export function uploadFile<T>(
  url: string,
  file: Blob,
  contentType: string,
  onProgress: (progress: UploadProgress) => void,
): Upload<T> {
  const xhr = new XMLHttpRequest();
  const done = new Promise<T>((resolve, reject) => {
    xhr.open('POST', url);
    xhr.responseType = 'text';
    xhr.setRequestHeader('Content-Type', contentType);
    xhr.setRequestHeader('Accept', 'application/json');
    for (const [name, value] of Object.entries(csrfHeader())) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener('progress', (event) => {
      onProgress({ loaded: event.loaded, total: event.lengthComputable ? event.total : file.size });
    });
    xhr.upload.addEventListener('load', () => onProgress({ loaded: file.size, total: file.size }));
    xhr.addEventListener('load', () => {
      let body: unknown = null;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(body as T);
        return;
      }
      if (xhr.status === 401) sessionEnded();
      reject(toApiError(xhr.status, body));
    });
    xhr.addEventListener('error', () =>
      reject(
        new ApiError(
          0,
          'MARINA_E_NETWORK',
          'The upload was interrupted: Marina could not be reached, or it closed the connection (a file over the upload limit is refused this way by some proxies).',
        ),
      ),
    );
    xhr.addEventListener('abort', () => reject(new ApiError(0, 'MARINA_E_ABORTED', 'The upload was cancelled.')));
    xhr.send(file);
  });
  return { done, abort: () => xhr.abort() };
}
