// fetch() with the session cookie, the CSRF header on unsafe methods, and JSON both ways.

export class ApiError extends Error {
  constructor(status, data) {
    super(`HTTP ${status}`);
    this.status = status;
    this.data = data;
  }
}

/** The CSRF token: Django's csrftoken cookie, or a rendered form's hidden input. */
export function csrfToken(doc = document) {
  const match = /(?:^|;\s*)csrftoken=([^;]+)/.exec(doc.cookie || "");
  if (match) return decodeURIComponent(match[1]);
  const input = doc.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

/** {ok, status, data}; throws only when the network itself fails. */
export async function requestJson(url, { method = "GET", body, fetchImpl = globalThis.fetch, doc = globalThis.document } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRFToken"] = csrfToken(doc);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetchImpl(url, {
    method,
    headers,
    credentials: "same-origin",
    cache: "no-store",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  if ((response.headers.get("Content-Type") || "").includes("json")) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  return { ok: response.ok, status: response.status, data };
}
