// The generated event catalogs in a real browser (Debian's Chromium, driven by playwright-core):
// every page renders without a console error or a failed request, every link resolves (to a file
// of the catalog or the generated output, and to its #anchor), the flow diagram draws (an SVG
// with a box per table, event and consumer, labels inside their boxes, an edge per route), and
// the index works the same from a static HTTP server. Screenshots of every page are written to
// target/catalog-check/<name>/ for a person to look at.
//
// Usage: node check.mjs GENERATED_DIR...
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

function pages(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? pages(join(dir, e.name)) : e.name.endsWith('.html') ? [join(dir, e.name)] : [],
  );
}

/** Opens `url`; fails on console errors, page errors and failed requests. */
async function open(page, url) {
  const problems = [];
  const onConsole = (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`);
  const onError = (e) => problems.push(`page error: ${e.message}`);
  const onFailed = (r) => problems.push(`failed request: ${r.url()}`);
  page.on('console', onConsole);
  page.on('pageerror', onError);
  page.on('requestfailed', onFailed);
  const response = await page.goto(url, { waitUntil: 'load' });
  page.off('console', onConsole);
  page.off('pageerror', onError);
  page.off('requestfailed', onFailed);
  assert.deepEqual(problems, [], url);
  if (response) assert.ok(response.ok(), `${url}: HTTP ${response.status()}`);
  // The style sheet applied: the header has its background.
  const background = await page.$eval('header', (h) => getComputedStyle(h).backgroundColor);
  assert.notEqual(background, 'rgba(0, 0, 0, 0)', `${url}: no style sheet`);
  assert.ok((await page.textContent('h1')).trim().length > 0, `${url}: no heading`);
}

/** The flow diagram: its boxes, labels and edges. */
async function diagram(page, where) {
  const figure = await page.$eval('svg#flow', (svg) => {
    const box = svg.getBoundingClientRect();
    const nodes = [...svg.querySelectorAll('.node')].map((n) => {
      const rect = n.querySelector('rect').getBBox();
      const texts = [...n.querySelectorAll('text')].map((t) => t.getBBox());
      return {
        kind: n.classList[1],
        width: rect.width,
        height: rect.height,
        inside: texts.every((t) => t.x >= rect.x && t.x + t.width <= rect.x + rect.width + 0.5 && t.y >= rect.y && t.y + t.height <= rect.y + rect.height + 0.5),
      };
    });
    return { width: box.width, height: box.height, nodes, edges: svg.querySelectorAll('path.edge').length };
  });
  assert.ok(figure.width > 300 && figure.height > 60, `${where}: the diagram has no size`);
  const count = (selector) => page.$$eval(selector, (rows) => rows.length);
  const expected = {
    table: await count('#tables + table tbody tr'),
    event: await count('#events + table tbody tr'),
    consumer: await count('#consumers + table tbody tr'),
  };
  for (const [kind, n] of Object.entries(expected)) {
    assert.equal(figure.nodes.filter((x) => x.kind === kind).length, n, `${where}: ${kind} boxes`);
  }
  for (const node of figure.nodes) {
    assert.ok(node.width > 0 && node.height > 0, `${where}: an empty box`);
    assert.ok(node.inside, `${where}: a label outside its box`);
  }
  assert.ok(figure.edges >= expected.event, `${where}: ${figure.edges} edges for ${expected.event} events`);
  return figure;
}

/** Every link of the page at `url` (a file of `catalog`) resolves, anchors included. */
async function links(page, url, generated, checkedAnchors) {
  const hrefs = await page.$$eval('a[href]', (as) => as.map((a) => new URL(a.getAttribute('href'), document.baseURI).href));
  let n = 0;
  for (const href of hrefs) {
    assert.ok(href.startsWith('file://'), `${url}: a link out of the catalog: ${href}`);
    const [file, anchor] = href.split('#');
    const path = fileURLToPath(file);
    assert.ok(existsSync(path), `${url}: a broken link to ${path}`);
    assert.ok(resolve(path).startsWith(resolve(generated)), `${url}: a link out of the generated output: ${path}`);
    if (anchor && !checkedAnchors.has(href)) {
      const other = await browser.newPage();
      await other.goto(file);
      assert.ok(await other.$(`[id="${decodeURIComponent(anchor)}"]`), `${url}: no #${anchor} in ${path}`);
      await other.close();
      checkedAnchors.add(href);
    }
    n += 1;
  }
  return n;
}

async function serve(dir) {
  const server = spawn('python3', ['-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise((done, fail) => {
    const read = (chunk) => {
      const match = /port (\d+)/.exec(chunk.toString());
      if (match) done(Number(match[1]));
    };
    server.stdout.on('data', read);
    server.stderr.on('data', read);
    server.on('exit', (code) => fail(new Error(`http.server exited ${code}`)));
    setTimeout(() => fail(new Error('http.server did not start')), 10000);
  });
  return { server, port };
}

for (const arg of process.argv.slice(2)) {
  const generated = resolve(arg);
  const catalog = join(generated, 'catalog');
  const name = relative(root, generated).replaceAll('/', '_') || 'generated';
  const shots = join(root, 'target/catalog-check', name);
  rmSync(shots, { recursive: true, force: true });
  mkdirSync(shots, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const anchors = new Set();
  let linkCount = 0;
  const files = pages(catalog).sort();
  assert.ok(files.includes(join(catalog, 'index.html')), `${catalog}: no index.html`);
  let figure;
  for (const file of files) {
    const url = pathToFileURL(file).href;
    await open(page, url);
    if (basename(file) === 'index.html') figure = await diagram(page, url);
    linkCount += await links(page, url, generated, anchors);
    const shot = join(shots, relative(catalog, file).replaceAll('/', '_').replace(/\.html$/, '.png'));
    await page.screenshot({ path: shot, fullPage: true });
  }
  // The same index from a static server: relative links, no file:// assumptions.
  const { server, port } = await serve(catalog);
  try {
    const url = `http://127.0.0.1:${port}/index.html`;
    await open(page, url);
    await diagram(page, url);
    const first = await page.$eval('#events + table a', (a) => a.getAttribute('href'));
    await open(page, `http://127.0.0.1:${port}/${first}`);
  } finally {
    server.kill();
  }
  await page.close();
  console.log(`${relative(root, catalog)}: ${files.length} pages rendered, ${linkCount} links resolved, diagram of ${figure.nodes.length} boxes and ${figure.edges} edges; screenshots in ${relative(root, shots)}/`);
}
await browser.close();
