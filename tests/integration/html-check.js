// SPDX-License-Identifier: MIT
/*
 * Drives heapscope's HTML report (and optionally an SVG flame graph) in headless Chromium
 * with playwright-core, for t0520-html.py: loads the page from disk with every request
 * that is not file: or data: aborted and recorded, collects console errors and page
 * errors, counts the flame graph's frames, clicks a frame and measures it, searches,
 * sorts a table, and saves screenshots. Prints the findings as JSON; the Python test
 * decides. Exits 3 when playwright-core or Chromium is missing.
 *
 * usage: node html-check.js REPORT.html OUTDIR FUNCTION [FLAME.svg]
 *   FUNCTION: a frame name to click and to search for.
 * Modules from $HS_NODE_MODULES, else tests/node/node_modules; Chromium from $HS_CHROMIUM,
 * else /usr/bin/chromium.
 */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const modules = process.env.HS_NODE_MODULES ||
	path.join(__dirname, '..', 'node', 'node_modules');
const chromiumPath = process.env.HS_CHROMIUM || '/usr/bin/chromium';
let playwright;
try {
	playwright = require(path.join(modules, 'playwright-core'));
} catch (e) {
	console.log('skip: playwright-core is not installed in ' + modules);
	process.exit(3);
}
if (!fs.existsSync(chromiumPath)) {
	console.log('skip: no Chromium at ' + chromiumPath);
	process.exit(3);
}
const [htmlPath, outDir, fnName, svgPath] = process.argv.slice(2);

async function open(context, file, result) {
	const page = await context.newPage();
	page.on('console', (m) => { if (m.type() === 'error') result.console_errors.push(m.text()); });
	page.on('pageerror', (e) => result.console_errors.push(String(e)));
	page.on('request', (r) => {
		if (!/^(file|data):/.test(r.url()))
			result.network.push(r.url());
	});
	await page.goto('file://' + path.resolve(file));
	await page.waitForLoadState('load');
	return page;
}

async function frameWidth(page, sel) {
	return page.$eval(sel, (r) => Number(r.getAttribute('width')));
}

async function checkHtml(context, result) {
	const page = await open(context, htmlPath, result);
	const shot = async (name) => {
		const file = path.join(outDir, name);
		await page.screenshot({ path: file, fullPage: true });
		result.screenshots.push(file);
	};
	result.frames = await page.$$eval('#flame-svg g.frame rect', (r) => r.length);
	result.chart_points = await page.$eval('#heap-chart polyline',
		(p) => p.getAttribute('points').split(' ').length);
	result.peak_marker = !!(await page.$('#peak-marker'));
	result.cards = await page.$$eval('#cards .card', (c) => c.map((x) => x.textContent));
	result.flame_note = await page.$eval('#flame-note', (e) => e.textContent);
	await shot('report.png');

	const idx = await page.$$eval('#flame-svg g.frame', (gs, fn) => {
		const g = gs.find((x) => x.querySelector('title').textContent.startsWith(fn + ':'));
		return g ? g.getAttribute('data-i') : null;
	}, fnName);
	result.clicked = idx;
	if (idx !== null) {
		const sel = `#flame-svg g.frame[data-i="${idx}"] rect`;
		result.width_before = await frameWidth(page, sel);
		await page.click(`#flame-svg g.frame[data-i="${idx}"]`);
		result.width_after = await frameWidth(page, sel);
		result.frames_zoomed = await page.$$eval('#flame-svg g.frame', (r) => r.length);
		await shot('zoomed.png');
		await page.click('#flame-reset');
		result.width_reset = await frameWidth(page, sel);
	}
	await page.fill('#flame-search', fnName);
	result.matches = await page.$$eval('#flame-svg g.frame.match', (g) =>
		g.map((x) => x.querySelector('title').textContent.split(':')[0]));
	result.matched_text = await page.$eval('#flame-matched', (e) => e.textContent);
	await shot('search.png');

	/* Sort the first table by its first figure (the view's order): ascending, then back. */
	const head = (n) => `#view-tables table >> nth=0 >> th >> nth=${n}`;
	const read = () => page.$eval('#view-tables table', (t) =>
		Array.from(t.querySelectorAll('tbody tr')).map((tr) => Number(tr.children[1].dataset.v)));
	const aria = () => page.$eval('#view-tables table th:nth-child(2)',
		(t) => t.getAttribute('aria-sort'));
	result.sort_initial = await read();
	result.sort_initial_aria = await aria();
	await page.click(head(1));
	result.sort_first = await read();
	result.sort_first_aria = await aria();
	await page.click(head(1));
	result.sort_second = await read();
	result.sort_second_aria = await aria();
	await shot('sorted.png');
	await page.close();
}

async function checkSvg(context, result) {
	const r = { console_errors: result.console_errors, network: result.network };
	const page = await open(context, svgPath, r);
	result.svg_frames = await page.$$eval('g.frame', (g) => g.length);
	const sel = await page.$$eval('g.frame', (gs, fn) => {
		const i = gs.findIndex((g) => g.getAttribute('data-name') === fn);
		return i < 0 ? null : i;
	}, fnName);
	if (sel !== null) {
		const rect = `g.frame >> nth=${sel}`;
		result.svg_width_before = await page.$eval(`${rect} >> rect`, (e) => Number(e.getAttribute('width')));
		await page.click(rect);
		result.svg_width_after = await page.$eval(`${rect} >> rect`, (e) => Number(e.getAttribute('width')));
	}
	await page.evaluate((fn) => window.heapscopeFlame.search(fn), fnName);
	result.svg_matches = await page.$$eval('g.frame.match', (g) => g.length);
	const file = path.join(outDir, 'flamegraph.png');
	await page.screenshot({ path: file });
	result.screenshots.push(file);
	await page.close();
}

(async () => {
	const result = { console_errors: [], network: [], screenshots: [] };
	const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-chromium-'));
	const context = await playwright.chromium.launchPersistentContext(profile, {
		executablePath: chromiumPath,
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	await context.route('**', (route) => {
		const url = route.request().url();
		if (/^(file|data):/.test(url))
			return route.continue();
		result.network.push(url);
		return route.abort();
	});
	try {
		await checkHtml(context, result);
		if (svgPath)
			await checkSvg(context, result);
	} catch (e) {
		result.error = String(e.stack || e);
	}
	await context.close();
	fs.rmSync(profile, { recursive: true, force: true });
	console.log(JSON.stringify(result, null, 1));
})();
