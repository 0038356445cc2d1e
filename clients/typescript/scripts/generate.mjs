// Generates src/generated/contract.ts from the service's AsyncAPI document with Modelina:
// one TypeScript type per component of the document (wire names kept as property names),
// and the maps from each endpoint and push name to its request, answer and push data that
// the client's typed `request` and `on` use.
//
//   node scripts/generate.mjs <asyncapi.json | http(s)://…/asyncapi.json> [--check]
//
// With --check nothing is written: the exit code is 1, with a message, when the checked-in
// file differs from what the document generates (the service's contract changed).

import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { TS_DESCRIPTION_PRESET, TypeScriptGenerator } from '@asyncapi/modelina';
import { Parser } from '@asyncapi/parser';

const OUTPUT = fileURLToPath(new URL('../src/generated/contract.ts', import.meta.url));

/** The document's text, from a file or a URL. */
async function load(source) {
  if (/^https?:\/\//.test(source)) {
    const response = await fetch(source);
    if (!response.ok) throw new Error(`GET ${source} answered ${response.status}`);
    return response.text();
  }
  return readFile(source, 'utf8');
}

/** Fails on any error the AsyncAPI parser reports (warnings are printed). */
async function parse(text) {
  const { document, diagnostics } = await new Parser().parse(text);
  const errors = diagnostics.filter((diagnostic) => diagnostic.severity === 0);
  for (const diagnostic of diagnostics) {
    const where = diagnostic.path.join('/');
    console.error(`${diagnostic.severity === 0 ? 'error' : 'note'}: ${diagnostic.message} (${where})`);
  }
  if (!document || errors.length > 0) throw new Error(`the AsyncAPI document has ${errors.length} errors`);
}

/** The options the types are generated with: interfaces with the wire's property names. */
export const MODELINA_OPTIONS = {
  modelType: 'interface',
  enumType: 'union',
  mapType: 'record',
  rawPropertyNames: true,
  useJavascriptReservedKeywords: false,
  processorOptions: { interpreter: { ignoreAdditionalProperties: true } },
  presets: [TS_DESCRIPTION_PRESET],
};

/** The component name a `$ref` of the document points at. */
function refName(value) {
  return value.$ref.split('/').pop();
}

/**
 * The endpoint, answer and push maps, as TypeScript. `typeName` names the type generated
 * for a component, if any (a schema that is only a union or a map has none: its frame's
 * `data` type is used).
 */
function maps(document, typeName) {
  const schemas = document.components.schemas;
  const messages = document.components.messages;
  const dataOf = (messageRef) => {
    const message = messages[refName(messageRef)];
    const frame = refName(message.payload);
    const data = schemas[frame].properties.data;
    if (!data) return 'undefined';
    return typeName(refName(data)) ?? `Exclude<${typeName(frame)}['data'], undefined>`;
  };
  const requests = [];
  const answers = [];
  const pushes = [];
  for (const operation of Object.values(document.operations)) {
    const name = JSON.stringify(operation.title);
    if (operation.action === 'send') {
      requests.push(`  ${name}: ${dataOf(operation.messages[0])};`);
      answers.push(`  ${name}: ${dataOf(operation.reply.messages[0])};`);
    } else {
      pushes.push(`  ${name}: ${dataOf(operation.messages[0])};`);
    }
  }
  const names = (action) => Object.values(document.operations)
    .filter((operation) => operation.action === action)
    .map((operation) => JSON.stringify(operation.title))
    .join(', ');
  return [
    '/** The `data` of a request to each endpoint. */',
    'export interface Requests {', ...requests, '}',
    '',
    '/** The `data` of a successful answer of each endpoint (`undefined`: the answer has none). */',
    'export interface Answers {', ...answers, '}',
    '',
    '/** The `data` of each push (`undefined`: the push has none). */',
    'export interface Pushes {', ...pushes, '}',
    '',
    '/** Every endpoint name. */',
    `export const ENDPOINTS = [${names('send')}] as const;`,
    '',
    '/** Every push name. */',
    `export const PUSHES = [${names('receive')}] as const;`,
    '',
  ].join('\n');
}

/** The generated file's text for the document `text`. */
export async function generate(text) {
  await parse(text);
  const document = JSON.parse(text);
  const models = await new TypeScriptGenerator(MODELINA_OPTIONS).generate(document);
  const names = new Map();
  for (const model of models) {
    const id = model.model.originalInput?.['x-parser-schema-id'] ?? model.modelName;
    names.set(id, model.modelName);
  }
  const typeName = (component) => names.get(component);
  const anonymous = models.filter((model) => /^Anonymous|^Reserved/.test(model.modelName));
  if (anonymous.length > 0) {
    throw new Error(`unnamed or renamed types: ${anonymous.map((model) => model.modelName).join(', ')}`);
  }
  const info = document.info;
  return [
    `// The types of the ${info.title} WebSocket API ${info.version}, generated from its AsyncAPI`,
    '// document by scripts/generate.mjs (Modelina). Do not edit: run `npm run generate`.',
    '/* eslint-disable */',
    '',
    ...models.map((model) => `${model.result.replace(/^((?:\/\*\*[\s\S]*?\*\/\n)?)/, '$1export ')}\n`),
    maps(document, typeName),
  ].join('\n');
}

async function main() {
  const [source, flag] = process.argv.slice(2);
  if (!source) {
    console.error('usage: node scripts/generate.mjs <asyncapi.json | URL> [--check]');
    process.exit(2);
  }
  const generated = await generate(await load(source));
  if (flag === '--check') {
    const current = await readFile(OUTPUT, 'utf8').catch(() => '');
    if (current !== generated) {
      console.error(`${OUTPUT} differs from what ${source} generates: run \`npm run generate\``);
      process.exit(1);
    }
    console.log('the generated types match the document');
    return;
  }
  await writeFile(OUTPUT, generated);
  console.log(`wrote ${OUTPUT}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error.message ?? error);
    process.exit(1);
  });
}
