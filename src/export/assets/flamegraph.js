// SPDX-License-Identifier: MIT
/*
 * The script inside heapscope's SVG flame graphs (src/export/flamegraph.c embeds it):
 * hover shows a frame's details, a click zooms into a frame (its callees fill the width,
 * its callers stay below, dimmed), "Reset Zoom" or a click on the root zooms out, and
 * "Search" or Ctrl-F highlights frames whose name matches a regular expression and says
 * how much of the total they hold. Frames carry their place in value units (data-x,
 * data-w) and their depth (data-d); the svg element carries the layout. No network, no
 * libraries: it must work from a file opened in any browser.
 */
'use strict';
(function () {
	const svg = document.documentElement;
	const width = +svg.getAttribute('data-width');
	const pad = +svg.getAttribute('data-pad');
	const total = +svg.getAttribute('data-total');
	const frames = Array.from(document.querySelectorAll('g.frame'));
	const details = document.getElementById('details');
	const unzoomBtn = document.getElementById('unzoom');
	const searchBtn = document.getElementById('search');
	const matched = document.getElementById('matched');
	const charWidth = 7;
	let zoomed = null;

	function fx(f) { return +f.getAttribute('data-x'); }
	function fw(f) { return +f.getAttribute('data-w'); }

	function fitText(f, w) {
		const text = f.querySelector('text');
		const name = f.getAttribute('data-name');
		const n = Math.floor((w - 6) / charWidth);
		text.textContent = n < 3 ? '' : name.length <= n ? name : name.slice(0, n - 2) + '..';
	}

	function place(f, x0, scale) {
		const rect = f.querySelector('rect');
		const x = pad + (fx(f) - x0) * scale;
		const w = Math.max(0, fw(f) * scale - 1);
		rect.setAttribute('x', x);
		rect.setAttribute('width', w);
		f.querySelector('text').setAttribute('x', x + 3);
		fitText(f, w);
	}

	function zoom(target) {
		const x0 = fx(target), w0 = fw(target), d0 = +target.getAttribute('data-d');
		const scale = (width - 2 * pad) / w0;
		zoomed = d0 === 0 ? null : target;
		unzoomBtn.classList.toggle('hide', zoomed === null);
		for (const f of frames) {
			const inside = fx(f) >= x0 && fx(f) + fw(f) <= x0 + w0 && fw(f) > 0;
			const below = +f.getAttribute('data-d') < d0 && fx(f) <= x0 &&
				fx(f) + fw(f) >= x0 + w0;
			f.classList.toggle('hide', !inside && !below);
			f.classList.toggle('parent', below);
			if (below) {
				place(f, fx(f), (width - 2 * pad) / fw(f));
			} else if (inside) {
				place(f, x0, scale);
			}
		}
	}

	function search(term) {
		let re;
		try {
			re = new RegExp(term);
		} catch (e) {
			matched.textContent = 'bad expression';
			return;
		}
		const ranges = [];
		for (const f of frames) {
			const hit = term !== '' && re.test(f.getAttribute('data-name'));
			f.classList.toggle('match', hit);
			if (hit)
				ranges.push([fx(f), fx(f) + fw(f)]);
		}
		/* A frame's callees lie within it: count only the outermost matches. */
		ranges.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
		let sum = 0, end = -1;
		for (const [a, b] of ranges) {
			if (a >= end) {
				sum += b - a;
				end = b;
			}
		}
		matched.textContent = term === '' ? '' :
			'Matched: ' + (total ? (100 * sum / total).toFixed(1) : '0.0') + '%';
		searchBtn.textContent = term === '' ? 'Search' : 'Reset Search';
	}

	for (const f of frames) {
		f.addEventListener('mouseover', () => {
			details.textContent = f.querySelector('title').textContent;
		});
		f.addEventListener('mouseout', () => { details.textContent = ' '; });
		f.addEventListener('click', () => zoom(f));
	}
	unzoomBtn.addEventListener('click', () => zoom(frames[0]));
	searchBtn.addEventListener('click', () => {
		if (searchBtn.textContent !== 'Search') {
			search('');
			return;
		}
		const term = window.prompt('Search frames (regular expression):', '');
		if (term !== null)
			search(term);
	});
	window.addEventListener('keydown', (e) => {
		if ((e.ctrlKey || e.metaKey) && e.key === 'f') {
			e.preventDefault();
			searchBtn.dispatchEvent(new Event('click'));
		} else if (e.key === 'Escape') {
			search('');
		}
	});
	window.heapscopeFlame = { zoom, search, frames };
})();
