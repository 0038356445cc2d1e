// Checks the service's contracts with the tools client developers use:
//   - the AsyncAPI document: @asyncapi/parser finds no error; Modelina generates named
//     TypeScript from it as served (no `Anonymous…` or renamed types) that `tsc --strict`
//     compiles;
//   - the OpenAPI document: `redocly lint` with the recommended rules finds no error, and
//     warns of nothing but what ACCEPTED_WARNINGS explains.
//
//   node scripts/check-contracts.mjs <asyncapi.json> <openapi.json>
//
// Exits 1 with the problems found.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { generate } from './generate.mjs';

const run = promisify(execFile);
const bin = (name) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));
/**
 * Warnings of `redocly lint` that are true of this service: health, metrics and static
 * routes cannot fail with a 4xx, and an unpublished (UNLICENSED) service has no licence URL.
 */
const ACCEPTED_WARNINGS = new Set(['operation-4xx-response', 'info-license-strict']);

async function checkAsyncApi(path) {
  const generated = await generate(await readFile(path, 'utf8'));
  const directory = await mkdtemp(join(tmpdir(), 'social-events-contract-'));
  try {
    const file = join(directory, 'contract.ts');
    await writeFile(file, generated);
    await run(bin('tsc'), ['--strict', '--noEmit', '--target', 'ES2022', '--module', 'NodeNext', '--skipLibCheck', file]).catch((error) => {
      throw new Error(`tsc --strict refuses the generated types:\n${error.stdout}${error.stderr}`);
    });
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
  console.log('AsyncAPI: parsed without errors; Modelina types compile with tsc --strict');
}

async function checkOpenApi(path) {
  const { stdout } = await run(bin('redocly'), ['lint', '--extends=recommended', '--format=json', path]).catch(
    (error) => ({ stdout: error.stdout }),
  );
  const { problems } = JSON.parse(stdout);
  const refused = problems.filter((problem) => problem.severity === 'error' || !ACCEPTED_WARNINGS.has(problem.ruleId));
  if (refused.length > 0) {
    const lines = refused.map((problem) => `${problem.severity} ${problem.ruleId} at ${problem.location[0]?.pointer}: ${problem.message}`);
    throw new Error(`redocly lint:\n${lines.join('\n')}`);
  }
  console.log(`OpenAPI: redocly lint (recommended) passes with ${problems.length} accepted warnings`);
}

const [asyncapi, openapi] = process.argv.slice(2);
if (!asyncapi || !openapi) {
  console.error('usage: node scripts/check-contracts.mjs <asyncapi.json> <openapi.json>');
  process.exit(2);
}
try {
  await checkAsyncApi(asyncapi);
  await checkOpenApi(openapi);
} catch (error) {
  console.error(error.message ?? error);
  process.exit(1);
}
