// Account: one's password, personal API keys and webhooks. Secrets (a new key, a webhook's
// signing secret) are shown once, in a read-only field, and never stored by the page.

import { announce, byId, el } from "./dom";
import { messageOf, problemOf } from "./problems";
import type { Session } from "./session";

interface ApiKey {
  key_id: string;
  name: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

interface Webhook {
  webhook_id: string;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  disabled_reason: string | null;
}

function day(iso: string | null): string {
  return iso === null ? "never" : iso.slice(0, 10);
}

async function json<T>(session: Session, path: string, init: RequestInit = {}): Promise<T> {
  const response = await session.fetch(path, init);
  if (!response.ok) throw await problemOf(response);
  return (response.status === 204 ? {} : await response.json()) as T;
}

function jsonBody(method: string, body: unknown): RequestInit {
  return { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
}

function showSecret(box: HTMLElement, label: string, secret: string): void {
  const id = `${box.id}-value`;
  const field = el("input", {
    class: "secret",
    attrs: { id, type: "text", readonly: "", value: secret, spellcheck: "false" },
  });
  box.replaceChildren(
    el("label", { text: label, attrs: { for: id } }),
    field,
    el("p", { class: "hint", text: "Copy it now: it is shown only once." }),
  );
  box.hidden = false;
  field.focus();
  field.select();
}

export class Account {
  constructor(
    private readonly session: Session,
    private readonly onPasswordChanged: () => void,
  ) {
    byId("password-form", HTMLFormElement).addEventListener("submit", (event) => {
      event.preventDefault();
      void this.changePassword();
    });
    byId("key-form", HTMLFormElement).addEventListener("submit", (event) => {
      event.preventDefault();
      void this.createKey();
    });
    byId("webhook-form", HTMLFormElement).addEventListener("submit", (event) => {
      event.preventDefault();
      void this.createWebhook();
    });
  }

  async load(): Promise<void> {
    await Promise.all([this.loadKeys(), this.loadWebhooks()]);
  }

  clear(): void {
    for (const id of ["key-list", "webhook-list", "key-secret", "webhook-secret"]) {
      byId(id, HTMLElement).replaceChildren();
    }
    byId("key-secret", HTMLElement).hidden = true;
    byId("webhook-secret", HTMLElement).hidden = true;
  }

  private async changePassword(): Promise<void> {
    const form = byId("password-form", HTMLFormElement);
    const message = byId("password-message", HTMLElement);
    const current = byId("current-password", HTMLInputElement).value;
    const next = byId("new-password", HTMLInputElement).value;
    try {
      await json(this.session, "/users/me/password", jsonBody("PUT", {
        current_password: current,
        new_password: next,
      }));
      form.reset();
      this.onPasswordChanged();
    } catch (error) {
      message.textContent = messageOf(error);
    }
  }

  private async loadKeys(): Promise<void> {
    const list = byId("key-list", HTMLUListElement);
    const message = byId("key-message", HTMLElement);
    try {
      const { api_keys } = await json<{ api_keys: ApiKey[] }>(this.session, "/api-keys");
      list.replaceChildren(...api_keys.map((key) => this.keyRow(key)));
      message.textContent = api_keys.length === 0 ? "No API keys." : "";
    } catch (error) {
      message.textContent = `The API keys could not be read: ${messageOf(error)}`;
    }
  }

  private keyRow(key: ApiKey): HTMLLIElement {
    const revoke = el("button", { class: "secondary", attrs: { type: "button" } }, "Revoke");
    revoke.append(el("span", { class: "visually-hidden", text: ` ${key.name}` }));
    revoke.addEventListener("click", () => void this.revokeKey(key));
    return el(
      "li",
      { class: "item" },
      el("span", { class: "item-name", text: key.name }),
      el("span", {
        class: "item-meta",
        text: `created ${day(key.created_at)}, expires ${day(key.expires_at)}, last used ${day(key.last_used_at)}`,
      }),
      revoke,
    );
  }

  private async createKey(): Promise<void> {
    const form = byId("key-form", HTMLFormElement);
    const message = byId("key-message", HTMLElement);
    const name = byId("key-name", HTMLInputElement).value.trim();
    const days = byId("key-days", HTMLInputElement).value.trim();
    const body: Record<string, unknown> = { name };
    if (days !== "") body["expires_in_days"] = Number(days);
    try {
      const created = await json<{ key: string }>(this.session, "/api-keys", jsonBody("POST", body));
      form.reset();
      showSecret(byId("key-secret", HTMLElement), `New API key "${name}"`, created.key);
      announce(`API key ${name} created`);
      await this.loadKeys();
    } catch (error) {
      message.textContent = messageOf(error);
    }
  }

  private async revokeKey(key: ApiKey): Promise<void> {
    const message = byId("key-message", HTMLElement);
    try {
      await json(this.session, `/api-keys/${encodeURIComponent(key.key_id)}`, { method: "DELETE" });
      announce(`API key ${key.name} revoked`);
      await this.loadKeys();
      byId("key-name", HTMLInputElement).focus();
    } catch (error) {
      message.textContent = messageOf(error);
    }
  }

  private async loadWebhooks(): Promise<void> {
    const list = byId("webhook-list", HTMLUListElement);
    const message = byId("webhook-message", HTMLElement);
    try {
      const { webhooks } = await json<{ webhooks: Webhook[] }>(this.session, "/webhooks");
      list.replaceChildren(...webhooks.map((hook) => this.webhookRow(hook)));
      message.textContent = webhooks.length === 0 ? "No webhooks." : "";
    } catch (error) {
      message.textContent = `The webhooks could not be read: ${messageOf(error)}`;
    }
  }

  private webhookRow(hook: Webhook): HTMLLIElement {
    const remove = el("button", { class: "secondary", attrs: { type: "button" } }, "Delete");
    remove.append(el("span", { class: "visually-hidden", text: ` webhook ${hook.url}` }));
    remove.addEventListener("click", () => void this.deleteWebhook(hook));
    const state = hook.enabled ? "enabled" : `disabled: ${hook.disabled_reason ?? ""}`;
    const item = el(
      "li",
      { class: "item" },
      el("span", { class: "item-name", text: hook.url }),
      el("span", { class: "item-meta", text: `${hook.events.join(", ")}; ${state}` }),
    );
    const actions = el("span", { class: "item-actions" });
    if (!hook.enabled) {
      // Disabled after its deliveries kept failing: on again, with the same secret.
      const enable = el("button", { class: "secondary", attrs: { type: "button" } }, "Enable");
      enable.append(el("span", { class: "visually-hidden", text: ` webhook ${hook.url}` }));
      enable.addEventListener("click", () => void this.enableWebhook(hook));
      actions.append(enable);
    }
    actions.append(remove);
    item.append(actions);
    return item;
  }

  private async enableWebhook(hook: Webhook): Promise<void> {
    const message = byId("webhook-message", HTMLElement);
    try {
      await json(this.session, `/webhooks/${encodeURIComponent(hook.webhook_id)}/enable`, { method: "POST" });
      announce("Webhook enabled");
      await this.loadWebhooks();
    } catch (error) {
      message.textContent = messageOf(error);
    }
  }

  private async createWebhook(): Promise<void> {
    const form = byId("webhook-form", HTMLFormElement);
    const message = byId("webhook-message", HTMLElement);
    const events = [...form.querySelectorAll<HTMLInputElement>("input[name=events]:checked")].map(
      (box) => box.value,
    );
    const description = byId("webhook-description", HTMLInputElement).value.trim();
    const body: Record<string, unknown> = { url: byId("webhook-url", HTMLInputElement).value, events };
    if (description !== "") body["description"] = description;
    try {
      const created = await json<{ secret: string }>(this.session, "/webhooks", jsonBody("POST", body));
      form.reset();
      showSecret(byId("webhook-secret", HTMLElement), "Signing secret of the new webhook", created.secret);
      announce("Webhook registered");
      await this.loadWebhooks();
    } catch (error) {
      message.textContent = messageOf(error);
    }
  }

  private async deleteWebhook(hook: Webhook): Promise<void> {
    const message = byId("webhook-message", HTMLElement);
    try {
      await json(this.session, `/webhooks/${encodeURIComponent(hook.webhook_id)}`, { method: "DELETE" });
      announce("Webhook deleted");
      await this.loadWebhooks();
      byId("webhook-url", HTMLInputElement).focus();
    } catch (error) {
      message.textContent = messageOf(error);
    }
  }
}
