// Shared helpers for the Fairway UI pages. Data is only ever written with textContent, never innerHTML.

window.fw = (() => {
  let csrf;

  /** Creates an element with attributes and text content. */
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  async function csrfToken() {
    if (csrf) return csrf;
    const res = await fetch('/api/session', { credentials: 'same-origin' });
    const body = await res.json();
    if (!body.can_launch) throw new Error(body.reason || 'Launching is not allowed from this browser.');
    csrf = body.csrf_token;
    return csrf;
  }

  async function post(url, body) {
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

  /** Launches a run and opens its page. */
  async function launch(body, messageEl) {
    if (messageEl) {
      messageEl.hidden = false;
      messageEl.textContent = 'Launching…';
    }
    try {
      const data = await post('/api/runs', body);
      window.location.assign(`/runs/${encodeURIComponent(data.run_id)}`);
    } catch (e) {
      if (messageEl) messageEl.textContent = `Launch failed: ${e.message}`;
    }
  }

  return { el, post, launch };
})();
