// Tokens: the access token lives in memory only; the refresh token in sessionStorage (this tab),
// rotated by every refresh (OAuth 2.0 refresh_token grant). One refresh at a time: the auth role
// treats a reused refresh token as stolen and ends the whole login.

import { ApiError, problemOf } from "./problems";

const REFRESH_KEY = "mp3converter.refresh_token";
// Renew this long before the access token expires, so no request carries a stale one.
const EARLY_SECONDS = 30;

interface TokenResponse {
  access_token: string;
  expires_in: number;
  refresh_token?: string | null;
}

export class SessionEnded extends Error {}

export class Session {
  private accessToken: string | null = null;
  private expiresAt = 0;
  private refreshing: Promise<void> | null = null;
  private timer: number | undefined;

  /** Called when the session cannot be renewed any more (revoked, expired, password changed). */
  onEnded: (reason: string) => void = () => {};

  get signedIn(): boolean {
    return this.accessToken !== null;
  }

  get hasRefreshToken(): boolean {
    return sessionStorage.getItem(REFRESH_KEY) !== null;
  }

  async signIn(email: string, password: string): Promise<void> {
    await this.grant({ grant_type: "password", username: email, password });
  }

  /** Resume from the refresh token of this tab (after a reload). */
  async resume(): Promise<void> {
    await this.refresh();
  }

  /** A valid access token, renewed first if it is about to expire. */
  async token(): Promise<string> {
    if (this.accessToken === null || Date.now() >= this.expiresAt - EARLY_SECONDS * 1000) {
      await this.refresh();
    }
    if (this.accessToken === null) throw new SessionEnded("signed out");
    return this.accessToken;
  }

  /** fetch with `Authorization: Bearer`; a 401 renews the token once and tries again. */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const send = async (): Promise<Response> => {
      const headers = new Headers(init.headers);
      headers.set("Authorization", `Bearer ${await this.token()}`);
      return fetch(path, { ...init, headers });
    };
    const response = await send();
    if (response.status !== 401 || !this.hasRefreshToken) return response;
    this.accessToken = null;
    await this.refresh();
    return send();
  }

  async refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    const refreshToken = sessionStorage.getItem(REFRESH_KEY);
    if (refreshToken === null) {
      this.end("Please sign in.");
      throw new SessionEnded("no refresh token");
    }
    try {
      await this.grant({ grant_type: "refresh_token", refresh_token: refreshToken });
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) {
        this.end("Your session has ended. Please sign in again.");
        throw new SessionEnded(error.message);
      }
      throw error;
    }
  }

  /** Revoke the refresh token (and so the whole login) and forget everything. */
  async signOut(): Promise<void> {
    const refreshToken = sessionStorage.getItem(REFRESH_KEY);
    this.forget();
    if (refreshToken !== null) {
      await fetch("/revoke", {
        method: "POST",
        body: new URLSearchParams({ token: refreshToken, token_type_hint: "refresh_token" }),
      }).catch(() => undefined); // signed out here either way
    }
  }

  /** End the session without calling the server (it has ended there already). */
  end(reason: string): void {
    const wasSignedIn = this.signedIn || this.hasRefreshToken;
    this.forget();
    if (wasSignedIn) this.onEnded(reason);
  }

  private forget(): void {
    this.accessToken = null;
    this.expiresAt = 0;
    sessionStorage.removeItem(REFRESH_KEY);
    window.clearTimeout(this.timer);
  }

  private async grant(form: Record<string, string>): Promise<void> {
    const response = await fetch("/token", { method: "POST", body: new URLSearchParams(form) });
    if (!response.ok) throw await problemOf(response);
    const tokens = (await response.json()) as TokenResponse;
    this.accessToken = tokens.access_token;
    this.expiresAt = Date.now() + tokens.expires_in * 1000;
    if (tokens.refresh_token) sessionStorage.setItem(REFRESH_KEY, tokens.refresh_token);
    window.clearTimeout(this.timer);
    const renewIn = Math.max(5, tokens.expires_in - EARLY_SECONDS) * 1000;
    this.timer = window.setTimeout(() => {
      this.refresh().catch(() => undefined); // a failure ends the session through onEnded
    }, renewIn);
  }
}
