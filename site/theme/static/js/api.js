// Talking to Cutout's API from the pages: JSON in and out, the CSRF header, errors in words.

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

// Turns an error answer into { code, message, field }: the API's own message, which is already in words.
export function describe(status, retryAfter, body) {
  const error = (body && body.error) || {};
  let message = error.message;
  if (!message) {
    message = status >= 500 ? "Something went wrong on our side. Please try again in a moment."
      : status === 0 ? "Cutout could not be reached. Check your connection and try again."
      : `The request failed (HTTP ${status}).`;
  }
  if (status === 429 && retryAfter) {
    const seconds = Number(retryAfter);
    message += ` Try again in ${seconds < 90 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`}.`;
  }
  if (error.code === "insufficient_credits") {
    message += " Choose a free preview, or see the pricing page for more credits.";
  }
  return { code: error.code || `http_${status}`, message, field: error.details && error.details.field };
}

export async function call(method, path, body) {
  const headers = { Accept: "application/json", "X-CSRFToken": csrfToken() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    return { ok: false, status: 0, error: describe(0) };
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (response.ok) return { ok: true, status: response.status, data };
  return { ok: false, status: response.status, error: describe(response.status, response.headers.get("Retry-After"), data) };
}

let current;
// Whether this browser is signed in: { signed_in, account: { email, credits } | null }. Never a 401.
export function session(refresh = false) {
  if (!current || refresh) {
    current = call("GET", "/api/v1/auth/session").then((answer) => (answer.ok ? answer.data : { signed_in: false, account: null }));
    current.then((state) => document.dispatchEvent(new CustomEvent("cutout:session", { detail: state })));
  }
  return current;
}
