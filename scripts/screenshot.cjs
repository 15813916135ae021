// Neo4j Browser in headless Chromium: connect, load a style, set parameters, run a query,
// wait for the graph to settle, save a screenshot. Reads its job as JSON on stdin (see
// scripts/screenshot.py). Uses Debian's /usr/bin/chromium through playwright-core.
const path = require("path");
const { chromium } = require(path.resolve(process.env.NODE_DIR || ".cache/screenshot", "node_modules", "playwright-core"));

async function main() {
  const job = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(job.browser);
    await page.fill('[data-testid="boltaddress"]', job.bolt);
    await page.fill('[data-testid="username"]', "neo4j");
    await page.fill('[data-testid="password"]', job.password);
    await page.click('[data-testid="connect"]');
    await page.getByText("You are connected as user").first().waitFor({ timeout: 60000 });
    const editor = page.locator("#monaco-main-editor textarea");
    const run = async (text) => {
      await editor.click();
      await page.keyboard.press("Control+A");
      await page.keyboard.press("Delete");
      await page.keyboard.insertText(text);
      await page.keyboard.press("Control+Enter");
      await page.waitForTimeout(1500);
    };
    if (job.style) await run(":style\n" + job.style);
    for (const param of job.params) await run(param);
    await run(job.query);
    try {
      await page.locator("svg .node").first().waitFor({ timeout: 60000 });
    } catch (error) {
      await page.screenshot({ path: job.out.replace(/\.png$/, "") + "-failed.png" });
      throw error;
    }
    // Give the graph the whole window, then let the layout settle.
    const fullscreen = page.locator('[title="Fullscreen"]').first();
    if (await fullscreen.count()) await fullscreen.click();
    await page.waitForTimeout(6000);
    const collapse = page.locator('[aria-label="Collapse the node properties display"]').first();
    if (await collapse.count()) await collapse.click();
    const fit = page.locator('[aria-label="zoom-to-fit"]').first();
    if (await fit.count()) await fit.click();
    await page.waitForTimeout(2000);
    await page.screenshot({ path: job.out });
  } finally {
    await browser.close();
  }
}

main().catch((error) => { console.error(error); process.exit(1); });
