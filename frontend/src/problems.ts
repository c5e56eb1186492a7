// Errors of the API as one shape: RFC 9457 problem+json, or OAuth 2.0's {error, error_description}.

export interface FieldProblem {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly fields: FieldProblem[] = [],
    readonly code: string = "",
    readonly retryAfter: number | null = null,
  ) {
    super(detail ? `${title}: ${detail}` : title);
  }
}

interface ProblemBody {
  type?: unknown;
  title?: unknown;
  detail?: unknown;
  errors?: unknown;
  error?: unknown;
  error_description?: unknown;
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function fieldsOf(errors: unknown): FieldProblem[] {
  if (!Array.isArray(errors)) return [];
  return errors.flatMap((entry: unknown) => {
    if (typeof entry !== "object" || entry === null) return [];
    const { loc, msg } = entry as { loc?: unknown; msg?: unknown };
    const path = Array.isArray(loc) ? loc.map(String) : [];
    return [{ field: path[path.length - 1] ?? "", message: text(msg) }];
  });
}

export function retryAfterSeconds(header: string | null): number | null {
  if (header === null) return null;
  const seconds = Number.parseInt(header, 10);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

/** The error an unsuccessful answer describes (whatever its body). */
export function problemFrom(status: number, bodyText: string, retryAfter: string | null): ApiError {
  let body: ProblemBody = {};
  try {
    const parsed: unknown = JSON.parse(bodyText);
    if (typeof parsed === "object" && parsed !== null) body = parsed as ProblemBody;
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  const retry = retryAfterSeconds(retryAfter);
  if (typeof body.error === "string") {
    return new ApiError(status, body.error, text(body.error_description), [], body.error, retry);
  }
  const type = text(body.type);
  const code = type.slice(type.lastIndexOf("/") + 1);
  const title = text(body.title) || `HTTP ${status}`;
  return new ApiError(status, title, text(body.detail), fieldsOf(body.errors), code, retry);
}

export async function problemOf(response: Response): Promise<ApiError> {
  const body = await response.text().catch(() => "");
  return problemFrom(response.status, body, response.headers.get("Retry-After"));
}

export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return `The server could not be reached (${error.message}).`;
  return "Something went wrong.";
}
