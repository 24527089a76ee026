// Checks of the rendered report in headless Chromium (issue 14).
//
//   node checks.mjs axe REPORT.html...          axe-core, WCAG 2.2 A and AA rules and best
//                                               practices: fails on any violation of
//                                               moderate, serious or critical impact
//   node checks.mjs print OUTDIR REPORT.html... prints each report to PDF (A4 landscape,
//                                               as its CSS asks) and fails on a page that
//                                               holds only a footnote or a lone title
//   node checks.mjs labels REPORT.html...       measures the funnel labels with the
//                                               browser's fonts: none may overlap
//
// Exit code 1 when a check fails, 2 on bad usage.
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { withBrowser, openFile } from './browser.mjs';

const require = createRequire(import.meta.url);
const [command, ...rest] = process.argv.slice(2);
let failed = false;
const fail = (msg) => { failed = true; console.log(`FAIL ${msg}`); };

// The axe impacts that fail the check (minor ones are listed only).
const FAILING = ['moderate', 'serious', 'critical'];

async function axe(browser, file) {
  const page = await openFile(browser, file);
  await page.addScriptTag({ content: readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8') });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, tags: v.tags,
      nodes: v.nodes.length, example: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
    }));
  });
  await page.close();
  // Every impact is counted; moderate, serious and critical fail.
  const impacts = ['critical', 'serious', 'moderate', 'minor'];
  const count = Object.fromEntries(impacts.map((i) => [i, result.filter((v) => v.impact === i).length]));
  const failing = result.filter((v) => FAILING.includes(v.impact));
  const wcag = result.filter((v) => v.tags.some((t) => /^wcag\d/.test(t)));
  console.log(`axe ${basename(file)}: ${result.length} rules violated (${wcag.length} WCAG; ${impacts.map((i) => `${count[i]} ${i}`).join(', ')})`);
  for (const v of result) {
    console.log(`  ${v.impact.padEnd(8)} ${v.id} (${v.nodes} nodes): ${v.help} e.g. ${v.example.join(', ')}`);
  }
  if (failing.length) fail(`${file}: ${failing.length} accessibility violations of moderate or higher impact`);
}

// A printed page "holds only a footnote or a lone title" when its text
// fills less than a fifth of the page's height, has fewer than 4 lines or
// 120 characters, or shows a chart's title without the chart (fewer than
// 8 lines after it).
function pageFill(pdf) {
  const run = spawnSync('pdftotext', ['-bbox', pdf, '-'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (run.status !== 0) throw new Error(`pdftotext -bbox failed: ${run.stderr}`);
  const fills = [];
  for (const page of run.stdout.split('<page ').slice(1)) {
    const height = Number(/height="([\d.]+)"/.exec(page)[1]);
    let top = height; let bottom = 0;
    for (const m of page.matchAll(/yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"/g)) {
      top = Math.min(top, Number(m[1])); bottom = Math.max(bottom, Number(m[2]));
    }
    fills.push(bottom > top ? (bottom - top) / height : 0);
  }
  return fills;
}

function checkPages(pdf, titles) {
  const run = spawnSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (run.status !== 0) throw new Error(`pdftotext failed: ${run.stderr}`);
  const pages = run.stdout.split('\f').filter((p, i, all) => i < all.length - 1 || p.trim());
  const fills = pageFill(pdf);
  pages.forEach((text, i) => {
    const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
    const chars = lines.join(' ').length;
    if (lines.length < 4 || chars < 120 || fills[i] < 0.2) {
      fail(`${pdf} page ${i + 1} (${Math.round(100 * fills[i])}% filled) holds only: ${JSON.stringify(lines.join(' / ').slice(0, 200))}`);
      return;
    }
    for (const t of titles) {
      const at = lines.findIndex((l) => l === t);
      if (at >= 0 && lines.length - at - 1 < 8) {
        fail(`${pdf} page ${i + 1}: the title "${t}" without its chart`);
      }
    }
  });
  return pages.length;
}

async function print(browser, out, file) {
  const page = await openFile(browser, file);
  const titles = await page.$$eval('section.chart h3', (hs) => hs.map((h) => h.textContent.trim()));
  const pdf = join(out, `${basename(file, '.html')}.pdf`);
  writeFileSync(pdf, await page.pdf({ preferCSSPageSize: true, printBackground: true, timeout: 300000 }));
  await page.close();
  const n = checkPages(pdf, titles);
  console.log(`print ${basename(file)}: ${n} pages -> ${pdf}`);
}

async function labels(browser, file) {
  const page = await openFile(browser, file);
  const clashes = await page.evaluate(() => {
    const out = [];
    for (const svg of document.querySelectorAll('svg.funnel')) {
      const boxes = [...svg.querySelectorAll('g.labels text')].map((t) => ({ unit: t.dataset.unit, b: t.getBBox() }));
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          const a = boxes[i].b; const b = boxes[j].b;
          if (a.x < b.x + b.width - 0.5 && b.x < a.x + a.width - 0.5 && a.y < b.y + b.height - 0.5 && b.y < a.y + a.height - 0.5) {
            out.push(`${svg.id}: ${boxes[i].unit} and ${boxes[j].unit}`);
          }
        }
      }
    }
    return out;
  });
  await page.close();
  console.log(`labels ${basename(file)}: ${clashes.length} overlapping label pairs`);
  for (const c of clashes) fail(`${file}: labels overlap in ${c}`);
}

if (!['axe', 'print', 'labels'].includes(command) || rest.length === 0) {
  console.error('usage: node checks.mjs axe|labels REPORT.html... | print OUTDIR REPORT.html...');
  process.exit(2);
}
await withBrowser(async (browser) => {
  if (command === 'print') {
    const [out, ...files] = rest;
    mkdirSync(out, { recursive: true });
    for (const f of files) await print(browser, out, f);
  } else {
    for (const f of rest) await (command === 'axe' ? axe : labels)(browser, f);
  }
});
process.exit(failed ? 1 : 0);
