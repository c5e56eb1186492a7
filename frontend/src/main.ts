// The page: sign in, convert (upload with progress), the jobs list kept live, the account.

import "./styles.css";

import { Account } from "./account";
import { announce, byId, el, humanBytes, show } from "./dom";
import { LiveEvents } from "./events";
import { JobList } from "./jobs";
import { ApiError, messageOf } from "./problems";
import { Session, SessionEnded } from "./session";
import { type Upload, UploadCancelled, startUpload } from "./upload";

// The option fields of the form, in the order they are sent (all before the file).
const OPTION_FIELDS = [
  "preset",
  "bitrate",
  "quality",
  "sample_rate",
  "channels",
  "start",
  "end",
  "loudness",
  "title",
  "artist",
  "album",
  "year",
  "cover",
] as const;

const session = new Session();
const signInSection = byId("signin", HTMLElement);
const appSection = byId("app", HTMLElement);
const signOutButton = byId("signout", HTMLButtonElement);
const jobs = new JobList(
  session,
  byId("job-list", HTMLOListElement),
  byId("jobs-empty", HTMLElement),
  byId("jobs-error", HTMLElement),
);
const live = new LiveEvents(session, {
  onOpen: () => void jobs.reload(),
  onEvent: (name, data) => jobs.onEvent(name, data),
});
const account = new Account(session, () => {
  void signOut("Your password was changed and every session ended. Sign in with the new password.");
});

function showSignedIn(signedIn: boolean): void {
  show(signInSection, !signedIn);
  show(appSection, signedIn);
  show(signOutButton, signedIn);
}

async function enter(): Promise<void> {
  showSignedIn(true);
  // The list is read now, and again each time the live stream (re)connects: a job that ended
  // while no stream was open is not sent by the stream (it opens with the jobs in flight).
  live.start();
  await Promise.all([jobs.reload(), loadPresets(), account.load()]);
}

function leave(message: string): void {
  live.stop();
  cancelUpload();
  jobs.clear();
  account.clear();
  showSignedIn(false);
  const box = byId("signin-error", HTMLElement);
  box.textContent = message;
  byId("email", HTMLInputElement).focus();
  announce(message);
}

async function signOut(message: string): Promise<void> {
  await session.signOut();
  leave(message);
}

session.onEnded = (reason) => leave(reason);

// --- Sign in -------------------------------------------------------------------------------

byId("signin-form", HTMLFormElement).addEventListener("submit", (event) => {
  event.preventDefault();
  void signIn();
});

async function signIn(): Promise<void> {
  const button = byId("signin-button", HTMLButtonElement);
  const box = byId("signin-error", HTMLElement);
  const email = byId("email", HTMLInputElement).value.trim();
  const password = byId("password", HTMLInputElement);
  box.textContent = "";
  button.disabled = true;
  try {
    await session.signIn(email, password.value);
    password.value = "";
    announce(`Signed in as ${email}`);
    await enter();
    byId("file", HTMLInputElement).focus();
  } catch (error) {
    box.textContent = signInMessage(error);
    password.focus();
  } finally {
    button.disabled = false;
  }
}

function signInMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 400 && error.code === "invalid_grant") {
      return "Wrong email or password (or the account is disabled).";
    }
    if (error.status === 429) {
      const wait = error.retryAfter ?? 60;
      return `Too many sign-in attempts. Try again in ${wait} second${wait === 1 ? "" : "s"}.`;
    }
    if (error.status === 503) return "The server is busy. Try again in a moment.";
  }
  return messageOf(error);
}

signOutButton.addEventListener("click", () => void signOut("You are signed out."));

// --- Convert -------------------------------------------------------------------------------

const fileInput = byId("file", HTMLInputElement);
const dropZone = byId("drop-zone", HTMLElement);
const chosen = byId("file-chosen", HTMLElement);
const convertButton = byId("convert-button", HTMLButtonElement);
const cancelButton = byId("cancel-button", HTMLButtonElement);
const progressBox = byId("upload-progress", HTMLElement);
const progressBar = byId("upload-bar", HTMLProgressElement);
const progressText = byId("upload-text", HTMLElement);
const convertErrors = byId("convert-errors", HTMLElement);
let upload: Upload | null = null;

function describeChosen(): void {
  const file = fileInput.files?.[0];
  chosen.textContent = file === undefined ? "" : `${file.name} (${humanBytes(file.size)})`;
}

