// The caller's live job events (GET /events, Server-Sent Events) read from a fetch stream:
// EventSource cannot send an Authorization header. Reconnects with Last-Event-ID, after a pause
// that grows while the server stays away.

import { createParser } from "eventsource-parser";

import type { Session } from "./session";
import { SessionEnded } from "./session";
import { retryAfterSeconds } from "./problems";

export interface LiveHandlers {
  onOpen: () => void;
  onEvent: (name: string, data: unknown) => void;
}

const MIN_PAUSE_MS = 1000;
const MAX_PAUSE_MS = 15000;

export class LiveEvents {
  private lastEventId: string | null = null;
  private controller: AbortController | null = null;

  constructor(
    private readonly session: Session,
    private readonly handlers: LiveHandlers,
  ) {}

  start(): void {
    this.stop();
    const controller = new AbortController();
    this.controller = controller;
    void this.run(controller.signal);
  }

  stop(): void {
    this.controller?.abort();
    this.controller = null;
  }

  private async run(signal: AbortSignal): Promise<void> {
    let pause = MIN_PAUSE_MS;
    while (!signal.aborted) {
      try {
        const waitFor = await this.once(signal);
        pause = waitFor ?? MIN_PAUSE_MS;
      } catch (error) {
        if (signal.aborted || error instanceof SessionEnded) return;
        pause = Math.min(pause * 2, MAX_PAUSE_MS);
      }
      await sleep(pause, signal);
    }
  }

  /** One connection, until it ends; the pause to take before the next, if the server said. */
  private async once(signal: AbortSignal): Promise<number | null> {
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    if (this.lastEventId !== null) headers["Last-Event-ID"] = this.lastEventId;
    const response = await this.session.fetch("/events", { headers, signal });
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      const retry = retryAfterSeconds(response.headers.get("Retry-After"));
      if (retry !== null) return retry * 1000;
      throw new Error(`event stream answered ${response.status}`);
    }
    this.handlers.onOpen();
    const parser = createParser({
      onEvent: (message) => {
        if (message.id !== undefined) this.lastEventId = message.id;
        let data: unknown;
        try {
          data = JSON.parse(message.data);
        } catch {
          return; // not ours
        }
        this.handlers.onEvent(message.event ?? "message", data);
      },
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return null;
      parser.feed(value);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    // One listener per wait, removed when the wait ends: reconnects must not pile them up.
    const onAbort = (): void => {
      window.clearTimeout(timer);
      resolve();
    };
    const timer = window.setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
