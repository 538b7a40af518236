/**
 * A minimal live page (the dashboard proper is a separate app): active and recent incidents,
 * live over Socket.IO, with acknowledge and resolve. Asks for a token when the API wants one.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vigil — incidents</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:15px/1.4 system-ui,sans-serif;background:#111418;color:#e6e6e6;margin:0;padding:1rem 2rem}
 h1{font-size:1.3rem} .status{color:#8a939e;font-size:.85rem} ul{padding:0}
 li{list-style:none;border-left:4px solid #e0563b;background:#1b2027;margin:.5rem 0;padding:.6rem .9rem}
 li.closed,li.resolved{border-color:#56606b;opacity:.75} li.acknowledged{border-color:#d9a72b}
 .meta{color:#9aa4ae;font-size:.85rem} button{margin-right:.4rem} img{height:72px;margin:.3rem .3rem 0 0}
</style></head>
<body><h1>Vigil — incidents</h1><p class="status" id="status">connecting…</p><ul id="incidents"></ul>
<script src="/socket.io/socket.io.js"></script>
<script>
 let token = localStorage.getItem('vigil-token') || '';
 const list = document.getElementById('incidents');
 const auth = () => token ? { authorization: 'Bearer ' + token } : {};
 async function api(path, opts = {}) {
   const r = await fetch(path, { ...opts, headers: { ...auth(), 'content-type': 'application/json' } });
   if (r.status === 401) { token = prompt('API token') || ''; localStorage.setItem('vigil-token', token); location.reload(); }
   return r.json();
 }
 function show(i) {
   let li = list.querySelector('[data-id="' + i.id + '"]');
   const fresh = !li;
   if (fresh) { li = document.createElement('li'); li.dataset.id = i.id; }
   li.className = i.state; li.replaceChildren();
   const meta = document.createElement('div'); meta.className = 'meta';
   meta.textContent = i.camera + ' · ' + i.query + ' · ' + i.severity + ' · ' + i.state + ' · ' + new Date(i.started_at).toLocaleString() + ' · ' + i.findings + ' finding(s)';
   const ans = document.createElement('div'); ans.textContent = i.answer;
   li.append(meta, ans);
   for (const f of (i.evidence && i.evidence.frames || []).slice(0, 4)) {
     const img = document.createElement('img'); img.alt = 'frame ' + f.n;
     fetch(f.url, { headers: auth() }).then(r => r.blob()).then(b => img.src = URL.createObjectURL(b)); li.append(img);
   }
   const bar = document.createElement('div');
   for (const a of ['ack', 'resolve']) {
     const b = document.createElement('button'); b.textContent = a;
     b.onclick = () => api('/api/incidents/' + i.id + '/' + a, { method: 'POST', body: JSON.stringify({ note: prompt('note') || '' }) }).then(show);
     bar.append(b);
   }
   li.append(bar);
   if (fresh) list.prepend(li);
 }
 api('/api/incidents?limit=50').then(p => (p.items || []).reverse().forEach(show)); // oldest first: each is prepended
 const socket = io({ auth: { token } });
 socket.on('connect', () => document.getElementById('status').textContent = 'live');
 socket.on('connect_error', e => document.getElementById('status').textContent = 'not connected: ' + e.message);
 socket.on('disconnect', () => document.getElementById('status').textContent = 'reconnecting…');
 socket.on('snapshot', s => s.incidents.forEach(show));
 for (const e of ['incident:new', 'incident:update', 'incident:close']) socket.on(e, show);
</script></body></html>`;
