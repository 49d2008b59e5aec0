// @ts-check
// Shared helpers for the Fairway UI pages. Data is only ever written with textContent, never innerHTML.
// The API's answers are typed by the zod schemas the server answers with (ui/api-schemas.ts).

/** @typedef {import('../api-schemas.ts').SessionAnswer} SessionAnswer */
/** @typedef {import('../api-schemas.ts').Launched} Launched */

/**
 * The element with this id, checked to be of the expected kind (a page and its script disagree: fail loudly).
 * @template {Element} T
 * @param {string} id
 * @param {{ new (): T }} kind e.g. HTMLInputElement
 * @returns {T}
 */
export function byId(id, kind) {
  const node = document.getElementById(id);
  if (!(node instanceof kind)) throw new Error(`#${id} is not a ${kind.name} on this page`);
  return node;
}

/**
 * Creates an element with attributes and text content.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string>} [attrs]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * GETs JSON; a non-2xx answer throws with the API's error message.
 * @param {string} url
 * @returns {Promise<any>} the answer, to be typed by the caller
 */
export async function getJson(url) {
  const res = await fetch(url, { credentials: 'same-origin' });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error?.message || `HTTP ${res.status}`);
  return body;
}

/** @type {string | undefined} */
let csrf;

async function csrfToken() {
  if (csrf) return csrf;
  /** @type {SessionAnswer} */
  const body = await getJson('/api/session');
  if (!body.can_launch) throw new Error(body.reason || 'Launching is not allowed from this browser.');
  csrf = body.csrf_token;
  return csrf;
}

/**
 * POSTs JSON with the session's CSRF token.
 * @param {string} url
 * @param {unknown} [body]
 * @returns {Promise<any>} the answer, to be typed by the caller
 */
export async function post(url, body) {
  const token = await csrfToken();
  const res = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': token },
    body: JSON.stringify(body || {}),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error?.message || `HTTP ${res.status}`);
  return data;
}

/** @param {unknown} e */
export const messageOf = (e) => (e instanceof Error ? e.message : String(e));

/**
 * Launches a run and opens its page.
 * @param {import('../api-schemas.ts').LaunchBody} body
 * @param {HTMLElement | null} messageEl
 */
export async function launch(body, messageEl) {
  if (messageEl) {
    messageEl.hidden = false;
    messageEl.textContent = 'Launching…';
  }
  try {
    /** @type {Launched} */
    const data = await post('/api/runs', body);
    window.location.assign(`/runs/${encodeURIComponent(data.run_id)}`);
  } catch (e) {
    if (messageEl) messageEl.textContent = `Launch failed: ${messageOf(e)}`;
  }
}