fileInput.addEventListener("change", describeChosen);
for (const name of ["dragenter", "dragover"]) {
  dropZone.addEventListener(name, (event) => {
    event.preventDefault();
    dropZone.classList.add("dragging");
  });
}
for (const name of ["dragleave", "drop"]) {
  dropZone.addEventListener(name, () => dropZone.classList.remove("dragging"));
}
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  const files = event.dataTransfer?.files;
  if (files === undefined || files.length === 0) return;
  const transfer = new DataTransfer();
  const first = files[0];
  if (first !== undefined) transfer.items.add(first);
  fileInput.files = transfer.files;
  describeChosen();
  announce(`${first?.name ?? "A file"} chosen`);
});

async function loadPresets(): Promise<void> {
  const select = byId("opt-preset", HTMLSelectElement);
  if (select.options.length > 1) return;
  try {
    const response = await fetch("/presets");
    if (!response.ok) return;
    const presets = (await response.json()) as { name: string; description: string }[];
    for (const preset of presets) {
      select.append(el("option", { text: `${preset.name}: ${preset.description}`, attrs: { value: preset.name } }));
    }
  } catch {
    // Presets are a convenience: the form works without them.
  }
}

function optionValues(): [string, string][] {
  const values: [string, string][] = [];
  for (const name of OPTION_FIELDS) {
    const field = document.getElementById(`opt-${name.replace("_", "-")}`);
    if (field instanceof HTMLInputElement || field instanceof HTMLSelectElement) {
      const value = field.value.trim();
      if (value !== "") values.push([name, value]);
    }
  }
  return values;
}

function clearFieldErrors(): void {
  convertErrors.replaceChildren();
  for (const field of document.querySelectorAll("#convert-form [aria-invalid]")) {
    field.removeAttribute("aria-invalid");
  }
}

function showConvertError(error: ApiError): void {
  const items = error.fields.map(({ field, message }) => {
    const input = document.getElementById(field === "file" ? "file" : `opt-${field.replace("_", "-")}`);
    input?.setAttribute("aria-invalid", "true");
    return el("li", { text: `${field}: ${message}` });
  });
  convertErrors.replaceChildren(
    el("p", { class: "error-title", text: error.title }),
    el("p", { text: error.detail }),
  );
  if (items.length > 0) convertErrors.append(el("ul", {}, ...items));
  if (error.retryAfter !== null) {
    convertErrors.append(el("p", { text: `Try again in ${error.retryAfter} s.` }));
  }
}

byId("convert-form", HTMLFormElement).addEventListener("submit", (event) => {
  event.preventDefault();
  void convert();
});
cancelButton.addEventListener("click", cancelUpload);

function cancelUpload(): void {
  upload?.cancel();
}

function uploading(active: boolean): void {
  convertButton.disabled = active;
  show(cancelButton, active);
  show(progressBox, active);
}

async function convert(): Promise<void> {
  clearFieldErrors();
  const file = fileInput.files?.[0];
  if (file === undefined) {
    convertErrors.replaceChildren(el("p", { class: "error-title", text: "Choose a video file first." }));
    fileInput.focus();
    return;
  }
  progressBar.value = 0;
  progressText.textContent = `0 B of ${humanBytes(file.size)} (0%)`;
  uploading(true);
  try {
    const token = await session.token();
    upload = startUpload(token, file, optionValues(), ({ loaded, total }) => {
      const percent = total > 0 ? Math.floor((loaded / total) * 100) : 0;
      progressBar.value = percent;
      progressText.textContent = `${humanBytes(loaded)} of ${humanBytes(total)} (${percent}%)`;
    });
    const accepted = await upload.done;
    jobs.added(accepted.job_id, file.name);
    fileInput.value = "";
    describeChosen();
  } catch (error) {
    if (error instanceof UploadCancelled) {
      announce("Upload cancelled");
      convertErrors.replaceChildren(el("p", { text: "Upload cancelled." }));
    } else if (error instanceof ApiError) {
      showConvertError(error);
      announce(`Upload refused: ${error.title}`);
    } else if (!(error instanceof SessionEnded)) {
      convertErrors.replaceChildren(el("p", { text: messageOf(error) }));
    }
  } finally {
    upload = null;
    uploading(false);
  }
}

// --- Start ---------------------------------------------------------------------------------

async function start(): Promise<void> {
  if (!session.hasRefreshToken) {
    showSignedIn(false);
    return;
  }
  try {
    await session.resume();
    await enter();
  } catch {
    showSignedIn(false);
  }
}

void start();
