// SPDX-License-Identifier: MIT
/*
 * heapscope's HTML report: draws the page from the JSON data html.c embeds (#hs-data): the
 * summary, the heap over time (timeline, snapshots, peak), the flame graph of the chosen
 * view (click to zoom, search), hot spots by function and a sortable table per view. All
 * text goes in through textContent, never as markup. No network, no libraries.
 */
'use strict';
(function () {
	const data = JSON.parse(document.getElementById('hs-data').textContent);
	const SVGNS = 'http://www.w3.org/2000/svg';

	function el(tag, attrs, text) {
		const e = tag.startsWith('svg:') ? document.createElementNS(SVGNS, tag.slice(4))
			: document.createElement(tag);
		for (const k in attrs || {})
			e.setAttribute(k, attrs[k]);
		if (text !== undefined)
			e.textContent = text;
		return e;
	}
	function count(n) { return Number(n).toLocaleString('en-US'); }
	function bytes(n) {
		const units = ['B', 'kB', 'MB', 'GB', 'TB'];
		let i = 0, v = Number(n);
		while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
		return i === 0 ? v + ' B' : (v < 10 ? v.toFixed(2) : v.toFixed(1)) + ' ' + units[i];
	}
	function value(n) { return data.is_bytes ? bytes(n) : count(n); }
	function pct(a, b) { return b ? (100 * a / b).toFixed(2) + '%' : '0.00%'; }
	function secs(s) { return Number(s).toFixed(3) + ' s'; }
	/* A byte figure, with its 95% margin when the recording is sampled. */
	function est(r, field) {
		const m = r[field + '_margin'];
		return bytes(r[field]) + (m === undefined ? '' : ' \u00b1' + bytes(m));
	}

	/* ---- summary -------------------------------------------------------------------- */
	function summary() {
		const s = data.summary;
		document.getElementById('title').textContent =
			'heapscope report: ' + s.program + ' (pid ' + s.pid + ')';
		document.getElementById('subtitle').textContent = s.recording + ' \u2014 ' + s.arch +
			', ' + (s.sample_interval ? 'sampled every ' + bytes(s.sample_interval) : 'exact') +
			', ' + secs(s.duration_s) + ', ' + count(s.stacks) + ' stacks';
		const cards = [
			['allocation calls', count(s.alloc_calls), est(s, 'alloc_bytes') + ' allocated'],
			['frees', count(s.free_calls), ''],
			['temporary', count(s.temporary), pct(s.temporary, s.alloc_calls) + ' of calls'],
			['peak heap', est(s, 'peak_bytes'), 'at ' + secs(s.peak_time_s)],
			['live at end', est(s, 'live_bytes'), count(s.live_blocks) + ' blocks'],
		];
		const box = document.getElementById('cards');
		for (const [label, v, sub] of cards) {
			const c = el('div', { class: 'card' });
			c.append(el('div', { class: 'label' }, label), el('div', { class: 'value' }, v),
				el('div', { class: 'sub' }, sub));
			box.append(c);
		}
		if (s.problem) {
			const p = document.getElementById('problem');
			p.hidden = false;
			p.textContent = 'Cut short: ' + s.problem + '; figures as of the last complete snapshot.';
		}
	}

	/* ---- heap over time ------------------------------------------------------------- */
	function chart() {
		const W = 1000, H = 240, L = 70, R = 20, T = 20, B = 30;
		const pts = data.timeline.slice();
		for (const s of data.snapshots)
			pts.push([s.t, s.bytes]);
		if (data.peak.bytes)
			pts.push([data.peak.t, data.peak.bytes]);
		pts.sort((a, b) => a[0] - b[0]);
		if (pts.length === 0 || pts[0][0] > 0)
			pts.unshift([0, 0]);
		const tmax = Math.max(1e-6, pts[pts.length - 1][0]);
		const ymax = Math.max(1, ...pts.map((p) => p[1]));
		const x = (t) => L + (W - L - R) * t / tmax;
		const y = (b) => H - B - (H - T - B) * b / ymax;
		const svg = el('svg:svg', { viewBox: '0 0 ' + W + ' ' + H, id: 'heap-chart' });
		for (let i = 0; i <= 4; i++) {
			const b = ymax * i / 4;
			svg.append(el('svg:line', { x1: L, x2: W - R, y1: y(b), y2: y(b), stroke: '#eee' }),
				el('svg:text', { x: L - 6, y: y(b) + 4, 'text-anchor': 'end', class: 'axis' },
					bytes(Math.round(b))));
			svg.append(el('svg:text', { x: x(tmax * i / 4), y: H - 10, 'text-anchor': 'middle',
				class: 'axis' }, secs(tmax * i / 4)));
		}
		const line = pts.map((p) => x(p[0]).toFixed(1) + ',' + y(p[1]).toFixed(1)).join(' ');
		svg.append(el('svg:polygon', { class: 'heaparea', points: x(0) + ',' + y(0) + ' ' + line +
			' ' + x(pts[pts.length - 1][0]) + ',' + y(0) }));
		svg.append(el('svg:polyline', { class: 'heapline', points: line }));
		for (const s of data.snapshots) {
			const c = el('svg:circle', { class: 'snapshot', cx: x(s.t), cy: y(s.bytes), r: 4 });
			c.append(el('svg:title', {}, 'snapshot (' + s.reason + (s.name ? ' ' + s.name : '') +
				') at ' + secs(s.t) + ': ' + bytes(s.bytes)));
			svg.append(c);
		}
		if (data.peak.bytes) {
			const px = x(data.peak.t), py = y(data.peak.bytes);
			const m = el('svg:path', { class: 'peakmark', id: 'peak-marker',
				d: 'M' + px + ',' + (py - 2) + ' l-6,-10 l12,0 z' });
			m.append(el('svg:title', {}, 'peak: ' + bytes(data.peak.bytes) + ' at ' + secs(data.peak.t)));
			svg.append(m, el('svg:text', { class: 'peaklabel', x: Math.min(px + 8, W - 120),
				y: Math.max(py - 4, 12) }, 'peak ' + bytes(data.peak.bytes)));
		}
		document.getElementById('chart').append(svg);
	}

	/* ---- flame graph (callers above callees), zoom and search ------------------------ */
	const FW = 1200, FPAD = 4, FH = 17;
	const flameNodes = data.flame.nodes.map((n, i) => ({
		i, name: n[0] < 0 ? 'all' : data.flame.names[n[0]], depth: n[1], value: n[2],
		self: n[3], x: 0, parent: -1,
	}));
	let zoomed = 0;
	let searchRe = null;

	function layOut() {
		const last = [];
		for (const n of flameNodes) {
			if (n.depth > 0) {
				const p = flameNodes[last[n.depth - 1]];
				n.parent = p.i;
				n.x = p.childX === undefined ? p.x : p.childX;
				p.childX = n.x + n.value;
			}
			last[n.depth] = n.i;
		}
	}

	function colour(name) {
		let h = 2166136261;
		for (let i = 0; i < name.length; i++)
			h = Math.imul(h ^ name.charCodeAt(i), 16777619) >>> 0;
		return 'rgb(' + (205 + (h & 0x3f) % 50) + ',' + ((h >>> 8) % 230) + ',' + ((h >>> 16) % 55) + ')';
	}

	function frameLabel(n) {
		return n.name + ': ' + value(n.value) + ' ' + data.metric + ' (' +
			pct(n.value, data.flame.total) + ')';
	}

	function drawFlame() {
		const box = document.getElementById('flame-graph');
		const z = flameNodes[zoomed];
		const maxDepth = Math.max(0, ...flameNodes.map((n) => n.depth));
		const H = (maxDepth + 1) * FH + 2 * FPAD;
		const scale = z && z.value ? (FW - 2 * FPAD) / z.value : 0;
		const svg = el('svg:svg', { viewBox: '0 0 ' + FW + ' ' + H, id: 'flame-svg' });
		for (const n of flameNodes) {
			const inside = n.depth >= z.depth && n.x >= z.x && n.x + n.value <= z.x + z.value;
			const above = n.depth < z.depth && n.x <= z.x && n.x + n.value >= z.x + z.value;
			const w = above ? FW - 2 * FPAD : n.value * scale;
			if ((!inside && !above) || w < 0.5)
				continue;
			const x = above ? FPAD : FPAD + (n.x - z.x) * scale, y = FPAD + n.depth * FH;
			const cls = 'frame' + (above ? ' parent' : '') +
				(searchRe && searchRe.test(n.name) ? ' match' : '');
			const g = el('svg:g', { class: cls, 'data-i': n.i });
			g.append(el('svg:title', {}, frameLabel(n)),
				el('svg:rect', { x: x.toFixed(1), y, width: Math.max(0.5, w - 1).toFixed(1),
					height: FH - 1, fill: colour(n.name), rx: 2 }));
			const chars = Math.floor((w - 6) / 7);
			if (chars >= 3)
				g.append(el('svg:text', { x: x + 3, y: y + FH - 5 },
					n.name.length <= chars ? n.name : n.name.slice(0, chars - 2) + '..'));
			g.addEventListener('click', () => zoomTo(n.i));
			g.addEventListener('mouseover', () => {
				document.getElementById('flame-details').textContent = frameLabel(n);
			});
			svg.append(g);
		}
		box.replaceChildren(svg);
		document.getElementById('flame-reset').disabled = zoomed === 0;
	}

	function zoomTo(i) {
		zoomed = i;
		drawFlame();
	}

	function search(term) {
		try {
			searchRe = term ? new RegExp(term) : null;
		} catch (e) {
			document.getElementById('flame-matched').textContent = 'bad expression';
			return;
		}
		let sum = 0;
		const covered = new Set();
		for (const n of flameNodes) {
			if (n.depth === 0 || !searchRe || !searchRe.test(n.name))
				continue;
			let p = n.parent, under = false;
			for (; p > 0; p = flameNodes[p].parent)
				under = under || covered.has(p);
			covered.add(n.i);
			if (!under)
				sum += n.value;
		}
		document.getElementById('flame-matched').textContent =
			searchRe ? 'matched ' + pct(sum, data.flame.total) : '';
		drawFlame();
	}

	function flame() {
		const f = data.flame;
		const what = (data.is_bytes ? 'bytes ' : '') + data.metric;
		document.getElementById('flame-title').textContent =
			'Flame graph: ' + data.view + ' (' + what + ')';
		let note = value(f.total) + ' ' + data.metric + ' in ' + count(f.stacks) + ' stacks; ' +
			count(f.nodes_kept) + ' of ' + count(f.nodes_all) + ' nodes drawn';
		if (f.nodes_pruned)
			note += ' (' + count(f.nodes_pruned) + ' below ' + (f.min_permille / 10) +
				'% of the total were pruned)';
		note += '. Click a frame to zoom; other views: heapscope report --format html --' +
			data.tables.map((t) => t.view).filter((v) => v !== data.view).join(' | --') + '.';
		document.getElementById('flame-note').textContent = note;
		layOut();
		if (flameNodes.length === 0) {
			document.getElementById('flame-graph').textContent = 'Nothing to draw: the view is empty.';
			return;
		}
		drawFlame();
		document.getElementById('flame-reset').addEventListener('click', () => zoomTo(0));
		const input = document.getElementById('flame-search');
		input.addEventListener('input', () => search(input.value));
		window.addEventListener('keydown', (e) => {
			if ((e.ctrlKey || e.metaKey) && e.key === 'f') {
				e.preventDefault();
				input.focus();
			}
		});
	}

	/* ---- sortable tables ------------------------------------------------------------- */
	/* columns: {title, key(row) -> number|string, show(row) -> string|Node, cls} */
	function sortableTable(columns, rows, sortCol) {
		const table = el('table', { class: 'sortable' });
		const head = el('tr');
		const body = el('tbody');
		let col = sortCol, dir = -1;
		function fill() {
			const sorted = rows.slice().sort((a, b) => {
				const x = columns[col].key(a), y = columns[col].key(b);
				return (x < y ? -1 : x > y ? 1 : 0) * dir;
			});
			body.replaceChildren(...sorted.map((r) => {
				const tr = el('tr');
				for (const c of columns) {
					const td = el('td', c.cls ? { class: c.cls } : {});
					td.setAttribute('data-v', c.key(r));
					const v = c.show(r);
					if (typeof v === 'string')
						td.textContent = v;
					else
						td.append(v);
					tr.append(td);
				}
				return tr;
			}));
			head.querySelectorAll('th').forEach((th, i) => {
				if (i === col)
					th.setAttribute('aria-sort', dir < 0 ? 'descending' : 'ascending');
				else
					th.removeAttribute('aria-sort');
			});
		}
		columns.forEach((c, i) => {
			const th = el('th', c.cls ? { class: c.cls } : {}, c.title);
			th.addEventListener('click', () => {
				dir = col === i ? -dir : typeof c.key(rows[0]) === 'string' ? 1 : -1;
				col = i;
				fill();
			});
			head.append(th);
		});
		table.append(el('thead'), body);
		table.firstChild.append(head);
		fill();
		const wrap = el('div', { class: 'tablewrap' });
		wrap.append(table);
		return wrap;
	}

	function stackCell(r) {
		const div = el('div');
		if (r.frames.length === 0) {
			div.textContent = '(no call stack recorded)';
			return div;
		}
		const [fn, where] = r.frames[0];
		div.append(el('span', { class: 'fn' }, fn + (where ? ' (' + where + ')' : '')));
		if (r.frames.length > 1)
			div.append(el('div', { class: 'more' }, '\u2190 ' +
				r.frames.slice(1).map((f) => f[0]).join(' \u2190 ')));
		return div;
	}

	const num = (title, field, fmt) => ({ title, key: (r) => r[field], show: (r) => fmt(r[field]) });
	const byt = (title, field) => ({ title, key: (r) => r[field], show: (r) => est(r, field) });
	const viewColumns = {
		leaks: [byt('live bytes', 'live_bytes'), num('live blocks', 'live_blocks', count),
			num('calls', 'alloc_calls', count)],
		peak: [byt('bytes at peak', 'peak_bytes'), num('blocks at peak', 'peak_blocks', count),
			num('calls', 'alloc_calls', count)],
		allocs: [byt('allocated', 'alloc_bytes'), num('calls', 'alloc_calls', count),
			num('temporary', 'temporary', count)],
		temporary: [num('temporary', 'temporary', count), num('calls', 'alloc_calls', count),
			{ title: 'temporary %', key: (r) => r.alloc_calls ? r.temporary / r.alloc_calls : 0,
				show: (r) => pct(r.temporary, r.alloc_calls) },
			byt('allocated', 'alloc_bytes')],
	};
	const otherColumns = [byt('allocated', 'alloc_bytes'), num('calls', 'alloc_calls', count),
		byt('live bytes', 'live_bytes')];

	function tables() {
		const box = document.getElementById('view-tables');
		for (const t of data.tables) {
			const cols = [{ title: '#', key: (r) => r.rank, show: (r) => String(r.rank) }]
				.concat(viewColumns[t.view] || otherColumns,
					[{ title: 'allocator', key: (r) => r.allocator, show: (r) => r.allocator },
					 { title: 'stack (innermost first)', cls: 'stack',
					   key: (r) => r.frames.length ? r.frames[0][0] : '', show: stackCell }]);
			t.rows.forEach((r, i) => { r.rank = i + 1; });
			const sec = el('div', { id: 'table-' + t.view });
			sec.append(el('h3', {}, t.view + (t.view === data.view ? ' (the view shown above)' : '')));
			sec.append(el('p', { class: 'note' }, t.total_rows === 0 ? 'No stacks in this view.' :
				'Showing ' + count(t.rows.length) + ' of ' + count(t.total_rows) +
				' stacks; click a column to sort.'));
			if (t.rows.length)
				sec.append(sortableTable(cols, t.rows, 1));
			box.append(sec);
		}
	}

	/* By function, from the flame graph: flat where the function is innermost, cum
	 * wherever it is on a path (counted once per path). */
	function hotspots() {
		const stats = new Map(), path = [];
		for (const n of flameNodes) {
			path[n.depth] = n.name;
			if (n.depth === 0)
				continue;
			const s = stats.get(n.name) || { name: n.name, flat: 0, cum: 0 };
			s.flat += n.self;
			if (path.slice(1, n.depth).indexOf(n.name) < 0)
				s.cum += n.value;
			stats.set(n.name, s);
		}
		const total = data.flame.total, rows = Array.from(stats.values());
		document.getElementById('hotspots-note').textContent = 'The ' + data.view + ' view by ' +
			'function: flat is where the function allocates itself, cum includes its callees.' +
			(data.flame.nodes_pruned ? ' Pruned nodes are not counted.' : '');
		if (!rows.length)
			return;
		document.getElementById('hotspots-table').append(sortableTable([
			{ title: 'function', cls: 'stack', key: (r) => r.name, show: (r) => r.name },
			{ title: 'flat', key: (r) => r.flat, show: (r) => value(r.flat) },
			{ title: 'flat %', key: (r) => r.flat, show: (r) => pct(r.flat, total) },
			{ title: 'cum', key: (r) => r.cum, show: (r) => value(r.cum) },
			{ title: 'cum %', key: (r) => r.cum, show: (r) => pct(r.cum, total) },
		], rows, 1));
	}

	summary();
	chart();
	flame();
	hotspots();
	tables();
	window.heapscopeReport = { data, zoomTo, search };
})();
