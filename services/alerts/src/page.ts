/** A minimal live page: lists incidents and prepends new ones as they arrive over Socket.IO. */
export const PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vigil — incidents</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:15px/1.4 system-ui,sans-serif;background:#111418;color:#e6e6e6;margin:0;padding:1rem 2rem}
 h1{font-size:1.3rem} .status{color:#8a939e;font-size:.85rem}
 li{list-style:none;border-left:4px solid #e0563b;background:#1b2027;margin:.5rem 0;padding:.6rem .9rem}
 .meta{color:#9aa4ae;font-size:.85rem} ul{padding:0}
</style></head>
<body><h1>Vigil — incidents</h1><p class="status" id="status">connecting…</p><ul id="incidents"></ul>
<script src="/socket.io/socket.io.js"></script>
<script>
 const list = document.getElementById('incidents');
 const seen = new Set();
 function show(i, prepend) {
   if (seen.has(i.id)) return; seen.add(i.id);
   const li = document.createElement('li'); li.dataset.id = i.id;
   const meta = document.createElement('div'); meta.className = 'meta';
   meta.textContent = i.camera + ' · ' + i.query + ' · ' + new Date(i.started_at).toLocaleString();
   const ans = document.createElement('div'); ans.textContent = i.answer;
   li.append(meta, ans);
   prepend ? list.prepend(li) : list.append(li);
 }
 fetch('/api/incidents?limit=50').then(r => r.json()).then(p => p.items.forEach(i => show(i, false)));
 const socket = io();
 socket.on('connect', () => document.getElementById('status').textContent = 'live');
 socket.on('disconnect', () => document.getElementById('status').textContent = 'reconnecting…');
 socket.on('incident:new', i => show(i, true));
</script></body></html>`;
