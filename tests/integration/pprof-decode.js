// SPDX-License-Identifier: MIT
/*
 * Reads a gzipped pprof profile with a real decoder (the npm package pprof-format) and
 * prints what t0500-pprof.py checks, as JSON: sample types, default sample type, totals
 * per sample type, and every sample with its frames (leaf first) and labels. Also checks
 * the profile's internal references (location, function, mapping and string ids) and
 * exits 1 naming the first broken one. Exits 3 when pprof-format is not installed.
 *
 * usage: node pprof-decode.js PROFILE.pb.gz   (modules from $HS_NODE_MODULES, else
 * tests/node/node_modules)
 */
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const modules = process.env.HS_NODE_MODULES ||
	path.join(__dirname, '..', 'node', 'node_modules');
let pprof;
try {
	pprof = require(path.join(modules, 'pprof-format'));
} catch (e) {
	console.log('skip: pprof-format is not installed in ' + modules);
	process.exit(3);
}

const raw = fs.readFileSync(process.argv[2]);
if (raw[0] !== 0x1f || raw[1] !== 0x8b) {
	console.error('not gzip');
	process.exit(1);
}
const prof = pprof.Profile.decode(zlib.gunzipSync(raw));
const strings = prof.stringTable.strings;
const num = (v) => Number(v);
const str = (i) => {
	if (num(i) < 0 || num(i) >= strings.length)
		throw new Error('string index ' + i + ' out of range');
	return strings[num(i)];
};

const functions = new Map(prof.function.map((f) => [num(f.id), f]));
const mappings = new Map(prof.mapping.map((m) => [num(m.id), m]));
const locations = new Map(prof.location.map((l) => [num(l.id), l]));
if (strings[0] !== '')
	throw new Error('string_table[0] is not ""');

function frames(loc) {
	if (num(loc.mappingId) && !mappings.has(num(loc.mappingId)))
		throw new Error('location ' + loc.id + ': no mapping ' + loc.mappingId);
	return loc.line.map((ln) => {
		const f = functions.get(num(ln.functionId));
		if (!f)
			throw new Error('location ' + loc.id + ': no function ' + ln.functionId);
		return { function: str(f.name), file: str(f.filename), line: num(ln.line) };
	});
}

const types = prof.sampleType.map((t) => str(t.type) + '/' + str(t.unit));
const totals = types.map(() => 0);
const samples = prof.sample.map((s) => {
	if (s.value.length !== types.length)
		throw new Error('sample with ' + s.value.length + ' values');
	s.value.forEach((v, i) => { totals[i] += num(v); });
	const labels = {};
	for (const l of s.label)
		labels[str(l.key)] = num(l.num) ? num(l.num) : str(l.str);
	const locs = s.locationId.map((id) => {
		const loc = locations.get(num(id));
		if (!loc)
			throw new Error('sample: no location ' + id);
		return { address: num(loc.address), frames: frames(loc) };
	});
	return { values: s.value.map(num), labels, locations: locs };
});

console.log(JSON.stringify({
	sample_types: types,
	default_sample_type: str(prof.defaultSampleType),
	period_type: prof.periodType ? str(prof.periodType.type) + '/' + str(prof.periodType.unit) : null,
	time_nanos: num(prof.timeNanos),
	duration_nanos: num(prof.durationNanos),
	comments: prof.comment.map(str),
	totals,
	nlocations: prof.location.length,
	distinct_addresses: new Set(prof.location.map((l) => num(l.address))).size,
	nfunctions: prof.function.length,
	distinct_functions: new Set(prof.function.map((f) => str(f.name) + '\0' + str(f.filename))).size,
	mappings: prof.mapping.map((m) => ({ id: num(m.id), filename: str(m.filename),
		build_id: str(m.buildId), start: num(m.memoryStart), limit: num(m.memoryLimit),
		has_functions: !!m.hasFunctions })),
	samples,
}));
