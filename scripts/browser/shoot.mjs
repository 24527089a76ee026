// Photograph the charts of a rendered report, one PNG per chart block.
//
//   node shoot.mjs REPORT.html OUTDIR [CHART_ID ...]
//
// CHART_ID is a chart's id (`who/severity_sdq`); without any, every chart.
// Writes OUTDIR/cover.png and OUTDIR/chart-<section>-<chart>.png (the whole
// chart block: title, drawing, discussion box) at 1280 px wide.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { withBrowser, openFile } from './browser.mjs';

const [file, out, ...wanted] = process.argv.slice(2);
if (!file || !out) {
  console.error('usage: node shoot.mjs REPORT.html OUTDIR [CHART_ID ...]');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
await withBrowser(async (browser) => {
  const page = await openFile(browser, file);
  await page.screenshot({ path: join(out, 'cover.png') });
  console.log(join(out, 'cover.png'));
  const blocks = await page.$$('section.chart[data-chart]');
  for (const block of blocks) {
    const id = await block.evaluate((n) => n.getAttribute('data-chart'));
    if (wanted.length && !wanted.includes(id)) continue;
    const png = join(out, `chart-${id.replace(/[/_]/g, '-')}.png`);
    await block.screenshot({ path: png });
    console.log(png);
  }
});
