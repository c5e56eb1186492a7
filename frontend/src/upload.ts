// POST /upload with XMLHttpRequest: fetch has no upload progress. The option fields go before
// the file, so the upload role knows them before the first byte of video arrives.

import { ApiError, problemFrom } from "./problems";

export interface Accepted {
  job_id: string;
  status: string;
}

export interface Progress {
  loaded: number;
  total: number;
}

export class UploadCancelled extends Error {}

export interface Upload {
  done: Promise<Accepted>;
  cancel: () => void;
}

export function startUpload(
  token: string,
  file: File,
  options: [string, string][],
  onProgress: (progress: Progress) => void,
): Upload {
  const body = new FormData();
  for (const [name, value] of options) body.append(name, value);
  body.append("file", file, file.name);

  const xhr = new XMLHttpRequest();
  const done = new Promise<Accepted>((resolve, reject) => {
    xhr.upload.onprogress = (event) => {
      onProgress({ loaded: event.loaded, total: event.lengthComputable ? event.total : file.size });
    };
    xhr.onload = () => {
      if (xhr.status === 202) {
        resolve(JSON.parse(xhr.responseText) as Accepted);
      } else {
        reject(problemFrom(xhr.status, xhr.responseText, xhr.getResponseHeader("Retry-After")));
      }
    };
    xhr.onabort = () => reject(new UploadCancelled("upload cancelled"));
    xhr.onerror = () => reject(new ApiError(0, "Upload failed", "the connection was lost"));
  });
  xhr.open("POST", "/upload");
  xhr.setRequestHeader("Authorization", `Bearer ${token}`);
  xhr.send(body);
  return { done, cancel: () => xhr.abort() };
}
