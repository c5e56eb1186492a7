// The jobs list, newest first: one row per job, updated in place by the live events.

import { announce, el, humanBytes } from "./dom";
import { messageOf, problemOf } from "./problems";
import type { Session } from "./session";

export interface Job {
  job_id: string;
  status: "queued" | "converting" | "done" | "failed";
  progress: number;
  filename: string;
  created_at: string;
  error: { code: string; reason: string } | null;
  download_link: string | null;
  size_bytes: number | null;
  duration_seconds: number | null;
}

interface JobProgress {
  job_id: string;
  progress: number;
}

export function statusText(job: Pick<Job, "status" | "progress" | "error">): string {
  switch (job.status) {
    case "converting":
      return `converting ${Math.floor(job.progress * 100)}%`;
    case "failed":
      return `failed: ${job.error?.reason ?? "unknown reason"}`;
    default:
      return job.status;
  }
}

function mp3Name(filename: string): string {
  const dot = filename.lastIndexOf(".");
  return `${dot > 0 ? filename.slice(0, dot) : filename}.mp3`;
}

function isJob(data: unknown): data is Job {
  return typeof data === "object" && data !== null && "job_id" in data && "status" in data;
}

function isProgress(data: unknown): data is JobProgress {
  return typeof data === "object" && data !== null && "job_id" in data && "progress" in data;
}

export class JobList {
  private readonly jobs = new Map<string, Job>();
  private readonly rows = new Map<string, HTMLLIElement>();

  constructor(
    private readonly session: Session,
    private readonly list: HTMLOListElement,
    private readonly empty: HTMLElement,
    private readonly errorBox: HTMLElement,
  ) {}

  clear(): void {
    this.jobs.clear();
    this.rows.clear();
    this.list.replaceChildren();
    this.empty.hidden = false;
  }

  /** Read the newest jobs again (after a (re)connection of the live stream). */
  async reload(): Promise<void> {
    try {
      const response = await this.session.fetch("/jobs?limit=50");
      if (!response.ok) throw await problemOf(response);
      const { jobs } = (await response.json()) as { jobs: Job[] };
      for (const job of jobs) this.upsert(job, false);
      this.errorBox.textContent = "";
    } catch (error) {
      this.errorBox.textContent = `The jobs could not be read: ${messageOf(error)}`;
    }
  }

  /** A job just accepted by an upload. */
  added(jobId: string, filename: string): void {
    if (this.jobs.has(jobId)) return;
    const now = new Date().toISOString();
    this.upsert(
      {
        job_id: jobId,
        status: "queued",
        progress: 0,
        filename,
        created_at: now,
        error: null,
        download_link: null,
        size_bytes: null,
        duration_seconds: null,
      },
      true,
    );
  }

  onEvent(name: string, data: unknown): void {
    if (name === "progress" && isProgress(data)) {
      const job = this.jobs.get(data.job_id);
      if (job === undefined || job.status === "done" || job.status === "failed") return;
      this.upsert({ ...job, status: "converting", progress: data.progress }, false);
    } else if (isJob(data)) {
      this.upsert(data, true);
    }
  }

  private upsert(job: Job, tell: boolean): void {
    const before = this.jobs.get(job.job_id);
    if (before !== undefined && isFinal(before) && !isFinal(job)) return; // an older state
    this.jobs.set(job.job_id, job);
    const row = this.render(job);
    const old = this.rows.get(job.job_id);
    if (old !== undefined) {
      old.replaceWith(row);
    } else {
      this.insertByAge(row, job);
    }
    this.rows.set(job.job_id, row);
    this.empty.hidden = true;
    if (tell && (before === undefined || before.status !== job.status)) {
      announce(`${job.filename}: ${statusText(job)}`);
    }
  }

  private insertByAge(row: HTMLLIElement, job: Job): void {
    for (const other of this.list.children) {
      const otherJob = this.jobs.get((other as HTMLElement).dataset["jobId"] ?? "");
      if (otherJob !== undefined && otherJob.created_at < job.created_at) {
        other.before(row);
        return;
      }
    }
    this.list.append(row);
  }

  private render(job: Job): HTMLLIElement {
    const status = el("span", { class: `job-status status-${job.status}`, text: statusText(job) });
    const details: string[] = [];
    if (job.status === "done" && job.size_bytes !== null) details.push(humanBytes(job.size_bytes));
    const row = el(
      "li",
      { class: "job", attrs: { "data-job-id": job.job_id } },
      el("span", { class: "job-name", text: job.filename }),
      status,
    );
    if (job.status === "converting") {
      const bar = el("progress", {
        class: "job-progress",
        attrs: { max: "100", value: String(Math.floor(job.progress * 100)), "aria-hidden": "true" },
      });
      row.append(bar);
    }
    const actions = el("span", { class: "job-actions" });
    if (job.status === "done" && job.download_link !== null) {
      const name = mp3Name(job.filename);
      actions.append(
        el(
          "a",
          { class: "button", attrs: { href: job.download_link, download: name } },
          "Download",
          el("span", { class: "visually-hidden", text: ` ${name}` }),
        ),
      );
    }
    if (details.length > 0) actions.prepend(el("span", { class: "job-size", text: details.join(" · ") }));
    if (isFinal(job)) {
      const remove = el("button", { class: "secondary", attrs: { type: "button" } }, "Delete");
      remove.append(el("span", { class: "visually-hidden", text: ` ${job.filename}` }));
      remove.addEventListener("click", () => void this.remove(job));
      actions.append(remove);
    }
    row.append(actions);
    return row;
  }

  private async remove(job: Job): Promise<void> {
    try {
      const response = await this.session.fetch(`/jobs/${encodeURIComponent(job.job_id)}`, {
        method: "DELETE",
      });
      if (!response.ok && response.status !== 404) throw await problemOf(response);
      this.rows.get(job.job_id)?.remove();
      this.rows.delete(job.job_id);
      this.jobs.delete(job.job_id);
      this.empty.hidden = this.jobs.size > 0;
      // The focused button is gone with its row: keep the keyboard in the list's section.
      document.getElementById("jobs-heading")?.focus();
      announce(`${job.filename} deleted`);
    } catch (error) {
      this.errorBox.textContent = `${job.filename} could not be deleted: ${messageOf(error)}`;
    }
  }
}

function isFinal(job: Job): boolean {
  return job.status === "done" || job.status === "failed";
}
